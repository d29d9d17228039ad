#!/usr/bin/env bash
# facecl.sh: set up, build and run facecl on a Debian/Ubuntu machine.
#
#   ./facecl.sh demo      install what is missing, build, run the main job
#   ./facecl.sh test      install what is missing, build, run every test suite
#   ./facecl.sh sanitize  build with -Db_sanitize=address,undefined and run the tests
#   ./facecl.sh fuzz [S]  build the libFuzzer harnesses (clang) and fuzz each parser S seconds (60)
#   ./facecl.sh compare   facecl against OpenBLAS, CLBlast and PyTorch on this machine
#                         (bench/compare.sh; installs libopenblas-dev and python3-torch too)
#   ./facecl.sh setup     only install the Debian packages and build
#
# Packages are installed with apt-get when missing: as root directly, otherwise
# through sudo; without either it names the packages to install and stops.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential meson ninja-build pkg-config python3
          ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo libclblast-dev
          libstb-dev libjpeg-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcmocka-dev oclgrind dataset-fashion-mnist
          openmpi-bin libopenmpi-dev)
BUILD=${FACECL_BUILD_DIR:-build}

say() { printf 'facecl.sh: %s\n' "$*" >&2; }

install_packages() { # extra packages beyond PACKAGES as arguments
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "not a Debian-based system: install the equivalents of ${PACKAGES[*]} yourself"
        return 0
    fi
    local missing=() p
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            say "these Debian packages are missing and installing them needs root:"
            say "  apt-get install ${missing[*]}"
            exit 1
        fi
    fi
    say "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The Python oracles that tests compare with (tests/oracle.sh): Debian's torch and
# torchvision, and from PyPI into a venv over the system packages (.oracles/):
# facenet-pytorch with --no-deps (its pins would pull a second torch, gigabytes), and
# onnx and onnxruntime at versions that run on Debian's numpy, which is held (numpy 2
# would break Debian's torch 1.13).
ORACLE_PACKAGES=(python3-torch python3-torchvision python3-numpy python3-pil python3-requests python3-tqdm python3-venv python3-pip)
install_oracles() {
    install_packages "${ORACLE_PACKAGES[@]}"
    # Debian's own Python: the one python3-torch installs into (a pyenv or conda python3 is not).
    [ -x .oracles/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .oracles
    if ! .oracles/bin/python -c 'import facenet_pytorch' 2>/dev/null; then
        say "installing facenet-pytorch into .oracles/"
        .oracles/bin/python -m pip install -q --no-deps 'facenet-pytorch==2.6.0' ||
            say "could not install facenet-pytorch (offline?): the oracle test will fail; FACECL_REQUIRE_ORACLES=0 skips it"
    fi
    # A real photograph for the MTCNN oracle: skimage/data/astronaut.png (public domain),
    # taken from the scikit-image wheel (only the file; nothing is installed).
    if [ ! -f .oracles/data/astronaut.png ]; then
        say "fetching astronaut.png from the scikit-image wheel into .oracles/data/"
        mkdir -p .oracles/data .oracles/wheels
        if .oracles/bin/python -m pip download -q --no-deps --only-binary :all: -d .oracles/wheels 'scikit-image==0.26.0'; then
            .oracles/bin/python -c 'import glob, sys, zipfile
z = zipfile.ZipFile(glob.glob(".oracles/wheels/scikit_image-*.whl")[0])
open(".oracles/data/astronaut.png", "wb").write(z.read("skimage/data/astronaut.png"))'
            rm -rf .oracles/wheels
        else
            say "could not fetch scikit-image (offline?): the mtcnn oracle test will fail; FACECL_REQUIRE_ORACLES=0 skips it"
        fi
    fi
    if ! .oracles/bin/python -c 'import onnx, onnxruntime' 2>/dev/null; then
        say "installing onnx and onnxruntime into .oracles/"
        local numpy
        numpy=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
        .oracles/bin/python -m pip install -q 'onnx==1.17.0' 'onnxruntime==1.20.1' "numpy==$numpy" ||
            say "could not install onnx and onnxruntime (offline?): the onnx test will fail; FACECL_REQUIRE_ORACLES=0 skips it"
    fi
}

build() {
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@"
    fi
    ninja -C "$dir"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)
        install_packages
        build "$BUILD"
        ;;
    demo)
        install_packages
        build "$BUILD"
        "$BUILD/app/facecl" devices
        echo
        exec "$BUILD/app/facecl" demo "$@"
        ;;
    test)
        install_packages
        install_oracles
        build "$BUILD"
        FACECL_REQUIRE_ORACLES=${FACECL_REQUIRE_ORACLES:-1} meson test -C "$BUILD" --print-errorlogs "$@"
        ;;
    compare)
        # The peers: OpenBLAS for the GEMM ceiling (found when Meson configures, hence
        # the reconfigure) and PyTorch for whole networks.
        install_packages libopenblas-dev python3-torch
        if [ -f "$BUILD/build.ninja" ]; then meson setup --reconfigure "$BUILD"; fi
        build "$BUILD"
        exec bench/compare.sh "$BUILD" "$@"
        ;;
    sanitize)
        install_packages
        build "$BUILD-asan" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
        # Every suite but oclgrind and slow: the host code is instrumented, PoCL's
        # JIT-compiled kernels are not (the oclgrind suite of the normal build checks
        # those; it cannot run here, as ASan must be loaded before Oclgrind's preloaded
        # runtime); slow's quick sweep adds no host code the cli suite's sweep misses.
        # tests/lsan.supp names a leak inside PoCL's driver; matching it needs whole
        # stacks, hence fast_unwind_on_malloc=0. use_tls=0: scanning the thread-local
        # blocks of PoCL's worker threads crashes LeakSanitizer itself ("Tracer caught
        # signal 11") after a program built from source; not scanning them can only add
        # reports, never hide a leak (tests/lsan.supp names the one it adds: glibc's).
        # Instrumented code runs 2-3x slower, so the tests' timeouts are tripled:
        # fault_injection took 253 s of its 300 on a fast hour of the CI machine.
        ASAN_OPTIONS=abort_on_error=1:fast_unwind_on_malloc=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp":use_tls=0 \
            meson test -C "$BUILD-asan" --no-suite oclgrind --no-suite slow --timeout-multiplier 3 \
            --print-errorlogs "$@"
        ;;
    fuzz)
        seconds=${1:-60}
        install_packages clang
        CC=clang build "$BUILD-fuzz" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
            -Dbuildtype=debugoptimized
        # Each target: the seed corpus (tests/fuzz/corpus) replayed, then mutated for S
        # seconds; what it learns is kept in $BUILD-fuzz/corpus, a crash in $BUILD-fuzz/crash-*.
        status=0
        for target in model safetensors idx pairs image cache tuning onnx; do
            mkdir -p "$BUILD-fuzz/corpus/$target"
            log="$BUILD-fuzz/fuzz-$target.log"
            if "$BUILD-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
                -artifact_prefix="$BUILD-fuzz/crash-$target-" "$BUILD-fuzz/corpus/$target" \
                "tests/fuzz/corpus/$target" >"$log" 2>&1; then
                say "fuzz_$target: $(grep -a 'DONE' "$log" | tail -1 | sed 's/^#\([0-9]*\)[[:space:]]*DONE[[:space:]]*/\1 runs, /')"
            else
                say "fuzz_$target FAILED: $(grep -a -m1 -E 'ERROR|Assertion|SUMMARY' "$log"); log: $log"
                status=1
            fi
        done
        exit $status
        ;;
    help|-h|--help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        ;;
    *)
        say "unknown command '$cmd' (try: demo, test, compare, sanitize, fuzz, setup)"
        exit 2
        ;;
esac
