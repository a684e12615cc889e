// The parent side of the sandbox: work dir, pipes, fork, output capture with a wall-clock
// deadline, killing the process group, classification of the outcome, clean-up.
#include <t2/sandbox.h>

#include "core/tasks/sandbox_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace t2 {

const char* to_string(SandboxStatus status) noexcept {
  switch (status) {
    case SandboxStatus::Passed:
      return "passed";
    case SandboxStatus::Failed:
      return "failed";
    case SandboxStatus::Timeout:
      return "timeout";
    case SandboxStatus::Memory:
      return "memory";
    case SandboxStatus::Crashed:
      return "crashed";
    case SandboxStatus::SandboxError:
      return "sandbox-error";
  }
  return "unknown";
}

namespace detail::sandbox {

// Root mode runs each sandbox as uid kUidBase + pid of its first child: unused by any account,
// unique among running sandboxes, so RLIMIT_NPROC (counted per user) limits this run alone.
constexpr std::uint32_t kUidBase = 0x40000000u;

using Clock = std::chrono::steady_clock;

std::string errno_text(int err) { return err == 0 ? "unknown" : std::strerror(err); }

std::string mib(std::int64_t bytes) { return std::to_string(bytes >> 20) + "MiB"; }

struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  return {fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Appends what is readable on `fd` to `out` (up to `cap` bytes, the rest counted as dropped).
// Returns false at end of file.
bool drain(int& fd, std::string& out, std::size_t cap, bool& truncated) {
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      const std::size_t room = cap > out.size() ? cap - out.size() : 0;
      out.append(buffer, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) > room) truncated = true;
      continue;
    }
    if (n < 0 && (errno == EINTR)) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    close_fd(fd);
    return false;
  }
}

struct Capture {
  int out_fd = -1;
  int err_fd = -1;
  int report_fd = -1;
  std::string out, err, report;
  bool out_truncated = false, err_truncated = false, report_truncated = false;

  bool open() const { return out_fd >= 0 || err_fd >= 0 || report_fd >= 0; }
  // Polls for up to `ms` and reads what arrived.
  void pump(int ms, std::size_t cap) {
    pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {report_fd, POLLIN, 0}};
    if (::poll(fds, 3, ms) <= 0) return;
    if (out_fd >= 0 && fds[0].revents != 0) drain(out_fd, out, cap, out_truncated);
    if (err_fd >= 0 && fds[1].revents != 0) drain(err_fd, err, cap, err_truncated);
    if (report_fd >= 0 && fds[2].revents != 0) drain(report_fd, report, 1 << 16, report_truncated);
  }
  void close_all() {
    close_fd(out_fd);
    close_fd(err_fd);
    close_fd(report_fd);
  }
};

struct Prepared {
  std::vector<std::string> strings;  // argv then envp storage
  std::vector<char*> argv, envp;
  std::string uid_map, gid_map, work_dir, script_path;
};

Prepared prepare(const SandboxParams& params, const std::string& work_dir,
                 const std::string& script_path) {
  Prepared p;
  p.work_dir = work_dir;
  p.script_path = script_path;
  std::vector<std::string> args = {params.interpreter};
  args.insert(args.end(), params.interpreter_args.begin(), params.interpreter_args.end());
  args.push_back(params.script_name);
  const std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                        "HOME=" + work_dir,
                                        "TMPDIR=" + work_dir,
                                        "LANG=C.UTF-8",
                                        "LC_ALL=C.UTF-8",
                                        "PYTHONHASHSEED=0",
                                        "PYTHONDONTWRITEBYTECODE=1",
                                        "PYTHONIOENCODING=utf-8"};
  p.strings = args;
  p.strings.insert(p.strings.end(), env.begin(), env.end());
  for (std::size_t i = 0; i < p.strings.size(); ++i)
    (i < args.size() ? p.argv : p.envp).push_back(p.strings[i].data());
  p.argv.push_back(nullptr);
  p.envp.push_back(nullptr);
  p.uid_map = std::to_string(::geteuid()) + " " + std::to_string(::geteuid()) + " 1\n";
  p.gid_map = std::to_string(::getegid()) + " " + std::to_string(::getegid()) + " 1\n";
  return p;
}

// Creates an empty private directory for one run.
std::string make_work_dir(std::string& error) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "t2-sandbox-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = "cannot create a work dir under " + base.string() + ": " + errno_text(errno) +
            "; set TMPDIR to a writable directory";
    return {};
  }
  return pattern;
}

