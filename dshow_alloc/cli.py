"""The ``dshow-alloc`` command: ``demo``, ``launch``, ``inspect``, ``dot`` and ``bench``."""

from __future__ import annotations

import argparse
import contextlib
import decimal
import json
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from dshow_alloc import __version__
from dshow_alloc.caps import caps_of
from dshow_alloc.hresult import COMError

__all__ = ["main"]

# What starting a graph may raise for a reason the user can fix (a file that cannot be
# opened, a type or state refused); anything else is a bug and keeps its traceback.
_RUN_ERRORS = (COMError, OSError, ValueError)


def _bench(args: argparse.Namespace) -> int:
    from dshow_alloc.bench import format_table, run_benchmarks

    results = run_benchmarks(quick=args.quick)
    if args.json:
        print(json.dumps([attrs.asdict(result) for result in results], indent=2))
    else:
        print(format_table(results))
    return 0


def _interruptible() -> None:
    # Ctrl-C must reach the main thread as KeyboardInterrupt even when the command was
    # started in the background by a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _demo(args: argparse.Namespace) -> int:
    from dshow_alloc.bench.demo import DemoSettings, run_demo

    _interruptible()
    settings = DemoSettings(
        frames=args.frames,
        width=args.width,
        height=args.height,
        fps=args.fps,
        output=args.output,
        sync=args.sync,
    )
    print(f"dshow-alloc launch '{settings.line()}'")
    try:
        pipeline, report = run_demo(settings, progress=not args.quiet, file=sys.stderr)
    except _RUN_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.format())
    if report.succeeded:
        media_type = caps_of(pipeline.links[0].input.ConnectionMediaType())
        print(
            f"wrote {settings.output} ({args.frames} frames, {media_type})"
            " - play it with ffplay, mpv or VLC"
        )
    return 0 if report.succeeded else 1


