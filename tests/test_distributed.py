"""raysink, raysrc and the helpers of `dshow_alloc.distributed`: the credit core and the
filters over in-process channels (no Ray), then end to end on one local Ray instance (started
once for this module; the module runs on one pytest-xdist worker)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dshow_alloc.distributed import (
    DEFAULT_NAMESPACE,
    PEER_TIMEOUT,
    ChannelCore,
    CreditWindow,
    GraphHost,
    LocalChannels,
    Notice,
    RayPipeline,
    RaySink,
    RaySource,
    ReturnSlips,
    StageLinks,
    _ReceivedMemory,
    _with_channels,
    run_many,
)
from dshow_alloc.elements import CollectingRenderer
from dshow_alloc.filters import RendererFilter, SourceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import (
    HRESULT,
    AbortError,
    VfwAlreadyConnectedError,
    VfwInvalidMediaTypeError,
    VfwNoAcceptableTypesError,
    VfwNotConnectedError,
    VfwTimeoutError,
    VfwWrongStateError,
)
from dshow_alloc.launch import LaunchError, parse_launch
from dshow_alloc.meta import TAG_MEMORY_REFERENCE, register_meta
from dshow_alloc.plugins.effects import Invert
from dshow_alloc.plugins.y4m import parse_y4m_header
from dshow_alloc.registry import filter_class, make_filter, properties_of
from dshow_alloc.report import run_graph
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import EC_COMPLETE, EC_ERRORABORT
from dshow_alloc.testing.graph import assert_all_home, wait_until
from dshow_alloc.video import VIDEO_META, video_layout, video_type

WIDTH, HEIGHT = 64, 48
FRAME = WIDTH * HEIGHT * 3 // 2  # I420: 4608 bytes
FRAME_TIME = 400_000
I420 = video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
NV12 = video_type("NV12", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
LAYOUT = video_layout(I420)
WAIT_MS = 10_000
CAPS = f"video/x-raw,format=I420,width={WIDTH},height={HEIGHT}"
PLAIN_META = register_meta("test-ray-plain")
"""A meta whose fields are plain data: it crosses."""
REFERENCE_META = register_meta("test-ray-reference", tags=(TAG_MEMORY_REFERENCE,))
"""A meta about the producer's memory itself: it stays behind."""


