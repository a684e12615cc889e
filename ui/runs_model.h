// Table model over the runs of a workspace (plain t2::RunRecord data; no database access).
// Sorting goes through a QSortFilterProxyModel using Qt::UserRole (numbers sort as numbers).
#pragma once

#include <t2/run_store.h>

#include <QAbstractTableModel>

#include <vector>

class RunsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Id, Name, Kind, Status, Started, Duration, Tags, ColumnCount };
  static constexpr int SortRole = Qt::UserRole;

  explicit RunsModel(QObject* parent = nullptr);

  void setRuns(std::vector<t2::RunRecord> runs);
  const t2::RunRecord* runAt(int row) const;  // nullptr when out of range

  int rowCount(const QModelIndex& parent = QModelIndex()) const override;
  int columnCount(const QModelIndex& parent = QModelIndex()) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<t2::RunRecord> m_runs;
};
