// Internal: the child side of the sandbox (runs between fork() and execve(), so it uses only
// async-signal-safe calls on data prepared by the parent) and the records it sends back.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace t2::detail::sandbox {

// Namespace flags actually obtained (bitmask in a kNamespaces record).
constexpr int kNsNet = 1;
constexpr int kNsMount = 2;
constexpr int kNsPid = 4;
constexpr int kNsUser = 8;

// Setup steps, named in error/warning records.
enum Stage : std::int32_t {
  kStageUnshare = 1,
  kStageSetgroupsFile,
  kStageUidMap,
  kStageGidMap,
  kStageChown,
  kStageFork,
  kStageMountPrivate,
  kStageMountBind,
  kStageMountReadOnly,
  kStageMountWritable,
  kStageSetgroups,
  kStageSetgid,
  kStageSetuid,
  kStageNoNewPrivs,
  kStageRlimit,
  kStageChdir,
  kStageExec,
};
const char* stage_name(std::int32_t stage) noexcept;

enum RecordType : std::int32_t {
  kRecordNamespaces = 1,     // a = kNs* mask
  kRecordWarning = 2,        // a = stage, b = errno (setup continued without this protection)
  kRecordFatal = 3,          // a = stage, b = errno (nothing ran)
  kRecordChildStatus = 4,    // a = wait status, b = CPU ms of the interpreter (PID-ns mode)
  kRecordUid = 5,            // a = uid the code runs as (root mode)
  kRecordMountIsolated = 6,  // the read-only file tree is in place
};

struct Record {
  std::int32_t type = 0;
  std::int32_t a = 0;
  std::int32_t b = 0;
};

// Everything the child needs, prepared before fork (no allocation after fork).
struct ChildPlan {
  const char* interpreter = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* work_dir = nullptr;
  const char* script_path = nullptr;
  const char* uid_map = nullptr;  // "U U 1\n" (user-namespace mode)
  const char* gid_map = nullptr;  // "G G 1\n"
  bool root = false;              // euid 0: switch to a fresh uid instead of a user namespace
  bool namespaces = true;         // false: skip unshare() (reported as disabled)
  std::uint32_t uid_base = 0;     // root mode: uid = uid_base + pid of the child
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int report_fd = -1;
  int cpu_seconds = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t file_bytes = 0;
  int max_processes = 0;
  int max_open_files = 0;
};

// Runs in the forked child; never returns (execs or _exits).
[[noreturn]] void run_child(const ChildPlan& plan);

}  // namespace t2::detail::sandbox
