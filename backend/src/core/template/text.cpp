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
std::int32_t title_cp(std::int32_t c) { return c < 0x110000 ? utf8proc_totitle(c) : c; }

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

// Python's upper() uses full case mappings where Unicode's SpecialCasing has unconditional ones
// (ß -> SS, the Latin ligatures); the rest is the simple mapping.
std::string py_upper(const std::string& s) {
  static const std::pair<std::int32_t, const char*> kSpecial[] = {
      {0xDF, "SS"},    {0xFB00, "FF"},  {0xFB01, "FI"}, {0xFB02, "FL"},
      {0xFB03, "FFI"}, {0xFB04, "FFL"}, {0xFB05, "ST"}, {0xFB06, "ST"}};
  std::vector<std::int32_t> out;
  for (std::int32_t c : decode(s)) {
    const auto* hit = std::find_if(std::begin(kSpecial), std::end(kSpecial),
                                   [c](const auto& e) { return e.first == c; });
    if (hit == std::end(kSpecial)) {
      out.push_back(upper_cp(c));
    } else {
      for (const char* p = hit->second; *p; ++p) out.push_back(*p);
    }
  }
  return encode(out);
}

// Python's lower(): simple mappings plus İ -> i̇ and the final-sigma rule (Σ at the end of a
// word becomes ς).
std::string py_lower(const std::string& s) {
  const auto cps = decode(s);
  auto cased = [](std::int32_t c) {
    return c < 0x110000 && (upper_cp(c) != c || lower_cp(c) != c);
  };
  std::vector<std::int32_t> out;
  for (std::size_t k = 0; k < cps.size(); ++k) {
    const std::int32_t c = cps[k];
    if (c == 0x130) {
      out.insert(out.end(), {0x69, 0x307});
    } else if (c == 0x3A3) {
      const bool after_cased = k > 0 && cased(cps[k - 1]);
      const bool before_cased = k + 1 < cps.size() && cased(cps[k + 1]);
      out.push_back(after_cased && !before_cased ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(lower_cp(c));
    }
  }
  return encode(out);
}

std::string py_capitalize(const std::string& s) {
  auto cps = decode(s);
  for (std::size_t k = 0; k < cps.size(); ++k)
    cps[k] = k == 0 ? title_cp(cps[k]) : lower_cp(cps[k]);
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

std::string py_title(const std::string& s) {
  auto cps = decode(s);
  bool previous_cased = false;
  for (auto& c : cps) {
    const bool cased = c < 0x110000 && (upper_cp(c) != c || lower_cp(c) != c);
    if (cased) c = previous_cased ? lower_cp(c) : title_cp(c);
    previous_cased = cased;
  }
  return encode(cps);
}

std::vector<std::string> py_split_whitespace(const std::string& s, std::int64_t maxsplit,
                                             bool from_right) {
  auto cps = decode(s);
  if (from_right) std::reverse(cps.begin(), cps.end());
  std::vector<std::string> parts;
  std::size_t k = 0;
  while (k < cps.size()) {
    while (k < cps.size() && py_space(cps[k])) ++k;
    if (k >= cps.size()) break;
    std::size_t e = k;
    if (maxsplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxsplit) {
      e = cps.size();  // the rest, whitespace at its far end included (as CPython does)
    } else {
      while (e < cps.size() && !py_space(cps[e])) ++e;
    }
    std::vector<std::int32_t> part(cps.begin() + static_cast<long>(k),
                                   cps.begin() + static_cast<long>(e));
    if (from_right) std::reverse(part.begin(), part.end());
    parts.push_back(encode(part));
    k = e;
  }
  if (from_right) std::reverse(parts.begin(), parts.end());
  return parts;
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
