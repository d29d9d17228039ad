#!/usr/bin/env python3
"""facecl's ONNX export and import against onnxruntime, onnx's checker and PyTorch.

    onnx_oracle.py FACECL MODELS_DIR WORK_DIR

1. Every shipped model, and a model file written here that uses every layer type
   facecl has (prelu, cosine, maxout of a convolution, a three-way scaled add, padded
   average and L2 pools, concat of flat tensors, ...): exported with random weights
   whose biases, batch-norm statistics and slopes are randomised (so none is a no-op),
   checked by onnx.checker (full_check: types and shapes inferred), run by onnxruntime
   on the same pixels `facecl embed` reads from PNG files, at batch 3 and batch 1:
   max |diff| <= 1e-4 and cosine >= 0.99999. Then imported back: the imported model
   gives `facecl embed` output bit for bit equal to the original's.
2. Networks exported by torch.onnx.export: facenet-pytorch's MTCNN (P-Net, R-Net and
   O-Net with their pretrained weights, every head compared), its InceptionResnetV1 (random
   weights, batch-norm folded into the convolutions by the exporter, the x.view(N, -1)
   shape arithmetic), and facecl's NN2, NN1-small (nns1, maxout and L2 pools) and
   fmnist-bn rebuilt in PyTorch (bench/pytorch_peer.py's Graph; LRN exported as ONNX's
   LRN): imported, their facecl embeddings within 1e-4 of PyTorch's.
3. A mutant (one convolution's padding changed in the ONNX file) must fail the
   comparison, so that the comparison can fail.
4. Hostile files (truncated, noise, cyclic, unknown ops and domains, huge or lying
   dimensions, external data pointing outside, NaN weights, ...) are refused with a
   message naming the file and what is wrong; nothing is written.
Exit 0: all held; 1: a check failed; 77: onnxruntime, onnx or torch not installed (skip).
"""
import json
import os
import struct
import subprocess
import sys

from oracle_checks import check, run, summary  # noqa: E402 (tests/)

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F
    from PIL import Image
except ImportError as e:
    print(f"onnx_oracle: skipped, {e} (./facecl.sh test installs onnxruntime, onnx and torch into .oracles/)")
    sys.exit(77)

MAX_DIFF, MIN_COSINE = 1e-4, 0.99999
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every layer type, each way its ONNX form can differ: a 4-d maxout, a scaled 3-way
# add with ReLU, an l2norm of a C x H x W tensor, concat of flat tensors, batchnorm
# and prelu of flat tensors, a cosine layer, padded average and L2 pools, groups.
ZOO = """model onnx-zoo
input h=12 w=10 c=3 mean=127.5 std=64
conv c1 k=3 p=1 c=8 bias=1 relu=0
prelu p1 in=c1
conv c2 in=p1 k=3x1 p=1x0 c=8 groups=2 relu=0
batchnorm b2 in=c2 relu=1 eps=0.001
conv c3 in=p1 k=1 c=8 relu=0 bias=0
add sum3 in=p1,b2,c3 scale=0.3 relu=1
maxpool mp in=sum3 k=3 s=2 p=0 ceil=1
avgpool ap in=sum3 k=3 s=2 p=1
l2pool lp in=sum3 k=2 s=2
concat cat in=mp,ap
lrn n1 in=cat size=3 alpha=0.001 beta=0.75 bias=2
maxout mo in=n1 g=2
l2norm ln in=mo
fc f1 in=ln c=12
fc f2 in=lp c=6 relu=1
concat flat in=f1,f2
batchnorm b3 in=flat
prelu p3 in=b3
dropout d in=p3 rate=0.2
cosine cos in=d c=10
"""



