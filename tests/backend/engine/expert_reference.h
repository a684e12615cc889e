// Independent references for the expert tests (adaptation_test.cpp, factored_test.cpp): W'
// recomposed in double precision in plain C++ from the checkpoint's weights and the factors, with
// sigma' written from the method's formulas (not t2's code): paper sigma * z; sakana-compat
// m = max_mult * sigmoid(p), sigma * m * sum(sigma) / sum(sigma * m); plus helpers.
#pragma once

#include <t2/engine.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace t2_test {

inline std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

inline t2::DecomposeParams no_cache(const std::string& targets) {
  t2::DecomposeParams p;
  p.targets = targets;
  p.use_cache = false;
  return p;
}

inline const std::vector<std::vector<std::int32_t>> kPrompt = {{1, 5, 9, 17, 33, 64, 100, 127}};

// A paper (or other) expert with values drawn uniformly from [lo, hi].
inline t2::ExpertVectors random_expert(const t2::ModelConfig& config, const t2::Decomposition& d,
                                       t2::Parametrization p, std::uint64_t seed, float lo,
                                       float hi) {
  auto e = t2::ExpertVectors::identity(config, d.targets(), p, seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (auto& m : e.matrices)
    for (auto& v : m.values) v = dist(rng);
  return e;
}

inline double max_abs(const std::vector<float>& v) {
  double out = 0.0;
  for (float x : v) out = std::max(out, static_cast<double>(std::abs(x)));
  return out;
}

inline double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double out = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    out = std::max(out, std::abs(static_cast<double>(a[i]) - b[i]));
  return out;
}

// The checkpoint's tensor as double (F32, or BF16 widened by hand).
inline std::vector<double> read_weight(const t2::Checkpoint& ck, const std::string& name) {
  const auto* info = ck.find(name);
  if (info == nullptr) throw std::runtime_error("no tensor " + name);
  std::vector<double> out(static_cast<std::size_t>(info->numel()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    float f = 0.0f;
    if (info->dtype == t2::DType::F32) {
      std::memcpy(&f, static_cast<const char*>(ck.data(*info)) + 4 * i, 4);
    } else if (info->dtype == t2::DType::BF16) {
      std::uint16_t h = 0;
      std::memcpy(&h, static_cast<const char*>(ck.data(*info)) + 2 * i, 2);
      const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
      std::memcpy(&f, &bits, 4);
    } else {
      throw std::runtime_error("unexpected dtype for " + name);
    }
    out[i] = f;
  }
  return out;
}

// sigma' in double, written from the formulas above (not t2's code).
inline std::vector<double> reference_sigma(const t2::ExpertVectors& e, const std::string& name,
                                           const std::vector<float>& sigma) {
  const auto& z = e.find(name)->values;
  std::vector<double> out(sigma.size());
  if (e.metadata.parametrization == t2::Parametrization::Paper) {
    for (std::size_t k = 0; k < sigma.size(); ++k) out[k] = static_cast<double>(sigma[k]) * z[k];
    return out;
  }
  double sum = 0.0, sum_m = 0.0;
  for (std::size_t k = 0; k < sigma.size(); ++k) {
    const double m = e.metadata.max_mult / (1.0 + std::exp(-static_cast<double>(z[k])));
    out[k] = sigma[k] * m;
    sum += sigma[k];
    sum_m += out[k];
  }
  for (auto& v : out) v *= sum / sum_m;
  return out;
}

// W' = W + U diag(sigma' - sigma) Vh in double, set on `session` as plain overrides.
inline void set_reference_overrides(t2::Session& session, const std::string& model_dir,
                                    const t2::Decomposition& d, const t2::ExpertVectors& e) {
  const auto ck = t2::Checkpoint::open(model_dir);
  for (const auto& t : d.targets()) {
    const auto w = read_weight(ck, t.name);
    const auto s = d.singular_values(t.name);
    const auto u = d.u(t.name);
    const auto vh = d.vh(t.name);
    const auto s_new = reference_sigma(e, t.name, s);
    const std::int64_t m = t.out_features, n = t.in_features, r = t.rank();
    std::vector<float> out(static_cast<std::size_t>(m * n));
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = w[i * n + j];
        for (std::int64_t k = 0; k < r; ++k)
          acc += static_cast<double>(u[i * r + k]) * (s_new[k] - s[k]) * vh[k * n + j];
        out[i * n + j] = static_cast<float>(acc);
      }
    session.set_weight_override(t.name, out, {m, n});
  }
}

}  // namespace t2_test
