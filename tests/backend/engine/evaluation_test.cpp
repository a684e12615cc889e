// evaluate() on the llama_f32 fixture with a toy tokenizer (tests/support/tiny_chat_model.h) and
// a task written here. Expectations are independent of the harness: each prompt is generated
// alone with Session::generate and the test's own GenerateParams (EOS ids, stop string, decode
// written out here); the dataset's gold answers are then chosen from those outputs (every even
// item's gold is its own output, every odd item's a string the model cannot produce), so which
// items are correct is known before evaluate() runs; the totals are recounted with Task::judge.
#include <t2/engine.h>

#include "support/tiny_chat_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Ids = std::vector<std::int32_t>;

const std::vector<std::string> kQuestions = {
    "What is two plus two?",
    "Name a colour.",
    "Say hi",
    "Write the word apple backwards, please, and then stop.",
    "Count: one two three",
    "x",
    "Is the sky blue today or is it grey?",
};
constexpr int kMaxNewTokens = 10;
const char kStop[] = "e";  // a frequent letter, so that some rows stop early

fs::path work_dir() { return fs::path(T2_TEST_OUTPUT_DIR) / "evaluation-test"; }

std::string write_task(const std::vector<std::string>& answers, const std::string& name) {
  const fs::path dir = work_dir() / name;
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "test.jsonl");
    for (std::size_t i = 0; i < kQuestions.size(); ++i)
      out << nlohmann::json{{"question", kQuestions[i]}, {"answer", answers[i]}}.dump() << "\n";
  }
  const nlohmann::json spec = {
      {"name", name},
      {"kind", "generic"},
      {"data", {{"test", "test.jsonl"}, {"train", "test.jsonl"}}},
      {"prompt", {{"system", "Answer briefly."}, {"user", "Q: {question}"}}},
      {"generation", {{"max_new_tokens", kMaxNewTokens}, {"stop", {kStop}}}},
      {"extractor", {{"kind", "exact"}, {"case_sensitive", true}}}};
  std::ofstream(dir / "task.json") << spec.dump(2);
  return (dir / "task.json").string();
}

struct Env {
  std::string model_dir = t2_test::write_tiny_chat_model(work_dir() / "model");
  t2::Tokenizer tokenizer = t2::Tokenizer::from_model_dir(model_dir);
  t2::ChatTemplate chat = t2::ChatTemplate::from_model_dir(model_dir);
  t2::Session session{t2::Model::load(model_dir)};

  // The test's own generation settings: EOS = config's 2 (= </s>) and <|im_end|> (4), which the
  // template writes; the stop string; decode drops id 127, which the toy vocabulary lacks.
  t2::GenerateParams params() const {
    t2::GenerateParams p;
    p.max_new_tokens = kMaxNewTokens;
    p.eos_ids = {2, 4};
    p.stop_strings = {kStop};
    const t2::Tokenizer tok = tokenizer;
    p.decode = [tok](const Ids& ids) {
      Ids known;
      for (auto id : ids)
        if (id < 127) known.push_back(id);
      return tok.decode(known);
    };
    return p;
  }
  std::string prompt_text(const t2::Task& task, const t2::TaskItem& item) const {
    return t2::render_task_prompt(task.build_prompt(item), &chat).text;
  }
  // Each question's output generated alone (batch of one).
  std::vector<std::string> alone_outputs(const t2::Task& task) {
    std::vector<std::string> out;
    for (const auto& item : task.load_split("test")) {
      const Ids ids = tokenizer.encode(prompt_text(task, item), false);
      out.push_back(session.generate({ids}, params()).sequences.at(0).text);
    }
    return out;
  }
};

// Tasks whose even items' gold is the model's own output (written once per process).
struct Shared {
  Env env;
  std::vector<std::string> outputs;
  std::string spec;
  Shared() {
    const auto probe = t2::Task::load(write_task(std::vector<std::string>(7, "?"), "probe"));
    outputs = env.alone_outputs(probe);
    std::vector<std::string> answers;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const bool blank = outputs[i].find_first_not_of(" \n") == std::string::npos;
      answers.push_back(i % 2 == 0 && !blank ? outputs[i] : "no such answer ~");
    }
    spec = write_task(answers, "toy");
  }
};

Shared& shared() {
  static Shared s;
  return s;
}

TEST(ModelEvaluation, EndOfGenerationIds) {
  Env& env = shared().env;
  const auto& config = env.session.model().config();
  EXPECT_EQ(t2::end_of_generation_ids(config, env.tokenizer, nullptr), (Ids{2}));
  EXPECT_EQ(t2::end_of_generation_ids(config, env.tokenizer, &env.chat), (Ids{2, 4}));
  // A template that does not write <|im_end|> does not make it an EOS.
  const auto plain = t2::ChatTemplate::from_string("{{ messages[0]['content'] }}");
  EXPECT_EQ(t2::end_of_generation_ids(config, env.tokenizer, &plain), (Ids{2}));
  const auto decode = t2::tokenizer_decoder(env.tokenizer);
  EXPECT_EQ(decode({127, 60, 127}), env.tokenizer.decode({60}));
}

