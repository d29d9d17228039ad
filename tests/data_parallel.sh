#!/usr/bin/env bash
# Data-parallel training (#25): with the same global batch, seed and split, one device
# running two replicas (--devices 0,0), two devices (PoCL's pthread device twice) and
# two MPI ranks give bit-identical weights after 50 steps, as do four replicas in one
# process and two ranks of two; a checkpoint of 2 ranks resumes on 2 devices bit for bit;
# two ranks on two test hosts (network namespaces, Open MPI's TCP transport) match two
# on one; a rank killed with SIGKILL ends the job (no hang) with the last checkpoint
# intact; batch norm's statistics are the global batch's (fmnist-bn: the same bits over
# every split, and the one-device run's weights to rounding, where statistics of each
# replica's own images differ by 0.14); an OpenCL call failed anywhere in a replica's
# step ends the run with an error, never a replica waiting for the others for ever; and
# what data parallelism cannot do yet is refused, saying why.
# The plain one-device run sums its weight gradient over the whole batch in another
# order: with SGD it agrees to float rounding (1e-6 after 2 steps; measured 1.5e-8), and
# no further: AdaGrad's first steps divide a near-zero gradient by its own size, so
# rounding becomes a step of +-lr, and semi-hard mining turns rounding into other
# triplets within ~10 steps.
#   tests/data_parallel.sh FACECL_BINARY MODELS_DIR WEIGHTS_DIFF CL_FAULT_LIBRARY
# Needs Fashion-MNIST (exits 77 without it); the MPI cases need mpirun and a facecl built
# with MPI (./facecl.sh installs openmpi-bin and libopenmpi-dev), and say when skipped.
set -u
facecl=$1 models=$2 diff=$3 shim=$4
data=/usr/share/datasets/fashion-mnist
[ -r "$data/train-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST in $data: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
# fmnist-small with dropout: its masks must follow the image, not its place in a replica.
sed 's/^fc fc2 c=128/dropout drop1 rate=0.3\nfc fc2 c=128/' "$models/fmnist-small.model" >"$work/small-drop.model"
grep -q '^dropout' "$work/small-drop.model" || fail "no dropout in the test model"
args=(train "$work/small-drop.model" "$data" --steps 50 --identities 6 --per-identity 4 --checkpoint-every 10
      --seed 3 --quiet --tune-seconds 0)
two=(env POCL_DEVICES="pthread pthread")
mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
# Open MPI's plugins stay loaded to the end, so a sanitizer's leak report names them
# (tests/lsan.supp) instead of frames of unloaded code.
export OMPI_MCA_mca_base_component_disable_dlclose=1
run() { # NAME COMMAND...: a run that must succeed
    local name=$1
    shift
    "$@" --out "$work/$name" >"$work/$name.log" 2>&1 || { tail -20 "$work/$name.log"; fail "$name exited $?"; }
}
same() { # A B ATOL
    python3 "$diff" "$work/$1/weights.safetensors" "$work/$2/weights.safetensors" --atol "$3" ||
        fail "$1 and $2 differ by more than $3"
    echo "  ($1 vs $2)"
}
expect_refusal() { # WHAT_IT_SAYS COMMAND...
    local says=$1
    shift
    "$@" >"$work/refused.log" 2>&1 && fail "accepted: $*"
    grep -q "$says" "$work/refused.log" || { cat "$work/refused.log"; fail "no '$says' in the message for: $*"; }
}

run one "$facecl" "${args[@]/50/2}" --optimizer sgd
run split1 "$facecl" "${args[@]/50/2}" --optimizer sgd --devices 0,0
same one split1 1e-6
run onedev "$facecl" "${args[@]}" --devices 0,0
run two "${two[@]}" "$facecl" "${args[@]}" --devices 0,1
grep -q "data parallel, 2 replicas" "$work/two.log" || fail "no data-parallel summary: $(cat "$work/two.log")"
same onedev two 0
run four "$facecl" "${args[@]}" --devices 0,0,0,0
run three "$facecl" "${args[@]}" --devices 0,0,0 # 24 images as 8 + 8 + 8
[ -s "$work/three/weights.safetensors" ] || fail "three replicas wrote no weights"
# Batch norm, synchronised: each layer's sums are added over the replicas before use.
bn=(train "$models/fmnist-bn.model" "$data" --steps 30 --identities 6 --per-identity 4 --seed 3 --quiet
    --tune-seconds 0)
run bn_one "$facecl" "${bn[@]/30/2}" --optimizer sgd
run bn_split1 "$facecl" "${bn[@]/30/2}" --optimizer sgd --devices 0,0
same bn_one bn_split1 1e-5 # measured 1.5e-6; each replica's own statistics: 0.14
run bn_onedev "$facecl" "${bn[@]}" --devices 0,0
grep -q "sharing batch-norm statistics" "$work/bn_onedev.log" || fail "no statistics time: $(cat "$work/bn_onedev.log")"
run bn_two "${two[@]}" "$facecl" "${bn[@]}" --devices 0,1
same bn_onedev bn_two 0
run bn_four "$facecl" "${bn[@]}" --devices 0,0,0,0
# A failed OpenCL call anywhere in a step of two replicas: an error and an exit, not a
# replica waiting at a batch-norm meeting for one that has stopped. (Under ASan the
# preloaded wrapper comes before its runtime: allowed, as in fault_injection.sh.)
asan_preload="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
env ASAN_OPTIONS="$asan_preload" LD_PRELOAD="$shim" FACECL_FAULT_COUNTS="$work/counts" \
    "$facecl" "${bn[@]/30/2}" --devices 0,0 --out "$work/bn_counted" >/dev/null 2>&1 || fail "the counted run failed"
for call in clEnqueueNDRangeKernel clEnqueueReadBuffer clEnqueueWriteBuffer; do
    total=$(awk -v c="$call" '$1 == c { n = $2 } END { print n + 0 }' "$work/counts")
    [ "$total" -gt 20 ] || fail "only $total calls to $call counted"
    for k in $(seq $((total / 3)) $((total / 9 + 1)) "$total"); do # from the second step's set-up on
        rm -rf "$work/bn_fault"
        env ASAN_OPTIONS="$asan_preload" LD_PRELOAD="$shim" FACECL_FAULT="$call:$k" timeout -k 5 60 \
            "$facecl" "${bn[@]/30/2}" --devices 0,0 --out "$work/bn_fault" >"$work/fault.log" 2>&1
        status=$?
        [ "$status" = 124 ] || [ "$status" = 137 ] && fail "$call call $k of $total failed: the run hung"
        [ "$status" = 0 ] || grep -q "facecl" "$work/fault.log" ||
            fail "$call call $k: exit $status without a message: $(tail -5 "$work/fault.log")"
    done
done
echo "  (failed OpenCL calls in replicas: every run ended)"

if command -v mpirun >/dev/null && ! "$facecl" train --help | grep -q "built without MPI"; then
    run ranks "${mpi[@]}" "$facecl" "${args[@]}"
    same two ranks 0
    run bn_ranks "${mpi[@]}" "$facecl" "${bn[@]}"
    same bn_onedev bn_ranks 0
    run bn_ranks2x2 "${mpi[@]}" "$facecl" "${bn[@]}" --devices 0,0
    same bn_four bn_ranks2x2 0
    run ranks2x2 "${mpi[@]}" "$facecl" "${args[@]}" --devices 0,0
    grep -q "2 MPI ranks" "$work/ranks2x2.log" || fail "no ranks line: $(cat "$work/ranks2x2.log")"
    same four ranks2x2 0
    [ "$(grep -c '^done' "$work/ranks2x2.log")" = 1 ] || fail "not rank 0 alone reported: $(cat "$work/ranks2x2.log")"
    # Written by 2 ranks, resumed on 2 devices of one process: the uninterrupted run's bits.
    "${mpi[@]}" "$facecl" "${args[@]}" --stop-at 20 --out "$work/moved" >"$work/moved.log" 2>&1
    [ $? = 130 ] || { cat "$work/moved.log"; fail "the paused 2-rank run did not exit 130"; }
    run moved "${two[@]}" "$facecl" "${args[@]}" --devices 0,1 --resume
    same two moved 0
    # A rank killed: mpirun ends the job within a bounded time, the checkpoint whole.
    long=(train "$work/small-drop.model" "$data" --steps 100000 --identities 6 --per-identity 4
          --checkpoint-every 5 --quiet --tune-seconds 0)
    "${mpi[@]}" "$facecl" "${long[@]}" --out "$work/killed" >"$work/killed.log" 2>&1 &
    job=$!
    for _ in $(seq 300); do
        [ -s "$work/killed/train.csv" ] && [ "$(wc -l <"$work/killed/train.csv")" -gt 12 ] && break
        sleep 0.2
    done
    victim=
    for pid in $(pgrep -f "killed" ); do
        tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$pid
    done
    [ -n "$victim" ] || { kill "$job"; fail "rank 1 not found"; }
    kill -9 "$victim"
    for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$job" 2>/dev/null; then
        kill -9 "$job"
        fail "the job still ran 60 s after its rank 1 was killed"
    fi
    wait "$job" && fail "the job with a killed rank exited 0"
    steps=$(wc -l <"$work/killed/train.csv")
    "$facecl" train "${long[@]:1}" --steps 100000 --stop-at $((steps + 2)) --resume --out "$work/killed" \
        >"$work/resumed.log" 2>&1
    [ $? = 130 ] || { cat "$work/resumed.log"; fail "the checkpoint the killed job left did not resume"; }
    echo "  killed rank: the job ended, its checkpoint resumed on one device"
    # Two hosts of the project's own: two network namespaces joined by a veth pair, Open
    # MPI's TCP transport between them, mpirun's launcher entering the other namespace.
    ns=fcl$$
    trap 'ip netns del "${ns}a" 2>/dev/null; ip netns del "${ns}b" 2>/dev/null; rm -rf "$work"' EXIT
    if ip netns add "${ns}a" 2>/dev/null && ip netns add "${ns}b" 2>/dev/null &&
        ip link add "${ns}va" type veth peer name "${ns}vb" 2>/dev/null; then
        ip link set "${ns}va" netns "${ns}a" && ip link set "${ns}vb" netns "${ns}b" &&
            ip -n "${ns}a" addr add 10.77.0.1/24 dev "${ns}va" && ip -n "${ns}b" addr add 10.77.0.2/24 dev "${ns}vb" &&
            ip -n "${ns}a" link set "${ns}va" up && ip -n "${ns}b" link set "${ns}vb" up &&
            ip -n "${ns}a" link set lo up && ip -n "${ns}b" link set lo up || fail "the test hosts' network"
        cat >"$work/agent" <<AGENT
#!/bin/sh
# mpirun's rsh agent: HOST COMMAND..., run inside that test host's namespace
case \$1 in 10.77.0.1) ns=${ns}a;; 10.77.0.2) ns=${ns}b;; *) echo "no test host \$1" >&2; exit 1;; esac
shift
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
        chmod +x "$work/agent"
        printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' >"$work/hosts"
        hosts=(ip netns exec "${ns}a" mpirun --allow-run-as-root --hostfile "$work/hosts" -np 2
               --mca plm_rsh_agent "$work/agent" --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24
               --mca oob_tcp_if_include 10.77.0.0/24)
        run twohosts "${hosts[@]}" "$(realpath "$facecl")" "${args[@]}"
        same ranks twohosts 0
    else
        echo "no network namespaces here (ip netns needs root): the two-host case skipped"
    fi
else
    echo "mpirun or MPI support missing: the MPI cases skipped"
fi

expect_refusal "loss on the embedding alone" "${two[@]}" "$facecl" train "$models/fmnist-tiny.model" "$data" \
    --steps 2 --loss softmax --devices 0,1 --out "$work/softmax"
expect_refusal "not both" "$facecl" train "$models/fmnist-tiny.model" "$data" --device 0 --devices 0,0 --out "$work/x"
expect_refusal "cannot be split" "$facecl" train "$models/fmnist-tiny.model" "$data" --identities 2 --per-identity 2 \
    --devices 0,0,0,0,0 --out "$work/split"
expect_refusal "device" "$facecl" train "$models/fmnist-tiny.model" "$data" --devices 0,nosuchdevice --out "$work/nd"
echo "data parallel: all cases pass"
