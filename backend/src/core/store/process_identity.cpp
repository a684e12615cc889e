// Process identity and liveness, used to tell crashed runs from running ones.
#include <t2/run_store.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace t2 {
namespace detail::store {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Fields of /proc/PID/stat after the command name (which may contain spaces and parentheses):
// state is field 3, starttime field 22. Returns false when the process does not exist.
bool read_proc_stat(std::int64_t pid, char* state, std::string* start_ticks) {
  const std::string line = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  const auto close = line.rfind(')');
  if (line.empty() || close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  rest >> *state;
  for (int index = 4; index <= 22 && rest >> field; ++index) {
    if (index == 22) *start_ticks = field;
  }
  return true;
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

std::string start_token(std::int64_t pid) {
  char state = '?';
  std::string ticks;
  const std::string boot = read_first_line("/proc/sys/kernel/random/boot_id");
  if (boot.empty() || !read_proc_stat(pid, &state, &ticks) || ticks.empty()) return {};
  return boot + ":" + ticks;
}

}  // namespace detail::store

ProcessIdentity current_process_identity() {
  ProcessIdentity identity;
  identity.pid = static_cast<std::int64_t>(::getpid());
  identity.host = detail::store::host_name();
  identity.start_token = detail::store::start_token(identity.pid);
  return identity;
}

Liveness process_liveness(const ProcessIdentity& identity) {
  using namespace detail::store;
  if (identity.host != host_name()) return Liveness::Unknown;
  if (identity.pid <= 0) return Liveness::Dead;
  char state = '?';
  std::string ticks;
  if (read_proc_stat(identity.pid, &state, &ticks)) {
    if (state == 'Z' || state == 'X') return Liveness::Dead;   // exited, not yet reaped
    if (identity.start_token.empty()) return Liveness::Alive;  // cannot tell reuse; be safe
    return start_token(identity.pid) == identity.start_token ? Liveness::Alive : Liveness::Dead;
  }
  // No /proc entry: either the process is gone or /proc is unavailable (not Linux).
  if (::kill(static_cast<pid_t>(identity.pid), 0) == 0 || errno == EPERM) {
    return identity.start_token.empty() ? Liveness::Alive : Liveness::Dead;
  }
  return Liveness::Dead;
}

}  // namespace t2
