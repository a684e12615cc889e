// End-to-end tests of `t2 runs ...` on a workspace filled by tests/tools/store_crash_writer.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A fresh folder with w.db holding: 1 alpha (train-expert, finished, tags math+svf, metrics loss
// and reward at steps 0..4, an expert file alpha.expert), 2 beta (eval, failed, metrics loss
// and "acc, top-1" at steps 0 and 10, one evaluation 1/2), 3 and 4 both named dup (cem).
class CliRuns : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(T2_TEST_OUTPUT_DIR) / "cli-runs" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "w.db").string();
    const auto r = run_process(shell_quote(T2_STORE_WRITER) + " fill " + shell_quote(db_));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out, "filled 4\n");
  }
  ProcessResult t2(const std::string& args) {
    return run_process(shell_quote(T2_CLI) + " --db " + shell_quote(db_) + " " + args);
  }
  json t2_json(const std::string& args) {
    const auto r = t2(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
      return {};
    }
  }
  std::vector<int> ids(const std::string& args) {
    std::vector<int> out;
    for (const auto& run : t2_json(args)) out.push_back(run["id"].get<int>());
    return out;
  }
  std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
  std::string db_;
};

TEST_F(CliRuns, ListAsTableAndJsonWithFilters) {
  const auto table = t2("runs list");
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "ID  STATUS")) << table.out;
  EXPECT_TRUE(contains(table.out, "alpha")) << table.out;
  const auto all = t2_json("runs list --json");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3]["name"], "alpha");  // newest first
  EXPECT_EQ(all[3]["status"], "finished");
  EXPECT_EQ(all[3]["params"]["optimizer"]["name"], "adam");
  EXPECT_EQ(all[3]["tags"], json::array({"math", "svf"}));
  EXPECT_EQ(all[2]["status"], "failed");
  EXPECT_EQ(all[2]["message"], "out of memory");
  // Each t2 process costs ~0.3 s (LibTorch start-up), so filters are combined.
  EXPECT_EQ(ids("runs list --json --tag math --kind eval --status failed"), (std::vector<int>{2}));
  EXPECT_EQ(ids("runs list --json --name u --sort id --limit 1"), (std::vector<int>{3}));
  const auto bad = t2("runs list --status sleeping");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "unknown run status 'sleeping'")) << bad.err;
}

TEST_F(CliRuns, ShowByIdOrUniqueName) {
  const auto doc = t2_json("runs show alpha --json");
  EXPECT_EQ(doc["run"]["id"], 1);
  ASSERT_EQ(doc["metrics"].size(), 2u);
  const auto& loss = doc["metrics"][0];
  EXPECT_EQ(loss["key"], "loss");
  EXPECT_EQ(loss["points"], 5);
  EXPECT_EQ(loss["last"], 0.55);
  EXPECT_EQ(loss["min"], 0.5);
  EXPECT_EQ(loss["min_step"], 3);
  EXPECT_EQ(loss["max"], 1.0);
  EXPECT_EQ(loss["max_step"], 0);
  ASSERT_EQ(doc["artifacts"].size(), 1u);
  EXPECT_EQ(doc["artifacts"][0]["bytes"], 12);  // "expert-bytes"
  EXPECT_EQ(doc["experts"][0]["name"], "alpha-math");
  const auto beta = t2_json("runs show 2 --json");
  EXPECT_EQ(beta["evaluations"][0]["correct"], 1);
  EXPECT_EQ(beta["evaluations"][0]["accuracy"], 0.5);
  const auto text = t2("runs show 2");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_TRUE(contains(text.out, "run 2: beta (eval)")) << text.out;
  EXPECT_TRUE(contains(text.out, "gsm8k / base: 1/2 = 50.0 %")) << text.out;
  const auto dup = t2("runs show dup");
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_TRUE(contains(dup.err, "several runs are named 'dup' (ids 3, 4)")) << dup.err;
  EXPECT_EQ(t2("runs show 99").exit_code, 1);
}