class _ReportedErrors(logging.Filter):
    """Drops the log records of streaming errors a filter reported: ``launch`` prints those
    itself, from the run's report (the traceback with ``-v``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from dshow_alloc.filters import reported_by

        error = record.exc_info[1] if record.exc_info else None
        return error is None or reported_by(error) is None


@contextlib.contextmanager
def _errors_printed_here() -> Iterator[None]:
    logger = logging.getLogger("dshow_alloc.filters")
    quiet = _ReportedErrors()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _print_errors(report: Any, verbose: bool) -> None:
    """Each error the run's filters reported: ``error: myfilter0: ValueError: oops``, and
    with ``verbose`` its traceback."""
    for event in report.errors:
        print(f"error: {event.describe()}", file=sys.stderr)
        if verbose:
            print(event.format_traceback(), end="", file=sys.stderr)


def _launch(args: argparse.Namespace) -> int:
    from dshow_alloc.launch import LaunchError, parse_launch
    from dshow_alloc.report import run_graph

    _interruptible()
    try:
        pipeline = parse_launch(" ".join(args.pipeline))
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.verbose:
        for link in pipeline.links:
            print(
                f"{_pin(link.output)} -> {_pin(link.input)}: "
                f"{caps_of(link.output.ConnectionMediaType())}"
            )
    if args.start is not None or args.stop is not None:
        try:
            _seek(pipeline.graph, args.start, args.stop)
        except COMError as exc:
            print(f"error: cannot play from --start/--stop: {exc}", file=sys.stderr)
            return 2
    try:
        with _errors_printed_here():
            report = run_graph(
                pipeline.graph, progress=not args.quiet, timeout=args.timeout, file=sys.stderr
            )
    except _RUN_ERRORS as exc:
        # A file a property names that cannot be opened is shown at that property.
        located = pipeline.error_for(exc)
        print(f"error: {located if located is not None else exc}", file=sys.stderr)
        return 1
    print(report.format())
    _print_errors(report, args.verbose)
    if report.completion == "interrupted":
        return 130
    return 0 if report.succeeded else 1


def _seek(graph: Any, start: int | None, stop: int | None) -> None:
    """``SetPositions`` on the stopped graph: the run plays from ``start`` to ``stop``."""
    from dshow_alloc.structs import AM_SEEKING_AbsolutePositioning, AM_SEEKING_NoPositioning

    graph.SetPositions(
        start,
        AM_SEEKING_NoPositioning if start is None else AM_SEEKING_AbsolutePositioning,
        stop,
        AM_SEEKING_NoPositioning if stop is None else AM_SEEKING_AbsolutePositioning,
    )


def _pin(pin: Any) -> str:
    from dshow_alloc.pins import pin_label

    return pin_label(pin)


def _inspect(args: argparse.Namespace) -> int:
    from dshow_alloc.registry import (
        FilterUnavailableError,
        UnknownFilterError,
        extensions_of,
        filter_class,
        filter_names,
        merit_name,
        merit_of,
        properties_of,
    )

    if args.name is None:
        # One line a filter: name, merit (MERIT_ left out), description.
        for name in filter_names():
            try:
                description = filter_class(name).description
                label = merit_name(merit_of(name)).removeprefix("MERIT_").lower()
                label = label.replace("_", "-")
            except FilterUnavailableError as exc:
                description, label = f"(unavailable: {exc})", "?"
            print(f"{name:14} {label:10} {description}")
        return 0
    try:
        cls = filter_class(args.name)
    except (UnknownFilterError, FilterUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    merit = merit_of(args.name)
    suffixes = extensions_of(args.name)
    reads = "any" if "*" in suffixes else ", ".join(suffixes)
    print(f"{args.name}: {cls.description}")
    print(
        f"  class {cls.__module__}.{cls.__qualname__}, merit {merit_name(merit)} ({merit:#x})"
        + (f", reads {reads} files" if reads else "")
    )
    print("pins:")
    for template in cls.pin_templates:
        direction = "input " if template.direction.name.endswith("INPUT") else "output"
        print(f"  {direction} {template.name:10} {template.caps}")
    print("properties:")
    infos = properties_of(cls)
    if not infos:
        print("  none")
    for info in infos:
        limits = ""
        if info.choices is not None:
            limits = " one of " + ", ".join(map(str, info.choices))
        elif info.minimum is not None or info.maximum is not None:
            low = "" if info.minimum is None else info.minimum
            high = "" if info.maximum is None else info.maximum
            limits = f" in [{low}, {high}]"
        if info.default is not None:
            default = f"default {info.default}"
        else:  # a path left unset must be given (a location); anything else is optional
            default = "(required)" if info.kind is Path else "(not set)"
        print(f"  {info.name:20} {info.kind_name:9} {default}{limits}")
        print(f"  {'':20} {info.doc}")
    return 0


def _dot(args: argparse.Namespace) -> int:
    from dshow_alloc.dot import graph_to_dot, render
    from dshow_alloc.launch import LaunchError, parse_launch

    text = " ".join(args.pipeline)
    try:
        pipeline = parse_launch(text)
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with pipeline.graph:
        dot_text = graph_to_dot(pipeline.graph, title=text)
    if args.output is None:
        print(dot_text, end="")
        return 0
    try:
        path = render(dot_text, args.output)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _position(text: str) -> int:
    """Seconds (a decimal number >= 0) as a REFERENCE_TIME, exactly: ``0.1`` is 1_000_000
    (to the nearest 100 ns unit, half to even)."""
    try:
        seconds = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not seconds.is_finite():
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, got {text!r}")
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 seconds, got {text}")
    return round(Fraction(seconds) * 10_000_000)


def _even(text: str) -> int:
    value = _positive(text)
    if value % 2:
        raise argparse.ArgumentTypeError(f"must be even (4:2:0 halves it), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="dshow-alloc",
        description="DirectShow-style media filter graphs with GStreamer's memory model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a default graph that writes a video")
    demo.add_argument(
        "-o",
        "--output",
        default="dshow-alloc-demo.y4m",
        help="the video to write (.y4m; other suffixes need the av extra)",
    )
    demo.add_argument("--frames", type=_positive, default=300, help="frames to send (300)")
    demo.add_argument("--width", type=_even, default=320, help="frame width (320)")
    demo.add_argument("--height", type=_even, default=240, help="frame height (240)")
    demo.add_argument("--fps", type=_positive, default=30, help="frame rate (30)")
    demo.add_argument("--sync", action="store_true", help="present frames in real time")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)

    launch = commands.add_parser("launch", help="build and run a graph written as a line")
    launch.add_argument("pipeline", nargs="+", help='e.g. "videotestsrc ! invert ! nullsink"')
    launch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    launch.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print each connection, and the traceback of an error",
    )
    launch.add_argument("--timeout", type=float, default=None, help="stop after SECONDS")
    launch.add_argument(
        "--start",
        type=_position,
        default=None,
        metavar="SECONDS",
        help="play from this position (IMediaSeeking.SetPositions on the graph)",
    )
    launch.add_argument(
        "--stop",
        type=_position,
        default=None,
        metavar="SECONDS",
        help="end the stream at this position",
    )
    launch.set_defaults(run=_launch)

    inspect = commands.add_parser("inspect", help="list the filters, or show one")
    inspect.add_argument("name", nargs="?", help="a filter name")
    inspect.set_defaults(run=_inspect)

    dot = commands.add_parser("dot", help="draw a graph with Graphviz")
    dot.add_argument("pipeline", nargs="+", help="a launch line")
    dot.add_argument(
        "-o",
        "--output",
        default=None,
        help="graph.svg, .png, .pdf or .dot (default: DOT on stdout)",
    )
    dot.set_defaults(run=_dot)

    bench = commands.add_parser("bench", help="measure the speed")
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
