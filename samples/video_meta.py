"""Metas: frames with padded rows, described by a ``VIDEO_META`` that the reader follows.

A DirectShow video type gives a frame's size and format, and so a tight layout: each row of
a plane right after the previous one. Many consumers want more: rows that start on 64-byte
boundaries (SIMD, GPU uploads). GStreamer's answer, kept here, is a meta on each sample:
``VIDEO_META`` says where each plane starts (``offsets``) and how many bytes each row takes,
padding included (``strides``).

How it is negotiated:

- the downstream pin lists ``VIDEO_META`` in its allocation proposal and asks for 64-byte
  alignment (``query.add_meta(VIDEO_META.api)``, ``query.add_param(None,
  AllocationParams(align=64))``);
- the upstream pool then attaches a pooled ``VIDEO_META`` to every sample, its strides
  aligned to 64 (the same happens by hand with ``PoolConfig(..., align=64,
  options={"video-meta"}, media_type=mt)``);
- the writer and the reader both use the meta's offsets and strides when a sample has one,
  the tight layout when not. Neither may assume which it gets; ``dshow_alloc.frames``'s
  ``video_frame`` makes that choice and gives the planes as numpy arrays.

The program runs a 100x50 I420 source into a renderer twice: once asking for the meta
(strides 128/64/64 for a 100-pixel width) and once not (strides 100/50/50); both times the
renderer checks every pixel. Run it::

    python samples/video_meta.py
    python samples/video_meta.py --width 1918 --height 1080 --frames 5

It exits 0 when every frame read back exactly, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from dshow_alloc import (
    EC_COMPLETE,
    VIDEO_META,
    AllocationParams,
    AllocationQuery,
    AllocatorProperties,
    BaseInputPin,
    FilterGraph,
    MediaType,
    RendererFilter,
    SourceFilter,
    size_allocator,
    video_frame,
    video_layout,
    video_type,
)

FRAME_TIME = 333_333  # 30 frames/s, in 100 ns units
ALIGN = 64


def pattern(width: int, height: int, index: int) -> list[np.ndarray]:
    """Frame ``index``: distinct values in every plane, so a wrong stride shows at once."""
    ys, xs = np.indices((height, width))
    cys, cxs = np.indices(((height + 1) // 2, (width + 1) // 2))
    return [
        ((xs + 2 * ys + 5 * index) & 0xFF).astype(np.uint8),
        ((3 * cxs + index) & 0xFF).astype(np.uint8),
        ((3 * cys + 128) & 0xFF).astype(np.uint8),
    ]


class PatternSource(SourceFilter):
    """I420 frames of `pattern`, written through the sample's VIDEO_META when it has one."""

    def __init__(self, width: int, height: int, frames: int) -> None:
        super().__init__(name="source", buffers=3)
        self.width, self.height, self.frames = width, height, frames
        self.made = 0

    def GetMediaType(self, position: int) -> MediaType | None:
        """One type: I420 at our size."""
        if position == 0:
            return video_type("I420", self.width, self.height, avg_time_per_frame=FRAME_TIME)
        return None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Room for the padded frame: ``request.align`` is the alignment downstream asked
        for, and the pool aligns each row to it when it attaches VIDEO_META. A pool too small
        for the padded layout would silently fall back to no meta."""
        layout = video_layout(self.output.ConnectionMediaType(), stride_align=request.align)
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=layout.size)

    def FillBuffer(self, sample: Any) -> bool:
        """Paint the next frame; False after ``frames``."""
        if self.made == self.frames:
            return False
        media_type = self.output.ConnectionMediaType()
        # The heart of this sample: video_frame places the planes where the sample's
        # VIDEO_META says when it has one, else where the media type's tight layout does.
        with video_frame(sample, media_type) as frame:
            for target, values in zip(
                frame.planes, pattern(self.width, self.height, self.made), strict=True
            ):
                target[:] = values  # row by row at the right stride; the padding is left alone
        sample.SetTime(self.made * FRAME_TIME, (self.made + 1) * FRAME_TIME)
        self.made += 1
        return True


class CheckingRenderer(RendererFilter):
    """Reads each frame through its VIDEO_META (or the tight layout) and checks it."""

    def __init__(self, *, want_meta: bool) -> None:
        super().__init__(name="renderer", sync=False)
        self.want_meta = want_meta
        self.index = 0  # which frame comes next
        self.with_meta = 0
        self.wrong = 0
        self.strides: set[tuple[int, ...]] = set()
        self.first_meta: dict[str, Any] | None = None

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Ask for VIDEO_META and 64-byte alignment; or, when not wanted, propose nothing."""
        if self.want_meta:
            query.add_meta(VIDEO_META.api)
            query.add_param(None, AllocationParams(align=ALIGN))

    def DoRenderSample(self, sample: Any) -> None:
        """Read the planes where the meta says they are and compare every visible pixel."""
        media_type = self.input.ConnectionMediaType()
        meta = sample.GetMeta(VIDEO_META)
        if meta is not None:
            self.with_meta += 1
            if self.first_meta is None:
                self.first_meta = meta.fields
        expected = pattern(media_type.format.width, media_type.format.height, self.index)
        # write=False: a READ mapping; the planes are read-only views of visible pixels only.
        with video_frame(sample, media_type, write=False) as frame:
            self.strides.add(frame.strides)  # the meta's strides, or the tight ones
            arrays = frame.planes
            if not all(np.array_equal(a, e) for a, e in zip(arrays, expected, strict=True)):
                self.wrong += 1
        self.index += 1


def run(width: int, height: int, frames: int, *, want_meta: bool) -> bool:
    """One graph run; prints what it saw and returns True when it is as expected."""
    source = PatternSource(width, height, frames)
    renderer = CheckingRenderer(want_meta=want_meta)
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, renderer)
        # What the renderer listed in its proposal: the metas the source's pool may attach.
        print(f"  metas the source may attach: {sorted(source.output.metas) or 'none'}")
        graph.Run()
        completed = graph.WaitForCompletion(10_000) == EC_COMPLETE
    stride_text = ", ".join("/".join(map(str, s)) for s in sorted(renderer.strides))
    print(f"  rendered {renderer.rendered} frames, {renderer.with_meta} with VIDEO_META")
    print(f"  strides Y/U/V: {stride_text} for a width of {width}")
    if renderer.first_meta is not None:
        fields = renderer.first_meta
        print(
            f"  meta: {fields['format']} {fields['width']}x{fields['height']}, "
            f"offsets {fields['offsets']}, strides {fields['strides']}"
        )
    print(f"  frames with wrong pixels: {renderer.wrong}")
    layout = video_layout(video_type("I420", width, height), stride_align=ALIGN if want_meta else 1)
    return (
        completed
        and renderer.rendered == frames
        and renderer.with_meta == (frames if want_meta else 0)
        and renderer.strides == {layout.strides}
        and renderer.wrong == 0
    )


def main(argv: list[str] | None = None) -> int:
    """Run with and without the meta; 0 when both read back exactly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10, help="frames per run (10)")
    parser.add_argument("--width", type=int, default=100, help="frame width (100)")
    parser.add_argument("--height", type=int, default=50, help="frame height (50)")
    args = parser.parse_args(argv)
    ok = True
    for want_meta in (True, False):
        what = f"asks for VIDEO_META, align {ALIGN}" if want_meta else "asks for nothing"
        print(f"the renderer {what}:")
        ok &= run(args.width, args.height, args.frames, want_meta=want_meta)
    print("check: OK" if ok else "check: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
