// Facts about the process and machine (internal to the engine).
#pragma once

#include <t2/error.h>
#include <t2/job.h>
#include <t2/self_check.h>

#include <string>

namespace t2::detail {

// Resolves the intra-op thread count (option > $T2_NUM_THREADS > all cores), applies it to
// torch, and returns where it came from. Throws InvalidArgument on bad values.
std::string configure_threads(int requested);

SystemInfo collect_system_info(const std::string& threads_source);

SelfCheckReport run_self_check(const SelfCheckParams& params, const JobContext& job,
                               SystemInfo system);

}  // namespace t2::detail
