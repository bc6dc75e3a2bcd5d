"""IMediaSeeking: sources that seek (y4msrc, wavsrc, the test sources, `SourceSeeking`
subclasses) and the filter graph seeking for all of them, exact to the frame."""

from __future__ import annotations

import shutil
import subprocess
import threading
import wave
from pathlib import Path
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from dshow_alloc import (
    EC_COMPLETE,
    EC_ERRORABORT,
    HRESULT,
    TIME_FORMAT_MEDIA_TIME,
    AM_SEEKING_AbsolutePositioning,
    AM_SEEKING_CanGetDuration,
    AM_SEEKING_IncrementalPositioning,
    AM_SEEKING_NoPositioning,
    AM_SEEKING_RelativePositioning,
    AM_SEEKING_SeekToKeyFrame,
    CollectingRenderer,
    FilterGraph,
    IMediaSeeking,
    InvalidArgError,
    ManualClock,
    NotImplError,
    QueueFilter,
    SourceFilter,
    Tee,
)
from dshow_alloc.cli import _position, main
from dshow_alloc.graph import RUN_LATENCY
from dshow_alloc.plugins.y4m import parse_y4m_header
from dshow_alloc.registry import make_filter
from dshow_alloc.seeking import (
    MAX_TIME,
    SEEKING_CAPABILITIES,
    Segment,
    SourceSeeking,
    frame_containing,
)
from dshow_alloc.structs import FilterState
from dshow_alloc.testing.checks import raises_hresult

SECOND = 10_000_000
FRAME = SECOND // 25  # a 25 frames/s frame
ABS, NONE = AM_SEEKING_AbsolutePositioning, AM_SEEKING_NoPositioning
WAIT_MS = 10_000

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


# -- helpers -----------------------------------------------------------------------------------


