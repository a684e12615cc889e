// Formatting and diagnosis of self-check reports (torch-free).
#include <t2/self_check.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace t2 {
namespace {

std::string format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

bool looks_like_reference_blas(const std::string& path) {
  // Debian's reference BLAS/LAPACK live in .../blas/ and .../lapack/; optimised ones carry
  // their name (openblas-pthread, atlas, blis, mkl).
  const bool optimised =
      path.find("openblas") != std::string::npos || path.find("atlas") != std::string::npos ||
      path.find("blis") != std::string::npos || path.find("mkl") != std::string::npos;
  const bool reference = path.find("/blas/libblas") != std::string::npos;
  return reference && !optimised;
}

nlohmann::json system_json(const SystemInfo& info) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : info.devices)
    devices.push_back({{"id", d.id}, {"name", d.name}, {"memory_bytes", d.memory_bytes}});
  return {{"t2_version", info.t2_version},
          {"torch_version", info.torch_version},
          {"torch_cuda_build", info.torch_cuda_build},
          {"devices", devices},
          {"hardware_threads", info.hardware_threads},
          {"intra_op_threads", info.intra_op_threads},
          {"inter_op_threads", info.inter_op_threads},
          {"threads_source", info.threads_source},
          {"omp_wait_policy", info.omp_wait_policy},
          {"openblas_thread_timeout", info.openblas_thread_timeout},
          {"blas_libraries", info.blas_libraries}};
}

}  // namespace

std::vector<std::string> diagnose(const SystemInfo& info, const std::vector<GemmMeasurement>& gemm,
                                  const std::string& device) {
  std::vector<std::string> warnings;
  if (info.hardware_threads > 0 && info.intra_op_threads < info.hardware_threads)
    warnings.push_back("torch uses " + std::to_string(info.intra_op_threads) +
                       " intra-op thread(s) on a machine with " +
                       std::to_string(info.hardware_threads) +
                       " cores; unset T2_NUM_THREADS / --threads to use all cores");
  std::string policy = info.omp_wait_policy;
  for (auto& c : policy) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (info.intra_op_threads > 1 && policy != "passive")
    warnings.push_back(
        "OpenMP threads spin-wait (OMP_WAIT_POLICY=" +
        (info.omp_wait_policy.empty() ? std::string("unset") : info.omp_wait_policy) +
        ") and take the cores OpenBLAS needs (up to ~3x slower); start T2 Workbench "
        "through t2 / t2-workbench, which set it, or export OMP_WAIT_POLICY=passive");
  for (const auto& lib : info.blas_libraries)
    if (looks_like_reference_blas(lib))
      warnings.push_back("REFERENCE BLAS LOADED (" + lib +
                         "): matrix work runs ~30x slower. Fix: sudo apt-get install "
                         "libopenblas0-pthread (or select it with update-alternatives)");
  double best = 0.0;
  for (const auto& g : gemm) best = std::max(best, g.gflops);
  if (device == "cpu" && !gemm.empty() && best < kReferenceBlasGflops)
    warnings.push_back("GEMM reaches only " + format("%.1f", best) +
                       " GFLOP/s, which is reference-BLAS speed; install libopenblas0-pthread "
                       "and check that torch uses all cores");
  return warnings;
}

std::string to_text(const SystemInfo& info) {
  std::ostringstream out;
  out << "T2 Workbench   " << info.t2_version << "\n";
  out << "LibTorch       " << info.torch_version
      << (info.torch_cuda_build ? " (CUDA build)" : " (CPU-only build)") << "\n";
  for (const auto& d : info.devices) {
    out << "Device         " << d.id << ": " << d.name;
    if (d.memory_bytes > 0) out << format(", %.1f GiB", d.memory_bytes / double(1 << 30));
    out << "\n";
  }
  out << "Threads        " << info.intra_op_threads << " intra-op (" << info.threads_source << "), "
      << info.inter_op_threads << " inter-op, " << info.hardware_threads << " hardware threads\n";
  out << "OpenMP wait    " << (info.omp_wait_policy.empty() ? "unset (spin)" : info.omp_wait_policy)
      << "\n";
  out << "OpenBLAS spin  "
      << (info.openblas_thread_timeout.empty() ? "unset (2^28 cycles)"
                                               : "2^" + info.openblas_thread_timeout + " cycles")
      << "\n";
  if (info.blas_libraries.empty()) out << "BLAS           (none loaded)\n";
  for (std::size_t i = 0; i < info.blas_libraries.size(); ++i)
    out << (i == 0 ? "BLAS           " : "               ") << info.blas_libraries[i] << "\n";
  return out.str();
}

std::string to_text(const SelfCheckReport& r) {
  std::ostringstream out;
  out << to_text(r.system);
  out << "\nSelf-check on " << r.device << format(" (%.1f s)", r.elapsed_seconds) << "\n";
  for (const auto& g : r.gemm)
    out << "  GEMM " << g.n << "^3 float32" << std::string(g.n < 1000 ? 3 : 2, ' ')
        << format("%8.1f GFLOP/s", g.gflops) << "  (" << g.repeats << " runs)\n";
  out << "  GEMM best            " << format("%8.1f GFLOP/s", r.gemm_gflops) << "\n";
  out << "  GEMM max rel. error  " << format("%8.1e", r.gemm_max_rel_error)
      << "  (vs naive loop)\n";
  out << "  Memory copy          " << format("%8.1f GB/s", r.copy_bandwidth_gbs) << "\n";
  out << "  Memory read          " << format("%8.1f GB/s", r.read_bandwidth_gbs) << "\n";
  out << "\n";
  if (r.warnings.empty()) out << "Warnings       none\n";
  for (const auto& w : r.warnings) out << "WARNING: " << w << "\n";
  return out.str();
}

std::string to_json(const SystemInfo& info, int indent) { return system_json(info).dump(indent); }

std::string to_json(const SelfCheckReport& r, int indent) {
  nlohmann::json gemm = nlohmann::json::array();
  for (const auto& g : r.gemm)
    gemm.push_back(
        {{"n", g.n}, {"repeats", g.repeats}, {"seconds", g.seconds}, {"gflops", g.gflops}});
  nlohmann::json j = system_json(r.system);
  j["self_check"] = {{"device", r.device},
                     {"gemm", gemm},
                     {"gemm_gflops", r.gemm_gflops},
                     {"gemm_max_rel_error", r.gemm_max_rel_error},
                     {"copy_bandwidth_gbs", r.copy_bandwidth_gbs},
                     {"read_bandwidth_gbs", r.read_bandwidth_gbs},
                     {"elapsed_seconds", r.elapsed_seconds}};
  j["warnings"] = r.warnings;
  return j.dump(indent);
}

}  // namespace t2
