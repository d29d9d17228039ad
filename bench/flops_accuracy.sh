#!/usr/bin/env bash
# The full FLOPS-versus-accuracy sweep for bench/RESULTS.md: runs
# `facecl bench flops-accuracy` (every option passes through; an interrupted sweep
# continues when run again), renders the SVG plots as PNG too when rsvg-convert
# (Debian librsvg2-bin) is there, and prints a markdown block with the command, the
# device, the date, the tables and the plots' paths, ready to paste.
#   bench/flops_accuracy.sh [--build DIR] [facecl bench flops-accuracy options]
set -euo pipefail
build=build out=runs/flops-accuracy
args=()
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
facecl=$build/app/facecl
[ -x "$facecl" ] || { echo "bench/flops_accuracy.sh: $facecl not built (./facecl.sh setup)" >&2; exit 1; }
"$facecl" bench flops-accuracy --out "$out" "${args[@]}" >&2
if command -v rsvg-convert >/dev/null 2>&1; then
    for svg in "$out"/flops_val.svg "$out"/time_val.svg "$out"/time_accuracy.svg; do
        rsvg-convert "$svg" -o "${svg%.svg}.png"
    done
fi
echo "Command: \`bench/flops_accuracy.sh --out $out ${args[*]}\` ($(git describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "Date: $(date -u +%Y-%m-%d); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo
echo '```'
cat "$out/table.txt"
echo '```'
