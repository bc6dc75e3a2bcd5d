"""The filter graph manager (`FilterGraph`): building, state changes, the clock and events.

Graphs here are made of small subclasses of the base classes (a counting source, an in-place
"add one" transform, a copying "invert" transform) and the built-in elements. Waiting for
another thread is done with `wait_until` (a bounded poll of a state, never a timing
assertion), and every test stops its graph.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from dshow_alloc import (
    EC_CLOCK_CHANGED,
    EC_COMPLETE,
    EC_USERABORT,
    HRESULT,
    AbortError,
    AllocatorProperties,
    BaseFilter,
    CollectingRenderer,
    FilterGraph,
    FilterInfo,
    FilterState,
    InvalidArgError,
    ManualClock,
    MediaType,
    NullRenderer,
    PointerError,
    QueueFilter,
    SourceFilter,
    SystemClock,
    Tee,
    TransformFilter,
    TransInPlaceFilter,
    VfwNotConnectedError,
    VfwNotFoundError,
    VfwNotInGraphError,
    VfwNotStoppedError,
    VfwSizeNotSetError,
)
from dshow_alloc.testing.checks import raises_hresult
from dshow_alloc.testing.graph import assert_all_home, wait_until

SIZE = 64
COUNT = 40
DURATION = 1_000
"""Each sample lasts 1000 units (100 us) of stream time."""
RUN_LATENCY_UNITS = 100_000
"""What Run adds to the clock's time for stream time 0 (10 ms, as DirectShow's graph)."""

STOPPED = FilterState.State_Stopped
PAUSED = FilterState.State_Paused
RUNNING = FilterState.State_Running

T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------------------


def payload(index: int) -> bytes:
    """The bytes the counting source puts in sample ``index``."""
    return bytes((index * 7 + k) % 256 for k in range(SIZE))


def expected_after_chain(index: int) -> bytes:
    """Sample ``index`` after AddOne then Invert, computed without the filters."""
    return bytes(((b + 1) % 256) ^ 0xFF for b in payload(index))


class CountingSource(SourceFilter):
    """``count`` samples (None: endless) of SIZE bytes, sample i at [start + i*D, +D); Stop
    rewinds to sample 0."""

    def __init__(
        self,
        count: int | None = COUNT,
        *,
        name: str | None = None,
        timed: bool = True,
        start: int = 0,
        buffers: int = 4,
    ) -> None:
        super().__init__(name=name, buffer_size=SIZE, buffers=buffers)
        self.count = count
        self.timed = timed
        self.first = start
        self.index = 0

    def Stop(self) -> None:
        super().Stop()
        self.index = 0  # the streaming thread has ended: the next run starts over

    def FillBuffer(self, sample: Any) -> bool:
        if self.count is not None and self.index >= self.count:
            return False
        sample.GetPointer()[:SIZE] = payload(self.index % 1000)
        sample.SetActualDataLength(SIZE)
        if self.timed:
            begin = self.first + self.index * DURATION
            sample.SetTime(begin, begin + DURATION)
        else:
            sample.SetTime(None)
        self.index += 1
        return True


class AddOne(TransInPlaceFilter):
    """Adds one (mod 256) to every byte, in place."""

    def Transform(self, sample: Any) -> bool:
        length = sample.GetActualDataLength()
        view = sample.GetPointer()
        view[:length] = bytes((b + 1) % 256 for b in view[:length])
        return True


class Invert(TransformFilter):
    """Writes every byte XOR 0xFF into a new output sample."""

    def Transform(self, in_sample: Any, out_sample: Any) -> bool:
        length = in_sample.GetActualDataLength()
        out_sample.GetPointer()[:length] = bytes(b ^ 0xFF for b in in_sample.GetPointer()[:length])
        out_sample.SetActualDataLength(length)
        return True


class StateRecorder(NullRenderer):
    """A null renderer that records every state change it goes through."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.changes: list[tuple[FilterState, FilterState]] = []

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        self.changes.append((old, new))
        super().state_changed(old, new)


class GatedSource(CountingSource):
    """A counting source whose FillBuffer waits for ``gate`` before the first sample."""

    def __init__(self, count: int | None = COUNT) -> None:
        super().__init__(count)
        self.gate = threading.Event()

    def FillBuffer(self, sample: Any) -> bool:
        self.gate.wait()
        return super().FillBuffer(sample)


