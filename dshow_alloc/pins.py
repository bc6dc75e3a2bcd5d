"""Pins: connection, allocator negotiation and the streaming calls (``CBasePin`` and family).

A pin belongs to a filter and asks it what to do: the filter (a `PinOwner`, as every
`dshow_alloc.filters.BaseFilter` is) answers the media-type questions, receives the samples
and stream events of its input pins, and sizes the allocators of its output pins. The pins
own the protocol: the checks and error codes of ``IPin`` and ``IMemInputPin``, the
connection sequence that leaves both pins as they were when any step fails, and
``CBaseOutputPin::DecideAllocator`` extended by GStreamer's allocation proposal
(`dshow_alloc.negotiation`).

Threads. Connections change under the filter's lock, only while the filter is stopped.
The streaming calls (``Receive``, ``EndOfStream``, ``NewSegment``) come from one upstream
streaming thread at a time: the flags they read (the filter's state, ``flushing``, the
runtime error) are single attribute stores made by the controlling thread, which a streaming
thread sees at its next check.

Flush ordering. ``Receive`` marks the pin as receiving (``_receiving``)
*before* it reads ``flushing``, and clears the mark when it returns; ``EndFlush`` (which comes
after ``BeginFlush`` set ``flushing``) waits while the mark is set. Either the ``Receive``
sees ``flushing`` and returns at once, or ``EndFlush`` sees the mark and waits for it, so a
``Receive`` that was past its check when the flush began finishes before the flush ends: no
sample from before a flush reaches the filter after it. The wait is an event the returning
``Receive`` sets only while a flush is on, so the path costs two attribute stores and no lock
(DirectShow's filters take ``m_csReceive`` instead). This relies on the two threads' stores
and loads of those attributes being seen in program order, which the GIL guarantees.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any, Protocol

import attrs
from zope.interface import implementer

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    COMError,
    FailError,
    InvalidArgError,
    NoInterfaceError,
    NotImplError,
    PointerError,
    UnexpectedError,
    VfwAlreadyConnectedError,
    VfwInvalidDirectionError,
    VfwInvalidMediaTypeError,
    VfwNoAcceptableTypesError,
    VfwNoAllocatorError,
    VfwNotConnectedError,
    VfwNotStoppedError,
    VfwRuntimeError,
    VfwTypeNotAcceptedError,
    VfwWrongStateError,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.negotiation import AllocationQuery, decided_requirements, proposed_config
from dshow_alloc.pool import PoolConfig
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import (
    EC_ERRORABORT,
    AllocatorProperties,
    FilterState,
    PinDirection,
    PinInfo,
    Quality,
)
from dshow_alloc.video import OPTION_VIDEO_META
from interfaces import (
    IAllocationProposal,
    IBufferPool,
    IMediaSample,
    IMemAllocator,
    IMemAllocatorCallbackTemp,
    IMemInputPin,
    IPin,
    IQualityControl,
)

__all__ = [
    "BaseInputPin",
    "BaseOutputPin",
    "BasePin",
    "PinOwner",
    "describe_type",
    "error_hresult",
    "filter_label",
    "free_pins",
    "is_connected",
    "is_source",
    "pin_label",
]

log = logging.getLogger(__name__)

_STOPPED = FilterState.State_Stopped
_MAX_TIME = 2**63 - 1
# CheckMediaType results that mean "refused" rather than a specific failure (BC-amf).
_REFUSALS = (FailError, InvalidArgError, VfwTypeNotAcceptedError)


class PinOwner(Protocol):
    """What a pin needs from the filter it belongs to (`dshow_alloc.filters.BaseFilter`
    answers all of it, with defaults a subclass overrides).

    The pins read the filter's ``name``, ``state`` and ``lock``, and ask it everything else
    through the methods below, each called with the asking pin first. Connections change,
    and the state changes, under ``lock``.
    """

    _state: FilterState
    """The filter's state as a plain attribute, the same as ``state``: the streaming paths
    (``Receive``, ``EndOfStream``) read it directly, which costs no call. Only the filter
    stores it, under ``lock``; pins never do."""

    @property
    def name(self) -> str:
        """The filter's name, for messages and allocator names."""
        ...

    @property
    def state(self) -> FilterState:
        """The filter's state, without waiting."""
        ...

    @property
    def lock(self) -> threading.RLock:
        """The filter's lock: state changes and connections are made holding it."""
        ...

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool: ...
    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None: ...
    def try_my_types_first(self, pin: BasePin) -> bool: ...
    def check_connect(self, pin: BasePin, peer: Any) -> None: ...
    def complete_connect(self, pin: BasePin, peer: Any) -> None: ...
    def break_connect(self, pin: BasePin) -> None: ...
    def offer_allocator(self, pin: BaseInputPin) -> Any: ...
    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None: ...
    def allocator_requirements(self, pin: BaseInputPin) -> AllocatorProperties | None: ...
    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None: ...
    def pool_options(self, pin: BaseOutputPin, query: AllocationQuery) -> frozenset[str]: ...
    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None: ...
    def reconfigure_upstream(self, pin: BaseOutputPin) -> None: ...
    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None: ...
    def receive(self, pin: BaseInputPin, sample: Any) -> bool: ...
    def receive_can_block(self, pin: BaseInputPin) -> bool: ...
    def end_of_stream(self, pin: BaseInputPin) -> None: ...
    def begin_flush(self, pin: BaseInputPin) -> None: ...
    def end_flush(self, pin: BaseInputPin) -> None: ...
    def new_segment(self, pin: BaseInputPin, start: int, stop: int, rate: float) -> None: ...
    def notify_event(self, code: int, param1: Any, param2: Any) -> None: ...
    def deliver_end_of_stream(self) -> None: ...


