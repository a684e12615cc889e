#include "spectra_panel.h"

#include "job_runner.h"
#include "plot/line_chart.h"
#include "spectra_table_model.h"
#include "workspace.h"

#include <QPointer>

#include <t2/error.h>

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <map>

namespace {

const QString kJob = QStringLiteral("Decompose");

QString formatSeconds(double seconds) {
  return seconds < 1.0 ? QStringLiteral("%1 ms").arg(seconds * 1000.0, 0, 'f', 0)
                       : QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
}

// Legend label of a matrix: "L3 down_proj".
QString shortName(const t2::MatrixSpectrum& s) {
  return QStringLiteral("L%1 %2").arg(s.layer).arg(QString::fromStdString(s.part));
}

double metricOf(const t2::SpectrumMetrics& m, SpectraPanel::Metric metric) {
  switch (metric) {
    case SpectraPanel::Alpha:
      return m.power_law.ok ? m.power_law.alpha : std::numeric_limits<double>::quiet_NaN();
    case SpectraPanel::EffectiveRank:
      return m.effective_rank;
    case SpectraPanel::StableRank:
      return m.stable_rank;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

const char* const SpectraPanel::kHint =
    QT_TRANSLATE_NOOP("SpectraPanel", "Open a model folder with weights (Ctrl+O)");

struct SpectraPanel::Result {
  QString dir;
  std::shared_ptr<const t2::Decomposition> decomposition;
  std::vector<t2::MatrixSpectrum> spectra;
  const t2::Model* weights = nullptr;  // the workspace's weights it was computed from
};

SpectraPanel::SpectraPanel(JobRunner* jobs, QWidget* parent)
    : QWidget(parent), m_jobs(jobs), m_workspace(new Workspace(this)) {
  buildUi();
  connect(m_jobs, &JobRunner::progressChanged, this,
          [this](const QString& name, double fraction, const QString& message) {
            if (!m_running || name != kJob) return;
            m_progress->setValue(int(fraction * 1000));
            if (!message.isEmpty()) m_status->setText(message);
          });
  connect(m_jobs, &JobRunner::runningChanged, this, [this] { updateEnabled(); });
  setModel(nullptr);
}

void SpectraPanel::buildUi() {
  m_folder = new QLabel(this);
  m_folder->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_folder->setWordWrap(true);
  m_targets = new QComboBox(this);
  m_targets->addItem(tr("mlp (gate, up, down)"), QStringLiteral("mlp"));
  m_targets->addItem(tr("attn (q, k, v, o)"), QStringLiteral("attn"));
  m_targets->addItem(tr("attn-qv (q, v)"), QStringLiteral("attn-qv"));
  m_targets->addItem(tr("all-linear"), QStringLiteral("all-linear"));
  m_targets->setToolTip(tr("Which weight matrices of every layer to decompose"));
  m_decompose = new QPushButton(tr("Decompose"), this);
  m_decompose->setToolTip(
      tr("SVD of every target matrix (reloaded from the decomposition cache when present)"));
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1000);
  m_progress->setMaximumWidth(160);
  m_progress->setTextVisible(false);
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Targets:"), this));
  controls->addWidget(m_targets);
  controls->addWidget(m_decompose);
  controls->addWidget(m_cancel);
  controls->addWidget(m_progress);
  controls->addStretch(1);

  m_status = new QLabel(this);
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error = new QLabel(this);
  m_error->setWordWrap(true);
  m_error->setStyleSheet(QStringLiteral("color: #c00000;"));
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setVisible(false);

  m_table = new SpectraTableModel(this);
  m_proxy = new QSortFilterProxyModel(this);
  m_proxy->setSourceModel(m_table);
  m_proxy->setSortRole(Qt::UserRole);
  m_view = new QTableView(this);
  m_view->setModel(m_proxy);
  m_view->setSortingEnabled(true);
  m_view->sortByColumn(-1, Qt::AscendingOrder);  // model (target) order until a header click
  m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_view->verticalHeader()->setVisible(false);
  m_view->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
  m_view->horizontalHeader()->setStretchLastSection(true);
  m_view->setContextMenuPolicy(Qt::CustomContextMenu);
  m_view->setToolTip(tr("Select matrices to chart their singular values; right click to export"));
  connect(m_view, &QWidget::customContextMenuRequested, this, &SpectraPanel::showTableMenu);
  connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          [this] { updateSigmaChart(); });

  m_sigmaChart = new LineChart(this);
  m_sigmaChart->setLogY(true);
  m_sigmaChart->setTitles(tr("Singular values"), tr("index i"), QStringLiteral("σ_i"));
  m_sigmaChart->setPlaceholder(tr("Select matrices in the table"));
  m_metric = new QComboBox(this);
  m_metric->addItem(QStringLiteral("α (power law)"), int(Alpha));
  m_metric->addItem(tr("effective rank"), int(EffectiveRank));
  m_metric->addItem(tr("stable rank"), int(StableRank));
  m_layerChart = new LineChart(this);
  m_layerChart->setIntegerX(true);
  m_layerChart->setLegendBelow();
  m_layerChart->setPlaceholder(tr("Decompose to see the per-layer spectra"));
  connect(m_metric, &QComboBox::currentIndexChanged, this, [this] { updateLayerChart(); });

  auto* layerBox = new QWidget(this);
  auto* layerLayout = new QVBoxLayout(layerBox);
  layerLayout->setContentsMargins(0, 0, 0, 0);
  auto* metricRow = new QHBoxLayout;
  metricRow->addWidget(new QLabel(tr("Per layer:"), layerBox));
  metricRow->addWidget(m_metric);
  metricRow->addStretch(1);
  layerLayout->addLayout(metricRow);
  layerLayout->addWidget(m_layerChart, 1);

  auto* charts = new QSplitter(Qt::Horizontal, this);
  charts->addWidget(m_sigmaChart);
  charts->addWidget(layerBox);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(m_view);
  split->addWidget(charts);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_folder);
  layout->addLayout(controls);
  layout->addWidget(m_status);
  layout->addWidget(m_error);
  layout->addWidget(split, 1);

