// The Jinja subset itself: whitespace control, statements, expressions, filters, tests, methods,
// errors. Expected texts were written for Python Jinja2 semantics with transformers' settings
// (trim_blocks, lstrip_blocks) and checked against Jinja2 3.1 while writing them.
#include <t2/chat_template.h>
#include <t2/error.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct LanguageCase {
  const char* name;
  const char* source;
  const char* expected;
};

const LanguageCase kCases[] = {
    {"trim_blocks_lstrip_blocks", "a\n{% if true %}\nb\n    {% endif %}\nc", "a\nb\nc"},
    {"lstrip_only_at_line_start", "  {% if true %}x{% endif %}  \ny", "x  \ny"},
    {"lstrip_not_after_text", "a  {% if true %}x{% endif %}", "a  x"},
    {"minus_strips_all_whitespace", "a \n {%- if true -%} \n b \n {%- endif -%} \n c", "abc"},
    {"minus_on_variables", "a {{- 'x' -}} \n b", "axb"},
    {"comment_removed_and_trimmed", "{# comment #}\nz\n  {# indented #}\nw", "z\nw"},
    {"variable_tag_keeps_newline", "{{ 'a' }}\nb", "a\nb"},
    {"one_trailing_newline_dropped", "x\n\n", "x\n"},
    {"plus_disables_lstrip", "  {%+ if true %}x{% endif %}", "  x"},
    {"crlf_normalised", "a\r\nb\rc", "a\nb\nc"},
    {"loop_variables",
     "{% for x in ['a','b','c'] %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ "
     "loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}",
     "1/0/3/2/True/False/3;2/1/2/1/False/False/3;3/2/1/0/False/True/3;"},
    {"for_else",
     "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in [1] if x > 5 %}x{% else "
     "%}filtered{% endfor %}",
     "empty|filtered"},
    {"loop_filter_counts_filtered",
     "{% for x in range(10) if x % 3 == 0 %}{{ x }}:{{ loop.length }}{{ ',' if not loop.last }}{% "
     "endfor %}",
     "0:4,3:4,6:4,9:4"},
    {"tuple_unpacking_items",
     "{% for k, v in d.items() %}{{ k }}={{ v }} {% endfor %}{% for a, b in [(1, 2), [3, 4]] %}{{ "
     "a + b }}{% endfor %}",
     "b=2 a=1 37"},
    {"break_continue",
     "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% "
     "endif %}{{ x }}{% endfor %}",
     "0134"},
    {"loop_scope_does_not_leak",
     "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", "21"},
    {"namespace_assignment",
     "{% set ns = namespace(c=0, s='') %}{% for i in range(4) %}{% set ns.c = ns.c + i %}{% set "
     "ns.s = ns.s ~ i %}{% endfor %}{{ ns.c }} {{ ns.s }}",
     "6 0123"},
    {"iterate_string_and_dict",
     "{% for c in 'añ😀' %}[{{ c }}]{% endfor %}{% for k in d %}{{ k }}{% endfor %}", "[a][ñ][😀]ba"},
    {"nested_loops_and_cycle",
     "{% for i in range(2) %}{% for j in range(3) %}{{ loop.cycle('a', 'b') }}{{ i }}{% endfor "
     "%};{% endfor %}",
     "a0b0a0;a1b1a1;"},
    {"previtem_nextitem",
     "{% for x in [1, 2, 3] %}{{ loop.previtem is defined }}{{ loop.nextitem | default('-') }} {% "
     "endfor %}",
     "False2 True3 True- "},
    {"slices",
     "{{ [1,2,3,4,5][::-1] }}|{{ 'hello'[1:3] }}|{{ [1,2,3,4,5][-2:] }}|{{ 'abcdef'[::2] }}|{{ "
     "[1,2,3][5:] }}|{{ 'añb'[::-1] }}|{{ [1,2,3,4,5][4:1:-2] }}|{{ messages[-1].content }}",
     "[5, 4, 3, 2, 1]|el|[4, 5]|ace|[]|bña|[5, 3]|Yo"},
    {"arithmetic",
     "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 "
     "}} {{ (1 + 2) * 3 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 2.0 * 3 }} {{ -x }} {{ 'ab' * 3 }} {{ [1] "
     "+ [2] }}",
     "3 -4 1 2 3.5 1024 7 9 0.30000000000000004 1e-05 6.0 -1 ababab [1, 2]"},
    {"filters_bind_tighter_than_arithmetic",
     "{{ messages|length - 1 }} {{ 'a' + 'B'|lower }} {{ -3|abs }}", "1 ab 3"},
    {"concat_tilde", "{{ 1 ~ 'a' ~ none ~ true ~ 1.5 }}", "1aNoneTrue1.5"},
    {"comparisons_and_in",
     "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' in 'abc' }} {{ 'x' not in ['x'] }} {{ 'k' in {'k': 1} "
     "}} {{ 1 == 1.0 }} {{ 'b' >= 'a' }} {{ not 1 == 2 }}",
     "True False True False True True True True"},
    {"ternary",
     "{{ 'y' if 1 > 2 else 'n' }}[{{ 'only' if false }}]{{ 'a' if x else 'b' if y else 'c' }}",
     "n[]a"},
    {"and_or_values", "{{ 0 or 'b' }} {{ 'a' and 'b' }} {{ none or [] }} {{ x and not y }}",
     "b b [] True"},
    {"string_literals", "{{ 'a\\nb\\t|' }}{{ \"it's\" }}{{ 'caf\\u00e9' }}{{ 'x' 'y' }}",
     "a\nb\t|it'scaféxy"},
    {"print_python_values",
     "{{ {'a': [1, 'x', none, true, 1.5, \"it's\"]} }} {{ (1, 2) }} {{ (1,) }} {{ none }} {{ false "
     "}} {{ 10.0 }} {{ undefined_name }}|",
     "{'a': [1, 'x', None, True, 1.5, \"it's\"]} (1, 2) (1,) None False 10.0 |"},
    {"attribute_and_item_access",
     "{{ messages[0].role }} {{ messages[0]['content'] }} [{{ messages[0].missing }}] {{ d['a'] }} "
     "{{ d.b }} {{ messages.0.role }}",
     "user  Hi  [] 1 2 user"},
    {"tests",
     "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is "
     "string }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is sequence }} {{ 1 is number }} "
     "{{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} {{ true is true }} {{ 0 is false "
     "}} {{ false is false }} {{ 3 is odd }} {{ 4 is even }} {{ 4 is divisibleby(2) }} {{ 1 is not "
     "none }} {{ 2 is eq 2 }} {{ range is callable }}",
     "True False True True True True True True True True True True True False True True True True "
     "True True True"},
    {"filters_text",
     "[{{ ' a b '|trim }}] {{ 'xxhixx'|trim('x') }} {{ '日本'|length }} {{ 'hello "
     "world-wide'|title }} {{ 'hELLO'|capitalize }} {{ 'Ab'|upper }}{{ 'Ab'|lower }} {{ "
     "'aXa'|replace('a', 'b') }} {{ 42|string ~ 1 }} {{ 'abc'|first }}{{ 'abc'|last }} {{ "
     "'abc'|list }} {{ 'abc'|reverse }}",
     "[a b] hi 2 Hello World-Wide Hello ABab bXb 421 ac ['a', 'b', 'c'] cba"},
    {"filters_default",
     "{{ y|default('dflt') }} {{ none|default('n') }} {{ ''|default('e', true) }} {{ x|d(5) }} {{ "
     "y|default }}|",
     "dflt None e 1 |"},
    {"filters_numbers",
     "{{ '42'|int + 1 }} {{ '3.5'|float }} {{ 'x'|int }} {{ 2.5|round }} {{ 3.14159|round(2) }} {{ "
     "2.7|int }} {{ [3, 1, 2]|sum }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ [3, 1, 2]|sort }} "
     "{{ ['b', 'A', 'c']|sort(reverse=true) }}",
     "43 3.5 0 2.0 3.14 2 6 1 3 [1, 2, 3] ['c', 'b', 'A']"},
    {"filters_sequences",
     "{{ [1, 2, 3]|join(', ') }} {{ people|map(attribute='name')|join('/') }} {{ "
     "people|selectattr('admin')|map(attribute='name')|list }} {{ people|rejectattr('age', "
     "'equalto', 31)|map(attribute='name')|first }} {{ people|selectattr('age', '==', "
     "31)|list|length }} {{ [1, 2, 1, 'a', 'A']|unique|list }} {{ d|items|list }} {{ ['a', "
     "'b']|map('upper')|join }} {{ people|map(attribute='admin', default='?')|list }}",
     "1, 2, 3 Ann/bob/Cy ['Ann'] bob 2 [1, 2, 'a'] [('b', 2), ('a', 1)] AB [True, False, '?']"},
    {"tojson",
     "{{ d|tojson }} {{ {'s': 'é\"\\\\\\n', 'n': none, 'l': [1, 2.5, true]}|tojson }} {{ "
     "d|tojson(indent=2) }} {{ [[], {}]|tojson(indent=1) }} {{ d|tojson(sort_keys=true) }} {{ "
     "'x'|tojson }}",
     "{\"b\": 2, \"a\": 1} {\"s\": \"é\\\"\\\\\\n\", \"n\": null, \"l\": [1, 2.5, true]} {\n  "
     "\"b\": 2,\n  \"a\": 1\n} [\n [],\n {}\n] {\"a\": 1, \"b\": 2} \"x\""},
    {"string_methods",
     "[{{ '  a  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\\n\\na\\n'.lstrip('\\n') }}][{{ "
     "'a\\n\\n'.rstrip() }}] {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ "
     "'a-b-c'.split('-', 1) }} {{ 'hello'.startswith('he') }} {{ 'hello'.startswith(('x', 'h')) }} "
     "{{ 'hello'.endswith('lo') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'Ab'.upper() }}{{ "
     "'Ab'.lower() }} {{ 'hello world'.title() }} {{ 'abc'.find('c') }} {{ '-'.join(['a', 'b']) }}",
     "[a][a][a\n][a] ['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b-c'] True True True bba ABab Hello "
     "World 2 a-b"},
    {"str_format",
     "{{ '{} and {}, {name}! {{x}}'.format('a', 'b', name='N') }}|{{ '{1}{0}{1}'.format('a', 'b') "
     "}}",
     "a and b, N! {x}|bab"},
    {"dict_methods",
     "{{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} {{ d.get('z', 'none!') }} {{ "
     "d.get('z') }} {{ d.items()|list }}",
     "['b', 'a'] [2, 1] 1 none! None [('b', 2), ('a', 1)]"},
    {"macro_with_defaults",
     "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} "
     "{{ greet('Bob', punct='?') }} {{ greet(name='Cy') }}",
     "Hi Ann! Hi Bob? Hi Cy!"},
    {"call_block",
     "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') "
     "%}inner {{ x }}{% endcall %}",
     "<b>inner 1</b>"},
    {"filter_block",
     "{% filter upper %}abc {{ 'def' }}{% endfilter %}{% filter trim|upper %}  x  {% endfilter %}",
     "ABC DEFX"},
    {"block_set", "{% set v %}a{{ 1 }}b{% endset %}[{{ v }}]", "[a1b]"},
    {"set_tuple_and_list_literal",
     "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set l = [a, b, 'c'] %}{{ l|length }}{% set dd = {'k': "
     "a, 'j': [b]} %}{{ dd.j[0] }}",
     "1232"},
    {"elif_chain",
     "{% for i in range(4) %}{% if i == 0 %}zero{% elif i == 1 %}one{% elif i == 2 %}two{% else "
     "%}many{% endif %} {% endfor %}",
     "zero one two many "},
    {"whitespace_in_realistic_block",
     "{%- for m in messages %}\n    {{- m.role }}: {{ m.content | trim }}\n{% endfor %}",
     "user: Hi\nassistant: Yo\n"},
    {"for_else_after_break_or_continue_as_jinja2",
     "{% for x in [1, 2] %}{% continue %}{% else %}A{% endfor %}|{% for x in [1, 2] %}{% if x == 1 "
     "%}{% break %}{% endif %}{% else %}B{% endfor %}|{% for x in [1, 2] %}{% if x == 2 %}{% break "
     "%}{% endif %}{% else %}C{% endfor %}",
     "A|B|"},
    {"round_keeps_ints_and_rounds_half_even",
     "{{ 3|round }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.5|round(0, 'ceil') }} {{ 2.567|round(1, "
     "'floor') }}",
     "3 2.0 4.0 3.0 2.5"},
    {"undefined_inside_containers", "{{ [nothing, 1] }} {{ {'k': nothing} }}",
     "[Undefined, 1] {'k': Undefined}"},
    {"falsy_sequences_map_to_nothing",
     "{{ none|map('upper')|list }} {{ none|select|list }} {{ ''|selectattr('a')|list }}",
     "[] [] []"},
    {"parity_of_floats_and_bools", "{{ 2.0 is even }} {{ 3.0 is odd }} {{ true is odd }}",
     "True True True"},
    {"indent_filter",
     "{{ 'a\\nb\\n\\nc\\n'|indent(2) }}|{{ '\\nx'|indent(2, true) }}|{{ 'a\\n\\nb'|indent('> ', "
     "false, true) }}|{{ ''|indent(first=true) }}",
     "a\n  b\n\n  c\n|  \n  x|a\n> \n> b|    "},
    {"dictsort_and_attr",
     "{{ d|dictsort }}|{{ {'B': 1, 'a': 2, 'c': 0}|dictsort(by='value', reverse=true) }}|{{ {'B': "
     "1, 'a': 2}|dictsort(true) }}|{{ people|map('attr', 'name')|list }}",
     "[('a', 1), ('b', 2)]|[('a', 2), ('B', 1), ('c', 0)]|[('B', 1), ('a', 2)]|[Undefined, "
     "Undefined, Undefined]"},
    {"python_split_rsplit_title",
     "{{ \"they're 3rd-class ǆx\".title() }}|{{ ' a\u3000b\u00a0c  '.split() }}|{{ 'a b  c d "
     "'.rsplit(None, 1) }}|{{ '  a b  c '.split(None, 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ "
     "',a,'.rsplit(',', 5) }}",
     "They'Re 3Rd-Class ǅx|['a', 'b', 'c']|['a b  c', 'd']|['a', 'b  c ']|['a,b', 'c']|['', 'a', "
     "'']"},
    {"unicode_case_mappings",
     "{{ 'ǆx'|capitalize }}|{{ 'Straße ﬁx'.upper() }}|{{ 'İ'.lower() }}|{{ 'ΟΔΟΣ ΣΑ Σ'|lower }}|{{ "
     "'Ünïcödé'|upper }}",
     "ǅx|STRASSE FIX|i̇|οδος σα σ|ÜNÏCÖDÉ"},
};

