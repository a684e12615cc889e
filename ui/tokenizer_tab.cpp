#include "tokenizer_tab.h"

#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

namespace {
const char* const kSample =
    "Hello, world! Transformer² adapts LLMs in two passes.\n"
    "多语言分词：你好世界 🙂👍🏽\n"
    "<|im_start|>user  tabs\tand   spaces<|im_end|>";
}

TokenizerTab::TokenizerTab(QWidget* parent)
    : ModelTab(parent),
      m_input(new QPlainTextEdit(this)),
      m_debounce(new QTimer(this)),
      m_count(new QLabel(this)),
      m_roundTrip(new QLabel(this)),
      m_error(new QLabel(this)),
      m_chipView(new QTextEdit(this)),
      m_idsView(new QPlainTextEdit(this)) {
  m_input->setObjectName(QStringLiteral("tokenizerInput"));
  m_input->setPlaceholderText(tr("Type text to tokenize"));
  m_input->setPlainText(QString::fromUtf8(kSample));
  m_debounce->setSingleShot(true);
  m_debounce->setInterval(kDebounceMs);
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setVisible(false);
  m_roundTrip->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_roundTrip->setWordWrap(true);
  m_roundTrip->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  m_roundTrip->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
  m_chipView->setObjectName(QStringLiteral("tokenChips"));
  m_chipView->setReadOnly(true);
  m_chipView->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
  m_idsView->setObjectName(QStringLiteral("tokenIds"));
  m_idsView->setReadOnly(true);
  m_idsView->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_idsView->setMaximumHeight(70);

  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(m_input);
  split->addWidget(m_chipView);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 2);
  auto* status = new QHBoxLayout;
  status->addWidget(m_count);
  status->addWidget(m_roundTrip, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_error);
  layout->addWidget(split, 1);
  layout->addLayout(status);
  layout->addWidget(new QLabel(tr("Ids:"), this));
  layout->addWidget(m_idsView);

  connect(m_input, &QPlainTextEdit::textChanged, m_debounce, qOverload<>(&QTimer::start));
  connect(m_debounce, &QTimer::timeout, this, &TokenizerTab::updateNow);
  updateNow();
}

void TokenizerTab::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  updateNow();
}

void TokenizerTab::setText(const QString& text) { m_input->setPlainText(text); }
QString TokenizerTab::text() const { return m_input->toPlainText(); }
QString TokenizerTab::countText() const { return m_count->text(); }
QString TokenizerTab::roundTripText() const { return m_roundTrip->text(); }
QString TokenizerTab::errorText() const {
  return m_error->isVisibleTo(this) ? m_error->text() : QString();
}

void TokenizerTab::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
}

void TokenizerTab::updateNow() {
  m_debounce->stop();
  m_ids.clear();
  m_chips.clear();
  m_count->clear();
  m_roundTrip->clear();
  m_idsView->clear();
  if (!m_model) {
    showError({});
    m_chipView->setPlainText(
        tr("Open a model folder (Ctrl+O) — any Hugging Face folder with tokenizer.json"));
    return;
  }
  if (!m_model->tokenizer) {
    showError(tr("No tokenizer: %1").arg(m_model->tokenizerError));
    m_chipView->clear();
    return;
  }
  QString text = m_input->toPlainText();
  const bool cut = text.size() > kMaxChars;
  if (cut) text.truncate(kMaxChars);
  const std::string utf8 = text.toStdString();
  try {
    const t2::Tokenizer& tok = *m_model->tokenizer;
    m_ids = tok.encode(utf8, /*add_special_tokens=*/false);
    m_chips = tokenChips(tok, m_ids);
    const QString decoded = QString::fromStdString(tok.decode(m_ids));
    showError(cut ? tr("Only the first %1 characters are tokenized here.").arg(kMaxChars)
                  : QString());
    if (decoded == text) {
      m_roundTrip->setText(tr("✓ decodes back exactly"));
      m_roundTrip->setStyleSheet(QStringLiteral("color: #0a7d32"));
    } else {
      m_roundTrip->setText(tr("✗ decode differs: %1").arg(firstDifference(text, decoded)));
      m_roundTrip->setStyleSheet(QStringLiteral("color: #b00020"));
    }
  } catch (const std::exception& e) {
    showError(tr("Tokenize failed: %1").arg(QString::fromStdString(e.what())));
    Q_EMIT message(m_error->text());
  }
  renderChips(m_chipView, m_chips, ChipStyle::Chips);
  QStringList ids;
  ids.reserve(int(m_ids.size()));
  for (auto id : m_ids) ids << QString::number(id);
  m_idsView->setPlainText(QLatin1Char('[') + ids.join(QStringLiteral(", ")) + QLatin1Char(']'));
  m_count->setText(countOf(qsizetype(m_ids.size()), "token", "tokens") + QStringLiteral(" · ") +
                   countOf(text.toUcs4().size(), "character", "characters") +
                   QStringLiteral(" · ") + countOf(qsizetype(utf8.size()), "byte", "bytes"));
}
