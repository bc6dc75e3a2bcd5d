"""The IPin / IMemInputPin contract of `BaseInputPin` and `BaseOutputPin` (reference/directshow.md
§4.1 and §5, issue 4 "Pins").

The filters below are small on purpose: `Box` logs every call its pins make into the pin
protocol (``check_media_type``, ``decide_buffer_size``, ``receive`` ...) and can be told to
refuse a type or raise from any hook, so each test can pin the exact sequence of calls, the
exact HRESULT and the exact state both pins are left in. Samples are driven by hand: the
filters are paused, samples come from the negotiated allocator and go to ``pin.Receive``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from zope.interface import directlyProvides

from dshow_alloc import (
    EC_COMPLETE,
    EC_ERRORABORT,
    GUID_NULL,
    HRESULT,
    MEDIASUBTYPE_NV12,
    MEDIASUBTYPE_PCM,
    MEDIASUBTYPE_RGB32,
    MEDIASUBTYPE_YUY2,
    AllocatorProperties,
    BaseFilter,
    BaseInputPin,
    BaseOutputPin,
    BasePin,
    COMError,
    FailError,
    FilterGraph,
    FilterState,
    FORMAT_VideoInfo,
    FORMAT_WaveFormatEx,
    MediaType,
    MEDIATYPE_Audio,
    MEDIATYPE_Video,
    MemAllocator,
    NoInterfaceError,
    NotImplError,
    NullRenderer,
    PinDirection,
    PointerError,
    RendererFilter,
    SourceFilter,
    TransformFilter,
    UnexpectedError,
    VfwAlreadyConnectedError,
    VfwInvalidDirectionError,
    VfwInvalidMediaTypeError,
    VfwNoAcceptableTypesError,
    VfwNotConnectedError,
    VfwNotFoundError,
    VfwNotStoppedError,
    VfwRuntimeError,
    VfwSizeNotSetError,
    VfwTypeNotAcceptedError,
    VfwWrongStateError,
    copy_sample,
    size_allocator,
)
from dshow_alloc.testing.checks import raises_hresult
from interfaces import IMemAllocator, IMemInputPin, IPin

RGB32 = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_RGB32, FORMAT_VideoInfo, sample_size=64)
YUY2 = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_YUY2, FORMAT_VideoInfo, sample_size=32)
NV12 = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, sample_size=24)
PCM = MediaType(MEDIATYPE_Audio, MEDIASUBTYPE_PCM, FORMAT_WaveFormatEx, sample_size=16)
#: Partial types: GUID_NULL fields are wildcards.
ANY_VIDEO = MediaType(MEDIATYPE_Video, GUID_NULL, GUID_NULL)
ANY_AUDIO = MediaType(MEDIATYPE_Audio, GUID_NULL, GUID_NULL)
#: NewSegment's default: the whole stream at normal rate.
DEFAULT_SEGMENT = (0, 2**63 - 1, 1.0)

#: One logged call: (filter name, hook, pin id, argument or None).
Call = tuple[str, str, str, Any]


# -- test filters ------------------------------------------------------------------------------


class _BoxInputPin(BaseInputPin):
    """An input pin whose ``CheckConnect`` is logged (and can fail) after the base checks."""

    _filter: Box

    def CheckConnect(self, pin: Any) -> None:
        super().CheckConnect(pin)
        self._filter.hook("check_connect", self)


class _BoxOutputPin(BaseOutputPin):
    """An output pin whose ``CheckConnect`` is logged (and can fail) after the base checks."""

    _filter: Box

    def CheckConnect(self, pin: Any) -> None:
        super().CheckConnect(pin)
        self._filter.hook("check_connect", self)


class Box(BaseFilter):
    """A filter whose pins' every protocol call is logged and can be made to fail.

    ``offers`` maps a pin id to the types its ``EnumMediaTypes`` lists; ``accept`` decides
    ``CheckMediaType``; ``faults`` maps a hook name to the exception it raises (every time);
    ``results`` scripts what ``receive`` returns (True once it runs out). Several boxes can
    share one ``log`` to record the order of calls across filters.
    """

    def __init__(
        self,
        name: str,
        *,
        inputs: tuple[str, ...] = (),
        outputs: tuple[str, ...] = (),
        offers: dict[str, list[MediaType]] | None = None,
        log: list[Call] | None = None,
        buffers: int = 1,
    ) -> None:
        super().__init__(name=name)
        self.log: list[Call] = log if log is not None else []
        self.offers = dict(offers or {})
        self.accept: Callable[[BasePin, MediaType], bool] = lambda pin, media_type: True
        self.faults: dict[str, BaseException] = {}
        self.results: list[bool] = []
        self.received: list[Any] = []
        self.buffers = buffers
        for pin_name in inputs:
            self.add_pin(_BoxInputPin(self, pin_name))
        for pin_name in outputs:
            self.add_pin(_BoxOutputPin(self, pin_name))

    @property
    def inp(self) -> BaseInputPin:
        """The first input pin."""
        return self.input_pins()[0]

    @property
    def out(self) -> BaseOutputPin:
        """The first output pin."""
        return self.output_pins()[0]

    def hook(self, call: str, pin: BasePin, arg: Any = None) -> None:
        """Log ``call`` and raise its fault if it has one."""
        self.log.append((self.name, call, pin.QueryId(), arg))
        fault = self.faults.get(call)
        if fault is not None:
            raise fault

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        self.hook("check_media_type", pin, media_type)
        return self.accept(pin, media_type)

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        self.hook("get_media_type", pin, position)
        offered = self.offers.get(pin.QueryId(), [])
        return offered[position] if position < len(offered) else None

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        self.hook("complete_connect", pin)

    def break_connect(self, pin: BasePin) -> None:
        self.hook("break_connect", pin)

    def propose_allocation(self, pin: BaseInputPin, query: Any) -> None:
        self.hook("propose_allocation", pin)

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        self.hook("accept_allocator", pin, read_only)

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        self.hook("decide_buffer_size", pin, request)
        size_allocator(
            allocator,
            request,
            buffers=self.buffers,
            buffer_size=pin.ConnectionMediaType().sample_size,
        )

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        self.hook("receive", pin)
        self.received.append(sample)
        return self.results.pop(0) if self.results else True

    def end_of_stream(self, pin: BaseInputPin) -> None:
        self.hook("end_of_stream", pin)

    def begin_flush(self, pin: BaseInputPin) -> None:
        self.hook("begin_flush", pin)

    def end_flush(self, pin: BaseInputPin) -> None:
        self.hook("end_flush", pin)

    def new_segment(self, pin: BaseInputPin, start: int, stop: int, rate: float) -> None:
        self.hook("new_segment", pin, (start, stop, rate))

    def calls(self, call: str) -> list[tuple[str, Any]]:
        """``(filter name, argument)`` of each logged ``call``, in order."""
        return [(name, arg) for name, logged, _pin, arg in self.log if logged == call]


class LoggingSource(SourceFilter):
    """A source offering ``media_type`` whose ``CheckMediaType`` calls go to a shared log."""

    def __init__(self, log: list[Call], media_type: MediaType) -> None:
        super().__init__(name="Source", media_type=media_type)
        self.log = log

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        self.log.append((self.name, "check_media_type", pin.QueryId(), media_type))
        return super().check_media_type(pin, media_type)


class Copier(TransformFilter):
    """Copies each input sample; ``CheckInputType`` refuses the subtypes in ``refused``."""

    def __init__(self) -> None:
        super().__init__(name="Copier")
        self.refused: set[UUID] = set()
        self.transformed = 0

    def CheckInputType(self, media_type: MediaType) -> bool:
        return media_type.subtype not in self.refused

    def Transform(self, in_sample: Any, out_sample: Any) -> bool:
        copy_sample(in_sample, out_sample)
        self.transformed += 1
        return True


class Recorder(RendererFilter):
    """A renderer without sync keeping each sample's bytes; ``fault`` raises once."""

    def __init__(self) -> None:
        super().__init__(name="Recorder", sync=False)
        self.fault: BaseException | None = None
        self.data: list[bytes] = []

    def DoRenderSample(self, sample: Any) -> None:
        fault, self.fault = self.fault, None
        if fault is not None:
            raise fault
        self.data.append(bytes(sample.GetPointer()[: sample.GetActualDataLength()]))


