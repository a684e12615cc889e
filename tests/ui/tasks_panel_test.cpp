// The Tasks dock against the shipped demo suite (resources/demo/tasks): specs listed, items
// paged in, prompts equal Task::build_prompt, answers judged as Task::judge does.
#include "tasks_panel.h"
#include "job_runner.h"
#include "task_items_model.h"
#include "test_support.h"

#include <t2/demo_suite.h>
#include <t2/tasks.h>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QListWidget>
#include <QTemporaryDir>

#include <gtest/gtest.h>

namespace {

const QString kResources = QStringLiteral(T2_SOURCE_DIR "/resources");

QString specOf(const char* task) {
  return QFileInfo(kResources + QStringLiteral("/demo/tasks/%1/task.json").arg(QLatin1String(task)))
      .absoluteFilePath();
}

void writeFile(const QString& path, const QByteArray& content) {
  QFile f(path);
  ASSERT_TRUE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
  f.write(content);
}

class TasksPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!QFileInfo::exists(specOf("math")))
      GTEST_SKIP() << "no demo suite under " << kResources.toStdString() << "; run t2 demo build";
  }
  JobRunner m_jobs;
};

TEST_F(TasksPanelTest, ListsTheShippedSpecs) {
  TasksPanel panel(&m_jobs);
  QAbstractItemModelTester listTester(panel.specList()->model(),
                                      QAbstractItemModelTester::FailureReportingMode::Fatal);
  panel.setResourcesDir(kResources);
  const t2::DemoInfo info = t2::demo_info(kResources.toStdString());
  QStringList expected;
  for (const auto& p : info.training_tasks)
    expected << QFileInfo(QString::fromStdString(p)).absoluteFilePath();
  for (const auto& p : info.unseen_tasks)
    expected << QFileInfo(QString::fromStdString(p)).absoluteFilePath();
  expected << QFileInfo(QString::fromStdString(info.classification_task)).absoluteFilePath();
  ASSERT_EQ(expected.size(), 8);  // 3 training, 4 unseen (mixed last), classify
  QStringList listed;
  for (int row = 0; row < panel.specCount(); ++row) listed << panel.specPath(row);
  EXPECT_EQ(listed, expected);
  // The first spec is selected and shown.
  ASSERT_NE(panel.task(), nullptr);
  EXPECT_EQ(QString::fromStdString(panel.task()->spec().path), expected.first());
  EXPECT_TRUE(panel.specInfoText().contains(QString::fromStdString(panel.task()->spec().name)));
}

TEST_F(TasksPanelTest, ItemsLoadPageByPageAndPromptsMatchTheTask) {
  TasksPanel panel(&m_jobs);
  QAbstractItemModelTester tester(panel.itemsModel(),
                                  QAbstractItemModelTester::FailureReportingMode::Fatal);
  panel.setResourcesDir(kResources);
  const int row = panel.findSpec(QStringLiteral("demo-math"));
  ASSERT_GE(row, 0);
  panel.selectSpec(row);
  const t2::Task reference = t2::Task::load(specOf("math").toStdString());
  ASSERT_EQ(panel.task()->spec().name, "demo-math");
  EXPECT_TRUE(panel.specInfoText().contains(QStringLiteral("category <b>math</b>")));
  EXPECT_TRUE(panel.specInfoText().contains(QStringLiteral("last-number")));
  QStringList splits;
  for (int i = 0; i < panel.splitBox()->count(); ++i) splits << panel.splitBox()->itemText(i);
  EXPECT_EQ(splits, (QStringList{"test", "train", "validation"}));
  EXPECT_EQ(panel.splitBox()->currentText(), QStringLiteral("test"));

  const auto all = reference.load_split("test");
  ASSERT_GT(all.size(), std::size_t(TaskItemsModel::kPageSize));
  TaskItemsModel* model = panel.itemsModel();
  EXPECT_EQ(model->rowCount(), TaskItemsModel::kPageSize);  // only the first page
  EXPECT_TRUE(model->canFetchMore({}));
  while (model->canFetchMore({})) model->fetchMore({});
  ASSERT_EQ(std::size_t(model->rowCount()), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(model->itemAt(int(i))->gold, all[i].gold) << i;
    EXPECT_EQ(model->data(model->index(int(i), TaskItemsModel::Gold)).toString().toStdString(),
              all[i].gold);
  }

  panel.selectItem(7);
  const t2::BuiltPrompt expected = reference.build_prompt(all[7]);
  const auto shown = panel.currentPrompt();
  ASSERT_TRUE(shown.has_value());
  ASSERT_EQ(shown->messages.size(), expected.messages.size());
  for (std::size_t i = 0; i < expected.messages.size(); ++i) {
    EXPECT_EQ(shown->messages[i].role, expected.messages[i].role);
    EXPECT_EQ(shown->messages[i].content, expected.messages[i].content);
    EXPECT_TRUE(panel.promptText().contains(QString::fromStdString(expected.messages[i].content)));
  }
  EXPECT_EQ(shown->assistant_prefill, expected.assistant_prefill);

  // Another split reloads from its first page.
  panel.splitBox()->setCurrentText(QStringLiteral("validation"));
  EXPECT_EQ(model->rowCount(), TaskItemsModel::kPageSize);
  EXPECT_EQ(model->itemAt(0)->gold, reference.load_split("validation", 1).at(0).gold);
}

