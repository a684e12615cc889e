// The compute self-check: figures consistent with their definitions, progress, cancel, errors.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

namespace {

bool has_cuda(const t2::Engine& engine) { return engine.system_info().devices.size() > 1; }

t2::SelfCheckParams small_params() {
  t2::SelfCheckParams p;
  p.gemm_sizes = {64, 128};
  p.min_seconds_per_size = 0.01;
  p.bandwidth_bytes = 1 << 20;
  return p;
}

t2::ErrorKind error_kind_of(const t2::Engine& engine, const t2::SelfCheckParams& p,
                            std::string* message = nullptr) {
  try {
    engine.self_check(p);
  } catch (const t2::Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "self-check accepted bad params";
  return t2::ErrorKind::Internal;
}

TEST(SelfCheck, FiguresFollowTheirDefinitions) {
  t2::Engine engine;
  const auto report = engine.self_check(small_params());
  EXPECT_EQ(report.device, "cpu");
  ASSERT_EQ(report.gemm.size(), 2u);
  double best = 0.0;
  for (std::size_t i = 0; i < report.gemm.size(); ++i) {
    const auto& g = report.gemm[i];
    EXPECT_EQ(g.n, small_params().gemm_sizes[i]);
    EXPECT_GE(g.repeats, 2);
    EXPECT_GE(g.seconds, 0.01);
    const double expected = 2.0 * std::pow(double(g.n), 3) * g.repeats / g.seconds / 1e9;
    EXPECT_NEAR(g.gflops, expected, 1e-9 * expected);
    best = std::max(best, g.gflops);
  }
  EXPECT_DOUBLE_EQ(report.gemm_gflops, best);
  // float32 GEMM against a double-precision loop: errors of a few ulps, not garbage.
  EXPECT_GT(report.gemm_max_rel_error, 0.0);
  EXPECT_LT(report.gemm_max_rel_error, 1e-5);
  // Positive and finite; no lower bound, since a loaded CI machine can be arbitrarily slow.
  EXPECT_TRUE(std::isfinite(report.copy_bandwidth_gbs) && report.copy_bandwidth_gbs > 0.0);
  EXPECT_TRUE(std::isfinite(report.read_bandwidth_gbs) && report.read_bandwidth_gbs > 0.0);
  EXPECT_GT(report.elapsed_seconds, 0.0);
  EXPECT_EQ(report.system.intra_op_threads, engine.system_info().intra_op_threads);
}

TEST(SelfCheck, ProgressIsMonotoneAndEndsAtOne) {
  t2::Engine engine;
  std::vector<t2::Progress> seen;
  t2::JobContext job([&](const t2::Progress& p) { seen.push_back(p); });
  engine.self_check(small_params(), job);
  ASSERT_GE(seen.size(), 4u);
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_GE(seen[i].fraction, seen[i - 1].fraction) << seen[i].message;
  EXPECT_EQ(seen.front().stage, "verify");
  EXPECT_DOUBLE_EQ(seen.back().fraction, 1.0);
  EXPECT_EQ(seen.back().stage, "bandwidth");
  bool gemm_result_reported = false;
  for (const auto& p : seen)
    if (p.stage == "gemm" && p.message.find("GFLOP/s") != std::string::npos)
      gemm_result_reported = true;
  EXPECT_TRUE(gemm_result_reported);
}

TEST(SelfCheck, CancelStopsALongRunPromptly) {
  t2::Engine engine;
  t2::SelfCheckParams p;
  p.gemm_sizes = {256, 256, 256};
  p.min_seconds_per_size = 30.0;  // would take 90 s without cancel
  t2::CancelToken token;
  t2::JobContext job(
      [&](const t2::Progress& progress) {
        if (progress.stage == "gemm") token.request_cancel();
      },
      token);
  const auto start = std::chrono::steady_clock::now();
  try {
    engine.self_check(p, job);
    FAIL() << "self-check ignored cancel";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Cancelled);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
}

TEST(SelfCheck, BadParamsAreInvalidArgumentsWithAdvice) {
  t2::Engine engine;
  std::string message;
  auto p = small_params();
  p.gemm_sizes = {};
  EXPECT_EQ(error_kind_of(engine, p), t2::ErrorKind::InvalidArgument);
  p.gemm_sizes = {0};
  EXPECT_EQ(error_kind_of(engine, p, &message), t2::ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("1..16384"), std::string::npos) << message;
  p = small_params();
  p.min_seconds_per_size = -1;
  EXPECT_EQ(error_kind_of(engine, p), t2::ErrorKind::InvalidArgument);
  p = small_params();
  p.bandwidth_bytes = 1024;
  EXPECT_EQ(error_kind_of(engine, p, &message), t2::ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("1 MiB"), std::string::npos) << message;
  p = small_params();
  p.device = "tpu";
  EXPECT_EQ(error_kind_of(engine, p, &message), t2::ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("use cpu, cuda or auto"), std::string::npos) << message;
}

TEST(SelfCheck, CudaWithoutCudaIsUnsupportedAndAutoFallsBackToCpu) {
  t2::Engine engine;
  if (has_cuda(engine)) GTEST_SKIP() << "this machine has CUDA";
  auto p = small_params();
  p.device = "cuda";
  std::string message;
  EXPECT_EQ(error_kind_of(engine, p, &message), t2::ErrorKind::Unsupported);
  EXPECT_NE(message.find("use device cpu"), std::string::npos) << message;
  p.device = "auto";
  EXPECT_EQ(engine.self_check(p).device, "cpu");
}

TEST(GpuSelfCheck, MeasuresOnTheGpu) {
  t2::Engine engine;
  if (!has_cuda(engine)) GTEST_SKIP() << "no CUDA device";
  auto p = small_params();
  p.gemm_sizes = {1024, 4096};
  p.bandwidth_bytes = 256 << 20;
  p.device = "cuda";
  const auto report = engine.self_check(p);
  EXPECT_EQ(report.device, "cuda:0");
  ASSERT_EQ(report.gemm.size(), 2u);
  EXPECT_GT(report.gemm_gflops, 0.0);
  EXPECT_LT(report.gemm_max_rel_error, 1e-2);  // TF32 may be on
  EXPECT_GT(report.copy_bandwidth_gbs, 0.0);
  EXPECT_EQ(engine
                .self_check([&] {
                  p.device = "auto";
                  return p;
                }())
                .device,
            "cuda:0");
}

}  // namespace
