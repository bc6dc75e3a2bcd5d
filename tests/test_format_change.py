"""Format changes mid-stream (DirectShow's dynamic format change, GStreamer's reconfigure):
`BaseOutputPin.change_media_type`, `SourceStream.request_media_type`, transforms following
or keeping their output, properties set while running (`Element.set_properties`), and the
built-in filters that produce (``videotestsrc``, ``avsrc``) or take (``avsink``) a new
resolution mid-stream.

The graph tests change a property from another thread at a sample boundary they control: the
renderer, on the source's streaming thread (no queue between them), starts a thread that sets
the property and joins it, so the change lands before the next sample and the counts of each
size are exact.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dshow_alloc import (
    AM_SAMPLE_TYPECHANGED,
    EC_COMPLETE,
    EC_ERRORABORT,
    HRESULT,
    AllocatorProperties,
    BaseFilter,
    BaseInputPin,
    BaseOutputPin,
    BasePin,
    FilterGraph,
    MediaType,
    MemAllocator,
    QueueFilter,
    RendererFilter,
    TransformFilter,
    TransInPlaceFilter,
    VfwNotConnectedError,
    VfwTypeNotAcceptedError,
    copy_sample,
    size_allocator,
)
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.registry import (
    Element,
    PinTemplate,
    UnknownPropertyError,
    make_filter,
    register_filter,
    unregister_filter,
)
from dshow_alloc.structs import PinDirection
from dshow_alloc.testing.checks import raises_hresult
from dshow_alloc.testing.graph import assert_all_home
from dshow_alloc.video import video_format, video_type

np = pytest.importorskip("numpy")

FRAME = 333_333  # 30 frames/s, videotestsrc's default rate
SMALL = video_type("I420", 32, 24, avg_time_per_frame=FRAME)  # 1152-byte frames
LARGE = video_type("I420", 64, 48, avg_time_per_frame=FRAME)  # 4608-byte frames
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
needs_ffprobe = pytest.mark.skipif(not Path(FFPROBE).exists(), reason="ffprobe is not installed")


def _size(media_type: MediaType) -> tuple[int, int]:
    return media_type.format.width, media_type.format.height


# -- filters driven by hand ------------------------------------------------------------------


class Pusher(BaseFilter):
    """A filter with one output pin whose samples the test takes and delivers itself."""

    def __init__(self, media_type: MediaType, *, buffers: int = 2) -> None:
        super().__init__(name="Pusher")
        self.media_type = media_type
        self.buffers = buffers
        self.out = self.add_pin(BaseOutputPin(self, "Out"))
        self.changes: list[tuple[MediaType, MediaType | None]] = []

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        return self.media_type if position == 0 else None

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        size = pin.ConnectionMediaType().sample_size
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        self.changes.append((pin.ConnectionMediaType(), previous))

    def push(self) -> bool:
        """Deliver one sample from the pin's allocator."""
        sample = self.out.GetDeliveryBuffer()
        try:
            return self.out.Deliver(sample)
        finally:
            sample.Release()


class CountingInputPin(BaseInputPin):
    """An input pin that records each ``QueryAccept`` it is asked."""

    def __init__(self, filter: Any, name: str) -> None:
        super().__init__(filter, name)
        self.asked: list[MediaType] = []

    def QueryAccept(self, media_type: MediaType) -> bool:
        self.asked.append(media_type)
        return super().QueryAccept(media_type)


class RecordingAllocator(MemAllocator):
    """A pool that records how many samples were out at each Decommit of a commit."""

    def __init__(self) -> None:
        super().__init__(name="recording")
        self.out_at_decommit: list[int] = []

    def Decommit(self) -> None:
        if self.committed:
            self.out_at_decommit.append(len(self.outstanding()))
        super().Decommit()


class Sink(BaseFilter):
    """A filter with one input pin: records what it receives, accepts what ``accept`` says,
    offers ``pool`` as its allocator and logs the allocation proposals it is asked for."""

    def __init__(self, *, accept: Callable[[MediaType], bool] | None = None) -> None:
        super().__init__(name="Sink")
        self.inp = self.add_pin(CountingInputPin(self, "In"))
        self.accept = accept
        self.pool = RecordingAllocator()
        self.proposals: list[MediaType | None] = []
        self.received: list[tuple[int, MediaType | None, int, MediaType]] = []
        self.changes: list[tuple[MediaType, MediaType | None]] = []

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        return self.accept is None or self.accept(media_type)

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        return self.pool

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        self.proposals.append(query.media_type)

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        self.changes.append((pin.ConnectionMediaType(), previous))

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        flags = sample.GetProperties().sample_flags & AM_SAMPLE_TYPECHANGED
        self.received.append(
            (sample.GetSize(), sample.GetMediaType(), flags, pin.ConnectionMediaType())
        )
        return True


@contextlib.contextmanager
def paused(pusher: Pusher, sink: Sink) -> Iterator[None]:
    """Both filters paused (downstream first); stopped again at the end."""
    sink.Pause()
    pusher.Pause()
    try:
        yield
    finally:
        pusher.Stop()
        sink.Stop()


def connected(accept: Callable[[MediaType], bool] | None = None) -> tuple[Pusher, Sink]:
    pusher, sink = Pusher(SMALL), Sink(accept=accept)
    pusher.out.Connect(sink.inp, SMALL)
    return pusher, sink


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``call`` on a new thread; its result lands in the returned list."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    return thread, result


# -- change_media_type, by hand ----------------------------------------------------------------


