"""The filter base classes and the built-in elements, and errors raised by every hook.

An exception from a streaming hook (``FillBuffer``, ``Transform``, ``DoRenderSample``) must end
the stream cleanly: the graph gets ``(EC_ERRORABORT, hresult, exception)`` before any
``EC_COMPLETE`` the failure causes, the threads end and every sample goes home. An exception
from a connection-time hook (``GetMediaType``, ``CheckInputType``, ``CheckTransform``,
``DecideBufferSize``, ``CheckMediaType``) fails ``Connect`` and leaves both pins unconnected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from dshow_alloc import (
    EC_COMPLETE,
    EC_ERRORABORT,
    HRESULT,
    AllocatorProperties,
    BaseFilter,
    BaseOutputPin,
    CollectingRenderer,
    COMError,
    FailError,
    FilterGraph,
    FilterInfo,
    FilterState,
    FORMAT_None,
    ManualClock,
    MediaSample,
    MEDIASUBTYPE_None,
    MediaType,
    MEDIATYPE_Stream,
    MemAllocator,
    NotImplError,
    NullRenderer,
    PinDirection,
    QueueFilter,
    RendererFilter,
    SourceFilter,
    SourceStream,
    Tee,
    TransformFilter,
    TransInPlaceFilter,
    VfwInvalidDirectionError,
    VfwMediaTimeNotSetError,
    VfwNoAcceptableTypesError,
    VfwNotConnectedError,
    VfwRuntimeError,
    VfwSampleTimeNotSetError,
    VfwSizeNotSetError,
    VfwTimeoutError,
    copy_sample_properties,
    size_allocator,
)
from dshow_alloc.pins import BasePin
from dshow_alloc.testing.checks import raises_hresult
from dshow_alloc.testing.graph import assert_all_home, wait_until

SIZE = 64
COUNT = 12
FAIL_AT = 3
"""Streaming hooks fail on their fourth call: three samples make it through first."""
DURATION = 1_000
STOPPED = FilterState.State_Stopped
BYTES = MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None, sample_size=SIZE)

T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------------------


def payload(index: int) -> bytes:
    """The bytes of sample ``index``."""
    return bytes((index * 5 + k) % 256 for k in range(SIZE))


def add_one(data: bytes) -> bytes:
    """What AddOne does to data, computed independently."""
    return bytes((b + 1) % 256 for b in data)


def invert(data: bytes) -> bytes:
    """What Invert does to data, computed independently."""
    return bytes(b ^ 0xFF for b in data)


class Trap:
    """Raises ``error`` from the call after the first ``after`` calls of a hook."""

    def __init__(self, error: BaseException, after: int = 0) -> None:
        self.error = error
        self.after = after
        self.calls = 0

    def spring(self) -> None:
        self.calls += 1
        if self.calls > self.after:
            raise self.error


class Trapped:
    """A mixin: ``traps[hook]`` makes that hook raise (see `Trap`)."""

    traps: dict[str, Trap]

    def check(self, hook: str) -> None:
        trap = self.traps.get(hook)
        if trap is not None:
            trap.spring()


class Source(Trapped, SourceFilter):
    """``count`` samples of SIZE bytes with times; every hook can be trapped."""

    def __init__(self, count: int | None = COUNT, *, buffers: int = 4) -> None:
        super().__init__(buffer_size=SIZE, buffers=buffers)
        self.traps = {}
        self.count = count
        self.index = 0

    def FillBuffer(self, sample: Any) -> bool:
        self.check("FillBuffer")
        if self.count is not None and self.index >= self.count:
            return False
        sample.GetPointer()[:SIZE] = payload(self.index % 1000)
        sample.SetActualDataLength(SIZE)
        sample.SetTime(self.index * DURATION, (self.index + 1) * DURATION)
        self.index += 1
        return True

    def GetMediaType(self, position: int) -> MediaType | None:
        self.check("GetMediaType")
        return super().GetMediaType(position)

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        self.check("DecideBufferSize")
        super().DecideBufferSize(allocator, request)


class AddOne(Trapped, TransInPlaceFilter):
    """Adds one to every byte in place; ``drop`` lists the call numbers it drops."""

    def __init__(self) -> None:
        super().__init__()
        self.traps = {}
        self.drop: set[int] = set()
        self.calls = 0

    def CheckInputType(self, media_type: MediaType) -> bool:
        self.check("CheckInputType")
        return True

    def Transform(self, sample: Any) -> bool:
        self.check("Transform")
        call, self.calls = self.calls, self.calls + 1
        if call in self.drop:
            return False
        length = sample.GetActualDataLength()
        view = sample.GetPointer()
        view[:length] = add_one(bytes(view[:length]))
        return True


class Invert(Trapped, TransformFilter):
    """Inverts every byte into a new sample; ``drop`` lists the call numbers it drops."""

    def __init__(self) -> None:
        super().__init__()
        self.traps = {}
        self.drop: set[int] = set()
        self.calls = 0

    def CheckInputType(self, media_type: MediaType) -> bool:
        self.check("CheckInputType")
        return True

    def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
        self.check("CheckTransform")
        return super().CheckTransform(media_type_in, media_type_out)

    def GetMediaType(self, position: int) -> MediaType | None:
        self.check("GetMediaType")
        return super().GetMediaType(position)

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        self.check("DecideBufferSize")
        super().DecideBufferSize(allocator, request)

    def Transform(self, in_sample: Any, out_sample: Any) -> bool:
        self.check("Transform")
        call, self.calls = self.calls, self.calls + 1
        if call in self.drop:
            return False
        length = in_sample.GetActualDataLength()
        out_sample.GetPointer()[:length] = invert(bytes(in_sample.GetPointer()[:length]))
        out_sample.SetActualDataLength(length)
        return True


class Sink(Trapped, CollectingRenderer):
    """A collecting renderer whose hooks can be trapped, and that logs end of stream in
    order with the data (``log``)."""

    def __init__(self, *, name: str | None = None, sync: bool = False) -> None:
        super().__init__(name=name, sync=sync)
        self.traps = {}
        self.log: list[bytes | str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.holding = threading.Event()
        self.properties: list[tuple[Any, ...]] = []

    def CheckMediaType(self, media_type: MediaType) -> bool:
        self.check("CheckMediaType")
        return True

    def DoRenderSample(self, sample: Any) -> None:
        self.check("DoRenderSample")
        self.holding.set()
        self.gate.wait()
        super().DoRenderSample(sample)
        self.log.append(self.data[-1])
        try:
            media_time: tuple[int, int] | None = sample.GetMediaTime()
        except VfwMediaTimeNotSetError:
            media_time = None
        self.properties.append(
            (
                self.times[-1],
                media_time,
                sample.IsSyncPoint(),
                sample.IsDiscontinuity(),
                sample.IsPreroll(),
            )
        )

    def end_of_stream(self, pin: Any) -> None:
        self.log.append("EOS")
        super().end_of_stream(pin)


class Push(BaseFilter):
    """A filter with one output pin the test pushes samples through by hand."""

    def __init__(self, *, buffers: int = 1) -> None:
        super().__init__()
        self.output = self.add_pin(BaseOutputPin(self, "Output"))
        self.buffers = buffers

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        return BYTES if position == 0 else None

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=SIZE)

    def push(self, index: int, **props: Any) -> bool:
        """Deliver a sample holding ``payload(index)``; return what Receive returned."""
        sample = self.output.GetDeliveryBuffer()
        try:
            sample.GetPointer()[:SIZE] = payload(index)
            sample.SetActualDataLength(SIZE)
            sample.SetTime(*props.get("time", (index * DURATION, (index + 1) * DURATION)))
            sample.SetMediaTime(*props.get("media_time", (None, None)))
            sample.SetSyncPoint(props.get("sync_point", True))
            sample.SetDiscontinuity(props.get("discontinuity", False))
            sample.SetPreroll(props.get("preroll", False))
            return bool(self.output.Deliver(sample))
        finally:
            sample.Release()


def new_threads(before: set[threading.Thread]) -> list[str]:
    """Names of live threads not in ``before``."""
    return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]


@pytest.fixture
def graph() -> Iterator[FilterGraph]:
    """A graph on a ManualClock, stopped at teardown."""
    with FilterGraph(clock=ManualClock()) as made:
        yield made


def errors() -> list[Any]:
    """A plain exception (E_FAIL) and a COMError (its own code), as parameters."""
    return [
        pytest.param(lambda: ValueError("boom"), HRESULT.E_FAIL, id="ValueError"),
        pytest.param(VfwTimeoutError, HRESULT.VFW_E_TIMEOUT, id="VfwTimeoutError"),
    ]


# -- errors in streaming hooks ------------------------------------------------------------------

STREAMING_HOOKS = ["FillBuffer", "TransformFilter.Transform", "TransInPlaceFilter.Transform"]
STREAMING_HOOKS += ["DoRenderSample"]


def _trap_streaming(
    hook: str, error: BaseException, source: Source, in_place: AddOne, copier: Invert, sink: Sink
) -> None:
    owners: dict[str, tuple[Trapped, str]] = {
        "FillBuffer": (source, "FillBuffer"),
        "TransformFilter.Transform": (copier, "Transform"),
        "TransInPlaceFilter.Transform": (in_place, "Transform"),
        "DoRenderSample": (sink, "DoRenderSample"),
    }
    owner, name = owners[hook]
    owner.traps[name] = Trap(error, after=FAIL_AT)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("make_error", "hresult"), errors())
@pytest.mark.parametrize("queued", [False, True], ids=["direct", "queued"])
@pytest.mark.parametrize("hook", STREAMING_HOOKS)
def test_streaming_hook_error_aborts_the_stream(
    graph: FilterGraph,
    hook: str,
    queued: bool,
    make_error: Callable[[], BaseException],
    hresult: HRESULT,
) -> None:
    """A streaming hook raising reports (EC_ERRORABORT, hresult, exception) once, before any
    EC_COMPLETE; WaitForCompletion returns EC_ERRORABORT, threads end, Stop works and every
    sample is home."""
    before = set(threading.enumerate())
    error = make_error()
    source, in_place, copier, sink = Source(), AddOne(), Invert(), Sink()
    _trap_streaming(hook, error, source, in_place, copier, sink)
    chain: list[BaseFilter] = [source, in_place, copier]
    if queued:
        chain.append(QueueFilter(max_size=4))
    graph.connect_chain(*chain, sink)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_ERRORABORT
    wait_until(lambda: not [n for n in new_threads(before) if n.endswith(" streaming")])
    if hook == "DoRenderSample":
        follows = []  # the renderer failed: no end of stream reaches it
    else:
        wait_until(lambda: sink.input.end_of_stream)  # sent downstream after the error
        follows = [(EC_COMPLETE, 0, 0)]
    events = graph.events()
    assert events == [(EC_ERRORABORT, hresult, error), *follows]
    assert events[0][2] is error
    assert sink.data == [invert(add_one(payload(i))) for i in range(FAIL_AT)]
    graph.Stop()
    assert new_threads(before) == []
    assert_all_home(graph)
    assert graph.events() == []


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("make_error", "hresult"), errors())
def test_error_in_one_tee_branch_aborts(
    graph: FilterGraph, make_error: Callable[[], BaseException], hresult: HRESULT
) -> None:
    """A renderer failing on one branch of a tee aborts the stream: EC_ERRORABORT, not
    EC_COMPLETE, even though the other branch's renderer works."""
    error = make_error()
    source, tee, good, bad = Source(), Tee(), Sink(name="good"), Sink(name="bad")
    bad.traps["DoRenderSample"] = Trap(error, after=FAIL_AT)
    graph.connect_chain(source, tee, good)
    graph.connect_chain(tee, bad)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_ERRORABORT
    assert graph.events()[0] == (EC_ERRORABORT, hresult, error)
    graph.Stop()
    assert bad.data == [payload(i) for i in range(FAIL_AT)]
    assert_all_home(graph)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["TransformFilter", "TransInPlaceFilter"])