  connect(m_decompose, &QPushButton::clicked, this, &SpectraPanel::decompose);
  connect(m_cancel, &QPushButton::clicked, this, &SpectraPanel::cancel);
}

void SpectraPanel::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  const QString dir = m_model ? m_model->dir : QString();
  if (dir != m_resultDir) clearResults();
  m_folder->setText(dir.isEmpty() ? tr("No model folder")
                                  : tr("Folder: %1").arg(QDir::toNativeSeparators(dir)));
  if (!m_running) {
    if (!m_model || !m_model->hasWeights)
      m_status->setText(tr(kHint));
    else if (!m_decomposition)
      m_status->setText(tr("Choose the target matrices and press Decompose."));
    showError({});
  }
  updateEnabled();
}

void SpectraPanel::setTargetSet(const QString& preset) {
  const int index = m_targets->findData(preset);
  if (index >= 0) m_targets->setCurrentIndex(index);
}

QString SpectraPanel::targetSet() const { return m_targets->currentData().toString(); }

void SpectraPanel::setMetric(Metric metric) {
  m_metric->setCurrentIndex(m_metric->findData(int(metric)));
}

bool SpectraPanel::canDecompose() const { return m_model && m_model->hasWeights && !m_running; }

void SpectraPanel::updateEnabled() {
  m_decompose->setEnabled(canDecompose() && !m_jobs->isRunning(JobLane::Long));
  m_targets->setEnabled(!m_running);
  m_cancel->setVisible(m_running);
  m_progress->setVisible(m_running);
}

QString SpectraPanel::statusText() const { return m_status->text(); }

