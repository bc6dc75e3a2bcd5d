"""Connect pins by hand with ``ConnectDirect`` and watch the negotiation.

Two steps happen when an output pin connects to an input pin:

1. The media type. ``graph.ConnectDirect(out_pin, in_pin, media_type)`` forces one type (what
   a caps filter such as ``! video/x-raw,format=I420 !`` does): both pins must accept it, or
   the call raises a `COMError` and both pins stay unconnected. With no type, the output pin
   tries its own types, then the input pin's, and keeps the first that both accept.
2. The allocator, decided by the output pin (``CBaseOutputPin::DecideAllocator``). The input
   pin first answers an allocation proposal (GStreamer's ALLOCATION query: pools, memory
   allocator parameters, metas), then the output pin takes the proposed pool or else the
   input pin's own allocator (``GetAllocator``), sizes it (``DecideBufferSize``) and tells
   the input pin (``NotifyAllocator``).

This program connects a two-format source to a renderer that takes only I420, first with
types the pins refuse (printing the HRESULT), then with no type, then to a renderer that
offers its own pool; it prints what each connection agreed and runs a few frames through
each. Run it::

    python samples/connect_by_hand.py
    python samples/connect_by_hand.py --frames 30

It exits 0 when every step behaved as described, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dshow_alloc import (
    EC_COMPLETE,
    AllocationParams,
    AllocationQuery,
    AllocatorProperties,
    BaseInputPin,
    BaseOutputPin,
    COMError,
    FilterGraph,
    MediaType,
    MemAllocator,
    PoolConfig,
    RendererFilter,
    SourceFilter,
    size_allocator,
    video_format,
    video_type,
)

WIDTH, HEIGHT = 64, 48
FRAME_TIME = 400_000  # 25 frames/s in 100 ns units


class TwoFormatSource(SourceFilter):
    """Offers NV12 first, then I420, at one size; fills frames with a counter byte."""

    def __init__(self, frames: int) -> None:
        super().__init__(name="source", buffers=2)
        self.frames = frames
        self.made = 0

    def GetMediaType(self, position: int) -> MediaType | None:
        """Position 0: NV12, position 1: I420; None after the last."""
        formats = ("NV12", "I420")
        if position < len(formats):
            return video_type(formats[position], WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
        return None

    # The default check_media_type of a SourceFilter accepts exactly the types GetMediaType
    # offers, so a type of another size is refused by the source itself.

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """At least what downstream asked for, and frames of the agreed type's size."""
        size = self.output.ConnectionMediaType().sample_size
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    def FillBuffer(self, sample: Any) -> bool:
        """A frame whose every byte is the frame number; False after ``frames``."""
        if self.made == self.frames:
            return False
        size = self.output.ConnectionMediaType().sample_size
        sample.GetPointer()[:size] = bytes([self.made & 0xFF]) * size
        sample.SetActualDataLength(size)
        sample.SetTime(self.made * FRAME_TIME, (self.made + 1) * FRAME_TIME)
        self.made += 1
        return True


