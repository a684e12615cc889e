// `t2 task show|check|sandbox`: inspect a task spec's prompts and gold answers, judge one output,
// and report which sandbox protections this machine provides.
#include "commands.h"

#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

void print_item(const Task& task, const TaskItem& item) {
  const BuiltPrompt prompt = task.build_prompt(item);
  std::cout << "=== " << item.id << " (line " << item.line << ")\n";
  for (const auto& m : prompt.messages) std::cout << "[" << m.role << "]\n" << m.content << "\n";
  if (!prompt.assistant_prefill.empty())
    std::cout << "[assistant prefill]\n" << prompt.assistant_prefill << "\n";
  std::cout << "[gold] " << item.gold << "\n";
}

void add_show(CLI::App& task_cmd, const Runner*& chosen) {
  struct Options {
    std::string spec, split = "test";
    std::size_t limit = 3;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub =
      task_cmd.add_subcommand("show", "Print a task's spec, built prompts and gold answers");
  sub->add_option("SPEC", o->spec, "Task spec file (JSON)")->required();
  sub->add_option("--split", o->split, "Split to read")->capture_default_str();
  sub->add_option("--limit", o->limit, "Items to show (0 = all)")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON document {spec, items}");
  auto run = std::make_shared<Runner>([o]() {
    const Task task = Task::load(o->spec);
    const auto items = task.load_split(o->split, o->limit);
    if (o->json) {
      std::cout << "{\"spec\": " << to_json(task.spec(), -1) << ", \"items\": [";
      for (std::size_t i = 0; i < items.size(); ++i)
        std::cout << (i ? ", " : "") << to_json(items[i], task.build_prompt(items[i]), -1);
      std::cout << "]}\n";
      return kExitOk;
    }
    const TaskSpec& s = task.spec();
    std::cout << s.name << " (" << to_string(s.kind) << ", " << to_string(s.category)
              << ", extractor " << to_string(s.extractor.kind) << ")\n";
    if (!s.description.empty()) std::cout << s.description << "\n";
    for (const auto& [split, path] : s.data) std::cout << "  " << split << ": " << path << "\n";
    for (const auto& item : items) print_item(task, item);
    return kExitOk;
  });
  sub->callback([&chosen, run] { chosen = run.get(); });
}

void add_check(CLI::App& task_cmd, const Runner*& chosen) {
  struct Options {
    std::string spec, split = "test", output;
    std::size_t index = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = task_cmd.add_subcommand(
      "check", "Judge one model output against an item: extracted answer, correct, reward");
  sub->add_option("SPEC", o->spec, "Task spec file (JSON)")->required();
  sub->add_option("--output", o->output, "The model's output text")->required();
  sub->add_option("--split", o->split, "Split of the item")->capture_default_str();
  sub->add_option("--index", o->index, "0-based item index in the split")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON document");
  auto run = std::make_shared<Runner>([o]() {
    const Task task = Task::load(o->spec);
    const auto items = task.load_split(o->split, o->index + 1);
    if (items.size() <= o->index)
      throw Error(ErrorKind::InvalidArgument,
                  "split '" + o->split + "' has only " + std::to_string(items.size()) + " items");
    const Verdict v = task.judge(o->output, items[o->index]);
    if (o->json) {
      std::cout << to_json(v) << "\n";
    } else {
      std::cout << "answer:  " << (v.extraction.found ? v.extraction.answer : "(none)") << "  ["
                << v.extraction.rule << "]\ngold:    " << v.gold
                << "\ncorrect: " << (v.correct ? "yes" : "no") << "\nreward:  " << v.reward
                << "\ndetail:  " << v.detail << "\n";
    }
    return kExitOk;
  });
  sub->callback([&chosen, run] { chosen = run.get(); });
}

void add_sandbox(CLI::App& task_cmd, const Runner*& chosen) {
  auto json = std::make_shared<bool>(false);
  auto* sub = task_cmd.add_subcommand(
      "sandbox", "Report which code-execution sandbox protections this machine provides");
  sub->add_flag("--json", *json, "Print one JSON document {support, trial}");
  auto run = std::make_shared<Runner>([json]() {
    const SandboxSupport support = probe_sandbox_support();
    const SandboxResult trial = run_sandboxed("print('sandbox ok')\n");
    if (*json) {
      std::cout << "{\"support\": " << to_json(support, -1) << ", \"trial\": " << to_json(trial, -1)
                << "}\n";
      return trial.status == SandboxStatus::Passed ? kExitOk : kExitError;
    }
    for (const auto& n : support.notes) std::cout << n << "\n";
    std::cout << "trial run: " << to_string(trial.status) << " (" << trial.message << ", "
              << trial.wall_seconds * 1000 << " ms)\nactive:\n";
    for (const auto& p : trial.protections) std::cout << "  " << p << "\n";
    if (!trial.missing.empty()) std::cout << "missing:\n";
    for (const auto& m : trial.missing) std::cout << "  " << m << "\n";
    return trial.status == SandboxStatus::Passed ? kExitOk : kExitError;
  });
  sub->callback([&chosen, run] { chosen = run.get(); });
}

}  // namespace

void add_task_command(CLI::App& app, const GlobalOptions& /*global*/, const Runner*& chosen) {
  auto* task = app.add_subcommand("task", "Inspect task specs, judge outputs, check the sandbox");
  task->require_subcommand(1);
  add_show(*task, chosen);
  add_check(*task, chosen);
  add_sandbox(*task, chosen);
}

}  // namespace t2::cli
