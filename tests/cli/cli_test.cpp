// End-to-end tests of the `t2` executable: conventions of --help, exit codes, stderr, JSON.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>
#include <thread>

namespace {

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

ProcessResult t2(const std::string& args, const std::string& env = "env -u T2_NUM_THREADS") {
  return run_process(env + " " + shell_quote(T2_CLI) + " " + args);
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

nlohmann::json parse_json(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r.out;
    return {};
  }
}

TEST(CliConventions, HelpListsCommandsOnStdout) {
  auto r = t2("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "Usage")) << r.out;
  EXPECT_TRUE(contains(r.out, "info")) << r.out;
  EXPECT_TRUE(contains(r.out, "--threads")) << r.out;
  EXPECT_EQ(r.err, "");
  auto short_form = t2("-h");
  EXPECT_EQ(short_form.exit_code, 0);
  EXPECT_EQ(short_form.out, r.out);
}

TEST(CliConventions, SubcommandHelp) {
  auto r = t2("info --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "--json")) << r.out;
  EXPECT_TRUE(contains(r.out, "--device")) << r.out;
  EXPECT_TRUE(contains(r.out, "GFLOP/s")) << r.out;
}

TEST(CliConventions, Version) {
  auto r = t2("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "t2 0.")) << r.out;
}

TEST(CliConventions, UsageErrorsGoToStderrWithExitCode2) {
  auto none = t2("");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.out, "");
  EXPECT_TRUE(contains(none.err, "t2 --help")) << none.err;

  auto unknown = t2("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.out, "");
  EXPECT_TRUE(contains(unknown.err, "unknown command 'frobnicate'")) << unknown.err;

  auto after_option = t2("--threads 2 frobnicate");
  EXPECT_TRUE(contains(after_option.err, "unknown command 'frobnicate'")) << after_option.err;

  auto bad_flag = t2("info --no-such-flag");
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_TRUE(contains(bad_flag.err, "--no-such-flag")) << bad_flag.err;

  auto zero_threads = t2("--threads 0 info --no-bench");
  EXPECT_EQ(zero_threads.exit_code, 2);
  EXPECT_TRUE(contains(zero_threads.err, "--threads")) << zero_threads.err;
}

TEST(CliInfo, ThreadsDefaultToAllCores) {
  auto j = parse_json(t2("info --no-bench --json"));
  EXPECT_EQ(j["intra_op_threads"], cores());
  EXPECT_EQ(j["hardware_threads"], cores());
  EXPECT_EQ(j["threads_source"], "default: all cores");
  EXPECT_FALSE(j.contains("self_check"));
}

TEST(CliInfo, ThreadsOverrideByOptionAndEnvironment) {
  EXPECT_EQ(parse_json(t2("--threads 1 info --no-bench --json"))["intra_op_threads"], 1);
  EXPECT_EQ(parse_json(t2("info --threads 1 --no-bench --json"))["intra_op_threads"], 1);
  auto env = parse_json(t2("info --no-bench --json", "env T2_NUM_THREADS=1"));
  EXPECT_EQ(env["intra_op_threads"], 1);
  EXPECT_EQ(env["threads_source"], "T2_NUM_THREADS");
}

TEST(CliInfo, RelaunchesWithPassiveOpenMpWaitAndShortBlasSpin) {
  auto relaunched =
      parse_json(t2("info --no-bench --json",
                    "env -u T2_NUM_THREADS -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT"));
  EXPECT_EQ(relaunched["omp_wait_policy"], "passive");
  EXPECT_EQ(relaunched["openblas_thread_timeout"], "16");
  auto chosen =
      parse_json(t2("info --no-bench --json",
                    "env -u T2_NUM_THREADS -u OPENBLAS_THREAD_TIMEOUT OMP_WAIT_POLICY=active"));
  EXPECT_EQ(chosen["omp_wait_policy"], "active");  // a user's choice is kept
  EXPECT_EQ(chosen["openblas_thread_timeout"], "16");
  auto both =
      parse_json(t2("info --no-bench --json",
                    "env -u T2_NUM_THREADS OMP_WAIT_POLICY=active OPENBLAS_THREAD_TIMEOUT=9"));
  EXPECT_EQ(both["openblas_thread_timeout"], "9");
}

TEST(CliInfo, MalformedEnvironmentIsAnErrorOnStderr) {
  auto r = t2("info --no-bench", "env T2_NUM_THREADS=lots");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "T2_NUM_THREADS='lots'")) << r.err;
  EXPECT_TRUE(contains(r.err, "invalid-argument")) << r.err;
}

TEST(CliInfo, QuickSelfCheckJson) {
  auto j = parse_json(t2("info --quick --json"));
  const auto& sc = j["self_check"];
  EXPECT_EQ(sc["device"], "cpu");
  ASSERT_EQ(sc["gemm"].size(), 2u);
  EXPECT_EQ(sc["gemm"][0]["n"], 256);
  EXPECT_EQ(sc["gemm"][1]["n"], 512);
  EXPECT_GT(sc["gemm_gflops"].get<double>(), 0.0);
  EXPECT_GT(sc["copy_bandwidth_gbs"].get<double>(), 0.0);
  EXPECT_TRUE(j["warnings"].is_array());
}

TEST(CliInfo, TextReport) {
  auto r = t2("info --quick");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "LibTorch")) << r.out;
  EXPECT_TRUE(contains(r.out, "GFLOP/s")) << r.out;
  EXPECT_TRUE(contains(r.out, "GB/s")) << r.out;
}

TEST(CliInfo, BadDeviceIsAnError) {
  auto r = t2("info --quick --device tpu");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "unknown device 'tpu'")) << r.err;
}

// The full default self-check, as `t2 info --json` runs it for a user (a few seconds).
TEST(SlowCliInfo, DefaultSelfCheckOnThisMachine) {
  auto j = parse_json(t2("info --json"));
  EXPECT_EQ(j["intra_op_threads"], cores());
  const auto& sc = j["self_check"];
  ASSERT_EQ(sc["gemm"].size(), 3u);
  EXPECT_EQ(sc["gemm"][2]["n"], 2048);
  EXPECT_LT(sc["gemm_max_rel_error"].get<double>(), 1e-5);
  // The set-up installs an optimised BLAS; the reference one must not be what torch loaded.
  for (const auto& w : j["warnings"])
    EXPECT_FALSE(contains(w.get<std::string>(), "REFERENCE BLAS")) << w;
  std::cout << "[ figures  ] GEMM best " << sc["gemm_gflops"] << " GFLOP/s, copy "
            << sc["copy_bandwidth_gbs"] << " GB/s\n";
}

}  // namespace
