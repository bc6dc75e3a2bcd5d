"""Intelligent connect: let the graph builder find the filters between two pins.

``FilterGraph.Connect(out_pin, in_pin)`` (DirectShow's ``IGraphBuilder::Connect``) connects
two pins directly when they agree on a type; when they do not, it tries chains of registered
*converters* (one input, one output, merit above ``MERIT_DO_NOT_USE``): shortest chains
first, higher merit first, and keeps the first chain that fits, or raises
VFW_E_CANNOT_CONNECT (0x80040217) with the graph exactly as it was. ``Render(out_pin)`` adds
the best renderer that takes the stream (through converters), and ``RenderFile(path)`` the
source that reads a file and a renderer for each of its streams. A launch line's
``autoconvert`` does the same between its neighbours. This program shows the four:

1. ``Connect``: an NV12-only source into ``y4msink`` (I420 only) gets a ``videoconvert``;
   the file written must hold the source's luma unchanged.
2. ``RenderFile``: a WAV file of a stereo S16LE sine, with a renderer of our own registered
   (a level meter taking only mono F32LE, of ``MERIT_NORMAL``, above ``nullsink``): the
   graph becomes ``wavsrc -> audioconvert -> levelmeter``, and the meter must read the
   sine's RMS.
3. A connection no chain can make (audio into ``y4msink``): VFW_E_CANNOT_CONNECT, and the
   graph keeps its filters.
4. ``autoconvert`` in a launch line, converting and scaling, with the filters it added as
   ``dshow-alloc dot`` marks them.

It needs the ``av`` extra (the converters use PyAV and numpy). Run it::

    python samples/intelligent_connect.py
    python samples/intelligent_connect.py --frames 30

It writes its files into the current directory and exits 0 when every check passed, 1
otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from dshow_alloc import (
    EC_COMPLETE,
    MERIT_NORMAL,
    COMError,
    Element,
    FilterGraph,
    MediaType,
    PinDirection,
    PinTemplate,
    RendererFilter,
    SourceFilter,
    audio_format,
    audio_frames,
    caps_of,
    graph_to_dot,
    make_filter,
    parse_launch,
    register_filter,
    unregister_filter,
    video_frame,
    video_type,
)

WIDTH, HEIGHT = 64, 48
VOLUME = 0.5  # the sine's peak: its RMS is VOLUME / sqrt(2)


def chain(graph: FilterGraph, source: Any) -> str:
    """``source -> filter -> ...`` following the connections downstream, with the type
    that leaves each filter."""
    steps, filter = [], source
    while True:
        steps.append(filter.QueryFilterInfo().name)
        outputs = [
            pin
            for pin in filter.EnumPins()
            if pin.QueryDirection() is PinDirection.PINDIR_OUTPUT and pin.is_connected()
        ]
        if not outputs:
            return " -> ".join(steps)
        steps.append(f"[{caps_of(outputs[0].ConnectionMediaType())}]")
        filter = outputs[0].ConnectedTo().QueryPinInfo().filter


# -- 1. Connect ------------------------------------------------------------------------------


class NV12Frames(SourceFilter):
    """``count`` NV12 frames whose luma is ``index * 10 + row`` (chroma 128): a source
    that offers and takes nothing but NV12."""

    def __init__(self, count: int) -> None:
        super().__init__(
            name="nv12frames",
            media_type=video_type("NV12", WIDTH, HEIGHT, avg_time_per_frame=333_333),
            buffers=2,
        )
        self.count, self.index = count, 0

    def FillBuffer(self, sample: Any) -> bool:
        """Paint frame ``index``; False after the last."""
        if self.index == self.count:
            return False
        with video_frame(sample, self.media_type) as frame:
            luma, chroma = frame.planes
            luma[:] = ((self.index * 10 + np.arange(HEIGHT)[:, None]) % 256).astype(np.uint8)
            chroma[:] = 128
        sample.SetActualDataLength(self.media_type.sample_size)
        sample.SetTime(self.index * 333_333, (self.index + 1) * 333_333)
        self.index += 1
        return True


def connect_step(frames: int, folder: Path) -> bool:
    """NV12 frames into y4msink, which takes only I420: Connect puts a videoconvert in
    between (NV12 to I420 moves bytes only, so the luma arrives exactly as sent)."""
    target = folder / "connect.y4m"
    source = NV12Frames(frames)
    sink = make_filter("y4msink", location=target)
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(source)
        graph.AddFilter(sink)
        graph.Connect(source.output, sink.input)
        print(f"Connect: {chain(graph, source)}")
        print(f"  added by Connect: {[f.QueryFilterInfo().name for f in graph.added_filters()]}")
        graph.Run()
        completed = graph.WaitForCompletion(20_000) == EC_COMPLETE
    data = target.read_bytes()
    header_end = data.index(b"\n") + 1
    frame_size = WIDTH * HEIGHT * 3 // 2
    luma_ok = True
    for index in range(frames):
        start = header_end + index * (len(b"FRAME\n") + frame_size) + len(b"FRAME\n")
        luma = np.frombuffer(data, np.uint8, WIDTH * HEIGHT, start).reshape(HEIGHT, WIDTH)
        expected = (index * 10 + np.arange(HEIGHT)[:, None]) % 256
        luma_ok = luma_ok and bool((luma == expected).all())
    print(f"  wrote {target.name}: {data.count(b'FRAME')} frames, luma as sent: {luma_ok}")
    return completed and luma_ok and data.count(b"FRAME") == frames


# -- 2. RenderFile with a renderer of our own ------------------------------------------------


class LevelMeter(RendererFilter, Element):
    """``levelmeter``: a renderer taking only mono F32LE audio; it measures the RMS."""

    description = "Measures the RMS of mono float audio"
    pin_templates = (
        PinTemplate("In", PinDirection.PINDIR_INPUT, "audio/x-raw,format=F32LE,channels=1"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)
        self.squares, self.count = 0.0, 0

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Mono F32LE at any rate; it offers no type of its own (its template says it)."""
        return audio_format(media_type) == "F32LE" and media_type.format.channels == 1

    def DoRenderSample(self, sample: Any) -> None:
        """Add up the squares of the sample's values."""
        with audio_frames(sample, self.input.ConnectionMediaType(), write=False) as audio:
            values = audio.array.astype(np.float64)
            self.squares += float((values**2).sum())
            self.count += values.size

    def rms(self) -> float:
        """The root mean square of every value rendered."""
        return math.sqrt(self.squares / self.count) if self.count else 0.0


