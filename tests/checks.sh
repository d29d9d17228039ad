# Shared by the shell test suites (sourced): pass/fail counting, expected exit statuses,
# expected text, and a training run that must resume bit for bit. The sourcing script
# sets $facecl and $work; it prints "$passed passed, $failed failed" at its end.
passed=0 failed=0

check() { # description, expected exit status, command...
    local what=$1 want=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" = "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $what: exit $got, wanted $want"
        sed 's/^/  | /' "$work/out" "$work/err" | head -20
    fi
}
expect_text() { # description, file, text
    if grep -q -- "$3" "$2"; then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "FAILED: $1: '$3' not in output"
        sed 's/^/  | /' "$2" | head -20
    fi
}

# Trains 4 steps in one go (into OUT) and paused after 2, then resumed (into OUT-2): the
# weights must be the same bit for bit. Arguments: data, what, OUT, model, then options.
same_after_resume_on() {
    local data=$1 what=$2 out=$3 model=$4
    shift 4
    local args=(--steps 4 --identities 3 --per-identity 2 --quiet "$@")
    check "train $what" 0 "$facecl" train "$model" "$data" "${args[@]}" --out "$out"
    check "train $what paused" 130 "$facecl" train "$model" "$data" "${args[@]}" --out "$out-2" --stop-at 2
    check "train $what resumed" 0 "$facecl" train "$model" "$data" "${args[@]}" --out "$out-2" --resume
    cmp -s "$out/weights.safetensors" "$out-2/weights.safetensors" && passed=$((passed + 1)) ||
        { failed=$((failed + 1)); echo "FAILED: $what: resumed weights differ"; }
}
