#!/usr/bin/env bash
# ctest "format-check" (label unit): tests/tools/check_format.sh passes on a directory of
# formatted files and fails, naming the file and its fix, once an unformatted .cpp or .h is
# planted. Usage: check_format_test.sh [SCRATCH_PARENT]
set -uo pipefail
check=$(cd "$(dirname "$0")" && pwd)/check_format.sh
parent=${1:-${TMPDIR:-/tmp}}
mkdir -p "$parent"
dir=$(mktemp -d "$parent/check-format.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# run_check EXPECTED_STATUS: runs the check on $dir, keeps its output in $out.
run_check() {
  out=$("$check" "$dir" 2>&1)
  local status=$?
  echo "--- check_format.sh $dir -> $status"
  echo "$out"
  [[ $status == "$1" ]] || fail "exit status $status, expected $1"
}

mkdir -p "$dir/src"
cat >"$dir/src/clean.cpp" <<'EOF'
#include <string>

namespace demo {

int add(int a, int b) { return a + b; }

std::string greet(const std::string& name) {
  if (name.empty()) return "hello";
  return "hello, " + name;
}

}  // namespace demo
EOF
# Not C++: never checked, however it looks.
printf 'int  x ;\n' >"$dir/src/notes.txt"

# 1. Only formatted files: passes.
run_check 0

# 2. A planted unformatted .cpp: fails, names it with its fix, and not the clean file.
printf 'int  add( int a,int b ){return a+b;}\n' >"$dir/src/bad.cpp"
run_check 1
grep -qF "$dir/src/bad.cpp    fix: clang-format -i $dir/src/bad.cpp" <<<"$out" ||
  fail "bad.cpp and its fix are not named"
grep -qF "clean.cpp" <<<"$out" && fail "clean.cpp is named"
grep -qF "notes.txt" <<<"$out" && fail "notes.txt is named"

# 3. An unformatted header alone fails too.
rm "$dir/src/bad.cpp"
printf '#pragma once\nstruct  S{int a;};\n' >"$dir/src/bad.h"
run_check 1
grep -qF "$dir/src/bad.h" <<<"$out" || fail "bad.h is not named"

# 4. Formatting it as the fix says makes the check pass again.
clang-format --style="file:$(dirname "$check")/../../.clang-format" -i "$dir/src/bad.h"
run_check 0

# 5. A directory that does not exist is an error of the check itself (2), not a pass.
run_check_missing=$("$check" "$dir/none" 2>&1)
status=$?
[[ $status == 2 ]] || fail "missing directory: exit status $status, expected 2: $run_check_missing"

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
