// The expert library of two-pass self-adaptation: a JSON file mapping pass-1 categories to
// expert files (t2/two_pass.h).
#include <t2/error.h>
#include <t2/run_store.h>
#include <t2/two_pass.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

namespace t2 {
namespace detail::expert_library {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

const char* const kLibraryKeys =
    "format, version, name, base_fingerprint, model, experts, classifier, mixes";
const char* const kExpertKeys = "category, file, task, name, recipe, report";
const char* const kClassifierKeys = "file, task, name, recipe, report";
const char* const kMixKeys = "name, file, task, experts, shape, alpha, run_id, selection";

bool valid_category_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
  throw Error(ErrorKind::Corrupt, file + ": " + what +
                                      "; fix the file (format: backend/include/t2/two_pass.h) "
                                      "or write it again");
}

// `key` of `object` as a string: "" when absent and optional; Corrupt when mistyped or missing.
std::string string_field(const Json& object, const char* key, bool required,
                         const std::string& file, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) corrupt(file, where + "has no \"" + key + "\"");
    return {};
  }
  if (!it->is_string()) corrupt(file, where + "\"" + key + "\" is not a string");
  return it->get<std::string>();
}

void check_keys(const Json& object, const std::set<std::string>& allowed, const char* list,
                const std::string& file, const std::string& where) {
  for (const auto& item : object.items())
    if (allowed.count(item.key()) == 0)
      corrupt(file, where + "unknown key \"" + item.key() + "\" (known keys: " + list + ")");
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!valid_category_char(c)) return false;
  return true;
}

// The optional fields shared by experts and the classifier.
void read_expert_fields(const Json& e, LibraryExpert& x, const std::string& path,
                        const std::string& where) {
  x.file = string_field(e, "file", true, path, where);
  x.task = string_field(e, "task", false, path, where);
  x.name = string_field(e, "name", false, path, where);
  x.recipe = string_field(e, "recipe", false, path, where);
  x.report = string_field(e, "report", false, path, where);
}

Json expert_fields(const LibraryExpert& e) {
  Json x;
  if (!e.category.empty()) x["category"] = e.category;
  x["file"] = e.file;
  if (!e.task.empty()) x["task"] = e.task;
  if (!e.name.empty()) x["name"] = e.name;
  if (!e.recipe.empty()) x["recipe"] = e.recipe;
  if (!e.report.empty()) x["report"] = e.report;
  return x;
}

LibraryMix read_mix(const Json& m, const std::string& path, const std::string& where) {
  if (!m.is_object()) corrupt(path, where + "is not an object");
  check_keys(m, {"name", "file", "task", "experts", "shape", "alpha", "run_id", "selection"},
             kMixKeys, path, where);
  LibraryMix x;
  x.name = string_field(m, "name", true, path, where);
  x.file = string_field(m, "file", true, path, where);
  x.task = string_field(m, "task", false, path, where);
  x.shape = string_field(m, "shape", true, path, where);
  x.selection = string_field(m, "selection", false, path, where);
  const auto experts = m.find("experts");
  if (experts == m.end() || !experts->is_array())
    corrupt(path, where + "\"experts\" is not an array");
  for (const auto& e : *experts) {
    if (!e.is_string()) corrupt(path, where + "\"experts\" holds a non-string");
    x.experts.push_back(e.get<std::string>());
  }
  const auto alpha = m.find("alpha");
  if (alpha == m.end() || !alpha->is_array()) corrupt(path, where + "\"alpha\" is not an array");
  for (const auto& row : *alpha) {
    if (!row.is_array()) corrupt(path, where + "\"alpha\" rows must be arrays of numbers");
    std::vector<double> values;
    for (const auto& v : row) {
      if (!v.is_number()) corrupt(path, where + "\"alpha\" holds a non-number");
      values.push_back(v.get<double>());
    }
    x.alpha.push_back(std::move(values));
  }
  const auto run = m.find("run_id");
  if (run != m.end()) {
    if (!run->is_number_integer()) corrupt(path, where + "\"run_id\" is not an integer");
    x.run_id = run->get<std::int64_t>();
  }
  return x;
}

}  // namespace detail::expert_library

