// Table model over one split of a task: index, id, prompt preview (the user message the task
// builds, first line), gold answer. Items load lazily: the first kPageSize on setSplit, then
// kPageSize more per fetchMore() (views call it when scrolled to the end). A page re-reads the
// split's JSONL file from its start (Task::load_split has no offset): fine for the sizes tasks
// have (GSM8K train: 7,473 lines, ~5 ms a page).
#pragma once

#include <t2/tasks.h>

#include <QAbstractTableModel>
#include <QString>

#include <memory>
#include <vector>

class TaskItemsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Index, Id, Prompt, Gold, ColumnCount };
  static constexpr int kPageSize = 100;

  explicit TaskItemsModel(QObject* parent = nullptr);

  // Shows the first page of `split` of `task` (null task: empty). Returns the load error, if any.
  QString setSplit(std::shared_ptr<const t2::Task> task, const QString& split);
  const t2::TaskItem* itemAt(int row) const;  // nullptr when out of range
  bool exhausted() const { return m_exhausted; }

  int rowCount(const QModelIndex& parent = QModelIndex()) const override;
  int columnCount(const QModelIndex& parent = QModelIndex()) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;
  bool canFetchMore(const QModelIndex& parent) const override;
  void fetchMore(const QModelIndex& parent) override;

 Q_SIGNALS:
  void loadFailed(const QString& error);

 private:
  struct Row {
    t2::TaskItem item;
    QString preview;  // user message, first line
    QString prompt;   // the whole user message (tooltip)
  };
  // Reads up to `count` items; appends those past the current rows. Returns the error.
  QString load(std::size_t count);

  std::shared_ptr<const t2::Task> m_task;
  std::string m_split;
  std::vector<Row> m_rows;
  bool m_exhausted = true;
  bool m_inserting = false;
};