def test_query_accept_is_asked_once_and_the_first_sample_carries_the_type() -> None:
    """A change asks QueryAccept exactly once; the next sample delivered carries the type
    (GetMediaType, AM_SAMPLE_TYPECHANGED) and later ones do not; each pin's type changes in
    order with the samples."""
    pusher, sink = connected()
    smaller = video_type("I420", 16, 12, avg_time_per_frame=FRAME)
    with paused(pusher, sink):
        assert pusher.push() is True
        assert pusher.out.change_media_type(smaller) is True
        assert sink.inp.asked == [smaller]
        assert pusher.out.ConnectionMediaType() == smaller
        assert sink.inp.ConnectionMediaType() == SMALL  # until the sample arrives
        assert pusher.changes == [(smaller, SMALL)]
        assert sink.changes == []
        for _ in range(3):
            assert pusher.push() is True
    assert [(mt, flags, now) for _size, mt, flags, now in sink.received] == [
        (None, 0, SMALL),
        (smaller, AM_SAMPLE_TYPECHANGED, smaller),
        (None, 0, smaller),
        (None, 0, smaller),
    ]
    assert sink.changes == [(smaller, SMALL)]
    assert sink.inp.asked == [smaller]


def test_a_change_that_fits_keeps_the_allocator() -> None:
    """Samples that fit the pool need no renegotiation: same allocator, same properties, no
    new allocation proposal."""
    pusher, sink = connected()
    smaller = video_type("I420", 16, 12, avg_time_per_frame=FRAME)
    with paused(pusher, sink):
        allocator = pusher.out.allocator
        assert pusher.out.change_media_type(smaller) is True
        assert pusher.out.allocator is allocator is sink.pool
        assert allocator.GetProperties() == AllocatorProperties(2, 1152, 1, 0)
        assert pusher.out.renegotiations == 0
        assert allocator.made == 2
        assert pusher.push() is True
    assert sink.proposals == [SMALL]
    assert sink.pool.out_at_decommit == [0]  # only the Stop's


@pytest.mark.timeout(20)
def test_a_larger_type_renegotiates_once_the_old_samples_are_home() -> None:
    """Samples that do not fit: the pin waits for every sample to come home, decommits, asks
    downstream for a new proposal, configures for the new size and commits."""
    pusher, sink = connected()
    with paused(pusher, sink):
        allocator = pusher.out.allocator
        assert allocator.GetProperties() == AllocatorProperties(2, 1152, 1, 0)
        held = pusher.out.GetDeliveryBuffer()  # still downstream, as in a queue
        thread, result = in_thread(lambda: pusher.out.change_media_type(LARGE))
        thread.join(0.2)
        assert thread.is_alive()  # waiting for the held sample
        assert allocator.committed
        assert pusher.out.renegotiations == 0
        assert pusher.out.ConnectionMediaType() == SMALL
        assert sink.inp.asked == [LARGE]
        held.Release()
        thread.join(10)
        assert result == [True]
        assert pusher.out.allocator is allocator
        assert allocator.out_at_decommit == [0]
        assert allocator.GetProperties() == AllocatorProperties(2, 4608, 1, 0)
        assert allocator.committed
        assert pusher.out.renegotiations == 1
        assert sink.proposals == [SMALL, LARGE]
        assert pusher.push() is True
        assert pusher.push() is True
    assert [(size, mt) for size, mt, _flags, _now in sink.received] == [
        (4608, LARGE),
        (4608, None),
    ]
    assert sink.inp.asked == [LARGE]
    assert allocator.made == 4


@pytest.mark.timeout(20)
@pytest.mark.parametrize("way_out", ["flush", "stop"])
def test_a_flush_or_a_stop_ends_the_wait_and_changes_nothing(way_out: str) -> None:
    """A renegotiation waiting for samples gives up on a flush or a stop: False, and the type,
    the allocator and its properties are as before."""
    pusher, sink = connected()
    with paused(pusher, sink):
        allocator = pusher.out.allocator
        held = pusher.out.GetDeliveryBuffer()
        thread, result = in_thread(lambda: pusher.out.change_media_type(LARGE))
        thread.join(0.2)
        assert thread.is_alive()
        if way_out == "flush":
            pusher.out.DeliverBeginFlush()
        else:
            pusher.Stop()
        thread.join(10)
        assert result == [False]
        assert pusher.out.ConnectionMediaType() == SMALL
        assert allocator.GetProperties() == AllocatorProperties(2, 1152, 1, 0)
        assert pusher.out.renegotiations == 0
        assert allocator.committed is (way_out == "flush")
        held.Release()
        if way_out == "flush":
            pusher.out.DeliverEndFlush()
            assert pusher.out.change_media_type(LARGE) is True  # asked again, it goes through
            assert pusher.out.renegotiations == 1
    assert sink.inp.asked == [LARGE] * (2 if way_out == "flush" else 1)


def test_a_refused_type_raises_and_changes_nothing() -> None:
    """QueryAccept refusing: VFW_E_TYPE_NOT_ACCEPTED naming both types, nothing changed, and
    the next sample carries no type."""
    pusher, sink = connected(accept=lambda mt: _size(mt) == (32, 24))
    with paused(pusher, sink):
        with pytest.raises(VfwTypeNotAcceptedError) as caught:
            pusher.out.change_media_type(LARGE)
        assert caught.value.hresult == HRESULT.VFW_E_TYPE_NOT_ACCEPTED
        assert pusher.out.ConnectionMediaType() == SMALL
        assert pusher.out.allocator.GetProperties() == AllocatorProperties(2, 1152, 1, 0)
        assert pusher.push() is True
    message = str(caught.value)
    assert "Sink.In refuses to change from video/x-raw,format=I420,width=32,height=24" in message
    assert "to video/x-raw,format=I420,width=64,height=48" in message
    assert sink.inp.asked == [LARGE]
    assert [mt for _size, mt, _flags, _now in sink.received] == [None]
    assert pusher.changes == []


