#!/usr/bin/env bash
# Semi-hard, batch-hard and batch-all mining (and softmax cross-entropy as the
# baseline) compared on the same model and budget, over several seeds: each run
# trained, then evaluated (10-fold verification on the generated Fashion-MNIST pairs,
# VAL at FAR 1e-3, rank-1); each run's figures and training wall time are listed, then
# a markdown table of mean +- std. Finished runs are kept in OUT and not repeated.
# --strategies picks some of them; --train-args adds options to every `facecl train`
# (a recipe, e.g. "--optimizer adam --no-flip").
#   bench/mining.sh [--steps N] [--seeds "1 2 3"] [--model M] [--out DIR] [--build DIR]
#                   [--strategies "semi-hard batch-hard batch-all softmax"] [--train-args "..."]
set -euo pipefail
steps=600 seeds="1 2 3" model=models/fmnist-small.model out=runs/mining build=build
strategies="semi-hard batch-hard batch-all softmax" train_args=""
data=/usr/share/datasets/fashion-mnist
while [ $# -gt 0 ]; do
    case $1 in
        --steps) steps=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --model) model=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --data) data=$2; shift 2 ;;
        --strategies) strategies=$2; shift 2 ;;
        --train-args) train_args=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/mining.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
facecl=$build/app/facecl
[ -x "$facecl" ] || { echo "bench/mining.sh: $facecl not built (meson setup $build && ninja -C $build)" >&2; exit 1; }
for seed in $seeds; do
    for mining in $strategies; do
        dir=$out/$mining-seed$seed-steps$steps
        [ -s "$dir/eval/results.json" ] && continue
        echo "== $mining, seed $seed, $steps steps" >&2
        start=$(date +%s.%N)
        objective=(--mining "$mining")
        [ "$mining" = softmax ] && objective=(--loss softmax)
        # shellcheck disable=SC2086 # train_args is a list of options
        "$facecl" train "$model" "$data" "${objective[@]}" $train_args --seed "$seed" --steps "$steps" --out "$dir" \
            --quiet --force >&2 # an unfinished run starts over: its time is measured whole
        awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }' >"$dir/train_seconds"
        "$facecl" eval "$model" --weights "$dir/weights.safetensors" "$data" --json >/dev/null
    done
done
python3 - "$out" "$steps" "$seeds" "$strategies" <<'EOF'
import json, statistics, sys
out, steps, seeds, strategies = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
def stat(values):
    return (statistics.mean(values), statistics.pstdev(values) if len(values) > 1 else 0.0)
runs = {}  # (strategy, seed) -> (accuracy, VAL, AUC, rank-1, NCM, training seconds)
for m in strategies:
    for s in seeds:
        d = f"{out}/{m}-seed{s}-steps{steps}"
        r = json.load(open(f"{d}/eval/results.json"))
        t = float(open(f"{d}/train_seconds").read())
        runs[m, s] = (r["verification"]["accuracy"], r["val"], r["auc"], r["rank1"], r["nearest_class_mean"], t)
        print(f"{m} seed {s}: 10-fold {100*runs[m, s][0]:.2f}%, rank-1 {100*runs[m, s][3]:.2f}%, training {t:.0f} s")
print()
print(f"| mining (loss) | 10-fold accuracy | VAL @ FAR 1e-3 | AUC | rank-1 | nearest class mean | train s |")
print(f"|---|---|---|---|---|---|---|")
for m in strategies:
    cols = [stat([runs[m, s][i] for s in seeds]) for i in range(6)]
    pct = lambda c: f"{100*c[0]:.2f} ± {100*c[1]:.2f}%"
    print(f"| {m} | {pct(cols[0])} | {pct(cols[1])} | {cols[2][0]:.4f} ± {cols[2][1]:.4f} | {pct(cols[3])} | "
          f"{pct(cols[4])} | {cols[5][0]:.0f} |")
EOF
