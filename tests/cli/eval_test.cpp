// End-to-end `t2 eval` on a tiny chat model (tests/support/tiny_chat_model.h: the llama_f32
// fixture + a toy tokenizer + a ChatML template) with a task written here. Expected outputs come
// from `t2 generate --chat` on each prompt alone (same system and user message as the task's);
// the gold answers are chosen from them (even items: the model's own output, odd items: a string
// it cannot produce), so which items are right is known before `t2 eval` runs.
#include "process.h"
#include "support/tiny_chat_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " + args);
}

json parse_json(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r.out.substr(0, 500);
    return json::object();
  }
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

const fs::path kDir = fs::path(T2_TEST_OUTPUT_DIR) / "cli-eval";
const char kSystem[] = "Answer briefly.";
const std::vector<std::string> kQuestions = {"What is two plus two?", "Say hi",
                                             "Name three colours, please.", "x"};
const char kAnswerNobodyGives[] = "no such answer ~";

const std::string& model_dir() {
  static const std::string dir = t2_test::write_tiny_chat_model(kDir / "model");
  return dir;
}

void write_spec(const fs::path& dir, const std::string& name, const std::string& data_file) {
  const json spec = {{"name", name},
                     {"kind", "generic"},
                     {"data", {{"test", data_file}}},
                     {"prompt", {{"system", kSystem}, {"user", "Q: {question}"}}},
                     {"generation", {{"max_new_tokens", 10}, {"stop", {"e"}}}},
                     {"extractor", {{"kind", "exact"}, {"case_sensitive", true}}}};
  std::ofstream(dir / (name + ".json")) << spec.dump(2);
}

struct ToyTask {
  std::string spec;
  std::vector<std::string> outputs;  // t2 generate's output for each question
  std::vector<bool> right;           // expected verdicts
};

// The task, built once per process.
const ToyTask& toy_task() {
  static const ToyTask task = [] {
    ToyTask t;
    fs::create_directories(kDir);
    std::ofstream data(kDir / "toy.jsonl");
    for (std::size_t i = 0; i < kQuestions.size(); ++i) {
      const auto j =
          parse_json(t2("generate " + shell_quote(model_dir()) + " --chat --system " +
                        shell_quote(kSystem) + " --prompt " + shell_quote("Q: " + kQuestions[i]) +
                        " --greedy --max-new-tokens 10 --stop e --json"));
      const std::string out = j.value("text", "");
      t.outputs.push_back(out);
      const bool blank = out.find_first_not_of(" \n") == std::string::npos;
      t.right.push_back(i % 2 == 0 && !blank);
      data << json{{"question", kQuestions[i]},
                   {"answer", t.right.back() ? out : kAnswerNobodyGives}}
                  .dump()
           << "\n";
    }
    write_spec(kDir, "toy", "toy.jsonl");
    t.spec = (kDir / "toy.json").string();
    return t;
  }();
  return task;
}

std::string fresh_db(const std::string& name) {
  const fs::path db = kDir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
  return db.string();
}

std::string eval_args(const std::string& spec) {
  return "eval " + shell_quote(model_dir()) + " --task " + shell_quote(spec);
}

// The Wilson interval written out once more (the unit tests check the engine's against hand
// values; here it only ties the CLI's numbers to the formula).
std::pair<double, double> wilson(double k, double n) {
  const double z = 1.959963984540054, p = k / n, d = 1 + z * z / n;
  const double c = (p + z * z / (2 * n)) / d;
  const double h = z / d * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return {k == 0 ? 0.0 : c - h, k == n ? 1.0 : c + h};
}

TEST(CliEval, JsonReportMatchesGenerateAlone) {
  const ToyTask& task = toy_task();
  const std::string db = fresh_db("json.db");
  const auto j = parse_json(
      t2("--db " + shell_quote(db) + " " + eval_args(task.spec) + " --batch 3 --json --items"));
  const std::set<std::string> expected_keys = {"task",
                                               "task_path",
                                               "split",
                                               "n",
                                               "correct",
                                               "accuracy",
                                               "ci_low",
                                               "ci_high",
                                               "unextractable",
                                               "prompt_tokens",
                                               "generated_tokens",
                                               "generation_seconds",
                                               "judging_seconds",
                                               "examples_per_second",
                                               "ms_per_example",
                                               "items",
                                               "model",
                                               "strategy",
                                               "run_id"};
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, expected_keys);
  EXPECT_EQ(j["task"], "toy");
  EXPECT_EQ(j["split"], "test");
  EXPECT_EQ(j["strategy"], "base");
  EXPECT_TRUE(j["run_id"].is_number_integer());
  ASSERT_EQ(j["n"], 4);
  ASSERT_EQ(j["items"].size(), 4u);
  int right = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE("item " + std::to_string(i));
    const auto& item = j["items"][i];
    EXPECT_EQ(item["index"], i);
    EXPECT_EQ(item["output"], task.outputs[i]);
    EXPECT_EQ(item["correct"], task.right[i]);
    EXPECT_TRUE(contains(item["prompt"].get<std::string>(), "Q: " + kQuestions[i]));
    right += task.right[i];
  }
  EXPECT_GT(right, 0);  // the toy data gives a mix, else the check above proves little
  EXPECT_EQ(j["correct"], right);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), right / 4.0);
  const auto [low, high] = wilson(right, 4);
  EXPECT_NEAR(j["ci_low"].get<double>(), low, 1e-12);
  EXPECT_NEAR(j["ci_high"].get<double>(), high, 1e-12);
  EXPECT_GT(j["generation_seconds"].get<double>(), 0.0);
  EXPECT_GT(j["ms_per_example"].get<double>(), 0.0);

  // Default JSON is compact (no items); --limit takes the first items.
  const auto k = parse_json(t2(eval_args(task.spec) + " --limit 2 --json --no-store"));
  EXPECT_FALSE(k.contains("items"));
  EXPECT_EQ(k["n"], 2);
  EXPECT_TRUE(k["run_id"].is_null());
  EXPECT_EQ(k["correct"], static_cast<int>(task.right[0]) + static_cast<int>(task.right[1]));
}

