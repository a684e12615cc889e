// Decomposition time per matrix beside the raw LAPACK SVD (at::linalg_svd called directly on
// the same float32 matrices, in the same run), and the cached-reload time, for a random model
// with Qwen2.5-0.5B MLP shapes (hidden 896, intermediate 4864: gate/up 4864x896, down 896x4864).
//
// Usage: t2_bench_decompose [LAYERS [REPEATS]]   (default 4 layers = 12 MLP matrices, 2 repeats)
// Raw and t2 passes alternate (raw, t2, raw, t2, ...); each matrix's figure is its fastest repeat.
// The model (config.json + model.safetensors, N(0, 0.02^2) weights) is written under
// build/bench-output/decompose-model; the cache under build/bench-output/decompose-cache.
// On a shared 2-core VM figures vary with the neighbours' load; compare the ratio, not seconds.
#include <t2/engine.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

constexpr std::int64_t kHidden = 896, kInter = 4864, kHeads = 14, kKv = 2, kHeadDim = 64,
                       kVocab = 1024;

void write_model(const fs::path& dir, int layers) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json")
      << "{\"architectures\":[\"Qwen2ForCausalLM\"],\"vocab_size\":" << kVocab
      << ",\"hidden_size\":" << kHidden << ",\"intermediate_size\":" << kInter
      << ",\"num_hidden_layers\":" << layers << ",\"num_attention_heads\":" << kHeads
      << ",\"num_key_value_heads\":" << kKv
      << ",\"rms_norm_eps\":1e-6,\"rope_theta\":1000000.0,\"max_position_embeddings\":2048,"
         "\"hidden_act\":\"silu\",\"tie_word_embeddings\":true,\"torch_dtype\":\"float32\"}";
  std::mt19937_64 gen(1234);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<std::vector<float>> store;
  std::vector<t2::TensorToWrite> tensors;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, bool ones = false) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    store.emplace_back(static_cast<std::size_t>(n));
    for (auto& v : store.back()) v = ones ? 1.0f : normal(gen);
    tensors.push_back({name, t2::DType::F32, shape, nullptr});
  };
  add("model.embed_tokens.weight", {kVocab, kHidden});
  add("model.norm.weight", {kHidden}, true);
  for (int l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "self_attn.q_proj.weight", {kHeads * kHeadDim, kHidden});
    add(p + "self_attn.q_proj.bias", {kHeads * kHeadDim});
    add(p + "self_attn.k_proj.weight", {kKv * kHeadDim, kHidden});
    add(p + "self_attn.k_proj.bias", {kKv * kHeadDim});
    add(p + "self_attn.v_proj.weight", {kKv * kHeadDim, kHidden});
    add(p + "self_attn.v_proj.bias", {kKv * kHeadDim});
    add(p + "self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim});
    add(p + "mlp.gate_proj.weight", {kInter, kHidden});
    add(p + "mlp.up_proj.weight", {kInter, kHidden});
    add(p + "mlp.down_proj.weight", {kHidden, kInter});
    add(p + "input_layernorm.weight", {kHidden}, true);
    add(p + "post_attention_layernorm.weight", {kHidden}, true);
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i].data = store[i].data();
  t2::write_safetensors((dir / "model.safetensors").string(), tensors);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int layers = argc > 1 ? std::max(1, std::atoi(argv[1])) : 4;
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  t2::Engine engine;  // configures torch threads ($T2_NUM_THREADS or all cores)
  const auto info = engine.system_info();
  const fs::path out = fs::path(T2_SOURCE_DIR) / "build" / "bench-output";
  const fs::path model_dir = out / "decompose-model", cache = out / "decompose-cache";
  fs::remove_all(model_dir);
  fs::remove_all(cache);
  write_model(model_dir, layers);
  std::printf(
      "model: %d layers, Qwen2.5-0.5B MLP shapes (gate/up 4864x896, down 896x4864), "
      "%d MLP matrices; torch threads %d\n",
      layers, 3 * layers, at::get_num_threads());
  (void)info;

  // Raw reference: at::linalg_svd on the same matrices, already float32 in memory.
  const auto ck = t2::Checkpoint::open(model_dir.string());
  const auto targets = t2::resolve_targets(t2::load_model_config(model_dir.string()), "mlp");
  {
    auto warm = at::randn({kHidden, kHidden});
    at::linalg_svd(warm, false, c10::nullopt);
  }
  std::map<std::string, double> raw;
  std::vector<double> ours(targets.size(), 1e30);
  t2::DecomposeParams params;
  params.targets = "mlp";
  params.cache_dir = cache.string();
  params.use_cache = false;
  for (int rep = 0; rep < repeats; ++rep) {
    for (const auto& t : targets) {
      const auto* ti = ck.find(t.name);
      auto w = at::from_blob(const_cast<void*>(ck.data(*ti)), ti->shape, at::kFloat).clone();
      const auto start = Clock::now();
      auto r = at::linalg_svd(w, false, c10::nullopt);
      const double secs = since(start);
      raw[t.name] = rep == 0 ? secs : std::min(raw[t.name], secs);
    }
    const auto uncached = t2::Decomposition::compute_or_load(model_dir.string(), params);
    for (std::size_t i = 0; i < targets.size(); ++i)
      ours[i] = std::min(ours[i], uncached.timings()[i].seconds);
  }
  params.use_cache = true;
  auto start = Clock::now();
  const auto written = t2::Decomposition::compute_or_load(model_dir.string(), params);
  const double write_run = since(start);
  start = Clock::now();
  const auto reloaded = t2::Decomposition::compute_or_load(model_dir.string(), params);
  const double reload = since(start);
  // Touch every factor once (copies them out of the mapping): the cost of first use.
  start = Clock::now();
  double checksum = 0;
  for (const auto& t : targets) checksum += reloaded.u(t.name)[0] + reloaded.vh(t.name)[0];
  const double touch = since(start);

  std::printf("\n%-40s %11s %10s %10s %7s\n", "matrix", "shape", "t2 s", "raw svd s", "ratio");
  std::vector<double> ratios;
  double t2_total = 0, raw_total = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    const double mine = ours[i], ref = raw[t.name];
    ratios.push_back(mine / ref);
    t2_total += mine;
    raw_total += ref;
    std::printf("%-40s %5lldx%-5lld %10.3f %10.3f %7.2f\n", t.name.c_str(),
                static_cast<long long>(t.out_features), static_cast<long long>(t.in_features), mine,
                ref, mine / ref);
  }
  std::printf(
      "\nper matrix: t2 %.3f s, raw %.3f s (means); ratio t2/raw: total %.2f, median %.2f "
      "(goal <= 1.2)\n",
      t2_total / targets.size(), raw_total / targets.size(), t2_total / raw_total, median(ratios));
  double written_svd = 0;
  for (const auto& t : written.timings()) written_svd += t.seconds;
  std::printf(
      "decompose + write cache: %.3f s total (%.3f s beyond its SVDs); cache file %.1f MB\n",
      write_run, write_run - written_svd, fs::file_size(written.cache_path()) / 1048576.0);
  std::printf(
      "cached reload: %.4f s (from_cache=%s, memory-mapped) vs %.3f s computing: %.0fx "
      "faster; copying every U and Vh out of the mapping once: %.3f s (%g)\n",
      reload, reloaded.from_cache() ? "yes" : "NO", t2_total, t2_total / reload, touch, checksum);
  return reloaded.from_cache() ? 0 : 1;
}
