// Chat-template rendering speed: t2::ChatTemplate beside the reference @huggingface/jinja run by
// node on the same work (every golden case of tests/fixtures/template/goldens, plus a 400-message
// Qwen3 conversation with tools). Figures are microseconds per render (parse excluded) and the
// ratio reference / t2 (> 1: t2 is faster).
// Usage: t2_bench_chat_template [NPM_REFS_DIR]   (default: SOURCE/build/test-data/npm)
#include <t2/chat_template.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

struct Work {
  std::string name;
  Json golden;  // {template, bos_token, eos_token, cases: [{messages, add_generation_prompt,
                // extra}]}
};

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

Json long_conversation(const Json& qwen) {
  Json tools = nullptr;
  for (const auto& c : qwen["cases"])
    if (c["extra"].contains("tools")) tools = c["extra"]["tools"];
  Json messages = Json::array({{{"role", "system"}, {"content", "You are a helpful assistant."}}});
  for (int k = 0; k < 200; ++k) {
    messages.push_back(
        {{"role", "user"}, {"content", "Question " + std::to_string(k) + ": what is 2+2?"}});
    messages.push_back(
        {{"role", "assistant"},
         {"content", "<think>\nadd\n</think>\n\nIt is 4 (" + std::to_string(k) + ")."}});
  }
  Json golden = qwen;
  golden["cases"] = Json::array(
      {{{"messages", messages}, {"add_generation_prompt", true}, {"extra", {{"tools", tools}}}}});
  return golden;
}

double t2_micros_per_render(const Json& golden, int repeats) {
  const auto tmpl = t2::ChatTemplate::from_string(
      golden["template"].get<std::string>(),
      golden["bos_token"].is_null() ? std::nullopt
                                    : std::optional(golden["bos_token"].get<std::string>()),
      golden["eos_token"].is_null() ? std::nullopt
                                    : std::optional(golden["eos_token"].get<std::string>()));
  std::vector<std::pair<std::string, t2::ChatTemplateOptions>> inputs;
  for (const auto& c : golden["cases"]) {
    t2::ChatTemplateOptions o;
    o.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    o.extra_variables_json = c["extra"].dump();
    inputs.emplace_back(c["messages"].dump(), o);
  }
  std::size_t renders = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) {
    for (const auto& [messages, o] : inputs) {
      try {
        tmpl.render(messages, o);
      } catch (const std::exception&) {  // error cases (raise_exception) are timed too
      }
      ++renders;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 1e6 * s / static_cast<double>(renders);
}

// Runs the same renders in node with @huggingface/jinja; returns microseconds per render or -1.
double node_micros_per_render(const fs::path& npm, const fs::path& work_file, int repeats) {
  const fs::path script = fs::temp_directory_path() / "t2_bench_chat_template.mjs";
  std::ofstream(script) << R"(
import fs from "node:fs"; import { pathToFileURL } from "node:url";
const [jinja, file, repeats] = process.argv.slice(2);
const { Template } = await import(pathToFileURL(jinja).href);
const g = JSON.parse(fs.readFileSync(file, "utf8"));
const t = new Template(g.template);
const inputs = g.cases.map((c) => {
  const v = { messages: c.messages, add_generation_prompt: c.add_generation_prompt, tools: null, documents: null };
  if (g.bos_token !== null) v.bos_token = g.bos_token;
  if (g.eos_token !== null) v.eos_token = g.eos_token;
  return Object.assign(v, c.extra);
});
let n = 0; const start = process.hrtime.bigint();
for (let r = 0; r < Number(repeats); r++) for (const v of inputs) { try { t.render(v); } catch (e) {} n++; }
console.log(Number(process.hrtime.bigint() - start) / 1000 / n);
)";
  const fs::path jinja = npm / "jinja" / "package" / "dist" / "index.js";
  if (!fs::exists(jinja)) return -1;
  const std::string cmd = "node '" + script.string() + "' '" + jinja.string() + "' '" +
                          work_file.string() + "' " + std::to_string(repeats) + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  char buf[128] = {0};
  const bool got = std::fgets(buf, sizeof buf, pipe) != nullptr;
  const int rc = ::pclose(pipe);
  return got && rc == 0 ? std::atof(buf) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path source = T2_SOURCE_DIR;
  const fs::path npm = argc > 1 ? fs::path(argv[1]) : source / "build" / "test-data" / "npm";
  const fs::path goldens = source / "tests" / "fixtures" / "template" / "goldens";
  std::vector<Work> work;
  for (const char* model : {"qwen3", "llama3", "llama3_1", "gemma3"})
    work.push_back(
        {std::string(model) + " goldens", read_json(goldens / (std::string(model) + ".json"))});
  work.push_back({"qwen3 400 msgs+tools", long_conversation(work[0].golden)});

  std::printf("%-22s %8s %14s %14s %10s\n", "work", "renders", "t2 us/render", "ref us/render",
              "ref/t2");
  for (const auto& w : work) {
    const int cases = static_cast<int>(w.golden["cases"].size());
    const int repeats = cases > 1 ? 20 : 50;
    const fs::path file =
        fs::temp_directory_path() / ("t2_bench_" + std::to_string(&w - &work[0]) + ".json");
    std::ofstream(file) << w.golden.dump();
    const double ours = t2_micros_per_render(w.golden, repeats);
    const double ref = node_micros_per_render(npm, file, repeats);
    if (ref > 0)
      std::printf("%-22s %8d %14.1f %14.1f %10.2f\n", w.name.c_str(), cases * repeats, ours, ref,
                  ref / ours);
    else
      std::printf("%-22s %8d %14.1f %14s %10s\n", w.name.c_str(), cases * repeats, ours, "n/a",
                  "n/a");
  }
  std::printf(
      "(ref = @huggingface/jinja@0.5.11 in node, same renders, JIT-warm after the first "
      "pass; n/a = node or npm refs absent: tests/fixtures/fetch_npm_refs.sh)\n");
  return 0;
}
