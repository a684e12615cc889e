#include "workspace.h"

#include <t2/decomposition.h>

#include <QDir>
#include <QMetaObject>

Workspace::Workspace(QObject* parent) : QObject(parent) {}
Workspace::~Workspace() = default;

void Workspace::setModel(std::shared_ptr<const LoadedModel> model) {
  if (model == m_model) return;
  if (m_model && (!model || model->dir != m_model->dir)) {
    m_decomposition.reset();
    m_decompositionDir.clear();
  }
  m_model = std::move(model);
  Q_EMIT modelChanged(m_model);
}

t2::LoadParams Workspace::resolved(t2::LoadParams load) const {
  if (load.device == "auto" && !m_autoDevice.empty()) load.device = m_autoDevice;
  return load;
}

std::string Workspace::key(const QString& dir, const t2::LoadParams& load) const {
  const t2::LoadParams r = resolved(load);
  return QDir::cleanPath(dir).toStdString() + '|' + r.dtype + '|' + r.device;
}

std::shared_ptr<const t2::Model> Workspace::cachedWeights(const QString& dir,
                                                          const t2::LoadParams& load) const {
  std::lock_guard<std::mutex> lock(m_cacheMutex);
  const auto it = m_cache.find(key(dir, load));
  return it == m_cache.end() ? nullptr : it->second;
}

std::shared_ptr<const t2::Model> Workspace::weights(const QString& dir, const t2::LoadParams& load,
                                                    const t2::JobContext& job) {
  if (auto cached = cachedWeights(dir, load)) return cached;
  std::lock_guard<std::mutex> loading(m_loadMutex);
  if (auto cached = cachedWeights(dir, load)) return cached;  // loaded while this one waited
  auto model = t2::Model::load(QDir::toNativeSeparators(dir).toStdString(), resolved(load), job);
  {
    std::lock_guard<std::mutex> lock(m_cacheMutex);
    m_cache[key(dir, load)] = model;
    ++m_loads;
  }
  QMetaObject::invokeMethod(
      this, [this, dir] { Q_EMIT weightsLoaded(dir); }, Qt::QueuedConnection);
  return model;
}

void Workspace::dropWeights(const QString& dir) {
  const std::string prefix = QDir::cleanPath(dir).toStdString() + '|';
  std::lock_guard<std::mutex> lock(m_cacheMutex);
  for (auto it = m_cache.begin(); it != m_cache.end();)
    it = it->first.compare(0, prefix.size(), prefix) == 0 ? m_cache.erase(it) : std::next(it);
}

int Workspace::weightLoads() const {
  std::lock_guard<std::mutex> lock(m_cacheMutex);
  return m_loads;
}

void Workspace::setDecomposition(const QString& dir, std::shared_ptr<const t2::Decomposition> d) {
  m_decomposition = std::move(d);
  m_decompositionDir = m_decomposition ? dir : QString();
  Q_EMIT decompositionChanged();
}

void Workspace::setExperts(const QVector<QPair<QString, QString>>& experts) {
  m_experts = experts;
  Q_EMIT expertsChanged();
}

void Workspace::setStore(t2::RunStore* store) {
  m_store = store;
  Q_EMIT storeChanged(m_store);
}
