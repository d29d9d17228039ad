#!/usr/bin/env bash
# Which loss to use: every loss (and the triplet loss with each miner) trained on the
# same model, steps and recipe, over several seeds, in two protocols on Fashion-MNIST:
#   closed  train split -> test split, the same 10 classes;
#   open    training sees classes 0-5 only; verification and identification run on the
#           4 classes it never saw (test split, gallery from their train images): the
#           situation FaceNet is for, identities unseen in training (batches of all 6
#           identities: --identities 6).
# Each run is trained, then evaluated (10-fold verification on generated pairs, VAL at
# FAR 1e-3, rank-1). Prints each run, then a markdown table of mean +- std with the
# training time and images/s, and writes table.md, results.csv and losses.svg (10-fold
# accuracy per loss and protocol) into OUT. Finished runs are kept and not repeated.
# Losses: semi-hard batch-hard batch-all (triplet with that miner), softmax, joint
# (batch-all + 1 x softmax), normface cosface arcface adacos lsoftmax sphereface center
# contrastive.
#   bench/losses.sh [--steps N] [--seeds "1 2 3"] [--model M] [--out DIR] [--build DIR] [--data DIR]
#                   [--losses "..."] [--protocols "closed open"] [--train-args "..."]
set -euo pipefail
steps=600 seeds="1 2 3" model=models/fmnist-small.model out=runs/losses build=build train_args=""
losses="semi-hard batch-hard batch-all softmax joint normface cosface arcface adacos lsoftmax sphereface center contrastive"
protocols="closed open"
data=/usr/share/datasets/fashion-mnist
while [ $# -gt 0 ]; do
    case $1 in
        --steps) steps=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --model) model=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --data) data=$2; shift 2 ;;
        --losses) losses=$2; shift 2 ;;
        --protocols) protocols=$2; shift 2 ;;
        --train-args) train_args=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/losses.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
facecl=$build/app/facecl
[ -x "$facecl" ] || { echo "bench/losses.sh: $facecl not built (meson setup $build && ninja -C $build)" >&2; exit 1; }
for p in $protocols; do
    case $p in closed|open) ;; *) echo "bench/losses.sh: unknown protocol '$p' (closed, open)" >&2; exit 2 ;; esac
done
objective_of() { # the `facecl train` options of a loss's name, into objective[]
    case $1 in
        semi-hard|batch-hard|batch-all) objective=(--mining "$1") ;;
        joint) objective=(--mining batch-all --softmax-weight 1) ;;
        softmax|normface|cosface|arcface|adacos|lsoftmax|sphereface|center|contrastive) objective=(--loss "$1") ;;
        *) echo "bench/losses.sh: unknown loss '$1' (see --help)" >&2; exit 2 ;;
    esac
}
for loss in $losses; do objective_of "$loss"; done # every name checked before any training
mkdir -p "$out"

# The open-set split: IDX files of classes 0-5 (train split, to train on) and of classes
# 6-9 (their train images as the gallery, their test images as the queries and pairs),
# relabelled from 0. Written once.
if [[ " $protocols " == *" open "* ]] && [ ! -s "$out/open-eval/t10k-labels-idx1-ubyte" ]; then
    python3 - "$data" "$out" <<'PY'
import gzip, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
def read(name):
    for n in (name, name + ".gz"):
        p = os.path.join(src, n)
        if os.path.exists(p):
            return (gzip.open if n.endswith(".gz") else open)(p, "rb").read()
    sys.exit(f"bench/losses.sh: {name} not in {src}")
def split(kind, keep, dest):
    images, labels = read(f"{kind}-images-idx3-ubyte"), read(f"{kind}-labels-idx1-ubyte")
    n, h, w = struct.unpack(">III", images[4:16])
    rows = [i for i in range(n) if labels[8 + i] in keep]
    os.makedirs(dest, exist_ok=True)
    for name, data in ((f"{kind}-images-idx3-ubyte", struct.pack(">IIII", 2051, len(rows), h, w) +
                        b"".join(images[16 + i * h * w:16 + (i + 1) * h * w] for i in rows)),
                       (f"{kind}-labels-idx1-ubyte", struct.pack(">II", 2049, len(rows)) +
                        bytes(keep.index(labels[8 + i]) for i in rows))):
        tmp = os.path.join(dest, name + ".tmp")
        open(tmp, "wb").write(data)
        os.replace(tmp, os.path.join(dest, name))
split("train", [0, 1, 2, 3, 4, 5], f"{out}/open-train")
for kind in ("train", "t10k"):
    split(kind, [6, 7, 8, 9], f"{out}/open-eval")
PY
fi

