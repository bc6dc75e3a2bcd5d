"""Process a real video file: ``avsrc`` decodes it, a numpy filter inverts it, a renderer measures.

The graph::

    avsrc location=FILE -> Invert -> LumaMeter
    (decoded I420 frames)  (numpy, in place)  (counts frames, averages the luma)

``avsrc`` is a built-in filter found by name (``make_filter("avsrc", location=...)``); it
decodes any file PyAV (FFmpeg) can read into raw I420 samples with their times. ``Invert``
and ``LumaMeter`` are written here (``make_filter("invert")`` is the built-in equivalent of
``Invert``); both see each frame's planes as numpy arrays through
``dshow_alloc.frames.video_frame``, which follows the sample's ``VIDEO_META`` when it has one
(padded rows), else the media type.

Without a path the program first writes a short test clip with PyAV (30 frames of a moving
gradient, MPEG-4 Part 2 in an .mp4, in a temporary directory) and processes that. It checks
its result against a plain PyAV decode of the same file: same frame count, same luma.
Needs the ``av`` extra (``pip install dshow-alloc[av]``). Run it::

    python samples/process_file.py              # generates and processes a test clip
    python samples/process_file.py movie.mkv    # any file with a video stream
    python samples/process_file.py --frames 60 --width 320 --height 240

It exits 0 when the graph saw what PyAV decodes, 1 when not, 2 when ``avsrc`` is unavailable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from dshow_alloc import (
    EC_COMPLETE,
    FilterGraph,
    MediaType,
    RendererFilter,
    TransInPlaceFilter,
    make_filter,
    video_format,
    video_frame,
)

SECOND = 10_000_000  # REFERENCE_TIME units per second


def write_test_clip(path: Path, frames: int, width: int, height: int, fps: int = 30) -> None:
    """Encode ``frames`` frames of a moving diagonal gradient to ``path`` with PyAV."""
    ys, xs = np.indices((height, width))
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            # yuv420p as one array: the Y rows, then the U and V planes (grey chroma here).
            image = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
            image[:height] = (xs * 2 + ys + index * 6) & 0xFF
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
            frame.pts = index  # in the stream's time base, 1/fps
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():  # flush the encoder's delayed frames
            container.mux(packet)


def is_i420(media_type: MediaType) -> bool:
    """Raw I420 video of any size."""
    return video_format(media_type) in ("I420", "IYUV")


class Invert(TransInPlaceFilter):
    """A photographic negative: every visible byte of every plane becomes 255 minus itself."""

    def CheckInputType(self, media_type: MediaType) -> bool:
        """I420 only."""
        return is_i420(media_type)

    def Transform(self, sample: Any) -> bool | None:
        """Invert ``sample`` in place."""
        # video_frame maps the sample for the with block; each plane is a 2-D array of its
        # visible pixels over the sample's own bytes, at the VIDEO_META's padded stride when
        # the sample has one, else the tight one the type implies.
        with video_frame(sample, self.input.ConnectionMediaType()) as frame:
            for plane in frame.planes:
                np.subtract(255, plane, out=plane)
        return True


class LumaMeter(RendererFilter):
    """Counts frames, sums their luma and notes the first start and last stop time."""

    def __init__(self) -> None:
        super().__init__(name="meter", sync=False)  # as fast as frames come, no clock wait
        self.frames = 0
        self.luma_total = 0  # the sum of every visible Y value: exact, unlike float means
        self.pixels = 0
        self.first_start: int | None = None
        self.last_stop: int | None = None

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """I420 only."""
        return is_i420(media_type)

    def DoRenderSample(self, sample: Any) -> None:
        """Measure one frame."""
        # write=False: a READ mapping, read-only arrays (a renderer only looks).
        with video_frame(sample, self.input.ConnectionMediaType(), write=False) as frame:
            luma = frame.planes[0]
            self.luma_total += int(luma.sum(dtype=np.uint64))
            self.pixels += luma.size
        start, stop = sample.GetTime()
        if self.first_start is None:
            self.first_start = start
        self.last_stop = stop if stop is not None else start
        self.frames += 1


def reference(path: Path) -> tuple[int, int, str]:
    """What a plain PyAV decode gives: frames, the sum of the inverted luma, pixel format."""
    frames = total = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pix_fmt = str(stream.codec_context.pix_fmt)
        for frame in container.decode(stream):
            luma = frame.to_ndarray(format="yuv420p")[: frame.height]
            total += int((255 - luma.astype(np.uint64)).sum())
            frames += 1
    return frames, total, pix_fmt


def process(path: Path, *, generated_fps: int | None) -> int:
    """Run the graph on ``path``, report, and compare with PyAV. The exit status."""
    try:
        source = make_filter("avsrc", location=path)
    except (LookupError, ImportError) as error:  # unknown name / its module does not import
        print(f"avsrc is not available: {error}")
        return 2
    meter = LumaMeter()
    with FilterGraph(clock=None) as graph:
        invert = Invert(name="invert")
        for filter in (source, invert, meter):
            graph.AddFilter(filter, filter.name)
        # No media type: the pins agree on the first type both accept (I420, here).
        graph.ConnectDirect(source.output, invert.input, None)
        graph.ConnectDirect(invert.output, meter.input, None)
        media_type = source.output.ConnectionMediaType()
        graph.Run()
        result = graph.WaitForCompletion(60_000)
    vih = media_type.format
    rate = Fraction(SECOND, vih.avg_time_per_frame) if vih.avg_time_per_frame else None
    duration = ((meter.last_stop or 0) - (meter.first_start or 0)) / SECOND
    print(f"file: {path.name}")
    print(
        f"type: {video_format(media_type)} {vih.width}x{abs(vih.height)}"
        + (f" at {float(rate):.3f} frames/s" if rate else "")
    )
    print(f"frames: {meter.frames}")
    print(f"duration: {duration:.3f} s")
    if meter.pixels:
        print(f"average luma after inverting: {meter.luma_total / meter.pixels:.2f}")

    want_frames, want_total, pix_fmt = reference(path)
    problems = []
    if result != EC_COMPLETE:
        problems.append(f"the graph ended with event {result:#x}, not EC_COMPLETE")
    if meter.frames != want_frames:
        problems.append(f"{meter.frames} frames, PyAV decodes {want_frames}")
    elif pix_fmt == "yuv420p" and meter.luma_total != want_total:
        problems.append("the luma differs from PyAV's decode")  # same decoder: bit-exact
    elif meter.pixels and abs(meter.luma_total - want_total) / meter.pixels > 0.5:
        problems.append("the luma differs from PyAV's decode by over half a level")
    if generated_fps is not None and meter.last_stop != want_frames * SECOND // generated_fps:
        problems.append(f"the last frame stops at {meter.last_stop}, not at the clip's end")
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print("check: OK (the same frames and luma as a plain PyAV decode)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Process the file given, or a generated test clip."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, help="a media file (default: a test clip)")
    parser.add_argument("--frames", type=int, default=30, help="test clip frames (30)")
    parser.add_argument("--width", type=int, default=160, help="test clip width, even (160)")
    parser.add_argument("--height", type=int, default=120, help="test clip height, even (120)")
    args = parser.parse_args(argv)
    if args.path is not None:
        return process(args.path, generated_fps=None)
    with tempfile.TemporaryDirectory() as directory:
        clip = Path(directory) / "gradient.mp4"
        write_test_clip(clip, args.frames, args.width, args.height, fps=30)
        print(f"wrote a test clip: {args.frames} frames, {args.width}x{args.height}, mpeg4")
        return process(clip, generated_fps=30)


if __name__ == "__main__":
    sys.exit(main())
