#!/usr/bin/env bash
# `facecl bench flops-accuracy` as a user meets it: bad input refused with a clear
# message, and a sweep killed with SIGKILL at random moments, then run again until it
# finishes, reports exactly the accuracies of a sweep that was never interrupted (its
# finished runs are kept, the current one resumes bit for bit from its checkpoint).
#   tests/bench_sweep.sh FACECL_BINARY MODELS_DIR [KILLS]
# Needs Fashion-MNIST (Debian package dataset-fashion-mnist); exits 77 (skipped) without it.
set -u
facecl=$1 models=$2 kills=${3:-4}
data=/usr/share/datasets/fashion-mnist
[ -r "$data/train-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST in $data: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

# expect STATUS 'TEXT' ARGS...: the command exits STATUS and says TEXT on stderr.
expect() {
    local want=$1 text=$2
    shift 2
    "$facecl" bench flops-accuracy "$@" >"$work/out" 2>"$work/err"
    local got=$?
    [ "$got" = "$want" ] || { cat "$work/err"; fail "'$*' exited $got, not $want"; }
    grep -q -- "$text" "$work/err" || { cat "$work/err"; fail "'$*' did not say '$text'"; }
}

# killed_until_done OUT KILLS SEED SPREAD_MS ARGS...: runs the sweep ARGS --out OUT
# again and again until it writes results.json, the first KILLS runs killed with
# SIGKILL 1 s + 0..SPREAD_MS ms in (a seeded draw); sets $killed.
killed_until_done() {
    local out=$1 kills=$2 rng=$3 spread=$4 pid status
    shift 4
    killed=0
    while [ ! -s "$out/results.json" ]; do
        "$facecl" bench flops-accuracy "$@" --out "$out" >>"$work/log" 2>&1 &
        pid=$!
        if [ "$killed" -lt "$kills" ]; then
            rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
            sleep "$(awk -v r="$rng" -v s="$spread" 'BEGIN { printf "%.2f", 1 + (r % s) / 1000 }')"
            kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
        fi
        wait "$pid" 2>/dev/null
        status=$?
        [ "$status" = 0 ] || [ "$status" = 137 ] || { tail -5 "$work/log"; fail "sweep $out exited $status"; }
    done
}

# A second model, smaller than fmnist-tiny, named by its path.
sed -e 's/^model fmnist-tiny/model micro/' -e 's/c=16/c=8/' "$models/fmnist-tiny.model" >"$work/micro.model"
# A small evaluation keeps this quick under the sanitizers.
sweep=(--quick --models "$models/fmnist-tiny.model,$work/micro.model" --steps 40 --seeds 2 --quiet
       --far-images 500 --gallery 1000)

expect 2 "unknown model 'no-such-model'" --models no-such-model
expect 2 "four budgets" --steps 10 --minutes 1
expect 2 "four budgets" --epochs 1 --converged 500
expect 2 "wants a whole number" --seeds 0
expect 1 "dataset-fashion-mnist" "${sweep[@]}" --data "$work" --out "$work/nodata"
sed 's/^model micro/model ..\/escape/' "$work/micro.model" >"$work/escape.model"
expect 1 "names its results directory" --models "$work/escape.model" --out "$work/escape"
cp "$work/micro.model" "$work/twin.model"
expect 1 "both called 'micro'" --models "$work/micro.model,$work/twin.model" --out "$work/twins"
mkdir "$work/busy" && touch "$work/busy/something"
expect 1 "not a sweep's directory" "${sweep[@]}" --out "$work/busy"
sed 's/c=128/c=64/' "$work/micro.model" >"$work/micro64.model"
"$facecl" bench unknown >/dev/null 2>"$work/err"; [ $? = 2 ] || fail "an unknown benchmark must exit 2"

"$facecl" bench flops-accuracy "${sweep[@]}" --out "$work/whole" >"$work/log" 2>&1 ||
    { cat "$work/log"; fail "uninterrupted sweep"; }
for f in results.json table.txt flops_val.svg time_val.svg time_accuracy.svg sweep.txt; do
    [ -s "$work/whole/$f" ] || fail "the sweep wrote no $f"
done
grep -q '"name": "micro"' "$work/whole/results.json" || fail "results.json lacks the model 'micro'"
grep -q '<svg' "$work/whole/flops_val.svg" && grep -q 'micro' "$work/whole/flops_val.svg" ||
    fail "flops_val.svg is not a plot labelled with the models"

# The multiply-adds counted on the device are facecl info's.
for m in "$models/fmnist-tiny.model:fmnist-tiny" "$work/micro.model:micro"; do
    info=$("$facecl" info "${m%%:*}" | sed -n 's/.*multiply-adds per image (\([0-9]*\)).*/\1/p')
    counted=$(sed -n 's/^macs_counted //p' "$work/whole/${m##*:}/seed-1/run.txt")
    [ -n "$info" ] && [ "$info" = "$counted" ] || fail "${m##*:}: counted $counted multiply-adds, facecl info says $info"
done

# The same directory with another configuration is refused, naming the difference.
expect 1 "different sweep" "${sweep[@]}" --steps 41 --out "$work/whole"
expect 1 "different sweep" --quick --models "$models/fmnist-tiny.model,$work/micro64.model" --steps 40 --seeds 2 \
    --quiet --far-images 500 --gallery 1000 --out "$work/whole"
expect 1 "different sweep" "${sweep[@]}" --gallery 999 --out "$work/whole"

# --minutes: the steps come from the timed run, so that steps x batch / (its images/s)
# is the budget; every run of the model uses that number.
"$facecl" bench flops-accuracy --quick --models "$work/micro.model" --minutes 0.05 --seeds 2 --quiet \
    --far-images 500 --gallery 1000 \
    --out "$work/minutes" >>"$work/log" 2>&1 || { tail -5 "$work/log"; fail "sweep with --minutes"; }
awk -v minutes=0.05 '$1 == "train_images_per_second" { ips = $2 } $1 == "steps" { steps = $2 }
    END { want = int(minutes * 60 * ips / 80); if (want < 1) want = 1; exit !(steps == want) }' \
    "$work/minutes/micro/calibration.txt" || { cat "$work/minutes/micro/calibration.txt"; fail "--minutes steps"; }
for s in 1 2; do
    [ "$(sed -n 's/^steps //p' "$work/minutes/micro/seed-$s/run.txt")" = \
      "$(sed -n 's/^steps //p' "$work/minutes/micro/calibration.txt")" ] || fail "--minutes: seed $s ran other steps"
done
grep -q '"minutes": 0.05' "$work/minutes/results.json" || fail "results.json does not give the --minutes budget"

# --epochs: ceil(E x 60000 training images / 80 per batch) steps for every run.
"$facecl" bench flops-accuracy --quick --models "$work/micro.model" --epochs 0.1 --seeds 1 --quiet \
    --far-images 500 --gallery 1000 --out "$work/epochs" >>"$work/log" 2>&1 || { tail -5 "$work/log"; fail "--epochs"; }
[ "$(sed -n 's/^steps //p' "$work/epochs/micro/seed-1/run.txt")" = 75 ] || fail "--epochs 0.1 did not run 75 steps"
grep -q "same epochs: 0.1" "$work/epochs/table.txt" || fail "the table does not name the --epochs budget"
for f in time_val.svg flops_val.svg; do grep -q "Pareto front" "$work/epochs/$f" || fail "$f draws no Pareto front"; done

# --converged: validation checks every 250 steps up to the cap (250, 500, 520), the
# best check's weights evaluated (run.txt's steps), and the same result when the sweep
# is killed at random moments and run again (the rounds are pauses of one run).
converged=(--quick --models "$work/micro.model" --converged 520 --seeds 1 --quiet --far-images 500 --gallery 1000)
"$facecl" bench flops-accuracy "${converged[@]}" --out "$work/conv" >>"$work/log" 2>&1 ||
    { tail -5 "$work/log"; fail "--converged"; }
[ "$(cut -d, -f1 "$work/conv/micro/seed-1/validation.csv" | tr '\n' ' ')" = "step 250 500 520 " ] ||
    { cat "$work/conv/micro/seed-1/validation.csv"; fail "--converged checks"; }
best=$(awk -F, 'NR > 1 && $2 > best { best = $2; step = $1 } END { print step }' "$work/conv/micro/seed-1/validation.csv")
[ "$(sed -n 's/^steps //p' "$work/conv/micro/seed-1/run.txt")" = "$best" ] || fail "--converged: run.txt's steps are not the best check's"
[ -s "$work/conv/micro/seed-1/best.safetensors" ] || fail "--converged kept no best.safetensors"
grep -q "until converged" "$work/conv/table.txt" || fail "the table does not name the converged budget"
killed_until_done "$work/conv-killed" 3 777 5000 "${converged[@]}"
cmp "$work/conv/micro/seed-1/validation.csv" "$work/conv-killed/micro/seed-1/validation.csv" ||
    fail "--converged: the validation checks differ after $killed kills"
for f in "$work/conv" "$work/conv-killed"; do
    grep -E '^(steps|accuracy|val|rank1|threshold) ' "$f/micro/seed-1/run.txt" >"$f.run"
done
cmp -s "$work/conv.run" "$work/conv-killed.run" || { diff "$work/conv.run" "$work/conv-killed.run"; fail "--converged result differs after $killed kills"; }
echo "converged sweep killed $killed times: the same checks and result"

# A sweep killed inside a model's timed calibration run (its checkpoint there, no
# calibration.txt yet) starts that run over when it is run again.
half=(--quick --models "$work/micro.model" --steps 40 --seeds 1 --quiet --far-images 500 --gallery 1000
      --out "$work/halfcal")
"$facecl" bench flops-accuracy "${half[@]}" >>"$work/log" 2>&1 &
pid=$!
for _ in $(seq 400); do [ -s "$work/halfcal/micro/calibration/checkpoint.safetensors" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -f "$work/halfcal/micro/calibration.txt"
[ -s "$work/halfcal/micro/calibration/checkpoint.safetensors" ] || fail "no calibration checkpoint to start over from"
"$facecl" bench flops-accuracy "${half[@]}" >>"$work/log" 2>&1 || { tail -5 "$work/log"; fail "sweep after a killed calibration"; }

killed_until_done "$work/killed" "$kills" 4242 6000 "${sweep[@]}"
echo "sweep killed $killed times and run again"

# Accuracy and the counted multiply-adds are the same; throughput is measured anew.
for run in tiny micro; do
    name=$run; [ "$run" = tiny ] && name=fmnist-tiny
    for s in 1 2; do
        for f in "$work/whole" "$work/killed"; do
            grep -E '^(seed|steps|macs|macs_counted|accuracy|accuracy_std|val|rank1|ncm|auc|eer|threshold) ' \
                "$f/$name/seed-$s/run.txt" >"$f.$name.$s"
        done
        cmp -s "$work/whole.$name.$s" "$work/killed.$name.$s" ||
            { diff "$work/whole.$name.$s" "$work/killed.$name.$s"; fail "$name seed $s differs after the kills"; }
    done
done
echo "OK: killed and resumed sweep == uninterrupted sweep"
