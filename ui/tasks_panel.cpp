#include "tasks_panel.h"

#include "job_runner.h"
#include "task_items_model.h"

#include <t2/demo_suite.h>

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace {
const QString kCheckJob = QStringLiteral("Check answer");
constexpr int kPathRole = Qt::UserRole;

QString str(const std::string& s) { return QString::fromStdString(s); }

QString signedNumber(double v) {
  return (v > 0 ? QStringLiteral("+") : QString()) + QString::number(v, 'g', 6);
}

QString extractorText(const t2::ExtractorSpec& e) {
  QString text = QString::fromLatin1(t2::to_string(e.kind));
  if (e.kind == t2::ExtractorKind::Regex) text += QStringLiteral(" /%1/").arg(str(e.pattern));
  if (e.kind == t2::ExtractorKind::ChoiceLetter)
    text += QStringLiteral(" (%1)").arg(str(e.choices));
  return text;
}
}  // namespace

TasksPanel::TasksPanel(JobRunner* jobs, QWidget* parent)
    : QWidget(parent),
      m_jobs(jobs),
      m_specs(new QListWidget(this)),
      m_info(new QLabel(this)),
      m_error(new QLabel(this)),
      m_split(new QComboBox(this)),
      m_items(new TaskItemsModel(this)),
      m_table(new QTableView(this)),
      m_prompt(new QPlainTextEdit(this)),
      m_output(new QPlainTextEdit(this)),
      m_check(new QPushButton(tr("&Check"), this)),
      m_verdictLabel(new QLabel(this)) {
  m_specs->setObjectName(QStringLiteral("taskSpecs"));
  auto* open = new QPushButton(tr("Open spec..."), this);
  open->setToolTip(tr("Open a task spec file (Ctrl+T)"));
  m_info->setWordWrap(true);
  m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setStyleSheet(QStringLiteral("color: #b00020"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setVisible(false);
  m_split->setMinimumContentsLength(10);
  m_table->setObjectName(QStringLiteral("taskItems"));
  m_table->setModel(m_items);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->verticalHeader()->setVisible(false);
  m_table->horizontalHeader()->setStretchLastSection(false);
  m_table->horizontalHeader()->setSectionResizeMode(TaskItemsModel::Prompt, QHeaderView::Stretch);
  m_table->setWordWrap(false);
  m_table->setAlternatingRowColors(true);
  m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
  const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
  m_prompt->setObjectName(QStringLiteral("builtPrompt"));
  m_prompt->setReadOnly(true);
  m_prompt->setFont(mono);
  m_prompt->setPlaceholderText(tr("Select an item to see the prompt the task builds"));
  m_output->setObjectName(QStringLiteral("answerInput"));
  m_output->setFont(mono);
  m_output->setPlaceholderText(tr("Type or paste a model output, then Check (Ctrl+Return)"));
  m_check->setToolTip(tr("Extract the answer and judge it (Ctrl+Return)"));
  auto* useGold = new QPushButton(tr("Gold"), this);
  useGold->setToolTip(tr("Fill in the item's gold answer"));
  m_verdictLabel->setObjectName(QStringLiteral("verdict"));
  m_verdictLabel->setWordWrap(true);
  m_verdictLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* left = new QWidget(this);
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(m_specs, 1);
  leftLayout->addWidget(open);
  auto* splitRow = new QHBoxLayout;
  splitRow->addWidget(new QLabel(tr("Split:"), this));
  splitRow->addWidget(m_split);
  splitRow->addStretch(1);
  auto* top = new QWidget(this);
  auto* topLayout = new QVBoxLayout(top);
  topLayout->setContentsMargins(0, 0, 0, 0);
  topLayout->addWidget(m_info);
  topLayout->addWidget(m_error);
  topLayout->addLayout(splitRow);
  topLayout->addWidget(m_table, 1);
  auto* promptBox = new QWidget(this);
  auto* promptLayout = new QVBoxLayout(promptBox);
  promptLayout->setContentsMargins(0, 0, 0, 0);
  promptLayout->addWidget(new QLabel(tr("Prompt (as the task builds it):"), this));
  promptLayout->addWidget(m_prompt, 1);
  auto* checkBox = new QWidget(this);
  auto* checkLayout = new QVBoxLayout(checkBox);
  checkLayout->setContentsMargins(0, 0, 0, 0);
  checkLayout->addWidget(new QLabel(tr("Check an answer:"), this));
  checkLayout->addWidget(m_output, 1);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_check);
  buttons->addWidget(useGold);
  buttons->addStretch(1);
  checkLayout->addLayout(buttons);
  checkLayout->addWidget(m_verdictLabel);
  auto* bottom = new QSplitter(Qt::Horizontal, this);
  bottom->addWidget(promptBox);
  bottom->addWidget(checkBox);
  auto* right = new QSplitter(Qt::Vertical, this);
  right->addWidget(top);
  right->addWidget(bottom);
  right->setStretchFactor(0, 3);
  right->setStretchFactor(1, 2);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 4);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(split);

  connect(open, &QPushButton::clicked, this, &TasksPanel::chooseSpec);
  connect(m_specs, &QListWidget::currentRowChanged, this, &TasksPanel::showSpec);
  connect(m_split, &QComboBox::currentIndexChanged, this, &TasksPanel::showSplit);
  connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          &TasksPanel::showItem);
  connect(m_items, &TaskItemsModel::loadFailed, this, &TasksPanel::showError);
  connect(m_check, &QPushButton::clicked, this, &TasksPanel::checkAnswer);
  connect(useGold, &QPushButton::clicked, this, [this] {
    if (const auto* item = currentItem()) setOutput(str(item->gold));
  });
  auto* shortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), m_output, nullptr,
                                 nullptr, Qt::WidgetShortcut);
  connect(shortcut, &QShortcut::activated, this, &TasksPanel::checkAnswer);
  showSpec();
}

