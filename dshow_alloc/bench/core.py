"""The in-process benchmarks: the per-sample path, a whole graph and a live graph.

Each figure is the best of several repeats (the least disturbed run), as ``timeit`` advises.
"""

from __future__ import annotations

import queue
import threading
import time
import timeit
from collections.abc import Callable
from typing import Any

import attrs

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.elements import NullRenderer, QueueFilter
from dshow_alloc.filters import LiveSource, RendererFilter, SourceFilter, TransInPlaceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.structs import EC_COMPLETE, AllocatorProperties

__all__ = [
    "LIVE",
    "BenchResult",
    "LiveRun",
    "bench_bare_handoff",
    "bench_bare_pool",
    "bench_cycle",
    "bench_get_release",
    "bench_graph_chain",
    "bench_handoff",
    "bench_live_leaky",
]


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
