#!/usr/bin/env bash
# MTCNN detection speed: `facecl detect` against facenet-pytorch's MTCNN.detect on the
# same 640x480 photos and cores, in one run. The photos: skimage's astronaut.png
# (.oracles/data/, fetched by `./facecl.sh test`) placed on 640x480 canvases at four
# sizes, mirrored or not (one face each), and one with three faces.
#   bench/mtcnn.sh [BUILD_DIR [OUT]]      (needs tools/mtcnn_convert.py's torch and facenet-pytorch: .oracles/)
# facecl's rate excludes start-up (device, kernel builds, planning every pyramid level
# once): it is (time for 1 + K images - time for 1 image) / K, and includes decoding
# each PNG; the peer decodes outside its timing. Writes OUT/mtcnn.txt (bench/results/mtcnn).
set -eu
build=${1:-build} out=${2:-bench/results/mtcnn}
py=.oracles/bin/python
[ -x "$py" ] || { echo "bench/mtcnn.sh: needs .oracles/ (./facecl.sh test makes it)"; exit 1; }
[ -f .oracles/data/astronaut.png ] || { echo "bench/mtcnn.sh: needs .oracles/data/astronaut.png (./facecl.sh test)"; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" tools/mtcnn_convert.py "$work/w" >/dev/null
"$py" - "$work" <<'PY'
import sys
from PIL import Image
work = sys.argv[1]
photo = Image.open(".oracles/data/astronaut.png").convert("RGB")
for i, (size, flip) in enumerate(((480, False), (360, True), (240, False), (160, True))):
    canvas = Image.new("RGB", (640, 480), (110, 120, 130))
    face = photo.resize((size, size), Image.BILINEAR)
    canvas.paste(face.transpose(Image.FLIP_LEFT_RIGHT) if flip else face, ((640 - size) // 2 + 37 * i, 480 - size))
    canvas.save(f"{work}/photo{i}.png")
group = Image.new("RGB", (640, 480), (110, 120, 130))
for size, x, y in ((240, 0, 240), (200, 230, 20), (160, 460, 300)):
    group.paste(photo.resize((size, size), Image.BILINEAR), (x, y))
group.save(f"{work}/photo4.png")
PY
images=("$work"/photo{0..4}.png)
repeat=()
for _ in 1 2 3 4; do repeat+=("${images[@]}"); done # 20 images
now() { date +%s.%N; }
best=0
for round in 1 2 3; do
    t0=$(now); "$build/app/facecl" detect --mtcnn "$work/w" "${images[0]}" >"$work/first.csv" 2>/dev/null; t1=$(now)
    "$build/app/facecl" detect --mtcnn "$work/w" "${images[0]}" "${repeat[@]}" >"$work/faces.csv" 2>"$work/log"; t2=$(now)
    rate=$(python3 -c "print(f'{${#repeat[@]} / max(1e-9, ($t2 - $t1) - ($t1 - $t0)):.2f}')")
    best=$(python3 -c "print(max($best, $rate))")
done
faces=$(($(wc -l <"$work/faces.csv") - $(wc -l <"$work/first.csv")))
device=$(grep -o 'on [^)]*' "$work/log" | head -1)
peer=$("$py" bench/mtcnn_peer.py --threads 2 --rounds 3 "${repeat[@]}")
{
    echo "MTCNN detection, 640x480 photos ($(date -u +%Y-%m-%d), $(nproc) cores)"
    echo "facecl $best images/s (${#repeat[@]} images after one, $faces faces, $device)"
    echo "$peer"
    python3 -c "print(f'facecl / facenet-pytorch: {$best / float(\"$peer\".split()[1]):.2f}x')"
} | tee "$out/mtcnn.txt"
