#include <t2/engine.h>

#include "system_info.h"
#include "torch_guard.h"

#include <cstdlib>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace t2 {
namespace {

// glibc serves blocks above a dynamic threshold (from 128 KiB) with mmap and returns the heap's
// free top beyond 2x that threshold to the system, so the activations of every forward (a few
// hundred KiB to a few MiB each) were mapped, page-faulted and unmapped over and over: a
// demo-model RL iteration spent ~1/4 of its time in page faults. Blocks up to 32 MiB (glibc's
// maximum) now come from the heap, which keeps up to 256 MiB of free memory for reuse. A user's
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ is kept.
void configure_allocator() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 << 20);
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 256 << 20);
  });
#endif
}

}  // namespace

const char* version() noexcept { return T2_VERSION_STRING; }

Engine::Engine(const EngineOptions& options)
    : threads_source_(detail::guarded([&] {
        configure_allocator();
        return detail::configure_threads(options.threads);
      })) {}

SystemInfo Engine::system_info() const {
  return detail::guarded([&] { return detail::collect_system_info(threads_source_); });
}

SelfCheckReport Engine::self_check(const SelfCheckParams& params, const JobContext& job) const {
  return detail::guarded([&] {
    return detail::run_self_check(params, job, detail::collect_system_info(threads_source_));
  });
}

}  // namespace t2
