#!/usr/bin/env bash
# A test against an outside implementation installed as a Python package (an oracle).
#   oracle.sh SCRIPT FACECL MODELS_DIR
# SCRIPT (tests/facenet_pytorch_oracle.py, tests/onnx_oracle.py) runs under
# .oracles/bin/python (made by `./facecl.sh test`: Debian's torch and torchvision,
# facenet-pytorch, onnx and onnxruntime from PyPI), else python3, in a scratch directory.
# Exit 77 from it (an oracle is not installed) skips the test, unless
# FACECL_REQUIRE_ORACLES=1 (as `./facecl.sh test` sets it), which makes a missing oracle
# a failure: CI cannot pass by not comparing.
set -u
script=$1 facecl=$2 models=$3
root=$(cd "$(dirname "$0")/.." && pwd)
py=python3
[ -x "$root/.oracles/bin/python" ] && py=$root/.oracles/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" "$root/tests/$script" "$facecl" "$models" "$work"
rc=$?
if [ "$rc" -eq 77 ] && [ "${FACECL_REQUIRE_ORACLES:-0}" = 1 ]; then
    echo "$script: FACECL_REQUIRE_ORACLES=1 but the oracle is not installed ($py)"
    exit 1
fi
exit "$rc"