for p in $protocols; do
    mkdir -p "$out/$p"
    train_data=$data eval_data=$data
    open_args=() # 6 training identities: a batch holds all of them
    [ "$p" = open ] && train_data=$out/open-train eval_data=$out/open-eval open_args=(--identities 6)
    for seed in $seeds; do
        for loss in $losses; do
            objective_of "$loss"
            dir=$out/$p/$loss-seed$seed-steps$steps
            [ -s "$dir/eval/results.json" ] && continue
            echo "== $p: $loss, seed $seed, $steps steps" >&2
            start=$(date +%s.%N)
            # shellcheck disable=SC2086 # train_args is a list of options
            "$facecl" train "$model" "$train_data" "${objective[@]}" $train_args "${open_args[@]}" --seed "$seed" --steps "$steps" \
                --out "$dir" --quiet --force >"$dir.train.txt" # an unfinished run starts over: timed whole
            awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }' >"$dir/train_seconds"
            "$facecl" eval "$model" --weights "$dir/weights.safetensors" "$eval_data" --json >/dev/null
        done
    done
done

python3 - "$out" "$steps" "$seeds" "$losses" "$protocols" <<'PY'
import json, re, statistics, sys
out, steps, seeds, losses, protocols = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split(), sys.argv[5].split()
def stat(values):
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0
rows, csv = {}, ["protocol,loss,seed,accuracy,val,auc,rank1,ncm,train_seconds,images_per_second"]
for p in protocols:
    for m in losses:
        for s in seeds:
            d = f"{out}/{p}/{m}-seed{s}-steps{steps}"
            r = json.load(open(f"{d}/eval/results.json"))
            t = float(open(f"{d}/train_seconds").read())
            done = re.search(r"\(([0-9.]+) images/s\)", open(f"{d}.train.txt").read())
            ips = float(done.group(1)) if done else float("nan")
            v = (r["verification"]["accuracy"], r["val"], r["auc"], r["rank1"], r["nearest_class_mean"], t, ips)
            rows[p, m, s] = v
            csv.append(",".join([p, m, s] + [f"{x:.6g}" for x in v]))
            print(f"{p} {m} seed {s}: 10-fold {100*v[0]:.2f}%, VAL {100*v[1]:.1f}%, rank-1 {100*v[3]:.2f}%, "
                  f"training {t:.0f} s at {ips:.0f} img/s")
table = [f"| protocol | loss | 10-fold accuracy | VAL @ FAR 1e-3 | AUC | rank-1 | train s | img/s |",
         "|---|---|---|---|---|---|---|---|"]
pct = lambda c: f"{100*c[0]:.2f} ± {100*c[1]:.2f}%"
for p in protocols:
    for m in losses:
        c = [stat([rows[p, m, s][i] for s in seeds]) for i in range(7)]
        table.append(f"| {p} | {m} | {pct(c[0])} | {pct(c[1])} | {c[2][0]:.4f} | {pct(c[3])} | {c[5][0]:.0f} | "
                     f"{c[6][0]:.0f} |")
print("\n" + "\n".join(table))
open(f"{out}/table.md", "w").write("\n".join(table) + "\n")
open(f"{out}/results.csv", "w").write("\n".join(csv) + "\n")
# losses.svg: a bar per loss and protocol, 10-fold accuracy with +- 1 std.
W, H, left, top, bottom = 120 + 70 * len(losses), 360, 60, 40, 80
accs = [100 * rows[p, m, s][0] for p in protocols for m in losses for s in seeds]
lo, hi = max(0, min(accs) - 5), min(100, max(accs) + 1)
y = lambda a: top + (H - top - bottom) * (hi - a) / (hi - lo)
colours = {"closed": "#3b6ea5", "open": "#d9822b"}
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<text x="{W/2}" y="20" text-anchor="middle" font-size="13">10-fold verification by loss ({steps} steps, '
       f'{len(seeds)} seed(s); bars: mean, lines: ± 1 std)</text>']
for k in range(6):
    a = lo + (hi - lo) * k / 5
    svg.append(f'<line x1="{left}" x2="{W-20}" y1="{y(a):.1f}" y2="{y(a):.1f}" stroke="#ddd"/>'
               f'<text x="{left-6}" y="{y(a)+4:.1f}" text-anchor="end">{a:.1f}%</text>')
bw = 60 / max(1, len(protocols))
for i, m in enumerate(losses):
    x0 = left + 10 + 70 * i
    svg.append(f'<text x="{x0+30}" y="{H-bottom+16}" text-anchor="middle">{m}</text>')
    for j, p in enumerate(protocols):
        mean, sd = stat([100 * rows[p, m, s][0] for s in seeds])
        x = x0 + j * bw
        svg.append(f'<rect x="{x:.1f}" y="{y(mean):.1f}" width="{bw-4:.1f}" height="{y(lo)-y(mean):.1f}" '
                   f'fill="{colours[p]}"><title>{p} {m}: {mean:.2f}%</title></rect>')
        svg.append(f'<line x1="{x+bw/2-2:.1f}" x2="{x+bw/2-2:.1f}" y1="{y(mean+sd):.1f}" y2="{y(mean-sd):.1f}" '
                   f'stroke="black"/>')
for j, p in enumerate(protocols):
    svg.append(f'<rect x="{left+160*j}" y="{H-30}" width="12" height="12" fill="{colours[p]}"/>'
               f'<text x="{left+160*j+18}" y="{H-20}">{p} set</text>')
svg.append("</svg>")
open(f"{out}/losses.svg", "w").write("\n".join(svg) + "\n")
print(f"\nwritten: {out}/table.md, {out}/results.csv, {out}/losses.svg")
PY
