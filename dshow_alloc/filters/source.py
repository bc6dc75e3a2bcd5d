"""Sources: `SourceStream` (``CSourceStream``), `SourceFilter` (``CSource``) and `LiveSource`.

A `SourceStream` output pin runs a streaming thread that fills samples (``FillBuffer``) and
delivers them; a `LiveSource` produces each sample when the graph clock reaches its time.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.filters.base import BaseFilter, join_streaming_thread
from dshow_alloc.filters.copying import size_allocator
from dshow_alloc.hresult import (
    HRESULT,
    COMError,
    NotImplError,
    VfwNotConnectedError,
    VfwSampleTimeNotSetError,
)
from dshow_alloc.mediatype import FORMAT_None, MEDIASUBTYPE_None, MediaType, MEDIATYPE_Stream
from dshow_alloc.pins import BaseOutputPin, BasePin, error_hresult, pin_label
from dshow_alloc.seeking import END, KEEP, MAX_TIME, Segment
from dshow_alloc.structs import EC_ERRORABORT, AllocatorProperties, FilterState

__all__ = ["LiveSource", "ReceivedPool", "ReceivingStream", "SourceFilter", "SourceStream"]

log = logging.getLogger("dshow_alloc.filters")  # one logger for the whole package
_STOPPED = FilterState.State_Stopped
_PAUSED = FilterState.State_Paused
_RUNNING = FilterState.State_Running


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


class ReceivedPool(MemAllocator):
    """The allocator of a source whose samples come from elsewhere (another process's mapped
    memory, Ray's object store): never filled, it tells downstream the sample size. Its
    statistics are the received samples': ``made`` what `note` counted as made (the
    producer's memory blocks seen here, or the samples received), ``served`` the samples
    delivered, ``waits`` and ``blocked_seconds`` the waits for the producer's next sample."""

    __slots__ = ("_delivered", "_idle", "_made_here", "_stalls")

    def __init__(self, *, name: str) -> None:
        super().__init__(name=name)
        self._made_here = 0
        self._delivered = 0
        self._stalls = 0
        self._idle = 0.0

    def note(self, waited: float | None, made: int = 1) -> None:
        """One sample received and delivered, after a wait of ``waited`` seconds (None: it
        was there already); ``made`` more of the producer's buffers seen."""
        self._made_here += made
        self._delivered += 1
        if waited is not None:
            self._stalls += 1
            self._idle += waited

    @property
    def made(self) -> int:
        """The producer's buffers seen here (see `note`)."""
        return self._made_here

    @property
    def served(self) -> int:
        """Samples received and handed downstream."""
        return self._delivered

    @property
    def waits(self) -> int:
        """Times the streaming thread waited for the producer's next sample."""
        return self._stalls

    @property
    def blocked_seconds(self) -> float:
        """Seconds it waited for them in all."""
        return self._idle


class ReceivingStream(SourceStream):
    """The output pin of a source that delivers samples received from elsewhere, read-only:
    its allocator is a `ReceivedPool` of its own, given to downstream read-only (so an
    in-place filter copies) and sized by downstream's requirements; it is never filled.
    ``received_as`` says, in the allocator's origin, what the samples are."""

    received_as = "received"

    def InitAllocator(self) -> Any:
        """A `ReceivedPool`."""
        return ReceivedPool(name=f"{self._filter.name}.{self.name}")

    def DecideAllocator(self, input_pin: Any) -> Any:
        """A `ReceivedPool`, notified read-only."""
        self.metas, self.last_query = frozenset(), None
        try:
            request = input_pin.GetAllocatorRequirements()
        except Exception:
            request = AllocatorProperties()
        if not isinstance(request, AllocatorProperties):
            request = AllocatorProperties()
        allocator = self.InitAllocator()
        self.DecideBufferSize(allocator, request)
        input_pin.NotifyAllocator(allocator, True)
        self.allocator_origin = f"made by {pin_label(self)} (read-only: {self.received_as})"
        return allocator
