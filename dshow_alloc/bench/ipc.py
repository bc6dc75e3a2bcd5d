"""Frames per second from one process to another: `dshow_alloc.ipc` against ``multiprocessing``.

Both benchmarks move 1080p NV12 frames (1920 x 1080 x 1.5 = 3,110,400 bytes) from this process
to a consumer process started with the ``spawn`` method. The producer fills every byte of each
frame with the frame number (one ``ctypes.memset``); the consumer checks the first and the last
byte of every frame and lets it go. A round counts from its first frame until the consumer has
finished with its last one; each figure is the best of several rounds (the least disturbed,
as ``timeit`` advises). Process start-up and a warm-up round are not timed, and a consumer that
saw a wrong byte or a wrong number of frames fails the benchmark.

* `bench_shared_memory`: a pool of 4 ``"SharedMemory"`` samples sent with `SampleSender`;
  only a small header crosses between the processes, and a frame goes back to the pool when
  the consumer releases it.
* `bench_queue`: a new ``bytearray`` per frame, ``put`` on a ``multiprocessing.Queue`` (by
  default unbounded, as ``multiprocessing.Queue()`` is): each frame is pickled, written
  through a pipe and unpickled.

``quick=True`` sends few frames in one round: a smoke run for CI, not a measurement.
Run ``python -m dshow_alloc.bench.ipc [--quick]`` to print both figures and their ratio.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.ipc import Listener, SampleReceiver, SampleSender, connect
from dshow_alloc.pool import PoolConfig

__all__ = ["FRAME_SIZE", "bench_queue", "bench_shared_memory", "main"]

FRAME_SIZE = 1920 * 1080 * 3 // 2
"""One 1080p NV12 frame: a full-size luma plane and a half-size interleaved chroma plane."""

_POOL = 4
_TIMEOUT = 30.0  # seconds any one step may take before the benchmark gives up


def _fill(view: memoryview, value: int) -> None:
    """Write ``value`` into every byte of a writable view (one memset, no Python loop)."""
    anchor = ctypes.c_char.from_buffer(view)
    try:
        ctypes.memset(ctypes.addressof(anchor), value, len(view))
    finally:
        del anchor


def _plan(
    frames: int | None, repeat: int | None, quick: bool, full: tuple[int, int]
) -> tuple[int, int]:
    """(frames per round, timed rounds)."""
    default_frames, default_repeat = (full[0] // 10, 1) if quick else full
    count = default_frames if frames is None else frames
    rounds = default_repeat if repeat is None else repeat
    for name, value in (("frames", count), ("repeat", rounds)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    return count, rounds


def _report(reader: Connection, process: Any) -> tuple[int, int]:
    """The consumer's (frames seen, frames with a wrong byte) since its last report."""
    while not reader.poll(0.1):
        if not process.is_alive():
            raise RuntimeError(f"the consumer process exited with code {process.exitcode}")
    seen, bad = reader.recv()
    return int(seen), int(bad)


def _check(report: tuple[int, int], expected: int) -> None:
    seen, bad = report
    if seen != expected or bad:
        raise RuntimeError(f"the consumer saw {seen} of {expected} frames, {bad} with wrong bytes")


def _stop(process: Any) -> None:
    process.join(_TIMEOUT)
    if process.is_alive():
        process.kill()
        process.join()


# -- dshow_alloc.ipc -----------------------------------------------------------------------------


def _shared_memory_consumer(address: str, results: Connection) -> None:
    """The consumer process: receive until end of stream, check two bytes per frame."""
    seen = bad = 0
    with SampleReceiver(connect(address, timeout=_TIMEOUT)) as receiver:
        while (sample := receiver.receive(timeout=_TIMEOUT)) is not None:
            with sample:
                data = sample.GetPointer()
                value = seen & 0xFF
                if data[0] != value or data[-1] != value:
                    bad += 1
                data.release()
            seen += 1
    results.send((seen, bad))
    results.close()


def _accept(listener: Listener, process: Any) -> SampleSender:
    """The consumer's connection; fails at once if the consumer process dies first."""
    deadline = time.monotonic() + _TIMEOUT
    while True:
        try:
            return SampleSender(listener.accept(timeout=0.1), name="bench-ipc-sender")
        except TimeoutError:
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the consumer process did not connect") from None


