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

// Writes one suite; each method writes one task folder (or the manifest).
class SuiteWriter {
 public:
  SuiteWriter(const fs::path& root, const DemoSuiteParams& p) : root_(root), p_(p) {
    suite_.dir = root.string();
  }

  void training_task(const std::string& folder) {
    const std::size_t n_test = p_.test_items, n_val = p_.validation_items;
    const auto items =
        generate(folder, p_.test_items + p_.validation_items + p_.train_items, p_.seed);
    const std::size_t bounds[] = {0, n_test, n_test + n_val, items.size()};
    const Json spec = spec_for(folder, {"test", "train", "validation"});
    const fs::path spec_path = write_folder(folder, spec);
    write(root_ / folder / "test.jsonl", jsonl(items, bounds[0], bounds[1]));
    write(root_ / folder / "validation.jsonl", jsonl(items, bounds[1], bounds[2]));
    write(root_ / folder / "train.jsonl", jsonl(items, bounds[2], bounds[3]));
    suite_.training_tasks.push_back(spec_path.string());
    // The classifier takes the first items of the same split of each training task.
    const Task task = Task::from_json(spec.dump(), spec_path.string());
    const std::size_t per[] = {static_cast<std::size_t>(p_.classify_per_category / 5),
                               static_cast<std::size_t>(p_.classify_per_category / 5),
                               static_cast<std::size_t>(p_.classify_per_category)};
    const char* names[] = {"test", "validation", "train"};
    for (int s = 0; s < 3; ++s)
      for (std::size_t k = 0; k < std::min(per[s], bounds[s + 1] - bounds[s]); ++k)
        classify_[names[s]].push_back({user_text(task, items[bounds[s] + k]), folder});
  }

  void unseen_task(const std::string& folder) {
    const auto items = generate(folder, p_.unseen_test_items + p_.unseen_validation_items, p_.seed);
    const fs::path spec_path = write_folder(folder, spec_for(folder, {"test", "validation"}));
    const std::size_t split = static_cast<std::size_t>(p_.unseen_test_items);
    write(root_ / folder / "test.jsonl", jsonl(items, 0, split));
    write(root_ / folder / "validation.jsonl", jsonl(items, split, items.size()));
    suite_.unseen_tasks.push_back(spec_path.string());
  }

  void classification_task() {
    Json cls;
    cls["name"] = "demo-classify";
    cls["description"] = "Pass-1 classification (paper prompt): which expert a question needs";
    cls["kind"] = "classification";
    cls["category"] = "other";
    cls["data"] = {
        {"test", "test.jsonl"}, {"train", "train.jsonl"}, {"validation", "validation.jsonl"}};
    cls["labels"] = {"code", "math", "reasoning", "other"};
    cls["generation"] = {{"max_new_tokens", 32}, {"stop", {"\n"}}};
    cls["reward"] = {{"correct", 1}, {"wrong", -1}};
    cls["metric"] = "accuracy";
    suite_.classification_task = write_folder("classify", cls).string();
    for (const auto& [split, rows] : classify_) {
      // Round-robin over the categories so that every prefix of a split is balanced.
      std::vector<std::string> lines;
      const std::size_t per = rows.size() / 3;
      for (std::size_t k = 0; k < per; ++k)
        for (std::size_t c = 0; c < 3; ++c)
          lines.push_back(
              Json{{"question", rows[c * per + k].first}, {"label", rows[c * per + k].second}}
                  .dump());
      write(root_ / "classify" / (split + ".jsonl"), jsonl(lines, 0, lines.size()));
    }
  }

  DemoSuite manifest() {
    Json m;
    m["generator"] = "t2 demo build";
    m["generator_version"] = kGeneratorVersion;
    m["seed"] = p_.seed;
    m["sizes"] = {{"train", p_.train_items},
                  {"validation", p_.validation_items},
                  {"test", p_.test_items},
                  {"unseen_validation", p_.unseen_validation_items},
                  {"unseen_test", p_.unseen_test_items},
                  {"classify_train_per_category", p_.classify_per_category}};
    m["training_tasks"] = {"math/task.json", "code/task.json", "reasoning/task.json"};
    m["unseen_tasks"] = {"math-hard/task.json", "code-hard/task.json", "reasoning-hard/task.json"};
    m["classification_task"] = "classify/task.json";
    write(root_ / "suite.json", m.dump(2) + "\n");
    std::sort(suite_.files.begin(), suite_.files.end());
    return suite_;
  }

 private:
  fs::path write_folder(const std::string& folder, const Json& spec) {
    std::error_code ec;
    fs::create_directories(root_ / folder, ec);
    if (ec) throw Error(ErrorKind::Io, "cannot create " + (root_ / folder).string());
    write(root_ / folder / "task.json", spec.dump(2) + "\n");
    return root_ / folder / "task.json";
  }
  void write(const fs::path& path, const std::string& text) {
    write_text(path, text, suite_.files);
  }

  fs::path root_;
  DemoSuiteParams p_;
  DemoSuite suite_;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> classify_;
};

}  // namespace detail::demo

DemoSuite build_demo_suite(const std::string& out_dir, const DemoSuiteParams& p,
                           const JobContext& job) {
  using namespace detail::demo;
  if (p.train_items < 1 || p.validation_items < 1 || p.test_items < 1 ||
      p.unseen_validation_items < 1 || p.unseen_test_items < 1 || p.classify_per_category < 5)
    throw Error(ErrorKind::InvalidArgument, "demo suite sizes must be >= 1 (classify >= 5)");
  std::error_code ec;
  const fs::path root = fs::absolute(out_dir, ec).lexically_normal();
  fs::create_directories(root, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot create " + root.string() + ": " + ec.message());
  SuiteWriter writer(root, p);
  int done = 0;
  for (const char* folder : {"math", "code", "reasoning"}) {
    job.throw_if_cancelled();
    job.report("demo", done++ / 7.0, std::string("generating ") + folder);
    writer.training_task(folder);
  }
  for (const char* folder : {"math-hard", "code-hard", "reasoning-hard"}) {
    job.throw_if_cancelled();
    job.report("demo", done++ / 7.0, std::string("generating ") + folder);
    writer.unseen_task(folder);
  }
  job.report("demo", done / 7.0, "writing the classification task");
  writer.classification_task();
  DemoSuite suite = writer.manifest();
  job.report("demo", 1.0, "wrote " + std::to_string(suite.files.size()) + " files to " + suite.dir);
  return suite;
}

}  // namespace t2
