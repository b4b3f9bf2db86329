"""``lusnet.grad_cam``, ``lusnet.overlay`` and ``lusnet explain``: parity with the PyTorch
reference the C++ tests use (tests/reference/make_cam_reference.py), shapes, targets, errors,
and the overlay PNGs the command line writes."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

import lusnet
from lusnet.cli import main

from conftest import EXAMPLE_FRAMES

safetensors = pytest.importorskip("safetensors")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

METHODS = ["gradcam", "gradcam++", "hirescam", "layercam", "eigencam"]
#: Largest |lusnet - PyTorch| allowed on maps normalised to [0, 1].
TOLERANCE = 1e-4
FRAMES = sorted(EXAMPLE_FRAMES.glob("*.png"))


def load_cam_reference(reference_dir: Path, arch: str):
    path = reference_dir / arch / "cam.safetensors"
    if not path.is_file():
        pytest.fail(f"{path} missing: run tests/reference/make_reference.py (it writes the CAM "
                    "reference through make_cam_reference.py)")
    with safetensors.safe_open(str(path), "numpy") as f:
        metadata = f.metadata()
    return safetensors_numpy.load_file(str(path)), metadata


@pytest.fixture(scope="module")
def cam_reference(reference_dir):
    net = lusnet.load_model("lusnet", reference_dir / "lusnet" / "weights.safetensors")
    tensors, metadata = load_cam_reference(reference_dir, "lusnet")
    return net, tensors, metadata


@pytest.fixture(scope="module")
def random_net(random_lusnet_weights):
    return lusnet.load_model("lusnet", random_lusnet_weights)


def frames_batch(net, count):
    return np.concatenate([net.preprocess(lusnet.read_image(f, "gray")) for f in FRAMES[:count]])


# ---------------------------------------------------------------------------------------------
# grad_cam


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", ["b4_pred", "b4_other", "b1_pred", "b1_other"])
def test_heatmaps_match_pytorch(cam_reference, case, method):
    net, tensors, metadata = cam_reference
    images = [int(i) for i in metadata[f"{case}.images"].split(",")]
    x = tensors["input"][images]
    predicted = case.endswith("_pred")
    # The predicted cases take the defaults; the others name the layer and one class per image.
    targets = None if predicted else [int(t) for t in metadata[f"{case}.targets"].split(",")]
    layer = None if predicted else metadata["layer"]

    cams = lusnet.grad_cam(net, x, layer=layer, target=targets, method=method)

    expected = tensors[f"{case}.{method}"][:, 0]
    assert cams.shape == expected.shape
    assert cams.dtype == np.float32
    delta = float(np.abs(cams - expected).max())
    assert delta <= TOLERANCE, f"{case} {method}: max |delta| {delta:.3g}"


@pytest.mark.parametrize("method", METHODS)
def test_maps_have_the_input_size_and_lie_in_0_1(random_net, method):
    x = frames_batch(random_net, 2)

    cams = lusnet.grad_cam(random_net, x, method=method)

    assert cams.shape == (2, x.shape[2], x.shape[3])
    assert cams.dtype == np.float32
    assert cams.min() >= 0.0 and cams.max() <= 1.0
    assert cams.max() == 1.0  # min-max normalised, not constant for these frames


def test_predicted_class_is_the_default_target(random_net):
    x = frames_batch(random_net, 2)
    predicted = random_net.forward(x).argmax(axis=1).tolist()

    np.testing.assert_array_equal(lusnet.grad_cam(random_net, x),
                                  lusnet.grad_cam(random_net, x, target=predicted))


def test_each_image_gets_its_own_target(random_net):
    x = frames_batch(random_net, 2)

    both = lusnet.grad_cam(random_net, x, target=[0, 1])

    np.testing.assert_array_equal(both[0], lusnet.grad_cam(random_net, x[:1], target=0)[0])
    np.testing.assert_array_equal(both[1], lusnet.grad_cam(random_net, x[1:], target=1)[0])
    assert not np.array_equal(lusnet.grad_cam(random_net, x, target=0)[1], both[1])


def test_one_int_target_applies_to_every_image(random_net):
    x = frames_batch(random_net, 2)

    np.testing.assert_array_equal(lusnet.grad_cam(random_net, x, target=1),
                                  lusnet.grad_cam(random_net, x, target=[1, 1]))


def test_unknown_layer_is_a_key_error_listing_the_layers(random_net):
    x = frames_batch(random_net, 1)
    with pytest.raises(KeyError, match="features.block4b.relu"):
        lusnet.grad_cam(random_net, x, layer="no.such.layer")


@pytest.mark.parametrize("target", [2, -1, [0, 5], [0, 1, 0]])
def test_bad_targets_are_value_errors(random_net, target):
    x = frames_batch(random_net, 2)
    with pytest.raises(ValueError, match="target"):
        lusnet.grad_cam(random_net, x, target=target)


def test_unknown_method_is_a_value_error_listing_the_methods(random_net):
    x = frames_batch(random_net, 1)
    with pytest.raises(ValueError, match="gradcam\\+\\+"):
        lusnet.grad_cam(random_net, x, method="scorecam")


def test_wrong_input_rank_is_a_value_error(random_net):
    with pytest.raises(ValueError, match="expected input"):
        lusnet.grad_cam(random_net, np.zeros((1, 224, 224), np.float32))


# ---------------------------------------------------------------------------------------------
# overlay, model_view, write_png


@pytest.mark.parametrize("channels", [1, 3])
def test_overlay_is_rgb_of_the_image_size(channels):
    image = np.full((30, 40, channels), 100, np.uint8)
    cam = np.linspace(0, 1, 15 * 20, dtype=np.float32).reshape(15, 20)

    out = lusnet.overlay(image, cam)

    assert out.shape == (30, 40, 3)
    assert out.dtype == np.uint8
    assert not np.array_equal(out, np.full_like(out, 100))


@pytest.mark.parametrize("channels", [1, 3])
def test_alpha_zero_returns_the_image_as_rgb(channels):
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (12, 9, channels), dtype=np.uint8)
    cam = rng.random((12, 9), dtype=np.float32)

    out = lusnet.overlay(image, cam, alpha=0.0)

    np.testing.assert_array_equal(out, np.broadcast_to(image, (12, 9, 3)))


def test_overlay_rejects_a_batch_of_maps_and_alpha_outside_0_1():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="heatmap"):
        lusnet.overlay(image, np.zeros((1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="alpha"):
        lusnet.overlay(image, np.zeros((8, 8), np.float32), alpha=1.5)


def test_model_view_lines_up_with_the_model_input(random_net):
    image = lusnet.read_image(FRAMES[0], "gray")

    view = lusnet.model_view(random_net, image)

    side = random_net.preprocessing["crop"]
    assert view.shape == (side, side, 1)
    assert view.dtype == np.uint8


def test_write_png_round_trips_through_read_image(tmp_path):
    image = np.random.default_rng(5).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    path = tmp_path / "out.png"

    lusnet.write_png(path, image)

    np.testing.assert_array_equal(lusnet.read_image(path), image)


# ---------------------------------------------------------------------------------------------
# lusnet explain


def explain(weights, *arguments):
    return main(["explain", "--arch", "lusnet", "--weights", str(weights),
                 *map(str, arguments)])


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_explain_writes_one_overlay_per_image_and_the_csv(random_lusnet_weights, tmp_path,
                                                          capsys):
    out = tmp_path / "cams"

    code = explain(random_lusnet_weights, "--out", out, "--method", "layercam", *FRAMES[:2])

    err = capsys.readouterr().err
    assert code == 0, err
    rows = read_rows(out / "predictions.csv")
    assert [Path(r["path"]) for r in rows] == FRAMES[:2]
    net = lusnet.load_model("lusnet", random_lusnet_weights)
    side = net.preprocessing["crop"]
    for row in rows:
        x = net.preprocess(lusnet.read_image(row["path"], "gray"))
        probabilities = net.predict(x)[0]
        assert int(row["class"]) == int(probabilities.argmax())
        assert float(row["probability"]) == pytest.approx(float(probabilities.max()), abs=1e-6)
        assert lusnet.read_image(out / row["overlay"]).shape == (side, side, 3)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(r["overlay"] for r in rows)
    assert "2 of 2 images explained" in err


def test_explain_names_same_named_images_apart(random_lusnet_weights, tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        shutil.copy(FRAMES[0], folder / "frame.png")
    out = tmp_path / "cams"

    code = explain(random_lusnet_weights, "--out", out, first / "frame.png", second / "frame.png")

    assert code == 0, capsys.readouterr().err
    names = [r["overlay"] for r in read_rows(out / "predictions.csv")]
    assert len(set(names)) == 2
    assert all((out / name).is_file() for name in names)


def test_explain_goes_on_past_a_corrupt_image_and_names_it(random_lusnet_weights, tmp_path,
                                                           capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for frame in FRAMES[:2]:
        shutil.copy(frame, folder)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not a PNG at all")
    out = tmp_path / "cams"

    code = explain(random_lusnet_weights, "--out", out, folder)

    err = capsys.readouterr().err
    assert code == 1
    assert "corrupt.png" in err
    assert "2 of 3 images explained" in err
    assert len(read_rows(out / "predictions.csv")) == 2
    assert len(list(out.glob("*.png"))) == 2


@pytest.mark.parametrize("arguments", [
    ["--method", "scorecam"],
    ["--alpha", "1.5"],
    ["--layer", "no.such.layer"],
])
def test_explain_bad_usage_exits_2(random_lusnet_weights, tmp_path, capsys, arguments):
    code = explain(random_lusnet_weights, "--out", tmp_path / "cams", *arguments, FRAMES[0])

    assert code == 2
    assert capsys.readouterr().err
    assert not (tmp_path / "cams").exists()


def test_explain_without_out_exits_2(random_lusnet_weights, capsys):
    assert explain(random_lusnet_weights, FRAMES[0]) == 2
    assert "--out" in capsys.readouterr().err