def is_connected(pin: Any) -> bool:
    """Whether any `IPin` is connected (``ConnectedTo`` answers rather than raising)."""
    try:
        pin.ConnectedTo()
    except VfwNotConnectedError:
        return False
    return True


def free_pins(filter: Any, direction: PinDirection) -> list[Any]:
    """``filter``'s unconnected pins of ``direction``, in pin order."""
    return [
        pin
        for pin in filter.EnumPins()
        if pin.QueryDirection() is direction and not is_connected(pin)
    ]


def is_source(filter: Any) -> bool:
    """Whether ``filter`` has no input pin (it starts streams)."""
    return not any(pin.QueryDirection() is PinDirection.PINDIR_INPUT for pin in filter.EnumPins())


def filter_label(filter: Any) -> str:
    """The name a graph gave ``filter``, else its own name, else its class name."""
    return str(filter.QueryFilterInfo().name or getattr(filter, "name", type(filter).__name__))


def pin_label(pin: Any) -> str:
    """``"filter.pin"``: a pin's filter name and pin id, for messages and reports."""
    try:
        return f"{filter_label(pin.QueryPinInfo().filter)}.{pin.QueryId()}"
    except Exception:
        return repr(pin)


def describe_type(media_type: MediaType | None) -> str:
    """A media type for messages: caps syntax for raw video and audio
    (``video/x-raw,format=I420,width=320,...``), else its GUIDs."""
    if media_type is None:
        return "no type"
    from dshow_alloc.caps import caps_of  # caps sits above the pins; only messages need it

    try:
        return caps_of(media_type)
    except Exception:
        return repr(media_type)


def error_hresult(exc: BaseException) -> int:
    """The HRESULT an exception stands for: its own for a `COMError`, E_FAIL otherwise."""
    return exc.hresult if isinstance(exc, COMError) else int(FailError.code)


