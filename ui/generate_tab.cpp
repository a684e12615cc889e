#include "generate_tab.h"

#include "job_runner.h"
#include "tensor_table_model.h"
#include "workspace.h"

#include <t2/error.h>
#include <t2/text_generation.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QShortcut>
#include <QSpinBox>
#include <QTextCursor>
#include <QTimer>
#include <QVBoxLayout>

struct GenerateTab::Outcome {
  std::shared_ptr<const t2::Model> model;
  double loadSeconds = -1.0;  // < 0: taken from the cache
  std::optional<t2::TextGeneration> result;
};

// One streamed item: a token (text empty) or a piece of text (token < 0).
struct GenerateTab::Piece {
  std::int32_t token = -1;
  std::string text;
};

namespace {
const QString kJobName = QStringLiteral("Generate");

QComboBox* editableCombo(const QStringList& items, QWidget* parent) {
  auto* box = new QComboBox(parent);
  box->addItems(items);
  box->setEditable(true);
  box->setInsertPolicy(QComboBox::NoInsert);
  return box;
}
}  // namespace

GenerateTab::GenerateTab(JobRunner* jobs, QWidget* parent)
    : ModelTab(parent),
      m_jobs(jobs),
      m_dtype(editableCombo({QStringLiteral("f32"), QStringLiteral("bf16")}, this)),
      m_device(editableCombo(
          {QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")}, this)),
      m_load(new QPushButton(tr("Load weights"), this)),
      m_loadInfo(new QLabel(this)),
      m_prompt(new QPlainTextEdit(this)),
      m_chat(new QCheckBox(tr("Chat"), this)),
      m_system(new QLineEdit(this)),
      m_tokenIds(new QCheckBox(tr("Token ids"), this)),
      m_greedy(new QCheckBox(tr("Greedy"), this)),
      m_temperature(new QDoubleSpinBox(this)),
      m_topP(new QDoubleSpinBox(this)),
      m_topK(new QSpinBox(this)),
      m_repetition(new QDoubleSpinBox(this)),
      m_seed(new QSpinBox(this)),
      m_maxTokens(new QSpinBox(this)),
      m_generateButton(new QPushButton(tr("Generate"), this)),
      m_stopButton(new QPushButton(tr("Stop"), this)),
      m_error(new QLabel(this)),
      m_output(new QPlainTextEdit(this)),
      m_stats(new QLabel(this)),
      m_workspace(new Workspace(this)) {
  m_dtype->setToolTip(tr("Compute and weight dtype: f32 or bf16"));
  m_device->setToolTip(tr("cpu, cuda, cuda:N, or auto (cuda if available)"));
  m_loadInfo->setWordWrap(true);
  m_loadInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_prompt->setObjectName(QStringLiteral("generatePrompt"));
  m_prompt->setPlaceholderText(tr("Prompt (Ctrl+Return generates)"));
  m_prompt->setPlainText(tr("The capital of France is"));
  m_system->setPlaceholderText(tr("System message (optional)"));
  m_chat->setToolTip(tr("Render the prompt as a user message with the chat template"));
  m_tokenIds->setToolTip(tr("The prompt is a list of token ids, e.g. 1, 15, 27"));
  m_greedy->setChecked(true);
  m_temperature->setRange(0.01, 5.0);
  m_temperature->setSingleStep(0.1);
  m_temperature->setValue(0.7);
  m_topP->setRange(0.01, 1.0);
  m_topP->setSingleStep(0.05);
  m_topP->setValue(0.95);
  m_topK->setRange(0, 100000);
  m_topK->setSpecialValueText(tr("off"));
  m_topK->setValue(50);
  m_repetition->setRange(1.0, 3.0);
  m_repetition->setSingleStep(0.05);
  m_repetition->setValue(1.0);
  m_seed->setRange(-1, std::numeric_limits<int>::max());
  m_seed->setSpecialValueText(tr("random"));
  m_seed->setValue(0);
  m_maxTokens->setRange(0, 1000000);
  m_maxTokens->setValue(64);
  m_generateButton->setToolTip(tr("Generate (Ctrl+Return)"));
  m_stopButton->setToolTip(tr("Stop the generation (Esc)"));
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setVisible(false);
  m_output->setObjectName(QStringLiteral("generateOutput"));
  m_output->setReadOnly(true);
  m_output->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_output->setPlaceholderText(tr("The generated text streams here"));
  m_stats->setWordWrap(true);
  m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* loadRow = new QHBoxLayout;
  loadRow->addWidget(new QLabel(tr("Dtype:"), this));
  loadRow->addWidget(m_dtype);
  loadRow->addWidget(new QLabel(tr("Device:"), this));
  loadRow->addWidget(m_device);
  loadRow->addWidget(m_load);
  loadRow->addStretch(1);
  auto* chatRow = new QHBoxLayout;
  chatRow->addWidget(m_chat);
  chatRow->addWidget(m_system, 1);
  chatRow->addWidget(m_tokenIds);
  auto* sampling = new QGridLayout;
  const auto addField = [&](int row, int col, const QString& label, QWidget* field) {
    sampling->addWidget(new QLabel(label, this), row, col * 2);
    sampling->addWidget(field, row, col * 2 + 1);
  };
  sampling->addWidget(m_greedy, 0, 0, 1, 2);
  addField(0, 1, tr("Temperature:"), m_temperature);
  addField(0, 2, tr("Top-p:"), m_topP);
  addField(1, 0, tr("Top-k:"), m_topK);
  addField(1, 1, tr("Rep. penalty:"), m_repetition);
  addField(1, 2, tr("Seed:"), m_seed);
  addField(2, 0, tr("Max new:"), m_maxTokens);
  for (int c = 1; c < 6; c += 2) sampling->setColumnStretch(c, 1);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(m_generateButton);
  buttons->addWidget(m_stopButton);
  sampling->addLayout(buttons, 2, 2, 1, 4);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(loadRow);
  layout->addWidget(m_loadInfo);
  layout->addWidget(m_prompt, 1);
  layout->addLayout(chatRow);
  layout->addLayout(sampling);
  layout->addWidget(m_error);
  layout->addWidget(m_output, 2);
  layout->addWidget(m_stats);

  // Focus-scoped: the Tasks dock uses Ctrl+Return too. Esc is the main window's Cancel action.
  for (auto key : {Qt::Key_Return, Qt::Key_Enter}) {
    auto* shortcut = new QShortcut(QKeySequence(Qt::CTRL | key), this, nullptr, nullptr,
                                   Qt::WidgetWithChildrenShortcut);
    connect(shortcut, &QShortcut::activated, this, &GenerateTab::generate);
  }
  connect(m_load, &QPushButton::clicked, this, &GenerateTab::loadWeights);
  connect(m_generateButton, &QPushButton::clicked, this, &GenerateTab::generate);
  connect(m_stopButton, &QPushButton::clicked, this, &GenerateTab::stop);
  connect(m_greedy, &QCheckBox::toggled, this, &GenerateTab::updateControls);
  connect(m_chat, &QCheckBox::toggled, this, &GenerateTab::updateControls);
  connect(m_tokenIds, &QCheckBox::toggled, this, &GenerateTab::updateControls);
  connect(m_jobs, &JobRunner::runningChanged, this, &GenerateTab::updateControls);
  setModel(nullptr);
}

GenerateTab::~GenerateTab() {
  if (m_generating) m_jobs->cancel(JobLane::Interactive);  // its result finds no tab (QPointer)
}

void GenerateTab::setWorkspace(Workspace* workspace) { m_workspace = workspace; }

t2::LoadParams GenerateTab::loadParams() const {
  t2::LoadParams load;
  load.dtype = m_dtype->currentText().trimmed().toStdString();
  load.device = m_device->currentText().trimmed().toStdString();
  return load;
}

std::shared_ptr<const t2::Model> GenerateTab::loadedModel() const {
  return m_model ? m_workspace->cachedWeights(m_model->dir, loadParams()) : nullptr;
}

void GenerateTab::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  if (!m_model)
    m_loadInfo->setText(tr("Open a model folder (Ctrl+O) with config.json and *.safetensors"));
  else if (!m_model->hasWeights)
    m_loadInfo->setText(tr("No model weights in this folder: nothing to generate with."));
  else if (!m_model->tokenizer)
    m_loadInfo->setText(
        tr("No tokenizer (%1): the prompt can only be token ids.").arg(m_model->tokenizerError));
  else
    m_loadInfo->setText(loadedModel() ? tr("Weights loaded (cached).")
                                      : tr("Weights not loaded yet: Generate loads them first."));
  if (m_model && !m_model->tokenizer) m_tokenIds->setChecked(true);
  showError({});
  updateControls();
}

void GenerateTab::updateControls() {
  const bool weights = m_model && m_model->hasWeights;
  const bool hasTokenizer = m_model && m_model->tokenizer;
  const bool busy = m_jobs->isRunning(JobLane::Interactive);
  m_load->setEnabled(weights && !busy);
  m_generateButton->setEnabled(weights && !busy);
  m_stopButton->setEnabled(m_generating);
  m_tokenIds->setEnabled(hasTokenizer);
  m_chat->setEnabled(hasTokenizer && m_model->chatTemplate && !m_tokenIds->isChecked());
  m_system->setEnabled(m_chat->isEnabled() && m_chat->isChecked());
  for (QWidget* w : {static_cast<QWidget*>(m_temperature), static_cast<QWidget*>(m_topP),
                     static_cast<QWidget*>(m_topK)})
    w->setEnabled(!m_greedy->isChecked());
}

void GenerateTab::setLoadOptions(const QString& dtype, const QString& device) {
  m_dtype->setCurrentText(dtype);
  m_device->setCurrentText(device);
}

void GenerateTab::setPrompt(const QString& text, bool tokenIds) {
  m_prompt->setPlainText(text);
  m_tokenIds->setChecked(tokenIds);
}

void GenerateTab::setChat(bool chat, const QString& system) {
  m_chat->setChecked(chat);
  m_system->setText(system);
}

void GenerateTab::setParams(const t2::GenerateParams& p) {
  m_greedy->setChecked(p.sampling.temperature <= 0.0);
  if (p.sampling.temperature > 0.0) m_temperature->setValue(p.sampling.temperature);
  m_topP->setValue(p.sampling.top_p);
  m_topK->setValue(p.sampling.top_k);
  m_repetition->setValue(p.sampling.repetition_penalty);
  m_seed->setValue(int(p.seed));
  m_maxTokens->setValue(p.max_new_tokens);
}

t2::GenerateParams GenerateTab::params() const {
  t2::GenerateParams p;
  p.max_new_tokens = m_maxTokens->value();
  p.seed = m_seed->value();
  p.sampling.repetition_penalty = m_repetition->value();
  if (!m_greedy->isChecked()) {
    p.sampling.temperature = m_temperature->value();
    p.sampling.top_p = m_topP->value();
    p.sampling.top_k = m_topK->value();
  }
  return p;
}

std::vector<std::int32_t> GenerateTab::promptIds() const {
  using t2::Error;
  using t2::ErrorKind;
  const QString text = m_prompt->toPlainText();
  if (m_tokenIds->isChecked() || !m_model || !m_model->tokenizer) {
    std::vector<std::int32_t> ids;
    const auto parts =
        text.split(QRegularExpression(QStringLiteral("[\\s,\\[\\]]+")), Qt::SkipEmptyParts);
    const std::int64_t vocab = m_model && m_model->summary ? m_model->summary->config.vocab_size
                                                           : std::numeric_limits<int>::max();
    for (const QString& part : parts) {
      bool ok = false;
      const int id = part.toInt(&ok);
      if (!ok || id < 0 || id >= vocab)
        throw Error(ErrorKind::InvalidArgument,
                    tr("'%1' is not a token id in [0, %2): write ids separated by commas or "
                       "spaces")
                        .arg(part)
                        .arg(vocab)
                        .toStdString());
      ids.push_back(id);
    }
    if (ids.empty())
      throw Error(ErrorKind::InvalidArgument, "the prompt holds no token ids: write e.g. 1, 15");
    return ids;
  }
  const t2::TextPrompt prompt = textPrompt();
  if (!m_model->summary)
    throw Error(ErrorKind::InvalidArgument,
                "the folder's config.json is unreadable: " + m_model->summaryError.toStdString());
  return t2::build_text_prompt(m_model->summary->config, &*m_model->tokenizer,
                               m_model->chatTemplate ? &*m_model->chatTemplate : nullptr, prompt)
      .ids;
}

t2::TextPrompt GenerateTab::textPrompt() const {
  t2::TextPrompt prompt;
  if (m_tokenIds->isChecked() || !m_model || !m_model->tokenizer) {
    prompt.kind = t2::TextPrompt::Kind::Ids;
    prompt.ids = promptIds();
    return prompt;
  }
  const bool chat = m_chat->isChecked() && m_model->chatTemplate;
  prompt.kind = chat ? t2::TextPrompt::Kind::Chat : t2::TextPrompt::Kind::Plain;
  prompt.text = m_prompt->toPlainText().toStdString();
  if (chat) prompt.system = m_system->text().trimmed().toStdString();
  return prompt;
}

QString GenerateTab::visibleControls(const QString& text) {
  QString out;
  out.reserve(text.size());
  for (QChar c : text) {
    const bool control = (c.unicode() < 0x20 && c != QLatin1Char('\n') && c != QLatin1Char('\t')) ||
                         c.unicode() == 0x7F;
    if (control)
      out += QStringLiteral("\\x%1").arg(c.unicode(), 2, 16, QLatin1Char('0'));
    else
      out += c;
  }
  return out;
}

QString GenerateTab::outputText() const { return m_output->toPlainText(); }
QString GenerateTab::statsText() const { return m_stats->text(); }
QString GenerateTab::loadText() const { return m_loadInfo->text(); }
QString GenerateTab::errorText() const {
  return m_error->isVisibleTo(this) ? m_error->text() : QString();
}

void GenerateTab::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
  if (!error.isEmpty()) Q_EMIT message(error);
}

void GenerateTab::loadWeights() { start(false); }
void GenerateTab::generate() { start(true); }

void GenerateTab::stop() {
  if (m_generating) m_jobs->cancel(JobLane::Interactive);
}

void GenerateTab::start(bool generateToo) {
  showError({});
  if (!m_model || !m_model->hasWeights) {
    showError(m_model ? tr("No model weights in this folder: open a folder with config.json and "
                           "*.safetensors")
                      : tr("Open a model folder first (Ctrl+O)"));
    return;
  }
  if (m_jobs->isRunning(JobLane::Interactive)) {
    showError(tr("%1 is running; wait for it or cancel it (Esc)")
                  .arg(m_jobs->currentJob(JobLane::Interactive)));
    return;
  }
  t2::TextPrompt prompt;
  std::size_t promptTokens = 0;
  if (generateToo) {
    try {
      prompt = textPrompt();
      promptTokens =
          prompt.kind == t2::TextPrompt::Kind::Ids ? prompt.ids.size() : promptIds().size();
    } catch (const std::exception& e) {
      showError(tr("Bad prompt: %1").arg(QString::fromUtf8(e.what())));
      return;
    }
  }
  t2::GenerateParams params = this->params();
  // Each run uses a fresh Session (whose RNG starts the same way): "random" draws a seed here.
  if (params.seed < 0) params.seed = QRandomGenerator::global()->bounded(1 << 30);
  m_usedSeed = params.seed;
  const t2::LoadParams load = loadParams();
  const QString dir = m_model->dir;
  const bool cached = m_workspace->cachedWeights(dir, load) != nullptr;
  auto model = m_model;  // keeps the tokenizer and chat template alive in the worker
  Workspace* workspace = m_workspace;
  QPointer<GenerateTab> self(this);
  m_showText = generateToo && m_model->tokenizer && !m_tokenIds->isChecked();
  // Tokens and text reach the GUI in batches, at most 10 times a second.
  auto stream = std::make_shared<PartialChannel<Piece>>(this, [self](const QVector<Piece>& batch) {
    if (self) self->appendStream(batch);
  });
  const bool started = m_jobs->run<Outcome>(
      generateToo ? kJobName : tr("Load weights"),
      [workspace, model, dir, load, prompt, params, stream,
       generateToo](const t2::JobContext& job) {
        Outcome out;
        QElapsedTimer clock;
        clock.start();
        const bool wasCached = workspace->cachedWeights(dir, load) != nullptr;
        out.model = workspace->weights(dir, load, job);
        if (!wasCached) out.loadSeconds = clock.elapsed() / 1000.0;
        if (!generateToo) return out;
        job.report("generate", 0.0, "generating");
        t2::Session session(out.model);
        t2::TextCallbacks callbacks;
        callbacks.on_token = [stream](std::int32_t token) { stream->push({token, {}}); };
        callbacks.on_text = [stream](const std::string& text) { stream->push({-1, text}); };
        const t2::Tokenizer* tokenizer = model->tokenizer ? &*model->tokenizer : nullptr;
        const t2::ChatTemplate* chat = model->chatTemplate ? &*model->chatTemplate : nullptr;
        out.result = t2::generate_text(session, tokenizer, chat, prompt, params, callbacks, job);
        return out;
      },
      [self](const Outcome& out) {
        if (self) self->finishRun(out);
      },
      JobLane::Interactive,
      [self, stream](JobOutcome outcome, const QString& error) {
        if (!self) return;
        stream->flush();
        self->endRun(outcome == JobOutcome::Cancelled ? tr("Stopped.") : error);
      });
  if (!started) {
    showError(tr("Another generation is running; try again when it ends"));
    return;
  }
  m_generating = true;
  m_result.reset();
  if (generateToo) {
    m_generated.clear();
    m_output->clear();
    m_stats->setText(tr("Generating from %1 prompt tokens...").arg(promptTokens));
  }
  if (!cached)
    m_loadInfo->setText(
        tr("Loading the weights (%1 on %2)...")
            .arg(QString::fromStdString(load.dtype), QString::fromStdString(load.device)));
  updateControls();
}

void GenerateTab::finishRun(const Outcome& out) {
  m_lastWeights = out.model.get();
  const auto& model = *out.model;
  m_loadInfo->setText(
      tr("%1 weights: %2 parameters, %3 in %4 on %5")
          .arg(out.loadSeconds >= 0.0 ? tr("Loaded in %1 s").arg(out.loadSeconds, 0, 'f', 2)
                                      : tr("Cached"))
          .arg(formatCount(model.parameter_count()), formatBytes(model.weight_bytes()),
               QString::fromStdString(model.dtype()), QString::fromStdString(model.device())));
  m_result = out.result;
}

void GenerateTab::endRun(const QString& why) {
  m_generating = false;
  if (m_result) {
    const auto& r = *m_result;
    m_stats->setText(
        tr("%1 prompt tokens · %2 generated · finish: %3 · prefill %4 tok/s · "
           "decode %5 tok/s")
            .arg(r.prompt_ids.size())
            .arg(r.sequence.tokens.size())
            .arg(QString::fromStdString(r.sequence.finish_reason))
            .arg(r.prefill_tokens_per_second, 0, 'f', 1)
            .arg(r.decode_tokens_per_second, 0, 'f', 1) +
        (params().sampling.temperature > 0.0 ? tr(" · seed %1").arg(m_usedSeed) : QString()));
  } else if (!why.isEmpty() && why == tr("Stopped.")) {
    m_stats->setText(tr("Stopped after %1 generated tokens.").arg(m_generated.size()));
  } else if (!why.isEmpty()) {
    showError(why);
    if (!loadedModel()) m_loadInfo->setText(tr("Weights not loaded."));
    m_stats->clear();
  }
  updateControls();
}

void GenerateTab::appendStream(const QVector<Piece>& batch) {
  QString text;
  QStringList ids;
  for (const Piece& piece : batch) {
    if (piece.token >= 0) {
      m_generated.push_back(piece.token);
      ids << QString::number(piece.token);
    } else {
      text += QString::fromStdString(piece.text);
    }
  }
  if (m_showText) {
    text = visibleControls(text);
  } else {
    if (ids.isEmpty()) return;
    text = (m_output->document()->isEmpty() ? QString() : QStringLiteral(", ")) +
           ids.join(QStringLiteral(", "));
  }
  if (text.isEmpty()) return;
  QTextCursor cursor(m_output->document());
  cursor.movePosition(QTextCursor::End);
  cursor.insertText(text);
  m_output->ensureCursorVisible();
}
