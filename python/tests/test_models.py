"""lusnet.load_model and lusnet.Model: parity with PyTorch, the forward's input handling (no
copy for C-contiguous float32), and the exceptions bad models and inputs raise."""

from __future__ import annotations

import numpy as np
import pytest

import lusnet

from conftest import TEST_FRAMES

safetensors_numpy = pytest.importorskip("safetensors.numpy")

#: The C++ parity tests' tolerance: max |lusnet - PyTorch| <= 1e-4 * max |PyTorch|.
RELATIVE_TOLERANCE = 1e-4


def load_reference(reference_dir, arch):
    net = lusnet.load_model(arch, reference_dir / arch / "weights.safetensors")
    path = reference_dir / arch / "reference.safetensors"
    return net, safetensors_numpy.load_file(str(path))


# ---------------------------------------------------------------------------------------------
# Parity with PyTorch


@pytest.mark.parametrize("arch", ["vgg16", "lusnet"])
def test_logits_match_pytorch_on_ultrasound_frames(reference_dir, arch):
    net, reference = load_reference(reference_dir, arch)
    expected = reference["logits"]

    logits = net(reference["input"])

    assert logits.shape == expected.shape
    assert logits.dtype == np.float32
    scale = np.abs(expected).max()
    diff = np.abs(logits.astype(np.float64) - expected).max()
    print(f"{arch}: max |logits - PyTorch| {diff:.3g}, max |PyTorch| {scale:.3g}")
    assert scale > 0
    assert diff <= RELATIVE_TOLERANCE * scale


@pytest.mark.parametrize("arch", ["vgg16", "lusnet"])
def test_preprocess_of_real_frames_matches_pytorch(reference_dir, arch):
    net, reference = load_reference(reference_dir, arch)
    frames = reference_frames(reference_dir, arch)
    mode = net.preprocessing["mode"]

    batch = np.concatenate([net.preprocess(lusnet.read_image(f, mode)) for f in frames])

    # One grey level out of 255 after normalisation, as the C++ test allows.
    tolerance = (1.0 / 255.0) / min(net.preprocessing["std"])
    assert batch.shape == reference["input"].shape
    assert np.abs(batch - reference["input"]).max() <= tolerance


def reference_frames(reference_dir, arch):
    from safetensors import safe_open

    with safe_open(str(reference_dir / arch / "reference.safetensors"), "numpy") as f:
        names = f.metadata()["frames"].split(",")
    return [TEST_FRAMES / name for name in names]


def test_predict_is_the_softmax_of_the_logits(random_lusnet_weights):
    net = lusnet.load_model("lusnet", random_lusnet_weights)
    x = np.random.default_rng(4).standard_normal((3, 1, 64, 64)).astype(np.float32)
    logits = net.forward(x)

    probabilities = net.predict(x)

    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, shifted / shifted.sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# The model object


def test_model_describes_its_architecture():
    net = lusnet.load_model("lusnet")
    vgg = lusnet.load_model("vgg16", num_classes=3)

    assert net.arch == "lusnet" and net.in_channels == 1 and net.num_classes == 2
    assert vgg.arch == "vgg16" and vgg.in_channels == 3 and vgg.num_classes == 3
    assert vgg.layer_names()[0] == "features.0"
    assert vgg.layer_names()[-1] == "classifier.6"
    assert net.preprocessing == {"mode": "gray", "resize": 224, "crop": 224,
                                 "mean": pytest.approx([0.155]), "std": pytest.approx([0.176])}
    assert vgg.preprocessing["resize"] == 256 and vgg.preprocessing["crop"] == 224
    assert set(lusnet.architectures()) == {"vgg16", "vgg16_bn", "lusnet"}
    assert "lusnet" in repr(net)


def test_class_count_comes_from_the_weights(tmp_path):
    path = tmp_path / "five.safetensors"
    lusnet.load_model("lusnet", num_classes=5).save(path)

    assert lusnet.load_model("lusnet", path).num_classes == 5


def test_saved_weights_load_back_to_the_same_logits(tmp_path, random_lusnet_weights):
    net = lusnet.load_model("lusnet", random_lusnet_weights)
    x = np.random.default_rng(1).standard_normal((2, 1, 64, 64)).astype(np.float32)
    path = tmp_path / "saved.safetensors"

    net.save(path, {"note": "round trip"})
    again = lusnet.load_model("lusnet", path)

    assert np.array_equal(again(x), net(x))
    metadata = lusnet.open_safetensors(path).metadata
    assert metadata == {"note": "round trip", "arch": "lusnet", "num_classes": "2"}


