// `t2 expert new|info|mix|import|export-merged`: create, inspect, mix, import SVF expert vectors
// and export a merged checkpoint. (Applying an expert to check logits: `t2 logits --expert`.)
#include "commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace t2::cli {
namespace {

nlohmann::ordered_json stats_json(const ValueStats& s) {
  return {{"name", s.name},
          {"count", s.count},
          {"mean", s.mean},
          {"std", s.std},
          {"min", s.min},
          {"max", s.max},
          {"fraction_negative", s.fraction_negative}};
}

nlohmann::ordered_json metadata_json(const ExpertMetadata& m) {
  return {{"format", kExpertFormat},
          {"version", kExpertFormatVersion},
          {"base_fingerprint", m.base_fingerprint},
          {"architecture", m.architecture},
          {"parametrization", to_string(m.parametrization)},
          {"max_mult", m.max_mult},
          {"target_set", m.target_set},
          {"run_id", m.run_id},
          {"note", m.note},
          {"created_at", m.created_at}};
}

std::string stats_line(const ValueStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "  %-10s %7lld  mean %9.5f  std %9.5f  min %9.5f  max %9.5f  <0 %5.1f%%\n",
                s.name.c_str(), static_cast<long long>(s.count), s.mean, s.std, s.min, s.max,
                100.0 * s.fraction_negative);
  return buf;
}

std::string summary(const ExpertVectors& e) {
  std::ostringstream out;
  out << e.matrices.size() << " matrices, " << e.total_values() << " values, "
      << to_string(e.metadata.parametrization) << ", targets " << e.metadata.target_set;
  return out.str();
}

void print_info(const ExpertVectors& e, bool json) {
  const auto stats = expert_stats(e);
  if (json) {
    nlohmann::ordered_json out;
    out["metadata"] = metadata_json(e.metadata);
    out["matrices"] = e.matrices.size();
    out["values"] = e.total_values();
    out["overall"] = stats_json(stats.overall);
    out["per_layer"] = nlohmann::ordered_json::array();
    for (const auto& s : stats.per_layer) out["per_layer"].push_back(stats_json(s));
    out["per_matrix"] = nlohmann::ordered_json::array();
    for (const auto& s : stats.per_matrix) out["per_matrix"].push_back(stats_json(s));
    std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return;
  }
  const auto& m = e.metadata;
  std::cout << "parametrization  " << to_string(m.parametrization);
  if (m.parametrization == Parametrization::SakanaCompat)
    std::cout << " (max_mult " << m.max_mult << ")";
  std::cout << "\narchitecture     " << m.architecture << "\nbase model       "
            << m.base_fingerprint << "\ntarget set       " << m.target_set << "\nmatrices         "
            << e.matrices.size() << " (" << e.total_values() << " values)\n";
  if (!m.run_id.empty()) std::cout << "run              " << m.run_id << "\n";
  if (!m.note.empty()) std::cout << "note             " << m.note << "\n";
  std::cout << "per layer:\n";
  for (const auto& s : stats.per_layer) std::cout << stats_line(s);
  std::cout << stats_line(stats.overall);
}

std::vector<double> parse_numbers(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stod(item, &used));
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw Error(ErrorKind::InvalidArgument, "--alpha: '" + item + "' is not a number");
    }
  }
  return out;
}

