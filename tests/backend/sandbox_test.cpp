// The code-execution sandbox: normal runs, and hostile programs (infinite loop, fork bomb, memory
// bomb, writes outside the work dir, network) that must fail cleanly with the right status while
// this test process stays unharmed.
#include <t2/sandbox.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

t2::SandboxParams quick() {
  t2::SandboxParams p;
  p.limits.wall_seconds = 5.0;
  p.limits.cpu_seconds = 1;
  p.limits.memory_bytes = 256 << 20;
  return p;
}

std::string dump(const t2::SandboxResult& r) {
  std::string s = std::string("status=") + t2::to_string(r.status) + " message=" + r.message +
                  " cpu=" + std::to_string(r.cpu_seconds) +
                  " wall=" + std::to_string(r.wall_seconds) + "\nstdout=" + r.stdout_text +
                  "\nstderr=" + r.stderr_text + "\nmissing:";
  for (const auto& m : r.missing) s += " [" + m + "]";
  return s;
}

bool python_available() { return ::access("/usr/bin/python3", X_OK) == 0; }

#define REQUIRE_PYTHON() \
  if (!python_available()) GTEST_SKIP() << "/usr/bin/python3 is missing; apt-get install python3"

// After a hostile run the host must still be able to start processes and run code.
void expect_host_unharmed() {
  const auto r = t2::run_sandboxed("print(6 * 7)\n", quick());
  EXPECT_EQ(r.status, t2::SandboxStatus::Passed) << dump(r);
  EXPECT_EQ(r.stdout_text, "42\n");
}

TEST(Sandbox, PassingProgramCapturesOutput) {
  REQUIRE_PYTHON();
  const auto r =
      t2::run_sandboxed("import sys\nprint('hello')\nprint('err', file=sys.stderr)\n", quick());
  EXPECT_EQ(r.status, t2::SandboxStatus::Passed) << dump(r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "hello\n");
  EXPECT_EQ(r.stderr_text, "err\n");
  EXPECT_GT(r.wall_seconds, 0.0);
  EXPECT_FALSE(r.protections.empty());
}

TEST(Sandbox, FailingAssertionIsFailed) {
  REQUIRE_PYTHON();
  const auto r = t2::run_sandboxed("assert 1 + 1 == 3, 'bad sum'\n", quick());
  EXPECT_EQ(r.status, t2::SandboxStatus::Failed) << dump(r);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.stderr_text, "AssertionError: bad sum")) << r.stderr_text;
  const auto syntax = t2::run_sandboxed("def f(:\n", quick());
  EXPECT_EQ(syntax.status, t2::SandboxStatus::Failed);
  EXPECT_TRUE(has(syntax.stderr_text, "SyntaxError")) << syntax.stderr_text;
}

TEST(Sandbox, InfiniteLoopHitsCpuLimit) {
  REQUIRE_PYTHON();
  const auto r = t2::run_sandboxed("while True:\n    pass\n", quick());
  EXPECT_EQ(r.status, t2::SandboxStatus::Timeout) << dump(r);
  EXPECT_LT(r.wall_seconds, 4.0);
  EXPECT_GE(r.cpu_seconds, 0.5);
  expect_host_unharmed();
}

TEST(Sandbox, SleepingProgramHitsWallClockLimit) {
  REQUIRE_PYTHON();
  auto p = quick();
  p.limits.wall_seconds = 0.5;
  const auto r = t2::run_sandboxed("import time\ntime.sleep(60)\n", p);
  EXPECT_EQ(r.status, t2::SandboxStatus::Timeout) << dump(r);
  EXPECT_LT(r.wall_seconds, 2.0);
  EXPECT_TRUE(has(r.message, "wall-clock")) << r.message;
}

TEST(Sandbox, ForkBombIsContained) {
  REQUIRE_PYTHON();
  auto p = quick();
  p.limits.max_processes = 16;
  p.limits.wall_seconds = 3.0;
  const auto start = std::chrono::steady_clock::now();
  const auto r = t2::run_sandboxed("import os\nwhile True:\n    os.fork()\n", p);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.status, t2::SandboxStatus::Passed) << dump(r);
  EXPECT_NE(r.status, t2::SandboxStatus::SandboxError) << dump(r);
  EXPECT_LT(seconds, 5.0);
  expect_host_unharmed();
}

