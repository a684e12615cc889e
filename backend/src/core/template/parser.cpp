#include "core/template/parser.h"

#include "core/template/parser_expressions.h"

namespace t2::detail::jinja {
namespace {

// Statements: text, {{ output }}, if/elif/else, for/else, set (plain, tuple, namespace attribute,
// block), macro, call, filter blocks, break/continue, transformers' generation tag.
class Parser : public ExprParser {
 public:
  using ExprParser::ExprParser;

  std::vector<StmtPtr> parse_template() {
    std::string end;
    auto body = parse_body({}, end);
    return body;
  }

 private:
  // --- statements -----------------------------------------------------------------------------

  // Parses until `{% NAME` with NAME in `ends` (consumed up to and including NAME; stored in
  // `end`), or the end of the template when `ends` is empty.
  std::vector<StmtPtr> parse_body(std::initializer_list<const char*> ends, std::string& end) {
    std::vector<StmtPtr> body;
    for (;;) {
      const Token& t = cur();
      if (t.type == Tok::End) {
        if (ends.size() == 0) return body;
        fail(std::string("missing '{% ") + *(ends.end() - 1) + " %}' (reached the end of template)",
             t);
      }
      if (t.type == Tok::Text) {
        auto s = node<Stmt>(StmtKind::Text, t);
        s->text = t.text;
        body.push_back(s);
        next();
      } else if (t.type == Tok::VarBegin) {
        next();
        auto s = node<Stmt>(StmtKind::Output, t);
        s->expr = parse_tuple(true);
        expect(Tok::VarEnd, "'}}'");
        body.push_back(s);
      } else if (t.type == Tok::BlockBegin) {
        next();
        if (cur().type == Tok::Name && in_list(cur().text, ends)) {
          end = next().text;
          return body;
        }
        parse_statement(body);
      } else {
        fail("unexpected " + describe(t), t);
      }
    }
  }

  void parse_statement(std::vector<StmtPtr>& body) {
    const Token& t = cur();
    const NestingGuard guard(*this, t);
    if (t.type != Tok::Name) fail("expected a statement name after '{%'", t);
    const std::string name = t.text;
    if (name == "if") return body.push_back(parse_if());
    if (name == "for") return body.push_back(parse_for());
    if (name == "set") return body.push_back(parse_set());
    if (name == "macro") return body.push_back(parse_macro());
    if (name == "call") return body.push_back(parse_call_block());
    if (name == "filter") return body.push_back(parse_filter_block());
    if (name == "break" || name == "continue") {
      next();
      expect(Tok::BlockEnd, "'%}'");
      return body.push_back(node<Stmt>(name == "break" ? StmtKind::Break : StmtKind::Continue, t));
    }
    if (name == "generation") {  // transformers' AssistantTracker tag: renders its body as is
      next();
      expect(Tok::BlockEnd, "'%}'");
      std::string end;
      for (auto& s : parse_body({"endgeneration"}, end)) body.push_back(s);
      expect(Tok::BlockEnd, "'%}'");
      return;
    }
    if (in_list(name, {"endif", "endfor", "endset", "endmacro", "endcall", "endfilter", "elif",
                       "else", "endgeneration"}))
      fail("'{% " + name + " %}' without a matching opening statement", t);
    unsupported("the '{% " + name + " %}' statement", t_[p_ - 1]);
  }

  // At `if` (consumed here), or just after an `elif` that parse_body consumed.
  StmtPtr parse_if(bool after_elif = false) {
    auto s = node<Stmt>(StmtKind::If, after_elif ? t_[p_ - 1] : next());
    s->expr = parse_tuple(true);
    expect(Tok::BlockEnd, "'%}'");
    std::string end;
    s->body = parse_body({"elif", "else", "endif"}, end);
    if (end == "elif") {
      s->else_body.push_back(parse_if(true));  // the nested If consumes through endif
      return s;
    }
    if (end == "else") {
      expect(Tok::BlockEnd, "'%}'");
      s->else_body = parse_body({"endif"}, end);
    }
    expect(Tok::BlockEnd, "'%}'");
    return s;
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = at_op("(");
    if (paren) next();
    names.push_back(expect_name());
    while (at_op(",")) {
      next();
      if (cur().type != Tok::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for() {
    auto s = node<Stmt>(StmtKind::For, next());
    s->targets = parse_targets();
    if (!at_name("in")) fail("expected 'in' in the for statement", cur());
    next();
    s->expr = parse_tuple(false);
    if (at_name("if")) {
      next();
      s->cond = parse_expression(true);
    }
    if (at_name("recursive")) unsupported("recursive for loops", cur());
    expect(Tok::BlockEnd, "'%}'");
    std::string end;
    s->body = parse_body({"else", "endfor"}, end);
    if (end == "else") {
      expect(Tok::BlockEnd, "'%}'");
      s->else_body = parse_body({"endfor"}, end);
    }
    expect(Tok::BlockEnd, "'%}'");
    return s;
  }

  StmtPtr parse_set() {
    auto s = node<Stmt>(StmtKind::Set, next());
    if (cur().type == Tok::Name && peek().type == Tok::Operator && peek().text == ".") {
      s->targets.push_back(next().text);
      next();
      s->text = expect_name();
    } else {
      s->targets = parse_targets();
    }
    if (at_op("=")) {
      next();
      s->expr = parse_tuple(true);
      expect(Tok::BlockEnd, "'%}'");
      return s;
    }
    if (at_op("|")) unsupported("a filtered block set ('{% set x | filter %}')", cur());
    if (s->targets.size() != 1 || !s->text.empty())
      fail("a block set ('{% set x %}…{% endset %}') takes one plain name", t_[p_ - 1]);
    expect(Tok::BlockEnd, "'%}'");
    std::string end;
    s->body = parse_body({"endset"}, end);
    expect(Tok::BlockEnd, "'%}'");
    return s;
  }

  StmtPtr parse_macro() {
    auto s = node<Stmt>(StmtKind::Macro, next());
    s->text = expect_name();
    expect_op("(");
    while (!at_op(")")) {
      std::string param = expect_name();
      ExprPtr def;
      if (at_op("=")) {
        next();
        def = parse_expression(true);
      }
      s->params.emplace_back(param, def);
      if (!at_op(",")) break;
      next();
    }
    expect_op(")");
    expect(Tok::BlockEnd, "'%}'");
    std::string end;
    s->body = parse_body({"endmacro"}, end);
    if (cur().type == Tok::Name) next();  // {% endmacro name %}
    expect(Tok::BlockEnd, "'%}'");
    return s;
  }

  StmtPtr parse_call_block() {
    auto s = node<Stmt>(StmtKind::CallBlock, next());
    if (at_op("(")) unsupported("a call block with caller arguments ('{% call(args) … %}')", cur());
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::Call) fail("'{% call %}' needs a macro call", cur());
    expect(Tok::BlockEnd, "'%}'");
    std::string end;
    s->body = parse_body({"endcall"}, end);
    expect(Tok::BlockEnd, "'%}'");
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = node<Stmt>(StmtKind::FilterBlock, next());
    ExprPtr operand;  // null: the block's rendered body
    do {
      operand = parse_filter(operand);
    } while (at_op("|") && (next(), true));
    s->expr = operand;
    expect(Tok::BlockEnd, "'%}'");
    std::string end;
    s->body = parse_body({"endfilter"}, end);
    expect(Tok::BlockEnd, "'%}'");
    return s;
  }
};

}  // namespace

std::vector<StmtPtr> parse(const std::vector<Token>& tokens) {
  return Parser(tokens).parse_template();
}

}  // namespace t2::detail::jinja
