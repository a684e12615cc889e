// The Model dock's Generate tab on the tiny fixture checkpoints: greedy output (streamed and
// final) equals Session::generate for the same prompt ids, through the token-id path and through
// a minimal byte-level tokenizer; Stop cancels a long generation; errors are shown. Also the
// incremental decoder against a real vocabulary.
#include "generate_tab.h"
#include "job_runner.h"
#include "model_panel.h"
#include "test_support.h"

#include <t2/engine.h>

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTabWidget>
#include <QTemporaryDir>

#include <gtest/gtest.h>

namespace {

QString fixture(const char* name) {
  return QStringLiteral(T2_FIXTURES_DIR "/models/%1").arg(QLatin1String(name));
}

bool loadAndWait(ModelPanel& panel, const QString& dir) {
  panel.openFolder(dir);
  return waitUntil([&] { return !panel.isLoading() && panel.model() != nullptr; });
}

bool generateAndWait(GenerateTab* tab) {
  tab->generate();
  return waitUntil([&] { return !tab->isGenerating(); }, 60000);
}

// GPT-2's byte -> printable character table (the ByteLevel alphabet).
QString byteLevelChar(int byte) {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    if (std::find(bs.begin(), bs.end(), b) != bs.end()) {
      if (b == byte) return QString(QChar(b));
      continue;
    }
    if (b == byte) return QString(QChar(256 + extra));
    ++extra;
  }
  return {};
}

// A byte-level BPE tokenizer whose vocabulary is the 128 ASCII bytes (ids 0..127), no merges.
QByteArray asciiByteLevelTokenizer() {
  QJsonObject vocab;
  for (int b = 0; b < 128; ++b) vocab.insert(byteLevelChar(b), b);
  const QJsonObject byteLevel{{"type", "ByteLevel"},
                              {"add_prefix_space", false},
                              {"trim_offsets", true},
                              {"use_regex", true}};
  const QJsonObject model{{"type", "BPE"},
                          {"dropout", QJsonValue()},
                          {"unk_token", QJsonValue()},
                          {"continuing_subword_prefix", QJsonValue()},
                          {"end_of_word_suffix", QJsonValue()},
                          {"fuse_unk", false},
                          {"byte_fallback", false},
                          {"vocab", vocab},
                          {"merges", QJsonArray()}};
  const QJsonObject root{{"version", "1.0"},
                         {"truncation", QJsonValue()},
                         {"padding", QJsonValue()},
                         {"added_tokens", QJsonArray()},
                         {"normalizer", QJsonValue()},
                         {"pre_tokenizer", byteLevel},
                         {"post_processor", QJsonValue()},
                         {"decoder", byteLevel},
                         {"model", model}};
  return QJsonDocument(root).toJson();
}

// A model folder: a fixture checkpoint (config.json possibly edited) plus an optional tokenizer.
void assembleFolder(const QString& to, const char* from, bool tokenizer,
                    const QByteArray& configEdit = {}) {
  QDir src(fixture(from));
  for (const QString& name :
       src.entryList({QStringLiteral("*.json"), QStringLiteral("model*.safetensors")}, QDir::Files))
    ASSERT_TRUE(QFile::copy(src.filePath(name), to + QLatin1Char('/') + name));
  if (!configEdit.isEmpty()) {
    QFile f(to + QStringLiteral("/config.json"));
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    QJsonObject config = QJsonDocument::fromJson(f.readAll()).object();
    f.close();
    const QJsonObject edit = QJsonDocument::fromJson(configEdit).object();
    for (auto it = edit.begin(); it != edit.end(); ++it) config.insert(it.key(), it.value());
    ASSERT_TRUE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(QJsonDocument(config).toJson());
  }
  if (tokenizer) {
    QFile f(to + QStringLiteral("/tokenizer.json"));
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write(asciiByteLevelTokenizer());
  }
}

std::vector<std::int32_t> referenceGenerate(const QString& dir,
                                            const std::vector<std::int32_t>& prompt,
                                            const t2::GenerateParams& params) {
  t2::Session session(t2::Model::load(dir.toStdString()));
  return session.generate({prompt}, params).sequences.at(0).tokens;
}