def frame_bytes(index: int, size: int = FRAME) -> bytes:
    """Frame ``index``'s bytes: a ramp starting at a different value in every frame."""
    start = index * 37 % 256
    return (bytes((start + k) % 256 for k in range(256)) * (size // 256 + 1))[:size]


class FrameSource(SourceFilter):
    """``count`` I420 frames (`frame_bytes`), the one at ``bad`` (if any) raising; frame
    ``index`` is ``sizes.get(index, FRAME)`` bytes long."""

    def __init__(
        self,
        count: int,
        *,
        buffers: int = 3,
        media_type: Any = None,
        sizes: dict[int, int] | None = None,
        bad: int | None = None,
    ) -> None:
        super().__init__(name="frames", media_type=media_type or I420, buffers=buffers)
        self.count, self.index, self.sizes, self.bad = count, 0, sizes or {}, bad

    def FillBuffer(self, sample: Any) -> bool:
        """The next frame, flagged and with metas, or the end."""
        index = self.index
        if index >= self.count:
            return False
        if index == self.bad:
            raise ValueError(f"frame {index} is bad")
        size = self.sizes.get(index, FRAME)
        data = sample.GetPointer()
        data[:size] = frame_bytes(index, size)
        data.release()
        sample.SetActualDataLength(size)
        sample.SetTime(index * FRAME_TIME, (index + 1) * FRAME_TIME)
        sample.SetSyncPoint(index % 2 == 0)
        sample.SetDiscontinuity(index == 1)
        sample.SetPreroll(index == 2)
        sample.SetMediaTime(index * 10, index * 10 + 10)
        sample.AddMeta(VIDEO_META, **LAYOUT.meta_fields())
        sample.AddMeta(PLAIN_META, index=index, tags=("a", "b"))
        sample.AddMeta(REFERENCE_META, index=index)
        self.index += 1
        return True

    def DecideBufferSize(self, allocator: Any, request: Any) -> None:
        """Samples as large as the largest frame."""
        from dshow_alloc.filters import size_allocator

        largest = max([FRAME, *self.sizes.values()])
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=largest)


class Recorder(CollectingRenderer):
    """A CollectingRenderer noting each sample's memory class, flags, media time and metas."""

    def __init__(self) -> None:
        super().__init__(name="recorder")
        self.memory_classes: list[type] = []
        self.flags: list[tuple[bool, bool, bool]] = []
        self.media_times: list[tuple[int, int]] = []
        self.metas: list[list[tuple[str, dict[str, Any]]]] = []

    def DoRenderSample(self, sample: Any) -> None:
        """Record ``sample``."""
        super().DoRenderSample(sample)
        self.memory_classes.append(type(sample.PeekMemory(0)))
        self.flags.append((sample.IsSyncPoint(), sample.IsDiscontinuity(), sample.IsPreroll()))
        self.media_times.append(sample.GetMediaTime())
        self.metas.append([(meta.api, meta.fields) for meta in sample.IterMeta()])


class Holder(RendererFilter):
    """Keeps a reference to every sample it renders until `release_all`."""

    def __init__(self) -> None:
        super().__init__(name="holder", sync=False)
        self.held: list[Any] = []

    def DoRenderSample(self, sample: Any) -> None:
        """Hold ``sample``."""
        sample.AddRef()
        self.held.append(sample)

    def release_all(self) -> None:
        """Let every held sample go."""
        held, self.held = self.held, []
        for sample in held:
            sample.Release()


def producer(
    local: LocalChannels, source: SourceFilter, channel: str = "a", **props: Any
) -> tuple[FilterGraph, RaySink]:
    """Graph A: ``source`` -> raysink on ``channel``."""
    graph = FilterGraph(clock=None)
    sink = RaySink(channel=channel, channels=local, **props)
    graph.connect_chain(source, sink)
    return graph, sink


def consumer(
    local: LocalChannels, renderer: Any, channel: str = "a", *middle: Any, **props: Any
) -> tuple[FilterGraph, RaySource]:
    """Graph B: raysrc on ``channel`` -> ``middle`` filters -> ``renderer``."""
    graph = FilterGraph(clock=None)
    props.setdefault("timeout", 2.0)
    source = RaySource(channel=channel, channels=local, **props)
    graph.connect_chain(source, *middle, renderer)
    return graph, source


def events(graph: FilterGraph) -> list[tuple[int, int]]:
    """The graph's events so far, as (code, param1)."""
    return [(code, param1) for code, param1, _param2 in graph.events()]


# -- the credit core -----------------------------------------------------------------------------


@pytest.fixture
def pool_samples(pools: list[Any]) -> Iterator[list[Any]]:
    """Four samples out of a committed pool of 4 (released again at teardown if held)."""
    from dshow_alloc import AllocatorProperties, MemAllocator

    pool = MemAllocator(name="credits")
    pool.SetProperties(AllocatorProperties(4, 16, 1, 0))
    pool.Commit()
    pools.append(pool)
    samples = [pool.GetBuffer() for _ in range(4)]
    yield samples
    for sample in samples:
        if sample.ref_count:
            sample.Release()


class _SlowRelease:
    """A stand-in sample whose final Release waits for ``go`` (a pool that is slow to take
    it home)."""

    def __init__(self) -> None:
        self.refs = 1
        self.releasing, self.go = threading.Event(), threading.Event()

    def AddRef(self) -> int:
        self.refs += 1
        return self.refs

    def Release(self) -> int:
        self.refs -= 1
        if self.refs == 1:  # the window's own reference going
            self.releasing.set()
            assert self.go.wait(10)
        return self.refs


@pytest.mark.timeout(30)
def test_wait_empty_returns_only_once_given_back_samples_are_released_and_counted() -> None:
    """A give_back on another thread: wait_empty (the raysink's wait before EC_COMPLETE)
    does not return while the sample is still being released, and when it does, the
    return is counted (a race once let EC_COMPLETE come with ``returned`` one short)."""
    window = CreditWindow()
    window.grant(1)
    token = window.reserve(lambda: None)
    sample = _SlowRelease()
    window.hold(token, sample)
    window.sent_with(token, "keep")
    giver = threading.Thread(target=window.give_back, args=([token],), name="giver")
    giver.start()
    assert sample.releasing.wait(10)
    assert window.wait_empty(0.2, lambda: False) is False  # still releasing
    sample.go.set()
    assert window.wait_empty(10, lambda: False) is True
    assert (window.returned, window.in_flight, sample.refs) == (1, 0, 1)
    giver.join(10)


def test_window_gives_at_most_limit_tokens_and_none_without_a_consumer(
    pool_samples: list[Any],
) -> None:
    """No token is given before a grant; after grant(2) exactly two, the third waits until a
    give_back, and a held sample keeps a reference of the window's until its token is back."""
    window = CreditWindow()
    stop = threading.Event()

    def interrupted() -> None:
        if stop.is_set():
            raise VfwWrongStateError()

    stop.set()
    with pytest.raises(VfwWrongStateError):
        window.reserve(interrupted)
    stop.clear()
    window.grant(2)
    first, second = window.reserve(interrupted), window.reserve(interrupted)
    window.hold(first, pool_samples[0])
    window.hold(second, pool_samples[1])
    window.sent_with(first, "keep-1")
    window.sent_with(second, "keep-2")
    assert (window.in_flight, window.sent, pool_samples[0].ref_count) == (2, 2, 2)
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(window.reserve(interrupted, poll=0.01)))
    waiter.start()
    time.sleep(0.05)
    assert got == [] and window.waits == 1
    assert window.give_back([first, 99]) == 1
    waiter.join(5)
    assert got == [3]
    assert pool_samples[0].ref_count == 1 and window.returned == 1
    window.cancel(3)
    assert window.reclaim() == 1
    assert (pool_samples[1].ref_count, window.reclaimed, window.in_flight) == (1, 1, 0)