QString SpectraPanel::errorText() const {
  return m_error->isHidden() ? QString() : m_error->text();
}

void SpectraPanel::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
  if (!error.isEmpty()) Q_EMIT message(tr("Spectra: %1").arg(error));
}

void SpectraPanel::clearResults() {
  m_decomposition.reset();
  m_resultDir.clear();
  m_table->setSpectra({});
  updateSigmaChart();
  updateLayerChart();
}

void SpectraPanel::decompose() {
  if (!m_model || !m_model->hasWeights) {
    m_status->setText(tr(kHint));
    return;
  }
  if (m_running) return;
  const QString dir = m_model->dir;
  const QString targets = targetSet();
  t2::DecomposeParams params;
  params.targets = targets.toStdString();
  params.cache_dir = m_cacheDir.toStdString();
  const auto hook = m_workerHook;
  Workspace* workspace = m_workspace;
  QPointer<SpectraPanel> self(this);
  const bool started = m_jobs->run<Result>(
      kJob,
      [dir, params, hook, workspace](const t2::JobContext& job) {
        if (hook) hook();
        job.throw_if_cancelled();
        // The workspace's shared weights; the cache key is the folder's fingerprint, so a
        // decomposition computed by the CLI or by training is read back, not recomputed.
        auto weights = workspace->weights(dir, {}, job);
        auto decomposition =
            std::make_shared<const t2::Decomposition>(t2::Decomposition::compute_or_load(
                *weights, t2::model_fingerprint(QDir::toNativeSeparators(dir).toStdString()),
                params, job));
        job.throw_if_cancelled();
        Result result{dir, decomposition, t2::matrix_spectra(*decomposition), weights.get()};
        return result;
      },
      [this](const Result& result) { apply(result); }, JobLane::Long,
      [self](JobOutcome outcome, const QString& error) {
        if (!self) return;
        self->m_running = false;
        if (outcome == JobOutcome::Failed) {
          self->m_status->setText(tr("Decomposition failed."));
          self->showError(error);
        } else if (outcome == JobOutcome::Cancelled) {
          self->m_status->setText(tr("Decomposition cancelled; nothing was written to the cache."));
          Q_EMIT self->message(tr("Spectra: decomposition cancelled"));
        }
        self->updateEnabled();
      });
  if (!started) {
    showError(tr("%1 is running; decompose when it has finished.")
                  .arg(m_jobs->currentJob(JobLane::Long)));
    return;
  }
  m_running = true;
  showError({});
  m_progress->setValue(0);
  m_status->setText(
      tr("Decomposing the %1 matrices of %2 ...").arg(targets, QDir::toNativeSeparators(dir)));
  updateEnabled();
}

void SpectraPanel::cancel() {
  if (m_running) m_jobs->cancel(JobLane::Long);
}

void SpectraPanel::apply(const Result& result) {
  if (!m_model || result.dir != m_model->dir) {  // the folder changed meanwhile
    m_status->setText(m_model && m_model->hasWeights
                          ? tr("The folder changed during the decomposition; press Decompose.")
                          : tr(kHint));
    return;
  }
  m_decomposition = result.decomposition;
  m_resultDir = result.dir;
  m_lastWeights = result.weights;
  m_workspace->setDecomposition(result.dir, result.decomposition);
  m_table->setSpectra(result.spectra);
  const auto& d = *m_decomposition;
  const int count = int(result.spectra.size());
  const QString spec = QString::fromStdString(d.target_spec());
  QString text;
  if (d.from_cache())
    text = tr("Loaded %1 matrices (%2) from the cache in %3.")
               .arg(count)
               .arg(spec, formatSeconds(d.total_seconds()));
  else
    text = tr("Decomposed %1 matrices (%2) in %3; %4")
               .arg(count)
               .arg(spec, formatSeconds(d.total_seconds()),
                    d.cache_path().empty()
                        ? tr("not cached: %1").arg(QString::fromStdString(d.cache_note()))
                        : tr("cached for next time."));
  m_status->setText(text);
  m_status->setToolTip(QString::fromStdString(d.cache_path()));
  Q_EMIT message(tr("Spectra: %1").arg(text));
  m_view->resizeColumnsToContents();
  if (count > 0) m_view->selectRow(0);
  updateSigmaChart();
  updateLayerChart();
}

