// Decomposition::compute_or_load: reduced float32 SVD of the target matrices, with the cache.
#include "decomposition_impl.h"
#include "engine/model/tensor_dtype.h"

#include "../model/model_impl.h"
#include "../torch_guard.h"

#include <t2/error.h>
#include <t2/model_config.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

namespace t2 {
namespace detail::svd {

using Clock = std::chrono::steady_clock;
using Fetch = std::function<at::Tensor(const TargetMatrix&)>;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// W [out, in] as float32 from the checkpoint (a view of the mapping when already F32).
at::Tensor checkpoint_matrix(const Checkpoint& checkpoint, const TargetMatrix& t) {
  const TensorInfo* info = checkpoint.find(t.name);
  if (!info)
    throw Error(ErrorKind::Corrupt, "the checkpoint has no tensor '" + t.name +
                                        "' although config.json implies it (re-export the model)");
  if (info->shape != std::vector<std::int64_t>{t.out_features, t.in_features})
    throw Error(ErrorKind::Corrupt, "tensor '" + t.name + "' in " + info->file +
                                        " has a shape other than the [" +
                                        std::to_string(t.out_features) + ", " +
                                        std::to_string(t.in_features) + "] config.json implies");
  auto view =
      at::from_blob(const_cast<void*>(checkpoint.data(*info)), info->shape,
                    at::TensorOptions().dtype(engine::float_torch_dtype(*info, "decomposed")));
  return view.to(at::kFloat);
}

// A wide matrix (out < in, e.g. down_proj) is decomposed as its transpose, which LAPACK's gesdd
// does ~1.3x faster here: W^T = U' S Vh'  =>  W = Vh'^T S U'^T.
engine::SvdFactors reduced_svd(const at::Tensor& w) {
  if (w.size(0) < w.size(1)) {
    auto [u, s, vh] = at::linalg_svd(w.t(), /*full_matrices=*/false, /*driver=*/c10::nullopt);
    return {vh.t().contiguous(), s.contiguous(), u.t().contiguous()};
  }
  auto [u, s, vh] = at::linalg_svd(w, /*full_matrices=*/false, /*driver=*/c10::nullopt);
  return {u.contiguous(), s.contiguous(), vh.contiguous()};
}

// Reports fractions up to `share` (the rest is left for writing the cache).
void compute_all(Decomposition::Impl& impl, const Fetch& fetch, const JobContext& job,
                 double share) {
  const auto n = static_cast<double>(impl.targets.size());
  for (std::size_t i = 0; i < impl.targets.size(); ++i) {
    job.throw_if_cancelled();
    const auto& t = impl.targets[i];
    const auto start = Clock::now();
    auto factors = reduced_svd(fetch(t));
    const double secs = seconds_since(start);
    impl.factors.emplace(t.name, std::move(factors));
    impl.timings.push_back({t.name, secs});
    char msg[64];
    std::snprintf(msg, sizeof msg, " %.3f s", secs);
    job.report("svd", share * (i + 1) / n, "SVD " + t.name + msg);
  }
}

Decomposition run(const std::string& fingerprint, const std::vector<TargetMatrix>& targets,
                  const DecomposeParams& params, const Fetch& fetch, const JobContext& job) {
  const auto start = Clock::now();
  auto impl = std::make_shared<Decomposition::Impl>();
  impl->targets = targets;
  impl->fingerprint = fingerprint;
  impl->target_spec = params.targets;
  const bool cached = params.use_cache && !fingerprint.empty();
  std::string path;
  if (cached) {
    const std::string root =
        params.cache_dir.empty() ? default_decomposition_cache_root() : params.cache_dir;
    path = engine::decomposition_cache_file(root, fingerprint, params.targets);
    job.report("load", 0.0, "looking for a cached decomposition: " + path);
    if (engine::load_decomposition_cache(path, fingerprint, params.targets, targets, *impl,
                                         impl->cache_note)) {
      impl->cache_note.clear();
      for (const auto& t : targets) impl->timings.push_back({t.name, 0.0});
      impl->total_seconds = seconds_since(start);
      job.report("load", 1.0, "loaded cached decomposition");
      return Decomposition(impl);
    }
  }
  compute_all(*impl, fetch, job, cached ? 0.95 : 1.0);
  if (cached) {
    job.report("write", 0.96, "writing " + path);
    try {
      engine::write_decomposition_cache(path, *impl);
      impl->cache_path = path;
    } catch (const Error& e) {
      impl->cache_note += std::string("; cache not written: ") + e.what();
    }
    job.report("write", 1.0, impl->cache_path.empty() ? "cache not written" : "cached");
  }
  impl->total_seconds = seconds_since(start);
  return Decomposition(impl);
}

}  // namespace detail::svd

Decomposition::Decomposition(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Decomposition Decomposition::compute_or_load(const std::string& model_dir,
                                             const DecomposeParams& params, const JobContext& job) {
  return detail::guarded([&] {
    const ModelConfig config = load_model_config(model_dir);
    const auto targets = resolve_targets(config, params.targets);
    const std::string fingerprint = model_fingerprint(model_dir);
    std::unique_ptr<Checkpoint> checkpoint;
    auto fetch = [&](const TargetMatrix& t) {
      if (!checkpoint) checkpoint = std::make_unique<Checkpoint>(Checkpoint::open(model_dir));
      return detail::svd::checkpoint_matrix(*checkpoint, t);
    };
    return detail::svd::run(fingerprint, targets, params, fetch, job);
  });
}

Decomposition Decomposition::compute_or_load(const Model& model, const std::string& fingerprint,
                                             const DecomposeParams& params, const JobContext& job) {
  return detail::guarded([&] {
    const auto targets = resolve_targets(model.config(), params.targets);
    auto fetch = [&](const TargetMatrix& t) {
      at::Tensor w = model.impl().weight(t.name);
      if (!w.defined())
        throw Error(ErrorKind::InvalidArgument, "the model has no tensor '" + t.name + "'");
      return w.to(at::kCPU, at::kFloat).contiguous();
    };
    return detail::svd::run(fingerprint, targets, params, fetch, job);
  });
}

const std::vector<TargetMatrix>& Decomposition::targets() const { return impl_->targets; }

const TargetMatrix* Decomposition::find(const std::string& name) const {
  for (const auto& t : impl_->targets)
    if (t.name == name) return &t;
  return nullptr;
}

namespace detail::svd {
std::vector<float> to_vector(const at::Tensor& t) {
  const float* p = t.data_ptr<float>();
  return std::vector<float>(p, p + t.numel());
}
}  // namespace detail::svd

std::vector<float> Decomposition::singular_values(const std::string& name) const {
  return detail::svd::to_vector(engine::svd_factors(*this, name).s);
}
std::vector<float> Decomposition::u(const std::string& name) const {
  return detail::svd::to_vector(engine::svd_factors(*this, name).u);
}
std::vector<float> Decomposition::vh(const std::string& name) const {
  return detail::svd::to_vector(engine::svd_factors(*this, name).vh);
}
bool Decomposition::from_cache() const { return impl_->from_cache; }
std::string Decomposition::fingerprint() const { return impl_->fingerprint; }
std::string Decomposition::target_spec() const { return impl_->target_spec; }
std::string Decomposition::cache_path() const { return impl_->cache_path; }
std::string Decomposition::cache_note() const { return impl_->cache_note; }
const std::vector<MatrixTiming>& Decomposition::timings() const { return impl_->timings; }
double Decomposition::total_seconds() const { return impl_->total_seconds; }

std::vector<MatrixSpectrum> matrix_spectra(const Decomposition& decomposition) {
  std::vector<MatrixSpectrum> out;
  for (const auto& t : decomposition.targets()) {
    MatrixSpectrum m;
    m.name = t.name;
    m.layer = t.layer;
    m.part = t.part;
    m.out_features = t.out_features;
    m.in_features = t.in_features;
    m.metrics = spectrum_metrics(decomposition.singular_values(t.name),
                                 std::max(t.out_features, t.in_features));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace t2
