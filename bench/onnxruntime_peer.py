#!/usr/bin/env python3
"""The onnxruntime peer of bench/compare.sh: each model exported by `facecl export`
(seeded random weights: speed does not depend on their values), run by onnxruntime's
CPU execution provider on the same cores, all graph optimisations on.

Prints `key value` lines (images per second): onnxruntime_version, ort_threads,
<model>_ort_infer_b1, <model>_ort_infer_b16; best of three rounds of --seconds each.

usage: onnxruntime_peer.py FACECL MODEL [MODEL ...] [--threads N] [--seconds S]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError:
    print("onnxruntime_peer: onnxruntime is not installed (./facecl.sh test puts it into .oracles/)", file=sys.stderr)
    sys.exit(3)


def rate(session, x, seconds):
    feed = {session.get_inputs()[0].name: x}
    session.run(None, feed)  # warm-up
    best = 0.0
    for _ in range(3):
        done, t0 = 0, time.perf_counter()
        while True:
            session.run(None, feed)
            done += 1
            t = time.perf_counter() - t0
            if t >= seconds and done >= 3:
                break
        best = max(best, len(x) * done / t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("facecl")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()
    print("onnxruntime_version", ort.__version__)
    print("ort_threads", args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            path = os.path.join(work, "model.onnx")
            subprocess.run([args.facecl, "export", model, "--seed", "1", path], check=True, stdout=subprocess.DEVNULL)
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            shape = session.get_inputs()[0].shape[1:]
            name = os.path.basename(model).rsplit(".", 1)[0]
            rng = np.random.default_rng(1)
            for batch in (1, 16):
                x = rng.uniform(0, 255, (batch, *shape)).astype(np.float32)
                print(f"{name}_ort_infer_b{batch} {rate(session, x, args.seconds):.3f}", flush=True)


if __name__ == "__main__":
    main()
