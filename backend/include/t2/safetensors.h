// safetensors checkpoints (Hugging Face's tensor file format), torch-free.
//
// Reading: a file is memory-mapped read-only; its header is validated in full before any tensor
// is handed out (8-byte length within the file, JSON object, known dtype, shape x dtype size ==
// byte range, ranges inside the data section, no overlaps or holes, `__metadata__` a map of
// strings). A malformed or truncated file throws t2::Error{Corrupt} naming the file (and the
// tensor, where one is at fault); an unknown-but-valid dtype (e.g. F8_E4M3) is Unsupported.
// A checkpoint is one file or a sharded set described by model.safetensors.index.json.
//
// Writing: write_safetensors() writes a temp file in the same folder, fsyncs it and renames it
// over the target, so a reader never sees a half-written file.
//
// Thread-safety: opened objects are immutable; const methods may be called from any thread.
// Pointers returned by data() stay valid while the object (or a move of it) is alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

const char* to_string(DType dtype) noexcept;   // safetensors spelling: "F32", "BF16", "BOOL"...
std::size_t dtype_size(DType dtype) noexcept;  // bytes per element
// Parses a safetensors dtype name; false if it is not one of the above.
bool parse_dtype(const std::string& name, DType* out) noexcept;

struct TensorInfo {
  std::string name;                 // e.g. "model.layers.0.self_attn.q_proj.weight"
  DType dtype = DType::F32;         // element type as stored
  std::vector<std::int64_t> shape;  // row-major (C order), [] for a scalar
  std::uint64_t file_offset = 0;    // absolute byte offset of the first element in `file`
  std::uint64_t nbytes = 0;         // numel * dtype_size
  std::string file;                 // path of the file that holds the bytes

  std::int64_t numel() const noexcept;
};

// One memory-mapped .safetensors file. Movable, not copyable; unmaps on destruction.
class SafetensorsFile {
 public:
  // Throws Io if the file cannot be opened/mapped, Corrupt if the header is invalid.
  static SafetensorsFile open(const std::string& path);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const noexcept;
  const std::vector<TensorInfo>& tensors() const noexcept;         // in data-offset order
  const TensorInfo* find(const std::string& name) const noexcept;  // nullptr if absent
  const std::map<std::string, std::string>& metadata() const noexcept;
  // Start of the tensor's bytes inside the mapping (read-only memory: never write through it).
  const void* data(const TensorInfo& info) const;
  std::uint64_t file_size() const noexcept;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// All tensors of a checkpoint: MODEL_DIR/model.safetensors, or the shards listed by
// MODEL_DIR/model.safetensors.index.json, or one .safetensors file given directly.
class Checkpoint {
 public:
  // Throws Io if nothing loadable is found (the message lists what was looked for), Corrupt if
  // the index or a shard is malformed, a shard lacks a tensor the index names, or two shards
  // hold the same tensor.
  static Checkpoint open(const std::string& path);

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  const std::vector<TensorInfo>& tensors() const noexcept;  // sorted by name
  const TensorInfo* find(const std::string& name) const noexcept;
  const void* data(const TensorInfo& info) const;  // info must come from this checkpoint
  // The first shard's __metadata__ (single file) or the index's "metadata" values as strings.
  const std::map<std::string, std::string>& metadata() const noexcept;
  std::vector<std::string> files() const;      // the .safetensors files, in shard order
  std::uint64_t total_bytes() const noexcept;  // sum of tensor bytes

 private:
  struct Impl;
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A tensor to write: `data` points at numel * dtype_size bytes, row-major, little-endian.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
};

// Writes a .safetensors file atomically (temp file + fsync + rename). Tensors are stored by
// element size, largest first (stable otherwise), after a header padded to a multiple of 8
// bytes, so every tensor is aligned to its element size and can be viewed in place. Throws
// InvalidArgument for duplicate or empty names or a negative dimension, Io when the file cannot be
// written.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace t2
