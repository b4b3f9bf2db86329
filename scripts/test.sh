#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs every test: the C++ tests under ctest, the
# PyTorch parity reference they need, the consumer projects and the format check.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LUSNET_VENV:-$root/.venv}"
build="${LUSNET_BUILD_DIR:-$root/build}"

bash "$root/scripts/setup.sh"
export PATH="$venv/bin:$PATH"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$venv/bin/python"
cmake --build "$build" --parallel 2
ctest --test-dir "$build" --output-on-failure --parallel 1