class NonBlockingInputPin(BaseInputPin):
    """An input pin that promises never to block in ``Receive``."""

    def ReceiveCanBlock(self) -> bool:
        return False


def bare_input_pin() -> Any:
    """An object providing IPin only (an input pin of no IMemInputPin transport)."""

    class Bare:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def QueryDirection(self) -> PinDirection:
            return PinDirection.PINDIR_INPUT

        def QueryId(self) -> str:
            return "Bare"

        def EnumMediaTypes(self) -> list[MediaType]:
            return [RGB32]

        def ReceiveConnection(self, connector: Any, media_type: MediaType) -> None:
            self.calls.append("ReceiveConnection")

        def Disconnect(self) -> bool:
            self.calls.append("Disconnect")
            return False

    bare = Bare()
    directlyProvides(bare, IPin)
    return bare


# -- helpers -----------------------------------------------------------------------------------


def pair(*, buffers: int = 3, log: list[Call] | None = None) -> tuple[Box, Box]:
    """An unconnected pusher (output "Out", offers RGB32) and sink (input "In", offers
    nothing), both accepting any type."""
    log = log if log is not None else []
    pusher = Box("Pusher", outputs=("Out",), offers={"Out": [RGB32]}, log=log, buffers=buffers)
    sink = Box("Sink", inputs=("In",), log=log)
    return pusher, sink


def connected_pair(media_type: MediaType = RGB32) -> tuple[Box, Box]:
    """`pair`, connected with ``media_type``."""
    pusher, sink = pair()
    pusher.out.Connect(sink.inp, media_type)
    return pusher, sink


@contextlib.contextmanager
def paused(*filters: BaseFilter) -> Iterator[None]:
    """Pause ``filters`` in order; stop them all on the way out."""
    try:
        for filter in filters:
            filter.Pause()
        yield
    finally:
        for filter in filters:
            filter.Stop()


def assert_unconnected(*pins: BasePin) -> None:
    """Each pin is exactly as a new one: no peer, no type, and no allocator."""
    for pin in pins:
        assert not pin.is_connected()
        with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
            pin.ConnectedTo()
        with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
            pin.ConnectionMediaType()
        if isinstance(pin, BaseOutputPin):
            assert pin.allocator is None
            assert pin.input_pin is None
            assert pin.last_query is None
            assert pin.metas == frozenset()
        if isinstance(pin, BaseInputPin):
            assert pin.peek_allocator() is None
            assert pin.read_only is False


def assert_connected(output: BaseOutputPin, input_pin: BaseInputPin, media_type: MediaType) -> None:
    """Both ends report each other and the same type."""
    assert output.ConnectedTo() is input_pin
    assert input_pin.ConnectedTo() is output
    assert output.ConnectionMediaType() == media_type
    assert input_pin.ConnectionMediaType() == media_type


# -- Connect: the type ----------------------------------------------------------------------


