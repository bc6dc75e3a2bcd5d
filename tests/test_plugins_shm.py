"""shmsink and shmsrc: frames cross between two graphs (and two processes) without a copy."""

from __future__ import annotations

import errno
import json
import os
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
from dshow_alloc.elements import CollectingRenderer, Tee
from dshow_alloc.filters import SourceFilter, TransInPlaceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import VfwInvalidMediaTypeError, VfwTimeoutError
from dshow_alloc.ipc import Listener, ReceivedMemory, SampleReceiver, SampleSender, connect
from dshow_alloc.mediatype import GUID_NULL
from dshow_alloc.plugins.shm import ShmSink, ShmSource
from dshow_alloc.registry import make_filter, properties_of
from dshow_alloc.structs import EC_COMPLETE, EC_ERRORABORT, FilterState
from dshow_alloc.testing.graph import assert_all_home, wait_until
from dshow_alloc.video import video_type

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 64, 48
FRAME = WIDTH * HEIGHT * 3 // 2  # I420: 4608 bytes
FRAME_TIME = 400_000  # 25 frames/s
I420 = video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
CAPS = "video/x-raw,format=I420,width=64,height=48,framerate=25/1"
WAIT_MS = 10_000
STOPPED = FilterState.State_Stopped


def frame_bytes(index: int) -> bytes:
    """Frame ``index``'s bytes: a ramp that starts at a different value in every frame."""
    start = index * 37 % 256
    return bytes((start + k) % 256 for k in range(256)) * (FRAME // 256)


FRAMES = [frame_bytes(i) for i in range(12)]


class FrameSource(SourceFilter):
    """``count`` I420 64x48 frames (`frame_bytes`), 25 frames/s, from a pool of ``buffers``."""

    def __init__(self, count: int, *, buffers: int = 3, name: str = "frames") -> None:
        super().__init__(name=name, media_type=I420, buffers=buffers)
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
    """A CollectingRenderer that also notes each sample's first memory block's class."""

    def __init__(self, name: str = "recorder") -> None:
        super().__init__(name=name)
        self.memory_classes: list[type] = []

    def DoRenderSample(self, sample: Any) -> None:
        """Record ``sample`` and its memory's class."""
        super().DoRenderSample(sample)
        self.memory_classes.append(type(sample.PeekMemory(0)))


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


def producer(graph: FilterGraph, path: Path, count: int, **props: Any) -> tuple[Any, ShmSink]:
    """Graph A: FrameSource -> shmsink at ``path``."""
    source = FrameSource(count)
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
    """shmsrc offers the type its caps fix; without caps it offers nothing and accepts any
    fully specified type; partial caps restrict what it accepts."""
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
    with FilterGraph(clock=None) as graph:
        src = make_filter("shmsrc", **{"socket-path": path, "caps": caps, "timeout": 20.0})
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
        }))
    """
)


def test_frames_cross_to_another_process(tmp_path: Path) -> None:
    """A child process running shmsrc gets every frame, with its bytes and times, mapped
    from this process's memory; every sample comes home."""
    path = tmp_path / "video"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, os.fspath(path), CAPS],
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
