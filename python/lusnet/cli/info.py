"""``lusnet info``: the tensors (name, dtype, shape) and metadata of safetensors files."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import lusnet
from lusnet.cli._terminal import error_text

NAME = "info"
HELP = "list the tensors, dtypes, shapes and metadata of safetensors files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares the subcommand's options and arguments on its parser."""
    parser.add_argument("files", nargs="+", type=Path, metavar="WEIGHTS",
                        help="safetensors files")


def describe(file: lusnet.SafetensorsFile) -> list[str]:
    """The lines printed for one file: a summary, a table of tensors, then the metadata."""
    tensors = file.tensors
    values = sum(math.prod(t.shape) for t in tensors)
    size = sum(t.end - t.begin for t in tensors)
    lines = [f"{file.path}: {len(tensors)} tensors, {values:,} values, {size:,} bytes of data"]
    name_width = max((len(t.name) for t in tensors), default=4)
    lines.append(f"  {'name':<{name_width}}  dtype    shape")
    for t in tensors:
        shape = "[" + ", ".join(map(str, t.shape)) + "]"
        lines.append(f"  {t.name:<{name_width}}  {t.dtype:<7}  {shape}")
    if file.metadata:
        lines.append("  metadata:")
        lines.extend(f"    {key}: {value}" for key, value in sorted(file.metadata.items()))
    else:
        lines.append("  metadata: none")
    return lines


def run(args: argparse.Namespace) -> int:
    """Describes every file; 0 when all could be read, 1 otherwise."""
    failed = 0
    for path in args.files:
        try:
            print("\n".join(describe(lusnet.open_safetensors(path))))
        except (OSError, ValueError) as error:
            print(f"lusnet info: failed: {path}: {error_text(error)}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
