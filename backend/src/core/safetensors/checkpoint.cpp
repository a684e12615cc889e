// A checkpoint: one .safetensors file or a sharded set (model.safetensors.index.json).
#include <t2/error.h>
#include <t2/safetensors.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace t2 {
namespace detail::checkpoint {

[[noreturn]] void corrupt_index(const std::string& index, const std::string& what) {
  throw Error(ErrorKind::Corrupt, "corrupt shard index '" + index + "': " + what +
                                      " (re-download the checkpoint's index and shards)");
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    corrupt_index(path, std::string("not valid JSON: ") + e.what());
  }
}

// weight_map of an index: tensor name -> shard file name (relative to the index's folder).
std::map<std::string, std::string> parse_weight_map(const std::string& index) {
  const auto j = read_json_file(index);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    corrupt_index(index, "no \"weight_map\" object");
  std::map<std::string, std::string> map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) corrupt_index(index, "entry '" + it.key() + "' is not a string");
    const auto file = it.value().get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "..")
      corrupt_index(index, "entry '" + it.key() + "' names an invalid shard '" + file + "'");
    map[it.key()] = file;
  }
  if (map.empty()) corrupt_index(index, "\"weight_map\" is empty");
  return map;
}

std::map<std::string, std::string> index_metadata(const std::string& index) {
  const auto j = read_json_file(index);
  std::map<std::string, std::string> out;
  if (j.contains("metadata") && j["metadata"].is_object())
    for (auto it = j["metadata"].begin(); it != j["metadata"].end(); ++it)
      out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  return out;
}

}  // namespace detail::checkpoint

namespace ck = detail::checkpoint;

struct Checkpoint::Impl {
  std::vector<SafetensorsFile> shards;
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, std::size_t> by_name;
  std::map<std::string, std::size_t> shard_of_file;
  std::map<std::string, std::string> metadata;

  void add_shard(SafetensorsFile file) {
    shard_of_file[file.path()] = shards.size();
    for (const auto& t : file.tensors()) {
      if (by_name.count(t.name))
        throw Error(ErrorKind::Corrupt, "tensor '" + t.name + "' appears in both '" +
                                            tensors[by_name[t.name]].file + "' and '" + t.file +
                                            "' (remove the stray shard)");
      by_name[t.name] = tensors.size();
      tensors.push_back(t);
    }
    shards.push_back(std::move(file));
  }
  void finish() {
    std::sort(tensors.begin(), tensors.end(),
              [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
    by_name.clear();
    for (std::size_t i = 0; i < tensors.size(); ++i) by_name[tensors[i].name] = i;
  }
  void open_sharded(const fs::path& index);
};

void Checkpoint::Impl::open_sharded(const fs::path& index) {
  const auto map = ck::parse_weight_map(index.string());
  std::vector<std::string> files;
  for (const auto& [name, file] : map)
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const fs::path path = index.parent_path() / file;
    if (!fs::exists(path))
      throw Error(ErrorKind::Io, "shard '" + path.string() + "' named by '" + index.string() +
                                     "' is missing (download all shards)");
    add_shard(SafetensorsFile::open(path.string()));
  }
  for (const auto& [name, file] : map) {
    auto it = by_name.find(name);
    const std::string expected = (index.parent_path() / file).string();
    if (it == by_name.end())
      throw Error(ErrorKind::Corrupt, "shard '" + expected + "' lacks tensor '" + name +
                                          "' that '" + index.string() + "' places there");
    if (tensors[it->second].file != expected)
      throw Error(ErrorKind::Corrupt, "tensor '" + name + "' is in '" + tensors[it->second].file +
                                          "' but '" + index.string() + "' says '" + expected + "'");
  }
  metadata = ck::index_metadata(index.string());
}

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Checkpoint Checkpoint::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  const fs::path p(path);
  if (fs::is_regular_file(p) && p.extension() == ".json") {
    impl->open_sharded(p);
  } else if (fs::is_regular_file(p)) {
    impl->add_shard(SafetensorsFile::open(p.string()));
    impl->metadata = impl->shards.front().metadata();
  } else if (fs::is_directory(p) && fs::exists(p / "model.safetensors.index.json")) {
    impl->open_sharded(p / "model.safetensors.index.json");
  } else if (fs::is_directory(p) && fs::exists(p / "model.safetensors")) {
    impl->add_shard(SafetensorsFile::open((p / "model.safetensors").string()));
    impl->metadata = impl->shards.front().metadata();
  } else {
    throw Error(ErrorKind::Io, "no safetensors checkpoint at '" + path +
                                   "': expected model.safetensors or "
                                   "model.safetensors.index.json in that folder (PyTorch .bin "
                                   "checkpoints are not supported; convert them to safetensors)");
  }
  impl->finish();
  return Checkpoint(std::move(impl));
}

const std::vector<TensorInfo>& Checkpoint::tensors() const noexcept { return impl_->tensors; }

const TensorInfo* Checkpoint::find(const std::string& name) const noexcept {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->tensors[it->second];
}

const void* Checkpoint::data(const TensorInfo& info) const {
  auto it = impl_->shard_of_file.find(info.file);
  if (it == impl_->shard_of_file.end())
    throw Error(ErrorKind::InvalidArgument, "tensor '" + info.name + "' is not in this checkpoint");
  return impl_->shards[it->second].data(info);
}

const std::map<std::string, std::string>& Checkpoint::metadata() const noexcept {
  return impl_->metadata;
}

std::vector<std::string> Checkpoint::files() const {
  std::vector<std::string> out;
  for (const auto& s : impl_->shards) out.push_back(s.path());
  return out;
}

std::uint64_t Checkpoint::total_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : impl_->tensors) n += t.nbytes;
  return n;
}

}  // namespace t2
