"""The peer to beat: GStreamer's ``appsrc`` fed from a Python thread, in buffers per second.

A user who writes Python and feeds GStreamer does this: a thread takes a 64-byte buffer from a
``Gst.BufferPool``, sets its PTS and pushes it into ``appsrc``, which hands it on to
``identity`` and ``fakesink`` on GStreamer's own streaming thread. The pipeline is::

    appsrc name=src format=time is-live=false block=true max-bytes=2048
           caps=application/octet-stream ! identity ! fakesink name=sink sync=false

``max-bytes=2048`` (32 buffers) with ``block=true`` is real flow control: a push blocks while
the queue in ``appsrc`` is full, so the pushing thread runs at the pipeline's pace and no
unbounded queue builds up. The pool preallocates 64 buffers of 64 bytes, more than can be in
flight at once (the queue, one buffer on its way, the one ``fakesink`` keeps as its last
sample), so the pool is never what waits. Every element keeps its defaults other than those.

The push is ``src.push_buffer(buf)`` (GstApp's method): ``src.emit("push-buffer", buf)`` does
the same through the signal and was about 10% slower here (GStreamer 1.22, PyGObject 3.42,
medians of four alternating runs each), so the peer gets the faster of the two;
``--method emit`` measures the other. A ``max-bytes`` of one buffer makes every push wait for
the streaming thread and costs about 90% of the rate; 2048 costs a few percent against the
default of 200,000.

The time runs from just before the first buffer is taken from the pool until the main thread
receives end-of-stream from the bus, so it includes every pool acquire, PTS set and push, and
draining the queue. A warm-up run of 5,000 buffers in a pipeline of its own comes first and is
not timed. After the timed run the PTS of ``fakesink``'s last sample is checked against the
last buffer pushed. The feeding thread and GStreamer's streaming thread together keep about
1.3 cores busy, so on a 2-core machine another busy process cuts the rate by about 40%.

GStreamer's Python bindings (PyGObject, ``gi``) usually come from the system's packages (on
Debian: ``python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
gstreamer1.0-plugins-base``), for the system's ``/usr/bin/python3``, not for a virtualenv. So
`gst_peer_rate` runs this file as a script under that interpreter, and the script's part of
this file imports only the standard library at module level and ``gi`` inside `measure`.

As a script, ``python gst.py --count N [--method push_buffer|emit]`` prints one JSON
line on stdout and exits with:

* 0 and ``{"rate": buffers per second, "count", "seconds", "method", "gst_version", ...}``;
* 3 (`EXIT_UNAVAILABLE`) and ``{"error": why, "unavailable": true}`` when ``gi``, GStreamer
  or one of ``appsrc``, ``identity``, ``fakesink`` cannot be loaded;
* 1 and ``{"error": why}`` when the measurement failed (a pipeline error, a timeout, a
  buffer lost or refused).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = [
    "EXIT_UNAVAILABLE",
    "GstUnavailableError",
    "gst_peer_rate",
    "gst_peer_report",
    "main",
    "measure",
]

SYSTEM_PYTHON = "/usr/bin/python3"
"""The interpreter that Debian's ``python3-gi`` belongs to."""

EXIT_UNAVAILABLE = 3
"""The script's exit status when ``gi``, GStreamer or a needed element is missing."""

BUFFER_SIZE = 64
"""Bytes per buffer."""
POOL_BUFFERS = 64
"""Buffers the pool preallocates; also its maximum."""
MAX_BYTES = 2048
"""``appsrc``'s ``max-bytes``: 32 buffers of 64 bytes, then ``push_buffer`` blocks."""
WARMUP = 5_000
"""Buffers pushed through a pipeline of their own before the timed run."""
METHODS = ("push_buffer", "emit")
"""How a buffer goes into ``appsrc``: GstApp's method or the ``push-buffer`` signal."""

