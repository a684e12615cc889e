// Decomposition: reconstruction of every target of the tiny fixtures (checked in double
// precision in plain C++, independent of torch), orthonormal factors, the on-disk cache (hit,
// corrupt and mismatched files), progress and cancel.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

const std::vector<std::string> kAllFixtures = {
    "llama_f32", "llama_bias_linear", "qwen2_tied", "mistral_sw",
    "qwen3",     "llama_sharded",     "llama3_bf16"};

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "decomposition" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// The checkpoint's tensor as float32 (BF16 widened by hand: the upper 16 bits of a float).
std::vector<float> read_weight(const t2::Checkpoint& ck, const std::string& name) {
  const auto* info = ck.find(name);
  if (info == nullptr) throw std::runtime_error("no tensor " + name);
  std::vector<float> out(static_cast<std::size_t>(info->numel()));
  if (info->dtype == t2::DType::F32) {
    std::memcpy(out.data(), ck.data(*info), info->nbytes);
  } else if (info->dtype == t2::DType::BF16) {
    const auto* p = static_cast<const std::uint16_t*>(ck.data(*info));
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(p[i]) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  } else {
    throw std::runtime_error("unexpected dtype for " + name);
  }
  return out;
}

t2::DecomposeParams params_for(const std::string& targets, const std::string& cache_dir) {
  t2::DecomposeParams p;
  p.targets = targets;
  p.cache_dir = cache_dir;
  p.use_cache = !cache_dir.empty();
  return p;
}

void expect_same_factors(const t2::Decomposition& a, const t2::Decomposition& b) {
  ASSERT_EQ(a.targets().size(), b.targets().size());
  for (const auto& t : a.targets()) {
    EXPECT_EQ(a.singular_values(t.name), b.singular_values(t.name)) << t.name;
    EXPECT_EQ(a.u(t.name), b.u(t.name)) << t.name;
    EXPECT_EQ(a.vh(t.name), b.vh(t.name)) << t.name;
  }
}

}  // namespace

TEST(ModelDecomposition, ReconstructsEveryTargetOfEveryFixture) {
  for (const auto& name : kAllFixtures) {
    SCOPED_TRACE(name);
    const auto d = t2::Decomposition::compute_or_load(fixture(name), params_for("all-linear", ""));
    const auto ck = t2::Checkpoint::open(fixture(name));
    const auto config = t2::load_model_config(fixture(name));
    EXPECT_EQ(d.targets().size(), static_cast<std::size_t>(7 * config.num_hidden_layers));
    EXPECT_FALSE(d.from_cache());
    for (const auto& t : d.targets()) {
      SCOPED_TRACE(t.name);
      const auto w = read_weight(ck, t.name);
      const auto s = d.singular_values(t.name);
      const auto u = d.u(t.name);
      const auto vh = d.vh(t.name);
      const std::int64_t m = t.out_features, n = t.in_features, r = t.rank();
      ASSERT_EQ(static_cast<std::int64_t>(s.size()), r);
      ASSERT_EQ(static_cast<std::int64_t>(u.size()), m * r);
      ASSERT_EQ(static_cast<std::int64_t>(vh.size()), r * n);
      for (std::int64_t i = 0; i < r; ++i) {
        EXPECT_GE(s[i], 0.0f);
        if (i > 0) EXPECT_LE(s[i], s[i - 1]);
      }
      double err = 0.0, norm = 0.0, max_err = 0.0;
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double acc = 0.0;
          for (std::int64_t k = 0; k < r; ++k)
            acc += static_cast<double>(u[i * r + k]) * s[k] * vh[k * n + j];
          const double diff = acc - w[i * n + j];
          err += diff * diff;
          norm += static_cast<double>(w[i * n + j]) * w[i * n + j];
          max_err = std::max(max_err, std::abs(diff));
        }
      EXPECT_LT(std::sqrt(err / norm), 2e-6);  // float32: eps 1.2e-7 times a few sqrt(r)
      EXPECT_LT(max_err, 1e-5 * s[0]);
      // U^T U = I and Vh Vh^T = I (r x r).
      double u_dev = 0.0, v_dev = 0.0;
      for (std::int64_t a = 0; a < r; ++a)
        for (std::int64_t b = 0; b < r; ++b) {
          double uu = 0.0, vv = 0.0;
          for (std::int64_t i = 0; i < m; ++i)
            uu += static_cast<double>(u[i * r + a]) * u[i * r + b];
          for (std::int64_t j = 0; j < n; ++j)
            vv += static_cast<double>(vh[a * n + j]) * vh[b * n + j];
          u_dev = std::max(u_dev, std::abs(uu - (a == b)));
          v_dev = std::max(v_dev, std::abs(vv - (a == b)));
        }
      EXPECT_LT(u_dev, 1e-5);
      EXPECT_LT(v_dev, 1e-5);
    }
  }
}

