"""``lusnet explain``: draw where each frame's predicted class comes from.

For every image, a Grad-CAM family heatmap of the predicted class is blended over the part of
the frame the model sees (resized and centre cropped, at the model's resolution) and written as
``OUT/<image name>_cam.png``; a second image of the same name gets ``_cam_2.png`` and so on.
``OUT/predictions.csv`` holds one row per explained image: ``path,class,probability,overlay``.
A frame that cannot be read is reported on stderr and skipped; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import lusnet
from lusnet.cli._terminal import ProgressBar, error_text
from lusnet.cli.predict import PROGRESS_THRESHOLD, expand

NAME = "explain"
HELP = "draw Grad-CAM heatmaps of the predicted class over ultrasound frames, one PNG per image"

METHODS = ("gradcam", "gradcam++", "hirescam", "layercam", "eigencam")

#: The table written beside the overlays.
CSV_NAME = "predictions.csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares the subcommand's options and arguments on its parser."""
    parser.add_argument("--arch", required=True, choices=lusnet.architectures(),
                        help="architecture of the weights")
    parser.add_argument("--weights", required=True, type=Path,
                        help="safetensors file holding the model's state dict")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help=f"folder for the overlay PNGs and {CSV_NAME} (created if missing)")
    parser.add_argument("--method", choices=METHODS, default="gradcam",
                        help="how channels are weighted (default: gradcam)")
    parser.add_argument("--layer", metavar="L",
                        help="layer explained (default: the model's last convolutional block)")
    parser.add_argument("--alpha", type=unit_float, default=0.4, metavar="A",
                        help="weight of the heatmap colour in [0, 1] (default: 0.4)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="draw a progress bar on stderr (default: on a terminal, for more "
                             f"than {PROGRESS_THRESHOLD} images)")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IMAGES_OR_DIRS",
                        help="image files, or folders searched recursively for images")


def unit_float(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def overlay_name(path: Path, taken: set[str]) -> str:
    """A file name for the overlay of ``path`` that no earlier image of this run has used."""
    name = f"{path.stem}_cam.png"
    copy = 2
    while name in taken:
        name = f"{path.stem}_cam_{copy}.png"
        copy += 1
    taken.add(name)
    return name


def explain(net: lusnet.Model, path: Path, out: Path, args: argparse.Namespace
            ) -> tuple[int, float]:
    """Writes the overlay of one frame to ``out``; returns its predicted class and probability."""
    image = lusnet.read_image(path, net.preprocessing["mode"])
    x = net.preprocess(image)
    probabilities = net.predict(x)[0]
    best = int(probabilities.argmax())
    cam = lusnet.grad_cam(net, x, layer=args.layer, target=best, method=args.method)[0]
    picture = lusnet.overlay(lusnet.model_view(net, image), cam, alpha=args.alpha)
    lusnet.write_png(out, picture)
    return best, float(probabilities[best])


def run(args: argparse.Namespace) -> int:
    """Explains the frames; 0 when all were explained, 1 when one failed or the model could not
    be loaded, 2 for a layer the model does not have."""
    start = time.perf_counter()
    try:
        net = lusnet.load_model(args.arch, args.weights)
    except (OSError, ValueError, KeyError) as error:
        print(f"lusnet explain: cannot load the model: {error_text(error)}", file=sys.stderr)
        return 1
    if args.layer is not None and args.layer not in net.layer_names():
        print(f"lusnet explain: error: {args.arch} has no layer '{args.layer}'; layers: "
              + ", ".join(net.layer_names()), file=sys.stderr)
        return 2
    paths = list(expand(args.inputs))
    if not paths:
        print("lusnet explain: no images found in " + " ".join(map(str, args.inputs)),
              file=sys.stderr)
        return 1

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = ProgressBar(len(paths), sys.stderr, show and len(paths) > PROGRESS_THRESHOLD)
    table = args.out / CSV_NAME
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(table, "w", newline="") as f:
            failures = write_overlays(csv.writer(f), net, paths, args, progress)
    except OSError as error:
        print(f"lusnet explain: cannot write {table}: {error_text(error)}", file=sys.stderr)
        return 1

    for path, reason in failures:
        print(f"lusnet explain: failed: {path}: {reason}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(f"lusnet explain: {len(paths) - len(failures)} of {len(paths)} images explained "
          f"by {args.method} in {args.out}, {len(failures)} failed, {seconds:.1f} s",
          file=sys.stderr)
    return 1 if failures else 0


def write_overlays(writer, net: lusnet.Model, paths: list[Path], args: argparse.Namespace,
                   progress: ProgressBar) -> list[tuple[Path, str]]:
    """Explains every frame and writes its row; returns the frames that failed, and why."""
    failures = []
    taken: set[str] = set()
    writer.writerow(["path", "class", "probability", "overlay"])
    for done, path in enumerate(paths, start=1):
        try:
            name = overlay_name(path, taken)
            best, probability = explain(net, path, args.out / name, args)
            writer.writerow([str(path), best, f"{probability:.6f}", name])
        except (OSError, ValueError) as error:
            failures.append((path, error_text(error)))
        progress.update(done, path.name)
    progress.close()
    return failures