// --temperature/--seed: with one item (one batch) the sampled output is what `t2 generate` samples
// with the same seed; the same seed reproduces it, and other seeds give other samples.
TEST(CliEval, SampledEvaluationFollowsTheSeed) {
  const ToyTask& task = toy_task();
  auto sampled = [&](int seed) {
    const auto j = parse_json(t2(eval_args(task.spec) + " --limit 1 --temperature 1 --seed " +
                                 std::to_string(seed) + " --json --items --no-store"));
    return j["items"].size() == 1 ? j["items"][0].value("output", "") : std::string("?");
  };
  const auto alone =
      parse_json(t2("generate " + shell_quote(model_dir()) + " --chat --system " +
                    shell_quote(kSystem) + " --prompt " + shell_quote("Q: " + kQuestions[0]) +
                    " --temperature 1 --seed 7 --max-new-tokens 10 --stop e --json"));
  const std::string at7 = sampled(7);
  EXPECT_EQ(at7, alone.value("text", "")) << "eval's batch 0 samples with --seed";
  EXPECT_EQ(sampled(7), at7);
  std::set<std::string> others;
  for (int seed = 8; seed < 14; ++seed) others.insert(sampled(seed));
  others.insert(at7);
  EXPECT_GT(others.size(), 1u) << "six other seeds all sampled " << at7;
}

