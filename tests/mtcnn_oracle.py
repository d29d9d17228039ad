#!/usr/bin/env python3
"""MTCNN against facenet-pytorch's own MTCNN (its pretrained P-, R- and O-Net weights,
in the facenet-pytorch wheel), on a real photograph: skimage's astronaut.png (public
domain; `./facecl.sh test` takes it from the scikit-image wheel into .oracles/data/).

1. tools/mtcnn_convert.py converts the three .pt files; each network's outputs for fixed
   images, through `facecl embed` with the shipped model files, within 1e-4 of PyTorch's.
2. `facecl detect --json` on the photo, on it scaled, on it mirrored, on a composed image
   with several faces at different sizes and on one with none: the same number of faces
   as MTCNN.detect, boxes and landmarks within 1 px, probabilities within 1e-3.
3. `facecl detect --crops` gives MTCNN(image_size=160, margin=M, post_process=False)'s
   crops within 1 grey level, and `facecl embed --detect` embeds that crop.
4. `--align`: MTCNN run again on an aligned crop finds the landmarks on the five-point
   template; a corrupt image among good ones is named and skipped (exit 1), missing
   weights named; `train`, `eval` and `cluster --detect` on a folder of identities crop
   each image's face into the cache and name the image without one.
5. The converter refuses a state dict that is not MTCNN's, writing nothing.

    mtcnn_oracle.py FACECL MODELS_DIR WORK_DIR   (run by tests/oracle.sh)
"""
import json
import os
import subprocess
import sys

from oracle_checks import check, run, summary  # noqa: E402 (tests/)

try:
    import numpy as np
    import torch
    from facenet_pytorch import MTCNN
    from PIL import Image
except ImportError as e:
    print(f"mtcnn_oracle: facenet-pytorch, torch or Pillow is not installed ({e}): skipped")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = os.path.join(ROOT, ".oracles", "data", "astronaut.png")



def scenes(work):
    """name -> image path: the photo, scaled, mirrored, several faces, none."""
    photo = Image.open(PHOTO).convert("RGB")
    out = {"astronaut": photo, "scaled 0.7": photo.resize((358, 358), Image.BILINEAR),
           "mirrored": photo.transpose(Image.FLIP_LEFT_RIGHT)}
    group = Image.new("RGB", (1000, 620), (120, 130, 140))
    for size, (x, y), flip in ((300, (0, 0), False), (420, (310, 150), True), (220, (760, 30), False)):
        face = photo.resize((size, size), Image.BILINEAR)
        group.paste(face.transpose(Image.FLIP_LEFT_RIGHT) if flip else face, (x, y))
    out["three faces"] = group
    ramp = np.tile(np.linspace(40, 220, 480, dtype=np.float32), (360, 1))
    out["no face"] = Image.fromarray(np.stack([ramp, ramp * 0.9, ramp * 0.8], -1).astype(np.uint8))
    paths = {}
    for name, img in out.items():
        paths[name] = os.path.join(work, name.replace(" ", "_").replace(".", "") + ".png")
        img.save(paths[name])
    return paths


def networks(facecl, models, weights, mtcnn, work):
    rng = np.random.default_rng(5)
    for name, net, size in (("pnet", mtcnn.pnet, 12), ("rnet", mtcnn.rnet, 24), ("onet", mtcnn.onet, 48)):
        x = rng.integers(0, 256, (4, size, size, 3), dtype=np.uint8)
        paths = []
        for i in range(len(x)):
            paths.append(os.path.join(work, f"{name}-{i}.png"))
            Image.fromarray(x[i]).save(paths[-1])
        t = (torch.from_numpy(x).permute(0, 3, 1, 2).float() - 127.5) * 0.0078125
        with torch.no_grad():
            heads = net(t)
        # facecl's output: the probabilities, then the regression (and O-Net's landmarks)
        theirs = torch.cat([heads[-1].reshape(4, -1)] + [h.reshape(4, -1) for h in heads[:-1]], 1).numpy()
        r = run(facecl, "embed", os.path.join(models, f"mtcnn-{name}.model"), "--weights",
                os.path.join(weights, f"mtcnn-{name}.safetensors"), *paths)
        ours = np.array([[float(v) for v in line.split(",")[1:]] for line in r.stdout.splitlines()]) \
            if r.returncode == 0 else None
        diff = float(np.abs(ours - theirs).max()) if ours is not None and ours.shape == theirs.shape else None
        params = sum(p.numel() for p in net.parameters())
        info = run(facecl, "info", os.path.join(models, f"mtcnn-{name}.model"))
        check(diff is not None and diff <= 1e-4, f"{name}: outputs for 4 fixed images within 1e-4 of PyTorch's "
              f"(max |diff| {diff}) {r.stderr.strip()[-200:]}")
        check(f"({params})" in info.stdout, f"{name}: facecl info counts PyTorch's {params} parameters")


