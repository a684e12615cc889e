// Writing a .safetensors file atomically: temp file in the same folder, fsync, rename, fsync dir.
#include <t2/error.h>
#include <t2/safetensors.h>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

namespace t2 {
namespace detail::safetensors_writer {

class FileWriter {
 public:
  explicit FileWriter(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create");
  }
  ~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, std::min<std::size_t>(n, 1 << 30));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail("cannot write");
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  void sync_and_close() {
    if (::fsync(fd_) != 0) fail("cannot fsync");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close");
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw Error(ErrorKind::Io, std::string(what) + " '" + path_ + "': " + std::strerror(errno) +
                                   " (check free disk space and permissions)");
  }
  std::string path_;
  int fd_ = -1;
};

std::uint64_t checked_bytes(const TensorToWrite& t) {
  if (t.name.empty() || t.name == "__metadata__")
    throw Error(ErrorKind::InvalidArgument, "invalid tensor name '" + t.name + "'");
  std::uint64_t n = dtype_size(t.dtype);
  for (auto d : t.shape) {
    if (d < 0)
      throw Error(ErrorKind::InvalidArgument, "tensor '" + t.name + "' has a negative dimension");
    n *= static_cast<std::uint64_t>(d);
  }
  if (n > 0 && t.data == nullptr)
    throw Error(ErrorKind::InvalidArgument, "tensor '" + t.name + "' has no data");
  return n;
}

void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);  // best effort: some file systems refuse fsync on directories
    ::close(fd);
  }
}

}  // namespace detail::safetensors_writer

namespace sw = detail::safetensors_writer;

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (!names.insert(t.name).second)
      throw Error(ErrorKind::InvalidArgument, "duplicate tensor name '" + t.name + "'");
    order.push_back(&t);
  }
  std::stable_sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    return dtype_size(a->dtype) > dtype_size(b->dtype);
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> sizes;
  for (const auto* t : order) {
    const auto n = sw::checked_bytes(*t);
    header[t->name] = {{"dtype", to_string(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + n}}};
    offset += n;
    sizes.push_back(n);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(text.size() >> (8 * i));

  const std::filesystem::path target(path);
  static std::atomic<unsigned> counter{0};  // unique per write, also across threads
  const std::string temp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    sw::FileWriter out(temp);
    out.write(length, 8);
    out.write(text.data(), text.size());
    for (std::size_t i = 0; i < order.size(); ++i) out.write(order[i]->data, sizes[i]);
    out.sync_and_close();
    std::filesystem::rename(temp, target);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    try {
      throw;
    } catch (const std::filesystem::filesystem_error& e) {
      throw Error(ErrorKind::Io, "cannot rename '" + temp + "' to '" + path + "': " + e.what());
    }
  }
  sw::sync_directory(target.parent_path());
}

}  // namespace t2