def render_file_step(frames: int, folder: Path) -> bool:
    """A stereo S16LE WAV file rendered by RenderFile: wavsrc (chosen by the .wav suffix),
    then our level meter (MERIT_NORMAL beats nullsink's MERIT_UNLIKELY), through the
    audioconvert that turns stereo S16LE into the mono F32LE the meter's template asks."""
    tone = folder / "tone.wav"
    line = (
        f"audiotestsrc freq=441 volume={VOLUME} channels=2 samples-per-buffer=4410 "
        f"num-buffers={frames} ! audio/x-raw,format=S16LE ! wavsink location={tone}"
    )
    with parse_launch(line).graph as graph:
        graph.Run()
        graph.WaitForCompletion(20_000)
    register_filter("levelmeter", LevelMeter, merit=MERIT_NORMAL)  # above nullsink's
    try:
        with FilterGraph(clock=None) as graph:
            graph.RenderFile(tone)
            source = graph.added_filters()[0]
            print(f"RenderFile: {chain(graph, source)}")
            meter = graph.FindFilterByName("levelmeter")
            graph.Run()
            completed = graph.WaitForCompletion(20_000) == EC_COMPLETE
    finally:
        unregister_filter("levelmeter")
    expected = VOLUME / math.sqrt(2)
    rms = meter.rms()
    print(f"  level meter: {meter.count} samples, RMS {rms:.4f} (expected {expected:.4f})")
    return completed and meter.count == frames * 4410 and abs(rms - expected) < 1e-3


# -- 3. what cannot connect --------------------------------------------------------------------


def failure_step(folder: Path) -> bool:
    """Audio into a video sink: no chain of converters fits, and nothing is left behind."""
    source = make_filter("audiotestsrc", num_buffers=1)
    sink = make_filter("y4msink", location=folder / "never.y4m")
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(source)
        graph.AddFilter(sink)
        try:
            graph.Connect(source.output, sink.input)
        except COMError as exc:
            print(f"Connect audio to y4msink: {exc.name} (0x{exc.hresult:08X})")
            filters = [f.QueryFilterInfo().name for f in graph.EnumFilters()]
            unconnected = not source.output.is_connected()
            print(f"  the graph still holds {filters}, unconnected: {unconnected}")
            return (
                exc.hresult == 0x80040217 and len(filters) == 2 and not source.output.is_connected()
            )
    print("Connect audio to y4msink: connected (it should not)")
    return False


# -- 4. autoconvert ----------------------------------------------------------------------------


def autoconvert_step(frames: int, folder: Path) -> bool:
    """``! autoconvert !`` between NV12 320x240 and I420 160x120 caps: a videoconvert and a
    videoscale go in when the line is built, drawn dashed by ``dshow-alloc dot``."""
    target = folder / "small.y4m"
    line = (
        f"videotestsrc num-buffers={frames} ! video/x-raw,format=NV12,width=320,height=240 ! "
        f"autoconvert ! video/x-raw,format=I420,width=160,height=120 ! y4msink location={target}"
    )
    pipeline = parse_launch(line)
    with pipeline.graph as graph:
        print(f"autoconvert: {chain(graph, pipeline.filters['videotestsrc0'])}")
        marked = [line.strip() for line in graph_to_dot(graph).splitlines() if "added by" in line]
        for label in marked:
            print(f"  dot: {label}")
        graph.Run()
        completed = graph.WaitForCompletion(20_000) == EC_COMPLETE
    data = target.read_bytes()
    width, height = (field.decode()[1:] for field in data.split(b" ")[1:3])
    print(f"  wrote {target.name}: {data.count(b'FRAME')} frames of {width}x{height}")
    return (
        completed
        and data.startswith(b"YUV4MPEG2 W160 H120 ")
        and data.count(b"FRAME") == frames
        and len(marked) == 2
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5, help="frames (and audio buffers) to send")
    args = parser.parse_args(argv)
    folder = Path.cwd()
    checks = {}
    for name, step in [
        ("Connect", lambda: connect_step(args.frames, folder)),
        ("RenderFile", lambda: render_file_step(args.frames, folder)),
        ("failure", lambda: failure_step(folder)),
        ("autoconvert", lambda: autoconvert_step(args.frames, folder)),
    ]:
        try:
            checks[name] = step()
        except (COMError, ValueError) as exc:  # a LaunchError is a ValueError
            print(f"{name}: {exc}")
            checks[name] = False
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        print(f"check: FAILED ({', '.join(failed)})")
        return 1
    print("check: OK (converters inserted where needed, files and levels as sent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
