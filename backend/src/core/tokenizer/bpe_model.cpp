#include "core/tokenizer/bpe_model.h"

#include <t2/error.h>

#include "core/tokenizer/unicode.h"

#include <cstdio>
#include <mutex>
#include <queue>

namespace t2::detail::tokenizer {
namespace {

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
  throw Error(ErrorKind::Corrupt,
              file + ": malformed BPE model: " + what + "; re-download the tokenizer files");
}

std::string optional_string(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const std::string& file) {
  try {
    const auto& vocab = model.at("vocab");
    if (!vocab.is_object()) corrupt(file, "\"vocab\" must be an object {token: id}");
    for (const auto& [token, id] : vocab.items()) {
      const auto value = id.get<std::int64_t>();
      if (value < 0 || value >= kMaxTokenId) {
        corrupt(file, "token '" + token + "' has id " + std::to_string(value) + " outside [0, " +
                          std::to_string(kMaxTokenId) + ")");
      }
      vocab_.emplace(token, static_cast<std::int32_t>(value));
    }
    if (model.contains("dropout") && model["dropout"].is_number() &&
        model["dropout"].get<double>() > 0.0) {
      throw Error(ErrorKind::Unsupported, file +
                                              ": BPE dropout is not supported (it makes "
                                              "encoding random); set \"dropout\": null");
    }
    continuing_subword_prefix_ = optional_string(model, "continuing_subword_prefix");
    end_of_word_suffix_ = optional_string(model, "end_of_word_suffix");
    fuse_unk_ = model.value("fuse_unk", false);
    byte_fallback_ = model.value("byte_fallback", false);
    ignore_merges_ = model.value("ignore_merges", false);
    const std::string unk = optional_string(model, "unk_token");
    if (!unk.empty()) {
      auto it = vocab_.find(unk);
      if (it == vocab_.end()) corrupt(file, "unk_token '" + unk + "' is not in the vocabulary");
      unk_id_ = it->second;
    }
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      auto it = vocab_.find(name);
      byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
    }
    load_merges(model.at("merges"), file);
  } catch (const nlohmann::json::exception& e) {
    corrupt(file, e.what());
  }
}

void BpeModel::load_merges(const nlohmann::json& merges, const std::string& file) {
  merges_.reserve(merges.size());
  std::int32_t rank = 0;
  for (const auto& m : merges) {
    std::string a, b;
    if (m.is_string()) {
      const auto& s = m.get_ref<const std::string&>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        corrupt(file, "merge '" + s + "' is not two tokens separated by one space");
      }
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      corrupt(file, "merge #" + std::to_string(rank) + " is neither \"a b\" nor [a, b]");
    }
    const auto ia = vocab_.find(a), ib = vocab_.find(b);
    const std::string merged = a + b.substr(std::min(b.size(), continuing_subword_prefix_.size()));
    const auto im = vocab_.find(merged);
    if (ia == vocab_.end() || ib == vocab_.end() || im == vocab_.end()) {
      corrupt(file, "merge '" + a + " " + b + "' uses a token missing from the vocabulary");
    }
    merges_.emplace(pair_key(ia->second, ib->second), Merge{rank, im->second});
    ++rank;
  }
}

std::vector<std::int32_t> BpeModel::initial_symbols(std::string_view word) const {
  std::vector<std::int32_t> symbols;
  bool previous_unk = false;
  std::string piece;
  for (std::size_t i = 0; i < word.size();) {
    const std::size_t start = i;
    next_code_point(word, i);
    piece.clear();
    if (start > 0) piece += continuing_subword_prefix_;
    piece.append(word.substr(start, i - start));
    if (i == word.size()) piece += end_of_word_suffix_;
    auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      symbols.push_back(it->second);
      previous_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (std::size_t k = start; k < i; ++k) {
        all = all && byte_ids_[static_cast<unsigned char>(word[k])] >= 0;
      }
      if (all) {
        for (std::size_t k = start; k < i; ++k) {
          symbols.push_back(byte_ids_[static_cast<unsigned char>(word[k])]);
        }
        previous_unk = false;
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (!(fuse_unk_ && previous_unk)) symbols.push_back(unk_id_);
      previous_unk = true;
    }
  }
  return symbols;
}

std::vector<std::int32_t> BpeModel::merge_word(std::string_view word) const {
  std::vector<std::int32_t> ids = initial_symbols(word);
  const int n = static_cast<int>(ids.size());
  if (n < 2) return ids;
  std::vector<int> prev(n), next(n);
  std::vector<char> alive(n, 1);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    std::int32_t rank;
    int pos;
    std::int32_t id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(pair_key(ids[pos], ids[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int pos = top.pos;
    if (!alive[pos] || next[pos] < 0) continue;
    const int right = next[pos];
    auto it = merges_.find(pair_key(ids[pos], ids[right]));
    if (it == merges_.end() || it->second.rank != top.rank || it->second.id != top.id) continue;
    ids[pos] = top.id;
    alive[right] = 0;
    next[pos] = next[right];
    if (next[pos] >= 0) prev[next[pos]] = pos;
    push(prev[pos]);
    push(pos);
  }
  std::vector<std::int32_t> out;
  for (int i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
  return out;
}

void BpeModel::tokenize(const std::string& piece, std::vector<std::int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = piece.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::shared_lock<std::shared_mutex> lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int32_t> ids = merge_word(piece);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::unique_lock<std::shared_mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(piece, std::move(ids));
  }
}

}  // namespace t2::detail::tokenizer