TEST(ModelEvaluation, BatchedOutputsEqualAloneAndJudgeCounts) {
  Shared& s = shared();
  const t2::Task task = t2::Task::load(s.spec);
  t2::EvalParams params;
  params.batch_size = 3;
  std::vector<std::string> messages;
  const t2::JobContext job([&](const t2::Progress& p) {
    if (p.stage == "generate") messages.push_back(p.message);
  });
  const t2::EvalReport r =
      t2::evaluate(s.env.session, s.env.tokenizer, &s.env.chat, task, params, job);
  ASSERT_EQ(r.items.size(), kQuestions.size());
  EXPECT_EQ(r.n, 7);
  EXPECT_EQ(r.task, "toy");
  EXPECT_EQ(r.split, "test");
  // Progress: the start, then one report per batch (ceil(7 / 3) = 3).
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages.back().rfind("batch 3/3", 0), 0u) << messages.back();
  const auto items = task.load_split("test");
  std::int64_t correct = 0, unextractable = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE("item " + std::to_string(i));
    const auto& item = r.items[i];
    EXPECT_EQ(item.index, static_cast<std::int64_t>(i));
    EXPECT_EQ(item.id, items[i].id);
    EXPECT_EQ(item.prompt, s.env.prompt_text(task, items[i]));
    EXPECT_EQ(item.output, s.outputs[i]);  // batch invariance (greedy)
    const t2::Verdict v = task.judge(s.outputs[i], items[i]);
    EXPECT_EQ(item.correct, v.correct);
    EXPECT_EQ(item.found, v.extraction.found);
    EXPECT_EQ(item.reward, v.reward);
    EXPECT_EQ(item.gold, items[i].gold);
    // Known in advance: even items are right unless the output is blank (exact: unextractable).
    const bool blank = s.outputs[i].find_first_not_of(" \n") == std::string::npos;
    EXPECT_EQ(item.correct, i % 2 == 0 && !blank);
    EXPECT_LE(item.generated_tokens, kMaxNewTokens);
    correct += v.correct;
    unextractable += !v.extraction.found;
  }
  // The fixture gives a mix of right and wrong items (else this test would prove little).
  EXPECT_GT(correct, 0);
  EXPECT_LT(correct, 7);
  EXPECT_EQ(r.correct, correct);
  EXPECT_EQ(r.unextractable, unextractable);
  EXPECT_DOUBLE_EQ(r.accuracy, static_cast<double>(correct) / 7.0);
  const auto ci = t2::wilson_interval(correct, 7);
  EXPECT_DOUBLE_EQ(r.ci_low, ci.low);
  EXPECT_DOUBLE_EQ(r.ci_high, ci.high);
  EXPECT_GT(r.generation_seconds, 0.0);
  EXPECT_GT(r.prompt_tokens, 7 * 10);
  EXPECT_NEAR(r.ms_per_example, 1000.0 * r.generation_seconds / 7.0, 1e-9);
}

TEST(ModelEvaluation, LimitTakesTheFirstItems) {
  Shared& s = shared();
  const t2::Task task = t2::Task::load(s.spec);
  t2::EvalParams params;
  params.limit = 4;
  params.batch_size = 8;
  const auto r = t2::evaluate(s.env.session, s.env.tokenizer, &s.env.chat, task, params);
  ASSERT_EQ(r.n, 4);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.items[i].index, static_cast<std::int64_t>(i));
    EXPECT_EQ(r.items[i].output, s.outputs[i]);
  }
  params.split = "validation";
  try {
    t2::evaluate(s.env.session, s.env.tokenizer, &s.env.chat, task, params);
    FAIL() << "unknown split accepted";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("validation"), std::string::npos) << e.what();
  }
  params.split = "test";
  params.batch_size = 0;
  EXPECT_THROW(t2::evaluate(s.env.session, s.env.tokenizer, &s.env.chat, task, params), t2::Error);
}

TEST(ModelEvaluation, WithoutChatTemplatePromptsArePlainText) {
  Shared& s = shared();
  const t2::Task task = t2::Task::load(s.spec);
  t2::EvalParams params;
  params.limit = 3;
  params.batch_size = 2;
  const auto r = t2::evaluate(s.env.session, s.env.tokenizer, nullptr, task, params);
  ASSERT_EQ(r.n, 3);
  const auto items = task.load_split("test", 3);
  auto p = s.env.params();
  p.eos_ids = {2};  // no template, so <|im_end|> is no EOS
  for (std::size_t i = 0; i < 3; ++i) {
    // system + blank line + user + newline, encoded with BOS (id 1).
    const std::string plain = "Answer briefly.\n\nQ: " + kQuestions[i] + "\n";
    EXPECT_EQ(r.items[i].prompt, plain);
    Ids ids = s.env.tokenizer.encode(plain, true);
    ASSERT_EQ(ids.front(), 1);
    EXPECT_EQ(r.items[i].prompt_tokens, static_cast<std::int64_t>(ids.size()));
    EXPECT_EQ(r.items[i].output, s.env.session.generate({ids}, p).sequences.at(0).text) << i;
  }
}

