#!/usr/bin/env python3
"""Compares two safetensors files tensor by tensor (float32): prints the largest absolute
difference, the largest magnitude, and how many tensors differ at all. Exit status 1 when
the largest difference exceeds --atol (default: any difference), 2 on unreadable input.
Plain Python (no numpy), for the tests: tests/data_parallel.sh."""
import argparse, array, json, struct, sys


def load(path):
    with open(path, 'rb') as f:
        data = f.read()
    (size,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        if t['dtype'] != 'F32':
            raise ValueError(f'{path}: {name} is {t["dtype"]}, not F32')
        a, b = t['data_offsets']
        out[name] = array.array('f', body[a:b])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('a')
    ap.add_argument('b')
    ap.add_argument('--atol', type=float, default=0.0)
    args = ap.parse_args()
    try:
        x, y = load(args.a), load(args.b)
    except (OSError, ValueError, KeyError, struct.error) as e:
        print(f'weights_diff: {e}', file=sys.stderr)
        return 2
    if x.keys() != y.keys():
        print(f'weights_diff: the files hold different tensors: {sorted(x.keys() ^ y.keys())}', file=sys.stderr)
        return 2
    worst, largest, differ = 0.0, 0.0, 0
    for name in x:
        if len(x[name]) != len(y[name]):
            print(f'weights_diff: {name} has {len(x[name])} and {len(y[name])} values', file=sys.stderr)
            return 2
        d = max((abs(p - q) for p, q in zip(x[name], y[name])), default=0.0)
        differ += d > 0
        worst = max(worst, d)
        largest = max(largest, max((abs(p) for p in x[name]), default=0.0))
    print(f'max |difference| {worst:.3g}, max |weight| {largest:.3g}, {differ} of {len(x)} tensors differ')
    return 0 if worst <= args.atol else 1


if __name__ == '__main__':
    sys.exit(main())
