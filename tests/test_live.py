"""Live flow: leaky queues, live sources, VFW_S_CANT_CUE, the latency query, late samples
dropped by renderers, quality messages upstream, and their rows in the end-of-run table.

Time comes from a `ManualClock` moved by the tests. A thread "waiting for the clock" is
seen deterministically as an advise pending on it (`ManualClock.pending`); everything else
is waited for with `wait_until`, a guard against hangs rather than a timing assertion.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import attrs
import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

import dshow_alloc
import interfaces
from dshow_alloc import (
    HRESULT,
    SUCCEEDED,
    VIDEO_MAX_LATENESS,
    CollectingRenderer,
    FilterGraph,
    LiveSource,
    ManualClock,
    NotImplError,
    NullRenderer,
    Quality,
    QualityMessageType,
    QueueFilter,
    RendererFilter,
    SourceFilter,
    SourceStream,
    Tee,
    TransInPlaceFilter,
    pass_quality,
)
from dshow_alloc.bench import bench_live_leaky
from dshow_alloc.graph import RUN_LATENCY
from dshow_alloc.registry import make_filter
from dshow_alloc.report import RunReport, collect_report
from dshow_alloc.structs import AM_SEEKING_AbsolutePositioning, FilterState
from dshow_alloc.testing import assert_all_home, wait_until
from dshow_alloc.video import video_type
from interfaces import IQualityControl

FAMINE, FLOOD = QualityMessageType.Famine, QualityMessageType.Flood
PAUSED, RUNNING, STOPPED = (
    FilterState.State_Paused,
    FilterState.State_Running,
    FilterState.State_Stopped,
)
#: A sample's duration in the hand-made streams: 40 ms.
P = 400_000
#: The stream time of stream time 0 on a ManualClock made at 1 and run at once.
START = 1 + RUN_LATENCY


# -- helpers ----------------------------------------------------------------------------------


class Numbered(SourceFilter):
    """``count`` samples of ``size`` bytes, sample ``i`` holding ``i`` in its first byte and
    timed ``(i * P, (i + 1) * P)``; handles quality messages when ``handles`` (recorded).
    Sample 1 is made once ``after_first`` is set (10 s at most), when one is given."""

    def __init__(self, count: int, *, size: int = 64, handles: bool = True, name: str = "src"):
        super().__init__(name=name, buffer_size=size, buffers=2)
        self.count, self.size, self.handles = count, size, handles
        self.made = 0
        self.quality: list[tuple[Any, Quality]] = []
        self.after_first: threading.Event | None = None

    def FillBuffer(self, sample: Any) -> bool:
        index = self.made
        if index == self.count:
            return False
        if index == 1 and self.after_first is not None:
            self.after_first.wait(10)  # a guard: the test sets it
        sample.GetPointer()[0] = index
        sample.SetActualDataLength(self.size)
        sample.SetTime(index * P, (index + 1) * P)
        self.made = index + 1
        return True

    def AlterQuality(self, quality: Quality) -> bool:
        self.quality.append((threading.current_thread().name, quality))
        return self.handles


class LiveCounter(LiveSource):
    """A live source of 64-byte samples, one every ``period``, numbered like `Numbered`."""

    def __init__(self, count: int | None = None, *, period: int = P, live: bool = True) -> None:
        super().__init__(name="live", buffer_size=64, buffers=1)
        self.count, self.period, self.live = count, period, live
        self.made = 0

    @property
    def is_live(self) -> bool:
        return self.live

    def capture_latency(self) -> int:
        return self.period

    def FillBuffer(self, sample: Any) -> bool:
        index = self.made
        if index == self.count:
            return False
        if not self.wait_for_capture(index * self.period):
            return False
        sample.GetPointer()[0] = index % 256
        sample.SetTime(index * self.period, (index + 1) * self.period)
        self.made = index + 1
        return True


class Recorder(CollectingRenderer):
    """A CollectingRenderer recording, in order, the samples (by number) and stream events;
    with ``hold``, the first sample's presentation waits for ``gate``."""

    def __init__(self, *, name: str = "sink", hold: bool = False, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.gate = threading.Event()
        if not hold:
            self.gate.set()
        self.holding = threading.Event()
        self.events: list[Any] = []

    def DoRenderSample(self, sample: Any) -> None:
        if not self.gate.is_set():
            self.holding.set()
            self.gate.wait()  # the tests open it before they stop the graph
        super().DoRenderSample(sample)
        self.events.append(sample.GetPointer()[0])

    def numbers(self) -> list[int]:
        return [data[0] for data in self.data]

    def new_segment(self, pin: Any, start: int, stop: int, rate: float) -> None:
        self.events.append(("segment", start))

    def end_of_stream(self, pin: Any) -> None:
        self.events.append("eos")
        super().end_of_stream(pin)


class SegmentingStream(SourceStream):
    """Sends ``NewSegment(segment_start, ...)`` on its streaming thread before sample
    ``before`` of its `Numbered` filter."""

    _filter: Any

    def next_sample(self) -> Any | None:
        sample = super().next_sample()
        if sample is not None and self._filter.made - 1 == self._filter.before:
            self.DeliverNewSegment(self._filter.segment_start, 2**63 - 1, 1.0)
        return sample


class SegmentedNumbered(Numbered):
    """`Numbered` with a new segment before sample ``before``."""

    before = 3
    segment_start = 12345

    def make_output_pins(self) -> list[SourceStream]:
        return [SegmentingStream(self)]


@implementer(IQualityControl)
class QualitySink:
    """An ``IQualityControl`` recording what it is told; answers ``handled``."""

    def __init__(self, handled: bool = True) -> None:
        self.handled = handled
        self.messages: list[tuple[Any, Quality]] = []

    def Notify(self, sender: Any, quality: Quality) -> bool:
        self.messages.append((sender, quality))
        return self.handled

    def SetSink(self, sink: Any) -> None:
        """Not used."""

    def QueryInterface(self, iface: Any) -> Any:
        return self

    def AddRef(self) -> int:
        return 1

    def Release(self) -> int:
        return 0


class Delaying(TransInPlaceFilter):
    """Passes samples through; declares a latency of ``(low, high)``."""

    def __init__(self, low: int, high: int | None) -> None:
        super().__init__(name="delaying", modifies_data=False)
        self.low, self.high = low, high

    def Transform(self, sample: Any) -> None:
        """Nothing."""

    def latency(self) -> tuple[int, int | None]:
        return self.low, self.high


@pytest.fixture
def clock() -> ManualClock:
    """A ManualClock at time 1."""
    return ManualClock()


@pytest.fixture
def graph(clock: ManualClock) -> Iterator[FilterGraph]:
    """A graph on the ManualClock, stopped at teardown."""
    with FilterGraph(clock=clock) as made:
        yield made


def waiting_for_clock(clock: ManualClock, count: int = 1) -> bool:
    """True once ``count`` threads wait on the clock (advises pending)."""
    return clock.pending() == count


# -- the queue's limits and leaks -------------------------------------------------------------


def test_queue_defaults_are_the_old_queue() -> None:
    """A default queue holds 16 samples, has no byte or time limit, never leaks and blocks."""
    queue = QueueFilter()
    assert (queue.max_size, queue.max_size_buffers) == (16, 16)
    assert (queue.max_size_bytes, queue.max_size_time, queue.leaky) == (0, 0, "no")
    assert queue.dropped == 0
    assert queue.receive_can_block(queue.input) is True
    assert QueueFilter(leaky="downstream").receive_can_block(queue.input) is False
    assert QueueFilter(max_size=None).max_size_buffers is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_size": 0},
        {"max_size": -1},
        {"max_size": 2.0},
        {"max_size": True},
        {"max_size_bytes": -1},
        {"max_size_bytes": None},
        {"max_size_time": -1},
        {"max_size_time": 1.5},
        {"leaky": "sideways"},
        {"leaky": None},
    ],
    ids=str,
)
def test_queue_bad_limits(kwargs: dict[str, Any]) -> None:
    """A limit that is not an int in range, or an unknown leak, is a ValueError."""
    with pytest.raises(ValueError):
        QueueFilter(**kwargs)


