// Parser: tokens -> statement list, following Jinja's grammar and operator precedence (filters
// and tests bind tighter than arithmetic: `messages|length - 1` is `(messages|length) - 1`).
// Statements the interpreter does not implement (include, extends, import, block, raw, with…)
// raise t2::Error(Unsupported) naming the construct and its line and column; malformed syntax
// raises Corrupt.
#pragma once

#include "core/template/ast.h"
#include "core/template/lexer.h"

#include <vector>

namespace t2::detail::jinja {

std::vector<StmtPtr> parse(const std::vector<Token>& tokens);

}  // namespace t2::detail::jinja
