// `t2 adapt library LIB.json [--add CATEGORY=SOURCE]... [--classifier SOURCE] [--remove
// CATEGORY]...
// [--name NAME] [--json]`: builds or edits an expert library (t2/two_pass.h). SOURCE is an
// expert file or `run:ID`, the best expert of a stored training run of the workspace database.
// The library takes the base-model fingerprint of its first expert and refuses experts of
// another model. Without options it prints the library.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace detail::adapt_library_cmd {

namespace fs = std::filesystem;

struct Options {
  std::string library;
  std::vector<std::string> add;
  std::string classifier;
  std::vector<std::string> remove;
  std::string name;
  bool json = false;
};

// An expert file for SOURCE: the path itself, or the best expert of training run `run:ID`.
std::string expert_source(const std::string& source, const GlobalOptions& global) {
  if (source.rfind("run:", 0) != 0) return fs::absolute(source).lexically_normal().string();
  RunStore store = open_store(global);
  const std::int64_t run = store.resolve_run(source.substr(4));
  const auto experts = store.experts(run);
  if (experts.empty())
    throw Error(ErrorKind::InvalidArgument,
                "run " + std::to_string(run) +
                    " has no stored SVF expert (a LoRA or unfinished run?); give an expert file");
  return experts.front().path;
}

// Reads the expert's metadata and checks it against the library's base model (setting it when
// the library has none yet).
void check_expert(ExpertLibrary& lib, const std::string& file) {
  const ExpertVectors e = read_expert(file);
  if (lib.base_fingerprint.empty()) lib.base_fingerprint = e.metadata.base_fingerprint;
  check_library_for_model(lib, e.metadata.base_fingerprint);
}

int run(const Options& o, const GlobalOptions& global) {
  ExpertLibrary lib;
  std::error_code ec;
  const bool exists = fs::exists(o.library, ec);
  if (exists) {
    lib = read_expert_library(o.library);
  } else if (o.add.empty() && o.classifier.empty()) {
    throw Error(ErrorKind::InvalidArgument,
                o.library + " does not exist; create it with --add CATEGORY=FILE (or run:ID)");
  }
  lib.path = o.library;
  if (!o.name.empty()) lib.name = o.name;
  for (const auto& category : o.remove) {
    const auto before = lib.experts.size();
    lib.experts.erase(
        std::remove_if(lib.experts.begin(), lib.experts.end(),
                       [&](const LibraryExpert& e) { return e.category == category; }),
        lib.experts.end());
    if (lib.experts.size() == before)
      throw Error(ErrorKind::InvalidArgument,
                  "the library has no category '" + category + "' to remove");
  }
  for (const auto& spec : o.add) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw Error(ErrorKind::InvalidArgument,
                  "--add takes CATEGORY=FILE or CATEGORY=run:ID, got '" + spec + "'");
    LibraryExpert e;
    e.category = spec.substr(0, eq);
    e.file = expert_source(spec.substr(eq + 1), global);
    check_expert(lib, e.file);
    auto same = std::find_if(lib.experts.begin(), lib.experts.end(),
                             [&](const LibraryExpert& x) { return x.category == e.category; });
    if (same != lib.experts.end())
      *same = e;  // replaces the category's expert
    else
      lib.experts.push_back(e);
  }
  if (!o.classifier.empty()) {
    lib.classifier = {};
    lib.classifier.file = expert_source(o.classifier, global);
    check_expert(lib, lib.classifier.file);
  }
  if (!o.add.empty() || !o.remove.empty() || !o.classifier.empty() || !o.name.empty()) {
    if (!lib.path.empty() && fs::path(lib.path).has_parent_path())
      fs::create_directories(fs::path(lib.path).parent_path(), ec);
    write_expert_library(o.library, lib);
  }
  if (o.json) {
    std::ifstream in(o.library);
    std::cout << nlohmann::ordered_json::parse(in).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << o.library << (lib.name.empty() ? "" : " (" + lib.name + ")") << "\n";
  std::cout << "  base model "
            << (lib.base_fingerprint.empty() ? "(unchecked)" : lib.base_fingerprint) << "\n";
  for (const auto& e : lib.experts)
    std::cout << "  " << e.category << ": " << lib.resolve(e) << "\n";
  if (lib.has_classifier()) std::cout << "  classifier: " << lib.resolve(lib.classifier) << "\n";
  for (const auto& m : lib.mixes)
    std::cout << "  mix " << m.name << ": " << lib.resolve_path(m.file) << "\n";
  return kExitOk;
}

}  // namespace detail::adapt_library_cmd

void add_adapt_library_command(CLI::App* adapt, const GlobalOptions& global,
                               const Runner*& chosen) {
  using detail::adapt_library_cmd::Options;
  auto o = std::make_shared<Options>();
  auto* sub = adapt->add_subcommand(
      "library",
      "Build or edit an expert library: categories from expert files or stored training runs "
      "(run:ID), the pass-1 classifier; checked against one base model");
  sub->add_option("LIB", o->library, "Library file (JSON); created by the first --add")->required();
  sub->add_option("--add", o->add, "CATEGORY=FILE or CATEGORY=run:ID; repeat for several");
  sub->add_option("--classifier", o->classifier, "The pass-1 classifier: FILE or run:ID");
  sub->add_option("--remove", o->remove, "Drop a category; repeat for several");
  sub->add_option("--name", o->name, "Library name");
  sub->add_flag("--json", o->json, "Print the library file");
  auto runner = std::make_shared<Runner>(
      [o, &global]() { return detail::adapt_library_cmd::run(*o, global); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
