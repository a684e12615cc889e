// Token ids for `t2 template --json`. The tokenizer module (t2::Tokenizer, issue 3 part 4) is
// developed on another branch; when it is merged this function becomes:
//   return Tokenizer::from_model_dir(model_dir).encode(text, /*add_special_tokens=*/false);
#include "template_ids.h"

#include <t2/error.h>

namespace t2::cli {

std::vector<std::int32_t> encode_for_template(const std::string& model_dir, const std::string&) {
  throw Error(ErrorKind::Unsupported,
              "token ids need the tokenizer module, which this build does not include yet; run "
              "'t2 template " +
                  model_dir + " --messages FILE' without --json for the prompt text");
}

}  // namespace t2::cli
