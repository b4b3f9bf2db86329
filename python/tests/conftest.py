"""Fixtures shared by the Python tests: paths, the PyTorch reference, and random weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lusnet

ROOT = Path(__file__).resolve().parents[2]
TEST_FRAMES = ROOT / "tests" / "data"
EXAMPLE_FRAMES = ROOT / "examples" / "data"
MAKE_REFERENCE = ROOT / "tests" / "reference" / "make_reference.py"


@pytest.fixture(scope="session")
def reference_dir(request: pytest.FixtureRequest) -> Path:
    """The folder make_reference.py wrote (``<arch>/weights.safetensors`` and
    ``<arch>/reference.safetensors``): $LUSNET_REFERENCE_DIR, as scripts/test.sh sets it after
    ctest made it, or else made here into pytest's cache, which needs PyTorch."""
    given = os.environ.get("LUSNET_REFERENCE_DIR")
    if given:
        path = Path(given)
        if not (path / "lusnet" / "reference.safetensors").is_file():
            pytest.fail(f"LUSNET_REFERENCE_DIR={given} holds no reference; run {MAKE_REFERENCE}")
        return path
    pytest.importorskip("torch", reason="the PyTorch reference needs torch and torchvision")
    out = request.config.cache.mkdir("lusnet-reference")
    subprocess.run([sys.executable, str(MAKE_REFERENCE), "--data", str(TEST_FRAMES),
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


@pytest.fixture(scope="session")
def random_lusnet_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LUS-Net weights drawn at random with a fixed seed (no PyTorch needed), so outputs vary
    with the input: the default initialisation gives the same logits for every frame."""
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    folder = tmp_path_factory.mktemp("weights")
    template = folder / "template.safetensors"
    lusnet.load_model("lusnet").save(template)

    rng = np.random.default_rng(2026)
    tensors = {}
    for info in lusnet.open_safetensors(template).tensors:
        if info.name.endswith("running_var"):
            values = 0.5 + rng.random(info.shape)
        else:
            fan_in = int(np.prod(info.shape[1:])) if len(info.shape) > 1 else 1
            values = rng.standard_normal(info.shape) * np.sqrt(2.0 / fan_in)
        tensors[info.name] = values.astype(np.float32)
    path = folder / "lusnet_random.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    return path


@pytest.fixture
def restore_threads():
    """Puts lusnet's thread count back after a test that changes it."""
    before = lusnet.get_num_threads()
    yield
    lusnet.set_num_threads(before)
