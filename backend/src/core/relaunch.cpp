// Re-executing the program with a passive OpenMP wait policy (see t2/engine.h).
#include <t2/engine.h>

#include <unistd.h>

#include <cstdlib>

namespace t2 {

void relaunch_with_passive_omp_wait(char** argv) {
  if (argv == nullptr || argv[0] == nullptr) return;
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user (or a relaunch) chose
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on with spinning threads
}

std::string omp_wait_policy() {
  const char* value = std::getenv("OMP_WAIT_POLICY");
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace t2