def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def randomised_weights(onnx_path, out_path, rng):
    """The parameters of a facecl export, with biases, batch-norm statistics and PReLU
    slopes made random (He-normal conv and fc weights kept), as a facecl weights file."""
    m = onnx.load(onnx_path)
    prelu_slopes = {n.input[1] for n in m.graph.node if n.op_type == "PRelu"}
    tensors = {}
    for t in m.graph.initializer:
        if ":" in t.name:  # the export's own constants ("<node>:<what>")
            continue
        a = onnx.numpy_helper.to_array(t).astype(np.float32)
        suffix = t.name.rsplit(".", 1)[1]
        if t.name in prelu_slopes:
            a = rng.uniform(0.05, 0.5, a.size).astype(np.float32)  # facecl keeps (C)
        elif suffix == "bias":
            a = rng.uniform(-0.1, 0.1, a.shape)
        elif suffix == "running_mean":
            a = rng.normal(0, 0.2, a.shape)
        elif suffix == "running_var":
            a = rng.uniform(0.5, 2.0, a.shape)
        elif suffix == "weight" and a.ndim == 1:  # batch norm's gamma
            a = rng.uniform(0.5, 1.5, a.shape)
        tensors[t.name] = a
    write_safetensors(out_path, tensors)


def images(work, tag, c, h, w, rng, n=3):
    """n PNGs: noise, a smooth gradient, noise over a gradient; and their pixels."""
    paths, pixels = [], []
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        grad = (255 * (xx / max(w - 1, 1) + yy / max(h - 1, 1)) / 2)[..., None].repeat(c, 2)
        noise = rng.integers(0, 256, (h, w, c))
        a = [noise, grad, 0.5 * grad + 0.5 * noise][i % 3].astype(np.uint8)
        path = os.path.join(work, f"{tag}_{i}.png")
        Image.fromarray(a[..., 0] if c == 1 else a).save(path)
        paths.append(path)
        pixels.append(np.asarray(Image.open(path).convert("L" if c == 1 else "RGB"), dtype=np.float32).reshape(h, w, c))
    return paths, np.stack(pixels).transpose(0, 3, 1, 2).copy()


def facecl_embed(facecl, model, weights, paths, npy):
    if os.path.exists(npy):
        os.unlink(npy)
    r = run(facecl, "embed", model, "--weights", weights, "--npy", npy, *paths)
    return (np.load(npy), "") if r.returncode == 0 and os.path.exists(npy) else (None, r.stderr.strip()[-400:])


def close(ours, theirs):
    if ours is None or theirs is None or ours.shape != theirs.shape:
        return False, "shapes differ or nothing to compare"
    d = float(np.abs(ours - theirs).max())
    cos = float(np.min(np.sum(ours * theirs, 1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1) + 1e-30)))
    return d <= MAX_DIFF and cos >= MIN_COSINE, f"max |diff| {d:.2e}, min cosine {cos:.7f}"


def ort_run(path, x):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0].reshape(len(x), -1)


def facecl_model_input(facecl, model):
    info = json.loads(run(facecl, "info", "--json", model).stdout)
    h, w, c = info["layers"][0]["out"]
    return c, h, w, info


def shipped_and_zoo(facecl, models, work, rng):
    zoo = os.path.join(work, "onnx-zoo.model")
    with open(zoo, "w") as f:
        f.write(ZOO)
    names = sorted(n for n in os.listdir(models) if n.endswith(".model"))
    for path in [os.path.join(models, n) for n in names] + [zoo]:
        tag = os.path.basename(path)[:-6]
        seeded, weights = os.path.join(work, tag + "-seed.onnx"), os.path.join(work, tag + ".safetensors")
        out = os.path.join(work, tag + ".onnx")
        r = run(facecl, "export", path, "--seed", 3, seeded)
        check(r.returncode == 0, f"{tag}: facecl export --seed {r.stderr.strip()[-300:]}")
        if r.returncode:
            continue
        randomised_weights(seeded, weights, rng)
        os.unlink(seeded)
        r = run(facecl, "export", path, "--weights", weights, out)
        check(r.returncode == 0, f"{tag}: facecl export --weights {r.stderr.strip()[-300:]}")
        if r.returncode:
            continue
        m = onnx.load(out)
        try:
            onnx.checker.check_model(m, full_check=True)
            check(True, f"{tag}: onnx.checker (full_check) passes")
        except Exception as e:  # the checker raises its own kinds
            check(False, f"{tag}: onnx.checker: {e}")
        meta = {p.key: p.value for p in m.metadata_props}
        check(meta.get("facecl.model") == tag, f"{tag}: metadata_props name the model ({meta})")
        c, h, w, _ = facecl_model_input(facecl, path)
        paths, x = images(work, tag, c, h, w, rng)
        ours, err = facecl_embed(facecl, path, weights, paths, os.path.join(work, "ours.npy"))
        check(ours is not None, f"{tag}: facecl embed {err}")
        theirs = ort_run(out, x)
        ok, how = close(ours, theirs)
        check(ok, f"{tag}: onnxruntime at batch 3 gives facecl's embeddings ({how})")
        one = np.concatenate([ort_run(out, x[i:i + 1]) for i in range(len(x))])
        ok, how = close(ours, one)
        check(ok, f"{tag}: onnxruntime at batch 1 (the dynamic batch dimension) too ({how})")
        back_model, back_weights = os.path.join(work, tag + "-back.model"), os.path.join(work, tag + "-back.safetensors")
        r = run(facecl, "import", out, back_model, back_weights)
        check(r.returncode == 0, f"{tag}: facecl import of the export {r.stderr.strip()[-300:]}")
        back, err = facecl_embed(facecl, back_model, back_weights, paths, os.path.join(work, "back.npy"))
        check(back is not None and ours is not None and np.array_equal(back, ours),
              f"{tag}: export -> import gives facecl's embeddings bit for bit {err}")
        for f in (out, weights, back_weights):  # the large ones
            if os.path.exists(f):
                os.unlink(f)
        if tag == "fmnist-bn":
            mutant(facecl, path, work, rng)