t2::EvalRunInfo run_info(const Shared& s) {
  t2::EvalRunInfo info;
  info.model_dir = s.env.model_dir;
  info.model_fingerprint = t2::model_fingerprint(s.env.model_dir);
  info.architecture = "LlamaForCausalLM";
  info.task_path = s.spec;
  info.task_name = "toy";
  return info;
}

std::string fresh_db(const std::string& name) {
  const fs::path db = work_dir() / name;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
  return db.string();
}

TEST(ModelEvaluation, StoreRoundTrip) {
  Shared& s = shared();
  const t2::Task task = t2::Task::load(s.spec);
  t2::EvalParams params;
  params.batch_size = 4;
  const auto report = t2::evaluate(s.env.session, s.env.tokenizer, &s.env.chat, task, params);
  t2::RunStore store(fresh_db("round-trip.db"));
  t2::EvalRunInfo info = run_info(s);
  info.strategy = t2::Strategy::expert("/some/where/math.t2expert");
  const auto run = t2::begin_eval_run(store, info, params);
  EXPECT_EQ(store.get_run(run).status, t2::RunStatus::Running);
  t2::finish_eval_run(store, run, info, report, t2::RunStatus::Finished);

  const auto record = store.get_run(run);
  EXPECT_EQ(record.kind, "eval");
  EXPECT_EQ(record.status, t2::RunStatus::Finished);
  ASSERT_TRUE(record.model_id.has_value());
  const auto params_json = nlohmann::json::parse(record.params_json);
  EXPECT_EQ(params_json["model_dir"], s.env.model_dir);
  EXPECT_EQ(params_json["task"], s.spec);
  EXPECT_EQ(params_json["split"], "test");
  EXPECT_EQ(params_json["batch_size"], 4);
  EXPECT_EQ(params_json["expert"], "/some/where/math.t2expert");
  const auto evaluations = store.evaluations(run);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_EQ(evaluations[0].task, "toy");
  EXPECT_EQ(evaluations[0].strategy, "expert:math.t2expert");
  EXPECT_EQ(evaluations[0].n, 7);
  EXPECT_EQ(evaluations[0].correct, report.correct);
  const auto items = store.evaluation_items(evaluations[0].id);
  ASSERT_EQ(items.size(), 7u);
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].index, report.items[i].index);
    EXPECT_EQ(items[i].prompt, report.items[i].prompt);
    EXPECT_EQ(items[i].reference, report.items[i].gold);
    EXPECT_EQ(items[i].prediction, s.outputs[i]);
    EXPECT_EQ(items[i].extracted_answer, report.items[i].extracted_answer);
    EXPECT_EQ(items[i].correct, report.items[i].correct);
  }
  const auto best = store.best_values({run}, {"accuracy", "ci_low", "ci_high"}, t2::BestMode::Last);
  ASSERT_EQ(best.size(), 3u);
  EXPECT_DOUBLE_EQ(best[0].value, report.accuracy);
  EXPECT_DOUBLE_EQ(best[1].value, report.ci_low);
  EXPECT_DOUBLE_EQ(best[2].value, report.ci_high);
}

TEST(ModelEvaluation, CancelAfterFirstBatchKeepsFinishedItems) {
  Shared& s = shared();
  const t2::Task task = t2::Task::load(s.spec);
  t2::CancelToken cancel;
  const t2::JobContext job({}, cancel);
  t2::EvalParams params;
  params.batch_size = 3;
  t2::EvalReport last;
  int batches = 0;
  params.on_batch = [&](const t2::EvalReport& so_far) {
    last = so_far;
    ++batches;
    cancel.request_cancel();
  };
  t2::RunStore store(fresh_db("cancel.db"));
  const t2::EvalRunInfo info = run_info(s);
  const auto run = t2::begin_eval_run(store, info, params);
  try {
    t2::evaluate(s.env.session, s.env.tokenizer, &s.env.chat, task, params, job);
    FAIL() << "not cancelled";
  } catch (const t2::Error& e) {
    ASSERT_TRUE(e.is_cancelled()) << e.what();
    t2::finish_eval_run(store, run, info, last, t2::RunStatus::Cancelled, e.what());
  }
  EXPECT_EQ(batches, 1);
  // Greedy evaluation is one continuous batch: the first report comes when three items have
  // finished (whichever answered first); each is stored with its own output, in dataset order.
  ASSERT_EQ(last.n, 3);
  const auto record = store.get_run(run);
  EXPECT_EQ(record.status, t2::RunStatus::Cancelled);
  const auto evaluations = store.evaluations(run);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_EQ(evaluations[0].n, 3);
  const auto stored = store.evaluation_items(evaluations[0].id);
  ASSERT_EQ(stored.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    if (k > 0) EXPECT_LT(stored[k - 1].index, stored[k].index);
    EXPECT_EQ(stored[k].prediction, s.outputs[static_cast<std::size_t>(stored[k].index)]);
  }
}

}  // namespace