def test_window_failure_is_raised_and_takes_every_sample_back(pool_samples: list[Any]) -> None:
    """After fail(), reserve raises that error and every held sample is released; reset
    clears it."""
    window = CreditWindow()
    window.grant(4)
    for sample in pool_samples[:3]:
        window.hold(window.reserve(lambda: None), sample)
    error = VfwNotConnectedError(message="gone")
    window.fail(error)
    assert [s.ref_count for s in pool_samples[:3]] == [1, 1, 1]
    with pytest.raises(VfwNotConnectedError) as raised:
        window.reserve(lambda: None)
    assert raised.value is error
    assert window.in_flight == 0 and window.wait_empty(0.01, lambda: False)
    window.reset()
    assert window.failure is None and window.limit is None and window.sent == 0


def test_return_slips_give_back_only_received_tokens_in_release_order() -> None:
    """Released tokens come out of take() in release order, once; unknown ones are ignored."""
    slips = ReturnSlips()
    for token in (5, 6, 7):
        slips.received(token)
    slips.released(7)
    slips.released(5)
    slips.released(42)
    assert slips.outstanding == 1
    assert slips.take(0) == [7, 5]
    assert slips.take(0) == []
    slips.close()
    assert slips.closed and slips.take(10) == []


def _clock() -> tuple[list[float], Any]:
    now = [100.0]
    return now, lambda: now[0]


def test_channel_core_refuses_a_second_producer_and_consumer_changing_nothing() -> None:
    """A second producer or a second consumer gets VFW_E_ALREADY_CONNECTED; a consumer with
    another type VFW_E_INVALIDMEDIATYPE; without a producer VFW_E_NOT_CONNECTED."""
    core = ChannelCore("c")
    with pytest.raises(VfwNotConnectedError):
        core.attach("r1", 4, None)
    core.claim("p1", I420)
    with pytest.raises(VfwAlreadyConnectedError) as raised:
        core.claim("p2", NV12)
    assert raised.value.hresult == HRESULT.VFW_E_ALREADY_CONNECTED
    assert (core.producer, core.get_media_type()) == ("p1", I420)
    with pytest.raises(VfwInvalidMediaTypeError) as mismatch:
        core.attach("r1", 4, NV12)
    assert "format=I420" in mismatch.value.message and "format=NV12" in mismatch.value.message
    assert core.consumer is None and core.epoch == 0
    assert core.attach("r1", 4, I420) == 1
    with pytest.raises(VfwAlreadyConnectedError):
        core.attach("r2", 4, I420)
    assert (core.consumer, core.credits) == ("r1", 4)


def test_channel_core_routes_samples_and_credits_and_drops_stale_sends() -> None:
    """Samples reach the consumer in push order (an early push waits), credits the producer;
    samples sent to a consumer that left come back as returned tokens, and end of stream
    waits for the next consumer."""
    core = ChannelCore("c")
    core.claim("p", I420)
    core.begin("p")
    assert core.poll("p", -1) == Notice((), 0, None, ())
    core.attach("r", 2, None)
    assert core.poll("p", 0) == Notice((), 1, 2, ())
    assert core.poll("p", 1) is None
    core.push("p", 1, 1, ("samples", "B", (2,)))
    assert core.pull("r") == []  # push 1 waits for push 0
    core.push("p", 1, 0, ("samples", "A", (1,)))
    assert core.pull("r") == [("samples", "A", (1,)), ("samples", "B", (2,))]
    core.give_back("r", [2, 1])
    core.push("p", 1, 2, ("samples", "C", (3,)))
    core.push("p", 1, 3, ("end", None, ()))
    core.detach("r", "stopped")
    core.push("p", 1, 4, ("samples", "D", (4,)))
    assert core.poll("p", 1) == Notice((2, 1, 3, 4), 1, None, ("stopped",))
    core.attach("r2", 3, None)
    assert core.pull("r2") == [("end", None, ())]
    with pytest.raises(VfwNotConnectedError):
        core.pull("r")


