#!/usr/bin/env bash
# bench/losses.sh end to end on a tiny budget: both protocols (the open-set split
# written and used), two losses, two seeds; the table, CSV and plot it writes; a second
# run repeats nothing; bad options exit 2. Prints 'N passed, N failed'.
#   tests/bench_losses.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
cd "$src" || exit 1
run() { bench/losses.sh --build "$build" --model models/fmnist-tiny.model --steps 4 --seeds "1 2" \
    --losses "batch-all arcface" --out "$work/out" "$@"; }
if run >"$work/log" 2>&1; then ok; else bad "bench/losses.sh exit $?"; sed 's/^/  | /' "$work/log" | tail -20; fi
[ "$(grep -c '^| \(closed\|open\) |' "$work/out/table.md" 2>/dev/null)" = 4 ] && ok || bad "table.md rows"
[ "$(wc -l <"$work/out/results.csv" 2>/dev/null)" = 9 ] && ok || bad "results.csv: a header and 8 runs"
python3 -c "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])" "$work/out/losses.svg" 2>/dev/null && ok ||
    bad "losses.svg is not well-formed"
# The open set: 6 classes to train on, the other 4 (relabelled 0-3) to evaluate on.
python3 - "$work/out" <<'PY' && ok || bad "open-set split"
import struct, sys
o = sys.argv[1]
def labels(p):
    b = open(p, "rb").read()
    assert struct.unpack(">II", b[:8]) == (2049, len(b) - 8)
    return set(b[8:])
assert labels(f"{o}/open-train/train-labels-idx1-ubyte") == set(range(6))
assert labels(f"{o}/open-eval/train-labels-idx1-ubyte") == set(range(4))
assert labels(f"{o}/open-eval/t10k-labels-idx1-ubyte") == set(range(4))
PY
stamp=$(stat -c %Y "$work/out/open/arcface-seed2-steps4/eval/results.json" 2>/dev/null)
run >"$work/log2" 2>&1 && ! grep -q '^== ' "$work/log2" &&
    [ "$(stat -c %Y "$work/out/open/arcface-seed2-steps4/eval/results.json")" = "$stamp" ] && ok ||
    bad "a second run trained again"
run --losses "batch-all median" >/dev/null 2>&1; [ $? = 2 ] && ok || bad "unknown loss: exit 2"
run --protocols "closed sideways" >/dev/null 2>&1; [ $? = 2 ] && ok || bad "unknown protocol: exit 2"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
