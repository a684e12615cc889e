#include "model_panel.h"

#include "chat_template_tab.h"
#include "generate_tab.h"
#include "job_runner.h"
#include "overview_tab.h"
#include "tensor_table_model.h"
#include "token_chips.h"
#include "tokenizer_tab.h"
#include "workspace.h"

#include <t2/error.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QTabWidget>
#include <QVBoxLayout>

namespace {
const QString kLoadJob = QStringLiteral("Load model folder");

LoadedModel loadFolder(const QString& dir, const t2::JobContext& job) {
  QElapsedTimer clock;
  clock.start();
  LoadedModel model;
  model.dir = dir;
  const std::string path = QDir::toNativeSeparators(dir).toStdString();
  const QDir folder(dir);
  model.hasWeights = folder.exists(QStringLiteral("config.json")) ||
                     !folder.entryList({QStringLiteral("*.safetensors")}, QDir::Files).isEmpty();
  if (!model.hasWeights) {
    model.summaryError = QObject::tr(
        "No model weights in this folder (no config.json or *.safetensors); the Tokenizer and "
        "Chat template tabs work without them.");
  } else {
    job.report("model", 0.0, "reading config.json and the safetensors headers");
    try {
      model.summary = t2::inspect_model(path);
    } catch (const std::exception& e) {
      model.summaryError = QString::fromStdString(e.what());
    }
  }
  job.throw_if_cancelled();
  job.report("model", 0.2, "reading tokenizer.json");
  try {
    model.tokenizer = t2::Tokenizer::from_model_dir(path);
  } catch (const std::exception& e) {
    model.tokenizerError = QString::fromStdString(e.what());
  }
  job.throw_if_cancelled();
  job.report("model", 0.8, "reading the chat template (tokenizer_config.json)");
  try {
    model.chatTemplate = t2::ChatTemplate::from_model_dir(path);
  } catch (const std::exception& e) {
    model.templateError = QString::fromStdString(e.what());
  }
  model.seconds = clock.elapsed() / 1000.0;
  return model;
}
}  // namespace

const char* const ModelPanel::kHint =
    "Open a model folder (Ctrl+O) — any Hugging Face folder with tokenizer.json and/or "
    "config.json + *.safetensors";

ModelPanel::ModelPanel(JobRunner* jobs, QWidget* parent)
    : QWidget(parent),
      m_jobs(jobs),
      m_path(new QLineEdit(this)),
      m_status(new QLabel(this)),
      m_error(new QLabel(this)),
      m_tabs(new QTabWidget(this)),
      m_overview(new OverviewTab(this)),
      m_tokenizer(new TokenizerTab(this)),
      m_template(new ChatTemplateTab(this)),
      m_generate(new GenerateTab(jobs, this)),
      m_workspace(new Workspace(this)) {
  m_generate->setWorkspace(m_workspace);
  m_path->setReadOnly(true);
  m_path->setPlaceholderText(tr("No model folder"));
  auto* open = new QPushButton(tr("&Open..."), this);
  open->setToolTip(tr("Open a model folder (Ctrl+O)"));
  auto* reloadButton = new QPushButton(tr("Re&load"), this);
  reloadButton->setToolTip(tr("Read the folder's files again"));
  m_status->setText(tr(kHint));
  m_status->setWordWrap(true);
  m_error->setObjectName(QStringLiteral("modelError"));
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setVisible(false);

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Folder:"), this));
  bar->addWidget(m_path, 1);
  bar->addWidget(open);
  bar->addWidget(reloadButton);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(bar);
  layout->addWidget(m_status);
  layout->addWidget(m_error);
  layout->addWidget(m_tabs, 1);
  addTab(m_overview, tr("Overview"));
  addTab(m_tokenizer, tr("Tokenizer"));
  addTab(m_template, tr("Chat template"));
  addTab(m_generate, tr("Generate"));

  connect(open, &QPushButton::clicked, this, &ModelPanel::chooseFolder);
  connect(reloadButton, &QPushButton::clicked, this, &ModelPanel::reload);
  connect(m_jobs, &JobRunner::runningChanged, this, [this] {
    if (!m_jobs->isRunning(JobLane::Interactive) && !m_pending.isEmpty()) startLoad();
  });
}

void ModelPanel::addTab(ModelTab* tab, const QString& title) {
  m_modelTabs << tab;
  m_tabs->addTab(tab, title);
  connect(tab, &ModelTab::message, this, &ModelPanel::message);
  tab->setModel(m_model);
}

QString ModelPanel::errorText() const {
  return m_error->isVisibleTo(this) ? m_error->text() : QString();
}
QString ModelPanel::statusText() const { return m_status->text(); }

void ModelPanel::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
  if (!error.isEmpty()) Q_EMIT message(error);
}

