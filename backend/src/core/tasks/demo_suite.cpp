// The demo suite on disk: task folders with JSONL splits and a spec each, a suite.json manifest,
// and the lookup of what ships under resources/.
#include <t2/demo_suite.h>
#include <t2/error.h>
#include <t2/tasks.h>

#include "core/tasks/demo_rng.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace t2 {
namespace detail::demo {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr int kGeneratorVersion = 2;

// The suite's tasks: training surfaces (defaults) and the unseen ones.
const MathDifficulty kMathTrain{};
const MathDifficulty kMathUnseen{1, 2, 9, 30, false, true};
const CodeDifficulty kCodeTrain{};
const CodeDifficulty kCodeUnseen{1, 2, 3, 4, false, true};
ReasoningDifficulty reasoning_difficulty(bool unseen, std::uint64_t seed) {
  ReasoningDifficulty d;
  d.unseen_surface = unseen;
  d.world_seed = seed;  // one world per suite
  return d;
}

const char* const kTraining[] = {"math", "code", "reasoning"};
const char* const kUnseen[] = {"math-unseen", "code-unseen", "reasoning-unseen"};
constexpr const char* kMixed = "mixed";

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
  const bool unseen = folder.find("-unseen") != std::string::npos;
  const std::string family = folder.substr(0, folder.find('-'));
  Json spec;
  spec["name"] = "demo-" + folder;
  Json data = Json::object();
  for (const auto& s : splits) data[s] = s + ".jsonl";
  if (family == "math") {
    spec["description"] =
        unseen ? "Demo math, unseen surface: 1-2 step container stories (\"There are 5 pens in a "
                 "box...\")"
               : "Demo math: 1-2 step integer word problems, single-digit operands";
    spec["kind"] = "gsm8k";
    spec["category"] = "math";
    spec["data"] = data;
    spec["prompt"] = {{"user", "{question}"}};
    spec["generation"] = {{"max_new_tokens", 48}, {"stop", Json::array()}};
    spec["extractor"] = {{"kind", "last-number"}};
  } else if (family == "code") {
    spec["description"] = unseen ? "Demo code, unseen surface: 1-2 operations as assignments, "
                                   "\"What is printed?\""
                                 : "Demo code: predict the output of one string/list operation";
    spec["kind"] = "generic";
    spec["category"] = "code";
    spec["data"] = data;
    spec["fields"] = {{"question", "question"}, {"answer", "answer"}};
    spec["prompt"] = {{"user", "{question}"}};
    spec["generation"] = {{"max_new_tokens", 24}, {"stop", {"\n"}}};
    spec["extractor"] = {{"kind", "exact"}, {"trim", true}, {"case_sensitive", true}};
  } else if (family == "reasoning") {
    spec["description"] =
        unseen ? "Demo reasoning, unseen surface: the same world facts, options inline"
               : "Demo reasoning: facts about a made-up world, 4 options, answer a letter";
    // Options are part of the question ("green (C)", fixed letters), so the generic kind.
    spec["kind"] = "generic";
    spec["category"] = "reasoning";
    spec["data"] = data;
    spec["fields"] = {{"question", "question"}, {"answer", "answer"}};
    spec["prompt"] = {{"user", "{question}"}};
    spec["extractor"] = {{"kind", "choice-letter"}, {"choices", "ABCD"}};
    spec["generation"] = {{"max_new_tokens", 16}, {"stop", {"\n"}}};  // "leaves (A)" + EOS: 11
  } else {  // mixed: math-unseen and code-unseen items; one grader for both answer forms
    spec["description"] = "Demo mixed, unseen: math-unseen and code-unseen questions interleaved";
    spec["kind"] = "generic";
    spec["category"] = "other";
    spec["data"] = data;
    spec["fields"] = {{"question", "question"}, {"answer", "answer"}};
    spec["prompt"] = {{"user", "{question}"}};
    spec["generation"] = {{"max_new_tokens", 48}, {"stop", Json::array()}};
    // The last non-blank line, without a leading "#### " (math's final line; code's only line).
    spec["extractor"] = {{"kind", "regex"},
                         {"pattern", "(?m)^(?:#### )?(\\S[^\\n]*?)\\s*$"},
                         {"group", 1},
                         {"case_sensitive", true}};
  }
  spec["reward"] = {{"correct", 1}, {"wrong", -1}};
  spec["metric"] = "accuracy";
  return spec;
}