def test_change_media_type_checks_its_arguments() -> None:
    """The current type is no change (no QueryAccept); an unconnected pin raises
    VFW_E_NOT_CONNECTED and a non-MediaType TypeError."""
    pusher, sink = connected()
    assert pusher.out.change_media_type(SMALL) is True
    assert sink.inp.asked == []
    with pytest.raises(TypeError):
        pusher.out.change_media_type("video/x-raw")  # type: ignore[arg-type]
    lone = Pusher(SMALL)
    with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
        lone.out.change_media_type(LARGE)
    with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
        make_filter("videotestsrc").output.request_media_type(LARGE)
    source = make_filter("videotestsrc")
    source_graph(source, renderer=Recorder())
    with pytest.raises(TypeError):
        source.output.request_media_type(None)
    assert source.output.pending_media_type is None


# -- graphs ------------------------------------------------------------------------------------


class Recorder(RendererFilter):
    """A renderer recording each sample's length, type and TYPECHANGED flag (and data);
    ``on_sample(n)`` runs on the streaming thread after the ``n``-th."""

    def __init__(
        self,
        *,
        accept: Callable[[MediaType], bool] | None = None,
        on_sample: Callable[[int], None] | None = None,
        pool: Any = None,
    ) -> None:
        super().__init__(name="Recorder", sync=False)
        self.remove_pin(self.input)
        self.counting = self.add_pin(CountingInputPin(self, "In"))
        self.input = self.counting
        self.accept = accept
        self.on_sample = on_sample
        self.pool = pool
        self.sizes: list[int] = []
        self.types: list[MediaType | None] = []
        self.flags: list[int] = []
        self.data: list[bytes] = []

    def CheckMediaType(self, media_type: MediaType) -> bool:
        return self.accept is None or self.accept(media_type)

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        return self.pool

    def DoRenderSample(self, sample: Any) -> None:
        length = sample.GetActualDataLength()
        self.sizes.append(length)
        self.types.append(sample.GetMediaType())
        self.flags.append(sample.GetProperties().sample_flags & AM_SAMPLE_TYPECHANGED)
        self.data.append(bytes(sample.GetPointer()[:length]))
        if self.on_sample is not None:
            self.on_sample(len(self.sizes))


def change_after(count: int, target: Any, **values: Any) -> Callable[[int], None]:
    """An ``on_sample`` that, after the ``count``-th sample, sets ``values`` on ``target``
    from another thread (and waits for it)."""

    def on_sample(n: int) -> None:
        if n == count:
            setter = threading.Thread(target=target.set_properties, kwargs=values)
            setter.start()
            setter.join()

    return on_sample


def run(graph: FilterGraph, timeout_ms: int = 20_000) -> tuple[int, list[Any]]:
    """Run to the end; the completion code and every event."""
    graph.Run()
    code = graph.WaitForCompletion(timeout_ms)
    return code, graph.events()


def source_graph(
    source: Any, *middle: Any, renderer: Recorder, media_type: MediaType = SMALL
) -> FilterGraph:
    graph = FilterGraph(clock=None)
    for filter in (source, *middle, renderer):
        graph.AddFilter(filter, filter.name)
    chain = [source, *middle, renderer]
    graph.ConnectDirect(chain[0].output, chain[1].input, media_type)
    for upstream, downstream in itertools.pairwise(chain[1:]):
        graph.ConnectDirect(upstream.output, downstream.input, None)
    return graph


@pytest.mark.timeout(30)
def test_videotestsrc_size_set_while_running_renegotiates_the_pool() -> None:
    """``set_properties(width=64, height=48)`` from another thread after frame 4: frames
    1-4 are 32x24, 5-10 are 64x48, the fifth carries the type, the pool grows from 3 x 1152
    to 3 x 4608 bytes once."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=10)
    renderer = Recorder(pool=RecordingAllocator())
    renderer.on_sample = change_after(4, source, width=64, height=48)
    with source_graph(source, renderer=renderer) as graph:
        allocator = source.output.allocator
        assert allocator is renderer.pool
        assert allocator.GetProperties() == AllocatorProperties(3, 1152, 1, 0)
        code, events = run(graph)
        assert (code, events) == (EC_COMPLETE, [(EC_COMPLETE, 0, 0)])
        assert allocator.GetProperties() == AllocatorProperties(3, 4608, 1, 0)
        assert source.output.renegotiations == 1
        assert source.output.ConnectionMediaType() == LARGE
        assert renderer.input.ConnectionMediaType() == LARGE
    assert renderer.sizes == [1152] * 4 + [4608] * 6
    assert renderer.types == [None] * 4 + [LARGE] + [None] * 5
    assert renderer.flags == [0] * 4 + [AM_SAMPLE_TYPECHANGED] + [0] * 5
    assert renderer.counting.asked == [LARGE]
    assert allocator.out_at_decommit == [0, 0]  # the renegotiation's, then the Stop's
    assert allocator.made == 6
    assert source.props.width == 64 and source.props.height == 48


@pytest.mark.timeout(30)
def test_videotestsrc_smaller_size_keeps_the_pool() -> None:
    """Shrinking from 64x48 to 32x24 reuses the 4608-byte samples: no renegotiation."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=6)
    renderer = Recorder()
    renderer.on_sample = change_after(2, source, width=32, height=24)
    with source_graph(source, renderer=renderer, media_type=LARGE) as graph:
        allocator = source.output.allocator
        assert run(graph)[0] == EC_COMPLETE
        assert source.output.allocator is allocator
        assert allocator.GetProperties() == AllocatorProperties(3, 4608, 1, 0)
        assert source.output.renegotiations == 0
        assert allocator.made == 3
    assert renderer.sizes == [4608] * 2 + [1152] * 4
    assert renderer.types == [None, None, SMALL, None, None, None]


