"""Format changes while running: a source changes resolution mid-stream, and downstream follows.

DirectShow calls this a dynamic format change, GStreamer a caps change with reconfigure.
Here an output pin makes it with ``change_media_type(new_type)`` between two samples: it
asks the connected input pin once (``QueryAccept``); when the new frames do not fit the pool
it waits until every sample delivered so far is home, decommits the pool, negotiates it again
(a new allocation proposal from downstream) and commits; and the first sample of the new type
carries it (``IMediaSample.SetMediaType``, flag ``AM_SAMPLE_TYPECHANGED``), so every filter
downstream switches in order with the samples. A refusal ends the stream with EC_ERRORABORT:
no frame of a refused type is ever delivered.

A test source does it when its ``width`` and ``height`` are set while it runs:
``source.set_properties(width=64, height=48)`` from any thread validates the values, puts
them in place at once, and the source's streaming thread makes the change before its next
frame (`SourceStream.request_media_type`).

The program runs three graphs, each time setting the size from the main thread while the
renderer waits after frame ``--switch-at`` (so the change lands exactly before the next one):

1. ``videotestsrc ! renderer``: the renderer sees the small frames, then the large ones; the
   pool was renegotiated once (its sample size grows).
2. ``videotestsrc ! videoscale ! renderer`` with the renderer connected at a fixed 80x60
   (needs the ``av`` extra, else skipped): the scaler takes the new input size and the
   renderer sees one size throughout.
3. ``videotestsrc ! renderer`` with a renderer that takes the first size only: the change is
   refused, the graph reports EC_ERRORABORT naming both types, and only small frames
   arrived.

Run it::

    python samples/format_change.py
    python samples/format_change.py --frames 30 --switch-at 10 --size 160x120 --new-size 320x240

It prints what each graph did and exits 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
import threading
from typing import Any

from dshow_alloc import (
    AM_SAMPLE_TYPECHANGED,
    EC_COMPLETE,
    EC_ERRORABORT,
    HRESULT,
    BaseInputPin,
    FilterGraph,
    MediaType,
    RendererFilter,
    make_filter,
    video_type,
)

FRAME_TIME = 333_333  # 30 frames/s, in 100 ns units


class CountingInputPin(BaseInputPin):
    """An input pin counting the ``QueryAccept`` calls it answers."""

    def __init__(self, filter: Any, name: str) -> None:
        super().__init__(filter, name)
        self.asked = 0

    def QueryAccept(self, media_type: MediaType) -> bool:
        self.asked += 1
        return super().QueryAccept(media_type)


class Renderer(RendererFilter):
    """Records each frame's size and whether it carried a type; after frame ``pause_at``
    it waits (on the streaming thread) until the main thread says ``resume``. With
    ``only`` it takes that one type."""

    def __init__(self, pause_at: int, only: MediaType | None = None) -> None:
        super().__init__(name="renderer", sync=False)
        self.remove_pin(self.input)
        self.counting = self.add_pin(CountingInputPin(self, "In"))
        self.input = self.counting
        self.pause_at, self.only = pause_at, only
        self.frames: list[tuple[tuple[int, int], int]] = []  # (width, height), data length
        self.carried: list[int] = []  # the frame numbers that carried a type
        self.reached, self.resume = threading.Event(), threading.Event()

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Raw video; with ``only``, that type alone."""
        return self.only is None or media_type == self.only

    def DoRenderSample(self, sample: Any) -> None:
        """Note the frame, and wait after frame ``pause_at``."""
        header = self.input.ConnectionMediaType().format
        self.frames.append(((header.width, header.height), sample.GetActualDataLength()))
        carried = sample.GetMediaType() is not None
        if carried and sample.GetProperties().sample_flags & AM_SAMPLE_TYPECHANGED:
            self.carried.append(len(self.frames))
        if len(self.frames) == self.pause_at:
            self.reached.set()
            self.resume.wait(10)


