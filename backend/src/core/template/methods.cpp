// Python methods callable from templates: str (strip, split, startswith, replace, …), dict
// (items, keys, values, get) and list (index, count). Mutating methods (list.append, dict.update…)
// are refused, as in transformers' ImmutableSandboxedEnvironment.
#include "core/template/builtins.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

namespace t2::detail::jinja {
namespace {

using Method = std::function<Value(const Value& self, const CallArgs& args)>;

const Value* arg(const CallArgs& a, std::size_t i, const char* name) { return a.get(i, name); }

std::string str_arg(const CallArgs& a, std::size_t i, const char* name, const char* method) {
  const Value* v = arg(a, i, name);
  if (!v || !v->is_string())
    render_fail(std::string("str.") + method + "() needs a string argument '" + name + "'");
  return v->s;
}

Value split(const std::string& s, const Value* sep, std::int64_t maxsplit, bool from_right) {
  List parts;
  if (!sep || sep->is_none()) {
    for (auto& p : py_split_whitespace(s, maxsplit, from_right)) parts.push_back(Value::string(p));
    return Value::make_list(parts);
  }
  if (!sep->is_string()) render_fail("str.split() separator must be a string or none");
  if (sep->s.empty()) render_fail("str.split(): empty separator");
  const std::string& d = sep->s;
  std::vector<std::string> pieces;
  if (!from_right) {
    std::size_t k = 0;
    for (std::size_t e; (maxsplit < 0 || static_cast<std::int64_t>(pieces.size()) < maxsplit) &&
                        (e = s.find(d, k)) != std::string::npos;
         k = e + d.size())
      pieces.push_back(s.substr(k, e - k));
    pieces.push_back(s.substr(k));
  } else {
    std::size_t end = s.size();
    while (maxsplit < 0 || static_cast<std::int64_t>(pieces.size()) < maxsplit) {
      if (end < d.size()) break;
      const std::size_t e = s.rfind(d, end - d.size());
      if (e == std::string::npos) break;
      pieces.push_back(s.substr(e + d.size(), end - e - d.size()));
      end = e;
    }
    pieces.push_back(s.substr(0, end));
    std::reverse(pieces.begin(), pieces.end());
  }
  for (auto& p : pieces) parts.push_back(Value::string(p));
  return Value::make_list(parts);
}

bool affix_match(const std::string& s, const Value& affix, bool prefix, const char* method) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) render_fail(std::string("str.") + method + "() takes a string or tuple");
    if (a.s.size() > s.size()) return false;
    return prefix ? s.compare(0, a.s.size(), a.s) == 0
                  : s.compare(s.size() - a.s.size(), a.s.size(), a.s) == 0;
  };
  if (affix.kind == Kind::List) {
    for (const auto& a : *affix.list)
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to,
                        std::int64_t count) {
  if (from.empty()) {  // Python inserts `to` between characters
    std::string out;
    std::int64_t n = 0;
    for (const auto& c : utf8_chars(s)) {
      if (count < 0 || n < count) out += to, ++n;
      out += c;
    }
    if (count < 0 || n < count) out += to;
    return out;
  }
  std::string out;
  std::size_t k = 0;
  std::int64_t n = 0;
  for (std::size_t e; (count < 0 || n < count) && (e = s.find(from, k)) != std::string::npos; ++n) {
    out += s.substr(k, e - k) + to;
    k = e + from.size();
  }
  return out + s.substr(k);
}

std::int64_t int_arg(const CallArgs& a, std::size_t i, const char* name, std::int64_t dflt) {
  const Value* v = arg(a, i, name);
  if (!v || v->is_none()) return dflt;
  if (v->kind != Kind::Int) render_fail(std::string("argument '") + name + "' must be an integer");
  return v->i;
}

