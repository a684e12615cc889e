// Progress reporting and cooperative cancellation for long engine calls (self-check, SVD,
// training, generation). Plain C++ so that the GUI's job bridge, the CLI and tests share it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace t2 {

struct Progress {
  std::string stage;      // short machine-readable step name, e.g. "gemm"
  double fraction = 0.0;  // overall completion of the job in [0, 1]
  std::string message;    // one human-readable line, e.g. "GEMM 1024^3: 180.2 GFLOP/s"
};

// Called synchronously on the thread that runs the job; must be cheap and must not throw.
using ProgressCallback = std::function<void(const Progress&)>;

// Shared cancellation flag. Copies share the flag; request_cancel() is thread-safe and sticky.
class CancelToken {
 public:
  CancelToken();
  void request_cancel() const noexcept;
  bool cancel_requested() const noexcept;

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// What a long job receives: where to report progress and how to learn it should stop.
// Jobs call throw_if_cancelled() at safe points (between GEMMs, layers, steps); it throws
// t2::Error{Cancelled}, which callers treat as a normal outcome.
class JobContext {
 public:
  JobContext() = default;
  explicit JobContext(ProgressCallback on_progress, CancelToken cancel = CancelToken());

  // Clamps fraction to [0, 1]; a no-op without a callback.
  void report(const std::string& stage, double fraction, const std::string& message = {}) const;
  bool cancel_requested() const noexcept { return cancel_.cancel_requested(); }
  void throw_if_cancelled() const;
  const CancelToken& cancel_token() const noexcept { return cancel_; }

 private:
  ProgressCallback on_progress_;
  CancelToken cancel_;
};

}  // namespace t2
