// Model fingerprint (declared in t2/decomposition.h): SHA-256 over config.json, the
// safetensors headers and a sample of the tensor data; and the default decomposition cache root.
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/safetensors.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace t2 {
namespace detail::fingerprint {

constexpr std::array<std::uint32_t, 64> kRoundConstants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void compress(std::array<std::uint32_t, 8>& h, const unsigned char* block) {
  std::uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = (std::uint32_t(block[4 * i]) << 24) | (std::uint32_t(block[4 * i + 1]) << 16) |
           (std::uint32_t(block[4 * i + 2]) << 8) | std::uint32_t(block[4 * i + 3]);
  for (int i = 16; i < 64; ++i) {
    const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; ++i) {
    const std::uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                             kRoundConstants[i] + w[i];
    const std::uint32_t t2 =
        (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

std::string read_file_bytes(const std::string& path, std::uint64_t max_bytes = UINT64_MAX) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Io, "cannot read '" + path + "' (check the path and permissions)");
  std::string out;
  if (max_bytes == UINT64_MAX) {
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  out.resize(max_bytes);
  in.read(out.data(), static_cast<std::streamsize>(max_bytes));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

// The 8-byte length prefix plus the JSON header of a safetensors file.
std::string safetensors_header_bytes(const std::string& path) {
  std::string prefix = read_file_bytes(path, 8);
  if (prefix.size() != 8)
    throw Error(ErrorKind::Corrupt, "'" + path + "' is shorter than a safetensors header");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(prefix[i]);
  std::ifstream in(path, std::ios::binary);
  in.seekg(8);
  std::string header(static_cast<std::size_t>(n), '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  if (static_cast<std::uint64_t>(in.gcount()) != n)
    throw Error(ErrorKind::Corrupt, "'" + path + "': header is truncated (re-download the file)");
  return prefix + header;
}

// A sample of the tensor data after the header: everything up to kWholeData bytes, else
// kWindows evenly spaced windows of kWindowBytes (first and last byte of the data included).
std::string safetensors_data_sample(const std::string& path, std::uint64_t data_begin) {
  constexpr std::uint64_t kWholeData = 1u << 20, kWindows = 1024, kWindowBytes = 256;
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot stat '" + path + "': " + ec.message());
  if (size < data_begin)
    throw Error(ErrorKind::Corrupt, "'" + path + "': data is truncated (re-download the file)");
  const std::uint64_t n = size - data_begin;
  std::ifstream in(path, std::ios::binary);
  std::string out = std::to_string(n) + ":";
  auto append = [&](std::uint64_t offset, std::uint64_t count) {
    const std::size_t at = out.size();
    out.resize(at + count);
    in.seekg(static_cast<std::streamoff>(data_begin + offset));
    in.read(out.data() + at, static_cast<std::streamsize>(count));
    if (static_cast<std::uint64_t>(in.gcount()) != count)
      throw Error(ErrorKind::Io, "cannot read the tensor data of '" + path + "'");
  };
  if (n <= kWholeData) {
    append(0, n);
    return out;
  }
  for (std::uint64_t k = 0; k < kWindows; ++k)
    append((n - kWindowBytes) * k / (kWindows - 1), kWindowBytes);
  return out;
}

}  // namespace detail::fingerprint

std::string sha256_hex(const std::string& bytes) {
  using namespace detail::fingerprint;
  std::array<std::uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string msg = bytes;
  const std::uint64_t bit_len = static_cast<std::uint64_t>(bytes.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<char>((bit_len >> (8 * i)) & 0xff));
  for (std::size_t off = 0; off < msg.size(); off += 64)
    compress(h, reinterpret_cast<const unsigned char*>(msg.data() + off));
  std::string out;
  char buf[9];
  for (auto v : h) {
    std::snprintf(buf, sizeof buf, "%08x", v);
    out += buf;
  }
  return out;
}

std::string model_fingerprint(const std::string& model_dir) {
  namespace fs = std::filesystem;
  using namespace detail::fingerprint;
  const auto config = (fs::path(model_dir) / "config.json").string();
  std::string bytes = read_file_bytes(config);
  const auto checkpoint = Checkpoint::open(model_dir);
  for (const auto& file : checkpoint.files()) {
    const std::string header = safetensors_header_bytes(file);
    bytes += header;
    bytes += safetensors_data_sample(file, header.size());
  }
  return "sha256:" + sha256_hex(bytes);
}

std::string default_decomposition_cache_root() {
  namespace fs = std::filesystem;
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  if (!env("T2_CACHE").empty()) return (fs::path(env("T2_CACHE")) / "decompositions").string();
  if (!env("XDG_CACHE_HOME").empty())
    return (fs::path(env("XDG_CACHE_HOME")) / "t2-workbench" / "decompositions").string();
  const std::string home = env("HOME").empty() ? "." : env("HOME");
  return (fs::path(home) / ".cache" / "t2-workbench" / "decompositions").string();
}

}  // namespace t2