TEST(ModelDecomposition, LoadedModelGivesTheSameSpectrumAsTheFolder) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto a = t2::Decomposition::compute_or_load(*model, "", params_for("attn-qv", ""));
  const auto b =
      t2::Decomposition::compute_or_load(fixture("llama_f32"), params_for("attn-qv", ""));
  ASSERT_EQ(a.targets().size(), b.targets().size());
  for (const auto& t : a.targets()) {
    EXPECT_EQ(t.part == "q_proj" || t.part == "v_proj", true) << t.name;
    const auto sa = a.singular_values(t.name), sb = b.singular_values(t.name);
    ASSERT_EQ(sa.size(), sb.size());
    for (std::size_t i = 0; i < sa.size(); ++i) EXPECT_NEAR(sa[i], sb[i], 1e-5 * sb[0]);
  }
  EXPECT_TRUE(a.cache_path().empty());
  EXPECT_FALSE(a.from_cache());
}

TEST(ModelDecomposition, CacheHitGivesIdenticalFactorsFromTheFile) {
  const auto cache = fresh_dir("hit");
  const auto first = t2::Decomposition::compute_or_load(fixture("qwen3"), params_for("mlp", cache));
  EXPECT_FALSE(first.from_cache());
  ASSERT_FALSE(first.cache_path().empty()) << first.cache_note();
  EXPECT_TRUE(fs::exists(first.cache_path()));
  EXPECT_EQ(fs::path(first.cache_path()).parent_path().parent_path(), fs::path(cache));
  EXPECT_EQ(first.fingerprint(), t2::model_fingerprint(fixture("qwen3")));
  for (const auto& t : first.timings()) EXPECT_GT(t.seconds, 0.0) << t.name;

  const auto second =
      t2::Decomposition::compute_or_load(fixture("qwen3"), params_for("mlp", cache));
  EXPECT_TRUE(second.from_cache()) << second.cache_note();
  EXPECT_EQ(second.cache_path(), first.cache_path());
  for (const auto& t : second.timings()) EXPECT_EQ(t.seconds, 0.0) << t.name;
  expect_same_factors(first, second);

  // The file holds exactly U, S, Vh per target plus the documented metadata.
  const auto file = t2::SafetensorsFile::open(first.cache_path());
  EXPECT_EQ(file.tensors().size(), 3 * first.targets().size());
  EXPECT_EQ(file.metadata().at("fingerprint"), first.fingerprint());
  EXPECT_EQ(file.metadata().at("target_set"), "mlp");
  EXPECT_EQ(file.metadata().count("torch_version"), 1u);
  EXPECT_EQ(file.metadata().count("created"), 1u);

  // Another target set is another cache entry; use_cache=false neither reads nor writes.
  const auto attn = t2::Decomposition::compute_or_load(fixture("qwen3"), params_for("attn", cache));
  EXPECT_FALSE(attn.from_cache());
  EXPECT_NE(attn.cache_path(), first.cache_path());
  auto off = params_for("mlp", cache);
  off.use_cache = false;
  const auto uncached = t2::Decomposition::compute_or_load(fixture("qwen3"), off);
  EXPECT_FALSE(uncached.from_cache());
  EXPECT_TRUE(uncached.cache_path().empty());
}

namespace {

// Rewrites the cache file at `path` after `edit` changed its tensors/metadata.
struct CacheContents {
  std::map<std::string, std::vector<float>> data;
  std::map<std::string, std::vector<std::int64_t>> shapes;
  std::map<std::string, std::string> metadata;
};

CacheContents read_cache(const std::string& path) {
  CacheContents c;
  const auto f = t2::SafetensorsFile::open(path);
  for (const auto& t : f.tensors()) {
    const auto* p = static_cast<const float*>(f.data(t));
    c.data[t.name].assign(p, p + t.numel());
    c.shapes[t.name] = t.shape;
  }
  c.metadata = f.metadata();
  return c;
}

void write_cache(const std::string& path, const CacheContents& c) {
  std::vector<t2::TensorToWrite> tensors;
  for (const auto& [name, values] : c.data)
    tensors.push_back({name, t2::DType::F32, c.shapes.at(name), values.data()});
  t2::write_safetensors(path, tensors, c.metadata);
}

}  // namespace

