// apply_strategy and expert_effects (t2/adaptation.h): a Strategy on a Session, and what an
// expert does to each matrix.
#include <t2/adaptation.h>
#include <t2/error.h>
#include <t2/lora.h>

#include "../torch_guard.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace t2 {

AppliedStrategy apply_strategy(Session& session, const std::string& model_dir,
                               const Strategy& strategy, const ApplyParams& params,
                               const JobContext& job) {
  validate_strategy(strategy);
  const auto start = std::chrono::steady_clock::now();
  AppliedStrategy out;
  out.label = strategy_label(strategy);
  detail::guarded([&] {
    switch (strategy.kind) {
      case StrategyKind::Base:
        break;
      case StrategyKind::Prompt:
      case StrategyKind::Classifier:
      case StrategyKind::ClassifierSoft:
        throw Error(ErrorKind::InvalidArgument,
                    std::string("the ") + to_string(strategy.kind) +
                        " strategy adapts per question; evaluate it with t2 adapt eval "
                        "(t2/adapt.h), not as one adaptation");
      case StrategyKind::Adapter: {
        const LoraAdapter adapter = read_lora_adapter(strategy.files.front());
        apply_lora(session, adapter);
        for (const auto& m : adapter.matrices) out.changed.push_back(m.name);
        break;
      }
      case StrategyKind::Expert:
      case StrategyKind::FewShot: {
        const LoadedExpert e =
            load_expert_file(model_dir, strategy.files.front(), strategy.allow_transfer, job);
        out.changed = apply_expert(session, e.decomposition, e.expert, params).changed;
        break;
      }
      case StrategyKind::Mix: {
        std::vector<LoadedExpert> loaded;
        for (const auto& file : strategy.files) {
          job.throw_if_cancelled();
          loaded.push_back(load_expert_file(model_dir, file, strategy.allow_transfer, job));
          if (loaded.back().decomposition.target_spec() !=
              loaded.front().decomposition.target_spec())
            throw Error(ErrorKind::InvalidArgument,
                        "cannot mix " + strategy.files.front() + " (targets " +
                            loaded.front().decomposition.target_spec() + ") with " + file +
                            " (targets " + loaded.back().decomposition.target_spec() +
                            "): mix experts trained on one target set");
        }
        std::vector<ExpertVectors> experts;
        for (const auto& e : loaded) experts.push_back(e.expert);
        MixAlpha alpha;
        for (double w : strategy.weights) alpha.rows.push_back({w});
        MixResult mixed = mix_experts(experts, alpha);
        out.warnings = std::move(mixed.warnings);
        out.changed =
            apply_expert(session, loaded.front().decomposition, mixed.expert, params).changed;
        break;
      }
    }
  });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::vector<MatrixEffect> expert_effects(const Decomposition& decomposition,
                                         const ExpertVectors& expert) {
  return detail::guarded([&] {
    std::vector<MatrixEffect> rows;
    for (const auto& m : expert.matrices) {
      const auto& targets = decomposition.targets();
      if (std::none_of(targets.begin(), targets.end(),
                       [&](const TargetMatrix& t) { return t.name == m.name; }))
        throw Error(ErrorKind::InvalidArgument, m.name + " is not a target of the decomposition (" +
                                                    decomposition.target_spec() +
                                                    "); decompose the expert's target set");
      const auto sigma = decomposition.singular_values(m.name);
      if (sigma.size() != m.values.size())
        throw Error(ErrorKind::InvalidArgument, m.name + " has " + std::to_string(m.values.size()) +
                                                    " values but the decomposition has rank " +
                                                    std::to_string(sigma.size()));
      const auto adapted =
          adapted_sigma(expert.metadata.parametrization, m.values, sigma, expert.metadata.max_mult);
      MatrixEffect row;
      row.name = m.name;
      double diff = 0.0, norm = 0.0;
      for (std::size_t i = 0; i < sigma.size(); ++i) {
        const double d = double(adapted[i]) - double(sigma[i]);
        diff += d * d;
        norm += double(sigma[i]) * sigma[i];
        const double ratio = sigma[i] > 0 ? double(adapted[i]) / sigma[i] : 1.0;
        row.sigma_ratio_min = i == 0 ? ratio : std::min(row.sigma_ratio_min, ratio);
        row.sigma_ratio_max = i == 0 ? ratio : std::max(row.sigma_ratio_max, ratio);
      }
      row.relative_change = norm > 0 ? std::sqrt(diff / norm) : 0.0;
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

}  // namespace t2
