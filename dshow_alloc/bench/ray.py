"""1080p NV12 frames from one Ray actor's graph to another's: ``raysink``/``raysrc`` against
``shmsink``/``shmsrc`` between the same two actors, and against ``multiprocessing.Queue``
(`dshow_alloc.bench.ipc.bench_queue`), measured side by side (the ``ray`` extra).

Both graph pairs are the same but for the transport: ``videotestsrc pattern=black ! NV12
1920x1080 ! raysink`` (or ``shmsink``) in one `GraphActor`, ``raysrc`` (or ``shmsrc``) ``!
nullsink`` in another, on this node. A round runs the producer, then the consumer, and counts
the consumer's run (from its ``Run`` to its EC_COMPLETE, every frame received and released);
each figure is the best of several rounds, after a warm-up round, as ``timeit`` advises. The
Ray window is 32 frames (``raysrc buffers=32``, ``raysink buffers=34``).

Where the time goes is measured too: one ``ray.put`` of a 1080p frame (the one copy, into the
object store) and one actor call's round trip, the two costs each frame (or batch of frames)
pays on top of the producer's own work. When this module starts Ray itself (``ray.init`` not
called yet) it starts it with the machine's CPUs, a 1 GiB object store whose pages are
touched up front (``RAY_preallocate_plasma_memory``: a put then copies into mapped pages
instead of faulting fresh ones in), and shuts it down at the end.

Run ``python -m dshow_alloc.bench.ray [--quick]`` to print the figures.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import uuid
from typing import Any

import attrs

from dshow_alloc.bench.ipc import FRAME_SIZE

__all__ = [
    "CALL_ROW",
    "FRAME_ROW",
    "PUT_ROW",
    "RATIO_ROW",
    "RAY_ROW",
    "SHM_ROW",
    "RayBench",
    "bench_pair",
    "bench_ray",
    "main",
    "ray_rows",
]

_CAPS = "video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1"
_WINDOW = 32
_TIMEOUT = 120.0
RAY_ROW = "1080p NV12 actor graph to actor graph, raysink/raysrc"
SHM_ROW = "1080p NV12 actor graph to actor graph, shmsink/shmsrc"
RATIO_ROW = "ratio raysink/raysrc / mp.Queue"
PUT_ROW = "Ray: one ray.put of a 1080p frame"
CALL_ROW = "Ray: one actor call round trip"
FRAME_ROW = "Ray: time per frame through the channel"


def _lines(transport: str, frames: int) -> tuple[str, str]:
    """The producer's and the consumer's launch lines for ``transport`` (``ray``, ``shm``)."""
    source = f"videotestsrc pattern=black num-buffers={frames} ! {_CAPS}"
    tag = uuid.uuid4().hex[:10]
    if transport == "ray":
        channel = f"bench-{tag}"
        return (
            f"{source} ! raysink channel={channel} buffers={_WINDOW + 2}",
            f"raysrc channel={channel} buffers={_WINDOW} ! nullsink",
        )
    if transport == "shm":
        path = f"/tmp/dshow-alloc-bench-{tag}"
        return (
            f"{source} ! shmsink socket-path={path}",
            f"shmsrc socket-path={path} caps={_CAPS} ! nullsink",
        )
    raise ValueError(f"transport is 'ray' or 'shm', not {transport!r}")


def bench_pair(transport: str, frames: int, repeat: int) -> float:
    """Frames per second from one GraphActor's graph to another's through ``transport``:
    the best of ``repeat`` rounds of ``frames`` (after a warm-up round)."""
    from dshow_alloc.distributed import GraphActor

    ray = importlib.import_module("ray")
    producer_line, consumer_line = _lines(transport, frames)
    producer = GraphActor.remote(producer_line)
    consumer = GraphActor.remote(consumer_line)
    try:
        ray.get(producer.build.remote(), timeout=_TIMEOUT)
        ray.get(consumer.build.remote(), timeout=_TIMEOUT)
        best = 0.0
        for round_number in range(repeat + 1):
            ray.get(producer.start.remote(_TIMEOUT), timeout=_TIMEOUT)
            ray.get(consumer.start.remote(_TIMEOUT), timeout=_TIMEOUT)
            received = ray.get(consumer.wait.remote(_TIMEOUT), timeout=_TIMEOUT + 10)
            sent = ray.get(producer.wait.remote(_TIMEOUT), timeout=_TIMEOUT + 10)
            for report in (sent, received):
                if report is None or not report.succeeded or report.samples != frames:
                    raise RuntimeError(f"{transport}: a round did not complete: {report}")
            if round_number:
                best = max(best, frames / received.seconds)
        return best
    finally:
        ray.kill(producer)
        ray.kill(consumer)


@attrs.frozen
class RayBench:
    """What `bench_ray` measured."""

    ray: float
    """Frames/s through raysink/raysrc."""
    shm: float
    """Frames/s through shmsink/shmsrc between the same two actors."""
    put_us: float
    """Microseconds one ``ray.put`` of a 1080p frame takes here (best of several)."""
    call_us: float
    """Microseconds one actor call's round trip takes (best of several)."""


