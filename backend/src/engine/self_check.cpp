// The compute self-check: correctness of torch's GEMM against a naive loop, then GEMM throughput
// and memory bandwidth on one device.
#include "system_info.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace t2::detail {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Waits for queued device work (a no-op on the CPU).
void synchronize(const at::Tensor& t) {
  if (t.is_cuda()) (void)t.reshape({-1}).select(0, 0).item<float>();
}

std::string format(const char* fmt, double a, double b = 0.0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

void validate(const SelfCheckParams& p) {
  if (p.gemm_sizes.empty())
    throw Error(ErrorKind::InvalidArgument, "self-check needs at least one GEMM size");
  for (int n : p.gemm_sizes)
    if (n < 1 || n > 16384)
      throw Error(ErrorKind::InvalidArgument,
                  "GEMM size " + std::to_string(n) + " is out of range; use 1..16384");
  if (!(p.min_seconds_per_size >= 0.0 && p.min_seconds_per_size <= 60.0))
    throw Error(ErrorKind::InvalidArgument, "min seconds per size must be within 0..60");
  if (p.bandwidth_bytes < (1 << 20) || p.bandwidth_bytes > (std::int64_t{16} << 30))
    throw Error(ErrorKind::InvalidArgument,
                "bandwidth buffer must be between 1 MiB and 16 GiB; got " +
                    std::to_string(p.bandwidth_bytes) + " bytes");
}

at::Device resolve_device(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "cpu" || (name == "auto" && !cuda)) return at::Device(at::kCPU);
  if (name == "cuda" || name == "auto") {
    if (!cuda)
      throw Error(ErrorKind::Unsupported,
                  "CUDA is not available (CPU-only LibTorch or no GPU visible); use device cpu");
    return at::Device(at::kCUDA, 0);
  }
  throw Error(ErrorKind::InvalidArgument, "unknown device '" + name + "'; use cpu, cuda or auto");
}

// Max relative error of torch's matmul against a naive double-precision loop.
double verify_gemm(const at::Device& device) {
  constexpr int n = 64;
  auto a = at::randn({n, n}, at::kFloat);
  auto b = at::randn({n, n}, at::kFloat);
  auto c = at::matmul(a.to(device), b.to(device)).to(at::kCPU).contiguous();
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  const float* pc = c.data_ptr<float>();
  double max_err = 0.0, max_ref = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double ref = 0.0;
      for (int k = 0; k < n; ++k) ref += double(pa[i * n + k]) * double(pb[k * n + j]);
      max_err = std::max(max_err, std::abs(ref - double(pc[i * n + j])));
      max_ref = std::max(max_ref, std::abs(ref));
    }
  return max_ref > 0.0 ? max_err / max_ref : max_err;
}

// Repeats op until min_seconds have passed (at least twice), checking for cancel in between.
template <class Op>
std::pair<int, double> time_repeated(Op op, const at::Tensor& sync_on, double min_seconds,
                                     const JobContext& job) {
  op();  // warm-up (allocations, thread pool start)
  synchronize(sync_on);
  int repeats = 0;
  const auto start = Clock::now();
  double elapsed = 0.0;
  do {
    job.throw_if_cancelled();
    op();
    synchronize(sync_on);
    ++repeats;
    elapsed = seconds_since(start);
  } while ((elapsed < min_seconds || repeats < 2) && repeats < 100000);
  return {repeats, elapsed};
}

GemmMeasurement measure_gemm(int n, const at::Device& device, double min_seconds,
                             const JobContext& job) {
  auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  auto a = at::randn({n, n}, options);
  auto b = at::randn({n, n}, options);
  auto c = at::empty({n, n}, options);
  auto [repeats, seconds] = time_repeated([&] { at::mm_out(c, a, b); }, c, min_seconds, job);
  GemmMeasurement m;
  m.n = n;
  m.repeats = repeats;
  m.seconds = seconds;
  m.gflops = 2.0 * double(n) * n * n * repeats / std::max(seconds, 1e-12) / 1e9;
  return m;
}

}  // namespace

SelfCheckReport run_self_check(const SelfCheckParams& params, const JobContext& job,
                               SystemInfo system) {
  validate(params);
  const auto device = resolve_device(params.device);
  const auto start = Clock::now();
  SelfCheckReport report;
  report.system = std::move(system);
  report.device = device.is_cuda() ? "cuda:0" : "cpu";

  job.report("verify", 0.0, "checking GEMM results against a naive loop");
  report.gemm_max_rel_error = verify_gemm(device);
  job.throw_if_cancelled();

  const double gemm_share = 0.8;
  const auto sizes = params.gemm_sizes.size();
  for (std::size_t i = 0; i < sizes; ++i) {
    const int n = params.gemm_sizes[i];
    job.report("gemm", 0.02 + gemm_share * double(i) / double(sizes),
               "GEMM " + std::to_string(n) + "^3 float32");
    auto m = measure_gemm(n, device, params.min_seconds_per_size, job);
    report.gemm.push_back(m);
    report.gemm_gflops = std::max(report.gemm_gflops, m.gflops);
    job.report("gemm", 0.02 + gemm_share * double(i + 1) / double(sizes),
               "GEMM " + std::to_string(n) + "^3: " + format("%.1f GFLOP/s", m.gflops));
  }

  job.report("bandwidth", 0.85, "memory bandwidth");
  const auto elements = params.bandwidth_bytes / std::int64_t(sizeof(float));
  const double bytes = double(elements) * sizeof(float);
  auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  auto src = at::ones({elements}, options);
  auto dst = at::empty({elements}, options);
  auto [copies, copy_s] =
      time_repeated([&] { dst.copy_(src); }, dst, params.min_seconds_per_size, job);
  report.copy_bandwidth_gbs = 2.0 * bytes * copies / std::max(copy_s, 1e-12) / 1e9;
  at::Tensor total = at::zeros({}, options);
  auto [reads, read_s] =
      time_repeated([&] { total = src.sum(); }, total, params.min_seconds_per_size, job);
  report.read_bandwidth_gbs = bytes * reads / std::max(read_s, 1e-12) / 1e9;
  job.report("bandwidth", 1.0,
             format("memory: copy %.1f GB/s, read %.1f GB/s", report.copy_bandwidth_gbs,
                    report.read_bandwidth_gbs));

  report.warnings = diagnose(report.system, report.gemm, report.device);
  report.elapsed_seconds = seconds_since(start);
  return report;
}

}  // namespace t2::detail
