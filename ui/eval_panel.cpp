#include "eval_panel.h"

#include "job_runner.h"
#include "plot/bar_chart.h"
#include "workspace.h"

#include <t2/adaptation.h>
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/lora.h>
#include <t2/run_store.h>
#include <t2/tasks.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QSaveFile>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <mutex>
#include <optional>

namespace {

const char* const kJobName = "Evaluate";

QString str(const std::string& s) { return QString::fromStdString(s); }

// What the worker hands back: the weights it used, the report and the stored run.
struct Outcome {
  std::shared_ptr<const t2::Model> model;
  t2::EvalReport report;
  std::int64_t runId = -1;
  std::mutex mutex;  // the partial report is written by the worker, read on the GUI thread

  Outcome() = default;
  Outcome(const Outcome& o) : model(o.model), report(o.report), runId(o.runId) {}
};

QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1); }

}  // namespace

EvalPanel::EvalPanel(JobRunner* jobs, QWidget* parent)
    : QWidget(parent), m_jobs(jobs), m_workspace(new Workspace(this)) {
  m_task = new QComboBox;
  m_task->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_task->setMinimumContentsLength(16);
  m_split = new QComboBox;
  m_limit = new QSpinBox;
  m_limit->setRange(0, 1000000);
  m_limit->setValue(100);
  m_limit->setSpecialValueText(tr("all"));
  m_limit->setToolTip(tr("First N items of the split (dataset order); \"all\" = every item"));
  m_batch = new QSpinBox;
  m_batch->setRange(1, 256);
  m_batch->setValue(32);
  m_batch->setToolTip(tr("Prompts generated together (left-padded batches)"));
  m_expert = new QLineEdit;
  m_expert->setPlaceholderText(tr("base model (no expert)"));
  m_expert->setClearButtonEnabled(true);
  m_expert->setToolTip(
      tr("SVF expert: a t2 expert file (.safetensors) or a JSON {name: [z]}; "
         "or a LoRA adapter folder (PEFT format)"));
  auto* browse = new QPushButton(tr("..."));
  browse->setToolTip(tr("Choose an expert file"));
  m_bundled = new QToolButton;
  m_bundled->setText(tr("Demo"));
  m_bundled->setPopupMode(QToolButton::InstantPopup);
  m_bundled->setToolTip(tr("The bundled demo experts (resources/demo/experts)"));
  m_bundled->setEnabled(false);
  auto* expertRow = new QHBoxLayout;
  expertRow->addWidget(m_expert, 1);
  expertRow->addWidget(m_bundled);
  expertRow->addWidget(browse);

  auto* form = new QFormLayout;
  form->addRow(tr("Task"), m_task);
  form->addRow(tr("Split"), m_split);
  auto* sizes = new QHBoxLayout;
  sizes->addWidget(m_limit);
  sizes->addWidget(new QLabel(tr("Batch")));
  sizes->addWidget(m_batch);
  form->addRow(tr("Items"), sizes);
  form->addRow(tr("Expert"), expertRow);

  m_run = new QPushButton(tr("Evaluate"));
  m_run->setToolTip(tr("Evaluate the Model dock's model on the task (Ctrl+Shift+E)"));
  m_stop = new QPushButton(tr("Stop"));
  m_stop->setToolTip(tr("Stop after the current batch; finished items are kept"));
  m_export = new QPushButton(tr("Export..."));
  m_export->setToolTip(tr("Save the report with every item as JSON"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_run);
  buttons->addWidget(m_stop);
  buttons->addStretch(1);
  buttons->addWidget(m_export);

  m_summary = new QLabel(tr("Open a model folder (Model dock) and pick a task."));
  m_summary->setWordWrap(true);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error = new QLabel;
  m_error->setWordWrap(true);
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->hide();

  m_wrongOnly = new QCheckBox(tr("Wrong only"));
  m_items = new QTableWidget(0, 5);
  m_items->setHorizontalHeaderLabels({tr("#"), tr("OK"), tr("Gold"), tr("Answer"), tr("Output")});
  m_items->horizontalHeader()->setStretchLastSection(true);
  m_items->verticalHeader()->hide();
  m_items->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_items->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_items->setSelectionMode(QAbstractItemView::SingleSelection);
  m_detail = new QPlainTextEdit;
  m_detail->setReadOnly(true);
  m_detail->setPlaceholderText(tr("Select an item to see its prompt and full output"));
  m_chart = new BarChart;
  m_chart->setTitles(tr("Evaluations this session"), tr("task / split / strategy"),
                     tr("accuracy (%)"));
  m_chart->setPlaceholder(tr("Each evaluation adds a bar"));
  m_chart->setFixedTop(100.0);
  m_chart->setMinimumHeight(160);

  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(m_items);
  split->addWidget(m_detail);
  split->addWidget(m_chart);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setStretchFactor(2, 2);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addLayout(buttons);
  layout->addWidget(m_summary);
  layout->addWidget(m_error);
  layout->addWidget(m_wrongOnly);
  layout->addWidget(split, 1);

  connect(m_task, &QComboBox::currentIndexChanged, this, &EvalPanel::showSplits);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(
        this, tr("Expert file"), QFileInfo(m_expert->text()).absolutePath(),
        tr("Experts (*.safetensors *.json);;All files (*)"));
    if (!file.isEmpty()) m_expert->setText(file);
  });
  connect(m_run, &QPushButton::clicked, this, &EvalPanel::evaluate);
  connect(m_stop, &QPushButton::clicked, this, &EvalPanel::stop);
  connect(m_export, &QPushButton::clicked, this, &EvalPanel::exportJson);
  connect(m_wrongOnly, &QCheckBox::toggled, this, &EvalPanel::fillItems);
  connect(m_items, &QTableWidget::itemSelectionChanged, this, &EvalPanel::showItem);
  connect(m_jobs, &JobRunner::runningChanged, this, &EvalPanel::updateControls);
  connect(m_jobs, &JobRunner::progressChanged, this,
          [this](const QString& name, double, const QString& text) {
            if (m_running && name == tr(kJobName) && !text.isEmpty())
              m_summary->setText(tr("Evaluating... %1").arg(text));
          });
  updateControls();
}

