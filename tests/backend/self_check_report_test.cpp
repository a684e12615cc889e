#include <t2/self_check.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace {

bool any_contains(const std::vector<std::string>& items, const std::string& needle) {
  for (const auto& s : items)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

t2::SystemInfo healthy_system() {
  t2::SystemInfo info;
  info.t2_version = "0.1.0";
  info.torch_version = "1.13.0";
  info.hardware_threads = 2;
  info.intra_op_threads = 2;
  info.inter_op_threads = 1;
  info.threads_source = "default: all cores";
  info.omp_wait_policy = "passive";
  info.blas_libraries = {"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"};
  info.devices = {{"cpu", "Test CPU", 0}, {"cuda:0", "Test GPU", std::int64_t(80) << 30}};
  return info;
}

TEST(Diagnose, HealthyMachineHasNoWarnings) {
  EXPECT_TRUE(t2::diagnose(healthy_system(), {{1024, 10, 0.1, 214.7}}, "cpu").empty());
}

TEST(Diagnose, WarnsLoudlyAboutReferenceBlas) {
  auto info = healthy_system();
  info.blas_libraries = {"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"};
  auto warnings = t2::diagnose(info, {{2048, 2, 3.1, 5.5}}, "cpu");
  ASSERT_EQ(warnings.size(), 2u);  // the library and the speed both give it away
  EXPECT_TRUE(any_contains(warnings, "REFERENCE BLAS"));
  EXPECT_TRUE(any_contains(warnings, "libopenblas0-pthread"));
}

TEST(Diagnose, SlowGemmAloneIsFlaggedOnCpuOnly) {
  auto slow = t2::diagnose(healthy_system(), {{512, 3, 0.1, 9.0}}, "cpu");
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_NE(slow[0].find("9.0 GFLOP/s"), std::string::npos);
  EXPECT_TRUE(t2::diagnose(healthy_system(), {{512, 3, 0.1, 9.0}}, "cuda:0").empty());
}

TEST(Diagnose, WarnsWhenThreadsBelowCores) {
  auto info = healthy_system();
  info.hardware_threads = 8;
  info.intra_op_threads = 1;
  auto warnings = t2::diagnose(info, {}, "cpu");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("1 intra-op thread(s)"), std::string::npos);
  EXPECT_NE(warnings[0].find("8 cores"), std::string::npos);
}

TEST(Diagnose, WarnsWhenOpenMpThreadsSpin) {
  auto info = healthy_system();
  info.omp_wait_policy = "";
  auto warnings = t2::diagnose(info, {}, "cpu");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("OMP_WAIT_POLICY=unset"), std::string::npos) << warnings[0];
  info.omp_wait_policy = "PASSIVE";  // OpenMP accepts either case
  EXPECT_TRUE(t2::diagnose(info, {}, "cpu").empty());
  info.omp_wait_policy = "active";
  info.intra_op_threads = 1;  // one thread: nothing spins against anyone
  info.hardware_threads = 1;
  EXPECT_TRUE(t2::diagnose(info, {}, "cpu").empty());
}

TEST(ReportFormat, JsonRoundTripsEveryField) {
  t2::SelfCheckReport r;
  r.system = healthy_system();
  r.device = "cpu";
  r.gemm = {{512, 40, 0.25, 42.9}, {1024, 8, 0.2, 85.9}};
  r.gemm_gflops = 85.9;
  r.gemm_max_rel_error = 2.5e-7;
  r.copy_bandwidth_gbs = 12.5;
  r.read_bandwidth_gbs = 20.25;
  r.elapsed_seconds = 1.5;
  r.warnings = {"something to fix"};
  auto j = nlohmann::json::parse(t2::to_json(r));
  EXPECT_EQ(j["t2_version"], "0.1.0");
  EXPECT_EQ(j["intra_op_threads"], 2);
  EXPECT_EQ(j["hardware_threads"], 2);
  EXPECT_EQ(j["omp_wait_policy"], "passive");
  EXPECT_EQ(j["devices"].size(), 2u);
  EXPECT_EQ(j["devices"][1]["id"], "cuda:0");
  EXPECT_EQ(j["devices"][1]["memory_bytes"], std::int64_t(80) << 30);
  EXPECT_EQ(j["blas_libraries"][0], r.system.blas_libraries[0]);
  const auto& sc = j["self_check"];
  EXPECT_EQ(sc["device"], "cpu");
  ASSERT_EQ(sc["gemm"].size(), 2u);
  EXPECT_EQ(sc["gemm"][1]["n"], 1024);
  EXPECT_EQ(sc["gemm"][1]["repeats"], 8);
  EXPECT_DOUBLE_EQ(sc["gemm"][1]["gflops"].get<double>(), 85.9);
  EXPECT_DOUBLE_EQ(sc["gemm_gflops"].get<double>(), 85.9);
  EXPECT_DOUBLE_EQ(sc["read_bandwidth_gbs"].get<double>(), 20.25);
  EXPECT_EQ(j["warnings"][0], "something to fix");
}

TEST(ReportFormat, TextNamesTheKeyFigures) {
  t2::SelfCheckReport r;
  r.system = healthy_system();
  r.device = "cpu";
  r.gemm = {{1024, 8, 0.2, 85.94}};
  r.gemm_gflops = 85.94;
  r.copy_bandwidth_gbs = 12.5;
  r.warnings = {"install libopenblas0-pthread"};
  const std::string text = t2::to_text(r);
  EXPECT_NE(text.find("LibTorch       1.13.0 (CPU-only build)"), std::string::npos) << text;
  EXPECT_NE(text.find("2 intra-op (default: all cores)"), std::string::npos) << text;
  EXPECT_NE(text.find("cuda:0: Test GPU, 80.0 GiB"), std::string::npos) << text;
  EXPECT_NE(text.find("85.9 GFLOP/s"), std::string::npos) << text;
  EXPECT_NE(text.find("12.5 GB/s"), std::string::npos) << text;
  EXPECT_NE(text.find("WARNING: install libopenblas0-pthread"), std::string::npos) << text;
}

}  // namespace