TEST_F(CliRuns, ExportCsvAndJson) {
  const auto csv = (dir_ / "m.csv").string(), js = (dir_ / "m.json").string();
  const auto r = t2("runs export 1 beta --csv " + shell_quote(csv) + " --json " + shell_quote(js));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(csv),
            "run,step,key,value\r\n"
            "1,0,loss,1\r\n1,1,loss,0.8\r\n1,2,loss,0.6\r\n1,3,loss,0.5\r\n1,4,loss,0.55\r\n"
            "1,0,reward,0\r\n1,1,reward,0.1\r\n1,2,reward,0.2\r\n"
            "1,3,reward,0.30000000000000004\r\n1,4,reward,0.4\r\n"
            "2,0,\"acc, top-1\",0.25\r\n2,10,\"acc, top-1\",0.5\r\n"
            "2,0,loss,2\r\n2,10,loss,1.5\r\n");
  const auto doc = json::parse(slurp(js));
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][1]["name"], "beta");
  EXPECT_EQ(doc["runs"][1]["metrics"]["acc, top-1"]["step"], json::array({0, 10}));
  EXPECT_EQ(doc["runs"][1]["metrics"]["acc, top-1"]["value"], json::array({0.25, 0.5}));
  const auto to_stdout = t2("runs export 2 --csv -");
  EXPECT_EQ(to_stdout.exit_code, 0);
  EXPECT_EQ(to_stdout.out.rfind("run,step,key,value\r\n2,0,", 0), 0u) << to_stdout.out;
  const auto nothing = t2("runs export 1");
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_TRUE(contains(nothing.err, "--csv FILE")) << nothing.err;
  const auto unknown = t2("runs export 1 99 --csv " + shell_quote((dir_ / "x.csv").string()));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_ / "x.csv"));
}

TEST_F(CliRuns, DiffShowsOnlyDifferingParams) {
  const auto text = t2("runs diff alpha beta");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "PARAM  run 1 (alpha)  run 2 (beta)\n"
            "lr     0.001          0.002\n"
            "seed   (absent)       7\n"
            "steps  100            (absent)\n");
  const auto doc = t2_json("runs diff 1 2 --json");
  EXPECT_EQ(doc["runs"], json::array({1, 2}));
  ASSERT_EQ(doc["differences"].size(), 3u);
  EXPECT_EQ(doc["differences"][1]["key"], "seed");
  EXPECT_EQ(doc["differences"][1]["present"], json::array({false, true}));
  EXPECT_EQ(t2("runs diff 3 4").out, "params are identical\n");
  EXPECT_EQ(t2("runs diff 1").exit_code, 2);  // needs two runs
}

TEST_F(CliRuns, DeleteRowsAndOptionallyFiles) {
  const auto r = t2("runs delete beta");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted run 2 (beta)\n");
  EXPECT_EQ(ids("runs list --json --sort id"), (std::vector<int>{1, 3, 4}));
  EXPECT_TRUE(fs::exists(dir_ / "alpha.expert"));
  const auto f = t2("runs delete 1 --files");
  EXPECT_EQ(f.exit_code, 0) << f.err;
  EXPECT_TRUE(contains(f.out, "removed " + (dir_ / "alpha.expert").string())) << f.out;
  EXPECT_FALSE(fs::exists(dir_ / "alpha.expert"));
  EXPECT_EQ(t2("runs delete 1").exit_code, 1);  // already gone
}

TEST_F(CliRuns, LiveRunIsNotDeletedAndKilledWriterShowsInterrupted) {
  // Start a writer in the background, wait for its first commit, try to delete its run, kill it.
  const std::string script =
      shell_quote(T2_STORE_WRITER) + " crash " + shell_quote(db_) + " > " +
      shell_quote((dir_ / "writer.log").string()) +
      " & pid=$!; "
      "for i in $(seq 100); do grep -q committed " +
      shell_quote((dir_ / "writer.log").string()) + " && break; sleep 0.05; done; " +
      shell_quote(T2_CLI) + " --db " + shell_quote(db_) +
      " runs delete crash-writer; rc=$?; kill -9 $pid; wait $pid 2>/dev/null; exit $rc";
  const auto live = run_process(script);
  EXPECT_EQ(live.exit_code, 1) << live.out << live.err;
  EXPECT_TRUE(contains(live.err, "is still running")) << live.err;
  const auto runs = t2_json("runs list --json --name crash-writer");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "interrupted");
  EXPECT_EQ(t2("runs delete crash-writer").exit_code, 0);
}

TEST_F(CliRuns, DatabaseFromEnvironmentAndMissingDatabase) {
  const auto via_env =
      run_process("T2_DB=" + shell_quote(db_) + " " + shell_quote(T2_CLI) + " runs list --json");
  EXPECT_EQ(via_env.exit_code, 0) << via_env.err;
  EXPECT_EQ(json::parse(via_env.out).size(), 4u);
  const auto missing = (dir_ / "missing.db").string();
  const auto r = run_process(shell_quote(T2_CLI) + " --db " + shell_quote(missing) + " runs list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no workspace database")) << r.err;
  EXPECT_FALSE(fs::exists(missing));
  const auto help = run_process(shell_quote(T2_CLI) + " runs --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* sub : {"list", "show", "export", "delete", "diff"}) {
    EXPECT_TRUE(contains(help.out, sub)) << sub;
  }
  EXPECT_TRUE(contains(run_process(shell_quote(T2_CLI) + " --help").out, "--db"));
}

}  // namespace
