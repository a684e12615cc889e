// build_demo_experts (t2/demo_experts.h): train each demo expert from its recipe with the engine's
// trainer, evaluate it beside the base model on its task's whole test split, and write the
// expert, its report and the library manifest. Uses only the public engine API (no torch here).
#include <t2/adaptation.h>
#include <t2/chat_template.h>
#include <t2/decomposition.h>
#include <t2/demo_experts.h>
#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/run_store.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>
#include <t2/training.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace t2 {
namespace detail::demo_experts {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// The library's experts (one per training task of the suite), then the pass-1 classifier
// expert of the classifier strategies, trained on the suite's classification task.
const std::vector<std::string> kNames = {"math", "code", "reasoning", "classifier"};
const std::string kClassifier = "classifier";

std::string task_folder(const std::string& name) { return name == kClassifier ? "classify" : name; }

Json default_recipe(const std::string& name) {
  Json r;
  r["comment"] =
      "How the bundled " + name +
      " expert is trained: TrainParams of the preset with these overrides (t2/training.h). "
      "Rebuild with `t2 demo build --experts " +
      name + "`; `command` is the same run by hand.";
  r["task"] = "../../tasks/" + task_folder(name) + "/task.json";
  r["category"] = name;
  r["preset"] = "recommended";
  r["overrides"] = {{"seed", 1}};
  r["command"] = "t2 train resources/demo/model --task resources/demo/tasks/" + task_folder(name) +
                 "/task.json --preset recommended --seed 1";
  return r;
}

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::Io, "cannot read " + path.string());
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::Corrupt, path.string() + " is not valid JSON (" + e.what() +
                                        "); fix it or delete it to "
                                        "get the default recipe back");
  }
}

// The recipe of `name` (written with the default when missing).
Json recipe_for(const fs::path& dir, const std::string& name) {
  const fs::path path = dir / name / "recipe.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(dir / name, ec);
    write_file_atomically(path.string(), default_recipe(name).dump(2) + "\n");
  }
  return read_json(path);
}

TrainParams params_from_recipe(const Json& recipe, const fs::path& recipe_dir,
                               const std::string& where) {
  try {
    TrainParams p = train_preset(recipe.value("preset", std::string("recommended")));
    Json j = Json::parse(to_json(p));
    const Json overrides = recipe.value("overrides", Json::object());  // kept alive: items()
    for (const auto& [key, value] : overrides.items()) j[key] = value;
    j["task"] = (recipe_dir / recipe.at("task").get<std::string>()).lexically_normal().string();
    return train_params_from_json(j.dump());
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::InvalidArgument, where + ": " + e.what() +
                                                " (a recipe needs \"task\", optionally "
                                                "\"preset\" and \"overrides\")");
  } catch (const Error& e) {
    throw Error(e.kind(), where + ": " + e.what());
  }
}

Json eval_json(const StoredEvaluation& e) {
  return {
      {"n", e.report.n},           {"correct", e.report.correct}, {"accuracy", e.report.accuracy},
      {"ci_low", e.report.ci_low}, {"ci_high", e.report.ci_high}, {"run_id", e.run_id}};
}

// Correct answers among the first n items (items are in dataset order).
std::int64_t correct_in_first(const EvalReport& r, std::size_t n) {
  std::int64_t c = 0;
  for (std::size_t i = 0; i < std::min(n, r.items.size()); ++i) c += r.items[i].correct ? 1 : 0;
  return c;
}

// The library manifest from the experts present; the classifier (when trained) goes into its
// own key, and mixes saved by `t2 adapt cem` into the old manifest are kept.
void write_library(const fs::path& dir) {
  Json lib;
  lib["format"] = "t2-expert-library";
  lib["version"] = 1;
  lib["model"] = "../model";
  lib["experts"] = Json::array();
  std::error_code ec;
  for (const auto& name : kNames) {
    if (!fs::is_regular_file(dir / name / (name + ".safetensors"), ec)) continue;
    const Json recipe = read_json(dir / name / "recipe.json");
    Json entry = {
        {"name", name},
        {"category", recipe.value("category", name)},
        {"file", name + "/" + name + ".safetensors"},
        {"task",
         (fs::path(name) / recipe.at("task").get<std::string>()).lexically_normal().string()},
        {"recipe", name + "/recipe.json"},
        {"report", name + "/report.json"}};
    if (name == kClassifier) {
      entry.erase("category");
      lib["classifier"] = entry;
    } else {
      lib["experts"].push_back(entry);
    }
  }
  if (fs::is_regular_file(dir / "library.json", ec)) {
    const Json old = read_json(dir / "library.json");
    if (old.contains("mixes")) lib["mixes"] = old["mixes"];
  }
  write_file_atomically((dir / "library.json").string(), lib.dump(2) + "\n");
}

}  // namespace detail::demo_experts