@pytest.mark.timeout(30)
def test_one_dimension_set_keeps_the_other() -> None:
    """Setting only ``height`` keeps the stream's width (a caps filter's 32, not the
    property's 320); two calls before a frame add up."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=4)
    renderer = Recorder()

    def on_sample(n: int) -> None:
        if n == 2:
            source.set_property("height", 12)
            source.set_property("width", 16)

    renderer.on_sample = on_sample
    with source_graph(source, renderer=renderer) as graph:
        assert run(graph)[0] == EC_COMPLETE
    quarter = video_type("I420", 16, 12, avg_time_per_frame=FRAME)
    assert renderer.types == [None, None, quarter, None]
    assert renderer.counting.asked == [quarter]  # the first request was replaced, never asked


@pytest.mark.timeout(30)
def test_a_refused_change_ends_the_stream_with_ec_errorabort() -> None:
    """A renderer that takes 32x24 only: the change ends the stream with EC_ERRORABORT
    (VFW_E_TYPE_NOT_ACCEPTED, naming both types); only the 32x24 frames went downstream."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=10)
    renderer = Recorder(accept=lambda mt: _size(mt) == (32, 24))
    renderer.on_sample = change_after(3, source, width=64)
    with source_graph(source, renderer=renderer) as graph:
        code, events = run(graph)
        assert code == EC_ERRORABORT
        assert [event[:2] for event in events] == [
            (EC_ERRORABORT, HRESULT.VFW_E_TYPE_NOT_ACCEPTED),
            (EC_COMPLETE, 0),
        ]
        error = events[0][2]
        assert isinstance(error, VfwTypeNotAcceptedError)
        assert "from video/x-raw,format=I420,width=32,height=24,framerate=30/1" in str(error)
        assert "to video/x-raw,format=I420,width=64,height=24,framerate=30/1" in str(error)
        assert source.output.ConnectionMediaType() == SMALL
        assert source.output.pending_media_type is None
        assert_all_home(graph)
    assert renderer.sizes == [1152] * 3
    assert renderer.types == [None] * 3


@pytest.mark.timeout(30)
def test_a_change_behind_a_queue_waits_for_the_queued_samples() -> None:
    """With a queue holding samples, the source renegotiates only after every old sample came
    home; the sizes change once, in order, and the first large frame carries the type."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=30)
    queue = QueueFilter(name="queue", max_size=4)
    renderer = Recorder(pool=RecordingAllocator())
    renderer.on_sample = change_after(5, source, width=64, height=48)
    with source_graph(source, queue, renderer=renderer) as graph:
        assert run(graph)[0] == EC_COMPLETE
        assert source.output.renegotiations == 1
    first = renderer.sizes.index(4608)
    assert first >= 5
    assert renderer.sizes == [1152] * first + [4608] * (30 - first)
    assert renderer.types == [None] * first + [LARGE] + [None] * (29 - first)
    assert renderer.pool.out_at_decommit == [0, 0]


class Copy(TransformFilter):
    """A transform whose output type is its input's (the base class's default)."""

    def Transform(self, in_sample: Any, out_sample: Any) -> None:
        copy_sample(in_sample, out_sample)


class TopLeft(TransformFilter):
    """A converter with a fixed output: the top-left 16x12 of any I420 frame (luma only)."""

    OUT = video_type("I420", 16, 12, avg_time_per_frame=FRAME)

    def CheckInputType(self, media_type: MediaType) -> bool:
        return video_format(media_type) == "I420"

    def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
        return media_type_out == self.OUT

    def GetMediaType(self, position: int) -> MediaType | None:
        return self.OUT if position == 0 else None

    def Transform(self, in_sample: Any, out_sample: Any) -> None:
        width = self.input.ConnectionMediaType().format.width
        data, out = in_sample.GetPointer(), out_sample.GetPointer()
        for row in range(12):
            out[row * 16 : row * 16 + 16] = data[row * width : row * width + 16]
        out_sample.SetActualDataLength(self.OUT.sample_size)


@pytest.mark.timeout(30)
def test_a_transform_passes_the_change_on() -> None:
    """A transform whose output is its input's type follows: its output pin changes (and
    renegotiates its own pool) before the first new frame's output sample."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=6)
    copy = Copy(name="copy")
    renderer = Recorder()
    renderer.on_sample = change_after(2, source, width=64, height=48)
    with source_graph(source, copy, renderer=renderer) as graph:
        assert copy.output.allocator.GetProperties().buffer_size == 1152
        assert run(graph)[0] == EC_COMPLETE
        assert copy.input.ConnectionMediaType() == LARGE
        assert copy.output.ConnectionMediaType() == LARGE
        assert copy.output.allocator.GetProperties().buffer_size == 4608
        assert (source.output.renegotiations, copy.output.renegotiations) == (1, 1)
    assert renderer.sizes == [1152] * 2 + [4608] * 4
    assert renderer.types == [None, None, LARGE, None, None, None]
    assert renderer.counting.asked == [LARGE]


