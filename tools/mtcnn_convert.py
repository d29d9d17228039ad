#!/usr/bin/env python3
"""Converts MTCNN's pretrained P-Net, R-Net and O-Net weights, as facenet-pytorch ships
them (facenet_pytorch/data/pnet.pt, rnet.pt, onet.pt, inside its wheel on PyPI), to
facecl safetensors for models/mtcnn-pnet.model, mtcnn-rnet.model and mtcnn-onet.model.
Offline; needs torch.

    tools/mtcnn_convert.py OUT_DIR [--from DIR]

DIR holds the three .pt files (default: the installed facenet_pytorch package's data/).
Writes OUT_DIR/mtcnn-pnet.safetensors, mtcnn-rnet.safetensors and mtcnn-onet.safetensors
and copies the three model files beside them, so OUT_DIR is all `facecl detect --mtcnn
OUT_DIR` needs, from any directory. facecl's tensor names are the state dicts'
keys (the model files name their layers after facenet-pytorch's modules); the one
change is the first dense layer of R-Net and O-Net: facenet-pytorch flattens the
C x H x W map width-first (x.permute(0, 3, 2, 1)), facecl channel-first, so its weight
columns are reordered. Every tensor must be there and every key used; each file is
written to a temporary name and renamed.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from facenet_pytorch_convert import load_state, model_tensors, write_safetensors  # noqa: E402

WHO = "mtcnn_convert"
# net: (its .pt, the dense layer over the last map, that map's channels, height, width)
NETS = {"pnet": ("pnet.pt", None, 0, 0, 0), "rnet": ("rnet.pt", "dense4", 64, 3, 3),
        "onet": ("onet.pt", "dense5", 128, 3, 3)}


def convert(net, source, model, output):
    pt, dense, c, h, w = NETS[net]
    state = load_state(source, WHO)
    wanted = model_tensors(model)
    tensors = []
    for name in wanted:
        if name not in state:
            sys.exit(f"{WHO}: {source}: no tensor {name}: not facenet-pytorch's {pt} for {model}")
        t = state[name]
        if dense and name == dense + ".weight":
            if t.dim() != 2 or t.shape[1] != c * h * w:
                sys.exit(f"{WHO}: {source}: {name} is {list(t.shape)}, not [*, {c * h * w}]")
            # column (x * h + y) * c + ch in PyTorch is column (ch * h + y) * w + x here
            t = t.reshape(t.shape[0], w, h, c).permute(0, 3, 2, 1).reshape(t.shape[0], -1)
        tensors.append((name, t))
    for name in state:
        if name not in wanted:
            sys.exit(f"{WHO}: {source}: tensor {name} has no place in {model}")
    floats = write_safetensors(output, tensors, {"format": "pt", "producer": "tools/mtcnn_convert.py",
                                                 "model": "mtcnn-" + net, "source": pt}, WHO, source)
    print(f"{output}: {len(tensors)} tensors, {floats} floats from {source}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="where to write mtcnn-{pnet,rnet,onet}.safetensors")
    ap.add_argument("--from", dest="source", help="the folder with pnet.pt, rnet.pt and onet.pt "
                    "(default: the installed facenet_pytorch package's data/)")
    ap.add_argument("--models", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"),
                    help="the folder with the mtcnn-*.model files (default: the project's models/)")
    args = ap.parse_args()
    source = args.source
    if source is None:
        try:
            import facenet_pytorch
        except ImportError:
            sys.exit(f"{WHO}: facenet_pytorch is not installed: pass --from DIR with pnet.pt, rnet.pt and onet.pt "
                     "(they are in its wheel: pip download --no-deps facenet-pytorch, then unzip)")
        source = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
    os.makedirs(args.out_dir, exist_ok=True)
    for net, (pt, *_rest) in NETS.items():
        path = os.path.join(source, pt)
        if not os.path.isfile(path):
            sys.exit(f"{WHO}: {path}: no such file (facenet-pytorch's {pt})")
        model = os.path.join(args.models, f"mtcnn-{net}.model")
        convert(net, path, model, os.path.join(args.out_dir, f"mtcnn-{net}.safetensors"))
        copy = os.path.join(args.out_dir, os.path.basename(model))
        if os.path.abspath(copy) != os.path.abspath(model):
            with open(model, "rb") as f:
                text = f.read()
            tmp = f"{copy}.tmp.{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(text)
            os.replace(tmp, copy)


if __name__ == "__main__":
    main()
