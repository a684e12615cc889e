#include <t2/error.h>
#include <t2/job.h>

#include <algorithm>
#include <utility>

namespace t2 {

CancelToken::CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}

void CancelToken::request_cancel() const noexcept { flag_->store(true, std::memory_order_relaxed); }

bool CancelToken::cancel_requested() const noexcept {
  return flag_->load(std::memory_order_relaxed);
}

JobContext::JobContext(ProgressCallback on_progress, CancelToken cancel)
    : on_progress_(std::move(on_progress)), cancel_(std::move(cancel)) {}

void JobContext::report(const std::string& stage, double fraction,
                        const std::string& message) const {
  if (!on_progress_) return;
  Progress p;
  p.stage = stage;
  p.fraction = std::clamp(fraction, 0.0, 1.0);
  p.message = message;
  on_progress_(p);
}

void JobContext::throw_if_cancelled() const {
  if (cancel_requested()) throw Error(ErrorKind::Cancelled, "cancelled by the user");
}

}  // namespace t2
