// Internal helpers of the pretraining corpus, shared with the engine's trainer.
#pragma once

#include <t2/pretrain.h>

#include <map>
#include <string>

namespace t2::detail::pretrain_corpus {

// `tmpl` with {key} replaced by fields[key] ({{ and }} are literal braces); InvalidArgument
// naming `where` for a key the item lacks.
std::string fill_answer(const std::string& tmpl, const std::map<std::string, std::string>& fields,
                        const std::string& where);

// A task spec path of the recipe, made absolute (relative paths start at the recipe's folder).
std::string resolve_spec(const PretrainRecipe& recipe, const std::string& spec);

}  // namespace t2::detail::pretrain_corpus
