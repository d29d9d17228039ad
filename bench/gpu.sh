#!/usr/bin/env bash
# The GPU measurements of issue #26 in one run that fits a lent GPU's minutes: every
# kernel built, the kernel test binaries on the GPU, facecl's GEMM at n = 1024 and 2048
# (the device default, the tiled kernel there; the register kernel; CLBlast), a
# `facecl tune` of NN2 and NN1, then NN2 and NN1 against PyTorch + cuDNN on the same
# GPU with the per-kernel profile (bench_compare). Each step's log goes to OUT, and
# summary.txt has a line a step.
#   bench/gpu.sh [BUILD_DIR [OUT]]    (from the source directory; default build,
#                                      bench/results/gpu)
# FACECL_DEVICE picks the device (default gpu). GPU_BUDGET (seconds, default 480)
# bounds the whole run: a step gets at most what is left, a step that would get under
# 10 s is skipped. Where the NVIDIA driver's library is mounted without an ICD file (a
# container), one is written under OUT and OCL_ICD_VENDORS points at it. PyTorch for
# the peer: python3 with torch and CUDA (PYTHON, default python3); without it the
# comparison runs without peer columns. Exit status 1 when a step failed or timed out.
set -u
build=${1:-build} out=${2:-bench/results/gpu}
mkdir -p "$out" || exit 1
: >"$out/summary.txt"
export FACECL_DEVICE=${FACECL_DEVICE:-gpu}
export FACECL_TEST_DEVICE=${FACECL_TEST_DEVICE:-$FACECL_DEVICE}
export FACECL_CACHE_DIR=${FACECL_CACHE_DIR:-$out/cache}
if ! ls /etc/OpenCL/vendors/*nvidia* >/dev/null 2>&1 && [ -z "${OCL_ICD_VENDORS:-}" ]; then
    for lib in /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1; do
        if [ -e "$lib" ]; then
            mkdir -p "$out/vendors" && echo "$lib" >"$out/vendors/nvidia.icd"
            export OCL_ICD_VENDORS=$out/vendors
            break
        fi
    done
fi
budget=${GPU_BUDGET:-480} start=$SECONDS failed=0

# step NAME MOST COMMAND...: COMMAND with a timeout of MOST seconds or what is left.
step() {
    local name=$1 most=$2 left rc t0
    shift 2
    left=$((budget - (SECONDS - start)))
    if [ "$left" -lt 10 ]; then
        echo "$name: skipped, the budget is spent" | tee -a "$out/summary.txt"
        return
    fi
    [ "$most" -gt "$left" ] && most=$left
    echo "== $name (at most $most s)"
    t0=$SECONDS
    timeout "$most" "$@" >"$out/$name.log" 2>&1
    rc=$?
    [ $rc = 0 ] || failed=$((failed + 1))
    echo "$name: exit $rc in $((SECONDS - t0)) s$([ $rc = 124 ] && echo ' (timed out)')" | tee -a "$out/summary.txt"
    tail -n 25 "$out/$name.log"
}

step devices 60 "$build/app/facecl" devices --check
for t in gemm layers tune network; do
    step "test_$t" 120 "$build/tests/test_$t"
done
# The GEMM: the device default (tiled on a GPU with on-chip local memory), facecl's
# register kernel as the GPU fallback configures it, and CLBlast.
step gemm_default 45 "$build/bench/bench_gemm" 1024 2048
step gemm_register 45 env FACECL_GEMM_CONFIG=tm=4,vw=4,wn=1,ku=1,lx=0,ly=0,kc=0,sk=1,pb=0 \
    "$build/bench/bench_gemm" 1024 2048
step gemm_clblast 45 env FACECL_GEMM_CONFIG=clblast "$build/bench/bench_gemm" 1024 2048
step tune 150 "$build/app/facecl" tune --batch 16 --seconds 120 models/nn2.model models/nn1.model
py=${PYTHON:-python3}
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    step pytorch_cuda 120 sh -c '"$0" bench/pytorch_peer.py "$1" models/nn2.model models/nn1.model --device cuda \
        --seconds 2 >"$2"' "$py" "$build/app/facecl" "$out/pytorch_cuda.txt"
    step compare 180 "$build/bench/bench_compare" --models models/nn2.model,models/nn1.model --seconds 2 \
        --tune-seconds 0 --peer "$out/pytorch_cuda.txt"
else
    echo "pytorch_cuda: skipped, $py has no torch with CUDA" | tee -a "$out/summary.txt"
    step compare 180 "$build/bench/bench_compare" --models models/nn2.model,models/nn1.model --seconds 2 \
        --tune-seconds 0
fi
"$build/app/facecl" tune --show >"$out/tuning.txt" 2>&1
echo "done in $((SECONDS - start)) s, $failed step(s) failed or timed out; logs in $out" | tee -a "$out/summary.txt"
[ "$failed" = 0 ]
