#include "chat_template_tab.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QTableWidget>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

#include <set>

namespace {
enum Column { Role, Content };
}

ChatTemplateTab::ChatTemplateTab(QWidget* parent)
    : ModelTab(parent),
      m_system(new QPlainTextEdit(this)),
      m_table(new QTableWidget(0, 2, this)),
      m_generationPrompt(new QCheckBox(tr("Add &generation prompt"), this)),
      m_thinking(new QCheckBox(tr("Enable &thinking"), this)),
      m_error(new QLabel(this)),
      m_count(new QLabel(this)),
      m_view(new QTextEdit(this)),
      m_debounce(new QTimer(this)) {
  m_system->setObjectName(QStringLiteral("systemMessage"));
  m_system->setPlaceholderText(tr("System message (optional)"));
  m_system->setMaximumHeight(56);
  m_table->setObjectName(QStringLiteral("conversation"));
  m_table->setHorizontalHeaderLabels({tr("Role"), tr("Content")});
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->verticalHeader()->setVisible(false);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setColumnWidth(Role, 90);
  m_table->setToolTip(
      tr("Double-click a cell to edit it; roles are free text "
         "(system, user, assistant, tool...)"));
  m_generationPrompt->setChecked(true);
  m_thinking->setChecked(true);
  m_thinking->setToolTip(tr("Passes enable_thinking to the template (Qwen3 reads it)"));
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setVisible(false);
  m_view->setObjectName(QStringLiteral("renderedPrompt"));
  m_view->setReadOnly(true);
  m_view->setLineWrapMode(QTextEdit::WidgetWidth);
  m_debounce->setSingleShot(true);
  m_debounce->setInterval(150);

  auto* add = new QPushButton(tr("&Add message"), this);
  auto* remove = new QPushButton(tr("&Remove"), this);
  remove->setToolTip(tr("Remove the selected messages (Delete)"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(add);
  buttons->addWidget(remove);
  buttons->addStretch(1);
  auto* flags = new QHBoxLayout;  // a row of its own: keeps the dock's minimum width small
  flags->addWidget(m_generationPrompt);
  flags->addWidget(m_thinking);
  flags->addStretch(1);
  auto* editor = new QWidget(this);
  auto* editorLayout = new QVBoxLayout(editor);
  editorLayout->setContentsMargins(0, 0, 0, 0);
  editorLayout->addWidget(m_system);
  editorLayout->addWidget(m_table, 1);
  editorLayout->addLayout(buttons);
  editorLayout->addLayout(flags);
  auto* output = new QWidget(this);
  auto* outputLayout = new QVBoxLayout(output);
  outputLayout->setContentsMargins(0, 0, 0, 0);
  outputLayout->addWidget(m_error);
  outputLayout->addWidget(m_view, 1);
  outputLayout->addWidget(m_count);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(editor);
  split->addWidget(output);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(split);

  connect(add, &QPushButton::clicked, this, [this] { addRow(); });
  connect(remove, &QPushButton::clicked, this, &ChatTemplateTab::removeSelectedRows);
  auto* del = new QShortcut(QKeySequence::Delete, m_table, nullptr, nullptr, Qt::WidgetShortcut);
  connect(del, &QShortcut::activated, this, &ChatTemplateTab::removeSelectedRows);
  connect(m_system, &QPlainTextEdit::textChanged, this, &ChatTemplateTab::scheduleUpdate);
  connect(m_table, &QTableWidget::itemChanged, this, &ChatTemplateTab::scheduleUpdate);
  connect(m_generationPrompt, &QCheckBox::toggled, this, &ChatTemplateTab::scheduleUpdate);
  connect(m_thinking, &QCheckBox::toggled, this, &ChatTemplateTab::scheduleUpdate);
  connect(m_debounce, &QTimer::timeout, this, &ChatTemplateTab::updateNow);

  setConversation(
      tr("You are a helpful assistant."),
      {{"user", "What is 17 × 3?"}, {"assistant", "17 × 3 = 51."}, {"user", "And 51 ÷ 3?"}});
}

void ChatTemplateTab::setModel(std::shared_ptr<const LoadedModel> model) {
  m_model = std::move(model);
  updateNow();
}

std::vector<t2::ChatMessage> ChatTemplateTab::messages() const {
  std::vector<t2::ChatMessage> out;
  const QString system = m_system->toPlainText();
  if (!system.trimmed().isEmpty()) out.push_back({"system", system.toStdString()});
  for (int row = 0; row < m_table->rowCount(); ++row) {
    const auto* role = m_table->item(row, Role);
    const auto* content = m_table->item(row, Content);
    out.push_back({role ? role->text().trimmed().toStdString() : std::string(),
                   content ? content->text().toStdString() : std::string()});
  }
  return out;
}

void ChatTemplateTab::setConversation(const QString& system,
                                      const std::vector<t2::ChatMessage>& rows) {
  {
    const QSignalBlocker blockSystem(m_system);
    const QSignalBlocker blockTable(m_table);
    m_system->setPlainText(system);
    m_table->setRowCount(0);
    for (const auto& m : rows)
      addRow(QString::fromStdString(m.role), QString::fromStdString(m.content));
  }
  updateNow();
}

void ChatTemplateTab::addRow(const QString& role, const QString& content) {
  const int row = m_table->rowCount();
  m_table->insertRow(row);
  m_table->setItem(row, Role, new QTableWidgetItem(role));
  m_table->setItem(row, Content, new QTableWidgetItem(content));
  scheduleUpdate();
}

void ChatTemplateTab::removeSelectedRows() {
  std::set<int> rows;
  for (const auto& index : m_table->selectionModel()->selectedIndexes()) rows.insert(index.row());
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) m_table->removeRow(*it);
  scheduleUpdate();
}

t2::ChatTemplateOptions ChatTemplateTab::options() const {
  t2::ChatTemplateOptions o;
  o.add_generation_prompt = m_generationPrompt->isChecked();
  o.extra_variables_json =
      m_thinking->isChecked() ? R"({"enable_thinking": true})" : R"({"enable_thinking": false})";
  return o;
}

QString ChatTemplateTab::countText() const { return m_count->text(); }
QString ChatTemplateTab::errorText() const {
  return m_error->isVisibleTo(this) ? m_error->text() : QString();
}

void ChatTemplateTab::scheduleUpdate() { m_debounce->start(); }

void ChatTemplateTab::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
}