def new_threads(before: set[threading.Thread]) -> list[str]:
    """Names of live threads not in ``before`` (the clock's advise helper aside)."""
    return [
        t.name
        for t in threading.enumerate()
        if t not in before and t.is_alive() and t.name != "SystemClock-advise"
    ]


@pytest.fixture
def manual() -> ManualClock:
    """A ManualClock at time 1."""
    return ManualClock()


@pytest.fixture
def graph(manual: ManualClock) -> Iterator[FilterGraph]:
    """A graph on the ManualClock, stopped at teardown."""
    with FilterGraph(clock=manual) as made:
        yield made


# -- building ---------------------------------------------------------------------------------


def test_add_filter_returns_unique_names(graph: FilterGraph) -> None:
    """Adding filters under a taken name appends " 0001", " 0002", ... to it."""
    names = [graph.AddFilter(NullRenderer(), "X") for _ in range(3)]
    assert names == ["X", "X 0001", "X 0002"]
    assert [f.name for f in graph.EnumFilters()] == names


def test_add_filter_default_name_comes_from_the_filter(graph: FilterGraph) -> None:
    """Without a name the filter's own name is used: the one it was made with, else its class
    name."""
    assert graph.AddFilter(NullRenderer(name="sink")) == "sink"
    assert graph.AddFilter(NullRenderer()) == "NullRenderer"
    assert graph.AddFilter(NullRenderer()) == "NullRenderer 0001"
    assert graph.AddFilter(Tee(name="sink")) == "sink 0001"


def test_add_filter_joins_the_graph(graph: FilterGraph) -> None:
    """AddFilter tells the filter its name and graph (JoinFilterGraph) and its clock."""
    renderer = NullRenderer()
    assert renderer.QueryFilterInfo() == FilterInfo("", None)
    name = graph.AddFilter(renderer, "the sink")
    assert name == "the sink"
    info = renderer.QueryFilterInfo()
    assert info.name == "the sink"
    assert info.graph is graph
    assert renderer.name == "the sink"
    assert renderer.GetSyncSource() is graph.GetSyncSource()


def test_add_same_filter_twice_is_invalidarg(graph: FilterGraph) -> None:
    """A filter already in the graph cannot be added again, under any name: E_INVALIDARG."""
    renderer = NullRenderer()
    graph.AddFilter(renderer, "a")
    with pytest.raises(InvalidArgError) as info:
        graph.AddFilter(renderer, "b")
    assert info.value.hresult == HRESULT.E_INVALIDARG
    assert isinstance(info.value, ValueError)
    assert graph.EnumFilters() == [renderer]
    assert renderer.QueryFilterInfo().name == "a"


def test_add_none_is_pointer(graph: FilterGraph) -> None:
    """AddFilter(None) raises E_POINTER."""
    with raises_hresult(PointerError, HRESULT.E_POINTER):
        graph.AddFilter(None)
    assert graph.EnumFilters() == []


@pytest.mark.timeout(20)
def test_add_and_remove_while_running_is_not_stopped(graph: FilterGraph) -> None:
    """AddFilter and RemoveFilter on a running graph raise VFW_E_NOT_STOPPED and change
    nothing."""
    source, sink = CountingSource(None), NullRenderer()
    graph.connect_chain(source, sink)
    graph.Run()
    late = NullRenderer()
    with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
        graph.AddFilter(late)
    with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
        graph.RemoveFilter(sink)
    graph.Stop()
    assert graph.EnumFilters() == [source, sink]
    assert late.QueryFilterInfo() == FilterInfo("", None)
    assert source.output.ConnectedTo() is sink.input


def test_remove_filter_disconnects_both_ends(graph: FilterGraph) -> None:
    """RemoveFilter disconnects each connected pin of the filter and its peer, and the
    filter leaves the graph (no name, no graph)."""
    source, middle, sink = CountingSource(), AddOne(), NullRenderer()
    graph.connect_chain(source, middle, sink)
    graph.RemoveFilter(middle)
    assert graph.EnumFilters() == [source, sink]
    for pin in (source.output, middle.input, middle.output, sink.input):
        with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
            pin.ConnectedTo()
    assert middle.QueryFilterInfo() == FilterInfo("", None)
    with raises_hresult(VfwNotFoundError, HRESULT.VFW_E_NOT_FOUND):
        graph.FindFilterByName("AddOne")


