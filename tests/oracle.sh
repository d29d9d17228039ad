#!/usr/bin/env bash
# facecl's Inception-ResNet-v1 against facenet-pytorch itself (tests/facenet_pytorch_oracle.py).
#   facenet_pytorch.sh FACECL MODELS_DIR
# The oracle's Python is .oracles/bin/python (made by `./facecl.sh test`: Debian's torch
# and torchvision, facenet-pytorch from PyPI), else python3. Without facenet-pytorch the
# test is skipped, unless FACECL_REQUIRE_ORACLES=1 (as `./facecl.sh test` sets it),
# which makes a missing oracle a failure: CI cannot pass by not comparing.
set -u
facecl=$1 models=$2
root=$(cd "$(dirname "$0")/.." && pwd)
py=python3
[ -x "$root/.oracles/bin/python" ] && py=$root/.oracles/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" "$root/tests/facenet_pytorch_oracle.py" "$facecl" "$models" "$work"
rc=$?
if [ "$rc" -eq 77 ] && [ "${FACECL_REQUIRE_ORACLES:-0}" = 1 ]; then
    echo "facenet_pytorch: FACECL_REQUIRE_ORACLES=1 but the oracle is not installed ($py)"
    exit 1
fi
exit "$rc"