def test_after_a_transform_error_receive_fails_until_flush(graph: FilterGraph, kind: str) -> None:
    """After Transform raised, the filter's input refuses samples with VFW_E_RUNTIME_ERROR
    until a flush; then samples flow again."""
    error = ValueError("bad sample")
    push, sink = Push(), Sink()
    middle: Invert | AddOne = Invert() if kind == "TransformFilter" else AddOne()
    middle.traps["Transform"] = Trap(error, after=1)
    graph.connect_chain(push, middle, sink)
    graph.Run()
    assert push.push(0) is True
    with pytest.raises(ValueError) as info:
        push.push(1)
    assert info.value is error
    with raises_hresult(VfwRuntimeError, HRESULT.VFW_E_RUNTIME_ERROR):
        push.push(2)
    del middle.traps["Transform"]
    middle.input.BeginFlush()
    middle.input.EndFlush()
    assert push.push(3) is True
    graph.Stop()
    assert sink.rendered == 2
    assert graph.events()[0] == (EC_ERRORABORT, HRESULT.E_FAIL, error)
    assert_all_home(graph)


def test_unimplemented_hooks_raise_notimpl() -> None:
    """The hooks a subclass must write raise E_NOTIMPL in the base classes."""
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        SourceFilter().FillBuffer(None)
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        TransformFilter().Transform(None, None)
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        TransInPlaceFilter().Transform(None)
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        RendererFilter().DoRenderSample(None)


