// Typed access to the workbench's persistent settings; keys and defaults live in one place
// (app_settings.cpp). Not thread-safe: use from the GUI thread.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <memory>

class QSettings;

class AppSettings {
 public:
  AppSettings();                                 // the user's settings (native location)
  explicit AppSettings(const QString& iniFile);  // a specific INI file (tests, --settings)
  ~AppSettings();

  QByteArray windowGeometry() const;
  void setWindowGeometry(const QByteArray& geometry);
  QByteArray windowState() const;  // QMainWindow::saveState(): docks and toolbars
  void setWindowState(const QByteArray& state);
  // The workspace database; default: t2::default_run_store_path() ($T2_DB or the data dir).
  QString databasePath() const;
  void setDatabasePath(const QString& path);
  QString lastExportDir() const;  // default: the home directory
  void setLastExportDir(const QString& dir);
  QString lastModelDir() const;  // the Model dock's folder; default: none
  void setLastModelDir(const QString& dir);
  QStringList taskSpecs() const;  // task spec files the user opened (the Tasks dock)
  void setTaskSpecs(const QStringList& paths);

  QString fileName() const;
  void sync();

 private:
  std::unique_ptr<QSettings> m_settings;
};