void ModelPanel::chooseFolder() {
  const QString dir =
      QFileDialog::getExistingDirectory(this, tr("Open a model folder (with tokenizer.json)"),
                                        m_folder.isEmpty() ? QDir::homePath() : m_folder);
  if (!dir.isEmpty()) openFolder(dir);
}

void ModelPanel::reload() {
  if (m_folder.isEmpty()) return;
  m_cache.remove(m_folder);
  m_workspace->dropWeights(m_folder);  // Generate (and every dock) reads the weights again
  openFolder(m_folder);
}

void ModelPanel::openFolder(const QString& dir) {
  const QString folder = dir.isEmpty() ? QString() : QFileInfo(dir).absoluteFilePath();
  m_folder = folder;
  m_path->setText(QDir::toNativeSeparators(folder));
  m_pending.clear();
  if (folder.isEmpty() || !QFileInfo(folder).isDir()) {
    apply(nullptr);
    m_status->setText(tr(kHint));
    showError(folder.isEmpty() ? QString()
                               : tr("%1 is not a folder; choose a model folder with "
                                    "tokenizer.json")
                                     .arg(folder));
    return;
  }
  if (auto cached = m_cache.value(folder)) {
    apply(cached);
    return;
  }
  m_pending = folder;
  m_status->setText(tr("Loading %1 ...").arg(QDir::toNativeSeparators(folder)));
  showError({});
  if (!m_jobs->isRunning(JobLane::Interactive))
    startLoad();
  else
    m_status->setText(tr("Waiting for %1 to finish before loading the folder...")
                          .arg(m_jobs->currentJob(JobLane::Interactive)));
}

void ModelPanel::startLoad() {
  const QString folder = m_pending;
  QPointer<ModelPanel> self(this);
  const bool started = m_jobs->run<LoadedModel>(
      kLoadJob, [folder](const t2::JobContext& job) { return loadFolder(folder, job); },
      [self](const LoadedModel& loaded) {
        if (!self) return;
        auto shared = std::make_shared<const LoadedModel>(loaded);
        self->m_cache.insert(loaded.dir, shared);
        if (self->m_loading == loaded.dir) self->m_loading.clear();
        if (loaded.dir == self->m_folder) self->apply(shared);
      },
      JobLane::Interactive,
      // A failed or cancelled job leaves no result: clear the loading state either way.
      [self, folder](JobOutcome outcome, const QString& error) {
        if (!self) return;
        if (outcome == JobOutcome::Failed)
          self->showError(tr("Could not load the folder: %1").arg(error));
        if (self->m_loading == folder) {
          self->m_loading.clear();
          if (folder == self->m_folder && !self->m_model)
            self->m_status->setText(tr("Loading %1 stopped.").arg(folder));
        }
      });
  if (!started) return;  // runningChanged(false) retries
  m_pending.clear();
  m_loading = folder;
}

void ModelPanel::setWorkspace(Workspace* workspace) {
  m_workspace = workspace;
  m_generate->setWorkspace(workspace);
  m_workspace->setModel(m_model);
}

void ModelPanel::apply(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  m_workspace->setModel(m_model);
  for (auto* tab : m_modelTabs) tab->setModel(m_model);
  Q_EMIT modelChanged();
  if (!m_model) return;
  const QString where = QDir::toNativeSeparators(m_model->dir);
  QStringList loaded, failed;
  if (m_model->summary)
    loaded
        << tr("model overview (%1 parameters)").arg(formatCount(m_model->summary->parameter_count));
  else if (m_model->hasWeights)
    failed << tr("model: %1").arg(m_model->summaryError);
  if (m_model->tokenizer)
    loaded << tr("tokenizer (vocabulary of %1)")
                  .arg(countOf(m_model->tokenizer->vocab_size(), "token", "tokens"));
  else
    failed << tr("tokenizer: %1").arg(m_model->tokenizerError);
  if (m_model->chatTemplate)
    loaded << tr("chat template");
  else
    failed << tr("chat template: %1").arg(m_model->templateError);
  m_status->setText(
      loaded.isEmpty()
          ? tr("Nothing loaded from %1").arg(where)
          : tr("Loaded %1 in %2 s").arg(loaded.join(tr(", "))).arg(m_model->seconds, 0, 'f', 2));
  if (m_model->tokenizer || m_model->chatTemplate || m_model->summary)
    Q_EMIT folderLoaded(m_model->dir);
  if (!m_model->tokenizer && !m_model->summary) {
    showError(failed.join(QLatin1Char('\n')));
  } else {
    m_error->setVisible(false);
    if (!failed.isEmpty())
      Q_EMIT message(tr("%1: %2").arg(where, failed.join(QStringLiteral("; "))));
  }
}
