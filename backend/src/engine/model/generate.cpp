// Generation with a KV cache: batched prompts (left padding + masks), sampling, EOS and stop
// sequences and stop strings, streaming, cancellation.
#include "sampling.h"
#include "session_impl.h"

#include "engine/torch_guard.h"

#include <t2/error.h>
#include <t2/text_stream.h>

#include <algorithm>
#include <chrono>

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

// Per-sequence state of one generate() call: what each row has seen and whether it runs.
struct Rows {
  std::vector<std::vector<std::int32_t>> seen;  // prompt + generated ids (repetition penalty)
  std::vector<bool> running;
  std::int64_t live = 0;
};

// Picks the next token of every running row from logits [B, V] (CPU float32), records it in
// `result`, streams it, and marks rows that finish. Finished rows get pad_id. Returns [B, 1].
at::Tensor choose_next(const at::Tensor& logits, const GenerateParams& params,
                       const std::vector<std::int32_t>& eos, const TokenCallback& on_token,
                       std::mt19937_64& rng, Rows& rows, GenerateResult& result) {
  const auto batch = logits.size(0), vocab = logits.size(1);
  at::Tensor next = at::full({batch, 1}, params.pad_id, at::kLong);
  auto next_ids = next.accessor<std::int64_t, 2>();
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto i = static_cast<std::size_t>(b);
    if (!rows.running[i]) continue;
    const float* data = logits.data_ptr<float>() + b * vocab;
    std::vector<float> row(data, data + vocab);
    const auto token = engine::choose_token(row, params.sampling, rows.seen[i], rng);
    next_ids[b][0] = token;
    rows.seen[i].push_back(token);
    auto& seq = result.sequences[i];
    seq.tokens.push_back(token);
    ++result.generated_tokens;
    if (on_token) on_token(i, token);
    seq.finish_reason = finish_reason(seq.tokens, eos, params);
    if (!seq.finish_reason.empty()) {
      rows.running[i] = false;
      --rows.live;
    }
  }
  return next;
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
    if (params.seed >= 0) s.rng.seed(static_cast<std::uint64_t>(params.seed));
    std::vector<std::int32_t> eos =
        params.eos_ids.empty() ? m.config.eos_token_ids : params.eos_ids;
    if (params.ignore_eos) eos.clear();
    auto [ids, mask] =
        detail::session::pad_left(prompts, params.pad_id, m.config.vocab_size, m.device);
    const auto batch = ids.size(0), prompt_len = ids.size(1);
    GenerateResult result;
    result.sequences.resize(prompts.size());
    for (const auto& p : prompts) result.prompt_tokens += static_cast<std::int64_t>(p.size());
    if (params.max_new_tokens == 0) {
      for (auto& seq : result.sequences) seq.finish_reason = "length";
      return result;
    }
    const auto start = dg::Clock::now();
    engine::KvCache& cache = s.fresh_cache(batch, prompt_len + params.max_new_tokens);
    for (const auto& p : prompts) cache.padded |= static_cast<std::int64_t>(p.size()) < prompt_len;
    const auto w = s.weight_set();
    at::Tensor positions = engine::positions_from_mask(mask);
    at::Tensor logits =
        dg::last_logits(w, engine::forward_hidden(m, w, {ids, positions, mask.eq(1)}, &cache));
    at::Tensor next_pos = positions.narrow(1, prompt_len - 1, 1) + 1;  // [B, 1]
    const at::Tensor step_valid = at::ones({batch, 1}, mask.options().dtype(at::kBool));
    dg::Rows rows{{prompts.begin(), prompts.end()}, std::vector<bool>(prompts.size(), true), batch};
    auto decode_start = start;
    for (int step = 0; rows.live > 0; ++step) {
      job.throw_if_cancelled();
      if (params.collect_step_logits)
        result.step_logits.push_back(detail::session::to_logits(logits));
      const at::Tensor next = dg::choose_next(logits, params, eos, on_token, s.rng, rows, result);
      if (step == 0) {
        result.prefill_seconds = dg::seconds_since(start);
        decode_start = dg::Clock::now();
      }
      job.report("generate", static_cast<double>(step + 1) / params.max_new_tokens);
      if (rows.live == 0) break;
      const auto hidden =
          engine::forward_hidden(m, w, {next.to(m.device), next_pos, step_valid}, &cache);
      logits = dg::last_logits(w, hidden);
      next_pos = next_pos + 1;
    }
    result.decode_seconds = dg::seconds_since(decode_start);
    for (auto& seq : result.sequences) dg::fill_text(params, seq);
    return result;
  });
}

}  // namespace t2
