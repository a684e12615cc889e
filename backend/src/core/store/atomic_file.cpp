// Crash-safe file writes: temporary name, fsync, rename, fsync of the folder.
#include <t2/error.h>
#include <t2/run_store.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace t2 {
namespace detail::store {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw Error(ErrorKind::Io,
                "cannot flush '" + path + "' to disk: " + reason + "; check the disk and retry");
  }
  ::close(fd);
}

std::string temp_name_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  return (target.parent_path() / ("." + target.filename().string() + ".tmp-" +
                                  std::to_string(::getpid()) + "-" + std::to_string(counter++)))
      .string();
}

}  // namespace detail::store

void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& temp_path)>& write) {
  using namespace detail::store;
  const fs::path target = fs::absolute(path);
  const std::string temp = temp_name_for(target);
  try {
    write(temp);
    if (!fs::is_regular_file(temp)) {
      throw Error(ErrorKind::Io, "the writer did not create '" + temp + "' for '" + path + "'");
    }
    fsync_path(temp, false);
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      throw Error(ErrorKind::Io, "cannot rename '" + temp + "' to '" + target.string() + "': " +
                                     std::strerror(errno) + "; check the folder's permissions");
    }
  } catch (...) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw;
  }
  fsync_path(target.parent_path().string(), true);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      throw Error(ErrorKind::Io, "cannot write '" + temp + "' (for '" + path +
                                     "'); check free space and permissions");
    }
  });
}

}  // namespace t2
