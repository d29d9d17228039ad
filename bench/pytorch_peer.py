#!/usr/bin/env python3
"""The PyTorch peer of bench/compare.sh: the same network, rebuilt in PyTorch from the
layer table `facecl info --json MODEL` prints, timed on the same CPU cores (or, with
--device cuda, on the same GPU facecl runs on through the vendor's OpenCL).

Prints `key value` lines (images per second):
  pytorch_version, threads, device, <model>_infer_b1, <model>_infer_b16, <model>_train_b16
A training step is forward, the triplet loss with semi-hard mining (4 identities x 4
images, margin 0.2), backward and an AdaGrad step, as facecl's is.

usage: pytorch_peer.py FACECL MODEL [MODEL ...] [--threads N] [--seconds S] [--device cpu|cuda]
"""
import argparse
import json
import subprocess
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("pytorch_peer: PyTorch is not installed (Debian: apt-get install python3-torch)", file=sys.stderr)
    sys.exit(3)


class Graph(torch.nn.Module):
    """facecl's node list, executed in order; concat nodes join their inputs' channels."""

    def __init__(self, layers):
        super().__init__()
        self.layers = layers
        self.mods = torch.nn.ModuleDict()
        for i, l in enumerate(layers):
            cin, cout = l["in"][2], l["out"][2]
            if l["type"] == "conv":
                kh, kw = l["kernel"]
                self.mods[str(i)] = torch.nn.Conv2d(cin, cout, (kh, kw), tuple(l["stride"]), tuple(l["pad"]),
                                                    groups=l["groups"], bias=bool(l["bias"]))
            elif l["type"] == "fc":
                self.mods[str(i)] = torch.nn.Linear(l["in"][0] * l["in"][1] * cin, cout, bias=bool(l["bias"]))
            elif l["type"] == "batchnorm":
                self.mods[str(i)] = torch.nn.BatchNorm2d(cout, eps=l["eps"])
            elif l["type"] == "prelu":
                self.mods[str(i)] = torch.nn.PReLU(cout, init=0.25)

    def forward(self, x):
        outs = []
        for i, l in enumerate(self.layers):
            t = l["type"]
            src = outs[l["inputs"][0]] if l["inputs"] else x
            if t == "input":
                y = x
            elif t in ("conv", "batchnorm", "prelu"):
                y = self.mods[str(i)](src)
                y = F.relu(y) if l["relu"] else y
            elif t == "fc":
                y = self.mods[str(i)](src.flatten(1))
                y = F.relu(y) if l["relu"] else y
                y = y[:, :, None, None]
            elif t in ("maxpool", "avgpool", "l2pool"):
                kh, kw = l["kernel"]
                if kh == 0:  # global
                    kh, kw = src.shape[2], src.shape[3]
                pad, stride = max(l["pad"][0], 0), l["stride"][0]  # pools take one of each
                ceil = bool(l.get("ceil", 0))
                if t == "maxpool":
                    y = F.max_pool2d(src, (kh, kw), stride, pad, ceil_mode=ceil)
                elif t == "avgpool":
                    y = F.avg_pool2d(src, (kh, kw), stride if l["kernel"][0] else 1, pad, ceil_mode=ceil,
                                     count_include_pad=False)
                else:
                    y = (F.avg_pool2d(src * src, (kh, kw), stride, pad) * (kh * kw)).sqrt()
            elif t == "lrn":
                y = F.local_response_norm(src, l["size"], l["alpha"], l["beta"], l["k"])
            elif t == "maxout":
                n, c = src.shape[0], src.shape[1]
                y = src.view(n, c // l["maxout"], l["maxout"], 1, 1).max(dim=2).values
            elif t == "add":
                y = sum(outs[j] for j in l["inputs"][:-1]) + l["scale"] * outs[l["inputs"][-1]]
                y = F.relu(y) if l["relu"] else y
            elif t == "dropout":
                y = F.dropout(src, l["rate"], self.training)
            elif t == "l2norm":
                y = F.normalize(src, dim=1)
            elif t == "concat":
                y = torch.cat([outs[j] for j in l["inputs"]], dim=1)
            else:
                raise SystemExit(f"pytorch_peer: layer type {t} not supported")
            outs.append(y)
        return outs[-1].flatten(1)


def semi_hard_triplet_loss(emb, labels, alpha=0.2):
    d = torch.cdist(emb, emb).pow(2)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    a, p = pos.nonzero(as_tuple=True)
    d_ap = d[a, p]
    d_an = d[a]  # rows: anchor's distance to everything
    neg = ~same[a]
    # semi-hard: the closest negative farther than the positive; else the hardest.
    semi = neg & (d_an > d_ap[:, None])
    big = torch.full_like(d_an, float("inf"))
    semi_d = torch.where(semi, d_an, big).min(dim=1).values
    hard_d = torch.where(neg, d_an, big).min(dim=1).values
    chosen = torch.where(torch.isfinite(semi_d), semi_d, hard_d)
    return F.relu(d_ap - chosen + alpha).mean()


def rate(fn, images, seconds, sync):
    fn()  # warm-up
    sync()
    done, t0 = 0, time.perf_counter()
    while True:
        fn()
        sync()  # a GPU runs asynchronously: time finished work
        done += 1
        t = time.perf_counter() - t0
        if t >= seconds and done >= 3:
            return images * done / t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("facecl")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cpu (default) or cuda")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("pytorch_peer: --device cuda, but this PyTorch sees no CUDA GPU (torch.cuda.is_available() is False)")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print("pytorch_version", torch.__version__)
    print("threads", torch.get_num_threads())
    print("device", torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu")
    for path in args.models:
        info = json.loads(subprocess.run([args.facecl, "info", "--json", path], check=True,
                                         capture_output=True, text=True).stdout)
        net = Graph(info["layers"]).to(device)
        h, w, c = info["layers"][0]["out"]
        name = info["model"]
        net.eval()
        with torch.no_grad():
            for b in (1, 16):
                x = torch.randn(b, c, h, w, device=device)
                print(f"{name}_infer_b{b}", round(rate(lambda: net(x), b, args.seconds, sync), 3), flush=True)
        net.train()
        opt = torch.optim.Adagrad(net.parameters(), lr=0.05)
        x = torch.randn(16, c, h, w, device=device)
        labels = torch.arange(4, device=device).repeat_interleave(4)

        def step():
            opt.zero_grad()
            loss = semi_hard_triplet_loss(net(x), labels)
            loss.backward()
            opt.step()

        print(f"{name}_train_b16", round(rate(step, 16, args.seconds, sync), 3), flush=True)


if __name__ == "__main__":
    main()
