#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs every test: the C++ tests under ctest, the
# PyTorch parity reference they need, the consumer projects and the format check; then installs
# the Python package as a user would (`pip install .`) and runs ruff and its pytest suite.
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

# The reference ctest wrote serves the Python parity tests too.
"$venv/bin/pip" install -q --disable-pip-version-check "$root"
"$venv/bin/ruff" check "$root/python"
cd "$root"
LUSNET_REFERENCE_DIR="$build/tests/reference" "$venv/bin/pytest" python/tests -W error
