// The BPE model of tokenizer.json: vocabulary, ranked merges, byte fallback, unknown tokens,
// ignore_merges, continuing_subword_prefix / end_of_word_suffix, and a word cache.
//
// Invariants: every merge (a, b) maps to (rank, id of a+b) with a, b and a+b in the vocabulary.
// Thread-safety: tokenize() may run concurrently; the cache is guarded by a shared mutex.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace t2::detail::tokenizer {

// Ids at or above this are rejected as corrupt (real vocabularies have < 1M tokens).
constexpr std::int64_t kMaxTokenId = 1 << 24;

class BpeModel {
 public:
  // Throws t2::Error(Corrupt) naming `file` for a malformed model, Unsupported for dropout.
  BpeModel(const nlohmann::json& model, const std::string& file);

  // Appends the ids of one pre-tokenized piece to `out`.
  void tokenize(const std::string& piece, std::vector<std::int32_t>& out) const;

  const std::unordered_map<std::string, std::int32_t>& vocab() const { return vocab_; }

 private:
  struct Merge {
    std::int32_t rank;
    std::int32_t id;
  };
  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  void load_merges(const nlohmann::json& merges, const std::string& file);
  std::vector<std::int32_t> initial_symbols(std::string_view word) const;
  std::vector<std::int32_t> merge_word(std::string_view word) const;

  std::unordered_map<std::string, std::int32_t> vocab_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  std::int32_t unk_id_ = -1;  // -1: no unknown token (unknown characters are dropped)
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::int32_t byte_ids_[256];  // id of "<0xNN>" or -1

  static constexpr std::size_t kCacheCapacity = 10000;  // words; the cache stops growing when full
  static constexpr std::size_t kMaxCachedWordBytes = 256;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache_;
};

}  // namespace t2::detail::tokenizer
