// Tree-walking evaluator of a parsed template. Scopes follow Jinja: a for-loop iteration and a
// macro call get their own scope (assignments inside do not leak out; use namespace()), `if`
// blocks do not. Errors are t2::Error naming the template line and column.
#pragma once

#include "core/template/ast.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace t2::detail::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;
  const Value* find(const std::string& name) const;
};
using ScopePtr = std::shared_ptr<Scope>;

class Interpreter {
 public:
  // `globals` holds the variables and global functions visible to the template.
  std::string render(const std::vector<StmtPtr>& program, ScopePtr globals);

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec_all(const std::vector<StmtPtr>& body, const ScopePtr& scope, std::string& out);
  Flow exec(const Stmt& s, const ScopePtr& scope, std::string& out);
  Flow exec_for(const Stmt& s, const ScopePtr& scope, std::string& out);
  void exec_set(const Stmt& s, const ScopePtr& scope, std::string& out);
  void exec_macro(const Stmt& s, const ScopePtr& scope);
  void exec_call_block(const Stmt& s, const ScopePtr& scope, std::string& out);
  void exec_filter_block(const Stmt& s, const ScopePtr& scope, std::string& out);

  Value eval(const Expr& e, const ScopePtr& scope);
  Value eval_inner(const Expr& e, const ScopePtr& scope);
  Value eval_call(const Expr& e, const ScopePtr& scope, const Value* caller);
  CallArgs eval_args(const Expr& e, std::size_t first, const ScopePtr& scope);
  Value eval_compare(const Expr& e, const ScopePtr& scope);
  Value eval_filter(const Expr& e, const Value& body, const ScopePtr& scope);

  void count_step(const std::string& out);  // throws when a render runs away
  static void assign(const ScopePtr& scope, const std::vector<std::string>& targets,
                     const Value& v);
  int depth_ = 0;           // macro recursion depth guard
  std::int64_t steps_ = 0;  // statements executed (runaway-loop guard)
};

}  // namespace t2::detail::jinja
