// End-to-end: `t2 demo build|info` and `t2 task show|check|sandbox`.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_RESOURCES_DIR " + shell_quote(T2_CLI) + " " + args);
}

json parse(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r.out;
    return json::object();
  }
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const fs::path kShipped = fs::path(T2_SOURCE_DIR) / "resources" / "demo" / "tasks";

TEST(CliDemo, InfoJsonListsShippedSpecs) {
  const json j = parse(t2("demo info --json"));
  ASSERT_TRUE(j["model"].is_string()) << j.dump();
  EXPECT_EQ(fs::path(j["model"].get<std::string>()),
            (fs::path(T2_SOURCE_DIR) / "resources" / "demo" / "model").lexically_normal());
  EXPECT_EQ(j["model_present"],
            fs::exists(fs::path(T2_SOURCE_DIR) / "resources" / "demo" / "model" / "config.json"));
  ASSERT_EQ(j["training_tasks"].size(), 3u);
  ASSERT_EQ(j["unseen_tasks"].size(), 4u);
  ASSERT_TRUE(j["experts"].is_array());
  for (const auto& e : j["experts"]) EXPECT_TRUE(e["present"].get<bool>()) << e.dump();
  for (const auto& key : {"training_tasks", "unseen_tasks"})
    for (const auto& spec : j[key]) EXPECT_TRUE(fs::exists(spec.get<std::string>())) << spec;
  const auto text = t2("demo info");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("math/task.json"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("experts:"), std::string::npos) << text.out;
}

TEST(CliDemo, BuildIsReproducible) {
  const fs::path base = fs::path(T2_TEST_OUTPUT_DIR) / "cli-demo";
  fs::remove_all(base);
  const std::string sizes =
      " --seed 5 --train 30 --validation 5 --test 10 --unseen-test 10 --unseen-pretrain 20";
  for (const char* name : {"one", "two"}) {
    const auto r = t2("demo build --out " + shell_quote((base / name).string()) + sizes);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote 32 files"), std::string::npos) << r.out;
  }
  int compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(base / "one")) {
    if (!e.is_regular_file()) continue;
    const auto rel = fs::relative(e.path(), base / "one");
    EXPECT_EQ(slurp(e.path()), slurp(base / "two" / rel)) << rel;
    ++compared;
  }
  EXPECT_EQ(compared, 32);
  // --train 0 is outside the option's range: bad usage (2), and nothing is written.
  const auto zero = t2("demo build --out " + shell_quote((base / "x").string()) + " --train 0");
  EXPECT_EQ(zero.exit_code, 2) << zero.err;
  EXPECT_TRUE(zero.err.find("--train") != std::string::npos) << zero.err;
  EXPECT_FALSE(fs::exists(base / "x"));
}

TEST(CliTask, ShowPrintsPromptsAndGold) {
  const std::string spec = (kShipped / "reasoning" / "task.json").string();
  if (!fs::exists(spec)) GTEST_SKIP() << "no demo suite; run 't2 demo build'";
  const json j = parse(t2("task show " + shell_quote(spec) + " --limit 2 --json"));
  EXPECT_EQ(j["spec"]["kind"], "generic");  // options inline: "green (C)" lines
  ASSERT_EQ(j["items"].size(), 2u);
  const auto& item = j["items"][0];
  EXPECT_EQ(item["messages"][0]["role"], "user");
  const std::string content = item["messages"][0]["content"];
  EXPECT_NE(content.find(" (A)"), std::string::npos) << content;
  EXPECT_NE(content.find(" (D)"), std::string::npos) << content;
  EXPECT_EQ(item["gold"].get<std::string>().size(), 1u);
  const auto text = t2("task show " + shell_quote(spec) + " --limit 1 --split train");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("[gold] "), std::string::npos) << text.out;
}

TEST(CliTask, CheckJudgesOneOutput) {
  const std::string spec = (kShipped / "reasoning" / "task.json").string();
  if (!fs::exists(spec)) GTEST_SKIP() << "no demo suite; run 't2 demo build'";
  const json shown = parse(t2("task show " + shell_quote(spec) + " --limit 1 --json"));
  const std::string gold = shown["items"][0]["gold"];
  const json right = parse(t2("task check " + shell_quote(spec) + " --json --output " +
                              shell_quote("The answer is (" + gold + ")")));
  EXPECT_EQ(right["correct"], true) << right.dump();
  EXPECT_EQ(right["reward"], 1.0);
  const json none = parse(t2("task check " + shell_quote(spec) + " --json --output 'no idea'"));
  EXPECT_EQ(none["found"], false);
  EXPECT_EQ(none["reward"], -1.0);
  const auto missing = t2("task check /nonexistent/task.json --output x");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/task.json"), std::string::npos) << missing.err;
}

TEST(CliTask, SandboxReportsProtections) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is missing";
  const json j = parse(t2("task sandbox --json"));
  EXPECT_EQ(j["trial"]["status"], "passed") << j.dump();
  EXPECT_EQ(j["trial"]["stdout"], "sandbox ok\n");
  EXPECT_TRUE(j["support"]["net_namespace"].is_boolean());
  EXPECT_FALSE(j["trial"]["protections"].empty());
}

}  // namespace