@pytest.mark.timeout(30)
def test_a_converter_with_a_fixed_output_absorbs_the_change() -> None:
    """A transform whose CheckTransform keeps its output takes the new input type, and
    downstream sees no change at all."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=6, pattern="smpte")
    crop = TopLeft(name="crop")
    renderer = Recorder()
    renderer.on_sample = change_after(3, source, width=64, height=48)
    with source_graph(source, crop, renderer=renderer) as graph:
        assert run(graph)[0] == EC_COMPLETE
        assert crop.input.ConnectionMediaType() == LARGE
        assert crop.output.ConnectionMediaType() == TopLeft.OUT
        assert crop.output.renegotiations == 0
    assert renderer.sizes == [288] * 6
    assert renderer.types == [None] * 6
    assert renderer.counting.asked == []
    # Rows start with the first bar, white75 (5 columns of 32, 9 of 64), then yellow75: the
    # crop read the 64-wide frames with their own geometry.
    from dshow_alloc.plugins.testsrc import smpte_colors

    white, yellow = smpte_colors()["white75"][0][0], smpte_colors()["yellow75"][0][0]
    small_row = bytes([white]) * 5 + bytes([yellow]) * 4
    large_row = bytes([white]) * 9
    assert [frame[:9] for frame in renderer.data] == [small_row] * 3 + [large_row] * 3


@pytest.mark.timeout(30)
def test_a_transform_that_cannot_follow_refuses() -> None:
    """A transform whose output is not its input's type and whose CheckTransform needs the
    connected input type refuses a new input type: the source's stream ends with
    EC_ERRORABORT."""

    class Strict(TopLeft):
        def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
            return media_type_in == SMALL and media_type_out == self.OUT

    source = make_filter("videotestsrc", filter_name="src", num_buffers=6)
    strict = Strict(name="strict")
    renderer = Recorder()
    renderer.on_sample = change_after(2, source, width=64, height=48)
    with source_graph(source, strict, renderer=renderer) as graph:
        assert strict.input.QueryAccept(LARGE) is False
        code, events = run(graph)
        assert code == EC_ERRORABORT
        assert events[0][:2] == (EC_ERRORABORT, HRESULT.VFW_E_TYPE_NOT_ACCEPTED)
    assert renderer.sizes == [288] * 2


# -- properties set while running -----------------------------------------------------------


@pytest.mark.timeout(30)
def test_pattern_set_while_running_draws_from_the_next_frame() -> None:
    """``pattern`` black -> white after frame 3: frames 1-3 have luma 16, frames 4-6 luma 235,
    chroma 128 throughout."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=6, pattern="black")
    renderer = Recorder()
    renderer.on_sample = change_after(3, source, pattern="white")
    with source_graph(source, renderer=renderer) as graph:
        assert run(graph)[0] == EC_COMPLETE
    luma, chroma = 32 * 24, 2 * 16 * 12
    black = bytes([16]) * luma + bytes([128]) * chroma
    white = bytes([235]) * luma + bytes([128]) * chroma
    assert renderer.data == [black] * 3 + [white] * 3
    assert renderer.types == [None] * 6


def _sine(first: int, count: int, rate: int, freq: float, k0: int, phase: float) -> Any:
    cycles = phase + freq * (np.arange(first, first + count) - k0) / rate
    return np.rint(0.8 * np.sin(2 * np.pi * cycles) * 32767)


@pytest.mark.timeout(30)
def test_audiotestsrc_freq_set_while_running_keeps_the_phase() -> None:
    """``freq`` 440 -> 1000 Hz after 3 buffers of 100 frames at 8000 Hz: the next buffer
    starts at the phase 440 Hz reached (no jump), then goes on at 1000 Hz."""
    source = make_filter(
        "audiotestsrc", filter_name="src", num_buffers=6, rate=8000, samples_per_buffer=100
    )
    renderer = Recorder()
    renderer.on_sample = change_after(3, source, freq=1000.0)
    s16 = source.GetMediaType(0)
    with source_graph(source, renderer=renderer, media_type=s16) as graph:
        assert run(graph)[0] == EC_COMPLETE
    values = np.frombuffer(b"".join(renderer.data), "<i2").astype(np.float64)
    assert len(values) == 600
    before = _sine(0, 300, 8000, 440.0, 0, 0.0)
    after = _sine(300, 300, 8000, 1000.0, 300, (440.0 * 300 / 8000) % 1.0)
    assert np.abs(values[:300] - before).max() <= 1
    assert np.abs(values[300:] - after).max() <= 1
    assert np.abs(np.diff(values[295:305])).max() < 0.8 * 32767 * 2 * np.pi * 1000 / 8000


@pytest.mark.timeout(30)
def test_gain_factor_set_while_running_applies_from_the_next_sample() -> None:
    """``gain`` factor 1 -> 0.5 after 2 buffers: buffers 3-4 are the tone halved (rounded
    half to even), buffers 1-2 untouched."""

    def tone(gain_factor: float | None) -> list[bytes]:
        source = make_filter(
            "audiotestsrc", filter_name="src", num_buffers=4, rate=8000, samples_per_buffer=64
        )
        renderer = Recorder()
        middle = []
        if gain_factor is not None:
            gain = make_filter("gain", filter_name="gain")
            renderer.on_sample = change_after(2, gain, factor=gain_factor)
            middle.append(gain)
        with source_graph(
            source, *middle, renderer=renderer, media_type=source.GetMediaType(0)
        ) as g:
            assert run(g)[0] == EC_COMPLETE
        return renderer.data

    plain, changed = tone(None), tone(0.5)
    assert changed[:2] == plain[:2]
    for original, halved in zip(plain[2:], changed[2:], strict=True):
        expected = np.rint(np.frombuffer(original, "<i2") * 0.5).astype("<i2")
        assert halved == expected.tobytes()


