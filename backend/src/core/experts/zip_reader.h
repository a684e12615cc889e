// Minimal zip archive reader (whole file in memory; stored entries only; zip64 records read).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2::detail::zip_reader {

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    int method = 0;            // 0 = stored
    std::uint64_t offset = 0;  // start of the entry's bytes in the file
    std::uint64_t size = 0;
  };
  // Throws Io (cannot open), Corrupt (bad structure) or Unsupported (not a zip archive).
  explicit ZipArchive(const std::string& path);
  const std::vector<Entry>& entries() const { return entries_; }
  // First entry whose name ends with `suffix`; nullptr if none.
  const Entry* find_suffix(const std::string& suffix) const;
  // The entry's bytes; Unsupported for a compressed entry.
  std::string read(const Entry& e) const;

 private:
  std::uint64_t le(std::size_t pos, int bytes) const;  // little-endian, bounds-checked
  std::string path_;
  std::string data_;
  std::vector<Entry> entries_;
};

}  // namespace t2::detail::zip_reader