TEST(GenerateTab, TokenIdPromptEqualsSessionGenerate) {
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, fixture("llama_f32")));
  GenerateTab* tab = panel.generateTab();
  tab->setLoadOptions(QStringLiteral("f32"), QStringLiteral("cpu"));
  tab->setPrompt(QStringLiteral("[1, 17, 42, 99, 5]"), /*tokenIds=*/true);
  t2::GenerateParams params;
  params.max_new_tokens = 24;
  tab->setParams(params);
  const std::vector<std::int32_t> prompt{1, 17, 42, 99, 5};
  ASSERT_EQ(tab->promptIds(), prompt);
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_EQ(tab->errorText(), QString());
  const auto expected = referenceGenerate(fixture("llama_f32"), prompt, tab->params());
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(tab->generatedIds(), expected);  // what streamed in
  ASSERT_TRUE(tab->lastResult().has_value());
  EXPECT_EQ(tab->lastResult()->sequence.tokens, expected);
  EXPECT_TRUE(tab->statsText().contains(QStringLiteral("5 prompt tokens")))
      << tab->statsText().toStdString();
  EXPECT_TRUE(tab->statsText().contains(QStringLiteral("finish:")));
  EXPECT_TRUE(tab->loadText().contains(QStringLiteral("Loaded in")))
      << tab->loadText().toStdString();
  // The output lists the streamed ids.
  QStringList ids;
  for (auto id : expected) ids << QString::number(id);
  EXPECT_EQ(tab->outputText(), ids.join(QStringLiteral(", ")));

  // The second run reuses the cached weights.
  const auto model = tab->loadedModel();
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_EQ(tab->loadedModel(), model);
  EXPECT_TRUE(tab->loadText().startsWith(QStringLiteral("Cached")));
  EXPECT_EQ(tab->generatedIds(), expected);
  // Reload reads the weights again.
  panel.reload();
  ASSERT_TRUE(waitUntil([&] { return !panel.isLoading() && panel.model(); }));
  EXPECT_FALSE(tab->loadedModel());
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_TRUE(tab->loadText().startsWith(QStringLiteral("Loaded in")));
  EXPECT_NE(tab->loadedModel(), model);
  EXPECT_EQ(tab->generatedIds(), expected);
}

TEST(GenerateTab, TextPromptThroughATokenizerStreamsTheDecodedText) {
  QTemporaryDir dir;
  assembleFolder(dir.path(), "qwen2_tied", /*tokenizer=*/true);
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir.path()));
  ASSERT_TRUE(panel.model()->tokenizer.has_value()) << panel.model()->tokenizerError.toStdString();
  const t2::Tokenizer& tok = *panel.model()->tokenizer;
  GenerateTab* tab = panel.generateTab();
  tab->setLoadOptions(QStringLiteral("f32"), QStringLiteral("auto"));
  tab->setPrompt(QStringLiteral("Hello, world"));
  t2::GenerateParams params;
  params.max_new_tokens = 32;
  tab->setParams(params);
  const auto prompt = tok.encode("Hello, world", true);
  ASSERT_EQ(prompt.size(), 12u);  // one id per byte
  EXPECT_EQ(tab->promptIds(), prompt);
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_EQ(tab->errorText(), QString());
  const auto expected = referenceGenerate(dir.path(), prompt, tab->params());
  EXPECT_EQ(tab->generatedIds(), expected);
  EXPECT_EQ(tab->outputText(),
            GenerateTab::visibleControls(QString::fromStdString(tok.decode(expected))));

  // Sampling with a seed is reproducible and equals the engine's.
  params.sampling.temperature = 0.9;
  params.sampling.top_p = 0.9;
  params.sampling.top_k = 20;
  params.seed = 7;
  tab->setParams(params);
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_EQ(tab->generatedIds(), referenceGenerate(dir.path(), prompt, tab->params()));
  EXPECT_TRUE(tab->statsText().endsWith(QStringLiteral("seed 7")))
      << tab->statsText().toStdString();
  // "random" draws a seed, shown in the stats; that seed reproduces the output.
  params.seed = -1;
  tab->setParams(params);
  ASSERT_TRUE(generateAndWait(tab));
  const QString stats = tab->statsText();
  const QString seedText = stats.mid(stats.lastIndexOf(QStringLiteral("seed ")) + 5);
  bool ok = false;
  params.seed = seedText.toLongLong(&ok);
  ASSERT_TRUE(ok) << stats.toStdString();
  EXPECT_EQ(tab->generatedIds(), referenceGenerate(dir.path(), prompt, params));

  panel.resize(820, 640);
  panel.show();
  panel.tabs()->setCurrentWidget(tab);
  QCoreApplication::processEvents();
  EXPECT_TRUE(
      panel.grab().save(testOutputPath(QStringLiteral("screenshots/model_panel_generate.png"))));
  panel.resize(460, 640);  // the dock's default width
  QCoreApplication::processEvents();
  EXPECT_TRUE(panel.grab().save(
      testOutputPath(QStringLiteral("screenshots/model_panel_generate_narrow.png"))));
}