def test_queue_element_properties() -> None:
    """``queue`` takes GStreamer's names; max-size-buffers 0 is no limit; the older
    max-size still works and must agree with max-size-buffers when both are given."""
    queue = make_filter("queue", **{"max-size-buffers": 3, "leaky": "downstream"})
    assert (queue.max_size, queue.leaky, queue.max_size_bytes, queue.max_size_time) == (
        3,
        "downstream",
        0,
        0,
    )
    assert make_filter("queue").max_size == 16
    unlimited = make_filter("queue", **{"max-size-buffers": 0, "max-size-bytes": 4096})
    assert (unlimited.max_size, unlimited.max_size_bytes) == (None, 4096)
    assert make_filter("queue", **{"max-size-time": 5 * P}).max_size_time == 5 * P
    assert make_filter("queue", **{"max-size": 4}).max_size == 4
    assert make_filter("queue", **{"max-size": 4, "max-size-buffers": 4}).max_size == 4
    with pytest.raises(ValueError, match="disagree"):
        make_filter("queue", **{"max-size": 4, "max-size-buffers": 5})
    with pytest.raises(ValueError):
        make_filter("queue", leaky="both")
    with pytest.raises(ValueError):
        make_filter("queue", **{"max-size-bytes": -1})


def _run_blocked(
    graph: FilterGraph, source: Any, queue: QueueFilter, sink: Recorder, queued: int
) -> None:
    """Run with the renderer holding the first sample until the source has delivered all
    and ``queued`` items wait in the queue; then let the renderer go and wait for the end.
    The source makes sample 1 once the renderer holds sample 0."""
    source.after_first = sink.holding
    graph.connect_chain(source, queue, sink)
    graph.Run()
    try:
        assert sink.holding.wait(10)
        wait_until(lambda: source.output.delivered == source.count and len(queue) == queued)
    finally:
        sink.gate.set()
    assert graph.WaitForCompletion(10_000) == dshow_alloc.EC_COMPLETE


