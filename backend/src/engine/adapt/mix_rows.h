// Engine-internal: mixes of a library's experts applied one per batch row (per-row factored
// scales, Session::Impl::per_row_batch), and teacher-forced scoring of continuations. Shared by
// the few-shot search (a CEM population per batch) and classifier-soft dispatch (one mix per
// question).
#pragma once

#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/decomposition.h>

#include "../model/session_impl.h"

#include <optional>

namespace t2::engine {

// The library's experts for the model, their decomposition and the alpha layout.
struct Mixer {
  std::vector<std::string> categories;
  std::vector<ExpertVectors> experts;
  std::optional<Decomposition> decomposition_;
  const Decomposition& decomposition() const { return *decomposition_; }
  std::vector<std::int64_t> layers;  // distinct layers of the experts' matrices, ascending
  AlphaShape shape = AlphaShape::PerExpert;
  bool with_identity = false;  // the last expert is the identity ("other": the base weights)

  std::size_t per_expert() const { return shape == AlphaShape::PerLayer ? layers.size() : 1; }
  std::size_t dim() const { return categories.size() * per_expert(); }
  MixAlpha alpha(const std::vector<double>& member) const {
    if (member.size() != dim())
      throw Error(ErrorKind::InvalidArgument,
                  "a mix of " + std::to_string(categories.size()) + " experts " +
                      (shape == AlphaShape::PerLayer
                           ? "per layer needs " + std::to_string(dim()) + " values (experts x " +
                                 std::to_string(layers.size()) + " layers)"
                           : "needs " + std::to_string(dim()) + " values (one per expert)") +
                      ", got " + std::to_string(member.size()));
    MixAlpha a;
    a.shape = shape;
    const std::size_t n = per_expert();
    for (std::size_t k = 0; k < categories.size(); ++k)
      a.rows.emplace_back(member.begin() + static_cast<std::ptrdiff_t>(k * n),
                          member.begin() + static_cast<std::ptrdiff_t>((k + 1) * n));
    return a;
  }
};

// The library's experts for the model (all of one target set); with_identity appends the
// identity expert as the last one (category "other"). InvalidArgument for an empty library, a
// per-matrix shape or experts of different target sets.
Mixer load_mixer(const std::string& model_dir, const ExpertLibrary& library, AlphaShape shape,
                 const JobContext& job, bool with_identity = false);

// sigma' of every target of the decomposition under one member's mix (mix_experts).
std::vector<std::vector<float>> member_sigmas(const Mixer& mx, const std::vector<double>& member,
                                              std::vector<std::string>* warnings = nullptr);

// Sets every target of mx's decomposition on `s` as a per-row factored scale: row
// i * repeat + j uses sigmas[i] (j < repeat). Clears per-row scales of another row count first.
void set_row_sigmas(Session::Impl& s, const Mixer& mx,
                    const std::vector<std::vector<std::vector<float>>>& sigmas, std::size_t repeat);

// Rows per per-row batch when the caller gives none: the largest multiple of `group` (>= group)
// whose biggest activation ([rows, longest_prompt, max(intermediate, hidden)] float32) stays
// under ~24 MiB, below glibc's 32 MiB mmap threshold (bigger ones page-fault a fresh mapping on
// every op: measured 1.3x slower per CEM generation on the demo).
std::size_t auto_rows(const ModelConfig& config, std::size_t longest_prompt, std::size_t group);

// A prompt and a continuation to score (teacher-forced).
struct Continuation {
  std::vector<std::int32_t> prompt, answer;
};

// Sum of log p(answer token) per row of prompt + answer (left-padded), with the session's
// weights (per-row scales included): one forward.
std::vector<double> continuation_log_probs(Session::Impl& s,
                                           const std::vector<const Continuation*>& rows);

// The same, continuing from a batch cache that holds each row's prompt (the after_prefill hook
// of generate(), Session::Impl): only the answers are encoded. `last` [R, V] float32: the logits
// of each prompt's last token (they predict the first answer token). Leaves its columns in the
// cache (the caller resets the length). Returns false (nothing scored) when the answers do not
// fit the cache's free columns.
bool continuation_log_probs_on_cache(Session::Impl& s, const std::vector<const Continuation*>& rows,
                                     KvCache& cache, const std::vector<std::int64_t>& positions,
                                     const at::Tensor& last, std::vector<double>& out);

}  // namespace t2::engine