const char* const kMessages =
    R"([{"role": "user", "content": " Hi "}, {"role": "assistant", "content": "Yo"}])";
const char* const kVariables =
    R"({"x": 1, "people": [{"name": "Ann", "age": 31, "admin": true},
                           {"name": "bob", "age": 25, "admin": false},
                           {"name": "Cy", "age": 31}],
        "d": {"b": 2, "a": 1}})";

std::string render(const std::string& source, const std::string& messages = kMessages,
                   const std::string& variables = kVariables) {
  t2::ChatTemplateOptions options;
  options.extra_variables_json = variables;
  return t2::ChatTemplate::from_string(source).render(messages, options);
}

// Runs `fn`, expecting a t2::Error of `kind` whose message contains every one of `needles`.
template <class Fn>
void expect_error(Fn fn, t2::ErrorKind kind, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "expected a t2::Error";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "'" << n << "' not in: " << e.what();
  }
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "chat_template" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST(ChatTemplateLanguage, RendersLikeJinja2) {
  for (const auto& c : kCases) {
    try {
      EXPECT_EQ(render(c.source), c.expected) << c.name << "\n" << c.source;
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.name << " threw: " << e.what() << "\n" << c.source;
    }
  }
}

TEST(ChatTemplateLanguage, StandardVariables) {
  const auto tmpl = t2::ChatTemplate::from_string(
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}|{{ flag }}", "<s>",
      "</s>");
  t2::ChatTemplateOptions options;
  options.add_generation_prompt = false;
  options.extra_variables_json = R"({"flag": "on"})";
  EXPECT_EQ(tmpl.render("[]", options), "<s>|</s>|False|None|on");
  // Without tokens the variables are undefined (print as nothing, `is defined` is false).
  EXPECT_EQ(render("[{{ bos_token }}]{{ bos_token is defined }}", "[]", "{}"), "[]False");
}