std::vector<DemoExpertBuilt> build_demo_experts(const DemoExpertsParams& params,
                                                const JobContext& job) {
  using namespace detail::demo_experts;
  const fs::path resources = fs::absolute(params.resources_dir).lexically_normal();
  const fs::path dir = params.out_dir.empty() ? resources / "demo" / "experts"
                                              : fs::absolute(params.out_dir).lexically_normal();
  const std::string model_dir = (resources / "demo" / "model").string();
  std::vector<std::string> names = params.only.empty() ? kNames : params.only;
  for (const auto& n : names)
    if (std::find(kNames.begin(), kNames.end(), n) == kNames.end())
      throw Error(
          ErrorKind::InvalidArgument,
          "no demo expert \"" + n + "\"; the demo has math, code, reasoning and classifier");
  if (params.db_path.empty())
    throw Error(ErrorKind::InvalidArgument, "building the demo experts needs a run store (--db)");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot create " + dir.string() + ": " + ec.message());

  // Recipes first: a malformed one fails before hours of training.
  std::vector<TrainParams> train_params;
  std::vector<Json> recipes;
  for (const auto& name : names) {
    recipes.push_back(recipe_for(dir, name));
    train_params.push_back(
        params_from_recipe(recipes.back(), dir / name, (dir / name / "recipe.json").string()));
  }

  RunStore store(params.db_path);
  const Tokenizer tokenizer = Tokenizer::from_model_dir(model_dir);
  const ChatTemplate chat = ChatTemplate::from_model_dir(model_dir);
  Session session(Model::load(model_dir, LoadParams{}, job));
  EvalRunInfo info;
  info.model_dir = model_dir;
  info.model_fingerprint = model_fingerprint(model_dir);
  info.architecture = session.model().config().architecture;

  std::vector<DemoExpertBuilt> built;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    job.throw_if_cancelled();
    job.report("demo-experts", static_cast<double>(i) / static_cast<double>(names.size()),
               "training the " + name + " expert");
    const fs::path final_file = dir / name / (name + ".safetensors");
    const fs::path partial = dir / name / (name + ".safetensors.partial");
    TrainOptions options;
    options.model_dir = model_dir;
    options.db_path = params.db_path;
    options.out_file = partial.string();
    options.run_name = "demo expert " + name;
    Json curve = Json::array();
    double reward_first = 0, reward_last = 0, train_acc_first = 0, train_acc_last = 0;
    options.on_iteration = [&](const TrainIteration& it) {
      if (it.iteration == 1) {
        reward_first = it.reward_mean;
        train_acc_first = it.train_accuracy;
      }
      reward_last = it.reward_mean;
      train_acc_last = it.train_accuracy;
      if (it.validation_accuracy >= 0) curve.push_back({it.iteration, it.validation_accuracy});
    };
    TrainReport trained;
    try {
      trained = train_expert(train_params[i], options, job);
    } catch (...) {  // a cancelled or failed run leaves no half-made expert in the library
      fs::remove(partial, ec);
      throw;
    }

    const Task task = Task::load(train_params[i].task);
    EvalParams eval;  // the whole test split, greedy, as t2 eval
    info.strategy = Strategy::base();
    info.run_name = "demo base " + task.spec().name + " test";
    const StoredEvaluation base =
        evaluate_and_store(session, tokenizer, &chat, task, eval, &store, info, job);
    const LoadedExpert loaded = load_expert_file(model_dir, partial.string(), false, job);
    ApplyParams apply;
    apply.expected_tokens = 1e9;  // one expert for a whole split: recompose
    apply_expert(session, loaded.decomposition, loaded.expert, apply);
    info.strategy = Strategy::expert(final_file.string());
    info.run_name = "demo expert " + name + " " + task.spec().name + " test";
    StoredEvaluation adapted;
    try {
      adapted = evaluate_and_store(session, tokenizer, &chat, task, eval, &store, info, job);
    } catch (...) {
      clear_expert(session, loaded.decomposition);
      fs::remove(partial, ec);
      throw;
    }
    clear_expert(session, loaded.decomposition);

    Json recorded_params = Json::parse(to_json(train_params[i]));
    recorded_params["task"] = recipes[i].at("task");  // relative, as in the recipe
    Json report;
    report["expert"] = name + ".safetensors";
    report["task"] = recipes[i].at("task");
    report["train"] = {{"run_id", trained.run_id},
                       {"run_name", options.run_name},
                       {"iterations", trained.iterations_done},
                       {"best_iteration", trained.best_iteration},
                       {"seconds", trained.seconds},
                       {"trainable_parameters", trained.trainable_parameters},
                       {"params", recorded_params}};
    report["curves"] = {{"validation_accuracy", curve},
                        {"reward_mean_first", reward_first},
                        {"reward_mean_last", reward_last},
                        {"train_accuracy_first", train_acc_first},
                        {"train_accuracy_last", train_acc_last}};
    report["validation"] = {{"base", trained.base_validation_accuracy},
                            {"best", trained.best_validation_accuracy}};
    report["test"] = {
        {"split", eval.split}, {"base", eval_json(base)}, {"expert", eval_json(adapted)}};
    constexpr std::size_t kSlice = 50;
    report["test_first_50"] = {{"n", std::min<std::size_t>(kSlice, adapted.report.items.size())},
                               {"base_correct", correct_in_first(base.report, kSlice)},
                               {"expert_correct", correct_in_first(adapted.report, kSlice)}};
    if (params.threads > 0) report["threads"] = params.threads;
    // The expert replaces the shipped one only now, with its report beside it.
    fs::rename(partial, final_file, ec);
    if (ec)
      throw Error(ErrorKind::Io, "cannot move " + partial.string() + " to " + final_file.string() +
                                     ": " + ec.message());
    write_file_atomically((dir / name / "report.json").string(), report.dump(2) + "\n");
    write_library(dir);

    DemoExpertBuilt b;
    b.name = name;
    b.file = final_file.string();
    b.train_run_id = trained.run_id;
    b.train_seconds = trained.seconds;
    b.base_test_accuracy = base.report.accuracy;
    b.test_accuracy = adapted.report.accuracy;
    b.test_items = adapted.report.n;
    built.push_back(b);
  }
  write_library(dir);
  job.report("demo-experts", 1.0,
             "wrote " + std::to_string(built.size()) + " experts to " + dir.string());
  return built;
}

}  // namespace t2
