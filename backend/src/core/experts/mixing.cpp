// Mixing expert vectors: z' = sum_k alpha_k z_k (paper) or the reference's raw-p mix.
#include <t2/error.h>
#include <t2/experts.h>

#include <cmath>
#include <map>

namespace t2 {
namespace detail::experts_mixing {

void check_compatible(const std::vector<ExpertVectors>& experts) {
  const auto& first = experts.front();
  for (std::size_t k = 1; k < experts.size(); ++k) {
    const auto& e = experts[k];
    const std::string which = "expert " + std::to_string(k + 1);
    if (e.metadata.parametrization != first.metadata.parametrization)
      throw Error(ErrorKind::InvalidArgument,
                  "cannot mix parametrizations: expert 1 is " +
                      std::string(to_string(first.metadata.parametrization)) + ", " + which +
                      " is " + to_string(e.metadata.parametrization));
    if (e.metadata.parametrization == Parametrization::SakanaCompat &&
        e.metadata.max_mult != first.metadata.max_mult)
      throw Error(ErrorKind::InvalidArgument,
                  "cannot mix sakana-compat experts with different "
                  "max_mult (expert 1 and " +
                      which + ")");
    bool same = e.matrices.size() == first.matrices.size();
    for (std::size_t i = 0; same && i < e.matrices.size(); ++i)
      same = e.matrices[i].name == first.matrices[i].name &&
             e.matrices[i].values.size() == first.matrices[i].values.size();
    if (!same)
      throw Error(ErrorKind::InvalidArgument,
                  "cannot mix experts with different target sets: expert 1 ('" +
                      first.metadata.target_set + "', " + std::to_string(first.matrices.size()) +
                      " matrices) and " + which + " ('" + e.metadata.target_set + "', " +
                      std::to_string(e.matrices.size()) + " matrices) differ");
    if (e.metadata.base_fingerprint != first.metadata.base_fingerprint)
      throw Error(ErrorKind::InvalidArgument,
                  "cannot mix experts of different base models: expert 1 is for " +
                      first.metadata.base_fingerprint + ", " + which + " for " +
                      e.metadata.base_fingerprint);
  }
}

// alpha column index of every matrix.
std::vector<std::size_t> column_of_matrix(const ExpertVectors& e, const MixAlpha& alpha,
                                          std::vector<std::string>* column_names) {
  std::vector<std::size_t> col(e.matrices.size(), 0);
  if (alpha.shape == AlphaShape::PerExpert) {
    column_names->push_back("all matrices");
  } else if (alpha.shape == AlphaShape::PerMatrix) {
    for (std::size_t i = 0; i < col.size(); ++i) {
      col[i] = i;
      column_names->push_back(e.matrices[i].name);
    }
  } else {
    std::map<std::int64_t, std::size_t> layers;
    for (const auto& m : e.matrices) layers.emplace(m.layer, 0);
    std::size_t n = 0;
    for (auto& [layer, index] : layers) {
      index = n++;
      column_names->push_back("layer " + std::to_string(layer));
    }
    for (std::size_t i = 0; i < col.size(); ++i) col[i] = layers[e.matrices[i].layer];
  }
  return col;
}

void check_alpha(const MixAlpha& alpha, std::size_t experts, std::size_t columns) {
  const char* shape = alpha.shape == AlphaShape::PerExpert  ? "per-expert"
                      : alpha.shape == AlphaShape::PerLayer ? "per-layer"
                                                            : "per-matrix";
  if (alpha.rows.size() != experts)
    throw Error(ErrorKind::InvalidArgument,
                std::string(shape) + " alpha has " + std::to_string(alpha.rows.size()) +
                    " rows; expected one per expert (" + std::to_string(experts) + ")");
  for (std::size_t k = 0; k < experts; ++k) {
    if (alpha.rows[k].size() != columns)
      throw Error(ErrorKind::InvalidArgument, std::string(shape) + " alpha row " +
                                                  std::to_string(k + 1) + " has " +
                                                  std::to_string(alpha.rows[k].size()) +
                                                  " values; expected " + std::to_string(columns));
    for (double a : alpha.rows[k])
      if (!std::isfinite(a))
        throw Error(ErrorKind::InvalidArgument, std::string(shape) + " alpha row " +
                                                    std::to_string(k + 1) +
                                                    " holds a non-finite value");
  }
}

}  // namespace detail::experts_mixing

using namespace detail::experts_mixing;

MixResult mix_experts(const std::vector<ExpertVectors>& experts, const MixAlpha& alpha) {
  if (experts.empty()) throw Error(ErrorKind::InvalidArgument, "mixing needs at least one expert");
  check_compatible(experts);
  const auto& first = experts.front();
  std::vector<std::string> column_names;
  const auto col = column_of_matrix(first, alpha, &column_names);
  check_alpha(alpha, experts.size(), column_names.size());

  const bool sakana = first.metadata.parametrization != Parametrization::Paper;
  MixResult result;
  result.expert = first;
  auto& md = result.expert.metadata;
  if (first.metadata.parametrization == Parametrization::SakanaCompat)
    md.parametrization = Parametrization::SakanaMixed;
  md.run_id.clear();
  md.note = "mix of " + std::to_string(experts.size()) + " experts";

  std::vector<bool> zero_column(column_names.size(), true);
  for (std::size_t c = 0; c < column_names.size(); ++c)
    for (const auto& row : alpha.rows)
      if (row[c] != 0.0) zero_column[c] = false;

  for (std::size_t i = 0; i < result.expert.matrices.size(); ++i) {
    auto& values = result.expert.matrices[i].values;
    const std::size_t c = col[i];
    if (sakana && zero_column[c]) {
      values.assign(values.size(), 1.0f);  // base weights instead of the reference's 0/0
      continue;
    }
    for (std::size_t j = 0; j < values.size(); ++j) {
      // Summed in the experts' order, in float: alpha = one-hot gives the expert bit-exactly.
      float sum = 0.0f;
      for (std::size_t k = 0; k < experts.size(); ++k) {
        const float a = static_cast<float>(alpha.rows[k][c]);
        if (a != 0.0f) sum += a * experts[k].matrices[i].values[j];
      }
      values[j] = sum;
    }
  }
  if (sakana)
    for (std::size_t c = 0; c < column_names.size(); ++c)
      if (zero_column[c])
        result.warnings.push_back("alpha is zero for every expert at " + column_names[c] +
                                  " (0/0 in the reference code): using the base weights there");
  return result;
}

}  // namespace t2