TEST(CliEval, HumanLineAndRunsList) {
  const ToyTask& task = toy_task();
  const std::string db = fresh_db("runs.db");
  const auto r = t2("--db " + shell_quote(db) + " " + eval_args(task.spec) + " --name toy-run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "toy [test]: accuracy ")) << r.out;
  EXPECT_TRUE(contains(r.out, "(95% CI ")) << r.out;
  EXPECT_TRUE(contains(r.out, "ms/example")) << r.out;
  EXPECT_TRUE(contains(r.out, "; run 1")) << r.out;

  const auto runs = parse_json(t2("--db " + shell_quote(db) + " runs list --json"));
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  EXPECT_EQ(runs[0]["kind"], "eval");
  EXPECT_EQ(runs[0]["status"], "finished");
  EXPECT_EQ(runs[0]["name"], "toy-run");
  EXPECT_EQ(runs[0]["params"]["split"], "test");
  EXPECT_EQ(fs::path(runs[0]["params"]["task"].get<std::string>()), fs::path(task.spec));
  const auto show = parse_json(t2("--db " + shell_quote(db) + " runs show 1 --json"));
  ASSERT_EQ(show["evaluations"].size(), 1u);
  EXPECT_EQ(show["evaluations"][0]["task"], "toy");
  EXPECT_EQ(show["evaluations"][0]["strategy"], "base");
  EXPECT_EQ(show["evaluations"][0]["n"], 4);

  // --no-store leaves no database behind.
  const std::string none = fresh_db("none.db");
  EXPECT_EQ(t2("--db " + shell_quote(none) + " " + eval_args(task.spec) + " --no-store").exit_code,
            0);
  EXPECT_FALSE(fs::exists(none));
}

TEST(CliEval, ExpertIsAppliedAndNamed) {
  const ToyTask& task = toy_task();
  const std::string cache = "T2_CACHE=" + shell_quote((kDir / "cache").string()) + " ";
  const fs::path identity = kDir / "identity.safetensors";
  ASSERT_EQ(
      t2("expert new " + shell_quote(model_dir()) + " --out " + shell_quote(identity.string()))
          .exit_code,
      0);
  // The identity expert (paper, z = 1) reproduces the base outputs exactly.
  auto j = parse_json(run_process(cache + shell_quote(T2_CLI) + " " + eval_args(task.spec) +
                                  " --expert " + shell_quote(identity.string()) +
                                  " --json --items --no-store"));
  EXPECT_EQ(j["strategy"], "expert:identity.safetensors");
  ASSERT_EQ(j["items"].size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(j["items"][i]["output"], task.outputs[i]) << i;
  // Zeroing the MLP outputs of both layers (z = 0 for down_proj, rank 32) changes some answer.
  const json z = {{"model.layers.0.mlp.down_proj.weight", std::vector<float>(32, 0.0f)},
                  {"model.layers.1.mlp.down_proj.weight", std::vector<float>(32, 0.0f)}};
  std::ofstream(kDir / "zero-mlp.json") << z.dump();
  j = parse_json(run_process(cache + shell_quote(T2_CLI) + " " + eval_args(task.spec) +
                             " --expert " + shell_quote((kDir / "zero-mlp.json").string()) +
                             " --json --items --no-store"));
  EXPECT_EQ(j["strategy"], "expert:zero-mlp.json");
  int changed = 0;
  for (std::size_t i = 0; i < j["items"].size(); ++i)
    changed += j["items"][i]["output"] != task.outputs[i];
  EXPECT_GT(changed, 0);
}

TEST(CliEval, BadSpecsAndSplitsFailClearly) {
  const std::string db = fresh_db("errors.db");
  const std::string with_db = "--db " + shell_quote(db) + " ";
  // Missing spec file.
  auto r = t2(with_db + eval_args((kDir / "absent.json").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "absent.json")) << r.err;
  // Unknown split: named, with the splits that exist.
  r = t2(with_db + eval_args(toy_task().spec) + " --split nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no split \"nope\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "test")) << r.err;
  // Malformed spec: not JSON, and an unknown key.
  std::ofstream(kDir / "broken.json") << "{\"name\": \"b\", \"kind\": ";
  r = t2(with_db + eval_args((kDir / "broken.json").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "broken.json")) << r.err;
  std::ofstream(kDir / "typo.json")
      << R"({"name": "t", "kind": "generic", "data": {"test": "toy.jsonl"}, "extracter": {}})";
  r = t2(with_db + eval_args((kDir / "typo.json").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "typo.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "extracter")) << r.err;
  // A bad dataset line is named by file and line; the run is stored as failed.
  std::ofstream(kDir / "bad.jsonl") << "{\"question\": \"q\", \"answer\": \"a\"}\nnot json\n";
  write_spec(kDir, "bad", "bad.jsonl");
  r = t2(with_db + eval_args((kDir / "bad.json").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "bad.jsonl:2")) << r.err;
  // Usage errors: --items needs --json, --batch must be >= 1.
  EXPECT_EQ(t2(eval_args(toy_task().spec) + " --items").exit_code, 2);
  EXPECT_EQ(t2(eval_args(toy_task().spec) + " --batch 0").exit_code, 2);
  // Spec and split errors fail before the model loads and leave no run; the dataset error
  // happens during the evaluation, so that run is stored as failed with the message.
  const auto runs = parse_json(t2(with_db + "runs list --json"));
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_TRUE(contains(runs[0]["message"].get<std::string>(), "bad.jsonl:2")) << runs.dump();
}

TEST(CliEval, CtrlCStoresTheFinishedItemsAsCancelled) {
  constexpr int kItems = 4000;
  {
    std::ofstream data(kDir / "long.jsonl");
    for (int i = 0; i < kItems; ++i)
      data << json{{"question", "Question number " + std::to_string(i)}, {"answer", "a"}}.dump()
           << "\n";
  }
  write_spec(kDir, "long", "long.jsonl");
  const std::string db = fresh_db("cancel.db");
  // Start, wait until the run store exists (the run begins right after), let a few batches
  // finish, then send SIGINT as Ctrl+C would.
  const std::string command = shell_quote(T2_CLI) + " --db " + shell_quote(db) + " " +
                              eval_args((kDir / "long.json").string()) +
                              " --batch 2 --max-new-tokens 48 >/dev/null 2>&1 & pid=$!; i=0; "
                              "while [ ! -e " +
                              shell_quote(db) +
                              " ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
                              "sleep 1; kill -INT $pid; wait $pid; echo $?";
  const auto r = run_process(command);
  EXPECT_EQ(r.out, "130\n") << r.err;
  const auto runs = parse_json(t2("--db " + shell_quote(db) + " runs list --json"));
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  EXPECT_EQ(runs[0]["status"], "cancelled");
  const auto show = parse_json(t2("--db " + shell_quote(db) + " runs show 1 --json"));
  ASSERT_EQ(show["evaluations"].size(), 1u);
  const int n = show["evaluations"][0]["n"].get<int>();
  EXPECT_GT(n, 0);
  EXPECT_LT(n, kItems);
  EXPECT_EQ(n % 2, 0) << "whole batches of 2 only";
}

}  // namespace