TEST(ChatTemplateLanguage, PlainMessagesOverload) {
  const auto tmpl = t2::ChatTemplate::from_string(
      "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}");
  const std::vector<t2::ChatMessage> messages = {{"system", "S \"q\"\n"}, {"user", "日本 😀"}};
  EXPECT_EQ(tmpl.render(messages), "<system>S \"q\"\n<user>日本 😀");
  EXPECT_EQ(t2::to_messages_json({{"user", "a\"b"}}), R"([{"role":"user","content":"a\"b"}])");
}

TEST(ChatTemplateLanguage, GenerationTagRendersItsBody) {
  // transformers' AssistantTracker tag: {% generation %} marks assistant text, renders as is.
  EXPECT_EQ(render("A{% generation %}B{{ x }}{% endgeneration %}C"), "AB1C");
}

TEST(ChatTemplateLanguage, StrftimeNowUsesTheInjectedClock) {
  // strftime_now formats local time, as Python's datetime.now() does; pin the zone to UTC.
  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  t2::ChatTemplateOptions options;
  options.now = [] { return std::chrono::system_clock::from_time_t(1721567109); };  // 13:05:09 UTC
  const auto tmpl = t2::ChatTemplate::from_string("{{ strftime_now('%d %b %Y %H:%M:%S') }}");
  const std::string rendered = tmpl.render("[]", options);
  if (old_tz)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  EXPECT_EQ(rendered, "21 Jul 2024 13:05:09");
}

