// safetensors dtypes as torch scalar types (engine-internal; one table for loading, SVD and
// merged export).
#pragma once

#include <t2/error.h>
#include <t2/safetensors.h>

#include <c10/core/ScalarType.h>

#include <string>

namespace t2::engine {

inline at::ScalarType torch_dtype(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return at::kFloat;
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    case DType::F64:
      return at::kDouble;
    case DType::I64:
      return at::kLong;
    case DType::I32:
      return at::kInt;
    case DType::I16:
      return at::kShort;
    case DType::I8:
      return at::kChar;
    case DType::U8:
      return at::kByte;
    case DType::Bool:
      return at::kBool;
  }
  return at::kFloat;
}

inline bool is_float(DType d) {
  return d == DType::F32 || d == DType::F16 || d == DType::BF16 || d == DType::F64;
}

// The scalar type of a floating-point tensor; Unsupported otherwise. `purpose` completes
// "only float weights can be ..." (e.g. "decomposed").
inline at::ScalarType float_torch_dtype(const TensorInfo& info, const std::string& purpose) {
  if (!is_float(info.dtype))
    throw Error(ErrorKind::Unsupported, "tensor '" + info.name + "' has dtype " +
                                            to_string(info.dtype) + "; only float weights can be " +
                                            purpose);
  return torch_dtype(info.dtype);
}

}  // namespace t2::engine
