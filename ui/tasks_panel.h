// The Tasks dock: the task specs that ship (the demo suite under resources/demo/tasks) and any
// spec the user opens (File > Open task spec..., Ctrl+T). For the selected spec: its description,
// category, kind and extractor; a split selector; the items (loaded a page at a time, see
// TaskItemsModel); for the selected item the prompt exactly as the task builds it (system, user,
// assistant prefill) and a "Check an answer" box: a model output -> extracted answer, correct or
// not, reward (Task::judge, as `t2 task check`). Code-exec tasks run the sandbox through the
// JobRunner; the other extractors are pure string functions and run on the GUI thread.
// Spec files are small JSON documents read on the GUI thread and cached per path.
#pragma once

#include <t2/tasks.h>

#include <QHash>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <memory>
#include <optional>

class JobRunner;
class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QTableView;
class TaskItemsModel;

class TasksPanel : public QWidget {
  Q_OBJECT

 public:
  // `jobs` must outlive the panel.
  explicit TasksPanel(JobRunner* jobs, QWidget* parent = nullptr);

  // Lists the specs that ship under `resourcesDir` (t2::demo_info). Empty: none.
  void setResourcesDir(const QString& resourcesDir);
  // Adds (or re-selects) a spec file the user opened and selects it. Returns the load error.
  QString openSpec(const QString& path);
  QStringList openedSpecs() const { return m_opened; }  // user-opened paths, for the settings

  int specCount() const;
  QString specPath(int row) const;
  int findSpec(const QString& nameOrPath) const;  // row by spec name or path; -1 if none
  void selectSpec(int row);
  std::shared_ptr<const t2::Task> task() const { return m_task; }

  QComboBox* splitBox() const { return m_split; }
  TaskItemsModel* itemsModel() const { return m_items; }
  QListWidget* specList() const { return m_specs; }
  void selectItem(int row);
  const t2::TaskItem* currentItem() const;
  std::optional<t2::BuiltPrompt> currentPrompt() const;
  QString promptText() const;
  QString specInfoText() const;
  QString errorText() const;

  void setOutput(const QString& output);
  bool isChecking() const { return m_checking; }
  const std::optional<t2::Verdict>& lastVerdict() const { return m_verdict; }
  QString verdictText() const;

 public Q_SLOTS:
  void chooseSpec();   // a file dialog
  void checkAnswer();  // judges the output box against the current item

 Q_SIGNALS:
  void message(const QString& text);  // for the log
  void specOpened(const QString& path);

 private:
  void fitSpecList();  // wide enough for the names (up to a limit)
  void addSpecRow(const QString& path, const QString& group);
  void showSpec();
  void showSplit();
  void showItem();
  void showVerdict(const t2::Verdict& verdict);
  void showError(const QString& error);

  JobRunner* m_jobs;
  QHash<QString, std::shared_ptr<const t2::Task>> m_cache;
  std::shared_ptr<const t2::Task> m_task;
  QStringList m_opened;
  std::optional<t2::Verdict> m_verdict;
  bool m_checking = false;

  QListWidget* m_specs;
  QLabel* m_info;
  QLabel* m_error;
  QComboBox* m_split;
  TaskItemsModel* m_items;
  QTableView* m_table;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_output;
  QPushButton* m_check;
  QLabel* m_verdictLabel;
};
