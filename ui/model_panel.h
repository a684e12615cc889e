// The Model dock: a model folder (File > Open model folder..., Ctrl+O) and tabs that show what
// the folder holds: "Overview" (config + tensors, no weights loaded), "Tokenizer" (text -> tokens),
// "Chat template" (conversation -> prompt) and "Generate" (loads the weights, streams output).
// Tabs derive from ModelTab and get the LoadedModel once loaded (see model_tab.h for adding one).
//
// Loading (tokenizer.json takes ~0.2-1.2 s for real vocabularies) runs through the JobRunner,
// never on the GUI thread; results are cached per folder (Reload drops the folder's entry). If
// another job is running, the load starts when it ends. Errors show in red here and in the log.
#pragma once

#include "model_tab.h"

#include <QHash>
#include <QString>
#include <QWidget>

#include <memory>

class ChatTemplateTab;
class GenerateTab;
class JobRunner;
class Workspace;
class OverviewTab;
class QLabel;
class QLineEdit;
class QTabWidget;
class TokenizerTab;

class ModelPanel : public QWidget {
  Q_OBJECT

 public:
  static const char* const kHint;

  // `jobs` must outlive the panel.
  explicit ModelPanel(JobRunner* jobs, QWidget* parent = nullptr);

  // Adds a tab fed with the current and every later LoadedModel.
  void addTab(ModelTab* tab, const QString& title);
  // Starts loading `dir` (asynchronously unless cached); an empty or missing folder is an error
  // shown at once.
  void openFolder(const QString& dir);

  QString folder() const { return m_folder; }
  std::shared_ptr<const LoadedModel> model() const { return m_model; }  // null until loaded
  bool isLoading() const { return !m_loading.isEmpty() || !m_pending.isEmpty(); }
  QString errorText() const;  // the red line ("" when none)
  QString statusText() const;
  TokenizerTab* tokenizerTab() const { return m_tokenizer; }
  ChatTemplateTab* templateTab() const { return m_template; }
  OverviewTab* overviewTab() const { return m_overview; }
  GenerateTab* generateTab() const { return m_generate; }
  // The shared workspace: the panel publishes its folder to it (Workspace::setModel) and its
  // Generate tab uses its weights. A private one until this is called.
  void setWorkspace(Workspace* workspace);
  Workspace* workspace() const { return m_workspace; }
  QTabWidget* tabs() const { return m_tabs; }

 public Q_SLOTS:
  void chooseFolder();  // a folder dialog
  void reload();        // loads the current folder again (drops the cache entry)

 Q_SIGNALS:
  void message(const QString& text);      // for the log
  void folderLoaded(const QString& dir);  // something (tokenizer or template) loaded from dir
  void modelChanged();  // model() was replaced (a newly opened folder, a reload, or null)

 private:
  void startLoad();
  void apply(std::shared_ptr<const LoadedModel> model);
  void showError(const QString& error);

  JobRunner* m_jobs;
  QString m_folder;
  QString m_pending;  // folder waiting for the JobRunner
  QString m_loading;  // folder being loaded
  std::shared_ptr<const LoadedModel> m_model;
  QHash<QString, std::shared_ptr<const LoadedModel>> m_cache;
  QList<ModelTab*> m_modelTabs;
  QLineEdit* m_path;
  QLabel* m_status;
  QLabel* m_error;
  QTabWidget* m_tabs;
  OverviewTab* m_overview;
  TokenizerTab* m_tokenizer;
  ChatTemplateTab* m_template;
  GenerateTab* m_generate;
  Workspace* m_workspace;
};
