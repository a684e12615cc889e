#include "train_panel.h"

#include "job_runner.h"
#include "plot/line_chart.h"
#include "workspace.h"

#include <t2/error.h>
#include <t2/run_store.h>
#include <t2/tasks.h>
#include <t2/training.h>

#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMetaObject>
#include <QPointer>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <cmath>

namespace {

const char* const kJobName = "Train expert";

QString str(const std::string& s) { return QString::fromStdString(s); }

QString duration(double seconds) {
  if (!(seconds >= 0)) return QStringLiteral("?");
  const int s = static_cast<int>(std::lround(seconds));
  return s >= 60 ? QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'))
                 : QStringLiteral("%1 s").arg(s);
}

}  // namespace

TrainPanel::TrainPanel(JobRunner* jobs, QWidget* parent)
    : QWidget(parent), m_jobs(jobs), m_workspace(new Workspace(this)) {
  m_task = new QComboBox;
  m_task->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_task->setMinimumContentsLength(16);
  m_preset = new QComboBox;
  for (const auto& name : t2::train_preset_names()) m_preset->addItem(str(name));
  m_preset->setToolTip(
      tr("sakana-compat: the reference code exactly; paper: the paper's text; "
         "recommended: our choice for small models"));
  m_objective = new QComboBox;
  m_objective->addItem(tr("rl"), QStringLiteral("rl"));
  m_objective->addItem(tr("sft"), QStringLiteral("sft"));
  m_objective->setToolTip(
      tr("rl: REINFORCE on the task's rewards; sft: next-token loss on the "
         "reference answers"));
  m_method = new QComboBox;
  m_method->addItem(tr("svf"), QStringLiteral("svf"));
  m_method->addItem(tr("lora"), QStringLiteral("lora"));
  m_method->setToolTip(
      tr("svf: an expert vector rescaling singular values; lora: a LoRA adapter "
         "(the baseline; PEFT format)"));
  m_loraRank = new QSpinBox;
  m_loraRank->setRange(1, 1024);
  m_loraRank->setValue(t2::TrainParams().lora_rank);
  m_loraRank->setToolTip(tr("LoRA rank r (alpha = 2 r, so the scaling alpha / r stays 2)"));
  m_targets = new QComboBox;
  m_targets->setEditable(true);
  m_targets->addItems({QStringLiteral("mlp"), QStringLiteral("attn"), QStringLiteral("attn-qv"),
                       QStringLiteral("all-linear")});
  m_targets->setToolTip(tr("Matrices that get a vector: a preset or regex:<pattern>"));
  m_iterations = new QSpinBox;
  m_iterations->setRange(1, 100000);
  m_batch = new QSpinBox;
  m_batch->setRange(1, 4096);
  m_lr = new QDoubleSpinBox;
  m_lr->setDecimals(5);
  m_lr->setRange(1e-5, 10.0);
  m_lr->setSingleStep(1e-3);
  m_evalEvery = new QSpinBox;
  m_evalEvery->setRange(0, 100000);
  m_evalEvery->setSpecialValueText(tr("never"));
  m_seed = new QSpinBox;
  m_seed->setRange(0, 999999);
  m_seed->setToolTip(tr("Seed of the initial expert, the batch order and sampling"));

  auto* form = new QFormLayout;
  form->addRow(tr("Task"), m_task);
  auto* row1 = new QHBoxLayout;
  row1->addWidget(m_preset, 1);
  row1->addWidget(new QLabel(tr("Objective")));
  row1->addWidget(m_objective);
  form->addRow(tr("Preset"), row1);
  auto* rowMethod = new QHBoxLayout;
  rowMethod->addWidget(m_method);
  m_loraRankLabel = new QLabel(tr("LoRA rank"));
  rowMethod->addWidget(m_loraRankLabel);
  rowMethod->addWidget(m_loraRank);
  rowMethod->addStretch(1);
  form->addRow(tr("Method"), rowMethod);
  form->addRow(tr("Targets"), m_targets);
  auto* row2 = new QHBoxLayout;
  row2->addWidget(m_iterations);
  row2->addWidget(new QLabel(tr("Batch")));
  row2->addWidget(m_batch);
  form->addRow(tr("Iterations"), row2);
  auto* row3 = new QHBoxLayout;
  row3->addWidget(m_lr);
  row3->addWidget(new QLabel(tr("Eval every")));
  row3->addWidget(m_evalEvery);
  row3->addWidget(new QLabel(tr("Seed")));
  row3->addWidget(m_seed);
  form->addRow(tr("Learning rate"), row3);

  m_run = new QPushButton(tr("Train"));
  m_run->setToolTip(tr("Train an SVF expert on the Model dock's model (Ctrl+Shift+T)"));
  m_stop = new QPushButton(tr("Stop"));
  m_stop->setToolTip(tr("Stop at the next safe point; the best expert so far is kept"));
  m_evaluate = new QPushButton(tr("Evaluate it"));
  m_evaluate->setToolTip(tr("Evaluate the best expert in the Evaluate dock"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_run);
  buttons->addWidget(m_stop);
  buttons->addStretch(1);
  buttons->addWidget(m_evaluate);

  m_status = new QLabel(tr("Open a model folder (Model dock) and pick a task."));
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error = new QLabel;
  m_error->setWordWrap(true);
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->hide();

  m_reward = new LineChart;
  m_reward->setTitles(tr("Reward"), tr("iteration"), tr("mean reward"));
  m_reward->setPlaceholder(tr("Reward per iteration appears here while training"));
  m_reward->setIntegerX(true);
  m_accuracy = new LineChart;
  m_accuracy->setTitles(tr("Accuracy"), tr("iteration"), tr("accuracy (%)"));
  m_accuracy->setPlaceholder(tr("Train and validation accuracy appear here"));
  m_accuracy->setIntegerX(true);
  m_accuracy->setLegendBelow();
  m_accuracy->setYRange(0.0, 100.0);
  auto* charts = new QSplitter(Qt::Vertical);
  charts->addWidget(m_reward);
  charts->addWidget(m_accuracy);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addLayout(buttons);
  layout->addWidget(m_status);
  layout->addWidget(m_error);
  layout->addWidget(charts, 1);

  connect(m_preset, &QComboBox::currentIndexChanged, this, &TrainPanel::applyPreset);
  connect(m_method, &QComboBox::currentIndexChanged, this, &TrainPanel::updateControls);
  connect(m_run, &QPushButton::clicked, this, &TrainPanel::train);
  connect(m_stop, &QPushButton::clicked, this, &TrainPanel::stop);
  connect(m_evaluate, &QPushButton::clicked, this, [this] { Q_EMIT evaluateExpert(m_bestExpert); });
  connect(m_jobs, &JobRunner::runningChanged, this, &TrainPanel::updateControls);
  const int recommended = m_preset->findText(QStringLiteral("recommended"));
  m_preset->setCurrentIndex(recommended >= 0 ? recommended : 0);
  applyPreset();
  updateControls();
}

void TrainPanel::applyPreset() {
  try {
    const t2::TrainParams p = t2::train_preset(m_preset->currentText().toStdString());
    m_iterations->setValue(p.iterations);
    m_batch->setValue(p.batch);
    m_lr->setValue(p.lr);
    m_evalEvery->setValue(p.eval_every);
    m_seed->setValue(static_cast<int>(p.seed));
    m_targets->setCurrentText(str(p.targets));
  } catch (const std::exception& e) {
    showError(str(e.what()));
  }
}

void TrainPanel::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  if (!m_running && m_points.isEmpty())
    m_status->setText(m_model ? tr("Model: %1. Pick a task and a preset, then Train "
                                   "(Ctrl+Shift+T).")
                                    .arg(QDir::toNativeSeparators(m_model->dir))
                              : tr("Open a model folder (Model dock) and pick a task."));
  updateControls();
}

