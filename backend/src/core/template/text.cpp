// Python string semantics on UTF-8: strip (str.isspace whitespace), upper/lower (Unicode simple
// case mapping through utf8proc), Jinja's title, capitalize, len in code points.
#include "core/template/builtins.h"

#include <utf8proc.h>

#include <algorithm>

namespace t2::detail::jinja {
namespace {

std::vector<std::int32_t> decode(const std::string& s) {
  std::vector<std::int32_t> out;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid byte: keep it as a raw value so nothing is lost
      cp = 0x110000 + *p;
      n = 1;
    }
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

std::string encode(const std::vector<std::int32_t>& cps) {
  std::string out;
  for (std::int32_t cp : cps) {
    if (cp >= 0x110000) {
      out += static_cast<char>(cp - 0x110000);
      continue;
    }
    utf8proc_uint8_t buf[4];
    const auto n = utf8proc_encode_char(cp, buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
  }
  return out;
}

// Python's str.isspace().
bool py_space(std::int32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

std::int32_t upper_cp(std::int32_t c) { return c < 0x110000 ? utf8proc_toupper(c) : c; }
std::int32_t lower_cp(std::int32_t c) { return c < 0x110000 ? utf8proc_tolower(c) : c; }

}  // namespace

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  const auto cps = decode(s);
  std::vector<std::int32_t> set;
  const bool custom = chars != nullptr && !chars->is_none() && !chars->is_undefined();
  if (custom) {
    if (!chars->is_string()) render_fail("strip() argument must be a string or None");
    set = decode(chars->s);
  }
  auto strip_it = [&](std::int32_t c) {
    return custom ? std::find(set.begin(), set.end(), c) != set.end() : py_space(c);
  };
  std::size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return encode(std::vector<std::int32_t>(cps.begin() + static_cast<long>(b),
                                          cps.begin() + static_cast<long>(e)));
}

std::string py_upper(const std::string& s) {
  auto cps = decode(s);
  std::transform(cps.begin(), cps.end(), cps.begin(), upper_cp);
  return encode(cps);
}

std::string py_lower(const std::string& s) {
  auto cps = decode(s);
  std::transform(cps.begin(), cps.end(), cps.begin(), lower_cp);
  return encode(cps);
}

std::string py_capitalize(const std::string& s) {
  auto cps = decode(s);
  for (std::size_t k = 0; k < cps.size(); ++k)
    cps[k] = k == 0 ? upper_cp(cps[k]) : lower_cp(cps[k]);
  return encode(cps);
}

// Jinja's title filter: words start after runs of whitespace, '-', '(', '{', '[' or '<'.
std::string jinja_title(const std::string& s) {
  auto cps = decode(s);
  bool start = true;
  for (auto& c : cps) {
    const bool sep = py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      start = true;
      continue;
    }
    c = start ? upper_cp(c) : lower_cp(c);
    start = false;
  }
  return encode(cps);
}

std::int64_t py_len(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
      return 0;
    case Kind::String:
      return static_cast<std::int64_t>(utf8_chars(v.s).size());
    case Kind::List:
      return static_cast<std::int64_t>(v.list->size());
    case Kind::Dict:
      return static_cast<std::int64_t>(v.dict->entries.size());
    default:
      render_fail("object of type '" + type_name(v) + "' has no len()");
  }
}

}  // namespace t2::detail::jinja
