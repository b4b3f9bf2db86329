"""examples/quickstart.ipynb runs headless from top to bottom, so it cannot rot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE_FRAMES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = EXAMPLE_FRAMES.parent / "quickstart.ipynb"


def outputs_of(cell):
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
    return text, images


def test_quickstart_notebook_classifies_and_shows_every_frame(random_lusnet_weights,
                                                              monkeypatch):
    monkeypatch.setenv("LUSNET_WEIGHTS", str(random_lusnet_weights))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's migration warning
    # The kernel is this interpreter's, so it imports the lusnet under test.
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent), prepend=":")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})

    client.execute()

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    printed = [outputs_of(cell)[0] for cell in code]
    assert str(random_lusnet_weights) in printed[1]
    frames = sorted(p.name for p in EXAMPLE_FRAMES.glob("*.png"))
    classified = [line for line in "".join(printed).splitlines() if "p(abnormal) = " in line]
    assert sorted(line.split()[0] for line in classified) == frames
    assert len({line.split()[-1] for line in classified}) > 1  # the frames are told apart
    assert len(outputs_of(code[-1])[1]) == 1  # the figure