# -- errors in connection-time hooks ------------------------------------------------------------


def _connect_case(hook: str, graph: FilterGraph, error: BaseException) -> tuple[Any, Any]:
    """Set up the graph so that connecting the returned pins calls ``hook``, trapped."""
    source, sink = Source(), Sink()
    if hook.startswith("SourceFilter."):
        graph.AddFilter(source)
        graph.AddFilter(sink)
        source.traps[hook.split(".")[1]] = Trap(error)
        return source.output, sink.input
    if hook == "RendererFilter.CheckMediaType":
        graph.AddFilter(source)
        graph.AddFilter(sink)
        sink.traps["CheckMediaType"] = Trap(error)
        return source.output, sink.input
    if hook == "TransInPlaceFilter.CheckInputType":
        in_place = AddOne()
        graph.AddFilter(source)
        graph.AddFilter(in_place)
        in_place.traps["CheckInputType"] = Trap(error)
        return source.output, in_place.input
    copier = Invert()
    name = hook.split(".")[1]
    if name == "CheckInputType":
        graph.AddFilter(source)
        graph.AddFilter(copier)
        copier.traps[name] = Trap(error)
        return source.output, copier.input
    graph.connect_chain(source, copier)
    graph.AddFilter(sink)
    copier.traps[name] = Trap(error)
    return copier.output, sink.input