// Python's str.format for "{}", "{0}", "{name}" and "{{" / "}}" (no format specs or conversions).
Value format(const std::string& s, const CallArgs& a) {
  std::string out;
  std::size_t auto_index = 0;
  bool manual = false;
  for (std::size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    if ((c == '{' || c == '}') && k + 1 < s.size() && s[k + 1] == c) {
      out += c;
      ++k;
      continue;
    }
    if (c == '}') render_fail("str.format(): single '}' in the format string");
    if (c != '{') {
      out += c;
      continue;
    }
    const std::size_t end = s.find('}', k);
    if (end == std::string::npos) render_fail("str.format(): unterminated '{'");
    const std::string field = s.substr(k + 1, end - k - 1);
    if (field.find_first_of(":!.[") != std::string::npos)
      render_fail("str.format(): format specs and conversions ('" + field + "') are not supported",
                  ErrorKind::Unsupported);
    const Value* v = nullptr;
    const bool numbered = !field.empty() && std::isdigit(static_cast<unsigned char>(field[0]));
    if (field.empty() ? manual : numbered && auto_index > 0)
      render_fail("str.format(): cannot mix automatic '{}' and numbered '{0}' fields");
    manual = manual || numbered;
    if (field.empty())
      v = a.get(auto_index++, "");
    else if (numbered)
      v = field.size() < 6 && std::all_of(field.begin(), field.end(), ::isdigit)
              ? a.get(std::stoul(field), "")
              : nullptr;
    else
      v = a.get(static_cast<std::size_t>(-1), field);
    if (!v) render_fail("str.format(): no argument for '{" + field + "}'");
    out += to_str(*v);
    k = end;
  }
  return Value::string(out);
}

const std::map<std::string, Method>& string_methods() {
  static const std::map<std::string, Method> methods = {
      {"strip",
       [](const Value& s, const CallArgs& a) {
         return Value::string(py_strip(s.s, arg(a, 0, "chars"), true, true));
       }},
      {"lstrip",
       [](const Value& s, const CallArgs& a) {
         return Value::string(py_strip(s.s, arg(a, 0, "chars"), true, false));
       }},
      {"rstrip",
       [](const Value& s, const CallArgs& a) {
         return Value::string(py_strip(s.s, arg(a, 0, "chars"), false, true));
       }},
      {"split",
       [](const Value& s, const CallArgs& a) {
         return split(s.s, arg(a, 0, "sep"), int_arg(a, 1, "maxsplit", -1), false);
       }},
      {"splitlines",
       [](const Value& s, const CallArgs&) {
         List out;
         std::size_t k = 0;
         while (k < s.s.size()) {
           std::size_t e = s.s.find_first_of("\r\n", k);
           if (e == std::string::npos) e = s.s.size();
           out.push_back(Value::string(s.s.substr(k, e - k)));
           k = e + ((s.s.compare(e, 2, "\r\n") == 0) ? 2 : 1);
         }
         return Value::make_list(out);
       }},
      {"startswith",
       [](const Value& s, const CallArgs& a) {
         const Value* p = arg(a, 0, "prefix");
         if (!p) render_fail("str.startswith() needs a prefix");
         return Value::boolean(affix_match(s.s, *p, true, "startswith"));
       }},
      {"endswith",
       [](const Value& s, const CallArgs& a) {
         const Value* p = arg(a, 0, "suffix");
         if (!p) render_fail("str.endswith() needs a suffix");
         return Value::boolean(affix_match(s.s, *p, false, "endswith"));
       }},
      {"replace",
       [](const Value& s, const CallArgs& a) {
         return Value::string(replace_all(s.s, str_arg(a, 0, "old", "replace"),
                                          str_arg(a, 1, "new", "replace"),
                                          int_arg(a, 2, "count", -1)));
       }},
      {"upper", [](const Value& s, const CallArgs&) { return Value::string(py_upper(s.s)); }},
      {"lower", [](const Value& s, const CallArgs&) { return Value::string(py_lower(s.s)); }},
      {"title", [](const Value& s, const CallArgs&) { return Value::string(py_title(s.s)); }},
      {"rsplit",
       [](const Value& s, const CallArgs& a) {
         return split(s.s, arg(a, 0, "sep"), int_arg(a, 1, "maxsplit", -1), true);
       }},
      {"capitalize",
       [](const Value& s, const CallArgs&) { return Value::string(py_capitalize(s.s)); }},
      {"find",
       [](const Value& s, const CallArgs& a) {
         const auto k = s.s.find(str_arg(a, 0, "sub", "find"));
         if (k == std::string::npos) return Value::integer(-1);
         return Value::integer(static_cast<std::int64_t>(utf8_chars(s.s.substr(0, k)).size()));
       }},
      {"count",
       [](const Value& s, const CallArgs& a) {
         const std::string sub = str_arg(a, 0, "sub", "count");
         if (sub.empty()) return Value::integer(py_len(s) + 1);
         std::int64_t n = 0;
         for (std::size_t k = s.s.find(sub); k != std::string::npos;
              k = s.s.find(sub, k + sub.size()))
           ++n;
         return Value::integer(n);
       }},
      {"join",
       [](const Value& s, const CallArgs& a) {
         const Value* items = arg(a, 0, "iterable");
         if (!items) render_fail("str.join() needs an iterable");
         std::string out;
         bool first = true;
         for (const auto& v : iterate(*items)) {
           if (!v.is_string())
             render_fail("str.join(): expected str instance, " + type_name(v) + " found");
           out += (first ? "" : s.s) + v.s;
           first = false;
         }
         return Value::string(out);
       }},
      {"format", [](const Value& s, const CallArgs& a) { return format(s.s, a); }},
      {"isdigit",
       [](const Value& s, const CallArgs&) {
         bool ok = !s.s.empty();
         for (char c : s.s) ok = ok && c >= '0' && c <= '9';
         return Value::boolean(ok);
       }},
      {"isspace",
       [](const Value& s, const CallArgs&) {
         return Value::boolean(!s.s.empty() && py_strip(s.s, nullptr, true, true).empty());
       }},
  };
  return methods;
}