def test_connect_fully_specified_type_is_the_only_one_tried() -> None:
    """A fully specified type is checked by the output then the input, and no pin is asked for
    its types, even when neither offers it."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2]
    pusher.out.Connect(sink.inp, NV12)
    assert_connected(pusher.out, sink.inp, NV12)
    assert pusher.calls("check_media_type") == [("Pusher", NV12), ("Sink", NV12)]
    assert pusher.calls("get_media_type") == []


def test_connect_records_attempt_connection_call_by_call() -> None:
    """A successful connection runs CheckConnect, CheckMediaType, ReceiveConnection (the
    input's checks and CompleteConnect), then the allocator negotiation and the output's
    CompleteConnect, in that order."""
    pusher, sink = pair()
    pusher.out.Connect(sink.inp, RGB32)
    assert [(name, call) for name, call, _pin, _arg in pusher.log] == [
        ("Pusher", "check_connect"),
        ("Pusher", "check_media_type"),
        ("Sink", "check_connect"),
        ("Sink", "check_media_type"),
        ("Sink", "complete_connect"),
        ("Sink", "propose_allocation"),
        ("Pusher", "decide_buffer_size"),
        ("Sink", "accept_allocator"),
        ("Pusher", "complete_connect"),
    ]
    assert pusher.out.allocator is sink.inp.peek_allocator()
    assert sink.inp.read_only is False


def test_connect_fully_specified_type_refused_by_output() -> None:
    """The output's CheckMediaType refusing a fully specified type fails with
    VFW_E_TYPE_NOT_ACCEPTED before the input is asked anything."""
    pusher, sink = pair()
    pusher.accept = lambda pin, media_type: media_type != YUY2
    with raises_hresult(VfwTypeNotAcceptedError, HRESULT.VFW_E_TYPE_NOT_ACCEPTED):
        pusher.out.Connect(sink.inp, YUY2)
    assert pusher.calls("check_media_type") == [("Pusher", YUY2)]
    assert [call for name, call, _pin, _arg in pusher.log if name == "Sink"] == []
    assert_unconnected(pusher.out, sink.inp)


def test_connect_fully_specified_type_refused_by_input() -> None:
    """The input's CheckMediaType refusing a fully specified type fails the connection with
    VFW_E_TYPE_NOT_ACCEPTED."""
    pusher, sink = pair()
    sink.accept = lambda pin, media_type: media_type != YUY2
    with raises_hresult(VfwTypeNotAcceptedError, HRESULT.VFW_E_TYPE_NOT_ACCEPTED):
        pusher.out.Connect(sink.inp, YUY2)
    assert pusher.calls("check_media_type") == [("Pusher", YUY2), ("Sink", YUY2)]
    assert_unconnected(pusher.out, sink.inp)


@pytest.mark.parametrize("error", [FailError, VfwTypeNotAcceptedError], ids=lambda e: e.__name__)
def test_connect_refusal_errors_from_check_media_type_read_as_not_accepted(
    error: type[COMError],
) -> None:
    """E_FAIL or VFW_E_TYPE_NOT_ACCEPTED raised by CheckMediaType is a plain refusal:
    VFW_E_TYPE_NOT_ACCEPTED for a fully specified type."""
    pusher, sink = pair()
    sink.faults["check_media_type"] = error()
    with raises_hresult(VfwTypeNotAcceptedError, HRESULT.VFW_E_TYPE_NOT_ACCEPTED):
        pusher.out.Connect(sink.inp, RGB32)
    assert_unconnected(pusher.out, sink.inp)


def test_connect_without_type_tries_the_peer_types_then_its_own() -> None:
    """With no type, a plain output pin tries the input's EnumMediaTypes first, then its own,
    each checked by the output and then the input."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2, NV12]
    sink.accept = lambda pin, media_type: media_type == RGB32
    pusher.out.Connect(sink.inp, None)
    assert_connected(pusher.out, sink.inp, RGB32)
    assert pusher.calls("check_media_type") == [
        ("Pusher", YUY2),
        ("Sink", YUY2),
        ("Pusher", NV12),
        ("Sink", NV12),
        ("Pusher", RGB32),
        ("Sink", RGB32),
    ]


def test_connect_without_type_stops_at_the_first_accepted() -> None:
    """The first candidate both pins accept is the connection's type; later ones are never
    checked."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2, NV12]
    pusher.out.Connect(sink.inp)
    assert_connected(pusher.out, sink.inp, YUY2)
    assert pusher.calls("check_media_type") == [("Pusher", YUY2), ("Sink", YUY2)]


def test_connect_source_pin_tries_its_own_types_first() -> None:
    """A SourceFilter's pin tries its own types before the peer's (m_bTryMyTypesFirst)."""
    log: list[Call] = []
    source = LoggingSource(log, YUY2)
    sink = Box("Sink", inputs=("In",), offers={"In": [RGB32]}, log=log)
    sink.accept = lambda pin, media_type: False
    with raises_hresult(VfwNoAcceptableTypesError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES):
        source.output.Connect(sink.inp, None)
    checks = [(name, arg) for name, call, _pin, arg in log if call == "check_media_type"]
    assert checks == [("Source", YUY2), ("Sink", YUY2), ("Source", RGB32)]
    assert_unconnected(source.output, sink.inp)


def test_connect_source_pin_connects_with_its_own_type() -> None:
    """A source connected without a type gets its own type when the peer offers another."""
    log: list[Call] = []
    source = LoggingSource(log, YUY2)
    sink = Box("Sink", inputs=("In",), offers={"In": [RGB32]}, log=log)
    source.output.Connect(sink.inp)
    assert_connected(source.output, sink.inp, YUY2)


def test_connect_partial_type_skips_candidates_it_does_not_match() -> None:
    """A partial type (GUID_NULL fields) filters the candidates: those it does not match are
    never checked, the first matching one both accept is chosen."""
    pusher, sink = pair()
    sink.offers["In"] = [PCM, NV12]
    pusher.out.Connect(sink.inp, ANY_VIDEO)
    assert_connected(pusher.out, sink.inp, NV12)
    assert pusher.calls("check_media_type") == [("Pusher", NV12), ("Sink", NV12)]


def test_connect_partial_type_matching_nothing() -> None:
    """A partial type that matches no candidate fails with VFW_E_NO_ACCEPTABLE_TYPES without
    checking any type."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2]
    with raises_hresult(VfwNoAcceptableTypesError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES):
        pusher.out.Connect(sink.inp, ANY_AUDIO)
    assert pusher.calls("check_media_type") == []
    assert_unconnected(pusher.out, sink.inp)


def test_connect_without_any_acceptable_type() -> None:
    """When every candidate is refused, Connect fails with VFW_E_NO_ACCEPTABLE_TYPES."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2]
    sink.accept = lambda pin, media_type: False
    with raises_hresult(VfwNoAcceptableTypesError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES):
        pusher.out.Connect(sink.inp)
    assert pusher.calls("check_media_type") == [
        ("Pusher", YUY2),
        ("Sink", YUY2),
        ("Pusher", RGB32),
        ("Sink", RGB32),
    ]
    assert_unconnected(pusher.out, sink.inp)


def test_connect_without_candidates() -> None:
    """When neither pin offers a type, Connect without a type fails with
    VFW_E_NO_ACCEPTABLE_TYPES."""
    pusher, sink = pair()
    pusher.offers.clear()
    with raises_hresult(VfwNoAcceptableTypesError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES):
        pusher.out.Connect(sink.inp)
    assert_unconnected(pusher.out, sink.inp)


@pytest.mark.parametrize("side", ["output", "input"])
def test_connect_returns_a_specific_check_media_type_error(side: str) -> None:
    """A CheckMediaType raising an error other than a refusal (here VFW_E_NOT_CONNECTED) makes
    Connect fail with that error instead of VFW_E_NO_ACCEPTABLE_TYPES."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2]
    box = pusher if side == "output" else sink

    def check(pin: BasePin, media_type: MediaType) -> bool:
        if media_type == YUY2:
            raise VfwNotConnectedError()
        return False

    box.accept = check
    with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
        pusher.out.Connect(sink.inp)
    expected = (
        [("Pusher", YUY2), ("Pusher", RGB32)]
        if side == "output"
        else [("Pusher", YUY2), ("Sink", YUY2), ("Pusher", RGB32), ("Sink", RGB32)]
    )
    assert pusher.calls("check_media_type") == expected
    assert_unconnected(pusher.out, sink.inp)


def test_connect_specific_error_is_forgotten_when_a_later_type_connects() -> None:
    """A specific error from one candidate does not fail the connection when a later
    candidate is accepted."""
    pusher, sink = pair()
    sink.offers["In"] = [YUY2]

    def check(pin: BasePin, media_type: MediaType) -> bool:
        if media_type == YUY2:
            raise VfwNotConnectedError()
        return True

    sink.accept = check
    pusher.out.Connect(sink.inp)
    assert_connected(pusher.out, sink.inp, RGB32)


# -- Connect: the pins --------------------------------------------------------------------------


def test_connect_to_none() -> None:
    """Connect(None) fails with E_POINTER."""
    pusher, _sink = pair()
    with raises_hresult(PointerError, HRESULT.E_POINTER):
        pusher.out.Connect(None)
    assert_unconnected(pusher.out)


def test_connect_when_already_connected() -> None:
    """Connecting a connected output pin, or to a connected input pin, fails with
    VFW_E_ALREADY_CONNECTED and leaves the existing connection alone."""
    pusher, sink = connected_pair()
    other_pusher, other_sink = pair()
    with raises_hresult(VfwAlreadyConnectedError, HRESULT.VFW_E_ALREADY_CONNECTED):
        pusher.out.Connect(other_sink.inp, RGB32)
    with raises_hresult(VfwAlreadyConnectedError, HRESULT.VFW_E_ALREADY_CONNECTED):
        other_pusher.out.Connect(sink.inp, RGB32)
    with raises_hresult(VfwAlreadyConnectedError, HRESULT.VFW_E_ALREADY_CONNECTED):
        other_pusher.out.Connect(sink.inp)
    assert_connected(pusher.out, sink.inp, RGB32)
    assert pusher.out.allocator is sink.inp.peek_allocator()
    assert_unconnected(other_pusher.out, other_sink.inp)


@pytest.mark.parametrize("media_type", [RGB32, None], ids=["typed", "untyped"])
@pytest.mark.parametrize("paused_side", ["output", "input"])
def test_connect_while_paused(paused_side: str, media_type: MediaType | None) -> None:
    """Connect fails with VFW_E_NOT_STOPPED when either pin's filter is paused."""
    pusher, sink = pair()
    with paused(pusher if paused_side == "output" else sink):
        with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
            pusher.out.Connect(sink.inp, media_type)
        assert_unconnected(pusher.out, sink.inp)


@pytest.mark.parametrize("media_type", [RGB32, None], ids=["typed", "untyped"])
def test_connect_output_to_output(media_type: MediaType | None) -> None:
    """Connecting an output pin to an output pin fails with VFW_E_INVALID_DIRECTION."""
    pusher, _sink = pair()
    other = Box("Other", outputs=("Out",), offers={"Out": [RGB32]})
    with raises_hresult(VfwInvalidDirectionError, HRESULT.VFW_E_INVALID_DIRECTION):
        pusher.out.Connect(other.out, media_type)
    assert_unconnected(pusher.out, other.out)


@pytest.mark.parametrize("media_type", [RGB32, None], ids=["typed", "untyped"])
def test_connect_input_to_input(media_type: MediaType | None) -> None:
    """Connecting an input pin to an input pin fails with VFW_E_INVALID_DIRECTION."""
    _pusher, sink = pair()
    other = Box("Other", inputs=("In",), offers={"In": [RGB32]})
    with raises_hresult(VfwInvalidDirectionError, HRESULT.VFW_E_INVALID_DIRECTION):
        sink.inp.Connect(other.inp, media_type)
    assert_unconnected(sink.inp, other.inp)


def test_connect_from_the_input_side() -> None:
    """An input pin connecting to an output pin fails with the output's E_UNEXPECTED and
    leaves both pins unconnected."""
    pusher, sink = pair()
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sink.inp.Connect(pusher.out, RGB32)
    assert_unconnected(pusher.out, sink.inp)


@pytest.mark.parametrize("media_type", [RGB32, None], ids=["typed", "untyped"])
def test_connect_to_a_pin_without_imeminputpin(media_type: MediaType | None) -> None:
    """An output pin refuses a peer that provides IPin but not IMemInputPin with E_NOINTERFACE,
    before calling its ReceiveConnection."""
    pusher, _sink = pair()
    bare = bare_input_pin()
    assert IPin.providedBy(bare) is True
    assert IMemInputPin.providedBy(bare) is False
    with raises_hresult(NoInterfaceError, HRESULT.E_NOINTERFACE):
        pusher.out.Connect(bare, media_type)
    assert bare.calls == []
    assert_unconnected(pusher.out)


def test_connect_to_something_that_is_no_pin() -> None:
    """Connect to an object that is not an IPin is a TypeError."""
    pusher, _sink = pair()
    with pytest.raises(TypeError):
        pusher.out.Connect(object(), RGB32)
    assert_unconnected(pusher.out)


# -- a failed connection leaves both pins as they were ------------------------------------------


Setup = Callable[[Box, Box], None]


def _fault(side: str, hook: str, error: type[COMError] | None) -> Setup:
    """Make ``hook`` of the output (pusher) or input (sink) box raise ``error`` (None: make
    ``CheckMediaType`` answer False)."""

    def setup(pusher: Box, sink: Box) -> None:
        box = pusher if side == "output" else sink
        if error is None:
            box.accept = lambda pin, media_type: False
        else:
            box.faults[hook] = error()

    return setup


def _bad_alignment(pusher: Box, sink: Box) -> None:
    """The input requires an alignment no allocator takes (3): SetProperties fails."""
    sink.inp.requirements = AllocatorProperties(align=3)


FAILURES = [
    pytest.param(
        _fault("output", "check_connect", UnexpectedError),
        HRESULT.E_UNEXPECTED,
        id="output-CheckConnect",
    ),
    pytest.param(
        _fault("output", "check_media_type", None),
        HRESULT.VFW_E_TYPE_NOT_ACCEPTED,
        id="output-CheckMediaType",
    ),
    pytest.param(
        _fault("input", "check_connect", UnexpectedError),
        HRESULT.E_UNEXPECTED,
        id="input-CheckConnect",
    ),
    pytest.param(
        _fault("input", "check_media_type", None),
        HRESULT.VFW_E_TYPE_NOT_ACCEPTED,
        id="ReceiveConnection-CheckMediaType",
    ),
    pytest.param(
        _fault("input", "complete_connect", UnexpectedError),
        HRESULT.E_UNEXPECTED,
        id="ReceiveConnection-CompleteConnect",
    ),
    pytest.param(
        _fault("output", "decide_buffer_size", VfwSizeNotSetError),
        HRESULT.VFW_E_SIZENOTSET,
        id="DecideBufferSize",
    ),
    pytest.param(_bad_alignment, HRESULT.VFW_E_BADALIGN, id="SetProperties"),
    pytest.param(
        _fault("input", "accept_allocator", FailError),
        HRESULT.E_FAIL,
        id="NotifyAllocator",
    ),
    pytest.param(
        _fault("output", "complete_connect", UnexpectedError),
        HRESULT.E_UNEXPECTED,
        id="output-CompleteConnect",
    ),
]
#: The errors a candidate's failure counts as a refusal for (BC-amf TryMediaTypes).
REFUSALS = {HRESULT.E_FAIL, HRESULT.E_INVALIDARG, HRESULT.VFW_E_TYPE_NOT_ACCEPTED}


@pytest.mark.parametrize("media_type", [RGB32, None], ids=["typed", "untyped"])
@pytest.mark.parametrize(("setup", "code"), FAILURES)
def test_failed_connection_leaves_both_pins_as_they_were(
    setup: Setup, code: HRESULT, media_type: MediaType | None
) -> None:
    """A connection failing at any step fails with that step's error (a refusal without a type
    becomes VFW_E_NO_ACCEPTABLE_TYPES) and leaves both pins unconnected, typeless and without
    an allocator, ready to connect again."""
    pusher, sink = pair()
    setup(pusher, sink)
    if media_type is None and code in REFUSALS:
        code = HRESULT.VFW_E_NO_ACCEPTABLE_TYPES
    with pytest.raises(COMError) as info:
        pusher.out.Connect(sink.inp, media_type)
    assert info.value.hresult == code
    assert_unconnected(pusher.out, sink.inp)
    for box in (pusher, sink):
        box.faults.clear()
        box.accept = lambda pin, media_type: True
    sink.inp.requirements = None
    pusher.out.Connect(sink.inp, media_type)
    assert_connected(pusher.out, sink.inp, RGB32)


def test_failed_negotiation_tries_both_allocators() -> None:
    """When sizing fails, the output tries the input's allocator and then one of its own
    (two DecideBufferSize calls) before the connection fails."""
    pusher, sink = pair()
    pusher.faults["decide_buffer_size"] = VfwSizeNotSetError()
    with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
        pusher.out.Connect(sink.inp, RGB32)
    assert len(pusher.calls("decide_buffer_size")) == 2
    assert sink.calls("accept_allocator") == []
    assert_unconnected(pusher.out, sink.inp)


# -- ReceiveConnection --------------------------------------------------------------------------


def test_receive_connection_needs_a_pin_and_a_type() -> None:
    """ReceiveConnection with None for the pin or the type fails with E_POINTER."""
    pusher, sink = pair()
    with raises_hresult(PointerError, HRESULT.E_POINTER):
        sink.inp.ReceiveConnection(None, RGB32)
    with raises_hresult(PointerError, HRESULT.E_POINTER):
        sink.inp.ReceiveConnection(pusher.out, None)  # type: ignore[arg-type]
    assert_unconnected(pusher.out, sink.inp)


def test_receive_connection_connects_this_side_only() -> None:
    """A successful ReceiveConnection connects the input pin alone, with the given type."""
    pusher, sink = pair()
    sink.inp.ReceiveConnection(pusher.out, NV12)
    assert sink.inp.ConnectedTo() is pusher.out
    assert sink.inp.ConnectionMediaType() == NV12
    assert_unconnected(pusher.out)
    assert sink.inp.Disconnect() is True
    assert_unconnected(sink.inp)


def test_receive_connection_when_already_connected() -> None:
    """ReceiveConnection on a connected pin fails with VFW_E_ALREADY_CONNECTED and keeps the
    connection."""
    pusher, sink = connected_pair()
    other, _ = pair()
    with raises_hresult(VfwAlreadyConnectedError, HRESULT.VFW_E_ALREADY_CONNECTED):
        sink.inp.ReceiveConnection(other.out, RGB32)
    assert_connected(pusher.out, sink.inp, RGB32)


def test_receive_connection_while_paused() -> None:
    """ReceiveConnection fails with VFW_E_NOT_STOPPED while the pin's filter is paused."""
    pusher, sink = pair()
    with paused(sink):
        with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
            sink.inp.ReceiveConnection(pusher.out, RGB32)
        assert_unconnected(sink.inp)


def test_receive_connection_with_a_refused_type() -> None:
    """ReceiveConnection with a type CheckMediaType refuses fails with
    VFW_E_TYPE_NOT_ACCEPTED."""
    pusher, sink = pair()
    sink.accept = lambda pin, media_type: media_type != YUY2
    with raises_hresult(VfwTypeNotAcceptedError, HRESULT.VFW_E_TYPE_NOT_ACCEPTED):
        sink.inp.ReceiveConnection(pusher.out, YUY2)
    assert_unconnected(sink.inp)


def test_receive_connection_with_a_specific_check_error() -> None:
    """A specific error raised by CheckMediaType comes out of ReceiveConnection unchanged."""
    pusher, sink = pair()
    sink.faults["check_media_type"] = VfwNotConnectedError()
    with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
        sink.inp.ReceiveConnection(pusher.out, RGB32)
    assert_unconnected(sink.inp)


def test_receive_connection_from_an_input_pin() -> None:
    """ReceiveConnection from a pin of the same direction fails with
    VFW_E_INVALID_DIRECTION."""
    _pusher, sink = pair()
    other = Box("Other", inputs=("In",))
    with raises_hresult(VfwInvalidDirectionError, HRESULT.VFW_E_INVALID_DIRECTION):
        sink.inp.ReceiveConnection(other.inp, RGB32)
    assert_unconnected(sink.inp, other.inp)


def test_receive_connection_on_an_output_pin() -> None:
    """An output pin's ReceiveConnection fails with E_UNEXPECTED."""
    pusher, sink = pair()
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        pusher.out.ReceiveConnection(sink.inp, RGB32)
    assert_unconnected(pusher.out, sink.inp)


# -- Disconnect, ConnectedTo, ConnectionMediaType -----------------------------------------------


def test_both_ends_report_each_other_and_the_same_type() -> None:
    """After Connect, ConnectedTo gives the peer and ConnectionMediaType the same type on
    both ends."""
    pusher, sink = pair()
    assert_unconnected(pusher.out, sink.inp)
    pusher.out.Connect(sink.inp, YUY2)
    assert_connected(pusher.out, sink.inp, YUY2)


def test_disconnect_true_then_false() -> None:
    """Disconnect returns True for a connected pin and False once it is not connected."""
    pusher, sink = connected_pair()
    assert sink.inp.Disconnect() is True
    assert sink.inp.Disconnect() is False
    assert pusher.out.Disconnect() is True
    assert pusher.out.Disconnect() is False
    assert_unconnected(pusher.out, sink.inp)


def test_disconnect_breaks_one_side_only() -> None:
    """Disconnecting the input leaves the output connected to it, with its type and
    allocator, until the output is disconnected too."""
    pusher, sink = connected_pair()
    allocator = pusher.out.allocator
    assert sink.inp.Disconnect() is True
    assert_unconnected(sink.inp)
    assert pusher.out.ConnectedTo() is sink.inp
    assert pusher.out.ConnectionMediaType() == RGB32
    assert pusher.out.allocator is allocator
    assert pusher.out.Disconnect() is True
    assert_unconnected(pusher.out)


def test_disconnect_from_the_output_side_only() -> None:
    """Disconnecting the output leaves the input connected to it."""
    pusher, sink = connected_pair()
    assert pusher.out.Disconnect() is True
    assert_unconnected(pusher.out)
    assert sink.inp.ConnectedTo() is pusher.out
    assert sink.inp.ConnectionMediaType() == RGB32
    assert sink.inp.Disconnect() is True


def test_disconnect_while_paused() -> None:
    """Disconnect fails with VFW_E_NOT_STOPPED while the pin's filter is paused, and the
    connection stays."""
    pusher, sink = connected_pair()
    with paused(sink, pusher):
        with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
            sink.inp.Disconnect()
        with raises_hresult(VfwNotStoppedError, HRESULT.VFW_E_NOT_STOPPED):
            pusher.out.Disconnect()
        assert_connected(pusher.out, sink.inp, RGB32)
    assert sink.inp.Disconnect() is True
    assert pusher.out.Disconnect() is True


def test_reconnect_after_disconnect() -> None:
    """Once both sides are disconnected the pins connect again, with another type."""
    pusher, sink = connected_pair()
    sink.inp.Disconnect()
    pusher.out.Disconnect()
    pusher.out.Connect(sink.inp, YUY2)
    assert_connected(pusher.out, sink.inp, YUY2)
    assert pusher.out.allocator.GetProperties().buffer_size == YUY2.sample_size


# -- queries ------------------------------------------------------------------------------------


def test_query_pin_info_direction_and_id() -> None:
    """QueryPinInfo gives the owning filter, the direction and the name; QueryDirection the
    direction; QueryId the id (the name unless given)."""
    filter = BaseFilter(name="F")
    inp = filter.add_pin(BaseInputPin(filter, "Video In", pin_id="in0"))
    out = filter.add_pin(BaseOutputPin(filter, "Out"))
    info = inp.QueryPinInfo()
    assert info.filter is filter
    assert info.direction is PinDirection.PINDIR_INPUT
    assert info.name == "Video In"
    assert inp.QueryDirection() is PinDirection.PINDIR_INPUT
    assert inp.QueryId() == "in0"
    assert out.QueryPinInfo().direction is PinDirection.PINDIR_OUTPUT
    assert out.QueryDirection() is PinDirection.PINDIR_OUTPUT
    assert out.QueryId() == "Out"


def test_find_pin_round_trip() -> None:
    """FindPin(pin.QueryId()) is the pin; an unknown id fails with VFW_E_NOT_FOUND."""
    pusher, sink = pair()
    for filter, pin in ((pusher, pusher.out), (sink, sink.inp)):
        assert filter.FindPin(pin.QueryId()) is pin
    with raises_hresult(VfwNotFoundError, HRESULT.VFW_E_NOT_FOUND):
        sink.FindPin("Out")


def test_query_accept() -> None:
    """QueryAccept answers CheckMediaType with True or False and connects nothing."""
    _pusher, sink = pair()
    sink.accept = lambda pin, media_type: media_type == RGB32
    assert sink.inp.QueryAccept(RGB32) is True
    assert sink.inp.QueryAccept(YUY2) is False
    assert_unconnected(sink.inp)


@pytest.mark.parametrize(
    "error",
    [VfwNotConnectedError(), FailError(), RuntimeError("hook failed")],
    ids=["VFW_E_NOT_CONNECTED", "E_FAIL", "RuntimeError"],
)
def test_query_accept_never_raises(error: Exception) -> None:
    """QueryAccept answers False when CheckMediaType raises, whatever it raises."""
    _pusher, sink = pair()
    sink.faults["check_media_type"] = error
    assert sink.inp.QueryAccept(RGB32) is False


def test_query_accept_on_a_transform_output_without_input() -> None:
    """A transform's output pin answers False (not an error) while its input is unconnected."""
    copier = Copier()
    assert copier.output.QueryAccept(RGB32) is False


def test_enum_media_types_lists_the_offered_types_in_order() -> None:
    """EnumMediaTypes lists GetMediaType(0), GetMediaType(1), ... in order, as a new list
    each time."""
    pusher, sink = pair()
    pusher.offers["Out"] = [YUY2, RGB32, NV12]
    listed = pusher.out.EnumMediaTypes()
    assert listed == [YUY2, RGB32, NV12]
    listed.clear()
    assert pusher.out.EnumMediaTypes() == [YUY2, RGB32, NV12]
    assert sink.inp.EnumMediaTypes() == []


def test_enum_media_types_of_a_transform_output_needs_the_input() -> None:
    """A transform's output pin lists nothing while its input pin is unconnected, then the
    input's type."""
    pusher, _sink = pair()
    copier = Copier()
    assert copier.output.EnumMediaTypes() == []
    pusher.out.Connect(copier.input, YUY2)
    assert copier.output.EnumMediaTypes() == [YUY2]


# -- stream calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["EndOfStream", "BeginFlush", "EndFlush"])
def test_stream_calls_on_an_output_pin(call: str) -> None:
    """EndOfStream, BeginFlush and EndFlush on an output pin fail with E_UNEXPECTED."""
    pusher, sink = connected_pair()
    logged = len(pusher.log)
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        getattr(pusher.out, call)()
    assert pusher.log[logged:] == []
    assert sink.inp.end_of_stream is False
    assert sink.inp.flushing is False


def test_new_segment_is_stored() -> None:
    """NewSegment stores start, stop and rate on the pin (input or output) and tells an input
    pin's filter; a pin starts with the whole stream at rate 1.0."""
    pusher, sink = connected_pair()
    assert sink.inp.segment == DEFAULT_SEGMENT
    assert pusher.out.segment == DEFAULT_SEGMENT
    sink.inp.NewSegment(10000, 20000, 1.0)
    assert sink.inp.segment == (10000, 20000, 1.0)
    assert sink.calls("new_segment") == [("Sink", (10000, 20000, 1.0))]
    pusher.out.NewSegment(5, 6, 2.0)
    assert pusher.out.segment == (5, 6, 2.0)
    assert sink.inp.segment == (10000, 20000, 1.0)


def test_new_segment_is_forwarded_by_a_transform() -> None:
    """A transform forwards NewSegment downstream unchanged: 10000, 20000, 1.0 arrive at the
    renderer's input pin."""
    pusher, _sink = pair()
    copier, recorder = Copier(), Recorder()
    pusher.out.Connect(copier.input, RGB32)
    copier.output.Connect(recorder.input, RGB32)
    copier.input.NewSegment(10000, 20000, 1.0)
    assert copier.input.segment == (10000, 20000, 1.0)
    assert recorder.input.segment == (10000, 20000, 1.0)


def test_end_of_stream_is_forwarded_by_a_transform() -> None:
    """A transform's input forwards EndOfStream downstream, each time it comes."""
    pusher, _sink = pair()
    copier = Copier()
    sink = Box("Sink", inputs=("In",))
    pusher.out.Connect(copier.input, RGB32)
    copier.output.Connect(sink.inp, RGB32)
    with paused(sink, copier, pusher):
        copier.input.EndOfStream()
        copier.input.EndOfStream()
    assert sink.calls("end_of_stream") == [("Sink", None), ("Sink", None)]


# -- Receive ------------------------------------------------------------------------------------


def test_receive_while_stopped() -> None:
    """Receive on a pin whose filter is stopped fails with VFW_E_WRONG_STATE without handing
    the sample to the filter."""
    pusher, sink = connected_pair()
    with paused(pusher), pusher.out.allocator.GetBuffer() as sample:
        with raises_hresult(VfwWrongStateError, HRESULT.VFW_E_WRONG_STATE):
            sink.inp.Receive(sample)
        assert sample.AddRef() == 2
        assert sample.Release() == 1
    assert sink.received == []


def test_receive_hands_the_sample_to_the_filter() -> None:
    """Receive on a paused pin gives the sample to the filter and returns its answer."""
    pusher, sink = connected_pair()
    with paused(sink, pusher), pusher.out.allocator.GetBuffer() as sample:
        assert sink.inp.Receive(sample) is True
        assert sink.received == [sample]


def test_receive_while_flushing() -> None:
    """Between BeginFlush and EndFlush, Receive returns False and leaves the sample untouched;
    after EndFlush samples are accepted again."""
    pusher, sink = connected_pair()
    with paused(sink, pusher):
        sink.inp.BeginFlush()
        with pusher.out.allocator.GetBuffer() as sample:
            sample.GetPointer()[:4] = b"\x01\x02\x03\x04"
            sample.SetActualDataLength(4)
            assert sink.inp.Receive(sample) is False
            assert sample.AddRef() == 2
            assert sample.Release() == 1
            assert sample.GetActualDataLength() == 4
            assert bytes(sample.GetPointer()[:4]) == b"\x01\x02\x03\x04"
        assert sink.received == []
        sink.inp.EndFlush()
        with pusher.out.allocator.GetBuffer() as sample:
            assert sink.inp.Receive(sample) is True
            assert sink.received == [sample]
    assert [call for _name, call, _pin, _arg in sink.log[-3:]] == [
        "begin_flush",
        "end_flush",
        "receive",
    ]


def test_stop_ends_a_flush() -> None:
    """Stopping clears the flushing state (Inactive): after a new Pause samples are accepted."""
    pusher, sink = connected_pair()
    with paused(sink, pusher):
        sink.inp.BeginFlush()
    assert sink.inp.flushing is False
    with paused(sink, pusher), pusher.out.allocator.GetBuffer() as sample:
        assert sink.inp.Receive(sample) is True


def test_end_of_stream_while_flushing_is_ignored() -> None:
    """EndOfStream while flushing reaches neither the filter nor the pin's end-of-stream
    state; EndFlush clears an end of stream that arrived before the flush."""
    pusher, sink = connected_pair()
    with paused(sink, pusher):
        sink.inp.EndOfStream()
        assert sink.inp.end_of_stream is True
        sink.inp.BeginFlush()
        sink.inp.EndFlush()
        assert sink.inp.end_of_stream is False
        sink.inp.BeginFlush()
        sink.inp.EndOfStream()
        assert sink.inp.end_of_stream is False
    assert sink.calls("end_of_stream") == [("Sink", None)]


def test_end_of_stream_while_stopped() -> None:
    """EndOfStream on an input pin of a stopped filter fails with VFW_E_WRONG_STATE."""
    _pusher, sink = connected_pair()
    with raises_hresult(VfwWrongStateError, HRESULT.VFW_E_WRONG_STATE):
        sink.inp.EndOfStream()
    assert sink.calls("end_of_stream") == []


def _copier_without_output() -> tuple[Box, Copier]:
    pusher, _sink = pair()
    copier = Copier()
    pusher.out.Connect(copier.input, RGB32)
    return pusher, copier


def test_transform_receive_without_connected_output() -> None:
    """A transform whose output pin is unconnected refuses Receive with VFW_E_NOT_CONNECTED
    (CTransformInputPin::CheckStreaming) and never reaches Transform."""
    pusher, copier = _copier_without_output()
    with (
        paused(copier, pusher),
        pusher.out.allocator.GetBuffer() as sample,
        raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED),
    ):
        copier.input.Receive(sample)
    assert copier.transformed == 0


