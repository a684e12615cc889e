#include "generate_tab.h"

#include "job_runner.h"
#include "tensor_table_model.h"
#include "token_stream.h"

#include <t2/error.h>

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
  QString key;
  std::shared_ptr<const t2::Model> model;
  double loadSeconds = -1.0;  // < 0: taken from the cache
  std::optional<t2::GenerateResult> result;
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
      m_drain(new QTimer(this)) {
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
  m_drain->setInterval(kDrainMs);

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
  connect(m_drain, &QTimer::timeout, this, &GenerateTab::drain);
  connect(m_greedy, &QCheckBox::toggled, this, &GenerateTab::updateControls);
  connect(m_chat, &QCheckBox::toggled, this, &GenerateTab::updateControls);
  connect(m_tokenIds, &QCheckBox::toggled, this, &GenerateTab::updateControls);
  connect(m_jobs, &JobRunner::runningChanged, this, &GenerateTab::updateControls);
  setModel(nullptr);
}

GenerateTab::~GenerateTab() {
  if (m_generating) m_jobs->cancel();  // its result (if any) finds no tab: see QPointer above
}

void GenerateTab::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  m_loaded = m_model ? m_cache.value(cacheKey()) : nullptr;
  if (!m_model)
    m_loadInfo->setText(tr("Open a model folder (Ctrl+O) with config.json and *.safetensors"));
  else if (!m_model->hasWeights)
    m_loadInfo->setText(tr("No model weights in this folder: nothing to generate with."));
  else if (!m_model->tokenizer)
    m_loadInfo->setText(
        tr("No tokenizer (%1): the prompt can only be token ids.").arg(m_model->tokenizerError));
  else
    m_loadInfo->setText(m_loaded ? tr("Weights loaded (cached).")
                                 : tr("Weights not loaded yet: Generate loads them first."));
  if (m_model && !m_model->tokenizer) m_tokenIds->setChecked(true);
  showError({});
  updateControls();
}