@implementer(IPin)
class BasePin(ComObject):
    """What input and output pins share: connection state and the ``IPin`` queries."""

    direction: PinDirection

    def __init__(self, filter: PinOwner, name: str, pin_id: str | None = None) -> None:
        super().__init__()
        if not isinstance(name, str) or not name:
            raise ValueError("a pin needs a non-empty name")
        self._filter = filter
        self._name = name
        self._id = pin_id if pin_id is not None else name
        self._connected: Any = None
        self._mt: MediaType | None = None
        self.segment: tuple[int, int, float] = (0, _MAX_TIME, 1.0)
        """The last ``NewSegment``: start, stop, rate."""

    def __repr__(self) -> str:
        peer = f" -> {self._connected.QueryId()!r}" if self._connected is not None else ""
        return f"<{type(self).__name__} {self._filter.name!r}.{self._id!r}{peer}>"

    @property
    def filter(self) -> PinOwner:
        """The filter this pin belongs to."""
        return self._filter

    @property
    def name(self) -> str:
        """The pin's name."""
        return self._name

    def is_connected(self) -> bool:
        """True while the pin is connected."""
        return self._connected is not None

    # -- queries -------------------------------------------------------------------------------

    def ConnectedTo(self) -> Any:
        """See `IPin.ConnectedTo`."""
        peer = self._connected
        if peer is None:
            raise VfwNotConnectedError()
        return peer

    def ConnectionMediaType(self) -> MediaType:
        """See `IPin.ConnectionMediaType`."""
        if self._connected is None or self._mt is None:
            raise VfwNotConnectedError()
        return self._mt

    def QueryPinInfo(self) -> PinInfo:
        """See `IPin.QueryPinInfo`."""
        return PinInfo(self._filter, self.direction, self._name)

    def QueryDirection(self) -> PinDirection:
        """See `IPin.QueryDirection`."""
        return self.direction

    def QueryId(self) -> str:
        """See `IPin.QueryId`."""
        return self._id

    def QueryAccept(self, media_type: MediaType) -> bool:
        """See `IPin.QueryAccept`."""
        try:
            return self._accepts(media_type)
        except Exception:
            return False

    def EnumMediaTypes(self) -> list[MediaType]:
        """See `IPin.EnumMediaTypes`: ``GetMediaType(0)``, ``GetMediaType(1)``, ... until None."""
        types = []
        for position in range(1 << 16):
            media_type = self.GetMediaType(position)
            if media_type is None:
                break
            types.append(media_type)
        return types

    # -- hooks (CBasePin's virtuals), answered by the filter -----------------------------------

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """True when the pin can take ``media_type`` (the filter decides)."""
        return bool(self._filter.check_media_type(self, media_type))

    def GetMediaType(self, position: int) -> MediaType | None:
        """The pin's preferred type at ``position`` (0 first), None past the last."""
        return self._filter.get_media_type(self, position)

    def CheckConnect(self, pin: Any) -> None:
        """Check the pair before anything else: opposite directions, then the filter's say."""
        if not IPin.providedBy(pin):
            raise TypeError(f"a pin connects to an IPin, not {type(pin).__name__}")
        if pin.QueryDirection() == self.direction:
            raise VfwInvalidDirectionError()
        self._filter.check_connect(self, pin)

    def CompleteConnect(self, pin: Any) -> None:
        """The last step of a connection (the output pin negotiates its allocator here)."""
        self._filter.complete_connect(self, pin)

    def BreakConnect(self) -> None:
        """Undo what the connection set up; called on ``Disconnect`` and on failures."""
        self._filter.break_connect(self)

    def SetMediaType(self, media_type: MediaType) -> None:
        """Store the connection's type."""
        self._mt = media_type

    def Active(self) -> None:
        """Called when the filter leaves Stopped."""

    def Inactive(self) -> None:
        """Called when the filter stops."""

    # -- connecting ----------------------------------------------------------------------------

    def _accepts(self, media_type: MediaType) -> bool:
        """``CheckMediaType``, with the refusal errors (E_FAIL, E_INVALIDARG,
        VFW_E_TYPE_NOT_ACCEPTED) read as False; other errors propagate."""
        if not isinstance(media_type, MediaType):
            raise TypeError(f"a media type must be a MediaType, not {type(media_type).__name__}")
        try:
            return self.CheckMediaType(media_type)
        except _REFUSALS:
            return False

    def _check_can_connect(self) -> None:
        if self._connected is not None:
            raise VfwAlreadyConnectedError()
        if self._filter.state is not _STOPPED:
            raise VfwNotStoppedError()

    def Connect(self, receive_pin: Any, media_type: MediaType | None = None) -> None:
        """See `IPin.Connect`."""
        if receive_pin is None:
            raise PointerError(message="Connect needs the pin to connect to")
        if not IPin.providedBy(receive_pin):
            raise TypeError(f"Connect takes an IPin, not {type(receive_pin).__name__}")
        if media_type is not None and not isinstance(media_type, MediaType):
            raise TypeError(f"media_type must be a MediaType or None, not {type(media_type)}")
        with self._filter.lock:
            self._check_can_connect()
            if media_type is not None and not media_type.is_partially_specified():
                self._attempt(receive_pin, media_type)
                return
            failure: COMError = VfwNoAcceptableTypesError()
            for candidate in self._candidates(receive_pin):
                if media_type is not None and not media_type.matches(candidate):
                    continue
                try:
                    self._attempt(receive_pin, candidate)
                    return
                except _REFUSALS:
                    continue
                except COMError as exc:
                    failure = exc  # a specific error is remembered and returned (BC-amf)
            raise failure

    def _candidates(self, receive_pin: Any) -> list[MediaType]:
        try:
            theirs = list(receive_pin.EnumMediaTypes())
        except COMError:
            theirs = []
        mine = self.EnumMediaTypes()
        return mine + theirs if self._filter.try_my_types_first(self) else theirs + mine

    def _attempt(self, receive_pin: Any, media_type: MediaType) -> None:
        """``CBasePin::AttemptConnection``: every failure leaves both pins unconnected."""
        try:
            self.CheckConnect(receive_pin)
            if not self._accepts(media_type):
                raise VfwTypeNotAcceptedError(message=f"{self!r} refuses {media_type}")
        except Exception:
            self.BreakConnect()
            raise
        self._connected, self._mt = receive_pin, media_type
        try:
            receive_pin.ReceiveConnection(self, media_type)
        except Exception:
            self._connected = self._mt = None
            self.BreakConnect()
            raise
        try:
            self.CompleteConnect(receive_pin)
        except Exception:
            try:
                receive_pin.Disconnect()
            finally:
                self._connected = self._mt = None
                self.BreakConnect()
            raise

    def ReceiveConnection(self, connector: Any, media_type: MediaType) -> None:
        """See `IPin.ReceiveConnection`."""
        if connector is None or media_type is None:
            raise PointerError(message="ReceiveConnection needs a pin and a media type")
        if not isinstance(media_type, MediaType):
            raise TypeError(f"media_type must be a MediaType, not {type(media_type).__name__}")
        with self._filter.lock:
            self._check_can_connect()
            try:
                self.CheckConnect(connector)
                accepted = self._accepts(media_type)
            except Exception:
                self.BreakConnect()
                raise
            if not accepted:
                self.BreakConnect()
                raise VfwTypeNotAcceptedError(message=f"{self!r} refuses {media_type}")
            self._connected, self._mt = connector, media_type
            try:
                self.CompleteConnect(connector)
            except Exception:
                self._connected = self._mt = None
                self.BreakConnect()
                raise

    def Disconnect(self) -> bool:
        """See `IPin.Disconnect`."""
        with self._filter.lock:
            if self._filter.state is not _STOPPED:
                raise VfwNotStoppedError()
            if self._connected is None:
                return False
            try:
                self.BreakConnect()
            finally:
                self._connected = self._mt = None
            return True

    def EndOfStream(self) -> None:
        """See `IPin.EndOfStream`: E_UNEXPECTED on an output pin."""
        raise UnexpectedError(message="EndOfStream is for input pins")

    def BeginFlush(self) -> None:
        """See `IPin.BeginFlush`: E_UNEXPECTED on an output pin."""
        raise UnexpectedError(message="BeginFlush is for input pins")

    def EndFlush(self) -> None:
        """See `IPin.EndFlush`: E_UNEXPECTED on an output pin."""
        raise UnexpectedError(message="EndFlush is for input pins")

    def NewSegment(self, start: int, stop: int, rate: float) -> None:
        """See `IPin.NewSegment`: stores the values (an input pin also tells its filter)."""
        if start.__class__ is not int or stop.__class__ is not int:
            raise TypeError("NewSegment times are int REFERENCE_TIME values")
        if not isinstance(rate, float | int) or isinstance(rate, bool) or rate == 0:
            raise ValueError(f"NewSegment rate must be a non-zero number, got {rate!r}")
        self.segment = (start, stop, float(rate))