@pytest.mark.timeout(30)
def test_size_changes_from_another_thread_are_never_half_applied() -> None:
    """A thread setting width and height together while frames flow: every frame has one of
    the pairs' sizes (never the new width with the old height)."""
    source = make_filter("videotestsrc", filter_name="src", num_buffers=40)
    renderer = Recorder()
    pairs = [(64, 48), (32, 24), (48, 36)]
    started = threading.Event()

    def hammer() -> None:
        started.wait(10)
        for index in range(12):
            width, height = pairs[index % 3]
            source.set_properties(width=width, height=height)

    renderer.on_sample = lambda n: started.set()
    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        with source_graph(source, renderer=renderer) as graph:
            assert run(graph)[0] == EC_COMPLETE
    finally:
        started.set()
        worker.join(10)
    sizes = {video_type("I420", w, h).sample_size for w, h in pairs}
    assert set(renderer.sizes) <= sizes
    assert len(renderer.sizes) == 40
    changed = [mt for mt in renderer.types if mt is not None]
    assert all(_size(mt) in pairs for mt in changed)


def test_bad_property_values_raise_and_change_nothing() -> None:
    """A bad value (TypeError, ValueError) or an unknown name (UnknownPropertyError) changes no
    property, asks for no format change, and a failed pair leaves both as they were."""
    source = make_filter("videotestsrc", num_buffers=3)
    renderer = Recorder()
    source_graph(source, renderer=renderer)
    props = source.props
    with pytest.raises(ValueError, match="width must be >= 1"):
        source.set_property("width", 0)
    with pytest.raises(TypeError, match="width must be an int"):
        source.set_property("width", "640")
    with pytest.raises(ValueError, match="height must be <= 16384"):
        source.set_properties(width=64, height=20000)
    with pytest.raises(ValueError, match="pattern must be one of"):
        source.set_property("pattern", "zebra")
    with pytest.raises(UnknownPropertyError, match="has no property 'depth'"):
        source.set_properties(width=64, depth=8)
    assert source.props is props
    assert (source.props.width, source.props.height) == (320, 240)
    assert source.output.pending_media_type is None
    source.set_property("num-buffers", 5)  # a launch name works too
    assert source.props.num_buffers == 5
    assert source.output.pending_media_type is None  # not a size: no format change


def test_the_size_property_is_the_streams_size_to_be() -> None:
    """With the stream at 32x24 (a caps filter's size, the properties saying 320x240),
    setting 320x240 asks for 320x240, and setting the stream's own size asks for nothing."""
    source = make_filter("videotestsrc")
    renderer = Recorder()
    source_graph(source, renderer=renderer)
    assert (source.props.width, source.props.height) == (320, 240)
    source.set_properties(width=320, height=240)
    assert source.output.pending_media_type == video_type(
        "I420", 320, 240, avg_time_per_frame=FRAME
    )
    source.set_properties(width=32, height=24)  # back before the thread made it: cancelled
    assert source.output.pending_media_type == SMALL
    other = make_filter("videotestsrc")
    source_graph(other, renderer=Recorder())
    other.set_properties(width=32, height=24)
    assert other.output.pending_media_type is None


# -- through converters, into files ---------------------------------------------------------


