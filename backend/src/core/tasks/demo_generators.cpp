// Item generators of the demo suite: integer word problems (math), output prediction for short
// Python string/list expressions (code), and ordering questions with lettered options (reasoning).
#include <t2/demo_suite.h>
#include <t2/error.h>

#include "core/tasks/demo_rng.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <set>

namespace t2 {
namespace detail::demo {

using Json = nlohmann::ordered_json;

const std::vector<std::string> kNames = {"Ann", "Ben", "Cal", "Dan", "Eve", "Fay", "Gus",
                                         "Ivy", "Jon", "Kim", "Lou", "Max", "Nia", "Ray"};
const std::vector<std::string> kThings = {"apples", "pens", "coins",   "books",  "cards",
                                          "shells", "eggs", "marbles", "stamps", "stickers"};

// Calls make() until `count` items with distinct keys exist; gives up (InvalidArgument) after
// 10,000 draws in a row without a new item (the difficulty admits too few distinct items).
std::vector<std::string> unique_items(int count, const char* what,
                                      const std::function<std::pair<std::string, Json>()>& make) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  int misses = 0;
  while (static_cast<int>(out.size()) < count) {
    auto [key, item] = make();
    if (seen.insert(key).second) {
      out.push_back(item.dump());
      misses = 0;
    } else if (++misses > 10000) {
      throw Error(ErrorKind::InvalidArgument,
                  std::string("the ") + what + " difficulty admits only about " +
                      std::to_string(out.size()) + " distinct items, " + std::to_string(count) +
                      " were asked for; widen it or ask for fewer");
    }
  }
  return out;
}

// ---- math -----------------------------------------------------------------------------------

Json math_item(Rng& rng, const MathDifficulty& d) {
  const std::string name = rng.pick(kNames);
  std::string friend_name = rng.pick(kNames);
  while (friend_name == name) friend_name = rng.pick(kNames);
  const std::string things = rng.pick(kThings);
  int value = rng.range(1, std::min(d.max_operand, d.max_value));
  std::string story = name + " has " + std::to_string(value) + " " + things + ".";
  std::string work;
  const int steps = rng.range(d.min_steps, d.max_steps);
  for (int s = 0; s < steps; ++s) {
    std::vector<char> ops;
    if (value < d.max_value) ops.push_back('+');
    if (value > 0) ops.push_back('-');
    if (d.multiply && value > 0 && value * 2 <= d.max_value) ops.push_back('*');
    const char op = rng.pick(ops);
    const std::string then = s == 0 ? "" : "Then ";
    int n = 0, next = value;
    if (op == '+') {
      n = rng.range(1, std::min(d.max_operand, d.max_value - value));
      next = value + n;
      const std::vector<std::string> phrases = {
          then + name + " buys " + std::to_string(n) + " more.",
          then + name + " finds " + std::to_string(n) + " more.",
          then + friend_name + " gives " + name + " " + std::to_string(n) + " more."};
      story += " " + rng.pick(phrases);
    } else if (op == '-') {
      n = rng.range(1, std::min(d.max_operand, value));
      next = value - n;
      const std::vector<std::string> phrases = {
          then + name + " gives " + std::to_string(n) + " to " + friend_name + ".",
          then + name + " loses " + std::to_string(n) + ".",
          then + name + " sells " + std::to_string(n) + "."};
      story += " " + rng.pick(phrases);
    } else {
      n = value * 3 <= d.max_value && rng.coin() ? 3 : 2;
      next = value * n;
      story += " " + (s == 0 ? std::string("The") : "Then the") + " number of " + things + " " +
               (n == 2 ? "doubles." : "triples.");
    }
    work += std::to_string(value) + " " + op + " " + std::to_string(n) + " = " +
            std::to_string(next) + "\n";
    value = next;
  }
  Json item;
  item["question"] = story + " How many " + things + " does " + name + " have now?";
  item["answer"] = work + "#### " + std::to_string(value);
  return item;
}

// ---- code -----------------------------------------------------------------------------------

struct Value {
  enum Type { Str, List, Int } type = Str;
  std::string s;
  std::vector<int> list;
  long long i = 0;
};

struct Expr {
  std::string text;
  bool binary = false;  // needs parentheses before a postfix operation
  Value value;
};

std::string postfix_base(const Expr& e) { return e.binary ? "(" + e.text + ")" : e.text; }

std::string show(const Value& v) {  // what Python's print() writes
  if (v.type == Value::Str) return v.s;
  if (v.type == Value::Int) return std::to_string(v.i);
  std::string out = "[";
  for (std::size_t k = 0; k < v.list.size(); ++k)
    out += (k ? ", " : "") + std::to_string(v.list[k]);
  return out + "]";
}

Expr literal(Rng& rng, const CodeDifficulty& d, bool string) {
  Expr e;
  const int len = rng.range(d.min_length, d.max_length);
  if (string) {
    for (int k = 0; k < len; ++k) e.value.s.push_back(static_cast<char>('a' + rng.range(0, 25)));
    e.text = "\"" + e.value.s + "\"";
  } else {
    e.value.type = Value::List;
    for (int k = 0; k < len; ++k) e.value.list.push_back(rng.range(1, 9));
    e.text = show(e.value);
  }
  return e;
}

// Applies one random operation valid for e's type, never `previous` again (no "x.upper().upper()");
// `terminal` allows the str/list -> int ones (len, count, sum, max/min).
Expr apply_op(Rng& rng, const Expr& e, bool terminal, int previous, int& op) {
  Expr r;
  const std::string b = postfix_base(e);
  const Value& v = e.value;
  std::vector<int> ops;
  for (int k = 0; k < (terminal ? 6 : 4); ++k)  // 0-3 keep the type, 4-5 give an int
    if (k != previous) ops.push_back(k);
  op = rng.pick(ops);
  r.value = v;
  if (v.type == Value::Str) {
    switch (op) {
      case 0:
        r.text = b + "[::-1]";
        std::reverse(r.value.s.begin(), r.value.s.end());
        break;
      case 1:
        r.text = b + ".upper()";
        for (char& c : r.value.s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        break;
      case 2:
        r.text = "\"\".join(sorted(" + e.text + "))";
        std::sort(r.value.s.begin(), r.value.s.end());
        break;
      case 3:
        r.text = e.text + " * 2";
        r.binary = true;
        r.value.s = v.s + v.s;
        break;
      case 4:
        r.text = "len(" + e.text + ")";
        r.value = {Value::Int, "", {}, (long long)v.s.size()};
        break;
      default: {
        const char c = v.s[static_cast<std::size_t>(rng.range(0, (int)v.s.size() - 1))];
        r.text = b + ".count(\"" + std::string(1, c) + "\")";
        r.value = {Value::Int, "", {}, (long long)std::count(v.s.begin(), v.s.end(), c)};
      }
    }
    return r;
  }
  switch (op) {
    case 0:
      r.text = b + "[::-1]";
      std::reverse(r.value.list.begin(), r.value.list.end());
      break;
    case 1:
      r.text = "sorted(" + e.text + ")";
      std::sort(r.value.list.begin(), r.value.list.end());
      break;
    case 2:
      r.text = b + "[1:]";
      r.value.list.erase(r.value.list.begin());
      break;
    case 3:
      r.text = b + "[:2]";
      r.value.list.resize(std::min<std::size_t>(2, v.list.size()));
      break;
    case 4: {
      long long total = 0;
      for (int x : v.list) total += x;
      r.text = "sum(" + e.text + ")";
      r.value = {Value::Int, "", {}, total};
      break;
    }
    default: {
      const bool use_max = rng.coin();
      r.text = std::string(use_max ? "max(" : "min(") + e.text + ")";
      r.value = {Value::Int,
                 "",
                 {},
                 use_max ? *std::max_element(v.list.begin(), v.list.end())
                         : *std::min_element(v.list.begin(), v.list.end())};
    }
  }
  return r;
}

Json code_item(Rng& rng, const CodeDifficulty& d) {
  Expr e = literal(rng, d, rng.coin());
  const int ops = rng.range(d.min_ops, d.max_ops);
  int previous = -1;
  for (int k = 0; k < ops; ++k) {
    const bool terminal = d.terminal_ops && k == ops - 1;
    int op = -1;
    Expr next = apply_op(rng, e, terminal, previous, op);
    // A list slice may leave nothing; keep lists non-empty (max/min/[1:] follow).
    while (next.value.type == Value::List && next.value.list.empty())
      next = apply_op(rng, e, terminal, previous, op);
    e = next;
    previous = op;
  }
  const std::string program = "print(" + e.text + ")";
  Json item;
  item["question"] = "What does this Python code print?\n" + program;
  item["program"] = program;
  item["answer"] = show(e.value);
  return item;
}

// ---- reasoning ------------------------------------------------------------------------------

struct Relation {
  const char* more;   // "taller"
  const char* less;   // "shorter"
  const char* most;   // "tallest"
  const char* least;  // "shortest"
};
const std::vector<Relation> kRelations = {{"taller", "shorter", "tallest", "shortest"},
                                          {"older", "younger", "oldest", "youngest"},
                                          {"faster", "slower", "fastest", "slowest"},
                                          {"heavier", "lighter", "heaviest", "lightest"}};

std::string letter(std::size_t i) { return std::string(1, static_cast<char>('A' + i)); }

Json reasoning_item(Rng& rng, const ReasoningDifficulty& d) {
  std::vector<std::string> names = kNames;
  rng.shuffle(names);
  const int n = rng.range(d.min_entities, d.max_entities);
  const std::vector<std::string> order(names.begin(), names.begin() + n);  // order[0] = most
  const Relation& rel = rng.pick(kRelations);
  std::vector<std::string> statements;
  for (int k = 0; k + 1 < n; ++k)
    statements.push_back(rng.coin() ? order[k] + " is " + rel.more + " than " + order[k + 1] + "."
                                    : order[k + 1] + " is " + rel.less + " than " + order[k] + ".");
  rng.shuffle(statements);
  const int kind = rng.range(0, d.ordinal_questions && n >= 3 ? 3 : 1);
  const std::vector<std::string> questions = {std::string("Who is the ") + rel.most + "?",
                                              std::string("Who is the ") + rel.least + "?",
                                              std::string("Who is the second ") + rel.most + "?",
                                              std::string("Who is the second ") + rel.least + "?"};
  const std::string answer = kind == 0   ? order[0]
                             : kind == 1 ? order[n - 1]
                             : kind == 2 ? order[1]
                                         : order[n - 2];
  std::vector<std::string> others;
  for (const auto& name : order)
    if (name != answer) others.push_back(name);
  rng.shuffle(others);
  for (std::size_t k = n; others.size() + 1 < static_cast<std::size_t>(d.options); ++k)
    others.push_back(names[k]);  // names not in the story
  others.resize(static_cast<std::size_t>(d.options - 1));
  std::vector<std::string> choices = others;
  choices.push_back(answer);
  rng.shuffle(choices);
  const auto at = std::find(choices.begin(), choices.end(), answer) - choices.begin();
  std::string story;
  for (const auto& s : statements) story += s + " ";
  Json item;
  item["question"] = story + questions[static_cast<std::size_t>(kind)];
  item["choices"] = choices;
  item["answerKey"] = letter(static_cast<std::size_t>(at));
  item["answer_text"] = answer;
  return item;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw Error(ErrorKind::InvalidArgument, "demo generator: " + what);
}

}  // namespace detail::demo

std::vector<std::string> generate_math_items(const MathDifficulty& d, int count,
                                             std::uint64_t seed) {
  using namespace detail::demo;
  check(d.min_steps >= 1 && d.max_steps >= d.min_steps && d.max_operand >= 1 && d.max_value >= 2,
        "math difficulty needs 1 <= min_steps <= max_steps, max_operand >= 1, max_value >= 2");
  Rng rng(seed);
  return unique_items(count, "math", [&] {
    Json item = math_item(rng, d);
    return std::make_pair(item["question"].get<std::string>(), item);
  });
}

std::vector<std::string> generate_code_items(const CodeDifficulty& d, int count,
                                             std::uint64_t seed) {
  using namespace detail::demo;
  check(d.min_ops >= 1 && d.max_ops >= d.min_ops && d.min_length >= 2 &&
            d.max_length >= d.min_length && d.max_length <= 12,
        "code difficulty needs 1 <= min_ops <= max_ops and 2 <= min_length <= max_length <= 12");
  Rng rng(seed);
  return unique_items(count, "code", [&] {
    Json item = code_item(rng, d);
    return std::make_pair(item["program"].get<std::string>(), item);
  });
}

std::vector<std::string> generate_reasoning_items(const ReasoningDifficulty& d, int count,
                                                  std::uint64_t seed) {
  using namespace detail::demo;
  check(d.min_entities >= 2 && d.max_entities >= d.min_entities && d.max_entities <= 6 &&
            d.options >= 2 && d.options <= 4,
        "reasoning difficulty needs 2 <= min_entities <= max_entities <= 6, 2 <= options <= 4");
  Rng rng(seed);
  return unique_items(count, "reasoning", [&] {
    Json item = reasoning_item(rng, d);
    return std::make_pair(item["question"].get<std::string>(), item);
  });
}

}  // namespace t2