TEST(GenerateTab, ChatPromptIsTheRenderedTemplateWithoutSpecialTokens) {
  QTemporaryDir dir;
  assembleFolder(dir.path(), "llama_f32", /*tokenizer=*/true);
  const char* source =
      "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}";
  QFile config(dir.filePath(QStringLiteral("tokenizer_config.json")));
  ASSERT_TRUE(config.open(QIODevice::WriteOnly));
  config.write(QJsonDocument(QJsonObject{{"chat_template", QLatin1String(source)}}).toJson());
  config.close();
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir.path()));
  ASSERT_TRUE(panel.model()->tokenizer && panel.model()->chatTemplate);
  GenerateTab* tab = panel.generateTab();
  tab->setPrompt(QStringLiteral("What is 2+2?"));
  tab->setChat(true, QStringLiteral("Be brief."));
  const std::string rendered = "<system>Be brief.\n<user>What is 2+2?\n<assistant>";
  const auto expected = panel.model()->tokenizer->encode(rendered, false);
  EXPECT_EQ(tab->promptIds(), expected);
  t2::GenerateParams params;
  params.max_new_tokens = 16;
  tab->setParams(params);
  tab->setLoadOptions(QStringLiteral("bf16"), QStringLiteral("cpu"));
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_EQ(tab->errorText(), QString());
  t2::LoadParams load;
  load.dtype = "bf16";
  t2::Session session(t2::Model::load(dir.path().toStdString(), load));
  EXPECT_EQ(tab->generatedIds(), session.generate({expected}, tab->params()).sequences[0].tokens);
  // Without chat the text is encoded alone (add_special_tokens=true).
  tab->setChat(false);
  EXPECT_EQ(tab->promptIds(), panel.model()->tokenizer->encode("What is 2+2?", true));
}

TEST(GenerateTab, StopCancelsALongGeneration) {
  QTemporaryDir dir;
  // No eos: only max_new_tokens (or Stop) ends it.
  assembleFolder(dir.path(), "llama_f32", false, R"({"eos_token_id": []})");
  JobRunner jobs;
  ModelPanel panel(&jobs);
  ASSERT_TRUE(loadAndWait(panel, dir.path()));
  GenerateTab* tab = panel.generateTab();
  tab->setLoadOptions(QStringLiteral("f32"), QStringLiteral("cpu"));
  tab->setPrompt(QStringLiteral("1 2 3"), true);
  t2::GenerateParams params;
  params.max_new_tokens = 50000;
  tab->setParams(params);
  tab->generate();
  ASSERT_TRUE(tab->isGenerating());
  ASSERT_TRUE(waitUntil([&] { return tab->generatedIds().size() >= 8; }, 30000));
  EXPECT_TRUE(tab->isGenerating());  // the ids streamed in while it runs
  EXPECT_FALSE(tab->outputText().isEmpty());
  tab->stop();
  ASSERT_TRUE(waitUntil([&] { return !tab->isGenerating(); }, 30000));
  EXPECT_FALSE(jobs.isRunning());
  EXPECT_LT(tab->generatedIds().size(), 50000u);
  EXPECT_FALSE(tab->lastResult().has_value());
  QStringList ids;
  for (auto id : tab->generatedIds()) ids << QString::number(id);
  EXPECT_EQ(tab->outputText(), ids.join(QStringLiteral(", ")));
  EXPECT_TRUE(tab->statsText().startsWith(QStringLiteral("Stopped after")))
      << tab->statsText().toStdString();
  EXPECT_EQ(tab->errorText(), QString());
}