void TasksPanel::setResourcesDir(const QString& resourcesDir) {
  for (int row = m_specs->count() - 1; row >= 0; --row)
    if (!m_opened.contains(specPath(row))) delete m_specs->takeItem(row);
  if (resourcesDir.isEmpty()) return;
  const t2::DemoInfo info = t2::demo_info(resourcesDir.toStdString());
  int row = 0;
  const auto insert = [&](const std::string& path, const QString& group) {
    if (!QFileInfo::exists(str(path))) return;
    auto* item = new QListWidgetItem;
    item->setData(kPathRole, QFileInfo(str(path)).absoluteFilePath());
    item->setText(QStringLiteral("%1 (%2)").arg(QFileInfo(str(path)).dir().dirName(), group));
    item->setToolTip(QDir::toNativeSeparators(str(path)));
    m_specs->insertItem(row++, item);
  };
  for (const auto& p : info.training_tasks) insert(p, tr("demo"));
  for (const auto& p : info.unseen_tasks) insert(p, tr("demo, unseen"));
  if (!info.classification_task.empty()) insert(info.classification_task, tr("demo, classifier"));
  for (const auto& missing : info.missing)
    Q_EMIT message(tr("Demo task spec missing: %1").arg(str(missing)));
  fitSpecList();
  if (m_specs->currentRow() < 0 && m_specs->count() > 0) m_specs->setCurrentRow(0);
}

void TasksPanel::fitSpecList() {
  const int width = m_specs->sizeHintForColumn(0) + 2 * m_specs->frameWidth() + 8;
  m_specs->setMinimumWidth(std::min(width, 320));
}

void TasksPanel::addSpecRow(const QString& path, const QString& group) {
  auto* item =
      new QListWidgetItem(QStringLiteral("%1 (%2)").arg(QFileInfo(path).fileName(), group));
  item->setData(kPathRole, path);
  item->setToolTip(QDir::toNativeSeparators(path));
  m_specs->addItem(item);
  fitSpecList();
}

QString TasksPanel::openSpec(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  std::shared_ptr<const t2::Task> task;
  try {
    task = std::make_shared<const t2::Task>(t2::Task::load(absolute.toStdString()));
  } catch (const std::exception& e) {
    const QString error = str(e.what());
    showError(error);
    Q_EMIT message(tr("Could not open the task spec: %1").arg(error));
    return error;
  }
  m_cache.insert(absolute, task);
  int row = findSpec(absolute);
  if (row < 0) {
    m_opened << absolute;
    addSpecRow(absolute, tr("opened"));
    row = m_specs->count() - 1;
    m_specs->item(row)->setText(
        QStringLiteral("%1 (%2)").arg(str(task->spec().name), tr("opened")));
    fitSpecList();
  }
  selectSpec(row);
  Q_EMIT specOpened(absolute);
  return {};
}