class _Echo:
    def ping(self) -> int:
        return 1


def _costs(ray: Any) -> tuple[float, float]:
    """(one put of a frame, one actor call round trip), in microseconds."""
    import numpy as np

    frame = np.zeros(FRAME_SIZE, dtype=np.uint8)
    puts = []
    for _ in range(30):
        began = time.perf_counter()
        ref = ray.put(frame)
        puts.append(time.perf_counter() - began)
        del ref
    echo = ray.remote(num_cpus=0)(_Echo).remote()
    try:
        ray.get(echo.ping.remote(), timeout=_TIMEOUT)
        calls = []
        for _ in range(50):
            began = time.perf_counter()
            ray.get(echo.ping.remote(), timeout=_TIMEOUT)
            calls.append(time.perf_counter() - began)
    finally:
        ray.kill(echo)
    return min(puts) * 1e6, min(calls) * 1e6


def _start_ray() -> tuple[Any, bool]:
    """The ``ray`` module, initialised; True when this call started it."""
    ray = importlib.import_module("ray")
    if ray.is_initialized():
        return ray, False
    os.environ.setdefault("RAY_preallocate_plasma_memory", "1")
    ray.init(
        num_cpus=os.cpu_count() or 1,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=1 << 30,
    )
    return ray, True


def bench_ray(
    frames: int | None = None, *, repeat: int | None = None, quick: bool = False
) -> RayBench:
    """Measure both graph pairs and the two costs (default 3 rounds of 600 frames each;
    ``quick``: 1 round of 30, a smoke run)."""
    count = frames if frames is not None else (30 if quick else 600)
    rounds = repeat if repeat is not None else (1 if quick else 3)
    ray, started = _start_ray()
    try:
        return RayBench(
            bench_pair("ray", count, rounds), bench_pair("shm", count, rounds), *_costs(ray)
        )
    finally:
        if started:
            ray.shutdown()


def ray_rows(quick: bool = False, queue_rate: float | None = None) -> list[Any]:
    """The rows of ``dshow-alloc bench`` (`dshow_alloc.bench.BenchResult`); none, with a note
    on stderr, without Ray. ``queue_rate`` (frames/s through ``multiprocessing.Queue``)
    gives the ratio row."""
    from dshow_alloc.bench.core import BenchResult

    try:
        importlib.import_module("ray")
        importlib.import_module("numpy")
    except ImportError as exc:
        print(f"dshow-alloc bench: skipped the Ray rows: {exc}", file=sys.stderr)
        return []
    measured = bench_ray(quick=quick)
    rows = [
        BenchResult(RAY_ROW, measured.ray, "frames/s"),
        BenchResult(SHM_ROW, measured.shm, "frames/s"),
    ]
    if queue_rate:
        rows.append(BenchResult(RATIO_ROW, measured.ray / queue_rate, "x", ">= 3"))
    rows += [
        BenchResult(PUT_ROW, measured.put_us, "us"),
        BenchResult(CALL_ROW, measured.call_us, "us"),
        BenchResult(FRAME_ROW, 1e6 / measured.ray, "us"),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the figures, with multiprocessing.Queue's for comparison."""
    from dshow_alloc.bench.ipc import bench_queue

    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    queued = bench_queue(quick=quick)
    measured = bench_ray(quick=quick)
    print(f"1080p NV12, actor to actor, raysink/raysrc  : {measured.ray:8.0f} frames/s")
    print(f"1080p NV12, actor to actor, shmsink/shmsrc  : {measured.shm:8.0f} frames/s")
    print(f"1080p NV12 through multiprocessing.Queue    : {queued:8.0f} frames/s")
    print(f"ratio raysink/raysrc / multiprocessing.Queue: {measured.ray / queued:8.1f}x")
    print(f"one ray.put of a 1080p frame                : {measured.put_us:8.0f} us")
    print(f"one actor call round trip                   : {measured.call_us:8.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
