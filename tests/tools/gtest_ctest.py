#!/usr/bin/env python3
"""Registers the cases of one GoogleTest binary with ctest (the scheme is described in the header
of tests/CMakeLists.txt, which runs this after every link of a test binary).

Usage: gtest_ctest.py CONFIG.json EXECUTABLE OUTPUT.cmake

CONFIG (written by tests/CMakeLists.txt):
  name      the binary's default ctest entry, e.g. "backend"; it also prefixes the names of
            individually registered cases ("backend/Suite.Test")
  label     the default entry's label
  rules     [{"name", "label", "filter"}]: cases whose full name matches the GoogleTest filter
            (positive patterns only, ':'-separated) go to that entry and label; the first
            matching rule wins; every other case goes to the default entry
  timeout   seconds, for every entry
  env       ["VAR=value", ...] for every entry (and for listing the cases)
  sources   the binary's source files; headers: test headers they may include

A case "can skip" when its body, or the fixture class it runs in, contains GTEST_SKIP or names
a function, class or macro of its file (or of a test header) that can skip, transitively. Such
cases get one ctest test each, with SKIP_REGULAR_EXPRESSION, so that ctest counts them as
skipped; the other cases run in the bulk entries, one process each, which fail if a case in them
skips after all (FAIL_REGULAR_EXPRESSION), so that a skip the scan misses is loud, not hidden.
"""
import json
import os
import re
import subprocess
import sys

SKIPPED = r"\[  SKIPPED \]"
TEST_MACRO = re.compile(
    r"^\s*(?:TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*$"
)
IDENT = re.compile(r"[A-Za-z_]\w*")


def strip_code(text):
    """Comments removed, string and character literals emptied; newlines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000
            out.append(c)
            i += 1
        elif c == '"' or c == "'":
            tail = "".join(out[-4:])[-4:]
            raw = c == '"' and re.search(r"(?:^|\W)(?:u8|u|U|L)?R$", tail) is not None
            if raw:
                m = re.compile(r'"([^(\s]*)\(').match(text, i)
                end = text.find(")" + m.group(1) + '"', m.end()) if m else -1
                j = n if end < 0 else end + len(m.group(1)) + 2
            else:
                j = i + 1
                while j < n and text[j] != c and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                j = min(j + 1, n)
            out.append(c + c)
            out.append("\n" * text.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_preprocessor(code):
    """(macros {name: body}, code without preprocessor lines)."""
    macros, kept = {}, []
    lines = code.split("\n")
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.lstrip().startswith("#"):
            directive = line
            while directive.endswith("\\") and k + 1 < len(lines):
                k += 1
                directive = directive[:-1] + " " + lines[k]
            m = re.match(r"\s*#\s*define\s+(\w+)(.*)", directive)
            if m:
                macros[m.group(1)] = m.group(2)
            kept.append("")
        else:
            kept.append(line)
        k += 1
    return macros, "\n".join(kept)


def matching_brace(code, i):
    depth = 0
    for j in range(i, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code)


def top_level_blocks(code):
    """(header, body) of every brace block at namespace scope (namespaces are looked into)."""
    i, start, n = 0, 0, len(code)
    while i < n:
        c = code[i]
        if c == ";" or c == "}":
            start = i + 1
        elif c == "{":
            header = code[start:i]
            if re.search(r"\bnamespace\b[\w\s:]*$", header) or re.search(r'\bextern\s*""\s*$', header):
                start = i + 1
            else:
                j = matching_brace(code, i)
                yield header, code[i + 1 : j]
                i, start = j, j + 1
        i += 1


def defined_names(header):
    """Names a block defines: a class, a function (and its class), a variable; [] if unknown."""
    h = " ".join(header.split())
    m = re.search(r"\b(?:class|struct|union)\s+(\w+)", h)
    if m and "(" not in h[: m.start()]:
        return [m.group(1)]
    depth, eq = 0, -1
    for k, ch in enumerate(h):
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        elif ch == "=" and depth == 0 and "operator" not in h[:k]:
            eq = k
            break
    if eq >= 0:
        names = IDENT.findall(h[:eq])
        return names[-1:]
    if "(" in h:
        before = h[: h.index("(")]
        m = re.search(r"((?:\w+\s*::\s*)*)(~?\w+)\s*$", before)
        if m:
            return [m.group(2).lstrip("~")] + [q for q in re.findall(r"(\w+)\s*::", m.group(1))]
    return []


def scan(path):
    """(tests [(suite, name, tokens)], definitions [(names, tokens)], fallback: a GTEST_SKIP
    that belongs to no test and to no named definition)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        macros, code = split_preprocessor(strip_code(f.read()))
    tests, defs, fallback = [], [], False
    for name, body in macros.items():
        defs.append(([name], set(IDENT.findall(body))))
    for header, body in top_level_blocks(code):
        tokens = set(IDENT.findall(body))
        m = TEST_MACRO.match(" ".join(header.split()))
        if m:
            tests.append((m.group(1), m.group(2), tokens))
            continue
        names = defined_names(header)
        if names:
            defs.append((names, tokens | set(IDENT.findall(header))))
        elif "GTEST_SKIP" in tokens:
            fallback = True
    return tests, defs, fallback


