#!/usr/bin/env bash
# Base model vs each demo expert on every demo task (whole test splits), over several training
# seeds: the table in backend/README.md ("The demo: experts and transfer"). Every number is a
# stored run in DB (t2 runs list --db DB): one `t2 train` per expert and seed (the expert's
# recipe: resources/demo/experts/<name>/recipe.json, i.e. --preset recommended, seed replaced),
# one `t2 eval` per model and task, and the pass-1 routing of the classification prompt (the
# classify task's test split holds every test question of the suite, labelled by domain).
#
# Usage: tests/bench/demo_expert_table.sh BUILD_DIR DB OUT_DIR [SEED...]   (seeds default 1 2 3)
# With LIBRARY=1 the bundled expert (resources/demo/experts/<name>, trained by its recipe with
# seed 1 by `t2 demo build --experts`) stands for seed 1 instead of a new run.
# Prints a Markdown table (mean +- std over seeds, in points) and writes OUT_DIR/table.json.
set -euo pipefail
build=${1:?BUILD_DIR}; db=${2:?DB}; out=${3:?OUT_DIR}; shift 3
seeds=("$@"); [[ ${#seeds[@]} -gt 0 ]] || seeds=(1 2 3)
root=$(cd "$(dirname "$0")/../.." && pwd)
t2="$build/app/t2"
model="$root/resources/demo/model"
tasks_dir="$root/resources/demo/tasks"
tasks=(math code reasoning math-unseen code-unseen reasoning-unseen mixed)
mkdir -p "$out"
task_args=()
for t in "${tasks[@]}"; do task_args+=(--task "$tasks_dir/$t/task.json"); done

evaluate() {  # NAME EXPERT_FILE|"" -> OUT_DIR/eval-NAME.jsonl
  local name=$1 expert=$2
  local args=("${task_args[@]}")
  [[ -n $expert ]] && args+=(--expert "$expert")
  "$t2" --db "$db" eval "$model" "${args[@]}" --name "table $name" --json >"$out/eval-$name.jsonl"
}

echo "base model" >&2
evaluate base ""
"$t2" --db "$db" eval "$model" --task "$tasks_dir/classify/task.json" --name "table routing" \
  --json --items >"$out/routing.jsonl"
for name in math code reasoning; do
  for seed in "${seeds[@]}"; do
    echo "expert $name seed $seed" >&2
    lib="$root/resources/demo/experts/$name/$name.safetensors"
    if [[ ${LIBRARY:-0} == 1 && $seed == 1 && -f $lib ]]; then
      cp "$lib" "$out/$name-$seed.safetensors"
      evaluate "$name-$seed" "$out/$name-$seed.safetensors"
      continue
    fi
    "$t2" --db "$db" train "$model" --task "$tasks_dir/$name/task.json" --preset recommended \
      --seed "$seed" --name "table $name seed $seed" --out "$out/$name-$seed.safetensors" \
      --json >"$out/train-$name-$seed.json"
    evaluate "$name-$seed" "$out/$name-$seed.safetensors"
  done
done

python3 - "$out" "$tasks_dir" "${seeds[@]}" <<'EOF'
import json, statistics, sys, pathlib
out, tasks_dir, seeds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
tasks = ["math", "code", "reasoning", "math-unseen", "code-unseen", "reasoning-unseen", "mixed"]
def read(name):
    rows = [json.loads(l) for l in (out / f"eval-{name}.jsonl").read_text().splitlines()]
    return {r["task"][len("demo-"):]: (r["accuracy"], r["run_id"]) for r in rows}
base = read("base")
table = {"base": {t: {"mean": base[t][0], "runs": [base[t][1]]} for t in tasks}}
for name in ["math", "code", "reasoning"]:
    per = [read(f"{name}-{s}") for s in seeds]
    table[name] = {}
    for t in tasks:
        vals = [p[t][0] for p in per]
        table[name][t] = {"mean": statistics.mean(vals),
                          "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                          "values": vals, "runs": [p[t][1] for p in per]}
# Routing: classify test items in dataset order = classify/test.jsonl lines (task by task).
lines = [json.loads(l) for l in (tasks_dir / "classify" / "test.jsonl").read_text().splitlines()]
items = json.loads((out / "routing.jsonl").read_text().splitlines()[0])["items"]
assert len(items) == len(lines)
routing = {}
for line, item in zip(lines, items):
    r = routing.setdefault(line["task"][len("demo-"):], [0, 0])
    r[0] += bool(item["correct"]); r[1] += 1
table["routing"] = {t: {"correct": c, "n": n, "accuracy": c / n} for t, (c, n) in routing.items()}
(out / "table.json").write_text(json.dumps(table, indent=2) + "\n")
print("| model | " + " | ".join(tasks) + " |")
print("|---" * (len(tasks) + 1) + "|")
print("| base | " + " | ".join(f"{100 * base[t][0]:.1f}" for t in tasks) + " |")
for name in ["math", "code", "reasoning"]:
    cells = []
    for t in tasks:
        m, s = table[name][t]["mean"], table[name][t]["std"]
        cells.append(f"{100 * m:.1f} ± {100 * s:.1f} ({100 * (m - base[t][0]):+.1f})")
    print(f"| {name} expert | " + " | ".join(cells) + " |")
print("| pass-1 routing (classification prompt) | " +
      " | ".join(f"{100 * table['routing'][t]['accuracy']:.1f}" for t in tasks) + " |")
EOF