class Recorder(CollectingRenderer):
    """A CollectingRenderer that also records, in order, the stream events and each
    sample's start and discontinuity flag."""

    def __init__(self, *, name: str | None = None, sync: bool = False) -> None:
        super().__init__(name=name, sync=sync)
        self.events: list[tuple[Any, ...]] = []
        self.cond = threading.Condition()

    def DoRenderSample(self, sample: Any) -> None:
        super().DoRenderSample(sample)
        with self.cond:
            self.events.append(("sample", sample.GetTime()[0], sample.IsDiscontinuity()))
            self.cond.notify_all()

    def begin_flush(self, pin: Any) -> None:
        self.events.append(("begin_flush",))
        super().begin_flush(pin)

    def end_flush(self, pin: Any) -> None:
        self.events.append(("end_flush",))
        super().end_flush(pin)

    def new_segment(self, pin: Any, start: int, stop: int, rate: float) -> None:
        self.events.append(("segment", start, stop, rate))

    def end_of_stream(self, pin: Any) -> None:
        self.events.append(("eos",))
        super().end_of_stream(pin)

    def wait_for(self, count: int) -> None:
        """Block until ``count`` samples were presented (10 s at most: a guard)."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.data) >= count, 10), len(self.data)

    def samples(self) -> list[tuple[Any, ...]]:
        return [event for event in self.events if event[0] == "sample"]

    def after_flush(self) -> list[tuple[Any, ...]]:
        """The events after the last EndFlush."""
        last = max(i for i, event in enumerate(self.events) if event == ("end_flush",))
        return self.events[last + 1 :]


class Counter(SourceSeeking, SourceFilter):
    """A seekable source of ``frames`` 4-byte samples of 0.1 s holding their index."""

    STEP = SECOND // 10

    def __init__(self, frames: int = 50, *, name: str | None = None) -> None:
        super().__init__(name=name, buffer_size=4)
        self.frames = frames
        self.fail: Exception | None = None
        self.index = 0

    def Pause(self) -> None:
        with self._lock:
            if self._state is FilterState.State_Stopped:
                self.index = 0
            super().Pause()

    def seek_duration(self) -> int | None:
        return self.frames * self.STEP

    def seek_to(self, position: int, key_frame: bool) -> int:
        if self.fail is not None:
            raise self.fail
        self.index = position // self.STEP
        return self.index * self.STEP if key_frame else position

    def FillBuffer(self, sample: Any) -> bool:
        index = self.index
        if index >= self.frames:
            return False
        sample.GetPointer()[:4] = index.to_bytes(4, "little")
        sample.SetActualDataLength(4)
        sample.SetTime(index * self.STEP, (index + 1) * self.STEP)
        self.index = index + 1
        return True


class Endless(SourceFilter):
    """A source that cannot seek (no SourceSeeking)."""

    def __init__(self) -> None:
        super().__init__(buffer_size=4)

    def FillBuffer(self, sample: Any) -> bool:
        sample.SetActualDataLength(4)
        return True


def index_of(data: bytes) -> int:
    return int.from_bytes(data[:4], "little")


def chain(*filters: Any, clock: Any = ...) -> FilterGraph:
    graph = FilterGraph(clock=clock)
    graph.connect_chain(*filters)
    return graph


def y4m_frames(path: Path) -> list[bytes]:
    """The frames of a y4m file of plain FRAME lines."""
    raw = path.read_bytes()
    header = parse_y4m_header(raw[: raw.index(b"\n") + 1], path)
    size = header.width * header.height + 2 * ((header.width + 1) // 2) * ((header.height + 1) // 2)
    body = raw[header.size :]
    record = 6 + size
    assert len(body) % record == 0
    return [body[i * record + 6 : (i + 1) * record] for i in range(len(body) // record)]


@pytest.fixture
def y4m(tmp_path: Path) -> Path:
    """20 frames of FFmpeg's testsrc, 32x16 at 25 frames/s (0.8 s)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    path = tmp_path / "in.y4m"
    subprocess.run(
        [
            "ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=32x16:rate=25",
            "-frames:v", "20", "-pix_fmt", "yuv420p", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def write_wav(path: Path, frames: int = 12000, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV whose frame ``i`` holds ``i``; returns the sample bytes."""
    data = b"".join((i % 32768).to_bytes(2, "little") for i in range(frames))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data)
    return data


# -- positions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("per_second", "units"), [(44100, 1), (8000, 1), (30000, 1001), (25, 1)])
def test_frame_containing_finds_the_frame_whose_span_holds_the_position(
    per_second: int, units: int
) -> None:
    """frame_containing(t) is the frame i with start(i) <= t < start(i + 1), floor-stamped."""

    def start(i: int) -> int:
        return i * SECOND * units // per_second

    for frame in (0, 1, 2, 7, 999, 44099, 44100, 123457):
        for position in (start(frame), start(frame) + 1, start(frame + 1) - 1):
            if position < start(frame + 1):
                assert frame_containing(position, per_second, units) == frame


def test_seconds_convert_to_reference_time_exactly() -> None:
    """--start/--stop seconds are decimal: no float rounding (0.1 s is 1_000_000 units)."""
    assert _position("0.1") == 1_000_000
    assert _position("0.3") == 3_000_000
    assert _position("0.0000001") == 1
    assert _position("12.3456789") == 123_456_789
    assert _position("0") == 0


# -- y4msrc ------------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_y4msrc_seek_while_stopped_starts_at_the_frame_containing_the_position(y4m: Path) -> None:
    """SetPositions(t) while stopped: the run starts with the frame containing t, stamped
    frame_start - t, after NewSegment(t, MAX_TIME, 1.0), with the discontinuity flag."""
    frames = y4m_frames(y4m)
    source, sink = make_filter("y4msrc", location=y4m), Recorder()
    with chain(source, sink) as graph:
        assert graph.GetCapabilities() == SEEKING_CAPABILITIES
        assert graph.GetDuration() == 20 * FRAME
        t = 7 * FRAME + 123_456
        assert graph.SetPositions(t, ABS, None, NONE) == (t, 20 * FRAME)
        assert source.segment == Segment(t, None, 1.0)
        assert graph.GetCurrentPosition() == t
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.data == frames[7:]
    assert sink.times[0] == (7 * FRAME - t, 8 * FRAME - t)
    assert sink.times[1] == (8 * FRAME - t, 9 * FRAME - t)
    assert sink.events[0] == ("segment", t, MAX_TIME, 1.0)
    assert [flag for _kind, _start, flag in sink.samples()][:3] == [True, False, False]
    assert sink.events[-1] == ("eos",)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("stop", "count"), [(12 * FRAME, 5), (12 * FRAME + 1, 6), (8 * FRAME, 1)])
def test_y4msrc_stop_position_ends_the_stream_there(y4m: Path, stop: int, count: int) -> None:
    """A stop ends the stream with EC_COMPLETE before the first frame starting at or after it."""
    frames = y4m_frames(y4m)
    source, sink = make_filter("y4msrc", location=y4m), Recorder()
    with chain(source, sink) as graph:
        assert graph.SetPositions(7 * FRAME, ABS, stop, ABS) == (7 * FRAME, stop)
        assert graph.GetStopPosition() == stop
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.data == frames[7 : 7 + count]
    assert sink.events[0] == ("segment", 7 * FRAME, stop, 1.0)
    assert sink.times[0] == (0, FRAME)


@pytest.mark.timeout(30)
def test_y4msrc_seek_to_key_frame_starts_the_segment_at_the_frame(y4m: Path) -> None:
    """Every y4m frame is a key frame: SeekToKeyFrame gives the same first frame, the
    segment starting at its start (time 0)."""
    frames = y4m_frames(y4m)
    source, sink = make_filter("y4msrc", location=y4m), Recorder()
    with chain(source, sink) as graph:
        t = 7 * FRAME + 123_456
        graph.SetPositions(t, ABS | AM_SEEKING_SeekToKeyFrame, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert source.segment.start == 7 * FRAME
    assert sink.data == frames[7:]
    assert sink.times[0] == (0, FRAME)
    assert sink.events[0] == ("segment", 7 * FRAME, MAX_TIME, 1.0)


@pytest.mark.timeout(30)
def test_y4msrc_seeks_a_file_with_frame_parameters(tmp_path: Path) -> None:
    """FRAME lines with parameters (sizes vary): the file is scanned to the frame."""
    path = tmp_path / "params.y4m"
    size = 4 * 2 + 2 * 2 * 1
    frames = [bytes([i]) * size for i in range(10)]
    path.write_bytes(
        b"YUV4MPEG2 W4 H2 F25:1 Ip C420jpeg\n"
        + b"".join(b"FRAME" + (b" Xi=%d" % i) * (i % 3) + b"\n" + f for i, f in enumerate(frames))
    )
    source, sink = make_filter("y4msrc", location=path), Recorder()
    assert source.expected_samples() is None
    assert source.GetDuration() == 10 * FRAME
    with chain(source, sink) as graph:
        graph.SetPositions(4 * FRAME + 1, ABS, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.data == frames[4:]


@pytest.mark.timeout(30)
def test_y4msrc_seek_while_paused_shows_the_new_frame_and_restarts_stream_time(y4m: Path) -> None:
    """A seek while paused flushes the held frame; the new one is held, presented at Run,
    and the graph's position restarts at the new start."""
    frames = y4m_frames(y4m)
    clock = ManualClock()
    source, sink = make_filter("y4msrc", location=y4m), Recorder()
    with chain(source, sink, clock=clock) as graph:
        graph.Pause()
        assert graph.GetState(WAIT_MS) is FilterState.State_Paused
        t = 10 * FRAME
        assert graph.SetPositions(t, ABS, None, NONE) == (t, 20 * FRAME)
        assert graph.GetState(WAIT_MS) is FilterState.State_Paused
        assert sink.rendered == 0
        assert graph.GetCurrentPosition() == t
        graph.Run()
        sink.wait_for(1)
        assert sink.data[0] == frames[10]
        assert graph.GetCurrentPosition() == t  # stream time 0 is RUN_LATENCY ahead
        clock.advance(RUN_LATENCY + 3 * FRAME)
        assert graph.GetCurrentPosition() == t + 3 * FRAME
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        clock.advance(SECOND)
        assert graph.GetCurrentPosition() == 20 * FRAME  # never past the end
    assert sink.data == frames[10:]
    assert sink.events[:5] == [
        ("segment", 0, MAX_TIME, 1.0),
        ("begin_flush",),
        ("end_flush",),
        ("segment", t, MAX_TIME, 1.0),
        ("sample", 0, True),
    ]


def _seek_while_running(y4m: Path, middle: list[Any]) -> list[Recorder]:
    """Play y4m through ``middle`` into sync renderers on a manual clock; after 4 frames
    presented, seek to frame 10 (plus 5 units); play to the end."""
    clock = ManualClock()
    source = make_filter("y4msrc", location=y4m)
    sinks = [Recorder(sync=True, name=f"sink{i}") for i in range(2 if middle else 1)]
    graph = FilterGraph(clock=clock)
    with graph:
        graph.connect_chain(source, *middle, sinks[0])
        if len(sinks) > 1:
            graph.connect_chain(middle[-1], sinks[1])
        graph.Run()
        clock.advance(RUN_LATENCY + 3 * FRAME)
        for sink in sinks:
            sink.wait_for(4)
        t = 10 * FRAME + 5
        assert graph.SetPositions(t, ABS, None, NONE) == (t, 20 * FRAME)
        assert graph.GetState(0) is FilterState.State_Running
        clock.advance(RUN_LATENCY)
        for sink in sinks:
            sink.wait_for(5)
        clock.advance(SECOND)
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    return sinks


@pytest.mark.timeout(30)
@pytest.mark.parametrize("middle", ["direct", "queue+tee"])
def test_y4msrc_seek_while_running_flushes_and_delivers_the_new_frame(
    y4m: Path, middle: str
) -> None:
    """A seek while running: BeginFlush, EndFlush, NewSegment then the frame containing
    the position with the discontinuity flag, on every path (a queue and a tee's branches
    too); no sample is lost (the leak fixture) and the stream completes."""
    frames = y4m_frames(y4m)
    filters = [] if middle == "direct" else [QueueFilter(max_size=4), Tee()]
    for sink in _seek_while_running(y4m, filters):
        assert sink.data[:4] == frames[:4]
        assert sink.data[4:] == frames[10:]
        assert sink.after_flush()[:2] == [
            ("segment", 10 * FRAME + 5, MAX_TIME, 1.0),
            ("sample", -5, True),
        ]
        flushes = [e for e in sink.events if e[0] in ("begin_flush", "end_flush")]
        assert flushes == [("begin_flush",), ("end_flush",)]
        assert sink.times[4] == (-5, FRAME - 5)
        assert sink.events[-1] == ("eos",)


@pytest.mark.timeout(30)
def test_rate_two_halves_the_sample_times(y4m: Path) -> None:
    """SetRate(2.0): NewSegment carries the rate and stream times are halved."""
    source, sink = make_filter("y4msrc", location=y4m), Recorder()
    with chain(source, sink) as graph:
        graph.SetRate(2.0)
        assert graph.GetRate() == 2.0
        t = 7 * FRAME + 100_000
        graph.SetPositions(t, ABS, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.events[0] == ("segment", t, MAX_TIME, 2.0)
    assert sink.times[:2] == [(-50_000, 150_000), (150_000, 350_000)]


# -- wavsrc ------------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_wavsrc_seek_is_exact_to_the_audio_frame(tmp_path: Path) -> None:
    """The first buffer after SetPositions(t) starts at the audio frame containing t."""
    path = tmp_path / "in.wav"
    data = write_wav(path)  # 12000 frames at 8000 Hz: frame k starts at k * 1250
    source = make_filter("wavsrc", location=path, samples_per_buffer=100)
    sink = Recorder()
    with chain(source, sink) as graph:
        assert graph.GetDuration() == 15_000_000
        t = 1234 * 1250 + 700
        graph.SetPositions(t, ABS, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.data[0] == data[1234 * 2 : 1334 * 2]
    assert sink.times[0] == (-700, 100 * 1250 - 700)
    assert b"".join(sink.data) == data[1234 * 2 :]
    assert len(sink.data) == 108  # 10766 frames: 107 buffers of 100 and one of 66
    assert sink.events[0] == ("segment", t, MAX_TIME, 1.0)
    assert sink.samples()[0][2] is True


@pytest.mark.timeout(30)
def test_wavsrc_stop_and_key_frame(tmp_path: Path) -> None:
    """A stop ends at the buffer that reaches it; SeekToKeyFrame starts the segment at the
    frame (every audio frame is a key frame)."""
    path = tmp_path / "in.wav"
    data = write_wav(path)
    source = make_filter("wavsrc", location=path, samples_per_buffer=100)
    sink = Recorder()
    with chain(source, sink) as graph:
        t, stop = 1000 * 1250 + 3, 1250 * 1250
        assert graph.SetPositions(t, ABS | AM_SEEKING_SeekToKeyFrame, stop, ABS) == (t, stop)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert b"".join(sink.data) == data[1000 * 2 : 1300 * 2]  # buffers at 1000, 1100, 1200
    assert sink.times[0] == (0, 125_000)
    assert sink.events[0] == ("segment", 1000 * 1250, stop, 1.0)


# -- test sources ------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_videotestsrc_with_num_buffers_seeks_to_the_frame() -> None:
    """num-buffers bounds the position: a seek plays from the frame containing t to frame
    num-buffers - 1, drawn as playing through draws it (the ball's place)."""
    source = make_filter(
        "videotestsrc", num_buffers=30, pattern="ball", width=32, height=24, framerate=30
    )
    sink = Recorder()
    with chain(source, sink) as graph:
        assert graph.GetDuration() == 10_000_000
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        graph.Stop()
        full = list(sink.data)
        assert len(full) == 30
        sink.data.clear()
        sink.times.clear()
        start = 10 * SECOND // 30
        t = start + 5
        graph.SetPositions(t, ABS, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.data == full[10:]
    assert full[10] != full[9]
    assert sink.times[0] == (-5, 11 * SECOND // 30 - t)
    assert sink.events[-len(sink.data) - 2] == ("segment", t, MAX_TIME, 1.0)


@pytest.mark.timeout(30)
def test_audiotestsrc_with_num_buffers_seeks_to_the_frame() -> None:
    """audiotestsrc: the first buffer starts at the frame containing t, the sine's phase
    as playing through; the stream ends at num-buffers * samples-per-buffer frames."""
    source = make_filter("audiotestsrc", num_buffers=10, samples_per_buffer=100, rate=8000)
    sink = Recorder()
    with chain(source, sink) as graph:
        assert graph.GetDuration() == 1000 * 1250
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        graph.Stop()
        full = b"".join(sink.data)
        assert len(full) == 2000
        sink.data.clear()
        sink.times.clear()
        t = 345 * 1250 + 1249
        graph.SetPositions(t, ABS, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert sink.data[0] == full[345 * 2 : 445 * 2]
    assert b"".join(sink.data) == full[345 * 2 :]
    assert [len(d) for d in sink.data] == [200] * 6 + [110]
    assert sink.times[0] == (-1249, 100 * 1250 - 1249)


@pytest.mark.parametrize("name", ["videotestsrc", "audiotestsrc"])
def test_test_sources_without_num_buffers_cannot_seek(name: str) -> None:
    """Without num-buffers a test source has no end: capabilities 0, SetPositions
    E_NOTIMPL, its segment unchanged; with it, the full set."""
    source = make_filter(name)
    assert source.GetCapabilities() == 0
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        source.SetPositions(SECOND, ABS, None, NONE)
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        source.GetDuration()
    assert source.segment == Segment()
    assert make_filter(name, num_buffers=3).GetCapabilities() == SEEKING_CAPABILITIES


# -- the graph ---------------------------------------------------------------------------------


def test_graph_and_sources_provide_imediaseeking(y4m: Path) -> None:
    """The graph and every seeking source provide IMediaSeeking, with its time format."""
    for obj in (FilterGraph(), make_filter("y4msrc", location=y4m), Counter()):
        assert verifyObject(IMediaSeeking, obj)
        assert obj.GetTimeFormat() == TIME_FORMAT_MEDIA_TIME
        assert obj.IsFormatSupported(TIME_FORMAT_MEDIA_TIME)


@pytest.mark.timeout(30)
def test_graph_reports_the_longest_duration_and_seeks_every_source(
    y4m: Path, tmp_path: Path
) -> None:
    """Two renderers: the graph's duration is the longest; a seek past the shorter source's
    end plays nothing there, and the graph completes once both renderers have."""
    wav = tmp_path / "in.wav"
    data = write_wav(wav)  # 1.5 s
    video, audio = make_filter("y4msrc", location=y4m), make_filter("wavsrc", location=wav)
    video_sink, audio_sink = Recorder(name="v"), Recorder(name="a")
    graph = FilterGraph()
    with graph:
        graph.connect_chain(video, video_sink)
        graph.connect_chain(audio, audio_sink)
        assert graph.seeking_sources() == [video, audio]
        assert graph.GetDuration() == 15_000_000
        assert graph.GetCapabilities() == SEEKING_CAPABILITIES
        assert graph.SetPositions(SECOND, ABS, None, NONE) == (SECOND, 15_000_000)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert video_sink.data == []
    assert video_sink.events == [("segment", SECOND, MAX_TIME, 1.0), ("eos",)]
    assert b"".join(audio_sink.data) == data[8000 * 2 :]


def test_a_path_without_a_seekable_source_makes_the_graph_unseekable(y4m: Path) -> None:
    """One renderer fed by a source that cannot seek: capabilities 0, SetPositions
    E_NOTIMPL, and the seekable source's segment unchanged."""
    video = make_filter("y4msrc", location=y4m)
    graph = FilterGraph()
    with graph:
        graph.connect_chain(video, Recorder(name="v"))
        graph.connect_chain(Endless(), Recorder(name="e"))
        assert graph.seeking_sources() is None
        assert graph.GetCapabilities() == 0
        with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
            graph.SetPositions(FRAME, ABS, None, NONE)
        with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
            graph.GetDuration()
        assert video.segment == Segment()


def test_videotestsrc_without_num_buffers_makes_the_graph_unseekable() -> None:
    """A registered source that cannot seek (videotestsrc without num-buffers) says so."""
    with chain(make_filter("videotestsrc"), Recorder()) as graph:
        assert graph.seeking_sources() is not None
        assert graph.GetCapabilities() == 0
        with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
            graph.SetPositions(FRAME, ABS, None, NONE)


@pytest.mark.parametrize(
    ("current", "flags", "stop", "stop_flags"),
    [
        pytest.param(-1, ABS, None, NONE, id="negative-start"),
        pytest.param(50 * Counter.STEP, ABS, None, NONE, id="start-at-the-end"),
        pytest.param(60 * Counter.STEP, ABS, None, NONE, id="start-past-the-end"),
        pytest.param(SECOND, ABS, SECOND - 1, ABS, id="stop-before-start"),
        pytest.param(0, ABS, -5, ABS, id="negative-stop"),
        pytest.param(0, ABS | 0x40, None, NONE, id="unknown-flag"),
        pytest.param(0, ABS, 0, ABS | 0x100, id="unknown-stop-flag"),
        pytest.param(0, AM_SEEKING_IncrementalPositioning, None, NONE, id="incremental-start"),
        pytest.param(-1, AM_SEEKING_RelativePositioning, None, NONE, id="relative-negative"),
    ],
)
@pytest.mark.parametrize("target", ["source", "graph"])
def test_bad_positions_are_refused_and_change_nothing(
    current: int, flags: int, stop: int | None, stop_flags: int, target: str
) -> None:
    """E_INVALIDARG for a bad position or flag, on the source or the graph; the segment
    stays, and a paused stream is not flushed."""
    source, sink = Counter(), Recorder()
    with chain(source, sink) as graph:
        graph.Pause()
        assert graph.GetState(WAIT_MS) is FilterState.State_Paused
        seeker = source if target == "source" else graph
        with raises_hresult(InvalidArgError, HRESULT.E_INVALIDARG):
            seeker.SetPositions(current, flags, stop, stop_flags)
        assert source.segment == Segment()
        assert ("begin_flush",) not in sink.events
        assert graph.GetCurrentPosition() == 0


def test_bad_rate_is_refused() -> None:
    """SetRate takes a rate > 0 only."""
    with chain(Counter(), Recorder()) as graph:
        for rate in (0, -1.0, float("nan"), "2"):
            with raises_hresult(InvalidArgError, HRESULT.E_INVALIDARG):
                graph.SetRate(rate)  # type: ignore[arg-type]
        assert graph.GetRate() == 1.0


@pytest.mark.timeout(30)
def test_a_seek_after_completion_plays_and_completes_again() -> None:
    """EC_COMPLETE, then a seek while running: the graph counts completion afresh."""
    source, sink = Counter(), Recorder()
    with chain(source, sink) as graph:
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert len(sink.data) == 50
        graph.SetPositions(2 * SECOND, ABS, None, NONE)
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert [index_of(d) for d in sink.data[50:]] == list(range(20, 50))
    assert sink.after_flush()[:2] == [("segment", 2 * SECOND, MAX_TIME, 1.0), ("sample", 0, True)]


@pytest.mark.timeout(30)
def test_moving_only_the_stop_does_not_flush() -> None:
    """Only the stop moves (paused): no flush, and the run ends at the new stop."""
    source, sink = Counter(), Recorder()
    with chain(source, sink) as graph:
        graph.Pause()
        assert graph.GetState(WAIT_MS) is FilterState.State_Paused
        assert graph.SetPositions(None, NONE, 10 * Counter.STEP, ABS) == (0, 10 * Counter.STEP)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert [index_of(d) for d in sink.data] == list(range(10))
    assert ("begin_flush",) not in sink.events


@pytest.mark.timeout(30)
def test_relative_positioning_adds_to_the_current_position() -> None:
    """RelativePositioning while stopped adds to the recorded start; an incremental stop
    adds to the new start."""
    source, sink = Counter(), Recorder()
    with chain(source, sink) as graph:
        graph.SetPositions(SECOND, ABS, None, NONE)
        assert graph.SetPositions(
            SECOND, AM_SEEKING_RelativePositioning, SECOND // 2, AM_SEEKING_IncrementalPositioning
        ) == (2 * SECOND, 25 * Counter.STEP)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert [index_of(d) for d in sink.data] == list(range(20, 25))


@pytest.mark.timeout(30)
def test_position_without_a_clock_comes_from_the_sources() -> None:
    """No clock: the graph's position is the source's, the start of the last sample
    delivered, as a media position."""
    source, sink = Counter(), Recorder()
    with chain(source, sink, clock=None) as graph:
        graph.SetPositions(2 * SECOND, ABS, None, NONE)
        assert graph.GetCurrentPosition() == 2 * SECOND
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert source.GetCurrentPosition() == 49 * Counter.STEP
        assert graph.GetCurrentPosition() == 49 * Counter.STEP
        assert graph.GetPositions() == (49 * Counter.STEP, 50 * Counter.STEP)
        assert graph.GetAvailable() == (0, 50 * Counter.STEP)
        assert graph.CheckCapabilities(AM_SEEKING_CanGetDuration) == AM_SEEKING_CanGetDuration
    assert source.GetCurrentPosition() == 2 * SECOND  # stopped: where the next run starts


@pytest.mark.timeout(30)
def test_a_failing_seek_reports_errorabort_and_leaves_no_thread() -> None:
    """seek_to raising during the flush: the error is raised, the graph gets EC_ERRORABORT,
    end of stream goes downstream after EndFlush, no streaming thread is left, and the
    segment stays the old one."""
    source, sink = Counter(), Recorder()
    with chain(source, sink) as graph:
        graph.Pause()
        assert graph.GetState(WAIT_MS) is FilterState.State_Paused
        source.fail = OSError("the medium is gone")
        with pytest.raises(OSError, match="the medium is gone"):
            graph.SetPositions(SECOND, ABS, None, NONE)
        assert source.output._thread is None
        assert source.segment == Segment()
        assert graph.WaitForCompletion(WAIT_MS) == EC_ERRORABORT
        assert sink.events[-3:] == [("begin_flush",), ("end_flush",), ("eos",)]
        assert graph.GetState(0) is FilterState.State_Paused
        graph.Stop()
        source.fail = None
        graph.SetPositions(SECOND, ABS, None, NONE)
        graph.Run()
        assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert index_of(sink.data[0]) == 10


@pytest.mark.timeout(30)
def test_stop_after_a_seek_while_running_joins_every_thread() -> None:
    """Seek while running and stop at once: the threads of the new segment are joined and
    every sample goes home (the leak fixture)."""
    source, sink = Counter(frames=100_000), Recorder()
    with chain(source, sink) as graph:
        graph.Run()
        sink.wait_for(1)
        graph.SetPositions(SECOND, ABS, None, NONE)
        graph.Stop()
    assert source.output._thread is None


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_cli_launch_start_and_stop(y4m: Path, tmp_path: Path) -> None:
    """launch --start/--stop plays exactly the frames from the one containing the start
    to the last one starting before the stop."""
    out = tmp_path / "out.y4m"
    line = f"y4msrc location={y4m} ! y4msink location={out}"
    assert main(["launch", "-q", "--start", "0.3", "--stop", "0.48", line]) == 0
    assert y4m_frames(out) == y4m_frames(y4m)[7:12]
    assert main(["launch", "-q", "--start", "0.5", line]) == 0
    assert y4m_frames(out) == y4m_frames(y4m)[12:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "0.8"], "past the end"),
        (["--start", "0.5", "--stop", "0.4"], "before the start"),
    ],
)
def test_cli_launch_refuses_bad_positions(
    y4m: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """A position the graph refuses: exit status 2 and the reason."""
    line = f"y4msrc location={y4m} ! y4msink location={tmp_path / 'out.y4m'}"
    assert main(["launch", "-q", *args, line]) == 2
    err = capsys.readouterr().err
    assert "error: cannot play from --start/--stop" in err
    assert message in err


def test_cli_launch_refuses_a_graph_that_cannot_seek(capsys: pytest.CaptureFixture[str]) -> None:
    """--start on a graph whose source cannot seek: exit status 2, naming the source."""
    assert main(["launch", "-q", "--start", "1", "videotestsrc ! nullsink"]) == 2
    assert "videotestsrc0 cannot" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "abc", "inf", "nan"])
def test_cli_launch_refuses_bad_seconds(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A negative or non-numeric --start is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as info:
        main(["launch", "-q", f"--start={value}", "videotestsrc num-buffers=1 ! nullsink"])
    assert info.value.code == 2
    assert "--start" in capsys.readouterr().err
