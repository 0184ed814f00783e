#!/usr/bin/env bash
# Prepares what a GPU machine without package access needs, in .device/ (git-ignored; name it in
# the device tool's `carry`): the release binary, stripped and xz-compressed (~11 MB instead of
# ~60 MB stripped: the carry limit is 64 MiB together with the working tree and its 20 MB models/).
# Then, on the device: `scripts/device-bench.sh OUT .device/unsee.xz`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
target=${CARGO_TARGET_DIR:-target}
mkdir -p .device
cp "$target/release/unsee" .device/unsee
strip .device/unsee
xz -T0 -9 -f .device/unsee
# onnxruntime's reference models for scripts/compare.py: ../shared does not travel with the tree.
shared=${SHARED:-../shared}
if [ -d "$shared/assets/models" ]; then
    mkdir -p .device/shared/assets/models
    cp "$shared"/assets/models/*.onnx .device/shared/assets/models/
fi
du -sh .device