class I420Renderer(RendererFilter):
    """Takes I420 only. Its input pin states requirements and answers the allocation
    proposal; with ``own_pool`` it offers a pool of its own, as a video sink offering
    memory it can display without a copy would."""

    def __init__(self, name: str, *, own_pool: bool = False) -> None:
        super().__init__(name=name, sync=False)
        # What GetAllocatorRequirements reports (DirectShow's way to ask): 3 samples, the
        # data 16-byte aligned. Size 0: the output pin knows the size from the type.
        self.input.requirements = AllocatorProperties(buffers=3, buffer_size=0, align=16)
        self.pool = MemAllocator(name=f"{name}'s pool") if own_pool else None
        self.seen: list[int] = []

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """I420 of any size."""
        return video_format(media_type) == "I420"

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Answer the proposal (GStreamer's way to ask): a pool entry, the memory
        parameters we want, and no metas (so the source attaches none)."""
        frame_size = query.media_type.sample_size if query.media_type is not None else 0
        # pool None: "use your own pool, with these numbers"; max_buffers 0: it may grow.
        query.add_pool(self.pool, frame_size, min_buffers=3, max_buffers=0)
        # Memory allocator None: the default ("SystemMemory"); 32-byte alignment, 64 bytes
        # of padding after each frame (room for SIMD reads past the end).
        query.add_param(None, AllocationParams(align=32, padding=64))

    def DoRenderSample(self, sample: Any) -> None:
        """Remember the first byte of each frame."""
        self.seen.append(sample.GetPointer()[0])


def describe_allocator(output: BaseOutputPin, input_pin: BaseInputPin, renderer: Any) -> str:
    """Who provided the connection's allocator."""
    allocator = output.allocator
    if allocator is not input_pin.peek_allocator():
        return "the two pins disagree (a bug)"
    if renderer.pool is not None and allocator is renderer.pool:
        return "the pool the renderer proposed"
    return "the renderer input pin's own allocator (GetAllocator)"


def show_connection(output: BaseOutputPin, input_pin: BaseInputPin, renderer: Any) -> None:
    """Print the agreed type, the allocator and the proposal the input pin answered."""
    media_type = output.ConnectionMediaType()
    vih = media_type.format
    print(
        f"  agreed type: {video_format(media_type)} {vih.width}x{vih.height}, "
        f"{media_type.sample_size} bytes a sample"
    )
    allocator = output.allocator
    props = allocator.GetProperties()  # the DirectShow view: ALLOCATOR_PROPERTIES
    config = allocator.GetConfig()  # the GStreamer view: the pool's configuration
    print(f"  allocator: {allocator.name!r}, {describe_allocator(output, input_pin, renderer)}")
    print(
        f"  GetProperties: buffers={props.buffers} buffer_size={props.buffer_size} "
        f"align={props.align} prefix={props.prefix}"
    )
    print(
        f"  pool config: min_buffers={config.min_buffers} max_buffers={config.max_buffers} "
        f"padding={config.padding} memory={allocator.memory_allocator.mem_type}"
    )
    query = output.last_query  # the proposal as the input pin answered it (None: none)
    if query is None:
        print("  proposal: none")
        return
    for pool in query.pools:
        who = pool.pool.name if pool.pool is not None else "None (bring your own)"
        print(
            f"  proposal pool: {who}, size={pool.size} min={pool.min_buffers} "
            f"max={pool.max_buffers}"
        )
    for param in query.params:
        mem = param.allocator.mem_type if param.allocator is not None else "default"
        print(
            f"  proposal params: memory={mem} align={param.params.align} "
            f"prefix={param.params.prefix} padding={param.params.padding}"
        )
    print(f"  proposal metas: {sorted(query.meta_apis()) or 'none'}")


def try_connect(graph: FilterGraph, output: Any, input_pin: Any, media_type: Any) -> str:
    """``ConnectDirect``; the HRESULT's name and value when it fails, "S_OK" when not."""
    try:
        graph.ConnectDirect(output, input_pin, media_type)
    except COMError as error:  # error.hresult is the unsigned Windows code
        return f"{error.name} (0x{error.hresult:08X})"
    return "S_OK"


def run_frames(graph: FilterGraph, source: TwoFormatSource, renderer: I420Renderer) -> bool:
    """Run the graph to completion; True when every frame arrived in order."""
    source.made, renderer.seen = 0, []
    graph.Run()
    completed = graph.WaitForCompletion(10_000) == EC_COMPLETE
    allocator = source.output.allocator
    made = allocator.allocated  # samples the pool holds (made at Commit, or grown since)
    graph.Stop()  # decommits the pool once every sample is home
    away = len(allocator.outstanding())
    print(
        f"  ran: {len(renderer.seen)} frames rendered from a pool of {made} samples; "
        f"{away} outstanding after Stop"
    )
    return completed and away == 0 and renderer.seen == [i & 0xFF for i in range(source.frames)]


def main(argv: list[str] | None = None) -> int:
    """Run the steps; 0 when each behaved as the module docstring says."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10, help="frames per run (10)")
    args = parser.parse_args(argv)
    failures = 0

    def check(ok: bool, what: str) -> None:
        nonlocal failures
        if not ok:
            failures += 1
            print(f"FAILED: {what}")

    source = TwoFormatSource(args.frames)
    plain = I420Renderer("renderer")
    pooled = I420Renderer("pooled renderer", own_pool=True)
    with FilterGraph(clock=None) as graph:
        for filter in (source, plain, pooled):
            graph.AddFilter(filter, filter.name)
        out, into = source.output, plain.input

        print("1. NV12, which the source offers but the renderer refuses:")
        nv12 = video_type("NV12", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
        result = try_connect(graph, out, into, nv12)
        print(f"  ConnectDirect -> {result}; connected: {out.is_connected()}")
        refused = result.startswith("VFW_E_TYPE_NOT_ACCEPTED")
        check(refused and not out.is_connected(), "step 1")

        print("2. I420 at 320x240, which the renderer takes but the source does not offer:")
        big = video_type("I420", 320, 240, avg_time_per_frame=FRAME_TIME)
        result = try_connect(graph, out, into, big)
        print(f"  ConnectDirect -> {result}; connected: {into.is_connected()}")
        refused = result.startswith("VFW_E_TYPE_NOT_ACCEPTED")
        check(refused and not into.is_connected(), "step 2")

        print("3. No type: the pins try NV12 (refused), then I420:")
        result = try_connect(graph, out, into, None)
        print(f"  ConnectDirect -> {result}")
        show_connection(out, into, plain)
        check(video_format(out.ConnectionMediaType()) == "I420", "step 3 type")
        check(
            out.allocator is into.peek_allocator() is plain.input.GetAllocator(), "step 3 allocator"
        )
        props = out.allocator.GetProperties()
        # Requirements said align 16, the proposal 32: the larger wins; 3 samples asked.
        check(props.align == 32 and props.buffers == 3, "step 3 properties")
        check(run_frames(graph, source, plain), "step 3 run")

        print("4. The same source to a renderer that proposes its own pool:")
        graph.Disconnect(out)  # one side at a time, as in DirectShow
        graph.Disconnect(into)
        result = try_connect(graph, out, pooled.input, None)
        print(f"  ConnectDirect -> {result}")
        show_connection(out, pooled.input, pooled)
        check(out.allocator is pooled.pool, "step 4 allocator")
        config: PoolConfig = out.allocator.GetConfig()
        check(config.padding == 64 and config.max_buffers == 0, "step 4 config")
        check(run_frames(graph, source, pooled), "step 4 run")

    print("check: OK" if not failures else f"{failures} checks FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
