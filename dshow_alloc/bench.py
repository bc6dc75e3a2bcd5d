"""``dshow-alloc bench``: how fast the per-sample path and the cross-process path are here.

Each figure is the best of several repeats (the least disturbed run), as ``timeit`` advises.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import timeit
from collections.abc import Callable
from typing import Any

import attrs

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.bench_gst import gst_peer_rate
from dshow_alloc.bench_ipc import bench_queue, bench_shared_memory
from dshow_alloc.elements import NullRenderer, QueueFilter
from dshow_alloc.filters import LiveSource, RendererFilter, SourceFilter, TransInPlaceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.structs import EC_COMPLETE, AllocatorProperties

__all__ = [
    "GST_PEER",
    "LIVE",
    "PIXEL_BARE",
    "PIXEL_COST",
    "PIXEL_PIPELINE",
    "BenchResult",
    "LiveRun",
    "bench_live_leaky",
    "format_table",
    "run_benchmarks",
]

#: The name of the GStreamer peer's row.
GST_PEER = "GStreamer appsrc ! identity ! fakesink, pooled 64 B, Python thread"


@attrs.frozen
class BenchResult:
    """One measured figure."""

    name: str
    """What was measured."""
    value: float
    """The figure, in ``unit``."""
    unit: str
    """``"ns/op"``, ``"samples/s"``, ``"frames/s"`` or ``"x"`` (a ratio)."""
    target: str = ""
    """What the project aims for, for the reader's comparison."""


def _committed(buffers: int, size: int = 64) -> MemAllocator:
    allocator = MemAllocator(name="bench")
    allocator.SetProperties(AllocatorProperties(buffers, size, 1, 0))
    allocator.Commit()
    return allocator


