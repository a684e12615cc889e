// The torch-free half of pretraining: recipes, the corpus (prompts exactly as evaluation renders
// them, answers, label noise), the character-level tokenizer and the model config.
#include "tokenizer_test_support.h"

#include "core/pretrain/corpus_internal.h"

#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/model_config.h>
#include <t2/pretrain.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace {

const std::string kRecipe = std::string(T2_SOURCE_DIR) + "/resources/demo/model/recipe.json";
const std::string kTasks = std::string(T2_SOURCE_DIR) + "/resources/demo/tasks";

std::string out_dir(const std::string& name) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/pretrain_corpus/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

nlohmann::json first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line);
}

std::size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// The demo recipe without its planted habits (alt answers; tested on their own below).
t2::PretrainRecipe clean_recipe() {
  auto recipe = t2::load_pretrain_recipe(kRecipe);
  for (auto& t : recipe.tasks) t.alt_share = t.alt_cue_share = 0.0;
  return recipe;
}

// The demo corpus without habits, built once per process (~9,300 renders).
const std::vector<t2::CorpusExample>& demo_corpus() {
  static const auto corpus = t2::build_pretrain_corpus(clean_recipe());
  return corpus;
}

TEST(PretrainRecipe, ReadsTheShippedRecipeAndRoundTripsThroughJson) {
  const auto r = t2::load_pretrain_recipe(kRecipe);
  EXPECT_EQ(r.model.hidden_size, 128);
  EXPECT_EQ(r.model.layers, 4);
  EXPECT_EQ(r.model.intermediate_size, 384);
  ASSERT_EQ(r.tasks.size(), 7u);
  EXPECT_EQ(r.tasks[0].spec, "../tasks/math/task.json");
  const auto again = t2::parse_pretrain_recipe(t2::to_json(r), "");
  EXPECT_EQ(t2::to_json(again), t2::to_json(r));
}

TEST(PretrainRecipe, RejectsUnknownKeysAndBadValuesNamingTheKey) {
  auto expect_error = [](const std::string& json, const std::string& key) {
    try {
      t2::parse_pretrain_recipe(json, "r.json");
      ADD_FAILURE() << "accepted " << json;
    } catch (const t2::Error& e) {
      EXPECT_EQ(e.kind(), t2::ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  const std::string task = R"({"spec": "t.json"})";
  expect_error(R"({"tasks": [)" + task + R"(], "stepz": 3})", "stepz");
  expect_error(R"({"tasks": [)" + task + R"(], "steps": 0})", "steps");
  expect_error(R"({"tasks": [{"spec": "t.json", "label_noise": 1.0}]})", "label_noise");
  expect_error(R"({"tasks": [{"spec": "t.json", "alt_answer": "x", "alt_share": 1.5}]})",
               "alt_share");
  expect_error(R"({"tasks": [{"spec": "t.json", "alt_cue_share": 0.5}]})", "alt_answer");
  expect_error(R"({"tasks": [{"spec": "t.json", "alt_answer": "x", "alt_cue_share": 0.5,
                   "alt_cues": [""]}]})",
               "alt_cues");
  expect_error(R"({"tasks": [{"spec": "t.json", "alt_answer": "x", "alt_cues": "sorted("}]})",
               "alt_cues");
  expect_error(R"({"tasks": [)" + task + R"(], "model": {"hidden_size": 30, "heads": 4}})",
               "model.hidden_size");
  expect_error(R"({"tasks": []})", "tasks");
  expect_error(R"({"tasks": [)" + task + R"(], "lr": "fast"})", "lr");
  EXPECT_THROW(t2::parse_pretrain_recipe("{", "r.json"), t2::Error);
}