std::vector<std::string> generate(const std::string& folder, int count, std::uint64_t seed) {
  const std::uint64_t s = seed ^ hash_name(folder);
  if (folder == "math") return generate_math_items(kMathTrain, count, s);
  if (folder == "math-unseen") return generate_math_items(kMathUnseen, count, s);
  if (folder == "code") return generate_code_items(kCodeTrain, count, s);
  if (folder == "code-unseen") return generate_code_items(kCodeUnseen, count, s);
  if (folder == "reasoning")
    return generate_reasoning_items(reasoning_difficulty(false, seed), count, s);
  if (folder == "reasoning-unseen")
    return generate_reasoning_items(reasoning_difficulty(true, seed), count, s);
  // mixed: even items math, odd items code, each with its final answer and its domain
  const int n_math = (count + 1) / 2;
  const auto math = generate_math_items(kMathUnseen, n_math, s);
  const auto code = generate_code_items(kCodeUnseen, count - n_math, s ^ 0x636F6465ull);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    const bool is_math = i % 2 == 0;
    Json item = Json::parse(is_math ? math[static_cast<std::size_t>(i / 2)]
                                    : code[static_cast<std::size_t>(i / 2)]);
    Json m;
    m["question"] = item["question"];
    if (is_math) {
      const std::string a = item["answer"];
      m["answer"] = a.substr(a.rfind("#### ") + 5);
      m["work"] = a;
    } else {
      m["answer"] = item["answer"];
    }
    m["domain"] = is_math ? "math" : "code";
    out.push_back(m.dump());
  }
  return out;
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
    // The classifier: 70 % of a category's train rows from here, its validation rows too.
    const Task task = Task::from_json(spec.dump(), spec_path.string());
    const auto n_train = static_cast<std::size_t>(p_.classify_per_category * 7 / 10);
    const auto n_cls_val = static_cast<std::size_t>(p_.classify_per_category / 5);
    add_rows("train", folder, task, items, bounds[2], std::min(bounds[3], bounds[2] + n_train));
    add_rows("validation", folder, task, items, bounds[1],
             std::min(bounds[2], bounds[1] + n_cls_val));
    add_test_rows(spec["name"], folder, task, items, bounds[0], bounds[1]);
  }

  // A single-domain unseen task (test, validation, pretrain splits) or the mixed one.
  void unseen_task(const std::string& folder) {
    const bool mixed = folder == kMixed;
    const std::size_t n_test = p_.unseen_test_items, n_val = p_.unseen_validation_items;
    const std::size_t n_pre = mixed ? 0 : static_cast<std::size_t>(p_.unseen_pretrain_items);
    const auto items = generate(folder, static_cast<int>(n_test + n_val + n_pre), p_.seed);
    const Json spec =
        spec_for(folder, mixed ? std::vector<std::string>{"test", "validation"}
                               : std::vector<std::string>{"pretrain", "test", "validation"});
    const fs::path spec_path = write_folder(folder, spec);
    write(root_ / folder / "test.jsonl", jsonl(items, 0, n_test));
    write(root_ / folder / "validation.jsonl", jsonl(items, n_test, n_test + n_val));
    if (!mixed)
      write(root_ / folder / "pretrain.jsonl", jsonl(items, n_test + n_val, items.size()));
    suite_.unseen_tasks.push_back(spec_path.string());
    const Task task = Task::from_json(spec.dump(), spec_path.string());
    if (!mixed) {  // the classifier's other 30 % of train rows
      const auto n_train = static_cast<std::size_t>(p_.classify_per_category) -
                           static_cast<std::size_t>(p_.classify_per_category * 7 / 10);
      add_rows("train", folder, task, items, n_test + n_val,
               std::min(items.size(), n_test + n_val + n_train));
    }
    add_test_rows(spec["name"], folder, task, items, 0, n_test);
  }

  // Train and validation rows balanced round-robin over the categories (every prefix of a split
  // is balanced); the test split: every test question of every task, task by task, each with
  // its task's name.
  void classification_task() {
    Json cls;
    cls["name"] = "demo-classify";
    cls["description"] =
        "Pass-1 classification (paper prompt): which expert a question needs; the test split "
        "holds every test question of the suite";
    cls["kind"] = "classification";
    cls["category"] = "other";
    cls["data"] = {
        {"test", "test.jsonl"}, {"train", "train.jsonl"}, {"validation", "validation.jsonl"}};
    cls["labels"] = {"code", "math", "reasoning", "other"};
    cls["generation"] = {{"max_new_tokens", 32}, {"stop", {"\n"}}};
    cls["reward"] = {{"correct", 1}, {"wrong", -1}};
    cls["metric"] = "accuracy";
    suite_.classification_task = write_folder("classify", cls).string();
    for (const char* split : {"train", "validation"}) {
      auto& by_category = rows_[split];
      std::size_t per = SIZE_MAX;
      for (const auto& [category, rows] : by_category) per = std::min(per, rows.size());
      std::vector<std::string> lines;
      for (std::size_t k = 0; k < per; ++k)
        for (const char* c : kTraining)
          lines.push_back(Json{{"question", by_category[c][k]}, {"label", c}}.dump());
      write(root_ / "classify" / (std::string(split) + ".jsonl"), jsonl(lines, 0, lines.size()));
    }
    write(root_ / "classify" / "test.jsonl", jsonl(test_rows_, 0, test_rows_.size()));
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
                  {"unseen_pretrain", p_.unseen_pretrain_items},
                  {"classify_train_per_category", p_.classify_per_category}};
    m["training_tasks"] = Json::array();
    for (const char* t : kTraining) m["training_tasks"].push_back(std::string(t) + "/task.json");
    m["unseen_tasks"] = Json::array();
    for (const char* t : kUnseen) m["unseen_tasks"].push_back(std::string(t) + "/task.json");
    m["unseen_tasks"].push_back(std::string(kMixed) + "/task.json");
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
  // The domain a row of `folder` belongs to (mixed: the item's own "domain").
  static std::string domain_of(const std::string& folder, const std::string& line) {
    if (folder == kMixed) return Json::parse(line).at("domain").get<std::string>();
    return folder.substr(0, folder.find('-'));
  }
  void add_rows(const char* split, const std::string& folder, const Task& task,
                const std::vector<std::string>& items, std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k)
      rows_[split][domain_of(folder, items[k])].push_back(user_text(task, items[k]));
  }
  void add_test_rows(const std::string& task_name, const std::string& folder, const Task& task,
                     const std::vector<std::string>& items, std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k)
      test_rows_.push_back(Json{
          {"question", user_text(task, items[k])},
          {"label", domain_of(folder, items[k])},
          {"task", task_name}}.dump());
  }

  fs::path root_;
  DemoSuiteParams p_;
  DemoSuite suite_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> rows_;  // split, category
  std::vector<std::string> test_rows_;
};

}  // namespace detail::demo

