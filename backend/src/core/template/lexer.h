// Jinja lexer with transformers' settings: trim_blocks and lstrip_blocks on, one trailing newline
// of the template dropped, \r\n and \r read as \n, whitespace control with `-` and `+`.
// Comments are removed here; text between tags becomes Text tokens.
#pragma once

#include <string>
#include <vector>

namespace t2::detail::jinja {

enum class Tok {
  Text,        // template data (text = the data after whitespace control)
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,        // identifier or keyword
  String,      // string literal (text = unescaped value)
  Integer,     // text = digits
  Float,       // text = literal
  Operator,    // text = the operator: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  End,         // end of template
};

struct Token {
  Tok type;
  std::string text;
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

// Throws t2::Error(Corrupt) for an unterminated tag, comment or string, naming line:column.
std::vector<Token> tokenize(const std::string& source);

// "line L, column C" for messages.
std::string where(int line, int column);

}  // namespace t2::detail::jinja
