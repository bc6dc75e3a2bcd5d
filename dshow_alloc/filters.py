"""Filters: the state machine, and base classes a user subclasses in a few lines.

`BaseFilter` is ``CBaseFilter``: pins, name, graph, clock, and Stop/Pause/Run. Its pins ask
it what to do through a small protocol of PEP 8 methods (``check_media_type(pin, mt)``,
``receive(pin, sample)``, ``end_of_stream(pin)``, ``decide_buffer_size(pin, allocator,
request)`` and so on; every one has a sensible default here). The base classes below answer
that protocol with DirectShow's hooks, which keep their DirectShow names:

- `SourceFilter` (``CSource``/``CSourceStream``): ``FillBuffer(sample) -> bool`` on a streaming
  thread per output pin, ``GetMediaType(position)``, ``DecideBufferSize(allocator, request)``.
- `TransformFilter` (``CTransformFilter``): ``CheckInputType``, ``CheckTransform``,
  ``GetMediaType``, ``DecideBufferSize``, ``Transform(in_sample, out_sample)``.
- `TransInPlaceFilter` (``CTransInPlaceFilter``): ``CheckInputType``, ``Transform(sample)``;
  samples pass through on the downstream allocator, copied only when read-only.
- `RendererFilter` (``CBaseRenderer``): ``CheckMediaType``, ``DoRenderSample(sample)``,
  presented at stream time on the graph clock unless ``sync=False``.

Errors. An exception from a hook while streaming is reported once, by the filter whose hook
raised: the graph gets ``EC_ERRORABORT`` with the HRESULT and the exception, then end of
stream goes downstream, and the exception travels back up to the streaming thread, which
stops. Filters upstream see it come out of ``Deliver`` and stop without reporting it again.
The report logs the exception with its traceback (logger ``dshow_alloc.filters``, ERROR)
and marks it with the reporting filter's name, which `reported_by` reads.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    HRESULT,
    COMError,
    FailError,
    NotImplError,
    UnexpectedError,
    VfwNotConnectedError,
    VfwNotFoundError,
    VfwSampleTimeNotSetError,
    VfwSizeNotSetError,
    VfwWrongStateError,
)
from dshow_alloc.mediatype import (
    FORMAT_None,
    MEDIASUBTYPE_None,
    MediaType,
    MEDIATYPE_Stream,
    MEDIATYPE_Video,
)
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BaseOutputPin, BasePin, error_hresult, pin_label
from dshow_alloc.sample import MediaSample
from dshow_alloc.seeking import END, KEEP, MAX_TIME, Segment
from dshow_alloc.structs import (
    AM_SAMPLE_DATADISCONTINUITY,
    AM_SAMPLE_PREROLL,
    AM_SAMPLE_SPLICEPOINT,
    AM_SAMPLE_STOPVALID,
    AM_SAMPLE_TIMEVALID,
    EC_COMPLETE,
    EC_ERRORABORT,
    SAMPLE_MEDIA_TIME_VALID,
    AllocatorProperties,
    FilterInfo,
    FilterState,
    Quality,
    QualityMessageType,
)
from dshow_alloc.video import VIDEO_META
from interfaces import (
    IBaseFilter,
    IMediaEventSink,
    IMemInputPin,
    IQualityControl,
    IReferenceClock,
)

__all__ = [
    "VIDEO_MAX_LATENESS",
    "BaseFilter",
    "LiveSource",
    "RendererFilter",
    "SourceFilter",
    "SourceStream",
    "TransInPlaceFilter",
    "TransformFilter",
    "copy_sample",
    "copy_sample_properties",
    "deliver_copy",
    "join_streaming_thread",
    "pass_quality",
    "reported_by",
    "size_allocator",
    "size_like_upstream",
    "upstream_buffer_size",
]

log = logging.getLogger(__name__)
_PinT = TypeVar("_PinT", bound=BasePin)

_STOPPED = FilterState.State_Stopped
_PAUSED = FilterState.State_Paused
_RUNNING = FilterState.State_Running
_S_OK = 0
# The sample flags a transform carries from its input sample to its output sample.
_CARRIED_FLAGS = (
    AM_SAMPLE_SPLICEPOINT
    | AM_SAMPLE_PREROLL
    | AM_SAMPLE_DATADISCONTINUITY
    | AM_SAMPLE_TIMEVALID
    | AM_SAMPLE_STOPVALID
    | SAMPLE_MEDIA_TIME_VALID
)
_JOIN_TIMEOUT = 5.0


def size_allocator(
    allocator: Any, request: AllocatorProperties, *, buffers: int = 1, buffer_size: int = 0
) -> AllocatorProperties:
    """The usual ``DecideBufferSize``: ask ``allocator`` for at least ``request`` and at least
    ``buffers`` samples of ``buffer_size`` bytes, and check what it gave.

    Raises:
        COMError: VFW_E_SIZENOTSET when neither the request nor ``buffer_size`` gives a size.
        COMError: E_FAIL when the allocator gives fewer or smaller samples, or looser
            alignment, than asked (``CTransInPlaceFilter::DecideBufferSize``'s check).
    """
    wanted = AllocatorProperties(
        max(request.buffers, buffers),
        max(request.buffer_size, buffer_size),
        max(request.align, 1),
        request.prefix,
    )
    if wanted.buffer_size == 0:
        raise VfwSizeNotSetError(
            message="DecideBufferSize has no size: give the media type a sample_size, "
            "pass buffer_size, or override DecideBufferSize"
        )
    actual: AllocatorProperties = allocator.SetProperties(wanted)
    if (
        actual.buffers < wanted.buffers
        or actual.buffer_size < wanted.buffer_size
        or actual.align < wanted.align
    ):
        raise FailError(message=f"the allocator gave {actual}, less than {wanted}")
    return actual


def upstream_buffer_size(input_pin: BaseInputPin) -> int:
    """The sample size of the allocator ``input_pin`` was given (0 without one)."""
    upstream = input_pin.peek_allocator()
    return upstream.GetProperties().buffer_size if upstream is not None else 0


def size_like_upstream(
    input_pin: BaseInputPin, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
) -> None:
    """``DecideBufferSize`` for an output pin that copies ``input_pin``'s samples: as large as
    the upstream ones (else the connection type's sample size)."""
    size = upstream_buffer_size(input_pin) or pin.ConnectionMediaType().sample_size
    size_allocator(allocator, request, buffer_size=size)


def deliver_copy(output: BaseOutputPin, sample: Any) -> bool:
    """Deliver a copy of ``sample`` from ``output``'s own allocator (a branch or queue whose
    downstream would not take the upstream samples)."""
    copy = output.GetDeliveryBuffer()
    try:
        copy_sample(sample, copy)
        return output.Deliver(copy)
    finally:
        copy.Release()


def join_streaming_thread(thread: threading.Thread | None) -> None:
    """Join a pin's streaming thread (not from itself); a thread stuck in a hook is logged."""
    if thread is None or thread is threading.current_thread():
        return
    thread.join(_JOIN_TIMEOUT)
    if thread.is_alive():
        log.warning("%s did not stop within %.0f s", thread.name, _JOIN_TIMEOUT)


def copy_sample_properties(source: Any, target: Any) -> None:
    """Carry times, media times and the sync point, preroll and discontinuity flags from
    ``source`` to ``target`` (``CTransformFilter::InitializeOutputSample``)."""
    if source.__class__ is MediaSample and target.__class__ is MediaSample:
        target._start, target._stop = source._start, source._stop
        target._media_start, target._media_stop = source._media_start, source._media_stop
        target._flags = (target._flags & ~_CARRIED_FLAGS) | (source._flags & _CARRIED_FLAGS)
        return
    try:
        start, stop = source.GetTime()
        target.SetTime(start, stop)
    except VfwSampleTimeNotSetError:
        target.SetTime(None)
    try:
        target.SetMediaTime(*source.GetMediaTime())
    except COMError:
        target.SetMediaTime(None, None)
    target.SetSyncPoint(source.IsSyncPoint())
    target.SetPreroll(source.IsPreroll())
    target.SetDiscontinuity(source.IsDiscontinuity())


def copy_sample(source: Any, target: Any) -> None:
    """Copy ``source``'s data and properties into ``target`` (a writable sample at least as
    large as the data), and the media type it carries (a format change travels on with the
    copy: the copy is the same data of the same type)."""
    length = source.GetActualDataLength()
    data = source.GetPointer()
    target.GetPointer()[:length] = data[:length]
    target.SetActualDataLength(length)
    copy_sample_properties(source, target)
    media_type = source.GetMediaType()
    if media_type is not None:
        target.SetMediaType(media_type)


def _stream_start(sample: Any, default: int) -> int:
    """The start time of a sample about to be delivered (``default`` without one)."""
    try:
        start: int = sample.GetTime()[0]
    except VfwSampleTimeNotSetError:
        return default
    return start


def _placing(segment: Segment | None) -> Segment | None:
    """``segment`` when placing a sample in it changes anything (a start, a stop or a
    rate), else None."""
    if segment is None or (segment.start == 0 and segment.stop is None and segment.rate == 1.0):
        return None
    return segment


def _class_id(cls: type) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"python:{cls.__module__}.{cls.__qualname__}")


_REPORTED_BY = "dshow_alloc_filter"  # the attribute notify_event marks an error with


def reported_by(exc: BaseException) -> str | None:
    """The name of the filter that reported ``exc`` with EC_ERRORABORT (whose hook raised
    it), or None when no filter did."""
    name = getattr(exc, _REPORTED_BY, None)
    return name if isinstance(name, str) else None


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
        self._state = _STOPPED
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


# -- sources ---------------------------------------------------------------------------------


class SourceStream(BaseOutputPin):
    """``CSourceStream``: an output pin with a streaming thread that calls ``FillBuffer``.

    The thread starts when the filter pauses and is joined when it stops. Each turn takes a
    sample from the allocator, has ``FillBuffer`` fill it, and delivers it. ``FillBuffer``
    returning False ends the stream (end of stream goes downstream); raising reports
    EC_ERRORABORT, then end of stream; a failed or refused delivery stops the thread quietly
    (the consumer reported its error, or is flushing or stopping). Override ``FillBuffer``,
    ``GetMediaType`` or ``DecideBufferSize`` here for one pin of a many-pin source; by default
    they are the filter's. A source whose samples come from elsewhere (received, not
    filled) overrides ``next_sample`` instead. The type may change while streaming:
    ``request_media_type`` from any thread, or ``change_media_type`` on the streaming thread
    between samples (a ``next_sample`` that looks ahead).
    """

    _filter: SourceFilter

    def __init__(self, filter: SourceFilter, name: str = "Output", pin_id: str | None = None):
        super().__init__(filter, name, pin_id)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._segment: Segment | None = None
        self._placing: Segment | None = None  # the segment, unless it changes no sample
        self._discontinuity = False
        self._played = 0
        self._requested: MediaType | None = None  # request_media_type's, not yet applied
        self._request_lock = threading.Lock()
        self.delivered = 0
        """Samples delivered since the filter last paused from Stopped."""

    def FillBuffer(self, sample: Any) -> bool:
        """Fill ``sample``; False ends the stream. Default: the filter's ``FillBuffer``."""
        return self._filter.FillBuffer(sample)

    def Active(self) -> None:
        """Commit the allocator and start the streaming thread (after the filter's
        ``before_streaming``: a seeking source moves to its segment's start there)."""
        super().Active()
        self.delivered = 0
        self._filter.before_streaming(self)
        self.start_streaming()

    def Inactive(self) -> None:
        """Stop the thread: decommit (waking a blocked ``GetBuffer``), then join it."""
        self._stopping.set()
        try:
            super().Inactive()
        finally:
            thread, self._thread = self._thread, None
            join_streaming_thread(thread)

    # -- format changes ------------------------------------------------------------------------

    def request_media_type(self, media_type: MediaType) -> None:
        """Have the streaming thread change the pin's type to ``media_type`` at its next
        sample boundary (`change_media_type`: ``QueryAccept``, a new allocator when the
        samples no longer fit, the next sample carrying the type). Safe from any thread; a
        later request replaces one not yet applied. While stopped it waits for the first
        boundary after the next ``Pause``. A refusal ends the stream: EC_ERRORABORT
        (VFW_E_TYPE_NOT_ACCEPTED, the error naming both types), then end of stream."""
        if not isinstance(media_type, MediaType):
            raise TypeError(
                f"request_media_type takes a MediaType, not {type(media_type).__name__}"
            )
        if not self.is_connected():
            raise VfwNotConnectedError(message=f"{self!r} is not connected")
        with self._request_lock:
            self._requested = media_type

    @property
    def pending_media_type(self) -> MediaType | None:
        """The type `request_media_type` asked for and the thread has not applied yet."""
        return self._requested

    def _apply_request(self) -> bool:
        """On the streaming thread: make the requested change; False ends the thread (the pin
        is stopping or flushing, and the request waits, or the change was refused and the
        stream ended)."""
        requested = self._requested
        if requested is None:
            return True
        try:
            changed = self.change_media_type(requested)
        except Exception as exc:
            self._take_request(requested)
            self._end(exc)
            return False
        if changed:
            self._take_request(requested)
        return changed

    def _take_request(self, requested: MediaType) -> None:
        with self._request_lock:
            if self._requested is requested:  # not replaced by a later request meanwhile
                self._requested = None

    def _interrupted(self) -> bool:
        """A format change stops waiting also when the streaming thread is told to stop."""
        return self._stopping.is_set() or super()._interrupted()

    # -- segments (seeking) --------------------------------------------------------------------

    @property
    def played(self) -> int:
        """The stream time of the last sample delivered in the current segment."""
        return self._played

    def set_segment(self, segment: Segment | None, *, discontinuity: bool = False) -> None:
        """Place the samples of the next streaming run in ``segment``: the thread sends
        ``NewSegment`` first, and with ``discontinuity`` the first sample delivered carries
        the flag. Only while the thread is not running."""
        self._segment = segment
        self._placing = _placing(segment)
        self._discontinuity = discontinuity
        self._played = 0

    def move_stop(self, stop: int | None) -> None:
        """Move the running segment's stop (the next sample at or after it ends the
        stream)."""
        segment = self._segment
        if segment is not None:
            self._segment = segment = Segment(segment.start, stop, segment.rate)
            self._placing = _placing(segment)

    def start_streaming(self) -> None:
        """Start the streaming thread (the pin is active and has no thread running)."""
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._stream, name=f"{self._filter.name}.{self._name} streaming", daemon=True
        )
        self._thread.start()

    def stop_streaming(self) -> None:
        """Stop and join the streaming thread while staying active (a seek's flush): the
        pool is set flushing meanwhile, so a thread waiting in ``GetBuffer`` wakes."""
        self._stopping.set()
        allocator = self._allocator
        flushable = allocator is not None and hasattr(allocator, "SetFlushing")
        if flushable:
            allocator.SetFlushing(True)
        try:
            thread, self._thread = self._thread, None
            join_streaming_thread(thread)
        finally:
            if flushable:
                allocator.SetFlushing(False)

    def next_sample(self) -> Any | None:
        """The next sample to deliver, or None to end the stream.

        The streaming thread delivers the sample, then releases the reference this returned.
        None sends end of stream downstream (unless the pin is stopping); an exception
        reports EC_ERRORABORT, then end of stream. It may block, but must return soon after
        the pin starts stopping (``stopping`` is set). Default: a sample from the allocator
        filled by ``FillBuffer`` (a ``GetBuffer`` that fails while not stopping is retried
        every 1 ms, as BC-src does). Override it for a source whose samples come from
        elsewhere (``shmsrc`` delivers the samples it receives).
        """
        return self._filled_sample(self._fill_function())

    @property
    def stopping(self) -> threading.Event:
        """Set when the pin is deactivated: the streaming thread must return soon."""
        return self._stopping

    def _fill_function(self) -> Any:
        return (
            self._filter.FillBuffer
            if type(self).FillBuffer is SourceStream.FillBuffer
            else self.FillBuffer
        )

    def _filled_sample(self, fill: Any) -> Any | None:
        stopping, allocator = self._stopping, self._allocator
        while not stopping.is_set():
            try:
                sample = allocator.GetBuffer()
            except COMError:
                # Decommitted: by our own stop, or by a downstream filter stopping first.
                stopping.wait(0.001)
                continue
            try:
                more = fill(sample)
            except BaseException:
                sample.Release()
                raise
            if more is False:
                sample.Release()
                return None
            # Hot path: a segment that starts at 0 and plays to the end at rate 1 changes no
            # sample (_placing is None), and costs two attribute reads.
            placing = self._placing
            if placing is not None:
                verdict = placing.place(sample)
                if verdict != KEEP:
                    sample.Release()
                    if verdict == END:
                        return None
                    continue
            if self._discontinuity:
                self._discontinuity = False
                sample.SetDiscontinuity(True)
            return sample
        return None

    def _stream(self) -> None:
        # Hot path: the default next_sample, with FillBuffer looked up once.
        produce: Callable[[], Any]
        if type(self).next_sample is SourceStream.next_sample:
            produce = functools.partial(self._filled_sample, self._fill_function())
        else:
            produce = self.next_sample
        deliver = self.Deliver
        stopping = self._stopping
        segment = self._segment
        if segment is not None:
            try:
                self.DeliverNewSegment(
                    segment.start, MAX_TIME if segment.stop is None else segment.stop, segment.rate
                )
            except Exception as exc:
                log.debug("%r: NewSegment not delivered, streaming ends: %r", self, exc)
                return
        while not stopping.is_set():
            # A format change asked for from another thread is made here, between samples.
            if self._requested is not None and not self._apply_request():
                return
            try:
                sample = produce()
            except Exception as exc:
                self._end(exc)
                return
            if sample is None:
                self._end(None)
                return
            # Read before delivery: downstream may restamp the sample, and once released it
            # is the pool's.
            played = _stream_start(sample, self._played) if segment is not None else 0
            try:
                accepted = deliver(sample)
            except Exception as exc:
                log.debug("%r: delivery failed, streaming ends: %r", self, exc)
                return
            finally:
                sample.Release()
            if not accepted:
                return
            self.delivered += 1
            self._played = played

    def _end(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._filter.notify_event(EC_ERRORABORT, error_hresult(exc), exc)
        if self._stopping.is_set():
            return
        try:
            self.DeliverEndOfStream()
        except Exception as error:
            log.debug("%r: end of stream not delivered: %r", self, error)


class SourceFilter(BaseFilter):
    """``CSource``: a filter with one `SourceStream` output pin ("Output").

    Subclass and override ``FillBuffer(sample) -> bool``. ``media_type`` (default: a byte
    stream of ``buffer_size``-byte samples) is what ``GetMediaType(0)`` offers;
    ``buffer_size`` and ``buffers`` are what the default ``DecideBufferSize`` asks for at least.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        media_type: MediaType | None = None,
        buffer_size: int = 0,
        buffers: int = 4,
    ) -> None:
        super().__init__(name=name)
        if media_type is not None and not isinstance(media_type, MediaType):
            raise TypeError(f"media_type must be a MediaType, not {type(media_type).__name__}")
        if buffer_size < 0 or buffers < 1:
            raise ValueError("buffer_size must be >= 0 and buffers >= 1")
        if media_type is None:
            media_type = MediaType(
                MEDIATYPE_Stream,
                MEDIASUBTYPE_None,
                FORMAT_None,
                fixed_size_samples=buffer_size > 0,
                sample_size=buffer_size,
            )
        self.media_type = media_type
        self.buffer_size = buffer_size or media_type.sample_size
        self.buffers = buffers
        pins = [self.add_pin(pin) for pin in self.make_output_pins()]
        self.output: SourceStream = pins[0]
        """The first output pin."""

    def make_output_pins(self) -> list[SourceStream]:
        """The filter's output pins, made once in ``__init__``: one `SourceStream` called
        "Output" by default; a source of several streams (a demuxer) returns one each."""
        return [SourceStream(self)]

    def FillBuffer(self, sample: Any) -> bool:
        """Fill ``sample`` with the next data and return True, or return False at the end."""
        raise NotImplError(message=f"{type(self).__name__} must override FillBuffer")

    def GetMediaType(self, position: int) -> MediaType | None:
        """The type offered at ``position``: ``media_type`` at 0, None after."""
        return self.media_type if position == 0 else None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Ask for at least ``buffers`` samples of ``buffer_size`` bytes, or of the connection
        type's sample size when that is larger (and at least ``request``)."""
        output = self.output
        connected = output.ConnectionMediaType().sample_size if output.is_connected() else 0
        size = max(self.buffer_size, connected)
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """``GetMediaType`` (a `SourceStream` overriding it never asks here)."""
        return self.GetMediaType(position)

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Accept the types the pin's ``GetMediaType`` offers (a partial one matches)."""
        position = 0
        while (offered := pin.GetMediaType(position)) is not None:
            if offered == media_type or (
                offered.is_partially_specified() and offered.matches(media_type)
            ):
                return True
            position += 1
        return False

    def try_my_types_first(self, pin: BasePin) -> bool:
        """A source offers its own types first."""
        return True

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """``DecideBufferSize`` (a `SourceStream` overriding it never asks here)."""
        self.DecideBufferSize(allocator, request)


# -- transforms ------------------------------------------------------------------------------


class TransformFilter(BaseFilter):
    """``CTransformFilter``: one input pin, one output pin, a new output sample per input.

    Override ``Transform(in_sample, out_sample)`` (return False to drop the sample), and as
    needed ``CheckInputType``, ``CheckTransform``, ``GetMediaType`` and ``DecideBufferSize``.
    The output sample comes from the output pin's allocator with the input's times and flags
    already carried over.

    Format changes: when a sample arrives with a new input type while the output is
    connected, the filter keeps its output type if ``CheckTransform(new input, output)``
    holds (a converter with a fixed output); otherwise its output follows with the type
    ``output_type_for`` gives (by default the new input type, when the output carried the
    input's type), changed by `BaseOutputPin.change_media_type` before that sample's output
    sample is made, so downstream sees the change in order with the samples. An input type
    neither way allows is refused (``QueryAccept`` says False).
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self.output = self.add_pin(BaseOutputPin(self, "Output"))
        self._output_change: MediaType | None = None  # the output type to change to, at the
        # next sample (set by media_type_changed)

    # DirectShow's hooks --------------------------------------------------------------------

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Whether the input pin accepts ``media_type``. Default: any."""
        return True

    def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
        """Whether the filter turns ``media_type_in`` into ``media_type_out``. Default: only
        into a type that matches the input type."""
        return media_type_in.matches(media_type_out)

    def GetMediaType(self, position: int) -> MediaType | None:
        """The output type offered at ``position`` (the input is connected). Default: the
        input's type at 0."""
        return self.input.ConnectionMediaType() if position == 0 else None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Size the output allocator. Default: ``request``, with samples as large as the
        output type's sample size or the input allocator's samples."""
        size = self.output.ConnectionMediaType().sample_size or upstream_buffer_size(self.input)
        size_allocator(allocator, request, buffer_size=size)

    def Transform(self, in_sample: Any, out_sample: Any) -> bool | None:
        """Fill ``out_sample`` from ``in_sample``; return False to drop it."""
        raise NotImplError(message=f"{type(self).__name__} must override Transform")

    def output_type_for(self, input_type: MediaType, previous: MediaType) -> MediaType | None:
        """The output type to change to when the connected input's type changes from
        ``previous`` to ``input_type`` and ``CheckTransform(input_type, output type)`` does
        not hold; None refuses the change. Default: ``input_type`` when the output type is
        ``previous`` (the filter passes its input's type on, as the default
        ``GetMediaType`` offers) and ``CheckTransform(input_type, input_type)`` holds."""
        if self.output.ConnectionMediaType() == previous and self.CheckTransform(
            input_type, input_type
        ):
            return input_type
        return None

    # the pin protocol ----------------------------------------------------------------------

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Input: ``CheckInputType`` (and ``CheckTransform`` once the output is connected;
        for a change of the connected input's type, an ``output_type_for`` it will do);
        output: the input must be connected, then ``CheckTransform``."""
        if pin is self.input:
            if not self.CheckInputType(media_type):
                return False
            if self.output.is_connected():
                output_type = self.output.ConnectionMediaType()
                if self.CheckTransform(media_type, output_type):
                    return True
                if not pin.is_connected():
                    return False
                follow = self.output_type_for(media_type, pin.ConnectionMediaType())
                return follow is not None and bool(self.CheckTransform(media_type, follow))
            return True
        if not self.input.is_connected():
            raise VfwNotConnectedError(message="connect the transform's input pin first")
        return bool(self.CheckTransform(self.input.ConnectionMediaType(), media_type))

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """The output connects only once the input is (``CTransformOutputPin::CheckConnect``:
        E_UNEXPECTED)."""
        if pin is self.output and not self.input.is_connected():
            raise UnexpectedError(message="connect the transform's input pin first")

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """The output pin offers ``GetMediaType`` while the input is connected."""
        if pin is self.output and self.input.is_connected():
            return self.GetMediaType(position)
        return None

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """``DecideBufferSize``."""
        self.DecideBufferSize(allocator, request)

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Forward it; VFW_E_NOT_CONNECTED without a connected output (``CheckStreaming``)."""
        if not self.output.is_connected():
            raise VfwNotConnectedError(message=f"{self.output!r} is not connected")
        self.output.DeliverEndOfStream()

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """The input's type changed: keep the output type if ``CheckTransform`` allows it,
        else change the output to ``output_type_for``'s at the next sample (None: a subclass
        whose own ``check_media_type`` accepted the type makes its output itself)."""
        if pin is not self.input or previous is None or not self.output.is_connected():
            return
        input_type = self.input.ConnectionMediaType()
        if self.CheckTransform(input_type, self.output.ConnectionMediaType()):
            self._output_change = None
            return
        self._output_change = self.output_type_for(input_type, previous)

    def break_connect(self, pin: BasePin) -> None:
        """A change the output had still to make is forgotten."""
        self._output_change = None

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """``CTransformFilter::Receive``: a new output sample, ``Transform``, deliver (after
        changing the output type first when the input's changed)."""
        output = self.output
        if output._connected is None:
            raise VfwNotConnectedError(message=f"{output!r} is not connected")
        follow = self._output_change
        if follow is not None:
            try:
                changed = output.change_media_type(follow)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            if not changed:
                return False  # stopping or flushing: this sample goes; the change waits
            self._output_change = None
        out_sample = output.GetDeliveryBuffer()
        try:
            copy_sample_properties(sample, out_sample)
            try:
                keep = self.Transform(sample, out_sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            if keep is False:
                return True
            return output.Deliver(out_sample)
        finally:
            out_sample.Release()


class _PassThroughOutputPin(BaseOutputPin):
    """An output pin that hands on its filter's input allocator when downstream takes it."""

    _filter: _PassThroughFilter

    def DecideAllocator(self, input_pin: Any) -> Any:
        """The upstream allocator when there is one we may pass on and downstream accepts it
        (with the upstream ``read_only`` flag); otherwise ``CBaseOutputPin``'s negotiation."""
        upstream_pin = self._filter.input
        upstream = upstream_pin.peek_allocator()
        if upstream is not None and upstream_pin.is_connected() and self._filter.can_share():
            self._ask_proposal(input_pin)
            try:
                input_pin.NotifyAllocator(upstream, upstream_pin.read_only)
                self.allocator_origin = f"passed through from {pin_label(upstream_pin._connected)}"
                return upstream
            except Exception as exc:
                log.debug("%r: downstream refused the upstream allocator (%s)", self, exc)
        return super().DecideAllocator(input_pin)


class _PassThroughFilter(BaseFilter):
    """What an in-place transform and a queue share: samples pass through unchanged, on the
    downstream allocator (``CTransInPlaceFilter``'s allocator rules, and GStreamer's
    forwarding of the allocation query)."""

    modifies_data: bool = False

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self.output = self.add_pin(_PassThroughOutputPin(self, "Output"))

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """The input's type changed (the sample that carries it is arriving): that sample
        takes the type on downstream itself, passed through or copied (`copy_sample`), and
        the output pin's connection type follows it."""
        if pin is self.input and self.output.is_connected():
            self.output.SetMediaType(pin.ConnectionMediaType())

    def can_share(self) -> bool:
        """Whether samples can pass through unchanged: not when they are read-only and the
        filter writes to them."""
        return not (self.input.read_only and self.modifies_data)

    def passes_through(self) -> bool:
        """True when input samples go downstream as they are (same allocator, writable or
        not written to); False means each is copied into an output sample first."""
        return self.output._allocator is self.input._allocator and self.can_share()

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """The output connects only once the input is (E_UNEXPECTED, as a transform's)."""
        if pin is self.output and not self.input.is_connected():
            raise UnexpectedError(message="connect the input pin first")

    def allocator_requirements(self, pin: BaseInputPin) -> AllocatorProperties | None:
        """Downstream's requirements once the output is connected
        (``CTransInPlaceInputPin::GetAllocatorRequirements``)."""
        if pin is self.input and self.output.is_connected():
            return self.output.input_pin.GetAllocatorRequirements()  # type: ignore[no-any-return]
        return pin.requirements

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        """The downstream pin's allocator, once the output is connected."""
        if pin is self.input and self.output.is_connected():
            return self.output.input_pin.GetAllocator()
        return None

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        """Pass the upstream allocator on downstream when the output is connected; a
        read-only allocator that is the output's own cannot be written in place (E_FAIL)."""
        if pin is not self.input or not self.output.is_connected():
            return
        output = self.output
        if read_only and self.modifies_data:
            if allocator is output._allocator:
                raise FailError(message="a read-only allocator cannot be modified in place")
            return  # samples get copied into the output allocator's
        try:
            output.input_pin.NotifyAllocator(allocator, read_only)
        except Exception as exc:
            log.debug("%r: downstream refused the allocator (%s); copying", self, exc)
            return
        old, output._allocator = output._allocator, allocator
        output.allocator_origin = f"passed through from {pin_label(pin._connected)}"
        if old is not None and old is not allocator:
            old.Decommit()

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Forward the proposal downstream (passthrough)."""
        if pin is self.input and self.output.is_connected():
            downstream = self.output.input_pin
            if hasattr(downstream, "ProposeAllocation"):
                downstream.ProposeAllocation(query)

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """When the output connects after the input, let upstream renegotiate so that the
        downstream allocator and needs reach it."""
        if pin is self.output and self.input.is_connected():
            upstream = self.input.ConnectedTo()
            if isinstance(upstream, BaseOutputPin):
                upstream.reconfigure()

    def reconfigure_upstream(self, pin: BaseOutputPin) -> None:
        """Renegotiate upstream first, so the allocator passed through is the new one."""
        if pin is self.output and self.input.is_connected():
            upstream = self.input.ConnectedTo()
            if isinstance(upstream, BaseOutputPin):
                upstream.reconfigure()

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Input: ``check_input_type``; output: the input's type."""
        if pin is self.input:
            return self.check_input_type(media_type)
        if not self.input.is_connected():
            raise VfwNotConnectedError(message="connect the input pin first")
        return self.input.ConnectionMediaType().matches(media_type)

    def check_input_type(self, media_type: MediaType) -> bool:
        """Whether the input accepts ``media_type``. Default: any."""
        return True

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """The output offers the input's type."""
        if pin is self.output and position == 0 and self.input.is_connected():
            return self.input.ConnectionMediaType()
        return None

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """Samples as large as the input allocator's (for the copy path)."""
        size_like_upstream(self.input, pin, allocator, request)


class TransInPlaceFilter(_PassThroughFilter):
    """``CTransInPlaceFilter``: ``Transform(sample)`` changes the sample it receives, and the
    same sample goes downstream on the downstream allocator.

    When the input allocator is read-only (a tee upstream) and ``modifies_data`` is True,
    each sample is first copied into one from the output allocator. Override
    ``Transform(sample)`` (return False to drop it) and ``CheckInputType``.
    """

    def __init__(self, *, name: str | None = None, modifies_data: bool = True) -> None:
        super().__init__(name=name)
        self.modifies_data = bool(modifies_data)
        self.copies = 0
        """Samples copied because they could not be changed in place."""

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Whether the input pin accepts ``media_type``. Default: any."""
        return True

    def Transform(self, sample: Any) -> bool | None:
        """Change ``sample`` in place; return False to drop it."""
        raise NotImplError(message=f"{type(self).__name__} must override Transform")

    def check_input_type(self, media_type: MediaType) -> bool:
        """``CheckInputType``."""
        return bool(self.CheckInputType(media_type))

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Transform in place and deliver, or copy first when the sample is read-only."""
        output = self.output
        if output._connected is None:
            raise VfwNotConnectedError(message=f"{output!r} is not connected")
        # Hot path: passes_through(), inlined.
        if output._allocator is pin._allocator and not (pin._read_only and self.modifies_data):
            try:
                keep = self.Transform(sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            return True if keep is False else output.Deliver(sample)
        out_sample = output.GetDeliveryBuffer()
        try:
            copy_sample(sample, out_sample)
            self.copies += 1
            try:
                keep = self.Transform(out_sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            return True if keep is False else output.Deliver(out_sample)
        finally:
            out_sample.Release()


# -- renderers -------------------------------------------------------------------------------

#: ``max_lateness`` of a video renderer that sets none: 20 ms, as GStreamer's video sinks.
VIDEO_MAX_LATENESS = 200_000


def _check_max_lateness(value: object) -> int | None:
    if value is None:
        return None
    if value.__class__ is not int:
        raise TypeError(f"max_lateness must be an int or None, not {type(value).__name__}")
    assert isinstance(value, int)
    if value < -1:
        raise ValueError(f"max_lateness must be >= -1 (-1: never drop), got {value}")
    return value


@implementer(IQualityControl)
class RendererFilter(BaseFilter):
    """``CBaseRenderer``: one input pin; ``DoRenderSample(sample)`` presents each sample.

    While paused the renderer holds its first sample (the pause completes then, see
    ``GetState``) until it runs or stops. Running with ``sync`` and a clock, it waits until
    each sample is due: its start time on the clock (``start`` of ``Run`` plus the sample's
    start) plus `graph_latency` (the latency of a live graph, which the graph sets); samples
    without a time are presented at once. End of stream while running reports EC_COMPLETE to
    the graph (once per stream; when paused, at ``Run``).

    Late samples (``sync`` with a clock). A sample that reaches the renderer after it was
    due is presented at once and counted in `late`, unless it is more than
    `lateness_limit` late: then it is dropped (never presented, ``Receive`` still succeeds)
    and counted in `dropped`. A sample the renderer waited for is on time, unless the clock
    woke the renderer for it more than `lateness_limit` late (dropped too). For each late or
    dropped sample a quality message (`Quality`: Famine, how late, the sample's start, and
    the proportion of the stream the renderer keeps up with) goes to the sink set by
    ``SetSink``, else upstream through the input pin (`pass_quality`), on the streaming
    thread; a source or transform upstream may then skip work (``AlterQuality``).
    """

    is_renderer = True

    def __init__(
        self, *, name: str | None = None, sync: bool = True, max_lateness: int | None = None
    ) -> None:
        super().__init__(name=name)
        self._max_lateness = _check_max_lateness(max_lateness)
        self.sync = bool(sync)
        """Present samples at their times on the clock (False: as soon as running)."""
        self.input = self.add_pin(BaseInputPin(self, "In"))
        self._wake = threading.Event()
        self._prerolled = threading.Event()
        self._complete_lock = threading.Lock()
        self._complete_sent = False
        self._ended = False  # end_of_stream has run (not merely been flagged by the pin)
        self._quality_sink: Any = None
        self.graph_latency = 0
        """The graph's latency (100 ns units; `set_latency`), added to every due time."""
        self.rendered = 0
        """Samples presented since the filter last paused from Stopped."""
        self.dropped = 0
        """Samples dropped as too late since the filter last paused from Stopped."""
        self.late = 0
        """Samples presented although they arrived late, since the last pause from Stopped."""

    @property
    def max_lateness(self) -> int | None:
        """How late (100 ns units) a sample may be and still be presented; -1: never drop;
        None (the default): by the connection type (`lateness_limit`). TypeError or
        ValueError for anything but None or an int >= -1."""
        return self._max_lateness

    @max_lateness.setter
    def max_lateness(self, value: int | None) -> None:
        self._max_lateness = _check_max_lateness(value)

    @property
    def lateness_limit(self) -> int:
        """The `max_lateness` in effect: the one set, else `VIDEO_MAX_LATENESS` (20 ms) when
        the input is connected with a video type, else -1 (never drop: dropping audio or
        other data leaves gaps, as GStreamer's base sink never drops by default)."""
        limit = self._max_lateness
        if limit is not None:
            return limit
        pin = self.input
        if pin.is_connected() and pin.ConnectionMediaType().major_type == MEDIATYPE_Video:
            return VIDEO_MAX_LATENESS
        return -1

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Whether the renderer accepts ``media_type``. Default: any."""
        return True

    def DoRenderSample(self, sample: Any) -> None:
        """Present ``sample``."""
        raise NotImplError(message=f"{type(self).__name__} must override DoRenderSample")

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """``CheckMediaType``."""
        return bool(self.CheckMediaType(media_type))

    def receive_can_block(self, pin: BaseInputPin) -> bool:
        """A renderer blocks: while paused, and until presentation times."""
        return True

    def GetState(self, timeout_ms: int) -> FilterState:
        """See `IMediaFilter.GetState`: a pausing renderer waits up to ``timeout_ms`` for its
        first sample (or end of stream)."""
        if timeout_ms.__class__ is not int:
            raise TypeError("timeout_ms must be an int")
        if self._state is _PAUSED and self.input.is_connected():
            self._prerolled.wait(None if timeout_ms < 0 else timeout_ms / 1000)
        return self._state

    def get_state_code(self, timeout_ms: int) -> tuple[FilterState, HRESULT]:
        """``GetState`` with its success code (see `IMediaFilter.GetState`):
        VFW_S_STATE_INTERMEDIATE when paused and still without a first sample after
        ``timeout_ms``, else S_OK."""
        state = self.GetState(timeout_ms)
        if state is _PAUSED and self.input.is_connected() and not self._prerolled.is_set():
            return state, HRESULT.VFW_S_STATE_INTERMEDIATE
        return state, HRESULT.S_OK

    def is_prerolled(self) -> bool:
        """True when a pause has completed: a sample or end of stream arrived since."""
        return self._prerolled.is_set()

    def set_latency(self, latency: int) -> None:
        """See `BaseFilter.set_latency`: kept in `graph_latency`."""
        if latency.__class__ is not int:
            raise TypeError(f"a latency is an int (100 ns units), not {type(latency).__name__}")
        if latency < 0:
            raise ValueError(f"a latency is >= 0, not {latency}")
        self.graph_latency = latency

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Wake a waiting ``Receive``; reset per-stream state; report a completion that
        arrived while paused."""
        if new is _STOPPED:
            self._prerolled.clear()
            with self._complete_lock:
                self._complete_sent = self._ended = False
        elif old is _STOPPED:
            self.rendered = self.dropped = self.late = 0
        if new is _RUNNING and self._ended:
            self._send_complete()
        self._wake.set()

    def _send_complete(self) -> None:
        with self._complete_lock:
            if self._complete_sent:
                return
            self._complete_sent = True
        self.notify_event(EC_COMPLETE, _S_OK, self)

    # -- IQualityControl -----------------------------------------------------------------------

    def Notify(self, sender: Any, quality: Quality) -> bool:
        """See `IQualityControl.Notify`: quality messages start at renderers, so one given to
        a renderer goes on as its own (`send_quality`)."""
        return self.send_quality(quality)

    def SetSink(self, sink: Any) -> None:
        """See `IQualityControl.SetSink`."""
        if sink is not None and not IQualityControl.providedBy(sink):
            raise TypeError(f"SetSink takes an IQualityControl or None, not {type(sink)}")
        self._quality_sink = sink

    def send_quality(self, quality: Quality) -> bool:
        """Send one of the renderer's quality messages: to the sink set by ``SetSink``, else
        upstream (`pass_quality`). True when something handled it; an error there is logged,
        never raised into the stream."""
        if not isinstance(quality, Quality):
            raise TypeError(f"a quality message is a Quality, not {type(quality).__name__}")
        sink = self._quality_sink
        try:
            if sink is not None:
                return bool(sink.Notify(self, quality))
            return pass_quality(self.input, self, quality)
        except Exception:
            log.warning("%r: a quality message failed upstream", self, exc_info=True)
            return False

    # -- streaming -------------------------------------------------------------------------------

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Wait for the sample's time (or for Run), then ``DoRenderSample``; a sample too
        late is dropped instead (see the class docstring)."""
        # Hot path: running without sync presents at once.
        if self._state is not _RUNNING or (self.sync and self._clock is not None):
            lateness = self._until_due(pin, sample)
            if lateness is None:
                return False
            if lateness and not self._present_late(sample, lateness):
                return True
        try:
            self.DoRenderSample(sample)
        except Exception as exc:
            pin.stream_error(exc)
            raise
        self.rendered += 1
        return True

    def _wait_until_due(self, pin: BaseInputPin, sample: Any) -> bool:
        """Block until ``sample`` is due; False when a stop or flush came first."""
        return self._until_due(pin, sample) is not None

    def _until_due(self, pin: BaseInputPin, sample: Any) -> int | None:
        """Block until ``sample`` is due (and the filter runs); None when a flush came first
        (a stop raises VFW_E_WRONG_STATE). Returns the lateness to judge (100 ns units): how
        late the sample arrived, or how late the clock woke the renderer for it when that is
        beyond `lateness_limit`; 0 when it is on time."""
        wake = self._wake
        while True:
            wake.clear()  # before reading the state: a change after this sets it again
            state = self._state
            if state is _STOPPED:
                raise VfwWrongStateError(message=f"{self!r} stopped")
            if pin.flushing:
                return None
            if state is _PAUSED:
                self._prerolled.set()
                wake.wait()
                continue
            clock = self._clock
            if not self.sync or clock is None:
                return 0
            try:
                start, _stop = sample.GetTime()
            except VfwSampleTimeNotSetError:
                return 0
            base = self._start
            stream_time = start + self.graph_latency
            due = base + stream_time
            if due <= 0:
                return 0
            now = clock.GetTime()
            if now >= due:
                return int(now - due)
            cookie = clock.AdviseTime(base, stream_time, wake)
            try:
                wake.wait()
            finally:
                clock.Unadvise(cookie)
            if self._state is _RUNNING and self._start == base:
                woke_late = int(clock.GetTime() - due)
                if woke_late >= 0:
                    return woke_late if woke_late and woke_late > self.lateness_limit >= 0 else 0

    def _present_late(self, sample: Any, lateness: int) -> bool:
        """Count a late sample as dropped or late and tell upstream; True to present it."""
        drop = 0 <= self.lateness_limit < lateness
        if drop:
            self.dropped += 1
        else:
            self.late += 1
        start, stop = sample.GetTime()
        duration = stop - start if stop is not None and stop > start else 0
        # The share of the stream the renderer keeps up with: a sample's time out of the
        # time it took to come (per mille; 1000 = as now).
        proportion = max(1, 1000 * duration // (duration + lateness)) if duration else 1000
        self.send_quality(Quality(QualityMessageType.Famine, proportion, lateness, start))
        return not drop

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Completion: EC_COMPLETE now when running, else at ``Run``. A subclass finishing
        its work (a file sink closing its file) does it before calling this: completion is
        never reported before this has run, even when ``Run`` comes meanwhile."""
        self._ended = True  # before reading the state: a Run after this sees it
        self._prerolled.set()
        if self._state is _RUNNING:
            self._send_complete()

    def begin_flush(self, pin: BaseInputPin) -> None:
        """Wake a waiting ``Receive`` (it returns False)."""
        self._wake.set()

    def end_flush(self, pin: BaseInputPin) -> None:
        """A new stream follows: completion and preroll start over."""
        with self._complete_lock:
            self._complete_sent = self._ended = False
        if self._state is _PAUSED:
            self._prerolled.clear()

    def new_segment(self, pin: BaseInputPin, start: int, stop: int, rate: float) -> None:
        """Nothing to forward."""


# -- quality messages and live sources ---------------------------------------------------------


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


class LiveSource(SourceFilter):
    """A source that captures live, at the clock's pace (GStreamer's ``is-live``): a camera,
    a microphone, a test source with ``is-live=true``.

    Subclass it instead of `SourceFilter` (a seeking source puts it first:
    ``class Camera(LiveSource, SourceSeeking, SourceFilter)``) and call `wait_for_capture`
    in ``FillBuffer`` with the stream time of the sample about to be made. Sample *i* is
    then produced when the graph clock reaches its time while the filter runs, and stamped
    with that time: the running time of its capture, which stands still while the graph is
    paused. Nothing is produced while paused (``get_state_code`` answers VFW_S_CANT_CUE, so
    the graph does not wait for its renderers to pause). A source that cannot keep up
    produces the samples it is late for at once, one after the other.

    `is_live` (default True) switches all of it off when False, for a source that can be
    either. `latency` is one capture (`capture_latency`) while live: renderers in a live
    graph present each sample that much after its time, once it has been captured whole.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._capture_waits: set[threading.Event] = set()
        self._capture_stopping = False  # a Stop began; the pin's deactivation follows
        super().__init__(**kwargs)

    @property
    def is_live(self) -> bool:
        """True when the source captures live. Default: True."""
        return True

    def capture_latency(self) -> int:
        """The time to capture one sample (100 ns units): one frame's or one buffer's
        duration. Default: 0."""
        return 0

    def latency(self) -> tuple[int, int | None]:
        """See `BaseFilter.latency`: ``(capture, capture)`` while live, else (0, 0)."""
        if not self.is_live:
            return 0, 0
        capture = self.capture_latency()
        return capture, capture

    def get_state_code(self, timeout_ms: int) -> tuple[FilterState, HRESULT]:
        """``GetState`` with its success code (see `IMediaFilter.GetState`): VFW_S_CANT_CUE
        while live and paused, else S_OK."""
        state = self.GetState(timeout_ms)
        if state is _PAUSED and self.is_live:
            return state, HRESULT.VFW_S_CANT_CUE
        return state, HRESULT.S_OK

    def wait_for_capture(self, stream_time: int, stopping: threading.Event | None = None) -> bool:
        """Block the streaming thread until the sample at ``stream_time`` is captured: the
        filter runs and the graph clock has reached ``start`` of ``Run`` plus
        ``stream_time`` (at once without a clock, or when not `is_live`). Returns True to
        produce the sample now, False when the pin is stopping (``stopping``, the pin's
        `SourceStream.stopping` event; the first output pin's by default): ``FillBuffer``
        then returns False, and no end of stream is sent. A change of state wakes it."""
        if not self.is_live:
            return True
        if stopping is None:
            stopping = self.output.stopping
        wake = threading.Event()
        self._capture_waits.add(wake)
        try:
            while True:
                wake.clear()  # before reading the state: a change after this sets it again
                if stopping.is_set():
                    return False
                if self._capture_stopping:
                    stopping.wait()  # set by the pin's deactivation, which follows at once
                    return False
                if self._state is not _RUNNING:
                    wake.wait()  # stopped (not yet paused) or paused: nothing is captured
                    continue
                clock = self._clock
                if clock is None:
                    return True
                base = self._start
                if base + stream_time <= 0 or clock.GetTime() >= base + stream_time:
                    return True
                cookie = clock.AdviseTime(base, stream_time, wake)
                try:
                    wake.wait()
                finally:
                    clock.Unadvise(cookie)
        finally:
            self._capture_waits.discard(wake)

    def before_streaming(self, pin: Any) -> None:
        """A new streaming run: no stop is under way."""
        self._capture_stopping = False
        super().before_streaming(pin)

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Wake the threads waiting for a capture; a Stop ends their waits."""
        if new is _STOPPED:
            self._capture_stopping = True
        for wake in tuple(self._capture_waits):  # a copy made at once (C level, under the GIL)
            wake.set()
        super().state_changed(old, new)