def test_remove_unknown_filter_is_not_found(graph: FilterGraph) -> None:
    """RemoveFilter of a filter that is not in the graph raises VFW_E_NOT_FOUND."""
    graph.AddFilter(NullRenderer())
    stranger = NullRenderer()
    with raises_hresult(VfwNotFoundError, HRESULT.VFW_E_NOT_FOUND):
        graph.RemoveFilter(stranger)
    assert len(graph.EnumFilters()) == 1


def test_enum_filters_in_order_added(graph: FilterGraph) -> None:
    """EnumFilters lists the filters in the order they were added, as a new list."""
    filters = [NullRenderer(), Tee(), CountingSource(), AddOne()]
    for filter in filters:
        graph.AddFilter(filter)
    listed = graph.EnumFilters()
    assert listed == filters
    listed.clear()
    assert graph.EnumFilters() == filters
    graph.RemoveFilter(filters[1])
    assert graph.EnumFilters() == [filters[0], filters[2], filters[3]]


def test_find_filter_by_name(graph: FilterGraph) -> None:
    """FindFilterByName returns the filter under the name AddFilter returned, and raises
    VFW_E_NOT_FOUND for any other name."""
    first, second = NullRenderer(), NullRenderer()
    graph.AddFilter(first, "r")
    name = graph.AddFilter(second, "r")
    assert graph.FindFilterByName("r") is first
    assert graph.FindFilterByName(name) is second
    with raises_hresult(VfwNotFoundError, HRESULT.VFW_E_NOT_FOUND):
        graph.FindFilterByName("r 0002")


@pytest.mark.parametrize("outside", ["output", "input"])
def test_connect_direct_pin_outside_graph(graph: FilterGraph, outside: str) -> None:
    """ConnectDirect with a pin whose filter is not in the graph raises VFW_E_NOT_IN_GRAPH
    and connects nothing."""
    source, sink = CountingSource(), NullRenderer()
    graph.AddFilter(sink if outside == "output" else source)
    with raises_hresult(VfwNotInGraphError, HRESULT.VFW_E_NOT_IN_GRAPH):
        graph.ConnectDirect(source.output, sink.input)
    assert not source.output.is_connected()
    assert not sink.input.is_connected()


def test_connect_direct_with_a_type(graph: FilterGraph) -> None:
    """ConnectDirect with a full media type connects the pins with exactly that type."""
    source, sink = CountingSource(), NullRenderer()
    graph.AddFilter(source)
    graph.AddFilter(sink)
    graph.ConnectDirect(source.output, sink.input, source.media_type)
    assert source.output.ConnectedTo() is sink.input
    assert sink.input.ConnectedTo() is source.output
    assert sink.input.ConnectionMediaType() == source.media_type


def test_connect_finds_a_type(graph: FilterGraph) -> None:
    """Connect connects two pins of graph filters with a type they agree on."""
    source, sink = CountingSource(), NullRenderer()
    graph.AddFilter(source)
    graph.AddFilter(sink)
    graph.Connect(source.output, sink.input)
    assert source.output.ConnectedTo() is sink.input
    assert sink.input.ConnectionMediaType() == source.media_type
    assert source.output.ConnectionMediaType() == source.media_type


def test_disconnect_is_one_side(graph: FilterGraph) -> None:
    """Disconnect(pin) disconnects that pin only and returns True; False when it was not
    connected."""
    source, sink = CountingSource(), NullRenderer()
    graph.connect_chain(source, sink)
    assert graph.Disconnect(source.output) is True
    assert not source.output.is_connected()
    assert sink.input.ConnectedTo() is source.output
    assert graph.Disconnect(source.output) is False
    assert graph.Disconnect(sink.input) is True
    assert not sink.input.is_connected()