def size_arg(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def runs(renderer: Renderer) -> list[str]:
    """The frames as runs of one size: ``frames 1-4: 32x24 (1152 bytes)``."""
    lines, first = [], 1
    for (size, length), group in itertools.groupby(renderer.frames):
        count = len(list(group))
        span = f"{first}-{first + count - 1}" if count > 1 else f"{first}"
        lines.append(f"  frames {span}: {size[0]}x{size[1]} ({length} bytes)")
        first += count
    return lines


def play(graph: FilterGraph, source: Any, renderer: Renderer, new_size: tuple[int, int]) -> int:
    """Run ``graph``; when the renderer waits, set the source's size from this (the main)
    thread, then let it go on. The completion code."""
    graph.Run()
    if renderer.reached.wait(10):
        source.set_properties(width=new_size[0], height=new_size[1])
    renderer.resume.set()
    return graph.WaitForCompletion(20_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--switch-at", type=int, default=4, help="frames before the change")
    parser.add_argument("--size", type=size_arg, default=(32, 24), help="WIDTHxHEIGHT")
    parser.add_argument("--new-size", type=size_arg, default=(64, 48), help="WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    if not 0 < args.switch_at < args.frames:
        parser.error("--switch-at must be between 0 and --frames")
    small = video_type("I420", *args.size, avg_time_per_frame=FRAME_TIME)
    large = video_type("I420", *args.new_size, avg_time_per_frame=FRAME_TIME)
    n, k = args.frames, args.switch_at
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    def new_size_text() -> str:
        return f"{args.new_size[0]}x{args.new_size[1]}"

    # 1. The renderer follows; the pool is renegotiated when the frames grow.
    print(
        f"graph 1: videotestsrc {args.size[0]}x{args.size[1]} -> renderer, {n} frames, "
        f"the size set to {new_size_text()} from the main thread after frame {k}"
    )
    source = make_filter("videotestsrc", num_buffers=n)
    renderer = Renderer(k)
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(source, "videotestsrc")
        graph.AddFilter(renderer, "renderer")
        graph.ConnectDirect(source.output, renderer.input, small)
        before = source.output.allocator.GetProperties()
        code = play(graph, source, renderer, args.new_size)
        after = source.output.allocator.GetProperties()
        renegotiated = source.output.renegotiations
    print("\n".join(runs(renderer)))
    print(
        f"  frame {renderer.carried[0] if renderer.carried else '-'} carried the new type "
        f"(AM_SAMPLE_TYPECHANGED); QueryAccept asked {renderer.counting.asked}x"
    )
    print(
        f"  pool: {before.buffers} x {before.buffer_size} bytes before, "
        f"{after.buffers} x {after.buffer_size} after; renegotiated {renegotiated}x"
    )
    check(code == EC_COMPLETE, "graph 1 did not complete")
    wanted = [(args.size, small.sample_size)] * k + [(args.new_size, large.sample_size)] * (n - k)
    check(renderer.frames == wanted, "graph 1: the frame sizes are not as set")
    check(renderer.carried == [k + 1], "graph 1: the type did not ride on the first new frame")
    check(renderer.counting.asked == 1, "graph 1: QueryAccept was not asked exactly once")
    grows = large.sample_size > before.buffer_size
    check(renegotiated == (1 if grows else 0), "graph 1: the pool was not renegotiated as due")
    check(after.buffer_size >= large.sample_size, "graph 1: the pool is too small")

    # 2. A scaler absorbs the change: the renderer keeps its 80x60.
    if importlib.util.find_spec("av") is None:
        print("graph 2: skipped (videoscale needs the av extra: pip install 'dshow-alloc[av]')")
    else:
        fixed = video_type("I420", 80, 60, avg_time_per_frame=FRAME_TIME)
        print(f"graph 2: videotestsrc -> videoscale -> renderer at 80x60, {n} frames")
        source, scale = make_filter("videotestsrc", num_buffers=n), make_filter("videoscale")
        renderer = Renderer(k, only=fixed)
        with FilterGraph(clock=None) as graph:
            for name, filter in (("videotestsrc", source), ("videoscale", scale)):
                graph.AddFilter(filter, name)
            graph.AddFilter(renderer, "renderer")
            graph.ConnectDirect(source.output, scale.input, small)
            graph.ConnectDirect(scale.output, renderer.input, fixed)
            code = play(graph, source, renderer, args.new_size)
            scaled_from = scale.input.ConnectionMediaType().format
        print("\n".join(runs(renderer)))
        print(f"  videoscale's input is now {scaled_from.width}x{scaled_from.height}")
        check(code == EC_COMPLETE, "graph 2 did not complete")
        check(renderer.frames == [((80, 60), fixed.sample_size)] * n, "graph 2: sizes changed")
        check(renderer.carried == [], "graph 2: a type reached the renderer")
        check((scaled_from.width, scaled_from.height) == args.new_size, "graph 2: no change")

    # 3. A renderer that takes one size: the change is refused and the stream ends.
    print(f"graph 3: videotestsrc -> a renderer taking {args.size[0]}x{args.size[1]} only")
    source = make_filter("videotestsrc", num_buffers=n)
    renderer = Renderer(k, only=small)
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(source, "videotestsrc")
        graph.AddFilter(renderer, "renderer")
        graph.ConnectDirect(source.output, renderer.input, small)
        code = play(graph, source, renderer, args.new_size)
        events = graph.events()
    print("\n".join(runs(renderer)))
    aborts = [event for event in events if event[0] == EC_ERRORABORT]
    for _code, hresult, error in aborts:
        print(f"  EC_ERRORABORT {HRESULT(hresult).name}: {error.message}")
    check(code == EC_ERRORABORT, "graph 3 did not end with EC_ERRORABORT")
    check(
        [event[1] for event in aborts] == [HRESULT.VFW_E_TYPE_NOT_ACCEPTED],
        "graph 3: not one VFW_E_TYPE_NOT_ACCEPTED",
    )
    check(renderer.frames == [(args.size, small.sample_size)] * k, "graph 3: a new frame came")

    for failure in failures:
        print(f"FAILED: {failure}")
    print("check: OK" if not failures else "check: FAILED")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
