#!/usr/bin/env bash
# facecl against its peers on this machine, in one run: GEMM GFLOP/s (facecl default and
# tuned, CLBlast default and hand-set, OpenBLAS on the host), NN2, NN1 and
# Inception-ResNet-v1 images/s for inference (batch 1, 16) and a training step (batch 16) next to PyTorch on the same
# cores (and inference next to onnxruntime running facecl's ONNX export), and where a
# training step's device time goes. Writes table.txt, results.json, pytorch.txt and
# onnxruntime.txt to bench/results/compare/ (or OUT).
#   bench/compare.sh [BUILD_DIR [OUT]]        (from the source directory)
# PyTorch comes from Debian's python3-torch (the peer is skipped without it); OpenBLAS
# from libopenblas-dev and CLBlast from libclblast-dev at build time.
set -eu
build=${1:-build} out=${2:-bench/results/compare}
# MODELS: a comma-separated list of model files instead of the default three.
models=${MODELS:-models/nn2.model,models/nn1.model,models/inception-resnet-v1.model}
mkdir -p "$out"
py=
for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c 'import torch' 2>/dev/null; then py=$candidate; break; fi
done
if [ -n "$py" ]; then
    echo "PyTorch peer ($py), 2 threads..."
    "$py" bench/pytorch_peer.py "$build/app/facecl" ${models//,/ } --threads 2 --seconds 10 >"$out/pytorch.txt"
    cat "$out/pytorch.txt"
else
    echo "PyTorch is not installed (apt-get install python3-torch): its columns stay empty"
    : >"$out/pytorch.txt"
fi
# onnxruntime, the runtime an inference user would pick instead, on facecl's own export.
ort_py=
for candidate in .oracles/bin/python /usr/bin/python3 python3; do
    if "$candidate" -c 'import onnxruntime' 2>/dev/null; then ort_py=$candidate; break; fi
done
if [ -n "$ort_py" ]; then
    echo "onnxruntime peer ($ort_py), 2 threads..."
    "$ort_py" bench/onnxruntime_peer.py "$build/app/facecl" ${models//,/ } --threads 2 >"$out/onnxruntime.txt"
    cat "$out/onnxruntime.txt"
else
    echo "onnxruntime is not installed (./facecl.sh test installs it into .oracles/): its columns stay empty"
    : >"$out/onnxruntime.txt"
fi
cat "$out/pytorch.txt" "$out/onnxruntime.txt" >"$out/peers.txt"
"$build/bench/bench_compare" --models "$models" --peer "$out/peers.txt" --json "$out/results.json" |
    tee "$out/table.txt"
