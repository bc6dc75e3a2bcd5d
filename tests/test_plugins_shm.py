"""shmsink and shmsrc: frames cross between two graphs (and two processes) without a copy."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import attrs
import pytest

from dshow_alloc.caps import CapsError
from dshow_alloc.cli import main
from dshow_alloc.elements import CollectingRenderer, Tee
from dshow_alloc.filters import SourceFilter, TransInPlaceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import VfwInvalidMediaTypeError, VfwTimeoutError
from dshow_alloc.ipc import Listener, ReceivedMemory, SampleReceiver, SampleSender, connect
from dshow_alloc.launch import parse_launch
from dshow_alloc.mediatype import GUID_NULL
from dshow_alloc.meta import TAG_MEMORY_REFERENCE, register_meta
from dshow_alloc.pins import filter_label, pin_label
from dshow_alloc.plugins.shm import ShmSink, ShmSource
from dshow_alloc.plugins.y4m import parse_y4m_header
from dshow_alloc.registry import make_filter, properties_of
from dshow_alloc.report import run_graph
from dshow_alloc.structs import EC_COMPLETE, EC_ERRORABORT, FilterState
from dshow_alloc.testing.graph import assert_all_home, wait_until
from dshow_alloc.video import VIDEO_META, video_layout, video_type

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 64, 48
FRAME = WIDTH * HEIGHT * 3 // 2  # I420: 4608 bytes
FRAME_TIME = 400_000  # 25 frames/s
I420 = video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
SLOW = video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=2 * FRAME_TIME)  # 12.5 frames/s
CAPS = "video/x-raw,format=I420,width=64,height=48,framerate=25/1"
WAIT_MS = 10_000
STOPPED = FilterState.State_Stopped


def frame_bytes(index: int) -> bytes:
    """Frame ``index``'s bytes: a ramp that starts at a different value in every frame."""
    start = index * 37 % 256
    return bytes((start + k) % 256 for k in range(256)) * (FRAME // 256)


FRAMES = [frame_bytes(i) for i in range(12)]


class FrameSource(SourceFilter):
    """``count`` I420 64x48 frames (`frame_bytes`), 25 frames/s (or ``media_type``, of the
    same size), from a pool of ``buffers``."""

    def __init__(
        self, count: int, *, buffers: int = 3, name: str = "frames", media_type: Any = None
    ) -> None:
        super().__init__(name=name, media_type=media_type or I420, buffers=buffers)
        self.count = count
        self.index = 0

    def FillBuffer(self, sample: Any) -> bool:
        """The next frame, or the end."""
        if self.index >= self.count:
            return False
        data = sample.GetPointer()
        data[:FRAME] = FRAMES[self.index]
        data.release()
        sample.SetActualDataLength(FRAME)
        sample.SetTime(self.index * FRAME_TIME, (self.index + 1) * FRAME_TIME)
        sample.SetSyncPoint(True)
        self.index += 1
        return True


class Recorder(CollectingRenderer):
    """A CollectingRenderer that also notes each sample's first memory block's class, its
    flags, media time and metas."""

    def __init__(self, name: str = "recorder") -> None:
        super().__init__(name=name)
        self.memory_classes: list[type] = []
        self.flags: list[tuple[bool, bool, bool]] = []
        self.media_times: list[tuple[int, int] | None] = []
        self.metas: list[list[tuple[str, dict[str, Any]]]] = []

    def DoRenderSample(self, sample: Any) -> None:
        """Record ``sample``, its memory's class, flags, media time and metas."""
        super().DoRenderSample(sample)
        self.memory_classes.append(type(sample.PeekMemory(0)))
        self.flags.append((sample.IsSyncPoint(), sample.IsDiscontinuity(), sample.IsPreroll()))
        try:
            self.media_times.append(sample.GetMediaTime())
        except Exception:
            self.media_times.append(None)
        self.metas.append([(meta.api, meta.fields) for meta in sample.IterMeta()])


PLAIN_META = register_meta("test-shm-plain")
"""A meta whose fields are plain data: it crosses."""
REFERENCE_META = register_meta("test-shm-reference", tags=(TAG_MEMORY_REFERENCE,))
"""A meta about the producer's memory itself: it stays behind."""
LAYOUT = video_layout(I420)


class FlaggedSource(FrameSource):
    """FrameSource whose frames carry varied flags, media times and metas."""

    def FillBuffer(self, sample: Any) -> bool:
        """The next frame, flagged and with metas."""
        index = self.index
        if not super().FillBuffer(sample):
            return False
        sample.SetSyncPoint(index % 2 == 0)
        sample.SetDiscontinuity(index == 1)
        sample.SetPreroll(index == 2)
        sample.SetMediaTime(index * 10, index * 10 + 10)
        sample.AddMeta(VIDEO_META, **LAYOUT.meta_fields())
        sample.AddMeta(PLAIN_META, index=index, label=f"frame {index}", tags=("a", "b"))
        sample.AddMeta(REFERENCE_META, index=index)
        return True


class XorInPlace(TransInPlaceFilter):
    """Flips every bit of each sample, in place."""

    def Transform(self, sample: Any) -> None:
        """Invert the data."""
        data = sample.GetPointer()
        length = sample.GetActualDataLength()
        data[:length] = bytes(255 - b for b in data[:length])


def times(count: int) -> list[tuple[int, int | None] | None]:
    """The (start, stop) of the first ``count`` frames."""
    return [(i * FRAME_TIME, (i + 1) * FRAME_TIME) for i in range(count)]


def producer(
    graph: FilterGraph, path: Path, count: int, media_type: Any = None, **props: Any
) -> tuple[Any, ShmSink]:
    """Graph A: FrameSource (of ``media_type``, default I420) -> shmsink at ``path``."""
    source = FrameSource(count, media_type=media_type)
    sink = ShmSink(socket_path=path, **props)
    graph.connect_chain(source, sink)
    return source, sink


def consumer(graph: FilterGraph, path: Path, **props: Any) -> tuple[ShmSource, Recorder]:
    """Graph B: shmsrc at ``path`` -> Recorder."""
    props.setdefault("caps", CAPS)
    source = ShmSource(socket_path=path, **props)
    recorder = Recorder()
    graph.connect_chain(source, recorder)
    return source, recorder


def index_of(data: bytes) -> int:
    """Which frame ``data`` is."""
    return FRAMES.index(bytes(data))


# -- two graphs in one process -------------------------------------------------------------------


def test_frames_cross_between_graphs_without_a_copy(tmp_path: Path) -> None:
    """Every frame reaches the reader's graph with its bytes and times, mapped from the
    producer's memfd (no copy anywhere), and every sample is home at the end."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        source, sink = producer(a, path, 6)
        shmsrc, recorder = consumer(b, path)
        a.Run()
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert recorder.data == FRAMES[:6]
        assert recorder.times == times(6)
        assert recorder.read_only == [True] * 6
        assert recorder.memory_classes == [ReceivedMemory] * 6
        assert (sink.sent, sink.rendered, sink.copies, sink.dropped) == (6, 6, 0, 0)
        assert (sink.readers, sink.reclaimed) == (1, 0)
        assert shmsrc.output.delivered == 6
        assert source.output.allocator.memory_allocator.mem_type == "SharedMemory"
        assert source.output.allocator.GetFreeCount() == 3
        assert_all_home(a)
        assert recorder.input.read_only is True
        a.Stop()
        assert not path.exists()


def test_wait_for_connection_holds_the_stream_until_a_reader_connects(tmp_path: Path) -> None:
    """With wait-for-connection (the default) nothing is sent or dropped before the reader
    connects; then every frame goes to it."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        _source, sink = producer(a, path, 4)
        a.Run()
        wait_until(lambda: sink.waiting_for_reader)
        assert (sink.sent, sink.dropped, sink.readers) == (0, 0, 0)
        _shmsrc, recorder = consumer(b, path)
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert recorder.data == FRAMES[:4]
        assert (sink.sent, sink.dropped, sink.readers) == (4, 0, 1)


def test_stop_while_waiting_for_a_reader_returns_and_removes_the_socket(tmp_path: Path) -> None:
    """Stopping a sink that waits for its first reader ends the wait, its threads and the
    socket file."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a:
        source, sink = producer(a, path, 4)
        a.Run()
        wait_until(lambda: sink.waiting_for_reader)
        a.Stop()
        assert sink.state is STOPPED
        assert not sink.waiting_for_reader
        assert not path.exists()
        assert (sink.sent, sink.dropped) == (0, 0)
        assert source.output.delivered == 0


def test_flush_while_waiting_for_a_reader_refuses_the_sample(tmp_path: Path) -> None:
    """A flush wakes a sample waiting for a reader: Receive returns False, nothing is sent."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a:
        source, sink = producer(a, path, 4)
        a.Run()
        wait_until(lambda: sink.waiting_for_reader)
        sink.input.BeginFlush()
        wait_until(lambda: not source.output._thread.is_alive())
        sink.input.EndFlush()
        assert (sink.sent, sink.dropped, source.output.delivered) == (0, 0, 0)


def test_without_wait_for_connection_samples_nobody_reads_are_dropped(tmp_path: Path) -> None:
    """wait-for-connection=false with no reader: every sample is dropped and counted, and
    the stream completes."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a:
        source, sink = producer(a, path, 5, wait_for_connection=False)
        a.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert (sink.sent, sink.dropped, sink.rendered, sink.readers) == (0, 5, 0, 0)
        assert source.output.delivered == 5
        # A reader arriving after the end of stream sees end of stream at once.
        with SampleReceiver(connect(path, timeout=5)) as late:
            assert late.receive(timeout=5) is None


def test_a_reader_leaving_mid_stream_is_followed_by_the_next(tmp_path: Path) -> None:
    """When the reader goes away, what it held comes home and the sink waits for the next
    reader, which gets the rest of the stream."""
    path = tmp_path / "video"
    count = 10
    with FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, count)
        a.Run()
        first: list[int] = []
        with SampleReceiver(connect(path, timeout=5)) as reader:
            for _ in range(2):
                sample = reader.receive(timeout=5)
                assert sample is not None
                with sample:
                    first.append(index_of(sample.GetPointer()))
        assert first == [0, 1]
        second: list[int] = []
        with SampleReceiver(connect(path, timeout=5)) as reader:
            for sample in reader:
                with sample:
                    second.append(index_of(sample.GetPointer()))
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        to_first = count - len(second)
        assert second == list(range(to_first, count))
        assert (sink.sent, sink.readers, sink.dropped, sink.copies) == (count, 2, 0, 0)
        # Taken back: the samples the first reader never read, and the two it released when
        # their release messages were still unread as it closed (the kernel then reports a
        # reset before the queued messages).
        assert to_first - 2 <= sink.reclaimed <= to_first
        assert_all_home(a)


def test_without_wait_a_reader_leaving_mid_stream_makes_the_rest_dropped(tmp_path: Path) -> None:
    """wait-for-connection=false: once the reader has gone, the samples that follow are
    dropped; what it held comes home."""
    path = tmp_path / "video"
    count = 8
    with FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, count, wait_for_connection=False)
        a.Pause()
        reader = SampleReceiver(connect(path, timeout=5))
        wait_until(lambda: sink.readers == 1)
        a.Run()
        got = []
        with reader:
            for _ in range(2):
                sample = reader.receive(timeout=5)
                assert sample is not None
                with sample:
                    got.append(index_of(sample.GetPointer()))
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert got == [0, 1]
        assert sink.sent + sink.dropped == count
        assert sink.sent - 2 <= sink.reclaimed <= sink.sent  # see the test above
        assert_all_home(a)


def test_samples_that_are_not_shared_memory_are_copied(tmp_path: Path) -> None:
    """Behind a tee whose other branch keeps the upstream pool in system memory, shmsink
    copies each sample into shared memory of its own and counts the copies."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        source = FrameSource(5)
        tee = Tee(name="tee")
        sink = ShmSink(socket_path=path)
        local = CollectingRenderer(name="local")
        a.connect_chain(source, tee, sink)
        a.AddFilter(local)
        a.Connect(tee.FindPin("Output2"), local.input)
        _shmsrc, recorder = consumer(b, path)
        a.Run()
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert source.output.allocator.memory_allocator.mem_type == "SystemMemory"
        assert (sink.sent, sink.copies) == (5, 5)
        assert recorder.data == FRAMES[:5]
        assert recorder.times == times(5)
        assert recorder.memory_classes == [ReceivedMemory] * 5
        assert local.data == FRAMES[:5]


def test_an_in_place_filter_after_shmsrc_copies_the_read_only_samples(tmp_path: Path) -> None:
    """shmsrc's samples are read-only, so an in-place filter downstream works on copies."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        _source, sink = producer(a, path, 4)
        shmsrc = ShmSource(socket_path=path, caps=CAPS)
        xor = XorInPlace(name="xor")
        recorder = Recorder()
        b.connect_chain(shmsrc, xor, recorder)
        assert xor.input.read_only is True
        a.Run()
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert recorder.data == [bytes(255 - x for x in frame) for frame in FRAMES[:4]]
        assert xor.copies == 4
        assert sink.copies == 0


def test_a_type_that_does_not_fit_the_caps_aborts_the_reader(tmp_path: Path) -> None:
    """A producer sending 64x48 to a shmsrc whose caps say 32x24 stops the reader's stream
    with EC_ERRORABORT (VFW_E_INVALIDMEDIATYPE) naming both types."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        producer(a, path, 4)
        _shmsrc, recorder = consumer(b, path, caps="video/x-raw,format=I420,width=32,height=24")
        a.Run()
        b.Run()
        assert b.WaitForCompletion(WAIT_MS) == EC_ERRORABORT
        aborts = [event for event in b.events() if event[0] == EC_ERRORABORT]
        assert len(aborts) == 1
        _code, hresult, error = aborts[0]
        assert hresult == VfwInvalidMediaTypeError.code
        assert "sends video/x-raw,format=I420,width=64,height=48,framerate=25/1" in str(error)
        assert "output is video/x-raw,format=I420,width=32,height=24" in str(error)
        assert recorder.data == []


def test_a_refused_reader_takes_nothing_and_the_next_gets_every_frame(tmp_path: Path) -> None:
    """A shmsrc refusing the producer's type leaves before any sample is sent: the refused
    reader's graph aborts with VFW_E_INVALIDMEDIATYPE naming both types, and the next reader
    gets all 12 frames from the first, none reclaimed."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a:
        source, sink = producer(a, path, 12)
        a.Run()
        with FilterGraph(clock=None) as refused:
            _shmsrc, nothing = consumer(
                refused, path, caps="video/x-raw,format=I420,width=32,height=24"
            )
            refused.Run()
            assert refused.WaitForCompletion(WAIT_MS) == EC_ERRORABORT
            aborts = [event for event in refused.events() if event[0] == EC_ERRORABORT]
        assert [hresult for _code, hresult, _error in aborts] == [VfwInvalidMediaTypeError.code]
        assert "sends video/x-raw,format=I420,width=64,height=48,framerate=25/1" in str(
            aborts[0][2]
        )
        assert "output is video/x-raw,format=I420,width=32,height=24" in str(aborts[0][2])
        assert nothing.data == []
        assert (sink.sent, sink.readers, sink.reclaimed, source.output.delivered) == (0, 0, 0, 0)
        with FilterGraph(clock=None) as b:
            _shmsrc, recorder = consumer(b, path)
            b.Run()
            assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert recorder.data == FRAMES[:12]
        assert recorder.times == times(12)
        assert (sink.sent, sink.readers, sink.reclaimed, sink.dropped) == (12, 1, 0, 0)
        assert_all_home(a)


def test_shmsrc_without_caps_takes_the_producers_type(tmp_path: Path) -> None:
    """Without caps, connecting shmsrc's output asks the running producer for its type and
    takes nothing from it; the stream then flows in that type."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        _source, sink = producer(a, path, 5)
        a.Run()
        shmsrc = ShmSource(socket_path=path)
        recorder = Recorder()
        b.connect_chain(shmsrc, recorder)
        assert shmsrc.output.ConnectionMediaType() == I420
        assert shmsrc.output.EnumMediaTypes() == [I420]
        assert (sink.sent, sink.readers, sink.reclaimed) == (0, 0, 0)
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert recorder.data == FRAMES[:5]
        assert recorder.times == times(5)
        assert (sink.sent, sink.readers, sink.reclaimed) == (5, 1, 0)


def test_times_flags_and_metas_arrive_intact(tmp_path: Path) -> None:
    """Each frame's times, media times, sync point, discontinuity and preroll flags reach the
    consumer's renderer as the producer set them, with its VIDEO_META and plain-data metas;
    a meta about the producer's memory itself does not cross."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        sink = ShmSink(socket_path=path)
        a.connect_chain(FlaggedSource(4), sink)
        a.Run()
        _shmsrc, recorder = consumer(b, path, caps=None)
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
    assert recorder.data == FRAMES[:4]
    assert recorder.times == times(4)
    assert recorder.media_times == [(i * 10, i * 10 + 10) for i in range(4)]
    assert recorder.flags == [
        (True, False, False),
        (False, True, False),
        (True, False, True),
        (False, False, False),
    ]
    assert recorder.metas == [
        [
            ("video-meta", LAYOUT.meta_fields()),
            ("test-shm-plain", {"index": i, "label": f"frame {i}", "tags": ("a", "b")}),
        ]
        for i in range(4)
    ]


def test_shmsrc_without_caps_in_a_launch_line_writes_the_producers_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dshow-alloc launch "shmsrc socket-path=X ! y4msink location=out.y4m"`` against a
    running producer writes its frames in its type, and the run table's shmsrc allocator row
    counts the 6 samples delivered from the producer's one buffer."""
    path, out = tmp_path / "video", tmp_path / "out.y4m"
    with FilterGraph(clock=None) as a:
        sink = ShmSink(socket_path=path)
        a.connect_chain(FrameSource(6, buffers=1), sink)
        a.Run()
        assert main(["launch", "-q", f"shmsrc socket-path={path} ! y4msink location={out}"]) == 0
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert (sink.sent, sink.readers, sink.reclaimed) == (6, 1, 0)
    table = capsys.readouterr().out
    assert re.search(r"^  shmsrc0 \(source\)\s+6\s+0$", table, re.MULTILINE), table
    row = re.search(r"^  shmsrc0\.Output -> y4msink0\.In\s+(.*)$", table, re.MULTILINE)
    assert row is not None, table
    assert row.group(1).split()[:6] == ["1", "x", f"{FRAME:,}", "B", "1", "6"]  # made, served
    assert "6.0x" in row.group(1)
    data = out.read_bytes()
    header = parse_y4m_header(data[: data.index(b"\n") + 1])
    assert (header.width, header.height, header.framerate) == (WIDTH, HEIGHT, 25)
    assert data[header.size :] == b"".join(b"FRAME\n" + frame for frame in FRAMES[:6])


def test_the_run_report_counts_what_shmsrc_delivered(tmp_path: Path) -> None:
    """run_graph's allocator row for shmsrc's never-filled allocator counts the samples it
    delivered (served 8) and the producer's buffers it mapped (made 1), not served 0."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        a.connect_chain(FrameSource(8, buffers=1), ShmSink(socket_path=path))
        a.Run()
        shmsrc, recorder = consumer(b, path, caps=None)
        report = run_graph(b, timeout=WAIT_MS / 1000)
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        output = pin_label(shmsrc.output)
    assert report.completion == "EC_COMPLETE"
    assert report.sources == {filter_label(shmsrc): 8}
    [row] = [row for row in report.allocators if row.name.startswith(output)]
    assert row.name == f"{output} -> {pin_label(recorder.input)}"
    assert (row.buffers, row.buffer_size, row.made, row.served, row.reuse) == (1, FRAME, 1, 8, 8.0)
    assert row.origin == f"made by {output} (read-only: samples are mapped)"
    assert recorder.data == FRAMES[:8]


def test_without_a_producer_connecting_shmsrc_fails_then_works_once_it_runs(
    tmp_path: Path,
) -> None:
    """With no caps and no shmsink, connecting shmsrc's output fails with VFW_E_TIMEOUT
    after ``timeout`` (the next attempt looks once, without waiting); once the producer
    runs, the same shmsrc connects in its type."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        shmsrc = ShmSource(socket_path=path, timeout=0.2)
        recorder = Recorder()
        b.AddFilter(shmsrc, "shmsrc")
        b.AddFilter(recorder, "recorder")
        with pytest.raises(VfwTimeoutError) as first:
            b.ConnectDirect(shmsrc.output, recorder.input)
        assert f"nothing listens at {path} after 0.2 s" in str(first.value)
        assert "give shmsrc caps= the whole type" in str(first.value)
        with pytest.raises(VfwTimeoutError) as second:
            b.ConnectDirect(shmsrc.output, recorder.input)
        assert "(looked once; nor was it before)" in str(second.value)
        assert not shmsrc.output.is_connected()
        _source, sink = producer(a, path, 3, media_type=SLOW)
        a.Pause()
        b.ConnectDirect(shmsrc.output, recorder.input)
        assert shmsrc.output.ConnectionMediaType() == SLOW
        assert (sink.readers, sink.sent) == (0, 0)


def test_a_caps_filter_builds_the_consumer_before_the_producer_runs(tmp_path: Path) -> None:
    """With no shmsink there yet, a launch line whose caps filter after shmsrc gives the
    whole type still builds (once shmsrc's wait is over) in that type; the stream then
    flows from the producer started later."""
    path = tmp_path / "video"
    pipeline = parse_launch(
        f"shmsrc socket-path={path} timeout=0.2 ! {CAPS} ! nullsink name=sink sync=false"
    )
    shmsrc, sink = pipeline.filters["shmsrc0"], pipeline.filters["sink"]
    assert shmsrc.output.ConnectionMediaType() == I420
    with FilterGraph(clock=None) as a, pipeline.graph as b:
        _source, shmsink = producer(a, path, 5)
        a.Run()
        b.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert (sink.rendered, shmsink.sent, shmsink.readers) == (5, 5, 1)


def test_caps_restrict_the_producers_type(tmp_path: Path) -> None:
    """Partial caps that fit the producer's type connect in it; caps that do not fail the
    connection with VFW_E_INVALIDMEDIATYPE naming both; other types than the producer's are
    refused."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a, FilterGraph(clock=None) as b:
        producer(a, path, 3)
        a.Pause()
        narrowed = ShmSource(socket_path=path, caps="video/x-raw,format=I420")
        assert narrowed.output.EnumMediaTypes() == [I420]
        assert narrowed.output.QueryAccept(I420)
        assert not narrowed.output.QueryAccept(video_type("I420", 32, 24))
        assert not narrowed.output.QueryAccept(video_type("NV12", WIDTH, HEIGHT))
        wrong = ShmSource(socket_path=path, caps="video/x-raw,format=NV12")
        recorder = Recorder()
        b.AddFilter(wrong, "wrong")
        b.AddFilter(recorder, "recorder")
        with pytest.raises(VfwInvalidMediaTypeError) as caught:
            b.ConnectDirect(wrong.output, recorder.input)
        assert str(caught.value).endswith(
            f"wrong: the shmsink at {path} sends "
            "video/x-raw,format=I420,width=64,height=48,framerate=25/1, which does not fit "
            "caps=video/x-raw,format=NV12"
        )
        assert not wrong.output.is_connected()


def test_the_type_is_asked_again_after_a_disconnect(tmp_path: Path) -> None:
    """shmsrc keeps the type it was told while connected; disconnected, it asks again and
    sees a restarted producer's new type."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as b:
        with FilterGraph(clock=None) as a:
            producer(a, path, 3)
            a.Pause()
            shmsrc, recorder = consumer(b, path, caps=None)
            assert shmsrc.output.ConnectionMediaType() == I420
        with FilterGraph(clock=None) as a:
            producer(a, path, 3, media_type=SLOW)
            a.Pause()
            assert shmsrc.output.EnumMediaTypes() == [I420]  # connected: what it was told
            b.Disconnect(shmsrc.output)
            b.Disconnect(recorder.input)
            assert shmsrc.output.EnumMediaTypes() == [SLOW]


def test_a_connection_asking_the_type_is_answered_while_a_reader_is_served(
    tmp_path: Path,
) -> None:
    """While one reader is served, a shmsrc learning the type is answered at once (not
    queued behind the reader), takes nothing, and is not counted as a reader."""
    path = tmp_path / "video"
    with FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, 4)
        a.Run()
        with SampleReceiver(connect(path, timeout=5)) as reader:
            first = reader.receive(timeout=5)
            assert first is not None
            learner = ShmSource(socket_path=path, timeout=5.0)
            assert learner.output.EnumMediaTypes() == [I420]
            assert sink.readers == 1
            got = [index_of(first.GetPointer())]
            first.Release()
            for sample in reader:
                with sample:
                    got.append(index_of(sample.GetPointer()))
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert got == [0, 1, 2, 3]
        assert (sink.sent, sink.readers, sink.reclaimed) == (4, 1, 0)


