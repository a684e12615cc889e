// The bundled expert library (resources/demo/experts): each shipped expert loads for the shipped
// model and reproduces the test accuracy its report records on the first 50 test items; and
// build_demo_experts trains, evaluates and lists an expert (a two-iteration recipe), its report
// agreeing with an independent evaluation of the expert file it wrote.
#include <t2/engine.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kResources = std::string(T2_SOURCE_DIR) + "/resources";

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// Greedy correct answers of `model_dir` (+ expert file, "" = base) on the first n test items.
std::int64_t correct_on_first(const std::string& model_dir, const std::string& expert_file,
                              const std::string& task_spec, std::size_t n) {
  t2::Session session(t2::Model::load(model_dir));
  std::optional<t2::LoadedExpert> loaded;
  if (!expert_file.empty()) {
    loaded = t2::load_expert_file(model_dir, expert_file);
    t2::apply_expert(session, loaded->decomposition, loaded->expert);
  }
  const auto tok = t2::Tokenizer::from_model_dir(model_dir);
  const auto chat = t2::ChatTemplate::from_model_dir(model_dir);
  t2::EvalParams params;
  params.limit = n;
  const auto report = t2::evaluate(session, tok, &chat, t2::Task::load(task_spec), params);
  EXPECT_EQ(report.n, static_cast<std::int64_t>(n));
  return report.correct;
}

TEST(ModelDemoExperts, ShippedExpertsReproduceTheirRecordedTestAccuracy) {
  const auto info = t2::demo_info(kResources);
  if (!info.model_present) GTEST_SKIP() << "resources/demo/model is not shipped";
  if (info.experts.empty()) GTEST_SKIP() << "no expert library (t2 demo build --experts)";
  ASSERT_EQ(info.experts.size(), 3u);
  for (const auto& e : info.experts) {
    ASSERT_TRUE(e.present) << e.file;
    const json report = read_json(e.report);
    const auto& slice = report.at("test_first_50");
    ASSERT_EQ(slice.at("n").get<int>(), 50) << e.name;
    // The expert's own ledger: better than base on the whole test split.
    EXPECT_GT(report["test"]["expert"]["accuracy"].get<double>(),
              report["test"]["base"]["accuracy"].get<double>())
        << e.name;
    // Recomputed here: greedy decoding on another machine may round a near-tie the other way,
    // so one answer in 50 may differ.
    const auto expert = correct_on_first(info.model_dir, e.file, e.task, 50);
    EXPECT_NEAR(expert, slice.at("expert_correct").get<std::int64_t>(), 1) << e.name;
    const auto base = correct_on_first(info.model_dir, "", e.task, 50);
    EXPECT_NEAR(base, slice.at("base_correct").get<std::int64_t>(), 1) << e.name;
  }
}

TEST(ModelDemoExperts, BuildTrainsEvaluatesAndListsAnExpert) {
  const auto info = t2::demo_info(kResources);
  if (!info.model_present) GTEST_SKIP() << "resources/demo/model is not shipped";
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "demo_experts" / "library";
  fs::remove_all(dir);
  fs::create_directories(dir / "code");
  json recipe = {{"task", "../../../../../resources/demo/tasks/code/task.json"},
                 {"category", "code"},
                 {"preset", "recommended"},
                 {"overrides", {{"iterations", 2}, {"batch", 4}, {"eval_every", 0}, {"seed", 5}}}};
  recipe["task"] = fs::relative(info.training_tasks[1], dir / "code").string();
  std::ofstream(dir / "code" / "recipe.json") << recipe.dump(2);
  t2::DemoExpertsParams params;
  params.resources_dir = kResources;
  params.out_dir = dir.string();
  params.only = {"code"};
  params.db_path = (dir / "runs.db").string();
  const auto built = t2::build_demo_experts(params);
  ASSERT_EQ(built.size(), 1u);
  EXPECT_EQ(built[0].name, "code");
  EXPECT_EQ(built[0].test_items, 300);
  EXPECT_GT(built[0].train_run_id, 0);
  EXPECT_FALSE(fs::exists(dir / "code" / "code.safetensors.partial"));
  // The library lists it; demo_info reads it back from that folder layout.
  const json lib = read_json(dir / "library.json");
  ASSERT_EQ(lib["experts"].size(), 1u);
  EXPECT_EQ(lib["experts"][0]["file"], "code/code.safetensors");
  EXPECT_EQ(fs::path(dir / lib["experts"][0]["task"].get<std::string>()).lexically_normal(),
            fs::path(info.training_tasks[1]).lexically_normal());
  // The report's figures match an independent evaluation of the file it wrote.
  const json report = read_json(dir / "code" / "report.json");
  EXPECT_EQ(report["train"]["iterations"], 2);
  EXPECT_EQ(report["train"]["params"]["seed"], 5);
  EXPECT_EQ(report["test"]["expert"]["n"], 300);
  EXPECT_DOUBLE_EQ(report["test"]["expert"]["accuracy"].get<double>(), built[0].test_accuracy);
  EXPECT_EQ(report["test_first_50"]["expert_correct"].get<std::int64_t>(),
            correct_on_first(info.model_dir, built[0].file, info.training_tasks[1], 50));
  // Both evaluations and the training run are stored.
  t2::RunStore store(params.db_path);
  EXPECT_EQ(store.list_runs().size(), 3u);
  // A bad name is refused before anything runs.
  params.only = {"poetry"};
  EXPECT_THROW(t2::build_demo_experts(params), t2::Error);
}

}  // namespace
