"""Seeking a source: `SourceSeeking`, DirectShow's ``CSourceSeeking`` for `SourceFilter`\\ s.

A source that can seek mixes `SourceSeeking` in before its base class
(``class MySource(SourceSeeking, SourceFilter)``) and implements two hooks:

- ``seek_duration() -> int | None``: the stream's length (None: not known).
- ``seek_to(position, key_frame) -> int``: move so that the next ``FillBuffer`` calls
  produce the sample containing ``position`` first (or, with ``key_frame``, the key frame at
  or before it), and return where the new segment starts (``position``, or that key frame's
  position). Called with every streaming thread stopped, under the filter lock: when the
  filter leaves Stopped with a start other than 0, and for every ``SetPositions`` that
  moves the start while paused or running.

``FillBuffer`` keeps stamping samples with their *media positions* (a frame 2 s into the
file starts at 2 s). The pin places each one in the segment (`Segment.place`): a sample
that ends before the segment's start is dropped (so positioning is exact however coarse
the source's own seek), one that starts at or after its stop ends the stream, and the rest
are stamped ``(position - start) / rate``: stream time restarts at the segment's start, as
DirectShow's splitters do. The first sample after a seek carries the discontinuity flag,
and each streaming thread sends ``NewSegment(start, stop, rate)`` before its first sample.

A seek while paused or running is the flush of ``IMediaSeeking``'s protocol: BeginFlush on
every connected output pin, each pin's pool set flushing (a thread blocked in ``GetBuffer``
wakes) and its thread joined, ``seek_to``, EndFlush, the pools back, the threads started
again. When ``seek_to`` raises there, no thread is started again: the graph gets
EC_ERRORABORT, end of stream goes downstream after EndFlush, the segment stays the old one
and ``SetPositions`` raises the error. A seek runs under the filter lock, so it never
overlaps the filter's ``Stop``.

``SetPositions`` returns the new segment's start (a key frame's once the source moved) and
stop; ``GetCurrentPosition`` is the start of the last sample delivered, which runs ahead of
what a renderer presents by the samples queued between them (the filter graph's answer,
from its clock, is the one to show a user).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import attrs
from zope.interface import implementer

from dshow_alloc.hresult import FailError, InvalidArgError, NotImplError, VfwSampleTimeNotSetError
from dshow_alloc.pins import error_hresult
from dshow_alloc.structs import (
    EC_ERRORABORT,
    TIME_FORMAT_MEDIA_TIME,
    AM_SEEKING_AbsolutePositioning,
    AM_SEEKING_CanGetCurrentPos,
    AM_SEEKING_CanGetDuration,
    AM_SEEKING_CanGetStopPos,
    AM_SEEKING_CanSeekAbsolute,
    AM_SEEKING_CanSeekBackwards,
    AM_SEEKING_CanSeekForwards,
    AM_SEEKING_IncrementalPositioning,
    AM_SEEKING_NoFlush,
    AM_SEEKING_PositioningBitsMask,
    AM_SEEKING_RelativePositioning,
    AM_SEEKING_ReturnTime,
    AM_SEEKING_SeekToKeyFrame,
    AM_SEEKING_Segment,
    FilterState,
)
from interfaces import IMediaSeeking

__all__ = [
    "DROP",
    "END",
    "KEEP",
    "MAX_TIME",
    "SEEKING_CAPABILITIES",
    "MediaTimeSeeking",
    "Segment",
    "SourceSeeking",
    "check_time_format",
    "frame_containing",
    "resolve_positions",
]

log = logging.getLogger(__name__)

_STOPPED = FilterState.State_Stopped

#: What a source that knows its length can do (``CSourceSeeking``'s default capabilities).
SEEKING_CAPABILITIES = (
    AM_SEEKING_CanSeekAbsolute
    | AM_SEEKING_CanSeekForwards
    | AM_SEEKING_CanSeekBackwards
    | AM_SEEKING_CanGetCurrentPos
    | AM_SEEKING_CanGetStopPos
    | AM_SEEKING_CanGetDuration
)
_KNOWN_FLAGS = (
    AM_SEEKING_PositioningBitsMask
    | AM_SEEKING_SeekToKeyFrame
    | AM_SEEKING_ReturnTime
    | AM_SEEKING_Segment
    | AM_SEEKING_NoFlush
)

#: The stop of a segment that plays to the end, as ``NewSegment`` reports it (DirectShow's
#: MAX_TIME).
MAX_TIME = 2**63 - 1

KEEP, DROP, END = 0, 1, 2
"""What `Segment.place` says of a sample: deliver it, drop it, end the stream before it."""


@attrs.frozen
class Segment:
    """The part of a stream being played: media positions ``start`` to ``stop`` at ``rate``."""

    start: int = 0
    """The position stream time 0 stands for (REFERENCE_TIME)."""
    stop: int | None = None
    """Where the stream ends (None: at its end)."""
    rate: float = 1.0
    """Playback rate: sample times are divided by it."""

    def stream_time(self, position: int) -> int:
        """The stream time of media position ``position`` in this segment."""
        if self.rate == 1.0:
            return position - self.start
        return round((position - self.start) / self.rate)

    def place(self, sample: Any) -> int:
        """Restamp ``sample`` (stamped with media positions) in stream time and return
        `KEEP`; or `DROP` when it ends before ``start``, `END` when it starts at or after
        ``stop``. A sample without a time is kept as it is."""
        try:
            start, stop = sample.GetTime()
        except VfwSampleTimeNotSetError:
            return KEEP
        first = self.start
        if self.stop is not None and start >= self.stop:
            return END
        if start < first and (stop is None or stop <= first):
            return DROP
        sample.SetTime(self.stream_time(start), None if stop is None else self.stream_time(stop))
        return KEEP


def check_time_format(time_format: object) -> None:
    """Raise E_INVALIDARG unless ``time_format`` is ``TIME_FORMAT_MEDIA_TIME``."""
    if time_format != TIME_FORMAT_MEDIA_TIME:
        raise InvalidArgError(
            message=f"only TIME_FORMAT_MEDIA_TIME is supported, not {time_format}"
        )


def frame_containing(position: int, per_second: int, units: int = 1) -> int:
    """The index of the frame that contains ``position`` when frame ``i`` starts at
    ``i * 10_000_000 * units // per_second`` (a video frame at ``per_second/units`` frames/s,
    an audio frame at ``per_second`` Hz): the largest ``i`` whose start is at or before
    ``position`` (0 for a position before the first)."""
    if position <= 0:
        return 0
    # i * S * units // per_second <= position  <=>  i * S * units < (position + 1) * per_second
    return ((position + 1) * per_second - 1) // (10_000_000 * units)


def _check_position(value: Any, what: str) -> int:
    if value.__class__ is not int:
        raise TypeError(f"{what} must be an int REFERENCE_TIME, not {type(value).__name__}")
    return int(value)


def resolve_positions(
    current: int | None,
    current_flags: int,
    stop: int | None,
    stop_flags: int,
    *,
    now: int,
    old_stop: int | None,
    duration: int | None,
) -> tuple[int | None, int | None, bool]:
    """The new start (None: unchanged) and stop, and whether to start at a key frame, for a
    ``SetPositions`` call; checks everything before anything changes.

    Raises:
        TypeError: a position that is not an int (when its mode uses it), flags not ints.
        COMError: E_INVALIDARG for unknown flag bits, incremental positioning of the start,
            a negative position, a start at or past ``duration``, or a stop before the start.
    """
    for flags in (current_flags, stop_flags):
        if flags.__class__ is not int:
            raise TypeError(f"seeking flags must be ints, not {type(flags).__name__}")
        if flags & ~_KNOWN_FLAGS or flags < 0:
            raise InvalidArgError(message=f"unknown seeking flags {flags:#x}")
    mode = current_flags & AM_SEEKING_PositioningBitsMask
    new_start: int | None = None
    if mode == AM_SEEKING_AbsolutePositioning:
        new_start = _check_position(current, "current")
    elif mode == AM_SEEKING_RelativePositioning:
        new_start = now + _check_position(current, "current")
    elif mode == AM_SEEKING_IncrementalPositioning:
        raise InvalidArgError(message="the start cannot be positioned incrementally")
    stop_mode = stop_flags & AM_SEEKING_PositioningBitsMask
    new_stop = old_stop
    base = now if new_start is None else new_start
    if stop_mode == AM_SEEKING_AbsolutePositioning:
        new_stop = _check_position(stop, "stop")
    elif stop_mode == AM_SEEKING_RelativePositioning:
        new_stop = (old_stop if old_stop is not None else (duration or 0)) + _check_position(
            stop, "stop"
        )
    elif stop_mode == AM_SEEKING_IncrementalPositioning:
        new_stop = base + _check_position(stop, "stop")
    if new_start is not None:
        if new_start < 0:
            raise InvalidArgError(message=f"the start position {new_start} is negative")
        if duration is not None and new_start >= duration and new_start > 0:
            raise InvalidArgError(
                message=f"the start position {new_start} is at or past the end ({duration})"
            )
    if new_stop is not None:
        if new_stop < 0:
            raise InvalidArgError(message=f"the stop position {new_stop} is negative")
        if new_stop < base:
            raise InvalidArgError(
                message=f"the stop position {new_stop} is before the start ({base})"
            )
    return new_start, new_stop, bool(current_flags & AM_SEEKING_SeekToKeyFrame)


# The IUnknown methods come from the filter's ComObject base, which follows the mixin.
class MediaTimeSeeking:
    """What every ``IMediaSeeking`` here shares: media time is the only time format, and
    ``CheckCapabilities`` answers from ``GetCapabilities`` (the source's or the graph's)."""

    def GetCapabilities(self) -> int:
        """See `IMediaSeeking.GetCapabilities`."""
        raise NotImplementedError

    def CheckCapabilities(self, capabilities: int) -> int:
        """See `IMediaSeeking.CheckCapabilities`."""
        if capabilities.__class__ is not int or capabilities < 0:
            raise InvalidArgError(message=f"capabilities must be an int >= 0, not {capabilities!r}")
        supported = capabilities & self.GetCapabilities()
        if capabilities and not supported:
            raise FailError(message=f"none of the capabilities {capabilities:#x} is supported")
        return supported

    def IsFormatSupported(self, time_format: object) -> bool:
        """See `IMediaSeeking.IsFormatSupported`."""
        return time_format == TIME_FORMAT_MEDIA_TIME

    def QueryPreferredFormat(self) -> object:
        """See `IMediaSeeking.QueryPreferredFormat`."""
        return TIME_FORMAT_MEDIA_TIME

    def GetTimeFormat(self) -> object:
        """See `IMediaSeeking.GetTimeFormat`."""
        return TIME_FORMAT_MEDIA_TIME

    def IsUsingTimeFormat(self, time_format: object) -> bool:
        """See `IMediaSeeking.IsUsingTimeFormat`."""
        return time_format == TIME_FORMAT_MEDIA_TIME

    def SetTimeFormat(self, time_format: object) -> None:
        """See `IMediaSeeking.SetTimeFormat`."""
        check_time_format(time_format)


@implementer(IMediaSeeking)
class SourceSeeking(MediaTimeSeeking):  # type: ignore[misc]
    """``IMediaSeeking`` for a source filter (see the module docstring). Put it before the
    source base class; implement ``seek_duration`` and ``seek_to``."""

    seeking_capabilities: ClassVar[int] = SEEKING_CAPABILITIES
    """``GetCapabilities``'s answer (without ``CanGetDuration`` when the duration is not
    known)."""

    _segment: Segment = Segment()
    _stale = True  # the source's position is not the segment's start (it left Stopped)
    _key_frame = False  # the start recorded while stopped asks for the key frame before it

    # -- hooks -------------------------------------------------------------------------------

    def seek_duration(self) -> int | None:
        """The stream's duration in REFERENCE_TIME, or None when not known."""
        return None

    def seek_to(self, position: int, key_frame: bool) -> int:
        """Move to ``position`` (see the module docstring); return the segment's start."""
        raise NotImplError(message=f"{type(self).__name__} cannot seek")

    # -- what the pins ask -------------------------------------------------------------------

    @property
    def segment(self) -> Segment:
        """The segment being played (or to be played at the next run)."""
        return self._segment

    def before_streaming(self, pin: Any) -> None:
        """A pin is about to start its streaming thread as the filter leaves Stopped: move
        to the segment's start (once for all the pins), and give the pin the segment. When
        ``seek_to`` raises, the pause fails and the next one tries again."""
        if self._stale:
            segment = self._segment
            if segment.start:
                start = self.seek_to(segment.start, self._key_frame)
                self._segment = attrs.evolve(segment, start=start)
            self._stale = False
        pin.set_segment(self._segment, discontinuity=bool(self._segment.start))

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """After a stop, the next run starts at the segment's start again."""
        if new is _STOPPED:
            self._stale = True
        super().state_changed(old, new)  # type: ignore[misc]

    # -- IMediaSeeking -----------------------------------------------------------------------

    def GetCapabilities(self) -> int:
        """See `IMediaSeeking.GetCapabilities`."""
        capabilities = self.seeking_capabilities
        if self.seek_duration() is None:
            capabilities &= ~AM_SEEKING_CanGetDuration
        return capabilities

    def GetDuration(self) -> int:
        """See `IMediaSeeking.GetDuration`."""
        duration = self.seek_duration()
        if duration is None:
            raise NotImplError(message=f"{type(self).__name__} does not know its duration")
        return duration

    def GetStopPosition(self) -> int:
        """See `IMediaSeeking.GetStopPosition`."""
        stop = self._segment.stop
        return stop if stop is not None else self.GetDuration()

    def GetCurrentPosition(self) -> int:
        """See `IMediaSeeking.GetCurrentPosition`: the start of the last sample delivered
        (the segment's start before any, and while stopped: where the next run starts), as
        a media position."""
        segment = self._segment
        if self._stale or getattr(self, "_state", _STOPPED) is _STOPPED:
            return segment.start
        played = max(0, max((pin.played for pin in self._seeking_pins()), default=0))
        position = segment.start + (played if segment.rate == 1.0 else round(played * segment.rate))
        stop = segment.stop if segment.stop is not None else self.seek_duration()
        return position if stop is None else max(segment.start, min(position, stop))

    def GetPositions(self) -> tuple[int, int]:
        """See `IMediaSeeking.GetPositions`."""
        return self.GetCurrentPosition(), self.GetStopPosition()

    def GetAvailable(self) -> tuple[int, int]:
        """See `IMediaSeeking.GetAvailable`."""
        return 0, self.GetDuration()

    def GetRate(self) -> float:
        """See `IMediaSeeking.GetRate`."""
        return self._segment.rate

    def SetRate(self, rate: float) -> None:
        """See `IMediaSeeking.SetRate`. While paused or running the stream is flushed and
        restarts at the current position at ``rate`` (``CSourceSeeking::ChangeRate``)."""
        if rate.__class__ not in (int, float) or not rate > 0 or rate == float("inf"):
            raise InvalidArgError(message=f"the rate must be > 0, not {rate!r}")
        if not self.GetCapabilities() & AM_SEEKING_CanSeekAbsolute:
            raise NotImplError(message=f"{type(self).__name__} cannot seek")
        with self._filter_lock():
            segment = attrs.evolve(self._segment, rate=float(rate))
            if self._stale or getattr(self, "_state", _STOPPED) is _STOPPED:
                self._segment = segment
            else:
                position = self.GetCurrentPosition()
                self._flush_and_seek(attrs.evolve(segment, start=position), False)

    def GetPreroll(self) -> int:
        """See `IMediaSeeking.GetPreroll`."""
        return 0

    def SetPositions(
        self, current: int | None, current_flags: int, stop: int | None, stop_flags: int
    ) -> tuple[int, int]:
        """See `IMediaSeeking.SetPositions`. Returns the new ``(current, stop)``: the
        segment's actual start (a key frame's, with ``AM_SEEKING_SeekToKeyFrame``, once
        the source has moved; while stopped it moves at the next run) and its stop (the
        duration when none is set, MAX_TIME when neither is known)."""
        if not self.GetCapabilities() & AM_SEEKING_CanSeekAbsolute:
            raise NotImplError(message=f"{type(self).__name__} cannot seek")
        with self._filter_lock():
            start, new_stop, key_frame = resolve_positions(
                current,
                current_flags,
                stop,
                stop_flags,
                now=self.GetCurrentPosition(),
                old_stop=self._segment.stop,
                duration=self.seek_duration(),
            )
            return self.move_to(start, new_stop, key_frame)

    def move_to(self, start: int | None, stop: int | None, key_frame: bool) -> tuple[int, int]:
        """Play from ``start`` (None: leave it; moving only the stop takes effect on the
        running stream without a flush) to ``stop`` (None: the end); positions already
        checked by `resolve_positions`. ``SetPositions`` ends here, and so does the filter
        graph's, which checks positions against the graph's duration: a start at or past
        this source's own end plays nothing (end of stream at once). Returns the new
        ``(current, stop)`` as ``SetPositions`` does."""
        with self._filter_lock():
            segment = self._segment
            if start is None:
                self._segment = attrs.evolve(segment, stop=stop)
                for pin in self._seeking_pins():
                    pin.move_stop(stop)
            elif getattr(self, "_state", _STOPPED) is _STOPPED:
                self._segment = Segment(start, stop, segment.rate)
                self._key_frame = key_frame
                self._stale = True
            else:
                self._flush_and_seek(Segment(start, stop, segment.rate), key_frame)
            new_stop = self._segment.stop
            if new_stop is None:
                duration = self.seek_duration()
                new_stop = MAX_TIME if duration is None else duration
            # The new start itself: the position a moment later depends on the threads.
            current = self.GetCurrentPosition() if start is None else self._segment.start
            return current, new_stop

    # -- the flush ---------------------------------------------------------------------------

    def _filter_lock(self) -> Any:
        lock = getattr(self, "_lock", None)
        return lock if lock is not None else threading.RLock()

    def _seeking_pins(self) -> list[Any]:
        return [
            pin
            for pin in self.output_pins()  # type: ignore[attr-defined]
            if hasattr(pin, "set_segment") and pin.is_connected()
        ]

    def _flush_and_seek(self, segment: Segment, key_frame: bool) -> None:
        """The flush of a seek while paused or running (module docstring). When a step
        fails (``seek_to`` raising: the file is gone), no streaming thread is left
        running: the graph gets EC_ERRORABORT, end of stream goes downstream after the
        flush ends, the segment stays the old one, and the error is raised."""
        pins = self._seeking_pins()
        flushing: list[Any] = []
        try:
            for pin in pins:
                pin.DeliverBeginFlush()
                flushing.append(pin)
            for pin in pins:
                pin.stop_streaming()
            start = self.seek_to(segment.start, key_frame)
            while flushing:
                flushing[0].DeliverEndFlush()
                flushing.pop(0)
        except BaseException as exc:
            self._abort_seek(pins, flushing, exc)
            raise
        self._segment = attrs.evolve(segment, start=start)
        self._stale = False
        for pin in pins:
            pin.set_segment(self._segment, discontinuity=True)
            pin.start_streaming()

    def _abort_seek(self, pins: list[Any], flushing: list[Any], exc: BaseException) -> None:
        for pin in pins:
            pin.stop_streaming()  # a pin whose thread was already stopped: nothing to do
        for pin in flushing:
            try:
                pin.DeliverEndFlush()
            except Exception as error:
                log.debug("%r: EndFlush after a failed seek: %r", pin, error)
        self._stale = True  # the position is unknown: a run from Stopped seeks again
        self.notify_event(EC_ERRORABORT, error_hresult(exc), exc)  # type: ignore[attr-defined]
        for pin in pins:
            try:
                pin.DeliverEndOfStream()
            except Exception as error:
                log.debug("%r: end of stream after a failed seek: %r", pin, error)
