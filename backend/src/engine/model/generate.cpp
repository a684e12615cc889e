// Generation with a KV cache: batched prompts (left padding + masks), continuous batching,
// shared-prefix reuse, sampling, EOS and stop sequences and stop strings, streaming, cancellation.
//
// The batch is a set of B rows (slots) over one cache time axis of C columns. A prompt is
// encoded (prefilled) on its own small cache, starting from a copy of the session's shared
// prefix, and its K/V copied into a free row, right-aligned at the current column P: when it is
// longer than P, every column up to its length is opened (a gap, masked, for the other rows).
// Each row keeps its own rotary positions, so a gap changes nothing in its attention. When the
// axis is full, all rows shift left by the oldest live row's first column (compaction), so C =
// 2 * longest prompt + max_new_tokens always suffices. Where the one-pass decode attention runs
// (float32 CPU), the shared prefix is not copied into the rows: the batch cache points at it
// once (KvCache::shared_k/v) and its columns hold only what follows it.
#include "decode_attention.h"
#include "sampling.h"
#include "session_impl.h"

#include "engine/torch_guard.h"

#include <t2/error.h>
#include <t2/text_stream.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace t2 {
namespace detail::generate {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool ends_with(const std::vector<std::int32_t>& tokens, const std::vector<std::int32_t>& tail) {
  return !tail.empty() && tail.size() <= tokens.size() &&
         std::equal(tail.rbegin(), tail.rend(), tokens.rbegin());
}

// Why sequence `tokens` should stop after its latest token, or "" to go on.
std::string finish_reason(const std::vector<std::int32_t>& tokens,
                          const std::vector<std::int32_t>& eos, const GenerateParams& p) {
  if (std::find(eos.begin(), eos.end(), tokens.back()) != eos.end()) return "eos";
  for (const auto& stop : p.stop_sequences)
    if (ends_with(tokens, stop)) return "stop";
  if (!p.stop_strings.empty() && p.decode &&
      find_stop_string(p.decode(tokens), p.stop_strings) != std::string::npos)
    return "stop";
  if (static_cast<int>(tokens.size()) >= p.max_new_tokens) return "length";
  return "";
}

void validate(const GenerateParams& p) {
  if (p.max_new_tokens < 0) throw Error(ErrorKind::InvalidArgument, "max_new_tokens must be >= 0");
  if (p.max_batch < 0)
    throw Error(
        ErrorKind::InvalidArgument,
        "max_batch must be >= 0 (0 = every prompt at once), got " + std::to_string(p.max_batch));
  engine::validate_sampling(p.sampling);
  const bool has_stop_string = std::any_of(p.stop_strings.begin(), p.stop_strings.end(),
                                           [](const std::string& s) { return !s.empty(); });
  if (has_stop_string && !p.decode)
    throw Error(ErrorKind::InvalidArgument,
                "stop_strings need GenerateParams::decode (e.g. the model's Tokenizer::decode)");
}

// GeneratedSequence::text: the decode without a final EOS token, cut before a stop string.
void fill_text(const GenerateParams& p, GeneratedSequence& seq) {
  if (!p.decode) return;
  std::vector<std::int32_t> ids = seq.tokens;
  if (seq.finish_reason == "eos" && !ids.empty()) ids.pop_back();
  seq.text = p.decode(ids);
  const auto cut = find_stop_string(seq.text, p.stop_strings);
  if (cut != std::string::npos) seq.text.resize(cut);
}

at::Tensor last_logits(const engine::WeightSet& w, const at::Tensor& hidden) {
  return engine::project_logits(w, hidden.narrow(1, hidden.size(1) - 1, 1))
      .squeeze(1)
      .to(at::kCPU)
      .contiguous();  // [B, V] float32
}

using Prompts = std::vector<std::vector<std::int32_t>>;

constexpr std::size_t kMinSharedPrefix = 8;  // shorter common prefixes are not worth keeping

std::size_t common_prefix(const Prompts& prompts) {
  std::size_t n = prompts[0].size();
  for (const auto& p : prompts) {
    std::size_t i = 0;
    while (i < n && i < p.size() && p[i] == prompts[0][i]) ++i;
    n = i;
  }
  return n;
}

bool starts_with(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& head) {
  return head.size() <= ids.size() && std::equal(head.begin(), head.end(), ids.begin());
}

// How many leading tokens of every prompt come from the session's prefix (0: none), making or
// extending it to the prompts' common prefix when that is long enough.
std::size_t shared_prefix(Session::Impl& s, const Prompts& prompts) {
  std::size_t shortest = prompts[0].size();
  for (const auto& p : prompts) shortest = std::min(shortest, p.size());
  // At least the last token of each prompt is encoded with the prompt: it gives the logits.
  const std::size_t common = std::min(common_prefix(prompts), shortest - 1);
  if (common >= kMinSharedPrefix) {
    s.ensure_prefix(prompts[0], common);
    return common;
  }
  if (s.prefix.ids.empty() || s.prefix.ids.size() > common || !s.prefix_valid()) return 0;
  return starts_with(prompts[0], s.prefix.ids) ? s.prefix.ids.size() : 0;
}

// Prompts encoded on a cache of their own, starting from the shared prefix: identical prompts
// once when `merge_identical` (not with per-row weights). `row_of[e]` is the cache row of entrant
// e; logits [U, V] of each row's last token.
struct Prefill {
  engine::KvCache cache;
  at::Tensor logits;
  std::vector<std::int64_t> row_of;
  std::int64_t reused_tokens = 0;
};

Prefill prefill(Session::Impl& s, const engine::WeightSet& w, const Prompts& prompts,
                const std::vector<std::size_t>& entrants, std::size_t prefix_len,
                std::int32_t pad_id, bool merge_identical) {
  const auto& m = s.m();
  Prefill out;
  std::map<std::vector<std::int32_t>, std::int64_t> seen;
  Prompts suffixes;
  for (auto i : entrants) {
    const auto& p = prompts[i];
    if (!merge_identical) seen.clear();
    auto [it, fresh] = seen.emplace(p, static_cast<std::int64_t>(suffixes.size()));
    if (fresh) suffixes.emplace_back(p.begin() + static_cast<std::ptrdiff_t>(prefix_len), p.end());
    out.row_of.push_back(it->second);
    out.reused_tokens += static_cast<std::int64_t>(fresh ? prefix_len : p.size());
  }
  auto [ids, mask] = detail::session::pad_left(suffixes, pad_id, m.config.vocab_size, m.device);
  const auto rows = ids.size(0), width = ids.size(1);
  const auto plen = static_cast<std::int64_t>(prefix_len);
  out.cache = engine::make_kv_cache(m, rows, plen + width);
  if (plen > 0) {
    for (std::size_t l = 0; l < out.cache.k.size(); ++l) {
      out.cache.k[l].narrow(2, 0, plen).copy_(s.prefix.k[l].narrow(2, 0, plen));
      out.cache.v[l].narrow(2, 0, plen).copy_(s.prefix.v[l].narrow(2, 0, plen));
    }
    out.cache.key_valid.narrow(1, 0, plen).fill_(true);
    out.cache.key_pos.narrow(1, 0, plen).copy_(at::arange(plen, out.cache.key_pos.options()));
    out.cache.length = plen;
  }
  for (const auto& p : suffixes) out.cache.padded |= static_cast<std::int64_t>(p.size()) < width;
  const at::Tensor positions = engine::positions_from_mask(mask) + plen;
  out.logits =
      last_logits(w, engine::forward_hidden(m, w, {ids, positions, mask.eq(1)}, &out.cache));
  return out;
}

// The rows of one generate() call and what each holds.
struct Batch {
  engine::KvCache* cache = nullptr;
  std::vector<std::int64_t> seq;    // prompt index in each row, -1 = free
  std::vector<std::int64_t> start;  // first cache column of the row's sequence
  std::vector<std::int64_t> pos;    // rotary position of the row's next token
  std::int64_t live() const {
    return std::count_if(seq.begin(), seq.end(), [](std::int64_t i) { return i >= 0; });
  }
};

// Copies prefilled prompts into free rows, right-aligned at the current column (opening a gap
// for the other rows when a prompt is longer than the columns filled so far). The first `skip`
// columns of the prefill (the shared prefix, when the batch cache holds it once) stay behind.
void place(Batch& b, const Prefill& pf, std::int64_t skip, const std::vector<std::int64_t>& rows,
           const std::vector<std::size_t>& entrants, const Prompts& prompts, at::Tensor& logits) {
  engine::KvCache& c = *b.cache;
  const std::int64_t width = pf.cache.length - skip, past = c.length;
  const std::int64_t end = std::max(past, width), first = end - width;
  if (end > c.capacity())
    throw Error(ErrorKind::Internal,
                "KV cache too small for a prompt of " + std::to_string(width) + " tokens");
  if (end > past) c.key_valid.narrow(1, past, end - past).fill_(false);
  const at::Tensor dst = at::tensor(rows, at::kLong).to(c.key_valid.device());
  const at::Tensor src = at::tensor(pf.row_of, at::kLong).to(c.key_valid.device());
  for (std::size_t l = 0; l < c.k.size(); ++l) {
    c.k[l]
        .narrow(2, first, width)
        .index_copy_(0, dst, pf.cache.k[l].narrow(2, skip, width).index_select(0, src));
    c.v[l]
        .narrow(2, first, width)
        .index_copy_(0, dst, pf.cache.v[l].narrow(2, skip, width).index_select(0, src));
  }
  at::Tensor valid = c.key_valid.narrow(1, 0, end).index_select(0, dst);  // [E, end]
  valid.narrow(1, 0, first).fill_(false);
  valid.narrow(1, first, width)
      .copy_(pf.cache.key_valid.narrow(1, skip, width).index_select(0, src));
  c.key_valid.narrow(1, 0, end).index_copy_(0, dst, valid);
  c.key_pos.narrow(1, first, width)
      .index_copy_(0, dst, pf.cache.key_pos.narrow(1, skip, width).index_select(0, src));
  logits.index_copy_(0, at::tensor(rows, at::kLong),
                     pf.logits.index_select(0, at::tensor(pf.row_of, at::kLong)));
  c.padded = c.padded || pf.cache.padded || past > 0 || first > 0 ||
             static_cast<std::int64_t>(rows.size()) < c.key_valid.size(0);
  c.length = end;
  for (std::size_t e = 0; e < rows.size(); ++e) {
    const auto r = static_cast<std::size_t>(rows[e]);
    b.seq[r] = static_cast<std::int64_t>(entrants[e]);
    b.start[r] = first;
    b.pos[r] = static_cast<std::int64_t>(prompts[entrants[e]].size());
  }
}

// Shifts every row left by the oldest live row's first column, freeing columns at the end.
void compact(Batch& b) {
  engine::KvCache& c = *b.cache;
  std::int64_t shift = c.length;
  for (std::size_t r = 0; r < b.seq.size(); ++r)
    if (b.seq[r] >= 0) shift = std::min(shift, b.start[r]);
  if (shift == 0)
    throw Error(ErrorKind::Internal, "KV cache full: " + std::to_string(c.length) + " columns");
  const std::int64_t n = c.length - shift;
  auto move = [&](at::Tensor& t, std::int64_t dim) {
    if (n > 0) t.narrow(dim, 0, n).copy_(t.narrow(dim, shift, n).clone());
  };
  for (std::size_t l = 0; l < c.k.size(); ++l) {
    move(c.k[l], 2);
    move(c.v[l], 2);
  }
  move(c.key_valid, 1);
  move(c.key_pos, 1);
  c.length = n;
  for (auto& st : b.start) st = std::max<std::int64_t>(0, st - shift);
}

}  // namespace detail::generate