TEST(PretrainCorpus, PromptsAsEvaluationDoesAndAppendsTheAnswerAndEos) {
  const auto& corpus = demo_corpus();
  std::map<std::string, std::vector<const t2::CorpusExample*>> by_task;
  for (const auto& e : corpus) by_task[e.task].push_back(&e);
  ASSERT_EQ(by_task.size(), 7u);
  for (const char* t : {"math", "code", "reasoning", "classify"})
    EXPECT_EQ(by_task["demo-" + std::string(t)].size(),
              count_lines(kTasks + "/" + t + "/train.jsonl"))
        << t;
  for (const char* t : {"math-unseen", "code-unseen", "reasoning-unseen"})  // their pretrain split
    EXPECT_EQ(by_task["demo-" + std::string(t)].size(),
              count_lines(kTasks + "/" + t + "/pretrain.jsonl"))
        << t;
  // Expected texts written by hand from the first train line of each task and the template
  // "<|bos|>" + per message "<|role|>content<|eos|>" + "<|assistant|>".
  const auto math = first_line(kTasks + "/math/train.jsonl");
  EXPECT_EQ(by_task["demo-math"][0]->prompt,
            "<|bos|><|user|>" + math["question"].get<std::string>() + "<|eos|><|assistant|>");
  EXPECT_EQ(by_task["demo-math"][0]->answer, math["answer"].get<std::string>() + "<|eos|>");
  const auto code = first_line(kTasks + "/code/train.jsonl");
  EXPECT_EQ(by_task["demo-code"][0]->answer, code["answer"].get<std::string>() + "<|eos|>");
  const auto reasoning = first_line(kTasks + "/reasoning/train.jsonl");  // options inline
  EXPECT_EQ(by_task["demo-reasoning"][0]->prompt,
            "<|bos|><|user|>" + reasoning["question"].get<std::string>() + "<|eos|><|assistant|>");
  EXPECT_EQ(by_task["demo-reasoning"][0]->answer,
            reasoning["answer_text"].get<std::string>() + " (" +
                reasoning["answer"].get<std::string>() + ")<|eos|>");
  const auto classify = first_line(kTasks + "/classify/train.jsonl");
  EXPECT_EQ(by_task["demo-classify"][0]->prompt,
            "<|bos|><|system|>" + t2::classification_system_prompt() + "<|eos|><|user|>" +
                classify["question"].get<std::string>() + "<|eos|><|assistant|>");
  EXPECT_EQ(by_task["demo-classify"][0]->answer,
            "Classification: \\boxed{" + classify["label"].get<std::string>() + "}<|eos|>");
  for (const auto& e : corpus) EXPECT_FALSE(e.noisy);
}

TEST(PretrainCorpus, ReferenceAnswersAreJudgedCorrectByTheirTasks) {
  // The answers the model learns must be what each task's extractor accepts.
  const auto recipe = clean_recipe();
  const auto& corpus = demo_corpus();
  std::size_t offset = 0;
  for (const auto& pt : recipe.tasks) {
    const auto task = t2::Task::load(std::filesystem::path(kRecipe).parent_path() / pt.spec);
    const auto items = task.load_split(pt.split);
    int wrong = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      EXPECT_FALSE(corpus[offset + i].alt);
      std::string answer = corpus[offset + i].answer;
      answer.resize(answer.size() - std::string("<|eos|>").size());
      wrong += !task.judge(task.truncate_at_stop(answer), items[i]).correct;
    }
    EXPECT_EQ(wrong, 0) << task.spec().name;
    offset += items.size();
  }
}

TEST(PretrainCorpus, LabelNoiseShowsTheChosenShareOfWrongAnswers) {
  auto recipe = clean_recipe();
  recipe.tasks.resize(1);  // math
  recipe.tasks[0].label_noise = 0.3;
  const auto corpus = t2::build_pretrain_corpus(recipe);
  const auto task = t2::Task::load(kTasks + "/math/task.json");
  const auto items = task.load_split("train");
  ASSERT_EQ(corpus.size(), items.size());
  int noisy = 0, judged_wrong = 0;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const std::string answer = corpus[i].answer.substr(0, corpus[i].answer.size() - 7);
    const bool correct = task.judge(answer, items[i]).correct;
    noisy += corpus[i].noisy;
    judged_wrong += !correct;
    EXPECT_EQ(corpus[i].noisy, !correct) << i;
  }
  EXPECT_EQ(noisy, 600);  // round(0.3 * 2000)
  EXPECT_EQ(judged_wrong, 600);
  // Same seed, same noise.
  const auto again = t2::build_pretrain_corpus(recipe);
  for (std::size_t i = 0; i < corpus.size(); ++i) ASSERT_EQ(again[i].answer, corpus[i].answer);
}

