// The bundled expert library of the demo (<resources>/demo/experts): one SVF expert per training
// domain of the demo suite, and the pass-1 classifier expert (trained on the suite's
// classification task, tasks/classify), each trained by `t2 train` from its recipe, with a report
// of how it was made and how well it does. `t2 demo build --experts` runs build_demo_experts().
//
// Layout (paths in JSON files are relative to the file's folder):
//   experts/library.json       {"format": "t2-expert-library", "version": 1, "model": "../model",
//                               "experts": [{name, category, file, task, recipe, report}, ...],
//                               "classifier": {name, file, task, recipe, report},
//                               "mixes": [...] kept from the old manifest (t2 adapt cem)}
//   experts/<name>/recipe.json {"task": spec, "category", "preset", "overrides": {TrainParams
//                               fields}, "command": the equivalent `t2 train` line}
//   experts/<name>/<name>.safetensors   the best expert of the run (t2 expert file)
//   experts/<name>/report.json  the training run (id, seconds, iterations, validation curve,
//                               reward first/last), test accuracy of base and expert on the whole
//                               test split and on its first 50 items, the eval runs' ids
// A recipe that is missing is written with the default (preset "recommended", seed 1).
#pragma once

#include <t2/job.h>

#include <cstdint>
#include <string>
#include <vector>

namespace t2 {

struct DemoExpertsParams {
  std::string resources_dir;  // the demo's model and tasks come from <resources>/demo
  std::string out_dir;        // the library folder; "" = <resources>/demo/experts
  std::vector<std::string>
      only;             // names to (re)build (math, code, reasoning, classifier); {} = all
  std::string db_path;  // the run store that keeps the training and evaluation runs
  int threads = 0;      // informational (recorded in the reports); 0 = not recorded
};

struct DemoExpertBuilt {
  std::string name;
  std::string file;  // the expert file written
  std::int64_t train_run_id = 0;
  double train_seconds = 0.0;
  double base_test_accuracy = 0.0;  // whole test split of its task
  double test_accuracy = 0.0;
  std::int64_t test_items = 0;
};

// Trains and evaluates the experts named in params.only (all three by default) and rewrites
// library.json listing every expert folder of the library that has an expert file. Progress
// stages: the trainer's and evaluation's, plus "demo-experts" between experts. Throws
// InvalidArgument (unknown name, malformed recipe naming its key), Io, Cancelled (an expert
// already finished stays in the library; the one in progress is not written).
std::vector<DemoExpertBuilt> build_demo_experts(const DemoExpertsParams& params,
                                                const JobContext& job = {});

}  // namespace t2