CONNECT_HOOKS = [
    "SourceFilter.GetMediaType",
    "SourceFilter.DecideBufferSize",
    "TransformFilter.CheckInputType",
    "TransformFilter.CheckTransform",
    "TransformFilter.GetMediaType",
    "TransformFilter.DecideBufferSize",
    "TransInPlaceFilter.CheckInputType",
    "RendererFilter.CheckMediaType",
]


@pytest.mark.parametrize(("make_error", "hresult"), errors())
@pytest.mark.parametrize("hook", CONNECT_HOOKS)
def test_connection_hook_error_fails_connect(
    graph: FilterGraph, hook: str, make_error: Callable[[], BaseException], hresult: HRESULT
) -> None:
    """A connection-time hook raising makes Connect raise that exception and leaves both pins
    unconnected (and connectable once the hook behaves)."""
    error = make_error()
    out_pin, in_pin = _connect_case(hook, graph, error)
    with pytest.raises(type(error)) as info:
        graph.Connect(out_pin, in_pin)
    assert info.value is error
    if isinstance(info.value, COMError):
        assert info.value.hresult == hresult
    for pin in (out_pin, in_pin):
        assert not pin.is_connected()
        with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
            pin.ConnectedTo()
        with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
            pin.ConnectionMediaType()
    assert out_pin.allocator is None
    assert in_pin.peek_allocator() is None
    in_pin.filter.traps.clear()
    out_pin.filter.traps.clear()
    graph.Connect(out_pin, in_pin)
    assert out_pin.ConnectedTo() is in_pin


# -- base classes -------------------------------------------------------------------------------

BASE_CLASSES = [
    (BaseFilter, []),
    (SourceFilter, ["Output"]),
    (TransformFilter, ["Input", "Output"]),
    (TransInPlaceFilter, ["Input", "Output"]),
    (RendererFilter, ["In"]),
    (NullRenderer, ["In"]),
    (CollectingRenderer, ["In"]),
    (Tee, ["Input", "Output1"]),
    (QueueFilter, ["Input", "Output"]),
]


@pytest.mark.parametrize(("cls", "pins"), BASE_CLASSES, ids=[c.__name__ for c, _ in BASE_CLASSES])
def test_base_classes_construct_without_arguments(cls: type[BaseFilter], pins: list[str]) -> None:
    """Every base class and element constructs with no arguments, stopped, outside a graph,
    named after its class, with its pins."""
    filter = cls()
    assert filter.GetState(0) is STOPPED
    assert filter.name == cls.__name__
    assert filter.QueryFilterInfo() == FilterInfo("", None)
    assert filter.GetSyncSource() is None
    assert [pin.QueryId() for pin in filter.EnumPins()] == pins
    for pin in filter.EnumPins():
        expected = (
            PinDirection.PINDIR_OUTPUT if "Out" in pin.QueryId() else PinDirection.PINDIR_INPUT
        )
        assert pin.QueryDirection() is expected
        assert not pin.is_connected()


def test_renderer_sync_is_a_keyword_and_an_attribute() -> None:
    """RendererFilter presents on the clock by default; NullRenderer and CollectingRenderer do
    not; ``sync`` is a constructor keyword and a writable attribute."""
    assert RendererFilter().sync is True
    assert RendererFilter(sync=False).sync is False
    assert NullRenderer().sync is False
    assert CollectingRenderer().sync is False
    renderer = NullRenderer(sync=True)
    assert renderer.sync is True
    renderer.sync = False
    assert renderer.sync is False


