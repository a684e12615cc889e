// End-to-end tests of `t2 train` (label slow: a few seconds each, mostly fsyncs): a SIGKILLed run
// resumes from its latest checkpoint and ends finished with the planned iteration count (an SVF
// and a LoRA run); Ctrl+C
// (SIGINT) exits 130 with the run cancelled and its best expert kept.
#include "process.h"
#include "training_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class SlowCliTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(T2_TEST_OUTPUT_DIR) / "cli-train" / info->name();
    fs::remove_all(dir_);
    // 48 prompts of up to 24 new tokens per iteration: long enough to interrupt mid-run.
    setup_ = t2::test::make_tiny_training((dir_ / "data").string(), 48, 4, 24);
    db_ = (dir_ / "w.db").string();
    out_ = dir_ / "out";
  }
  std::string t2() const { return shell_quote(T2_CLI) + " --db " + shell_quote(db_) + " "; }
  std::string train_args(int iterations) const {
    return "train " + shell_quote(setup_.model_dir) + " --task " + shell_quote(setup_.task) +
           " --iterations " + std::to_string(iterations) +
           " --eval-every 4 --checkpoint-every 2 --quiet --output-dir " +
           shell_quote(out_.string()) + " --cache-dir " + shell_quote((dir_ / "cache").string()) +
           extra_;
  }
  // Starts a training in the background, waits for its first checkpoint, sends `signal`, and
  // prints the exit status.
  ProcessResult interrupt(int iterations, const std::string& signal) {
    const std::string checkpoint = shell_quote((out_ / "checkpoint.safetensors").string());
    return run_process(t2() + train_args(iterations) + " & pid=$!; i=0; while [ ! -f " +
                       checkpoint + " ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; " +
                       "kill -" + signal + " $pid; wait $pid; echo rc=$?");
  }
  json run_json(int id) {
    const auto r = run_process(t2() + "runs export " + std::to_string(id) + " --json -");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out)["runs"][0];
  }
  fs::path dir_, out_;
  std::string db_;
  std::string extra_;  // more `t2 train` options
  t2::test::TinyTraining setup_;
};

TEST_F(SlowCliTrain, ResumesAfterSigkillAndFinishesAtTheIterationCount) {
  const auto killed = interrupt(16, "9");
  ASSERT_NE(killed.out.find("rc=137"), std::string::npos)
      << "the run should still be going when killed: " << killed.out << killed.err;
  const json before = run_json(1);
  EXPECT_EQ(before["status"], "interrupted");  // the writer is gone (marked on open)
  const auto& loss_before = before["metrics"]["loss"]["step"];
  ASSERT_GE(loss_before.size(), 2u);
  EXPECT_LT(loss_before.back().get<int>(), 16);

  const auto resumed = run_process(t2() + "train --resume 1 --json --quiet");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const json report = json::parse(resumed.out);
  EXPECT_EQ(report["run_id"], 1);
  EXPECT_EQ(report["status"], "finished");
  EXPECT_EQ(report["iterations_done"], 16);
  const json after = run_json(1);
  EXPECT_EQ(after["status"], "finished");
  // One loss per iteration 1..16, whichever process logged it.
  const auto& steps = after["metrics"]["loss"]["step"];
  ASSERT_EQ(steps.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(steps[static_cast<std::size_t>(i)], i + 1);
  EXPECT_TRUE(fs::exists(report["best_expert_path"].get<std::string>()));
  // A finished run cannot be resumed again.
  const auto again = run_process(t2() + "train --resume 1 --quiet");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("only an interrupted run can be resumed"), std::string::npos)
      << again.err;
}

TEST_F(SlowCliTrain, LoraRunResumesAfterSigkillAndKeepsItsAdapters) {
  extra_ = " --method lora --lr 0.01 --clip 1 --lora-dropout 0.1";
  const auto killed = interrupt(16, "9");
  ASSERT_NE(killed.out.find("rc=137"), std::string::npos) << killed.out << killed.err;
  const auto resumed = run_process(t2() + "train --resume 1 --json --quiet");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const json report = json::parse(resumed.out);
  EXPECT_EQ(report["status"], "finished");
  EXPECT_EQ(report["iterations_done"], 16);
  EXPECT_EQ(report["best_expert_path"], (out_ / "adapter_best").string());
  const json after = run_json(1);
  EXPECT_EQ(after["params"]["method"], "lora");
  EXPECT_EQ(after["metrics"]["loss"]["step"].size(), 16u);
  for (const char* which : {"adapter_best", "adapter_latest"}) {
    const auto info = run_process(shell_quote(T2_CLI) + " lora info --json " +
                                  shell_quote((out_ / which).string()));
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_EQ(json::parse(info.out)["rank"], 4);
  }
}

