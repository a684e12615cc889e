#include "core/template/interpreter.h"

#include "core/template/builtins.h"
#include "core/template/lexer.h"

#include <t2/error.h>

namespace t2::detail::jinja {
namespace {

constexpr int kMaxMacroDepth = 100;
constexpr std::int64_t kMaxSteps = 1'000'000;        // statements + loop iterations per render
constexpr std::size_t kMaxOutputBytes = 256u << 20;  // rendered text

Error located(const RenderError& r, int line, int column) {
  if (r.raised)
    return Error(r.kind, "the chat template raised an error (" + where(line, column) +
                             "): " + r.message + "; check the messages for this template");
  return Error(r.kind, "chat template error at " + where(line, column) + ": " + r.message);
}

Value make_loop(const List& items, std::size_t k) {
  const auto n = static_cast<std::int64_t>(items.size());
  const auto i = static_cast<std::int64_t>(k);
  Value loop = Value::make_dict();
  Dict& d = *loop.dict;
  d.is_namespace = true;  // attribute access only; printed as an object
  d.set("index", Value::integer(i + 1));
  d.set("index0", Value::integer(i));
  d.set("revindex", Value::integer(n - i));
  d.set("revindex0", Value::integer(n - i - 1));
  d.set("first", Value::boolean(i == 0));
  d.set("last", Value::boolean(i == n - 1));
  d.set("length", Value::integer(n));
  d.set("depth", Value::integer(1));
  d.set("depth0", Value::integer(0));
  d.set("previtem", k > 0 ? items[k - 1] : Value::undefined("there is no previous item"));
  d.set("nextitem",
        k + 1 < items.size() ? items[k + 1] : Value::undefined("there is no next item"));
  d.set("cycle", Value::callable([i](const CallArgs& a) {
          if (a.positional.empty()) render_fail("loop.cycle() needs at least one value");
          return a.positional[static_cast<std::size_t>(i) % a.positional.size()];
        }));
  return loop;
}

}  // namespace

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

std::string Interpreter::render(const std::vector<StmtPtr>& program, ScopePtr globals) {
  std::string out;
  depth_ = 0;
  steps_ = 0;
  auto scope = std::make_shared<Scope>();
  scope->parent = globals;
  exec_all(program, scope, out);
  return out;
}

Interpreter::Flow Interpreter::exec_all(const std::vector<StmtPtr>& body, const ScopePtr& scope,
                                        std::string& out) {
  for (const auto& s : body) {
    const Flow flow = exec(*s, scope, out);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

void Interpreter::count_step(const std::string& out) {
  if (++steps_ > kMaxSteps || out.size() > kMaxOutputBytes)
    render_fail("the template runs too long (over " + std::to_string(kMaxSteps) +
                " steps or 256 MiB of text); check its loops");
}

Interpreter::Flow Interpreter::exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
  try {
    count_step(out);
    switch (s.kind) {
      case StmtKind::Text:
        out += s.text;
        return Flow::Normal;
      case StmtKind::Output:
        out += to_str(eval(*s.expr, scope));
        return Flow::Normal;
      case StmtKind::If:
        return exec_all(truthy(eval(*s.expr, scope)) ? s.body : s.else_body, scope, out);
      case StmtKind::For:
        return exec_for(s, scope, out);
      case StmtKind::Set:
        exec_set(s, scope, out);
        return Flow::Normal;
      case StmtKind::Macro:
        exec_macro(s, scope);
        return Flow::Normal;
      case StmtKind::CallBlock:
        exec_call_block(s, scope, out);
        return Flow::Normal;
      case StmtKind::FilterBlock:
        exec_filter_block(s, scope, out);
        return Flow::Normal;
      case StmtKind::Break:
        return Flow::Break;
      case StmtKind::Continue:
        return Flow::Continue;
    }
  } catch (const RenderError& r) {
    throw located(r, s.line, s.column);
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
  List items = iterate(eval(*s.expr, scope));
  if (s.cond) {
    List kept;
    for (const auto& item : items) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      assign(probe, s.targets, item);
      if (truthy(eval(*s.cond, probe))) kept.push_back(item);
    }
    items = std::move(kept);
  }
  // Jinja2 runs the else block unless some iteration ran to its end: an iteration left by
  // break or continue does not count (its compiled loop clears the flag at the body's end).
  bool completed_one = false;
  for (std::size_t k = 0; k < items.size(); ++k) {
    count_step(out);
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    assign(inner, s.targets, items[k]);
    inner->vars["loop"] = make_loop(items, k);
    const Flow flow = exec_all(s.body, inner, out);
    if (flow == Flow::Normal) completed_one = true;
    if (flow == Flow::Break) break;
  }
  if (!completed_one && !s.else_body.empty()) {
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    exec_all(s.else_body, inner, out);
  }
  return Flow::Normal;
}

void Interpreter::assign(const ScopePtr& scope, const std::vector<std::string>& targets,
                         const Value& v) {
  if (targets.size() == 1) {
    scope->vars[targets[0]] = v;
    return;
  }
  const List items = iterate(v);
  if (items.size() != targets.size())
    render_fail("cannot unpack " + std::to_string(items.size()) + " values into " +
                std::to_string(targets.size()) + " names");
  for (std::size_t k = 0; k < targets.size(); ++k) scope->vars[targets[k]] = items[k];
}

void Interpreter::exec_set(const Stmt& s, const ScopePtr& scope, std::string&) {
  Value v;
  if (s.expr) {
    v = eval(*s.expr, scope);
  } else {
    std::string body;
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    exec_all(s.body, inner, body);
    v = Value::string(body);
  }
  if (s.text.empty()) return assign(scope, s.targets, v);
  const Value* ns = scope->find(s.targets[0]);
  if (!ns || ns->kind != Kind::Dict || !ns->dict->is_namespace)
    render_fail("cannot assign attribute '" + s.text + "' on '" + s.targets[0] +
                "': it is not a namespace()");
  ns->dict->set(s.text, v);
}

void Interpreter::exec_macro(const Stmt& s, const ScopePtr& scope) {
  std::weak_ptr<Scope> defining = scope;
  const Stmt* macro = &s;
  scope->vars[s.text] = Value::callable([this, macro, defining](const CallArgs& a) {
    if (a.positional.size() > macro->params.size())
      render_fail("macro '" + macro->text + "' takes " + std::to_string(macro->params.size()) +
                  " arguments but " + std::to_string(a.positional.size()) + " were given");
    auto local = std::make_shared<Scope>();
    local->parent = defining.lock();
    for (const auto& [name, v] : a.keyword) {
      bool known = name == "caller";
      for (const auto& p : macro->params) known = known || p.first == name;
      if (!known) render_fail("macro '" + macro->text + "' has no parameter '" + name + "'");
      local->vars[name] = v;
    }
    for (std::size_t k = 0; k < macro->params.size(); ++k) {
      const auto& [name, dflt] = macro->params[k];
      if (k < a.positional.size())
        local->vars[name] = a.positional[k];
      else if (!local->vars.count(name))
        local->vars[name] =
            dflt ? eval(*dflt, local) : Value::undefined("'" + name + "' is undefined");
    }
    if (++depth_ > kMaxMacroDepth) {
      depth_ = 0;
      render_fail("macro recursion deeper than " + std::to_string(kMaxMacroDepth));
    }
    std::string out;
    exec_all(macro->body, local, out);
    --depth_;
    return Value::string(out);
  });
}

void Interpreter::exec_call_block(const Stmt& s, const ScopePtr& scope, std::string& out) {
  const Stmt* block = &s;
  std::weak_ptr<Scope> weak = scope;
  Value caller = Value::callable([this, block, weak](const CallArgs&) {
    std::string body;
    auto inner = std::make_shared<Scope>();
    inner->parent = weak.lock();
    exec_all(block->body, inner, body);
    return Value::string(body);
  });
  out += to_str(eval_call(*s.expr, scope, &caller));
}

void Interpreter::exec_filter_block(const Stmt& s, const ScopePtr& scope, std::string& out) {
  std::string body;
  auto inner = std::make_shared<Scope>();
  inner->parent = scope;
  exec_all(s.body, inner, body);
  out += to_str(eval_filter(*s.expr, Value::string(body), scope));
}

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
  try {
    return eval_inner(e, scope);
  } catch (const RenderError& r) {
    throw located(r, e.line, e.column);
  }
}

CallArgs Interpreter::eval_args(const Expr& e, std::size_t first, const ScopePtr& scope) {
  CallArgs a;
  for (std::size_t k = first; k < e.args.size(); ++k)
    a.positional.push_back(eval(*e.args[k], scope));
  for (const auto& [name, x] : e.kwargs) a.keyword.emplace_back(name, eval(*x, scope));
  return a;
}

Value Interpreter::eval_call(const Expr& e, const ScopePtr& scope, const Value* caller) {
  const Value callee = eval(*e.args[0], scope);
  require_defined(callee);
  if (callee.kind != Kind::Callable)
    render_fail("'" + type_name(callee) + "' object is not callable");
  CallArgs a = eval_args(e, 1, scope);
  if (caller) a.keyword.emplace_back("caller", *caller);
  return (*callee.fn)(a);
}

Value Interpreter::eval_filter(const Expr& e, const Value& body, const ScopePtr& scope) {
  // A filter block's chain: the innermost operand (null) is the rendered body.
  const Value input = e.args[0] ? eval_filter(*e.args[0], body, scope) : body;
  return apply_filter(e.name, input, eval_args(e, 1, scope));
}

Value Interpreter::eval_compare(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.args[0], scope);
  for (std::size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.args[k + 1], scope);
    if (!compare_op(e.ops[k], left, right)) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Value Interpreter::eval_inner(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::Literal:
      return e.value;
    case ExprKind::Name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::ListLit:
    case ExprKind::TupleLit: {
      List items;
      for (const auto& x : e.args) items.push_back(eval(*x, scope));
      return Value::make_list(std::move(items), e.kind == ExprKind::TupleLit);
    }
    case ExprKind::DictLit: {
      Value d = Value::make_dict();
      for (std::size_t k = 0; k + 1 < e.args.size(); k += 2) {
        const Value key = eval(*e.args[k], scope);
        if (!key.is_string())
          render_fail("dict keys must be strings here, not " + type_name(key),
                      ErrorKind::Unsupported);
        d.dict->set(key.s, eval(*e.args[k + 1], scope));
      }
      return d;
    }
    case ExprKind::Attr:
      return get_attr(eval(*e.args[0], scope), e.name);
    case ExprKind::Subscript:
      return get_item(eval(*e.args[0], scope), eval(*e.args[1], scope));
    case ExprKind::Slice: {
      auto part = [&](std::size_t k) {
        return e.args[k] ? eval(*e.args[k], scope) : Value::none();
      };
      return slice(eval(*e.args[0], scope), part(1), part(2), part(3));
    }
    case ExprKind::Call:
      return eval_call(e, scope, nullptr);
    case ExprKind::Filter:
      return apply_filter(e.name, eval(*e.args[0], scope), eval_args(e, 1, scope));
    case ExprKind::Test:
      return Value::boolean(apply_test(e.name, eval(*e.args[0], scope), eval_args(e, 1, scope)) !=
                            e.negate);
    case ExprKind::Not:
      return Value::boolean(!truthy(eval(*e.args[0], scope)));
    case ExprKind::Neg:
    case ExprKind::Pos: {
      const Value v = eval(*e.args[0], scope);
      require_defined(v);
      if (v.kind == Kind::Bool || v.kind == Kind::Int) {
        const std::int64_t i = v.kind == Kind::Bool ? v.b : v.i;
        return e.kind == ExprKind::Neg ? binary_op("-", Value::integer(0), Value::integer(i))
                                       : Value::integer(i);
      }
      if (v.kind == Kind::Float) return Value::number(e.kind == ExprKind::Neg ? -v.f : v.f);
      render_fail("bad operand type for unary " + std::string(e.kind == ExprKind::Neg ? "-" : "+") +
                  ": '" + type_name(v) + "'");
    }
    case ExprKind::Binary:
      return binary_op(e.name, eval(*e.args[0], scope), eval(*e.args[1], scope));
    case ExprKind::Compare:
      return eval_compare(e, scope);
    case ExprKind::And: {
      Value a = eval(*e.args[0], scope);
      return truthy(a) ? eval(*e.args[1], scope) : a;
    }
    case ExprKind::Or: {
      Value a = eval(*e.args[0], scope);
      return truthy(a) ? a : eval(*e.args[1], scope);
    }
    case ExprKind::Cond:
      if (truthy(eval(*e.args[1], scope))) return eval(*e.args[0], scope);
      return e.args[2] ? eval(*e.args[2], scope)
                       : Value::undefined("the condition was false and there is no else");
  }
  return Value::undefined();
}

}  // namespace t2::detail::jinja
