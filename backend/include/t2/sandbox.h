// Code-execution sandbox for `code-exec` rewards: runs model-written code in a separate,
// resource-limited process (Linux only) and reports what happened. It never throws for anything
// the code does; only a failure to set the sandbox up gives status SandboxError.
//
// What a run gets (each item is reported in SandboxResult::protections, or in
// SandboxResult::missing where this kernel/user could not provide it):
//  - its own session and process group (setsid); on timeout the whole group is SIGKILLed;
//  - rlimits: CPU seconds, address space, file size, processes, open files, no core files;
//  - a wall-clock timeout; an empty temporary working directory, removed afterwards;
//  - a scrubbed environment (PATH, HOME/TMPDIR = the work dir, LANG, PYTHON* safety vars);
//  - namespaces where allowed: network (no interfaces but a down loopback: no connections),
//    mount (the whole file tree read-only except the work dir), PID (the interpreter is PID 1:
//    when it ends, every process it started is killed by the kernel), user (when not root);
//  - when root: a fresh unprivileged uid per run (so RLIMIT_NPROC, which counts per user,
//    limits this run alone and cannot be bypassed by root); otherwise a new user namespace
//    gives each run its own process count;
//  - PR_SET_NO_NEW_PRIVS.
// Thread-safety: run_sandboxed() may be called from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2 {

struct SandboxLimits {
  double wall_seconds = 10.0;               // wall-clock timeout (s), > 0
  int cpu_seconds = 5;                      // RLIMIT_CPU (s), >= 1
  std::int64_t memory_bytes = 512 << 20;    // RLIMIT_AS (bytes), >= 32 MiB
  std::int64_t file_bytes = 16 << 20;       // RLIMIT_FSIZE (bytes), >= 0
  int max_processes = 32;                   // RLIMIT_NPROC (per run, see above), >= 1
  int max_open_files = 64;                  // RLIMIT_NOFILE, >= 16
  std::size_t max_output_bytes = 64 << 10;  // stdout and stderr kept (each); the rest dropped
};

struct SandboxParams {
  std::string interpreter = "/usr/bin/python3";                    // absolute path
  std::vector<std::string> interpreter_args = {"-I", "-S", "-B"};  // before the script name
  std::string script_name = "main.py";  // file written into the work dir with the program
  SandboxLimits limits;
  bool require_isolation = false;  // true: SandboxError unless net + mount isolation are active
  bool use_namespaces = true;      // false: rlimits, setsid and (root) the uid switch only
};

enum class SandboxStatus {
  Passed,        // exit status 0
  Failed,        // non-zero exit (an assertion, an exception, a refused connection ...)
  Timeout,       // wall-clock timeout or CPU limit (SIGXCPU)
  Memory,        // MemoryError or killed while over the address-space limit
  Crashed,       // killed by another signal (SIGSEGV, SIGABRT ...)
  SandboxError,  // the sandbox itself could not be set up (nothing of the code ran)
};
const char* to_string(SandboxStatus status) noexcept;  // "passed", "failed", "timeout", ...

struct SandboxResult {
  SandboxStatus status = SandboxStatus::SandboxError;
  int exit_code = -1;       // exit status when the interpreter exited, else -1
  int signal = 0;           // terminating signal, else 0
  std::string stdout_text;  // first max_output_bytes of stdout
  std::string stderr_text;  // first max_output_bytes of stderr
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  double wall_seconds = 0.0;
  double cpu_seconds = 0.0;              // user + system of the sandboxed processes reaped
  std::vector<std::string> protections;  // active, e.g. "net-namespace", "rlimit-nproc=32"
  std::vector<std::string> missing;      // wanted but unavailable here, with the reason
  std::string message;                   // one line: what happened (status reason / setup error)
};

// Runs `program` (written to the work dir as params.script_name) with the interpreter.
SandboxResult run_sandboxed(const std::string& program, const SandboxParams& params = {});

// What this machine allows, probed once per process by running a trivial child (cheap:
// ~10 ms). Lines such as "net-namespace: yes" / "user-namespace: no (EPERM)".
struct SandboxSupport {
  bool running_as_root = false;
  bool net_namespace = false;
  bool mount_namespace = false;
  bool pid_namespace = false;
  bool user_namespace = false;
  std::vector<std::string> notes;
};
SandboxSupport probe_sandbox_support();

std::string to_json(const SandboxResult& result, int indent = 2);
std::string to_json(const SandboxSupport& support, int indent = 2);

}  // namespace t2
