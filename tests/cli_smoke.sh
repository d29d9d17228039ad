#!/usr/bin/env bash
# The facecl command as a user runs it: help, devices, info, embed, train, eval, verify, cluster,
# demo, and bad input giving a clear error and a non-zero exit. Prints 'N passed, N failed'.
#   tests/cli_smoke.sh FACECL_BINARY MODELS_DIR
set -u
facecl=$1 models=$2
work=$(mktemp -d)
busy=
trap '[ -n "$busy" ] && kill -9 "$busy" 2>/dev/null; rm -rf "$work"' EXIT
. "$(dirname "$0")/checks.sh"

# The runs resume on $work/faces (below); arguments: what, OUT (under $work), model, options.
same_after_resume() {
    local what=$1 out=$work/$2
    shift 2
    same_after_resume_on "$work/faces" "$what" "$out" "$@"
}

printf 'P5 28 28 255\n' >"$work/a.pgm"
head -c 784 /dev/urandom >>"$work/a.pgm"
printf 'not an image' >"$work/broken.png"
printf 'input h=8 w=8 c=1\nconv a k=9 p=0 c=2\n' >"$work/bad.model"
printf 'P6\n2\n0\n255\n' >"$work/empty.ppm" # 2 x 0 pixels: stb_image decodes it, resizing asserted (found by fuzz_image)
printf 'P6\n8888\n88\n263\n\001' >"$work/short.ppm" # 16-bit, data cut short: stb_image read past the end (fuzz_image)

check "help" 0 "$facecl" --help
expect_text "help lists commands" "$work/out" "embed"
check "unknown command" 2 "$facecl" frobnicate
check "devices" 0 "$facecl" devices
expect_text "devices shows compute units" "$work/out" "compute units"
check "devices --json" 0 "$facecl" devices --json
expect_text "json has the type" "$work/out" '"type"'
check "no such device" 1 env FACECL_DEVICE=no-such-device "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm"
expect_text "no such device lists devices" "$work/err" "matches none of these devices"
mkdir -p "$work/no-icds"
check "no OpenCL platform" 1 env OCL_ICD_VENDORS="$work/no-icds" OCL_ICD_FILENAMES= "$facecl" devices
expect_text "no platform names the package" "$work/err" "pocl-opencl-icd"
check "info nn2" 0 "$facecl" info --memory "$models/nn2.model"
expect_text "info nn2 totals" "$work/out" "7.5M parameters"
expect_text "info nn2 memory" "$work/out" "MiB planned"
# The explicit DAG form of a model with inception modules loads as the same network.
check "info --expand" 0 "$facecl" info --expand "$models/nn2.model"
cp "$work/out" "$work/nn2-expanded.model"
expect_text "expanded inception branch" "$work/nn2-expanded.model" "^conv inception_3a/3x3 in=inception_3a/3x3r "
check "expanded model loads" 0 "$facecl" info "$work/nn2-expanded.model"
expect_text "expanded model counts the same" "$work/out" "(1596530688)"
check "info --json" 0 "$facecl" info --json "$models/nn1.model"
expect_text "info json params" "$work/out" '"params": 140025664'
check "info bad model" 1 "$facecl" info "$work/bad.model"
expect_text "bad model names the line" "$work/err" "bad.model:2:"
# The library's message names the file, line and reason; no bare status line follows it
# (#20, item 14). Without such a message (no platform, above) the status is printed.
[ "$(grep -c '^facecl:' "$work/err")" = 1 ] && passed=$((passed + 1)) ||
    { failed=$((failed + 1)); echo "FAILED: one error line for a bad model"; sed 's/^/  | /' "$work/err"; }