def test_connect_chain_adds_and_connects(graph: FilterGraph) -> None:
    """connect_chain adds the filters not in the graph yet (keeping those that are) and
    connects each to the next."""
    source, middle, copier, sink = CountingSource(), AddOne(), Invert(), CollectingRenderer()
    graph.AddFilter(middle, "mine")
    graph.connect_chain(source, middle, copier, sink)
    assert graph.EnumFilters() == [middle, source, copier, sink]
    assert middle.name == "mine"
    assert source.output.ConnectedTo() is middle.input
    assert middle.output.ConnectedTo() is copier.input
    assert copier.output.ConnectedTo() is sink.input


@pytest.mark.timeout(20)
def test_context_manager_stops_the_graph(manual: ManualClock) -> None:
    """Leaving the ``with`` block stops the graph and every filter, even on an exception."""
    source, sink = CountingSource(None), CollectingRenderer(sync=True)
    with pytest.raises(RuntimeError), FilterGraph(clock=manual) as graph:
        graph.connect_chain(source, sink)
        graph.Run()
        assert graph.GetState(0) is RUNNING
        raise RuntimeError("leave")
    assert graph.GetState(0) is STOPPED
    assert source.GetState(0) is STOPPED
    assert sink.GetState(0) is STOPPED
    assert_all_home(graph)


# -- state --------------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_state_transitions_reach_every_filter(graph: FilterGraph) -> None:
    """Pause, Run, Pause and Stop put the graph and every filter in that state."""
    source = CountingSource(None)
    chain = [source, AddOne(), Invert(), QueueFilter(), CollectingRenderer(sync=True)]
    graph.connect_chain(*chain)
    assert graph.GetState(0) is STOPPED
    for step, state in (
        (graph.Pause, PAUSED),
        (graph.Run, RUNNING),
        (graph.Pause, PAUSED),
        (graph.Run, RUNNING),
        (graph.Stop, STOPPED),
        (graph.Run, RUNNING),
        (graph.Stop, STOPPED),
    ):
        step()
        assert graph.GetState(5000) is state
        assert [f.GetState(0) for f in chain] == [state] * len(chain)
    assert_all_home(graph)


@pytest.mark.timeout(20)
def test_run_from_stopped_pauses_first(graph: FilterGraph) -> None:
    """Run on a stopped graph takes every filter through Paused to Running; Stop brings it
    back."""
    recorder = StateRecorder()
    graph.connect_chain(CountingSource(), recorder)
    graph.Run()
    graph.Stop()
    assert recorder.changes == [(STOPPED, PAUSED), (PAUSED, RUNNING), (RUNNING, STOPPED)]


@pytest.mark.timeout(20)
def test_run_twice_and_pause_twice_change_nothing(graph: FilterGraph) -> None:
    """Run on a running graph and Pause on a paused graph make no further transition."""
    recorder = StateRecorder()
    graph.connect_chain(CountingSource(), recorder)
    graph.Pause()
    graph.Pause()
    graph.Run()
    graph.Run()
    graph.Stop()
    graph.Stop()
    assert recorder.changes == [(STOPPED, PAUSED), (PAUSED, RUNNING), (RUNNING, STOPPED)]


@pytest.mark.timeout(20)
def test_get_state_waits_for_renderer_preroll(graph: FilterGraph) -> None:
    """A paused graph's GetState waits for the renderer's first sample: prerolled only once
    a sample arrived."""
    source, sink = GatedSource(), CollectingRenderer()
    graph.connect_chain(source, sink)
    try:
        graph.Pause()
        assert graph.GetState(0) is PAUSED
        assert sink.is_prerolled() is False
        source.gate.set()
        assert graph.GetState(10_000) is PAUSED
        assert sink.is_prerolled() is True
        assert sink.rendered == 0
    finally:
        source.gate.set()
        graph.Stop()
    assert sink.is_prerolled() is False
    assert_all_home(graph)


class ZeroSizeSource(CountingSource):
    """Sizes its allocator with 0-byte samples, so that Commit (at Pause) fails."""

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        allocator.SetProperties(AllocatorProperties(1, 0, 1, 0))


