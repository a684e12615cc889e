// safetensors reader/writer: round trips, the committed fixtures (written by Python, not by
// us), sharded checkpoints, and corrupt/truncated variants generated here.
#include <t2/error.h>
#include <t2/safetensors.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "safetensors" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// A raw file: 8-byte length + header text (padded) + data bytes.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// Expects Corrupt (or `kind`) mentioning every string in `needles`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles,
                  t2::ErrorKind kind = t2::ErrorKind::Corrupt) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << needles.front();
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "'" << n << "' not in: " << e.what();
  }
}

TEST(Safetensors, WriteThenReadRoundTrip) {
  const auto dir = scratch("roundtrip");
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
  const std::vector<std::uint16_t> b = {0x3f80, 0xc000, 0x4040};  // bf16 1, -2, 3
  const std::vector<std::int64_t> c = {-5, 1LL << 40};
  const auto path = (dir / "x.safetensors").string();
  t2::write_safetensors(path,
                        {{"b16", t2::DType::BF16, {3}, b.data()},
                         {"a", t2::DType::F32, {2, 3}, a.data()},
                         {"ints", t2::DType::I64, {2}, c.data()}},
                        {{"format", "pt"}, {"run", "42"}});
  auto f = t2::SafetensorsFile::open(path);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.metadata().at("run"), "42");
  const auto* ta = f.find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(ta->dtype, t2::DType::F32);
  EXPECT_EQ(std::memcmp(f.data(*ta), a.data(), 24), 0);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f.data(*ta)) % 8, 0u)
      << "largest dtype first, aligned";
  EXPECT_EQ(std::memcmp(f.data(*f.find("b16")), b.data(), 6), 0);
  EXPECT_EQ(std::memcmp(f.data(*f.find("ints")), c.data(), 16), 0);
  EXPECT_EQ(f.find("missing"), nullptr);
  for (const auto& entry : fs::directory_iterator(dir))  // no temp file left behind
    EXPECT_EQ(entry.path().filename(), "x.safetensors");
  // Header is padded to a multiple of 8.
  const auto bytes = read_all(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, WriterRejectsBadInput) {
  const auto dir = scratch("writer-bad");
  const float x = 1;
  expect_error(
      [&] {
        t2::write_safetensors((dir / "a").string(),
                              {{"t", t2::DType::F32, {1}, &x}, {"t", t2::DType::F32, {1}, &x}});
      },
      {"duplicate", "'t'"}, t2::ErrorKind::InvalidArgument);
  expect_error(
      [&] {
        t2::write_safetensors((dir / "a").string(), {{"t", t2::DType::F32, {-1}, &x}});
      },
      {"negative"}, t2::ErrorKind::InvalidArgument);
  expect_error(
      [&] {
        t2::write_safetensors((dir / "no-such-dir" / "a").string(),
                              {{"t", t2::DType::F32, {1}, &x}});
      },
      {"no-such-dir"}, t2::ErrorKind::Io);
}

TEST(Safetensors, ReadsPythonWrittenFixture) {
  const auto ck = t2::Checkpoint::open(std::string(T2_FIXTURES_DIR) + "/models/llama_f32");
  const auto* e = ck.find("model.embed_tokens.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->shape, (std::vector<std::int64_t>{128, 32}));
  EXPECT_EQ(ck.metadata().at("format"), "pt");
  EXPECT_EQ(ck.files().size(), 1u);
  const auto* bf = t2::Checkpoint::open(std::string(T2_FIXTURES_DIR) + "/models/llama3_bf16")
                       .find("model.norm.weight");
  ASSERT_NE(bf, nullptr);
  EXPECT_EQ(bf->dtype, t2::DType::BF16);
}

TEST(Safetensors, ShardedEqualsSingleFile) {
  const auto single = t2::Checkpoint::open(std::string(T2_FIXTURES_DIR) + "/models/llama_f32");
  const auto sharded = t2::Checkpoint::open(std::string(T2_FIXTURES_DIR) + "/models/llama_sharded");
  EXPECT_EQ(sharded.files().size(), 2u);
  ASSERT_EQ(single.tensors().size(), sharded.tensors().size());
  for (std::size_t i = 0; i < single.tensors().size(); ++i) {
    const auto& a = single.tensors()[i];
    const auto& b = sharded.tensors()[i];
    ASSERT_EQ(a.name, b.name);
    ASSERT_EQ(a.nbytes, b.nbytes);
    EXPECT_EQ(std::memcmp(single.data(a), sharded.data(b), a.nbytes), 0) << a.name;
  }
  EXPECT_EQ(sharded.metadata().count("total_size"), 1u);
}

TEST(Safetensors, ShardIndexErrors) {
  const auto dir = scratch("shards");
  const float x[2] = {1, 2};
  t2::write_safetensors((dir / "s1.safetensors").string(), {{"a", t2::DType::F32, {2}, x}});
  write_all(dir / "model.safetensors.index.json",
            R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}})");
  expect_error([&] { t2::Checkpoint::open(dir.string()); }, {"lacks tensor 'b'", "s1.safetensors"});
  write_all(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "s2.safetensors"}})");
  expect_error([&] { t2::Checkpoint::open(dir.string()); }, {"s2.safetensors", "missing"},
               t2::ErrorKind::Io);
  write_all(dir / "model.safetensors.index.json", R"({"weight_map": [1,2]})");
  expect_error([&] { t2::Checkpoint::open(dir.string()); }, {"weight_map"});
  t2::write_safetensors((dir / "s2.safetensors").string(), {{"a", t2::DType::F32, {2}, x}});
  write_all(dir / "model.safetensors.index.json",
            R"({"weight_map": {"a": "s1.safetensors", "c": "s2.safetensors"}})");
  expect_error([&] { t2::Checkpoint::open(dir.string()); },
               {"'a'", "s1.safetensors", "s2.safetensors"});
  expect_error([&] { t2::Checkpoint::open((dir / "nothing-here").string()); }, {"nothing-here"},
               t2::ErrorKind::Io);
}