TEST(ChatTemplateLanguage, RaiseExceptionCarriesTheTemplateMessage) {
  expect_error(
      [] { render("ok\n{% if true %}{{ raise_exception('Roles must alternate!') }}{% endif %}"); },
      t2::ErrorKind::InvalidArgument, {"Roles must alternate!", "line 2"});
}

TEST(ChatTemplateLanguage, UnsupportedConstructsAreNamedWithTheirPosition) {
  expect_error([] { render("line one\n  {% include 'other.jinja' %}"); },
               t2::ErrorKind::Unsupported, {"include", "line 2, column 3"});
  expect_error([] { render("{{ x | frobnicate }}"); }, t2::ErrorKind::Unsupported,
               {"filter 'frobnicate'", "line 1, column 8"});
  expect_error([] { render("{% if x is frobnicated %}{% endif %}"); }, t2::ErrorKind::Unsupported,
               {"test 'frobnicated'", "line 1"});
  expect_error([] { render("{% for x in y recursive %}{% endfor %}"); }, t2::ErrorKind::Unsupported,
               {"recursive", "line 1, column 15"});
  expect_error([] { render("{% extends 'base' %}"); }, t2::ErrorKind::Unsupported, {"extends"});
  // list.append is refused, as transformers' immutable sandbox refuses it.
  expect_error([] { render("{% set l = [] %}{{ l.append(1) }}"); }, t2::ErrorKind::Unsupported,
               {"list.append()", "line 1"});
}