def mutant(facecl, path, work, rng):
    """The comparison fails when the export is wrong: one Conv's pads changed."""
    seeded = os.path.join(work, "mutant.onnx")
    run(facecl, "export", path, "--seed", 5, seeded)
    m = onnx.load(seeded)
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    for a in conv.attribute:
        if a.name == "pads":
            a.ints[:] = [2, 2, 0, 0]
    onnx.save(m, seeded)
    c, h, w, _ = facecl_model_input(facecl, path)
    paths, x = images(work, "mutant", c, h, w, rng)
    r = run(facecl, "embed", path, "--seed", 5, "--npy", os.path.join(work, "m.npy"), *paths)
    ours = np.load(os.path.join(work, "m.npy")) if r.returncode == 0 else None
    ok, how = close(ours, ort_run(seeded, x))
    check(not ok, f"mutant (a Conv's pads moved) fails the comparison ({how})")


class LRN(torch.autograd.Function):
    """F.local_response_norm, exported as ONNX's LRN (the exporter would spell it out in
    a dozen ops, with an If)."""
    plain = F.local_response_norm

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return LRN.plain(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


def torch_export(net, x, path, dynamic=True):
    torch.onnx.export(net, torch.from_numpy(x), path, opset_version=13, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}} if dynamic else None)


def import_and_compare(facecl, what, onnx_path, model, weights, mean, std, paths, theirs, work):
    """facecl import of a torch.onnx.export file, then facecl's outputs against PyTorch's
    (theirs); facecl's outputs, or None when the import failed."""
    r = run(facecl, "import", onnx_path, model, weights, "--mean", mean, "--std", std)
    check(r.returncode == 0, f"{what}: facecl import of torch.onnx.export's file {r.stderr.strip()[-400:]}")
    if r.returncode:
        return None
    ours, err = facecl_embed(facecl, model, weights, paths, os.path.join(work, "torch.npy"))
    ok, how = close(ours, theirs)
    check(ok, f"{what}: facecl's outputs of the imported model are PyTorch's ({how}) {err}")
    return ours


def randomise_bn(net, rng):
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                mod.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.1, mod.num_features)))
                mod.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, mod.num_features)))
                mod.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, mod.num_features)))
                mod.bias.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, mod.num_features)))


