// Reading one .safetensors file: mmap + full header validation.
#include <t2/error.h>
#include <t2/safetensors.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace t2 {
namespace detail::safetensors {

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference reader's limit

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
  throw Error(ErrorKind::Corrupt, "corrupt safetensors file '" + file + "': " + what +
                                      " (re-download or re-export the checkpoint)");
}

[[noreturn]] void corrupt_tensor(const std::string& file, const std::string& tensor,
                                 const std::string& what) {
  corrupt(file, "tensor '" + tensor + "': " + what);
}

bool is_spec_dtype_we_lack(const std::string& name) {
  static const char* kOthers[] = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3",
                                  "F6_E3M2", "U16",     "U32",     "U64", "C64"};
  for (const char* other : kOthers)
    if (name == other) return true;
  return false;
}

std::vector<std::int64_t> parse_shape(const std::string& file, const std::string& name,
                                      const nlohmann::json& shape) {
  if (!shape.is_array()) corrupt_tensor(file, name, "\"shape\" is not an array");
  std::vector<std::int64_t> dims;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned()) corrupt_tensor(file, name, "shape has a non-integer dimension");
    const auto v = d.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 2))
      corrupt_tensor(file, name, "dimension too large");
    dims.push_back(static_cast<std::int64_t>(v));
  }
  return dims;
}

// numel * element size, or throws on overflow.
std::uint64_t byte_size(const std::string& file, const std::string& name,
                        const std::vector<std::int64_t>& shape, DType dtype) {
  std::uint64_t n = dtype_size(dtype);
  for (auto d : shape) {
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / u)
      corrupt_tensor(file, name, "shape overflows");
    n *= u;
  }
  return n;
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const nlohmann::json& e,
                       std::uint64_t data_start, std::uint64_t data_size) {
  if (!e.is_object()) corrupt_tensor(file, name, "entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!e.contains(key)) corrupt_tensor(file, name, std::string("missing \"") + key + "\"");
  if (e.size() != 3) corrupt_tensor(file, name, "unexpected keys besides dtype/shape/data_offsets");
  if (!e["dtype"].is_string()) corrupt_tensor(file, name, "\"dtype\" is not a string");
  const auto dtype_name = e["dtype"].get<std::string>();
  TensorInfo info;
  info.name = name;
  info.file = file;
  if (!parse_dtype(dtype_name, &info.dtype)) {
    if (is_spec_dtype_we_lack(dtype_name))
      throw Error(ErrorKind::Unsupported, "safetensors file '" + file + "': tensor '" + name +
                                              "' has dtype " + dtype_name +
                                              ", which T2 Workbench does not support (convert "
                                              "the checkpoint to F32, F16 or BF16)");
    corrupt_tensor(file, name, "unknown dtype \"" + dtype_name + "\"");
  }
  info.shape = parse_shape(file, name, e["shape"]);
  const auto& offsets = e["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    corrupt_tensor(file, name, "\"data_offsets\" is not [begin, end]");
  const auto begin = offsets[0].get<std::uint64_t>();
  const auto end = offsets[1].get<std::uint64_t>();
  if (end < begin) corrupt_tensor(file, name, "data_offsets end < begin");
  if (end > data_size)
    corrupt_tensor(file, name,
                   "bytes [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") lie beyond the end of the data (" + std::to_string(data_size) +
                       " bytes; file truncated?)");
  info.nbytes = byte_size(file, name, info.shape, info.dtype);
  if (info.nbytes != end - begin)
    corrupt_tensor(file, name,
                   "shape x dtype size = " + std::to_string(info.nbytes) +
                       " bytes but data_offsets span " + std::to_string(end - begin));
  info.file_offset = data_start + begin;
  return info;
}

std::map<std::string, std::string> parse_metadata(const std::string& file,
                                                  const nlohmann::json& m) {
  if (!m.is_object()) corrupt(file, "__metadata__ is not an object");
  std::map<std::string, std::string> out;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_string())
      corrupt(file, "__metadata__ value '" + it.key() + "' is not a string");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

