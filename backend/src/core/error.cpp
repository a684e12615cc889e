#include <t2/error.h>

#include <exception>
#include <new>

namespace t2 {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument:
      return "invalid-argument";
    case ErrorKind::Io:
      return "io";
    case ErrorKind::Corrupt:
      return "corrupt";
    case ErrorKind::Unsupported:
      return "unsupported";
    case ErrorKind::Cancelled:
      return "cancelled";
    case ErrorKind::OutOfMemory:
      return "out-of-memory";
    case ErrorKind::Internal:
      return "internal";
  }
  return "internal";
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

Error error_from_current_exception() {
  try {
    throw;
  } catch (const Error& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return Error(ErrorKind::OutOfMemory,
                 "out of memory; close other programs or use smaller sizes/batches");
  } catch (const std::exception& e) {
    return Error(ErrorKind::Internal, std::string("internal error: ") + e.what() +
                                          " (please report this with the command that caused it)");
  } catch (...) {
    return Error(ErrorKind::Internal, "internal error: unknown exception (please report this)");
  }
}

}  // namespace t2