@pytest.mark.timeout(20)
def test_failed_pause_stops_every_filter(graph: FilterGraph) -> None:
    """A filter failing to pause (its allocator cannot commit) makes Pause and Run raise that
    error with every filter stopped again."""
    chain = [ZeroSizeSource(), AddOne(), CollectingRenderer()]
    graph.connect_chain(*chain)
    for step in (graph.Pause, graph.Run):
        with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
            step()
        assert graph.GetState(0) is STOPPED
        assert [f.GetState(0) for f in chain] == [STOPPED] * 3


def test_default_clock_is_a_system_clock() -> None:
    """A graph made without a clock uses a SystemClock and gives it to its filters."""
    with FilterGraph() as graph:
        clock = graph.GetSyncSource()
        assert isinstance(clock, SystemClock)
        sink = NullRenderer()
        graph.AddFilter(sink)
        assert sink.GetSyncSource() is clock


def test_set_sync_source_reaches_every_filter(graph: FilterGraph, manual: ManualClock) -> None:
    """SetSyncSource gives every filter the clock (None: no clock), filters added later
    too, and reports EC_CLOCK_CHANGED."""
    filters: list[BaseFilter] = [CountingSource(), AddOne(), NullRenderer()]
    graph.connect_chain(*filters)
    assert [f.GetSyncSource() for f in filters] == [manual] * 3
    graph.SetSyncSource(None)
    assert graph.GetSyncSource() is None
    assert [f.GetSyncSource() for f in filters] == [None] * 3
    other = ManualClock(50)
    graph.SetSyncSource(other)
    assert graph.GetSyncSource() is other
    assert [f.GetSyncSource() for f in filters] == [other] * 3
    late = Tee()
    graph.AddFilter(late)
    assert late.GetSyncSource() is other
    assert graph.events() == [(EC_CLOCK_CHANGED, 0, 0), (EC_CLOCK_CHANGED, 0, 0)]


@pytest.mark.timeout(20)
def test_set_sync_source_while_running_is_not_stopped(
    graph: FilterGraph, manual: ManualClock
) -> None:
    """SetSyncSource on a running (or paused) graph raises VFW_E_NOT_STOPPED and keeps the
    clock."""
    source, sink = CountingSource(None), NullRenderer()
    graph.connect_chain(source, sink)
    graph.Run()
    with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
        graph.SetSyncSource(ManualClock())
    graph.Pause()
    with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
        graph.SetSyncSource(None)
    graph.Stop()
    assert graph.GetSyncSource() is manual
    assert sink.GetSyncSource() is manual


# -- events -------------------------------------------------------------------------------------


def test_get_event_on_empty_queue_aborts(graph: FilterGraph) -> None:
    """GetEvent with nothing queued raises E_ABORT (0x80004004) when the time is up."""
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.GetEvent(0)
    with pytest.raises(AbortError) as info:
        graph.GetEvent(5)
    assert info.value.hresult == 0x80004004


@pytest.mark.timeout(20)
def test_wait_for_completion_times_out(graph: FilterGraph) -> None:
    """WaitForCompletion raises E_ABORT while the stream has not ended."""
    source, sink = CountingSource(), CollectingRenderer(sync=True)
    graph.connect_chain(source, sink)
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(0)
    graph.Run()  # the manual clock never moves: the renderer waits on the first sample
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(0)
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(20)
    graph.Stop()
    assert graph.events() == []


@pytest.mark.timeout(30)
def test_complete_only_when_every_renderer_saw_end_of_stream(
    graph: FilterGraph, manual: ManualClock
) -> None:
    """With two renderers behind a tee, EC_COMPLETE comes once, after both have seen end of
    stream, with param1 0."""
    source, tee = CountingSource(buffers=COUNT + 2), Tee()  # the queue may hold them all
    fast = CollectingRenderer(name="fast")
    queue, slow = QueueFilter(max_size=COUNT + 1), CollectingRenderer(name="slow", sync=True)
    graph.connect_chain(source, tee, fast)
    graph.connect_chain(tee, queue, slow)
    graph.Run()
    wait_until(lambda: fast.input.end_of_stream)
    assert fast.rendered == COUNT
    # The slow renderer still waits on the clock for its first sample.
    wait_until(lambda: manual.pending() == 1)
    assert slow.rendered == 0
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(0)
    assert graph.events() == []
    manual.advance(RUN_LATENCY_UNITS + COUNT * DURATION)
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert slow.rendered == COUNT
    events = graph.events()
    assert events == [(EC_COMPLETE, 0, 0)]
    graph.Stop()
    assert fast.data == slow.data == [payload(i) for i in range(COUNT)]
    assert_all_home(graph)