def test_source_default_media_type() -> None:
    """SourceFilter offers a byte stream (MEDIATYPE_Stream) at position 0 and nothing after;
    its sample size is ``buffer_size``."""
    offered = SourceFilter().GetMediaType(0)
    assert offered == MediaType(
        MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None, fixed_size_samples=False, sample_size=0
    )
    assert SourceFilter().GetMediaType(1) is None
    sized = SourceFilter(buffer_size=100).GetMediaType(0)
    assert sized is not None
    assert sized.major_type == MEDIATYPE_Stream
    assert sized.sample_size == 100
    assert sized.fixed_size_samples is True
    assert SourceFilter(media_type=BYTES).GetMediaType(0) is BYTES
    assert SourceFilter(media_type=BYTES).buffer_size == SIZE


@pytest.mark.parametrize(
    ("request_", "actual"),
    [
        (AllocatorProperties(), AllocatorProperties(3, 100, 1, 0)),
        (AllocatorProperties(6, 10, 0, 0), AllocatorProperties(6, 100, 1, 0)),
        (AllocatorProperties(1, 200, 16, 0), AllocatorProperties(3, 208, 16, 0)),
    ],
)
def test_source_decide_buffer_size(
    request_: AllocatorProperties, actual: AllocatorProperties
) -> None:
    """SourceFilter.DecideBufferSize asks for at least ``buffers`` samples of ``buffer_size``
    bytes, and at least the request."""
    allocator = MemAllocator()
    SourceFilter(buffer_size=100, buffers=3).DecideBufferSize(allocator, request_)
    assert allocator.GetProperties() == actual


def test_source_without_size_cannot_connect(graph: FilterGraph) -> None:
    """A SourceFilter with no buffer size fails DecideBufferSize, hence Connect, with
    VFW_E_SIZENOTSET."""
    source, sink = SourceFilter(), NullRenderer()
    with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
        source.DecideBufferSize(MemAllocator(), AllocatorProperties())
    graph.AddFilter(source)
    graph.AddFilter(sink)
    with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
        graph.Connect(source.output, sink.input)
    assert not source.output.is_connected()
    assert not sink.input.is_connected()


class Stingy:
    """An allocator stand-in whose SetProperties gives back ``actual``, whatever was asked."""

    def __init__(self, actual: AllocatorProperties) -> None:
        self.actual = actual
        self.asked: list[AllocatorProperties] = []

    def SetProperties(self, request: AllocatorProperties) -> AllocatorProperties:
        self.asked.append(request)
        return self.actual


def test_size_allocator_without_size_is_sizenotset() -> None:
    """size_allocator raises VFW_E_SIZENOTSET when neither the request nor buffer_size gives
    a size, without asking the allocator."""
    allocator = Stingy(AllocatorProperties(1, 1, 1, 0))
    with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
        size_allocator(allocator, AllocatorProperties(4, 0, 1, 0), buffers=2)
    assert allocator.asked == []


@pytest.mark.parametrize(
    "given",
    [
        AllocatorProperties(1, 64, 16, 0),
        AllocatorProperties(2, 63, 16, 0),
        AllocatorProperties(2, 64, 8, 0),
    ],
    ids=["fewer", "smaller", "looser-align"],
)
def test_size_allocator_less_than_asked_is_fail(given: AllocatorProperties) -> None:
    """size_allocator raises E_FAIL when the allocator gives fewer or smaller samples or a
    looser alignment than asked."""
    allocator = Stingy(given)
    with raises_hresult(FailError, HRESULT.E_FAIL):
        size_allocator(allocator, AllocatorProperties(1, 10, 16, 0), buffers=2, buffer_size=64)
    assert allocator.asked == [AllocatorProperties(2, 64, 16, 0)]


def test_size_allocator_returns_actual() -> None:
    """size_allocator returns what the allocator gave when it is at least what was asked."""
    given = AllocatorProperties(5, 128, 32, 0)
    assert size_allocator(Stingy(given), AllocatorProperties(), buffers=2, buffer_size=64) == given


# -- transforms ----------------------------------------------------------------------------------


def test_copy_sample_properties(pools: list[MemAllocator]) -> None:
    """copy_sample_properties carries times, media times, sync point, preroll and
    discontinuity; a source without times clears the target's."""
    allocator = MemAllocator()
    pools.append(allocator)
    allocator.SetProperties(AllocatorProperties(2, SIZE, 1, 0))
    allocator.Commit()
    source, target = allocator.GetBuffer(), allocator.GetBuffer()
    try:
        source.SetTime(10, 20)
        source.SetMediaTime(3, 4)
        source.SetSyncPoint(True)
        source.SetPreroll(True)
        source.SetDiscontinuity(True)
        copy_sample_properties(source, target)
        assert target.GetTime() == (10, 20)
        assert target.GetMediaTime() == (3, 4)
        assert (target.IsSyncPoint(), target.IsPreroll(), target.IsDiscontinuity()) == (
            True,
            True,
            True,
        )
        source.SetTime(None)
        source.SetMediaTime(None, None)
        source.SetSyncPoint(False)
        source.SetPreroll(False)
        source.SetDiscontinuity(False)
        copy_sample_properties(source, target)
        with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
            target.GetTime()
        with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
            target.GetMediaTime()
        assert (target.IsSyncPoint(), target.IsPreroll(), target.IsDiscontinuity()) == (
            False,
            False,
            False,
        )
    finally:
        source.Release()
        target.Release()
        allocator.Decommit()