// Each corrupt variant: (description, file bytes, expected substrings).
struct Variant {
  std::string what;
  std::string bytes;
  std::vector<std::string> needles;
  t2::ErrorKind kind = t2::ErrorKind::Corrupt;
};

TEST(Safetensors, CorruptVariantsNameFileAndTensor) {
  const auto dir = scratch("corrupt");
  const float data[6] = {1, 2, 3, 4, 5, 6};
  const auto good_path = dir / "good.safetensors";
  t2::write_safetensors(good_path.string(), {{"w.first", t2::DType::F32, {2, 2}, data},
                                             {"w.second", t2::DType::F32, {2}, data + 4}});
  const std::string good = read_all(good_path);
  const std::string d24(24, '\1');
  const auto hdr = [](const std::string& body) { return "{" + body + "}"; };
  std::vector<Variant> variants = {
      {"truncated data", good.substr(0, good.size() - 3), {"w.second", "truncated"}},
      {"truncated header", good.substr(0, 20), {"header length"}},
      {"tiny file", good.substr(0, 5), {"8-byte"}},
      {"huge header length",
       std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}",
       {"header length"}},
      {"zero header length", std::string(8, '\0') + "{}", {"header length"}},
      {"not json", raw_file("{\"a\": [1, 2", d24), {"not valid JSON"}},
      {"not an object", raw_file("[1, 2, 3]", ""), {"not a JSON object"}},
      {"unknown dtype",
       raw_file(hdr(R"("w.x":{"dtype":"F33","shape":[6],"data_offsets":[0,24]})"), d24),
       {"w.x", "F33"}},
      {"fp8 dtype",
       raw_file(hdr(R"("w.x":{"dtype":"F8_E4M3","shape":[24],"data_offsets":[0,24]})"), d24),
       {"w.x", "F8_E4M3"},
       t2::ErrorKind::Unsupported},
      {"shape mismatch",
       raw_file(hdr(R"("w.x":{"dtype":"F32","shape":[5],"data_offsets":[0,24]})"), d24),
       {"w.x", "20 bytes"}},
      {"negative dim",
       raw_file(hdr(R"("w.x":{"dtype":"F32","shape":[-6],"data_offsets":[0,24]})"), d24),
       {"w.x", "shape"}},
      {"out of range",
       raw_file(hdr(R"("w.x":{"dtype":"F32","shape":[8],"data_offsets":[0,32]})"), d24),
       {"w.x", "beyond the end"}},
      {"end before begin",
       raw_file(hdr(R"("w.x":{"dtype":"F32","shape":[0],"data_offsets":[8,4]})"), d24),
       {"w.x", "end < begin"}},
      {"overlap",
       raw_file(
           hdr(R"("w.a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"w.b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]})"),
           d24),
       {"w.b", "overlap", "w.a"}},
      {"gap",
       raw_file(
           hdr(R"("w.a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w.b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]})"),
           d24),
       {"w.b", "gap"}},
      {"trailing bytes",
       raw_file(hdr(R"("w.a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})"), d24),
       {"16 bytes after the last tensor"}},
      {"missing key",
       raw_file(hdr(R"("w.a":{"dtype":"F32","data_offsets":[0,24]})"), d24),
       {"w.a", "shape"}},
      {"extra key",
       raw_file(hdr(R"("w.a":{"dtype":"F32","shape":[6],"data_offsets":[0,24],"x":1})"), d24),
       {"w.a", "unexpected keys"}},
      {"bad offsets",
       raw_file(hdr(R"("w.a":{"dtype":"F32","shape":[6],"data_offsets":[0]})"), d24),
       {"w.a", "data_offsets"}},
      {"metadata not strings",
       raw_file(
           hdr(R"("__metadata__":{"n":1},"w.a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]})"),
           d24),
       {"__metadata__", "'n'"}},
  };
  for (std::size_t i = 0; i < variants.size(); ++i) {
    SCOPED_TRACE(variants[i].what);
    const auto path = dir / ("v" + std::to_string(i) + ".safetensors");
    write_all(path, variants[i].bytes);
    auto needles = variants[i].needles;
    needles.push_back(path.string());
    expect_error([&] { t2::SafetensorsFile::open(path.string()); }, needles, variants[i].kind);
  }
  // The intact file still reads, and the truncated copy of it names the file.
  EXPECT_EQ(t2::SafetensorsFile::open(good_path.string()).tensors().size(), 2u);
}

TEST(Safetensors, MissingFileIsIo) {
  expect_error([] { t2::SafetensorsFile::open("/nonexistent/x.safetensors"); },
               {"/nonexistent/x.safetensors"}, t2::ErrorKind::Io);
}

}  // namespace
