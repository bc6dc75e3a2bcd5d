"""``dshow-alloc demo``: a default graph on built-in filters that writes a video you can play.

The graph, in the launch syntax::

    videotestsrc pattern=ball num-buffers=300 width=320 height=240 framerate=30
        ! video/x-raw,format=I420 ! tee name=t
        t. ! queue ! y4msink location=dshow-alloc-demo.y4m
        t. ! queue ! invert ! nullsink

One branch writes the video (YUV4MPEG2, which ffplay, mpv and VLC open; a path ending in
anything else is encoded by ``avsink``, which needs the ``av`` extra); the other inverts a
copy of each frame (the tee shares samples read-only, so the in-place filter must copy) and
drops it. The report says how many samples went where, how often each allocator's samples
were reused, the copies made and the time spent blocked waiting for buffers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dshow_alloc.launch import Pipeline, parse_launch
from dshow_alloc.report import RunReport, run_graph

__all__ = ["DEFAULT_OUTPUT", "demo_pipeline", "run_demo"]

DEFAULT_OUTPUT = "dshow-alloc-demo.y4m"


def _quoted(path: Path) -> str:
    text = str(path)
    if '"' in text:
        raise ValueError(f"the output path may not contain a double quote: {text!r}")
    return f'"{text}"'


def demo_pipeline(
    *,
    frames: int = 300,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    output: Path | str = DEFAULT_OUTPUT,
    sync: bool = False,
) -> str:
    """The demo's launch line."""
    path = Path(output)
    sink = "y4msink" if path.suffix.lower() == ".y4m" else "avsink"
    return (
        f"videotestsrc pattern=ball num-buffers={frames} width={width} height={height} "
        f"framerate={fps} ! video/x-raw,format=I420 ! tee name=t "
        f"t. ! queue ! {sink} location={_quoted(path)} "
        f"t. ! queue ! invert ! nullsink sync={'true' if sync else 'false'}"
    )


def run_demo(
    *,
    frames: int = 300,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    output: Path | str = DEFAULT_OUTPUT,
    sync: bool = False,
    progress: bool = False,
    file: Any = None,
) -> tuple[Pipeline, RunReport]:
    """Build and run the demo graph; the file is complete when this returns."""
    line = demo_pipeline(
        frames=frames, width=width, height=height, fps=fps, output=output, sync=sync
    )
    pipeline = parse_launch(line)
    report = run_graph(pipeline.graph, progress=progress, file=file)
    return pipeline, report