@pytest.mark.timeout(30)
def test_leaky_downstream_drops_the_oldest() -> None:
    """With the renderer blocked on sample 0, a queue of 2 leaking downstream keeps the two
    newest of the 9 samples that follow: 7 are dropped, released (all home), never
    delivered, and the source never waits for a sample."""
    source, queue, sink = (
        Numbered(10),
        QueueFilter(max_size=2, leaky="downstream"),
        Recorder(hold=True),
    )
    with FilterGraph(clock=None) as graph:
        _run_blocked(graph, source, queue, sink, queued=3)  # two samples and end of stream
        assert queue.dropped == 7
        assert sink.numbers() == [0, 8, 9]
        assert sink.events == [0, 8, 9, "eos"]
        assert source.output.allocator.waits == 0
        assert source.output.allocator.GetProperties().buffers == 4  # 2 queued + 2 in hand
        report = collect_report(graph, completion="EC_COMPLETE", seconds=1.0)
        graph.Stop()
        assert_all_home(graph)
    assert report.dropped == {"QueueFilter": 7}
    assert report.late == {}


@pytest.mark.timeout(30)
def test_leaky_upstream_drops_the_new() -> None:
    """Leaking upstream, the queue keeps the first two samples that found it with room and
    drops the 7 after them."""
    source, queue, sink = (
        Numbered(10),
        QueueFilter(max_size=2, leaky="upstream"),
        Recorder(hold=True),
    )
    with FilterGraph(clock=None) as graph:
        _run_blocked(graph, source, queue, sink, queued=3)
        assert queue.dropped == 7
        assert sink.numbers() == [0, 1, 2]
        assert source.output.allocator.waits == 0
        graph.Stop()
        assert_all_home(graph)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("leaky", "events"),
    [
        ("downstream", [0, ("segment", 12345), 4, 5, "eos"]),
        ("upstream", [0, 1, 2, ("segment", 12345), "eos"]),
    ],
)
def test_leaks_keep_events_in_order(leaky: str, events: list[Any]) -> None:
    """Events are never dropped and keep their place among the samples kept: a new segment
    sent before sample 3 still comes before the samples after it, end of stream last."""
    source = SegmentedNumbered(6)
    queue, sink = QueueFilter(max_size=2, leaky=leaky), Recorder(hold=True)
    with FilterGraph(clock=None) as graph:
        _run_blocked(graph, source, queue, sink, queued=4)  # 2 samples, segment, eos
        assert queue.dropped == 3
        assert sink.events == events
        graph.Stop()


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("limits", "kept"),
    [
        ({"max_size": 16, "max_size_bytes": 192}, [7, 8, 9]),
        ({"max_size": 16, "max_size_bytes": 129}, [7, 8, 9]),
        ({"max_size": 16, "max_size_bytes": 128}, [8, 9]),
        ({"max_size": 16, "max_size_time": 2 * P}, [8, 9]),
        ({"max_size": 16, "max_size_time": 3 * P}, [7, 8, 9]),
        ({"max_size": 16, "max_size_bytes": 64}, [9]),
        ({"max_size": 1, "max_size_time": 10 * P}, [9]),
    ],
    ids=str,
)
def test_byte_and_time_limits(limits: dict[str, Any], kept: list[int]) -> None:
    """The queue is full when any limit is reached, counted before a sample is added: 64-byte
    samples of 40 ms fill 128 bytes or 80 ms with two, 192 bytes or 120 ms with three (the
    count limit of 16 gives the source's pool room for them)."""
    source = Numbered(10)
    queue, sink = QueueFilter(leaky="downstream", **limits), Recorder(hold=True)
    with FilterGraph(clock=None) as graph:
        _run_blocked(graph, source, queue, sink, queued=len(kept) + 1)
        assert sink.numbers() == [0, *kept]
        assert queue.dropped == 9 - len(kept)
        graph.Stop()
        assert_all_home(graph)


@pytest.mark.timeout(30)
def test_a_queue_that_does_not_leak_drops_nothing() -> None:
    """Without a leak the full queue makes the source wait: every sample arrives, in order,
    and the report has no dropped column."""
    source, queue, sink = Numbered(10), QueueFilter(max_size=2), Recorder(hold=True)
    source.after_first = sink.holding
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, queue, sink)
        graph.Run()
        try:
            assert sink.holding.wait(10)
            wait_until(lambda: len(queue) == 2 and source.made == 4)
        finally:
            sink.gate.set()
        assert graph.WaitForCompletion(10_000) == dshow_alloc.EC_COMPLETE
        assert sink.numbers() == list(range(10))
        assert queue.dropped == 0
        report = collect_report(graph, completion="EC_COMPLETE", seconds=1.0)
        graph.Stop()
    assert report.dropped == report.late == {}
    assert "dropped" not in report.format()