const LibraryMix* ExpertLibrary::find_mix(const std::string& name) const noexcept {
  for (const auto& m : mixes)
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> ExpertLibrary::categories() const {
  std::vector<std::string> out;
  out.reserve(experts.size());
  for (const auto& e : experts) out.push_back(e.category);
  return out;
}

const LibraryExpert* ExpertLibrary::find(const std::string& category) const noexcept {
  for (const auto& e : experts)
    if (e.category == category) return &e;
  return nullptr;
}

std::string ExpertLibrary::resolve_path(const std::string& file) const {
  namespace fs = std::filesystem;
  if (file.empty()) return {};
  fs::path p(file);
  if (p.is_relative()) {
    const fs::path folder = path.empty() ? fs::path() : fs::path(path).parent_path();
    p = folder / p;
  }
  std::error_code ec;
  const fs::path absolute = fs::absolute(p, ec);
  return (ec ? p : absolute).lexically_normal().string();
}

std::string ExpertLibrary::resolve(const LibraryExpert& expert) const {
  return resolve_path(expert.file);
}

void validate_expert_library(const ExpertLibrary& library) {
  using namespace detail::expert_library;
  const std::string where = library.path.empty() ? "expert library" : library.path;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < library.experts.size(); ++i) {
    const auto& e = library.experts[i];
    const std::string entry = where + ": expert " + std::to_string(i + 1);
    if (e.category.empty())
      throw Error(ErrorKind::InvalidArgument,
                  entry +
                      " has an empty category; give it the pass-1 label it serves, e.g. "
                      "\"math\"");
    if (e.category == kOtherCategory)
      throw Error(ErrorKind::InvalidArgument,
                  entry +
                      " has the category \"other\", which is reserved for the base weights; "
                      "remove the entry or give it another category");
    for (char c : e.category)
      if (!valid_category_char(c))
        throw Error(ErrorKind::InvalidArgument,
                    entry + " has the category \"" + e.category +
                        "\"; categories are lowercase letters, digits, '_' and '-' (as the "
                        "pass-1 model writes them, e.g. \"math\")");
    if (!seen.insert(e.category).second)
      throw Error(ErrorKind::InvalidArgument,
                  entry + " repeats the category \"" + e.category +
                      "\"; each category has one expert: remove or rename one of them");
    if (e.file.empty())
      throw Error(ErrorKind::InvalidArgument,
                  entry + " (\"" + e.category + "\") has no expert file; set \"file\"");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < library.mixes.size(); ++i) {
    const auto& m = library.mixes[i];
    const std::string entry = where + ": mix " + std::to_string(i + 1) + " (\"" + m.name + "\")";
    auto bad = [&](const std::string& what) {
      throw Error(ErrorKind::InvalidArgument, entry + " " + what);
    };
    if (!valid_name(m.name)) bad("needs a name of lowercase letters, digits, '_' and '-'");
    if (!names.insert(m.name).second) bad("repeats a name; give each mix its own");
    if (m.file.empty()) bad("has no expert file; set \"file\"");
    if (m.shape != "per-expert" && m.shape != "per-layer")
      bad("has the shape \"" + m.shape + "\"; use per-expert or per-layer");
    if (m.experts.empty() || m.alpha.size() != m.experts.size())
      bad("needs one alpha row per expert (" + std::to_string(m.experts.size()) + " experts, " +
          std::to_string(m.alpha.size()) + " rows)");
    for (const auto& c : m.experts)
      if (!library.find(c) && c != kOtherCategory)
        bad("names \"" + c + "\", which is not a category of the library (or \"other\")");
    for (const auto& row : m.alpha) {
      if (row.size() != m.alpha.front().size() || row.empty() ||
          (m.shape == "per-expert" && row.size() != 1))
        bad("has alpha rows of the wrong length (per-expert: 1 value; per-layer: one per layer)");
      for (double a : row)
        if (!std::isfinite(a)) bad("has a non-finite alpha");
    }
  }
}

