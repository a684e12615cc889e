// Internal: the demo generator's PRNG. splitmix64 (Steele, Lea, Flood 2014) with rejection
// sampling for ranges, so the same seed gives the same items with every compiler and standard
// library (std::uniform_int_distribution's output is implementation-defined).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace t2::detail::demo {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi] (lo <= hi), unbiased.
  int range(int lo, int hi) {
    const std::uint64_t n = static_cast<std::uint64_t>(hi - lo) + 1;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return lo + static_cast<int>(x % n);
  }
  bool coin() { return range(0, 1) == 1; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(range(0, static_cast<int>(items.size()) - 1))];
  }
  template <typename T>
  void shuffle(std::vector<T>& items) {  // Fisher-Yates
    for (int i = static_cast<int>(items.size()) - 1; i > 0; --i)
      std::swap(items[static_cast<std::size_t>(i)], items[static_cast<std::size_t>(range(0, i))]);
  }

 private:
  std::uint64_t state_;
};

// FNV-1a of a name: derives per-task seeds from the master seed.
inline std::uint64_t hash_name(const std::string& name) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace t2::detail::demo
