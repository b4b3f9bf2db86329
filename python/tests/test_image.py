"""lusnet.read_image and lusnet.preprocess: pixels in, float32 [1, C, H, W] out, and the
exceptions unreadable files and unusable pixels raise."""

from __future__ import annotations

import numpy as np
import pytest

import lusnet

from conftest import EXAMPLE_FRAMES, TEST_FRAMES

FRAME = TEST_FRAMES / "Reg_Image_181206_crop_f01.png"  # 234 x 234, stored as RGB


def test_read_image_gives_uint8_height_width_channels():
    rgb = lusnet.read_image(FRAME, "rgb")
    gray = lusnet.read_image(str(FRAME), mode="gray")

    assert rgb.dtype == np.uint8 and rgb.shape == (234, 234, 3)
    assert gray.dtype == np.uint8 and gray.shape == (234, 234, 1)
    assert rgb.flags.c_contiguous and rgb.flags.owndata is False  # wraps the decoded buffer
    assert 0 < rgb.mean() < 255


def test_gray_is_the_rounded_luma_of_rgb():
    rgb = lusnet.read_image(FRAME, "rgb").astype(np.float64)
    gray = lusnet.read_image(FRAME, "gray")

    luma = 0.2989 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert np.array_equal(gray[..., 0], np.floor(luma + 0.5).astype(np.uint8))


def test_preprocess_resizes_the_shorter_side_then_crops_the_centre():
    image = np.zeros((300, 400, 3), dtype=np.uint8)
    image[:, 200:] = 255  # right half white: after the crop, the right half of the output

    x = lusnet.preprocess(image, 100)

    assert x.shape == (1, 3, 100, 100) and x.dtype == np.float32
    # 300 x 400 -> 100 x 133 (int(100 * 400 / 300)), then columns 16 to 115 (torchvision's
    # offset round(33 / 2) = 16): the white edge, at 66.5 after resizing, lands at 50.5.
    row = x[0, 0, 50]
    assert np.abs(row[:49]).max() < 1e-6 and np.abs(row[52:] - 1.0).max() < 1e-6


def test_preprocess_resize_option_and_normalisation():
    image = lusnet.read_image(FRAME, "rgb")
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]

    plain = lusnet.preprocess(image, 224, resize=256)
    normalised = lusnet.preprocess(image, 224, mean, std, resize=256)

    assert plain.shape == normalised.shape == (1, 3, 224, 224)
    assert plain.min() >= 0.0 and plain.max() <= 1.0
    mean_column = np.array(mean, np.float32)[:, None, None]
    std_column = np.array(std, np.float32)[:, None, None]
    expected = (plain - mean_column) / std_column
    np.testing.assert_allclose(normalised, expected, rtol=1e-6, atol=1e-6)


def test_model_preprocess_is_preprocess_with_the_models_settings():
    vgg = lusnet.load_model("vgg16", num_classes=2)
    net = lusnet.load_model("lusnet")
    image = lusnet.read_image(EXAMPLE_FRAMES / "Reg_Image_18122_crop_f05.png", "rgb")
    gray = lusnet.read_image(EXAMPLE_FRAMES / "Reg_Image_18122_crop_f05.png", "gray")
    p = vgg.preprocessing
    q = net.preprocessing

    expected_vgg = lusnet.preprocess(image, p["crop"], p["mean"], p["std"], resize=p["resize"])
    expected_net = lusnet.preprocess(gray, q["crop"], q["mean"], q["std"], resize=q["resize"])

    assert np.array_equal(vgg.preprocess(image), expected_vgg)
    assert np.array_equal(net.preprocess(image), expected_net)  # converted to gray on the way
    assert np.array_equal(net.preprocess(gray[..., 0]), expected_net)  # (H, W) is gray too


# ---------------------------------------------------------------------------------------------
# Bad files and pixels


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_frame.png"):
        lusnet.read_image(tmp_path / "no_frame.png")


def test_a_folder_is_an_os_error(tmp_path):
    with pytest.raises(OSError, match="read image"):
        lusnet.read_image(tmp_path)


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_corrupt_image_is_a_value_error_naming_the_file(tmp_path, content):
    path = tmp_path / "corrupt.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"lusnet.format: read image: .*corrupt\.png"):
        lusnet.read_image(path)


def test_a_truncated_png_is_a_value_error(tmp_path):
    path = tmp_path / "truncated.png"
    path.write_bytes(FRAME.read_bytes()[:2000])
    with pytest.raises(ValueError, match="truncated.png"):
        lusnet.read_image(path)


def test_unknown_mode_is_a_value_error():
    with pytest.raises(ValueError, match="expected 'gray' or 'rgb', got 'cmyk'"):
        lusnet.read_image(FRAME, "cmyk")


@pytest.mark.parametrize("image, match", [
    (np.zeros((32, 32, 3), np.float32), "expected uint8 pixels"),
    (np.zeros((32, 32, 2), np.uint8), "expected 1 or 3 channels"),
    (np.zeros((2, 32, 32, 3), np.uint8), r"got an array of shape \(2, 32, 32, 3\)"),
])
def test_unusable_pixels_are_value_errors(image, match):
    with pytest.raises(ValueError, match=match):
        lusnet.preprocess(image, 16)


def test_mean_and_std_must_fit_the_channels():
    image = np.zeros((32, 32, 1), np.uint8)
    with pytest.raises(ValueError, match="one mean and one std per channel"):
        lusnet.preprocess(image, 16, [0.5, 0.5, 0.5], [0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match="standard deviation > 0"):
        lusnet.preprocess(image, 16, [0.5], [0.0])
    with pytest.raises(ValueError, match="at least 1"):
        lusnet.preprocess(image, 0)
