#!/usr/bin/env bash
# Semi-hard, batch-hard and batch-all mining (and softmax cross-entropy as the
# baseline) compared on the same model and budget, over several seeds: bench/losses.sh
# on the closed protocol (train split -> test split) with those four. Finished runs are
# kept in OUT and not repeated. --strategies picks some of them; --train-args adds
# options to every `facecl train` (a recipe, e.g. "--optimizer adam --no-flip").
#   bench/mining.sh [--steps N] [--seeds "1 2 3"] [--model M] [--out DIR] [--build DIR]
#                   [--strategies "semi-hard batch-hard batch-all softmax"] [--train-args "..."]
set -euo pipefail
args=(--protocols closed --out runs/mining --losses "semi-hard batch-hard batch-all softmax")
while [ $# -gt 0 ]; do
    case $1 in
        --strategies) args+=(--losses "$2"); shift 2 ;;
        --steps|--seeds|--model|--out|--build|--data|--train-args) args+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/mining.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
exec "$(dirname "$0")/losses.sh" "${args[@]}"
