#!/usr/bin/env bash
# One prepared benchmark run for a GPU machine without package access (e.g. a lent H100/H200).
# Carry: .device/ from scripts/pack-device.sh (the stripped, xz-compressed release binary) and,
# where the machine has no Vulkan loader, its .deb files in .gl/ (see the device notes); models/
# travels with the working tree. Runs the adapter list, `unsee bench --json`, an occlusion map,
# `unsee evaluate` of every bundled photo with both models, the viewer's scripted stroke drawn
# offscreen (no display there: no present; frames paced to 60 Hz, then unpaced), and scripts/compare.py (onnxruntime /
# OpenCV / PyTorch CUDA, whichever are installed there), writing seven files into OUT_DIR
# (log.txt, bench.json, occlusion.png, evaluate.json, curves.tar, viewer.json, compare.txt).
# Well under 10 minutes.
#
# usage: scripts/device-bench.sh OUT_DIR [BINARY]     (QUICK=1: 5 runs a case)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/device-bench.sh OUT_DIR [BINARY]}
bin=${2:-.device/unsee.xz}
mkdir -p "$out"
if [[ "$bin" == *.xz ]]; then
    # xz may be missing there; Python's lzma is not.
    python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
        "$bin" /tmp/unsee
    chmod +x /tmp/unsee
    bin=/tmp/unsee
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' && [ -d .gl ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$nvidia_icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
    export VK_DRIVER_FILES=$nvidia_icd
fi
export UNSEE_MODELS=$PWD/models
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"

log="$out/log.txt"
step() { echo "== $* ($(date +%T))" >> "$log"; }
step adapters
{ nvidia-smi -L 2>&1 || true; "$bin" adapters 2>&1; } >> "$log"
quick=()
[ -n "${QUICK:-}" ] && quick=(--quick)
step bench
timeout 260 "$bin" --inference gpu bench --json "${quick[@]}" > "$out/bench.json" 2>> "$log"
echo "bench exit $?" >> "$log"
step "deletion curve phases"
RUST_LOG=unsee::explain=debug timeout 60 "$bin" --inference gpu bench --only deletion/mobilenet --runs 3 \
    2>&1 | grep -E "DEBUG|deletion" >> "$log"
step explain
timeout 50 "$bin" --inference gpu explain --output "$out/occlusion.png" models/gallery/dog.jpg \
    2>> "$log" | cut -c1-400 >> "$log"
echo "explain exit ${PIPESTATUS[0]}" >> "$log"
# Deletion/insertion curves of every bundled photo, both models (the plots travel as one tar).
mkdir -p /tmp/curves
for model in squeezenet mobilenet; do
    step "evaluate $model"
    timeout 120 "$bin" --inference gpu evaluate --json --model "$model" --plots /tmp/curves \
        models/gallery/*.jpg models/gallery/*.png >> "$out/evaluate.json" 2>> "$log"
    echo "evaluate $model exit $?" >> "$log"
done
tar -C /tmp -cf "$out/curves.tar" curves
# The viewer's frame loop with its scripted stroke (1400x900 offscreen), one JSON line a run:
# painted frames paced to a 60 Hz display, then back to back (--refresh-hz 0), then idle.
for run in "gpu telea" "gpu patchmatch" "cpu telea" "gpu telea --refresh-hz 0" \
    "gpu patchmatch --refresh-hz 0" "gpu telea --no-stroke"; do
    set -- $run
    step "viewer $run"
    timeout 60 "$bin" --inference "$1" view models/gallery/dog.jpg --fill "$2" "${@:3}" \
        --frames 240 --offscreen >> "$out/viewer.json" 2>> "$log"
    echo "viewer $run exit $?" >> "$log"
done
step compare
shared=()
[ -d .device/shared ] && shared=(--shared .device/shared)
PYTHONUNBUFFERED=1 timeout 200 python3 scripts/compare.py --unsee "$bin" --skip-unsee-bench "$out/bench.json" \
    "${shared[@]}" "${quick[@]}" > "$out/compare.txt" 2>&1
echo "compare exit $?" >> "$out/compare.txt"
step done
ls -la "$out"