def detections(facecl, weights, scenes_, mtcnn):
    for name, path in scenes_.items():
        r = run(facecl, "detect", "--mtcnn", weights, "--json", path)
        ours = json.loads(r.stdout)[0]["faces"] if r.returncode == 0 else None
        boxes, probs, points = mtcnn.detect(Image.open(path).convert("RGB"), landmarks=True)
        theirs = [] if boxes is None else [{"box": b, "probability": p, "landmarks": l}
                                          for b, p, l in zip(boxes, probs, points)]
        if ours is None or len(ours) != len(theirs):
            check(False, f"{name}: {len(theirs)} faces as facenet-pytorch finds "
                         f"(facecl: {None if ours is None else len(ours)}) {r.stderr.strip()[-300:]}")
            continue
        worst = [0.0, 0.0, 0.0]
        for t in theirs:  # each of facenet-pytorch's faces against facecl's nearest
            o = min(ours, key=lambda f: float(np.abs(np.array(f["box"]) - t["box"]).sum()))
            worst[0] = max(worst[0], float(np.abs(np.array(o["box"]) - t["box"]).max()))
            worst[1] = max(worst[1], abs(o["probability"] - float(t["probability"])))
            worst[2] = max(worst[2], float(np.abs(np.array(o["landmarks"]) - t["landmarks"]).max()))
        order = [f["probability"] for f in ours] == sorted((f["probability"] for f in ours), reverse=True)
        check(worst[0] <= 1 and worst[1] <= 1e-3 and worst[2] <= 1 and order,
              f"{name}: {len(theirs)} face(s) as facenet-pytorch's MTCNN.detect finds: boxes within "
              f"{worst[0]:.2g} px, probabilities {worst[1]:.2g}, landmarks {worst[2]:.2g} px, most probable first")


def crops(facecl, models, weights, scenes_, work):
    for margin in (0, 20):
        mt = MTCNN(image_size=160, margin=margin, post_process=False, select_largest=False)
        out = os.path.join(work, f"crops{margin}")
        for name in ("astronaut", "three faces"):
            path = scenes_[name]
            r = run(facecl, "detect", "--mtcnn", weights, "--crops", out, "--margin", margin, path)
            stem = os.path.splitext(os.path.basename(path))[0]
            theirs = mt(Image.open(path).convert("RGB")).permute(1, 2, 0).numpy()
            mine = os.path.join(out, stem + ".png")
            ours = np.asarray(Image.open(mine).convert("RGB"), dtype=np.float32) if os.path.exists(mine) else None
            diff = float(np.abs(ours - theirs).max()) if ours is not None else None
            check(r.returncode == 0 and diff is not None and diff <= 1,
                  f"{name}, margin {margin}: the most probable face's 160x160 crop within 1 grey level of "
                  f"facenet-pytorch's (max {diff}) {r.stderr.strip()[-200:]}")
    # embed --detect embeds that crop: the same numbers as embedding facenet-pytorch's crop
    crop = os.path.join(work, "their_crop.png")
    face = MTCNN(image_size=160, margin=0, post_process=False)(Image.open(PHOTO).convert("RGB"))
    Image.fromarray(face.permute(1, 2, 0).numpy().astype(np.uint8)).save(crop)
    model = os.path.join(models, "inception-resnet-v1.model")
    a = run(facecl, "embed", model, "--seed", 7, "--detect", "--mtcnn", weights, PHOTO)
    b = run(facecl, "embed", model, "--seed", 7, crop)
    ea = np.array([float(v) for v in a.stdout.split(",")[1:]]) if a.returncode == 0 else None
    eb = np.array([float(v) for v in b.stdout.split(",")[1:]]) if b.returncode == 0 else None
    diff = float(np.abs(ea - eb).max()) if ea is not None and eb is not None and ea.shape == eb.shape else None
    check(diff is not None and diff <= 1e-5, f"embed --detect embeds facenet-pytorch's crop of the photo (max |diff| "
          f"{diff}) {a.stderr.strip()[-200:]}")
    r = run(facecl, "embed", model, "--seed", 7, "--detect", "--mtcnn", weights, scenes_["no face"])
    check(r.returncode == 1 and "no face" in r.stderr, f"embed --detect names an image without a face and fails "
          f"({r.stderr.strip()[-160:]})")


TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                     [70.7299, 92.2041]])


def commands(facecl, models, weights, scenes_, work):
    out = os.path.join(work, "aligned")
    r = run(facecl, "detect", "--mtcnn", weights, "--json", "--crops", out, "--align", scenes_["astronaut"])
    before = np.array(json.loads(r.stdout)[0]["faces"][0]["landmarks"]) if r.returncode == 0 else None
    crop = os.path.join(out, "astronaut.png")
    again = run(facecl, "detect", "--mtcnn", weights, "--json", crop) if r.returncode == 0 else None
    faces = json.loads(again.stdout)[0]["faces"] if again is not None and again.returncode == 0 else []
    off = None
    if faces:  # where the least-squares similarity onto the template puts the photo's landmarks
        q = TEMPLATE * 160 / 112
        p, qc = before - before.mean(0), q - q.mean(0)
        a, b = (qc * p).sum(), (qc[:, 1] * p[:, 0] - qc[:, 0] * p[:, 1]).sum()
        c, s = a / (p ** 2).sum(), b / (p ** 2).sum()
        mapped = p @ np.array([[c, -s], [s, c]]).T + q.mean(0)
        off = float(np.abs(np.array(faces[0]["landmarks"]) - mapped).max())
    check(off is not None and off <= 2, f"--align: the aligned crop's landmarks, found again, lie where the best "
          f"similarity onto the five-point template puts them (max {off} px) {r.stderr.strip()[-160:]}")
    bad = os.path.join(work, "cut.png")
    with open(scenes_["astronaut"], "rb") as f:
        data = f.read()
    with open(bad, "wb") as f:
        f.write(data[: len(data) // 3])
    r = run(facecl, "detect", "--mtcnn", weights, bad, scenes_["mirrored"])
    check(r.returncode == 1 and bad in r.stderr and "mirrored" in r.stdout,
          f"a corrupt image is named and skipped, the others detected, exit 1 ({r.stderr.strip()[-160:]})")
    own = os.path.join(work, "own.png")  # --crops into the photo's own folder would name the photo itself
    Image.open(PHOTO).save(own)
    with open(own, "rb") as f:
        kept = f.read()
    r = run(facecl, "detect", "--mtcnn", weights, "--crops", work, own)
    with open(own, "rb") as f:
        check(r.returncode == 1 and f.read() == kept and "overwritten" in r.stderr,
              f"a crop that would overwrite its photo is refused, the photo intact ({r.stderr.strip()[-120:]})")
    r = run(facecl, "detect", "--mtcnn", os.path.join(work, "nowhere"), scenes_["astronaut"])
    check(r.returncode == 1 and "nowhere" in r.stderr, f"missing weights are named ({r.stderr.strip()[-160:]})")
    r = run(facecl, "embed", os.path.join(models, "fmnist-tiny.model"), "--detect", scenes_["astronaut"])
    check(r.returncode == 2 and "--mtcnn" in r.stderr, "--detect without --mtcnn says what it needs (exit 2)")
    # a folder of two identities, one image without a face
    data = os.path.join(work, "people")
    photo = Image.open(PHOTO).convert("RGB")
    for who, flip in (("astro", False), ("mirror", True)):
        os.makedirs(os.path.join(data, who))
        for i, scale in enumerate((1.0, 0.8, 0.6)):
            im = photo.resize((int(512 * scale), int(512 * scale)), Image.BILINEAR)
            (im.transpose(Image.FLIP_LEFT_RIGHT) if flip else im).save(os.path.join(data, who, f"{i}.jpg"))
    Image.open(scenes_["no face"]).save(os.path.join(data, "astro", "wall.png"))
    env = dict(os.environ, FACECL_CACHE_DIR=os.path.join(work, "cache"), FACECL_TUNE_SECONDS="0")
    model = os.path.join(models, "fmnist-tiny.model")
    run_dir = os.path.join(work, "run")
    t = subprocess.run([facecl, "train", model, data, "--steps", "2", "--identities", "2", "--per-identity", "2",
                        "--out", run_dir, "--detect", "--mtcnn", weights], capture_output=True, text=True, env=env)
    crops = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(work, "cache", "faces")) for f in fs]
    check(t.returncode == 0 and len(crops) == 6 and "wall.png" in t.stderr and "6 images of 2 identities" in t.stdout,
          f"train --detect: 6 faces cropped into the cache, the wall named ({len(crops)} crops) {t.stderr.strip()[-200:]}")
    c = subprocess.run([facecl, "cluster", model, "--weights", os.path.join(run_dir, "weights.safetensors"),
                        "--threshold", "1", data, "--out", os.path.join(work, "c.csv"), "--detect", "--mtcnn", weights],
                       capture_output=True, text=True, env=env)
    rows = open(os.path.join(work, "c.csv")).read().splitlines()[1:] if c.returncode == 0 else []
    check(len(rows) == 6 and all(".jpg.png" in r for r in rows), f"cluster --detect clusters the 6 faces "
          f"({len(rows)} rows) {c.stderr.strip()[-160:]}")
    e = subprocess.run([facecl, "eval", model, "--weights", os.path.join(run_dir, "weights.safetensors"), data,
                        "--detect", "--mtcnn", weights, "--out", os.path.join(work, "eval")],
                       capture_output=True, text=True, env=env)
    # six images are too few for ten folds: what matters here is that eval reads the faces
    check("1 of 7 images left out" in e.stdout and "wall.png" in e.stderr and "faces" in e.stderr,
          f"eval --detect evaluates the faces, the wall named ({e.stderr.strip()[-200:]})")


