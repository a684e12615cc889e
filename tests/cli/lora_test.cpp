// End-to-end tests of LoRA in the CLI on the tiny training fixture: `t2 train --method lora`
// (report, stored params, adapter folders), `t2 lora info`, `t2 lora merge`, and
// `t2 eval --adapter` giving the same answers as evaluating the merged folder.
#include "process.h"
#include "training_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CliLora : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(T2_TEST_OUTPUT_DIR) / "cli-lora" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    setup_ = t2::test::make_tiny_training((dir_ / "data").string());
    t2_ = shell_quote(T2_CLI) + " --db " + shell_quote((dir_ / "w.db").string()) + " ";
  }
  std::string q(const fs::path& p) const { return shell_quote(p.string()); }
  fs::path dir_;
  std::string t2_;
  t2::test::TinyTraining setup_;
};

TEST_F(CliLora, TrainsInfoMergesAndEvaluatesAnAdapter) {
  const fs::path out = dir_ / "adapter";
  const auto r = run_process(t2_ + "train " + q(setup_.model_dir) + " --task " + q(setup_.task) +
                             " --method lora --objective sft --lora-rank 2 --lora-alpha 6 "
                             "--rslora --iterations 4 --batch 8 --lr 0.05 --clip 1 "
                             "--eval-every 2 --quiet --json --out " +
                             q(out) + " --output-dir " + q(dir_ / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report["status"], "finished");
  EXPECT_EQ(report["trainable_parameters"], 2 * 3 * 2 * (32 + 64));  // layers x MLP x r (in+out)
  EXPECT_EQ(report["best_expert_path"], (dir_ / "run" / "adapter_best").string());
  EXPECT_TRUE(fs::exists(out / "adapter_config.json"));
  EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "adapter_latest" / "adapter_model.safetensors"));

  // The stored run: LoRA params, adapter artifacts, the trainable parameter count as a metric.
  const auto exported = run_process(t2_ + "runs export 1 --json -");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const json run = json::parse(exported.out)["runs"][0];
  const json params =
      run["params"].is_string() ? json::parse(run["params"].get<std::string>()) : run["params"];
  EXPECT_EQ(params["method"], "lora");
  EXPECT_EQ(params["lora_rank"], 2);
  EXPECT_EQ(params["lora_rslora"], true);
  EXPECT_EQ(run["metrics"]["trainable_parameters"]["value"][0], 1152) << run["metrics"].dump();
  const auto show = run_process(t2_ + "runs show 1 --json");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  std::vector<std::string> kinds;
  const json shown = json::parse(show.out);
  for (const auto& art : shown["artifacts"]) kinds.push_back(art["kind"]);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "adapter"), kinds.end()) << show.out;
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "adapter-latest"), kinds.end()) << show.out;

  // lora info.
  const auto info = run_process(t2_ + "lora info " + q(out) + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const json i = json::parse(info.out);
  EXPECT_EQ(i["rank"], 2);
  EXPECT_DOUBLE_EQ(i["alpha"].get<double>(), 6.0);
  EXPECT_NEAR(i["scaling"].get<double>(), 6.0 / std::sqrt(2.0), 1e-12);
  EXPECT_EQ(i["rslora"], true);
  EXPECT_EQ(i["target_modules"], json::parse(R"(["down_proj","gate_proj","up_proj"])"));
  EXPECT_EQ(i["parameters"], 1152);
  const auto text = run_process(t2_ + "lora info " + q(out));
  EXPECT_NE(text.out.find("trainable parameters: 1152"), std::string::npos) << text.out;

  // lora merge, and eval --adapter against eval of the merged folder: the same answers. (The
  // latest adapter: the best one may be the initial, B = 0, on this untrained fixture.)
  const fs::path latest = dir_ / "run" / "adapter_latest";
  const auto merged = run_process(t2_ + "lora merge " + q(setup_.model_dir) + " " + q(latest) +
                                  " --out " + q(dir_ / "merged"));
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.out.find("6 adapted"), std::string::npos) << merged.out;
  const std::string eval_args =
      " --task " + q(setup_.task) + " --split validation --json --items --no-store";
  const auto with_adapter =
      run_process(t2_ + "eval " + q(setup_.model_dir) + eval_args + " --adapter " + q(latest));
  const auto with_merged = run_process(t2_ + "eval " + q(dir_ / "merged") + eval_args);
  const auto base = run_process(t2_ + "eval " + q(setup_.model_dir) + eval_args);
  ASSERT_EQ(with_adapter.exit_code, 0) << with_adapter.err;
  ASSERT_EQ(with_merged.exit_code, 0) << with_merged.err;
  const json a = json::parse(with_adapter.out), m = json::parse(with_merged.out),
             b = json::parse(base.out);
  EXPECT_EQ(a["correct"], m["correct"]);
  ASSERT_EQ(a["items"].size(), m["items"].size());
  bool differs_from_base = false;
  for (std::size_t k = 0; k < a["items"].size(); ++k) {
    EXPECT_EQ(a["items"][k]["output"], m["items"][k]["output"]) << k;
    differs_from_base |= a["items"][k]["output"] != b["items"][k]["output"];
  }
  EXPECT_TRUE(differs_from_base) << "the adapter should change some answer";
  EXPECT_EQ(a["strategy"], "adapter:adapter_latest");

  // --adapter and --expert are exclusive; a broken folder is a clear error.
  const auto both = run_process(t2_ + "eval " + q(setup_.model_dir) + eval_args + " --adapter " +
                                q(out) + " --expert x.safetensors");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  std::ofstream(out / "adapter_config.json") << "{\"peft_type\": \"LORA\", ";
  const auto broken = run_process(t2_ + "lora info " + q(out));
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("adapter_config.json: not valid JSON"), std::string::npos)
      << broken.err;
}

}  // namespace
