#!/usr/bin/env python3
"""facenet-pytorch's MTCNN.detect on the same images as bench/mtcnn.sh, same threads:
images/s, best of ROUNDS rounds (after one warm-up pass), one line per image set.

    mtcnn_peer.py --threads N --rounds R IMAGE...
"""
import argparse
import time

import torch
from facenet_pytorch import MTCNN
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    mtcnn = MTCNN(keep_all=True)
    images = [Image.open(p).convert("RGB") for p in args.images]  # decoded once, outside the timing
    found = [mtcnn.detect(im)[0] for im in images]  # the warm-up pass, counting the faces
    faces = sum(0 if boxes is None else len(boxes) for boxes in found)
    best = 0.0
    for _ in range(args.rounds):
        t = time.perf_counter()
        for im in images:
            mtcnn.detect(im, landmarks=True)
        best = max(best, len(images) / (time.perf_counter() - t))
    print(f"facenet-pytorch {best:.2f} images/s ({len(images)} images, {faces} faces, torch {torch.__version__}, "
          f"{args.threads} threads)")


if __name__ == "__main__":
    main()
