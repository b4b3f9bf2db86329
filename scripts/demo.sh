#!/usr/bin/env bash
# The main job on the shipped defaults: set up, build, and classify the sample ultrasound frames
# in tests/data with LUS-Net through the C++ example `classify`.
#
# TODO(#6): no trained weights ship yet, so this uses the randomly initialised LUS-Net weights
# of the PyTorch reference (tests/reference/make_reference.py): the probabilities show the
# pipeline working end to end, not a diagnosis. The lung ultrasound issue replaces them with the
# trained model and the full report.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LUSNET_VENV:-$root/.venv}"
build="${LUSNET_BUILD_DIR:-$root/build}"

bash "$root/scripts/setup.sh"
export PATH="$venv/bin:$PATH"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$venv/bin/python" >/dev/null
cmake --build "$build" --parallel 2 --target classify
reference="$build/tests/reference"
"$venv/bin/python" "$root/tests/reference/make_reference.py" --data "$root/tests/data" \
    --out "$reference"
"$build/examples/classify" lusnet "$reference/lusnet/weights.safetensors" "$root"/tests/data/*.png
