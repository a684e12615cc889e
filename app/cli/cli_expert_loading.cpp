// load_cli_expert (cli_support.h): an expert file or a JSON z map, plus its decomposition.
#include "cli_support.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

namespace t2::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::map<std::string, std::vector<float>> read_z_map(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorKind::Io, "cannot read '" + file + "'; check the --expert path");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Corrupt, "'" + file + "' is not valid JSON (" + e.what() +
                                        "); give {\"parameter name\": [z values]}");
  }
  if (!j.is_object())
    throw Error(ErrorKind::InvalidArgument,
                "'" + file + "' must hold a JSON object {\"parameter name\": [z values]}");
  std::map<std::string, std::vector<float>> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_array())
      throw Error(ErrorKind::InvalidArgument,
                  "'" + file + "': the value of '" + it.key() + "' must be an array of numbers");
    std::vector<float> z;
    for (const auto& v : it.value()) {
      if (!v.is_number())
        throw Error(ErrorKind::InvalidArgument,
                    "'" + file + "': '" + it.key() + "' holds a non-number; give z values");
      z.push_back(v.get<float>());
    }
    out[it.key()] = std::move(z);
  }
  return out;
}

}  // namespace

void add_expert_file_options(CLI::App* sub, std::string& expert, bool& allow_transfer,
                             bool required) {
  auto* option = sub->add_option(
      "--expert", expert,
      "SVF expert: a t2 expert file, or a .json file {\"parameter name\": [z values]} (paper: "
      "sigma' = sigma * z; unnamed matrices stay the identity)");
  if (required) option->required();
  sub->add_flag("--allow-transfer", allow_transfer,
                "Map an expert made for another model by (layer, part) (paper Table 5)");
}

CliExpert load_cli_expert(const std::string& model_dir, const std::string& file,
                          bool allow_transfer, const JobContext& job) {
  ExpertVectors expert;
  if (ends_with(file, ".json")) {
    expert = paper_expert_from_map(load_model_config(model_dir), read_z_map(file));
  } else {
    ExpertLoadOptions options;
    options.allow_transfer = allow_transfer;
    expert = load_expert_for_model(file, model_dir, options);
  }
  DecomposeParams params;
  params.targets = expert.metadata.target_set;
  auto decomposition = Decomposition::compute_or_load(model_dir, params, job);
  return {std::move(expert), std::move(decomposition)};
}

}  // namespace t2::cli