// Offsets must tile [0, data_size) exactly: no overlap, no hole, nothing after the last tensor.
void check_tiling(const std::string& file, std::vector<TensorInfo>& tensors,
                  std::uint64_t data_start, std::uint64_t data_size) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.file_offset != b.file_offset ? a.file_offset < b.file_offset : a.nbytes < b.nbytes;
  });
  std::uint64_t expected = data_start;
  std::string previous = "(header)";
  for (const auto& t : tensors) {
    if (t.file_offset < expected)
      corrupt_tensor(file, t.name, "bytes overlap those of tensor '" + previous + "'");
    if (t.file_offset > expected)
      corrupt_tensor(
          file, t.name,
          "a gap of " + std::to_string(t.file_offset - expected) + " unindexed bytes precedes it");
    expected = t.file_offset + t.nbytes;
    previous = t.name;
  }
  if (expected != data_start + data_size)
    corrupt(file, std::to_string(data_start + data_size - expected) +
                      " bytes after the last tensor are not indexed by the header");
}

}  // namespace detail::safetensors

namespace st = detail::safetensors;

const char* to_string(DType dtype) noexcept {
  switch (dtype) {
    case DType::F64:
      return "F64";
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::I16:
      return "I16";
    case DType::I8:
      return "I8";
    case DType::U8:
      return "U8";
    case DType::Bool:
      return "BOOL";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::I8:
    case DType::U8:
    case DType::Bool:
      return 1;
  }
  return 1;
}

bool parse_dtype(const std::string& name, DType* out) noexcept {
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32,
                  DType::I16, DType::I8, DType::U8, DType::Bool}) {
    if (name == to_string(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

std::int64_t TensorInfo::numel() const noexcept {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

struct SafetensorsFile::Impl {
  std::string path;
  void* map = nullptr;
  std::uint64_t size = 0;
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::size_t> by_name;
  std::map<std::string, std::string> metadata;

  ~Impl() {
    if (map != nullptr && map != MAP_FAILED) ::munmap(map, size);
  }
  const unsigned char* bytes() const { return static_cast<const unsigned char*>(map); }
  void map_file();
  void parse_header();
};

void SafetensorsFile::Impl::map_file() {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(ErrorKind::Io, "cannot open '" + path + "': " + std::strerror(errno) +
                                   " (check the path and permissions)");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::Io, "'" + path + "' is not a regular file");
  }
  size = static_cast<std::uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    st::corrupt(path, "only " + std::to_string(size) +
                          " bytes; a safetensors file starts with an "
                          "8-byte header length");
  }
  map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int saved = errno;
  ::close(fd);
  if (map == MAP_FAILED) {
    map = nullptr;
    throw Error(ErrorKind::Io, "cannot memory-map '" + path + "': " + std::strerror(saved));
  }
}

void SafetensorsFile::Impl::parse_header() {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes()[i];  // little-endian
  if (n == 0 || n > st::kMaxHeaderBytes || n > size - 8)
    st::corrupt(path, "header length " + std::to_string(n) + " is impossible for a file of " +
                          std::to_string(size) + " bytes (truncated or not a safetensors file)");
  const char* text = reinterpret_cast<const char*>(bytes() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + n);
  } catch (const nlohmann::json::exception& e) {
    st::corrupt(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) st::corrupt(path, "header is not a JSON object");
  const std::uint64_t data_start = 8 + n;
  const std::uint64_t data_size = size - data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      metadata = st::parse_metadata(path, it.value());
      continue;
    }
    tensors.push_back(st::parse_entry(path, it.key(), it.value(), data_start, data_size));
  }
  st::check_tiling(path, tensors, data_start, data_size);
  for (std::size_t i = 0; i < tensors.size(); ++i) by_name[tensors[i].name] = i;
}

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->map_file();
  impl->parse_header();
  return SafetensorsFile(std::move(impl));
}

const std::string& SafetensorsFile::path() const noexcept { return impl_->path; }
const std::vector<TensorInfo>& SafetensorsFile::tensors() const noexcept { return impl_->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const noexcept {
  return impl_->metadata;
}
std::uint64_t SafetensorsFile::file_size() const noexcept { return impl_->size; }

const TensorInfo* SafetensorsFile::find(const std::string& name) const noexcept {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->tensors[it->second];
}

const void* SafetensorsFile::data(const TensorInfo& info) const {
  if (info.file != impl_->path || info.file_offset + info.nbytes > impl_->size)
    throw Error(ErrorKind::InvalidArgument,
                "tensor '" + info.name + "' does not belong to '" + impl_->path + "'");
  return impl_->bytes() + info.file_offset;
}

}  // namespace t2