TEST(ChatTemplateLanguage, SyntaxErrorsNameLineAndColumn) {
  expect_error([] { render("a\n{% if x %}never closed"); }, t2::ErrorKind::Corrupt,
               {"missing '{% endif %}'"});
  expect_error([] { render("a\nb {{ x "); }, t2::ErrorKind::Corrupt,
               {"unterminated", "line 2, column 3"});
  expect_error([] { render("{{ 'open }}"); }, t2::ErrorKind::Corrupt,
               {"unterminated string", "line 1, column 4"});
  expect_error([] { render("{# no end"); }, t2::ErrorKind::Corrupt, {"unterminated comment"});
  expect_error([] { render("{% endfor %}"); }, t2::ErrorKind::Corrupt, {"endfor", "without"});
  expect_error([] { render("{{ 1 + }}"); }, t2::ErrorKind::Corrupt, {"line 1, column 8"});
  expect_error([] { render("{{ x $ 1 }}"); }, t2::ErrorKind::Corrupt, {"'$'", "line 1, column 6"});
}

TEST(ChatTemplateLanguage, RuntimeErrorsNameLine) {
  expect_error([] { render("\n\n  {{ nothing.attr }}"); }, t2::ErrorKind::InvalidArgument,
               {"'nothing' is undefined", "line 3"});
  expect_error([] { render("{{ messages[0].missing.deeper }}"); }, t2::ErrorKind::InvalidArgument,
               {"has no attribute 'missing'"});
  expect_error([] { render("{{ 'a' + 1 }}"); }, t2::ErrorKind::InvalidArgument,
               {"unsupported operand type(s) for +: 'str' and 'int'"});
  expect_error([] { render("{{ 1 // 0 }}"); }, t2::ErrorKind::InvalidArgument, {"by zero"});
  expect_error([] { render("{{ nothing|tojson }}"); }, t2::ErrorKind::InvalidArgument,
               {"Undefined is not JSON serializable"});
  expect_error([] { render("{{ [1] in d }}"); }, t2::ErrorKind::InvalidArgument,
               {"unhashable type: 'list'"});
  expect_error([] { render("{% set x = 1 %}{% set x.attr = 2 %}"); },
               t2::ErrorKind::InvalidArgument, {"not a namespace()"});
  expect_error([] { render("{% for a, b in [1] %}{% endfor %}"); }, t2::ErrorKind::InvalidArgument,
               {"not iterable"});
  expect_error([] { render("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"); },
               t2::ErrorKind::InvalidArgument, {"recursion"});
}