TEST_F(SlowCliTrain, CtrlCExits130WithTheRunCancelledAndItsBestExpertKept) {
  const auto stopped = interrupt(16, "INT");
  ASSERT_NE(stopped.out.find("rc=130"), std::string::npos) << stopped.out << stopped.err;
  const json run = run_json(1);
  EXPECT_EQ(run["status"], "cancelled");
  EXPECT_TRUE(fs::exists(out_ / "expert_best.safetensors"));
  const auto info =
      run_process(shell_quote(T2_CLI) + " expert info " +
                  shell_quote((out_ / "expert_best.safetensors").string()) + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("sakana-compat"), std::string::npos) << info.out;
}

// A short run in the unit label: the report, the stored run and its files.
TEST(CliTrain, TrainsAndStoresTheRun) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "cli-train" / "quick";
  fs::remove_all(dir);
  const auto setup = t2::test::make_tiny_training((dir / "data").string());
  const std::string t2 = shell_quote(T2_CLI) + " --db " + shell_quote((dir / "w.db").string());
  const auto r = run_process(t2 + " train " + shell_quote(setup.model_dir) + " --task " +
                             shell_quote(setup.task) +
                             " --preset recommended --iterations 3 --batch 4 --eval-every 2 "
                             "--out " +
                             shell_quote((dir / "e.safetensors").string()) +
                             " --json --cache-dir " + shell_quote((dir / "cache").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report["status"], "finished");
  EXPECT_EQ(report["iterations_done"], 3);
  EXPECT_EQ(report["trainable_parameters"], 192);  // 2 layers x 3 MLP matrices x rank 32
  EXPECT_TRUE(fs::exists(dir / "e.safetensors"));
  // Progress lines on stderr, one per iteration, with the validation accuracy when evaluated.
  EXPECT_NE(r.err.find("iteration 1/3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("iteration 2/3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("val "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ETA"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("training run 1 (files in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("t2 train --resume 1"), std::string::npos) << r.err;
  const auto list = run_process(t2 + " runs list --json");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json runs = json::parse(list.out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["kind"], "train");
  EXPECT_EQ(runs[0]["status"], "finished");
  // A second workspace in the same folder numbers its runs from 1 too, but keeps its files in
  // its own folder: the first workspace's run files stay as they were.
  const fs::path first_best = report["best_expert_path"].get<std::string>();
  EXPECT_EQ(first_best.parent_path(), dir / "w-runs" / "1");
  const std::string first_bytes = read_file(first_best);
  const auto other =
      run_process(shell_quote(T2_CLI) + " --db " + shell_quote((dir / "v.db").string()) +
                  " train " + shell_quote(setup.model_dir) + " --task " + shell_quote(setup.task) +
                  " --preset recommended --iterations 1 --batch 4 --seed 9 --json "
                  "--cache-dir " +
                  shell_quote((dir / "cache").string()));
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const fs::path other_best = json::parse(other.out)["best_expert_path"].get<std::string>();
  EXPECT_EQ(other_best.parent_path(), dir / "v-runs" / "1");
  EXPECT_EQ(read_file(first_best), first_bytes);
  // The trained expert goes into an expert library by its run id (t2 adapt library).
  const std::string lib = (dir / "lib" / "library.json").string();
  const auto added =
      run_process(t2 + " adapt library " + shell_quote(lib) + " --add tiny=run:1 --classifier " +
                  shell_quote(first_best.string()) + " --json");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const json lj = json::parse(added.out);
  ASSERT_EQ(lj["experts"].size(), 1u);
  EXPECT_EQ(lj["experts"][0]["category"], "tiny");
  EXPECT_EQ(fs::path(lj["experts"][0]["file"].get<std::string>()), first_best);
  EXPECT_EQ(lj["classifier"]["file"], first_best.string());
  EXPECT_FALSE(lj["base_fingerprint"].get<std::string>().empty());
  const auto no_run = run_process(t2 + " adapt library " + shell_quote(lib) + " --add x=run:77");
  EXPECT_EQ(no_run.exit_code, 1);
  EXPECT_NE(no_run.err.find("77"), std::string::npos) << no_run.err;
  // An option overrides the preset; an unknown choice is refused with the valid ones.
  const auto bad = run_process(t2 + " train " + shell_quote(setup.model_dir) + " --task " +
                               shell_quote(setup.task) + " --baseline median");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("none, mean, rloo"), std::string::npos) << bad.err;
}

}  // namespace