@pytest.mark.timeout(20)
def test_transform_output_carries_input_properties(graph: FilterGraph) -> None:
    """A TransformFilter's output sample carries the input's times, media times, sync point,
    discontinuity and preroll flags."""
    push, copier, sink = Push(), Invert(), Sink()
    graph.connect_chain(push, copier, sink)
    graph.Run()
    pushed = [
        {"time": (5, 9), "media_time": (1, 2), "sync_point": True, "discontinuity": True},
        {"time": (9, None), "sync_point": False, "preroll": True},
        {"time": (None,), "sync_point": False},
    ]
    for index, props in enumerate(pushed):
        assert push.push(index, **props) is True
    graph.Stop()
    assert sink.properties == [
        ((5, 9), (1, 2), True, True, False),
        ((9, None), None, False, False, True),
        (None, None, False, False, False),
    ]
    assert sink.data == [invert(payload(i)) for i in range(3)]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["TransformFilter", "TransInPlaceFilter"])
def test_transform_false_drops_the_sample(graph: FilterGraph, kind: str) -> None:
    """Transform returning False drops the sample: Receive still returns True and the
    renderer gets only the others."""
    push, sink = Push(), Sink()
    middle: Invert | AddOne = Invert() if kind == "TransformFilter" else AddOne()
    change = invert if kind == "TransformFilter" else add_one
    middle.drop = {1, 2, 4}
    graph.connect_chain(push, middle, sink)
    graph.Run()
    assert [push.push(i) for i in range(6)] == [True] * 6
    graph.Stop()
    assert sink.rendered == 3
    assert sink.data == [change(payload(i)) for i in (0, 3, 5)]
    assert sink.times == [(i * DURATION, (i + 1) * DURATION) for i in (0, 3, 5)]
    assert_all_home(graph)


@pytest.mark.timeout(20)
def test_transform_false_in_a_running_graph(graph: FilterGraph) -> None:
    """Dropping samples in a streaming graph does not end the stream: every other sample
    arrives, then EC_COMPLETE."""
    source, in_place, copier, sink = Source(), AddOne(), Invert(), Sink()
    in_place.drop = {0, 5}
    copier.drop = {7}  # the copier's 8th call is sample 9 (0 and 5 never reach it)
    graph.connect_chain(source, in_place, copier, sink)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    kept = [i for i in range(COUNT) if i not in (0, 5, 9)]
    assert sink.data == [invert(add_one(payload(i))) for i in kept]
    assert graph.events() == [(EC_COMPLETE, 0, 0)]


@pytest.mark.timeout(20)
def test_fill_buffer_false_ends_the_stream(graph: FilterGraph) -> None:
    """FillBuffer returning False ends the stream: end of stream downstream, EC_COMPLETE,
    the streaming thread ends by itself."""
    before = set(threading.enumerate())
    source, sink = Source(5), Sink()
    graph.connect_chain(source, sink)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    wait_until(lambda: new_threads(before) == [])
    assert sink.input.end_of_stream is True
    assert sink.log == [payload(i) for i in range(5)] + ["EOS"]
    assert source.output.delivered == 5
    assert graph.events() == [(EC_COMPLETE, 0, 0)]
    graph.Stop()
    assert_all_home(graph)


# -- queue ---------------------------------------------------------------------------------------


def test_queue_max_size() -> None:
    """QueueFilter holds 16 samples by default; max_size must be an int of at least 1."""
    assert QueueFilter().max_size == 16
    assert QueueFilter(max_size=1).max_size == 1
    for bad in (0, -1, 2.0):
        with pytest.raises(ValueError):
            QueueFilter(max_size=bad)  # type: ignore[arg-type]


@pytest.mark.timeout(30)
def test_queue_is_bounded(graph: FilterGraph) -> None:
    """A queue never holds more than max_size samples: with the renderer blocked it fills to
    exactly max_size and the producer waits."""
    source, queue, sink = Source(buffers=8), QueueFilter(max_size=3), Sink()
    sink.gate.clear()
    graph.connect_chain(source, queue, sink)
    try:
        graph.Run()
        sink.holding.wait(10)
        # One sample held by the renderer, three queued, the fifth filled and waiting.
        wait_until(lambda: len(queue) == 3 and source.index == 5)
        assert queue.high_water == 3
    finally:
        sink.gate.set()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert queue.high_water == 3
    assert sink.data == [payload(i) for i in range(COUNT)]
    assert_all_home(graph)


