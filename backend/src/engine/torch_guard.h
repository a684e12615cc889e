// Translation of LibTorch exceptions into t2::Error at the facade boundary. Internal header.
#pragma once

#include <t2/error.h>

#include <c10/util/Exception.h>

#include <string>
#include <utility>

namespace t2::detail {

inline Error error_from_torch(const c10::Error& e) {
  std::string what = e.what_without_backtrace();
  if (what.find("out of memory") != std::string::npos ||
      what.find("Out of memory") != std::string::npos)
    return Error(ErrorKind::OutOfMemory,
                 "out of memory: " + what + " (use smaller sizes/batches or another device)");
  return Error(ErrorKind::Internal,
               "LibTorch error: " + what + " (please report this with the command that caused it)");
}

// Runs f() and rethrows anything it throws as t2::Error.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw error_from_torch(e);
  } catch (...) {
    throw error_from_current_exception();
  }
}

}  // namespace t2::detail