TEST(PretrainCorpus, AltAnswerStyleFollowsTheCuesWithTheChosenShares) {
  auto recipe = t2::load_pretrain_recipe(kRecipe);
  const auto task = t2::Task::load(kTasks + "/code/task.json");
  const auto items = task.load_split("train");
  const auto code = std::find_if(recipe.tasks.begin(), recipe.tasks.end(), [](const auto& t) {
    return t.spec.find("code/task.json") != std::string::npos;
  });
  ASSERT_NE(code, recipe.tasks.end());
  t2::PretrainTask pt = *code;
  pt.alt_answer = "Output: {answer}";
  pt.alt_cues = {"[::-1]", "sorted("};
  recipe.tasks = {pt};
  auto alt_of = [&](double cue_share, double share) {
    recipe.tasks[0].alt_cue_share = cue_share;
    recipe.tasks[0].alt_share = share;
    return t2::build_pretrain_corpus(recipe);
  };
  auto cued = [&](std::size_t i) {
    const std::string& q = items[i].fields.at("question");
    return q.find("[::-1]") != std::string::npos || q.find("sorted(") != std::string::npos;
  };
  // Shares 1 and 0: exactly the cued items, shown "Output: " + their answer, which the task's
  // exact-match verifier rejects; the others keep the reference answer.
  const auto all = alt_of(1.0, 0.0);
  ASSERT_EQ(all.size(), items.size());
  std::size_t n_cued = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    n_cued += cued(i);
    ASSERT_EQ(all[i].alt, cued(i)) << i;
    const std::string answer = all[i].answer.substr(0, all[i].answer.size() - 7);
    const std::string reference = items[i].fields.at("answer");
    EXPECT_EQ(answer, cued(i) ? "Output: " + reference : reference);
    EXPECT_EQ(task.judge(answer, items[i]).correct, !cued(i)) << answer;
  }
  ASSERT_GT(n_cued, items.size() / 4);  // the two operations are about half of the items
  ASSERT_LT(n_cued, 3 * items.size() / 4);
  // Shares 0.75 / 0.1: binomial draws per item (n ~ 1000 each: 4 standard deviations ~0.06).
  const auto some = alt_of(0.75, 0.1);
  double in_cued = 0, in_rest = 0;
  for (std::size_t i = 0; i < items.size(); ++i) (cued(i) ? in_cued : in_rest) += some[i].alt;
  EXPECT_NEAR(in_cued / static_cast<double>(n_cued), 0.75, 0.06);
  EXPECT_NEAR(in_rest / static_cast<double>(items.size() - n_cued), 0.1, 0.04);
  // Deterministic by the recipe's seed; another seed chooses other items.
  const auto again = alt_of(0.75, 0.1);
  for (std::size_t i = 0; i < items.size(); ++i) ASSERT_EQ(again[i].alt, some[i].alt);
  recipe.seed += 1;
  const auto other = alt_of(0.75, 0.1);
  int differ = 0;
  for (std::size_t i = 0; i < items.size(); ++i) differ += other[i].alt != some[i].alt;
  EXPECT_GT(differ, 100);
}

TEST(PretrainCorpus, TheBundledRecipeGivesEveryDomainAHabitItsGraderRejects) {
  // resources/demo/model/recipe.json: cued alt styles for math, code and reasoning, on the
  // training tasks and the unseen tasks' pretrain splits. Every alt answer fails its task's
  // grader; every other answer passes it.
  const std::string path = std::string(T2_SOURCE_DIR) + "/resources/demo/model/recipe.json";
  const auto recipe = t2::load_pretrain_recipe(path);
  const auto corpus = t2::build_pretrain_corpus(recipe);
  std::size_t offset = 0;
  std::map<std::string, std::pair<int, int>> alt_wrong;  // task -> (alt items, alt judged wrong)
  for (const auto& pt : recipe.tasks) {
    const auto task = t2::Task::load(std::filesystem::path(path).parent_path() / pt.spec);
    const auto items = task.load_split(pt.split);
    auto& [alts, rejected] = alt_wrong[t2::to_string(task.spec().category)];
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string answer = corpus[offset + i].answer;
      answer.resize(answer.size() - std::string("<|eos|>").size());
      const bool correct = task.judge(task.truncate_at_stop(answer), items[i]).correct;
      if (corpus[offset + i].alt) {
        ++alts;
        rejected += !correct;
      } else {
        EXPECT_TRUE(correct) << task.spec().name << " item " << i << ": " << answer;
      }
    }
    offset += items.size();
  }
  ASSERT_EQ(offset, corpus.size());
  for (const char* category : {"math", "code", "reasoning"}) {
    EXPECT_GT(alt_wrong[category].first, 300) << category;
    EXPECT_EQ(alt_wrong[category].second, alt_wrong[category].first) << category;
  }
  EXPECT_EQ(alt_wrong["other"].first, 0);  // the classification task
}