void EvalPanel::setWorkspace(Workspace* workspace) { m_workspace = workspace; }

void EvalPanel::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  if (!m_running && !m_report)
    m_summary->setText(m_model ? tr("Model: %1. Pick a task and Evaluate (Ctrl+Shift+E).")
                                     .arg(QDir::toNativeSeparators(m_model->dir))
                               : tr("Open a model folder (Model dock) and pick a task."));
  updateControls();
}

void EvalPanel::setTaskSpecs(const QStringList& paths) {
  const QString current = m_task->currentData().toString();
  m_task->blockSignals(true);
  m_task->clear();
  for (const QString& path : paths) {
    QString name = QFileInfo(path).dir().dirName();
    try {
      name = str(t2::Task::load(path.toStdString()).spec().name);
    } catch (const std::exception&) {
      // listed by its folder name; evaluating it shows the load error
    }
    m_task->addItem(name, path);
    m_task->setItemData(m_task->count() - 1, path, Qt::ToolTipRole);
  }
  m_task->blockSignals(false);
  const int keep = m_task->findData(current);
  m_task->setCurrentIndex(keep >= 0 ? keep : (m_task->count() > 0 ? 0 : -1));
  showSplits();
}

void EvalPanel::selectTask(const QString& path) {
  const int row = m_task->findData(path);
  if (row >= 0) m_task->setCurrentIndex(row);
}

void EvalPanel::setLimit(int limit) { m_limit->setValue(limit); }
void EvalPanel::setBatchSize(int batch) { m_batch->setValue(batch); }
void EvalPanel::setExpertFile(const QString& path) { m_expert->setText(path); }

void EvalPanel::setBundledExperts(const QVector<QPair<QString, QString>>& experts) {
  auto* menu = new QMenu(m_bundled);
  menu->addAction(tr("Base model (no expert)"), this, [this] { m_expert->clear(); });
  for (const auto& [name, file] : experts)
    menu->addAction(tr("%1 expert").arg(name), this,
                    [this, file = file] { m_expert->setText(file); });
  delete m_bundled->menu();
  m_bundled->setMenu(menu);
  m_bundled->setEnabled(!experts.isEmpty());
}

void EvalPanel::showSplits() {
  const QString previous = m_split->currentText();
  m_split->clear();
  const QString path = m_task->currentData().toString();
  if (path.isEmpty()) return;
  try {
    const t2::Task task = t2::Task::load(path.toStdString());
    for (const auto& s : task.splits()) m_split->addItem(str(s));
    const int keep = m_split->findText(previous.isEmpty() ? QStringLiteral("test") : previous);
    const int test = m_split->findText(QStringLiteral("test"));
    m_split->setCurrentIndex(keep >= 0 ? keep : (test >= 0 ? test : 0));
    showError({});
  } catch (const std::exception& e) {
    showError(str(e.what()));
  }
}

