"""``dshow-alloc demo``: a real filter graph on built-in defaults, and what it did.

The graph: a test-pattern video source (NV12) -> an in-place transform drawing a moving bar
-> a copying transform turning each frame to grey (Y plane kept, chroma flattened) -> a tee,
one branch through a queue into a renderer checking every frame, the other into a null
renderer. It runs to EC_COMPLETE and reports samples, rate, each allocator's reuse, the
copies made and the events the graph reported.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import attrs

from dshow_alloc.elements import NullRenderer, QueueFilter, Tee
from dshow_alloc.filters import RendererFilter, SourceFilter, TransformFilter, TransInPlaceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import COMError
from dshow_alloc.mediatype import MediaType
from dshow_alloc.structs import EC_COMPLETE, EventCode
from dshow_alloc.video import video_layout, video_type

__all__ = ["DemoReport", "demo_succeeded", "run_demo"]

_SECOND = 10_000_000


class PatternSource(SourceFilter):
    """NV12 frames of a diagonal gradient that scrolls one pixel a frame."""

    def __init__(self, width: int, height: int, frames: int, fps: int) -> None:
        media_type = video_type("NV12", width, height, avg_time_per_frame=_SECOND // fps)
        super().__init__(name="pattern", media_type=media_type, buffers=4)
        self.layout = video_layout(media_type)
        self.frames, self.fps, self.made = frames, fps, 0
        row = bytes((x * 2) & 0xFF for x in range(width + height))
        self._rows = [row[y : y + width] for y in range(height)]
        self._luma = b"".join(self._rows)

    def FillBuffer(self, sample: Any) -> bool:
        """The next frame, time-stamped at ``fps``; False after ``frames``."""
        if self.made == self.frames:
            return False
        data = sample.GetPointer()
        width, height = self.layout.width, self.layout.height
        shift = self.made % width
        y_size = width * height
        luma = self._luma
        data[:y_size] = luma[shift:] + luma[:shift]
        data[y_size : self.layout.size] = b"\x80" * (self.layout.size - y_size)
        sample.SetActualDataLength(self.layout.size)
        start = self.made * _SECOND // self.fps
        sample.SetTime(start, (self.made + 1) * _SECOND // self.fps)
        sample.SetSyncPoint(True)
        self.made += 1
        return True


class MovingBar(TransInPlaceFilter):
    """Draws a white vertical bar that moves across the frame, in place."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(name="moving bar")
        self.width, self.height = width, height
        self.frame = 0

    def Transform(self, sample: Any) -> None:
        """Whiten an 8-pixel column of the Y plane."""
        data = sample.GetPointer()
        column = (self.frame * 4) % max(1, self.width - 8)
        for y in range(0, self.height * self.width, self.width):
            data[y + column : y + column + 8] = b"\xff" * 8
        self.frame += 1


class Greyscale(TransformFilter):
    """Copies each frame into a new sample, keeping the luma and flattening the chroma."""

    def Transform(self, in_sample: Any, out_sample: Any) -> None:
        """The copy; the chroma bytes become 128 (grey)."""
        length = in_sample.GetActualDataLength()
        luma = length * 2 // 3
        out = out_sample.GetPointer()
        out[:luma] = in_sample.GetPointer()[:luma]
        out[luma:length] = b"\x80" * (length - luma)
        out_sample.SetActualDataLength(length)


class ChecksumRenderer(RendererFilter):
    """Folds every frame into a CRC-32 and counts the frames."""

    def __init__(self, *, sync: bool) -> None:
        super().__init__(name="checksum", sync=sync)
        self.crc = 0

    def DoRenderSample(self, sample: Any) -> None:
        """Fold the frame in."""
        length = sample.GetActualDataLength()
        self.crc = zlib.crc32(sample.GetPointer()[:length], self.crc)


@attrs.frozen
class DemoReport:
    """What ``run_demo`` measured."""

    media_type: MediaType
    frames: int
    rendered: dict[str, int]
    seconds: float
    completion: str
    crc: int
    allocators: dict[str, tuple[int, int]]
    """Per allocator: samples it made, and deliveries they served (reuse = served / made)."""
    copies: int
    events: list[str]

    def format(self) -> str:
        """A short human-readable report."""
        rate = self.frames / self.seconds if self.seconds else 0.0
        fmt = self.media_type.format
        lines = [
            f"graph: pattern NV12 {fmt.width}x{fmt.height} -> moving bar (in place) -> "
            "greyscale (copy) -> tee -> queue -> checksum / null",
            f"completion: {self.completion} in {self.seconds:.3f} s ({rate:,.0f} frames/s)",
            "rendered: " + ", ".join(f"{name} {count}" for name, count in self.rendered.items()),
            f"checksum of every frame: {self.crc:08x}",
            f"copies made by in-place filters: {self.copies}",
        ]
        for name, (made, served) in self.allocators.items():
            reuse = served / made if made else 0.0
            lines.append(f"allocator {name}: {made} samples served {served} ({reuse:.1f}x reuse)")
        lines.append("events: " + (", ".join(self.events) or "none"))
        return "\n".join(lines)


def run_demo(
    *, frames: int = 300, width: int = 320, height: int = 240, fps: int = 30, sync: bool = False
) -> DemoReport:
    """Build and run the demo graph (``sync`` presents frames in real time)."""
    source = PatternSource(width, height, frames, fps)
    bar, grey, tee, queue = (
        MovingBar(width, height),
        Greyscale(name="greyscale"),
        Tee(),
        QueueFilter(),
    )
    checksum, null = ChecksumRenderer(sync=sync), NullRenderer(name="null")
    with FilterGraph() as graph:
        graph.connect_chain(source, bar, grey, tee, queue, checksum)
        graph.connect_chain(tee, null)
        allocators = {
            "source": source.output.allocator,
            "greyscale": grey.output.allocator,
        }
        began = time.perf_counter()
        graph.Run()
        completion = graph.WaitForCompletion(max(60_000, frames * 2000 // fps))
        seconds = time.perf_counter() - began
        made = {name: allocator.allocated for name, allocator in allocators.items()}
        graph.Stop()
        events = []
        while True:
            try:
                code, _param1, _param2 = graph.GetEvent(0)
            except COMError:
                break
            events.append(_event_name(code))
    return DemoReport(
        media_type=source.media_type,
        frames=frames,
        rendered={"checksum": checksum.rendered, "null": null.rendered},
        seconds=seconds,
        completion=_event_name(completion),
        crc=checksum.crc,
        allocators={name: (count, frames) for name, count in made.items()},
        copies=bar.copies,
        events=events,
    )


def _event_name(code: int) -> str:
    try:
        return EventCode(code).name
    except ValueError:
        return hex(code)


def demo_succeeded(report: DemoReport) -> bool:
    """True when the graph completed with every frame rendered on both branches."""
    return report.completion == EC_COMPLETE.name and all(
        count == report.frames for count in report.rendered.values()
    )