ExpertLibrary read_expert_library(const std::string& path) {
  using namespace detail::expert_library;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Io,
                "cannot read the expert library '" + path + "'; check the path and permissions");
  Json j;
  try {
    j = Json::parse(in);
  } catch (const Json::exception& e) {
    corrupt(path, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) corrupt(path, "not a JSON object");
  const auto format = j.find("format");
  if (format == j.end() || !format->is_string() ||
      format->get<std::string>() != kExpertLibraryFormat)
    corrupt(path, std::string("not an expert library (\"format\" must be \"") +
                      kExpertLibraryFormat + "\")");
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer())
    corrupt(path, "\"version\" is missing or not an integer");
  const auto v = version->get<std::int64_t>();
  if (v > kExpertLibraryFormatVersion)
    throw Error(ErrorKind::Corrupt, path + ": expert library version " + std::to_string(v) +
                                        " is newer than this " + "build reads (" +
                                        std::to_string(kExpertLibraryFormatVersion) +
                                        "); update T2 Workbench");
  if (v < 1) corrupt(path, "invalid \"version\" " + std::to_string(v));
  check_keys(
      j,
      {"format", "version", "name", "base_fingerprint", "model", "experts", "classifier", "mixes"},
      kLibraryKeys, path, "");

  ExpertLibrary lib;
  lib.path = path;
  lib.name = string_field(j, "name", false, path, "");
  lib.base_fingerprint = string_field(j, "base_fingerprint", false, path, "");
  lib.model = string_field(j, "model", false, path, "");
  const auto experts = j.find("experts");
  if (experts == j.end()) corrupt(path, "has no \"experts\"");
  if (!experts->is_array()) corrupt(path, "\"experts\" is not an array");
  for (std::size_t i = 0; i < experts->size(); ++i) {
    const Json& e = (*experts)[i];
    const std::string where = "experts[" + std::to_string(i) + "] ";
    if (!e.is_object()) corrupt(path, where + "is not an object");
    check_keys(e, {"category", "file", "task", "name", "recipe", "report"}, kExpertKeys, path,
               where);
    LibraryExpert x;
    x.category = string_field(e, "category", true, path, where);
    read_expert_fields(e, x, path, where);
    lib.experts.push_back(std::move(x));
  }
  const auto classifier = j.find("classifier");
  if (classifier != j.end()) {
    if (!classifier->is_object()) corrupt(path, "\"classifier\" is not an object");
    check_keys(*classifier, {"file", "task", "name", "recipe", "report"}, kClassifierKeys, path,
               "classifier ");
    read_expert_fields(*classifier, lib.classifier, path, "classifier ");
  }
  const auto mixes = j.find("mixes");
  if (mixes != j.end()) {
    if (!mixes->is_array()) corrupt(path, "\"mixes\" is not an array");
    for (std::size_t i = 0; i < mixes->size(); ++i)
      lib.mixes.push_back(read_mix((*mixes)[i], path, "mixes[" + std::to_string(i) + "] "));
  }
  validate_expert_library(lib);
  return lib;
}

void write_expert_library(const std::string& path, const ExpertLibrary& library) {
  using namespace detail::expert_library;
  validate_expert_library(library);
  Json j;
  j["format"] = kExpertLibraryFormat;
  j["version"] = kExpertLibraryFormatVersion;
  j["name"] = library.name;
  j["base_fingerprint"] = library.base_fingerprint;
  if (!library.model.empty()) j["model"] = library.model;
  j["experts"] = Json::array();
  for (const auto& e : library.experts) j["experts"].push_back(expert_fields(e));
  if (library.has_classifier()) {
    LibraryExpert c = library.classifier;
    c.category.clear();
    j["classifier"] = expert_fields(c);
  }
  if (!library.mixes.empty()) {
    j["mixes"] = Json::array();
    for (const auto& m : library.mixes) {
      Json x;
      x["name"] = m.name;
      x["file"] = m.file;
      if (!m.task.empty()) x["task"] = m.task;
      x["experts"] = m.experts;
      x["shape"] = m.shape;
      x["alpha"] = m.alpha;
      if (m.run_id != 0) x["run_id"] = m.run_id;
      if (!m.selection.empty()) x["selection"] = m.selection;
      j["mixes"].push_back(std::move(x));
    }
  }
  write_file_atomically(path, j.dump(2) + "\n");
}

void check_library_for_model(const ExpertLibrary& library, const std::string& model_fingerprint) {
  if (library.base_fingerprint.empty() || library.base_fingerprint == model_fingerprint) return;
  const std::string which =
      library.path.empty() ? (library.name.empty() ? "the expert library"
                                                   : "the expert library '" + library.name + "'")
                           : "the expert library '" + library.path + "'";
  throw Error(
      ErrorKind::InvalidArgument,
      which + " was made for the model " + library.base_fingerprint + ", but this model is " +
          (model_fingerprint.empty() ? std::string("(no fingerprint)") : model_fingerprint) +
          "; load the library's base model, or train experts for this model and list "
          "them in a library of their own");
}

}  // namespace t2