FLUSH_WAIT = 10.0
"""Seconds ``EndFlush`` waits for a ``Receive`` under way to return."""


@implementer(IMemInputPin, IAllocationProposal)
class BaseInputPin(BasePin):
    """``CBaseInputPin``: receives samples and stream events and hands them to its filter.

    ``requirements`` (an `AllocatorProperties`, or None for none) is what
    ``GetAllocatorRequirements`` reports.
    """

    direction = PinDirection.PINDIR_INPUT

    def __init__(
        self,
        filter: PinOwner,
        name: str = "Input",
        pin_id: str | None = None,
        *,
        requirements: AllocatorProperties | None = None,
    ) -> None:
        super().__init__(filter, name, pin_id)
        if requirements is not None and not isinstance(requirements, AllocatorProperties):
            raise TypeError("requirements must be AllocatorProperties or None")
        self.requirements = requirements
        self._allocator: Any = None
        self._read_only = False
        self.flushing = False
        """True between ``BeginFlush`` and ``EndFlush``: ``Receive`` returns False."""
        self.runtime_error = False
        """True after a streaming error, until ``EndFlush`` or a stop."""
        self.end_of_stream = False
        """True once ``EndOfStream`` arrived, until a flush or a stop."""
        self._receiving = False  # a Receive is under way (module docstring)
        self._received = threading.Event()  # a Receive returned while flushing

    @property
    def read_only(self) -> bool:
        """The ``read_only`` flag of the last ``NotifyAllocator``."""
        return self._read_only

    def peek_allocator(self) -> Any:
        """The allocator the pin was notified of (or made), without making one."""
        return self._allocator

    # -- IMemInputPin --------------------------------------------------------------------------

    def GetAllocator(self) -> Any:
        """See `IMemInputPin.GetAllocator`. The filter may offer another pin's allocator."""
        offered = self._filter.offer_allocator(self)
        if offered is not None:
            return offered
        if self._allocator is None:
            self._allocator = MemAllocator(name=f"{self._filter.name}.{self._name}")
        return self._allocator

    def NotifyAllocator(self, allocator: Any, read_only: bool) -> None:
        """See `IMemInputPin.NotifyAllocator`."""
        if allocator is None:
            raise PointerError(message="NotifyAllocator needs an allocator")
        if not IMemAllocator.providedBy(allocator):
            raise TypeError(f"NotifyAllocator takes an IMemAllocator, not {type(allocator)}")
        self._filter.accept_allocator(self, allocator, bool(read_only))
        self._allocator, self._read_only = allocator, bool(read_only)

    def GetAllocatorRequirements(self) -> AllocatorProperties:
        """See `IMemInputPin.GetAllocatorRequirements`: the filter's answer (a pass-through
        filter forwards downstream's), else ``requirements``."""
        requirements = self._filter.allocator_requirements(self)
        if requirements is None:
            raise NotImplError(message=f"{self!r} has no allocator requirements")
        return requirements

    def ProposeAllocation(self, query: AllocationQuery) -> None:
        """See `IAllocationProposal.ProposeAllocation`: the filter answers."""
        if not isinstance(query, AllocationQuery):
            raise TypeError(f"ProposeAllocation takes an AllocationQuery, not {type(query)}")
        self._filter.propose_allocation(self, query)

    def Receive(self, sample: IMediaSample) -> bool:
        """See `IMemInputPin.Receive`."""
        # Hot path: plain stores and reads of flags other threads store, no lock; the
        # receiving mark orders a Receive under way against EndFlush (module docstring).
        self._receiving = True
        try:
            if self._filter._state is _STOPPED:
                raise VfwWrongStateError()
            if self.flushing:
                return False
            if self.runtime_error:
                raise VfwRuntimeError()
            media_type = (
                sample._media_type if sample.__class__ is MediaSample else sample.GetMediaType()
            )
            if media_type is not None and media_type != self._mt:
                self._change_type(media_type)
            return self._filter.receive(self, sample)
        finally:
            self._receiving = False
            if self.flushing:
                self._received.set()

    def _change_type(self, media_type: MediaType) -> None:
        """A sample carries a new type (a dynamic format change): accept it — it becomes the
        connection's type from this sample on, and the filter's ``media_type_changed`` hears
        of it — or fail the stream (BC-amf Receive): EC_ERRORABORT with
        VFW_E_TYPE_NOT_ACCEPTED, end of stream downstream, VFW_E_INVALIDMEDIATYPE raised."""
        try:
            accepted = self._accepts(media_type)
        except Exception:
            accepted = False
        if accepted:
            previous, self._mt = self._mt, media_type
            try:
                self._filter.media_type_changed(self, previous)
            except Exception as exc:
                self.stream_error(exc)
                raise
            return
        self.runtime_error = True
        error = VfwInvalidMediaTypeError(
            message=f"{self!r} refuses the sample's {describe_type(media_type)} "
            f"(connected with {describe_type(self._mt)})"
        )
        self._filter.notify_event(EC_ERRORABORT, int(VfwTypeNotAcceptedError.code), error)
        self._filter.deliver_end_of_stream()
        raise error

    def ReceiveMultiple(self, samples: Sequence[IMediaSample]) -> int:
        """See `IMemInputPin.ReceiveMultiple`."""
        done = 0
        for sample in samples:
            if not self.Receive(sample):
                break
            done += 1
        return done

    def ReceiveCanBlock(self) -> bool:
        """See `IMemInputPin.ReceiveCanBlock`: the filter answers (by default, for its
        connected output pins' peers)."""
        return self._filter.receive_can_block(self)

    # -- stream events -------------------------------------------------------------------------

    def EndOfStream(self) -> None:
        """See `IPin.EndOfStream`."""
        if self._filter._state is _STOPPED:
            raise VfwWrongStateError()
        if self.flushing:
            return
        if self.runtime_error:
            raise VfwRuntimeError()
        self.end_of_stream = True
        self._filter.end_of_stream(self)

    def BeginFlush(self) -> None:
        """See `IPin.BeginFlush`."""
        self.flushing = True
        self._filter.begin_flush(self)

    def _inside_own_receive(self) -> bool:
        """True when the calling thread is inside this pin's own ``Receive`` (a filter ending
        a flush from its streaming thread), found on its stack: the flush's rare path pays
        for it, not every ``Receive``."""
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code is _RECEIVE_CODE and frame.f_locals.get("self") is self:
                return True
            frame = frame.f_back
        return False

    def EndFlush(self) -> None:
        """See `IPin.EndFlush`: first waits for a ``Receive`` still under way on another
        thread (``BeginFlush`` made it return promptly), for at most `FLUSH_WAIT` seconds
        (then it logs the stuck call and ends the flush regardless)."""
        if self._receiving and not self._inside_own_receive():
            self._received.clear()
            if self._receiving and not self._received.wait(FLUSH_WAIT):
                log.error(
                    "%r: a Receive did not return within %s s of BeginFlush; ending the "
                    "flush without it (a sample from before the flush may still arrive)",
                    self,
                    FLUSH_WAIT,
                )
        self._filter.end_flush(self)
        self.end_of_stream = False
        self.runtime_error = False
        self.flushing = False

    def NewSegment(self, start: int, stop: int, rate: float) -> None:
        """See `IPin.NewSegment`."""
        super().NewSegment(start, stop, rate)
        self._filter.new_segment(self, start, stop, float(rate))

    # -- life cycle ----------------------------------------------------------------------------

    def Inactive(self) -> None:
        """``CBaseInputPin::Inactive``: clear the streaming flags and decommit the allocator."""
        self.runtime_error = False
        self.flushing = False
        self.end_of_stream = False
        if self._allocator is None:
            raise VfwNoAllocatorError(message=f"{self!r} was never given an allocator")
        self._allocator.Decommit()

    def BreakConnect(self) -> None:
        """Decommit and drop the allocator (``CBaseInputPin::BreakConnect``)."""
        allocator, self._allocator, self._read_only = self._allocator, None, False
        try:
            if allocator is not None:
                allocator.Decommit()
        finally:
            super().BreakConnect()

    def stream_error(self, exc: BaseException) -> None:
        """A hook of this pin's filter raised while streaming: record a runtime error, report
        EC_ERRORABORT to the graph, then send end of stream downstream (in that order, so
        that waiting for completion reports the error)."""
        self.runtime_error = True
        self._filter.notify_event(EC_ERRORABORT, error_hresult(exc), exc)
        try:
            self._filter.deliver_end_of_stream()
        except Exception:
            log.debug("end of stream after an error in %r failed", self, exc_info=True)


