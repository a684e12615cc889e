// Expert vectors: parametrizations, identity, file I/O, fingerprint, statistics.
#include <t2/error.h>
#include <t2/experts.h>
#include <t2/safetensors.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

namespace t2 {
namespace detail::experts {

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double parse_double(const std::string& text, const std::string& key, const std::string& file) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (...) {
  }
  throw Error(ErrorKind::Corrupt, file + ": metadata '" + key + "' is not a number: '" + text +
                                      "'. Re-create the expert file.");
}

// Layer index and part from an HF parameter name ("model.layers.3.mlp.up_proj.weight").
bool parse_parameter_name(const std::string& name, std::int64_t* layer, std::string* part) {
  const std::string tag = "layers.";
  const auto at = name.find(tag);
  if (at == std::string::npos) return false;
  std::size_t pos = at + tag.size();
  std::size_t end = pos;
  while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
  if (end == pos) return false;
  *layer = std::stoll(name.substr(pos, end - pos));
  const auto last = name.rfind('.');
  if (last == std::string::npos || last == 0) return false;
  const auto before = name.rfind('.', last - 1);
  *part = name.substr(before + 1, last - before - 1);
  return true;
}

std::size_t part_order(const std::string& part) {
  const auto& parts = linear_parts();
  return static_cast<std::size_t>(std::find(parts.begin(), parts.end(), part) - parts.begin());
}

void sort_matrices(std::vector<ExpertMatrix>& matrices) {
  std::stable_sort(matrices.begin(), matrices.end(), [](const auto& a, const auto& b) {
    if (a.layer != b.layer) return a.layer < b.layer;
    return part_order(a.part) < part_order(b.part);
  });
}

ValueStats stats_of(const std::string& name, const std::vector<const std::vector<float>*>& vs) {
  ValueStats s;
  s.name = name;
  double sum = 0.0, sq = 0.0;
  std::int64_t negative = 0;
  s.min = INFINITY;
  s.max = -INFINITY;
  for (const auto* v : vs)
    for (float x : *v) {
      ++s.count;
      sum += x;
      sq += static_cast<double>(x) * x;
      s.min = std::min<double>(s.min, x);
      s.max = std::max<double>(s.max, x);
      if (x < 0.0f) ++negative;
    }
  if (s.count == 0) {
    s.min = s.max = 0.0;
    return s;
  }
  s.mean = sum / static_cast<double>(s.count);
  s.std = std::sqrt(std::max(0.0, sq / static_cast<double>(s.count) - s.mean * s.mean));
  s.fraction_negative = static_cast<double>(negative) / static_cast<double>(s.count);
  return s;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace detail::experts

using namespace detail::experts;

const char* to_string(Parametrization p) noexcept {
  switch (p) {
    case Parametrization::Paper:
      return "paper";
    case Parametrization::SakanaCompat:
      return "sakana-compat";
    case Parametrization::SakanaMixed:
      return "sakana-mixed";
  }
  return "paper";
}

Parametrization parse_parametrization(const std::string& name) {
  for (auto p :
       {Parametrization::Paper, Parametrization::SakanaCompat, Parametrization::SakanaMixed})
    if (name == to_string(p)) return p;
  throw Error(ErrorKind::InvalidArgument,
              "unknown parametrization '" + name + "'; use paper, sakana-compat or sakana-mixed");
}

float identity_value(Parametrization p) noexcept {
  return p == Parametrization::SakanaCompat ? kSakanaIdentityP : 1.0f;
}

ExpertVectors ExpertVectors::identity(const ModelConfig& config,
                                      const std::vector<TargetMatrix>& targets,
                                      Parametrization parametrization, std::uint64_t seed) {
  if (targets.empty())
    throw Error(ErrorKind::InvalidArgument, "an expert needs at least one target matrix");
  ExpertVectors e;
  e.metadata.architecture = config.architecture;
  e.metadata.parametrization = parametrization;
  e.metadata.created_at = now_seconds();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> init(0.1, 0.01);
  for (const auto& t : targets) {
    ExpertMatrix m{t.name, t.layer, t.part, {}};
    m.values.resize(static_cast<std::size_t>(t.rank()), identity_value(parametrization));
    if (parametrization == Parametrization::SakanaCompat)
      for (auto& v : m.values) v = static_cast<float>(init(rng));
    e.matrices.push_back(std::move(m));
  }
  return e;
}

const ExpertMatrix* ExpertVectors::find(const std::string& name) const noexcept {
  for (const auto& m : matrices)
    if (m.name == name) return &m;
  return nullptr;
}

std::int64_t ExpertVectors::total_values() const noexcept {
  std::int64_t n = 0;
  for (const auto& m : matrices) n += static_cast<std::int64_t>(m.values.size());
  return n;
}

void write_expert(const std::string& path, const ExpertVectors& expert) {
  if (expert.matrices.empty())
    throw Error(ErrorKind::InvalidArgument, "cannot write an empty expert to " + path);
  std::set<std::string> seen;
  std::vector<TensorToWrite> tensors;
  for (const auto& m : expert.matrices) {
    if (!seen.insert(m.name).second)
      throw Error(ErrorKind::InvalidArgument, "expert has two vectors named " + m.name);
    for (float v : m.values)
      if (!std::isfinite(v))
        throw Error(ErrorKind::InvalidArgument,
                    "expert vector " + m.name + " holds a non-finite value; not writing " + path);
    tensors.push_back(
        {m.name, DType::F32, {static_cast<std::int64_t>(m.values.size())}, m.values.data()});
  }
  const auto& md = expert.metadata;
  std::map<std::string, std::string> meta = {
      {"format", kExpertFormat},
      {"version", std::to_string(kExpertFormatVersion)},
      {"base_fingerprint", md.base_fingerprint},
      {"architecture", md.architecture},
      {"parametrization", to_string(md.parametrization)},
      {"max_mult", format_double(md.max_mult)},
      {"target_set", md.target_set},
      {"run_id", md.run_id},
      {"note", md.note},
      {"created_at", format_double(md.created_at)},
  };
  write_safetensors(path, tensors, meta);
}

ExpertVectors read_expert(const std::string& path) {
  auto file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto get = [&](const std::string& key) -> std::string {
    auto it = meta.find(key);
    if (it == meta.end())
      throw Error(ErrorKind::Corrupt, path + ": expert metadata lacks '" + key +
                                          "'. Is this a t2 expert file? (`t2 expert info`)");
    return it->second;
  };
  if (get("format") != kExpertFormat)
    throw Error(ErrorKind::Corrupt, path + ": not a t2 expert file (format '" + get("format") +
                                        "', expected '" + kExpertFormat + "')");
  const double version = parse_double(get("version"), "version", path);
  if (version > kExpertFormatVersion)
    throw Error(ErrorKind::Unsupported, path + ": expert format version " + get("version") +
                                            " is newer than this build reads (" +
                                            std::to_string(kExpertFormatVersion) +
                                            "); update T2 Workbench");
  ExpertVectors e;
  auto& md = e.metadata;
  md.base_fingerprint = get("base_fingerprint");
  md.architecture = get("architecture");
  try {
    md.parametrization = parse_parametrization(get("parametrization"));
  } catch (const Error& err) {
    throw Error(ErrorKind::Corrupt, path + ": " + err.what());
  }
  md.max_mult = parse_double(get("max_mult"), "max_mult", path);
  if (!(md.max_mult > 0.0))
    throw Error(ErrorKind::Corrupt, path + ": max_mult must be > 0, got " + get("max_mult"));
  md.target_set = get("target_set");
  md.run_id = get("run_id");
  md.note = get("note");
  md.created_at = parse_double(get("created_at"), "created_at", path);
  for (const auto& t : file.tensors()) {
    if (t.dtype != DType::F32 || t.shape.size() != 1)
      throw Error(ErrorKind::Corrupt,
                  path + ": expert tensor " + t.name + " must be a 1-D F32 vector");
    ExpertMatrix m;
    m.name = t.name;
    if (!parse_parameter_name(t.name, &m.layer, &m.part))
      throw Error(ErrorKind::Corrupt,
                  path + ": expert tensor " + t.name +
                      " is not a layer weight name (model.layers.N.*.PART.weight)");
    m.values.resize(static_cast<std::size_t>(t.shape[0]));
    std::copy_n(static_cast<const float*>(file.data(t)), m.values.size(), m.values.begin());
    e.matrices.push_back(std::move(m));
  }
  if (e.matrices.empty()) throw Error(ErrorKind::Corrupt, path + ": expert file has no vectors");
  sort_matrices(e.matrices);
  return e;
}

std::vector<float> effective_multipliers(Parametrization parametrization,
                                         const std::vector<float>& values,
                                         const std::vector<float>& sigma, double max_mult) {
  if (values.size() != sigma.size())
    throw Error(ErrorKind::InvalidArgument, "expert vector has " + std::to_string(values.size()) +
                                                " values but the matrix has " +
                                                std::to_string(sigma.size()) + " singular values");
  if (parametrization == Parametrization::Paper) return values;
  std::vector<double> m(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    m[i] = parametrization == Parametrization::SakanaCompat
               ? max_mult / (1.0 + std::exp(-static_cast<double>(values[i])))
               : static_cast<double>(values[i]);
  double sum_sigma = 0.0, sum_scaled = 0.0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    sum_sigma += sigma[i];
    sum_scaled += sigma[i] * m[i];
  }
  const double scale = sum_sigma / sum_scaled;
  std::vector<float> out(values.size(), 1.0f);
  if (sum_scaled == 0.0 || !std::isfinite(scale)) return out;  // 0/0 in the reference
  for (std::size_t i = 0; i < m.size(); ++i) out[i] = static_cast<float>(m[i] * scale);
  return out;
}

std::vector<float> adapted_sigma(Parametrization parametrization, const std::vector<float>& values,
                                 const std::vector<float>& sigma, double max_mult) {
  auto out = effective_multipliers(parametrization, values, sigma, max_mult);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] *= sigma[i];
  return out;
}

ExpertStats expert_stats(const ExpertVectors& expert) {
  ExpertStats s;
  std::map<std::int64_t, std::vector<const std::vector<float>*>> by_layer;
  std::vector<const std::vector<float>*> all;
  for (const auto& m : expert.matrices) {
    s.per_matrix.push_back(stats_of(m.name, {&m.values}));
    by_layer[m.layer].push_back(&m.values);
    all.push_back(&m.values);
  }
  for (const auto& [layer, vs] : by_layer)
    s.per_layer.push_back(stats_of("layer " + std::to_string(layer), vs));
  s.overall = stats_of("all", all);
  return s;
}

}  // namespace t2