TEST(GenerateTab, ClosingThePanelWhileGeneratingIsSafe) {
  QTemporaryDir dir;
  assembleFolder(dir.path(), "llama_f32", false, R"({"eos_token_id": []})");
  JobRunner jobs;
  auto panel = std::make_unique<ModelPanel>(&jobs);
  ASSERT_TRUE(loadAndWait(*panel, dir.path()));
  GenerateTab* tab = panel->generateTab();
  tab->setPrompt(QStringLiteral("3 4"), true);
  t2::GenerateParams params;
  params.max_new_tokens = 50000;
  tab->setParams(params);
  tab->generate();
  ASSERT_TRUE(waitUntil([&] { return tab->generatedIds().size() >= 4; }, 30000));
  panel.reset();  // cancels the job; its end finds no tab
  EXPECT_TRUE(waitUntil([&] { return !jobs.isRunning(); }, 30000));
}

TEST(GenerateTab, ErrorsAreShown) {
  JobRunner jobs;
  ModelPanel panel(&jobs);
  GenerateTab* tab = panel.generateTab();
  tab->generate();  // no folder
  EXPECT_TRUE(tab->errorText().contains(QStringLiteral("Open a model folder")));

  QTemporaryDir empty;
  ASSERT_TRUE(loadAndWait(panel, empty.path()));
  tab->generate();
  EXPECT_FALSE(tab->isGenerating());
  EXPECT_TRUE(tab->errorText().contains(QStringLiteral("No model weights")))
      << tab->errorText().toStdString();

  ASSERT_TRUE(loadAndWait(panel, fixture("llama_f32")));
  tab->setPrompt(QStringLiteral("1, two, 3"), true);
  tab->generate();
  EXPECT_FALSE(tab->isGenerating());
  EXPECT_TRUE(tab->errorText().contains(QStringLiteral("'two'"))) << tab->errorText().toStdString();
  tab->setPrompt(QStringLiteral("1, 128"), true);  // vocabulary of 128
  tab->generate();
  EXPECT_TRUE(tab->errorText().contains(QStringLiteral("'128'"))) << tab->errorText().toStdString();

  tab->setPrompt(QStringLiteral("1, 2"), true);
  tab->setLoadOptions(QStringLiteral("f16"), QStringLiteral("cpu"));
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_TRUE(tab->errorText().contains(QStringLiteral("f16"))) << tab->errorText().toStdString();
  EXPECT_FALSE(tab->loadedModel());

  // cuda: an error without CUDA (this build or machine), a model on cuda with it.
  tab->setLoadOptions(QStringLiteral("f32"), QStringLiteral("cuda"));
  ASSERT_TRUE(generateAndWait(tab));
  const auto onCuda = tab->loadedModel();
  if (!onCuda || onCuda->device().rfind("cuda", 0) != 0)
    EXPECT_TRUE(tab->errorText().contains(QStringLiteral("cuda"), Qt::CaseInsensitive))
        << tab->errorText().toStdString();
  // After errors the tab still works.
  tab->setLoadOptions(QStringLiteral("bf16"), QStringLiteral("cpu"));
  ASSERT_TRUE(generateAndWait(tab));
  EXPECT_EQ(tab->errorText(), QString());
  ASSERT_TRUE(tab->loadedModel());
  EXPECT_EQ(tab->loadedModel()->dtype(), "bf16");
}

TEST(GenerateTabText, ControlCharactersAreEscaped) {
  EXPECT_EQ(GenerateTab::visibleControls(QStringLiteral("a\x01"
                                                        "b\n\tc\x1f")),
            QStringLiteral("a\\x01b\n\tc\\x1f"));
  EXPECT_EQ(GenerateTab::visibleControls(QStringLiteral("\x7f"
                                                        "é")),
            QStringLiteral("\\x7fé"));
}

}  // namespace