def _requirements_of(input_pin: Any) -> AllocatorProperties:
    """``GetAllocatorRequirements``, any failure meaning none; ``align`` 0 becomes 1."""
    try:
        requirements = input_pin.GetAllocatorRequirements()
    except Exception:
        requirements = AllocatorProperties()
    if not isinstance(requirements, AllocatorProperties):
        requirements = AllocatorProperties()
    if requirements.align == 0:
        requirements = attrs.evolve(requirements, align=1)
    return requirements


@implementer(IQualityControl)
class BaseOutputPin(BasePin):
    """``CBaseOutputPin``: negotiates an allocator with its peer and delivers to it, and
    takes quality messages from downstream (``IQualityControl``) for its filter."""

    direction = PinDirection.PINDIR_OUTPUT

    def __init__(self, filter: PinOwner, name: str = "Output", pin_id: str | None = None):
        super().__init__(filter, name, pin_id)
        self._allocator: Any = None
        self._input: Any = None
        self._receive: Any = _not_connected
        self.metas: frozenset[str] = frozenset()
        """The metas the downstream pin listed in its allocation proposal: attach only these."""
        self.last_query: AllocationQuery | None = None
        """The allocation proposal of the last negotiation, None if there was none."""
        self.allocator_origin = ""
        """Who provided the allocator, for people reading a graph: ``"proposed by f.In"``,
        ``"provided by f.In"`` (the input pin's ``GetAllocator``), ``"made by f.Output"``
        (``InitAllocator``), or a pass-through's ``"passed through from f.Output"``."""
        self.renegotiations = 0
        """Allocator renegotiations made by `change_media_type` since the pin was made."""
        self._quality_sink: Any = None
        # Set by Inactive and DeliverBeginFlush: a format change waiting for its samples to
        # come home gives up (cleared by Active and DeliverEndFlush).
        self._interrupt = threading.Event()

    @property
    def allocator(self) -> Any:
        """The negotiated allocator, or None."""
        return self._allocator

    @property
    def input_pin(self) -> Any:
        """The connected peer's `IMemInputPin`, or None."""
        return self._input

    def CheckConnect(self, pin: Any) -> None:
        """Opposite directions, and the peer must provide `IMemInputPin`."""
        super().CheckConnect(pin)
        if not IMemInputPin.providedBy(pin):
            raise NoInterfaceError(message=f"{pin!r} does not provide IMemInputPin")
        self._input = pin

    def ReceiveConnection(self, connector: Any, media_type: MediaType) -> None:
        """Output pins connect from their own side: E_UNEXPECTED (as Wine's)."""
        raise UnexpectedError(message="connect from the output pin (call its Connect)")

    def CompleteConnect(self, pin: Any) -> None:
        """Negotiate the allocator (never committed here), then tell the filter."""
        self._allocator = self.DecideAllocator(pin)
        self._receive = pin.Receive
        super().CompleteConnect(pin)

    def BreakConnect(self) -> None:
        """Decommit and drop the allocator and the peer's `IMemInputPin`."""
        allocator, self._allocator = self._allocator, None
        self._input, self._receive = None, _not_connected
        self.metas, self.last_query = frozenset(), None
        self.allocator_origin = ""
        try:
            if allocator is not None:
                allocator.Decommit()
        finally:
            super().BreakConnect()

    # -- allocator negotiation -----------------------------------------------------------------

    def DecideAllocator(self, input_pin: Any) -> Any:
        """``CBaseOutputPin::DecideAllocator`` with the allocation proposal added.

        1. The input pin's requirements (any failure: none; ``align`` 0 becomes 1), widened by
           its `IAllocationProposal` answer when it gives one (first pool, first params).
        2. First choice: the proposed pool, else ``input_pin.GetAllocator()``; sized by
           ``DecideBufferSize``, configured from the proposal, confirmed by
           ``NotifyAllocator(allocator, False)``.
        3. On any failure there, ``InitAllocator()`` (a new `MemAllocator`), the same steps.
        4. A failure of that fails the connection with its error.
        """
        query = self._ask_proposal(input_pin)
        request = decided_requirements(_requirements_of(input_pin), query)
        try:
            proposed = query.pools[0].pool if query is not None and query.pools else None
            allocator = proposed if proposed is not None else input_pin.GetAllocator()
            self._size_and_notify(input_pin, allocator, request, query)
            verb = "proposed" if proposed is not None else "provided"
            self.allocator_origin = f"{verb} by {pin_label(input_pin)}"
            return allocator
        except Exception as exc:
            log.debug("%r: the input pin's allocator failed (%s); making our own", self, exc)
        allocator = self.InitAllocator()
        self._size_and_notify(input_pin, allocator, request, query)
        self.allocator_origin = f"made by {pin_label(self)}"
        return allocator

    def _ask_proposal(self, input_pin: Any) -> AllocationQuery | None:
        self.metas, self.last_query = frozenset(), None
        if not IAllocationProposal.providedBy(input_pin):
            return None
        query = AllocationQuery(self._mt)
        try:
            input_pin.ProposeAllocation(query)
        except Exception as exc:
            log.debug("%r: no allocation proposal (%s)", self, exc)
            return None
        if query.is_empty():
            return None
        self.last_query = query
        self.metas = query.meta_apis()
        return query

    def _size_and_notify(
        self, input_pin: Any, allocator: Any, request: AllocatorProperties, query: Any
    ) -> None:
        self.DecideBufferSize(allocator, request)
        if query is not None and IBufferPool.providedBy(allocator):
            _apply_proposal(allocator, query, self._filter.pool_options(self, query))
        input_pin.NotifyAllocator(allocator, False)

    def InitAllocator(self) -> Any:
        """``CBaseOutputPin::InitAllocator``: a new `MemAllocator`."""
        return MemAllocator(name=f"{self._filter.name}.{self._name}")

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Size ``allocator`` for ``request`` with ``SetProperties`` (the filter decides)."""
        self._filter.decide_buffer_size(self, allocator, request)

    def reconfigure(self) -> None:
        """Negotiate the allocator again (GStreamer's reconfigure), for a downstream filter
        whose needs changed: a tee that gained a branch. Only while stopped; a pin that is
        not connected does nothing."""
        with self._filter.lock:
            if self._input is None:
                return
            if self._filter.state is not _STOPPED:
                raise VfwNotStoppedError()
            self._filter.reconfigure_upstream(self)
            old = self._allocator
            self._allocator = self.DecideAllocator(self._input)
            if old is not None and old is not self._allocator:
                old.Decommit()

    # -- format changes while streaming (dynamic format change) ---------------------------------

    # -- IQualityControl -----------------------------------------------------------------------

    def Notify(self, sender: Any, quality: Quality) -> bool:
        """See `IQualityControl.Notify`: the message goes to the sink set by ``SetSink``
        (with this pin's filter as its sender), else to this pin's filter (``quality_notify``:
        it handles it or passes it upstream)."""
        if not isinstance(quality, Quality):
            raise TypeError(f"Notify takes a Quality, not {type(quality).__name__}")
        sink = self._quality_sink
        if sink is not None:
            return bool(sink.Notify(self._filter, quality))
        notify = getattr(self._filter, "quality_notify", None)
        return bool(notify(self, sender, quality)) if notify is not None else False

    def SetSink(self, sink: Any) -> None:
        """See `IQualityControl.SetSink`."""
        if sink is not None and not IQualityControl.providedBy(sink):
            raise TypeError(f"SetSink takes an IQualityControl or None, not {type(sink).__name__}")
        self._quality_sink = sink

    def change_media_type(self, media_type: MediaType) -> bool:
        """Deliver samples of ``media_type`` from the next sample on: DirectShow's dynamic
        format change, with GStreamer's reconfigure when the samples no longer fit.

        Call it on the thread that delivers on this pin, between two samples (no sample
        taken from the allocator is waiting to be delivered), in any state. Steps:

        1. The connected input pin is asked once, ``QueryAccept(media_type)``. A refusal
           raises `VfwTypeNotAcceptedError` naming both types, and nothing changes: the
           caller ends the stream (the base classes' streaming loops report it as
           EC_ERRORABORT with VFW_E_TYPE_NOT_ACCEPTED, then send end of stream), so no
           sample of a refused type is ever delivered.
        2. When the new samples fit the allocator — ``media_type.sample_size`` within its
           ``buffer_size``, and no pooled ``VIDEO_META`` describing frames of another
           type — the allocator stays as it is.
        3. Otherwise it is negotiated again: the pin waits until every sample of the
           allocator is home (those delivered before are still downstream: queued, or held
           by a paused renderer), decommits it, runs `DecideAllocator` for the new type (a
           new allocation proposal from downstream, ``DecideBufferSize``,
           ``NotifyAllocator``) and commits the result. The wait ends early when the pin
           is deactivated or a flush passes through it (``DeliverBeginFlush``): then
           nothing has changed and it returns False (ask again after the flush).
        4. The pin's ``ConnectionMediaType`` is ``media_type`` from now on, and the next
           sample delivered carries it (``SetMediaType``, so ``AM_SAMPLE_TYPECHANGED``);
           the input pin takes it on when that sample arrives, in order with the samples
           (`BaseInputPin` checks it and tells its filter, ``media_type_changed``). This
           pin's filter hears of it first, ``media_type_changed(self, previous)``.

        Returns True when the change is made (at once when ``media_type`` is the current
        type). Raises VFW_E_NOT_CONNECTED when the pin is not connected, TypeError for a
        ``media_type`` that is not a `MediaType`; an error while renegotiating propagates
        (the stream cannot go on).
        """
        if not isinstance(media_type, MediaType):
            raise TypeError(f"change_media_type takes a MediaType, not {type(media_type).__name__}")
        peer, current = self._connected, self._mt
        if peer is None or current is None or self._input is None:
            raise VfwNotConnectedError(message=f"{self!r} is not connected")
        if media_type == current:
            return True
        if not peer.QueryAccept(media_type):
            raise VfwTypeNotAcceptedError(
                message=f"{pin_label(peer)} refuses to change from {describe_type(current)} "
                f"to {describe_type(media_type)}"
            )
        if not _fits(self._allocator, media_type) and not self._renegotiate(media_type):
            return False
        self._mt = media_type
        receive = self._input.Receive

        def deliver_first(sample: IMediaSample) -> bool:
            # Runs once: the first sample of the new type carries it; later ones do not.
            self._receive = receive
            sample.SetMediaType(media_type)
            return receive(sample)  # type: ignore[no-any-return]

        self._receive = deliver_first
        self._filter.media_type_changed(self, current)
        return True

    def _interrupted(self) -> bool:
        """True when a format change must stop waiting: the filter stopped, or the pin was
        deactivated or is flushing."""
        return self._interrupt.is_set() or self._filter.state is _STOPPED

    def _renegotiate(self, media_type: MediaType) -> bool:
        """Step 3 of `change_media_type`; False when interrupted before anything changed."""
        old = self._allocator
        if old is not None:
            polls = 0
            while out := _samples_out(old):
                if self._interrupted():
                    return False
                self._interrupt.wait(0.001)  # as CSourceStream retries a failed GetBuffer
                polls += 1
                if polls == 5000:  # some 5 s: say who holds them (as a starved GetBuffer does)
                    log.warning(
                        "%r has waited some 5 s for %d samples to come home before it can "
                        "change to %s; still holding them: %s",
                        self,
                        out,
                        describe_type(media_type),
                        old.outstanding() if isinstance(old, MemAllocator) else "unknown",
                    )
            old.Decommit()
        previous, self._mt = self._mt, media_type
        try:
            allocator = self.DecideAllocator(self._input)
        except Exception:
            self._mt = previous
            raise
        self._allocator = allocator
        allocator.Commit()
        if self._filter.state is _STOPPED:
            allocator.Decommit()  # a Stop came meanwhile: its Inactive may have missed it
        self.renegotiations += 1
        log.debug("%r renegotiated its allocator for %s", self, describe_type(media_type))
        return True

    # -- streaming -----------------------------------------------------------------------------

    def Active(self) -> None:
        """``CBaseOutputPin::Active``: commit the allocator."""
        if self._allocator is None:
            raise VfwNoAllocatorError(message=f"{self!r} has no allocator")
        self._interrupt.clear()
        self._allocator.Commit()

    def Inactive(self) -> None:
        """``CBaseOutputPin::Inactive``: decommit the allocator."""
        self._interrupt.set()
        if self._allocator is not None:
            self._allocator.Decommit()

    def GetDeliveryBuffer(
        self, start: int | None = None, stop: int | None = None, flags: int = 0
    ) -> Any:
        """A sample from the negotiated allocator (``GetBuffer``)."""
        allocator = self._allocator
        if allocator is None:
            raise NoInterfaceError(message=f"{self!r} has no allocator")
        return allocator.GetBuffer(start, stop, flags)

    def Deliver(self, sample: IMediaSample) -> bool:
        """Hand ``sample`` to the peer (``Receive``); the caller still releases it."""
        return self._receive(sample)  # type: ignore[no-any-return]

    def DeliverEndOfStream(self) -> None:
        """``EndOfStream`` on the peer."""
        if self._connected is None:
            raise VfwNotConnectedError()
        self._connected.EndOfStream()

    def DeliverBeginFlush(self) -> None:
        """``BeginFlush`` on the peer (a format change waiting on this pin gives up)."""
        if self._connected is None:
            raise VfwNotConnectedError()
        self._interrupt.set()
        self._connected.BeginFlush()

    def DeliverEndFlush(self) -> None:
        """``EndFlush`` on the peer."""
        if self._connected is None:
            raise VfwNotConnectedError()
        self._connected.EndFlush()
        self._interrupt.clear()

    def DeliverNewSegment(self, start: int, stop: int, rate: float) -> None:
        """``NewSegment`` on the peer."""
        if self._connected is None:
            raise VfwNotConnectedError()
        self._connected.NewSegment(start, stop, rate)


def _not_connected(_sample: Any) -> bool:
    raise VfwNotConnectedError()


def _fits(allocator: Any, media_type: MediaType) -> bool:
    """Whether samples of ``media_type`` fit ``allocator`` as it is configured: large enough,
    and without pooled VIDEO_META describing frames of another type."""
    if allocator is None or media_type.sample_size > allocator.GetProperties().buffer_size:
        return False
    if IBufferPool.providedBy(allocator):
        config: PoolConfig = allocator.GetConfig()
        if OPTION_VIDEO_META in config.options and config.media_type != media_type:
            return False
    return True


def _samples_out(allocator: Any) -> int:
    """How many of ``allocator``'s samples are away from home (0 when it cannot tell)."""
    if isinstance(allocator, MemAllocator):
        return len(allocator.outstanding())
    if IMemAllocatorCallbackTemp.providedBy(allocator):
        return max(0, allocator.GetProperties().buffers - allocator.GetFreeCount())
    return 0


def _apply_proposal(allocator: Any, query: AllocationQuery, options: frozenset[str]) -> None:
    """Give the pool what the proposal adds; options it cannot honour are dropped."""
    config: PoolConfig = allocator.GetConfig()
    try:
        allocator.SetConfig(proposed_config(config, query, options))
    except InvalidArgError:
        if not options:
            raise
        log.debug("pool options %s refused; configuring without them", sorted(options))
        allocator.SetConfig(proposed_config(config, query, ()))


_RECEIVE_CODE = BaseInputPin.Receive.__code__
