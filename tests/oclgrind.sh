#!/usr/bin/env bash
# Runs a test executable on the Oclgrind simulator (out-of-bounds accesses and data
# races reported) and fails on any report, even when the test itself passes.
#   tests/oclgrind.sh TEST_EXECUTABLE
# Oclgrind 21.10's --uninitialized check cannot run LLVM's `freeze` instruction,
# which current compilers emit, so it is left off.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
oclgrind --data-races --log "$log" "$@"
status=$?
if [ -s "$log" ]; then
    echo "Oclgrind reported errors:"
    cat "$log"
    exit 1
fi
exit $status
