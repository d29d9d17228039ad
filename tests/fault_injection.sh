#!/usr/bin/env bash
# Fault injection: a short training run with one OpenCL call made to fail, for every
# wrapped entry point (tests/fault/cl_fault.c): every call of the entry points called
# at most 24 times in a run (buffers, kernels, programs, reads, writes: so every call
# site of them), the first three, middle and last calls of the rest (the argument and
# enqueue calls, which all go through one site). Both losses are run. Each run must end with exit 0 (the failure was recovered from, e.g. a kernel
# cache that cannot be written) or 1 with a message, never a signal, a hang or a
# sanitizer report; a checkpoint left behind must load. Program builds are failed with
# an empty kernel cache, everything else with a warm one.
#   tests/fault_injection.sh FACECL_BINARY MODELS_DIR CL_FAULT_LIBRARY
set -u
facecl=$1 models=$2 shim=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
model=$models/fmnist-tiny.model
for id in ann ben cat; do
    mkdir -p "$work/faces/$id"
    for i in 1 2 3; do
        printf 'P5 20 20 255\n' >"$work/faces/$id/$i.pgm"
        head -c 400 /dev/urandom >>"$work/faces/$id/$i.pgm"
    done
done
printf 'P5 28 28 255\n' >"$work/probe.pgm"
head -c 784 /dev/zero >>"$work/probe.pgm"

train() { # cache dir, then env assignments
    local cache=$1
    shift
    rm -rf "$work/out"
    env FACECL_CACHE_DIR="$cache" LD_PRELOAD="$shim" "$@" timeout 120 "$facecl" train "$model" "$work/faces" \
        --steps 2 --identities 3 --per-identity 2 --checkpoint-every 1 --out "$work/out" --quiet --loss "$loss" $profile
}

runs=0 failed=0 recovered=0

try() { # cache mode, function, k
    local cache=$work/warm
    if [ "$1" = cold ]; then cache=$work/cold-$runs; fi
    train "$cache" FACECL_FAULT="$2:$3" >"$work/stdout" 2>"$work/stderr"
    local status=$?
    runs=$((runs + 1))
    if [ "$status" = 0 ]; then
        recovered=$((recovered + 1))
    elif [ "$status" != 1 ] || ! grep -q "facecl" "$work/stderr"; then
        failed=$((failed + 1))
        echo "FAILED: $variant, $2 call $3 ($1 cache): exit $status"
        sed 's/^/  | /' "$work/stderr" | tail -8
        return
    fi
    if [ -e "$work/out/checkpoint.safetensors" ] &&
        ! "$facecl" embed "$model" --weights "$work/out/checkpoint.safetensors" "$work/probe.pgm" >/dev/null 2>&1; then
        failed=$((failed + 1))
        echo "FAILED: $2 call $3 ($1 cache): the checkpoint left behind does not load"
    fi
}

# The profiled run times every kernel through events: their calls are failed too.
for variant in triplet softmax "triplet --profile"; do
    read -r loss profile <<<"$variant"
    # Warm a kernel cache, and count the calls of a whole run with it and without.
    rm -rf "$work/warm" "$work/cold-cache" "$work"/*-counts
    train "$work/warm" >/dev/null 2>&1
    train "$work/warm" FACECL_FAULT_COUNTS="$work/warm-counts" >/dev/null 2>&1 || { echo "FAILED: run without faults"; exit 1; }
    train "$work/cold-cache" FACECL_FAULT_COUNTS="$work/cold-counts" >/dev/null 2>&1 || { echo "FAILED: cold run"; exit 1; }
    for mode in warm cold; do
        while read -r fn count; do
            [ "$count" -gt 0 ] || continue
            # Builds and program queries only differ with an empty cache; the rest is tried warm.
            case $fn in clCreateProgramWithSource|clBuildProgram|clGetProgramInfo|clGetProgramBuildInfo)
                [ $mode = cold ] || continue ;;
                        *) [ $mode = warm ] || continue ;; esac
            # Only the event calls differ in the profiled run.
            [ -z "$profile" ] || case $fn in clWaitForEvents|clGetEventProfilingInfo) ;; *) continue ;; esac
            if [ "$count" -le 24 ] && [ $mode = warm ]; then ks=$(seq 1 "$count"); else
                ks=$(printf '%s\n' 1 2 3 $(((count + 1) / 2)) "$count" | awk -v c="$count" '$1 <= c' | sort -nu)
            fi
            for k in $ks; do
                try "$mode" "$fn" "$k"
            done
        done <"$work/$mode-counts"
    done
done
echo "$runs runs with one failing OpenCL call: $((runs - recovered - failed)) clean errors, $recovered recovered, $failed failed"
[ "$failed" = 0 ]