def test_models_cannot_be_constructed_directly():
    with pytest.raises(TypeError):
        lusnet.Model()


# ---------------------------------------------------------------------------------------------
# The forward's input: read in place when it can be, converted when it cannot


def test_c_contiguous_float32_input_is_read_in_place():
    x = np.zeros((2, 1, 32, 32), dtype=np.float32)

    assert lusnet._core._input_address(x) == x.ctypes.data


@pytest.mark.parametrize("make", [
    pytest.param(lambda x: x[:, :, ::2, ::2], id="strided view"),
    pytest.param(lambda x: np.asfortranarray(x), id="Fortran order"),
    pytest.param(lambda x: x.astype(np.float64), id="float64"),
    pytest.param(lambda x: x.astype(">f4"), id="big-endian float32"),
    pytest.param(lambda x: unaligned_copy(x), id="unaligned float32"),
])
def test_other_inputs_are_converted_to_the_same_logits(random_lusnet_weights, make):
    net = lusnet.load_model("lusnet", random_lusnet_weights)
    x = np.random.default_rng(2).standard_normal((2, 1, 64, 64)).astype(np.float32)
    other = make(x)

    address = lusnet._core._input_address(other)

    assert address != other.ctypes.data
    assert address % 4 == 0
    expected = net(np.ascontiguousarray(other, dtype=np.float32))
    assert np.array_equal(net(other), expected)


def unaligned_copy(x):
    """``x`` in a float32 array whose buffer starts one byte past an aligned address."""
    raw = np.zeros(x.nbytes + 1, dtype=np.uint8)
    view = raw[1:].view(np.float32).reshape(x.shape)
    view[...] = x
    assert not view.flags.aligned
    return view


def test_nested_lists_are_accepted_as_input(random_lusnet_weights):
    net = lusnet.load_model("lusnet", random_lusnet_weights)
    x = np.random.default_rng(3).standard_normal((1, 1, 32, 32)).astype(np.float32)

    assert np.array_equal(net(x.tolist()), net(x))


# ---------------------------------------------------------------------------------------------
# Bad models and inputs


@pytest.mark.parametrize("shape", [(1, 224, 224), (224, 224), (1, 1, 1, 224, 224)])
def test_wrong_rank_is_a_value_error_naming_the_expected_shape(shape):
    net = lusnet.load_model("lusnet")
    with pytest.raises(ValueError, match=r"expected input \[N >= 1, 1, H, W\]"):
        net(np.zeros(shape, dtype=np.float32))


def test_wrong_channel_count_is_a_value_error_naming_the_expected_shape():
    vgg = lusnet.load_model("vgg16", num_classes=2)
    with pytest.raises(ValueError, match=r"expected input \[N >= 1, 3, H, W\], got \[1, 1, "):
        vgg.predict(np.zeros((1, 1, 32, 32), dtype=np.float32))


def test_empty_batch_and_unconvertible_input_are_value_errors():
    net = lusnet.load_model("lusnet")
    with pytest.raises(ValueError, match="lusnet.shape"):
        net(np.zeros((0, 1, 32, 32), dtype=np.float32))
    with pytest.raises(ValueError):
        net(np.array([["a"]]))


def test_missing_weights_are_file_not_found_naming_the_path(tmp_path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError, match="absent.safetensors") as caught:
        lusnet.load_model("lusnet", path)
    assert "lusnet.io" in caught.value.strerror


def test_weights_of_another_architecture_are_a_value_error(tmp_path):
    path = tmp_path / "vgg.safetensors"
    lusnet.load_model("vgg16", num_classes=2).save(path)
    with pytest.raises(ValueError, match="do not match the model"):
        lusnet.load_model("lusnet", path)


def test_a_corrupt_weights_file_is_a_value_error(tmp_path):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ValueError, match="lusnet.format"):
        lusnet.load_model("lusnet", path)


def test_unknown_architecture_is_a_key_error_listing_the_known():
    with pytest.raises(KeyError, match="known are: vgg16, vgg16_bn, lusnet"):
        lusnet.load_model("resnet1000")


def test_zero_classes_is_a_value_error():
    with pytest.raises(ValueError, match="num_classes"):
        lusnet.load_model("lusnet", num_classes=0)