def test_a_reader_greeted_before_a_type_change_is_told_the_new_type(tmp_path: Path) -> None:
    """A reader that waited its turn while the stream's type changed gets the new type on
    its first sample; the reader served at the change got it on the changing sample."""
    path = tmp_path / "video"

    class Changing(FrameSource):
        def FillBuffer(self, sample: Any) -> bool:
            index = self.index
            more = super().FillBuffer(sample)
            if more and index == 2:
                sample.SetMediaType(SLOW)
            return more

    with FilterGraph(clock=None) as a:
        sink = ShmSink(socket_path=path)
        a.connect_chain(Changing(8), sink)
        a.Pause()
        first = SampleReceiver(connect(path, timeout=5))
        wait_until(lambda: sink.readers == 1)
        second = SampleReceiver(connect(path, timeout=5))
        assert second.handshake(timeout=5) == I420
        a.Run()
        with first:
            types = []
            for _ in range(3):
                sample = first.receive(timeout=5)
                assert sample is not None
                with sample:
                    types.append(sample.GetMediaType())
        assert types == [None, None, SLOW]
        with second:
            told = []
            for sample in second:
                with sample:
                    told.append(sample.GetMediaType())
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert told[0] == SLOW
        assert told[1:] == [None] * (len(told) - 1)
        assert sink.readers == 2