Value dict_items(const Value& d) {
  List out;
  for (const auto& [k, v] : d.dict->entries)
    out.push_back(Value::make_list({Value::string(k), v}, true));
  return Value::make_list(out);
}

const std::map<std::string, Method>& dict_methods() {
  static const std::map<std::string, Method> methods = {
      {"items", [](const Value& d, const CallArgs&) { return dict_items(d); }},
      {"keys",
       [](const Value& d, const CallArgs&) {
         List out;
         for (const auto& [k, v] : d.dict->entries) out.push_back(Value::string(k));
         return Value::make_list(out);
       }},
      {"values",
       [](const Value& d, const CallArgs&) {
         List out;
         for (const auto& [k, v] : d.dict->entries) out.push_back(v);
         return Value::make_list(out);
       }},
      {"get",
       [](const Value& d, const CallArgs& a) {
         const Value* key = arg(a, 0, "key");
         if (!key) render_fail("dict.get() needs a key");
         if (key->is_string())
           if (const Value* v = d.dict->find(key->s)) return *v;
         const Value* dflt = arg(a, 1, "default");
         return dflt ? *dflt : Value::none();
       }},
  };
  return methods;
}

const std::map<std::string, Method>& list_methods() {
  static const std::map<std::string, Method> methods = {
      {"index",
       [](const Value& l, const CallArgs& a) {
         const Value* x = arg(a, 0, "value");
         for (std::size_t k = 0; x && k < l.list->size(); ++k)
           if (equals((*l.list)[k], *x)) return Value::integer(static_cast<std::int64_t>(k));
         render_fail("list.index(): value is not in the list");
       }},
      {"count",
       [](const Value& l, const CallArgs& a) {
         const Value* x = arg(a, 0, "value");
         std::int64_t n = 0;
         for (const auto& v : *l.list) n += x && equals(v, *x);
         return Value::integer(n);
       }},
  };
  return methods;
}

bool is_mutator(const Value& obj, const std::string& name) {
  static const char* const kList[] = {"append", "extend", "insert", "pop",
                                      "remove", "clear",  "sort",   "reverse"};
  static const char* const kDict[] = {"update", "pop", "popitem", "setdefault", "clear"};
  if (obj.kind == Kind::List)
    for (const char* m : kList)
      if (name == m) return true;
  if (obj.kind == Kind::Dict)
    for (const char* m : kDict)
      if (name == m) return true;
  return false;
}

}  // namespace

bool find_method(const Value& obj, const std::string& name, Value& bound) {
  const std::map<std::string, Method>* table = nullptr;
  if (obj.kind == Kind::String)
    table = &string_methods();
  else if (obj.kind == Kind::Dict)
    table = &dict_methods();
  else if (obj.kind == Kind::List)
    table = &list_methods();
  if (is_mutator(obj, name)) {
    const std::string what = type_name(obj) + "." + name + "()";
    bound = Value::callable([what](const CallArgs&) -> Value {
      render_fail(what +
                      " modifies a value, which transformers' immutable sandbox forbids; "
                      "build a new value with set/namespace instead",
                  ErrorKind::Unsupported);
    });
    return true;
  }
  if (!table) return false;
  const auto it = table->find(name);
  if (it == table->end()) return false;
  const Method& m = it->second;
  bound = Value::callable([self = obj, &m](const CallArgs& a) { return m(self, a); });
  return true;
}

}  // namespace t2::detail::jinja
