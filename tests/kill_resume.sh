#!/usr/bin/env bash
# Crash safety: a training run killed with SIGKILL at random moments and resumed each
# time must end with weights bit-identical to an uninterrupted run's, and the
# checkpoint on disk must load completely after every kill (it is written to a
# temporary file and renamed, so a kill leaves the previous one whole).
#   tests/kill_resume.sh FACECL_BINARY MODELS_DIR [KILLS]
# Needs Fashion-MNIST (Debian package dataset-fashion-mnist); exits 77 (skipped) without it.
set -u
facecl=$1 models=$2 kills=${3:-12}
data=/usr/share/datasets/fashion-mnist
[ -r "$data/train-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST in $data: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$models/fmnist-tiny.model
args=(train "$model" "$data" --steps 400 --checkpoint-every 7 --quiet --seed 5)
printf 'P5 28 28 255\n' >"$work/probe.pgm"
head -c 784 /dev/zero >>"$work/probe.pgm"

"$facecl" "${args[@]}" --out "$work/whole" >"$work/log" 2>&1 || { cat "$work/log"; echo "FAILED: uninterrupted run"; exit 1; }

killed=0 resumes=0 rng=12345 steps=
while [ ! -s "$work/killed/weights.safetensors" ]; do
    resume=()
    [ -s "$work/killed/checkpoint.safetensors" ] && resume=(--resume) && resumes=$((resumes + 1))
    "$facecl" "${args[@]}" --out "$work/killed" "${resume[@]}" >>"$work/log" 2>&1 &
    pid=$!
    if [ "$killed" -lt "$kills" ]; then
        rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
        sleep "$(awk -v r="$rng" 'BEGIN { printf "%.2f", 0.3 + (r % 2000) / 1000 }')"
        if kill -9 "$pid" 2>/dev/null; then
            killed=$((killed + 1))
        fi
    fi
    wait "$pid" 2>/dev/null
    status=$?
    if [ "$status" != 0 ] && [ "$status" != 137 ]; then
        tail -5 "$work/log"
        echo "FAILED: run exited $status (not 0, not killed)"
        exit 1
    fi
    # Whatever the kill interrupted, the checkpoint on disk loads in full.
    if [ -e "$work/killed/checkpoint.safetensors" ] &&
        ! "$facecl" embed "$model" --weights "$work/killed/checkpoint.safetensors" "$work/probe.pgm" >/dev/null 2>&1; then
        echo "FAILED: the checkpoint after kill $killed does not load"
        exit 1
    fi
    step=$(head -c 4096 "$work/killed/checkpoint.safetensors" 2>/dev/null | grep -ao '"facecl.step":"[0-9]*' | sed 's/.*"//')
    steps="$steps ${step:-none}"
    [ "$resumes" -gt $((kills * 4)) ] && { echo "FAILED: no progress after $resumes resumes"; exit 1; }
done
if ! cmp -s "$work/whole/weights.safetensors" "$work/killed/weights.safetensors"; then
    echo "FAILED: after $killed kills and $resumes resumes the weights differ from the uninterrupted run's"
    exit 1
fi
echo "$killed kills with SIGKILL, $resumes resumes (checkpoint steps after each run:$steps):"
echo "weights bit-identical to the uninterrupted run"
