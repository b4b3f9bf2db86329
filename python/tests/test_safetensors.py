"""lusnet.open_safetensors: the header's tensors and metadata, values as float32, and the
exceptions missing and malformed files raise."""

from __future__ import annotations

import numpy as np
import pytest

import lusnet

safetensors_numpy = pytest.importorskip("safetensors.numpy")


@pytest.fixture
def mixed_file(tmp_path):
    path = tmp_path / "mixed.safetensors"
    tensors = {
        "weight": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "half": np.array([1.5, -2.0], dtype=np.float16),
        "steps": np.array(7, dtype=np.int64),
    }
    safetensors_numpy.save_file(tensors, str(path), metadata={"arch": "demo", "note": "x"})
    return path, tensors


def test_header_lists_every_tensor_with_dtype_and_shape(mixed_file):
    path, _ = mixed_file

    file = lusnet.open_safetensors(path)

    assert file.path == str(path)
    assert {t.name: (t.dtype, t.shape) for t in file.tensors} == {
        "weight": ("F32", (2, 3, 4)), "half": ("F16", (2,)), "steps": ("I64", ())}
    assert file.metadata == {"arch": "demo", "note": "x"}
    assert "weight" in file and "bias" not in file
    assert file.info("weight").end - file.info("weight").begin == 24 * 4


def test_read_gives_float32_values_of_the_tensors_shape(mixed_file):
    path, tensors = mixed_file
    file = lusnet.open_safetensors(path)

    assert np.array_equal(file.read("weight"), tensors["weight"])
    assert file.read("half").dtype == np.float32
    assert np.array_equal(file.read("half"), tensors["half"].astype(np.float32))


def test_integer_tensor_and_absent_name_are_refused(mixed_file):
    file = lusnet.open_safetensors(mixed_file[0])
    with pytest.raises(ValueError, match="expected dtype F32, F16, BF16 or F64, got I64"):
        file.read("steps")
    with pytest.raises(KeyError, match="bias"):
        file.info("bias")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        lusnet.open_safetensors(tmp_path / "absent.safetensors")


def test_malformed_header_is_a_value_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes((1000).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="bad.safetensors"):
        lusnet.open_safetensors(path)
