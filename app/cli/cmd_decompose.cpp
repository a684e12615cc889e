// `t2 decompose MODEL_DIR [--targets SPEC] [--cache-dir DIR] [--no-cache] [--json]`: reduced SVD
// of the target matrices (or their cached factors), with the time per matrix.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

std::string decompose_json(const Decomposition& d, const std::string& model_dir) {
  nlohmann::json matrices = nlohmann::json::array();
  for (std::size_t i = 0; i < d.targets().size(); ++i) {
    const auto& t = d.targets()[i];
    const auto sigma = d.singular_values(t.name);
    matrices.push_back({{"name", t.name},
                        {"layer", t.layer},
                        {"part", t.part},
                        {"shape", {t.out_features, t.in_features}},
                        {"rank", t.rank()},
                        {"seconds", d.timings()[i].seconds},
                        {"sigma_max", sigma.empty() ? 0.0 : sigma.front()},
                        {"sigma_min", sigma.empty() ? 0.0 : sigma.back()}});
  }
  nlohmann::json out = {{"model_dir", model_dir},
                        {"fingerprint", d.fingerprint()},
                        {"targets", d.target_spec()},
                        {"from_cache", d.from_cache()},
                        {"cache_path", d.cache_path()},
                        {"cache_note", d.cache_note()},
                        {"total_seconds", d.total_seconds()},
                        {"matrices", matrices}};
  return out.dump() + "\n";
}

std::string decompose_text(const Decomposition& d) {
  std::string out;
  char buf[256];
  for (std::size_t i = 0; i < d.targets().size(); ++i) {
    const auto& t = d.targets()[i];
    char when[32];
    if (d.from_cache())
      std::snprintf(when, sizeof when, "cached");
    else
      std::snprintf(when, sizeof when, "%.4f s", d.timings()[i].seconds);
    std::snprintf(buf, sizeof buf, "%-48s %6lld x %-6lld %s\n", t.name.c_str(),
                  static_cast<long long>(t.out_features), static_cast<long long>(t.in_features),
                  when);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "%zu matrices (%lld singular values) in %.3f s\n",
                d.targets().size(), static_cast<long long>(total_rank(d.targets())),
                d.total_seconds());
  out += buf;
  if (d.from_cache())
    out += "cache: used " + d.cache_path() + "\n";
  else if (!d.cache_path().empty())
    out += "cache: computed (" + d.cache_note() + "), written " + d.cache_path() + "\n";
  else
    out += "cache: not used" + (d.cache_note().empty() ? "" : " (" + d.cache_note() + ")") + "\n";
  return out;
}

}  // namespace

void add_decompose_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    DecompositionOptions decomposition;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "decompose",
      "Reduced SVD (float32) of a model's target matrices, cached on disk by model "
      "fingerprint and target set");
  add_decomposition_options(sub, opts->decomposition);
  sub->add_flag("--json", opts->json, "Print one JSON document instead of text");

  auto runner = std::make_shared<Runner>([opts, &global]() {
    Engine engine = make_engine(global);
    const auto d = decompose_for_cli(opts->decomposition);
    std::cout << (opts->json ? decompose_json(d, opts->decomposition.model_dir)
                             : decompose_text(d));
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