TEST_F(TasksPanelTest, ChecksAnswersAsTheTaskJudges) {
  TasksPanel panel(&m_jobs);
  panel.setResourcesDir(kResources);
  panel.selectSpec(panel.findSpec(QStringLiteral("math")));
  panel.selectItem(2);
  const t2::Task reference = t2::Task::load(specOf("math").toStdString());
  const t2::TaskItem item = reference.load_split("test", 3).at(2);
  ASSERT_EQ(panel.currentItem()->gold, item.gold);
  const QString gold = QString::fromStdString(item.gold);

  panel.setOutput(QStringLiteral("Adding step by step, the answer is %1.").arg(gold));
  panel.checkAnswer();
  ASSERT_TRUE(panel.lastVerdict().has_value());
  EXPECT_TRUE(panel.lastVerdict()->correct);
  EXPECT_EQ(panel.lastVerdict()->extraction.answer, item.gold);
  EXPECT_EQ(panel.lastVerdict()->reward, reference.spec().reward.correct);
  EXPECT_TRUE(panel.verdictText().contains(QStringLiteral("✓ correct")));

  const QString wrong = QString::number(gold.toLongLong() + 1);
  panel.setOutput(QStringLiteral("I think it is %1").arg(wrong));
  panel.checkAnswer();
  ASSERT_TRUE(panel.lastVerdict().has_value());
  EXPECT_FALSE(panel.lastVerdict()->correct);
  EXPECT_EQ(panel.lastVerdict()->extraction.answer, wrong.toStdString());
  EXPECT_EQ(panel.lastVerdict()->reward, reference.spec().reward.wrong);
  EXPECT_TRUE(panel.verdictText().contains(QStringLiteral("✗ incorrect")));

  panel.setOutput(QStringLiteral("no idea"));
  panel.checkAnswer();
  EXPECT_FALSE(panel.lastVerdict()->extraction.found);
  EXPECT_TRUE(panel.verdictText().contains(QStringLiteral("No answer found")));
  EXPECT_EQ(panel.lastVerdict()->reward, reference.spec().reward.unextractable);

  // The screenshot: a realistic state (math task, item selected, a correct answer checked).
  panel.setOutput(QStringLiteral("First step, then the second: the answer is %1.").arg(gold));
  panel.checkAnswer();
  panel.resize(980, 640);
  panel.show();
  QCoreApplication::processEvents();
  EXPECT_TRUE(panel.grab().save(testOutputPath(QStringLiteral("screenshots/tasks_panel.png"))));
}

TEST_F(TasksPanelTest, CodeTasksRunTheSandboxThroughTheJobRunner) {
  if (!QFileInfo::exists(QStringLiteral("/usr/bin/python3")))
    GTEST_SKIP() << "needs /usr/bin/python3";
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  writeFile(
      dir.filePath(QStringLiteral("items.jsonl")),
      R"({"task_id": "t/0", "prompt": "def add(a, b):\n", "entry_point": "add", "test": "def check(f):\n    assert f(2, 3) == 5\n"})"
      "\n");
  writeFile(
      dir.filePath(QStringLiteral("task.json")),
      R"({"name": "tiny-code", "kind": "code", "category": "code", "data": {"test": "items.jsonl"},
                "extractor": {"kind": "code-exec"}})");
  TasksPanel panel(&m_jobs);
  ASSERT_EQ(panel.openSpec(dir.filePath(QStringLiteral("task.json"))), QString());
  EXPECT_EQ(panel.openedSpecs(),
            QStringList{QFileInfo(dir.filePath(QStringLiteral("task.json"))).absoluteFilePath()});
  ASSERT_EQ(panel.task()->spec().name, "tiny-code");
  ASSERT_NE(panel.currentItem(), nullptr);

  panel.setOutput(QStringLiteral("    return a + b\n"));
  panel.checkAnswer();
  EXPECT_TRUE(m_jobs.isRunning());  // off the GUI thread
  EXPECT_TRUE(panel.isChecking());
  ASSERT_TRUE(waitUntil([&] { return !panel.isChecking(); }));
  ASSERT_TRUE(panel.lastVerdict().has_value());
  EXPECT_TRUE(panel.lastVerdict()->correct) << panel.lastVerdict()->detail;
  EXPECT_TRUE(panel.lastVerdict()->executed);

  panel.setOutput(QStringLiteral("    return a - b\n"));
  panel.checkAnswer();
  ASSERT_TRUE(waitUntil([&] { return !panel.isChecking(); }));
  EXPECT_FALSE(panel.lastVerdict()->correct);
  EXPECT_TRUE(panel.verdictText().contains(QStringLiteral("sandbox")));
}

TEST_F(TasksPanelTest, BadSpecsAreReportedNotFatal) {
  QTemporaryDir dir;
  writeFile(dir.filePath(QStringLiteral("broken.json")),
            R"({"name": "x", "kind": "gsm8k", "data": {}, "extractr": {}})");
  TasksPanel panel(&m_jobs);
  QStringList log;
  QObject::connect(&panel, &TasksPanel::message, [&](const QString& m) { log << m; });
  const QString error = panel.openSpec(dir.filePath(QStringLiteral("broken.json")));
  EXPECT_TRUE(error.contains(QStringLiteral("broken.json"))) << error.toStdString();
  EXPECT_EQ(panel.errorText(), error);
  EXPECT_EQ(panel.specCount(), 0);
  EXPECT_FALSE(log.isEmpty());

  // A spec whose data file is missing: listed, the error names the file.
  writeFile(dir.filePath(QStringLiteral("nodata.json")),
            R"({"name": "nodata", "kind": "gsm8k", "data": {"test": "absent.jsonl"}})");
  ASSERT_EQ(panel.openSpec(dir.filePath(QStringLiteral("nodata.json"))), QString());
  EXPECT_EQ(panel.itemsModel()->rowCount(), 0);
  EXPECT_TRUE(panel.errorText().contains(QStringLiteral("absent.jsonl")))
      << panel.errorText().toStdString();
}

}  // namespace
