"""The ``lusnet`` command line: ``predict`` and ``info``, their output and exit codes (0 ok,
1 an input failed, 2 bad usage), and the two entry points."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lusnet
from lusnet.cli import main

from conftest import EXAMPLE_FRAMES

FRAMES = sorted(EXAMPLE_FRAMES.glob("*.png"))


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


def expected_prediction(weights, path, size=None):
    net = lusnet.load_model("lusnet", weights)
    image = lusnet.read_image(path, "gray")
    p = net.preprocessing
    x = net.preprocess(image) if size is None else lusnet.preprocess(image, size, p["mean"],
                                                                       p["std"])
    probabilities = net.predict(x)[0]
    return int(probabilities.argmax()), float(probabilities.max())


def predict(weights, *arguments):
    return main(["predict", "--arch", "lusnet", "--weights", str(weights), *map(str, arguments)])


# ---------------------------------------------------------------------------------------------
# predict


def test_predict_writes_one_row_per_image_of_a_folder(random_lusnet_weights, capsys):
    code = predict(random_lusnet_weights, EXAMPLE_FRAMES)

    out, err = capsys.readouterr()
    assert code == 0
    rows = rows_of(out)
    assert [Path(r["path"]) for r in rows] == FRAMES
    for row in rows:
        best, probability = expected_prediction(random_lusnet_weights, row["path"])
        assert int(row["class"]) == best
        assert float(row["probability"]) == pytest.approx(probability, abs=1e-6)
    assert f"{len(FRAMES)} of {len(FRAMES)} images classified with lusnet, 0 failed" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_predict_writes_the_rows_to_the_csv_file(random_lusnet_weights, tmp_path, capsys):
    out_file = tmp_path / "out.csv"

    code = predict(random_lusnet_weights, "--csv", out_file, *FRAMES[:2])

    out, err = capsys.readouterr()
    assert code == 0
    assert out == ""
    assert [Path(r["path"]) for r in rows_of(out_file.read_text())] == FRAMES[:2]
    assert "2 of 2 images classified" in err


def test_a_corrupt_and_a_missing_image_among_good_ones_fail_alone(random_lusnet_weights,
                                                                   tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for frame in FRAMES[:2]:
        shutil.copy(frame, folder)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage, not a PNG")
    missing = tmp_path / "missing.png"

    code = predict(random_lusnet_weights, folder, missing)

    out, err = capsys.readouterr()
    assert code == 1
    assert [Path(r["path"]).name for r in rows_of(out)] == [f.name for f in FRAMES[:2]]
    assert f"failed: {folder / 'corrupt.png'}: lusnet.format: read image" in err
    assert f"failed: {missing}: lusnet.io: read image" in err
    assert "2 of 4 images classified with lusnet, 2 failed" in err


def test_size_resizes_and_crops_to_the_given_side(random_lusnet_weights, capsys):
    code = predict(random_lusnet_weights, "--size", 112, FRAMES[0])

    out, _ = capsys.readouterr()
    assert code == 0
    (row,) = rows_of(out)
    best, probability = expected_prediction(random_lusnet_weights, FRAMES[0], size=112)
    assert int(row["class"]) == best
    assert float(row["probability"]) == pytest.approx(probability, abs=1e-6)


def test_progress_bar_is_drawn_for_more_than_a_few_images(random_lusnet_weights, tmp_path,
                                                          capsys):
    frames = FRAMES * 2  # eight images

    assert predict(random_lusnet_weights, "--progress", "--csv", tmp_path / "a.csv", *frames) == 0
    bar = capsys.readouterr().err
    assert predict(random_lusnet_weights, "--progress", "--csv", tmp_path / "b.csv",
                   *frames[:3]) == 0
    few = capsys.readouterr().err

    assert "\r[" in bar and "] 8/8" in bar and "#" * 30 in bar
    assert "\r" not in few


def test_missing_weights_exit_1_naming_the_file(tmp_path, capsys):
    code = predict(tmp_path / "absent.safetensors", FRAMES[0])

    err = capsys.readouterr().err
    assert code == 1
    assert "cannot load the model: lusnet.io: safetensors open" in err
    assert "absent.safetensors" in err


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["predict", str(FRAMES[0])],
    ["predict", "--arch", "resnet1000", "--weights", "w.safetensors", str(FRAMES[0])],
    ["predict", "--arch", "lusnet", "--weights", "w.safetensors", "--size", "0", str(FRAMES[0])],
    ["predict", "--arch", "lusnet", "--weights", "w.safetensors"],
    ["info"],
])
def test_bad_usage_exits_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: lusnet" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# info


def test_info_lists_tensors_dtypes_shapes_and_metadata(tmp_path, capsys):
    path = tmp_path / "net.safetensors"
    lusnet.load_model("lusnet").save(path, {"trained_on": "nothing yet"})

    code = main(["info", str(path)])

    out = capsys.readouterr().out
    assert code == 0
    assert f"{path}: " in out and " tensors, " in out
    assert any(line.split() == ["features.stem.conv.weight", "F32", "[24,", "1,", "3,", "3]"]
               for line in out.splitlines())
    assert "arch: lusnet" in out and "trained_on: nothing yet" in out


def test_info_reports_a_bad_file_and_goes_on(tmp_path, capsys):
    good = tmp_path / "good.safetensors"
    lusnet.load_model("lusnet").save(good)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"short")

    code = main(["info", str(bad), str(good)])

    out, err = capsys.readouterr()
    assert code == 1
    assert f"failed: {bad}: lusnet.format" in err
    assert f"{good}: " in out


# ---------------------------------------------------------------------------------------------
# Entry points


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "lusnet", "--version"], capture_output=True,
                          text=True)

    assert done.returncode == 0
    assert done.stdout.strip() == f"lusnet {lusnet.__version__}"


def test_console_script_runs_the_command_line(tmp_path):
    script = shutil.which("lusnet", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the lusnet console script is installed by `pip install .`")
    weights = tmp_path / "net.safetensors"
    lusnet.load_model("lusnet").save(weights)

    done = subprocess.run([script, "info", str(weights)], capture_output=True, text=True)

    assert done.returncode == 0
    assert done.stderr == ""
    assert "features.stem.conv.weight" in done.stdout


def test_module_import_does_not_need_pytorch():
    code = "import sys, lusnet, lusnet.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_default_weights_give_the_same_answer_for_every_frame():
    # Why the examples use other weights: the untrained network cannot tell frames apart.
    net = lusnet.load_model("lusnet")
    x = np.concatenate([net.preprocess(lusnet.read_image(f)) for f in FRAMES])
    probabilities = net.predict(x)
    assert np.ptp(probabilities, axis=0).max() == 0.0