int TasksPanel::specCount() const { return m_specs->count(); }

QString TasksPanel::specPath(int row) const {
  const auto* item = m_specs->item(row);
  return item ? item->data(kPathRole).toString() : QString();
}

int TasksPanel::findSpec(const QString& nameOrPath) const {
  for (int row = 0; row < m_specs->count(); ++row) {
    const QString path = specPath(row);
    if (path == nameOrPath || path == QFileInfo(nameOrPath).absoluteFilePath()) return row;
    if (auto task = m_cache.value(path); task && str(task->spec().name) == nameOrPath) return row;
    if (QFileInfo(path).dir().dirName() == nameOrPath) return row;
  }
  return -1;
}

void TasksPanel::selectSpec(int row) {
  if (m_specs->currentRow() == row)
    showSpec();
  else
    m_specs->setCurrentRow(row);
}

void TasksPanel::chooseSpec() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open a task spec"), m_task ? str(m_task->spec().path) : QDir::homePath(),
      tr("Task specs (*.json);;All files (*)"));
  if (!path.isEmpty()) openSpec(path);
}

void TasksPanel::showError(const QString& error) {
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
}

QString TasksPanel::errorText() const {
  return m_error->isVisibleTo(this) ? m_error->text() : QString();
}
QString TasksPanel::specInfoText() const { return m_info->text(); }
QString TasksPanel::promptText() const { return m_prompt->toPlainText(); }
QString TasksPanel::verdictText() const { return m_verdictLabel->text(); }
void TasksPanel::setOutput(const QString& output) { m_output->setPlainText(output); }

void TasksPanel::showSpec() {
  showError({});
  m_task.reset();
  const QString path = specPath(m_specs->currentRow());
  if (!path.isEmpty()) {
    m_task = m_cache.value(path);
    if (!m_task) {
      try {
        m_task = std::make_shared<const t2::Task>(t2::Task::load(path.toStdString()));
        m_cache.insert(path, m_task);
      } catch (const std::exception& e) {
        showError(str(e.what()));
        Q_EMIT message(tr("Task spec %1: %2").arg(path, str(e.what())));
      }
    }
  }
  if (m_task) {
    const t2::TaskSpec& s = m_task->spec();
    m_info->setText(tr("<b>%1</b> — %2<br>category <b>%3</b> · kind %4 · extractor %5 · reward "
                       "%6 / %7 · max %8 new tokens")
                        .arg(str(s.name).toHtmlEscaped(), str(s.description).toHtmlEscaped(),
                             QString::fromLatin1(t2::to_string(s.category)),
                             QString::fromLatin1(t2::to_string(s.kind)),
                             extractorText(s.extractor).toHtmlEscaped(),
                             signedNumber(s.reward.correct), signedNumber(s.reward.wrong))
                        .arg(s.generation.max_new_tokens));
  } else {
    m_info->setText(path.isEmpty()
                        ? tr("No task spec. Open one with File > Open task spec... (Ctrl+T)")
                        : QString());
  }
  {
    const QSignalBlocker block(m_split);
    m_split->clear();
    if (m_task)
      for (const auto& name : m_task->splits()) m_split->addItem(str(name));
    const int test = m_split->findText(QStringLiteral("test"));
    m_split->setCurrentIndex(test >= 0 ? test : 0);
  }
  showSplit();
}

void TasksPanel::showSplit() {
  const QString error = m_items->setSplit(m_task, m_split->currentText());
  if (!error.isEmpty()) Q_EMIT message(tr("Task items: %1").arg(error));
  m_table->resizeColumnToContents(TaskItemsModel::Index);
  m_table->resizeColumnToContents(TaskItemsModel::Id);
  m_table->resizeColumnToContents(TaskItemsModel::Gold);
  if (m_items->rowCount() > 0)
    selectItem(0);
  else
    showItem();
}

