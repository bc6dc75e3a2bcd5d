"""The base of every filter: `BaseFilter` and the helpers every family shares.

`BaseFilter` (``CBaseFilter``) holds the pins, name, graph and clock, runs Stop/Pause/Run
under its lock, and answers the pin protocol (`dshow_alloc.pins.PinOwner`) with defaults.
Here too: `pass_quality` (a quality message on to upstream), `join_streaming_thread`, and
`reported_by` (which filter reported a streaming error).
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from typing import Any, ClassVar, TypeVar

from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.filters.copying import size_allocator
from dshow_alloc.hresult import NotImplError, VfwNotConnectedError, VfwNotFoundError
from dshow_alloc.mediatype import MediaType
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BaseOutputPin, BasePin
from dshow_alloc.structs import EC_ERRORABORT, AllocatorProperties, FilterInfo, FilterState, Quality
from dshow_alloc.video import VIDEO_META
from interfaces import IBaseFilter, IMediaEventSink, IMemInputPin, IQualityControl, IReferenceClock

__all__ = ["BaseFilter", "join_streaming_thread", "pass_quality", "reported_by"]

log = logging.getLogger("dshow_alloc.filters")  # one logger for the whole package
_PinT = TypeVar("_PinT", bound=BasePin)

_STOPPED = FilterState.State_Stopped
_PAUSED = FilterState.State_Paused
_RUNNING = FilterState.State_Running
_S_OK = 0
_JOIN_TIMEOUT = 5.0


def join_streaming_thread(thread: threading.Thread | None) -> None:
    """Join a pin's streaming thread (not from itself); a thread stuck in a hook is logged."""
    if thread is None or thread is threading.current_thread():
        return
    thread.join(_JOIN_TIMEOUT)
    if thread.is_alive():
        log.warning("%s did not stop within %.0f s", thread.name, _JOIN_TIMEOUT)


def _class_id(cls: type) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"python:{cls.__module__}.{cls.__qualname__}")


_REPORTED_BY = "dshow_alloc_filter"  # the attribute notify_event marks an error with


def reported_by(exc: BaseException) -> str | None:
    """The name of the filter that reported ``exc`` with EC_ERRORABORT (whose hook raised
    it), or None when no filter did."""
    name = getattr(exc, _REPORTED_BY, None)
    return name if isinstance(name, str) else None


def pass_quality(input_pin: Any, sender: Any, quality: Quality) -> bool:
    """``CBaseInputPin::PassNotify``: hand ``quality`` (sent by ``sender``) to the output pin
    ``input_pin`` is connected to: its ``IQualityControl.Notify`` when the pin provides that
    interface, else its filter's ``quality_notify`` (a `BaseFilter`'s: ``AlterQuality``, then
    on upstream). Returns True when something handled it; False when nothing did, or
    ``input_pin`` is not connected."""
    try:
        peer = input_pin.ConnectedTo()
    except VfwNotConnectedError:
        return False
    if IQualityControl.providedBy(peer):
        return bool(peer.Notify(sender, quality))
    notify = getattr(peer.QueryPinInfo().filter, "quality_notify", None)
    return bool(notify(peer, sender, quality)) if notify is not None else False


