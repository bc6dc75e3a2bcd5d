"""The ``dshow-alloc`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import attrs

from dshow_alloc import __version__
from dshow_alloc.bench import format_table, run_benchmarks
from dshow_alloc.demo import demo_succeeded, run_demo

__all__ = ["main"]


def _bench(args: argparse.Namespace) -> int:
    results = run_benchmarks(quick=args.quick)
    if args.json:
        print(json.dumps([attrs.asdict(result) for result in results], indent=2))
    else:
        print(format_table(results))
    return 0


def _demo(args: argparse.Namespace) -> int:
    report = run_demo(
        frames=args.frames, width=args.width, height=args.height, fps=args.fps, sync=args.sync
    )
    print(report.format())
    return 0 if demo_succeeded(report) else 1


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _even(text: str) -> int:
    value = _positive(text)
    if value % 2:
        raise argparse.ArgumentTypeError(f"must be even (NV12 halves it), got {text}")
    return value


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
    demo = commands.add_parser("demo", help="run a filter graph on built-in defaults")
    demo.add_argument("--frames", type=_positive, default=300, help="frames to send (300)")
    demo.add_argument("--width", type=_even, default=320, help="frame width (320)")
    demo.add_argument("--height", type=_even, default=240, help="frame height (240)")
    demo.add_argument("--fps", type=_positive, default=30, help="frame rate (30)")
    demo.add_argument("--sync", action="store_true", help="present frames in real time")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