_ELEMENTS = ("appsrc", "identity", "fakesink")
_PIPELINE = (
    f"appsrc name=src format=time is-live=false block=true max-bytes={MAX_BYTES}"
    " caps=application/octet-stream ! identity ! fakesink name=sink sync=false"
)


class GstUnavailableError(Exception):
    """``gi``, GStreamer or one of the elements cannot be loaded by this interpreter."""


def _load_gst() -> tuple[Any, Any]:
    """(``gi``, ``Gst``), initialised, with GstApp loaded; else raise `GstUnavailableError`."""
    # importlib rather than ``import gi``: gi is not importable (nor typed) where mypy runs.
    try:
        gi = importlib.import_module("gi")
        gi.require_version("Gst", "1.0")
        gi.require_version("GstApp", "1.0")
        gst = importlib.import_module("gi.repository.Gst")
        importlib.import_module("gi.repository.GstApp")  # gives appsrc its push_buffer
    except (ImportError, ValueError) as exc:  # ValueError: namespace not available
        raise GstUnavailableError(f"{type(exc).__name__}: {exc}") from exc
    ok, _argv = gst.init_check(None)
    if not ok:
        raise GstUnavailableError("Gst.init_check failed")
    missing = [name for name in _ELEMENTS if gst.ElementFactory.find(name) is None]
    if missing:
        raise GstUnavailableError(f"GStreamer elements not found: {', '.join(missing)}")
    return gi, gst


def _run(gst: Any, pool: Any, count: int, method: str, timeout: float) -> float:
    """Seconds to push ``count`` pooled buffers through a new pipeline and get EOS back."""
    pipeline = gst.parse_launch(_PIPELINE)
    src = pipeline.get_by_name("src")
    sink = pipeline.get_by_name("sink")
    bus = pipeline.get_bus()
    flow_ok = gst.FlowReturn.OK
    duration = gst.MSECOND
    started: list[float] = []
    failures: list[str] = []

    def feed() -> None:
        # Written as a user would write it: no hoisted method lookups, no batching.
        try:
            started.append(time.perf_counter())
            for number in range(count):
                ret, buf = pool.acquire_buffer(None)
                if ret != flow_ok:
                    failures.append(f"acquire_buffer returned {ret.value_nick}")
                    break
                buf.pts = number * duration
                ret = src.emit("push-buffer", buf) if method == "emit" else src.push_buffer(buf)
                if ret != flow_ok:
                    failures.append(f"push returned {ret.value_nick} at buffer {number}")
                    break
                del buf
        except Exception as exc:  # report it from the main thread
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            src.end_of_stream()

    feeder = threading.Thread(target=feed, name="appsrc-feeder", daemon=True)
    try:
        if pipeline.set_state(gst.State.PLAYING) == gst.StateChangeReturn.FAILURE:
            raise RuntimeError("the pipeline refused to go to PLAYING")
        feeder.start()
        message = bus.timed_pop_filtered(
            int(timeout * gst.SECOND), gst.MessageType.EOS | gst.MessageType.ERROR
        )
        finished = time.perf_counter()
        if message is None:
            raise RuntimeError(f"no end-of-stream within {timeout} s")
        if message.type == gst.MessageType.ERROR:  # the feeder may wait in a push: no join
            error, debug = message.parse_error()
            raise RuntimeError(f"pipeline error: {error.message} ({debug})")
        feeder.join(timeout)  # it sent the EOS, so it is done or about to be
        if failures:
            raise RuntimeError(failures[0])
        last = sink.get_property("last-sample")
        last_pts = None if last is None else last.get_buffer().pts
        if last_pts != (count - 1) * duration:
            raise RuntimeError(f"fakesink's last PTS is {last_pts}, not {(count - 1) * duration}")
        return finished - started[0]
    finally:
        pipeline.set_state(gst.State.NULL)  # unblocks a feeder still waiting in a push
        if feeder.is_alive():
            feeder.join(timeout)


