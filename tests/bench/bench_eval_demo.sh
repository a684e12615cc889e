#!/usr/bin/env bash
# `t2 eval` throughput on the bundled demo model and each demo task (test split, greedy), in the
# configurations that add up to today's engine, measured in the same run. The figure is t2 eval's
# own examples/s (items / generation seconds: the model's work, without process start-up and
# loading), best of REPEATS runs:
#   previous   T2_SKINNY_GEMM=0 T2_DECODE_ATTENTION=0 --batch 8 --fixed-batches --no-prefix-cache
#   +kernels   the skinny GEMM (2..12-row products) and one-pass decode attention, batch 8
#   +contin.   + continuous batching (a finished row takes the next item at once)
#   +prefix    + shared-prefix reuse (the prompts' common prefix encoded once)
#   now        the defaults (+ batch 32)
# Optionally a second t2 binary (e.g. one built from an older commit) is timed with its defaults
# as "other"; "wall x" is then its whole-command wall time over now's.
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

# "examples/s wall_seconds", each the best of `repeats` runs of: env ENV... BIN eval ARGS
best_of() {
  local envs=$1 bin=$2
  shift 2
  local rate=0 wall=1e9
  for ((r = 0; r < repeats; r++)); do
    local start end out
    start=$(date +%s.%N)
    out=$(env $envs "$bin" eval "$model" --db "$work/bench.db" --limit "$limit" --json "$@" 2>/dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["examples_per_second"])')
    end=$(date +%s.%N)
    read -r rate wall < <(echo "$out $rate $start $end $wall" |
      awk '{ print ($1 > $2 ? $1 : $2), ($4 - $3 < $5 ? $4 - $3 : $5) }')
  done
  echo "$rate $wall"
}

echo "t2 eval on resources/demo/model, test split, greedy; examples/s (best of $repeats)"
printf "%-14s %5s %9s %9s %9s %9s %9s %9s %9s %9s\n" task items previous +kernels +contin. \
  +prefix now other "now/prev" "now/other"
for task in math code reasoning classify math-unseen code-unseen reasoning-unseen mixed; do
  spec="$root/resources/demo/tasks/$task/task.json"
  [[ -f $spec ]] || continue
  items=$("$t2" eval "$model" --db "$work/count.db" --task "$spec" --limit "$limit" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["n"])')
  read -r prev _ < <(best_of "T2_SKINNY_GEMM=0 T2_DECODE_ATTENTION=0" "$t2" --task "$spec" \
    --batch 8 --fixed-batches --no-prefix-cache)
  read -r kern _ < <(best_of "" "$t2" --task "$spec" --batch 8 --fixed-batches --no-prefix-cache)
  read -r cont _ < <(best_of "" "$t2" --task "$spec" --batch 8 --no-prefix-cache)
  read -r pref _ < <(best_of "" "$t2" --task "$spec" --batch 8)
  read -r now now_wall < <(best_of "" "$t2" --task "$spec")
  oth=0 oth_wall=0
  [[ -n $other ]] && read -r oth oth_wall < <(best_of "" "$other" --task "$spec")
  awk -v t="$task" -v n="$items" -v p="$prev" -v k="$kern" -v c="$cont" -v f="$pref" -v w="$now" \
    -v o="$oth" -v ww="$now_wall" -v ow="$oth_wall" 'BEGIN {
      printf "%-14s %5d %9.1f %9.1f %9.1f %9.1f %9.1f %9s %8.2fx %9s\n", t, n, p, k, c, f, w,
        (o > 0 ? sprintf("%.1f", o) : "-"), w / p,
        (o > 0 ? sprintf("%.2fx (wall %.2fx)", w / o, ow / ww) : "-") }'
done