void TrainPanel::setWorkspace(Workspace* workspace) { m_workspace = workspace; }

void TrainPanel::setTaskSpecs(const QStringList& paths) {
  const QString current = m_task->currentData().toString();
  m_task->clear();
  for (const QString& path : paths) {
    QString name = QFileInfo(path).dir().dirName();
    try {
      const t2::Task task = t2::Task::load(path.toStdString());
      if (!task.spec().data.count("train")) continue;  // nothing to train on
      name = str(task.spec().name);
    } catch (const std::exception&) {
      // listed by its folder name; training it shows the load error
    }
    m_task->addItem(name, path);
    m_task->setItemData(m_task->count() - 1, path, Qt::ToolTipRole);
  }
  const int keep = m_task->findData(current);
  if (keep >= 0) m_task->setCurrentIndex(keep);
  updateControls();
}

void TrainPanel::selectTask(const QString& path) {
  const int row = m_task->findData(path);
  if (row >= 0) m_task->setCurrentIndex(row);
}

void TrainPanel::setIterations(int iterations) { m_iterations->setValue(iterations); }
void TrainPanel::setBatch(int batch) { m_batch->setValue(batch); }
void TrainPanel::setLoraRank(int rank) { m_loraRank->setValue(rank); }
void TrainPanel::setLearningRate(double lr) { m_lr->setValue(lr); }
void TrainPanel::setEvalEvery(int every) { m_evalEvery->setValue(every); }