void SpectraPanel::selectMatrices(const QStringList& names) {
  auto* selection = m_view->selectionModel();
  selection->clearSelection();
  for (int row = 0; row < m_proxy->rowCount(); ++row) {
    const QModelIndex index = m_proxy->index(row, SpectraTableModel::Name);
    if (names.contains(index.data().toString()))
      selection->select(index, QItemSelectionModel::Select | QItemSelectionModel::Rows);
  }
}

QStringList SpectraPanel::selectedMatrices() const {
  QStringList names;
  for (int row = 0; row < m_proxy->rowCount(); ++row)
    if (m_view->selectionModel()->isRowSelected(row, {}))
      names << m_proxy->index(row, SpectraTableModel::Name).data().toString();
  return names;
}

void SpectraPanel::updateSigmaChart() {
  QVector<LineSeries> series;
  if (m_decomposition) {
    const auto& spectra = m_table->spectra();
    for (int row = 0; row < m_proxy->rowCount(); ++row) {
      if (!m_view->selectionModel()->isRowSelected(row, {})) continue;
      const auto& s = spectra[size_t(m_proxy->mapToSource(m_proxy->index(row, 0)).row())];
      const auto sigma = m_decomposition->singular_values(s.name);
      LineSeries line;
      line.name = shortName(s);
      for (size_t i = 0; i < sigma.size(); ++i) {
        line.x << double(i + 1);
        line.y << double(sigma[i]);
      }
      series << line;
    }
  }
  m_sigmaChart->setSeries(series);
}

void SpectraPanel::updateLayerChart() {
  const auto metric = Metric(m_metric->currentData().toInt());
  m_layerChart->setTitles(tr("%1 per layer").arg(m_metric->currentText()), tr("layer"),
                          m_metric->currentText());
  QVector<LineSeries> series;
  std::map<std::string, int> partIndex;  // part -> series index, in order of first appearance
  for (const auto& s : m_table->spectra()) {
    auto it = partIndex.find(s.part);
    if (it == partIndex.end()) {
      it = partIndex.emplace(s.part, series.size()).first;
      series.append(LineSeries{QString::fromStdString(s.part), {}, {}});
    }
    series[it->second].x << double(s.layer);
    series[it->second].y << metricOf(s.metrics, metric);
  }
  m_layerChart->setSeries(series);
}

void SpectraPanel::showTableMenu(const QPoint& pos) {
  QMenu menu(this);
  auto* exportAction = menu.addAction(tr("Export table as CSV..."), this, &SpectraPanel::exportCsv);
  exportAction->setEnabled(m_table->rowCount() > 0);
  menu.exec(m_view->viewport()->mapToGlobal(pos));
}

QString SpectraPanel::exportCsvTo(const QString& path) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
    return tr("could not write %1: %2").arg(path, file.errorString());
  const QByteArray bytes = m_table->toCsv().toUtf8();
  if (file.write(bytes) != bytes.size() || !file.flush())
    return tr("could not write %1: %2").arg(path, file.errorString());
  return {};
}

void SpectraPanel::exportCsv() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export table as CSV"), QDir::homePath() + QStringLiteral("/spectra.csv"),
      tr("CSV (*.csv)"));
  if (path.isEmpty()) return;
  const QString error = exportCsvTo(path);
  if (!error.isEmpty()) {
    showError(error);
    QMessageBox::warning(this, tr("Export table"), error);
  } else {
    Q_EMIT message(tr("Spectra table exported to %1").arg(path));
  }
}
