"""The ``lusnet`` command line (also ``python -m lusnet``).

Each subcommand is a module of this package with ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; ``COMMANDS`` lists them in the order ``lusnet --help`` shows them, so a
new subcommand is one new module and one entry here. Exit codes: 0 success, 1 an input failed
(the run goes on over the other inputs and names each failure), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import lusnet
from lusnet.cli import explain, info, predict

COMMANDS = (predict, explain, info)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per module in ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="lusnet",
        description="Run CNNs on lung ultrasound frames.",
        epilog="Research software: not a medical device.",
    )
    parser.add_argument("--version", action="version", version=f"lusnet {lusnet.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parses ``argv`` (default: the process arguments), runs the subcommand, returns its exit
    code; argparse's own exits (``--help``, bad usage) become return values too."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    if not hasattr(args, "run"):
        parser.print_usage(sys.stderr)
        print("lusnet: error: a command is required: " + ", ".join(c.NAME for c in COMMANDS),
              file=sys.stderr)
        return 2
    return args.run(args)
