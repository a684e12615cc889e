// The on-disk cache of SVD factors: one safetensors file per (model fingerprint, target set).
#include "decomposition_impl.h"

#include <t2/error.h>

#include <torch/version.h>

#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>

namespace t2 {
namespace detail::svd_cache {

constexpr const char* kFormat = "t2-decomposition/1";

std::string join_names(const std::vector<TargetMatrix>& targets) {
  std::string out;
  for (const auto& t : targets) out += (out.empty() ? "" : ",") + t.name;
  return out;
}

std::string utc_now_iso() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A view of a mapped F32 tensor with the expected shape, or an undefined tensor (why says why).
// The tensor holds a reference to the mapping, so it stays valid after the Decomposition is gone.
at::Tensor mapped_f32(const std::shared_ptr<SafetensorsFile>& file_ptr, const std::string& key,
                      const std::vector<std::int64_t>& shape, std::string& why) {
  const SafetensorsFile& file = *file_ptr;
  const TensorInfo* info = file.find(key);
  if (!info) {
    why = "tensor '" + key + "' is missing";
    return {};
  }
  if (info->dtype != DType::F32 || info->shape != shape) {
    why = "tensor '" + key + "' has the wrong dtype or shape";
    return {};
  }
  if (info->numel() == 0) return at::empty(shape, at::kFloat);
  return at::from_blob(
      const_cast<void*>(file.data(*info)), shape, [keep = file_ptr](void*) {},
      at::TensorOptions().dtype(at::kFloat));
}

bool sigma_valid(const at::Tensor& s) {
  const float* p = s.data_ptr<float>();
  for (std::int64_t i = 0; i < s.numel(); ++i)
    if (!std::isfinite(p[i]) || p[i] < 0.0f || (i > 0 && p[i] > p[i - 1])) return false;
  return true;
}

}  // namespace detail::svd_cache

namespace engine {

const SvdFactors& svd_factors(const Decomposition& decomposition, const std::string& name) {
  const auto& f = decomposition.impl().factors;
  auto it = f.find(name);
  if (it == f.end())
    throw Error(ErrorKind::InvalidArgument,
                "'" + name + "' is not in the decomposition (target set '" +
                    decomposition.target_spec() + "'); decompose a set that contains it");
  return it->second;
}

std::string decomposition_cache_file(const std::string& root, const std::string& fingerprint,
                                     const std::string& spec) {
  std::string fp = fingerprint.substr(fingerprint.find(':') + 1).substr(0, 16);
  std::string safe;
  for (char c : spec.substr(0, 40))
    safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  const std::string folder = fp + "-" + safe + "-" + sha256_hex(spec).substr(0, 8);
  return (std::filesystem::path(root) / folder / "factors.safetensors").string();
}

bool load_decomposition_cache(const std::string& path, const std::string& fingerprint,
                              const std::string& spec, const std::vector<TargetMatrix>& targets,
                              Decomposition::Impl& out, std::string& why) {
  using namespace detail::svd_cache;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    why = "no cache yet";
    return false;
  }
  std::shared_ptr<SafetensorsFile> file;
  try {
    file = std::make_shared<SafetensorsFile>(SafetensorsFile::open(path));
  } catch (const Error& e) {
    why = std::string("unreadable cache: ") + e.what();
    return false;
  }
  const auto& meta = file->metadata();
  auto value = [&](const char* key) {
    auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };
  if (value("format") != kFormat || value("fingerprint") != fingerprint ||
      value("target_set") != spec || value("targets") != join_names(targets)) {
    why = "cache metadata does not match this model/target set";
    return false;
  }
  std::map<std::string, SvdFactors> factors;
  for (const auto& t : targets) {
    const std::int64_t r = t.rank();
    SvdFactors f;
    f.u = mapped_f32(file, t.name + ".U", {t.out_features, r}, why);
    if (f.u.defined()) f.s = mapped_f32(file, t.name + ".S", {r}, why);
    if (f.s.defined()) f.vh = mapped_f32(file, t.name + ".Vh", {r, t.in_features}, why);
    if (!f.vh.defined()) return false;
    if (!sigma_valid(f.s)) {
      why = "singular values of '" + t.name + "' are not finite, non-negative and descending";
      return false;
    }
    factors.emplace(t.name, std::move(f));
  }
  out.factors = std::move(factors);
  out.cache_file = std::move(file);
  out.cache_path = path;
  out.from_cache = true;
  return true;
}

void write_decomposition_cache(const std::string& path, const Decomposition::Impl& impl) {
  using namespace detail::svd_cache;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::Io, "cannot create the decomposition cache folder for '" + path +
                                   "': " + ec.message() + " (choose another --cache-dir)");
  std::vector<TensorToWrite> tensors;
  for (const auto& t : impl.targets) {
    const auto& f = impl.factors.at(t.name);
    for (const auto& [suffix, tensor] :
         {std::pair<const char*, const at::Tensor*>{".U", &f.u}, {".S", &f.s}, {".Vh", &f.vh}}) {
      TensorToWrite w;
      w.name = t.name + suffix;
      w.dtype = DType::F32;
      w.shape = tensor->sizes().vec();
      w.data = tensor->data_ptr<float>();
      tensors.push_back(std::move(w));
    }
  }
  const std::map<std::string, std::string> metadata = {{"format", kFormat},
                                                       {"fingerprint", impl.fingerprint},
                                                       {"target_set", impl.target_spec},
                                                       {"targets", join_names(impl.targets)},
                                                       {"torch_version", TORCH_VERSION},
                                                       {"created", utc_now_iso()}};
  write_safetensors(path, tensors, metadata);
}

}  // namespace engine
}  // namespace t2
