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

// English words for a whole number 0-999 written in digits ("42" -> "forty-two"); "" for
// anything else. The {gold_words} field of alt_answer templates.
std::string number_words(const std::string& text);

// A task spec path of the recipe, made absolute (relative paths start at the recipe's folder).
std::string resolve_spec(const PretrainRecipe& recipe, const std::string& spec);

}  // namespace t2::detail::pretrain_corpus
