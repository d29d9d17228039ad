#!/usr/bin/env python3
"""facecl's Inception-ResNet-v1 against facenet-pytorch's InceptionResnetV1 itself.

    facenet_pytorch_oracle.py FACECL MODELS_DIR WORK_DIR

Builds InceptionResnetV1(pretrained=None).eval() with seeded random weights and random
batch-norm running statistics (so inference batch norm is exercised), saves its state
dict, converts it with tools/facenet_pytorch_convert.py, writes 8 different 160x160 RGB
images (4 PPM, 4 JPEG that PIL decodes for facenet-pytorch), and requires `facecl embed` of models/inception-resnet-v1.model to give
facenet-pytorch's embeddings of the same pixels (standardised as facenet-pytorch's
fixed_image_standardization does) within max |diff| 1e-4 and cosine >= 0.99999.
It also counts PyTorch's parameters and multiply-adds and requires `facecl info` to
print the same, and requires three broken model files (a residual scale, the 1x7/7x1
padding swapped, the batch-norm eps) to fail the same comparison, so that it can fail.
Exit 0: all held; 1: a check failed; 77: facenet-pytorch is not installed (skip).
"""
import os
import re
import subprocess
import sys

from oracle_checks import check, summary  # noqa: E402 (tests/)

try:
    import numpy as np
    import torch
    from facenet_pytorch import InceptionResnetV1
    from PIL import Image
except ImportError as e:
    print(f"facenet_pytorch_oracle: skipped, {e} (tests/install_oracles.sh installs it)")
    sys.exit(77)

N_IMAGES, MAX_DIFF, MIN_COSINE = 8, 1e-4, 0.99999



def random_network(seed, calibration):
    """Seeded random weights; batch-norm statistics measured on calibration images (so
    every layer's activations stay of order one and the 8 embeddings differ), then
    randomised around them (so they are not the statistics of any batch)."""
    torch.manual_seed(seed)
    net = InceptionResnetV1(pretrained=None)
    bns = [m for m in net.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    with torch.no_grad():
        for m in bns:
            m.momentum = None  # a plain average over the calibration batch
        net.train()
        net(calibration)
        for m in bns:
            m.momentum = 0.1
            m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.7, 1.4))
            m.running_mean.add_(0.2 * m.running_var.sqrt() * torch.randn_like(m.running_mean))
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
    return net.eval()


def images(seed, n=N_IMAGES):
    """n different images: smooth random fields plus noise, so every scale of the network sees structure."""
    rng = np.random.default_rng(seed)
    out = []
    y, x = np.mgrid[0:160, 0:160] / 160.0
    for i in range(n):
        base = np.stack([np.sin((i + 1 + c) * 3.0 * x + rng.uniform(0, 6)) * np.cos((i + 2) * 2.0 * y)
                         for c in range(3)], axis=-1)
        img = 127.5 + 90 * base + rng.normal(0, 25, base.shape)
        out.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out


def write_ppm(path, img):
    with open(path, "wb") as f:
        f.write(b"P6\n160 160\n255\n" + img.tobytes())


