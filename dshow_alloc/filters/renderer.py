"""Renderers: `RendererFilter` (``CBaseRenderer``) and its lateness rule.

A renderer presents each sample at its stream time on the graph clock (unless
``sync=False``), drops samples later than ``max_lateness`` (`VIDEO_MAX_LATENESS` for video),
and sends quality messages upstream.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from zope.interface import implementer

from dshow_alloc.filters.base import BaseFilter, pass_quality
from dshow_alloc.hresult import HRESULT, NotImplError, VfwSampleTimeNotSetError, VfwWrongStateError
from dshow_alloc.mediatype import MediaType, MEDIATYPE_Video
from dshow_alloc.pins import BaseInputPin, BasePin
from dshow_alloc.structs import EC_COMPLETE, FilterState, Quality, QualityMessageType
from interfaces import IQualityControl

__all__ = ["VIDEO_MAX_LATENESS", "RendererFilter"]

log = logging.getLogger("dshow_alloc.filters")  # one logger for the whole package
_STOPPED = FilterState.State_Stopped
_PAUSED = FilterState.State_Paused
_RUNNING = FilterState.State_Running
_S_OK = 0

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
