// `t2 spectrum MODEL_DIR [--targets SPEC] [--json]`: spectrum metrics per matrix and per layer
// (sigma, cumulative energy, effective/stable rank, condition, power-law alpha), from the
// decomposition (computed or reloaded from the cache like `t2 decompose`).
#include "commands.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

// JSON has no infinity: an unbounded condition number is written as null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json matrix_json(const MatrixSpectrum& m, const std::vector<float>& sigma) {
  const auto& x = m.metrics;
  return {{"name", m.name},
          {"layer", m.layer},
          {"part", m.part},
          {"shape", {m.out_features, m.in_features}},
          {"rank", x.rank},
          {"sigma_max", x.sigma_max},
          {"sigma_min", x.sigma_min},
          {"frobenius_sq", x.frobenius_sq},
          {"nuclear", x.nuclear},
          {"effective_rank", x.effective_rank},
          {"stable_rank", x.stable_rank},
          {"condition", number(x.condition)},
          {"rank_90", x.rank_90},
          {"rank_99", x.rank_99},
          {"alpha", x.power_law.ok ? nlohmann::json(x.power_law.alpha) : nlohmann::json()},
          {"alpha_xmin", x.power_law.xmin},
          {"alpha_ks", x.power_law.ks_distance},
          {"alpha_tail", x.power_law.n_tail},
          {"sigma", sigma},
          {"cumulative_energy", cumulative_energy(sigma)}};
}

std::string spectrum_json(const Decomposition& d, const std::vector<MatrixSpectrum>& matrices,
                          const std::vector<LayerSpectrum>& layers) {
  nlohmann::json jm = nlohmann::json::array(), jl = nlohmann::json::array();
  for (const auto& m : matrices) jm.push_back(matrix_json(m, d.singular_values(m.name)));
  for (const auto& l : layers)
    jl.push_back({{"layer", l.layer},
                  {"matrices", l.matrices},
                  {"mean_alpha", l.alpha_fits ? nlohmann::json(l.mean_alpha) : nlohmann::json()},
                  {"alpha_fits", l.alpha_fits},
                  {"mean_effective_rank", l.mean_effective_rank},
                  {"mean_stable_rank", l.mean_stable_rank},
                  {"max_condition", number(l.max_condition)},
                  {"frobenius_sq", l.frobenius_sq}});
  nlohmann::json out = {
      {"fingerprint", d.fingerprint()},
      {"targets", d.target_spec()},
      {"from_cache", d.from_cache()},
      {"alpha_definition",
       "WeightWatcher: continuous power-law MLE on lambda = sigma^2 / max(out, in), "
       "xmin by minimum KS distance (Clauset-Shalizi-Newman)"},
      {"effective_rank_definition", "exp(entropy of sigma / sum sigma) (Roy & Vetterli)"},
      {"matrices", jm},
      {"layers", jl}};
  return out.dump() + "\n";
}

std::string spectrum_text(const std::vector<MatrixSpectrum>& matrices,
                          const std::vector<LayerSpectrum>& layers) {
  std::string out;
  char buf[320];
  std::snprintf(buf, sizeof buf, "%-44s %11s %9s %9s %8s %8s %10s %6s %6s\n", "matrix", "shape",
                "sigma_max", "sigma_min", "eff.rank", "st.rank", "condition", "r90", "alpha");
  out += buf;
  for (const auto& m : matrices) {
    const auto& x = m.metrics;
    char shape[32], alpha[16];
    std::snprintf(shape, sizeof shape, "%lldx%lld", static_cast<long long>(m.out_features),
                  static_cast<long long>(m.in_features));
    if (x.power_law.ok)
      std::snprintf(alpha, sizeof alpha, "%.2f", x.power_law.alpha);
    else
      std::snprintf(alpha, sizeof alpha, "-");
    std::snprintf(buf, sizeof buf, "%-44s %11s %9.4g %9.4g %8.2f %8.2f %10.4g %6lld %6s\n",
                  m.name.c_str(), shape, x.sigma_max, x.sigma_min, x.effective_rank, x.stable_rank,
                  x.condition, static_cast<long long>(x.rank_90), alpha);
    out += buf;
  }
  out += "\nper layer (means over the layer's matrices; condition: the largest)\n";
  std::snprintf(buf, sizeof buf, "%5s %8s %10s %8s %8s %10s\n", "layer", "matrices", "mean alpha",
                "eff.rank", "st.rank", "condition");
  out += buf;
  for (const auto& l : layers) {
    char alpha[16];
    if (l.alpha_fits)
      std::snprintf(alpha, sizeof alpha, "%.2f", l.mean_alpha);
    else
      std::snprintf(alpha, sizeof alpha, "-");
    std::snprintf(buf, sizeof buf, "%5lld %8lld %10s %8.2f %8.2f %10.4g\n",
                  static_cast<long long>(l.layer), static_cast<long long>(l.matrices), alpha,
                  l.mean_effective_rank, l.mean_stable_rank, l.max_condition);
    out += buf;
  }
  return out;
}

}  // namespace

void add_spectrum_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    DecompositionOptions decomposition;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "spectrum",
      "Spectrum metrics of the target matrices per matrix and per layer: sigma, "
      "cumulative energy, effective and stable rank, condition, power-law alpha");
  add_decomposition_options(sub, opts->decomposition);
  sub->add_flag("--json", opts->json,
                "Print one JSON document (with sigma and cumulative energy per matrix)");

  auto runner = std::make_shared<Runner>([opts, &global]() {
    Engine engine = make_engine(global);
    const auto d = decompose_for_cli(opts->decomposition);
    const auto matrices = matrix_spectra(d);
    const auto layers = aggregate_layers(matrices);
    std::cout << (opts->json ? spectrum_json(d, matrices, layers)
                             : spectrum_text(matrices, layers));
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