@pytest.mark.timeout(30)
def test_a_live_source_behind_a_leaky_queue_drops_exactly_what_the_renderer_misses(
    graph: FilterGraph, clock: ManualClock
) -> None:
    """A live source on the clock, a renderer blocked on frame 0 while the clock passes 7
    more frames, a queue of 2 leaking downstream between: the source never waits, the queue
    drops exactly 7 - 2 = 5 frames and the renderer gets 0, 6 and 7."""
    frames_while_blocked = 7
    source, queue = LiveCounter(), QueueFilter(max_size=2, leaky="downstream")
    sink = Recorder(hold=True)
    graph.connect_chain(source, queue, sink)
    graph.Run()
    try:
        assert wait_until(lambda: waiting_for_clock(clock))  # for frame 0
        clock.set_time(START)
        assert sink.holding.wait(10)
        for frame in range(1, frames_while_blocked + 1):
            wait_until(lambda: waiting_for_clock(clock))  # for this frame
            assert source.output.delivered == frame
            clock.set_time(START + frame * P)
            wait_until(lambda f=frame: source.output.delivered == f + 1)
        wait_until(lambda: waiting_for_clock(clock))  # for the frame after
        assert queue.dropped == frames_while_blocked - 2
        assert len(queue) == 2
        assert source.output.allocator.waits == 0
    finally:
        sink.gate.set()
    wait_until(lambda: sink.rendered == 3)
    assert sink.numbers() == [0, 6, 7]
    assert [times[0] for times in sink.times if times] == [0, 6 * P, 7 * P]
    graph.Stop()
    assert_all_home(graph)


