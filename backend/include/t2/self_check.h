// Compute self-check: what this machine and LibTorch can do (version, devices, threads, BLAS),
// measured GEMM throughput and memory bandwidth, and warnings about the traps that cost 30x
// (reference BLAS, a single intra-op thread). Plain data; produced by Engine::self_check().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2 {

struct DeviceInfo {
  std::string id;                 // "cpu", "cuda:0", ...
  std::string name;               // CPU model or GPU name
  std::int64_t memory_bytes = 0;  // total device memory; 0 if unknown
};

struct SystemInfo {
  std::string t2_version;               // this program, e.g. "0.1.0"
  std::string torch_version;            // LibTorch headers compiled against, e.g. "1.13.0"
  bool torch_cuda_build = false;        // LibTorch was built with CUDA
  std::vector<DeviceInfo> devices;      // "cpu" first, then usable CUDA devices
  int hardware_threads = 0;             // std::thread::hardware_concurrency()
  int intra_op_threads = 0;             // torch intra-op pool size in effect
  int inter_op_threads = 0;             // torch inter-op pool size
  std::string threads_source;           // "default (all cores)", "T2_NUM_THREADS", "option"
  std::string omp_wait_policy;          // $OMP_WAIT_POLICY; "" = unset (OpenMP threads spin-wait)
  std::string openblas_thread_timeout;  // $OPENBLAS_THREAD_TIMEOUT; "" = unset (spin ~0.1 s)
  std::vector<std::string> blas_libraries;  // BLAS/LAPACK shared objects loaded in this process
};

struct SelfCheckParams {
  std::string device = "cpu";                       // cpu | cuda | auto (cuda if available)
  std::vector<int> gemm_sizes = {512, 1024, 2048};  // square float32 GEMM sizes n (n x n x n)
  double min_seconds_per_size = 0.2;                // time budget per measurement (s), >= 0
  std::int64_t bandwidth_bytes = 256 << 20;  // buffer size for the bandwidth test (bytes), >= 1 MiB
};

struct GemmMeasurement {
  int n = 0;             // matrix size (n x n times n x n)
  int repeats = 0;       // timed repetitions
  double seconds = 0.0;  // total timed seconds
  double gflops = 0.0;   // 2 n^3 repeats / seconds / 1e9
};

struct SelfCheckReport {
  SystemInfo system;
  std::string device;                 // device actually measured, e.g. "cpu" or "cuda:0"
  std::vector<GemmMeasurement> gemm;  // one per requested size, in order
  double gemm_gflops = 0.0;           // best of `gemm`
  double gemm_max_rel_error = 0.0;    // torch matmul vs a naive triple loop (64x64, float32)
  double copy_bandwidth_gbs = 0.0;    // copy: (bytes read + bytes written) / s / 1e9
  double read_bandwidth_gbs = 0.0;    // sum reduction: bytes read / s / 1e9
  double elapsed_seconds = 0.0;       // wall time of the whole self-check
  std::vector<std::string> warnings;  // each says what is wrong and how to fix it
};

// GEMM below this (float32, CPU) means a reference BLAS is in use (OpenBLAS: ~100-200 on 2 cores).
constexpr double kReferenceBlasGflops = 15.0;

// Human-readable multi-line reports (what `t2 info` and the About dialog show).
std::string to_text(const SystemInfo& info);
std::string to_text(const SelfCheckReport& report);
// JSON documents (what `t2 info --json` prints); keys are stable and snake_case.
std::string to_json(const SystemInfo& info, int indent = 2);
std::string to_json(const SelfCheckReport& report, int indent = 2);

// Warnings that follow from the facts alone (threads below cores, reference BLAS loaded, slow
// GEMM). Pure function so that it can be tested without a slow machine.
std::vector<std::string> diagnose(const SystemInfo& info, const std::vector<GemmMeasurement>& gemm,
                                  const std::string& device);

}  // namespace t2
