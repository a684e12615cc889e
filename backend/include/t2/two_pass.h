// Building blocks of two-pass self-adaptation (Transformer², torch-free, t2_core):
//
//   pass 1   the base model answers a classification prompt (a task of kind classification:
//            t2::classification_system_prompt, tasks.h, is the paper's / reference's text);
//            parse_boxed_category() turns its reply into a category of the
//            expert library, or "other" (= the base weights)
//   pass 2   the answer is generated with the weights adapted by that category's expert
//            (ExpertLibrary: category -> expert file), or, for the few-shot strategy, by a mix of
//            the library's experts whose coefficients cem_search() finds on a few examples
//
// Mixing coefficients from cem_search() become a t2::MixAlpha (t2/experts.h); the search sees
// only plain vectors, e.g. dim = K experts for AlphaShape::PerExpert (one row of 1 per expert).
// A mix whose alpha is all zero (possible: samples are clamped to [lower, upper] and lower is 0
// by default) needs no special case here and is never NaN: for paper experts mix_experts()
// gives z' = 0 (those matrices switched off, as the formula says), for sakana-compat experts it
// turns the column into the identity (m = 1, instead of the reference's 0/0) with a warning.
#pragma once

#include <t2/job.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace t2 {

// ---- pass 1: classification ----

// The category that stands for "no expert": the base weights. Never a library category.
inline constexpr const char* kOtherCategory = "other";

// The content of the first `\boxed{...}` of `text`, read to its matching close brace (nested
// braces are part of the content), untrimmed. nullopt when `text` has no box or the first box is
// never closed (every later box lies inside it then).
std::optional<std::string> first_boxed_content(const std::string& text);

// The paper's rule: the content of the FIRST `\boxed{...}` in `text`, trimmed of whitespace,
// must equal one of `categories` exactly (case-sensitive; categories are lowercase), else
// "other". No box, an unterminated first box, or an unknown label -> "other". Never throws.
std::string parse_boxed_category(const std::string& text,
                                 const std::vector<std::string>& categories);

// ---- the expert library: category -> expert file ----

inline constexpr const char* kExpertLibraryFormat = "t2-expert-library";
inline constexpr int kExpertLibraryFormatVersion = 1;

struct LibraryExpert {
  std::string category;  // pass-1 label it serves: lowercase [a-z0-9_-]+, never "other"
  std::string file;      // t2 expert file; relative to the library file's folder when not absolute
  std::string task;      // optional: the task spec it was trained on (same path rule); "" = none
  // Optional fields of the bundled demo library (t2/demo_experts.h), read and written back so
  // that a rewrite loses nothing; "" = absent (not written). Same path rule.
  std::string name;    // display name; "" = the category
  std::string recipe;  // recipe.json that trained it
  std::string report;  // report.json of its training and evaluation
};

// A mix of the library's experts found by a few-shot search (t2 adapt cem), kept for reuse (chat,
// t2 adapt eval --mix). `file` is the mixed expert written as one t2 expert file.
struct LibraryMix {
  std::string name;                        // unique among the mixes, [a-z0-9_-]+ (like a category)
  std::string file;                        // the mixed expert file (same path rule as experts)
  std::string task;                        // the task spec whose shots it was found on; "" = none
  std::vector<std::string> experts;        // categories, in alpha row order
  std::string shape = "per-expert";        // "per-expert" | "per-layer"
  std::vector<std::vector<double>> alpha;  // one row per expert (1 or L values)
  std::int64_t run_id = 0;                 // the search's run; 0 = none
  std::string selection;  // "held-out" | "sakana-compat" (selected on evaluation items)
};

// File (JSON, paths relative to the file's folder):
//   {"format": "t2-expert-library", "version": 1,
//    "name": "...",              optional, "" when absent
//    "base_fingerprint": "...",  optional: model_fingerprint() of the experts' base model; "" or
//                                absent = unchecked
//    "model": "...",             optional: the base model folder
//    "experts": [{"category", "file", "task"?, "name"?, "recipe"?, "report"?}, ...],
//    "classifier": {"file", "task"?, "name"?, "recipe"?, "report"?},   optional: the pass-1
//                                expert of the classifier strategies (trained on a
//                                classification task over the library's categories)
//    "mixes": [{"name", "file", "task"?, "experts", "shape", "alpha", "run_id"?,
//               "selection"?}, ...]}                                  optional (LibraryMix)
// The bundled demo library (resources/demo/experts/library.json, written by
// build_demo_experts) is this format as it stands: it has no "name" and no "base_fingerprint"
// (read as ""), "model": "../model", and per expert "name" (= its category), "recipe" and
// "report", which map 1:1 onto the fields above. Any other key is an error (a misspelt
// "base_fingerprint" would silently switch the model check off).
struct ExpertLibrary {
  std::string name;
  std::string base_fingerprint;
  std::string model;  // optional base model folder (same path rule as files); "" = none
  std::vector<LibraryExpert> experts;
  LibraryExpert classifier;  // file "" = none; its category is unused ("")
  std::vector<LibraryMix> mixes;
  std::string path;  // the file it was read from ("" when built in memory); not written

