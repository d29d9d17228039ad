#!/usr/bin/env python3
"""Converts facenet-pytorch InceptionResnetV1 weights to facecl safetensors for
models/inception-resnet-v1.model: the downloaded 20180402-114759-vggface2.pt or
20180408-102900-casia-webface.pt, or any InceptionResnetV1().state_dict() saved with
torch.save. Offline; needs torch (whoever holds a .pt has it).

    tools/facenet_pytorch_convert.py IN.pt OUT.safetensors [--model models/inception-resnet-v1.model]

facecl's tensor names are the state dict's keys (the model file names its nodes after
the PyTorch modules), batch-norm running statistics included. `num_batches_tracked`
(facecl keeps no such counter) is dropped, and so is the `logits` classifier over the
training identities (8631 VGGFace2 or 10575 CASIA-WebFace people): an embedding model has
no use for it, and `facecl train --init` starts a head of its own for its own identities.
Every tensor of the model file must be in the state dict and every key of the state
dict must be used: a partial or foreign file is refused with the key named (facecl
checks each tensor's shape when it loads the output).
The output is written to a temporary file and renamed, so a failed run leaves nothing.
"""
import argparse
import json
import os
import struct
import sys


def model_tensors(model_path):
    """The names of the tensors that the model file's conv, fc, prelu and batchnorm lines hold."""
    nodes = {}
    with open(model_path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if len(words) >= 2 and words[0] in ("conv", "fc", "prelu", "batchnorm"):
                keys = dict(w.split("=", 1) for w in words[2:] if "=" in w)
                nodes[words[1]] = (words[0], keys)
    names = []
    for node, (op, keys) in nodes.items():
        if op == "batchnorm":
            names += [f"{node}.{s}" for s in ("weight", "bias", "running_mean", "running_var")]
        else:
            names.append(f"{node}.weight")
            if op != "prelu" and keys.get("bias", "1") != "0":
                names.append(f"{node}.bias")
    return names


def write_safetensors(path, tensors, metadata, who, source):
    """(name, torch tensor) pairs as float32 safetensors at path, written to a temporary
    file and renamed, so a failed run leaves nothing; exits naming source when a tensor
    holds NaN or Inf. Returns the floats written."""
    import torch
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        t = t.detach().to(torch.float32).contiguous()
        if not torch.isfinite(t).all():
            sys.exit(f"{who}: {source}: {name} holds NaN or Inf")
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for data in blobs:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        sys.exit(f"{who}: cannot write {path}: {e.strerror}")
    return offset // 4


def load_state(path, who):
    """A state dict from a .pt file (or a saved module's); exits naming path when it is not one."""
    try:
        import torch
    except ImportError:
        sys.exit(f"{who}: needs PyTorch (Debian: apt-get install python3-torch; or pip install torch)")
    try:
        state = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds for a bad file
        sys.exit(f"{who}: {path}: not a PyTorch file ({e})")
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        sys.exit(f"{who}: {path}: holds a {type(state).__name__}, not a state dict")
    return state


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="a facenet-pytorch .pt state dict (or a saved InceptionResnetV1 module)")
    ap.add_argument("output", help="the facecl .safetensors file to write")
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "models",
                                                    "inception-resnet-v1.model"))
    args = ap.parse_args()
    state = load_state(args.input, "facenet_pytorch_convert")
    wanted = model_tensors(args.model)
    tensors = []
    for name in wanted:
        if name not in state:
            sys.exit(f"facenet_pytorch_convert: {args.input}: no tensor {name}: "
                     f"not an InceptionResnetV1 state dict for {args.model}")
        tensors.append((name, state[name]))
    used = set(wanted)
    dropped = [name for name in state if name in ("logits.weight", "logits.bias")]
    for name in state:
        if name in used or name in dropped or name.endswith("num_batches_tracked"):
            continue
        sys.exit(f"facenet_pytorch_convert: {args.input}: tensor {name} has no place in {args.model}")

    floats = write_safetensors(args.output, tensors, {"format": "pt", "producer": "tools/facenet_pytorch_convert.py",
                                                      "model": "inception-resnet-v1",
                                                      "source": os.path.basename(args.input)},
                               "facenet_pytorch_convert", args.input)
    print(f"{args.output}: {len(tensors)} tensors, {floats} floats from {args.input}" +
          (f" (its {state['logits.weight'].shape[0]}-way logits classifier left out)" if "logits.weight" in state else ""))


if __name__ == "__main__":
    main()