@pytest.mark.timeout(20)
def test_queue_end_of_stream_after_the_samples(graph: FilterGraph) -> None:
    """End of stream travels through the queue in order: after every queued sample."""
    source, queue, sink = Source(buffers=COUNT + 2), QueueFilter(max_size=COUNT), Sink()
    sink.gate.clear()
    graph.connect_chain(source, queue, sink)
    try:
        graph.Run()
        sink.holding.wait(10)
        wait_until(lambda: source.index == COUNT and len(queue) >= 1)
    finally:
        sink.gate.set()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert sink.log == [payload(i) for i in range(COUNT)] + ["EOS"]


@pytest.mark.timeout(20)
def test_queue_flush_drops_queued_samples(graph: FilterGraph) -> None:
    """BeginFlush releases every queued sample and Receive returns False until EndFlush."""
    push, queue, sink = Push(buffers=6), QueueFilter(max_size=8), Sink()
    sink.gate.clear()
    graph.connect_chain(push, queue, sink)
    allocator = push.output.allocator
    try:
        graph.Run()
        assert [push.push(i) for i in range(4)] == [True] * 4
        sink.holding.wait(10)
        wait_until(lambda: len(queue) == 3)
        assert len(allocator.outstanding()) == 4
        queue.input.BeginFlush()
        assert len(queue) == 0
        assert len(allocator.outstanding()) == 1  # the renderer's
        assert push.push(4) is False
        assert len(queue) == 0
    finally:
        sink.gate.set()
    wait_until(lambda: allocator.outstanding() == [])
    queue.input.EndFlush()
    assert push.push(5) is True
    wait_until(lambda: sink.rendered == 2)
    graph.Stop()
    assert sink.data == [payload(0), payload(5)]
    assert_all_home(graph)


@pytest.mark.timeout(20)
def test_queue_downstream_error_fails_next_receive(graph: FilterGraph) -> None:
    """When delivering downstream fails, the queue's next Receive raises that error (until a
    flush)."""
    error = ValueError("renderer broke")
    push, queue, sink = Push(buffers=4), QueueFilter(max_size=4), Sink()
    sink.traps["DoRenderSample"] = Trap(error)
    graph.connect_chain(push, queue, sink)
    graph.Run()
    assert push.push(0) is True
    assert graph.WaitForCompletion(10_000) == EC_ERRORABORT

    def push_error() -> BaseException | None:
        try:
            push.push(1)
        except Exception as exc:
            return exc
        return None

    assert wait_until(push_error) is error
    with pytest.raises(ValueError) as info:
        push.push(2)
    assert info.value is error
    del sink.traps["DoRenderSample"]
    queue.input.BeginFlush()
    queue.input.EndFlush()
    assert push.push(3) is True
    wait_until(lambda: sink.rendered == 1)
    graph.Stop()
    assert sink.data == [payload(3)]
    assert graph.events()[0] == (EC_ERRORABORT, HRESULT.E_FAIL, error)
    assert_all_home(graph)


# -- tee -------------------------------------------------------------------------------------------


def _outputs(tee: Tee) -> list[tuple[str, bool]]:
    return [(pin.QueryId(), pin.is_connected()) for pin in tee.output_pins()]


def test_tee_keeps_one_free_output_pin(graph: FilterGraph) -> None:
    """A tee always has exactly one unconnected output pin, named Output1, Output2, ... as
    branches connect and disconnect."""
    source, tee = Source(), Tee()
    graph.connect_chain(source, tee)
    assert _outputs(tee) == [("Output1", False)]
    first, second, third = NullRenderer(), NullRenderer(), NullRenderer()
    graph.connect_chain(tee, first)
    assert _outputs(tee) == [("Output1", True), ("Output2", False)]
    graph.connect_chain(tee, second)
    assert _outputs(tee) == [("Output1", True), ("Output2", True), ("Output3", False)]
    graph.RemoveFilter(first)
    assert _outputs(tee) == [("Output2", True), ("Output3", False)]
    graph.connect_chain(tee, third)
    assert _outputs(tee) == [("Output2", True), ("Output3", True), ("Output4", False)]
    assert tee.FindPin("Output4").QueryPinInfo().name == "Output4"
    graph.Disconnect(second.input)
    graph.Disconnect(tee.FindPin("Output2"))
    assert _outputs(tee) == [("Output3", True), ("Output4", False)]
    graph.RemoveFilter(third)
    assert _outputs(tee) == [("Output4", False)]
    assert [pin.QueryId() for pin in tee.EnumPins()] == ["Input", "Output4"]