SandboxResult setup_error(std::string message) {
  SandboxResult r;
  r.status = SandboxStatus::SandboxError;
  r.message = std::move(message);
  return r;
}

struct Outcome {
  int ns_mask = -1;
  bool mount_isolated = false;
  bool fatal = false;
  int fatal_stage = 0, fatal_errno = 0;
  bool have_child_status = false;
  int child_status = 0;
  double child_cpu_seconds = 0.0;
  std::int64_t uid = -1;
  std::vector<std::string> warnings;
};

Outcome parse_report(const std::string& bytes) {
  Outcome o;
  for (std::size_t at = 0; at + sizeof(Record) <= bytes.size(); at += sizeof(Record)) {
    Record r;
    std::memcpy(&r, bytes.data() + at, sizeof r);
    switch (r.type) {
      case kRecordNamespaces:
        o.ns_mask = r.a;
        break;
      case kRecordMountIsolated:
        o.mount_isolated = true;
        break;
      case kRecordUid:
        o.uid = static_cast<std::uint32_t>(r.a);
        break;
      case kRecordChildStatus:
        o.have_child_status = true;
        o.child_status = r.a;
        o.child_cpu_seconds = r.b / 1000.0;
        break;
      case kRecordWarning:
        o.warnings.push_back(std::string(stage_name(r.a)) + ": " +
                             (r.b < 0 ? "disabled (use_namespaces = false)" : errno_text(r.b)));
        break;
      case kRecordFatal:
        o.fatal = true;
        o.fatal_stage = r.a;
        o.fatal_errno = r.b;
        break;
      default:
        break;
    }
  }
  return o;
}

void describe_protections(const SandboxParams& params, const Outcome& o, SandboxResult& r) {
  const auto& l = params.limits;
  char wall[32];
  std::snprintf(wall, sizeof wall, "wall-timeout=%gs", l.wall_seconds);
  r.protections = {"setsid+killpg",
                   wall,
                   "rlimit-cpu=" + std::to_string(l.cpu_seconds) + "s",
                   "rlimit-as=" + mib(l.memory_bytes),
                   "rlimit-fsize=" + mib(l.file_bytes),
                   "rlimit-nproc=" + std::to_string(l.max_processes),
                   "rlimit-nofile=" + std::to_string(l.max_open_files),
                   "rlimit-core=0",
                   "empty-work-dir",
                   "scrubbed-env",
                   "no-new-privs"};
  const std::string why = o.warnings.empty() ? "" : " (" + o.warnings.front() + ")";
  const int mask = o.ns_mask < 0 ? 0 : o.ns_mask;
  auto add = [&](bool active, const std::string& name, const std::string& consequence) {
    if (active)
      r.protections.push_back(name);
    else
      r.missing.push_back(name + why + ": " + consequence);
  };
  add(mask & kNsNet, "net-namespace", "the code can open network connections");
  add(o.mount_isolated, "read-only-file-tree",
      "the code can write wherever its uid may (e.g. /tmp)");
  add(mask & kNsPid, "pid-namespace",
      "processes that leave the process group (setsid) may outlive the run");
  if (o.uid >= 0)
    r.protections.push_back("uid=" + std::to_string(o.uid) + " (fresh per run; root dropped)");
  else
    add(mask & kNsUser, "user-namespace",
        "RLIMIT_NPROC counts all processes of this user, not of this run alone");
}

