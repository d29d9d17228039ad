#!/usr/bin/env bash
# Cold and warm start of building every facecl kernel, with and without facecl's
# disk cache, each scenario in fresh processes.
#   bench/startup.sh [BUILD_DIR] [RUNS] [MODEL]
# With MODEL (e.g. models/nn2.model): every kernel a training step of MODEL needs,
# its GEMM configurations included, instead of every kernel file.
# "cold" empties both caches (facecl's and PoCL's own kernel cache) before every run;
# "warm" fills them once, then measures. POCL_KERNEL_CACHE=0 shows facecl's cache
# alone, as on a driver that keeps no cache of its own.
set -euo pipefail
build=${1:-build}
runs=${2:-5}
model=${3:-}
exe=$build/bench/bench_startup
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

scenario() { # name, cold(1/0), facecl disk cache (1/0), pocl kernel cache (1/0)
    local name=$1 cold=$2 disk=$3 pocl=$4 times=() i
    local env=(FACECL_CACHE_DIR="$work/facecl" POCL_CACHE_DIR="$work/pocl" FACECL_DISK_CACHE=$disk
               POCL_KERNEL_CACHE=$pocl)
    rm -rf "$work/facecl" "$work/pocl"
    [ "$cold" = 0 ] && env "${env[@]}" "$exe" $model >/dev/null
    for ((i = 0; i < runs; i++)); do
        [ "$cold" = 1 ] && rm -rf "$work/facecl" "$work/pocl"
        times+=("$(env "${env[@]}" "$exe" $model | awk '{print $2 + $4}')")
    done
    printf '| %-44s | %8s |\n' "$name" "$(printf '%s\n' "${times[@]}" | median)"
}

echo "| scenario (open device + build ${model:-all kernels}) | median ms |"
echo "|---|---|"
scenario "cold, facecl disk cache off" 1 0 1
scenario "cold, facecl disk cache on" 1 1 1
scenario "warm PoCL cache, facecl disk cache off" 0 0 1
scenario "warm PoCL cache, facecl disk cache on" 0 1 1
scenario "PoCL cache disabled, facecl disk cache off" 0 0 0
scenario "PoCL cache disabled, warm facecl disk cache" 0 1 0
