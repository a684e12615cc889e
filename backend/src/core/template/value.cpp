#include "core/template/value.h"

#include "core/template/builtins.h"

#include <t2/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace t2::detail::jinja {

Value Value::undefined(std::string what) {
  Value v;
  v.s = std::move(what);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.b = b;
  return v;
}
Value Value::integer(std::int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.i = i;
  return v;
}
Value Value::number(double f) {
  Value v;
  v.kind = Kind::Float;
  v.f = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.s = std::move(s);
  return v;
}
Value Value::make_list(List items, bool tuple) {
  Value v;
  v.kind = Kind::List;
  v.list = std::make_shared<List>(std::move(items));
  v.is_tuple = tuple;
  return v;
}
Value Value::make_dict() {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::make_shared<Dict>();
  return v;
}
Value Value::callable(NativeFn fn) {
  Value v;
  v.kind = Kind::Callable;
  v.fn = std::make_shared<NativeFn>(std::move(fn));
  return v;
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : entries) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* CallArgs::get(std::size_t index, const std::string& name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

const Value* CallArgs::keyword_arg(const std::string& name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::None:
      return false;
    case Kind::Bool:
      return v.b;
    case Kind::Int:
      return v.i != 0;
    case Kind::Float:
      return v.f != 0.0;
    case Kind::String:
      return !v.s.empty();
    case Kind::List:
      return !v.list->empty();
    case Kind::Dict:
      return !v.dict->entries.empty();
    case Kind::Callable:
      return true;
  }
  return false;
}

std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf: [-]d.ddde[+-]XX with `precision` significant digits.
  std::string sci = buf;
  const auto e_pos = sci.find('e');
  const int exponent = std::atoi(sci.c_str() + e_pos + 1);
  std::string digits;
  for (std::size_t k = 0; k < e_pos; ++k)
    if (std::isdigit(static_cast<unsigned char>(sci[k]))) digits += sci[k];
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const std::string sign = v < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    std::string mantissa = digits.substr(0, 1);
    if (digits.size() > 1) mantissa += "." + digits.substr(1);
    std::snprintf(buf, sizeof buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + mantissa + buf;
  }
  if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
  const auto int_len = static_cast<std::size_t>(exponent + 1);
  if (digits.size() <= int_len)
    return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

std::string python_quote(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = use_double ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == static_cast<unsigned char>(q))
      out += std::string("\\") + q;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + q;
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

constexpr int kMaxValueDepth = 1000;

void check_depth(int depth) {
  if (depth > kMaxValueDepth)
    render_fail("a value is nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
}

void json_write(const Value& v, const JsonFormat& fmt, int depth, std::string& out) {
  check_depth(depth);
  auto newline = [&](int d) {
    if (fmt.indent >= 0) out += "\n" + std::string(static_cast<std::size_t>(fmt.indent * d), ' ');
  };
  switch (v.kind) {
    case Kind::Undefined:
      render_fail("tojson: Object of type Undefined is not JSON serializable");
    case Kind::None:
      out += "null";
      return;
    case Kind::Bool:
      out += v.b ? "true" : "false";
      return;
    case Kind::Int:
      out += std::to_string(v.i);
      return;
    case Kind::Float:
      if (std::isnan(v.f))
        out += "NaN";
      else if (std::isinf(v.f))
        out += v.f > 0 ? "Infinity" : "-Infinity";
      else
        out += float_repr(v.f);
      return;
    case Kind::String:
      out += json_quote(v.s);
      return;
    case Kind::List: {
      out += "[";
      for (std::size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += fmt.item_separator;
        newline(depth + 1);
        json_write((*v.list)[k], fmt, depth + 1, out);
      }
      if (!v.list->empty()) newline(depth);
      out += "]";
      return;
    }
    case Kind::Dict: {
      if (v.dict->is_namespace)
        render_fail("tojson: a namespace() object is not JSON serializable");
      auto entries = v.dict->entries;
      if (fmt.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      out += "{";
      for (std::size_t k = 0; k < entries.size(); ++k) {
        if (k) out += fmt.item_separator;
        newline(depth + 1);
        out += json_quote(entries[k].first) + fmt.key_separator;
        json_write(entries[k].second, fmt, depth + 1, out);
      }
      if (!entries.empty()) newline(depth);
      out += "}";
      return;
    }
    case Kind::Callable:
      render_fail("tojson: a macro or function cannot be converted to JSON");
  }
}

constexpr int kMaxJsonDepth = 512;

Value from_json(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxJsonDepth)
    throw Error(ErrorKind::InvalidArgument,
                "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::integer(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return Value::number(static_cast<double>(u));
      return Value::integer(static_cast<std::int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value::number(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json(item, depth + 1));
      return Value::make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = Value::make_dict();
      for (const auto& [k, item] : j.items()) d.dict->set(k, from_json(item, depth + 1));
      return d;
    }
    default:
      return Value::none();
  }
}

std::string to_str_at(const Value& v, int depth);

std::string to_repr_at(const Value& v, int depth) {
  if (v.is_undefined()) return "Undefined";  // repr() of Jinja2's Undefined
  return v.kind == Kind::String ? python_quote(v.s) : to_str_at(v, depth);
}

std::string to_str_at(const Value& v, int depth) {
  check_depth(depth);
  switch (v.kind) {
    case Kind::Undefined:
      return "";
    case Kind::None:
      return "None";
    case Kind::Bool:
      return v.b ? "True" : "False";
    case Kind::Int:
      return std::to_string(v.i);
    case Kind::Float:
      return float_repr(v.f);
    case Kind::String:
      return v.s;
    case Kind::List: {
      std::string out = v.is_tuple ? "(" : "[";
      for (std::size_t k = 0; k < v.list->size(); ++k)
        out += (k ? ", " : "") + to_repr_at((*v.list)[k], depth + 1);
      if (v.is_tuple && v.list->size() == 1) out += ",";
      return out + (v.is_tuple ? ")" : "]");
    }
    case Kind::Dict: {
      if (v.dict->is_namespace) return "<Namespace>";
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : v.dict->entries) {
        out += (first ? "" : ", ") + python_quote(k) + ": " + to_repr_at(item, depth + 1);
        first = false;
      }
      return out + "}";
    }
    case Kind::Callable:
      return "<function>";
  }
  return "";
}

