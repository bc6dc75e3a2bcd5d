"""Write your own filters: a source, two numpy transforms and a renderer, run in a graph.

The graph is::

    GradientSource -> Brighten -> Mirror -> ChecksumRenderer
     (I420 frames)   (a copy)   (in place)   (counts, checksums)

- ``GradientSource`` (a `SourceFilter`) says what it produces in ``GetMediaType`` and paints
  each frame in ``FillBuffer`` on its own streaming thread.
- ``Brighten`` (a `TransformFilter`) writes each frame, 40 levels brighter, into a new sample
  from its output pin's allocator.
- ``Mirror`` (a `TransInPlaceFilter`) flips each frame left to right in the very sample it
  receives; no copy is made.
- ``ChecksumRenderer`` (a `RendererFilter`) counts the frames and checksums their bytes.

The program then recomputes every frame from the formulas alone and checks that the
renderer saw exactly those bytes, in order, with the right times. Run it::

    python samples/custom_filters.py
    python samples/custom_filters.py --frames 300 --width 640 --height 360

It prints what it rendered and exits 0 when the check passes, 1 when it fails.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from typing import Any

import numpy as np

from dshow_alloc import (
    EC_COMPLETE,
    AllocatorProperties,
    FilterGraph,
    MediaType,
    RendererFilter,
    SourceFilter,
    TransformFilter,
    TransInPlaceFilter,
    size_allocator,
    video_format,
    video_frame,
    video_type,
)

SECOND = 10_000_000  # times are REFERENCE_TIME: ints in 100 ns units
FPS = 30
BRIGHTER = 40  # how many levels Brighten adds to the luma (saturating at 255)


def frame_start(index: int) -> int:
    """Where frame ``index`` starts: ``index * 10_000_000 * d // n`` at a framerate of n/d."""
    return index * SECOND // FPS


