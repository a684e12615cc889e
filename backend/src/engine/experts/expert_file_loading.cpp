// load_expert_file (t2/adaptation.h): an expert file or a JSON z map, plus its decomposition.
#include <t2/adaptation.h>
#include <t2/error.h>
#include <t2/model_config.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

namespace t2 {
namespace detail::expert_loading {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::map<std::string, std::vector<float>> read_z_map(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorKind::Io, "cannot read '" + file + "'; check the expert file's path");
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

}  // namespace detail::expert_loading

LoadedExpert load_expert_file(const std::string& model_dir, const std::string& file,
                              bool allow_transfer, const JobContext& job) {
  namespace el = detail::expert_loading;
  ExpertVectors expert;
  if (el::ends_with(file, ".json")) {
    expert = paper_expert_from_map(load_model_config(model_dir), el::read_z_map(file));
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

}  // namespace t2