def test_shmsrc_gives_up_connecting_after_its_timeout(tmp_path: Path) -> None:
    """With nothing listening, shmsrc retries for ``timeout`` seconds, then aborts with
    VFW_E_TIMEOUT."""
    with FilterGraph(clock=None) as b:
        _shmsrc, recorder = consumer(b, tmp_path / "nobody", timeout=0.3)
        b.Run()
        assert b.WaitForCompletion(WAIT_MS) == EC_ERRORABORT
        aborts = [event for event in b.events() if event[0] == EC_ERRORABORT]
        assert [hresult for _code, hresult, _error in aborts] == [VfwTimeoutError.code]
        assert "nothing listens at" in str(aborts[0][2])
        assert recorder.data == []


# -- the socket file ------------------------------------------------------------------------------


def test_a_missing_directory_fails_pause_with_nothing_changed(tmp_path: Path) -> None:
    """A socket-path in a directory that does not exist raises FileNotFoundError at Pause;
    the graph and the sink stay stopped."""
    path = tmp_path / "missing" / "video"
    with FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, 1)
        with pytest.raises(FileNotFoundError, match="no directory"):
            a.Pause()
        assert sink.state is STOPPED
        assert a.GetState(0) is STOPPED
        assert not path.parent.exists()


def test_another_file_at_the_socket_path_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A regular file at socket-path is not replaced: Pause raises FileExistsError."""
    path = tmp_path / "video"
    path.write_bytes(b"precious")
    with FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, 1)
        with pytest.raises(FileExistsError, match="not a socket"):
            a.Pause()
        assert sink.state is STOPPED
    assert path.read_bytes() == b"precious"


def test_a_live_socket_is_refused_and_a_stale_one_replaced(tmp_path: Path) -> None:
    """A socket somebody listens at is refused (EADDRINUSE); one left by a dead listener is
    replaced, and the sink removes its own at Stop."""
    path = tmp_path / "video"
    with Listener(path), FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, 1, wait_for_connection=False)
        with pytest.raises(OSError, match="another process listens") as raised:
            a.Pause()
        assert raised.value.errno == errno.EADDRINUSE
        assert path.exists()
    assert not path.exists()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stale.bind(os.fspath(path))
    stale.close()  # the file stays behind, as after kill -9
    with FilterGraph(clock=None) as a:
        _source, sink = producer(a, path, 1, wait_for_connection=False)
        a.Run()
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        assert sink.dropped == 1
    assert not path.exists()


def test_socket_path_is_required(tmp_path: Path) -> None:
    """Without socket-path, both filters refuse to leave Stopped (ValueError)."""
    sink = ShmSink()
    with pytest.raises(ValueError, match="set socket-path"):
        sink.Pause()
    source = ShmSource()
    with pytest.raises(ValueError, match="set socket-path"):
        source.Pause()
    assert (sink.state, source.state) == (STOPPED, STOPPED)


def test_listener_on_a_path_round_trip(tmp_path: Path) -> None:
    """ipc.Listener and connect work on a socket file: the file exists while listening and
    is removed by close, unless another file replaced it."""
    path = tmp_path / "ipc"
    with Listener(path) as listener:
        assert repr(listener) == f"<Listener {path}>"
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        receiver = SampleReceiver(connect(path, timeout=5))
        sender = SampleSender(listener.accept(timeout=5))
        with sender, receiver:
            sender.close()
            assert receiver.receive(timeout=5) is None
    assert not path.exists()
    listener = Listener(path)
    os.unlink(path)
    path.write_bytes(b"new")
    listener.close()
    assert path.read_bytes() == b"new"
    with pytest.raises(ValueError, match=r"1\.\.107 bytes"):
        Listener(tmp_path / ("x" * 120))


# -- properties and types -------------------------------------------------------------------------


def test_registered_names_and_properties(tmp_path: Path) -> None:
    """make_filter builds both by name with launch property names; inspect sees the
    properties with their defaults."""
    sink = make_filter(
        "shmsink", **{"socket-path": str(tmp_path / "s"), "wait-for-connection": False}
    )
    assert isinstance(sink, ShmSink)
    assert sink.props.socket_path == tmp_path / "s"
    assert sink.props.wait_for_connection is False
    source = make_filter("shmsrc", **{"socket-path": str(tmp_path / "s"), "caps": CAPS})
    assert isinstance(source, ShmSource)
    assert [(p.name, p.default) for p in properties_of(ShmSink)] == [
        ("socket-path", None),
        ("wait-for-connection", True),
    ]
    assert [(p.name, p.default) for p in properties_of(ShmSource)] == [
        ("socket-path", None),
        ("timeout", 10.0),
        ("caps", None),
    ]


def test_shmsrc_offers_the_caps_type_and_takes_any_full_type() -> None:
    """With no socket-path to ask, shmsrc offers the type its caps fix; without caps it
    offers nothing and accepts any fully specified type; partial caps restrict what it
    accepts."""
    fixed = ShmSource(caps=CAPS)
    assert fixed.output.EnumMediaTypes() == [I420]
    assert fixed.output.QueryAccept(I420)
    assert not fixed.output.QueryAccept(video_type("I420", 32, 24))
    free = ShmSource()
    assert free.output.EnumMediaTypes() == []
    assert free.output.QueryAccept(video_type("NV12", 32, 24))
    assert not free.output.QueryAccept(attrs.evolve(I420, subtype=GUID_NULL))
    narrowed = ShmSource(caps="video/x-raw,format=I420")
    assert narrowed.output.EnumMediaTypes() == []
    assert narrowed.output.QueryAccept(video_type("I420", 32, 24))
    assert not narrowed.output.QueryAccept(video_type("NV12", 32, 24))
    with pytest.raises(CapsError):
        ShmSource(caps="video/x-raw,colour=blue")


# -- two processes -----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys, zlib
    from dshow_alloc.caps import caps_of
    from dshow_alloc.elements import CollectingRenderer
    from dshow_alloc.graph import FilterGraph
    from dshow_alloc.registry import make_filter

    class Checker(CollectingRenderer):
        def __init__(self):
            super().__init__(name="checker")
            self.kinds = []
        def DoRenderSample(self, sample):
            super().DoRenderSample(sample)
            self.kinds.append(type(sample.PeekMemory(0)).__name__)

    path, caps = sys.argv[1], sys.argv[2]
    props = {"socket-path": path, "timeout": 20.0, **({"caps": caps} if caps else {})}
    with FilterGraph(clock=None) as graph:
        src = make_filter("shmsrc", **props)  # without caps: asks the producer its type
        checker = Checker()
        graph.connect_chain(src, checker)
        graph.Run()
        completion = graph.WaitForCompletion(30_000)
        print(json.dumps({
            "completion": completion,
            "crc": [zlib.crc32(data) for data in checker.data],
            "times": checker.times,
            "kinds": checker.kinds,
            "read_only": checker.read_only,
            "caps": caps_of(src.output.ConnectionMediaType()),
        }))
    """
)


@pytest.mark.parametrize("caps", [CAPS, ""], ids=["caps", "no-caps"])
def test_frames_cross_to_another_process(tmp_path: Path, caps: str) -> None:
    """A child process running shmsrc (with caps, or learning the type from this process)
    gets every frame, with its bytes and times, mapped from this process's memory; every
    sample comes home."""
    path = tmp_path / "video"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, os.fspath(path), caps],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        with FilterGraph(clock=None) as a:
            source, sink = producer(a, path, 8)
            a.Run()
            assert a.WaitForCompletion(30_000) == EC_COMPLETE
            assert (sink.sent, sink.copies, sink.reclaimed, sink.readers) == (8, 0, 0, 1)
            assert source.output.allocator.GetFreeCount() == 3
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    report = json.loads(out)
    assert report["completion"] == EC_COMPLETE
    assert report["crc"] == [zlib.crc32(frame) for frame in FRAMES[:8]]
    assert [tuple(t) for t in report["times"]] == times(8)
    assert report["kinds"] == ["ReceivedMemory"] * 8
    assert report["read_only"] == [True] * 8
    assert report["caps"] == CAPS
