#!/usr/bin/env bash
# Formatting check (run by .ci/run): every C++ file must be formatted as the repository's
# .clang-format says (clang-format 14, Debian package clang-format).
#
# Usage:
#   tests/tools/check_format.sh          the git-tracked *.cpp / *.h files of this repository
#   tests/tools/check_format.sh DIR      every *.cpp / *.h file under DIR (for tests)
#
# Each file that deviates is named with the command that fixes it. Exit status: 0 all formatted,
# 1 some file deviates, 2 the check could not run (clang-format missing, bad arguments).
# Environment: CLANG_FORMAT (default: clang-format), the program to run.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
style_file=$root/.clang-format
clang_format=${CLANG_FORMAT:-clang-format}

if (($# > 1)); then
  echo "usage: $0 [DIR]" >&2
  exit 2
fi
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "check_format: $clang_format not found; install it: apt-get install clang-format" >&2
  exit 2
fi
if [[ ! -f $style_file ]]; then
  echo "check_format: $style_file is missing" >&2
  exit 2
fi

files=()
if (($# == 1)); then
  if [[ ! -d $1 ]]; then
    echo "check_format: $1 is not a directory" >&2
    exit 2
  fi
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    find "$1" -type f \( -name '*.cpp' -o -name '*.h' \) -print0 | sort -z)
else
  cd "$root" || exit 2
  while IFS= read -r -d '' f; do files+=("$f"); done < <(git ls-files -z -- '*.cpp' '*.h')
fi
if ((${#files[@]} == 0)); then
  echo "check_format: no *.cpp or *.h files to check" >&2
  exit 2
fi

# One clang-format process per batch of files (xargs); -Werror makes every deviation an error
# line "FILE:LINE:COL: error: code should be clang-formatted", from which the files are named.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
printf '%s\0' "${files[@]}" |
  xargs -0 "$clang_format" --style="file:$style_file" --dry-run -Werror 2>"$log" >/dev/null
status=$?
if ((status == 0)); then
  echo "check_format: ${#files[@]} files formatted as .clang-format says"
  exit 0
fi

mapfile -t bad < <(sed -n -E 's/^(.+):[0-9]+:[0-9]+: (error|warning): code should be clang-formatted.*/\1/p' \
  "$log" | sort -u)
if ((${#bad[@]} == 0)); then
  echo "check_format: $clang_format failed (status $status):" >&2
  cat "$log" >&2
  exit 2
fi
echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted as .clang-format says:" >&2
for f in "${bad[@]}"; do echo "  $f    fix: clang-format -i $f" >&2; done
echo "check_format: (the fix commands run from $PWD; clang-format -i rewrites the file in place)" >&2
exit 1