def _ns_per_op(func: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e9


def bench_cycle(number: int, repeat: int) -> float:
    """ns per GetBuffer + SetTime + Release on an uncontended pool."""
    allocator = _committed(4)

    def cycle() -> None:
        sample = allocator.GetBuffer()
        sample.SetTime(400_000, 733_333)
        sample.Release()

    try:
        return _ns_per_op(cycle, number, repeat)
    finally:
        allocator.Decommit()


def bench_get_release(number: int, repeat: int) -> float:
    """ns per GetBuffer + Release on an uncontended pool."""
    allocator = _committed(4)

    def cycle() -> None:
        allocator.GetBuffer().Release()

    try:
        return _ns_per_op(cycle, number, repeat)
    finally:
        allocator.Decommit()


def bench_bare_pool(number: int, repeat: int) -> float:
    """ns per acquire + release of a bare list-based pool: the floor for pure Python."""
    free = [object() for _ in range(4)]

    def cycle() -> None:
        item = free.pop()
        free.append(item)

    return _ns_per_op(cycle, number, repeat)


def bench_handoff(count: int, repeat: int) -> float:
    """Samples per second handed from a producer thread to a consumer thread, pool of 4."""
    best = 0.0
    for _ in range(repeat):
        allocator = _committed(4)
        handoff: queue.SimpleQueue[object] = queue.SimpleQueue()

        def consume(handoff: queue.SimpleQueue[object] = handoff) -> None:
            while True:
                sample = handoff.get()
                if sample is None:
                    return
                sample.Release()  # type: ignore[attr-defined]

        consumer = threading.Thread(target=consume, name="bench-consumer")
        consumer.start()
        began = time.perf_counter()
        for index in range(count):
            sample = allocator.GetBuffer()
            sample.SetTime(index, index + 1)
            handoff.put(sample)
        handoff.put(None)
        consumer.join()
        elapsed = time.perf_counter() - began
        allocator.Decommit()
        best = max(best, count / elapsed)
    return best


def bench_bare_handoff(count: int, repeat: int) -> float:
    """Items per second through two bare SimpleQueues (a pool of 4 tokens): the thread floor."""
    best = 0.0
    for _ in range(repeat):
        pool: queue.SimpleQueue[object] = queue.SimpleQueue()
        handoff: queue.SimpleQueue[object] = queue.SimpleQueue()
        for token in range(4):
            pool.put(token)

        def consume(
            pool: queue.SimpleQueue[object] = pool, handoff: queue.SimpleQueue[object] = handoff
        ) -> None:
            while (token := handoff.get()) is not None:
                pool.put(token)

        consumer = threading.Thread(target=consume, name="bench-bare-consumer")
        consumer.start()
        began = time.perf_counter()
        for _index in range(count):
            handoff.put(pool.get())
        handoff.put(None)
        consumer.join()
        best = max(best, count / (time.perf_counter() - began))
    return best


class _CountingSource(SourceFilter):
    """Numbers ``count`` 64-byte samples: a time stamp and the count in the first byte."""

    def __init__(self, count: int) -> None:
        super().__init__(buffer_size=64, buffers=4)
        self.count = count
        self.made = 0

    def FillBuffer(self, sample: Any) -> bool:
        made = self.made
        if made == self.count:
            return False
        sample.SetTime(made * 400_000, made * 400_000 + 400_000)
        self.made = made + 1
        return True


class _Stamp(TransInPlaceFilter):
    """Writes one byte into each sample, in place."""

    def Transform(self, sample: Any) -> None:
        sample.GetPointer()[0] = 1


def bench_graph_chain(count: int, repeat: int) -> float:
    """Samples/s through source -> in-place transform -> null renderer, 64-byte samples,
    from ``Run`` to ``EC_COMPLETE``."""
    best = 0.0
    for _ in range(repeat):
        renderer = NullRenderer()
        with FilterGraph(clock=None) as graph:
            graph.connect_chain(_CountingSource(count), _Stamp(), renderer)
            began = time.perf_counter()
            graph.Run()
            if graph.WaitForCompletion(600_000) != EC_COMPLETE:
                raise RuntimeError("the benchmark graph did not complete")
            elapsed = time.perf_counter() - began
        if renderer.rendered != count:
            raise RuntimeError(f"rendered {renderer.rendered} of {count} samples")
        best = max(best, count / elapsed)
    return best


class _LiveCounter(LiveSource):
    """A live source of ``count`` 64-byte samples, one every ``period`` (100 ns units),
    each made when the graph clock reaches its time."""

    def __init__(self, count: int, period: int) -> None:
        super().__init__(buffer_size=64, buffers=1)
        self.count, self.period = count, period
        self.made = 0

    def capture_latency(self) -> int:
        return self.period

    def FillBuffer(self, sample: Any) -> bool:
        made = self.made
        if made == self.count:
            return False
        start = made * self.period
        if not self.wait_for_capture(start):
            return False
        sample.SetTime(start, start + self.period)
        self.made = made + 1
        return True


class _SlowRenderer(RendererFilter):
    """Takes ``work`` seconds a sample (a sleep: a renderer that cannot keep up) and records
    how long after its capture each sample reached it (100 ns units)."""

    def __init__(self, work: float) -> None:
        super().__init__(name="slow", sync=False)
        self.work = work
        self.latencies: list[int] = []

    def DoRenderSample(self, sample: Any) -> None:
        start, _stop = sample.GetTime()
        self.latencies.append(self._clock.GetTime() - (self.start_time + start))
        time.sleep(self.work)


#: The name of the live rows (a suffix each).
LIVE = "live 200/s -> queue leaky=downstream max-size-buffers=2 -> 12 ms renderer"


@attrs.frozen
class LiveRun:
    """What `bench_live_leaky` saw."""

    frames: int
    """Samples the live source made."""
    rendered: int
    """Samples the renderer presented."""
    dropped: int
    """Samples the queue dropped."""
    mean_latency: float
    """Milliseconds from a presented sample's capture to its presentation, on average."""
    max_latency: float
    """The longest of those, in milliseconds."""


def bench_live_leaky(frames: int, *, period: int = 50_000, work: float = 0.012) -> LiveRun:
    """A live source (one sample every ``period``: 5 ms, 200/s) through ``queue
    leaky=downstream max-size-buffers=2`` into a renderer that needs ``work`` seconds a
    sample (12 ms: it takes about 40% of them), on the system clock: the queue drops what
    the renderer cannot take, and the latency from capture to presentation stays bounded
    (the queue keeps only the two newest samples, so the renderer never gets one older than
    about two periods plus its wake-up). Checked, not measured: every sample made is
    presented or dropped, and the source never waited for a sample (RuntimeError
    otherwise)."""
    source = _LiveCounter(frames, period)
    queue = QueueFilter(max_size=2, leaky="downstream")
    renderer = _SlowRenderer(work)
    with FilterGraph() as graph:
        graph.connect_chain(source, queue, renderer)
        graph.Run()
        if graph.WaitForCompletion(600_000) != EC_COMPLETE:
            raise RuntimeError("the live benchmark graph did not complete")
        waits = source.output.allocator.waits
        graph.Stop()
    delivered, rendered, dropped = source.output.delivered, renderer.rendered, queue.dropped
    if delivered != frames or rendered + dropped != frames or waits:
        raise RuntimeError(
            f"{frames} made, {delivered} delivered, {rendered} rendered + {dropped} dropped, "
            f"the source waited {waits} times for a sample"
        )
    latencies = renderer.latencies
    return LiveRun(
        frames,
        rendered,
        dropped,
        sum(latencies) / len(latencies) / 10_000,
        max(latencies) / 10_000,
    )


def _live_rows(quick: bool) -> list[BenchResult]:
    run = bench_live_leaky(100 if quick else 600)
    return [
        BenchResult(f"{LIVE}: source frames", run.frames, "frames"),
        BenchResult(f"{LIVE}: rendered", run.rendered, "frames"),
        BenchResult(f"{LIVE}: dropped by the queue", run.dropped, "frames", "frames - rendered"),
        BenchResult(f"{LIVE}: latency, mean", run.mean_latency, "ms"),
        BenchResult(f"{LIVE}: latency, max", run.max_latency, "ms", "<= 40"),
    ]


def run_benchmarks(quick: bool = False) -> list[BenchResult]:
    """Run every benchmark; ``quick`` trades precision for time (for tests)."""
    number, repeat, handoffs = (20_000, 3, 20_000) if quick else (200_000, 7, 200_000)
    shared = bench_shared_memory(quick=quick)
    queued = bench_queue(quick=quick)
    graph = bench_graph_chain(handoffs, min(repeat, 3))
    results = [
        BenchResult(
            "GetBuffer+SetTime+Release (uncontended)",
            bench_cycle(number, repeat),
            "ns/op",
            "<= 900",
        ),
        BenchResult("GetBuffer+Release (uncontended)", bench_get_release(number, repeat), "ns/op"),
        BenchResult("bare list pool pop+append (floor)", bench_bare_pool(number, repeat), "ns/op"),
        BenchResult(
            "two-thread handoff, pool of 4", bench_handoff(handoffs, min(repeat, 3)), "samples/s"
        ),
        BenchResult(
            "bare SimpleQueue handoff (floor)",
            bench_bare_handoff(handoffs, min(repeat, 3)),
            "items/s",
        ),
        BenchResult(
            "graph: source -> in-place -> null renderer, 64 B",
            graph,
            "samples/s",
            ">= 150000",
        ),
        BenchResult("1080p NV12 to another process, dshow_alloc.ipc", shared, "frames/s"),
        BenchResult("1080p NV12 to another process, mp.Queue", queued, "frames/s"),
        BenchResult("ratio of the two above (ipc / mp.Queue)", shared / queued, "x", ">= 30"),
    ]
    results += _live_rows(quick)
    results += _ray_rows(quick, queued)
    results += _pixel_pipeline(quick)
    results += _av_file(quick)
    # The peer to beat, where Debian's GStreamer and PyGObject are installed (.ci/run does).
    peer = gst_peer_rate(handoffs)
    if peer is not None:
        results += [
            BenchResult(GST_PEER, peer, "buffers/s"),
            BenchResult("ratio graph / GStreamer peer", graph / peer, "x", ">= 1"),
        ]
    return results


def _ray_rows(quick: bool, queued: float) -> list[BenchResult]:
    """1080p frames from one Ray actor's graph to another's (`dshow_alloc.bench_ray`; none
    without the ray extra)."""
    from dshow_alloc.bench_ray import ray_rows

    rows: list[BenchResult] = ray_rows(quick, queue_rate=queued)
    return rows


#: The names of the 1080p pixel-work rows.
PIXEL_PIPELINE = "1080p NV12 videotestsrc pattern=black ! invert ! nullsink"
PIXEL_BARE = "1080p NV12 bare numpy loop (fill black, invert in place)"
PIXEL_COST = "framework cost per 1080p frame (pipeline - bare loop)"


def _pixel_pipeline(quick: bool) -> list[BenchResult]:
    """The framework's cost on real pixel work, where numpy is installed (the media extra):
    the pipeline against a bare numpy loop doing the same work per frame."""
    try:
        from dshow_alloc.plugins.effects import bench_black_invert
    except ImportError:
        return []
    pipeline, bare = bench_black_invert(100 if quick else 1000, repeat=3 if quick else 5)
    return [
        BenchResult(PIXEL_PIPELINE, pipeline, "frames/s"),
        BenchResult(PIXEL_BARE, bare, "frames/s"),
        BenchResult("ratio of the two above (pipeline / bare)", pipeline / bare, "x", ">= 0.9"),
        # The time per frame the graph adds to the pixel work: samples, pins, the streaming
        # thread. A difference of two rates, so within the noise it may come out below 0
        # (videotestsrc copies a black frame made once where the loop fills one). The target
        # is the figure before the H.264 file rows were added: -14 to +12 us on the 2-core
        # build machine.
        BenchResult(PIXEL_COST, (1 / pipeline - 1 / bare) * 1e9, "ns/frame", "<= 15000"),
    ]


def _av_file(quick: bool) -> list[BenchResult]:
    """A real file through ``avsrc ! queue ! invert ! queue ! avsink`` against one plain
    PyAV loop doing the same work (`dshow_alloc.bench_av`); skipped, with a note on stderr,
    without Debian's ffmpeg (which makes the input) or PyAV."""
    from dshow_alloc.bench_av import (
        AV_LOOP,
        AV_LOOP_THREADED,
        AV_PIPELINE,
        AV_RATIO,
        AV_RATIO_THREADED,
        AVUnavailableError,
        bench_av,
    )

    try:
        measured = bench_av(60 if quick else 300, repeat=1 if quick else 3)
    except AVUnavailableError as exc:
        print(f"dshow-alloc bench: skipped the H.264 file rows: {exc}", file=sys.stderr)
        return []
    return [
        BenchResult(AV_PIPELINE, measured.pipeline.rate, "frames/s"),
        BenchResult(AV_LOOP, measured.loop.rate, "frames/s"),
        BenchResult(AV_RATIO, measured.ratio, "x", ">= 1.3"),
        BenchResult(AV_LOOP_THREADED, measured.threaded.rate, "frames/s"),
        BenchResult(AV_RATIO_THREADED, measured.threaded_ratio, "x"),
    ]


def format_table(results: list[BenchResult]) -> str:
    """The results as an aligned text table."""
    rows = [("benchmark", "result", "unit", "target")]
    for result in results:
        decimals = {"x": 2, "ms": 1}.get(result.unit, 0)
        figure = f"{result.value:,.{decimals}f}"
        rows.append((result.name, figure, result.unit, result.target))
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    lines = []
    for number, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.rjust(widths[col]) if col == 1 else cell.ljust(widths[col])
                for col, cell in enumerate(row)
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
