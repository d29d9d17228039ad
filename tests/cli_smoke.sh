#!/usr/bin/env bash
# The facecl command as a user runs it: help, devices, info, embed, and bad input
# giving a clear error and a non-zero exit. Prints 'N passed, N failed'.
#   tests/cli_smoke.sh FACECL_BINARY MODELS_DIR
set -u
facecl=$1 models=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() { # description, expected exit status, command...
    local what=$1 want=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" = "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $what: exit $got, wanted $want"
        sed 's/^/  | /' "$work/out" "$work/err" | head -20
    fi
}
expect_text() { # description, file, text
    if grep -q -- "$3" "$2"; then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "FAILED: $1: '$3' not in output"
        sed 's/^/  | /' "$2" | head -20
    fi
}

printf 'P5 28 28 255\n' >"$work/a.pgm"
head -c 784 /dev/urandom >>"$work/a.pgm"
printf 'not an image' >"$work/broken.png"
printf 'input h=8 w=8 c=1\nconv a k=9 p=0 c=2\n' >"$work/bad.model"

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
check "info --json" 0 "$facecl" info --json "$models/nn1.model"
expect_text "info json params" "$work/out" '"params": 140025664'
check "info bad model" 1 "$facecl" info "$work/bad.model"
expect_text "bad model names the line" "$work/err" "bad.model:2:"
check "info missing model" 1 "$facecl" info "$work/none.model"
check "embed" 0 "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm" --npy "$work/e.npy" --csv "$work/e.csv"
expect_text "embed csv row" "$work/e.csv" "a.pgm,"
[ -s "$work/e.npy" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAILED: no .npy written"; }
check "embed broken image" 1 "$facecl" embed "$models/fmnist-tiny.model" "$work/a.pgm" "$work/broken.png"
expect_text "broken image named" "$work/err" "broken.png"
check "embed bad weights" 1 "$facecl" embed "$models/fmnist-tiny.model" --weights "$work/a.pgm" "$work/a.pgm"
expect_text "bad weights explained" "$work/err" "safetensors"

check "demo without data" 1 "$facecl" demo --data "$work/no-icds" --model "$models/fmnist-tiny.model"
expect_text "demo names the data package" "$work/err" "dataset-fashion-mnist"
check "demo wrong model input" 2 "$facecl" demo --model "$models/nns2.model"
if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    check "demo" 0 "$facecl" demo --images 60 --model "$models/fmnist-tiny.model"
    expect_text "demo reports throughput" "$work/out" "images/s"
    expect_text "demo reports rank-1" "$work/out" "untrained embedding"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