def test_transform_end_of_stream_without_connected_output() -> None:
    """A transform whose output pin is unconnected refuses EndOfStream with
    VFW_E_NOT_CONNECTED (CTransformInputPin::CheckStreaming)."""
    pusher, copier = _copier_without_output()
    with paused(copier, pusher), raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
        copier.input.EndOfStream()


def _renderer_graph() -> tuple[FilterGraph, Box, Recorder]:
    """A clockless graph of a pusher feeding a `Recorder`."""
    graph = FilterGraph(clock=None)
    pusher, _sink = pair()
    recorder = Recorder()
    graph.connect_chain(pusher, recorder)
    return graph, pusher, recorder


def _render_one(pusher: Box, recorder: Recorder, data: bytes) -> bool:
    """Receive one sample holding ``data`` on the recorder's pin."""
    with pusher.out.allocator.GetBuffer() as sample:
        sample.GetPointer()[: len(data)] = data
        sample.SetActualDataLength(len(data))
        return bool(recorder.input.Receive(sample))


@pytest.mark.timeout(10)
def test_runtime_error_until_end_flush() -> None:
    """After a hook raised, the error is reported as EC_ERRORABORT and Receive and EndOfStream
    fail with VFW_E_RUNTIME_ERROR until EndFlush clears it."""
    graph, pusher, recorder = _renderer_graph()
    fault = RuntimeError("render failed")
    with graph:
        graph.Run()
        recorder.fault = fault
        with pytest.raises(RuntimeError):
            _render_one(pusher, recorder, b"a")
        assert graph.GetEvent(0) == (EC_ERRORABORT, HRESULT.E_FAIL, fault)
        with raises_hresult(VfwRuntimeError, HRESULT.VFW_E_RUNTIME_ERROR):
            _render_one(pusher, recorder, b"b")
        with raises_hresult(VfwRuntimeError, HRESULT.VFW_E_RUNTIME_ERROR):
            recorder.input.EndOfStream()
        recorder.input.BeginFlush()
        recorder.input.EndFlush()
        assert _render_one(pusher, recorder, b"c") is True
    assert recorder.data == [b"c"]


