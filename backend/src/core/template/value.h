// Runtime values of the Jinja interpreter: undefined, none, bool, int, float, string, list (also
// used for tuples), dict (string keys, insertion order; also namespace()), and callables
// (macros, builtins, bound methods). Lists and dicts are shared by reference, as in Python.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace t2::detail::jinja {

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Callable };

struct Value;
struct Dict;
struct CallArgs;
using List = std::vector<Value>;
using NativeFn = std::function<Value(const CallArgs&)>;

struct Value {
  Kind kind = Kind::Undefined;
  bool b = false;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;  // String payload; for Undefined the name that was missing (for messages)
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;
  std::shared_ptr<NativeFn> fn;
  bool is_tuple = false;  // a List written as a tuple (printed with parentheses)

  static Value undefined(std::string what = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(std::int64_t v);
  static Value number(double v);
  static Value string(std::string v);
  static Value make_list(List items = {}, bool tuple = false);
  static Value make_dict();
  static Value callable(NativeFn fn);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double as_double() const { return kind == Kind::Float ? f : static_cast<double>(i); }
};

struct Dict {
  std::vector<std::pair<std::string, Value>> entries;  // insertion order
  bool is_namespace = false;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // Argument `index` or keyword `name`; nullptr when neither was given.
  const Value* get(std::size_t index, const std::string& name) const;
  // Keyword argument `name` only; nullptr when absent.
  const Value* keyword_arg(const std::string& name) const;
};

// Python's truthiness: empty string/list/dict, 0, none, undefined and false are false.
bool truthy(const Value& v);
// Python's str(): what {{ v }} prints (None, True, 1.5, [1, 'a'], {'k': 'v'}); undefined -> "".
std::string to_str(const Value& v);
// Python's repr() of a value inside a container ('text' with quotes).
std::string to_repr(const Value& v);
// Python's repr() of a float: shortest round-trip digits, 1.0, 1e-05, 1e+16, inf, nan.
std::string float_repr(double v);
// Python ==: 1 == 1.0 == True, deep equality of lists and dicts.
bool equals(const Value& a, const Value& b);
// Jinja/Python type name for error messages: "str", "int", "list", "dict", "undefined"…
std::string type_name(const Value& v);

// transformers' tojson: json.dumps(ensure_ascii=False, indent, separators, sort_keys).
// Undefined values, namespaces and callables are not serialisable (RenderError), as in Python.
struct JsonFormat {
  int indent = -1;  // < 0: single line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonFormat& format);
// Parses JSON text into values (objects keep their key order). Throws t2::Error(Corrupt) with
// the byte position and `what` (e.g. "messages JSON") on malformed input.
Value from_json_text(const std::string& text, const std::string& what);

// UTF-8 helpers: split into code points (for iterating/slicing strings).
std::vector<std::string> utf8_chars(const std::string& s);

}  // namespace t2::detail::jinja