namespace dg = detail::generate;

GenerateResult Session::generate(const std::vector<std::vector<std::int32_t>>& prompts,
                                 const GenerateParams& params, const TokenCallback& on_token,
                                 const JobContext& job) {
  return detail::guarded([&] {
    dg::validate(params);
    engine::InferenceGuard guard;
    Impl& s = *impl_;
    const auto& m = s.m();
    // Checks every prompt (non-empty, ids in the vocabulary) before any work.
    detail::session::pad_left(prompts, params.pad_id, m.config.vocab_size, at::kCPU);
    if (params.seed >= 0) s.rng.seed(static_cast<std::uint64_t>(params.seed));
    std::vector<std::int32_t> eos =
        params.eos_ids.empty() ? m.config.eos_token_ids : params.eos_ids;
    if (params.ignore_eos) eos.clear();
    const std::size_t n = prompts.size();
    // Per-row weights (Session::Impl::per_row_batch): prompt i runs on row i, all at once.
    s.check_rows(n, "a generate() call");
    const bool per_row = s.per_row_batch() > 0;
    const std::size_t rows = params.max_batch <= 0 || per_row
                                 ? n
                                 : std::min(n, static_cast<std::size_t>(params.max_batch));
    if (params.collect_step_logits && rows < n)
      throw Error(ErrorKind::InvalidArgument,
                  "collect_step_logits needs every prompt in one batch (max_batch 0)");
    GenerateResult result;
    result.sequences.resize(n);
    std::int64_t longest = 0;
    for (const auto& p : prompts) {
      result.prompt_tokens += static_cast<std::int64_t>(p.size());
      longest = std::max(longest, static_cast<std::int64_t>(p.size()));
    }
    if (params.max_new_tokens == 0) {
      for (auto& seq : result.sequences) seq.finish_reason = "length";
      return result;
    }
    const auto start_time = dg::Clock::now();
    const std::size_t prefix_len =
        params.reuse_prefix && !per_row ? dg::shared_prefix(s, prompts) : 0;
    // With the one-pass decode attention the batch cache holds the shared prefix once (every
    // step reads it once for all rows) and each row only its own columns; otherwise every row
    // holds a copy.
    const std::int64_t skip = prefix_len > 0 && engine::decode_attention_applies(m.dtype, m.device)
                                  ? static_cast<std::int64_t>(prefix_len)
                                  : 0;
    const std::int64_t own = longest - skip;
    const std::int64_t capacity = (rows == n ? own : 2 * own) + params.max_new_tokens;
    dg::Batch b;
    b.cache = &s.fresh_cache(static_cast<std::int64_t>(rows), capacity);
    if (skip > 0) {
      b.cache->shared_k = s.prefix.k;
      b.cache->shared_v = s.prefix.v;
      b.cache->shared_len = skip;
    }
    b.seq.assign(rows, -1);
    b.start.assign(rows, 0);
    b.pos.assign(rows, 0);
    const auto w = s.weight_set();
    const auto vocab = m.config.vocab_size;
    at::Tensor logits = at::zeros({static_cast<std::int64_t>(rows), vocab}, at::kFloat);
    std::vector<std::vector<std::int32_t>> seen(n);  // prompt + generated (repetition penalty)
    std::size_t waiting = 0, finished = 0;
    auto admit = [&] {
      std::vector<std::int64_t> free_rows;
      std::vector<std::size_t> entrants;
      for (std::size_t r = 0; r < rows && waiting < n; ++r)
        if (b.seq[r] < 0) {
          free_rows.push_back(static_cast<std::int64_t>(r));
          entrants.push_back(waiting);
          seen[waiting] = prompts[waiting];
          ++waiting;
        }
      if (entrants.empty()) return;
      const dg::Prefill pf =
          dg::prefill(s, w, prompts, entrants, prefix_len, params.pad_id, !per_row);
      result.reused_prompt_tokens += pf.reused_tokens;
      dg::place(b, pf, skip, free_rows, entrants, prompts, logits);
    };
    admit();
    if (s.after_prefill) {
      const std::int64_t length = b.cache->length;
      s.after_prefill(*b.cache, b.pos, logits);
      b.cache->length = length;
    }
    auto decode_start = start_time;
    for (int step = 0;; ++step) {
      job.throw_if_cancelled();
      if (params.collect_step_logits)
        result.step_logits.push_back(detail::session::to_logits(logits));
      at::Tensor next = at::full({static_cast<std::int64_t>(rows), 1}, params.pad_id, at::kLong);
      auto next_ids = next.accessor<std::int64_t, 2>();
      at::Tensor valid = at::zeros({static_cast<std::int64_t>(rows), 1}, at::kBool);
      auto valid_a = valid.accessor<bool, 2>();
      std::int64_t live_tokens = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        if (b.seq[r] < 0) continue;
        const auto i = static_cast<std::size_t>(b.seq[r]);
        const float* data = logits.data_ptr<float>() + static_cast<std::int64_t>(r) * vocab;
        std::vector<float> row(data, data + vocab);
        const auto token = engine::choose_token(row, params.sampling, seen[i], s.rng);
        seen[i].push_back(token);
        auto& seq = result.sequences[i];
        seq.tokens.push_back(token);
        ++result.generated_tokens;
        if (on_token) on_token(i, token);
        seq.finish_reason = dg::finish_reason(seq.tokens, eos, params);
        if (seq.finish_reason.empty()) {
          next_ids[static_cast<std::int64_t>(r)][0] = token;
          valid_a[static_cast<std::int64_t>(r)][0] = true;
          live_tokens += static_cast<std::int64_t>(seq.tokens.size());
          continue;
        }
        b.seq[r] = -1;
        ++finished;
        dg::fill_text(params, seq);
        if (params.on_finished) params.on_finished(i, seq);
      }
      if (step == 0) {
        result.prefill_seconds = dg::seconds_since(start_time);
        decode_start = dg::Clock::now();
      }
      job.report("generate", (static_cast<double>(finished) +
                              static_cast<double>(live_tokens) / params.max_new_tokens) /
                                 static_cast<double>(n));
      if (finished == n) break;
      if (b.live() > 0) {
        if (b.cache->length >= b.cache->capacity()) dg::compact(b);
        b.cache->padded = b.cache->padded || b.live() < static_cast<std::int64_t>(rows);
        at::Tensor positions = at::tensor(b.pos, at::kLong).view({-1, 1});
        const auto hidden = engine::forward_hidden(
            m, w, {next.to(m.device), positions.to(m.device), valid.to(m.device)}, b.cache);
        logits = dg::last_logits(w, hidden);
        for (std::size_t r = 0; r < rows; ++r)
          if (b.seq[r] >= 0) ++b.pos[r];
      }
      if (waiting < n) admit();
    }
    result.decode_seconds = dg::seconds_since(decode_start);
    return result;
  });
}