void ChatTemplateTab::updateNow() {
  m_debounce->stop();
  m_rendered.clear();
  m_chips.clear();
  m_count->clear();
  m_view->clear();
  if (!m_model) {
    showError({});
    m_view->setPlainText(
        tr("Open a model folder (Ctrl+O) — any Hugging Face folder with tokenizer.json"));
    return;
  }
  if (!m_model->chatTemplate) {
    showError(tr("No chat template: %1").arg(m_model->templateError));
    return;
  }
  std::string rendered;
  try {
    rendered = m_model->chatTemplate->render(messages(), options());
  } catch (const std::exception& e) {
    showError(tr("Template error: %1").arg(QString::fromStdString(e.what())));
    Q_EMIT message(m_error->text());
    return;
  }
  m_rendered = QString::fromStdString(rendered);
  showError({});
  if (!m_model->tokenizer) {
    m_view->setPlainText(m_rendered);
    m_count->setText(countOf(m_rendered.toUcs4().size(), "character", "characters") +
                     tr(" · no tokenizer to count tokens"));
    return;
  }
  try {
    const auto ids = m_model->tokenizer->encode(rendered, /*add_special_tokens=*/false);
    m_chips = tokenChips(*m_model->tokenizer, ids);
    renderChips(m_view, m_chips, ChipStyle::Prompt);
    int special = 0;
    for (const auto& c : m_chips) special += c.special ? 1 : 0;
    m_count->setText(countOf(qsizetype(ids.size()), "token", "tokens") +
                     tr(" (%1 special) · ").arg(special) +
                     countOf(m_rendered.toUcs4().size(), "character", "characters"));
  } catch (const std::exception& e) {
    m_view->setPlainText(m_rendered);
    showError(tr("Tokenize failed: %1").arg(QString::fromStdString(e.what())));
  }
}