check "info missing model" 1 "$facecl" info "$work/none.model"
check "embed" 0 "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm" --npy "$work/e.npy" --csv "$work/e.csv"
expect_text "embed csv row" "$work/e.csv" "a.pgm,"
[ -s "$work/e.npy" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: no .npy written"; }
# CLBlast behind the same GEMM call (a build with it): the same embedding to 1e-4.
if FACECL_GEMM_CONFIG=clblast "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm" 2>&1 | grep -q "without CLBlast"; then
    echo "skipped: this build has no CLBlast"
else
    check "embed with CLBlast" 0 env FACECL_GEMM_CONFIG=clblast "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm" \
        --csv "$work/e-clblast.csv"
    awk -F, 'NR == FNR { for (i = 2; i <= NF; i++) want[i] = $i; next }
             { for (i = 2; i <= NF; i++) if ((want[i] - $i) ^ 2 > 1e-8) bad = 1; n = NF } END { exit bad || n < 2 }' \
        "$work/e.csv" "$work/e-clblast.csv" && passed=$((passed + 1)) ||
        { failed=$((failed + 1)); echo "FAILED: CLBlast's embedding differs from facecl's kernels'"; }
fi
# A model that does not end in l2norm embeds, with a warning that says why it matters (#20, item 8).
printf 'input h=8 w=8 c=1\nconv a k=3 c=2\nfc e c=4\n' >"$work/unnormalised.model"
check "embed unnormalised" 0 "$facecl" embed "$work/unnormalised.model" "$work/a.pgm"
expect_text "unnormalised model warned" "$work/err" "not l2norm"
# A file name with a comma and a quote is one quoted CSV field (RFC 4180).
cp "$work/a.pgm" "$work/x,\"y\".pgm"
check "embed odd name" 0 "$facecl" embed "$models/fmnist-tiny.model" "$work/x,\"y\".pgm"
expect_text "embed quotes the name" "$work/out" '^"[^,]*/x,""y"".pgm",'
# An output that is an input is refused before anything is written (#20, item 10).
cp "$work/a.pgm" "$work/victim.pgm"
check "embed csv onto its image" 2 "$facecl" embed "$models/fmnist-tiny.model" "$work/victim.pgm" --csv "$work/victim.pgm"
expect_text "embed names the clash" "$work/err" "also an input"
cmp -s "$work/a.pgm" "$work/victim.pgm" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: the image was overwritten"; }
# Standard output that cannot be written is an error, not exit 0 (#20, item 4).
if [ -w /dev/full ]; then
    for cmd in "embed $models/fmnist-tiny.model $work/a.pgm" "info $models/nn2.model"; do
        # shellcheck disable=SC2086 # the words of the command
        "$facecl" $cmd >/dev/full 2>"$work/err"
        [ $? = 1 ] && grep -q "standard output" "$work/err" && passed=$((passed + 1)) ||
            { failed=$((failed + 1)); echo "FAILED: ${cmd%% *} to a full disk"; sed 's/^/  | /' "$work/err"; }
    done
fi
# Settings that are not understood are said so, not ignored (#20, item 14).
check "bad FACECL_LOG" 0 env FACECL_LOG=verbose "$facecl" info "$models/fmnist-tiny.model"
expect_text "bad FACECL_LOG named" "$work/err" "FACECL_LOG=verbose"
check "bad FACECL_DISK_CACHE" 0 env FACECL_DISK_CACHE=maybe "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm"
expect_text "bad FACECL_DISK_CACHE named" "$work/err" "FACECL_DISK_CACHE=maybe"
check "embed broken image" 1 "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm" "$work/broken.png"
expect_text "broken image named" "$work/err" "broken.png"
check "embed zero-height image" 1 "$facecl" embed "$models/fmnist-tiny.model" "$work/empty.ppm"
expect_text "zero-height image explained" "$work/err" "0 pixels cannot be resized"
check "embed truncated 16-bit PNM" 1 "$facecl" embed "$models/fmnist-tiny.model" "$work/short.ppm"
expect_text "truncated PNM explained" "$work/err" "cut short"
check "embed bad weights" 1 "$facecl" embed "$models/fmnist-tiny.model" --weights "$work/a.pgm" "$work/a.pgm"
expect_text "bad weights explained" "$work/err" "safetensors"

# A small image folder: 3 identities of 4 images each, plus one corrupt file.
for id in ann ben cat; do
    mkdir -p "$work/faces/$id"
    for i in 1 2 3 4; do
        printf 'P5 20 20 255\n' >"$work/faces/$id/$i.pgm"
        head -c 400 /dev/urandom >>"$work/faces/$id/$i.pgm"
    done
done
printf 'garbage' >"$work/faces/ben/9.jpg"
mkdir -p "$work/lonely/only"
cp "$work/faces/ann/1.pgm" "$work/lonely/only/"

check "train bad number" 2 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps abc
expect_text "bad number named" "$work/err" "steps"
check "train no data" 1 "$facecl" train "$models/fmnist-tiny.model" "$work/none"
expect_text "missing data names the package" "$work/err" "dataset-fashion-mnist"
check "train one identity" 1 "$facecl" train "$models/fmnist-tiny.model" "$work/lonely"
expect_text "one identity explained" "$work/err" "at least 2"
check "train folder" 0 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 4 --identities 3 \
    --per-identity 2 --out "$work/run" --quiet
expect_text "corrupt image named" "$work/err" "9.jpg"
# A finished run is not replaced by accident, and two runs never share a directory (#20, item 9).
check "train over a run" 1 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 4 --identities 3 \
    --per-identity 2 --out "$work/run" --quiet
expect_text "train over a run explained" "$work/err" "already holds a training run"
"$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 1000000 --identities 3 --per-identity 2 \
    --out "$work/busy" --quiet >/dev/null 2>&1 &
busy=$!
for _ in $(seq 100); do [ -s "$work/busy/checkpoint.safetensors" ] && break; sleep 0.1; done
check "train on a directory in use" 1 timeout 60 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 1000000 \
    --identities 3 --per-identity 2 --out "$work/busy" --quiet --resume
expect_text "directory in use explained" "$work/err" "in use by another facecl training run"
kill -9 "$busy" 2>/dev/null
wait "$busy" 2>/dev/null
check "train after the other was killed" 0 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 2 \
    --identities 3 --per-identity 2 --out "$work/busy" --quiet --force # SIGKILL released the lock

[ -s "$work/run/weights.safetensors" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: no weights"; }
check "train paused" 130 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 4 --identities 3 \
    --per-identity 2 --out "$work/run2" --quiet --stop-at 2
check "train resumed" 0 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 4 --identities 3 \
    --per-identity 2 --out "$work/run2" --quiet --resume
cmp -s "$work/run/weights.safetensors" "$work/run2/weights.safetensors" && passed=$((passed + 1)) ||
    { failed=$((failed + 1)); echo "FAILED: resumed weights differ"; }
# First use on a device tunes the model's GEMM shapes (a budget), once: the second run finds the file.
check "train tunes on first use" 0 env FACECL_TUNE_SECONDS=4 FACECL_CACHE_DIR="$work/first-use" "$facecl" train \
    "$models/fmnist-tiny.model" "$work/faces" --steps 1 --identities 3 --per-identity 2 --out "$work/run3"
expect_text "first use says it tunes" "$work/out" "first use of"
ls "$work/first-use"/gemm-tuning-*.txt >/dev/null 2>&1 && passed=$((passed + 1)) ||
    { failed=$((failed + 1)); echo "FAILED: first use wrote no tuning file"; }
check "train after first use" 0 env FACECL_TUNE_SECONDS=4 FACECL_CACHE_DIR="$work/first-use" "$facecl" train \
    "$models/fmnist-tiny.model" "$work/faces" --steps 1 --identities 3 --per-identity 2 --out "$work/run3" --force
grep -q "first use of" "$work/out" && { failed=$((failed + 1)); echo "FAILED: tuned again"; } || passed=$((passed + 1))
check "bad FACECL_TUNE_SECONDS warns" 0 env FACECL_TUNE_SECONDS=soon "$facecl" train --help
expect_text "bad FACECL_TUNE_SECONDS named" "$work/err" "FACECL_TUNE_SECONDS=soon"
check "resume other settings" 1 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 5 --identities 3 \
    --per-identity 2 --out "$work/run2" --quiet --resume
expect_text "other settings explained" "$work/err" "other settings"
same_after_resume softmax soft "$models/fmnist-tiny.model" --loss softmax
# The margin losses through their cosine head; AdaCos carries its scale in the checkpoint.
same_after_resume arcface arc "$models/fmnist-tiny.model" --loss arcface --scale 16
same_after_resume adacos ada "$models/fmnist-tiny.model" --loss adacos
same_after_resume sphereface sphere "$models/fmnist-tiny.model" --loss sphereface --class-margin 3
same_after_resume contrastive pairs "$models/fmnist-tiny.model" --loss contrastive --neg-margin 1.2
same_after_resume center centre "$models/fmnist-tiny.model" --loss center --center-weight 0.1
# Joint losses: triplet with CosFace on a cosine head, contrastive with softmax.
same_after_resume "joint cosface" jcos "$models/fmnist-tiny.model" --mining batch-all --softmax-weight 0.5 \
    --joint-loss cosface --scale 8
same_after_resume "joint contrastive" jcon "$models/fmnist-tiny.model" --loss contrastive --softmax-weight 0.5
check "a joint loss without a head" 2 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --softmax-weight 1 \
    --joint-loss contrastive --out "$work/never"
check "a loss option the loss does not take" 2 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" \
    --loss cosface --lambda 1000,0.12,1,5 --out "$work/never"
expect_text "the refusal names what cosface takes" "$work/err" "it takes: scale class-margin"
check "softmax weights embed without the head" 0 "$facecl" embed "$models/fmnist-tiny.model" \
    --weights "$work/soft/weights.safetensors" "$work/a.pgm"
check "train bad loss" 2 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --loss hinge
expect_text "bad loss named" "$work/err" "unknown --loss 'hinge'; the losses are"
# The joint loss (triplet + weighted softmax over the same head) pauses and resumes bit
# for bit, and its weights load without the head.
same_after_resume joint joint "$models/fmnist-tiny.model" --mining batch-all --softmax-weight 0.5
check "joint weights embed without the head" 0 "$facecl" embed "$models/fmnist-tiny.model" \
    --weights "$work/joint/weights.safetensors" "$work/a.pgm"
check "joint resume other weight" 1 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 4 \
    --identities 3 --per-identity 2 --out "$work/joint-2" --quiet --mining batch-all --softmax-weight 0.25 --resume
expect_text "other weight explained" "$work/err" "other settings"
# Dropout's masks follow the step: a paused and resumed run ends with the same weights.
sed 's/^fc fc1 .*/&\ndropout drop1 rate=0.3/' "$models/fmnist-tiny.model" >"$work/dropout.model"
grep -q '^dropout ' "$work/dropout.model" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: no dropout line"; }
same_after_resume dropout drop "$work/dropout.model"
check "softmax weight with softmax" 2 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --loss softmax \
    --softmax-weight 1
expect_text "softmax weight misuse explained" "$work/err" "--loss softmax has a head already"
check "negative softmax weight" 2 "$facecl" train "$models/fmnist-tiny.model" "$work/faces" --softmax-weight -1
expect_text "negative softmax weight named" "$work/err" "softmax-weight"
check "eval folder" 0 "$facecl" eval "$models/fmnist-tiny.model" --weights "$work/run/weights.safetensors" \
    "$work/faces" --far-images 12 --far 0.1
expect_text "eval reports verification" "$work/out" "10-fold"
# Weights where the threshold cannot be stored (a path through /proc/self/fd: readable,
# but no file can be created beside it, even as root): the results are printed all the
# same, with the threshold to pass by hand, exit 0 (#20, item 12).
check "eval unwritable weights" 0 "$facecl" eval "$models/fmnist-tiny.model" --weights /proc/self/fd/3 \
    "$work/faces" --far-images 12 --far 0.1 --out "$work/eval-ro" 3<"$work/run/weights.safetensors"
expect_text "eval prints results anyway" "$work/out" "rank-1"
expect_text "eval says to pass the threshold" "$work/err" "pass --threshold"
[ -s "$work/run/eval/roc.svg" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: no ROC plot"; }
printf '1 1\nann 1 2\nann 1 zed 2\n' >"$work/pairs.txt"
check "eval bad pairs" 1 "$facecl" eval "$models/fmnist-tiny.model" --weights "$work/run/weights.safetensors" \
    "$work/faces" --pairs "$work/pairs.txt"
expect_text "bad pairs line named" "$work/err" "pairs.txt:3"
check "eval wrong weights" 1 "$facecl" eval "$models/fmnist-small.model" --weights "$work/run/weights.safetensors" \
    "$work/faces"

# eval stored its threshold in the weights; run2's weights (never evaluated) have none.
w="$work/run/weights.safetensors"
check "verify" 0 "$facecl" verify "$models/fmnist-tiny.model" --weights "$w" "$work/faces/ann/1.pgm" "$work/faces/ann/2.pgm"
expect_text "verify uses the stored threshold" "$work/out" "stored by facecl eval"
# Weights that overflow, and weights that are all zero: verify and embed stop with an error
# that names the image and, for overflow, the layer (#20, item 5). The data of a trained
# file, every float replaced.
refill() { # weights in, weights out, value
    python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
src, dst, value = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = open(src, "rb").read()
n = struct.unpack("<Q", data[:8])[0]
body = data[8 + n:]
open(dst, "wb").write(data[:8 + n] + struct.pack("<f", value) * (len(body) // 4))
PY
}
refill "$w" "$work/huge.safetensors" 3e38
refill "$w" "$work/zero.safetensors" 0
check "verify overflowing weights" 1 "$facecl" verify "$models/fmnist-tiny.model" --weights "$work/huge.safetensors" \
    --threshold 1 "$work/faces/ann/1.pgm" "$work/faces/ann/2.pgm"
expect_text "overflow names the layer" "$work/err" "first go bad in layer"
check "embed zero weights" 0 "$facecl" embed "$models/fmnist-tiny.model" --weights "$work/zero.safetensors" \
    "$work/faces/ann/1.pgm"
expect_text "zero embedding warned" "$work/err" "warning: .*zero vector"
check "verify zero weights" 1 "$facecl" verify "$models/fmnist-tiny.model" --weights "$work/zero.safetensors" \
    --threshold 1 "$work/faces/ann/1.pgm" "$work/faces/ann/2.pgm"
expect_text "zero embedding refused" "$work/err" "zero vector"
check "verify given threshold" 0 "$facecl" verify "$models/fmnist-tiny.model" --weights "$w" --threshold 4 \
    "$work/faces/ann/1.pgm" "$work/faces/ben/1.pgm"
expect_text "verify at threshold 4 says same" "$work/out" ": same"
check "verify no threshold" 1 "$facecl" verify "$models/fmnist-tiny.model" --weights "$work/run2/weights.safetensors" \
    "$work/faces/ann/1.pgm" "$work/faces/ann/2.pgm"
expect_text "verify says how to get a threshold" "$work/err" "facecl eval"
check "verify broken image" 1 "$facecl" verify "$models/fmnist-tiny.model" --weights "$w" "$work/a.pgm" "$work/broken.png"
expect_text "verify names the broken image" "$work/err" "broken.png"
check "verify one image" 2 "$facecl" verify "$models/fmnist-tiny.model" --weights "$w" "$work/a.pgm"
check "cluster identities" 0 "$facecl" cluster "$models/fmnist-tiny.model" --weights "$w" "$work/faces" \
    --out "$work/clusters.csv"
expect_text "cluster quality" "$work/out" "adjusted Rand index"
[ "$(wc -l <"$work/clusters.csv")" = 13 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: clusters.csv rows"; }
check "cluster plain folder" 0 "$facecl" cluster "$models/fmnist-tiny.model" --weights "$w" "$work/faces/ann" --threshold 0.5
expect_text "cluster writes next to the weights" "$work/out" "run/clusters.csv"
check "cluster bad threshold" 2 "$facecl" cluster "$models/fmnist-tiny.model" --weights "$w" "$work/faces" --threshold 9
# An image whose header reads but whose pixels are cut short is left out and named, as
# train does, instead of stopping the clustering (#20, item 13).
cp -r "$work/faces" "$work/faces-cut"
{ printf 'P5 20 20 255\n'; head -c 10 /dev/urandom; } >"$work/faces-cut/ann/cut.pgm"
check "cluster skips an unreadable image" 0 "$facecl" cluster "$models/fmnist-tiny.model" --weights "$w" \
    "$work/faces-cut" --threshold 1 --out "$work/clusters-cut.csv"
expect_text "cluster names the unreadable image" "$work/err" "cut.pgm"
expect_text "cluster says it left it out" "$work/err" "left out"
cp "$w" "$work/w-copy.safetensors"
check "cluster out onto the weights" 2 "$facecl" cluster "$models/fmnist-tiny.model" --weights "$w" "$work/faces" \
    --out "$w"
cmp -s "$w" "$work/w-copy.safetensors" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: weights overwritten"; }
check "cluster empty folder" 1 "$facecl" cluster "$models/fmnist-tiny.model" --weights "$w" "$work/no-icds" --threshold 1
expect_text "cluster empty folder explained" "$work/err" "no readable"

# The GEMM tuner, with a cache directory of its own: a short budget, the file, a corrupt
# file ignored with a warning and rewritten, reset.
tc="$work/tune-cache"
check "tune" 0 env FACECL_CACHE_DIR="$tc" "$facecl" tune --seconds 8 --inference --batch 4 "$models/fmnist-tiny.model"
expect_text "tune prints its table" "$work/out" "speedup"
check "tune --show" 0 env FACECL_CACHE_DIR="$tc" "$facecl" tune --show
expect_text "tune --show prints the file" "$work/out" "facecl-gemm-tuning 3"
for f in "$tc"/gemm-tuning-*.txt; do printf 'garbage' >>"$f"; done
check "tune over a corrupt file" 0 env FACECL_CACHE_DIR="$tc" "$facecl" tune --seconds 3 --inference --batch 4 "$models/fmnist-tiny.model"
expect_text "a corrupt tuning file is named" "$work/err" "is corrupt"
check "tune --show after the rewrite" 0 env FACECL_CACHE_DIR="$tc" "$facecl" tune --show
expect_text "the rewritten file is whole" "$work/out" "^checksum"
check "tune --reset" 0 env FACECL_CACHE_DIR="$tc" "$facecl" tune --reset
check "tune --show after reset" 0 env FACECL_CACHE_DIR="$tc" "$facecl" tune --show
expect_text "reset leaves the defaults" "$work/out" "shipped defaults"
check "tune bad budget" 2 "$facecl" tune --seconds -1
check "tune unknown model" 1 "$facecl" tune no-such-model

# detect and --detect without MTCNN's weights (tests/mtcnn_oracle.py runs them with)
check "detect without --mtcnn" 2 "$facecl" detect "$work/a.pgm"
expect_text "detect says how to get the weights" "$work/err" "tools/mtcnn_convert.py"
check "detect, weights missing" 1 "$facecl" detect --mtcnn "$work/no-mtcnn" "$work/a.pgm"
expect_text "detect names the missing file" "$work/err" "no-mtcnn/mtcnn-pnet"
check "detect bad thresholds" 2 "$facecl" detect --mtcnn "$work/no-mtcnn" --thresholds 0.6,2 "$work/a.pgm"
check "detect --align with --margin" 2 "$facecl" detect --mtcnn "$work/no-mtcnn" --align --margin 4 "$work/a.pgm"
check "embed --mtcnn without --detect" 2 "$facecl" embed "$models/fmnist-tiny.model" --mtcnn "$work/no-mtcnn" "$work/a.pgm"
check "train --detect on IDX" 2 "$facecl" train "$models/fmnist-tiny.model" /usr/share/datasets/fashion-mnist \
    --steps 1 --out "$work/idx-detect" --detect --mtcnn "$work/no-mtcnn"

check "demo without data" 1 "$facecl" demo --data "$work/no-icds" --model "$models/fmnist-tiny.model"
expect_text "demo names the data package" "$work/err" "dataset-fashion-mnist"
if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    check "demo" 0 "$facecl" demo --steps 3 --model "$models/fmnist-tiny.model" --out "$work/demo"
    expect_text "demo reports verification" "$work/out" "10-fold"
    expect_text "demo reports rank-1" "$work/out" "rank-1"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
