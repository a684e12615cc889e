// Re-executing the program with passive OpenMP waiting and short OpenBLAS spinning (t2/engine.h).
#include <t2/engine.h>

#include <unistd.h>

#include <cstdlib>
#include <utility>

namespace t2 {

void relaunch_with_runtime_env(char** argv) {
  if (argv == nullptr || argv[0] == nullptr) return;
  bool changed = false;
  for (const auto& [name, value] :
       {std::pair<const char*, const char*>{"OMP_WAIT_POLICY", "passive"},
        {"OPENBLAS_THREAD_TIMEOUT", "16"}})
    if (std::getenv(name) == nullptr) {  // unset: neither the user nor a relaunch chose
      ::setenv(name, value, 1);
      changed = true;
    }
  if (changed) ::execv("/proc/self/exe", argv);  // returns only on failure: carry on spinning
}

std::string omp_wait_policy() {
  const char* value = std::getenv("OMP_WAIT_POLICY");
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace t2
