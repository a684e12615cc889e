// svf_objective: the training loss and its gradient on fixed sequences (tests and tools).
#include "train_internal.h"

#include <t2/error.h>

#include "../torch_guard.h"

namespace t2 {

ObjectiveValue svf_objective(std::shared_ptr<const Model> model, const Decomposition& decomposition,
                             const ExpertVectors& expert,
                             const std::vector<ScoredSequence>& sequences,
                             const TrainParams& params) {
  return detail::guarded([&] {
    if (!model) throw Error(ErrorKind::InvalidArgument, "svf_objective needs a model");
    for (const auto& m : expert.matrices)
      if (!decomposition.find(m.name))
        throw Error(ErrorKind::InvalidArgument,
                    "expert matrix '" + m.name + "' is not a target of the decomposition");
    if (sequences.empty()) throw Error(ErrorKind::InvalidArgument, "no sequences to score");
    Session session(model);
    engine::train::SvfState state(decomposition, expert, model->impl());
    std::int64_t tokens = 0;
    for (const auto& q : sequences)
      tokens += static_cast<std::int64_t>(q.prompt.size() + q.completion.size());
    // No rollouts here: factored-scored matrices are never merged.
    const auto factored = state.choose_factored(params.scoring, tokens);
    state.build(session.impl(), factored, factored);
    state.attach_factored(session.impl());
    const auto stats = engine::train::score_and_backward(session.impl(), sequences, params, true);
    state.finish_backward();
    ObjectiveValue out;
    out.loss = stats.loss;
    out.kl = stats.kl;
    out.gradient = state.to_expert();
    const auto leaves = state.parameters();
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      auto& values = out.gradient.matrices[i].values;
      const at::Tensor g = leaves[i].grad().defined() ? leaves[i].grad().to(at::kCPU).contiguous()
                                                      : at::zeros({leaves[i].numel()}, at::kFloat);
      values.assign(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
    }
    return out;
  });
}

}  // namespace t2
