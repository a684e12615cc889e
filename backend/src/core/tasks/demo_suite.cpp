// The demo suite on disk: task folders with JSONL splits and a spec each, a suite.json manifest,
// and the lookup of what ships under resources/.
#include <t2/demo_suite.h>
#include <t2/error.h>
#include <t2/tasks.h>

#include "core/tasks/demo_rng.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace t2 {
namespace detail::demo {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr int kGeneratorVersion = 1;

// The suite's tasks: folder name, difficulty, and whether it is a training task.
const MathDifficulty kMathEasy{};
const MathDifficulty kMathHard{3, 4, 20, 100, true};
const CodeDifficulty kCodeEasy{};
const CodeDifficulty kCodeHard{2, 3, 4, 6, true};
const ReasoningDifficulty kReasoningEasy{};
const ReasoningDifficulty kReasoningHard{4, 5, 4, true};

void write_text(const fs::path& path, const std::string& text, std::vector<std::string>& files) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    throw Error(ErrorKind::Io, "cannot write " + path.string() + "; check permissions and space");
  files.push_back(path.string());
}

std::string jsonl(const std::vector<std::string>& lines, std::size_t begin, std::size_t end) {
  std::string text;
  for (std::size_t i = begin; i < end; ++i) text += lines[i] + "\n";
  return text;
}

Json spec_for(const std::string& folder, const std::vector<std::string>& splits) {
  const bool hard = folder.find("-hard") != std::string::npos;
  const std::string family = folder.substr(0, folder.find('-'));
  Json spec;
  spec["name"] = "demo-" + folder;
  Json data = Json::object();
  for (const auto& s : splits) data[s] = s + ".jsonl";
  if (family == "math") {
    spec["description"] = hard ? "Demo math, unseen: 3-4 step word problems with x2/x3, up to 100"
                               : "Demo math: 1-2 step integer word problems, single-digit operands";
    spec["kind"] = "gsm8k";
    spec["category"] = "math";
    spec["data"] = data;
    spec["prompt"] = {{"user", "{question}"}};
    spec["generation"] = {{"max_new_tokens", hard ? 96 : 48}, {"stop", Json::array()}};
    spec["extractor"] = {{"kind", "last-number"}};
  } else if (family == "code") {
    spec["description"] = hard ? "Demo code, unseen: predict the output of 2-3 composed operations"
                               : "Demo code: predict the output of one string/list operation";
    spec["kind"] = "generic";
    spec["category"] = "code";
    spec["data"] = data;
    spec["fields"] = {{"question", "question"}, {"answer", "answer"}};
    spec["prompt"] = {{"user", "{question}"}};
    spec["generation"] = {{"max_new_tokens", 24}, {"stop", {"\n"}}};
    spec["extractor"] = {{"kind", "exact"}, {"trim", true}, {"case_sensitive", true}};
  } else {
    spec["description"] = hard ? "Demo reasoning, unseen: 4-5 people, 4 options, ordinal questions"
                               : "Demo reasoning: order 2-3 people, 3 options, answer a letter";
    spec["kind"] = "multiple-choice";
    spec["category"] = "reasoning";
    spec["data"] = data;
    spec["fields"] = {{"question", "question"}, {"choices", "choices"}, {"answer", "answerKey"}};
    spec["prompt"] = {{"user", "{question}\n{choices}"}};
    spec["generation"] = {{"max_new_tokens", 8}, {"stop", {"\n"}}};
    spec["extractor"] = {{"kind", "choice-letter"}};
  }
  spec["reward"] = {{"correct", 1}, {"wrong", -1}};
  spec["metric"] = "accuracy";
  return spec;
}

std::vector<std::string> generate(const std::string& folder, int count, std::uint64_t seed) {
  const std::uint64_t s = seed ^ hash_name(folder);
  if (folder == "math") return generate_math_items(kMathEasy, count, s);
  if (folder == "math-hard") return generate_math_items(kMathHard, count, s);
  if (folder == "code") return generate_code_items(kCodeEasy, count, s);
  if (folder == "code-hard") return generate_code_items(kCodeHard, count, s);
  if (folder == "reasoning") return generate_reasoning_items(kReasoningEasy, count, s);
  return generate_reasoning_items(kReasoningHard, count, s);
}

// The classifier's question text: what the task's prompt shows the model as the user turn.
std::string user_text(const Task& task, const std::string& line) {
  const TaskItem item = task.make_item(line, "", task.spec().name);
  return task.build_prompt(item).messages.back().content;
}

}  // namespace detail::demo