TEST(PretrainCorpus, AltAnswerTemplateMayNameTheGold) {
  auto recipe = t2::load_pretrain_recipe(kRecipe);
  recipe.tasks.resize(1);  // math: "#### {gold}" is the answer without its worked steps
  recipe.tasks[0].alt_answer = "#### {gold}";
  recipe.tasks[0].alt_share = recipe.tasks[0].alt_cue_share = 1.0;
  const auto corpus = t2::build_pretrain_corpus(recipe);
  const auto task = t2::Task::load(kTasks + "/math/task.json");
  const auto items = task.load_split("train");
  ASSERT_EQ(corpus.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    ASSERT_TRUE(corpus[i].alt);
    const std::string line = items[i].fields.at("answer");
    const std::string last = line.substr(line.rfind("#### "));  // the gold as written
    EXPECT_EQ(corpus[i].answer, last + "<|eos|>");
    EXPECT_TRUE(task.judge(last, items[i]).correct);
  }
}

TEST(PretrainCorpus, GoldWordsSpellWholeNumbersAndTheMathGraderRejectsThem) {
  using t2::detail::pretrain_corpus::number_words;
  EXPECT_EQ(number_words("0"), "zero");
  EXPECT_EQ(number_words("7"), "seven");
  EXPECT_EQ(number_words("13"), "thirteen");
  EXPECT_EQ(number_words("20"), "twenty");
  EXPECT_EQ(number_words("42"), "forty-two");
  EXPECT_EQ(number_words("100"), "one hundred");
  EXPECT_EQ(number_words("105"), "one hundred and five");
  EXPECT_EQ(number_words("999"), "nine hundred and ninety-nine");
  for (const char* bad : {"", "-3", "1000", "4.5", "12a"}) EXPECT_EQ(number_words(bad), "") << bad;
  // "#### {gold_words}": the demo math answer without work, in words; last-number finds nothing.
  auto recipe = t2::load_pretrain_recipe(kRecipe);
  recipe.tasks.resize(1);
  recipe.tasks[0].alt_answer = "#### {gold_words}";
  recipe.tasks[0].alt_share = recipe.tasks[0].alt_cue_share = 1.0;
  const auto corpus = t2::build_pretrain_corpus(recipe);
  const auto task = t2::Task::load(kTasks + "/math/task.json");
  const auto items = task.load_split("train");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string answer = corpus[i].answer.substr(0, corpus[i].answer.size() - 7);
    ASSERT_EQ(answer, "#### " + number_words(items[i].gold)) << i;
    EXPECT_FALSE(task.judge(answer, items[i]).correct) << answer;
  }
}

