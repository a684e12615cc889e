// Adam / AdamW (torch.optim semantics), global grad-norm clipping, learning-rate schedules.
#include "train_internal.h"

#include <t2/error.h>

#include <cmath>

namespace t2::engine::train {

Optimizer::Optimizer(std::vector<at::Tensor> parameters, const TrainParams& params)
    : params_(std::move(parameters)), p_(params) {
  for (const auto& t : params_) {
    exp_avg_.push_back(at::zeros_like(t.detach()));
    exp_avg_sq_.push_back(at::zeros_like(t.detach()));
  }
}

double Optimizer::grad_norm() const {
  double sq = 0.0;
  for (const auto& t : params_)
    if (t.grad().defined()) sq += t.grad().to(at::kDouble).pow(2).sum().item<double>();
  return std::sqrt(sq);
}

double Optimizer::clip(double max_norm) {
  const double norm = grad_norm();
  if (max_norm <= 0) return norm;
  const double coef = max_norm / (norm + 1e-6);  // torch.nn.utils.clip_grad_norm_
  if (coef < 1.0) {
    at::NoGradGuard no_grad;
    for (auto& t : params_)
      if (t.grad().defined()) t.mutable_grad().mul_(coef);
  }
  return norm;
}

void Optimizer::step(double lr) {
  at::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1.0 - std::pow(p_.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(p_.beta2, static_cast<double>(step_));
  const bool decoupled = p_.optimizer == OptimizerKind::AdamW;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& param = params_[i];
    at::Tensor grad = param.grad().defined() ? param.grad() : at::zeros_like(param.detach());
    if (p_.weight_decay > 0) {
      if (decoupled)
        param.mul_(1.0 - lr * p_.weight_decay);
      else
        grad = grad + p_.weight_decay * param.detach();
    }
    exp_avg_[i].mul_(p_.beta1).add_(grad, 1.0 - p_.beta1);
    exp_avg_sq_[i].mul_(p_.beta2).addcmul_(grad, grad, 1.0 - p_.beta2);
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bc2)).add_(p_.adam_eps);
    param.addcdiv_(exp_avg_[i], denom, -lr / bc1);
  }
}

void Optimizer::zero_grad() {
  for (auto& t : params_)
    if (t.grad().defined()) t.mutable_grad().zero_();
}

std::vector<at::Tensor> Optimizer::state() const {
  std::vector<at::Tensor> out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out.push_back(exp_avg_[i]);
    out.push_back(exp_avg_sq_[i]);
  }
  return out;
}

void Optimizer::load_state(const std::vector<at::Tensor>& state, std::int64_t step) {
  if (state.size() != 2 * params_.size())
    throw Error(ErrorKind::Corrupt, "checkpoint optimizer state has " +
                                        std::to_string(state.size()) + " tensors, expected " +
                                        std::to_string(2 * params_.size()));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (state[2 * i].sizes() != exp_avg_[i].sizes() ||
        state[2 * i + 1].sizes() != exp_avg_sq_[i].sizes())
      throw Error(ErrorKind::Corrupt, "checkpoint optimizer state has the wrong shape");
    exp_avg_[i].copy_(state[2 * i]);
    exp_avg_sq_[i].copy_(state[2 * i + 1]);
  }
  step_ = step;
}

double learning_rate(const TrainParams& params, int iteration) {
  if (params.schedule != LrSchedule::Cosine) return params.lr;
  const double e = static_cast<double>(iteration - 1);
  const double t = static_cast<double>(std::max(1, params.iterations));
  return params.lr * 0.5 * (1.0 + std::cos(M_PI * e / t));
}

}  // namespace t2::engine::train