TEST(ChatTemplateLanguage, BadMessagesAndVariables) {
  expect_error([] { render("x", "[{\"role\": \"user\",}]"); }, t2::ErrorKind::Corrupt,
               {"messages", "byte 18"});
  expect_error([] { render("x", "{\"role\": \"user\"}"); }, t2::ErrorKind::InvalidArgument,
               {"JSON list"});
  expect_error([] { render("x", "[]", "[1]"); }, t2::ErrorKind::InvalidArgument, {"JSON object"});
}

TEST(ChatTemplateModelDir, ReadsConfigVariants) {
  const fs::path dir = scratch("variants");
  write(dir / "tokenizer_config.json",
        R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
            "chat_template": [{"name": "tool_use", "template": "TOOLS"},
                              {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]})");
  const auto tmpl = t2::ChatTemplate::from_model_dir(dir.string());
  EXPECT_EQ(tmpl.bos_token(), std::optional<std::string>("<s>"));
  EXPECT_EQ(tmpl.eos_token(), std::optional<std::string>("</s>"));
  EXPECT_EQ(tmpl.render(R"([{"role": "user", "content": "hi"}])"), "<s>hi</s>");

  write(dir / "tokenizer_config.json", R"({"bos_token": null, "chat_template": "plain"})");
  EXPECT_EQ(t2::ChatTemplate::from_model_dir(dir.string()).bos_token(), std::nullopt);
}

