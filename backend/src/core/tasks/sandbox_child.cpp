// The child side of the sandbox: namespaces, uid switch, read-only file tree, rlimits, exec.
// Runs after fork() in a possibly multi-threaded parent, so only async-signal-safe calls and
// data prepared before fork() are used here (no allocation, no stdio, no exceptions).
#include "core/tasks/sandbox_child.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace t2::detail::sandbox {

const char* stage_name(std::int32_t stage) noexcept {
  switch (stage) {
    case kStageUnshare:
      return "unshare";
    case kStageSetgroupsFile:
      return "write /proc/self/setgroups";
    case kStageUidMap:
      return "write uid_map";
    case kStageGidMap:
      return "write gid_map";
    case kStageChown:
      return "chown work dir";
    case kStageFork:
      return "fork";
    case kStageMountPrivate:
      return "make mounts private";
    case kStageMountBind:
      return "bind-mount work dir";
    case kStageMountReadOnly:
      return "make file tree read-only";
    case kStageMountWritable:
      return "make work dir writable";
    case kStageSetgroups:
      return "setgroups";
    case kStageSetgid:
      return "setgid";
    case kStageSetuid:
      return "setuid";
    case kStageNoNewPrivs:
      return "no_new_privs";
    case kStageRlimit:
      return "setrlimit";
    case kStageChdir:
      return "chdir";
    case kStageExec:
      return "execve";
    default:
      return "unknown stage";
  }
}

namespace {  // file-local to this translation unit; t2_core is not a unity build

void send(int fd, std::int32_t type, std::int32_t a, std::int32_t b) {
  Record r;
  r.type = type;
  r.a = a;
  r.b = b;
  ssize_t n;
  do {
    n = ::write(fd, &r, sizeof r);  // 12 bytes < PIPE_BUF: atomic
  } while (n < 0 && errno == EINTR);
}

[[noreturn]] void fail(const ChildPlan& plan, Stage stage) {
  send(plan.report_fd, kRecordFatal, stage, errno);
  ::_exit(127);
}

bool write_file(const char* path, const char* text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const size_t len = std::strlen(text);
  const bool ok = ::write(fd, text, len) == static_cast<ssize_t>(len);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

// Tries the strongest namespace set first, then weaker ones; returns the kNs* mask obtained.
int enter_namespaces(const ChildPlan& plan) {
  if (!plan.namespaces) {
    send(plan.report_fd, kRecordWarning, kStageUnshare, -1);
    return 0;
  }
  struct Attempt {
    int clone_flags;
    int mask;
  };
  const int user = plan.root ? 0 : CLONE_NEWUSER;
  const int user_mask = plan.root ? 0 : kNsUser;
  const Attempt attempts[] = {
      {user | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID, user_mask | kNsNet | kNsMount | kNsPid},
      {user | CLONE_NEWNET | CLONE_NEWNS, user_mask | kNsNet | kNsMount},
      {user | CLONE_NEWNET, user_mask | kNsNet},
  };
  int first_errno = 0;
  for (const Attempt& a : attempts) {
    if (::unshare(a.clone_flags) == 0) {
      if (a.mask != (user_mask | kNsNet | kNsMount | kNsPid))
        send(plan.report_fd, kRecordWarning, kStageUnshare, first_errno);
      return a.mask;
    }
    if (first_errno == 0) first_errno = errno;
  }
  send(plan.report_fd, kRecordWarning, kStageUnshare, first_errno);
  return 0;
}

// Inside a new user namespace: map our own uid/gid (the only mapping an unprivileged process
// may write), so that the interpreter runs unprivileged with a process count of its own.
void map_ids(const ChildPlan& plan) {
  if (!write_file("/proc/self/setgroups", "deny")) fail(plan, kStageSetgroupsFile);
  if (!write_file("/proc/self/uid_map", plan.uid_map)) fail(plan, kStageUidMap);
  if (!write_file("/proc/self/gid_map", plan.gid_map)) fail(plan, kStageGidMap);
}

int mount_setattr_call(const char* path, unsigned flags, std::uint64_t set, std::uint64_t clear) {
#ifdef SYS_mount_setattr
  struct mount_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.attr_clr = clear;
  return static_cast<int>(::syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr));
#else
  (void)path, (void)flags, (void)set, (void)clear;
  errno = ENOSYS;
  return -1;
#endif
}

// In the new mount namespace: everything read-only except a bind mount of the work dir.
bool isolate_files(const ChildPlan& plan) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    send(plan.report_fd, kRecordWarning, kStageMountPrivate, errno);
    return false;
  }
  if (::mount(plan.work_dir, plan.work_dir, nullptr, MS_BIND, nullptr) != 0) {
    send(plan.report_fd, kRecordWarning, kStageMountBind, errno);
    return false;
  }
  if (mount_setattr_call("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0) != 0) {
    send(plan.report_fd, kRecordWarning, kStageMountReadOnly, errno);
    return false;
  }
  if (mount_setattr_call(plan.work_dir, 0, 0, MOUNT_ATTR_RDONLY) != 0)
    fail(plan, kStageMountWritable);
  return true;
}

