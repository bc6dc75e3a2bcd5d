"""The real-file benchmark of ``dshow-alloc bench``: a graph against one plain PyAV loop.

``avsrc location=in.mp4 ! queue ! invert ! queue ! avsink location=out.mp4`` decodes, inverts
and encodes in three streaming threads; PyAV releases the GIL while FFmpeg decodes and
encodes, so on a machine with more than one core the three stages overlap. The plain loop does
the same work one frame after another in one thread: decode a frame, ``to_ndarray``,
``np.invert``, ``VideoFrame.from_ndarray``, encode.

The loop encodes with the codec and pixel format found in the file the graph wrote (what
``avsink`` picked: libx264 in yuv420p for mp4 where PyAV has it), at the same frame rate and
time base. It runs twice: with PyAV's default codec settings, as a plain loop is written
(PyAV opens decoders and encoders with slice threads only), and with the thread settings
``avsrc`` and ``avsink`` use (``thread_type="AUTO"``: frame and slice threads, as the
``ffmpeg`` command line does). The second is the like-for-like comparison: on two cores
x264's frame threads already keep both busy, so what the graph adds is the overlap of
decoding and pixel work with encoding, no more. Both figures are wall time
from opening the files to the closed output (the graph's from ``Run`` to ``EC_COMPLETE``,
after the sink wrote the trailer), so each counts its encoder's drain at the end.

The input is made once per `bench_av` call by the ``ffmpeg`` program (Debian's) in a temporary
directory; without ``ffmpeg`` or PyAV the rows are skipped (`AVUnavailableError` says why).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "AV_LOOP",
    "AV_LOOP_THREADED",
    "AV_PIPELINE",
    "AV_RATIO",
    "AV_RATIO_THREADED",
    "AVBench",
    "AVRun",
    "AVUnavailableError",
    "bench_av",
    "make_input",
    "pipeline_line",
    "run_loop",
    "run_pipeline",
]

#: The names of the rows `dshow_alloc.bench` prints.
AV_PIPELINE = "720p H.264 file: avsrc ! queue ! invert ! queue ! avsink"
AV_LOOP = "720p H.264 file: plain PyAV loop (decode, invert, encode)"
AV_RATIO = "ratio of the two above (pipeline / loop)"
AV_LOOP_THREADED = "720p H.264 file: the loop with avsink's codec threads (AUTO)"
AV_RATIO_THREADED = "ratio pipeline / loop with the same codec threads"


class AVUnavailableError(RuntimeError):
    """The benchmark cannot run here: no ``ffmpeg`` program, or no PyAV or numpy."""


@attrs.frozen
class AVRun:
    """One timed run of the graph or of the loop."""

    frames: int
    """Frames written to the output file (read back from it)."""
    seconds: float
    """Wall time of the run."""
    codec: str
    """The encoder that wrote the output."""
    pix_fmt: str
    """The pixel format it encoded."""

    @property
    def rate(self) -> float:
        """Frames per second."""
        return self.frames / self.seconds


@attrs.frozen
class AVBench:
    """What `bench_av` measured: the best run of each side."""

    frames: int
    """Frames in the input (and so in each output)."""
    pipeline: AVRun
    """The graph's best (fastest) run."""
    loop: AVRun
    """The plain loop's best run (PyAV's default codec settings)."""
    threaded: AVRun
    """The loop's best run with the codec threads ``avsrc`` and ``avsink`` use."""

    @property
    def ratio(self) -> float:
        """The graph's frame rate over the plain loop's."""
        return self.pipeline.rate / self.loop.rate

    @property
    def threaded_ratio(self) -> float:
        """The graph's frame rate over the loop's with the same codec threads."""
        return self.pipeline.rate / self.threaded.rate


def _require_av() -> Any:
    try:
        import av
        import numpy  # noqa: F401 (avsrc, avsink and the loop need it)
    except ImportError as exc:
        raise AVUnavailableError(f"PyAV or numpy is not installed ({exc.name})") from exc
    return av


def make_input(
    directory: Path, frames: int, width: int = 1280, height: int = 720, rate: int = 30
) -> Path:
    """Write ``frames`` frames of ffmpeg's ``testsrc2`` as H.264 (libx264, yuv420p) into
    ``directory/in.mp4`` with the ``ffmpeg`` program, and return the path."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AVUnavailableError("the ffmpeg program is not installed (it makes the input file)")
    path = directory / "in.mp4"
    command = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={rate}",
        "-frames:v",
        str(frames),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise AVUnavailableError(f"ffmpeg could not make the input: {done.stderr.strip()[-300:]}")
    return path


def _quoted(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if '"' not in text else f"'{text}'"


def pipeline_line(source: Path, target: Path) -> str:
    """The launch line the benchmark runs."""
    return (
        f"avsrc location={_quoted(source)} ! queue ! invert ! queue ! "
        f"avsink location={_quoted(target)}"
    )


def _written(path: Path) -> tuple[int, str, str]:
    """Frames (packets with data), codec and pixel format of ``path``'s video stream."""
    av = _require_av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        codec, pix_fmt = str(context.name), str(getattr(context, "pix_fmt", "") or "")
        frames = sum(1 for packet in container.demux(stream) if packet.size)
    return frames, codec, pix_fmt


