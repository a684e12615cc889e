#include "runs_panel.h"

#include "plot/line_chart.h"
#include "runs_model.h"

#include <t2/error.h>
#include <t2/run_store.h>

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <set>

namespace {
constexpr std::size_t kMaxChartPoints = 2000;  // per series; the store keeps peaks (min/max)

template <class F>
QString errorOf(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}
}  // namespace

RunsPanel::RunsPanel(QWidget* parent)
    : QWidget(parent),
      m_model(new RunsModel(this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_filter(new QLineEdit(this)),
      m_status(new QComboBox(this)),
      m_table(new QTableView(this)),
      m_metric(new QComboBox(this)),
      m_chart(new LineChart(this)),
      m_problem(new QLabel(this)) {
  m_proxy->setSourceModel(m_model);
  m_proxy->setSortRole(RunsModel::SortRole);
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(RunsModel::Id, Qt::DescendingOrder);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_table->verticalHeader()->setVisible(false);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setAlternatingRowColors(true);
  m_table->setWordWrap(false);

  m_filter->setPlaceholderText(tr("Filter by name"));
  m_filter->setClearButtonEnabled(true);
  m_status->addItem(tr("Any status"), QString());
  for (auto s : {t2::RunStatus::Running, t2::RunStatus::Finished, t2::RunStatus::Failed,
                 t2::RunStatus::Cancelled, t2::RunStatus::Interrupted})
    m_status->addItem(QString::fromLatin1(t2::to_string(s)), QString::fromLatin1(t2::to_string(s)));
  auto* refreshButton = new QPushButton(tr("Refresh"), this);
  auto* exportButton = new QPushButton(tr("Export..."), this);
  exportButton->setToolTip(tr("Export the metrics of the selected runs (CSV or JSON)"));
  auto* deleteButton = new QPushButton(tr("Delete..."), this);
  m_problem->setStyleSheet(QStringLiteral("color: #b00020"));
  m_problem->setWordWrap(true);
  m_problem->setVisible(false);
  m_metric->setMinimumContentsLength(16);
  m_chart->setTitles(tr("Metric of the selected runs"), tr("step"), QString());
  m_chart->setPlaceholder(tr("Select runs with metrics"));

  auto* bar = new QHBoxLayout;
  bar->addWidget(m_filter, 1);
  bar->addWidget(m_status);
  bar->addWidget(refreshButton);
  bar->addWidget(exportButton);
  bar->addWidget(deleteButton);
  auto* chartSide = new QWidget(this);
  auto* chartLayout = new QVBoxLayout(chartSide);
  chartLayout->setContentsMargins(0, 0, 0, 0);
  chartLayout->addWidget(m_metric);
  chartLayout->addWidget(m_chart, 1);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(m_table);
  split->addWidget(chartSide);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(bar);
  layout->addWidget(m_problem);
  layout->addWidget(split, 1);

  connect(m_filter, &QLineEdit::textChanged, this, &RunsPanel::refresh);
  connect(m_status, &QComboBox::currentIndexChanged, this, &RunsPanel::refresh);
  connect(refreshButton, &QPushButton::clicked, this, &RunsPanel::refresh);
  connect(exportButton, &QPushButton::clicked, this, &RunsPanel::exportSelected);
  connect(deleteButton, &QPushButton::clicked, this, &RunsPanel::deleteSelected);
  connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &RunsPanel::updateMetricKeys);
  connect(m_metric, &QComboBox::currentIndexChanged, this, &RunsPanel::updateChart);
}

void RunsPanel::setStore(t2::RunStore* store, const QString& problem) {
  m_store = store;
  m_problem->setText(problem);
  m_problem->setVisible(!problem.isEmpty());
  refresh();
}

void RunsPanel::refresh() {
  const auto keep = selectedRunIds();
  std::vector<t2::RunRecord> runs;
  if (m_store != nullptr) {
    t2::RunFilter filter;
    filter.name_contains = m_filter->text().toStdString();
    const QString status = m_status->currentData().toString();
    const QString error = errorOf([&] {
      if (!status.isEmpty()) filter.status = t2::run_status_from_string(status.toStdString());
      runs = m_store->list_runs(filter);
    });
    if (!error.isEmpty()) Q_EMIT message(tr("Runs: %1").arg(error));
  }
  m_model->setRuns(std::move(runs));
  m_table->resizeColumnsToContents();
  selectRuns(keep);
  updateMetricKeys();
}

std::vector<std::int64_t> RunsPanel::selectedRunIds() const {
  std::vector<std::int64_t> ids;
  for (const QModelIndex& index : m_table->selectionModel()->selectedRows())
    if (const auto* run = m_model->runAt(m_proxy->mapToSource(index).row())) ids.push_back(run->id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void RunsPanel::selectRuns(const std::vector<std::int64_t>& ids) {
  QItemSelection selection;
  for (int row = 0; row < m_model->rowCount(); ++row) {
    const auto* run = m_model->runAt(row);
    if (std::find(ids.begin(), ids.end(), run->id) == ids.end()) continue;
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(row, 0));
    selection.select(index, index);
  }
  m_table->selectionModel()->select(
      selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

void RunsPanel::updateMetricKeys() {
  const QString current = m_metric->currentText();
  std::set<std::string> keys;
  if (m_store != nullptr) {
    const QString error = errorOf([&] {
      for (auto id : selectedRunIds())
        for (auto& key : m_store->metric_keys(id)) keys.insert(key);
    });
    if (!error.isEmpty()) Q_EMIT message(tr("Runs: %1").arg(error));
  }
  {
    const QSignalBlocker block(m_metric);
    m_metric->clear();
    for (const auto& key : keys) m_metric->addItem(QString::fromStdString(key));
    const int again = m_metric->findText(current);
    m_metric->setCurrentIndex(again >= 0 ? again : 0);
  }
  updateChart();
}

void RunsPanel::updateChart() {
  QVector<LineSeries> lines;
  const QString key = m_metric->currentText();
  if (m_store != nullptr && !key.isEmpty()) {
    t2::SeriesQuery query;
    query.run_ids = selectedRunIds();
    query.keys = {key.toStdString()};
    query.max_points = kMaxChartPoints;
    const QString error = errorOf([&] {
      for (const auto& series : m_store->metric_series(query)) {
        if (series.points.empty()) continue;
        LineSeries line;
        const auto* run = [&]() -> const t2::RunRecord* {
          for (int row = 0; row < m_model->rowCount(); ++row)
            if (m_model->runAt(row)->id == series.run_id) return m_model->runAt(row);
          return nullptr;
        }();
        line.name = QStringLiteral("#%1 %2")
                        .arg(series.run_id)
                        .arg(run ? QString::fromStdString(run->name) : QString());
        for (const auto& p : series.points) {
          line.x << double(p.step);
          line.y << p.value;
        }
        lines << line;
      }
    });
    if (!error.isEmpty()) Q_EMIT message(tr("Runs: %1").arg(error));
  }
  m_chart->setTitles(key.isEmpty() ? tr("Metric of the selected runs") : key, tr("step"), key);
  m_chart->setSeries(lines);
}

QString RunsPanel::exportRuns(const std::vector<std::int64_t>& ids, const QString& path) {
  if (m_store == nullptr) return tr("no workspace database is open");
  if (ids.empty()) return tr("select one or more runs to export");
  const bool json =
      QFileInfo(path).suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0;
  return errorOf([&] {
    if (json)
      m_store->export_metrics_json(ids, path.toStdString());
    else
      m_store->export_metrics_csv(ids, path.toStdString());
  });
}

QString RunsPanel::deleteRuns(const std::vector<std::int64_t>& ids, bool deleteFiles) {
  if (m_store == nullptr) return tr("no workspace database is open");
  const QString error = errorOf([&] {
    for (auto id : ids) m_store->delete_run(id, deleteFiles);
  });
  refresh();
  return error;
}

void RunsPanel::exportSelected() {
  const auto ids = selectedRunIds();
  if (ids.empty()) {
    Q_EMIT message(tr("Select one or more runs to export."));
    return;
  }
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Export metrics"), QStringLiteral("metrics.csv"),
                                   tr("CSV, long format (*.csv);;JSON (*.json)"));
  if (path.isEmpty()) return;
  const QString error = exportRuns(ids, path);
  if (!error.isEmpty())
    QMessageBox::warning(this, tr("Export metrics"), error);
  else
    Q_EMIT message(
        tr("Exported the metrics of %n run(s) to %1", nullptr, int(ids.size())).arg(path));
}

void RunsPanel::deleteSelected() {
  const auto ids = selectedRunIds();
  if (ids.empty()) return;
  QMessageBox box(
      QMessageBox::Warning, tr("Delete runs"),
      tr("Delete %n run(s) with their metrics, samples and evaluations?", nullptr, int(ids.size())),
      QMessageBox::Cancel, this);
  auto* rowsOnly = box.addButton(tr("Delete runs"), QMessageBox::DestructiveRole);
  auto* withFiles = box.addButton(tr("Delete runs and their files"), QMessageBox::DestructiveRole);
  box.exec();
  if (box.clickedButton() != rowsOnly && box.clickedButton() != withFiles) return;
  const QString error = deleteRuns(ids, box.clickedButton() == withFiles);
  if (!error.isEmpty())
    QMessageBox::warning(this, tr("Delete runs"), error);
  else
    Q_EMIT message(tr("Deleted %n run(s)", nullptr, int(ids.size())));
}