bool equals_at(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  const bool a_num = a.is_number() || a.kind == Kind::Bool;
  const bool b_num = b.is_number() || b.kind == Kind::Bool;
  if (a_num && b_num) {
    auto as_d = [](const Value& v) {
      return v.kind == Kind::Bool ? (v.b ? 1.0 : 0.0) : v.as_double();
    };
    if (a.kind != Kind::Float && b.kind != Kind::Float) {
      auto as_i = [](const Value& v) { return v.kind == Kind::Bool ? std::int64_t{v.b} : v.i; };
      return as_i(a) == as_i(b);
    }
    return as_d(a) == as_d(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Undefined:
    case Kind::None:
      return true;
    case Kind::String:
      return a.s == b.s;
    case Kind::List:
      if (a.list->size() != b.list->size()) return false;
      for (std::size_t k = 0; k < a.list->size(); ++k)
        if (!equals_at((*a.list)[k], (*b.list)[k], depth + 1)) return false;
      return true;
    case Kind::Dict:
      if (a.dict->is_namespace || b.dict->is_namespace) return a.dict == b.dict;
      if (a.dict->entries.size() != b.dict->entries.size()) return false;
      for (const auto& [k, item] : a.dict->entries) {
        const Value* other = b.dict->find(k);
        if (!other || !equals_at(item, *other, depth + 1)) return false;
      }
      return true;
    case Kind::Callable:
      return a.fn == b.fn;
    default:
      return false;
  }
}

}  // namespace

std::string to_repr(const Value& v) { return to_repr_at(v, 0); }
std::string to_str(const Value& v) { return to_str_at(v, 0); }
bool equals(const Value& a, const Value& b) { return equals_at(a, b, 0); }

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
      return "undefined";
    case Kind::None:
      return "NoneType";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::List:
      return v.is_tuple ? "tuple" : "list";
    case Kind::Dict:
      return v.dict->is_namespace ? "Namespace" : "dict";
    case Kind::Callable:
      return "function";
  }
  return "?";
}

std::string to_json(const Value& v, const JsonFormat& format) {
  std::string out;
  json_write(v, format, 0, out);
  return out;
}

Value from_json_text(const std::string& text, const std::string& what) {
  try {
    return from_json(nlohmann::ordered_json::parse(text), 0);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Corrupt,
                what + " is not valid JSON (at byte " + std::to_string(e.byte) + "): " + e.what());
  }
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t k = 0; k < s.size();) {
    const auto c = static_cast<unsigned char>(s[k]);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 1;
    len = std::min(len, s.size() - k);
    out.push_back(s.substr(k, len));
    k += len;
  }
  return out;
}

}  // namespace t2::detail::jinja