@implementer(IBaseFilter)
class BaseFilter(ComObject):
    """``CBaseFilter``. Subclasses create their pins in ``__init__`` with `add_pin`.

    ``name`` is the filter's name until a graph gives it one. The protocol methods below are
    what the pins call; override them to build a filter of a new kind, or use the base
    classes that map them to DirectShow's hooks.
    """

    is_renderer: ClassVar[bool] = False
    """True for filters that end a stream: the graph waits for their end of stream."""
    clsid: ClassVar[uuid.UUID | None] = None
    """``GetClassID``'s answer; None derives a stable one from the class's qualified name."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._state = _STOPPED  # `PinOwner._state`: the pins' streaming paths read it directly
        self._start = 0
        self._clock: Any = None
        self._graph: weakref.ReferenceType[Any] | None = None
        self._default_name = name if name is not None else type(self).__name__
        self._name = ""
        self._pins: list[BasePin] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state.name}>"

    @property
    def name(self) -> str:
        """The name the graph gave the filter, else the one it was made with."""
        return self._name or self._default_name

    @property
    def state(self) -> FilterState:
        """The filter's state, without waiting (see ``GetState``)."""
        return self._state

    @property
    def lock(self) -> threading.RLock:
        """The filter's lock (reentrant): state changes, and its pins' connections, are made
        holding it."""
        return self._lock

    @property
    def start_time(self) -> int:
        """The ``start`` of the last ``Run``: the clock time of stream time 0."""
        return self._start

    @property
    def graph(self) -> Any:
        """The graph the filter joined, or None."""
        return self._graph() if self._graph is not None else None

    def add_pin(self, pin: _PinT) -> _PinT:
        """Add ``pin`` to the filter's pins (its id must be unique among them)."""
        if any(other.QueryId() == pin.QueryId() for other in self._pins):
            raise ValueError(f"{self!r} already has a pin {pin.QueryId()!r}")
        self._pins.append(pin)
        return pin

    def remove_pin(self, pin: BasePin) -> None:
        """Remove an unconnected pin (a tee drops its spare output pins)."""
        if pin.is_connected():
            raise ValueError(f"{pin!r} is connected")
        self._pins.remove(pin)

    def input_pins(self) -> list[BaseInputPin]:
        """The filter's input pins."""
        return [pin for pin in self._pins if isinstance(pin, BaseInputPin)]

    def output_pins(self) -> list[BaseOutputPin]:
        """The filter's output pins."""
        return [pin for pin in self._pins if isinstance(pin, BaseOutputPin)]

    # -- IBaseFilter ---------------------------------------------------------------------------

    def GetClassID(self) -> uuid.UUID:
        """See `IMediaFilter.GetClassID`."""
        return self.clsid if self.clsid is not None else _class_id(type(self))

    def EnumPins(self) -> list[Any]:
        """See `IBaseFilter.EnumPins`."""
        return list(self._pins)

    def FindPin(self, pin_id: str) -> Any:
        """See `IBaseFilter.FindPin`."""
        for pin in self._pins:
            if pin.QueryId() == pin_id:
                return pin
        raise VfwNotFoundError(message=f"{self!r} has no pin {pin_id!r}")

    def QueryFilterInfo(self) -> FilterInfo:
        """See `IBaseFilter.QueryFilterInfo`."""
        return FilterInfo(self._name, self.graph)

    def JoinFilterGraph(self, graph: Any, name: str | None) -> None:
        """See `IBaseFilter.JoinFilterGraph`: the graph is held by a weak reference."""
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, not {type(name).__name__}")
        with self._lock:
            self._graph = weakref.ref(graph) if graph is not None else None
            self._name = name or ""

    def QueryVendorInfo(self) -> str:
        """See `IBaseFilter.QueryVendorInfo`."""
        raise NotImplError(message=f"{type(self).__name__} has no vendor information")

    def SetSyncSource(self, clock: Any) -> None:
        """See `IMediaFilter.SetSyncSource`."""
        if clock is not None and not IReferenceClock.providedBy(clock):
            raise TypeError(f"SetSyncSource takes an IReferenceClock or None, not {type(clock)}")
        with self._lock:
            self._clock = clock

    def GetSyncSource(self) -> Any:
        """See `IMediaFilter.GetSyncSource`."""
        return self._clock

    def Stop(self) -> None:
        """See `IMediaFilter.Stop`."""
        with self._lock:
            old = self._state
            if old is _STOPPED:
                return
            self._state = _STOPPED
            self.state_changed(old, _STOPPED)
            first: Exception | None = None
            for pin in self._pins:
                if pin.is_connected():
                    try:
                        pin.Inactive()
                    except Exception as exc:
                        first = first or exc
            if first is not None:
                raise first

    def Pause(self) -> None:
        """See `IMediaFilter.Pause`. A failed activation deactivates the pins it activated."""
        with self._lock:
            old = self._state
            if old is _STOPPED:
                activated: list[BasePin] = []
                try:
                    for pin in self._pins:
                        if pin.is_connected():
                            pin.Active()
                            activated.append(pin)
                except Exception:
                    for pin in reversed(activated):
                        try:
                            pin.Inactive()
                        except Exception:
                            log.debug("undoing %r's activation failed", pin, exc_info=True)
                    raise
            self._state = _PAUSED
            if old is not _PAUSED:
                self.state_changed(old, _PAUSED)

    def Run(self, start: int) -> None:
        """See `IMediaFilter.Run`."""
        if start.__class__ is not int:
            raise TypeError(f"Run takes an int REFERENCE_TIME, not {type(start).__name__}")
        with self._lock:
            if self._state is _STOPPED:
                self.Pause()
            old = self._state
            self._start = start
            self._state = _RUNNING
            self.state_changed(old, _RUNNING)

    def GetState(self, timeout_ms: int) -> FilterState:
        """See `IMediaFilter.GetState`: base filters change state synchronously."""
        return self._state

    # -- events --------------------------------------------------------------------------------

    def notify_event(self, code: int, param1: Any, param2: Any) -> None:
        """Report an event to the graph (``IMediaEventSink.Notify``); an error without a
        graph is logged. An error whose param2 is the exception (EC_ERRORABORT, as
        streaming errors are reported) is logged with its traceback and marked with this
        filter's name (`reported_by`) first."""
        error = param2 if code == EC_ERRORABORT and isinstance(param2, BaseException) else None
        if error is not None:
            if reported_by(error) is None:
                setattr(error, _REPORTED_BY, self.name)
            log.error("%s: %s: %s", reported_by(error), type(error).__name__, error, exc_info=error)
        graph = self.graph
        if graph is not None and IMediaEventSink.providedBy(graph):
            graph.Notify(code, param1, param2)
        elif code == EC_ERRORABORT and error is None:
            log.error("%r: streaming error %#x: %r", self, param1, param2)

    def deliver_end_of_stream(self) -> None:
        """End of stream on every connected output pin."""
        for pin in self.output_pins():
            if pin.is_connected():
                pin.DeliverEndOfStream()

    # -- the pin protocol (defaults) -----------------------------------------------------------

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Called under the filter lock after each state change (wake waiting threads)."""

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Whether ``pin`` accepts ``media_type``. Default: yes."""
        return True

    def before_streaming(self, pin: Any) -> None:
        """A `SourceStream` of this filter is about to start its streaming thread as the
        filter leaves Stopped (a seeking source moves to its segment here)."""

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """``pin``'s preferred type at ``position``. Default: none."""
        return None

    def try_my_types_first(self, pin: BasePin) -> bool:
        """Whether ``pin``'s own types are tried before its peer's when connecting."""
        return False

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """Raise to refuse connecting ``pin`` to ``peer`` at all (before any type)."""

    def allocator_requirements(self, pin: BaseInputPin) -> AllocatorProperties | None:
        """What ``pin.GetAllocatorRequirements`` reports; None: no requirements (E_NOTIMPL).
        Default: the pin's ``requirements``."""
        return pin.requirements

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """``pin`` finished connecting to ``peer``."""

    def break_connect(self, pin: BasePin) -> None:
        """``pin`` is being disconnected (or its connection failed)."""

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        """The allocator ``pin.GetAllocator`` offers; None: the pin's own."""
        return None

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        """``NotifyAllocator`` on ``pin``: raise to refuse ``allocator``."""

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """``ProposeAllocation`` on ``pin``. Default: propose nothing."""

    def pool_options(self, pin: BaseOutputPin, query: AllocationQuery) -> frozenset[str]:
        """The pool options ``pin`` uses given the downstream proposal: VIDEO_META's when
        listed (the pool then attaches one to every sample)."""
        return frozenset({VIDEO_META.api}) if query.has_meta(VIDEO_META.api) else frozenset()

    def reconfigure_upstream(self, pin: BaseOutputPin) -> None:
        """``pin`` is about to negotiate again; a pass-through filter first lets its own
        upstream renegotiate."""

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """``pin``'s connection type changed while connected (a dynamic format change; the new
        one is ``pin.ConnectionMediaType()``), on the streaming thread: an input pin's when
        a sample carrying an accepted new type arrived (before that sample is received;
        raising ends the stream with EC_ERRORABORT), an output pin's when
        `BaseOutputPin.change_media_type` made the change (before the next sample is
        taken). Default: nothing."""

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """Size ``allocator`` for ``pin``. Default: ``request``, with the connection type's
        sample size."""
        media_type = pin.ConnectionMediaType()
        size_allocator(allocator, request, buffer_size=media_type.sample_size)

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """A sample arrived on ``pin`` (streaming checks done)."""
        raise NotImplError(message=f"{type(self).__name__} does not take samples")

    def receive_can_block(self, pin: BaseInputPin) -> bool:
        """``ReceiveCanBlock`` (BC-amf): True unless every connected output pin's peer says
        it never blocks; True with no connected output pin."""
        outputs = [out for out in self.output_pins() if out.is_connected()]
        if not outputs:
            return True
        for out in outputs:
            peer = out.ConnectedTo()
            if not IMemInputPin.providedBy(peer) or peer.ReceiveCanBlock():
                return True
        return False

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """End of stream arrived on ``pin``: forward it."""
        self.deliver_end_of_stream()

    def begin_flush(self, pin: BaseInputPin) -> None:
        """``pin`` began flushing: forward it."""
        for out in self.output_pins():
            if out.is_connected():
                out.DeliverBeginFlush()

    def end_flush(self, pin: BaseInputPin) -> None:
        """``pin`` ends flushing: forward it (before the pin accepts samples again)."""
        for out in self.output_pins():
            if out.is_connected():
                out.DeliverEndFlush()

    def new_segment(self, pin: BaseInputPin, start: int, stop: int, rate: float) -> None:
        """A new segment begins on ``pin``: forward it."""
        for out in self.output_pins():
            if out.is_connected():
                out.DeliverNewSegment(start, stop, rate)

    def latency(self) -> tuple[int, int | None]:
        """The latency the filter adds to the streams through it, as ``(min, max)`` in 100 ns
        units (GStreamer's latency query): ``min``, how long after its time a sample can
        leave the filter at the earliest (a live source: the time to capture it); ``max``,
        how long the filter can hold data back without losing any (None: without limit).
        The graph sums them along each path (`FilterGraph.query_latency`). Default: (0, 0)."""
        return 0, 0

    def set_latency(self, latency: int) -> None:
        """The graph's latency for the next run (a live graph's minimum latency, else 0),
        told to every filter as the graph leaves Stopped; renderers add it to the time each
        sample is due. Default: nothing."""

    def AlterQuality(self, quality: Quality) -> bool:
        """React to a quality message from downstream (``CTransformFilter::AlterQuality``):
        True when the filter handled it (a source skips frames, a transform skips work) and
        it goes no further, False to pass it on upstream. Called on the sender's streaming
        thread: take no lock a streaming thread may hold. Default: False."""
        return False

    def quality_notify(self, pin: BaseOutputPin, sender: Any, quality: Quality) -> bool:
        """A quality message from downstream reached output ``pin`` (`pass_quality`): handled
        by ``AlterQuality``, else passed upstream from every connected input pin, this filter
        the sender. True when some filter handled it."""
        if self.AlterQuality(quality):
            return True
        handled = False
        for input_pin in self.input_pins():
            if input_pin.is_connected():
                handled = pass_quality(input_pin, self, quality) or handled
        return handled