// RLIMIT_NPROC counts per user: a fork bomb in one run must not starve runs beside it.
TEST(Sandbox, ForkBombDoesNotStarveParallelRuns) {
  REQUIRE_PYTHON();
  auto bomb_params = quick();
  bomb_params.limits.wall_seconds = 1.0;
  std::thread bomb([&] {
    t2::run_sandboxed(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
        "        pass\n",
        bomb_params);
  });
  int passed = 0;
  for (int i = 0; i < 8; ++i)
    passed += t2::run_sandboxed("import os\nos.fork() or print('ok')\n", quick()).status ==
              t2::SandboxStatus::Passed;
  bomb.join();
  EXPECT_EQ(passed, 8);
}

// Uids of all live (not zombie) processes on the machine, from /proc. A killed process may stay
// a zombie until its new parent reaps it; it runs no code.
std::set<long> process_uids() {
  std::set<long> uids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream status(e.path() / "status");
    std::string line;
    long uid = -1;
    bool zombie = false;
    while (std::getline(status, line)) {
      if (line.rfind("State:", 0) == 0) zombie = line.find("Z (zombie)") != std::string::npos;
      if (line.rfind("Uid:", 0) == 0) uid = std::stol(line.substr(4));
    }
    if (uid >= 0 && !zombie) uids.insert(uid);
  }
  return uids;
}

