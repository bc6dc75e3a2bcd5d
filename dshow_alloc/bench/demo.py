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

import attrs

from dshow_alloc.launch import Pipeline, parse_launch
from dshow_alloc.report import RunReport, run_graph

__all__ = ["DEFAULT_OUTPUT", "DemoSettings", "run_demo"]

DEFAULT_OUTPUT = "dshow-alloc-demo.y4m"


def _quoted(path: Path) -> str:
    text = str(path)
    if '"' in text:
        raise ValueError(f"the output path may not contain a double quote: {text!r}")
    return f'"{text}"'


@attrs.frozen
class DemoSettings:
    """What the demo graph makes (the ``dshow-alloc demo`` options)."""

    frames: int = 300
    """Frames the source sends."""
    width: int = 320
    """Frame width (even: 4:2:0 halves it)."""
    height: int = 240
    """Frame height (even)."""
    fps: int = 30
    """Frames per second."""
    output: Path = attrs.field(default=Path(DEFAULT_OUTPUT), converter=Path)
    """The video written: ``.y4m`` by ``y4msink``, anything else by ``avsink``."""
    sync: bool = False
    """Present the frames in real time on the graph clock."""

    def line(self) -> str:
        """The demo's launch line."""
        sink = "y4msink" if self.output.suffix.lower() == ".y4m" else "avsink"
        return (
            f"videotestsrc pattern=ball num-buffers={self.frames} width={self.width} "
            f"height={self.height} framerate={self.fps} ! video/x-raw,format=I420 ! tee name=t "
            f"t. ! queue ! {sink} location={_quoted(self.output)} "
            f"t. ! queue ! invert ! nullsink sync={'true' if self.sync else 'false'}"
        )


def run_demo(
    settings: DemoSettings | None = None, *, progress: bool = False, file: Any = None
) -> tuple[Pipeline, RunReport]:
    """Build and run the demo graph; the file is complete when this returns."""
    pipeline = parse_launch((settings or DemoSettings()).line())
    report = run_graph(pipeline.graph, progress=progress, file=file)
    return pipeline, report
