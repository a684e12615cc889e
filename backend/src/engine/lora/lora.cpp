// apply_lora, merge_lora and lora_objective (t2/lora.h): LoRA adapters on a Session, folded into a
// checkpoint, and the training loss with its gradient on fixed sequences.
#include "lora_impl.h"

#include <t2/error.h>

#include "../experts/adaptation_impl.h"
#include "../model/session_impl.h"
#include "../model/tensor_dtype.h"
#include "../torch_guard.h"
#include "../train/trainable.h"

namespace t2 {

void apply_lora(Session& session, const LoraAdapter& adapter) {
  detail::guarded([&] {
    Session::Impl& impl = session.impl();
    check_lora_adapter(adapter, impl.m().config);
    at::NoGradGuard no_grad;
    for (const auto& m : adapter.matrices) {
      const auto [a, b] = engine::lora_tensors(m, adapter.config.rank, impl.m().device);
      const at::Tensor w = impl.m().weight(m.name);
      impl.set_override(
          m.name, engine::lora_merged_weight(w, a, b, adapter.config.scaling()).to(impl.m().dtype));
    }
    return 0;
  });
}

ExportMergedReport merge_lora(const std::string& model_dir, const LoraAdapter& adapter,
                              const ExportMergedParams& params, const JobContext& job) {
  return detail::guarded([&] {
    check_lora_adapter(adapter, load_model_config(model_dir));
    return engine::write_merged_checkpoint(
        model_dir, params, job, [&](const TensorInfo& info, const void* data) {
          const LoraMatrix* m = adapter.find(info.name);
          if (!m) return at::Tensor();
          const auto st = engine::float_torch_dtype(info, "adapted");
          const at::Tensor w =
              at::from_blob(const_cast<void*>(data), info.shape, at::TensorOptions().dtype(st));
          const auto [a, b] = engine::lora_tensors(*m, adapter.config.rank, at::kCPU);
          return engine::lora_merged_weight(w, a, b, adapter.config.scaling());
        });
  });
}

LoraObjectiveValue lora_objective(std::shared_ptr<const Model> model, const LoraAdapter& adapter,
                                  const std::vector<ScoredSequence>& sequences,
                                  const TrainParams& params, std::uint64_t dropout_seed) {
  return detail::guarded([&] {
    if (!model) throw Error(ErrorKind::InvalidArgument, "lora_objective needs a model");
    if (sequences.empty()) throw Error(ErrorKind::InvalidArgument, "no sequences to score");
    LoraAdapter scored = adapter;
    scored.config.dropout = params.lora_dropout;
    Session session(model);
    engine::train::LoraState state(scored, model->impl());
    state.attach_scoring(session.impl(), dropout_seed);
    const auto stats = engine::train::score_and_backward(session.impl(), sequences, params, true);
    state.finish_backward();
    LoraObjectiveValue out;
    out.loss = stats.loss;
    out.kl = stats.kl;
    out.gradient = state.to_adapter();
    out.gradient.config = adapter.config;
    auto grad_of = [](const at::Tensor& leaf) {
      const at::Tensor g = leaf.grad().defined() ? leaf.grad().to(at::kCPU).contiguous()
                                                 : at::zeros(leaf.sizes(), at::kFloat);
      return std::vector<float>(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
    };
    for (std::size_t i = 0; i < state.matrices().size(); ++i) {
      out.gradient.matrices[i].a = grad_of(state.matrices()[i].a);
      out.gradient.matrices[i].b = grad_of(state.matrices()[i].b);
    }
    return out;
  });
}

}  // namespace t2