def test_a_silent_consumer_is_counted_gone_after_the_peer_timeout() -> None:
    """With no word for PEER_TIMEOUT seconds the consumer is dropped: the producer's poll
    says why, and the consumer's next call gets VFW_E_NOT_CONNECTED."""
    now, clock = _clock()
    core = ChannelCore("c", clock=clock)
    core.claim("p", I420)
    core.attach("r", 4, None)
    core.poll("p", 0)
    now[0] += PEER_TIMEOUT
    core.give_back("r", [])
    assert core.poll("p", 1) is None
    now[0] += PEER_TIMEOUT + 0.1
    notice = core.poll("p", 1)
    assert notice is not None and notice.credits is None
    assert notice.left == ("the raysrc said nothing for 3 s (its process died?)",)
    with pytest.raises(VfwNotConnectedError) as raised:
        core.give_back("r", [])
    assert "silent for more than 3 s" in raised.value.message


# -- the filters, in one process -----------------------------------------------------------------


def run_both(a: FilterGraph, b: FilterGraph) -> tuple[int, int]:
    """Run both graphs; each one's completion."""
    b.Run()
    a.Run()
    return a.WaitForCompletion(WAIT_MS), b.WaitForCompletion(WAIT_MS)


def test_samples_cross_with_bytes_times_flags_and_metas_read_only() -> None:
    """Every frame reaches the consumer with its bytes, times, media times, flags, VIDEO_META
    and plain metas (not the memory-reference one), read-only, in the producer's type."""
    local = LocalChannels()
    a, sink = producer(local, FrameSource(4))
    recorder = Recorder()
    b, source = consumer(local, recorder)
    with a, b:
        assert source.output.ConnectionMediaType() == I420
        assert run_both(a, b) == (EC_COMPLETE, EC_COMPLETE)
        assert sink.sent == sink.returned == 4 and sink.reclaimed == 0
    assert recorder.data == [frame_bytes(i) for i in range(4)]
    assert recorder.times == [(i * FRAME_TIME, (i + 1) * FRAME_TIME) for i in range(4)]
    assert recorder.media_times == [(i * 10, i * 10 + 10) for i in range(4)]
    assert recorder.flags == [
        (True, False, False),
        (False, True, False),
        (True, False, True),
        (False, False, False),
    ]
    assert recorder.metas == [
        [("video-meta", LAYOUT.meta_fields()), ("test-ray-plain", {"index": i, "tags": ("a", "b")})]
        for i in range(4)
    ]
    assert recorder.read_only == [True] * 4
    assert recorder.memory_classes == [_ReceivedMemory] * 4
    assert local.samples == 4
    assert_all_home(a)


def test_the_consumers_window_bounds_what_the_producer_has_in_flight() -> None:
    """With a window of 3 and a consumer holding every sample, the producer sends exactly 3
    and waits for a credit; each release lets exactly one more go, and all 8 arrive."""
    local = LocalChannels()
    a, sink = producer(local, FrameSource(8, buffers=5), buffers=5)
    holder = Holder()
    b, source = consumer(local, holder, buffers=3)
    with a, b:
        assert source.output.allocator.GetProperties().buffers == 3
        b.Run()
        a.Run()
        wait_until(lambda: len(holder.held) == 3 and sink.window.waits >= 1)
        time.sleep(0.05)
        assert (sink.sent, sink.window.in_flight, len(holder.held)) == (3, 3, 3)
        holder.held.pop(0).Release()
        wait_until(lambda: len(holder.held) == 3 and sink.sent == 4)
        assert sink.window.in_flight == 3
        while sink.sent < 8 or holder.held:
            holder.release_all()
            time.sleep(0.001)
        assert a.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert b.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        assert (sink.sent, sink.returned, holder.rendered) == (8, 8, 8)
    assert_all_home(a)


def test_an_in_place_filter_after_raysrc_copies_the_read_only_samples() -> None:
    """invert after raysrc writes into its own samples (8 copies), not the received ones."""
    local = LocalChannels()
    a, _sink = producer(local, FrameSource(8))
    recorder = Recorder()
    invert = Invert()
    b, _source = consumer(local, recorder, "a", invert)
    with a, b:
        assert run_both(a, b) == (EC_COMPLETE, EC_COMPLETE)
    assert invert.copies == 8
    assert recorder.data == [bytes(255 - x for x in frame_bytes(i)) for i in range(8)]


