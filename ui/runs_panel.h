// The Runs dock: the workspace's runs (filterable, sortable), one metric of the selected runs
// overlaid in a line chart, and export (CSV/JSON) / delete of the selected runs.
// Reads go straight to the RunStore on the GUI thread: they are indexed SQLite queries of a few
// milliseconds (long metric series are downsampled by the store), and WAL keeps them from
// blocking a training run that writes at the same time.
#pragma once

#include <QString>
#include <QWidget>

#include <cstdint>
#include <vector>

namespace t2 {
class RunStore;
}
class LineChart;
class QComboBox;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class RunsModel;

class RunsPanel : public QWidget {
  Q_OBJECT

 public:
  explicit RunsPanel(QWidget* parent = nullptr);

  // `store` may be null (no workspace); `problem` then says why, e.g. a newer schema.
  void setStore(t2::RunStore* store, const QString& problem = {});
  RunsModel* model() const { return m_model; }
  LineChart* chart() const { return m_chart; }
  QComboBox* metricBox() const { return m_metric; }

  std::vector<std::int64_t> selectedRunIds() const;
  void selectRuns(const std::vector<std::int64_t>& ids);
  // Empty on success, else the error. The format follows the suffix (.csv or .json).
  QString exportRuns(const std::vector<std::int64_t>& ids, const QString& path);
  QString deleteRuns(const std::vector<std::int64_t>& ids, bool deleteFiles);

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void message(const QString& text);  // for the log

 private:
  void updateMetricKeys();
  void updateChart();
  void exportSelected();
  void deleteSelected();

  t2::RunStore* m_store = nullptr;
  RunsModel* m_model;
  QSortFilterProxyModel* m_proxy;
  QLineEdit* m_filter;
  QComboBox* m_status;
  QTableView* m_table;
  QComboBox* m_metric;
  LineChart* m_chart;
  QLabel* m_problem;
};
