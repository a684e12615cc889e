// Syntax tree of a parsed template: expressions (Expr) and statements (Stmt). Every node keeps
// its line and column for error messages.
#pragma once

#include "core/template/value.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace t2::detail::jinja {

enum class ExprKind {
  Literal,    // value
  Name,       // name
  ListLit,    // args = items
  TupleLit,   // args = items
  DictLit,    // args = key0, value0, key1, value1, …
  Attr,       // args[0].name
  Subscript,  // args[0][args[1]]
  Slice,      // args[0][args[1]:args[2]:args[3]] (null parts allowed)
  Call,       // args[0](args[1..], kwargs)
  Filter,     // args[0] | name(args[1..], kwargs)
  Test,       // args[0] is [not] name(args[1..])  (negate)
  Not,        // not args[0]
  Neg,        // -args[0]
  Pos,        // +args[0]
  Binary,     // args[0] op args[1]: + - * / // % ** ~
  Compare,    // args[0] ops[0] args[1] ops[1] args[2] … (==, !=, <, <=, >, >=, in, notin)
  And,        // args[0] and args[1]
  Or,         // args[0] or args[1]
  Cond,       // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

struct Expr {
  ExprKind kind;
  int line = 0;
  int column = 0;
  Value value;       // Literal
  std::string name;  // Name, Attr, Filter, Test; Binary operator
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // Compare
  bool negate = false;           // Test
};

enum class StmtKind {
  Text,         // text
  Output,       // {{ expr }}
  If,           // expr, body, else_body (elif = a nested If in else_body)
  For,          // targets in expr [if cond] body [else else_body]
  Set,          // targets = expr, or target.attr = expr (attr non-empty), or block set (body)
  Macro,        // name(params) body
  CallBlock,    // {% call expr %} body  (body becomes `caller`)
  FilterBlock,  // {% filter f %} body: expr is a Filter node whose operand is null
  Break,
  Continue,
};

struct Stmt;
using StmtPtr = std::shared_ptr<Stmt>;

struct Stmt {
  StmtKind kind;
  int line = 0;
  int column = 0;
  std::string text;                  // Text; Macro name; Set attribute name
  ExprPtr expr;                      // Output / If condition / For iterable / Set value / call
  ExprPtr cond;                      // For: loop filter
  std::vector<std::string> targets;  // For / Set names (tuple unpacking when > 1)
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro params (default may be null)
  std::vector<StmtPtr> body;
  std::vector<StmtPtr> else_body;
};

}  // namespace t2::detail::jinja