def test_a_consumer_refusing_the_type_takes_nothing_and_the_next_gets_every_frame() -> None:
    """A raysrc whose downstream refuses the producer's NV12 fails to connect (naming the
    type) before anything is sent; a consumer built next receives all 5 frames."""
    local = LocalChannels()
    a, sink = producer(local, FrameSource(5, media_type=NV12))
    refused = FilterGraph(clock=None)
    source = RaySource(channel="a", channels=local, timeout=1.0)
    y4m = make_filter("y4msink", location="/nonexistent/x.y4m")
    refused.AddFilter(source, "raysrc")
    refused.AddFilter(y4m, "y4msink")
    with pytest.raises(VfwNoAcceptableTypesError) as raised:
        refused.ConnectDirect(source.output, y4m.FindPin("In"))
    assert raised.value.hresult == HRESULT.VFW_E_NO_ACCEPTABLE_TYPES
    assert source.output.EnumMediaTypes() == [NV12]
    assert not source.output.is_connected() and local.samples == 0
    recorder = Recorder()
    b, _source = consumer(local, recorder)
    with a, b:
        assert run_both(a, b) == (EC_COMPLETE, EC_COMPLETE)
    assert recorder.data == [frame_bytes(i) for i in range(5)]
    assert local.samples == 5 and sink.sent == 5


def test_a_raysrc_naming_no_channel_fails_to_connect_naming_it() -> None:
    """A raysrc whose channel nobody made fails with VFW_E_TIMEOUT naming the channel and its
    namespace, after its timeout; the next look does not wait again."""
    local = LocalChannels()
    graph = FilterGraph(clock=None)
    source = RaySource(channel="nobody", channels=local, timeout=0.2)
    renderer = CollectingRenderer()
    graph.AddFilter(source, "raysrc")
    graph.AddFilter(renderer, "r")
    with pytest.raises(VfwTimeoutError) as raised:
        source.producer_media_type()
    assert raised.value.message == (
        f"no channel 'nobody' in Ray namespace {DEFAULT_NAMESPACE!r} after 0.2 s: no raysink "
        "made it (build the producing graph first, or check the name and namespace)"
    )
    began = time.monotonic()
    with pytest.raises(VfwTimeoutError):
        source.producer_media_type()
    assert time.monotonic() - began < 0.15
    assert not source.output.is_connected()


def test_a_second_raysink_on_a_channel_is_refused() -> None:
    """A second raysink claiming a channel fails to connect with VFW_E_ALREADY_CONNECTED."""
    local = LocalChannels()
    a, _sink = producer(local, FrameSource(1))
    with pytest.raises(VfwAlreadyConnectedError):
        producer(local, FrameSource(1))
    core = local.core("a")
    assert core is not None and core.producer == _sink._id
    a.Disconnect(_sink.input)
    assert core.producer is None


def test_a_sample_too_large_for_the_store_is_refused_after_every_earlier_one() -> None:
    """Frames of 100 bytes cross; the 4608-byte frame 3 is refused with E_OUTOFMEMORY before
    any of it is sent; the consumer gets the 3 earlier frames, then EC_ERRORABORT (E_ABORT)."""
    local = LocalChannels(capacity=1000)
    a, sink = producer(local, FrameSource(6, sizes={0: 100, 1: 100, 2: 100}))
    recorder = Recorder()
    b, _source = consumer(local, recorder)
    with a, b:
        assert run_both(a, b) == (EC_ERRORABORT, EC_ERRORABORT)
        produced = a.events()
        assert produced[0][:2] == (EC_ERRORABORT, HRESULT.E_OUTOFMEMORY)
        assert "a sample of 4,608 bytes cannot cross channel 'a'" in str(produced[0][2])
        consumed = b.events()
        assert consumed[0][:2] == (EC_ERRORABORT, HRESULT.E_ABORT)
        assert "the raysink failed" in str(consumed[0][2])
    assert recorder.data == [frame_bytes(i, 100) for i in range(3)]
    assert local.samples == 3 and sink.sent == 3
    assert_all_home(a)