void classify(const SandboxParams& params, const Outcome& o, bool timed_out, int status,
              SandboxResult& r) {
  if (o.fatal) {
    r.status = SandboxStatus::SandboxError;
    r.message = std::string("sandbox setup failed at ") + stage_name(o.fatal_stage) + ": " +
                errno_text(o.fatal_errno);
    return;
  }
  if (timed_out) {
    r.status = SandboxStatus::Timeout;
    char text[64];
    std::snprintf(text, sizeof text, "killed after the wall-clock limit of %g s",
                  params.limits.wall_seconds);
    r.message = text;
    return;
  }
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    const bool memory_error = r.stderr_text.find("MemoryError") != std::string::npos;
    r.status = r.exit_code == 0 ? SandboxStatus::Passed
               : memory_error   ? SandboxStatus::Memory
                                : SandboxStatus::Failed;
    r.message = "exited with status " + std::to_string(r.exit_code) +
                (memory_error && r.exit_code != 0 ? " (MemoryError)" : "");
    return;
  }
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    // SIGXCPU: the soft CPU limit. The parent sends SIGKILL only after the exit or on a wall
    // timeout, so a SIGKILL near the limit is the kernel's hard RLIMIT_CPU (the code ignored
    // SIGXCPU); accounting is tick-grained, hence the margin.
    const bool cpu = r.signal == SIGXCPU ||
                     (r.signal == SIGKILL && r.cpu_seconds >= 0.9 * params.limits.cpu_seconds);
    r.status = cpu ? SandboxStatus::Timeout : SandboxStatus::Crashed;
    if (!cpu && r.stderr_text.find("MemoryError") != std::string::npos)
      r.status = SandboxStatus::Memory;
    r.message = std::string("killed by signal ") + std::to_string(r.signal) + " (" +
                strsignal(r.signal) + ")" + (cpu ? ": CPU time limit" : "");
    return;
  }
  r.status = SandboxStatus::SandboxError;
  r.message = "the interpreter's status could not be read";
}

// Root mode without a PID namespace: kill whatever still runs as the run's uid.
void kill_uid(std::int64_t uid) {
  if (uid <= 0) return;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::syscall(SYS_setuid, static_cast<uid_t>(uid)) == 0) ::kill(-1, SIGKILL);
    ::_exit(0);
  }
  if (pid > 0) ::waitpid(pid, nullptr, 0);
}

std::string validate(const SandboxParams& params) {
  const auto& l = params.limits;
  if (params.interpreter.empty() || params.interpreter[0] != '/')
    return "interpreter must be an absolute path, got '" + params.interpreter + "'";
  if (::access(params.interpreter.c_str(), X_OK) != 0)
    return "interpreter " + params.interpreter + " is not executable: " + errno_text(errno) +
           "; install python3 (apt-get install python3) or set sandbox.interpreter";
  if (params.script_name.empty() || params.script_name.find('/') != std::string::npos)
    return "script_name must be a plain file name";
  if (!(l.wall_seconds > 0) || l.cpu_seconds < 1 || l.memory_bytes < (32 << 20) ||
      l.file_bytes < 0 || l.max_processes < 1 || l.max_open_files < 16)
    return "sandbox limits out of range (wall > 0 s, cpu >= 1 s, memory >= 32 MiB, "
           "processes >= 1, open files >= 16)";
  return {};
}

}  // namespace detail::sandbox

namespace detail::sandbox {

ChildPlan make_plan(const SandboxParams& params, const Prepared& prepared, int null_fd,
                    const Pipe& out, const Pipe& err, const Pipe& report) {
  ChildPlan plan;
  plan.interpreter = params.interpreter.c_str();
  plan.argv = prepared.argv.data();
  plan.envp = prepared.envp.data();
  plan.work_dir = prepared.work_dir.c_str();
  plan.script_path = prepared.script_path.c_str();
  plan.uid_map = prepared.uid_map.c_str();
  plan.gid_map = prepared.gid_map.c_str();
  plan.root = ::geteuid() == 0;
  plan.namespaces = params.use_namespaces;
  plan.uid_base = kUidBase;
  plan.stdin_fd = null_fd;
  plan.stdout_fd = out.write;
  plan.stderr_fd = err.write;
  plan.report_fd = report.write;
  plan.cpu_seconds = params.limits.cpu_seconds;
  plan.memory_bytes = params.limits.memory_bytes;
  plan.file_bytes = params.limits.file_bytes;
  plan.max_processes = params.limits.max_processes;
  plan.max_open_files = params.limits.max_open_files;
  return plan;
}

// Reads output until the child exits or the wall-clock deadline passes; true on a timeout.
bool supervise(pid_t child, Capture& cap, const SandboxParams& params, Clock::time_point start) {
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(params.limits.wall_seconds));
  for (;;) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    // WNOWAIT: the child stays a zombie, so its pid (= the process group id) cannot be reused
    // before the group has been killed.
    if (::waitid(P_PID, child, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == child)
      return false;
    const auto now = Clock::now();
    if (now >= deadline) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    cap.pump(static_cast<int>(std::min<long long>(20, left.count() + 1)),
             params.limits.max_output_bytes);
  }
}

struct Reaped {
  int status = 0;
  double cpu_seconds = 0.0;
};

