// Attribute/item access, slicing, iteration and operators with Python/Jinja semantics.
#include "core/template/builtins.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace t2::detail::jinja {

void render_fail(const std::string& message, ErrorKind kind) { throw RenderError{kind, message}; }

void require_defined(const Value& v) {
  if (v.is_undefined()) render_fail(v.s.empty() ? "a value is undefined" : v.s);
}

namespace {

std::string describe_object(const Value& v) {
  return v.kind == Kind::Dict && !v.dict->is_namespace ? "'dict object'"
                                                       : "'" + type_name(v) + " object'";
}

bool is_int_like(const Value& v) { return v.kind == Kind::Int || v.kind == Kind::Bool; }
std::int64_t int_of(const Value& v) { return v.kind == Kind::Bool ? v.b : v.i; }

Value index_sequence(const Value& obj, std::int64_t index, std::int64_t size) {
  const std::int64_t k = index < 0 ? index + size : index;
  if (k < 0 || k >= size)
    return Value::undefined(describe_object(obj) + " has no element " + std::to_string(index));
  if (obj.kind == Kind::List) return (*obj.list)[static_cast<std::size_t>(k)];
  return Value::string(utf8_chars(obj.s)[static_cast<std::size_t>(k)]);
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  require_defined(obj);
  Value bound;
  if (obj.kind == Kind::Dict && obj.dict->is_namespace) {
    if (const Value* v = obj.dict->find(name)) return *v;
  } else if (find_method(obj, name, bound)) {
    return bound;
  }
  if (obj.kind == Kind::Dict)
    if (const Value* v = obj.dict->find(name)) return *v;
  return Value::undefined(describe_object(obj) + " has no attribute '" + name + "'");
}

Value get_item(const Value& obj, const Value& key) {
  require_defined(obj);
  require_defined(key);
  if (obj.kind == Kind::Dict && key.is_string()) {
    if (const Value* v = obj.dict->find(key.s)) return *v;
  } else if ((obj.kind == Kind::List || obj.kind == Kind::String) && is_int_like(key)) {
    return index_sequence(obj, int_of(key), py_len(obj));
  }
  if (key.is_string()) {
    Value bound;
    if (!(obj.kind == Kind::Dict && obj.dict->is_namespace) && find_method(obj, key.s, bound))
      return bound;
    return Value::undefined(describe_object(obj) + " has no attribute '" + key.s + "'");
  }
  return Value::undefined(describe_object(obj) + " has no element " + to_repr(key));
}

Value slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  require_defined(obj);
  if (obj.kind != Kind::List && obj.kind != Kind::String)  // Jinja2 slices with Python's []
    render_fail("'" + type_name(obj) + "' object is not subscriptable");
  auto bound = [](const Value& v, const char* what) -> const Value* {
    if (v.is_undefined() || v.is_none()) return nullptr;
    if (!is_int_like(v)) render_fail(std::string("slice ") + what + " must be an integer or none");
    return &v;
  };
  const Value* start = bound(start_v, "start");
  const Value* stop = bound(stop_v, "stop");
  const Value* step_p = bound(step_v, "step");
  std::int64_t step = step_p ? int_of(*step_p) : 1;
  if (step == 0) render_fail("slice step cannot be zero");
  const std::vector<std::string> chars =
      obj.kind == Kind::String ? utf8_chars(obj.s) : std::vector<std::string>{};
  const std::int64_t len = obj.kind == Kind::String ? static_cast<std::int64_t>(chars.size())
                                                    : static_cast<std::int64_t>(obj.list->size());
  step = std::clamp<std::int64_t>(step, -(len + 1), len + 1);  // same elements, no overflow
  const std::int64_t lower = step < 0 ? -1 : 0;
  const std::int64_t upper = step < 0 ? len - 1 : len;
  auto adjust = [&](const Value* v, std::int64_t dflt) {
    if (!v) return dflt;
    std::int64_t k = int_of(*v);
    if (k < 0) {
      k += len;
      if (k < lower) k = lower;
    } else if (k > upper) {
      k = upper;
    }
    return k;
  };
  const std::int64_t b = adjust(start, step < 0 ? upper : lower);
  const std::int64_t e = adjust(stop, step < 0 ? lower : upper);
  List items;
  std::string text;
  for (std::int64_t k = b; step > 0 ? k < e : k > e; k += step) {
    if (obj.kind == Kind::String)
      text += chars[static_cast<std::size_t>(k)];
    else
      items.push_back((*obj.list)[static_cast<std::size_t>(k)]);
  }
  return obj.kind == Kind::String ? Value::string(text) : Value::make_list(items, obj.is_tuple);
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
      return {};
    case Kind::List:
      return *v.list;
    case Kind::String: {
      List out;
      for (auto& c : utf8_chars(v.s)) out.push_back(Value::string(c));
      return out;
    }
    case Kind::Dict: {
      List out;
      for (const auto& [k, item] : v.dict->entries) out.push_back(Value::string(k));
      return out;
    }
    default:
      render_fail("'" + type_name(v) + "' object is not iterable");
  }
}

namespace {

[[noreturn]] void bad_operands(const std::string& op, const Value& a, const Value& b) {
  render_fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" +
              type_name(b) + "'");
}

constexpr std::size_t kMaxValueBytes = 256u << 20;  // strings/lists built by operators

void check_size(std::size_t items, std::size_t item_bytes) {
  if (item_bytes != 0 && items > kMaxValueBytes / item_bytes)
    render_fail("a value built by the template would exceed 256 MiB");
}

