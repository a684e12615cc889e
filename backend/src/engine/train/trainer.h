// Engine-internal: the training loop's progress state and its checkpoint file.
#pragma once

#include "trainable.h"

#include <string>

namespace t2::engine::train {

struct TrainProgressState {
  int iteration = 0;             // iterations completed
  int best_iteration = 0;        // iteration of the best validation accuracy (0 = initial)
  double best_accuracy = -1.0;   // -1 = not evaluated yet
  double base_accuracy = -1.0;   // validation accuracy of the initial expert
  double elapsed_seconds = 0.0;  // training time before this process
};

// Writes values + Adam moments + progress to `path` atomically (safetensors, F32): for every named
// parameter KEY of the state, tensors values.KEY, exp_avg.KEY, exp_avg_sq.KEY (SVF: KEY = the
// matrix name; LoRA: "<matrix name>.lora_A" / ".lora_B").
void write_checkpoint(const std::string& path, const Trainable& state, const Optimizer& optimizer,
                      const TrainProgressState& progress);
// Restores values and moments into `state`/`optimizer`; Corrupt when the file does not match.
TrainProgressState read_checkpoint(const std::string& path, Trainable& state, Optimizer& optimizer);

}  // namespace t2::engine::train