def test_an_error_upstream_of_raysink_aborts_the_consumer() -> None:
    """A source failing at frame 4 ends the producer with EC_ERRORABORT (E_FAIL) and the
    consumer, after the 4 frames before it, with EC_ERRORABORT (E_ABORT)."""
    local = LocalChannels()
    a, _sink = producer(local, FrameSource(9, bad=4))
    recorder = Recorder()
    b, _source = consumer(local, recorder)
    with a, b:
        assert run_both(a, b) == (EC_ERRORABORT, EC_ERRORABORT)
        assert events(a)[0] == (EC_ERRORABORT, HRESULT.E_FAIL)
        code, hresult, error = b.events()[0]
        assert (code, hresult) == (EC_ERRORABORT, HRESULT.E_ABORT)
        assert isinstance(error, AbortError)
        assert "the producing graph ended with EC_ERRORABORT upstream of" in error.message
    assert recorder.data == [frame_bytes(i) for i in range(4)]
    assert_all_home(a)


def test_a_consumer_stopping_mid_stream_aborts_the_producer_and_frees_its_samples() -> None:
    """When the consumer's graph stops mid-stream the producer's stream ends with
    EC_ERRORABORT (VFW_E_NOT_CONNECTED), taking back every sample it had in flight."""
    local = LocalChannels()
    a, sink = producer(local, FrameSource(10_000, buffers=6), buffers=6)
    holder = Holder()
    b, _source = consumer(local, holder, buffers=4)
    with a:
        b.Run()
        a.Run()
        wait_until(lambda: len(holder.held) == 4)
        holder.release_all()
        b.Stop()
        assert a.WaitForCompletion(WAIT_MS) == EC_ERRORABORT
        code, hresult, error = a.events()[0]
        assert (code, hresult) == (EC_ERRORABORT, HRESULT.VFW_E_NOT_CONNECTED)
        assert "left mid-stream: the consuming graph stopped before the end" in error.message
        assert sink.window.in_flight == 0
    assert_all_home(a)


def test_a_format_change_crosses_with_its_sample() -> None:
    """A sample carrying a new type (a format change) changes raysrc's output type before it
    is delivered, and the channel announces the new type to later consumers."""
    local = LocalChannels()
    slow = video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=2 * FRAME_TIME)

    class Changing(FrameSource):
        def FillBuffer(self, sample: Any) -> bool:
            if self.index == 2:
                self.output.request_media_type(slow)
            return super().FillBuffer(sample)

    a, _sink = producer(local, Changing(4))
    recorder = Recorder()
    b, source = consumer(local, recorder)
    with a, b:
        assert run_both(a, b) == (EC_COMPLETE, EC_COMPLETE)
        assert source.output.ConnectionMediaType() == slow
        core = local.core("a")
        assert core is not None and core.get_media_type() == slow
    assert len(recorder.data) == 4


def test_registered_names_and_properties_need_no_ray() -> None:
    """raysink and raysrc are registered, build without Ray, and declare their properties."""
    assert filter_class("raysink") is RaySink and filter_class("raysrc") is RaySource
    assert [p.name for p in properties_of(RaySink)] == ["channel", "namespace", "buffers"]
    assert [p.name for p in properties_of(RaySource)] == [
        "channel",
        "namespace",
        "timeout",
        "buffers",
    ]
    sink = make_filter("raysink", channel="x")
    assert sink.input.GetAllocatorRequirements().buffers == 10
    with pytest.raises(ValueError, match="set channel=NAME"):
        make_filter("raysrc").Pause()


def test_pipeline_lines_get_their_channels() -> None:
    """A stage's raysink and raysrc without channel= get the pipeline's; explicit ones stay;
    one with no neighbour to link to is a ValueError."""
    links = StageLinks("in-0", "out-1")
    assert _with_channels("raysrc ! invert ! raysink", links, 1) == (
        "raysrc channel=in-0 ! invert ! raysink channel=out-1"
    )
    assert _with_channels("raysrc buffers=4 channel=mine ! raysink", links, 1) == (
        "raysrc buffers=4 channel=mine ! raysink channel=out-1"
    )
    with pytest.raises(ValueError, match="stage 0: raysrc at column 0 has no channel="):
        _with_channels("raysrc ! nullsink", StageLinks(None, "x"), 0)


def test_graph_host_runs_reports_and_answers_meanwhile() -> None:
    """GraphHost builds a launch line, runs it in the background, answers state and
    delivered counts, returns the RunReport, and stops a long run with EC_USERABORT."""
    host = GraphHost(f"videotestsrc num-buffers=5 ! {CAPS} ! nullsink")
    assert host.state() == "unbuilt" and host.wait() is None
    assert host.build().startswith("videotestsrc")
    report = host.run(timeout=10)
    assert report is not None and report.succeeded and report.sources == {"videotestsrc0": 5}
    assert host.delivered() == 5 and host.state() == "State_Stopped" and host.outstanding() == 0
    endless = GraphHost(f"videotestsrc ! {CAPS} ! nullsink sync=true")
    endless.start()
    assert endless.state() == "State_Running"
    stopped = endless.stop()
    assert stopped is not None and stopped.completion == "EC_USERABORT"
    with pytest.raises(TypeError):
        GraphHost(42)  # type: ignore[arg-type]


