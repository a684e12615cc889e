#include "app_settings.h"

#include <t2/run_store.h>

#include <QDir>
#include <QSettings>

namespace {
const char* const kGeometry = "window/geometry";
const char* const kState = "window/state";
const char* const kExportDir = "paths/lastExportDir";
const char* const kDatabase = "paths/database";
const char* const kModelDir = "paths/lastModelDir";
const char* const kTaskSpecs = "paths/taskSpecs";
}  // namespace

AppSettings::AppSettings()
    : m_settings(std::make_unique<QSettings>(QStringLiteral("T2 Workbench"),
                                             QStringLiteral("t2-workbench"))) {}

AppSettings::AppSettings(const QString& iniFile)
    : m_settings(std::make_unique<QSettings>(iniFile, QSettings::IniFormat)) {}

AppSettings::~AppSettings() = default;

QByteArray AppSettings::windowGeometry() const {
  return m_settings->value(kGeometry).toByteArray();
}
void AppSettings::setWindowGeometry(const QByteArray& g) { m_settings->setValue(kGeometry, g); }
QByteArray AppSettings::windowState() const { return m_settings->value(kState).toByteArray(); }
void AppSettings::setWindowState(const QByteArray& s) { m_settings->setValue(kState, s); }

QString AppSettings::databasePath() const {
  const QString saved = m_settings->value(kDatabase).toString();
  return saved.isEmpty() ? QString::fromStdString(t2::default_run_store_path()) : saved;
}
void AppSettings::setDatabasePath(const QString& path) { m_settings->setValue(kDatabase, path); }

QString AppSettings::lastExportDir() const {
  return m_settings->value(kExportDir, QDir::homePath()).toString();
}
void AppSettings::setLastExportDir(const QString& dir) { m_settings->setValue(kExportDir, dir); }

QString AppSettings::lastModelDir() const { return m_settings->value(kModelDir).toString(); }
void AppSettings::setLastModelDir(const QString& dir) { m_settings->setValue(kModelDir, dir); }
QStringList AppSettings::taskSpecs() const { return m_settings->value(kTaskSpecs).toStringList(); }
void AppSettings::setTaskSpecs(const QStringList& paths) {
  m_settings->setValue(kTaskSpecs, paths);
}

QString AppSettings::fileName() const { return m_settings->fileName(); }
void AppSettings::sync() { m_settings->sync(); }