@pytest.mark.timeout(20)
def test_end_of_stream_while_paused_completes_at_run(graph: FilterGraph) -> None:
    """End of stream reaching a paused renderer completes the pause; EC_COMPLETE is reported
    only when the graph runs."""
    sink = CollectingRenderer()
    graph.connect_chain(CountingSource(0), sink)
    graph.Pause()
    assert graph.GetState(10_000) is PAUSED
    assert sink.is_prerolled() is True
    wait_until(lambda: sink.input.end_of_stream)
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(0)
    assert graph.events() == []
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert graph.events() == [(EC_COMPLETE, 0, 0)]
    assert sink.rendered == 0


def test_user_abort(graph: FilterGraph) -> None:
    """abort() reports EC_USERABORT: WaitForCompletion returns it and GetEvent yields it."""
    graph.abort()
    assert graph.WaitForCompletion(0) == EC_USERABORT
    assert graph.GetEvent(0) == (EC_USERABORT, 0, 0)
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.GetEvent(0)


@pytest.mark.timeout(20)
def test_user_abort_while_running(graph: FilterGraph) -> None:
    """abort() on a running graph ends WaitForCompletion with EC_USERABORT."""
    graph.connect_chain(CountingSource(None), CollectingRenderer(sync=True))
    graph.Run()
    waiter_result: list[int] = []
    waiter = threading.Thread(target=lambda: waiter_result.append(graph.WaitForCompletion(-1)))
    waiter.start()
    graph.abort()
    waiter.join(10)
    assert waiter_result == [EC_USERABORT]
    graph.Stop()


@pytest.mark.timeout(20)
def test_events_stay_queued_after_wait_for_completion(graph: FilterGraph) -> None:
    """WaitForCompletion leaves the events in the queue; GetEvent then yields them once."""
    graph.connect_chain(CountingSource(3), CollectingRenderer())
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert graph.WaitForCompletion(0) == EC_COMPLETE
    assert graph.GetEvent(0) == (EC_COMPLETE, 0, 0)
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.GetEvent(0)
    graph.Stop()


@pytest.mark.timeout(30)
def test_completion_starts_over_after_stop(graph: FilterGraph) -> None:
    """A completion belongs to one run: after Stop and Run the graph waits again."""
    source, sink = CountingSource(3), CollectingRenderer()
    graph.connect_chain(source, sink)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    source.count = None  # endless now
    graph.Run()
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(0)
    graph.Stop()
    assert graph.events() == [(EC_COMPLETE, 0, 0)]


# -- the whole graph ---------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_done_when_graph_runs_to_completion(graph: FilterGraph) -> None:
    """Source -> in-place -> copying transform -> tee -> (queue -> renderer, renderer) runs
    to EC_COMPLETE; both renderers get every sample transformed, in order."""
    source, add_one, invert, tee = CountingSource(buffers=4), AddOne(), Invert(), Tee()
    queue, behind_queue = QueueFilter(max_size=4), CollectingRenderer(name="behind queue")
    direct = CollectingRenderer(name="direct")
    graph.connect_chain(source, add_one, invert, tee, queue, behind_queue)
    graph.connect_chain(tee, direct)
    assert [pin.QueryId() for pin in tee.EnumPins()] == ["Input", "Output1", "Output2", "Output3"]
    graph.Run()
    assert graph.WaitForCompletion(20_000) == EC_COMPLETE
    graph.Stop()
    expected = [expected_after_chain(i) for i in range(COUNT)]
    assert behind_queue.data == expected
    assert direct.data == expected
    times = [(i * DURATION, (i + 1) * DURATION) for i in range(COUNT)]
    assert behind_queue.times == direct.times == times
    assert behind_queue.rendered == direct.rendered == COUNT
    assert graph.events() == [(EC_COMPLETE, 0, 0)]
    assert_all_home(graph)


# -- Stop from anywhere ------------------------------------------------------------------------

FAR = 10**12
"""A stream time about 28 hours away."""