def skipping_names(defs, known):
    names = set(known)
    changed = True
    while changed:
        changed = False
        for defined, tokens in defs:
            if not set(defined) <= names and ("GTEST_SKIP" in tokens or tokens & names):
                names.update(defined)
                changed = True
    return names


def list_cases(exe, env):
    run_env = dict(os.environ)
    for entry in env:
        key, _, value = entry.partition("=")
        run_env[key] = value
    out = subprocess.run([exe, "--gtest_list_tests"], env=run_env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"gtest_ctest: {exe} --gtest_list_tests failed ({out.returncode}):\n{out.stderr}")
    cases, suite = [], None
    for line in out.stdout.splitlines():
        text = line.split("  #")[0].rstrip()
        if not text:
            continue
        if not line.startswith(" "):
            suite = text[:-1] if text.endswith(".") else None
        elif suite is not None:
            cases.append(f"{suite}.{text.strip()}")
    return cases


def filter_regex(patterns):
    parts = [re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns if p]
    return re.compile("^(?:" + "|".join(parts) + ")$") if parts else None


def from_source(case, suite, name):
    """Whether a listed case (maybe parameterized: Inst/Suite.Name/3) is TEST*(suite, name)."""
    listed_suite, _, listed_name = case.partition(".")
    suite_ok = listed_suite == suite or listed_suite.endswith("/" + suite) or \
        listed_suite.startswith(suite + "/")
    name_ok = listed_name == name or listed_name.startswith(name + "/")
    return suite_ok and name_ok


def bracket(text):
    eq = "="
    while "]" + eq + "]" in text:
        eq += "="
    return "[" + eq + "[" + text + "]" + eq + "]"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    exe, output = sys.argv[2], sys.argv[3]

    header_defs = []
    for path in config.get("headers", []):
        header_defs += scan(path)[1]
    global_skipping = skipping_names(header_defs, set())
    skip_capable = []  # (suite, name) pairs from the sources
    for path in config["sources"]:
        tests, defs, fallback = scan(path)
        names = skipping_names(defs, global_skipping)
        for suite, name, tokens in tests:
            if fallback or "GTEST_SKIP" in tokens or tokens & names or suite in names:
                skip_capable.append((suite, name))

    cases = list_cases(exe, config["env"])
    rules = [(r["name"], r["label"], filter_regex(r["filter"].split(":"))) for r in config["rules"]]

    def entry_of(case):
        for rule_name, label, regex in rules:
            if regex.match(case):
                return rule_name, label
        return config["name"], config["label"]

    individual, disabled, bulk = [], [], {}
    for case in cases:
        suite, _, name = case.partition(".")
        if suite.startswith("DISABLED_") or name.startswith("DISABLED_") or "/DISABLED_" in case:
            disabled.append(case)
        elif any(from_source(case, s, n) for s, n in skip_capable):
            individual.append(case)
        else:
            bulk.setdefault(entry_of(case), []).append(case)

    env = bracket(";".join(config["env"]))
    timeout = str(config["timeout"])
    lines = [f"# Generated by tests/tools/gtest_ctest.py from {os.path.basename(exe)}; do not edit."]

    def add(name, label, gtest_filter, extra):
        lines.append(f"add_test({bracket(name)} {bracket(exe)} --gtest_color=no "
                     f"{bracket('--gtest_filter=' + gtest_filter)})")
        lines.append(f"set_tests_properties({bracket(name)} PROPERTIES LABELS {label} "
                     f"TIMEOUT {timeout} ENVIRONMENT {env} {extra})")

    # Bulk entries: their rule's patterns, less earlier rules' and the individual cases.
    all_entries = [(n, l, r["filter"]) for (n, l, _), r in zip(rules, config["rules"])]
    all_entries.append((config["name"], config["label"], "*"))
    excluded = []
    for name, label, positive in all_entries:
        if (name, label) in bulk:
            negative = excluded + individual
            gtest_filter = positive + ("-" + ":".join(negative) if negative else "")
            add(name, label, gtest_filter, f"FAIL_REGULAR_EXPRESSION {bracket(SKIPPED)}")
        if positive != "*":
            excluded += positive.split(":")
    for case in individual:
        name, label = entry_of(case)
        add(f"{config['name']}/{case}", label, case, f"SKIP_REGULAR_EXPRESSION {bracket(SKIPPED)}")
    for case in disabled:
        name, label = entry_of(case)
        add(f"{config['name']}/{case}", label, case, "DISABLED TRUE")

    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"gtest_ctest: {os.path.basename(exe)}: {len(cases)} cases: "
          f"{sum(len(v) for v in bulk.values())} in {len(bulk)} bulk entries, "
          f"{len(individual)} on their own (they can skip), {len(disabled)} disabled")


if __name__ == "__main__":
    main()