  std::vector<std::string> categories() const;                            // in file order
  const LibraryExpert* find(const std::string& category) const noexcept;  // nullptr: none
  const LibraryMix* find_mix(const std::string& name) const noexcept;     // nullptr: none
  bool has_classifier() const noexcept { return !classifier.file.empty(); }
  // Absolute, lexically normal path of `expert.file`: absolute paths stay, relative ones are
  // taken from the folder of `path` (from the current folder when `path` is "").
  std::string resolve(const LibraryExpert& expert) const;
  // The same rule for any path of the library (task, recipe, report, model); "" stays "".
  std::string resolve_path(const std::string& file) const;
};

// Throws InvalidArgument (naming the entry) for an empty, reserved ("other"), non-lowercase
// (not [a-z0-9_-]+) or duplicate category, or an empty file; for a mix: a bad or duplicate
// name, no file, an unknown category, a shape other than per-expert/per-layer, or alpha rows
// that do not match (one per expert, 1 value each for per-expert, one length for all).
void validate_expert_library(const ExpertLibrary& library);

// Reads and validates a library file; sets `path`. Throws Io (cannot read), Corrupt naming the
// file and key (not JSON, format is not "t2-expert-library", a newer or invalid version, a
// missing or mistyped field, an unknown key), InvalidArgument (validate_expert_library).
ExpertLibrary read_expert_library(const std::string& path);

// Validates (InvalidArgument) and writes atomically (write_file_atomically, t2/run_store.h);
// paths are written as given. Throws Io when the file cannot be written.
void write_expert_library(const std::string& path, const ExpertLibrary& library);

// Throws InvalidArgument naming both fingerprints when the library names a base_fingerprint and
// `model_fingerprint` (model_fingerprint(), t2/decomposition.h) is a different one.
void check_library_for_model(const ExpertLibrary& library, const std::string& model_fingerprint);

// ---- the cross-entropy method over mixing coefficients ----

struct CemParams {
  int population = 32;              // members sampled per generation, >= 2
  double elite_ratio = 0.2;         // elites = max(1, round(population * elite_ratio)); (0, 1]
  double init_std = 0.5;            // initial sigma of every dimension, >= 0
  int generations = 50;             // most generations, >= 1
  int patience = 0;                 // stop after this many generations in a row without the elites'
                                    // mean fitness improving by > min_improvement; 0 = never
  double min_improvement = 1e-9;    // finite, >= 0
  std::uint64_t seed = 0;           // same seed and fitness -> same result
  double lower = 0.0, upper = 1.0;  // every sample is clamped to [lower, upper]; lower < upper
};

struct CemGeneration {
  int generation = 0;               // 1-based
  std::vector<double> fitness;      // of each member, in population order, as returned
  std::vector<double> elite_mean;   // the new mean (mean of the elites, per dimension)
  std::vector<double> elite_std;    // the new sigma (population std of the elites, / n_elite)
  std::vector<double> best;         // best member seen so far (all generations)
  double best_fitness = 0.0;        // its fitness
  double elite_fitness_mean = 0.0;  // mean fitness of this generation's elites
  double seconds = 0.0;             // wall time of this generation (fitness included)
};

struct CemResult {
  std::vector<double> best;  // best member ever evaluated
  double best_fitness = 0.0;
  int generations_run = 0;
  bool stopped_early = false;  // patience ran out before params.generations
  std::vector<CemGeneration> history;
};

// The paper's / reference's CEM, maximising `fitness`. mu = init_mean (empty: 1/dim each),
// sigma = init_std each. Each generation: sample members x = clamp(mu + sigma * N(0, 1), lower,
// upper) (std::mt19937_64 seeded with params.seed; N(0, 1) by Box-Muller on its 53-bit uniform
// doubles, so a seed gives the same samples with every standard library); evaluate the whole
// population with ONE call of `fitness` (it returns one value per member, in order, so the
// caller can batch); rank by fitness descending (stable: ties keep population order); mu, sigma
// = per-dimension mean and population std of the top n_elite members. A NaN or infinite
// fitness (+inf included) ranks as -infinity: it never wins while a finite value exists and,
// since members themselves are always finite, never makes mu or sigma NaN; best_fitness and
// elite_fitness_mean are -inf when no finite value ranked there. Early stop: see patience.
// `on_generation` runs after each generation (same thread). Progress stage "cem" (fraction =
// generations done / params.generations); job.throw_if_cancelled() before each generation.
// Throws InvalidArgument (dim 0, a CemParams field out of range naming it, init_mean of the wrong
// size or not finite, `fitness` returning the wrong number of values), Cancelled, and whatever
// `fitness` or `on_generation` throw.
CemResult cem_search(
    std::size_t dim, const std::vector<double>& init_mean,
    const std::function<std::vector<double>(const std::vector<std::vector<double>>& population)>&
        fitness,
    const CemParams& params, const std::function<void(const CemGeneration&)>& on_generation = {},
    const JobContext& job = {});

}  // namespace t2