void set_limit(const ChildPlan& plan, int resource, rlim_t soft, rlim_t hard) {
  struct rlimit rl;
  rl.rlim_cur = soft;
  rl.rlim_max = hard;
  if (::setrlimit(resource, &rl) != 0) fail(plan, kStageRlimit);
}

void apply_limits(const ChildPlan& plan) {
  // SIGXCPU at the soft limit, SIGKILL one second later if the code ignores SIGXCPU.
  set_limit(plan, RLIMIT_CPU, plan.cpu_seconds, plan.cpu_seconds + 1);
  set_limit(plan, RLIMIT_AS, plan.memory_bytes, plan.memory_bytes);
  set_limit(plan, RLIMIT_FSIZE, plan.file_bytes, plan.file_bytes);
  set_limit(plan, RLIMIT_NOFILE, plan.max_open_files, plan.max_open_files);
  set_limit(plan, RLIMIT_CORE, 0, 0);
  set_limit(plan, RLIMIT_NPROC, plan.max_processes, plan.max_processes);
}

// Drops privileges, applies the limits and becomes the interpreter.
[[noreturn]] void exec_interpreter(const ChildPlan& plan, std::uint32_t uid) {
  if (plan.root) {
    // Raw system calls: glibc's wrappers synchronise credentials across threads, which a
    // child forked from a multi-threaded parent must not rely on.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) fail(plan, kStageSetgroups);
    if (::syscall(SYS_setgid, uid) != 0) fail(plan, kStageSetgid);
    if (::syscall(SYS_setuid, uid) != 0) fail(plan, kStageSetuid);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(plan, kStageNoNewPrivs);
  if (::chdir(plan.work_dir) != 0) fail(plan, kStageChdir);
  apply_limits(plan);
  ::execve(plan.interpreter, plan.argv, plan.envp);
  fail(plan, kStageExec);
}

// Waits for `pid`, retrying on EINTR; returns false if it cannot be waited for.
bool wait_for(pid_t pid, int& status, rusage& usage) {
  pid_t r;
  do {
    r = ::wait4(pid, &status, 0, &usage);
  } while (r < 0 && errno == EINTR);
  return r == pid;
}

// PID 1 of the new PID namespace: starts the interpreter as PID 2 (so that SIGXCPU reaches it;
// PID 1 ignores signals it has no handler for), reports its status and CPU time, and exits,
// upon which the kernel kills every process left in the namespace.
[[noreturn]] void namespace_init(const ChildPlan& plan, std::uint32_t uid) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // dies with the waiter outside
  const pid_t pid = ::fork();
  if (pid < 0) fail(plan, kStageFork);
  if (pid == 0) exec_interpreter(plan, uid);
  ::close(STDIN_FILENO);
  ::close(STDOUT_FILENO);
  ::close(STDERR_FILENO);
  int status = 0;
  rusage usage{};
  if (wait_for(pid, status, usage)) {
    const long ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000L +
                    (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000L;
    send(plan.report_fd, kRecordChildStatus, status, static_cast<std::int32_t>(ms));
  }
  ::_exit(0);
}

}  // namespace

void run_child(const ChildPlan& plan) {
  ::setsid();  // own session and process group: the parent kills the whole group
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.stderr_fd, STDERR_FILENO) < 0)
    fail(plan, kStageExec);
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // nothing of the parent leaks past exec
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  const std::uint32_t uid = plan.uid_base + static_cast<std::uint32_t>(::getpid());
  if (plan.root) {
    if (::chown(plan.work_dir, uid, uid) != 0 || ::chown(plan.script_path, uid, uid) != 0)
      fail(plan, kStageChown);
    send(plan.report_fd, kRecordUid, static_cast<std::int32_t>(uid), 0);
  }
  const int ns_mask = enter_namespaces(plan);
  send(plan.report_fd, kRecordNamespaces, ns_mask, 0);
  if ((ns_mask & kNsUser) != 0) map_ids(plan);
  if ((ns_mask & kNsPid) == 0) {
    if ((ns_mask & kNsMount) != 0 && isolate_files(plan))
      send(plan.report_fd, kRecordMountIsolated, 0, 0);
    exec_interpreter(plan, uid);
  }
  const pid_t init = ::fork();
  if (init < 0) fail(plan, kStageFork);
  if (init == 0) {
    // The mount namespace is shared with the interpreter: make the tree read-only first.
    if ((ns_mask & kNsMount) != 0 && isolate_files(plan))
      send(plan.report_fd, kRecordMountIsolated, 0, 0);
    namespace_init(plan, uid);
  }
  // The waiter outside the namespace: exits when the namespace's init does.
  ::close(STDIN_FILENO);
  ::close(STDOUT_FILENO);
  ::close(STDERR_FILENO);
  int status = 0;
  rusage usage{};
  wait_for(init, status, usage);
  ::_exit(0);
}

}  // namespace t2::detail::sandbox
