// The engine facade: the one header that the GUI, the CLI and end-to-end tests call.
//
// Contract for every Engine method:
//  - errors surface as t2::Error (torch, std and allocation errors are translated here), with a
//    message that says what to do next; nothing aborts the process on bad input;
//  - long calls take a JobContext: they report progress through it and stop at the next safe
//    point after cancel is requested, throwing t2::Error{ErrorKind::Cancelled};
//  - no LibTorch, Qt or JSON types appear in this API (plain C++ only), so GUI code compiles fast.
//
// Thread-safety: an Engine may be used from any one thread at a time; long jobs run on a worker
// thread (see ui/job_runner.h). Torch's thread pools are process-global: the last Engine
// constructed decides the intra-op thread count.
#pragma once

#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/chat_template.h>
#include <t2/decomposition.h>
#include <t2/demo_experts.h>
#include <t2/demo_suite.h>
#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/experts.h>
#include <t2/generation_setup.h>
#include <t2/job.h>
#include <t2/lora.h>
#include <t2/model.h>
#include <t2/model_config.h>
#include <t2/pretrain.h>
#include <t2/run_store.h>
#include <t2/safetensors.h>
#include <t2/sandbox.h>
#include <t2/self_check.h>
#include <t2/spectra.h>
#include <t2/strategy.h>
#include <t2/target_set.h>
#include <t2/tasks.h>
#include <t2/text_generation.h>
#include <t2/text_stream.h>
#include <t2/tokenizer.h>
#include <t2/training.h>
#include <t2/two_pass.h>

#include <string>

namespace t2 {

const char* version() noexcept;  // T2 Workbench version, e.g. "0.1.0"

// Two thread pools share the cores, and both spin by default between calls, stealing the cores
// the other needs:
// - torch's intra-op pool (OpenMP): on 2 cores a 0.5B-shaped model prefilled 3.7x and decoded
//   2.7x slower than with OMP_WAIT_POLICY=passive (tests/bench/bench_decode);
// - OpenBLAS's workers spin on sched_yield for 2^28 cycles (~0.1 s) after each call: a demo-model
//   RL iteration spent ~40 % of its time in the kernel until OPENBLAS_THREAD_TIMEOUT=16 (2^16
//   cycles, ~20 us: back-to-back BLAS calls still find the workers awake).
// Both libraries read their variable once, when loaded, so neither can be changed from inside
// the process: this re-executes the current program (same argv) with whichever of
// OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=16 is unset (a user's value is kept).
// Call it before any output or side effect. Returns when nothing was done (both set, or exec
// failed); on success it does not return.
void relaunch_with_runtime_env(char** argv);
// $OMP_WAIT_POLICY as this process saw it; "" when unset (OpenMP's default: spin).
std::string omp_wait_policy();

struct EngineOptions {
  int threads = 0;  // torch intra-op threads; 0 = $T2_NUM_THREADS if set, else all cores
};

class Engine {
 public:
  // Configures torch's thread pool (see EngineOptions). Throws InvalidArgument for a bad
  // thread count or a malformed $T2_NUM_THREADS.
  explicit Engine(const EngineOptions& options = {});

  // Cheap (no measurement): versions, devices, threads, loaded BLAS.
  SystemInfo system_info() const;

  // Measures GEMM throughput and memory bandwidth on params.device; a few seconds with the
  // default params. Progress stages: "verify", "gemm", "bandwidth".
  SelfCheckReport self_check(const SelfCheckParams& params, const JobContext& job = {}) const;

 private:
  std::string threads_source_;
};

}  // namespace t2