Value repeat(const Value& seq, std::int64_t n) {
  const auto times = static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
  if (seq.kind == Kind::String) {
    check_size(times, seq.s.size());
    std::string out;
    for (std::size_t k = 0; k < times; ++k) out += seq.s;
    return Value::string(out);
  }
  check_size(times, seq.list->size() * sizeof(Value));
  List out;
  for (std::size_t k = 0; k < times; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return Value::make_list(out);
}

[[noreturn]] void overflow() {
  render_fail("integer overflow (T2 Workbench's templates use 64-bit integers)");
}

std::int64_t mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}

std::int64_t int_power(std::int64_t base, std::int64_t exponent) {
  std::int64_t result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = mul(result, base);
    exponent >>= 1;
    if (exponent > 0) base = mul(base, base);
  }
  return result;
}

Value int_arithmetic(const std::string& op, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (op == "+" && __builtin_add_overflow(a, b, &r)) overflow();
  if (op == "-" && __builtin_sub_overflow(a, b, &r)) overflow();
  if (op == "+" || op == "-") return Value::integer(r);
  if (op == "*") return Value::integer(mul(a, b));
  if (op == "**") {
    if (b >= 0) return Value::integer(int_power(a, b));
    return Value::number(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
  if (b == 0) render_fail(op == "/" ? "division by zero" : "integer division or modulo by zero");
  if (op == "/") return Value::number(static_cast<double>(a) / static_cast<double>(b));
  if (a == std::numeric_limits<std::int64_t>::min() && b == -1) {
    if (op == "//") overflow();
    return Value::integer(0);  // "%"
  }
  if (op == "//") {  // Python floors
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return Value::integer(q);
  }
  std::int64_t m = a % b;  // "%": Python's modulo takes the sign of the divisor
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return Value::integer(m);
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (is_int_like(a) && is_int_like(b)) return int_arithmetic(op, int_of(a), int_of(b));
  const double x = is_int_like(a) ? static_cast<double>(int_of(a)) : a.f;
  const double y = is_int_like(b) ? static_cast<double>(int_of(b)) : b.f;
  if (op == "+") return Value::number(x + y);
  if (op == "-") return Value::number(x - y);
  if (op == "*") return Value::number(x * y);
  if (op == "**") return Value::number(std::pow(x, y));
  if (y == 0) render_fail(op == "/" ? "float division by zero" : "float modulo");
  if (op == "/") return Value::number(x / y);
  if (op == "//") return Value::number(std::floor(x / y));
  double r = std::fmod(x, y);
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return Value::number(r);
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {  // str(Undefined) is ""
    std::string left = to_str(a), right = to_str(b);
    check_size(1, left.size() + right.size());
    return Value::string(left + right);
  }

  require_defined(a);
  require_defined(b);
  const bool a_num = a.is_number() || a.kind == Kind::Bool;
  const bool b_num = b.is_number() || b.kind == Kind::Bool;
  if (a_num && b_num) return arithmetic(op, a, b);
  if (op == "+" && a.kind == Kind::String && b.kind == Kind::String)
    return Value::string(a.s + b.s);
  if (op == "+" && a.kind == Kind::List && b.kind == Kind::List) {
    check_size(a.list->size() + b.list->size(), sizeof(Value));
    List out = *a.list;
    out.insert(out.end(), b.list->begin(), b.list->end());
    return Value::make_list(out, a.is_tuple && b.is_tuple);
  }
  if (op == "*" && (a.kind == Kind::String || a.kind == Kind::List) && is_int_like(b))
    return repeat(a, int_of(b));
  if (op == "*" && (b.kind == Kind::String || b.kind == Kind::List) && is_int_like(a))
    return repeat(b, int_of(a));
  if (op == "%" && a.kind == Kind::String)
    render_fail(
        "printf-style string formatting ('...' % value) is not supported; use ~ or "
        "the format filter",
        ErrorKind::Unsupported);
  bad_operands(op, a, b);
}

namespace {

int order(const Value& a, const Value& b, const std::string& op) {
  const bool a_num = a.is_number() || a.kind == Kind::Bool;
  const bool b_num = b.is_number() || b.kind == Kind::Bool;
  if (a_num && b_num) {
    const double x = is_int_like(a) ? static_cast<double>(int_of(a)) : a.f;
    const double y = is_int_like(b) ? static_cast<double>(int_of(b)) : b.f;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.kind == Kind::String && b.kind == Kind::String)
    return a.s.compare(b.s) < 0 ? -1 : (a.s == b.s ? 0 : 1);
  if (a.kind == Kind::List && b.kind == Kind::List) {
    for (std::size_t k = 0; k < a.list->size() && k < b.list->size(); ++k) {
      if (equals((*a.list)[k], (*b.list)[k])) continue;
      return order((*a.list)[k], (*b.list)[k], op);
    }
    return a.list->size() < b.list->size() ? -1 : (a.list->size() > b.list->size() ? 1 : 0);
  }
  require_defined(a);
  require_defined(b);
  render_fail("'" + op + "' not supported between instances of '" + type_name(a) + "' and '" +
              type_name(b) + "'");
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::Undefined:
      return false;
    case Kind::String:
      if (!item.is_string())
        render_fail("'in <string>' requires string as left operand, not " + type_name(item));
      return container.s.find(item.s) != std::string::npos;
    case Kind::List:
      for (const auto& v : *container.list)
        if (equals(v, item)) return true;
      return false;
    case Kind::Dict:
      if (item.kind == Kind::List && !item.is_tuple) render_fail("unhashable type: 'list'");
      if (item.kind == Kind::Dict) render_fail("unhashable type: 'dict'");
      return item.is_string() && container.dict->find(item.s) != nullptr;
    default:
      render_fail("argument of type '" + type_name(container) + "' is not iterable");
  }
}

}  // namespace

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  const int c = order(a, b, op);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;  // ">="
}

}  // namespace t2::detail::jinja