def _build_far_future(graph: FilterGraph) -> None:
    graph.SetSyncSource(SystemClock())
    graph.connect_chain(CountingSource(None, start=FAR), CollectingRenderer(sync=True))
    graph.Run()


def _build_queue_full(graph: FilterGraph) -> None:
    queue = QueueFilter(max_size=2)
    graph.connect_chain(CountingSource(None, buffers=8), queue, CollectingRenderer(sync=True))
    graph.Run()  # the manual clock never moves: the queue fills, the source blocks


def _build_source_blocked(graph: FilterGraph) -> None:
    tee = Tee()
    graph.connect_chain(CountingSource(None, buffers=2), tee, QueueFilter(), NullRenderer())
    graph.connect_chain(tee, CollectingRenderer(sync=True))
    graph.Run()  # one branch waits on the clock: the source blocks for a sample or a Receive


def _build_paused(graph: FilterGraph) -> None:
    graph.connect_chain(CountingSource(None), AddOne(), Invert(), CollectingRenderer())
    graph.Pause()  # the renderer holds its first sample


def _build_streaming(graph: FilterGraph) -> None:
    tee = Tee()
    graph.connect_chain(CountingSource(None), AddOne(), tee, QueueFilter(), NullRenderer())
    graph.connect_chain(tee, Invert(), NullRenderer())
    graph.Run()  # no sync: data flows as fast as it can


def _build_just_paused_from_running(graph: FilterGraph) -> None:
    graph.connect_chain(CountingSource(None), QueueFilter(max_size=3), CollectingRenderer())
    graph.Run()
    graph.Pause()


_SCENARIOS: dict[str, Callable[[FilterGraph], None]] = {
    "far-future-sync": _build_far_future,
    "queue-full": _build_queue_full,
    "source-blocked": _build_source_blocked,
    "paused-mid-preroll": _build_paused,
    "streaming": _build_streaming,
    "paused-from-running": _build_just_paused_from_running,
}


@pytest.mark.timeout(15)
@pytest.mark.parametrize("delay", [0.0, 0.001, 0.005, 0.02])
@pytest.mark.parametrize("scenario", sorted(_SCENARIOS))
def test_stop_from_any_state_at_any_moment(scenario: str, delay: float) -> None:
    """Stop at any moment of any state returns with every graph thread ended and every
    sample home."""
    before = set(threading.enumerate())
    graph = FilterGraph(clock=ManualClock())
    try:
        _SCENARIOS[scenario](graph)
        time.sleep(delay)
    finally:
        graph.Stop()
    assert graph.GetState(0) is STOPPED
    assert all(f.GetState(0) is STOPPED for f in graph.EnumFilters())
    assert new_threads(before) == []
    clock = graph.GetSyncSource()
    assert clock.pending() == 0
    assert_all_home(graph)
    if isinstance(clock, SystemClock):
        clock.close()


@pytest.mark.timeout(20)
def test_stop_then_run_again_streams_again(graph: FilterGraph) -> None:
    """A graph paused and stopped runs again to completion with every sample of the stream."""
    source, sink = CountingSource(5), CollectingRenderer()
    graph.connect_chain(source, sink)
    graph.Pause()
    graph.Stop()
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert sink.data == [payload(i) for i in range(5)]
    assert_all_home(graph)


# -- renderer timing ---------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_sync_renderer_presents_at_stream_time(graph: FilterGraph, manual: ManualClock) -> None:
    """With sync, sample i is presented exactly when the clock reaches run start + its start
    time, not a unit before."""
    count = 5
    source, sink = CountingSource(count), CollectingRenderer(sync=True)
    graph.connect_chain(source, sink)
    graph.Run()
    start = sink.start_time
    assert start == manual.GetTime() + RUN_LATENCY_UNITS
    for index in range(count):
        due = start + index * DURATION
        wait_until(lambda: manual.pending() == 1)
        assert sink.rendered == index
        manual.set_time(due - 1)
        assert sink.rendered == index
        assert manual.pending() == 1
        manual.set_time(due)
        wait_until(lambda index=index: sink.rendered == index + 1)  # type: ignore[misc]
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert sink.data == [payload(i) for i in range(count)]


