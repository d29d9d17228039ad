#!/usr/bin/env bash
# The quick FLOPS-versus-accuracy sweep, as a first-time user runs it: the default
# models, one seed, a few minutes on 2 CPU cores. It must finish, write its table,
# JSON and plots, count on the device the multiply-adds `facecl info` gives, and
# train every model to better than chance (50% on balanced pairs).
#   tests/quick_sweep.sh FACECL_BINARY SOURCE_DIR
# Needs Fashion-MNIST (Debian package dataset-fashion-mnist); exits 77 (skipped) without it.
set -u
facecl=$(realpath "$1") source=$2
data=/usr/share/datasets/fashion-mnist
[ -r "$data/train-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST in $data: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

cd "$source" # the default models are named, and found in models/
"$facecl" bench flops-accuracy --quick --out "$work/sweep" >"$work/log" 2>&1 || { cat "$work/log"; fail "quick sweep"; }
cat "$work/log"
grep -q "expected duration" "$work/log" || fail "no expected duration printed before the sweep"
for f in results.json table.txt flops_val.svg time_val.svg time_accuracy.svg; do
    [ -s "$work/sweep/$f" ] || fail "no $f"
done
grep -q "^Pareto front of VAL against multiply-adds" "$work/sweep/table.txt" &&
    grep -q "^Spearman rank correlation of VAL with multiply-adds over the 4 models" "$work/sweep/table.txt" ||
    fail "the table gives no Pareto front or rank correlation"
for m in fmnist-tiny fmnist-nns2 fmnist-bn fmnist-inception; do
    run="$work/sweep/$m/seed-1/run.txt"
    [ -s "$run" ] || fail "$m: no run.txt"
    info=$("$facecl" info "models/$m.model" | sed -n 's/.*multiply-adds per image (\([0-9]*\)).*/\1/p')
    counted=$(sed -n 's/^macs_counted //p' "$run")
    [ "$info" = "$counted" ] || fail "$m: counted $counted multiply-adds on the device, facecl info says $info"
    awk '$1 == "accuracy" { exit !($2 > 0.6) }' "$run" || fail "$m: 10-fold accuracy $(grep '^accuracy ' "$run")"
    grep -q "\"name\": \"$m\"" "$work/sweep/results.json" || fail "results.json lacks $m"
    grep -q "$m" "$work/sweep/flops_val.svg" || fail "flops_val.svg lacks the label $m"
done
echo "OK: quick sweep"