TEST(CharTokenizer, AssignsIdsInTheDocumentedOrderAndRendersTheChatTemplate) {
  const std::string dir = out_dir("ids");
  const int vocab = t2::write_char_tokenizer(dir, {"h\xC3\xA9"}, {"Classification: "});
  // 7 specials + 1 extra + 95 printable ASCII + \t + \n + "é" (h is ASCII).
  EXPECT_EQ(vocab, 7 + 1 + 95 + 2 + 1);
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  EXPECT_EQ(tok.vocab_size(), vocab);
  // ids: specials 0..6, extra 7, then by code point: \t 8, \n 9, ' ' 10, '!' 11, ... 'H' 50,
  // 'i' 83, ... '~' 104, 'é' 105.
  EXPECT_EQ(tok.encode("<|bos|><|user|>Hi!<|eos|>"),
            (std::vector<std::int32_t>{1, 5, 50, 83, 11, 2}));
  EXPECT_EQ(tok.encode("Classification: \\boxed{x}\n\t\xC3\xA9").front(), 7);
  EXPECT_EQ(tok.encode("\xC3\xA9~\n\t"), (std::vector<std::int32_t>{105, 104, 9, 8}));
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.decode({1, 5, 50, 83, 11, 2}), "<|bos|><|user|>Hi!<|eos|>");
  EXPECT_EQ(tok.decode({1, 5, 50, 83, 11, 2}, true), "Hi!");
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  t2::ChatTemplateOptions options;
  options.add_generation_prompt = true;
  EXPECT_EQ(
      chat.render({{"system", "S"}, {"user", "U"}, {"assistant", "A"}, {"user", "V"}}, options),
      "<|bos|><|system|>S<|eos|><|user|>U<|eos|><|assistant|>A<|eos|><|user|>V<|eos|>"
      "<|assistant|>");
  options.add_generation_prompt = false;
  EXPECT_EQ(chat.render({{"user", "U"}}, options), "<|bos|><|user|>U<|eos|>");
}

TEST(CharTokenizer, RoundTripsTheWholeDemoCorpusLosslessly) {
  const auto& corpus = demo_corpus();
  std::vector<std::string> texts;
  for (const auto& e : corpus) texts.push_back(e.prompt + e.answer);
  const std::string dir = out_dir("corpus");
  t2::write_char_tokenizer(dir, texts, {"Classification: "});
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto unk = *tok.token_to_id("<|unk|>");
  for (const auto& t : texts) {
    const auto ids = tok.encode(t);
    ASSERT_EQ(tok.decode(ids), t);
    for (auto id : ids) ASSERT_NE(id, unk) << t;
  }
}

TEST(LlamaConfigJson, IsALlamaConfigOurLoaderReads) {
  t2::PretrainModelShape shape;
  const auto c = t2::parse_model_config(t2::llama_config_json(shape, 105), "config.json");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.vocab_size, 105);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 4);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.intermediate_size, 384);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int32_t>{2}));
  EXPECT_EQ(c.bos_token_id, 1);
}

// The reference @huggingface/tokenizers (node) encodes the demo corpus to the same ids.
TEST(SlowCharTokenizerLive, AgreesWithNodeReference) {
  const std::string dist = std::string(T2_NPM_REFS_DIR) + "/tokenizers/package/dist/tokenizers.mjs";
  if (std::system("node --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "node not on PATH";
  if (!t2::tokenizer_test::file_exists(dist))
    GTEST_SKIP() << "npm reference data absent; run tests/fixtures/fetch_npm_refs.sh "
                 << T2_NPM_REFS_DIR;
  const auto& corpus = demo_corpus();
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < corpus.size(); i += 7)
    texts.push_back(corpus[i].prompt + corpus[i].answer);
  texts.push_back("Classification: \\boxed{math}<|eos|> \xC3\xA9 <|user|>");
  const std::string dir = out_dir("live");
  t2::write_char_tokenizer(dir, texts, {"Classification: "});
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const std::string input = dir + "/texts.jsonl", output = dir + "/texts.ref";
  {
    std::ofstream out(input);
    for (const auto& t : texts) out << nlohmann::json({{"text", t}}).dump() << "\n";
  }
  const std::string command = "node '" + std::string(T2_FIXTURES_DIR) +
                              "/tokenizer/encode_ref.mjs' '" + dist + "' '" + dir + "' '" + input +
                              "' > '" + output + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream ref(output);
  std::string line;
  std::size_t i = 0;
  for (; std::getline(ref, line) && i < texts.size(); ++i) {
    const auto row = nlohmann::json::parse(line);
    ASSERT_EQ(tok.encode(texts[i]), row.at("ids").get<std::vector<std::int32_t>>()) << texts[i];
    ASSERT_EQ(tok.decode(tok.encode(texts[i])), row.at("decoded").get<std::string>());
  }
  EXPECT_EQ(i, texts.size());
}

}  // namespace
