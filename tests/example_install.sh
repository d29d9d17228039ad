#!/usr/bin/env bash
# The public API as another program uses it: install the build into a temporary prefix
# (meson install --destdir), build examples/embed_pair.c against that installation
# through pkg-config alone (no source tree on the include path), run it on two images,
# and check it prints the distance and verdict `facecl verify` prints for them.
#   tests/example_install.sh BUILD_DIR SOURCE_DIR FACECL_BINARY MODELS_DIR
set -u
build=$1 source=$2 facecl=$3 models=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }

if ! meson install -C "$build" --destdir "$work/root" --no-rebuild --quiet >"$work/install.log" 2>&1; then
    fail "meson install --destdir"; sed 's/^/  | /' "$work/install.log" | tail -20
    echo "$passed passed, $failed failed"; exit 1
fi
passed=$((passed + 1))
pc=$(find "$work/root" -name facecl.pc | head -n 1)
[ -n "$pc" ] && passed=$((passed + 1)) || fail "no facecl.pc installed"
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$work/root" pkg-config --cflags --libs facecl) ||
    fail "pkg-config --cflags --libs facecl"
libdir=$(dirname "$(find "$work/root" -name 'libfacecl.so*' | head -n 1)")
# A sanitizer build's library needs its runtime loaded first: the program gets it too.
sanitize=()
readelf -d "$libdir/libfacecl.so" 2>/dev/null | grep -q 'libasan' && sanitize=(-fsanitize=address,undefined)
# shellcheck disable=SC2086 # the flags are words
if cc "${sanitize[@]}" -std=c11 -Wall -Wextra -Werror "$source/examples/embed_pair.c" $flags -o "$work/embed_pair" 2>"$work/cc.log"; then
    passed=$((passed + 1))
else
    fail "examples/embed_pair.c does not build against the installed library"; sed 's/^/  | /' "$work/cc.log"
fi

# Weights and a stored threshold: a tiny training run and its evaluation.
for id in ann ben cat; do
    mkdir -p "$work/faces/$id"
    for i in 1 2 3 4; do
        { printf 'P5 20 20 255\n'; head -c 400 /dev/urandom; } >"$work/faces/$id/$i.pgm"
    done
done
"$facecl" train "$models/fmnist-tiny.model" "$work/faces" --steps 4 --identities 3 --per-identity 2 \
    --out "$work/run" --quiet >/dev/null 2>&1 || fail "facecl train"
w=$work/run/weights.safetensors
"$facecl" eval "$models/fmnist-tiny.model" --weights "$w" "$work/faces" --far-images 12 --far 0.1 \
    --out "$work/eval" >/dev/null 2>&1 || fail "facecl eval"

a=$work/faces/ann/1.pgm b=$work/faces/ben/2.pgm
if [ -x "$work/embed_pair" ]; then
    LD_LIBRARY_PATH=$libdir "$work/embed_pair" "$models/fmnist-tiny.model" "$w" "$a" "$b" >"$work/out" 2>&1 &&
        passed=$((passed + 1)) || { fail "embed_pair exit $?"; sed 's/^/  | /' "$work/out"; }
    "$facecl" verify "$models/fmnist-tiny.model" --weights "$w" "$a" "$b" >"$work/verify" 2>&1 || fail "facecl verify"
    # verify: "distance 0.1234, threshold 0.5600 (stored by facecl eval): same"
    # embed_pair: "A B: squared distance 0.123400, threshold 0.5600: same"
    want=$(sed -n 's/^distance \([0-9.]*\), threshold \([0-9.]*\).*: \([a-z]*\)$/\1 \2 \3/p' "$work/verify")
    got=$(sed -n 's/.*squared distance \([0-9.]*\), threshold \([0-9.]*\): \([a-z]*\)$/\1 \2 \3/p' "$work/out" |
        awk '{ printf "%.4f %s %s\n", $1, $2, $3 }')
    if [ -n "$want" ] && [ "$got" = "$want" ]; then passed=$((passed + 1)); else
        fail "embed_pair says '$got', facecl verify '$want'"; sed 's/^/  | /' "$work/out" "$work/verify"
    fi
    LD_LIBRARY_PATH=$libdir "$work/embed_pair" "$models/fmnist-tiny.model" "$w" "$a" "$work/none.png" >"$work/out" 2>&1
    [ $? = 1 ] && grep -q "none.png" "$work/out" && passed=$((passed + 1)) ||
        { fail "a missing image: exit 1 naming it"; sed 's/^/  | /' "$work/out"; }
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