std::vector<at::Tensor> Session::Impl::weights_in_effect() const {
  std::vector<at::Tensor> out;
  auto add = [&](const at::Tensor& t) {
    if (t.defined()) out.push_back(t);
  };
  for (const auto& lw : layers) {
    for (const auto* t : {&lw.qkv_wt, &lw.qkv_b, &lw.o_wt, &lw.o_b, &lw.gate_up_wt, &lw.gate_up_b,
                          &lw.down_wt, &lw.down_b, &lw.input_norm, &lw.post_norm, &lw.qk_norm})
      add(*t);
    for (const auto& f : lw.factored) {
      add(f.vt);
      add(f.scale);
      add(f.ut);
    }
    for (const auto& br : lw.lora) {
      add(br.a);
      add(br.b);
    }
  }
  add(embed);
  add(final_norm);
  add(lm_head_t);
  return out;
}

namespace {
std::int64_t version_of(const at::Tensor& t) { return t.is_inference() ? -1 : t._version(); }
}  // namespace

bool Session::Impl::prefix_valid() const {
  if (prefix.ids.empty()) return false;
  const auto now = weights_in_effect();
  if (now.size() != prefix.weights.size()) return false;
  for (std::size_t i = 0; i < now.size(); ++i)
    if (now[i].unsafeGetTensorImpl() != prefix.weights[i].unsafeGetTensorImpl() ||
        version_of(now[i]) != prefix.versions[i])
      return false;
  return true;
}

