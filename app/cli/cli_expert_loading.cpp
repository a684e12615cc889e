// --expert options and load_cli_expert (cli_support.h), a thin wrapper of t2::load_expert_file.
#include "cli_support.h"

namespace t2::cli {

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
  return load_expert_file(model_dir, file, allow_transfer, job);
}

}  // namespace t2::cli