QString TrainPanel::statusText() const { return m_status->text(); }
QString TrainPanel::errorText() const { return m_error->text(); }

void TrainPanel::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
}

void TrainPanel::updateControls() {
  const bool ready = m_model && m_model->hasWeights && m_model->tokenizer && m_task->count() > 0;
  m_run->setEnabled(!m_jobs->isRunning(JobLane::Long) && ready);
  m_stop->setEnabled(m_running);
  m_evaluate->setEnabled(!m_running && !m_bestExpert.isEmpty());
  const bool lora = m_method->currentData().toString() == QLatin1String("lora");
  m_loraRank->setVisible(lora);
  m_loraRankLabel->setVisible(lora);
}

void TrainPanel::stop() {
  if (m_running) m_jobs->cancel(JobLane::Long);
}

void TrainPanel::train() {
  showError({});
  if (m_running) return;
  if (!m_model || !m_model->hasWeights || !m_model->tokenizer) {
    showError(tr("Open a model folder with weights and a tokenizer first (Model dock, Ctrl+O)"));
    return;
  }
  if (m_task->count() == 0) {
    showError(tr("No task with a train split: open a task spec (Ctrl+T)"));
    return;
  }
  if (m_jobs->isRunning(JobLane::Long)) {
    showError(
        tr("%1 is running; wait for it or cancel it (Esc)").arg(m_jobs->currentJob(JobLane::Long)));
    return;
  }
  t2::TrainParams params;
  try {
    params = t2::train_preset(m_preset->currentText().toStdString());
    params.task = m_task->currentData().toString().toStdString();
    params.objective = t2::parse_choice<t2::Objective>(
        "objective", m_objective->currentData().toString().toStdString());
    params.method = t2::parse_choice<t2::TrainMethod>(
        "method", m_method->currentData().toString().toStdString());
    if (params.method == t2::TrainMethod::Lora) {
      params.lora_rank = m_loraRank->value();
      params.lora_alpha = 2.0 * params.lora_rank;
    }
    params.targets = m_targets->currentText().trimmed().toStdString();
    params.iterations = m_iterations->value();
    params.batch = m_batch->value();
    params.lr = m_lr->value();
    params.eval_every = m_evalEvery->value();
    params.seed = static_cast<std::uint64_t>(m_seed->value());
    t2::validate_train_params(params);
  } catch (const std::exception& e) {
    showError(str(e.what()));
    return;
  }
  t2::TrainOptions options;
  options.model_dir = QDir::toNativeSeparators(m_model->dir).toStdString();
  options.db_path = m_workspace->store() ? m_workspace->store()->path() : std::string();
  QPointer<TrainPanel> self(this);
  // Iterations reach the GUI in batches (at most 10 a second), in order.
  struct Update {
    TrainPoint point;
    QString status;
  };
  auto updates =
      std::make_shared<PartialChannel<Update>>(this, [self](const QVector<Update>& batch) {
        if (!self) return;
        for (const Update& u : batch) self->m_points.append(u.point);
        if (self->m_running) self->m_status->setText(batch.last().status);
        self->replot();
      });
  options.on_iteration = [updates](const t2::TrainIteration& it) {
    TrainPoint point{it.iteration, it.reward_mean, it.train_accuracy, it.validation_accuracy};
    const QString status =
        tr("Iteration %1/%2: reward %3 ± %4, loss %5, grad norm %6, KL %7, %8 tok/s, ETA %9")
            .arg(it.iteration)
            .arg(it.iterations)
            .arg(it.reward_mean, 0, 'f', 3)
            .arg(it.reward_std, 0, 'f', 3)
            .arg(it.loss, 0, 'g', 4)
            .arg(it.grad_norm, 0, 'g', 3)
            .arg(it.kl, 0, 'g', 3)
            .arg(it.tokens_per_second, 0, 'f', 0)
            .arg(duration(it.eta_seconds));
    updates->push({point, status});
  };
  Workspace* workspace = m_workspace;
  const QString dir = m_model->dir;
  const bool started = m_jobs->run<t2::TrainReport>(
      tr(kJobName),
      [params, options, workspace, dir, self](const t2::JobContext& job) {
        t2::TrainOptions o = options;
        o.model = workspace->weights(dir, o.load, job);  // the workspace's shared weights
        const t2::Model* used = o.model.get();
        QMetaObject::invokeMethod(  // posted to the application: the panel may be gone by now
            QCoreApplication::instance(),
            [self, used] {
              if (self) self->m_lastWeights = used;
            },
            Qt::QueuedConnection);
        return t2::train_expert(params, o, job);
      },
      [self, updates](const t2::TrainReport& report) {
        if (!self) return;
        updates->flush();  // every iteration is plotted before the report is shown
        auto pct = [](double a) {
          return a < 0 ? QStringLiteral("n/a") : QString::number(100.0 * a, 'f', 1) + " %";
        };
        self->m_bestExpert = str(report.best_expert_path);
        const QString text =
            tr("Finished %1 iterations in %2: validation accuracy %3 (base) -> %4 (best, "
               "iteration %5); %6 trainable values; best %7%8")
                .arg(report.iterations_done)
                .arg(duration(report.seconds), pct(report.base_validation_accuracy),
                     pct(report.best_validation_accuracy))
                .arg(report.best_iteration)
                .arg(report.trainable_parameters)
                .arg(self->m_bestExpert.isEmpty() ? tr("(not saved)") : self->m_bestExpert,
                     report.run_id > 0 ? tr("; run %1").arg(report.run_id) : QString());
        self->m_status->setText(text);
        Q_EMIT self->message(text);
      },
      JobLane::Long,
      [self, updates](JobOutcome outcome, const QString& error) {
        if (!self) return;
        updates->flush();  // every iteration is plotted before the run's end is shown
        self->m_running = false;
        QString why = error;
        if (outcome == JobOutcome::Cancelled)
          why = tr("stopped; the run keeps its best expert (Runs dock)");
        if (!why.isEmpty()) {
          self->showError(why);
          self->m_status->setText(tr("Training ended: %1").arg(why));
        }
        Q_EMIT self->runsChanged();
        self->updateControls();
      });
  if (!started) {
    showError(
        tr("%1 is running; wait for it or cancel it (Esc)").arg(m_jobs->currentJob(JobLane::Long)));
    return;
  }
  m_running = true;
  m_points.clear();
  m_bestExpert.clear();
  replot();
  m_status->setText(tr("Training %1 (%2, %3, %4)...")
                        .arg(m_task->currentText(), m_method->currentText(),
                             m_preset->currentText(), m_objective->currentText()));
  Q_EMIT runsChanged();
  updateControls();
}

void TrainPanel::replot() {
  LineSeries reward{tr("reward (mean)"), {}, {}};
  LineSeries train{tr("train (rollouts)"), {}, {}};
  LineSeries validation{tr("validation"), {}, {}};
  for (const TrainPoint& p : m_points) {
    reward.x << p.iteration;
    reward.y << p.rewardMean;
    train.x << p.iteration;
    train.y << 100.0 * p.trainAccuracy;
    if (p.validationAccuracy >= 0) {
      validation.x << p.iteration;
      validation.y << 100.0 * p.validationAccuracy;
    }
  }
  m_reward->setSeries(m_points.isEmpty() ? QVector<LineSeries>{} : QVector<LineSeries>{reward});
  QVector<LineSeries> accuracy;
  if (!train.x.isEmpty()) accuracy << train;
  if (!validation.x.isEmpty()) accuracy << validation;
  m_accuracy->setSeries(accuracy);
}
