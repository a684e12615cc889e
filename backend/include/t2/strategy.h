// How a Session's weights are adapted for a job: the one vocabulary that evaluation, generation,
// the stored runs and the front ends use (the engine applies it with t2::apply_strategy,
// t2/adaptation.h). Torch-free (t2_core), included from t2/evaluation.h.
//
//   base     the model's own weights
//   expert   one SVF expert: sigma' = adapted_sigma(values, sigma) on its target matrices
//   mix      K SVF experts of one target set and parametrization, z' = sum_k alpha_k z_k
//            (t2::mix_experts, one weight per expert)
//   adapter  a LoRA adapter folder (PEFT format), merged into the weights
//   prompt   two passes per question (t2/adapt.h): pass 1 asks the base model the classification
//            prompt, pass 2 answers with the expert of the category it names (files: the
//            expert library file); not a fixed adaptation, so apply_strategy refuses it
//   classifier       as prompt, but pass 1 runs with the library's classifier expert
//   classifier-soft  pass 1 scores each category with the classifier expert; pass 2 answers with
//                    the experts mixed by those probabilities (one mix per question)
//   few-shot a mix of the library's experts found by CEM on a few examples of the task
//   (t2/adapt.h),
//            saved as one expert file (files: that file); applied like an expert
#pragma once

#include <string>
#include <vector>

namespace t2 {

enum class StrategyKind { Base, Expert, Mix, Adapter, Prompt, Classifier, ClassifierSoft, FewShot };
// "base" | "expert" | "mix" | "adapter" | "prompt" | "classifier" | "classifier-soft" | "few-shot"
const char* to_string(StrategyKind kind) noexcept;

struct Strategy {
  StrategyKind kind = StrategyKind::Base;
  // Expert: one expert file (a t2 expert file, or a JSON {parameter name: [z]}); Mix: two or
  // more expert files; Adapter: one LoRA adapter folder; Base: none.
  std::vector<std::string> files;
  std::vector<double> weights;  // Mix: alpha_k, one per file; otherwise empty
  bool allow_transfer = false;  // Expert/Mix: map experts made for another model (layer, part)

  static Strategy base();
  static Strategy expert(std::string file, bool allow_transfer = false);
  static Strategy mix(std::vector<std::string> files, std::vector<double> weights);
  static Strategy adapter(std::string folder);
  static Strategy prompt(std::string library_file);
  static Strategy classifier(std::string library_file, bool soft = false);
  static Strategy few_shot(std::string mix_file);
  // The front ends' single "expert" field: "" = base, an existing folder = adapter, anything
  // else = expert.
  static Strategy from_path(const std::string& expert_or_adapter);
};

// Throws InvalidArgument saying what to give when the files or weights do not fit the kind
// (base: none; expert/adapter/prompt/classifier/few-shot: exactly one; mix: two or more, one
// finite weight per file).
void validate_strategy(const Strategy& strategy);

// "base", "expert:<file name>", "adapter:<folder name>", "prompt", "classifier",
// "classifier-soft", "few-shot:<file name>",
// or "mix:<a1>*<name1>+<a2>*<name2>..."
// (weights printed with %g); the name stored with evaluations and shown in charts.
std::string strategy_label(const Strategy& strategy);

}  // namespace t2