def pytorch_exports(facecl, models, work, rng):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from pytorch_peer import Graph
    F.local_response_norm = LRN.apply
    torch.manual_seed(7)
    cases = []
    try:
        from facenet_pytorch import InceptionResnetV1
        net = InceptionResnetV1(pretrained=None).eval()
        randomise_bn(net, rng)
        cases.append(("facenet-pytorch InceptionResnetV1", net, (3, 160, 160), 127.5, 128.0, True))
    except ImportError as e:
        check(False, f"facenet-pytorch importable ({e})")
    for name in ("nn2", "nns1", "fmnist-bn"):
        c, h, w, info = facecl_model_input(facecl, os.path.join(models, name + ".model"))
        net = Graph(info["layers"]).eval()
        randomise_bn(net, rng)
        cases.append((f"{name} rebuilt in PyTorch", net, (c, h, w), 0.0, 255.0, True))
    # exported for batch 1 only: Reshape (1, -1) is a flatten too, and facecl runs any batch
    cases.append(("fmnist-bn rebuilt in PyTorch, exported at a fixed batch of 1", net, (c, h, w), 0.0, 255.0, False))
    for what, net, (c, h, w), mean, std, dynamic in cases:
        tag = what.split()[0] + ("" if dynamic else "-fixed")
        path = os.path.join(work, tag + "-torch.onnx")
        paths, x = images(work, tag + "-torch", c, h, w, rng)
        torch_export(net, (x[:1] - mean) / std, path, dynamic)
        with torch.no_grad():
            theirs = net(torch.from_numpy((x - mean) / std)).reshape(len(x), -1).numpy()
        model, weights = os.path.join(work, tag + "-torch.model"), os.path.join(work, tag + "-torch.safetensors")
        if import_and_compare(facecl, what, path, model, weights, mean, std, paths, theirs, work) is None:
            continue
        if tag == "facenet-pytorch":
            mine = run(facecl, "info", "--json", model)
            ref = run(facecl, "info", "--json", os.path.join(models, "inception-resnet-v1.model"))
            macs = [json.loads(t.stdout)["macs"] if t.returncode == 0 else -1 for t in (mine, ref)]
            check(macs[0] == macs[1], f"{what}: imported, its multiply-adds are models/inception-resnet-v1.model's {macs}")
        for f in (path, weights):
            if os.path.exists(f):
                os.unlink(f)


