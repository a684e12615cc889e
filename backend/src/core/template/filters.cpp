// Jinja filters (trim, length, default, join, tojson, map, selectattr, …) and tests (defined,
// none, string, mapping, …) with Jinja's and transformers' semantics.
#include "core/template/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

namespace t2::detail::jinja {
namespace {

using Filter = std::function<Value(const Value&, const CallArgs&)>;
using Test = std::function<bool(const Value&, const CallArgs&)>;

const Value* arg(const CallArgs& a, std::size_t i, const char* name) { return a.get(i, name); }

bool flag(const CallArgs& a, std::size_t i, const char* name) {
  const Value* v = arg(a, i, name);
  return v && truthy(*v);
}

// Jinja sorts by one-element key lists: equal keys (even two undefined ones) never compare.
bool key_less(const Value& a, const Value& b) { return !equals(a, b) && compare_op("<", a, b); }

// Jinja's attribute paths for map/selectattr/sort: "a.b.0".
Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  std::size_t k = 0;
  while (k <= path.size()) {
    const std::size_t e = std::min(path.find('.', k), path.size());
    const std::string part = path.substr(k, e - k);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits ? get_item(cur, Value::integer(std::atoll(part.c_str())))
                 : get_item(cur, Value::string(part));
    k = e + 1;
  }
  return cur;
}

std::string attr_name(const CallArgs& a, std::size_t i, const char* filter) {
  const Value* v = arg(a, i, "attribute");
  if (!v || !v->is_string()) render_fail(std::string(filter) + " needs an attribute name");
  return v->s;
}

// Remaining positional arguments from `from` on (for test/filter pass-through).
CallArgs rest(const CallArgs& a, std::size_t from) {
  CallArgs out;
  for (std::size_t k = from; k < a.positional.size(); ++k)
    out.positional.push_back(a.positional[k]);
  return out;
}

Value select(const Value& seq, const CallArgs& a, bool by_attr, bool keep) {
  List out;
  const std::size_t test_at = by_attr ? 1 : 0;
  const std::string attr = by_attr ? attr_name(a, 0, "selectattr") : "";
  const Value* test = arg(a, test_at, "test");
  if (!truthy(seq)) return Value::make_list();  // Jinja: `if seq:` guards the loop
  for (const auto& item : iterate(seq)) {
    const Value subject = by_attr ? attribute_path(item, attr) : item;
    const bool pass = test ? apply_test(test->s, subject, rest(a, test_at + 1)) : truthy(subject);
    if (pass == keep) out.push_back(item);
  }
  return Value::make_list(out);
}

Value map_filter(const Value& seq, const CallArgs& a) {
  List out;
  if (!truthy(seq)) return Value::make_list();  // Jinja: `if seq:` guards the loop
  if (const Value* attr = a.keyword_arg("attribute")) {
    const Value* dflt = a.keyword_arg("default");
    for (const auto& item : iterate(seq)) {
      Value v = attribute_path(item, attr->s);
      out.push_back(v.is_undefined() && dflt ? *dflt : v);
    }
    return Value::make_list(out);
  }
  if (a.positional.empty() || !a.positional[0].is_string())
    render_fail("map needs a filter name or attribute=…");
  for (const auto& item : iterate(seq))
    out.push_back(apply_filter(a.positional[0].s, item, rest(a, 1)));
  return Value::make_list(out);
}

Value tojson(const Value& v, const CallArgs& a) {
  JsonFormat fmt;
  const Value* indent = arg(a, 0, "indent");
  if (indent && indent->kind == Kind::Int) {
    fmt.indent = static_cast<int>(indent->i);
    fmt.item_separator = ",";
  }
  if (const Value* sep = a.keyword_arg("separators")) {
    if (sep->kind != Kind::List || sep->list->size() != 2)
      render_fail("tojson: separators must be a pair");
    fmt.item_separator = to_str((*sep->list)[0]);
    fmt.key_separator = to_str((*sep->list)[1]);
  }
  const Value* sort_keys = a.keyword_arg("sort_keys");
  fmt.sort_keys = sort_keys && truthy(*sort_keys);
  if (const Value* ascii = a.keyword_arg("ensure_ascii"); ascii && truthy(*ascii))
    render_fail("tojson(ensure_ascii=true) is not supported", ErrorKind::Unsupported);
  return Value::string(to_json(v, fmt));
}

Value join(const Value& seq, const CallArgs& a) {
  const Value* sep = arg(a, 0, "d");
  const Value* attr = arg(a, 1, "attribute");
  std::string out;
  bool first = true;
  for (const auto& item : iterate(seq)) {
    out += (first ? "" : (sep ? to_str(*sep) : "")) +
           to_str(attr ? attribute_path(item, to_str(*attr)) : item);
    first = false;
  }
  return Value::string(out);
}

Value to_int(const Value& v, const CallArgs& a) {
  const Value* dflt = arg(a, 0, "default");
  const Value fallback = dflt ? *dflt : Value::integer(0);
  if (v.kind == Kind::Int) return v;
  if (v.kind == Kind::Bool) return Value::integer(v.b);
  if (v.kind == Kind::Float) return Value::integer(static_cast<std::int64_t>(v.f));
  if (v.is_string()) {
    const std::string s = py_strip(v.s, nullptr, true, true);
    char* end = nullptr;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0') return Value::integer(i);
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return Value::integer(static_cast<std::int64_t>(d));
  }
  return fallback;
}

Value to_float(const Value& v, const CallArgs& a) {
  const Value* dflt = arg(a, 0, "default");
  if (v.is_number()) return Value::number(v.as_double());
  if (v.kind == Kind::Bool) return Value::number(v.b);
  if (v.is_string()) {
    const std::string s = py_strip(v.s, nullptr, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return Value::number(d);
  }
  return dflt ? *dflt : Value::number(0.0);
}

Value round_filter(const Value& v, const CallArgs& a) {
  if (!v.is_number() && v.kind != Kind::Bool)
    render_fail("round needs a number, not " + type_name(v));
  const Value* p = arg(a, 0, "precision");
  const Value* method = arg(a, 1, "method");
  const double scale = std::pow(10.0, p && p->kind == Kind::Int ? static_cast<double>(p->i) : 0.0);
  const double x = v.as_double() * scale;
  const std::string m = method ? to_str(*method) : "common";
  // "common" is Python's round(): halves go to the even neighbour.
  double r = m == "floor" ? std::floor(x) : m == "ceil" ? std::ceil(x) : std::nearbyint(x);
  if (v.kind != Kind::Float && m == "common") return v.kind == Kind::Bool ? Value::integer(v.b) : v;
  return Value::number(r / scale);
}

Value unique(const Value& seq, const CallArgs& a) {
  const bool case_sensitive = flag(a, 0, "case_sensitive");
  const Value* attr = arg(a, 1, "attribute");
  List out;
  List seen;
  for (const auto& item : iterate(seq)) {
    Value key = attr ? attribute_path(item, to_str(*attr)) : item;
    if (!case_sensitive && key.is_string()) key = Value::string(py_lower(key.s));
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::make_list(out);
}

// Jinja's indent: lines after the first (and the first with first=true) get the prefix; empty
// lines only with blank=true; a trailing newline stays unindented.
Value indent(const Value& v, const CallArgs& a) {
  if (!v.is_string()) render_fail("indent needs a string, not " + type_name(v));
  const Value* w = arg(a, 0, "width");
  if (w && !w->is_string() && (w->kind != Kind::Int || w->i < 0 || w->i > 1000))
    render_fail("indent width must be a string or an integer in [0, 1000]");
  const std::string pad =
      w && w->is_string() ? w->s : std::string(w ? static_cast<std::size_t>(w->i) : 4, ' ');
  const bool first = flag(a, 1, "first");
  const bool blank = flag(a, 2, "blank");
  std::vector<std::string> lines;
  const std::string s = v.s + "\n";
  for (std::size_t k = 0, e; (e = s.find('\n', k)) != std::string::npos; k = e + 1)
    lines.push_back(s.substr(k, e - k));
  std::string out = lines.empty() ? "" : lines[0];
  for (std::size_t k = 1; k < lines.size(); ++k)
    out += "\n" + ((blank || !lines[k].empty()) ? pad : "") + lines[k];
  return Value::string(first ? pad + out : out);
}

// Jinja's dictsort: (key, value) pairs sorted by key (or by='value'), case-insensitive by default.
Value dictsort(const Value& v, const CallArgs& a) {
  if (v.kind != Kind::Dict) render_fail("dictsort needs a mapping, not " + type_name(v));
  const bool case_sensitive = flag(a, 0, "case_sensitive");
  const Value* by = arg(a, 1, "by");
  const bool by_value = by && to_str(*by) == "value";
  const bool reverse = flag(a, 2, "reverse");
  List items;
  for (const auto& [k, item] : v.dict->entries)
    items.push_back(Value::make_list({Value::string(k), item}, true));
  auto key = [&](const Value& pair) {
    const Value& k = (*pair.list)[by_value ? 1 : 0];
    return !case_sensitive && k.is_string() ? Value::string(py_lower(k.s)) : k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? key_less(key(y), key(x)) : key_less(key(x), key(y));
  });
  return Value::make_list(items);
}

Value sort_filter(const Value& seq, const CallArgs& a) {
  const bool reverse = flag(a, 0, "reverse");
  const bool case_sensitive = flag(a, 1, "case_sensitive");
  const Value* attr = arg(a, 2, "attribute");
  List items = iterate(seq);
  auto key = [&](const Value& v) {
    Value k = attr ? attribute_path(v, to_str(*attr)) : v;
    return !case_sensitive && k.is_string() ? Value::string(py_lower(k.s)) : k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? key_less(key(y), key(x)) : key_less(key(x), key(y));
  });
  return Value::make_list(items);
}

Value html_escape(const Value& v) {
  std::string out;
  for (char c : to_str(v)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value::string(out);
}

const std::map<std::string, Filter>& filters() {
  static const std::map<std::string, Filter> table = {
      {"trim",
       [](const Value& v, const CallArgs& a) {
         return Value::string(py_strip(to_str(v), arg(a, 0, "chars"), true, true));
       }},
      {"length", [](const Value& v, const CallArgs&) { return Value::integer(py_len(v)); }},
      {"count", [](const Value& v, const CallArgs&) { return Value::integer(py_len(v)); }},
      {"upper", [](const Value& v, const CallArgs&) { return Value::string(py_upper(to_str(v))); }},
      {"lower", [](const Value& v, const CallArgs&) { return Value::string(py_lower(to_str(v))); }},
      {"title",
       [](const Value& v, const CallArgs&) { return Value::string(jinja_title(to_str(v))); }},
      {"capitalize",
       [](const Value& v, const CallArgs&) { return Value::string(py_capitalize(to_str(v))); }},
      {"default",
       [](const Value& v, const CallArgs& a) {
         const Value* d = arg(a, 0, "default_value");
         const bool boolean = flag(a, 1, "boolean");
         if (v.is_undefined() || (boolean && !truthy(v))) return d ? *d : Value::string("");
         return v;
       }},
      {"join", join},
      {"tojson", tojson},
      {"items",
       [](const Value& v, const CallArgs&) {
         if (v.is_undefined()) return Value::make_list();
         if (v.kind != Kind::Dict) render_fail("items needs a mapping, not " + type_name(v));
         Value bound;
         find_method(v, "items", bound);
         return (*bound.fn)(CallArgs{});
       }},
      {"list", [](const Value& v, const CallArgs&) { return Value::make_list(iterate(v)); }},
      {"first",
       [](const Value& v, const CallArgs&) {
         List items = iterate(v);
         return items.empty() ? Value::undefined("first: the sequence is empty") : items.front();
       }},
      {"last",
       [](const Value& v, const CallArgs&) {
         List items = iterate(v);
         return items.empty() ? Value::undefined("last: the sequence is empty") : items.back();
       }},
      {"reverse",
       [](const Value& v, const CallArgs&) {
         if (v.is_string()) return slice(v, Value::none(), Value::none(), Value::integer(-1));
         List items = iterate(v);
         std::reverse(items.begin(), items.end());
         return Value::make_list(items);
       }},
      {"replace",
       [](const Value& v, const CallArgs& a) {
         Value bound;
         find_method(Value::string(to_str(v)), "replace", bound);
         return (*bound.fn)(a);
       }},
      {"string", [](const Value& v, const CallArgs&) { return Value::string(to_str(v)); }},
      {"safe", [](const Value& v, const CallArgs&) { return v; }},
      {"escape", [](const Value& v, const CallArgs&) { return html_escape(v); }},
      {"e", [](const Value& v, const CallArgs&) { return html_escape(v); }},
      {"int", to_int},
      {"float", to_float},
      {"round", round_filter},
      {"abs",
       [](const Value& v, const CallArgs&) {
         if (v.kind == Kind::Bool) return Value::integer(v.b);
         if (v.kind == Kind::Int) return v.i < 0 ? binary_op("-", Value::integer(0), v) : v;
         if (v.kind == Kind::Float) return Value::number(std::fabs(v.f));
         render_fail("abs needs a number, not " + type_name(v));
       }},
      {"selectattr", [](const Value& v, const CallArgs& a) { return select(v, a, true, true); }},
      {"rejectattr", [](const Value& v, const CallArgs& a) { return select(v, a, true, false); }},
      {"select", [](const Value& v, const CallArgs& a) { return select(v, a, false, true); }},
      {"reject", [](const Value& v, const CallArgs& a) { return select(v, a, false, false); }},
      {"map", map_filter},
      {"unique", unique},
      {"sort", sort_filter},
      {"indent", indent},
      {"dictsort", dictsort},
      {"attr",
       [](const Value& v, const CallArgs& a) {
         const Value* name = arg(a, 0, "name");
         if (!name || !name->is_string()) render_fail("attr needs an attribute name");
         Value bound;  // Jinja's attr looks up attributes (methods) only, never items
         if (find_method(v, name->s, bound)) return bound;
         return Value::undefined("'" + type_name(v) + " object' has no attribute '" + name->s +
                                 "'");
       }},
      {"sum",
       [](const Value& v, const CallArgs&) {
         Value total = Value::integer(0);
         for (const auto& item : iterate(v)) total = binary_op("+", total, item);
         return total;
       }},
      {"min",
       [](const Value& v, const CallArgs&) {
         List items = iterate(v);
         if (items.empty()) return Value::undefined("min: the sequence is empty");
         return *std::min_element(items.begin(), items.end(), [](const Value& x, const Value& y) {
           return compare_op("<", x, y);
         });
       }},
      {"max",
       [](const Value& v, const CallArgs&) {
         List items = iterate(v);
         if (items.empty()) return Value::undefined("max: the sequence is empty");
         return *std::max_element(items.begin(), items.end(), [](const Value& x, const Value& y) {
           return compare_op("<", x, y);
         });
       }},
  };
  return table;
}

// Jinja's odd/even: value % 2 (numbers and booleans; anything else is an error, as in Python).
bool parity_even(const Value& v) {
  if (!v.is_number() && v.kind != Kind::Bool)
    render_fail("odd/even need a number, not " + type_name(v));
  return equals(binary_op("%", v, Value::integer(2)), Value::integer(0));
}

const std::map<std::string, Test>& tests() {
  static const auto num = [](const Value& v) { return v.is_number() || v.kind == Kind::Bool; };
  static const std::map<std::string, Test> table = {
      {"defined", [](const Value& v, const CallArgs&) { return !v.is_undefined(); }},
      {"undefined", [](const Value& v, const CallArgs&) { return v.is_undefined(); }},
      {"none", [](const Value& v, const CallArgs&) { return v.is_none(); }},
      {"string", [](const Value& v, const CallArgs&) { return v.is_string(); }},
      {"mapping", [](const Value& v, const CallArgs&) { return v.kind == Kind::Dict; }},
      {"iterable",
       [](const Value& v, const CallArgs&) {
         return v.kind == Kind::String || v.kind == Kind::List || v.kind == Kind::Dict ||
                v.is_undefined();
       }},
      {"sequence",
       [](const Value& v, const CallArgs&) {
         return v.kind == Kind::String || v.kind == Kind::List || v.kind == Kind::Dict;
       }},
      {"number", [](const Value& v, const CallArgs&) { return num(v); }},
      {"integer", [](const Value& v, const CallArgs&) { return v.kind == Kind::Int; }},
      {"float", [](const Value& v, const CallArgs&) { return v.kind == Kind::Float; }},
      {"boolean", [](const Value& v, const CallArgs&) { return v.kind == Kind::Bool; }},
      {"true", [](const Value& v, const CallArgs&) { return v.kind == Kind::Bool && v.b; }},
      {"false", [](const Value& v, const CallArgs&) { return v.kind == Kind::Bool && !v.b; }},
      {"callable", [](const Value& v, const CallArgs&) { return v.kind == Kind::Callable; }},
      {"odd", [](const Value& v, const CallArgs&) { return !parity_even(v); }},
      {"even", [](const Value& v, const CallArgs&) { return parity_even(v); }},
      {"lower",
       [](const Value& v, const CallArgs&) { return v.is_string() && py_lower(v.s) == v.s; }},
      {"upper",
       [](const Value& v, const CallArgs&) { return v.is_string() && py_upper(v.s) == v.s; }},
      {"divisibleby",
       [](const Value& v, const CallArgs& a) {
         const Value* n = arg(a, 0, "num");
         if (!n) render_fail("divisibleby needs a number");
         return equals(binary_op("%", v, *n), Value::integer(0));  // Python: value % num == 0
       }},
      {"in",
       [](const Value& v, const CallArgs& a) {
         const Value* c = arg(a, 0, "seq");
         if (!c) render_fail("the 'in' test needs a container");
         return compare_op("in", v, *c);
       }},
      {"sameas",
       [](const Value& v, const CallArgs& a) {
         const Value* o = arg(a, 0, "other");
         if (!o) render_fail("sameas needs a value");
         if (v.kind != o->kind) return false;
         if (v.kind == Kind::List) return v.list == o->list;
         if (v.kind == Kind::Dict) return v.dict == o->dict;
         return equals(v, *o);
       }},
  };
  return table;
}

bool comparison_test(const std::string& name, const Value& v, const CallArgs& a, bool& result) {
  static const std::map<std::string, std::string> ops = {
      {"eq", "=="}, {"equalto", "=="},    {"==", "=="}, {"ne", "!="}, {"!=", "!="},
      {"lt", "<"},  {"lessthan", "<"},    {"<", "<"},   {"le", "<="}, {"<=", "<="},
      {"gt", ">"},  {"greaterthan", ">"}, {">", ">"},   {"ge", ">="}, {">=", ">="}};
  const auto it = ops.find(name);
  if (it == ops.end()) return false;
  const Value* other = arg(a, 0, "other");
  if (!other) render_fail("the '" + name + "' test needs a value to compare with");
  result = compare_op(it->second, v, *other);
  return true;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) > 0 || name == "d"; }

bool has_test(const std::string& name) {
  bool ignored = false;
  static const CallArgs one{{Value::none()}, {}};
  try {
    if (comparison_test(name, Value::none(), one, ignored)) return true;
  } catch (const RenderError&) {
    return true;
  }
  return tests().count(name) > 0;
}

Value apply_filter(const std::string& name, const Value& operand, const CallArgs& args) {
  const auto it = filters().find(name == "d" ? "default" : name);
  if (it == filters().end()) render_fail("unknown filter '" + name + "'", ErrorKind::Unsupported);
  return it->second(operand, args);
}

bool apply_test(const std::string& name, const Value& operand, const CallArgs& args) {
  bool result = false;
  if (comparison_test(name, operand, args, result)) return result;
  const auto it = tests().find(name);
  if (it == tests().end()) render_fail("unknown test '" + name + "'", ErrorKind::Unsupported);
  return it->second(operand, args);
}

}  // namespace t2::detail::jinja
