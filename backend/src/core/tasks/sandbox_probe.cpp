// probe_sandbox_support(): which namespaces this kernel lets this user create, probed once per
// process with short-lived children (each tries one unshare() and reports errno).
#include <t2/sandbox.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace t2 {
namespace detail::sandbox {

// 0 when unshare(flags) works in a fresh child, else its errno.
int try_unshare(int flags) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(::unshare(flags) == 0 ? 0 : (errno & 0xff));
  if (pid < 0) return errno;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
}

SandboxSupport probe_once() {
  SandboxSupport s;
  s.running_as_root = ::geteuid() == 0;
  const int user = s.running_as_root ? 0 : CLONE_NEWUSER;
  struct Probe {
    const char* name;
    int flag;
    bool* result;
  };
  const Probe probes[] = {{"user-namespace", CLONE_NEWUSER, &s.user_namespace},
                          {"net-namespace", user | CLONE_NEWNET, &s.net_namespace},
                          {"mount-namespace", user | CLONE_NEWNS, &s.mount_namespace},
                          {"pid-namespace", user | CLONE_NEWPID, &s.pid_namespace}};
  for (const Probe& p : probes) {
    const int err = try_unshare(p.flag);
    *p.result = err == 0;
    s.notes.push_back(
        std::string(p.name) + ": " +
        (err == 0 ? std::string("yes") : "no (" + std::string(std::strerror(err)) + ")"));
  }
  s.notes.push_back(s.running_as_root
                        ? "running as root: each run switches to a fresh unprivileged uid"
                        : "not root: a user namespace gives each run its own process count");
  return s;
}

}  // namespace detail::sandbox

SandboxSupport probe_sandbox_support() {
  static std::once_flag once;
  static SandboxSupport support;
  std::call_once(once, [] { support = detail::sandbox::probe_once(); });
  return support;
}

}  // namespace t2