def bench_shared_memory(
    frames: int | None = None, *, repeat: int | None = None, quick: bool = False
) -> float:
    """Frames per second through `SampleSender`/`SampleReceiver`: best of ``repeat`` rounds
    of ``frames`` (default 5 rounds of 1000 frames; ``quick``: 1 round of 100)."""
    count, rounds = _plan(frames, repeat, quick, (1000, 5))
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    pool = MemAllocator(name="bench-ipc")
    pool.SetConfig(
        PoolConfig(FRAME_SIZE, _POOL, _POOL, align=4096, memory_allocator="SharedMemory")
    )
    pool.Commit()
    process: Any = None
    try:
        with Listener() as listener:
            process = context.Process(
                target=_shared_memory_consumer, args=(listener.address, writer), daemon=True
            )
            process.start()
            writer.close()
            sender = _accept(listener, process)
        best = 0.0
        sent = 0
        try:
            for round_number in range(rounds + 1):  # round 0 warms up: first touch, mappings
                began = time.perf_counter()
                for _ in range(count):
                    with pool.GetBuffer(timeout=_TIMEOUT) as sample:
                        data = sample.GetPointer()
                        _fill(data, sent & 0xFF)
                        data.release()
                        sender.send(sample, timeout=_TIMEOUT)
                    sent += 1
                if not sender.wait_idle(_TIMEOUT):  # the consumer released the last frame
                    raise RuntimeError("the consumer stopped releasing frames")
                if round_number:
                    best = max(best, count / (time.perf_counter() - began))
        finally:
            sender.close(timeout=_TIMEOUT)
        _check(_report(reader, process), sent)
    finally:
        reader.close()
        if process is not None and process.pid is not None:
            _stop(process)
        pool.Decommit()
    return best


# -- multiprocessing.Queue -----------------------------------------------------------------------


def _queue_consumer(frames: Any, results: Connection) -> None:
    """The consumer process: take frames; report (seen, bad) at each round marker, stop at None."""
    seen = bad = 0
    while (frame := frames.get(timeout=_TIMEOUT)) is not None:
        if isinstance(frame, int):  # the end of a round
            results.send((seen, bad))
            continue
        value = seen & 0xFF
        if frame[0] != value or frame[-1] != value:
            bad += 1
        seen += 1
    results.close()


def bench_queue(
    frames: int | None = None, *, repeat: int | None = None, quick: bool = False, maxsize: int = 0
) -> float:
    """Frames per second through ``multiprocessing.Queue(maxsize)``: best of ``repeat``
    rounds of ``frames`` (default 3 rounds of 60; ``quick``: 1 round of 6)."""
    count, rounds = _plan(frames, repeat, quick, (60, 3))
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue(maxsize=maxsize)
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=_queue_consumer, args=(queue, writer), daemon=True)
    process.start()
    writer.close()
    best = 0.0
    sent = 0
    try:
        for round_number in range(rounds + 1):  # round 0 warms up (and waits for start-up)
            began = time.perf_counter()
            for _ in range(count):
                frame = bytearray(FRAME_SIZE)
                _fill(memoryview(frame), sent & 0xFF)
                queue.put(frame, timeout=_TIMEOUT)
                sent += 1
            queue.put(round_number, timeout=_TIMEOUT)
            _check(_report(reader, process), sent)
            if round_number:
                best = max(best, count / (time.perf_counter() - began))
        queue.put(None, timeout=_TIMEOUT)
    finally:
        reader.close()
        queue.close()
        queue.join_thread()
        _stop(process)
    return best


def main(argv: list[str] | None = None) -> int:
    """Print both figures and their ratio."""
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    shared = bench_shared_memory(quick=quick)
    queued = bench_queue(quick=quick)
    print(f"1080p NV12 frames via dshow_alloc.ipc       : {shared:8.0f} frames/s")
    print(f"1080p NV12 frames via multiprocessing.Queue : {queued:8.0f} frames/s")
    print(f"ratio                                       : {shared / queued:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