@pytest.mark.timeout(10)
def test_runtime_error_until_stop() -> None:
    """A runtime error also ends when the filter stops (Inactive clears it)."""
    graph, pusher, recorder = _renderer_graph()
    with graph:
        graph.Run()
        recorder.fault = RuntimeError("render failed")
        with pytest.raises(RuntimeError):
            _render_one(pusher, recorder, b"a")
        with raises_hresult(VfwRuntimeError, HRESULT.VFW_E_RUNTIME_ERROR):
            _render_one(pusher, recorder, b"b")
        graph.Stop()
        assert recorder.state is FilterState.State_Stopped
        graph.Run()
        assert _render_one(pusher, recorder, b"c") is True
    assert recorder.data == [b"c"]


@pytest.mark.timeout(10)
def test_receive_with_a_refused_type_change() -> None:
    """A sample carrying a type the pin refuses fails with VFW_E_INVALIDMEDIATYPE; the graph
    gets EC_ERRORABORT (VFW_E_TYPE_NOT_ACCEPTED) before the end of stream it sends
    downstream causes EC_COMPLETE, and later samples get VFW_E_RUNTIME_ERROR."""
    graph = FilterGraph(clock=None)
    pusher, _sink = pair()
    copier, recorder = Copier(), Recorder()
    copier.refused.add(MEDIASUBTYPE_YUY2)
    graph.connect_chain(pusher, copier, recorder)
    with graph:
        graph.Run()
        with pusher.out.allocator.GetBuffer() as sample:
            sample.SetMediaType(YUY2)
            with raises_hresult(VfwInvalidMediaTypeError, HRESULT.VFW_E_INVALIDMEDIATYPE):
                copier.input.Receive(sample)
        assert recorder.input.end_of_stream is True
        code, param1, _param2 = graph.GetEvent(0)
        assert (code, param1) == (EC_ERRORABORT, HRESULT.VFW_E_TYPE_NOT_ACCEPTED)
        assert graph.GetEvent(0) == (EC_COMPLETE, 0, 0)
        assert graph.WaitForCompletion(0) == EC_ERRORABORT
        assert copier.input.ConnectionMediaType() == RGB32
        with (
            pusher.out.allocator.GetBuffer() as sample,
            raises_hresult(VfwRuntimeError, HRESULT.VFW_E_RUNTIME_ERROR),
        ):
            copier.input.Receive(sample)
    assert copier.transformed == 0
    assert recorder.data == []


