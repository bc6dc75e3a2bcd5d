"""The ``dshow-alloc`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import attrs

from dshow_alloc import __version__
from dshow_alloc.bench import format_table, run_benchmarks

__all__ = ["main"]


def _bench(args: argparse.Namespace) -> int:
    results = run_benchmarks(quick=args.quick)
    if args.json:
        print(json.dumps([attrs.asdict(result) for result in results], indent=2))
    else:
        print(format_table(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="dshow-alloc",
        description="DirectShow-style media components with GStreamer's memory model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bench = commands.add_parser("bench", help="measure the allocator's per-sample cost")
    bench.add_argument("--quick", action="store_true", help="fewer repeats (less precise)")
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench.set_defaults(run=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