def macs_of(net):
    """Multiply-adds of every Conv2d and Linear for one 160x160 image."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += out.numel() * m.in_features
    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        net(torch.zeros(1, 3, 160, 160))
    for h in hooks:
        h.remove()
    return total[0]


def facecl_embed(facecl, model, weights, paths, work):
    npy = os.path.join(work, "facecl.npy")
    if os.path.exists(npy):
        os.unlink(npy)
    r = subprocess.run([facecl, "embed", model, "--weights", weights, "--npy", npy] + paths,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return np.load(npy), ""


def compare(ours, theirs):
    diff = float(np.abs(ours - theirs).max())
    cos = float(np.min(np.sum(ours * theirs, axis=1) /
                       (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))))
    return diff, cos


def mutant(models, work, name, pattern, replacement):
    text = open(os.path.join(models, "inception-resnet-v1.model")).read()
    broken, n = re.subn(pattern, replacement, text)
    assert n > 0, f"mutant {name}: pattern {pattern} not found"
    path = os.path.join(work, f"mutant-{name}.model")
    with open(path, "w") as f:
        f.write(broken)
    return path


def main():
    facecl, models, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(2)
    calibration = torch.tensor(np.stack(images(3, 16))).permute(0, 3, 1, 2).float()
    net = random_network(1, (calibration - 127.5) / 128.0)
    pt = os.path.join(work, "random-irv1.pt")
    torch.save(net.state_dict(), pt)
    weights = os.path.join(work, "random-irv1.safetensors")
    tools = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
    model = os.path.join(models, "inception-resnet-v1.model")
    r = subprocess.run([sys.executable, os.path.join(tools, "facenet_pytorch_convert.py"), pt, weights,
                        "--model", model], capture_output=True, text=True)
    check(r.returncode == 0, f"converter: {r.stdout.strip() or r.stderr.strip()}")
    if r.returncode != 0:
        return 1

    # Half PPM (exact pixels), half JPEG decoded by PIL, as facenet-pytorch's users load faces.
    imgs, paths = [], []
    for i, img in enumerate(images(2)):
        if i < N_IMAGES // 2:
            paths.append(os.path.join(work, f"face{i}.ppm"))
            write_ppm(paths[i], img)
        else:
            paths.append(os.path.join(work, f"face{i}.jpg"))
            Image.fromarray(img).save(paths[i], quality=90)
            img = np.asarray(Image.open(paths[i]).convert("RGB"))
        imgs.append(img)
    x = torch.tensor(np.stack(imgs)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        theirs = net((x - 127.5) / 128.0).numpy()  # facenet_pytorch.fixed_image_standardization
    check(float(np.min(1 - np.abs(theirs @ theirs.T)[~np.eye(N_IMAGES, dtype=bool)])) > 1e-3,
          "facenet-pytorch's 8 embeddings differ from one another")

    ours, err = facecl_embed(facecl, model, weights, paths, work)
    check(ours is not None, f"facecl embed runs {err}")
    if ours is None:
        return 1
    diff, cos = compare(ours, theirs)
    check(diff <= MAX_DIFF and cos >= MIN_COSINE,
          f"facecl = facenet-pytorch on {N_IMAGES} images: max |diff| {diff:.3g} (<= {MAX_DIFF}), "
          f"min cosine {cos:.8f} (>= {MIN_COSINE})")

    params = sum(p.numel() for p in net.parameters())
    macs = macs_of(net)
    info = subprocess.run([facecl, "info", model], capture_output=True, text=True).stdout
    m = re.search(r"\((\d+)\) parameters|parameters \((\d+)\)", info)
    a = re.search(r"multiply-adds per image \((\d+)\)", info)
    check(m is not None and int(m.group(1) or m.group(2)) == params,
          f"facecl info's parameters = PyTorch's ({params})")
    check(a is not None and int(a.group(1)) == macs, f"facecl info's multiply-adds = PyTorch's ({macs})")

    # Fine-tuning from the converted weights: triplet and softmax (a fresh head), a step each,
    # on 3 identities of 2 of the images.
    for i, path in enumerate(paths[:6]):
        person = os.path.join(work, "faces", f"person{i // 2}")
        os.makedirs(person, exist_ok=True)
        os.link(path, os.path.join(person, os.path.basename(path)))
    for loss in ("triplet", "softmax"):
        r = subprocess.run([facecl, "train", model, os.path.join(work, "faces"), "--init", weights, "--loss", loss,
                            "--steps", "1", "--identities", "3", "--per-identity", "2", "--quiet",
                            "--out", os.path.join(work, f"finetune-{loss}")], capture_output=True, text=True)
        check(r.returncode == 0, f"train --init the converted weights, {loss} {r.stderr.strip()[-300:]}")

    # The converter on what it must refuse, and on a classifier it leaves out.
    state = net.state_dict()
    del state["repeat_2.4.branch1.1.bn.running_var"]
    torch.save(state, os.path.join(work, "partial.pt"))
    with open(os.path.join(work, "not-torch.pt"), "wb") as f:
        f.write(b"not a pickle")
    classifier = InceptionResnetV1(pretrained=None, classify=True, num_classes=5).state_dict()
    torch.save(classifier, os.path.join(work, "classifier.pt"))
    for name, want, text in [("partial.pt", 1, "repeat_2.4.branch1.1.bn.running_var"),
                             ("not-torch.pt", 1, "not a PyTorch file"), ("classifier.pt", 0, "5-way logits")]:
        out = os.path.join(work, name + ".safetensors")
        r = subprocess.run([sys.executable, os.path.join(tools, "facenet_pytorch_convert.py"),
                            os.path.join(work, name), out, "--model", model], capture_output=True, text=True)
        said = r.stdout + r.stderr
        check(r.returncode == want and text in said and os.path.exists(out) == (want == 0),
              f"converter on {name}: exit {r.returncode}, says '{said.strip()[-160:]}'")

    for name, pattern, replacement in [
            ("scale", r"(add repeat_2\.3 .*scale=)0\.1\b", r"\g<1>0.12"),
            ("padding", r"(repeat_2\.5\.branch1\.1\.conv .*k=1x7 s=1 )p=0x3(.*\n.*\n.*k=7x1 s=1 )p=3x0",
             r"\g<1>p=3x0\g<2>p=0x3"),  # 1x7 with 3x0 then 7x1 with 0x3: the shapes still fit
            ("eps", r"eps=0\.001", "eps=1e-05")]:  # PyTorch's default instead of TensorFlow's
        path = mutant(models, work, name, pattern, replacement)
        broken, err = facecl_embed(facecl, path, weights, paths, work)
        if broken is None:
            check(True, f"broken {name}: refused ({err.splitlines()[-1] if err else 'no message'})")
            continue
        diff, cos = compare(broken, theirs)
        check(diff > MAX_DIFF or cos < MIN_COSINE, f"broken {name} fails the comparison (max |diff| {diff:.3g})")

    return summary("facenet-pytorch oracle")


if __name__ == "__main__":
    sys.exit(main())
