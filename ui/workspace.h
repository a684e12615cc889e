// The GUI workspace: what the docks share, held once — the Model dock's folder (tokenizer,
// template, summary), its weights (loaded once per folder, dtype and device, whichever dock asks
// first), the decomposition the Spectra dock computed, the bundled expert library and the run
// store. Docks observe it through its signals and keep no private copies of weights.
//
// Threads: setters and signals live on the GUI thread. weights() may be called from job workers
// (it is how a job gets the weights): the first caller of a (folder, dtype, device) loads them,
// concurrent callers of the same key wait for that load, later callers get the same instance.
#pragma once

#include "model_tab.h"

#include <t2/model.h>

#include <QObject>
#include <QPair>
#include <QString>
#include <QVector>

#include <map>
#include <memory>
#include <mutex>

namespace t2 {
class Decomposition;
class RunStore;
}  // namespace t2

class Workspace : public QObject {
  Q_OBJECT

 public:
  explicit Workspace(QObject* parent = nullptr);
  ~Workspace() override;

  // The Model dock's folder; null = none. Emits modelChanged when it differs.
  void setModel(std::shared_ptr<const LoadedModel> model);
  std::shared_ptr<const LoadedModel> model() const { return m_model; }
  QString modelDir() const { return m_model ? m_model->dir : QString(); }

  // The weights of `dir` in `load`'s dtype/device: cached, else loaded (progress stage "load"
  // on `job`). Thread-safe (see above). Throws t2::Error (Io/Corrupt/Unsupported/Cancelled...).
  std::shared_ptr<const t2::Model> weights(const QString& dir, const t2::LoadParams& load,
                                           const t2::JobContext& job);
  // Cached weights or null (never loads). Thread-safe.
  std::shared_ptr<const t2::Model> cachedWeights(const QString& dir,
                                                 const t2::LoadParams& load = {}) const;
  // Forgets every cached weight of `dir` (e.g. the folder was reloaded from disk).
  void dropWeights(const QString& dir);
  int weightLoads() const;  // how many times weights were read from disk (all keys)
  // What LoadParams::device "auto" means here (e.g. "cpu", or "cuda:0" when a GPU is usable),
  // so that "auto" and the device it picks share one cache entry. Unset: "auto" is its own key.
  void setAutoDevice(const std::string& device) { m_autoDevice = device; }

  // The decomposition of the current folder that the Spectra dock computed (null = none).
  void setDecomposition(const QString& dir, std::shared_ptr<const t2::Decomposition> d);
  std::shared_ptr<const t2::Decomposition> decomposition() const { return m_decomposition; }
  QString decompositionDir() const { return m_decompositionDir; }

  // The bundled expert library: (name, file) pairs.
  void setExperts(const QVector<QPair<QString, QString>>& experts);
  const QVector<QPair<QString, QString>>& experts() const { return m_experts; }

  // The run store of the open workspace database (null = none); not owned.
  void setStore(t2::RunStore* store);
  t2::RunStore* store() const { return m_store; }

 Q_SIGNALS:
  void modelChanged(std::shared_ptr<const LoadedModel> model);
  void weightsLoaded(const QString& dir);  // queued to the GUI thread after a load
  void decompositionChanged();
  void expertsChanged();
  void storeChanged(t2::RunStore* store);

 private:
  std::string key(const QString& dir, const t2::LoadParams& load) const;
  t2::LoadParams resolved(t2::LoadParams load) const;

  std::shared_ptr<const LoadedModel> m_model;
  std::shared_ptr<const t2::Decomposition> m_decomposition;
  QString m_decompositionDir;
  QVector<QPair<QString, QString>> m_experts;
  t2::RunStore* m_store = nullptr;
  std::string m_autoDevice;

  mutable std::mutex m_cacheMutex;  // guards m_cache and m_loads
  std::mutex m_loadMutex;           // one load at a time
  std::map<std::string, std::shared_ptr<const t2::Model>> m_cache;
  int m_loads = 0;
};