# -- live sources -----------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_live_source_produces_at_the_clock_pace(graph: FilterGraph, clock: ManualClock) -> None:
    """Sample i is made when the clock reaches stream time i * P, stamped with that time; a
    clock that jumps past several gets them all at once, in order."""
    source, sink = LiveCounter(), Recorder()
    graph.connect_chain(source, sink)
    graph.Run()
    wait_until(lambda: waiting_for_clock(clock))
    clock.set_time(START - 1)
    assert waiting_for_clock(clock) and source.output.delivered == 0
    clock.set_time(START)
    wait_until(lambda: source.output.delivered == 1 and waiting_for_clock(clock))
    clock.set_time(START + 2 * P + P // 2)
    wait_until(lambda: source.output.delivered == 3 and waiting_for_clock(clock))
    assert sink.times == [(0, P), (P, 2 * P), (2 * P, 3 * P)]
    assert sink.numbers() == [0, 1, 2]


@pytest.mark.timeout(30)
def test_a_paused_live_graph_cannot_cue(graph: FilterGraph, clock: ManualClock) -> None:
    """Paused, a live source makes nothing and the graph says VFW_S_CANT_CUE at once
    (without waiting for its renderer, even with an infinite timeout); running, it makes
    samples; paused again, it stops and its running time stands still."""
    source, sink = LiveCounter(), Recorder()
    graph.connect_chain(source, sink)
    graph.Pause()
    assert graph.get_state_code(-1) == (PAUSED, HRESULT.VFW_S_CANT_CUE)
    assert HRESULT.VFW_S_CANT_CUE == 0x00040268 and SUCCEEDED(HRESULT.VFW_S_CANT_CUE)
    assert graph.GetState(-1) is PAUSED
    assert source.get_state_code(0) == (PAUSED, HRESULT.VFW_S_CANT_CUE)
    assert sink.get_state_code(0) == (PAUSED, HRESULT.VFW_S_STATE_INTERMEDIATE)
    clock.advance(100 * P)
    assert (source.output.delivered, clock.pending()) == (0, 0)  # waits for Run, not time
    graph.Run()
    start = sink.start_time
    assert start == clock.GetTime() + RUN_LATENCY
    assert graph.get_state_code(0) == (RUNNING, HRESULT.S_OK)
    clock.set_time(start)
    wait_until(lambda: source.output.delivered == 1 and waiting_for_clock(clock))
    graph.Pause()
    assert graph.get_state_code(0) == (PAUSED, HRESULT.VFW_S_CANT_CUE)
    wait_until(lambda: clock.pending() == 0)  # the source waits for Run again
    clock.advance(5 * P)
    assert source.output.delivered == 1
    graph.Run()
    resumed = sink.start_time
    assert resumed == start + 5 * P  # moved on by the time spent paused
    clock.set_time(resumed + P)
    wait_until(lambda: source.output.delivered == 2 and waiting_for_clock(clock))
    assert sink.times == [(0, P), (P, 2 * P)]  # running time: the pause is not in it
    graph.Stop()
    assert graph.get_state_code(0) == (STOPPED, HRESULT.S_OK)


class Stalled(SourceFilter):
    """Makes nothing until ``go`` is set, then ends its stream."""

    def __init__(self) -> None:
        super().__init__(name="stalled", buffer_size=64, buffers=1)
        self.go = threading.Event()

    def FillBuffer(self, sample: Any) -> bool:
        self.go.wait()  # the test sets it before it stops the graph
        return False


@pytest.mark.timeout(30)
def test_a_graph_whose_renderer_has_not_paused_is_intermediate(graph: FilterGraph) -> None:
    """Without a live source, a renderer still waiting for its first sample makes the graph
    VFW_S_STATE_INTERMEDIATE (after the timeout); once it has one (here end of stream),
    S_OK."""
    source, sink = Stalled(), Recorder()
    graph.connect_chain(source, sink)
    try:
        graph.Pause()
        assert graph.get_state_code(0) == (PAUSED, HRESULT.VFW_S_STATE_INTERMEDIATE)
        assert graph.get_state_code(20) == (PAUSED, HRESULT.VFW_S_STATE_INTERMEDIATE)
        assert HRESULT.VFW_S_STATE_INTERMEDIATE == 0x00040237
    finally:
        source.go.set()
    assert graph.get_state_code(-1) == (PAUSED, HRESULT.S_OK)
    assert graph.GetState(-1) is PAUSED


def test_a_live_source_switched_off_is_an_ordinary_source() -> None:
    """``is_live`` False: no latency, no VFW_S_CANT_CUE, no waiting for the clock."""
    source = LiveCounter(count=2, live=False)
    assert source.latency() == (0, 0)
    assert source.wait_for_capture(10**12) is True
    with FilterGraph(clock=ManualClock()) as graph:
        sink = Recorder()
        graph.connect_chain(source, sink)
        graph.Pause()
        assert source.get_state_code(0) == (PAUSED, HRESULT.S_OK)
        assert graph.query_latency() == (False, 0, 0)


# -- latency ----------------------------------------------------------------------------------


def test_query_latency_sums_each_path(graph: FilterGraph) -> None:
    """A live source adds one sample's duration; a transform its declared (min, max); a
    queue that never drops its max-size-time to the max, a leaky one nothing; where paths
    meet the largest min and the smallest max win."""
    assert graph.query_latency() == (False, 0, None)  # no renderer
    source, tee = LiveCounter(), Tee()
    direct, delayed = Recorder(name="direct"), Recorder(name="delayed")
    graph.connect_chain(source, tee, QueueFilter(max_size_time=3 * P), direct)
    graph.connect_chain(tee, Delaying(5, None), QueueFilter(leaky="upstream"), delayed)
    assert graph.query_latency() == (True, P + 5, 4 * P)
    graph.Pause()
    assert (direct.graph_latency, delayed.graph_latency) == (P + 5, P + 5)


def test_query_latency_of_a_graph_without_a_live_source(graph: FilterGraph) -> None:
    """Without a live source the latency is not live, and renderers add none."""
    sink = Recorder(sync=True)
    graph.connect_chain(Numbered(1), Delaying(7, 9), sink)
    assert graph.query_latency() == (False, 7, 9)
    graph.Pause()
    assert sink.graph_latency == 0


def test_renderer_latency_checks() -> None:
    """``set_latency`` takes an int >= 0 and nothing else."""
    sink = RendererFilter()
    sink.set_latency(5)
    assert sink.graph_latency == 5
    for bad, error in ((-1, ValueError), (1.5, TypeError), (None, TypeError)):
        with pytest.raises(error):
            sink.set_latency(bad)  # type: ignore[arg-type]
    assert sink.graph_latency == 5


@pytest.mark.timeout(30)
def test_a_live_graph_renders_at_stream_time_plus_latency(
    graph: FilterGraph, clock: ManualClock
) -> None:
    """In a live graph a sync renderer presents sample i at stream time i * P plus the
    latency (one sample): on time, none late or dropped."""
    source, sink = LiveCounter(), Recorder(sync=True, max_lateness=0)
    graph.connect_chain(source, sink)
    graph.Run()
    assert sink.graph_latency == P
    wait_until(lambda: waiting_for_clock(clock))  # the source, for sample 0 at START
    clock.set_time(START)
    # The source made sample 0 and is in Deliver; the renderer waits for START + P.
    wait_until(lambda: waiting_for_clock(clock))
    assert (source.made, source.output.delivered) == (1, 0)
    clock.set_time(START + P - 1)
    assert sink.rendered == 0
    clock.set_time(START + P)
    wait_until(lambda: sink.rendered == 1 and source.output.delivered == 1)
    wait_until(lambda: waiting_for_clock(clock))  # the renderer, for sample 1 at START + 2P
    clock.set_time(START + 2 * P)
    wait_until(lambda: sink.rendered == 2 and waiting_for_clock(clock))
    assert (sink.late, sink.dropped) == (0, 0)
    assert sink.times == [(0, P), (P, 2 * P)]


# -- late samples in renderers ----------------------------------------------------------------


def test_max_lateness_defaults_and_checks() -> None:
    """``max_lateness`` None means 20 ms for a video connection and never (-1) otherwise;
    CollectingRenderer keeps everything by default; bad values change nothing."""
    assert VIDEO_MAX_LATENESS == 200_000
    with FilterGraph(clock=None) as graph:
        stream, video = NullRenderer(), NullRenderer()
        assert video.lateness_limit == -1  # not connected: no type yet
        graph.connect_chain(Numbered(1), stream)
        assert stream.lateness_limit == -1  # a byte stream, not video
        source = SourceFilter(name="v", media_type=video_type("I420", 160, 120), buffers=1)
        graph.connect_chain(source, video)
        assert video.max_lateness is None and video.lateness_limit == VIDEO_MAX_LATENESS
    assert CollectingRenderer().max_lateness == -1
    sink = RendererFilter(max_lateness=5)
    assert (sink.max_lateness, sink.lateness_limit) == (5, 5)
    for bad, error in ((-2, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)):
        with pytest.raises(error):
            sink.max_lateness = bad  # type: ignore[assignment]
        with pytest.raises(error):
            RendererFilter(max_lateness=bad)  # type: ignore[arg-type]
    assert sink.max_lateness == 5


def test_nullsink_has_sync_and_max_lateness() -> None:
    """``nullsink`` takes ``sync`` and ``max-lateness`` (unset: by the type)."""
    sink = make_filter("nullsink", sync=True, **{"max-lateness": 100})
    assert (sink.sync, sink.max_lateness) == (True, 100)
    assert make_filter("nullsink").max_lateness is None
    with pytest.raises(ValueError):
        make_filter("nullsink", **{"max-lateness": -2})


def _late_run(graph: FilterGraph, clock: ManualClock, max_lateness: int) -> tuple[Any, Any]:
    """Eight 40 ms samples into a sync renderer; the clock jumps to just past sample 3's
    time while the renderer waits for sample 0; returns once it waits for sample 4."""
    source, sink = Numbered(8), Recorder(sync=True, max_lateness=max_lateness)
    graph.connect_chain(source, sink)
    graph.Run()
    wait_until(lambda: waiting_for_clock(clock))  # the renderer, for sample 0 at START
    clock.set_time(START + 3 * P + 1)
    wait_until(lambda: waiting_for_clock(clock) and len(sink.data) + sink.dropped >= 4)
    return source, sink


def _famine(late: int, timestamp: int) -> Quality:
    return Quality(FAMINE, 1000 * P // (P + late), late, timestamp)


@pytest.mark.timeout(30)
def test_a_sync_renderer_drops_what_is_later_than_max_lateness(
    graph: FilterGraph, clock: ManualClock
) -> None:
    """Woken 3P late for sample 0, then given samples 1 to 3 late by 2P, P and 100 ns, a
    renderer allowing 20 ms drops 0 to 2, presents 3 late, and sends one Famine message
    upstream for each (late by how much, the sample's start, the proportion kept); the
    next sample is on time."""
    source, sink = _late_run(graph, clock, 200_000)
    assert (sink.dropped, sink.late, sink.rendered) == (3, 1, 1)
    assert sink.numbers() == [3]
    assert [quality for _thread, quality in source.quality] == [
        _famine(3 * P + 1, 0),
        _famine(2 * P + 1, P),
        _famine(P + 1, 2 * P),
        _famine(1, 3 * P),
    ]
    assert [q.proportion for _t, q in source.quality] == [249, 333, 499, 999]
    clock.set_time(START + 4 * P)
    wait_until(lambda: sink.rendered == 2)
    assert (sink.dropped, sink.late) == (3, 1)
    report = collect_report(graph, completion="EC_COMPLETE", seconds=1.0)
    assert (report.dropped, report.late) == ({"sink": 3}, {"sink": 1})


@pytest.mark.timeout(30)
def test_a_renderer_that_never_drops_counts_late_samples(
    graph: FilterGraph, clock: ManualClock
) -> None:
    """With max_lateness -1 nothing is dropped: sample 0, which the renderer waited for, is
    on time however late the clock woke it; samples 1 to 3 arrived late and count as late."""
    source, sink = _late_run(graph, clock, -1)
    assert (sink.dropped, sink.late, sink.rendered) == (0, 3, 4)
    assert sink.numbers() == [0, 1, 2, 3]
    assert [q.late for _t, q in source.quality] == [2 * P + 1, P + 1, 1]


@pytest.mark.timeout(30)
def test_counters_start_over_when_the_renderer_leaves_stopped(
    graph: FilterGraph, clock: ManualClock
) -> None:
    """``dropped``, ``late`` and ``rendered`` are per run."""
    _source, sink = _late_run(graph, clock, 200_000)
    graph.Stop()
    assert (sink.dropped, sink.late) == (3, 1)
    graph.Pause()
    assert (sink.dropped, sink.late, sink.rendered) == (0, 0, 0)


# -- quality messages -------------------------------------------------------------------------


def test_quality_is_a_frozen_value() -> None:
    """``Quality`` holds a type, a proportion (> 0) and two REFERENCE_TIMEs, and is frozen."""
    quality = Quality(FLOOD, 1000, -5, 7)
    assert (quality.type, quality.proportion, quality.late, quality.timestamp) == (
        FLOOD,
        1000,
        -5,
        7,
    )
    assert (int(FAMINE), int(FLOOD)) == (0, 1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        quality.late = 0  # type: ignore[misc]
    for args, error in (
        ((0, 1000, 0, 0), TypeError),
        ((FAMINE, 0, 0, 0), ValueError),
        ((FAMINE, 2**31, 0, 0), ValueError),
        ((FAMINE, 1000.0, 0, 0), TypeError),
        ((FAMINE, 1000, 1.5, 0), TypeError),
        ((FAMINE, 1000, 0, 2**63), ValueError),
    ):
        with pytest.raises(error):
            Quality(*args)  # type: ignore[arg-type]


def test_iqualitycontrol_is_declared_with_its_iid() -> None:
    """IQualityControl carries IID_IQualityControl, is exported from both packages, and
    renderers and the queue's output pin provide it."""
    assert IQualityControl.getDirectTaggedValue("iid") == UUID(
        "56a868a5-0ad4-11ce-b03a-0020af0ba770"
    )
    assert dshow_alloc.IQualityControl is interfaces.IQualityControl is IQualityControl
    assert "IQualityControl" in interfaces.__all__ and "IQualityControl" in dshow_alloc.__all__
    for quality_control in (RendererFilter(), NullRenderer(), QueueFilter().output):
        assert verifyObject(IQualityControl, quality_control)
        assert quality_control.QueryInterface(IQualityControl) is quality_control


def test_set_sink_redirects_a_renderers_messages(graph: FilterGraph) -> None:
    """A renderer sends its messages to the sink SetSink gave (itself the sender), not
    upstream; SetSink(None) sends them upstream again; anything else is a TypeError."""
    source, sink = Numbered(1), Recorder()
    graph.connect_chain(source, sink)
    manager = QualitySink(handled=False)
    sink.SetSink(manager)
    quality = Quality(FAMINE, 500, 10, 20)
    assert sink.Notify(sink, quality) is False
    assert manager.messages == [(sink, quality)] and source.quality == []
    with pytest.raises(TypeError):
        sink.SetSink(object())
    assert sink.send_quality(quality) is False and len(manager.messages) == 2
    sink.SetSink(None)
    assert sink.send_quality(quality) is True
    assert [q for _t, q in source.quality] == [quality]
    with pytest.raises(TypeError):
        sink.Notify(sink, "late")  # type: ignore[arg-type]


def test_quality_travels_upstream_through_queues_and_transforms(graph: FilterGraph) -> None:
    """A message from the renderer passes a transform and a queue (whose output pin is an
    IQualityControl) to the source; False when the source does not handle it either."""
    source, queue = Numbered(1), QueueFilter()
    middle, sink = Delaying(0, 0), Recorder()
    graph.connect_chain(source, middle, queue, sink)
    quality = Quality(FAMINE, 800, 1, 2)
    assert pass_quality(sink.input, sink, quality) is True
    assert [q for _t, q in source.quality] == [quality]
    source.handles = False
    assert sink.send_quality(quality) is False
    assert len(source.quality) == 2
    spy = QualitySink()
    queue.output.SetSink(spy)
    assert sink.send_quality(quality) is True
    assert spy.messages == [(queue, quality)] and len(source.quality) == 2
    with pytest.raises(TypeError):
        queue.output.SetSink(1)
    assert pass_quality(Recorder().input, sink, quality) is False  # not connected


# -- the test sources -------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_videotestsrc_is_live(graph: FilterGraph, clock: ManualClock) -> None:
    """``videotestsrc is-live=true`` makes frame i when the clock reaches i/30 s, stamps it
    with that time, has one frame of latency and cannot seek."""
    pytest.importorskip("numpy")
    frame = 333_333
    source = make_filter("videotestsrc", **{"is-live": True, "num-buffers": 10})
    sink = Recorder()
    graph.connect_chain(source, sink)
    assert source.is_live is True and source.GetCapabilities() == 0
    assert source.latency() == (frame, frame)
    with pytest.raises(NotImplError):
        source.SetPositions(0, AM_SEEKING_AbsolutePositioning, None, 0)
    graph.Run()
    wait_until(lambda: waiting_for_clock(clock))
    clock.set_time(START + frame)
    wait_until(lambda: source.output.delivered == 2 and waiting_for_clock(clock))
    assert sink.times == [(0, frame), (frame, 666_666)]
    assert make_filter("videotestsrc").is_live is False


def test_audiotestsrc_is_live(graph: FilterGraph) -> None:
    """``audiotestsrc is-live=true`` has one buffer of latency and cannot seek."""
    pytest.importorskip("numpy")
    source = make_filter("audiotestsrc", **{"is-live": True, "num-buffers": 4})
    graph.connect_chain(source, Recorder())
    assert source.is_live is True and source.GetCapabilities() == 0
    assert source.latency() == (1024 * 10_000_000 // 44_100,) * 2
    assert graph.query_latency() == (True, 232_199, 232_199)
    graph.Pause()
    assert graph.get_state_code(0) == (PAUSED, HRESULT.VFW_S_CANT_CUE)
    assert make_filter("audiotestsrc", **{"num-buffers": 4}).GetCapabilities() != 0


@pytest.mark.timeout(30)
def test_videotestsrc_skips_the_frames_it_is_told_are_late() -> None:
    """Told by the renderer (while it holds frame 0) that it is 5 frames late, the test
    source skips frames 1 to 4 without drawing them: the renderer gets 0, 5, 6, 7."""
    pytest.importorskip("numpy")
    frame = 333_333
    source = make_filter("videotestsrc", **{"num-buffers": 8})
    sink = Recorder(hold=True)
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        graph.Run()
        try:
            assert sink.holding.wait(10)
            assert sink.Notify(sink, Quality(FAMINE, 200, 5 * frame - 10, 10)) is True
            assert sink.Notify(sink, Quality(FLOOD, 2000, -frame, 0)) is False  # ignored
        finally:
            sink.gate.set()
        assert graph.WaitForCompletion(10_000) == dshow_alloc.EC_COMPLETE
        starts = [times[0] for times in sink.times if times]
        assert starts == [0, 1_666_666, 2_000_000, 2_333_333]  # frames 0, 5, 6 and 7
        assert source.skipped == 4
        graph.Stop()
        graph.Pause()  # a new run starts at frame 0, nothing skipped
        assert source.skipped == 0


@pytest.mark.timeout(30)
def test_live_video_late_at_the_renderer_is_dropped_and_skipped(
    graph: FilterGraph, clock: ManualClock
) -> None:
    """Live video into ``nullsink sync=true`` (20 ms for video): the clock jumps 5 frames
    past frame 0's time, the renderer drops frame 0 (4 frames late after its latency of one
    frame) and says so, the source skips frames 1 to 3 and makes frame 4 at once, which is
    on time; frame 5, made at once too, is presented at its time."""
    pytest.importorskip("numpy")
    frame = 333_333
    source = make_filter("videotestsrc", **{"is-live": True})
    sink = make_filter("nullsink", sync=True)
    graph.connect_chain(source, sink)
    graph.Run()
    wait_until(lambda: waiting_for_clock(clock))  # the source, for frame 0
    clock.set_time(START)
    wait_until(lambda: source.output.delivered == 0 and waiting_for_clock(clock))
    clock.set_time(START + 5 * frame + 1)  # frame 0 was due at START + frame (its latency)
    wait_until(lambda: sink.rendered == 1 and waiting_for_clock(clock))
    assert (sink.dropped, sink.late, source.skipped) == (1, 0, 3)
    assert source.output.delivered == 2  # frames 0 and 4; frame 5 waits for its time
    assert graph.query_latency() == (True, frame, frame)
    clock.set_time(START + 2_000_000 - 1)  # frame 5 starts at 1_666_666, plus the latency
    wait_until(lambda: sink.rendered == 2 and waiting_for_clock(clock))
    assert (sink.dropped, sink.late, source.skipped) == (1, 0, 3)


# -- the end-of-run table ---------------------------------------------------------------------


def test_the_table_shows_dropped_and_late_when_a_filter_can_drop() -> None:
    """With renderers or queues that can drop, the filter table has dropped and late columns
    (blank where a filter cannot have them), and a queue gets a row of its own."""
    report = RunReport(
        "EC_COMPLETE",
        0.5,
        {"src": 10},
        {"sink": 4},
        [],
        {},
        [],
        {"sink": 3, "queue": 3},
        {"sink": 1},
    )
    assert report.format() == "\n".join(
        [
            "EC_COMPLETE after 0.500 s: 10 samples from 1 source(s), 20.0 samples/s",
            "  filter           samples  copies  dropped  late",
            "  ---------------  -------  ------  -------  ----",
            "  src (source)          10       0",
            "  sink (renderer)        4       0        3     1",
            "  queue                          0        3",
            "events: none",
        ]
    )
    plain = RunReport("EC_COMPLETE", 0.5, {"src": 1}, {"sink": 1}, [], {}, [])
    assert (plain.dropped, plain.late) == ({}, {})
    assert "dropped" not in plain.format()


@pytest.mark.timeout(60)
def test_bench_live_row_accounts_for_every_frame() -> None:
    """The live benchmark's figures add up: every frame made is rendered or dropped by the
    queue (it checks too that the source never waited for a sample: its pool has room for
    the queue)."""
    run = bench_live_leaky(20, period=50_000, work=0.012)
    assert run.frames == 20
    assert run.rendered + run.dropped == 20
    assert run.dropped > 0  # 12 ms a sample cannot keep up with one every 5 ms
    assert 0 <= run.mean_latency <= run.max_latency


@pytest.mark.timeout(30)
def test_videotestsrc_fills_a_new_sample_while_its_filter_lock_is_held() -> None:
    """A frame drawn into a sample the source has not seen (its views made then) does not
    wait for the filter lock, which Stop holds while it joins the streaming thread: a stop
    never stalls on the stream it is stopping."""
    pytest.importorskip("numpy")
    from dshow_alloc import AllocatorProperties, MemAllocator

    source = make_filter("videotestsrc", **{"num-buffers": 100})
    sink = Recorder(hold=True)
    pool = MemAllocator()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        size = source.output.ConnectionMediaType().sample_size
        pool.SetProperties(AllocatorProperties(1, size, 1, 0))
        pool.Commit()
        graph.Run()
        try:
            assert sink.holding.wait(10)  # the streaming thread waits in the renderer
            done = threading.Event()
            sample = pool.GetBuffer()

            def fill() -> None:
                source.FillBuffer(sample)
                done.set()

            with source.lock:  # as Stop holds it
                drawer = threading.Thread(target=fill, name="drawer")
                drawer.start()
                assert done.wait(10)
            drawer.join(10)
            sample.Release()
        finally:
            sink.gate.set()
        graph.Stop()
    pool.Decommit()