class Tap(TransInPlaceFilter, Element):
    """``formattap``: passes samples on untouched; ``on_sample(n)`` runs after the ``n``-th
    went downstream (on the streaming thread)."""

    description = "Test tap"
    pin_templates = (
        PinTemplate("Input", PinDirection.PINDIR_INPUT, "ANY"),
        PinTemplate("Output", PinDirection.PINDIR_OUTPUT, "ANY"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, modifies_data=False)
        self.passed = 0
        self.on_sample: Callable[[int], None] | None = None

    def Transform(self, sample: Any) -> None:
        self.passed += 1

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        delivered = super().receive(pin, sample)
        if self.on_sample is not None:
            self.on_sample(self.passed)
        return delivered


@pytest.fixture
def tap() -> Iterator[str]:
    """``formattap`` registered for launch lines while the test runs."""
    register_filter("formattap", Tap)
    try:
        yield "formattap"
    finally:
        unregister_filter("formattap")


def _launch(line: str) -> tuple[FilterGraph, Any, Any]:
    """The graph of ``line``, its filter ``src`` and its ``formattap`` ``tap``."""
    from dshow_alloc.launch import parse_launch

    graph = parse_launch(line).graph
    return graph, graph.FindFilterByName("src"), graph.FindFilterByName("tap")


def _y4m_frame_sizes(path: Path) -> tuple[bytes, list[int]]:
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    frames = body.split(b"FRAME\n")[1:]
    return header, [len(frame) for frame in frames]


@pytest.mark.timeout(60)
def test_videoscale_keeps_the_file_at_one_size(tap: str, tmp_path: Path) -> None:
    """``videotestsrc`` going from 320x240 to 640x480 while running ``! videoscale !
    video/x-raw,width=160,height=120 ! y4msink``: every one of the 12 frames is 160x120."""
    pytest.importorskip("av")
    location = tmp_path / "scaled.y4m"
    graph, source, tapped = _launch(
        "videotestsrc name=src num-buffers=12 ! video/x-raw,format=I420,width=320,height=240 "
        f"! {tap} name=tap ! videoscale ! video/x-raw,width=160,height=120 "
        f"! y4msink location={location}"
    )
    tapped.on_sample = change_after(5, source, width=640, height=480)
    with graph:
        assert run(graph) == (EC_COMPLETE, [(EC_COMPLETE, 0, 0)])
        assert source.output.ConnectionMediaType().format.width == 640
        assert source.output.renegotiations == 1
        assert_all_home(graph)
    header, sizes = _y4m_frame_sizes(location)
    assert header.startswith(b"YUV4MPEG2 W160 H120 ")
    assert sizes == [160 * 120 * 3 // 2] * 12


@pytest.mark.timeout(60)
@needs_ffprobe
def test_a_change_through_videoconvert_reaches_avsink_as_two_resolutions(
    tap: str, tmp_path: Path
) -> None:
    """``videotestsrc`` (RGB24) ``! videoconvert ! video/x-raw,format=I420 ! avsink`` going
    from 32x24 to 64x48 after 4 frames: ffprobe reads 4 frames of 32x24, then 6 of 64x48."""
    pytest.importorskip("av")
    location = tmp_path / "two.mkv"
    graph, source, tapped = _launch(
        "videotestsrc name=src num-buffers=10 ! video/x-raw,format=RGB24,width=32,height=24 "
        f"! {tap} name=tap ! videoconvert ! video/x-raw,format=I420 "
        f"! avsink location={location}"
    )
    tapped.on_sample = change_after(4, source, width=64, height=48)
    with graph:
        assert run(graph) == (EC_COMPLETE, [(EC_COMPLETE, 0, 0)])
        assert_all_home(graph)
    assert _frame_sizes(location) == [(32, 24)] * 4 + [(64, 48)] * 6


# -- y4msink ---------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_y4msink_refuses_a_new_size(tap: str, tmp_path: Path) -> None:
    """``videotestsrc ! video/x-raw,width=320,height=240 ! y4msink`` with a width change
    while running: EC_ERRORABORT, the file has only 320x240 frames, every sample home."""
    location = tmp_path / "out.y4m"
    graph, source, tapped = _launch(
        "videotestsrc name=src num-buffers=10 ! video/x-raw,format=I420,width=320,height=240 "
        f"! {tap} name=tap ! y4msink location={location}"
    )
    tapped.on_sample = change_after(4, source, width=640)
    with graph:
        code, events = run(graph)
        assert code == EC_ERRORABORT
        assert events[0][:2] == (EC_ERRORABORT, HRESULT.VFW_E_TYPE_NOT_ACCEPTED)
        assert_all_home(graph)
    header, sizes = _y4m_frame_sizes(location)
    assert header.startswith(b"YUV4MPEG2 W320 H240 ")
    assert sizes == [115200] * 4


# -- avsrc and avsink ----------------------------------------------------------------------


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


def _two_sizes(root: Path, name: str, first: str, second: str) -> Path:
    """Two 10-frame H.264 segments of different sizes joined without re-encoding (the concat
    demuxer and stream copy) into one MPEG-TS file."""
    parts = []
    for index, size in enumerate((first, second)):
        part = root / f"{name}{index}.ts"
        _ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:d=0.4",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts", str(part),
        )  # fmt: skip
        parts.append(part)
    listing = root / f"{name}.txt"
    listing.write_text("".join(f"file '{part}'\n" for part in parts))
    joined = root / f"{name}.ts"
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(joined))
    return joined


@pytest.fixture(scope="module")
def resolution_change(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """MPEG-TS files whose H.264 video is 10 frames of 64x48 then 10 of 32x24 ("shrinks"),
    and the other way round ("grows")."""
    pytest.importorskip("av")
    if not Path(FFMPEG).exists():
        pytest.skip("ffmpeg is not installed")
    root = tmp_path_factory.mktemp("resolution")
    return {
        "shrinks": _two_sizes(root, "shrinks", "64x48", "32x24"),
        "grows": _two_sizes(root, "grows", "32x24", "64x48"),
    }


def _frame_sizes(path: Path) -> list[tuple[int, int]]:
    """Each video frame's size, as ffprobe decodes the file."""
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "v", "-show_frames", "-show_entries",
         "frame=width,height", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return [(frame["width"], frame["height"]) for frame in json.loads(out)["frames"]]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "renegotiations"), [("shrinks", 0), ("grows", 1)])