# -- on Ray --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """One local Ray for the module: the machine's 2 CPUs, no dashboard, a small store."""
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=256 * 1024 * 1024,
    )
    yield ray
    ray.shutdown()


def _expected(pattern: str, count: int) -> list[bytes]:
    """The I420 64x48 frames ``videotestsrc pattern=PATTERN num-buffers=COUNT`` makes here."""
    recorder = CollectingRenderer()
    graph = FilterGraph(clock=None)
    source = make_filter("videotestsrc", pattern=pattern, num_buffers=count)
    graph.AddFilter(source, "source")
    graph.AddFilter(recorder, "recorder")
    graph.ConnectDirect(source.FindPin("Output"), recorder.input, I420)
    assert run_graph(graph).succeeded
    return recorder.data


SOURCE = f"videotestsrc pattern=smpte num-buffers=12 ! {CAPS},framerate=25/1"


@pytest.mark.timeout(60)
def test_frames_cross_between_ray_workers_without_a_copy(ray_cluster: Any) -> None:
    """Frames from a GraphActor's raysink reach a raysrc here intact, read-only, as the
    object store's pages (no copy into a pool of ours)."""
    from dshow_alloc.distributed import GraphActor

    actor = GraphActor.remote(f"{SOURCE} ! raysink channel=t-cross")
    try:
        ray_cluster.get(actor.build.remote())
        recorder = Recorder()
        graph = FilterGraph(clock=None)
        source = RaySource(channel="t-cross", timeout=10.0)
        graph.connect_chain(source, recorder)
        with graph:
            graph.Run()
            ray_cluster.get(actor.start.remote())
            assert graph.WaitForCompletion(WAIT_MS) == EC_COMPLETE
        report = ray_cluster.get(actor.wait.remote(30))
        assert report.succeeded and report.renderers == {"raysink0": 12}
        assert recorder.data == _expected("smpte", 12)
        assert recorder.read_only == [True] * 12
        assert recorder.memory_classes == [_ReceivedMemory] * 12
        assert ray_cluster.get(actor.outstanding.remote()) == 0
    finally:
        ray_cluster.kill(actor)


def _y4m_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    offset = data.index(b"\n") + 1
    header = parse_y4m_header(data[:offset])
    assert (header.width, header.height) == (WIDTH, HEIGHT)
    frames = []
    while offset < len(data):
        assert data[offset : offset + 6] == b"FRAME\n"
        offset += 6
        frames.append(data[offset : offset + FRAME])
        offset += FRAME
    return frames


@pytest.mark.timeout(90)
def test_a_three_stage_pipeline_inverts_a_stream_across_actors(
    ray_cluster: Any, tmp_path: Path
) -> None:
    """source ! raysink, raysrc ! invert ! raysink, raysrc ! y4msink: every stage completes
    and the file holds every source frame inverted (invert copied each read-only frame)."""
    out = tmp_path / "out.y4m"
    with RayPipeline(
        [f"{SOURCE} ! raysink", "raysrc ! invert ! raysink", f"raysrc ! y4msink location={out}"]
    ) as pipeline:
        reports = pipeline.run(timeout=60)
        outstanding = [ray_cluster.get(a.outstanding.remote()) for a in pipeline.actors]
    assert [r.completion for r in reports if r is not None] == ["EC_COMPLETE"] * 3
    assert reports[1] is not None and reports[1].copies == {"invert0": 12}
    assert outstanding == [0, 0, 0]
    assert _y4m_frames(out) == [bytes(255 - x for x in f) for f in _expected("smpte", 12)]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("killed", [0, 1, 2], ids=["producer", "middle", "consumer"])
