#include "runs_model.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>

#include <cmath>
#include <ctime>

namespace {

QString formatDuration(double seconds) {
  if (seconds < 60) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
  const auto total = static_cast<qint64>(std::llround(seconds));
  if (total < 3600) return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60);
  return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60);
}

QColor statusColor(t2::RunStatus status) {
  switch (status) {
    case t2::RunStatus::Running:
      return QColor(31, 119, 180);
    case t2::RunStatus::Finished:
      return QColor(44, 130, 44);
    case t2::RunStatus::Failed:
      return QColor(200, 30, 30);
    case t2::RunStatus::Cancelled:
      return QColor(140, 140, 140);
    case t2::RunStatus::Interrupted:
      return QColor(200, 110, 0);
  }
  return QColor(Qt::black);
}

}  // namespace

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunsModel::setRuns(std::vector<t2::RunRecord> runs) {
  beginResetModel();
  m_runs = std::move(runs);
  endResetModel();
}

const t2::RunRecord* RunsModel::runAt(int row) const {
  return row >= 0 && row < int(m_runs.size()) ? &m_runs[row] : nullptr;
}

int RunsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_runs.size());
}

int RunsModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
  const t2::RunRecord* run = index.isValid() ? runAt(index.row()) : nullptr;
  if (run == nullptr || index.column() < 0 || index.column() >= ColumnCount) return {};
  const double end = run->finished_at ? *run->finished_at : double(std::time(nullptr));
  const double duration = std::max(0.0, end - run->started_at);
  if (role == SortRole) {
    switch (index.column()) {
      case Id:
        return qlonglong(run->id);
      case Started:
        return run->started_at;
      case Duration:
        return duration;
      default:
        break;
    }
    role = Qt::DisplayRole;
  }
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case Id:
        return qlonglong(run->id);
      case Name:
        return QString::fromStdString(run->name);
      case Kind:
        return QString::fromStdString(run->kind);
      case Status:
        return QString::fromLatin1(t2::to_string(run->status));
      case Started:
        return QDateTime::fromSecsSinceEpoch(qint64(run->started_at))
            .toString(QStringLiteral("yyyy-MM-dd HH:mm"));
      case Duration:
        return formatDuration(duration);
      case Tags: {
        QStringList tags;
        for (const auto& t : run->tags) tags << QString::fromStdString(t);
        return tags.join(QStringLiteral(", "));
      }
    }
  }
  if (role == Qt::ForegroundRole && index.column() == Status)
    return QBrush(statusColor(run->status));
  if (role == Qt::ToolTipRole) {
    QString tip = QString::fromStdString(run->params_json);
    if (!run->message.empty())
      tip.prepend(QString::fromStdString(run->message) + QLatin1Char('\n'));
    if (!run->notes.empty()) tip.append(QStringLiteral("\n") + QString::fromStdString(run->notes));
    return tip;
  }
  return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case Id:
      return tr("ID");
    case Name:
      return tr("Name");
    case Kind:
      return tr("Kind");
    case Status:
      return tr("Status");
    case Started:
      return tr("Started");
    case Duration:
      return tr("Duration");
    case Tags:
      return tr("Tags");
  }
  return {};
}