def gradient(width: int, height: int, index: int) -> tuple[np.ndarray, ...]:
    """Frame ``index`` of the test pattern: a diagonal luma ramp moving 3 levels a frame."""
    ys, xs = np.indices((height, width))
    cys, cxs = np.indices(((height + 1) // 2, (width + 1) // 2))
    luma = (xs * 4 + ys * 2 + index * 3) & 0xFF
    u = (cxs * 8 + index) & 0xFF
    v = (cys * 8) & 0xFF
    return tuple(p.astype(np.uint8) for p in (luma, u, v))


# -- a source ---------------------------------------------------------------------------------


class GradientSource(SourceFilter):
    """``frames`` I420 frames of `gradient`, time-stamped at 30 frames/s."""

    def __init__(self, width: int, height: int, frames: int) -> None:
        # buffers: how many samples the source's pool should hold at least. The pool itself
        # is negotiated when the output pin connects (DecideAllocator).
        super().__init__(name="gradient", buffers=4)
        self.width, self.height, self.frames = width, height, frames
        self.made = 0

    def GetMediaType(self, position: int) -> MediaType | None:
        """The types the output pin offers, best first; None past the last.

        ``video_type`` builds a complete DirectShow video type (``VideoInfoHeader``, sample
        size): connecting picks the first type that the downstream pin accepts too.
        """
        if position == 0:
            return video_type("I420", self.width, self.height, avg_time_per_frame=SECOND // FPS)
        return None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Size the pool once the type is agreed: ``request`` is what the downstream pin
        asked for (counts, alignment, prefix); ``size_allocator`` asks for at least that and
        at least our own needs, and checks what the allocator gave."""
        frame_size = self.output.ConnectionMediaType().sample_size
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=frame_size)

    def FillBuffer(self, sample: Any) -> bool:
        """Paint the next frame into ``sample``; return False when there is none (end of
        stream goes downstream and, at the renderer, becomes EC_COMPLETE)."""
        if self.made == self.frames:
            return False
        media_type = self.output.ConnectionMediaType()  # the type the connection agreed
        # video_frame maps the sample for the with block: its planes (Y, U, V for I420) are
        # 2-D numpy arrays over the sample's own bytes, so writing them writes the sample.
        with video_frame(sample, media_type) as frame:
            for plane, values in zip(
                frame.planes, gradient(self.width, self.height, self.made), strict=True
            ):
                plane[:] = values
        sample.SetActualDataLength(media_type.sample_size)
        sample.SetTime(frame_start(self.made), frame_start(self.made + 1))
        sample.SetSyncPoint(True)  # every raw frame is a key frame
        self.made += 1
        return True


# -- transforms -------------------------------------------------------------------------------


def is_i420(media_type: MediaType) -> bool:
    """True for a raw I420 video type of any size."""
    return video_format(media_type) == "I420"


class Brighten(TransformFilter):
    """A copying transform: each output frame is its input frame, ``BRIGHTER`` levels
    brighter. The base class gets the output sample and carries times and flags over."""

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Refuse what we cannot process: the connection then tries another type or fails."""
        return is_i420(media_type)

    def Transform(self, in_sample: Any, out_sample: Any) -> bool | None:
        """Write the brighter frame into ``out_sample`` (return False to drop a frame)."""
        media_type = self.input.ConnectionMediaType()
        # The input sample may be read-only (a tee upstream shares it): only read it.
        with (
            video_frame(in_sample, media_type, write=False) as source,
            video_frame(out_sample, media_type) as target,
        ):
            (y_in, u_in, v_in), (y_out, u_out, v_out) = source.planes, target.planes
            # Saturating add without a wider type: clip first, then add.
            np.add(np.minimum(y_in, 255 - BRIGHTER), BRIGHTER, out=y_out)
            u_out[:] = u_in
            v_out[:] = v_in
        out_sample.SetActualDataLength(media_type.sample_size)
        return True


class Mirror(TransInPlaceFilter):
    """An in-place transform: flips every plane left to right in the sample it receives."""

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Only I420 frames."""
        return is_i420(media_type)

    def Transform(self, sample: Any) -> bool | None:
        """Flip ``sample`` in place (the base class made sure it is writable)."""
        with video_frame(sample, self.input.ConnectionMediaType()) as frame:
            for plane in frame.planes:
                plane[:] = plane[:, ::-1]  # numpy copies overlapping views safely
        return True


# -- a renderer -------------------------------------------------------------------------------


class ChecksumRenderer(RendererFilter):
    """Counts frames, keeps a running CRC-32 of their bytes and their times."""

    def __init__(self) -> None:
        # sync=False: present each frame as soon as it arrives, not at its time on the clock.
        super().__init__(name="checksum", sync=False)
        self.crc = 0
        self.times: list[tuple[int, int | None]] = []
        self.luma_sum = 0.0

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Only I420 frames."""
        return is_i420(media_type)

    def DoRenderSample(self, sample: Any) -> None:
        """Called on the upstream streaming thread for each frame, in order."""
        # write=False: a READ mapping and read-only arrays; a renderer only looks.
        with video_frame(sample, self.input.ConnectionMediaType(), write=False) as frame:
            self.crc = zlib.crc32(frame.data.data, self.crc)  # the array's bytes, as a memoryview
            self.luma_sum += float(frame.planes[0].mean())
        self.times.append(sample.GetTime())  # (start, stop); stop is None when not set


# -- the program ------------------------------------------------------------------------------


def expected_checksum(width: int, height: int, frames: int) -> int:
    """The CRC-32 of what the renderer must see, computed from the formulas alone."""
    crc = 0
    for index in range(frames):
        luma, u, v = gradient(width, height, index)
        luma = np.minimum(luma.astype(np.int32) + BRIGHTER, 255).astype(np.uint8)
        for plane in (luma, u, v):
            crc = zlib.crc32(np.ascontiguousarray(plane[:, ::-1]).tobytes(), crc)
    return crc


def run(width: int, height: int, frames: int) -> int:
    """Build the graph, run it to completion, check and report. 0 when the check passes."""
    source = GradientSource(width, height, frames)
    renderer = ChecksumRenderer()
    # The graph without a clock runs as fast as the filters go. Leaving the with-block stops
    # the graph, which joins the streaming thread and sends every sample home.
    with FilterGraph(clock=None) as graph:
        # connect_chain adds the filters and connects each output pin to the next input pin.
        mirror = Mirror(name="mirror")
        graph.connect_chain(source, Brighten(name="brighten"), mirror, renderer)
        agreed = source.output.ConnectionMediaType()
        graph.Run()
        result = graph.WaitForCompletion(10_000)  # milliseconds
    print(f"connected: {width}x{height} {video_format(agreed)}, {agreed.sample_size} bytes a frame")
    print(f"completion event: {'EC_COMPLETE' if result == EC_COMPLETE else result}")
    print(f"rendered {renderer.rendered} frames")
    print(f"checksum 0x{renderer.crc:08x}")
    # An in-place transform copies only samples it may not write (read-only ones, from a tee).
    in_place = renderer.rendered - mirror.copies
    print(f"mirror: {in_place} frames flipped in place, {mirror.copies} copied first")
    if renderer.rendered:
        print(f"average luma {renderer.luma_sum / renderer.rendered:.2f}")
    if renderer.times:
        print(f"last frame ends at {renderer.times[-1][1] or 0} (100 ns units)")

    want_times = [(frame_start(i), frame_start(i + 1)) for i in range(frames)]
    problems = []
    if result != EC_COMPLETE:
        problems.append("the graph did not complete")
    if renderer.rendered != frames:
        problems.append(f"{renderer.rendered} frames rendered, {frames} expected")
    if renderer.crc != expected_checksum(width, height, frames):
        problems.append("the checksum differs from the recomputed frames")
    if mirror.copies:
        problems.append("the in-place transform had to copy")
    if renderer.times != want_times:
        problems.append("the frame times are not 30 frames/s from 0")
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print("check: OK (every frame and time as computed)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames to render (30)")
    parser.add_argument("--width", type=int, default=160, help="frame width, even (160)")
    parser.add_argument("--height", type=int, default=120, help="frame height, even (120)")
    args = parser.parse_args(argv)
    return run(args.width, args.height, args.frames)


if __name__ == "__main__":
    sys.exit(main())
