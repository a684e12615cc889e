// export_merged (t2/adaptation.h): a merged Hugging Face checkpoint with W' for the targets.
#include "adaptation_impl.h"
#include "engine/model/tensor_dtype.h"

#include <t2/error.h>
#include <t2/safetensors.h>

#include "../svd/decomposition_impl.h"
#include "../torch_guard.h"

#include <filesystem>

namespace t2 {

namespace detail::export_merged {

namespace fs = std::filesystem;

void check_out_dir(const std::string& model_dir, const ExportMergedParams& params) {
  if (params.out_dir.empty())
    throw Error(ErrorKind::InvalidArgument, "no output folder given (--out DIR)");
  std::error_code ec;
  if (fs::exists(params.out_dir, ec)) {
    if (!fs::is_directory(params.out_dir, ec))
      throw Error(ErrorKind::InvalidArgument,
                  "'" + params.out_dir + "' exists and is not a folder; choose another --out");
    if (fs::equivalent(params.out_dir, model_dir, ec))
      throw Error(ErrorKind::InvalidArgument, "the output folder is the model folder '" +
                                                  model_dir + "'; choose another --out");
    if (!fs::is_empty(params.out_dir, ec) && !params.force)
      throw Error(ErrorKind::InvalidArgument,
                  "'" + params.out_dir + "' is not empty; choose an empty folder or pass --force");
  }
  fs::create_directories(params.out_dir, ec);
  if (ec)
    throw Error(ErrorKind::Io,
                "cannot create '" + params.out_dir + "': " + ec.message() + "; check the path");
}

void copy_file(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec)
    throw Error(ErrorKind::Io, "cannot copy '" + from.string() + "' to '" + to.string() +
                                   "': " + ec.message() + "; check the output folder");
}

}  // namespace detail::export_merged

namespace engine {

ExportMergedReport write_merged_checkpoint(const std::string& model_dir,
                                           const ExportMergedParams& params, const JobContext& job,
                                           const MergedTensorFn& merged_tensor) {
  namespace de = detail::export_merged;
  namespace fs = std::filesystem;
  const fs::path config = fs::path(model_dir) / "config.json";
  if (!fs::exists(config))
    throw Error(ErrorKind::Io, "'" + config.string() + "' not found; give a model folder");
  const Checkpoint checkpoint = Checkpoint::open(model_dir);
  de::check_out_dir(model_dir, params);
  ExportMergedReport report;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> keep;  // owns the bytes of the replaced tensors
  std::vector<TensorToWrite> out;
  const auto& infos = checkpoint.tensors();
  for (std::size_t i = 0; i < infos.size(); ++i) {
    job.throw_if_cancelled();
    const TensorInfo& info = infos[i];
    TensorToWrite t{info.name, info.dtype, info.shape, checkpoint.data(info)};
    const at::Tensor merged = merged_tensor(info, t.data);
    if (merged.defined()) {
      keep.push_back(merged.to(float_torch_dtype(info, "adapted")).contiguous());
      t.data = keep.back().data_ptr();
      report.changed.push_back(info.name);
    }
    out.push_back(std::move(t));
    job.report("merge", 0.9 * static_cast<double>(i + 1) / static_cast<double>(infos.size()),
               info.name);
  }
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  report.safetensors_path = (fs::path(params.out_dir) / "model.safetensors").string();
  write_safetensors(report.safetensors_path, out, metadata);
  report.tensors_written = static_cast<std::int64_t>(out.size());
  for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "generation_config.json"}) {
    const fs::path from = fs::path(model_dir) / name;
    if (!fs::exists(from)) continue;
    de::copy_file(from, fs::path(params.out_dir) / name);
    report.copied_files.push_back(name);
  }
  job.report("merge", 1.0, "done");
  return report;
}

}  // namespace engine

ExportMergedReport export_merged(const std::string& model_dir, const Decomposition& decomposition,
                                 const ExpertVectors& expert, const ExportMergedParams& params,
                                 const JobContext& job) {
  return detail::guarded([&] {
    for (const auto& m : expert.matrices)
      if (!decomposition.find(m.name))
        throw Error(ErrorKind::InvalidArgument, "expert matrix '" + m.name +
                                                    "' is not a target of the decomposition (" +
                                                    decomposition.target_spec() + ")");
    return engine::write_merged_checkpoint(
        model_dir, params, job, [&](const TensorInfo& info, const void* data) {
          std::vector<float> sigma_new;
          if (!decomposition.find(info.name) ||
              !engine::expert_sigma(decomposition, expert, info.name, sigma_new))
            return at::Tensor();
          const auto st = engine::float_torch_dtype(info, "adapted");
          const at::Tensor w =
              at::from_blob(const_cast<void*>(data), info.shape, at::TensorOptions().dtype(st));
          return engine::adapted_weight(w, decomposition, info.name, sigma_new);
        });
  });
}

}  // namespace t2