def run_pipeline(source: Path, target: Path) -> AVRun:
    """Run `pipeline_line` once: wall time from ``Run`` to ``EC_COMPLETE``."""
    from dshow_alloc.graph import FilterGraph
    from dshow_alloc.launch import parse_launch
    from dshow_alloc.report import run_graph

    with FilterGraph(clock=None) as graph:
        parse_launch(pipeline_line(source, target), graph)
        report = run_graph(graph, timeout=600)
    if not report.succeeded:
        raise RuntimeError(f"the avsrc ! ... ! avsink graph ended with {report.completion}")
    frames, codec, pix_fmt = _written(target)
    return AVRun(frames, report.seconds, codec, pix_fmt)


def _encoder_name(av: Any, codec: str) -> str:
    """The encoder for a stream ``codec`` (as read back from a file) the way ``avsink``
    chooses it: H.264 means libx264 where PyAV has it; other codecs are their own encoder."""
    if codec == "h264" and "libx264" in av.codecs_available:
        return "libx264"
    return codec


def run_loop(
    source: Path, target: Path, codec: str, pix_fmt: str, *, thread_type: str | None = None
) -> AVRun:
    """The plain loop once, encoding ``codec`` (as read back from the graph's output: H.264
    is libx264) in ``pix_fmt`` with PyAV's default settings, or with ``thread_type`` for the
    decoder and the encoder: wall time from opening the input to closing the output."""
    av = _require_av()
    import numpy as np

    began = time.perf_counter()
    with av.open(str(source)) as input_file, av.open(str(target), "w") as output_file:
        decoding = input_file.streams.video[0]
        context = decoding.codec_context
        if thread_type is not None:
            context.thread_type = thread_type
        rate = Fraction(decoding.average_rate or decoding.guessed_rate or 25)
        time_base = 1 / rate
        encoding = output_file.add_stream(_encoder_name(av, codec), rate=rate)
        encoding.width, encoding.height = context.width, context.height
        encoding.pix_fmt = pix_fmt
        encoding.codec_context.time_base = time_base
        if thread_type is not None:
            encoding.codec_context.thread_type = thread_type
        for index, decoded in enumerate(input_file.decode(decoding)):
            frame = decoded if decoded.format.name == pix_fmt else decoded.reformat(format=pix_fmt)
            pixels = frame.to_ndarray()
            np.invert(pixels, out=pixels)
            inverted = av.VideoFrame.from_ndarray(pixels, format=pix_fmt)
            inverted.pts = index
            inverted.time_base = time_base
            for packet in encoding.encode(inverted):
                output_file.mux(packet)
        for packet in encoding.encode(None):
            output_file.mux(packet)
    seconds = time.perf_counter() - began
    frames, written_codec, written_format = _written(target)
    return AVRun(frames, seconds, written_codec, written_format)


def bench_av(
    frames: int = 300, *, width: int = 1280, height: int = 720, repeat: int = 3
) -> AVBench:
    """Make the input, then run the graph and the loop alternately ``repeat`` times; each
    side's figure is its best run (the least disturbed, as ``timeit`` advises). Raises
    `AVUnavailableError` without ``ffmpeg`` or PyAV, RuntimeError when an output file does not
    hold ``frames`` frames."""
    if frames < 1 or repeat < 1:
        raise ValueError(f"frames and repeat must be >= 1, got {frames} and {repeat}")
    _require_av()
    with tempfile.TemporaryDirectory(prefix="dshow-alloc-bench-av-") as name:
        directory = Path(name)
        source = make_input(directory, frames, width, height)
        best: list[AVRun | None] = [None, None, None]
        for _ in range(repeat):
            ran = run_pipeline(source, directory / "pipeline.mp4")
            runs = (
                ran,
                run_loop(source, directory / "loop.mp4", ran.codec, ran.pix_fmt),
                run_loop(
                    source, directory / "threaded.mp4", ran.codec, ran.pix_fmt, thread_type="AUTO"
                ),
            )
            for index, run in enumerate(runs):
                if run.frames != frames:
                    raise RuntimeError(f"wrote {run.frames} of {frames} frames with {run.codec}")
                kept = best[index]
                best[index] = run if kept is None or run.rate > kept.rate else kept
    pipeline, loop, threaded = best
    assert pipeline is not None and loop is not None and threaded is not None
    return AVBench(frames, pipeline, loop, threaded)
