#!/usr/bin/env bash
# Installs what lusnet's build, tests and benchmarks need on a fresh Debian 12 or 13 machine:
# the Debian -dev packages, and a Python virtual environment (.venv) holding PyTorch and
# torchvision, which only the reference and benchmark scripts use, and what the Python tests
# and the notebook need (pytest, ruff, nbclient, ipykernel, matplotlib). Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LUSNET_VENV:-$root/.venv}"

packages=(g++ make libeigen3-dev xtensor-dev libxsimd-dev libstb-dev nlohmann-json3-dev catch2
          libbenchmark-dev clang-format python3-dev python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# torchvision 0.29.1 pairs with torch 2.14.1; both are the reference only, never a dependency.
"$venv/bin/pip" install -q --disable-pip-version-check cmake ninja numpy pillow safetensors \
    torch==2.14.1 torchvision==0.29.1 pytest ruff nbclient nbformat ipykernel matplotlib \
    scipy scikit-learn
echo "setup: done (venv $venv)"