// SIGKILL is delivered asynchronously: give a killed process up to 2 s to be gone.
bool uid_gone(long uid) {
  for (int i = 0; i < 100; ++i) {
    if (process_uids().count(uid) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(Sandbox, EscapedDaemonDiesWithTheRun) {
  REQUIRE_PYTHON();
  const auto r = t2::run_sandboxed(
      "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\n"
      "print('parent done')\n",
      quick());
  EXPECT_EQ(r.status, t2::SandboxStatus::Passed) << dump(r);
  EXPECT_LT(r.wall_seconds, 3.0);
  long uid = -1;
  for (const auto& p : r.protections)
    if (p.rfind("uid=", 0) == 0) uid = std::stol(p.substr(4));
  if (uid < 0) GTEST_SKIP() << "not root: no per-run uid to look for";
  EXPECT_TRUE(uid_gone(uid)) << "a process of the run's uid " << uid << " survived";
}

TEST(Sandbox, MemoryBombReportsMemory) {
  REQUIRE_PYTHON();
  const auto big = t2::run_sandboxed("x = bytearray(8 * 1024**3)\n", quick());
  EXPECT_EQ(big.status, t2::SandboxStatus::Memory) << dump(big);
  const auto grow = t2::run_sandboxed("a = []\nwhile True:\n    a.append(' ' * 2**20)\n", quick());
  EXPECT_EQ(grow.status, t2::SandboxStatus::Memory) << dump(grow);
  expect_host_unharmed();
}

TEST(Sandbox, CrashIsReported) {
  REQUIRE_PYTHON();
  const auto r = t2::run_sandboxed("import ctypes\nctypes.string_at(0)\n", quick());
  EXPECT_EQ(r.status, t2::SandboxStatus::Crashed) << dump(r);
  EXPECT_EQ(r.signal, SIGSEGV);
}

TEST(Sandbox, WorkDirIsPrivateWritableAndRemoved) {
  REQUIRE_PYTHON();
  const auto r = t2::run_sandboxed(
      "import os\nprint(os.getcwd())\nprint(sorted(os.listdir('.')))\n"
      "open('scratch.txt', 'w').write('ok')\nprint(open('scratch.txt').read())\n",
      quick());
  ASSERT_EQ(r.status, t2::SandboxStatus::Passed) << dump(r);
  const std::string cwd = r.stdout_text.substr(0, r.stdout_text.find('\n'));
  EXPECT_TRUE(has(cwd, "t2-sandbox-")) << cwd;
  EXPECT_TRUE(has(r.stdout_text, "['main.py']")) << r.stdout_text;  // empty but for the script
  EXPECT_TRUE(has(r.stdout_text, "\nok\n")) << r.stdout_text;
  EXPECT_FALSE(fs::exists(cwd)) << "work dir left behind: " << cwd;
}

TEST(Sandbox, EnvironmentIsScrubbed) {
  REQUIRE_PYTHON();
  ::setenv("T2_SANDBOX_SECRET", "hunter2", 1);
  const auto r = t2::run_sandboxed(
      "import os\nprint(os.environ.get('T2_SANDBOX_SECRET'))\nprint(os.environ['HOME'] == "
      "os.getcwd())\nprint(os.environ['PATH'])\n",
      quick());
  ::unsetenv("T2_SANDBOX_SECRET");
  ASSERT_EQ(r.status, t2::SandboxStatus::Passed) << dump(r);
  EXPECT_EQ(r.stdout_text, "None\nTrue\n/usr/local/bin:/usr/bin:/bin\n");
}

TEST(Sandbox, OutputIsTruncated) {
  REQUIRE_PYTHON();
  auto p = quick();
  p.limits.max_output_bytes = 1000;
  const auto r = t2::run_sandboxed("print('x' * 200000)\n", p);
  EXPECT_EQ(r.status, t2::SandboxStatus::Passed) << dump(r);
  EXPECT_EQ(r.stdout_text.size(), 1000u);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_FALSE(r.stderr_truncated);
}

TEST(Sandbox, WritesOutsideWorkDirFail) {
  REQUIRE_PYTHON();
  const auto support = t2::probe_sandbox_support();
  const std::string tag = std::to_string(::getpid());
  const std::vector<fs::path> targets = {
      fs::path(T2_TEST_OUTPUT_DIR) / ("sandbox-escape-" + tag + ".txt"),
      fs::path("/tmp") / ("t2-sandbox-escape-" + tag + ".txt"),
      fs::path("/var/tmp") / ("t2-sandbox-escape-" + tag + ".txt")};
  for (const auto& target : targets) {
    fs::remove(target);
    const auto r =
        t2::run_sandboxed("open('" + target.string() + "', 'w').write('escaped')\n", quick());
    if (!support.mount_namespace && target.string().rfind("/tmp", 0) == 0) {
      // Without a mount namespace only the uid switch protects: world-writable /tmp is open.
      ADD_FAILURE() << "no mount namespace here; cannot keep the sandbox out of " << target;
      continue;
    }
    EXPECT_EQ(r.status, t2::SandboxStatus::Failed) << target << "\n" << dump(r);
    EXPECT_TRUE(has(r.stderr_text, "Read-only file system") ||
                has(r.stderr_text, "Permission denied"))
        << r.stderr_text;
    EXPECT_FALSE(fs::exists(target)) << "the sandbox wrote " << target;
    fs::remove(target);
  }
}

// A listening socket on 127.0.0.1 that the sandboxed code tries to reach.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return;
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }
  bool accepted_anything() const {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c >= 0) ::close(c);
    return c >= 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Sandbox, NetworkIsUnreachable) {
  REQUIRE_PYTHON();
  if (!t2::probe_sandbox_support().net_namespace)
    GTEST_SKIP() << "this kernel/user cannot create network namespaces; the sandbox reports "
                    "'net-namespace' under missing";
  Listener listener;
  ASSERT_GT(listener.port(), 0);
  {  // Control: a connection from this process is accepted (so the check below can fail).
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(listener.port()));
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_TRUE(listener.accepted_anything());
    ::close(c);
  }
  const std::string connect_local = "import socket\ns = socket.create_connection(('127.0.0.1', " +
                                    std::to_string(listener.port()) +
                                    "), timeout=2)\nprint('connected')\n";
  const auto local = t2::run_sandboxed(connect_local, quick());
  EXPECT_EQ(local.status, t2::SandboxStatus::Failed) << dump(local);
  EXPECT_FALSE(has(local.stdout_text, "connected"));
  EXPECT_FALSE(listener.accepted_anything()) << "a sandboxed process reached the host";
  const auto outside = t2::run_sandboxed(
      "import socket\ns = socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
      "print('connected')\n",
      quick());
  EXPECT_EQ(outside.status, t2::SandboxStatus::Failed) << dump(outside);
  EXPECT_TRUE(has(outside.stderr_text, "OSError") || has(outside.stderr_text, "unreachable"))
      << outside.stderr_text;
  bool listed = false;
  for (const auto& p : local.protections) listed = listed || p == "net-namespace";
  EXPECT_TRUE(listed);
}