def test_killing_any_stage_mid_stream_aborts_the_others(ray_cluster: Any, killed: int) -> None:
    """Killing one actor of a running 3-stage pipeline ends each other stage with
    EC_ERRORABORT within seconds, with every sample home and no worker hung."""
    with RayPipeline(
        [
            f"videotestsrc ! {CAPS} ! raysink",
            "raysrc ! raysink",
            "raysrc ! nullsink",
        ]
    ) as pipeline:
        pipeline.start(timeout=60)
        last = pipeline.actors[2]
        wait_until(lambda: ray_cluster.get(last.delivered.remote()) >= 5, timeout=30)
        ray_cluster.kill(pipeline.actors[killed])
        began = time.monotonic()
        survivors = [a for index, a in enumerate(pipeline.actors) if index != killed]
        reports = [ray_cluster.get(a.wait.remote(20)) for a in survivors]
        took = time.monotonic() - began
        outstanding = [ray_cluster.get(a.outstanding.remote()) for a in survivors]
    assert [r.completion for r in reports] == ["EC_ERRORABORT", "EC_ERRORABORT"]
    assert took < 15
    assert outstanding == [0, 0]


@pytest.mark.timeout(90)
def test_run_many_runs_one_line_over_every_input(ray_cluster: Any, tmp_path: Path) -> None:
    """run_many writes one inverted file per input, reports each in order with a progress
    bar, and gives a missing input its error without stopping the others."""
    inputs = []
    for index in range(3):
        path = tmp_path / f"in{index}.y4m"
        line = f"videotestsrc pattern=ball num-buffers={index + 2} ! {CAPS},framerate=25/1"
        report = run_graph(parse_launch(f"{line} ! y4msink location={path}").graph)
        assert report.succeeded
        inputs.append(path)
    missing = tmp_path / "missing.y4m"
    bar = io.StringIO()
    results = run_many(
        f"y4msrc location={{input}} ! invert ! y4msink location={tmp_path}/{{stem}}.out.y4m",
        [*inputs, missing],
        num_cpus=0.5,
        file=bar,
    )
    assert [r.input for r in results] == [str(p) for p in [*inputs, missing]]
    assert [r.succeeded for r in results] == [True, True, True, False]
    assert [r.report.renderers for r in results[:3] if r.report] == [
        {"y4msink0": 2},
        {"y4msink0": 3},
        {"y4msink0": 4},
    ]
    assert results[3].report is None and "missing.y4m" in (results[3].error or "")
    for path in inputs:
        original = _y4m_frames(path)
        inverted = _y4m_frames(tmp_path / f"{path.stem}.out.y4m")
        assert inverted == [bytes(255 - x for x in f) for f in original]
    assert "4/4" in bar.getvalue()
    with pytest.raises(KeyError):
        run_many("y4msrc location={nope} ! nullsink", inputs, progress=False)


@pytest.mark.timeout(60)
def test_on_ray_an_unknown_channel_and_the_store_size_are_clear(ray_cluster: Any) -> None:
    """On Ray, a raysrc naming no channel fails to build naming it, and a raysink knows the
    size of its node's object store (its limit for one sample)."""
    with pytest.raises(LaunchError) as raised:
        parse_launch("raysrc channel=t-nobody timeout=0.3 ! nullsink")
    assert f"no channel 't-nobody' in Ray namespace {DEFAULT_NAMESPACE!r} after 0.3 s" in str(
        raised.value
    )
    pipeline = parse_launch(f"videotestsrc num-buffers=1 ! {CAPS} ! raysink channel=t-size")
    sink = pipeline.filters["raysink0"]
    assert sink._link.capacity() == 256 * 1024 * 1024
    pipeline.graph.Disconnect(sink.input)
    with pytest.raises(VfwTimeoutError):
        RaySource(channel="t-size", timeout=0.3).producer_media_type()


def test_received_sample_memory_is_read_only_and_gives_its_credit_back() -> None:
    """A received block cannot be mapped for writing; its final release (not a sub-memory's)
    returns the credit."""
    from dshow_alloc.distributed import _received_sample

    slips = ReturnSlips()
    header = (7, 0, 0, 4, 0, 0, 0, None, None, None)
    sample = _received_sample(header, b"abcd", slips)
    assert isinstance(sample, MediaSample) and sample.IsReadOnly()
    with pytest.raises(TypeError):
        sample.GetPointer()[0] = 0
    child = sample.PeekMemory(0).Share(1, 2)
    sample.Release()
    assert slips.take(0) == []
    child.Release()
    assert slips.take(0) == [7]


@pytest.mark.timeout(120)
def test_benchmark_pairs_move_every_frame(ray_cluster: Any) -> None:
    """The benchmark's two actor pairs (raysink/raysrc, shmsink/shmsrc) complete rounds of
    10 1080p frames and give a positive rate (structure only, no timing)."""
    from dshow_alloc.bench.ray import bench_pair

    assert bench_pair("ray", 10, 1) > 0
    assert bench_pair("shm", 10, 1) > 0
    with pytest.raises(ValueError, match="transport is 'ray' or 'shm'"):
        bench_pair("tcp", 10, 1)
