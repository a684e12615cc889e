// HumanEval through the code task kind and the sandbox: the 164 canonical solutions pass, and a
// wrong completion fails. Slow* (about 5-10 s on 2 cores), so it runs under the `slow` label.
#include <t2/tasks.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

class SlowTasksHumanEval : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = fs::path(T2_SHARED_DATA_DIR) / "humaneval" / "HumanEval.jsonl.gz";
    if (!fs::exists(data_))
      GTEST_SKIP() << "HumanEval not found at " << data_
                   << " (HumanEval.jsonl.gz from openai/human-eval, MIT)";
    if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is missing";
    const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "tasks" / "humaneval";
    fs::create_directories(dir);
    spec_ = (dir / "humaneval.json").string();
    std::ofstream(spec_) << R"({"name": "humaneval", "kind": "code", "id_field": "task_id",
        "data": {"test": ")"
                         << data_.string() << R"("},
        "extractor": {"sandbox": {"wall_seconds": 20, "cpu_seconds": 10}}})";
  }

  // Judges `completion(item)` for every item on a few threads; returns the verdicts in order.
  template <typename F>
  std::vector<t2::Verdict> judge_all(const t2::Task& task, const std::vector<t2::TaskItem>& items,
                                     F completion) {
    std::vector<t2::Verdict> verdicts(items.size());
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
      pool.emplace_back([&] {
        for (std::size_t i; (i = next++) < items.size();)
          verdicts[i] = task.judge(completion(items[i]), items[i]);
      });
    for (auto& th : pool) th.join();
    return verdicts;
  }

  fs::path data_;
  std::string spec_;
};

TEST_F(SlowTasksHumanEval, CanonicalSolutionsPassAndWrongOnesFail) {
  const auto task = t2::Task::load(spec_);
  const auto items = task.load_split("test");
  ASSERT_EQ(items.size(), 164u);
  EXPECT_EQ(items[0].id, "HumanEval/0");
  const auto good = judge_all(task, items, [](const t2::TaskItem& i) { return i.gold; });
  int passed = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (good[i].correct)
      ++passed;
    else
      ADD_FAILURE() << items[i].id << ": " << good[i].detail << "\n" << good[i].sandbox.stderr_text;
  }
  EXPECT_EQ(passed, 164);
  const auto bad = judge_all(task, items, [](const t2::TaskItem&) { return "    return None\n"; });
  int failed = 0;
  for (const auto& v : bad) failed += v.correct ? 0 : 1;
  RecordProperty("wrong_completion_failures", failed);
  EXPECT_EQ(failed, 164) << "'return None' fails every HumanEval test (measured)";
}

}  // namespace