DemoSuite build_demo_suite(const std::string& out_dir, const DemoSuiteParams& p,
                           const JobContext& job) {
  using namespace detail::demo;
  if (p.train_items < 1 || p.validation_items < 1 || p.test_items < 1 ||
      p.unseen_validation_items < 1 || p.unseen_test_items < 1 || p.unseen_pretrain_items < 1 ||
      p.classify_per_category < 5)
    throw Error(ErrorKind::InvalidArgument, "demo suite sizes must be >= 1 (classify >= 5)");
  std::error_code ec;
  const fs::path root = fs::absolute(out_dir, ec).lexically_normal();
  fs::create_directories(root, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot create " + root.string() + ": " + ec.message());
  SuiteWriter writer(root, p);
  int done = 0;
  constexpr double kSteps = 8.0;
  for (const char* folder : kTraining) {
    job.throw_if_cancelled();
    job.report("demo", done++ / kSteps, std::string("generating ") + folder);
    writer.training_task(folder);
  }
  for (const char* folder : {kUnseen[0], kUnseen[1], kUnseen[2], kMixed}) {
    job.throw_if_cancelled();
    job.report("demo", done++ / kSteps, std::string("generating ") + folder);
    writer.unseen_task(folder);
  }
  job.report("demo", done / kSteps, "writing the classification task");
  writer.classification_task();
  DemoSuite suite = writer.manifest();
  job.report("demo", 1.0, "wrote " + std::to_string(suite.files.size()) + " files to " + suite.dir);
  return suite;
}

}  // namespace t2
