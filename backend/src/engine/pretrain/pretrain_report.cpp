// PretrainReport / PretrainEvaluation <-> JSON (report.json, checkpoint state.json).
#include "pretrain_impl.h"

#include <nlohmann/json.hpp>

namespace t2 {
namespace detail::pretrain {

nlohmann::json evaluation_to_json(const PretrainEvaluation& e) {
  return {{"step", e.step},       {"accuracy", e.accuracy}, {"items", e.items},
          {"in_band", e.in_band}, {"seconds", e.seconds},   {"ms_per_example", e.ms_per_example}};
}

PretrainEvaluation evaluation_from_json(const nlohmann::json& j) {
  PretrainEvaluation e;
  e.step = j.at("step").get<std::int64_t>();
  e.accuracy = j.at("accuracy").get<std::map<std::string, double>>();
  e.items = j.at("items").get<std::map<std::string, int>>();
  e.in_band = j.at("in_band").get<bool>();
  e.seconds = j.at("seconds").get<double>();
  e.ms_per_example = j.at("ms_per_example").get<double>();
  return e;
}

}  // namespace detail::pretrain

std::string to_json(const PretrainReport& r, int indent) {
  nlohmann::json j;
  j["out_dir"] = r.out_dir;
  j["model_dir"] = r.model_dir;
  j["selected_step"] = r.selected_step;
  j["selected_in_band"] = r.selected_in_band;
  j["steps_done"] = r.steps_done;
  j["parameters"] = r.parameters;
  j["vocab_size"] = r.vocab_size;
  j["train_seconds"] = r.train_seconds;
  j["final_loss"] = r.final_loss;
  j["validations"] = nlohmann::json::array();
  for (const auto& v : r.validations)
    j["validations"].push_back(detail::pretrain::evaluation_to_json(v));
  if (!r.test.items.empty()) j["test"] = detail::pretrain::evaluation_to_json(r.test);
  j["run_id"] = r.run_id;
  return j.dump(indent);
}

}  // namespace t2