@pytest.mark.timeout(20)
def test_samples_without_time_are_presented_at_once(
    graph: FilterGraph, manual: ManualClock
) -> None:
    """A sync renderer presents samples that carry no time without waiting for the clock."""
    sink = CollectingRenderer(sync=True)
    graph.connect_chain(CountingSource(6, timed=False), sink)
    now = manual.GetTime()
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert manual.GetTime() == now
    assert sink.rendered == 6
    assert sink.times == [None] * 6
    graph.Stop()


@pytest.mark.timeout(30)
def test_pause_stops_presentation(graph: FilterGraph, manual: ManualClock) -> None:
    """Pausing a running graph stops presentation even when the clock passes the samples'
    times; running again presents the rest."""
    count = 6
    source, sink = CountingSource(count), CollectingRenderer(sync=True)
    graph.connect_chain(source, sink)
    graph.Run()
    start = sink.start_time
    manual.set_time(start + DURATION)  # samples 0 and 1 due
    wait_until(lambda: sink.rendered == 2 and manual.pending() == 1)
    graph.Pause()
    wait_until(lambda: manual.pending() == 0)
    manual.advance(100 * DURATION)
    assert sink.rendered == 2
    assert graph.GetState(0) is PAUSED
    with raises_hresult(AbortError, HRESULT.E_ABORT):
        graph.WaitForCompletion(0)
    graph.Run()
    manual.advance(RUN_LATENCY_UNITS + 100 * DURATION)
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert sink.data == [payload(i) for i in range(count)]


@pytest.mark.timeout(30)
def test_resume_continues_stream_time(graph: FilterGraph, manual: ManualClock) -> None:
    """Stream time stands still while paused and continues from there on Run (DirectShow's
    "Clock Times"): the next sample is due one sample later, not its whole stream time
    later."""
    source, sink = CountingSource(), CollectingRenderer(sync=True)
    graph.connect_chain(source, sink)
    graph.Run()
    manual.set_time(sink.start_time + 20 * DURATION)  # stream time 20 D: samples 0..20 due
    wait_until(lambda: sink.rendered == 21 and manual.pending() == 1)
    graph.Pause()
    wait_until(lambda: manual.pending() == 0)
    manual.advance(1_000_000)  # 0.1 s paused: stream time stays at 20 D
    resumed_at = manual.GetTime()
    graph.Run()
    # Stream time at Run is at most 20 D (at least 20 D minus the run latency).
    stream_time = resumed_at - sink.start_time
    assert 20 * DURATION - RUN_LATENCY_UNITS <= stream_time <= 20 * DURATION
    manual.set_time(sink.start_time + 21 * DURATION)  # sample 21 due now, 22 not yet
    wait_until(lambda: sink.rendered == 22 and manual.pending() == 1, timeout=2.0)
    assert sink.rendered == 22  # sample 22 waits for its time
    graph.Stop()


@pytest.mark.timeout(20)
def test_no_sync_ignores_the_clock(graph: FilterGraph, manual: ManualClock) -> None:
    """A renderer with sync=False presents timed samples at once, the clock standing still."""
    sink = CollectingRenderer(sync=False)
    assert sink.sync is False
    graph.connect_chain(CountingSource(8, start=FAR), sink)
    now = manual.GetTime()
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert manual.GetTime() == now
    assert manual.pending() == 0
    assert sink.rendered == 8
    graph.Stop()


@pytest.mark.timeout(20)
def test_no_clock_presents_at_once(graph: FilterGraph) -> None:
    """A graph without a clock (SetSyncSource(None)) runs sync renderers without waiting."""
    graph.SetSyncSource(None)
    sink = CollectingRenderer(sync=True)
    graph.connect_chain(CountingSource(8, start=FAR), sink)
    graph.Run()
    assert sink.start_time == 0
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert sink.rendered == 8
    graph.Stop()


def test_media_type_of_the_source_is_used(graph: FilterGraph) -> None:
    """The counting source offers a 64-byte byte-stream type and the chain carries it."""
    source, sink = CountingSource(), NullRenderer()
    graph.connect_chain(source, AddOne(), sink)
    media_type = sink.input.ConnectionMediaType()
    assert isinstance(media_type, MediaType)
    assert media_type.sample_size == SIZE