void EvalPanel::updateControls() {
  const bool busy = m_jobs->isRunning(JobLane::Long);
  const bool ready = m_model && m_model->hasWeights && m_model->tokenizer && m_task->count() > 0;
  m_run->setEnabled(!busy && ready);
  m_stop->setEnabled(m_running);
  m_export->setEnabled(m_report.has_value() && !m_running);
}

void EvalPanel::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
}

QString EvalPanel::errorText() const { return m_error->text(); }
QString EvalPanel::summaryText() const { return m_summary->text(); }

void EvalPanel::stop() {
  if (m_running) m_jobs->cancel(JobLane::Long);
}

void EvalPanel::evaluate() {
  showError({});
  if (m_running) return;
  if (!m_model || !m_model->hasWeights) {
    showError(tr("Open a model folder with weights first (Model dock, Ctrl+O)"));
    return;
  }
  if (!m_model->tokenizer) {
    showError(tr("This model folder has no usable tokenizer: %1").arg(m_model->tokenizerError));
    return;
  }
  if (m_jobs->isRunning(JobLane::Long)) {
    showError(
        tr("%1 is running; wait for it or cancel it (Esc)").arg(m_jobs->currentJob(JobLane::Long)));
    return;
  }
  const QString specPath = m_task->currentData().toString();
  std::shared_ptr<const t2::Task> task;
  try {
    task = std::make_shared<const t2::Task>(t2::Task::load(specPath.toStdString()));
  } catch (const std::exception& e) {
    showError(str(e.what()));
    return;
  }
  t2::EvalParams params;
  params.split = m_split->currentText().toStdString();
  params.limit = static_cast<std::size_t>(m_limit->value());
  params.batch_size = m_batch->value();
  const QString dir = m_model->dir;
  const std::string modelDir = QDir::toNativeSeparators(dir).toStdString();

  t2::EvalRunInfo info;
  info.model_dir = modelDir;
  info.strategy = t2::Strategy::from_path(m_expert->text().trimmed().toStdString());
  if (m_model->summary) info.architecture = m_model->summary->config.architecture;
  // The worker records the run through its own connection to the workspace's database.
  const std::string dbPath = m_workspace->store() ? m_workspace->store()->path() : std::string();
  m_runId = -1;
  m_strategyLabel = QString::fromStdString(t2::strategy_label(info.strategy));

  // Filled on the worker: the items finished so far (shown when the evaluation is stopped).
  auto partial = std::make_shared<Outcome>();
  auto model = m_model;  // keeps tokenizer and chat template alive in the worker
  Workspace* workspace = m_workspace;
  QPointer<EvalPanel> self(this);
  const bool started = m_jobs->run<Outcome>(
      tr(kJobName),
      [partial, model, workspace, task, params, info, dir, modelDir,
       dbPath](const t2::JobContext& job) {
        Outcome out;
        out.model = workspace->weights(dir, {}, job);
        t2::Session session(out.model);
        t2::ApplyParams apply;
        apply.expected_tokens = 1e9;  // one adaptation for a whole split: recompose
        t2::apply_strategy(session, modelDir, info.strategy, apply, job);
        t2::EvalParams p = params;
        p.on_batch = [partial](const t2::EvalReport& soFar) {
          std::lock_guard<std::mutex> lock(partial->mutex);
          partial->report = soFar;
        };
        t2::EvalRunInfo runInfo = info;
        std::optional<t2::RunStore> store;
        if (!dbPath.empty()) {
          store.emplace(dbPath);
          runInfo.model_fingerprint = t2::model_fingerprint(modelDir);
        }
        const t2::ChatTemplate* tmpl = model->chatTemplate ? &*model->chatTemplate : nullptr;
        const t2::StoredEvaluation done = t2::evaluate_and_store(
            session, *model->tokenizer, tmpl, *task, p, store ? &*store : nullptr, runInfo, job);
        out.report = done.report;
        out.runId = store ? done.run_id : -1;
        return out;
      },
      [self](const Outcome& out) {
        if (!self) return;
        self->m_lastWeights = out.model.get();
        self->m_runId = out.runId;
        self->showReport(out.report, QString());
      },
      JobLane::Long,
      [self, partial](JobOutcome outcome, const QString& error) {
        if (!self) return;
        self->m_running = false;
        if (outcome == JobOutcome::Cancelled) {
          std::lock_guard<std::mutex> lock(partial->mutex);
          self->showReport(partial->report, tr("stopped; the finished items are stored"));
        } else if (outcome == JobOutcome::Failed) {
          self->showError(error);
          self->m_summary->setText(tr("Evaluation failed."));
        }
        if (self->m_workspace->store()) Q_EMIT self->runStored(self->m_runId);
        self->updateControls();
      });
  if (!started) {
    showError(
        tr("%1 is running; wait for it or cancel it (Esc)").arg(m_jobs->currentJob(JobLane::Long)));
    return;
  }
  m_running = true;
  m_summary->setText(
      tr("Evaluating %1 (%2)...").arg(m_task->currentText(), m_split->currentText()));
  updateControls();
}