TEST(ModelDecomposition, CorruptOrMismatchedCacheIsRecomputed) {
  const auto cache = fresh_dir("corrupt");
  const auto params = params_for("mlp", cache);
  const auto good = t2::Decomposition::compute_or_load(fixture("llama_f32"), params);
  const std::string path = good.cache_path();
  ASSERT_FALSE(path.empty());
  const CacheContents original = read_cache(path);
  const std::string first_s = good.targets()[0].name + ".S";
  const std::string first_u = good.targets()[0].name + ".U";

  struct Case {
    std::string label;
    std::function<void()> damage;
  };
  const std::vector<Case> cases = {
      {"truncated", [&] { fs::resize_file(path, fs::file_size(path) / 2); }},
      {"garbage",
       [&] {
         std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a safetensors file";
       }},
      {"other fingerprint",
       [&] {
         auto c = original;
         c.metadata["fingerprint"] = "sha256:0000";
         write_cache(path, c);
       }},
      {"other target list",
       [&] {
         auto c = original;
         c.metadata["targets"] = "model.layers.0.mlp.up_proj.weight";
         write_cache(path, c);
       }},
      {"wrong shape",
       [&] {
         auto c = original;
         c.shapes[first_u] = {c.shapes[first_u][1], c.shapes[first_u][0]};
         write_cache(path, c);
       }},
      {"missing tensor",
       [&] {
         auto c = original;
         c.data.erase(first_u);
         write_cache(path, c);
       }},
      {"ascending sigma",
       [&] {
         auto c = original;
         std::reverse(c.data[first_s].begin(), c.data[first_s].end());
         write_cache(path, c);
       }},
      {"nan sigma",
       [&] {
         auto c = original;
         c.data[first_s][0] = std::nanf("");
         write_cache(path, c);
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    c.damage();
    const auto again = t2::Decomposition::compute_or_load(fixture("llama_f32"), params);
    EXPECT_FALSE(again.from_cache());
    EXPECT_FALSE(again.cache_note().empty());
    expect_same_factors(good, again);
    // The recomputed factors were written back: the next call hits the cache.
    const auto hit = t2::Decomposition::compute_or_load(fixture("llama_f32"), params);
    EXPECT_TRUE(hit.from_cache()) << hit.cache_note();
  }
}

TEST(ModelDecomposition, ProgressPerMatrixAndCancelBetweenMatrices) {
  std::vector<t2::Progress> seen;
  t2::JobContext job([&](const t2::Progress& p) { seen.push_back(p); });
  const auto d =
      t2::Decomposition::compute_or_load(fixture("mistral_sw"), params_for("all-linear", ""), job);
  std::vector<double> fractions;
  for (const auto& p : seen)
    if (p.stage == "svd") fractions.push_back(p.fraction);
  ASSERT_EQ(fractions.size(), d.targets().size());
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
  EXPECT_DOUBLE_EQ(fractions.back(), 1.0);

  const auto cache = fresh_dir("cancel");
  t2::CancelToken token;
  int svd_reports = 0;
  t2::JobContext cancelling(
      [&](const t2::Progress& p) {
        if (p.stage == "svd" && ++svd_reports == 2) token.request_cancel();
      },
      token);
  try {
    t2::Decomposition::compute_or_load(fixture("mistral_sw"), params_for("all-linear", cache),
                                       cancelling);
    FAIL() << "expected Cancelled";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Cancelled);
  }
  EXPECT_EQ(svd_reports, 2);         // stopped right after the second matrix
  EXPECT_TRUE(fs::is_empty(cache));  // nothing half-written
}

TEST(ModelDecomposition, FingerprintFollowsConfigAndHeaders) {
  const auto a = t2::model_fingerprint(fixture("llama_f32"));
  EXPECT_EQ(a, t2::model_fingerprint(fixture("llama_f32")));
  EXPECT_EQ(a.rfind("sha256:", 0), 0u);
  EXPECT_EQ(a.size(), 7u + 64u);
  EXPECT_NE(a, t2::model_fingerprint(fixture("llama_sharded")));
  EXPECT_NE(a, t2::model_fingerprint(fixture("qwen3")));

  // Same weights, one byte of config.json changed -> another fingerprint -> another cache entry.
  const fs::path dir = fresh_dir("fingerprint-model");
  fs::copy_file(fixture("llama_f32") + "/model.safetensors", dir / "model.safetensors");
  fs::copy_file(fixture("llama_f32") + "/config.json", dir / "config.json");
  EXPECT_EQ(t2::model_fingerprint(dir.string()), a);
  std::ofstream(dir / "config.json", std::ios::app) << "\n";
  EXPECT_NE(t2::model_fingerprint(dir.string()), a);

  const auto cache = fresh_dir("fingerprint-cache");
  const auto base =
      t2::Decomposition::compute_or_load(fixture("llama_f32"), params_for("mlp", cache));
  const auto edited = t2::Decomposition::compute_or_load(dir.string(), params_for("mlp", cache));
  EXPECT_FALSE(edited.from_cache());
  EXPECT_NE(edited.cache_path(), base.cache_path());
}

// Two checkpoints of one architecture (same config, same header: a base and its fine-tune, two
// pretraining steps) differ only in their tensor values. They must get different fingerprints,
// or the decomposition cache would hand one model the other's factors.
TEST(ModelDecomposition, FingerprintFollowsTensorValues) {
  const fs::path dir = fresh_dir("fingerprint-values");
  fs::copy_file(fixture("llama_f32") + "/config.json", dir / "config.json");
  fs::copy_file(fixture("llama_f32") + "/model.safetensors", dir / "model.safetensors");
  const auto a = t2::model_fingerprint(dir.string());
  const auto cache = fresh_dir("fingerprint-values-cache");
  const auto before = t2::Decomposition::compute_or_load(dir.string(), params_for("mlp", cache));
  const std::string name = "model.layers.0.mlp.down_proj.weight";
  const auto s_before = before.singular_values(name);

  // Scale one matrix by 2 in place: same header, same size, other values.
  std::uint64_t offset = 0;
  std::vector<float> values;
  {
    const auto checkpoint = t2::Checkpoint::open(dir.string());
    const t2::TensorInfo* info = checkpoint.find(name);
    ASSERT_NE(info, nullptr);
    ASSERT_EQ(info->dtype, t2::DType::F32);
    offset = info->file_offset;
    values.resize(static_cast<std::size_t>(info->numel()));
  }
  {
    std::ifstream in(dir / "model.safetensors", std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(reinterpret_cast<char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
    ASSERT_TRUE(in);
  }
  for (float& v : values) v *= 2.0f;
  {
    std::fstream io(dir / "model.safetensors", std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(static_cast<std::streamoff>(offset));
    io.write(reinterpret_cast<const char*>(values.data()),
             static_cast<std::streamsize>(values.size() * sizeof(float)));
  }
  EXPECT_NE(t2::model_fingerprint(dir.string()), a);
  const auto after = t2::Decomposition::compute_or_load(dir.string(), params_for("mlp", cache));
  EXPECT_FALSE(after.from_cache());
  const auto s_after = after.singular_values(name);
  ASSERT_EQ(s_after.size(), s_before.size());
  for (std::size_t i = 0; i < s_after.size(); ++i)
    EXPECT_NEAR(s_after[i], 2.0f * s_before[i], 1e-4f * (1.0f + s_before[i]));
}

// Beyond 1 MiB of tensor data only windows are hashed: still every shard's first and last bytes
// and its length, so a changed value at either end or a longer file changes the fingerprint.
TEST(ModelDecomposition, FingerprintSamplesLargeFiles) {
  const fs::path dir = fresh_dir("fingerprint-large");
  fs::copy_file(fixture("llama_f32") + "/config.json", dir / "config.json");
  std::vector<float> big(600000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 977) * 0.5f;
  auto write = [&] {
    t2::write_safetensors(
        (dir / "model.safetensors").string(),
        {{"big", t2::DType::F32, {static_cast<std::int64_t>(big.size())}, big.data()}});
    return t2::model_fingerprint(dir.string());
  };
  const auto a = write();
  EXPECT_EQ(write(), a);
  big.back() += 1.0f;
  const auto b = write();
  EXPECT_NE(b, a);
  big.front() += 1.0f;
  EXPECT_NE(write(), b);
}

TEST(ModelDecomposition, ErrorsNameTheProblem) {
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), params_for("mlp", ""));
  try {
    d.singular_values("model.layers.0.self_attn.q_proj.weight");
    FAIL();
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("q_proj"), std::string::npos);
  }
  EXPECT_THROW(t2::Decomposition::compute_or_load(fixture("llama_f32"), params_for("nonsense", "")),
               t2::Error);
  EXPECT_THROW(t2::Decomposition::compute_or_load(fixture("no_such_model"), params_for("mlp", "")),
               t2::Error);
}

TEST(Decomposition, DefaultCacheRootFollowsEnvironment) {
  std::map<std::string, std::string> saved;
  for (const char* key : {"T2_CACHE", "XDG_CACHE_HOME", "HOME"})
    if (const char* v = std::getenv(key)) saved[key] = v;
  ::setenv("T2_CACHE", "/tmp/t2c", 1);
  EXPECT_EQ(t2::default_decomposition_cache_root(), "/tmp/t2c/decompositions");
  ::unsetenv("T2_CACHE");
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(t2::default_decomposition_cache_root(), "/tmp/xdg/t2-workbench/decompositions");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/tmp/home", 1);
  EXPECT_EQ(t2::default_decomposition_cache_root(), "/tmp/home/.cache/t2-workbench/decompositions");
  ::unsetenv("HOME");
  for (const auto& [key, value] : saved) ::setenv(key.c_str(), value.c_str(), 1);
}
