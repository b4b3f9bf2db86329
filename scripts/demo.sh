#!/usr/bin/env bash
# The main job on the shipped defaults: set up, install the lusnet package (`pip install .`, which
# compiles its C++ core) and classify the sample ultrasound frames in examples/data with LUS-Net
# through the command line, `lusnet predict`.
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
echo "demo: installing the lusnet package (compiles its C++ core, about a minute)"
"$venv/bin/pip" install -q --disable-pip-version-check "$root"
reference="$build/tests/reference"
"$venv/bin/python" "$root/tests/reference/make_reference.py" --data "$root/tests/data" \
    --out "$reference"
"$venv/bin/lusnet" predict --arch lusnet --weights "$reference/lusnet/weights.safetensors" \
    "$root/examples/data"
