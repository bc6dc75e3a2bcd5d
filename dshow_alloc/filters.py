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
from dshow_alloc.mediatype import FORMAT_None, MEDIASUBTYPE_None, MediaType, MEDIATYPE_Stream
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
)
from dshow_alloc.video import VIDEO_META
from interfaces import IBaseFilter, IMediaEventSink, IMemInputPin, IReferenceClock

__all__ = [
    "BaseFilter",
    "RendererFilter",
    "SourceFilter",
    "SourceStream",
    "TransInPlaceFilter",
    "TransformFilter",
    "copy_sample",
    "copy_sample_properties",
    "deliver_copy",
    "join_streaming_thread",
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
    large as the data)."""
    length = source.GetActualDataLength()
    data = source.GetPointer()
    target.GetPointer()[:length] = data[:length]
    target.SetActualDataLength(length)
    copy_sample_properties(source, target)


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
        """Report an event to the graph (``IMediaEventSink.Notify``); logged without one."""
        graph = self.graph
        if graph is not None and IMediaEventSink.providedBy(graph):
            graph.Notify(code, param1, param2)
        elif code == EC_ERRORABORT:
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
    filled) overrides ``next_sample`` instead.
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
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self.output = self.add_pin(BaseOutputPin(self, "Output"))

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

    # the pin protocol ----------------------------------------------------------------------

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Input: ``CheckInputType`` (and ``CheckTransform`` once the output is connected);
        output: the input must be connected, then ``CheckTransform``."""
        if pin is self.input:
            if not self.CheckInputType(media_type):
                return False
            if self.output.is_connected():
                return bool(self.CheckTransform(media_type, self.output.ConnectionMediaType()))
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

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """``CTransformFilter::Receive``: a new output sample, ``Transform``, deliver."""
        output = self.output
        if output._connected is None:
            raise VfwNotConnectedError(message=f"{output!r} is not connected")
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


class RendererFilter(BaseFilter):
    """``CBaseRenderer``: one input pin; ``DoRenderSample(sample)`` presents each sample.

    While paused the renderer holds its first sample (the pause completes then, see
    ``GetState``) until it runs or stops. Running with ``sync`` and a clock, it waits until
    each sample's start time on the clock (stream time: ``start`` of ``Run`` plus the
    sample's start); samples without a time are presented at once. End of stream while
    running reports EC_COMPLETE to the graph (once per stream; when paused, at ``Run``).
    """

    is_renderer = True

    def __init__(self, *, name: str | None = None, sync: bool = True) -> None:
        super().__init__(name=name)
        self.sync = bool(sync)
        """Present samples at their times on the clock (False: as soon as running)."""
        self.input = self.add_pin(BaseInputPin(self, "In"))
        self._wake = threading.Event()
        self._prerolled = threading.Event()
        self._complete_lock = threading.Lock()
        self._complete_sent = False
        self._ended = False  # end_of_stream has run (not merely been flagged by the pin)
        self.rendered = 0
        """Samples presented since the filter last paused from Stopped."""

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

    def is_prerolled(self) -> bool:
        """True when a pause has completed: a sample or end of stream arrived since."""
        return self._prerolled.is_set()

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Wake a waiting ``Receive``; reset per-stream state; report a completion that
        arrived while paused."""
        if new is _STOPPED:
            self._prerolled.clear()
            with self._complete_lock:
                self._complete_sent = self._ended = False
        elif old is _STOPPED:
            self.rendered = 0
        if new is _RUNNING and self._ended:
            self._send_complete()
        self._wake.set()

    def _send_complete(self) -> None:
        with self._complete_lock:
            if self._complete_sent:
                return
            self._complete_sent = True
        self.notify_event(EC_COMPLETE, _S_OK, self)

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Wait for the sample's time (or for Run), then ``DoRenderSample``."""
        # Hot path: running without sync presents at once.
        if (
            self._state is not _RUNNING or (self.sync and self._clock is not None)
        ) and not self._wait_until_due(pin, sample):
            return False
        try:
            self.DoRenderSample(sample)
        except Exception as exc:
            pin.stream_error(exc)
            raise
        self.rendered += 1
        return True

    def _wait_until_due(self, pin: BaseInputPin, sample: Any) -> bool:
        """Block until ``sample`` is due; False when a stop or flush came first."""
        wake = self._wake
        while True:
            wake.clear()  # before reading the state: a change after this sets it again
            state = self._state
            if state is _STOPPED:
                raise VfwWrongStateError(message=f"{self!r} stopped")
            if pin.flushing:
                return False
            if state is _PAUSED:
                self._prerolled.set()
                wake.wait()
                continue
            clock = self._clock
            if not self.sync or clock is None:
                return True
            try:
                start, _stop = sample.GetTime()
            except VfwSampleTimeNotSetError:
                return True
            base = self._start
            if base + start <= 0 or clock.GetTime() >= base + start:
                return True
            cookie = clock.AdviseTime(base, start, wake)
            try:
                wake.wait()
            finally:
                clock.Unadvise(cookie)
            if self._state is _RUNNING and self._start == base and clock.GetTime() >= base + start:
                return True

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
