// What ships under resources/demo: the model folder and the task specs listed in suite.json.
#include <t2/demo_suite.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace t2 {

namespace {  // t2_core is not a unity build
namespace fs = std::filesystem;

// <dir>/library.json: {"experts": [{"name", "category", "file", "task", "recipe", "report"}]},
// paths relative to <dir>. A damaged library is reported in info.missing, never thrown.
void read_expert_library(const fs::path& dir, DemoInfo& info) {
  info.experts_dir = dir.string();
  const fs::path path = dir / "library.json";
  std::ifstream in(path);
  if (!in) return;
  try {
    const auto lib = nlohmann::json::parse(in);
    for (const auto& e : lib.at("experts")) {
      DemoExpertInfo x;
      x.name = e.at("name").get<std::string>();
      x.category = e.value("category", x.name);
      auto at = [&](const char* key) {
        return e.contains(key) ? (dir / e.at(key).get<std::string>()).lexically_normal().string()
                               : std::string();
      };
      x.file = at("file");
      x.task = at("task");
      x.recipe = at("recipe");
      x.report = at("report");
      std::error_code ec;
      x.present = !x.file.empty() && fs::is_regular_file(x.file, ec);
      if (!x.present) info.missing.push_back(x.file.empty() ? x.name + " (no file)" : x.file);
      info.experts.push_back(std::move(x));
    }
  } catch (const nlohmann::json::exception& e) {
    info.missing.push_back(path.string() + " (not a valid expert library: " + e.what() + ")");
  }
}
}  // namespace

std::string find_resources_dir(const std::string& exe_dir) {
  if (const char* env = std::getenv("T2_RESOURCES_DIR"); env != nullptr && *env != '\0')
    return fs::path(env).lexically_normal().string();
  std::error_code ec;
  auto usable = [&](const fs::path& p) { return fs::is_directory(p / "demo", ec); };
  fs::path dir = exe_dir.empty() ? fs::path() : fs::absolute(exe_dir, ec);
  for (int level = 0; level < 5 && !dir.empty(); ++level) {
    for (const fs::path& candidate :
         {dir / "resources", dir / "share" / "t2-workbench" / "resources"})
      if (usable(candidate)) return candidate.lexically_normal().string();
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  const fs::path cwd = fs::current_path(ec) / "resources";
  if (!ec && usable(cwd)) return cwd.lexically_normal().string();
  return {};
}

DemoInfo demo_info(const std::string& resources_dir) {
  DemoInfo info;
  const fs::path root = fs::path(resources_dir).lexically_normal();
  info.resources_dir = root.string();
  info.model_dir = (root / "demo" / "model").string();
  std::error_code ec;
  info.model_present = fs::is_regular_file(root / "demo" / "model" / "config.json", ec);
  read_expert_library(root / "demo" / "experts", info);
  const fs::path tasks = root / "demo" / "tasks";
  info.tasks_dir = tasks.string();
  nlohmann::json manifest = {
      {"training_tasks", {"math/task.json", "code/task.json", "reasoning/task.json"}},
      {"unseen_tasks",
       {"math-unseen/task.json", "code-unseen/task.json", "reasoning-unseen/task.json",
        "mixed/task.json"}},
      {"classification_task", "classify/task.json"}};
  if (std::ifstream in(tasks / "suite.json"); in) {
    try {
      manifest = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
      info.missing.push_back((tasks / "suite.json").string() + " (not valid JSON)");
    }
  }
  auto add = [&](const nlohmann::json& rel, std::vector<std::string>& out) {
    if (!rel.is_string()) return;
    const fs::path p = (tasks / rel.get<std::string>()).lexically_normal();
    out.push_back(p.string());
    if (!fs::is_regular_file(p, ec)) info.missing.push_back(p.string());
  };
  for (const auto& rel : manifest.value("training_tasks", nlohmann::json::array()))
    add(rel, info.training_tasks);
  for (const auto& rel : manifest.value("unseen_tasks", nlohmann::json::array()))
    add(rel, info.unseen_tasks);
  std::vector<std::string> cls;
  add(manifest.value("classification_task", nlohmann::json()), cls);
  if (!cls.empty()) info.classification_task = cls.front();
  return info;
}

std::string to_json(const DemoInfo& info, int indent) {
  nlohmann::ordered_json j;
  j["model"] = info.model_dir;
  j["model_present"] = info.model_present;
  j["experts_dir"] = info.experts_dir;
  j["experts"] = nlohmann::ordered_json::array();
  for (const auto& e : info.experts)
    j["experts"].push_back({{"name", e.name},
                            {"category", e.category},
                            {"file", e.file},
                            {"task", e.task},
                            {"recipe", e.recipe},
                            {"report", e.report},
                            {"present", e.present}});
  j["training_tasks"] = info.training_tasks;
  j["unseen_tasks"] = info.unseen_tasks;
  j["classification_task"] = info.classification_task;
  j["resources_dir"] = info.resources_dir;
  j["tasks_dir"] = info.tasks_dir;
  j["missing"] = info.missing;
  return j.dump(indent);
}

}  // namespace t2