void TasksPanel::selectItem(int row) {
  while (row >= m_items->rowCount() && m_items->canFetchMore({})) m_items->fetchMore({});
  const QModelIndex index = m_items->index(row, 0);
  m_table->selectionModel()->setCurrentIndex(
      index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  m_table->scrollTo(index);
}

const t2::TaskItem* TasksPanel::currentItem() const {
  return m_items->itemAt(m_table->selectionModel()->currentIndex().row());
}

std::optional<t2::BuiltPrompt> TasksPanel::currentPrompt() const {
  const auto* item = currentItem();
  if (!m_task || !item) return std::nullopt;
  return m_task->build_prompt(*item);
}

void TasksPanel::showItem() {
  m_verdict.reset();
  m_verdictLabel->clear();
  const auto prompt = currentPrompt();
  m_check->setEnabled(prompt.has_value() && !m_checking);
  if (!prompt) {
    m_prompt->clear();
    return;
  }
  QString text;
  for (const auto& m : prompt->messages)
    text += QStringLiteral("── %1 ──\n%2\n\n").arg(str(m.role), str(m.content));
  text +=
      QStringLiteral("── assistant prefill ──\n%1")
          .arg(prompt->assistant_prefill.empty() ? tr("(none)") : str(prompt->assistant_prefill));
  if (!prompt->use_chat_template)
    text +=
        tr("\n\n(no chat template: the model sees the plain text)\n") + str(prompt->plain_text());
  text += tr("\n\n── gold ──\n%1").arg(str(currentItem()->gold));
  m_prompt->setPlainText(text);
}

void TasksPanel::checkAnswer() {
  const auto* item = currentItem();
  if (!m_task || !item || m_checking) return;
  const std::string output = m_output->toPlainText().toStdString();
  if (m_task->spec().extractor.kind != t2::ExtractorKind::CodeExec) {
    try {
      showVerdict(m_task->judge(output, *item));
    } catch (const std::exception& e) {
      showError(tr("Check failed: %1").arg(str(e.what())));
    }
    return;
  }
  auto task = m_task;
  const t2::TaskItem copy = *item;
  QPointer<TasksPanel> self(this);
  // Interactive lane: a check runs while a training or an evaluation is active.
  const bool started = m_jobs->run<t2::Verdict>(
      kCheckJob, [task, output, copy](const t2::JobContext&) { return task->judge(output, copy); },
      [self](const t2::Verdict& v) {
        if (self) self->showVerdict(v);
      },
      JobLane::Interactive,
      [self](JobOutcome outcome, const QString& error) {
        if (!self) return;
        if (outcome == JobOutcome::Cancelled)
          self->m_verdictLabel->setText(tr("Check cancelled."));
        else if (outcome == JobOutcome::Failed)
          self->m_verdictLabel->setText(tr("Check failed: %1").arg(error));
        self->m_checking = false;
        self->m_check->setEnabled(self->currentItem() != nullptr);
      });
  if (!started) {
    m_verdictLabel->setText(tr("Busy: %1 is running; check again when it ends.")
                                .arg(m_jobs->currentJob(JobLane::Interactive)));
    return;
  }
  m_checking = true;
  m_check->setEnabled(false);
  m_verdictLabel->setText(tr("Running the code in the sandbox..."));
}

void TasksPanel::showVerdict(const t2::Verdict& v) {
  m_verdict = v;
  QString text = v.extraction.found ? tr("Extracted <b>%1</b> (%2)")
                                          .arg(str(v.extraction.answer).toHtmlEscaped(),
                                               str(v.extraction.rule).toHtmlEscaped())
                                    : tr("No answer found");
  text += v.correct ? tr(" · <span style='color:#0a7d32'><b>✓ correct</b></span>")
                    : tr(" · <span style='color:#b00020'><b>✗ incorrect</b></span>");
  text += tr(" · reward %1 · gold %2").arg(signedNumber(v.reward), str(v.gold).toHtmlEscaped());
  if (!v.detail.empty() && (!v.correct || v.executed))
    text += QStringLiteral("<br>") + str(v.detail).toHtmlEscaped();
  if (v.executed)
    text += tr("<br>sandbox: %1, %2 s")
                .arg(str(v.sandbox.message).toHtmlEscaped())
                .arg(v.sandbox.wall_seconds, 0, 'f', 2);
  m_verdictLabel->setText(text);
  Q_EMIT message(tr("Check: %1 -> %2 (reward %3)")
                     .arg(v.extraction.found ? str(v.extraction.answer) : tr("no answer"),
                          v.correct ? tr("correct") : tr("incorrect"), signedNumber(v.reward)));
}
