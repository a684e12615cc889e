// `t2 adapt eval` on the bundled demo model with its expert library: the prompt strategy prints
// accuracy, pass-1 routing and both passes' timings, stores the run, and agrees with `t2 eval`
// when every question is routed to one expert; strategies that are not built yet and bad
// libraries are refused with exit 1 and a message.
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
  const auto few = t2(base + " --strategy few-shot");
  EXPECT_EQ(few.exit_code, 1);
  EXPECT_NE(few.err.find("not built yet"), std::string::npos) << few.err;
  std::ofstream(dir / "lib.json") << "{\"format\": \"something else\"}";
  const auto bad = t2(base + " --library " + shell_quote((dir / "lib.json").string()));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("lib.json"), std::string::npos) << bad.err;
  const auto missing = t2(" adapt eval " + shell_quote(kDemo + "/model"));
  EXPECT_EQ(missing.exit_code, 2) << "--task is required";
}

}  // namespace