def test_receive_with_an_accepted_type_change() -> None:
    """A sample carrying a type the pin accepts is checked, handed on, and becomes the pin's
    ConnectionMediaType."""
    pusher, sink = connected_pair()
    with paused(sink, pusher), pusher.out.allocator.GetBuffer() as sample:
        sample.SetMediaType(YUY2)
        assert sink.inp.Receive(sample) is True
        assert sink.inp.ConnectionMediaType() == YUY2
        assert sink.calls("check_media_type")[-1] == ("Sink", YUY2)
        assert sink.received == [sample]


# -- ReceiveMultiple, ReceiveCanBlock -----------------------------------------------------------


@contextlib.contextmanager
def samples(pin: BaseOutputPin, count: int) -> Iterator[list[Any]]:
    """``count`` samples from ``pin``'s allocator, released on the way out."""
    taken = [pin.allocator.GetBuffer() for _ in range(count)]
    try:
        yield taken
    finally:
        for sample in taken:
            sample.Release()


def test_receive_multiple_counts_the_accepted() -> None:
    """ReceiveMultiple hands every sample on in order and returns how many were accepted; an
    empty sequence returns 0."""
    pusher, sink = connected_pair()
    with paused(sink, pusher), samples(pusher.out, 3) as taken:
        assert sink.inp.ReceiveMultiple([]) == 0
        assert sink.inp.ReceiveMultiple(taken) == 3
        assert sink.received == taken


