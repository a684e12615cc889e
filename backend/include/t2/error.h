// The one error type of the backend. Every failure that reaches the engine facade's caller is a
// t2::Error whose message says what went wrong *and what to do next*.
#pragma once

#include <stdexcept>
#include <string>

namespace t2 {

enum class ErrorKind {
  InvalidArgument,  // the caller asked for something impossible (bad option, wrong shape)
  Io,               // a file or device could not be read/written
  Corrupt,          // data exists but is malformed (truncated file, bad JSON, bad header)
  Unsupported,      // valid request this build/engine cannot serve (unknown architecture)
  Cancelled,        // the job was cancelled cooperatively; a normal outcome, not a failure
  OutOfMemory,      // host or device memory ran out
  Internal,         // a bug in T2 Workbench or a library it calls
};

// Stable lowercase name, e.g. "invalid-argument"; used in JSON output and logs.
const char* to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);
  ErrorKind kind() const noexcept { return kind_; }
  bool is_cancelled() const noexcept { return kind_ == ErrorKind::Cancelled; }

 private:
  ErrorKind kind_;
};

// Builds a t2::Error from the exception currently being handled (call inside catch(...)).
// t2::Error passes through; std::bad_alloc becomes OutOfMemory; anything else Internal with its
// what() text. Torch-specific exceptions are translated by the engine facade before this.
Error error_from_current_exception();

}  // namespace t2
