// Minimal zip reader for torch.save archives: central directory (zip64 too), stored entries.
#include "core/experts/zip_reader.h"

#include <t2/error.h>

#include <fstream>
#include <iterator>

namespace t2::detail::zip_reader {

std::uint64_t ZipArchive::le(std::size_t pos, int bytes) const {
  if (pos + static_cast<std::size_t>(bytes) > data_.size() || pos > data_.size())
    throw Error(ErrorKind::Corrupt, path_ + ": zip structure points outside the file");
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(data_[pos + i]);
  return v;
}

ZipArchive::ZipArchive(const std::string& path) : path_(path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot open " + path);
  data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const std::size_t n = data_.size();
  if (n < 22) throw Error(ErrorKind::Corrupt, path + ": too short to be a zip archive");
  std::size_t eocd = std::string::npos;
  const std::size_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
  for (std::size_t p = n - 22 + 1; p-- > lowest;)
    if (le(p, 4) == 0x06054b50) {
      eocd = p;
      break;
    }
  if (eocd == std::string::npos)
    throw Error(ErrorKind::Unsupported,
                path +
                    ": not a zip archive. Only torch.save's zip format (PyTorch >= 1.6) is "
                    "read; re-save the file with a recent PyTorch");
  std::uint64_t count = le(eocd + 10, 2);
  std::uint64_t cd_offset = le(eocd + 16, 4);
  if ((count == 0xFFFF || cd_offset == 0xFFFFFFFF) && eocd >= 20 &&
      le(eocd - 20, 4) == 0x07064b50) {
    const std::size_t z64 = static_cast<std::size_t>(le(eocd - 20 + 8, 8));
    if (le(z64, 4) != 0x06064b50) throw Error(ErrorKind::Corrupt, path + ": bad zip64 record");
    count = le(z64 + 32, 8);
    cd_offset = le(z64 + 48, 8);
  }
  std::size_t p = static_cast<std::size_t>(cd_offset);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (le(p, 4) != 0x02014b50)
      throw Error(ErrorKind::Corrupt,
                  path + ": bad zip central directory entry " + std::to_string(i));
    Entry e;
    e.method = static_cast<int>(le(p + 10, 2));
    std::uint64_t comp = le(p + 20, 4), size = le(p + 24, 4), local = le(p + 42, 4);
    const std::size_t name_len = le(p + 28, 2), extra_len = le(p + 30, 2), comment = le(p + 32, 2);
    le(p + 46 + name_len + extra_len + comment - 1, 1);  // bounds check
    e.name = data_.substr(p + 46, name_len);
    std::size_t x = p + 46 + name_len;
    const std::size_t x_end = x + extra_len;
    while (x + 4 <= x_end) {  // zip64 extended information
      const auto id = le(x, 2), len = le(x + 2, 2);
      std::size_t q = x + 4;
      if (id == 0x0001) {
        if (size == 0xFFFFFFFF) size = le(q, 8), q += 8;
        if (comp == 0xFFFFFFFF) comp = le(q, 8), q += 8;
        if (local == 0xFFFFFFFF) local = le(q, 8), q += 8;
      }
      x += 4 + len;
    }
    if (le(local, 4) != 0x04034b50)
      throw Error(ErrorKind::Corrupt, path + ": bad local header for zip entry " + e.name);
    e.offset = local + 30 + le(local + 26, 2) + le(local + 28, 2);
    e.size = e.method == 0 ? size : comp;
    if (e.offset + e.size > n)
      throw Error(ErrorKind::Corrupt, path + ": zip entry " + e.name + " runs past the end");
    entries_.push_back(e);
    p += 46 + name_len + extra_len + comment;
  }
}

const ZipArchive::Entry* ZipArchive::find_suffix(const std::string& suffix) const {
  for (const auto& e : entries_)
    if (e.name.size() >= suffix.size() &&
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &e;
  return nullptr;
}

std::string ZipArchive::read(const Entry& e) const {
  if (e.method != 0)
    throw Error(ErrorKind::Unsupported, path_ + ": zip entry " + e.name +
                                            " is compressed (method " + std::to_string(e.method) +
                                            "); torch.save stores entries uncompressed — re-save "
                                            "the file with torch.save");
  return data_.substr(static_cast<std::size_t>(e.offset), static_cast<std::size_t>(e.size));
}

}  // namespace t2::detail::zip_reader