// The fallback where the kernel refuses namespaces (forced here): limits still hold and what is
// missing is reported.
TEST(Sandbox, WithoutNamespacesLimitsHoldAndGapsAreReported) {
  REQUIRE_PYTHON();
  auto p = quick();
  p.use_namespaces = false;
  const auto loop = t2::run_sandboxed("while True:\n    pass\n", p);
  EXPECT_EQ(loop.status, t2::SandboxStatus::Timeout) << dump(loop);
  EXPECT_EQ(loop.signal, SIGXCPU);
  const auto memory = t2::run_sandboxed("x = bytearray(8 * 1024**3)\n", p);
  EXPECT_EQ(memory.status, t2::SandboxStatus::Memory) << dump(memory);
  std::string missing;
  for (const auto& m : loop.missing) missing += m + "\n";
  EXPECT_TRUE(has(missing, "net-namespace") && has(missing, "disabled")) << missing;
  EXPECT_TRUE(has(missing, "read-only-file-tree")) << missing;
  EXPECT_TRUE(has(missing, "pid-namespace")) << missing;
  for (const auto& pr : loop.protections) EXPECT_NE(pr, "net-namespace");
}

// The same fallback as root: the per-run uid lets the parent kill escaped processes and keeps
// the program out of directories that are not its own.
TEST(Sandbox, WithoutNamespacesAsRootThePerRunUidContainsTheProgram) {
  REQUIRE_PYTHON();
  if (::geteuid() != 0)
    GTEST_SKIP() << "not root (euid " << ::geteuid()
                 << "): the sandbox has no per-run uid to switch to, so there is nothing to check";
  auto p = quick();
  p.use_namespaces = false;
  const auto daemon = t2::run_sandboxed(
      "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\n"
      "print('parent done')\n",
      p);
  EXPECT_EQ(daemon.status, t2::SandboxStatus::Passed) << dump(daemon);
  long uid = -1;
  for (const auto& pr : daemon.protections)
    if (pr.rfind("uid=", 0) == 0) uid = std::stol(pr.substr(4));
  ASSERT_GT(uid, 0) << dump(daemon);
  EXPECT_TRUE(uid_gone(uid)) << "a process of the run's uid " << uid << " survived";
  const auto write = t2::run_sandboxed(
      "open('" + (fs::path(T2_TEST_OUTPUT_DIR) / "no-ns-escape.txt").string() + "', 'w')\n", p);
  EXPECT_EQ(write.status, t2::SandboxStatus::Failed) << dump(write);  // not the run's uid's dir
  EXPECT_TRUE(has(write.stderr_text, "Permission denied")) << write.stderr_text;
}

TEST(Sandbox, BadParamsAreSandboxErrors) {
  t2::SandboxParams p;
  p.interpreter = "python3";
  EXPECT_EQ(t2::run_sandboxed("print(1)", p).status, t2::SandboxStatus::SandboxError);
  p.interpreter = "/nonexistent/python";
  const auto r = t2::run_sandboxed("print(1)", p);
  EXPECT_EQ(r.status, t2::SandboxStatus::SandboxError);
  EXPECT_TRUE(has(r.message, "/nonexistent/python")) << r.message;
  p = t2::SandboxParams{};
  p.limits.cpu_seconds = 0;
  EXPECT_EQ(t2::run_sandboxed("print(1)", p).status, t2::SandboxStatus::SandboxError);
}

TEST(Sandbox, ProbeReportsEachNamespace) {
  const auto s = t2::probe_sandbox_support();
  EXPECT_EQ(s.running_as_root, ::geteuid() == 0);
  ASSERT_GE(s.notes.size(), 4u);
  EXPECT_TRUE(has(s.notes[1], "net-namespace: ")) << s.notes[1];
}

}  // namespace
