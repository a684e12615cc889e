// `t2 adapt eval` on the bundled demo model with its expert library: the prompt strategy prints
// accuracy, pass-1 routing and both passes' timings, stores the run, and agrees with `t2 eval`
// when every question is routed to one expert; unknown strategies and bad libraries are refused
// with exit 1 and a message. `t2 adapt cem` saves its mix into (a copy of) the library; the
// few-shot strategy evaluates without its shots.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kDemo = std::string(T2_SOURCE_DIR) + "/resources/demo";

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " + args);
}

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "cli-adapt" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(CliAdapt, PromptDispatchReportsRoutingAndBothPasses) {
  if (!fs::exists(kDemo + "/model/model.safetensors") ||
      !fs::exists(kDemo + "/experts/library.json"))
    GTEST_SKIP() << "no demo model or expert library in resources/demo";
  const fs::path dir = fresh("prompt");
  const std::string db = (dir / "w.db").string();
  const auto r =
      t2("--db " + shell_quote(db) + " adapt eval " + shell_quote(kDemo + "/model") + " --task " +
         shell_quote(kDemo + "/tasks/math-unseen/task.json") + " --limit 24 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["strategy"], "prompt");
  EXPECT_EQ(j["n"], 24);
  EXPECT_GE(j["routing_accuracy"].get<double>(), 0.9);
  EXPECT_GT(j["pass1_seconds"].get<double>(), 0.0);
  EXPECT_GT(j["pass2_seconds"].get<double>(), 0.0);
  ASSERT_EQ(j["decisions"].size(), 24u);
  ASSERT_TRUE(j["run_id"].is_number());

  // Every question routed to math: the answers are `t2 eval --expert math`'s.
  bool all_math = true;
  for (const auto& d : j["decisions"]) all_math = all_math && d["category"] == "math";
  if (all_math) {
    const auto e =
        t2("--db " + shell_quote(db) + " eval " + shell_quote(kDemo + "/model") + " --task " +
           shell_quote(kDemo + "/tasks/math-unseen/task.json") + " --expert " +
           shell_quote(kDemo + "/experts/math/math.safetensors") + " --limit 24 --json --no-store");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(json::parse(e.out)["correct"], j["correct"]);
  }

  // The text form names the routing and the pass ratio.
  const auto text =
      t2("--db " + shell_quote(db) + " adapt eval " + shell_quote(kDemo + "/model") + " --task " +
         shell_quote(kDemo + "/tasks/math-unseen/task.json") + " --limit 8 --no-store");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("pass 1 routing"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("pass 1 / pass 2 ="), std::string::npos) << text.out;
}

TEST(CliAdapt, UnbuiltStrategiesAndBadLibrariesAreRefused) {
  if (!fs::exists(kDemo + "/model/model.safetensors"))
    GTEST_SKIP() << "no demo model in resources/demo";
  const fs::path dir = fresh("refused");
  const std::string base = " adapt eval " + shell_quote(kDemo + "/model") + " --task " +
                           shell_quote(kDemo + "/tasks/math-unseen/task.json") + " --no-store";
  const auto unknown = t2(base + " --strategy oracle");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("oracle"), std::string::npos) << unknown.err;
  std::ofstream(dir / "lib.json") << "{\"format\": \"something else\"}";
  const auto bad = t2(base + " --library " + shell_quote((dir / "lib.json").string()));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("lib.json"), std::string::npos) << bad.err;
  const auto missing = t2(" adapt eval " + shell_quote(kDemo + "/model"));
  EXPECT_EQ(missing.exit_code, 2) << "--task is required";
}

TEST(CliAdapt, CemSavesAMixInTheLibraryAndFewShotEvaluatesHeldOut) {
  if (!fs::exists(kDemo + "/model/model.safetensors") ||
      !fs::exists(kDemo + "/experts/library.json"))
    GTEST_SKIP() << "no demo model or expert library in resources/demo";
  const fs::path dir = fresh("cem");
  fs::copy(kDemo + "/experts", dir / "experts", fs::copy_options::recursive);
  const std::string lib = (dir / "experts" / "library.json").string();
  const std::string db = (dir / "w.db").string();
  const std::string task = shell_quote(kDemo + "/tasks/reasoning-unseen/task.json");
  const std::string small = " --population 4 --generations 2 --shots 4 --seed 5";
  const auto c =
      t2("--db " + shell_quote(db) + " adapt cem " + shell_quote(kDemo + "/model") + " --task " +
         task + " --library " + shell_quote(lib) + small + " --mix-name reasoning-mix --json");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json cj = json::parse(c.out);
  EXPECT_EQ(cj["generations_run"], 2);
  EXPECT_EQ(cj["members_evaluated"], 8);
  EXPECT_EQ(cj["shot_split"], "validation");
  ASSERT_TRUE(cj["search_run_id"].is_number());
  EXPECT_TRUE(fs::exists(dir / "experts" / "mixes" / "reasoning-mix.safetensors"));
  // The library now lists the mix with the search's alpha and run.
  std::ifstream in(lib);
  const json lj = json::parse(in);
  ASSERT_EQ(lj["mixes"].size(), 1u);
  EXPECT_EQ(lj["mixes"][0]["name"], "reasoning-mix");
  EXPECT_EQ(lj["mixes"][0]["file"], "mixes/reasoning-mix.safetensors");
  EXPECT_EQ(lj["mixes"][0]["alpha"], cj["alpha"]);
  EXPECT_EQ(lj["mixes"][0]["run_id"], cj["search_run_id"]);
  // The shipped library is untouched (only the copy changed).
  std::ifstream shipped(kDemo + "/experts/library.json");
  EXPECT_FALSE(json::parse(shipped).contains("mixes"));

  // few-shot evaluation: shots from the test split itself are left out of it.
  const auto e = t2("--db " + shell_quote(db) + " adapt eval " + shell_quote(kDemo + "/model") +
                    " --task " + task + " --library " + shell_quote(lib) + small +
                    " --strategy few-shot --shot-split test --limit 20 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const json ej = json::parse(e.out);
  EXPECT_EQ(ej["selection"], "held-out");
  EXPECT_LE(ej["n"].get<int>(), 16);
  ASSERT_TRUE(ej["run_id"].is_number());
  const auto shown = t2("--db " + shell_quote(db) + " runs show " +
                        std::to_string(ej["run_id"].get<std::int64_t>()));
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("few-shot"), std::string::npos) << shown.out;
}