def test_avsrc_follows_a_resolution_change(
    resolution_change: dict[str, Path], name: str, renegotiations: int
) -> None:
    """``avsrc`` of a file that changes resolution delivers each frame at its own size, the
    first of the new size carrying the type; growing renegotiates the pool."""
    import av

    path = resolution_change[name]
    source = make_filter("avsrc", filter_name="src", location=path)
    renderer = Recorder()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, renderer)
        first_type = source.output.ConnectionMediaType()
        assert run(graph)[0] == EC_COMPLETE
        assert source.output.renegotiations == renegotiations
    small, large = 32 * 24 * 3 // 2, 64 * 48 * 3 // 2
    sizes = [large] * 10 + [small] * 10 if name == "shrinks" else [small] * 10 + [large] * 10
    assert renderer.sizes == sizes
    second = video_type("I420", *((32, 24) if name == "shrinks" else (64, 48)),
                        avg_time_per_frame=first_type.format.avg_time_per_frame)  # fmt: skip
    assert renderer.types == [None] * 10 + [second] + [None] * 9
    with av.open(str(path)) as container:
        decoded = [f.reformat(format="yuv420p") for f in container.decode(video=0)]
    for frame, data in zip(decoded, renderer.data, strict=True):
        planes = [
            np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:rows, :width]
            for plane, rows, width in zip(
                frame.planes,
                (frame.height, frame.height // 2, frame.height // 2),
                (frame.width, frame.width // 2, frame.width // 2),
                strict=True,
            )
        ]
        assert data == b"".join(plane.tobytes() for plane in planes)


@pytest.mark.timeout(60)
def test_avsrc_scaling_to_a_chosen_size_keeps_it(resolution_change: dict[str, Path]) -> None:
    """An ``avsrc`` pin connected at a size of the caller's choosing scales every frame to it,
    before and after the file's change: no format change."""
    source = make_filter("avsrc", filter_name="src", location=resolution_change["grows"])
    chosen = video_type("I420", 48, 36, avg_time_per_frame=400_000)
    renderer = Recorder()
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(source, "src")
        graph.AddFilter(renderer, "sink")
        graph.ConnectDirect(source.output, renderer.input, chosen)
        assert run(graph)[0] == EC_COMPLETE
        assert source.output.ConnectionMediaType() == chosen
    assert renderer.sizes == [chosen.sample_size] * 20
    assert renderer.types == [None] * 20
    assert renderer.counting.asked == []


@pytest.mark.timeout(60)
@needs_ffprobe
@pytest.mark.parametrize("suffix", [".mkv", ".ts"])
def test_avsink_writes_both_resolutions(
    resolution_change: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    """``avsrc ! avsink`` (H.264 by libx264) of a file that changes resolution writes a file
    ffprobe decodes as 10 frames of 64x48, then 10 of 32x24."""
    out = tmp_path / f"out{suffix}"
    source = make_filter("avsrc", filter_name="src", location=resolution_change["shrinks"])
    sink = make_filter("avsink", filter_name="sink", location=out, codec="libx264")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        assert run(graph)[0] == EC_COMPLETE
        assert sink.written == 20
    assert _frame_sizes(out) == [(64, 48)] * 10 + [(32, 24)] * 10


@pytest.mark.timeout(60)
@needs_ffprobe
def test_avsink_refuses_a_change_its_encoder_cannot_follow(
    resolution_change: dict[str, Path], tmp_path: Path
) -> None:
    """MPEG-TS's default encoder (MPEG-2) is not restarted at a new size: the change is
    refused, EC_ERRORABORT names both types, and the file holds the 10 frames before it."""
    out = tmp_path / "out.ts"
    source = make_filter("avsrc", filter_name="src", location=resolution_change["shrinks"])
    sink = make_filter("avsink", filter_name="sink", location=out)
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        code, events = run(graph)
        assert code == EC_ERRORABORT
        assert events[0][:2] == (EC_ERRORABORT, HRESULT.VFW_E_TYPE_NOT_ACCEPTED)
        assert "width=64,height=48" in str(events[0][2])
        assert "to video/x-raw,format=I420,width=32,height=24" in str(events[0][2])
        assert_all_home(graph)
    assert _frame_sizes(out) == [(64, 48)] * 10


# -- pass-through filters and copies ------------------------------------------------------------


def test_copy_sample_carries_the_media_type_it_carries() -> None:
    """A copy of a sample that carries a type change carries it too (so a tee's or a queue's
    copy tells downstream); a copy of one that carries none carries none."""
    from dshow_alloc import AllocatorProperties, MemAllocator
    from dshow_alloc.filters import copy_sample

    pool = MemAllocator()
    pool.SetProperties(AllocatorProperties(2, LARGE.sample_size, 1, 0))
    pool.Commit()
    try:
        source, target = pool.GetBuffer(), pool.GetBuffer()
        source.SetActualDataLength(16)
        source.SetMediaType(LARGE)
        copy_sample(source, target)
        assert target.GetMediaType() == LARGE
        assert target.GetProperties().sample_flags & AM_SAMPLE_TYPECHANGED
        source.SetMediaType(None)
        target.SetMediaType(None)
        copy_sample(source, target)
        assert target.GetMediaType() is None
        source.Release()
        target.Release()
    finally:
        pool.Decommit()


@pytest.mark.timeout(30)
def test_an_in_place_filter_passes_the_change_on_and_its_output_type_follows() -> None:
    """``videotestsrc ! invert ! renderer`` with a width change while running: the renderer
    sees the new size from the first sample carrying it, and invert's output pin reports
    the new type as its connection type, as its input does."""
    pytest.importorskip("numpy")
    source = make_filter("videotestsrc", num_buffers=8)
    invert, renderer = make_filter("invert"), Recorder()
    renderer.on_sample = change_after(3, source, width=64)
    with source_graph(source, invert, renderer=renderer) as graph:
        code, _events = run(graph)
        assert code == EC_COMPLETE
        assert invert.input.ConnectionMediaType().format.width == 64
        assert invert.output.ConnectionMediaType() == invert.input.ConnectionMediaType()
        assert_all_home(graph)
    changed = [t.format.width for t in renderer.types if t is not None]
    assert changed == [64]
    assert renderer.sizes == [32 * 24 * 3 // 2] * 3 + [64 * 24 * 3 // 2] * 5
