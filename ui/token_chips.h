// Token chips: a tokenized text shown token by token (ids, vocabulary pieces, the text each token
// contributes), and the rendering of chips into a read-only QTextEdit. Shared by the Model
// panel's Tokenizer and Chat template tabs. Pure GUI-thread helpers: encode/decode of short texts.
#pragma once

#include <t2/tokenizer.h>

#include <QString>

#include <cstdint>
#include <vector>

class QTextEdit;

struct TokenChip {
  std::int32_t id = 0;
  QString piece;         // the vocabulary string, e.g. "Ġthe"
  QString text;          // the decoded text this token adds (empty for `partial`)
  bool special = false;  // a special added token (dropped by decode(skip_special_tokens))
  bool partial = false;  // leading token of a multi-token character; the group's last token
                         // carries the character
};

// One chip per id. The texts of all chips concatenate to tokenizer.decode(ids) for byte-level
// tokenizers (streaming detokenization: each token's text is the growth of the decoded string
// over a few tokens of context; incomplete UTF-8 is carried to the next token).
std::vector<TokenChip> tokenChips(const t2::Tokenizer& tokenizer,
                                  const std::vector<std::int32_t>& ids);

// ' ' -> '·', '\n' -> '↵', '\t' -> '→', '\r' -> '␍' (what the chips display).
QString visibleWhitespace(const QString& text);

enum class ChipStyle {
  Chips,   // every token boxed, alternating colours, whitespace made visible
  Prompt,  // plain text; only special tokens highlighted (for rendered prompts)
};

// Replaces `view`'s contents with the chips (tooltips: id and piece). Newlines also break lines.
void renderChips(QTextEdit* view, const std::vector<TokenChip>& chips, ChipStyle style);

// "1 token", "12 tokens": English plurals without a translator (tr("%n") needs one).
QString countOf(qsizetype n, const char* one, const char* many);

// The first difference between two strings, for a failed round trip, e.g.
// "differs at character 12: expected 'é' (U+00E9), got 'e' (U+0065)".
QString firstDifference(const QString& expected, const QString& actual);