TEST(ChatTemplateModelDir, ClearErrors) {
  const fs::path dir = scratch("errors");
  expect_error([&] { t2::ChatTemplate::from_model_dir((dir / "absent").string()); },
               t2::ErrorKind::Io, {"tokenizer_config.json", "not found"});
  write(dir / "tokenizer_config.json", "{\"chat_template\": ");
  expect_error([&] { t2::ChatTemplate::from_model_dir(dir.string()); }, t2::ErrorKind::Corrupt,
               {"tokenizer_config.json", "not valid JSON"});
  write(dir / "tokenizer_config.json", R"({"eos_token": "</s>"})");
  expect_error([&] { t2::ChatTemplate::from_model_dir(dir.string()); }, t2::ErrorKind::Unsupported,
               {"no chat_template"});
  write(dir / "tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "x"}]})");
  expect_error([&] { t2::ChatTemplate::from_model_dir(dir.string()); }, t2::ErrorKind::Unsupported,
               {"\"rag\"", "default"});
  write(dir / "tokenizer_config.json", R"({"chat_template": "{% for %}"})");
  expect_error([&] { t2::ChatTemplate::from_model_dir(dir.string()); }, t2::ErrorKind::Corrupt,
               {"tokenizer_config.json", "line 1"});
  // A separate chat_template.jinja (newer transformers) is used when the config has none.
  write(dir / "tokenizer_config.json", R"({"eos_token": "</s>"})");
  write(dir / "chat_template.jinja", "{{ eos_token }}\n");
  EXPECT_EQ(t2::ChatTemplate::from_model_dir(dir.string()).render("[]"), "</s>");
}

TEST(ChatTemplateLanguage, HostileInputFailsCleanly) {
  // Deep nesting, runaway loops and self-referencing values end in an error, never a crash.
  expect_error(
      [] { render("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"); },
      t2::ErrorKind::Corrupt, {"nested deeper"});
  std::string deep_ifs;
  for (int k = 0; k < 1000; ++k) deep_ifs += "{% if true %}";
  expect_error([&] { render(deep_ifs); }, t2::ErrorKind::Corrupt, {"nested deeper"});
  expect_error([] { render("x", std::string(100000, '[') + std::string(100000, ']')); },
               t2::ErrorKind::InvalidArgument, {"nested deeper"});
  expect_error(
      [] {
        render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
      },
      t2::ErrorKind::InvalidArgument, {"runs too long"});
  expect_error([] { render("{{ range(10000000)|length }}"); }, t2::ErrorKind::InvalidArgument,
               {"range() longer than"});
  expect_error(
      [] {
        render(
            "{% set ns = namespace(v=1) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}"
            "{% endfor %}{{ ns.v|tojson }}");
      },
      t2::ErrorKind::InvalidArgument, {"nested deeper"});
  expect_error([] { render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns|tojson }}"); },
               t2::ErrorKind::InvalidArgument, {"not JSON serializable"});
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me == ns }}"), "True");
}

TEST(ChatTemplateLanguage, ArithmeticEdgesFailCleanly) {
  expect_error([] { render("{{ 9223372036854775807 + 1 }}"); }, t2::ErrorKind::InvalidArgument,
               {"integer overflow"});
  expect_error([] { render("{{ 2 ** 64 }}"); }, t2::ErrorKind::InvalidArgument,
               {"integer overflow"});
  expect_error([] { render("{{ (-9223372036854775807 - 1) // -1 }}"); },
               t2::ErrorKind::InvalidArgument, {"integer overflow"});
  EXPECT_EQ(render("{{ (-9223372036854775807 - 1) % -1 }} {{ 2 ** 62 }} {{ 3 ** 0 }}"),
            "0 4611686018427387904 1");
  EXPECT_EQ(render("{{ [1, 2, 3][::9223372036854775807] }}{{ [1, 2, 3][::-9223372036854775807] }}"),
            "[1][3]");
  expect_error([] { render("{{ 'ab' * 1000000000000 }}"); }, t2::ErrorKind::InvalidArgument,
               {"256 MiB"});
  expect_error([] { render("{{ 'x'|indent(-1) }}"); }, t2::ErrorKind::InvalidArgument,
               {"indent width"});
  expect_error([] { render("{{ '{99999999999999999999}'.format(1) }}"); },
               t2::ErrorKind::InvalidArgument, {"no argument"});
  expect_error([] { render("{{ '\\U00110000' }}"); }, t2::ErrorKind::Corrupt, {"Unicode"});
}
