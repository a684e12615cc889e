// End-to-end: `t2 pretrain` on a tiny recipe (report, model folder, run in the store, resume)
// and its errors.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_RESOURCES_DIR " + shell_quote(T2_CLI) + " --threads 1 " + args);
}

// A Q/A task and a tiny recipe in `dir`; returns the recipe path.
std::string write_tiny(const std::string& dir, int steps) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/items.jsonl") << R"({"question": "a?", "answer": "x"})"
                                         "\n"
                                      << R"({"question": "b?", "answer": "y"})"
                                         "\n";
  std::ofstream(dir + "/task.json") << R"({"name": "tiny", "kind": "generic",
    "data": {"train": "items.jsonl", "validation": "items.jsonl", "test": "items.jsonl"},
    "generation": {"max_new_tokens": 4}, "extractor": {"kind": "exact"}})";
  std::ofstream(dir + "/recipe.json") << json{
      {"model",
       {{"hidden_size", 16},
        {"layers", 1},
        {"heads", 2},
        {"intermediate_size", 32},
        {"max_position_embeddings", 32}}},
      {"tasks", {{{"spec", "task.json"}, {"validation_items", 2}}}},
      {"steps", steps},
      {"batch_size", 2},
      {"eval_every", 0},
      {"checkpoint_every", 2},
      {"test_items", 2}}.dump();
  return dir + "/recipe.json";
}

TEST(CliPretrain, TrainsWritesALoadableModelAndARunAndResumes) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/cli_pretrain";
  const std::string recipe = write_tiny(dir, 6);
  const std::string db = dir + "/runs.db";
  auto r = t2("--db " + shell_quote(db) + " pretrain --recipe " + shell_quote(recipe) + " --out " +
              shell_quote(dir + "/out") + " --stop-at 4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = json::parse(r.out);
  EXPECT_EQ(report["steps_done"], 4);
  EXPECT_GT(report["run_id"].get<int>(), 0);
  EXPECT_EQ(report["test"]["items"]["tiny"], 2);
  EXPECT_TRUE(fs::exists(dir + "/out/checkpoint/optimizer.pt"));
  EXPECT_TRUE(fs::exists(dir + "/out/report.json"));
  r = t2("inspect " + shell_quote(dir + "/out/model") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["config"]["architecture"], "LlamaForCausalLM");
  r = t2("--db " + shell_quote(db) + " runs list --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"pretrain\""), std::string::npos) << r.out;
  // --resume alone continues in that folder (--out defaults to it).
  r = t2("--db " + shell_quote(db) + " pretrain --resume " + shell_quote(dir + "/out") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["steps_done"], 6);
}

TEST(CliPretrain, DemoBuildWithModelInstallsTheTrainedModelBesideItsRecipe) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/cli_demo_with_model";
  fs::remove_all(dir);
  fs::create_directories(dir + "/model");
  std::ofstream(dir + "/model/recipe.json") << json{
      {"model",
       {{"hidden_size", 16},
        {"layers", 1},
        {"heads", 2},
        {"intermediate_size", 32},
        {"max_position_embeddings", 256}}},
      {"tasks",
       {{{"spec", "../tasks/code/task.json"}, {"validation_items", 2}},
        {{"spec", "../tasks/reasoning/task.json"}, {"validation_items", 2}}}},
      {"steps", 3},
      {"batch_size", 2},
      {"eval_every", 0},
      {"test_items", 10}}.dump();
  const auto r = t2("--db " + shell_quote(dir + "/runs.db") + " demo build --out " +
                    shell_quote(dir + "/tasks") +
                    " --train 20 --validation 4 --test 4 --unseen-test 2 --with-model"
                    " --model-out " +
                    shell_quote(dir + "/model") + " --work " + shell_quote(dir + "/work"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json",
                        "tokenizer_config.json", "recipe.json", "training_report.json"})
    EXPECT_TRUE(fs::exists(dir + "/model/" + f)) << f;
  std::ifstream in(dir + "/model/training_report.json");
  const auto report = json::parse(in);
  EXPECT_EQ(report["steps_done"], 3);
  // The freshly built suite (4 test items per task) was used, not the shipped one (300).
  EXPECT_EQ(report["test"]["items"]["demo-code"], 4);
  EXPECT_EQ(report["test"]["items"]["demo-reasoning"], 4);
}

TEST(CliPretrain, BadRecipeAndConflictingOptionsFailWithAMessage) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/cli_pretrain_bad";
  fs::create_directories(dir);
  std::ofstream(dir + "/bad.json") << R"({"tasks": [{"spec": "t.json"}], "stepz": 4})";
  auto r = t2("--db " + shell_quote(dir + "/runs.db") + " pretrain --recipe " +
              shell_quote(dir + "/bad.json") + " --out " + shell_quote(dir + "/out"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("stepz"), std::string::npos) << r.err;
  r = t2("--db " + shell_quote(dir + "/runs.db") + " pretrain --resume " + shell_quote(dir) +
         " --seed 3 --out " + shell_quote(dir + "/out"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  r = t2("pretrain");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

}  // namespace
