// Shared by the SVF and LoRA objective tests: four fixed (prompt, completion, advantage)
// sequences of mixed lengths and signs, valid for the tiny training fixture's vocabulary.
#pragma once

#include <t2/training.h>

#include <vector>

namespace t2::test {

inline std::vector<ScoredSequence> scored_sequences() {
  return {{{5, 9, 17, 33}, {40, 41, 2}, 1.0},
          {{7, 8}, {12, 13, 14, 15, 16}, -1.0},
          {{3, 4, 5, 6, 7, 8, 9}, {20}, 0.5},
          {{50}, {60, 61, 62, 63}, -0.25}};
}

}  // namespace t2::test
