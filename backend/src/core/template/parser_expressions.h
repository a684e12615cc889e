// The expression half of the template parser and its token cursor (internal to parser.cpp):
// Jinja's precedence, lowest first: conditional `a if c else b`, or, and, not, comparisons
// (==, !=, <, <=, >, >=, in, not in; chained), + -, ~, * / // %, **, unary - +, then postfix
// (.attr, [subscript/slice], call) and filters/tests, which bind tightest.
#pragma once

#include "core/template/ast.h"
#include "core/template/builtins.h"
#include "core/template/lexer.h"

#include <t2/error.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

namespace t2::detail::jinja {

inline bool in_list(const std::string& s, std::initializer_list<const char*> options) {
  return std::any_of(options.begin(), options.end(), [&](const char* o) { return s == o; });
}

class ExprParser {
 public:
  explicit ExprParser(const std::vector<Token>& tokens) : t_(tokens) {}

 protected:
  const Token& cur() const { return t_[p_]; }
  const Token& peek(std::size_t ahead = 1) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
  bool at_op(const char* op) const { return cur().type == Tok::Operator && cur().text == op; }
  bool at_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }
  const Token& next() { return t_[p_ < t_.size() - 1 ? p_++ : p_]; }

  [[noreturn]] void fail(const std::string& what, const Token& at) const {
    throw Error(ErrorKind::Corrupt, "chat template syntax error at " + where(at.line, at.column) +
                                        ": " + what + "; fix the template");
  }
  [[noreturn]] void unsupported(const std::string& construct, const Token& at) const {
    throw Error(ErrorKind::Unsupported,
                "chat template uses " + construct + " at " + where(at.line, at.column) +
                    ", which T2 Workbench's Jinja interpreter does not support (see "
                    "backend/README.md, \"Chat templates\")");
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::End:
        return "end of template";
      case Tok::Text:
        return "template text";
      case Tok::VarEnd:
        return "'}}'";
      case Tok::BlockEnd:
        return "'%}'";
      case Tok::VarBegin:
        return "'{{'";
      case Tok::BlockBegin:
        return "'{%'";
      default:
        return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!at_op(op)) fail(std::string("expected '") + op + "' but found " + describe(cur()), cur());
    next();
  }
  void expect(Tok type, const char* what) {
    if (cur().type != type)
      fail(std::string("expected ") + what + " but found " + describe(cur()), cur());
    next();
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) fail("expected a name but found " + describe(cur()), cur());
    return next().text;
  }

  template <class Node, class Kind>
  static std::shared_ptr<Node> node(Kind kind, const Token& at) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->line = at.line;
    n->column = at.column;
    return n;
  }

  // Bounds the recursion on nested blocks/expressions so hostile input cannot overflow the stack.
  struct NestingGuard {
    NestingGuard(ExprParser& p, const Token& at) : parser(p) {
      if (++parser.nesting_ > kMaxNesting)
        parser.fail("blocks or expressions nested deeper than " + std::to_string(kMaxNesting), at);
    }
    ~NestingGuard() { --parser.nesting_; }
    ExprParser& parser;
  };
  static constexpr int kMaxNesting = 200;

  // --- expressions ----------------------------------------------------------------------------

  ExprPtr parse_tuple(bool with_cond) {
    const Token& start = cur();
    ExprPtr first = parse_expression(with_cond);
    if (!at_op(",")) return first;
    auto tuple = node<Expr>(ExprKind::TupleLit, start);
    tuple->args.push_back(first);
    while (at_op(",")) {
      next();
      if (cur().type == Tok::BlockEnd || cur().type == Tok::VarEnd || at_op(")")) break;
      tuple->args.push_back(parse_expression(with_cond));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_cond) {
    const Token& start = cur();
    const NestingGuard guard(*this, start);
    ExprPtr expr = parse_or();
    if (!with_cond) return expr;
    while (at_name("if")) {
      next();
      auto cond = node<Expr>(ExprKind::Cond, start);
      cond->args.push_back(expr);
      cond->args.push_back(parse_or());
      if (at_name("else")) {
        next();
        cond->args.push_back(parse_expression(true));
      } else {
        cond->args.push_back(nullptr);
      }
      expr = cond;
    }
    return expr;
  }

  ExprPtr binary(ExprKind kind, const Token& at, ExprPtr a, ExprPtr b, std::string op = {}) {
    auto e = node<Expr>(kind, at);
    e->name = std::move(op);
    e->args = {std::move(a), std::move(b)};
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      const Token& at = next();
      left = binary(ExprKind::Or, at, left, parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      const Token& at = next();
      left = binary(ExprKind::And, at, left, parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      auto e = node<Expr>(ExprKind::Not, next());
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = cur();
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    for (;;) {
      std::string op;
      if (cur().type == Tok::Operator && in_list(cur().text, {"==", "!=", "<", "<=", ">", ">="})) {
        op = next().text;
      } else if (at_name("in")) {
        next();
        op = "in";
      } else if (at_name("not") && peek().type == Tok::Name && peek().text == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = node<Expr>(ExprKind::Compare, start);
        cmp->args.push_back(first);
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? cmp : first;
  }

  ExprPtr parse_binary_level(std::initializer_list<const char*> ops,
                             ExprPtr (ExprParser::*inner)()) {
    ExprPtr left = (this->*inner)();
    while (cur().type == Tok::Operator && in_list(cur().text, ops)) {
      const Token& at = next();
      left = binary(ExprKind::Binary, at, left, (this->*inner)(), at.text);
    }
    return left;
  }
  ExprPtr parse_math1() { return parse_binary_level({"+", "-"}, &ExprParser::parse_concat); }
  ExprPtr parse_concat() { return parse_binary_level({"~"}, &ExprParser::parse_math2); }
  ExprPtr parse_math2() {
    return parse_binary_level({"*", "/", "//", "%"}, &ExprParser::parse_pow);
  }
  ExprPtr parse_pow() { return parse_binary_level({"**"}, &ExprParser::parse_unary_filtered); }
  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      e = node<Expr>(at_op("-") ? ExprKind::Neg : ExprKind::Pos, cur());
      next();
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(e);
    if (with_filter) e = parse_filter_expr(e);
    return e;
  }

  ExprPtr literal(const Token& at, Value v) {
    auto e = node<Expr>(ExprKind::Literal, at);
    e->value = std::move(v);
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.type) {
      case Tok::Name: {
        next();
        if (t.text == "true" || t.text == "True") return literal(t, Value::boolean(true));
        if (t.text == "false" || t.text == "False") return literal(t, Value::boolean(false));
        if (t.text == "none" || t.text == "None") return literal(t, Value::none());
        auto e = node<Expr>(ExprKind::Name, t);
        e->name = t.text;
        return e;
      }
      case Tok::String: {
        std::string s;
        while (cur().type == Tok::String) s += next().text;
        return literal(t, Value::string(s));
      }
      case Tok::Integer:
        next();
        return literal(t, Value::integer(std::strtoll(t.text.c_str(), nullptr, 10)));
      case Tok::Float:
        next();
        return literal(t, Value::number(std::strtod(t.text.c_str(), nullptr)));
      default:
        break;
    }
    if (at_op("(")) {
      next();
      if (at_op(")")) {
        next();
        return node<Expr>(ExprKind::TupleLit, t);
      }
      ExprPtr inner = parse_tuple(true);
      expect_op(")");
      return inner;
    }
    if (at_op("[")) return parse_list(t);
    if (at_op("{")) return parse_dict(t);
    fail("unexpected " + describe(t) + " in an expression", t);
  }

  ExprPtr parse_list(const Token& t) {
    next();
    auto e = node<Expr>(ExprKind::ListLit, t);
    while (!at_op("]")) {
      e->args.push_back(parse_expression(true));
      if (!at_op(",")) break;
      next();
    }
    expect_op("]");
    return e;
  }

  ExprPtr parse_dict(const Token& t) {
    next();
    auto e = node<Expr>(ExprKind::DictLit, t);
    while (!at_op("}")) {
      e->args.push_back(parse_expression(true));
      expect_op(":");
      e->args.push_back(parse_expression(true));
      if (!at_op(",")) break;
      next();
    }
    expect_op("}");
    return e;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      if (at_op(".")) {
        const Token& at = next();
        if (cur().type == Tok::Integer) {
          auto sub = node<Expr>(ExprKind::Subscript, at);
          sub->args = {
              e, literal(cur(), Value::integer(std::strtoll(cur().text.c_str(), nullptr, 10)))};
          next();
          e = sub;
          continue;
        }
        auto attr = node<Expr>(ExprKind::Attr, at);
        attr->name = expect_name();
        attr->args.push_back(e);
        e = attr;
      } else if (at_op("[")) {
        e = parse_subscript(e);
      } else if (at_op("(")) {
        e = parse_call(e);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    const Token& at = next();
    ExprPtr start;
    if (!at_op(":")) start = parse_expression(true);
    if (!at_op(":")) {
      expect_op("]");
      auto e = node<Expr>(ExprKind::Subscript, at);
      e->args = {obj, start};
      return e;
    }
    next();
    auto e = node<Expr>(ExprKind::Slice, at);
    ExprPtr stop, step;
    if (!at_op(":") && !at_op("]")) stop = parse_expression(true);
    if (at_op(":")) {
      next();
      if (!at_op("]")) step = parse_expression(true);
    }
    expect_op("]");
    e->args = {obj, start, stop, step};
    return e;
  }

  void parse_args(Expr& e) {
    expect_op("(");
    while (!at_op(")")) {
      if (at_op("*") || at_op("**")) unsupported("'*args' / '**kwargs' in a call", cur());
      if (cur().type == Tok::Name && peek().type == Tok::Operator && peek().text == "=") {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(key, parse_expression(true));
      } else {
        e.args.push_back(parse_expression(true));
      }
      if (!at_op(",")) break;
      next();
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = node<Expr>(ExprKind::Call, cur());
    e->args.push_back(callee);
    parse_args(*e);
    return e;
  }

  ExprPtr parse_filter(ExprPtr operand) {
    const Token& at = cur();
    auto e = node<Expr>(ExprKind::Filter, at);
    e->name = expect_name();
    if (!has_filter(e->name)) unsupported("the filter '" + e->name + "'", at);
    e->args.push_back(operand);
    if (at_op("(")) parse_args(*e);
    return e;
  }

  ExprPtr parse_test(ExprPtr operand) {
    auto e = node<Expr>(ExprKind::Test, cur());
    next();  // 'is'
    if (at_name("not")) {
      next();
      e->negate = true;
    }
    const Token& at = cur();
    e->name = expect_name();
    if (!has_test(e->name)) unsupported("the test '" + e->name + "'", at);
    e->args.push_back(operand);
    if (at_op("(")) {
      parse_args(*e);
    } else if ((cur().type == Tok::Name || cur().type == Tok::String ||
                cur().type == Tok::Integer || cur().type == Tok::Float || at_op("[") ||
                at_op("{")) &&
               !at_name("else") && !at_name("or") && !at_name("and")) {  // as Jinja2 does
      e->args.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    for (;;) {
      if (at_op("|")) {
        next();
        e = parse_filter(e);
      } else if (at_name("is")) {
        e = parse_test(e);
      } else if (at_op("(")) {
        e = parse_call(e);
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& t_;
  std::size_t p_ = 0;
  int nesting_ = 0;
};

}  // namespace t2::detail::jinja