void GenerateTab::updateControls() {
  const bool weights = m_model && m_model->hasWeights;
  const bool hasTokenizer = m_model && m_model->tokenizer;
  const bool busy = m_jobs->isRunning();
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
  const t2::Tokenizer& tok = *m_model->tokenizer;
  if (m_chat->isChecked() && m_model->chatTemplate) {
    std::vector<t2::ChatMessage> messages;
    if (!m_system->text().trimmed().isEmpty())
      messages.push_back({"system", m_system->text().toStdString()});
    messages.push_back({"user", text.toStdString()});
    t2::ChatTemplateOptions options;
    options.add_generation_prompt = true;
    return tok.encode(m_model->chatTemplate->render(messages, options), false);
  }
  auto ids = tok.encode(text.toStdString(), true);
  if (ids.empty())
    throw Error(ErrorKind::InvalidArgument, "the prompt is empty: type some text to continue");
  return ids;
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

QString GenerateTab::cacheKey() const {
  if (!m_model) return {};
  return m_model->dir + QLatin1Char('|') + m_dtype->currentText().trimmed() + QLatin1Char('|') +
         m_device->currentText().trimmed();
}

void GenerateTab::dropCached(const QString& dir) {
  const QString prefix = dir + QLatin1Char('|');
  for (auto it = m_cache.begin(); it != m_cache.end();)
    it = it.key().startsWith(prefix) ? m_cache.erase(it) : std::next(it);
  if (m_model && m_model->dir == dir) m_loaded.reset();
}

void GenerateTab::loadWeights() { start(false); }
void GenerateTab::generate() { start(true); }

void GenerateTab::stop() {
  if (m_generating) m_jobs->cancel();
}

void GenerateTab::start(bool generateToo) {
  showError({});
  if (!m_model || !m_model->hasWeights) {
    showError(m_model ? tr("No model weights in this folder: open a folder with config.json and "
                           "*.safetensors")
                      : tr("Open a model folder first (Ctrl+O)"));
    return;
  }
  if (m_jobs->isRunning()) {
    showError(tr("%1 is running; wait for it or cancel it (Esc)").arg(m_jobs->currentJob()));
    return;
  }
  std::vector<std::int32_t> prompt;
  if (generateToo) {
    try {
      prompt = promptIds();
    } catch (const std::exception& e) {
      showError(tr("Bad prompt: %1").arg(QString::fromUtf8(e.what())));
      return;
    }
  }
  t2::GenerateParams params = this->params();
  // Each run uses a fresh Session (whose RNG starts the same way): "random" draws a seed here.
  if (params.seed < 0) params.seed = QRandomGenerator::global()->bounded(1 << 30);
  m_usedSeed = params.seed;
  if (generateToo && m_model->tokenizer && m_model->chatTemplate &&
      m_model->chatTemplate->eos_token()) {
    // Chat models end a turn with the template's eos (e.g. <|im_end|>) as well as config's.
    if (auto eos = m_model->tokenizer->token_to_id(*m_model->chatTemplate->eos_token())) {
      if (m_model->summary) params.eos_ids = m_model->summary->config.eos_token_ids;
      params.eos_ids.push_back(*eos);
    }
  }
  auto outcome = std::make_shared<Outcome>();
  outcome->key = cacheKey();
  outcome->model = m_cache.value(outcome->key);
  t2::LoadParams load;
  load.dtype = m_dtype->currentText().trimmed().toStdString();
  load.device = m_device->currentText().trimmed().toStdString();
  const std::string dir = QDir::toNativeSeparators(m_model->dir).toStdString();
  auto buffer = std::make_shared<TokenBuffer>();
  const bool started = m_jobs->run<Outcome>(
      generateToo ? kJobName : tr("Load weights"),
      [outcome, load, dir, prompt, params, buffer, generateToo](const t2::JobContext& job) {
        Outcome out = *outcome;
        if (!out.model) {
          QElapsedTimer clock;
          clock.start();
          out.model = t2::Model::load(dir, load, job);
          out.loadSeconds = clock.elapsed() / 1000.0;
        }
        if (!generateToo) return out;
        job.report("generate", 0.0, "generating");
        t2::Session session(out.model);
        const auto onToken = [buffer](std::size_t, std::int32_t token) {
          std::lock_guard<std::mutex> lock(buffer->mutex);
          buffer->ids.push_back(token);
        };
        out.result = session.generate({prompt}, params, onToken, job);
        return out;
      },
      [self = QPointer<GenerateTab>(this)](const Outcome& out) {
        if (self) self->finishRun(out);
      });
  if (!started) {
    showError(tr("Another job is running; try again when it ends"));
    return;
  }
  m_generating = true;
  m_buffer = buffer;
  m_result.reset();
  if (generateToo) {
    m_generated.clear();
    m_output->clear();
    m_stats->setText(tr("Generating from %1 prompt tokens...").arg(prompt.size()));
    m_decoder.reset();
    if (m_model->tokenizer && !m_tokenIds->isChecked())
      m_decoder = std::make_unique<TokenStreamDecoder>(*m_model->tokenizer);
    m_drain->start();
  }
  if (!outcome->model)
    m_loadInfo->setText(
        tr("Loading the weights (%1 on %2)...")
            .arg(QString::fromStdString(load.dtype), QString::fromStdString(load.device)));
  updateControls();
  // A failed or cancelled job delivers no Outcome: end the run from the runner's signals.
  auto* context = new QObject(this);
  const auto done = [this, context](const QString& why) {
    endRun(why);
    context->deleteLater();
  };
  connect(m_jobs, &JobRunner::jobFinished, context, [done] { done({}); });
  connect(m_jobs, &JobRunner::jobCancelled, context, [done] { done(tr("Stopped.")); });
  connect(m_jobs, &JobRunner::jobFailed, context,
          [done](const QString&, const QString& error) { done(error); });
}

void GenerateTab::finishRun(const Outcome& out) {
  m_cache.insert(out.key, out.model);
  if (m_model && cacheKey() == out.key) m_loaded = out.model;
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
  drain();
  m_drain->stop();
  if (m_decoder) {
    const std::string rest = m_decoder->flush();
    if (!rest.empty()) {
      QTextCursor cursor(m_output->document());
      cursor.movePosition(QTextCursor::End);
      cursor.insertText(visibleControls(QString::fromStdString(rest)));
    }
  }
  m_generating = false;
  if (m_result && !m_result->sequences.empty()) {
    const auto& r = *m_result;
    const double prefill = r.prefill_seconds > 0 ? r.prompt_tokens / r.prefill_seconds : 0.0;
    const double decode = r.decode_seconds > 0 ? (r.generated_tokens - 1) / r.decode_seconds : 0.0;
    m_stats->setText(
        tr("%1 prompt tokens · %2 generated · finish: %3 · prefill %4 tok/s · "
           "decode %5 tok/s")
            .arg(r.prompt_tokens)
            .arg(r.generated_tokens)
            .arg(QString::fromStdString(r.sequences[0].finish_reason))
            .arg(prefill, 0, 'f', 1)
            .arg(decode, 0, 'f', 1) +
        (params().sampling.temperature > 0.0 ? tr(" · seed %1").arg(m_usedSeed) : QString()));
  } else if (!why.isEmpty() && why == tr("Stopped.")) {
    m_stats->setText(tr("Stopped after %1 generated tokens.").arg(m_generated.size()));
  } else if (!why.isEmpty()) {
    showError(why);
    if (!m_loaded) m_loadInfo->setText(tr("Weights not loaded."));
    m_stats->clear();
  }
  m_buffer.reset();
  updateControls();
}

void GenerateTab::drain() {
  if (!m_buffer) return;
  std::vector<std::int32_t> ids;
  {
    std::lock_guard<std::mutex> lock(m_buffer->mutex);
    ids.swap(m_buffer->ids);
  }
  if (ids.empty()) return;
  m_generated.insert(m_generated.end(), ids.begin(), ids.end());
  QString text;
  if (m_decoder) {
    try {
      text = visibleControls(QString::fromStdString(m_decoder->push(ids)));
    } catch (const std::exception& e) {
      m_decoder.reset();  // e.g. an id the tokenizer does not know: show ids from now on
      showError(tr("Decode failed (%1); showing token ids").arg(QString::fromUtf8(e.what())));
    }
  }
  if (!m_decoder) {
    QStringList parts;
    for (auto id : ids) parts << QString::number(id);
    text = (m_output->document()->isEmpty() ? QString() : QStringLiteral(", ")) +
           parts.join(QStringLiteral(", "));
  }
  QTextCursor cursor(m_output->document());
  cursor.movePosition(QTextCursor::End);
  cursor.insertText(text);
  m_output->ensureCursorVisible();
}
