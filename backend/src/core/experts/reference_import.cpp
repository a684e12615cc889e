// Import of Sakana's reference expert files (policy_params.pt and the older dict by name).
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/experts.h>

#include "core/experts/torch_file.h"

#include <chrono>
#include <map>

namespace t2 {
namespace detail::experts_import {

const char* const kListPrefix = "learnable_params_module_list.";

// HF parameter name of a reference key, or throws naming the key.
std::string parameter_for_key(const std::string& key, const std::string& path,
                              std::int64_t layers) {
  if (key.rfind(kListPrefix, 0) != 0) return key;  // older format: already a parameter name
  const std::string index = key.substr(std::string(kListPrefix).size());
  std::size_t used = 0;
  long long j = -1;
  try {
    j = std::stoll(index, &used);
  } catch (...) {
  }
  if (used != index.size() || j < 0)
    throw Error(ErrorKind::Corrupt, path + ": key '" + key + "' has no valid list index");
  static const char* const parts[] = {"gate_proj", "up_proj", "down_proj"};
  if (j / 3 >= layers)
    throw Error(ErrorKind::InvalidArgument, path + ": key '" + key + "' is layer " +
                                                std::to_string(j / 3) + " but the model has " +
                                                std::to_string(layers) +
                                                " layers; is this expert for another model?");
  return TensorNames::layer(j / 3, parts[j % 3], "weight");
}

}  // namespace detail::experts_import

using namespace detail::experts_import;

ExpertVectors import_reference_expert(const std::string& pt_path, const std::string& model_dir) {
  const auto config = load_model_config(model_dir);
  const auto targets = resolve_targets(config, "mlp");
  const auto dict = detail::torch_file::read_tensor_dict(pt_path);
  std::map<std::string, std::pair<std::string, const detail::torch_file::TensorF32*>> by_name;
  for (const auto& [key, tensor] : dict) {
    const std::string name = parameter_for_key(key, pt_path, config.num_hidden_layers);
    if (!by_name.emplace(name, std::make_pair(key, &tensor)).second)
      throw Error(ErrorKind::Corrupt, pt_path + ": two keys map to " + name);
  }
  ExpertVectors e;
  e.metadata.architecture = config.architecture;
  e.metadata.parametrization = Parametrization::SakanaCompat;
  e.metadata.max_mult = 1.0;
  e.metadata.target_set = "mlp";
  e.metadata.note = "imported from " + pt_path;
  e.metadata.created_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& t : targets) {
    auto it = by_name.find(t.name);
    if (it == by_name.end())
      throw Error(ErrorKind::InvalidArgument, pt_path + ": no vector for " + t.name +
                                                  " (reference experts cover every MLP "
                                                  "matrix: gate, up, down of each layer)");
    const auto& [key, tensor] = it->second;
    if (tensor->shape.size() != 1 || tensor->shape[0] != t.rank())
      throw Error(ErrorKind::InvalidArgument,
                  pt_path + ": key '" + key + "' (" + t.name + ") has " +
                      std::to_string(tensor->values.size()) + " values in " +
                      std::to_string(tensor->shape.size()) + "-D; the model's matrix has rank " +
                      std::to_string(t.rank()) + " (expected a 1-D vector of that length)");
    e.matrices.push_back({t.name, t.layer, t.part, tensor->values});
    by_name.erase(it);
  }
  if (!by_name.empty())
    throw Error(ErrorKind::InvalidArgument, pt_path + ": key '" + by_name.begin()->second.first +
                                                "' (" + by_name.begin()->first +
                                                ") is not an MLP weight of this model");
  e.metadata.base_fingerprint = model_fingerprint(model_dir);  // after the shape checks
  return e;
}

}  // namespace t2