void EvalPanel::showReport(const t2::EvalReport& report, const QString& status) {
  m_report = report;
  const QString strategy = m_strategyLabel;
  QString text = tr("%1 / %2 (%3): accuracy %4 % [95 % CI %5-%6], %7 of %8 correct, "
                    "%9 unextractable; %10 ms per example")
                     .arg(str(report.task), str(report.split), strategy, percent(report.accuracy),
                          percent(report.ci_low), percent(report.ci_high))
                     .arg(report.correct)
                     .arg(report.n)
                     .arg(report.unextractable)
                     .arg(report.ms_per_example, 0, 'f', 1);
  if (!status.isEmpty()) text += tr(" (%1)").arg(status);
  if (m_runId >= 0) text += tr("; run %1").arg(m_runId);
  m_summary->setText(text);
  Q_EMIT message(text);
  if (report.n > 0) {
    m_history.append(QStringLiteral("%1/%2/%3").arg(str(report.task), str(report.split), strategy));
    m_historyValues.append(100.0 * report.accuracy);
    m_chart->setData(m_history, m_historyValues);
  }
  fillItems();
  updateControls();
}

void EvalPanel::fillItems() {
  m_items->setRowCount(0);
  m_detail->clear();
  if (!m_report) return;
  const bool wrongOnly = m_wrongOnly->isChecked();
  for (std::size_t i = 0; i < m_report->items.size(); ++i) {
    const auto& item = m_report->items[i];
    if (wrongOnly && item.correct) continue;
    const int row = m_items->rowCount();
    m_items->insertRow(row);
    auto* index = new QTableWidgetItem(QString::number(item.index));
    index->setData(Qt::UserRole, static_cast<qulonglong>(i));
    m_items->setItem(row, 0, index);
    m_items->setItem(row, 1, new QTableWidgetItem(item.correct ? tr("yes") : tr("no")));
    m_items->setItem(row, 2, new QTableWidgetItem(str(item.gold)));
    m_items->setItem(row, 3,
                     new QTableWidgetItem(item.found ? str(item.extracted_answer) : tr("(none)")));
    m_items->setItem(row, 4, new QTableWidgetItem(str(item.output).simplified()));
    if (!item.correct)
      for (int c = 0; c < 4; ++c) m_items->item(row, c)->setForeground(QColor(0xb0, 0x00, 0x20));
  }
  m_items->resizeColumnsToContents();
}

void EvalPanel::showItem() {
  const auto rows = m_items->selectionModel()->selectedRows();
  if (!m_report || rows.isEmpty()) return;
  const auto i = m_items->item(rows.first().row(), 0)->data(Qt::UserRole).toULongLong();
  const auto& item = m_report->items.at(static_cast<std::size_t>(i));
  m_detail->setPlainText(tr("── prompt (%1 tokens) ──\n%2\n\n── output (%3 tokens, %4) ──\n%5\n\n"
                            "── judged ──\nanswer: %6\ngold: %7\n%8")
                             .arg(item.prompt_tokens)
                             .arg(str(item.prompt))
                             .arg(item.generated_tokens)
                             .arg(str(item.finish_reason), str(item.output),
                                  item.found ? str(item.extracted_answer) : tr("(none)"),
                                  str(item.gold), str(item.detail)));
}

QString EvalPanel::exportJsonTo(const QString& path) const {
  if (!m_report) return tr("Nothing to export: run an evaluation first");
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly))
    return tr("Cannot write %1: %2").arg(path, file.errorString());
  file.write(QByteArray::fromStdString(t2::to_json(*m_report, /*with_items=*/true, 2)));
  if (!file.commit()) return tr("Cannot write %1: %2").arg(path, file.errorString());
  return {};
}

void EvalPanel::exportJson() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export evaluation"), QStringLiteral("evaluation.json"), tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  const QString error = exportJsonTo(path);
  if (error.isEmpty())
    Q_EMIT message(tr("Evaluation saved to %1").arg(path));
  else
    showError(error);
}