// A K x N matrix of numbers, given inline ("[[1,0],[0,1]]") or as a JSON file path.
std::vector<std::vector<double>> parse_alpha_json(const std::string& arg, const char* option) {
  std::string text = arg;
  if (text.find('[') == std::string::npos) {
    std::ifstream in(arg);
    if (!in) throw Error(ErrorKind::Io, std::string(option) + ": cannot open " + arg);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  try {
    return nlohmann::json::parse(text).get<std::vector<std::vector<double>>>();
  } catch (const std::exception& e) {
    throw Error(ErrorKind::InvalidArgument,
                std::string(option) +
                    " needs a JSON array of arrays of numbers (one row per "
                    "expert): " +
                    e.what());
  }
}

void add_new(CLI::App& parent, const Runner*& chosen) {
  struct Options {
    std::string model_dir, targets = "mlp", parametrization = "paper", out, note;
    std::uint64_t seed = 0;
    double max_mult = 1.0;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand("new", "Create an identity expert for a model's target set");
  sub->add_option("MODEL_DIR", o->model_dir, "Model folder (config.json + safetensors)")
      ->required();
  sub->add_option("--targets", o->targets,
                  "Target set: mlp, attn, attn-qv, all-linear, parts, regex:…")
      ->capture_default_str();
  sub->add_option("--parametrization", o->parametrization,
                  "paper (z = 1) or sakana-compat (p ~ N(0.1, 0.01²))")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the sakana-compat initialisation")
      ->capture_default_str();
  sub->add_option("--max-mult", o->max_mult, "sakana-compat: m = sigmoid(p) · max_mult")
      ->capture_default_str();
  sub->add_option("--note", o->note, "Free text stored in the file");
  sub->add_option("--out", o->out, "Expert file to write (.safetensors)")->required();
  auto runner = std::make_shared<Runner>([o]() {
    const auto config = load_model_config(o->model_dir);
    const auto p = parse_parametrization(o->parametrization);
    if (p == Parametrization::SakanaMixed)
      throw Error(ErrorKind::InvalidArgument, "`expert new` makes paper or sakana-compat experts");
    if (!(o->max_mult > 0.0)) throw Error(ErrorKind::InvalidArgument, "--max-mult must be > 0");
    auto e = ExpertVectors::identity(config, resolve_targets(config, o->targets), p, o->seed);
    e.metadata.base_fingerprint = model_fingerprint(o->model_dir);
    e.metadata.target_set = o->targets;
    e.metadata.max_mult = o->max_mult;
    e.metadata.note = o->note;
    write_expert(o->out, e);
    std::cout << "wrote " << o->out << ": " << summary(e) << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

void add_info(CLI::App& parent, const Runner*& chosen) {
  struct Options {
    std::string file;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub =
      parent.add_subcommand("info", "Show an expert file's metadata and per-layer statistics");
  sub->add_option("FILE", o->file, "Expert file")->required();
  sub->add_flag("--json", o->json, "Print one JSON document (with per-matrix statistics)");
  auto runner = std::make_shared<Runner>([o]() {
    print_info(read_expert(o->file), o->json);
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

void add_mix(CLI::App& parent, const Runner*& chosen) {
  struct Options {
    std::vector<std::string> files;
    std::string alpha, per_layer, per_matrix, out;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand(
      "mix", "Mix experts: z' = Σ_k α_k z_k (paper), or the reference's raw-p mix (sakana-compat)");
  sub->add_option("FILE", o->files, "Expert files (same model, target set, parametrization)")
      ->required();
  auto* a = sub->add_option("--alpha", o->alpha, "One weight per expert, comma-separated");
  auto* l = sub->add_option(
      "--per-layer", o->per_layer,
      "JSON K×L weights (one row per expert, one column per layer), inline or a file");
  auto* m =
      sub->add_option("--per-matrix", o->per_matrix,
                      "JSON K×M weights (one column per matrix, in file order), inline or a file");
  a->excludes(l)->excludes(m);
  l->excludes(m);
  sub->add_option("--out", o->out, "Expert file to write")->required();
  auto runner = std::make_shared<Runner>([o]() {
    MixAlpha alpha;
    if (!o->alpha.empty()) {
      for (double v : parse_numbers(o->alpha)) alpha.rows.push_back({v});
    } else if (!o->per_layer.empty()) {
      alpha.shape = AlphaShape::PerLayer;
      alpha.rows = parse_alpha_json(o->per_layer, "--per-layer");
    } else if (!o->per_matrix.empty()) {
      alpha.shape = AlphaShape::PerMatrix;
      alpha.rows = parse_alpha_json(o->per_matrix, "--per-matrix");
    } else {
      throw Error(ErrorKind::InvalidArgument,
                  "give the weights: --alpha, --per-layer or --per-matrix");
    }
    std::vector<ExpertVectors> experts;
    for (const auto& f : o->files) experts.push_back(read_expert(f));
    auto result = mix_experts(experts, alpha);
    for (const auto& w : result.warnings) std::cerr << "t2: WARNING: " << w << "\n";
    write_expert(o->out, result.expert);
    std::cout << "wrote " << o->out << ": " << summary(result.expert) << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

void add_import(CLI::App& parent, const Runner*& chosen) {
  struct Options {
    std::string file, model_dir, out;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand(
      "import",
      "Import a reference (Sakana) expert file written by torch.save (policy_params.pt "
      "or a dict by parameter name) as a sakana-compat expert");
  sub->add_option("REFERENCE", o->file, "The .pt file")->required();
  sub->add_option("--model", o->model_dir, "Model folder the expert was trained on")->required();
  sub->add_option("--out", o->out, "Expert file to write")->required();
  auto runner = std::make_shared<Runner>([o]() {
    const auto e = import_reference_expert(o->file, o->model_dir);
    write_expert(o->out, e);
    std::cout << "wrote " << o->out << ": " << summary(e) << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

// What an expert does to each target matrix (t2::expert_effects).
void add_apply(CLI::App& parent, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    std::string model_dir, expert;
    bool allow_transfer = false;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand(
      "apply",
      "Apply an expert to MODEL_DIR and report, per target matrix, the relative change "
      "||W'-W||_F/||W||_F and the range of sigma'/sigma (logits: t2 logits --expert)");
  sub->add_option("MODEL_DIR", o->model_dir, "Base model folder")->required();
  add_expert_file_options(sub, o->expert, o->allow_transfer, /*required=*/true);
  sub->add_flag("--json", o->json, "Print one JSON document");
  auto runner = std::make_shared<Runner>([o, &global]() {
    Engine engine = make_engine(global);
    const auto e = load_cli_expert(o->model_dir, o->expert, o->allow_transfer, make_cli_job());
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const MatrixEffect& m : expert_effects(e.decomposition, e.expert))
      rows.push_back({{"name", m.name},
                      {"relative_change", m.relative_change},
                      {"sigma_ratio_min", m.sigma_ratio_min},
                      {"sigma_ratio_max", m.sigma_ratio_max}});
    if (o->json) {
      nlohmann::ordered_json out = {
          {"parametrization", to_string(e.expert.metadata.parametrization)}, {"matrices", rows}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("%-48s %12s %22s\n", "matrix", "||dW||/||W||", "sigma'/sigma min..max");
      for (const auto& r : rows)
        std::printf("%-48s %12.6f %10.4f..%-10.4f\n", r["name"].get<std::string>().c_str(),
                    r["relative_change"].get<double>(), r["sigma_ratio_min"].get<double>(),
                    r["sigma_ratio_max"].get<double>());
    }
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

void add_export_merged(CLI::App& parent, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    std::string model_dir, expert;
    ExportMergedParams params;
    bool allow_transfer = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand(
      "export-merged",
      "Write a Hugging Face checkpoint with the expert merged in (W' for the targets, every "
      "other tensor unchanged; config and tokenizer files copied)");
  sub->add_option("MODEL_DIR", o->model_dir, "Base model folder")->required();
  add_expert_file_options(sub, o->expert, o->allow_transfer, /*required=*/true);
  sub->add_option("--out", o->params.out_dir, "Folder to write (must be empty unless --force)")
      ->required();
  sub->add_flag("--force", o->params.force, "Write into a non-empty folder");
  auto runner = std::make_shared<Runner>([o, &global]() {
    Engine engine = make_engine(global);  // threads (all cores), passive OpenMP waits: SVD + merge
    const auto job = make_cli_job();
    const auto e = load_cli_expert(o->model_dir, o->expert, o->allow_transfer, job);
    const auto r = export_merged(o->model_dir, e.decomposition, e.expert, o->params, job);
    std::cout << "wrote " << r.safetensors_path << ": " << r.tensors_written << " tensors, "
              << r.changed.size() << " adapted\ncopied:";
    for (const auto& f : r.copied_files) std::cout << " " << f;
    std::cout << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace

void add_expert_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  auto* sub = app.add_subcommand(
      "expert", "Create, inspect, mix, import, apply and merge SVF expert vectors");
  sub->require_subcommand(1);
  add_new(*sub, chosen);
  add_info(*sub, chosen);
  add_mix(*sub, chosen);
  add_import(*sub, chosen);
  add_apply(*sub, global, chosen);
  add_export_merged(*sub, global, chosen);
}

}  // namespace t2::cli
