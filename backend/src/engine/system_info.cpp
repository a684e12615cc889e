#include "system_info.h"

#include <t2/engine.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>
#if defined(T2_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace t2::detail {
namespace {

int parse_thread_count(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < 1 || value > 1024)
    throw Error(ErrorKind::InvalidArgument,
                what + "='" + text + "' is not a thread count; use an integer from 1 to 1024 " +
                    "(or unset it to use all cores)");
  return static_cast<int>(value);
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "CPU";
}

// BLAS/LAPACK shared objects mapped into this process (Linux /proc/self/maps).
std::vector<std::string> loaded_blas_libraries() {
  std::vector<std::string> libs;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    auto base = path.substr(path.rfind('/') + 1);
    bool blas = base.find("blas") != std::string::npos || base.find("lapack") != std::string::npos;
    if (blas && std::find(libs.begin(), libs.end(), path) == libs.end()) libs.push_back(path);
  }
  return libs;
}

}  // namespace

std::string configure_threads(int requested) {
  int threads = 0;
  std::string source;
  if (requested < 0) {
    throw Error(ErrorKind::InvalidArgument,
                "threads=" + std::to_string(requested) + " is negative; use 0 for all cores");
  } else if (requested > 0) {
    threads = requested;
    source = "option";
  } else if (const char* env = std::getenv("T2_NUM_THREADS"); env != nullptr && *env != '\0') {
    threads = parse_thread_count(env, "T2_NUM_THREADS");
    source = "T2_NUM_THREADS";
  } else {
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    source = "default: all cores";
  }
  at::set_num_threads(threads);
  return source;
}

SystemInfo collect_system_info(const std::string& threads_source) {
  SystemInfo info;
  info.t2_version = t2::version();
  info.torch_version = TORCH_VERSION;
#if defined(T2_WITH_CUDA)
  info.torch_cuda_build = true;
#endif
  info.hardware_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  info.intra_op_threads = at::get_num_threads();
  info.inter_op_threads = at::get_num_interop_threads();
  info.threads_source = threads_source;
  info.omp_wait_policy = omp_wait_policy();
  if (const char* v = std::getenv("OPENBLAS_THREAD_TIMEOUT")) info.openblas_thread_timeout = v;
  info.blas_libraries = loaded_blas_libraries();
  info.devices.push_back({"cpu", cpu_model_name(), 0});
  if (torch::cuda::is_available()) {
    const auto count = static_cast<int>(torch::cuda::device_count());
    for (int i = 0; i < count; ++i) {
      DeviceInfo d{"cuda:" + std::to_string(i), "CUDA device", 0};
#if defined(T2_WITH_CUDA)
      const auto* prop = at::cuda::getDeviceProperties(i);
      d.name = prop->name;
      d.memory_bytes = static_cast<std::int64_t>(prop->totalGlobalMem);
#endif
      info.devices.push_back(d);
    }
  }
  return info;
}

}  // namespace t2::detail