DemoSuite build_demo_suite(const std::string& out_dir, const DemoSuiteParams& p,
                           const JobContext& job) {
  using namespace detail::demo;
  if (p.train_items < 1 || p.validation_items < 1 || p.test_items < 1 ||
      p.unseen_validation_items < 1 || p.unseen_test_items < 1 || p.classify_per_category < 5)
    throw Error(ErrorKind::InvalidArgument, "demo suite sizes must be >= 1 (classify >= 5)");
  DemoSuite suite;
  std::error_code ec;
  const fs::path root = fs::absolute(out_dir, ec).lexically_normal();
  fs::create_directories(root, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot create " + root.string() + ": " + ec.message());
  suite.dir = root.string();

  const std::vector<std::string> training = {"math", "code", "reasoning"};
  const std::vector<std::string> unseen = {"math-hard", "code-hard", "reasoning-hard"};
  // Per split: the classifier takes the first items of each training task's same split.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      classify;  // split -> (text, label)
  int done = 0;
  for (const auto& folder : training) {
    job.throw_if_cancelled();
    job.report("demo", done++ / 7.0, "generating " + folder);
    const int n_test = p.test_items, n_val = p.validation_items, n_train = p.train_items;
    const auto items = generate(folder, n_test + n_val + n_train, p.seed);
    fs::create_directories(root / folder);
    const std::vector<std::string> splits = {"test", "train", "validation"};
    const Json spec = spec_for(folder, splits);
    write_text(root / folder / "task.json", spec.dump(2) + "\n", suite.files);
    const std::size_t bounds[] = {0, (std::size_t)n_test, (std::size_t)(n_test + n_val),
                                  (std::size_t)(n_test + n_val + n_train)};
    write_text(root / folder / "test.jsonl", jsonl(items, bounds[0], bounds[1]), suite.files);
    write_text(root / folder / "validation.jsonl", jsonl(items, bounds[1], bounds[2]), suite.files);
    write_text(root / folder / "train.jsonl", jsonl(items, bounds[2], bounds[3]), suite.files);
    suite.training_tasks.push_back((root / folder / "task.json").string());

    const Task task = Task::from_json(spec.dump(), (root / folder / "task.json").string());
    const int per[] = {p.classify_per_category / 5, p.classify_per_category / 5,
                       p.classify_per_category};  // test, validation, train
    const char* names[] = {"test", "validation", "train"};
    for (int s = 0; s < 3; ++s)
      for (std::size_t k = 0; k < std::min<std::size_t>(per[s], bounds[s + 1] - bounds[s]); ++k)
        classify[names[s]].push_back({user_text(task, items[bounds[s] + k]), folder});
  }
  for (const auto& folder : unseen) {
    job.throw_if_cancelled();
    job.report("demo", done++ / 7.0, "generating " + folder);
    const auto items = generate(folder, p.unseen_test_items + p.unseen_validation_items, p.seed);
    fs::create_directories(root / folder);
    write_text(root / folder / "task.json", spec_for(folder, {"test", "validation"}).dump(2) + "\n",
               suite.files);
    const std::size_t split = static_cast<std::size_t>(p.unseen_test_items);
    write_text(root / folder / "test.jsonl", jsonl(items, 0, split), suite.files);
    write_text(root / folder / "validation.jsonl", jsonl(items, split, items.size()), suite.files);
    suite.unseen_tasks.push_back((root / folder / "task.json").string());
  }

  job.report("demo", done / 7.0, "writing the classification task");
  fs::create_directories(root / "classify");
  Json cls;
  cls["name"] = "demo-classify";
  cls["description"] = "Pass-1 classification (paper prompt): which expert a demo question needs";
  cls["kind"] = "classification";
  cls["category"] = "other";
  cls["data"] = {
      {"test", "test.jsonl"}, {"train", "train.jsonl"}, {"validation", "validation.jsonl"}};
  cls["labels"] = {"code", "math", "reasoning", "other"};
  cls["generation"] = {{"max_new_tokens", 32}, {"stop", {"\n"}}};
  cls["reward"] = {{"correct", 1}, {"wrong", -1}};
  cls["metric"] = "accuracy";
  write_text(root / "classify" / "task.json", cls.dump(2) + "\n", suite.files);
  for (const auto& [split, rows] : classify) {
    // Round-robin over categories so that every prefix of a split is balanced.
    std::vector<std::string> lines;
    const std::size_t per = rows.size() / training.size();
    for (std::size_t k = 0; k < per; ++k)
      for (std::size_t c = 0; c < training.size(); ++c) {
        const auto& row = rows[c * per + k];
        lines.push_back(Json{{"question", row.first}, {"label", row.second}}.dump());
      }
    write_text(root / "classify" / (split + ".jsonl"), jsonl(lines, 0, lines.size()), suite.files);
  }
  suite.classification_task = (root / "classify" / "task.json").string();

  Json manifest;
  manifest["generator"] = "t2 demo build";
  manifest["generator_version"] = kGeneratorVersion;
  manifest["seed"] = p.seed;
  manifest["sizes"] = {{"train", p.train_items},
                       {"validation", p.validation_items},
                       {"test", p.test_items},
                       {"unseen_validation", p.unseen_validation_items},
                       {"unseen_test", p.unseen_test_items},
                       {"classify_train_per_category", p.classify_per_category}};
  manifest["training_tasks"] = {"math/task.json", "code/task.json", "reasoning/task.json"};
  manifest["unseen_tasks"] = {"math-hard/task.json", "code-hard/task.json",
                              "reasoning-hard/task.json"};
  manifest["classification_task"] = "classify/task.json";
  write_text(root / "suite.json", manifest.dump(2) + "\n", suite.files);
  std::sort(suite.files.begin(), suite.files.end());
  job.report("demo", 1.0, "wrote " + std::to_string(suite.files.size()) + " files to " + suite.dir);
  return suite;
}

}  // namespace t2
