#!/usr/bin/env bash
# `t2 eval` throughput on the bundled demo model and each demo task (test split, greedy, the
# CLI's default batch of 8), in the configurations that add up to today's engine, measured in
# the same run and printed as items/s and as ratios to the previous implementation:
#   previous   T2_SKINNY_GEMM=0 --fixed-batches --no-prefix-cache  (BLAS, fixed batches)
#   +skinny    the skinny GEMM kernel for 2..12-row products
#   +contin.   + continuous batching (a finished row takes the next item at once)
#   now        + shared-prefix reuse (the default)
# Optionally a second t2 binary (e.g. one built from an older commit) is timed with its default
# flags as "other". Each figure is the best of REPEATS runs (wall time of the whole command).
#
#   tests/bench/bench_eval_demo.sh [BUILD_DIR [REPEATS [LIMIT [OTHER_T2]]]]
#     (defaults: build, 3, 0 = the whole test split)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
repeats=${2:-3}
limit=${3:-0}
other=${4:-}
t2="$build/app/t2"
model="$root/resources/demo/model"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# best wall seconds of `repeats` runs of: env ENV... t2 eval ARGS
best_of() {
  local envs=$1 bin=$2
  shift 2
  local best=""
  for ((r = 0; r < repeats; r++)); do
    local start end
    start=$(date +%s.%N)
    env $envs "$bin" eval "$model" --db "$work/bench.db" --limit "$limit" "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    best=$(echo "$start $end ${best:-1e9}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
  done
  echo "$best"
}

echo "t2 eval on resources/demo/model, test split, greedy, batch 8; items/s (best of $repeats)"
printf "%-14s %5s %9s %9s %9s %9s %9s %9s %9s %9s\n" task items previous +skinny +contin. now \
  other "now/prev" "now/other" "prefix x"
for task in math code reasoning classify math-hard code-hard reasoning-hard; do
  spec="$root/resources/demo/tasks/$task/task.json"
  [[ -f $spec ]] || continue
  items=$("$t2" eval "$model" --db "$work/count.db" --task "$spec" --limit "$limit" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["n"])')
  prev=$(best_of "T2_SKINNY_GEMM=0" "$t2" --task "$spec" --fixed-batches --no-prefix-cache)
  skinny=$(best_of "" "$t2" --task "$spec" --fixed-batches --no-prefix-cache)
  contin=$(best_of "" "$t2" --task "$spec" --no-prefix-cache)
  now=$(best_of "" "$t2" --task "$spec")
  other_s=0
  [[ -n $other ]] && other_s=$(best_of "" "$other" --task "$spec")
  awk -v t="$task" -v n="$items" -v p="$prev" -v k="$skinny" -v c="$contin" -v w="$now" \
    -v o="$other_s" 'BEGIN {
      printf "%-14s %5d %9.1f %9.1f %9.1f %9.1f %9s %8.2fx %9s %8.2fx\n", t, n, n / p, n / k,
        n / c, n / w, (o > 0 ? sprintf("%.1f", n / o) : "-"), p / w,
        (o > 0 ? sprintf("%.2fx", o / w) : "-"), c / w }'
done
echo "(prefix x = now over +contin., i.e. what the shared-prefix cache adds; other = OTHER_T2's defaults)"
