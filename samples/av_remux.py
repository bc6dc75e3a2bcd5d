"""Invert the picture of a real file, halve its sound, and write both: demux -> process -> mux.

The graph, as a launch line (no queues needed)::

    avsrc location=IN name=d
        d.video_0 ! invert ! m.
        d.audio_0 ! gain factor=0.5 ! m.
    avsink name=m location=OUT

``avsrc`` is a demuxer: one output pin per stream (``video_0``, ``audio_0``), each decoding
on its own thread. ``avsink`` is a muxer with request pins (``m.`` takes the next one), one
stream per pin, interleaved by time. ``--start``/``--stop`` (seconds) play only part of the
file, through the graph's ``IMediaSeeking`` (the same seek ``dshow-alloc launch --start``
does).

Without a path the program first writes a 2-second test clip with PyAV (a moving gradient in
MPEG-4 Part 2 and a 440 Hz sine in AAC, in an .mp4 in a temporary directory). It checks its
result with PyAV: both streams present, the frames and audio samples expected (to within one
AAC frame), the picture inverted and the sound at half its level. Needs the ``av`` extra
(``pip install dshow-alloc[av]``). Run it::

    python samples/av_remux.py                         # generates and processes a test clip
    python samples/av_remux.py movie.mp4 -o out.mp4    # any file with video and audio
    python samples/av_remux.py --start 0.5 --stop 1.5  # the part from 0.5 s to 1.5 s

It exits 0 when the written file is what it should be, 1 when not.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import av
import numpy as np

from dshow_alloc import (
    AM_SEEKING_AbsolutePositioning,
    AM_SEEKING_NoPositioning,
    parse_launch,
    run_graph,
)

SECOND = 10_000_000  # REFERENCE_TIME units per second
AAC_FRAME = 1024  # samples in an AAC frame


def write_test_clip(path: Path, seconds: int = 2, fps: int = 25, rate: int = 48000) -> None:
    """A moving gradient (MPEG-4 Part 2, 160x120) and a 440 Hz sine (AAC), interleaved."""
    width, height = 160, 120
    ys, xs = np.indices((height, width))
    with av.open(str(path), "w") as container:
        video: Any = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio: Any = container.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for index in range(seconds * fps):
            picture = np.full((height * 3 // 2, width), 128, np.uint8)
            picture[:height] = ((xs + ys + 4 * index) % 220 + 16).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
            count = rate // fps
            first = index * count
            tone = 0.4 * np.sin(2 * np.pi * 440 * (first + np.arange(count)) / rate)
            sound = av.AudioFrame.from_ndarray(
                tone.astype(np.float32).reshape(1, -1), format="fltp", layout="mono"
            )
            sound.sample_rate, sound.pts = rate, first
            for packet in audio.encode(sound):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)


def reference_time(seconds: str | None) -> int | None:
    """Seconds as written (``"0.5"``) to exact 100 ns units."""
    return None if seconds is None else int(Decimal(seconds) * SECOND)


def remux(source: Path, target: Path, start: int | None, stop: int | None) -> str:
    """Run the graph on ``source`` into ``target``; the completion event's name."""
    line = (
        f"avsrc location='{source}' name=d d.video_0 ! invert ! m. "
        f"d.audio_0 ! gain factor=0.5 ! m. avsink name=m location='{target}'"
    )
    pipeline = parse_launch(line)
    graph = pipeline.graph
    if start is not None or stop is not None:
        graph.SetPositions(
            start,
            AM_SEEKING_NoPositioning if start is None else AM_SEEKING_AbsolutePositioning,
            stop,
            AM_SEEKING_NoPositioning if stop is None else AM_SEEKING_AbsolutePositioning,
        )
    report = run_graph(graph, timeout=120)
    print(f"graph: {' '.join(line.split())}")
    return report.completion


def read_back(path: Path) -> dict[str, Any]:
    """What PyAV decodes of ``path``: frames, audio samples, each frame's mean luma, RMS."""
    with av.open(str(path)) as container:
        kinds = [stream.type for stream in container.streams]
        lumas = [f.to_ndarray()[: f.height].mean() for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    sound = np.concatenate(chunks) if chunks else np.zeros(1)
    return {
        "kinds": kinds,
        "frames": len(lumas),
        "samples": sum(len(c) for c in chunks),
        "lumas": lumas,
        "rms": float(np.sqrt(np.mean(sound.astype(np.float64) ** 2))),
    }


def expected_frames(info: dict[str, Any], fps: float, start: int | None, stop: int | None) -> int:
    """The input's frames from the one containing ``start`` up to the one at ``stop``."""
    first = math.floor((start or 0) * fps / SECOND)
    last = info["frames"] if stop is None else min(info["frames"], math.ceil(stop * fps / SECOND))
    return last - first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="a file with video and audio")
    parser.add_argument("-o", "--output", type=Path, help="where to write (default: beside it)")
    parser.add_argument("--start", help="seconds into the file to start at")
    parser.add_argument("--stop", help="seconds into the file to stop at")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        source = args.file
        if source is None:
            source = Path(scratch) / "clip.mp4"
            write_test_clip(source)
            print("wrote a test clip: 2 s, 160x120 mpeg4 at 25 frames/s, 48 kHz aac")
        target = args.output or Path(scratch) / "remuxed.mp4"
        start, stop = reference_time(args.start), reference_time(args.stop)
        completion = remux(source, target, start, stop)
        print(f"completion: {completion}")
        before, after = read_back(source), read_back(target)
        with av.open(str(source)) as container:
            fps = float(container.streams.video[0].average_rate or 25)
            rate = container.streams.audio[0].codec_context.sample_rate
        frames = expected_frames(before, fps, start, stop)
        first = math.floor((start or 0) * fps / SECOND)
        luma_in = float(np.mean(before["lumas"][first : first + frames]))
        luma_out = float(np.mean(after["lumas"])) if after["lumas"] else 0.0
        span = (stop or before["samples"] * SECOND // rate) - (start or 0)
        samples = span * rate // SECOND if (start or stop) else before["samples"]
        print(f"streams: {', '.join(after['kinds'])}")
        print(f"video: {after['frames']} frames (expected {frames})")
        print(f"audio: {after['samples']} samples (expected {samples}, within {2 * AAC_FRAME})")
        checks = [
            after["kinds"] == ["video", "audio"],
            after["frames"] == frames,
            abs(after["samples"] - samples) <= 2 * AAC_FRAME,
            abs((255 - luma_in) - luma_out) < 4,
            abs(after["rms"] - before["rms"] / 2) <= 0.05 * before["rms"],
        ]
        print(f"picture inverted: mean luma {luma_in:.0f} -> {luma_out:.0f}")
        print(f"sound halved: rms {before['rms']:.3f} -> {after['rms']:.3f}")
        ok = completion == "EC_COMPLETE" and all(checks)
        print("check: OK" if ok else f"check: FAILED {checks}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