void Session::Impl::ensure_prefix(const std::vector<std::int32_t>& ids, std::size_t n) {
  const bool valid = prefix_valid();
  if (valid && prefix.ids.size() == n && dg::starts_with(ids, prefix.ids)) return;
  const std::size_t keep =
      valid && prefix.ids.size() < n && dg::starts_with(ids, prefix.ids) ? prefix.ids.size() : 0;
  const auto& mm = m();
  engine::KvCache c = engine::make_kv_cache(mm, 1, static_cast<std::int64_t>(n));
  const auto kept = static_cast<std::int64_t>(keep), total = static_cast<std::int64_t>(n);
  if (kept > 0) {
    for (std::size_t l = 0; l < c.k.size(); ++l) {
      c.k[l].narrow(2, 0, kept).copy_(prefix.k[l].narrow(2, 0, kept));
      c.v[l].narrow(2, 0, kept).copy_(prefix.v[l].narrow(2, 0, kept));
    }
    c.key_valid.narrow(1, 0, kept).fill_(true);
    c.key_pos.narrow(1, 0, kept).copy_(at::arange(kept, c.key_pos.options()));
    c.length = kept;
  }
  std::vector<std::int64_t> rest(ids.begin() + static_cast<std::ptrdiff_t>(keep),
                                 ids.begin() + static_cast<std::ptrdiff_t>(n));
  const at::Tensor t_ids = at::tensor(rest, at::kLong).view({1, -1}).to(mm.device);
  const at::Tensor pos = at::arange(kept, total, at::kLong).view({1, -1}).to(mm.device);
  const at::Tensor ok = at::ones({1, total - kept}, at::kBool).to(mm.device);
  engine::forward_hidden(mm, weight_set(), {t_ids, pos, ok}, &c);
  prefix.ids.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
  prefix.k = std::move(c.k);
  prefix.v = std::move(c.v);
  prefix.weights = weights_in_effect();
  prefix.versions.clear();
  for (const auto& t : prefix.weights) prefix.versions.push_back(version_of(t));
}

void Session::encode_prefix(const std::vector<std::int32_t>& ids, const JobContext& job) {
  detail::guarded([&] {
    job.throw_if_cancelled();
    engine::InferenceGuard guard;
    detail::session::pad_left({ids}, 0, impl_->m().config.vocab_size, at::kCPU);  // checks ids
    if (impl_->per_row_batch() > 0)
      throw Error(ErrorKind::InvalidArgument,
                  "a shared prefix needs one set of weights; this session has per-row scales");
    impl_->ensure_prefix(ids, ids.size());
  });
}

std::size_t Session::prefix_tokens() const {
  return impl_->prefix_valid() ? impl_->prefix.ids.size() : 0;
}

void Session::clear_prefix() { impl_->prefix = engine::PrefixKv(); }

}  // namespace t2