TEST(CliAdapt, ClassifierStrategiesAndTheTable) {
  if (!fs::exists(kDemo + "/model/model.safetensors") ||
      !fs::exists(kDemo + "/experts/library.json"))
    GTEST_SKIP() << "no demo model or expert library in resources/demo";
  std::ifstream lib_in(kDemo + "/experts/library.json");
  if (!json::parse(lib_in).contains("classifier"))
    GTEST_SKIP() << "the demo library has no classifier expert (t2 demo build --experts)";
  const fs::path dir = fresh("classifier");
  const std::string db = (dir / "w.db").string();
  const std::string model = shell_quote(kDemo + "/model");
  const std::string task = shell_quote(kDemo + "/tasks/mixed/task.json");
  const auto soft = t2("--db " + shell_quote(db) + " adapt eval " + model + " --task " + task +
                       " --strategy classifier-soft --limit 12 --json");
  ASSERT_EQ(soft.exit_code, 0) << soft.err;
  const json sj = json::parse(soft.out);
  EXPECT_EQ(sj["strategy"], "classifier-soft");
  EXPECT_EQ(sj["n"], 12);
  ASSERT_EQ(sj["decisions"].size(), 12u);
  for (const auto& d : sj["decisions"]) {
    double sum = 0.0;
    for (const auto& [category, p] : d["probabilities"].items()) sum += p.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-9) << d.dump();
  }

  // The table: one stored run per cell, Markdown on stdout, the same numbers in the CSV.
  const std::string csv = (dir / "table.csv").string();
  const auto t = t2("--db " + shell_quote(db) + " adapt table " + model + " --task " + task +
                    " --rows base,experts,classifier --limit 10 --csv " + shell_quote(csv));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("| method | demo-mixed |"), std::string::npos) << t.out;
  for (const char* row :
       {"| base |", "| expert:math |", "| expert:code |", "| expert:reasoning |", "| classifier |"})
    EXPECT_NE(t.out.find(row), std::string::npos) << row << "\n" << t.out;
  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header,
            "row,task,n,correct,accuracy,ci_low,ci_high,routing_accuracy,pass1_over_pass2,run_id");
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 5);
  const auto bad = t2("--db " + shell_quote(db) + " adapt table " + model + " --task " + task +
                      " --rows base,oracle --limit 4");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("oracle"), std::string::npos) << bad.err;
}

TEST(CliChat, PrintsThePass1DecisionStreamsAnswersAndStoresTheChat) {
  if (!fs::exists(kDemo + "/model/model.safetensors") ||
      !fs::exists(kDemo + "/experts/library.json"))
    GTEST_SKIP() << "no demo model or expert library in resources/demo";
  const fs::path dir = fresh("chat");
  const std::string db = (dir / "w.db").string();
  std::ofstream(dir / "in.txt") << "There are 3 pens in a box. Ann puts in 4 more. How many pens "
                                   "are in the box now?\n\nWhat is 2 + 5?\n";
  const auto r = run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " --db " +
                             shell_quote(db) + " chat " + shell_quote(kDemo + "/model") +
                             " --strategy prompt --compare base --max-new-tokens 24 < " +
                             shell_quote((dir / "in.txt").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Two messages, each answered twice: a pass-1 line only for the prompt strategy.
  auto count = [&](const std::string& s) {
    std::size_t n = 0;
    for (auto at = r.out.find(s); at != std::string::npos; at = r.out.find(s, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("[pass 1: "), 2u) << r.out;
  EXPECT_EQ(count("[pass 2: "), 4u) << r.out;
  EXPECT_EQ(count("[base]"), 2u) << r.out;
  EXPECT_NE(r.err.find("stored in"), std::string::npos) << r.err;
  const auto missing =
      run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " chat " +
                  shell_quote(kDemo + "/model") + " --strategy few-shot --no-store < /dev/null");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--mix"), std::string::npos) << missing.err;
}

}  // namespace