// Kills what is left of the group, reaps the child, collects the rest of the output.
Reaped reap(pid_t child, Capture& cap, std::size_t max_out) {
  ::killpg(child, SIGKILL);  // stragglers of the group (all of it on a timeout)
  ::kill(child, SIGKILL);
  Reaped r;
  rusage usage{};
  while (::wait4(child, &r.status, 0, &usage) < 0 && errno == EINTR) {
  }
  r.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                  1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  // Processes that escaped the group (no PID namespace) cannot hold the pipes open for long.
  const auto drain_deadline = Clock::now() + std::chrono::milliseconds(300);
  while (cap.open() && Clock::now() < drain_deadline) cap.pump(20, max_out);
  return r;
}

SandboxResult finish(const SandboxParams& params, Capture& cap, const Reaped& reaped,
                     bool timed_out, Clock::time_point start) {
  const Outcome outcome = parse_report(cap.report);
  if (outcome.uid > 0 && (outcome.ns_mask & kNsPid) == 0) kill_uid(outcome.uid);
  cap.close_all();
  SandboxResult r;
  r.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_seconds = outcome.have_child_status ? outcome.child_cpu_seconds : reaped.cpu_seconds;
  r.stdout_text = std::move(cap.out);
  r.stderr_text = std::move(cap.err);
  r.stdout_truncated = cap.out_truncated;
  r.stderr_truncated = cap.err_truncated;
  describe_protections(params, outcome, r);
  classify(params, outcome, timed_out,
           outcome.have_child_status ? outcome.child_status : reaped.status, r);
  if (r.status != SandboxStatus::SandboxError && params.require_isolation &&
      (!(outcome.ns_mask & kNsNet) || !outcome.mount_isolated)) {
    r.status = SandboxStatus::SandboxError;
    r.message = "isolation required but not available here: " +
                (r.missing.empty() ? std::string("?") : r.missing.front());
  }
  return r;
}

// Forks the child for one run in an existing work dir and supervises it.
SandboxResult run_in(const SandboxParams& params, const std::string& work_dir,
                     const std::string& script) {
  const Prepared prepared = prepare(params, work_dir, script);
  Pipe out = make_pipe(), err = make_pipe(), report = make_pipe();
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out.read < 0 || err.read < 0 || report.read < 0 || null_fd < 0) {
    const int saved = errno;
    for (int fd : {out.read, out.write, err.read, err.write, report.read, report.write, null_fd})
      if (fd >= 0) ::close(fd);
    return setup_error("cannot create pipes: " + errno_text(saved));
  }
  const ChildPlan plan = make_plan(params, prepared, null_fd, out, err, report);
  const auto start = Clock::now();
  const pid_t child = ::fork();
  if (child == 0) run_child(plan);
  const int fork_errno = errno;
  for (int fd : {out.write, err.write, report.write, null_fd}) ::close(fd);
  Capture cap{out.read, err.read, report.read};
  if (child < 0) {
    cap.close_all();
    return setup_error("fork failed: " + errno_text(fork_errno));
  }
  for (int fd : {cap.out_fd, cap.err_fd, cap.report_fd})
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  const bool timed_out = supervise(child, cap, params, start);
  const Reaped reaped = reap(child, cap, params.limits.max_output_bytes);
  return finish(params, cap, reaped, timed_out, start);
}

}  // namespace detail::sandbox

SandboxResult run_sandboxed(const std::string& program, const SandboxParams& params) {
  using namespace detail::sandbox;
  if (auto problem = validate(params); !problem.empty()) return setup_error(problem);
  if (params.require_isolation) {
    const SandboxSupport support = probe_sandbox_support();
    if (!support.net_namespace || !support.mount_namespace)
      return setup_error(
          "isolation required, but this kernel/user cannot create network and "
          "mount namespaces; run where unshare() is allowed or set "
          "require_isolation = false");
  }
  std::string error;
  const std::string work_dir = make_work_dir(error);
  if (work_dir.empty()) return setup_error(error);
  const std::string script = work_dir + "/" + params.script_name;
  SandboxResult result;
  {
    std::ofstream out(script, std::ios::binary);
    out << program;
    out.close();
    result = out ? run_in(params, work_dir, script) : setup_error("cannot write " + script);
  }
  std::error_code ec;
  std::filesystem::remove_all(work_dir, ec);
  if (ec) result.missing.push_back("work dir " + work_dir + " not removed: " + ec.message());
  return result;
}

}  // namespace t2
