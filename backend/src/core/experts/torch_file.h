// Reading torch.save files without LibTorch: a zip reader (stored entries, zip64 ok) and an
// unpickler for the subset torch.save writes for a dict of tensors (pickle protocol <= 2 plus
// SHORT_BINUNICODE/MEMOIZE/FRAME; GLOBAL + REDUCE of collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 and _rebuild_parameter; BINPERSID storages; BUILD ignored).
// Not supported: compressed zip entries, the legacy (pre-1.6, non-zip) format, other globals.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace t2::detail::torch_file {

struct TensorF32 {
  std::string dtype;  // storage type as written, e.g. "BFloat16Storage"
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // converted exactly (bf16/f16 -> f32); f64 rounded
};

// The top-level dict of a torch.save file, in file order. Throws Corrupt (naming the file and
// what is malformed) or Unsupported (naming the construct) — never crashes on bad input.
std::vector<std::pair<std::string, TensorF32>> read_tensor_dict(const std::string& path);

// IEEE half bits -> float (exact; also used for F16 safetensors of LoRA adapters).
float half_to_float(std::uint16_t h);

}  // namespace t2::detail::torch_file
