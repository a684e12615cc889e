// Token ids of a rendered chat prompt for `t2 template --json`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2::cli {

// The model's tokenizer encode(text, add_special_tokens=false). Throws t2::Error.
std::vector<std::int32_t> encode_for_template(const std::string& model_dir,
                                              const std::string& text);

}  // namespace t2::cli
