#include <t2/engine.h>

#include "system_info.h"
#include "torch_guard.h"

namespace t2 {

const char* version() noexcept { return T2_VERSION_STRING; }

Engine::Engine(const EngineOptions& options)
    : threads_source_(detail::guarded([&] { return detail::configure_threads(options.threads); })) {}

SystemInfo Engine::system_info() const {
  return detail::guarded([&] { return detail::collect_system_info(threads_source_); });
}

SelfCheckReport Engine::self_check(const SelfCheckParams& params, const JobContext& job) const {
  return detail::guarded(
      [&] { return detail::run_self_check(params, job, detail::collect_system_info(threads_source_)); });
}

}  // namespace t2
