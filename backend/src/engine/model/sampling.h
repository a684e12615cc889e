// Choosing the next token from one row of logits (HF's processor order: repetition penalty,
// then temperature, top-k, top-p, then sampling). Internal, torch-free.
#pragma once

#include <t2/model.h>

#include <cstdint>
#include <random>
#include <vector>

namespace t2::engine {

// Throws InvalidArgument naming the field for out-of-range parameters.
void validate_sampling(const SamplingParams& params);

// `logits` (vocab floats) is modified in place. `seen`: prompt + generated ids (repetition
// penalty). Greedy (temperature 0) returns the first index of the maximum.
std::int32_t choose_token(std::vector<float>& logits, const SamplingParams& params,
                          const std::vector<std::int32_t>& seen, std::mt19937_64& rng);

}  // namespace t2::engine
