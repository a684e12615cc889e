// Jinja builtins: filters, tests, attribute/item access with Python's str/dict/list methods, the
// arithmetic and comparison operators, and Python string helpers. Errors are thrown as
// RenderError (no location); the interpreter adds the template line and column.
#pragma once

#include "core/template/value.h"

#include <t2/error.h>

#include <string>

namespace t2::detail::jinja {

struct RenderError {
  ErrorKind kind;
  std::string message;
  bool raised = false;  // from the template's own raise_exception()
};
[[noreturn]] void render_fail(const std::string& message,
                              ErrorKind kind = ErrorKind::InvalidArgument);

// Throws RenderError("'x' is undefined") when v is undefined.
void require_defined(const Value& v);

// Python/Jinja access: obj.name (methods first, then items) and obj[key] (items first).
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
// Python methods of str, dict and list bound to obj (false when obj has no such method).
bool find_method(const Value& obj, const std::string& name, Value& bound);
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Elements of an iterable as Jinja iterates them (dict -> keys, string -> characters,
// undefined -> nothing). Throws for non-iterables.
List iterate(const Value& v);

Value binary_op(const std::string& op, const Value& a, const Value& b);
bool compare_op(const std::string& op, const Value& a, const Value& b);

Value apply_filter(const std::string& name, const Value& operand, const CallArgs& args);
bool apply_test(const std::string& name, const Value& operand, const CallArgs& args);
bool has_filter(const std::string& name);
bool has_test(const std::string& name);

// Python string helpers on UTF-8 text.
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string jinja_title(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_title(const std::string& s);  // str.title(): after any uncased character
// str.split() / str.rsplit() without a separator: runs of Unicode whitespace, no empty parts;
// at most `maxsplit` splits (< 0: no limit), counted from the left or (from_right) the right.
std::vector<std::string> py_split_whitespace(const std::string& s, std::int64_t maxsplit,
                                             bool from_right);
std::int64_t py_len(const Value& v);  // strings count code points

}  // namespace t2::detail::jinja