def small_graph(mutate=None):
    """A valid ONNX model (Conv, Relu, pool, Flatten, Gemm) that `mutate` may break."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "conv.weight"),
             numpy_helper.from_array(rng.normal(0, 0.3, (5, 4)).astype(np.float32), "fc.weight")]
    nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="fc", transB=1)]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])]
    parts = {"nodes": nodes, "inits": inits, "inputs": inputs, "outputs": outputs, "opset": 13}
    if mutate:
        mutate(parts)
    g = helper.make_graph(parts["nodes"], "small", parts["inputs"], parts["outputs"], parts["inits"])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", parts["opset"])])


def hostile_files(facecl, work):
    """Broken, lying and hostile .onnx files: refused with a message that says what is
    wrong (exit 1), nothing written, no crash."""
    from onnx import TensorProto, helper

    def set_input(parts, k, name):
        parts["nodes"][k].input[0] = name

    def huge(parts):
        parts["inits"][1].dims[:] = [1 << 40, 4]

    def lying(parts):
        parts["inits"][1].dims[:] = [50, 4]

    def external(parts):
        t = parts["inits"][0]
        t.ClearField("raw_data")
        t.ClearField("float_data")
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value="../../../etc/passwd")

    def nan(parts):
        w = onnx.numpy_helper.to_array(parts["inits"][1]).copy()
        w[1, 1] = np.nan
        parts["inits"][1].CopyFrom(onnx.numpy_helper.from_array(w, "fc.weight"))

    def two_inputs(parts):
        parts["inputs"].append(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 3, 8, 8]))

    def asymmetric(parts):
        next(a for a in parts["nodes"][0].attribute if a.name == "pads").ints[:] = [1, 1, 0, 0]

    def ceil_pool(parts):
        parts["nodes"][2] = helper.make_node("AveragePool", ["r"], ["p"], name="pool", kernel_shape=[3, 3],
                                             strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)

    def twice(parts):
        parts["nodes"].insert(1, helper.make_node("Identity", ["x"], ["c"], name="again"))

    cases = {
        "cycle": (lambda p: set_input(p, 1, "p"), "no earlier node produces"),
        "unknown op": (lambda p: p["nodes"].append(helper.make_node("Tanh", ["y"], ["s"], name="squash"))
                       or p["outputs"][0].__setattr__("name", "s"), "no layer for Tanh"),
        "custom domain": (lambda p: p["nodes"][1].__setattr__("domain", "com.example"), "op domain"),
        "huge dims": (huge, "dimension"),
        "lying dims": (lying, "values for its 200 elements"),
        "external data outside": (external, "external data"),
        "NaN weight": (nan, "NaN"),
        "two inputs": (two_inputs, "two graph inputs"),
        "opset 99": (lambda p: p.__setitem__("opset", 99), "opset 99"),
        "output never computed": (lambda p: p["outputs"][0].__setattr__("name", "nowhere"), "never computed"),
        "asymmetric pads": (asymmetric, "symmetric"),
        "ceil-rounded padded average": (ceil_pool, "ceil_mode=1 with padding"),
        "defined twice": (twice, "defined twice"),
    }
    files = {}
    for what, (mutate, expect) in cases.items():
        path = os.path.join(work, what.replace(" ", "_") + ".onnx")
        with open(path, "wb") as f:
            f.write(small_graph(mutate).SerializeToString())
        files[what] = (path, expect)
    good = small_graph().SerializeToString()
    for what, data in {"empty": b"", "truncated": good[: len(good) // 2], "noise": os.urandom(4096),
                       "bytes flipped": bytes(b ^ 0x5A if i % 97 == 3 else b for i, b in enumerate(good))}.items():
        path = os.path.join(work, what.replace(" ", "_") + ".onnx")
        with open(path, "wb") as f:
            f.write(data)
        files[what] = (path, "")
    path = os.path.join(work, "good.onnx")
    with open(path, "wb") as f:
        f.write(good)
    model, weights = os.path.join(work, "h.model"), os.path.join(work, "h.safetensors")
    r = run(facecl, "import", path, model, weights)
    check(r.returncode == 0 and os.path.exists(model), f"the hostile cases' base model imports {r.stderr.strip()[-200:]}")
    for what, (path, expect) in files.items():
        for f in (model, weights):
            if os.path.exists(f):
                os.unlink(f)
        r = run(facecl, "import", path, model, weights)
        said = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        check(r.returncode == 1 and expect in r.stderr and path in r.stderr and not os.path.exists(model)
              and not os.path.exists(weights), f"hostile {what}: refused, nothing written ({said[:220]})")


def mtcnn_networks(facecl, work, rng):
    """facenet-pytorch's MTCNN with its pretrained weights (in the wheel): P-Net, R-Net
    and O-Net exported by torch.onnx.export, imported (PReLU, ceil-rounded pools, the
    softmax head, R-Net's and O-Net's transpose before the dense layers, the heads
    joined into one output), and facecl's outputs within 1e-4 of PyTorch's."""
    try:
        from facenet_pytorch import MTCNN
    except ImportError as e:
        check(False, f"facenet-pytorch's MTCNN importable ({e})")
        return
    mtcnn = MTCNN()
    for name, net, (h, w) in (("P-Net", mtcnn.pnet, (37, 50)), ("R-Net", mtcnn.rnet, (24, 24)),
                              ("O-Net", mtcnn.onet, (48, 48))):
        net.eval()
        paths, x = images(work, name, 3, h, w, rng)
        scaled = (x - 127.5) / 128  # MTCNN's own (x - 127.5) * 0.0078125
        path, model, weights = (os.path.join(work, name + e) for e in (".onnx", ".model", ".safetensors"))
        torch_export(net, scaled[:1], path, dynamic=True)
        with torch.no_grad():
            heads = net(torch.from_numpy(scaled))
        theirs = torch.cat([t.reshape(len(x), t.shape[1], -1) for t in heads], 1).reshape(len(x), -1).numpy()
        ours = import_and_compare(facecl, f"MTCNN {name} (facenet-pytorch's weights, its heads side by side)", path,
                                  model, weights, 127.5, 128, paths, theirs, work)
        if ours is None:
            continue
        again = os.path.join(work, name + "-facecl.onnx")  # and back out: softmax, ceil pools, the joined heads
        r = run(facecl, "export", model, "--weights", weights, again)
        ok, how = close(ours, ort_run(again, x) if r.returncode == 0 else None)
        check(ok, f"MTCNN {name}: facecl's export of it, run by onnxruntime, gives facecl's outputs ({how})")


def main():
    facecl, models, work = sys.argv[1:4]
    rng = np.random.default_rng(11)
    shipped_and_zoo(facecl, models, work, rng)
    pytorch_exports(facecl, models, work, rng)
    mtcnn_networks(facecl, work, rng)
    hostile_files(facecl, work)
    return summary("onnx_oracle")


if __name__ == "__main__":
    sys.exit(main())