def test_receive_multiple_stops_at_the_first_false() -> None:
    """ReceiveMultiple stops at the first sample Receive answers False for: the ones after
    it are never handed on, and the count is those accepted before it."""
    pusher, sink = connected_pair()
    sink.results = [True, False, True]
    with paused(sink, pusher), samples(pusher.out, 3) as taken:
        assert sink.inp.ReceiveMultiple(taken) == 1
        assert sink.received == taken[:2]


def test_receive_multiple_while_flushing() -> None:
    """ReceiveMultiple while flushing returns 0 and hands nothing on."""
    pusher, sink = connected_pair()
    with paused(sink, pusher), samples(pusher.out, 2) as taken:
        sink.inp.BeginFlush()
        assert sink.inp.ReceiveMultiple(taken) == 0
    assert sink.received == []


def test_receive_can_block_in_front_of_a_renderer() -> None:
    """A transform in front of a NullRenderer can block (renderers block), and so can the
    renderer's own pin."""
    pusher, _sink = pair()
    copier, renderer = Copier(), NullRenderer()
    pusher.out.Connect(copier.input, RGB32)
    copier.output.Connect(renderer.input, RGB32)
    assert copier.input.ReceiveCanBlock() is True
    assert renderer.input.ReceiveCanBlock() is True