def measure(
    count: int, *, method: str = "push_buffer", warmup: int = WARMUP, timeout: float = 120.0
) -> dict[str, Any]:
    """Push ``count`` buffers (after ``warmup`` untimed ones) and return the script's report.

    Raises `GstUnavailableError` when GStreamer cannot be loaded, `RuntimeError` when the run
    fails.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    gi, gst = _load_gst()
    pool = gst.BufferPool.new()
    config = pool.get_config()
    caps = gst.Caps.from_string("application/octet-stream")
    gst.BufferPool.config_set_params(config, caps, BUFFER_SIZE, POOL_BUFFERS, POOL_BUFFERS)
    if not pool.set_config(config) or not pool.set_active(True):
        raise RuntimeError("the buffer pool could not be configured and activated")
    try:
        if warmup > 0:
            _run(gst, pool, warmup, method, timeout)
        seconds = _run(gst, pool, count, method, timeout)
    finally:
        pool.set_active(False)
    return {
        "rate": count / seconds,
        "count": count,
        "seconds": seconds,
        "method": method,
        "warmup": warmup,
        "buffer_size": BUFFER_SIZE,
        "pool_buffers": POOL_BUFFERS,
        "max_bytes": MAX_BYTES,
        "gst_version": ".".join(str(part) for part in gst.version()[:3]),
        "pygobject_version": str(gi.__version__),
        "python_version": ".".join(str(part) for part in sys.version_info[:3]),
    }


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, not {type(count).__name__}")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")


def gst_peer_report(
    count: int = 200_000,
    *,
    python: str = SYSTEM_PYTHON,
    timeout: float = 120.0,
    method: str = "push_buffer",
) -> dict[str, Any]:
    """Run this file under ``python`` and return its JSON report.

    On any failure (no such interpreter, no ``gi`` or GStreamer there, a failed run, a
    timeout, output that is not the expected JSON) the report is ``{"error": why}``, with
    ``"unavailable": True`` when GStreamer could not be loaded. Only an invalid ``count``
    or ``method`` raises (`TypeError`, `ValueError`).
    """
    _check_count(count)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    # -I: the script's folder (this package, with modules such as ipc.py and av.py) must not
    # shadow anything, and no PYTHON* variable or user site may change what is imported.
    command = [python, "-I", __file__, "--count", str(count), "--method", method]
    command += ["--timeout", str(timeout)]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout + 30.0,  # the script's own start-up and warm-up, beyond its limit
            check=False,
        )
    except FileNotFoundError:
        return {"error": f"no interpreter at {python}", "unavailable": True}
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    try:
        report = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{python} exited with {done.returncode}: {tail}"}
    if not isinstance(report, dict):
        return {"error": f"unexpected report from {python}: {lines[-1]}"}
    if done.returncode != 0 and "error" not in report:
        report["error"] = f"{python} exited with {done.returncode}"
    return report


def gst_peer_rate(
    count: int = 200_000, *, python: str = SYSTEM_PYTHON, timeout: float = 120.0
) -> float | None:
    """Buffers per second through ``appsrc ! identity ! fakesink``, or None if not measurable.

    None when ``python`` does not exist, cannot load ``gi``/GStreamer or one of the elements,
    or the run failed or timed out; `gst_peer_report` says why.
    """
    report = gst_peer_report(count, python=python, timeout=timeout)
    rate = report.get("rate")
    if "error" in report or not isinstance(rate, int | float) or rate <= 0:
        return None
    return float(rate)


def main(argv: list[str] | None = None) -> int:
    """The script: measure once and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200_000, help="timed buffers")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed buffers first")
    parser.add_argument("--method", choices=METHODS, default="push_buffer")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be >= 1")
    try:
        report = measure(args.count, method=args.method, warmup=args.warmup, timeout=args.timeout)
    except GstUnavailableError as exc:
        print(json.dumps({"error": str(exc), "unavailable": True}), flush=True)
        return EXIT_UNAVAILABLE
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
