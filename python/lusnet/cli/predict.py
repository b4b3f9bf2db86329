"""``lusnet predict``: classify ultrasound frames and write one CSV row per frame.

Rows are ``path,class,probability`` (the most probable class index and its softmax
probability), on stdout or in ``--csv``. Folders are searched recursively for image files.
A frame that cannot be read is reported on stderr and skipped; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import lusnet
from lusnet.cli._terminal import ProgressBar, error_text

NAME = "predict"
HELP = "classify ultrasound frames: one CSV row per image (path, class, probability)"

#: File name suffixes taken from folders (what the decoder reads); files named on the command
#: line are tried whatever their suffix.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".psd", ".hdr", ".pic",
                  ".pnm", ".pgm", ".ppm"}

#: Above this many images a progress bar is drawn (on a terminal, or with --progress).
PROGRESS_THRESHOLD = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares the subcommand's options and arguments on its parser."""
    parser.add_argument("--arch", required=True, choices=lusnet.architectures(),
                        help="architecture of the weights")
    parser.add_argument("--weights", required=True, type=Path,
                        help="safetensors file holding the model's state dict")
    parser.add_argument("--size", type=positive_int, metavar="S",
                        help="resize the shorter side to S and centre-crop S x S "
                             "(default: the model's own preprocessing)")
    parser.add_argument("--csv", type=Path, metavar="OUT",
                        help="write the rows to OUT instead of stdout")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="draw a progress bar on stderr (default: on a terminal, for more "
                             f"than {PROGRESS_THRESHOLD} images)")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IMAGES_OR_DIRS",
                        help="image files, or folders searched recursively for images")


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def expand(inputs: list[Path]) -> Iterator[Path]:
    """The files named, and the image files under the folders named, each folder sorted."""
    for path in inputs:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*")
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def classify(net: lusnet.Model, path: Path, size: int | None) -> tuple[int, float]:
    """The most probable class of one frame and its probability."""
    p = net.preprocessing
    image = lusnet.read_image(path, p["mode"])
    if size is None:
        x = net.preprocess(image)
    else:
        x = lusnet.preprocess(image, size, p["mean"] or None, p["std"] or None)
    probabilities = net.predict(x)[0]
    best = int(probabilities.argmax())
    return best, float(probabilities[best])


def run(args: argparse.Namespace) -> int:
    """Classifies the frames; 0 when all were classified, 1 when one failed or the model could not
    be loaded."""
    start = time.perf_counter()
    try:
        net = lusnet.load_model(args.arch, args.weights)
    except (OSError, ValueError, KeyError) as error:
        print(f"lusnet predict: cannot load the model: {error_text(error)}", file=sys.stderr)
        return 1
    paths = list(expand(args.inputs))
    if not paths:
        print("lusnet predict: no images found in " + " ".join(map(str, args.inputs)),
              file=sys.stderr)
        return 1

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = ProgressBar(len(paths), sys.stderr, show and len(paths) > PROGRESS_THRESHOLD)
    try:
        with open_output(args.csv) as out:
            failures = write_rows(csv.writer(out), net, paths, args.size, progress)
    except OSError as error:
        print(f"lusnet predict: cannot write {args.csv}: {error_text(error)}", file=sys.stderr)
        return 1

    for path, reason in failures:
        print(f"lusnet predict: failed: {path}: {reason}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(f"lusnet predict: {len(paths) - len(failures)} of {len(paths)} images classified "
          f"with {args.arch}, {len(failures)} failed, {seconds:.1f} s", file=sys.stderr)
    return 1 if failures else 0


def write_rows(writer, net: lusnet.Model, paths: list[Path], size: int | None,
               progress: ProgressBar) -> list[tuple[Path, str]]:
    """Classifies every frame and writes its row; returns the frames that failed, and why."""
    failures = []
    writer.writerow(["path", "class", "probability"])
    for done, path in enumerate(paths, start=1):
        try:
            best, probability = classify(net, path, size)
            writer.writerow([str(path), best, f"{probability:.6f}"])
        except (OSError, ValueError) as error:
            failures.append((path, error_text(error)))
        progress.update(done, path.name)
    progress.close()
    return failures


def open_output(path: Path | None) -> contextlib.AbstractContextManager[TextIO]:
    """The CSV destination: the file at ``path``, or stdout (left open) when None."""
    if path is None:
        return contextlib.nullcontext(sys.stdout)
    return open(path, "w", newline="")