def refusals(work, weights):
    bad = os.path.join(work, "bad")
    os.makedirs(bad)
    torch.save({"conv1.weight": torch.zeros(10, 3, 3, 3)}, os.path.join(bad, "pnet.pt"))
    for n in ("rnet.pt", "onet.pt"):
        with open(os.path.join(bad, n), "wb") as f:
            f.write(b"not a torch file")
    out = os.path.join(work, "bad-out")
    r = run(sys.executable, os.path.join(ROOT, "tools", "mtcnn_convert.py"), out, "--from", bad)
    check(r.returncode != 0 and "no tensor" in r.stderr and not os.listdir(out),
          f"the converter refuses a partial state dict, writing nothing ({r.stderr.strip()[-160:]})")


def main():
    facecl, models, work = sys.argv[1:4]
    if not os.path.exists(PHOTO):
        print(f"mtcnn_oracle: {PHOTO} is missing (./facecl.sh test fetches it): skipped")
        return 77
    weights = os.path.join(work, "mtcnn")
    r = run(sys.executable, os.path.join(ROOT, "tools", "mtcnn_convert.py"), weights)
    check(r.returncode == 0, f"tools/mtcnn_convert.py converts facenet-pytorch's pnet/rnet/onet.pt {r.stderr.strip()}")
    if r.returncode != 0:
        return 1
    mtcnn = MTCNN(keep_all=True)
    networks(facecl, models, weights, mtcnn, work)
    s = scenes(work)
    detections(facecl, weights, s, mtcnn)
    crops(facecl, models, weights, s, work)
    commands(facecl, models, weights, s, work)
    refusals(work, weights)
    return summary("mtcnn_oracle")


if __name__ == "__main__":
    sys.exit(main())
