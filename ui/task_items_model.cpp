#include "task_items_model.h"

namespace {
constexpr int kPreviewChars = 160;
}

TaskItemsModel::TaskItemsModel(QObject* parent) : QAbstractTableModel(parent) {}

QString TaskItemsModel::setSplit(std::shared_ptr<const t2::Task> task, const QString& split) {
  beginResetModel();
  m_task = std::move(task);
  m_split = split.toStdString();
  m_rows.clear();
  m_exhausted = true;  // views may ask to fetch while they react to the reset: not yet
  endResetModel();
  return m_task ? load(kPageSize) : QString();
}

QString TaskItemsModel::load(std::size_t count) {
  std::vector<t2::TaskItem> items;
  try {
    items = m_task->load_split(m_split, count);
  } catch (const std::exception& e) {
    m_exhausted = true;
    const QString error = QString::fromStdString(e.what());
    Q_EMIT loadFailed(error);
    return error;
  }
  m_exhausted = items.size() < count;
  if (items.size() <= m_rows.size()) return {};
  std::vector<Row> rows;
  rows.reserve(items.size() - m_rows.size());
  for (std::size_t i = m_rows.size(); i < items.size(); ++i) {
    Row row;
    row.item = std::move(items[i]);
    const t2::BuiltPrompt built = m_task->build_prompt(row.item);
    row.prompt =
        built.messages.empty() ? QString() : QString::fromStdString(built.messages.back().content);
    row.preview = row.prompt.section(QLatin1Char('\n'), 0, 0, QString::SectionSkipEmpty);
    if (row.preview.size() > kPreviewChars) row.preview = row.preview.left(kPreviewChars) + "…";
    rows.push_back(std::move(row));
  }
  // Views and testers may call fetchMore() from their rowsInserted handlers: no nested insert.
  m_inserting = true;
  beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + rows.size()) - 1);
  for (auto& row : rows) m_rows.push_back(std::move(row));
  endInsertRows();
  m_inserting = false;
  return {};
}

const t2::TaskItem* TaskItemsModel::itemAt(int row) const {
  return row >= 0 && row < int(m_rows.size()) ? &m_rows[std::size_t(row)].item : nullptr;
}

int TaskItemsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_rows.size());
}

int TaskItemsModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant TaskItemsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= int(m_rows.size())) return {};
  const Row& row = m_rows[std::size_t(index.row())];
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case Index:
        return index.row();
      case Id:
        return QString::fromStdString(row.item.id);
      case Prompt:
        return row.preview;
      case Gold:
        return QString::fromStdString(row.item.gold);
      default:
        return {};
    }
  }
  if (role == Qt::ToolTipRole && index.column() == Prompt) return row.prompt;
  if (role == Qt::TextAlignmentRole && index.column() == Index)
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant TaskItemsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case Index:
      return tr("#");
    case Id:
      return tr("Id");
    case Prompt:
      return tr("Prompt");
    case Gold:
      return tr("Gold");
    default:
      return {};
  }
}

bool TaskItemsModel::canFetchMore(const QModelIndex& parent) const {
  return !parent.isValid() && m_task != nullptr && !m_exhausted && !m_inserting;
}

void TaskItemsModel::fetchMore(const QModelIndex& parent) {
  if (canFetchMore(parent)) load(m_rows.size() + kPageSize);
}