def test_receive_can_block_without_a_connected_output() -> None:
    """A pin of a filter with no connected output pin answers True."""
    _pusher, sink = connected_pair()
    copier = Copier()
    assert copier.input.ReceiveCanBlock() is True
    assert sink.inp.ReceiveCanBlock() is True


def _non_blocking_sink(name: str) -> tuple[BaseFilter, NonBlockingInputPin]:
    filter = BaseFilter(name=name)
    return filter, filter.add_pin(NonBlockingInputPin(filter, "In"))


def test_receive_can_block_in_front_of_a_non_blocking_pin() -> None:
    """A transform whose output feeds a pin answering False answers False."""
    pusher, _sink = pair()
    copier = Copier()
    _filter, downstream = _non_blocking_sink("NonBlocking")
    pusher.out.Connect(copier.input, RGB32)
    copier.output.Connect(downstream, RGB32)
    assert copier.input.ReceiveCanBlock() is False


def test_receive_can_block_asks_every_connected_output() -> None:
    """With two connected outputs, the answer is False only while both peers answer False."""
    split = Box("Split", inputs=("In",), outputs=("A", "B"))
    _f1, first = _non_blocking_sink("First")
    _f2, second = _non_blocking_sink("Second")
    output_a, output_b = split.output_pins()
    output_a.Connect(first, RGB32)
    assert split.inp.ReceiveCanBlock() is False
    output_b.Connect(second, RGB32)
    assert split.inp.ReceiveCanBlock() is False
    output_b.Disconnect()
    second.Disconnect()
    renderer = NullRenderer()
    output_b.Connect(renderer.input, RGB32)
    assert split.inp.ReceiveCanBlock() is True


# -- the allocator calls ------------------------------------------------------------------------


def test_get_allocator_returns_the_same_allocator() -> None:
    """GetAllocator makes one MemAllocator and returns that same object each time."""
    _pusher, sink = pair()
    first = sink.inp.GetAllocator()
    assert IMemAllocator.providedBy(first)
    assert sink.inp.GetAllocator() is first
    assert sink.inp.peek_allocator() is first


def test_get_allocator_after_notify_allocator() -> None:
    """After NotifyAllocator(X, read_only), GetAllocator returns X and the pin remembers
    read_only."""
    _pusher, sink = pair()
    sink.inp.GetAllocator()
    chosen = MemAllocator()
    sink.inp.NotifyAllocator(chosen, True)
    assert sink.inp.GetAllocator() is chosen
    assert sink.inp.read_only is True
    sink.inp.NotifyAllocator(chosen, False)
    assert sink.inp.read_only is False
    assert sink.calls("accept_allocator") == [("Sink", True), ("Sink", False)]


def test_notify_allocator_none() -> None:
    """NotifyAllocator(None) fails with E_POINTER and keeps the allocator the pin had."""
    _pusher, sink = pair()
    chosen = MemAllocator()
    sink.inp.NotifyAllocator(chosen, True)
    with raises_hresult(PointerError, HRESULT.E_POINTER):
        sink.inp.NotifyAllocator(None, False)
    assert sink.inp.GetAllocator() is chosen
    assert sink.inp.read_only is True


def test_get_allocator_requirements_default() -> None:
    """Without requirements, GetAllocatorRequirements fails with E_NOTIMPL, which is also a
    NotImplementedError."""
    _pusher, sink = pair()
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        sink.inp.GetAllocatorRequirements()
    with pytest.raises(NotImplementedError):
        sink.inp.GetAllocatorRequirements()


def test_get_allocator_requirements_given() -> None:
    """A pin made with ``requirements`` returns them from GetAllocatorRequirements, and the
    output pin's negotiation sizes the allocator for them."""
    filter = BaseFilter(name="Needy")
    requirements = AllocatorProperties(buffers=5, buffer_size=100, align=16, prefix=8)
    pin = filter.add_pin(BaseInputPin(filter, requirements=requirements))
    assert pin.GetAllocatorRequirements() is requirements
    pusher, _sink = pair()
    pusher.out.Connect(pin, RGB32)
    actual = pusher.out.allocator.GetProperties()
    assert (actual.buffers, actual.align, actual.prefix) == (5, 16, 8)
    assert actual.buffer_size == 104  # roundup(100 + 8, 16) - 8
