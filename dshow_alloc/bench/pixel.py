"""The framework's cost on real pixel work (numpy, the ``media`` extra): a graph that inverts
1080p NV12 frames against a bare numpy loop doing the same work per frame."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dshow_alloc.graph import FilterGraph
from dshow_alloc.plugins.basic import NullSink
from dshow_alloc.registry import make_filter
from dshow_alloc.structs import EC_COMPLETE

__all__ = ["bench_black_invert"]


class _TimedNullSink(NullSink):
    """``nullsink`` noting when the first and the last sample arrived."""

    def __init__(self) -> None:
        super().__init__(name="nullsink")
        self.first = self.last = 0.0

    def DoRenderSample(self, sample: Any) -> None:
        """Note the time."""
        now = time.perf_counter()
        if not self.first:
            self.first = now
        self.last = now


def bench_black_invert(
    frames: int, width: int = 1920, height: int = 1080, *, repeat: int = 3
) -> tuple[float, float]:
    """Frames/s of ``videotestsrc pattern=black ! invert ! nullsink`` (NV12) and of a bare
    numpy loop doing the same pixel work on one frame (Y plane to 16, UV plane to 128, then
    ``np.invert`` in place): ``(pipeline, bare)``.

    Both figures are steady-state rates over ``frames - 1`` frames: the pipeline's from the
    first frame reaching the sink to the last, the loop's after one untimed frame. So neither
    counts its setup (the pool's allocation and the first touch of its pages, which cost
    milliseconds in a VM, the streaming thread's start; the loop's first-touch page faults).
    The two alternate ``repeat`` times, and each figure is the best of its runs (the least
    disturbed, as ``timeit`` advises).
    """
    if frames < 2 or repeat < 1:
        raise ValueError(f"frames must be >= 2 and repeat >= 1, got {frames} and {repeat}")
    pipeline = bare = 0.0
    for _ in range(repeat):
        pipeline = max(pipeline, _pipeline_rate(frames, width, height))
        bare = max(bare, _bare_rate(frames, width, height))
    return pipeline, bare


def _pipeline_rate(frames: int, width: int, height: int) -> float:
    source = make_filter(
        "videotestsrc", pattern="black", width=width, height=height, num_buffers=frames
    )
    sink = _TimedNullSink()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, make_filter("invert"), sink)
        graph.Run()
        if graph.WaitForCompletion(600_000) != EC_COMPLETE:
            raise RuntimeError("the benchmark graph did not complete")
    if sink.rendered != frames:
        raise RuntimeError(f"rendered {sink.rendered} of {frames} frames")
    return (frames - 1) / (sink.last - sink.first)


def _bare_rate(frames: int, width: int, height: int) -> float:
    luma = width * height
    frame = np.empty(luma + (width + 1) // 2 * 2 * ((height + 1) // 2), np.uint8)
    y_plane, uv_plane = frame[:luma], frame[luma:]
    began = 0.0
    for index in range(frames):
        if index == 1:
            began = time.perf_counter()
        y_plane.fill(16)
        uv_plane.fill(128)
        np.invert(frame, out=frame)
    return (frames - 1) / (time.perf_counter() - began)
