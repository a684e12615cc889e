#!/bin/sh
# Issue 7's demonstration on the bundled demo model: for each demo training task and seed, train
# an SVF expert with RL (t2 train, preset recommended unless PRESET is set), then evaluate the
# base model and the best expert on the test split (t2 eval). Every training and evaluation is
# stored as a run in the workspace database; a summary line per task gives the test accuracy of
# the base and of the experts as mean +- std over the seeds.
#
# Usage: tests/tools/train_demo_experts.sh [T2 [MODEL_DIR [DB]]]
#   T2 defaults to build/app/t2, MODEL_DIR to resources/demo/model, DB to the default workspace.
#   Environment: SEEDS (default "1 2 3"), PRESET (default recommended), EXTRA (more t2 train
#   options, e.g. "--objective sft", "--iterations 100" or "--method lora --lr 2e-3": a LoRA
#   adapter folder is evaluated with --adapter), SFT_FIRST (set: a next-token stage
#   `--objective sft $SFT_FIRST` runs first and the RL stage starts from its best expert with
#   --init-expert; the seconds are those of both stages, and the SFT expert's test accuracy is
#   printed too), TASKS (default "math code reasoning").
set -eu
T2=${1:-build/app/t2}
MODEL=${2:-resources/demo/model}
DB=${3:-}
SEEDS=${SEEDS:-"1 2 3"}
SFT_FIRST=${SFT_FIRST:-}
PRESET=${PRESET:-recommended}
EXTRA=${EXTRA:-}
TASKS=${TASKS:-"math code reasoning"}
db_opt=""
[ -n "$DB" ] && db_opt="--db $DB"

accuracy() {  # t2 eval --json output -> accuracy
  sed -n 's/.*"accuracy":\([0-9.eE+-]*\).*/\1/p' | head -n 1
}

best_expert() {  # t2 train --json output -> path of the kept expert
  sed -n 's/.*"best_expert_path":"\([^"]*\)".*/\1/p'
}

for task in $TASKS; do
  spec=resources/demo/tasks/$task/task.json
  base=$($T2 $db_opt eval "$MODEL" --task "$spec" --split test --json | accuracy)
  accs=""
  for seed in $SEEDS; do
    start=$(date +%s)
    init=""
    if [ -n "$SFT_FIRST" ]; then
      # shellcheck disable=SC2086
      sft=$($T2 $db_opt train "$MODEL" --task "$spec" --preset "$PRESET" --seed "$seed" \
        --objective sft --quiet --json $SFT_FIRST | best_expert)
      sft_acc=$($T2 $db_opt eval "$MODEL" --task "$spec" --split test --expert "$sft" --json |
        accuracy)
      echo "$task seed $seed: sft stage test accuracy $sft_acc, $sft"
      init="--init-expert $sft"
    fi
    # shellcheck disable=SC2086
    expert=$($T2 $db_opt train "$MODEL" --task "$spec" --preset "$PRESET" --seed "$seed" \
      --quiet --json $init $EXTRA | best_expert)
    seconds=$(($(date +%s) - start))
    flag=--expert
    [ -d "$expert" ] && flag=--adapter  # a LoRA run (EXTRA="--method lora ...") keeps a folder
    acc=$($T2 $db_opt eval "$MODEL" --task "$spec" --split test $flag "$expert" --json | accuracy)
    echo "$task seed $seed: test accuracy $acc (base $base), training ${seconds} s, $expert"
    accs="$accs $acc"
  done
  echo "$accs" | awk -v t="$task" -v b="$base" '{ s = 0; q = 0;
    for (i = 1; i <= NF; i++) { s += $i; q += $i * $i }
    m = s / NF; v = q / NF - m * m; if (v < 0) v = 0;
    printf "%s: base %.3f, expert %.3f +- %.3f over %d seeds (%+.1f points)\n",
           t, b, m, sqrt(v), NF, 100 * (m - b) }'
done