class Picky(NullRenderer):
    """A renderer that accepts no type."""

    def CheckMediaType(self, media_type: MediaType) -> bool:
        return False


def test_tee_failed_branch_connection_keeps_the_free_pin(graph: FilterGraph) -> None:
    """A branch connection that fails leaves the tee's free output pin in place."""
    source, tee, first, picky = Source(), Tee(), NullRenderer(), Picky()
    graph.connect_chain(source, tee, first)
    graph.AddFilter(picky)
    with raises_hresult(VfwNoAcceptableTypesError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES):
        graph.ConnectDirect(tee.FindPin("Output2"), picky.input)
    assert _outputs(tee) == [("Output1", True), ("Output2", False)]
    with raises_hresult(VfwInvalidDirectionError, HRESULT.VFW_E_INVALID_DIRECTION):
        graph.ConnectDirect(tee.FindPin("Output2"), source.output)
    assert _outputs(tee) == [("Output1", True), ("Output2", False)]
    lone = Tee()
    graph.AddFilter(lone)
    with raises_hresult(VfwInvalidDirectionError, HRESULT.VFW_E_INVALID_DIRECTION):
        graph.ConnectDirect(lone.FindPin("Output1"), source.output)
    assert _outputs(lone) == [("Output1", False)]


@pytest.mark.timeout(20)
def test_in_place_transform_behind_a_tee_copies(graph: FilterGraph) -> None:
    """An in-place transform on a tee branch gets read-only samples, so it changes a copy:
    the other branch still sees the original data."""
    source, tee, in_place = Source(), Tee(), AddOne()
    changed, untouched = Sink(name="changed"), Sink(name="untouched")
    graph.connect_chain(source, tee, in_place, changed)
    graph.connect_chain(tee, untouched)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert untouched.data == [payload(i) for i in range(COUNT)]
    assert changed.data == [add_one(payload(i)) for i in range(COUNT)]
    assert in_place.copies == COUNT
    assert_all_home(graph)


@pytest.mark.timeout(20)
def test_tee_delivers_to_every_branch(graph: FilterGraph) -> None:
    """Every branch of a tee gets every sample, read-only."""
    source, tee = Source(), Tee()
    sinks = [Sink(name=f"branch {i}") for i in range(3)]
    graph.connect_chain(source, tee)
    for sink in sinks:
        graph.connect_chain(tee, sink)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    for sink in sinks:
        assert sink.data == [payload(i) for i in range(COUNT)]
        assert sink.read_only == [True] * COUNT
    assert graph.events() == [(EC_COMPLETE, 0, 0)]


# -- renderers -------------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_null_renderer_counts(graph: FilterGraph) -> None:
    """NullRenderer counts the samples it presents, from zero at each run."""
    source, sink = Source(7), NullRenderer()
    graph.connect_chain(source, sink)
    assert sink.rendered == 0
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert sink.rendered == 7
    graph.Stop()
    source.index = 0
    source.count = 2
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    graph.Stop()
    assert sink.rendered == 2


class _PushStream(SourceStream):
    """A source pin whose samples come from a list of byte strings, not from FillBuffer."""

    def __init__(self, filter: SourceFilter, items: list[bytes | Exception]) -> None:
        super().__init__(filter, "Output")
        self.items = list(items)

    def next_sample(self) -> Any:
        if not self.items:
            return None
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return MediaSample.wrap(bytearray(item))


def _push_source(items: list[bytes | Exception]) -> SourceFilter:
    source = SourceFilter(buffer_size=8)
    source.remove_pin(source.output)
    source.output = source.add_pin(_PushStream(source, items))
    return source


def test_next_sample_override_delivers_its_own_samples(graph: FilterGraph) -> None:
    """A SourceStream overriding next_sample delivers exactly the samples it returns, each
    released after delivery, and None ends the stream with EC_COMPLETE."""
    source, renderer = _push_source([b"one", b"two", b"three"]), CollectingRenderer()
    graph.connect_chain(source, renderer)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert renderer.data == [b"one", b"two", b"three"]
    assert source.output.delivered == 3


def test_next_sample_raising_reports_error_abort(graph: FilterGraph) -> None:
    """An exception from next_sample posts EC_ERRORABORT with its HRESULT, then end of
    stream, after the samples before it were delivered."""
    failure = VfwTimeoutError(message="nothing came")
    source, renderer = _push_source([b"first", failure]), CollectingRenderer()
    graph.connect_chain(source, renderer)
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_ERRORABORT
    assert renderer.data == [b"first"]
    graph.Stop()
    code, param1, param2 = graph.GetEvent(0)
    assert (code, param1, param2) == (EC_ERRORABORT, HRESULT.VFW_E_TIMEOUT, failure)
