"""The filter graph manager: filters, connections, state for all, clock and events."""

from __future__ import annotations

import collections
import itertools
import logging
import os
import threading
import time
from types import TracebackType
from typing import Any

from zope.interface import implementer

from dshow_alloc import builder
from dshow_alloc.clock import SystemClock
from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    HRESULT,
    AbortError,
    COMError,
    InvalidArgError,
    NotImplError,
    PointerError,
    VfwNotFoundError,
    VfwNotInGraphError,
    VfwNotStoppedError,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.pins import filter_label, free_pins, is_connected
from dshow_alloc.seeking import MediaTimeSeeking, resolve_positions
from dshow_alloc.structs import (
    EC_CLOCK_CHANGED,
    EC_COMPLETE,
    EC_ERRORABORT,
    EC_USERABORT,
    AM_SEEKING_AbsolutePositioning,
    AM_SEEKING_CanSeekAbsolute,
    AM_SEEKING_NoPositioning,
    AM_SEEKING_SeekToKeyFrame,
    FilterState,
    PinDirection,
)
from interfaces import (
    IBaseFilter,
    IGraphBuilder,
    IMediaControl,
    IMediaEvent,
    IMediaEventSink,
    IMediaSeeking,
    IPin,
    IReferenceClock,
)

__all__ = ["FilterGraph"]

log = logging.getLogger(__name__)

_STOPPED = FilterState.State_Stopped
_PAUSED = FilterState.State_Paused
_RUNNING = FilterState.State_Running
#: How far ahead of the clock ``Run`` puts stream time 0 (10 ms, as DirectShow's graph).
RUN_LATENCY = 100_000
_ABORTS = (EC_ERRORABORT, EC_USERABORT)


def _seconds(timeout_ms: int) -> float | None:
    if timeout_ms.__class__ is not int:
        raise TypeError(f"timeout_ms must be an int, not {type(timeout_ms).__name__}")
    return None if timeout_ms < 0 else timeout_ms / 1000


@implementer(IGraphBuilder, IMediaControl, IMediaEvent, IMediaEventSink, IMediaSeeking)
class FilterGraph(MediaTimeSeeking, ComObject):
    """``CLSID_FilterGraph``: build a graph of filters, run it, and hear how it ends.

    The graph's clock is a `SystemClock` unless ``clock`` or ``SetSyncSource`` says
    otherwise (None: no clock, renderers present at once). State changes reach the filters
    downstream first. Use it as a context manager to stop it on the way out.

    ``IMediaSeeking`` answers for the whole graph, as the filter graph manager does: upstream
    of every renderer with a connected input, the first filter providing ``IMediaSeeking``
    (found through input pins and the output pins they connect to) seeks for that path
    (`seeking_sources`). The graph can do what every one of them can (0 when a path has
    none); its duration and stop are the longest; its position is the segment's start plus
    the stream time on the graph's clock (times the rate, never past the stop). A seek
    while running pauses the filters, seeks every source (each flushes its paths), counts
    the renderers' completions afresh (a seek after EC_COMPLETE plays and completes again)
    and runs again with stream time restarting at 0; while paused the same without the
    run, and the next ``Run`` restarts stream time at 0.
    """

    def __init__(self, *, clock: Any = ...) -> None:
        super().__init__()
        self._lock = threading.RLock()  # state changes and graph building
        self._events: collections.deque[tuple[int, Any, Any]] = collections.deque()
        self._event_cond = threading.Condition()  # never held while calling a filter
        self._filters: dict[str, Any] = {}
        self._added: list[tuple[Any, str]] = []  # (filter, what added it): intelligent connect
        self._state = _STOPPED
        self._clock: Any = SystemClock() if clock is ... else clock
        if self._clock is not None and not IReferenceClock.providedBy(self._clock):
            raise TypeError("clock must provide IReferenceClock or be None")
        self._renderers_left = 0
        self._completion: int | None = None
        self._start = 0
        self._paused_at: int | None = None  # clock time of a pause from Running
        self._position_base = 0  # the media position of stream time 0 (the last seek's)

    def __repr__(self) -> str:
        return f"<FilterGraph {self._state.name} filters={list(self._filters)}>"

    def __enter__(self) -> FilterGraph:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.Stop()

    # -- IFilterGraph --------------------------------------------------------------------------

    def _check_stopped(self) -> None:
        if self._state is not _STOPPED:
            raise VfwNotStoppedError(message="stop the graph first")

    def AddFilter(self, filter: Any, name: str | None = None) -> str:
        """See `IFilterGraph.AddFilter`."""
        if filter is None:
            raise PointerError(message="AddFilter needs a filter")
        if not IBaseFilter.providedBy(filter):
            raise TypeError(f"AddFilter takes an IBaseFilter, not {type(filter).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, not {type(name).__name__}")
        with self._lock:
            self._check_stopped()
            if any(other is filter for other in self._filters.values()):
                raise InvalidArgError(message=f"{filter!r} is already in the graph")
            base = name or getattr(filter, "name", None) or type(filter).__name__
            unique, number = base, 0
            while unique in self._filters:
                number += 1
                unique = f"{base} {number:04d}"
            filter.JoinFilterGraph(self, unique)
            try:
                filter.SetSyncSource(self._clock)
            except Exception:
                filter.JoinFilterGraph(None, None)
                raise
            self._filters[unique] = filter
            return unique

    def RemoveFilter(self, filter: Any) -> None:
        """See `IFilterGraph.RemoveFilter`."""
        with self._lock:
            name = self._name_of(filter)
            self._check_stopped()
            for pin in filter.EnumPins():
                if is_connected(pin):
                    pin.ConnectedTo().Disconnect()
                    pin.Disconnect()
            del self._filters[name]
            self._added = [entry for entry in self._added if entry[0] is not filter]
            filter.JoinFilterGraph(None, None)

    def _name_of(self, filter: Any) -> str:
        for name, other in self._filters.items():
            if other is filter:
                return name
        raise VfwNotFoundError(message=f"{filter!r} is not in this graph")

    def EnumFilters(self) -> list[Any]:
        """See `IFilterGraph.EnumFilters`."""
        return list(self._filters.values())

    def FindFilterByName(self, name: str) -> Any:
        """See `IFilterGraph.FindFilterByName`."""
        try:
            return self._filters[name]
        except KeyError:
            raise VfwNotFoundError(message=f"no filter is named {name!r}") from None

    def _check_pin_in_graph(self, pin: Any) -> None:
        if pin is None:
            raise PointerError(message="a pin is None")
        if not IPin.providedBy(pin):
            raise TypeError(f"expected an IPin, not {type(pin).__name__}")
        owner = pin.QueryPinInfo().filter
        if not any(other is owner for other in self._filters.values()):
            raise VfwNotInGraphError(message=f"{pin!r} belongs to a filter outside this graph")

    def ConnectDirect(self, out_pin: Any, in_pin: Any, media_type: MediaType | None = None) -> None:
        """See `IFilterGraph.ConnectDirect`."""
        with self._lock:
            self._check_pin_in_graph(out_pin)
            self._check_pin_in_graph(in_pin)
            out_pin.Connect(in_pin, media_type)

    # -- IGraphBuilder: intelligent connect (dshow_alloc.builder) ------------------------------

    def Connect(self, out_pin: Any, in_pin: Any) -> None:
        """See `IGraphBuilder.Connect`."""
        with self._lock:
            builder.connect(self, out_pin, in_pin)

    def Render(self, out_pin: Any) -> None:
        """See `IGraphBuilder.Render`."""
        with self._lock:
            builder.render(self, out_pin)

    def RenderFile(self, file: str | os.PathLike[str], playlist: None = None) -> None:
        """See `IGraphBuilder.RenderFile`."""
        if playlist is not None:
            raise InvalidArgError(message="RenderFile's playlist is reserved: pass None")
        with self._lock:
            builder.render_file(self, file)

    def added_filters(self) -> list[Any]:
        """The filters in the graph that intelligent connect added (``Connect``, ``Render``,
        ``RenderFile`` or a launch line's ``autoconvert``), in the order it added them."""
        return [filter for filter, _by in self._added]

    def added_by(self, filter: Any) -> str | None:
        """What added ``filter``: ``"Connect"``, ``"Render"``, ``"RenderFile"`` or
        ``"autoconvert"``; None for a filter added with ``AddFilter`` (or not in the graph)."""
        for other, by in self._added:
            if other is filter:
                return by
        return None

    def _add_for(self, filter: Any, name: str, by: str) -> str:
        """``AddFilter`` on behalf of intelligent connect, remembering ``by``."""
        with self._lock:
            unique = self.AddFilter(filter, name)
            self._added.append((filter, by))
            return unique

    def Disconnect(self, pin: Any) -> bool:
        """See `IFilterGraph.Disconnect`."""
        with self._lock:
            self._check_pin_in_graph(pin)
            return bool(pin.Disconnect())

    def SetDefaultSyncSource(self) -> None:
        """See `IFilterGraph.SetDefaultSyncSource`."""
        self.SetSyncSource(SystemClock())

    def connect_chain(self, *filters: Any) -> None:
        """Add the filters not in the graph yet, then connect each one's first unconnected
        output pin to the next one's first unconnected input pin, directly
        (``ConnectDirect``: nothing is inserted between them; ``Connect`` would)."""
        with self._lock:
            for filter in filters:
                if not any(other is filter for other in self._filters.values()):
                    self.AddFilter(filter)
            for upstream, downstream in itertools.pairwise(filters):
                self.ConnectDirect(
                    _free_pin(upstream, PinDirection.PINDIR_OUTPUT),
                    _free_pin(downstream, PinDirection.PINDIR_INPUT),
                )

    # -- clock -------------------------------------------------------------------------------

    def SetSyncSource(self, clock: Any) -> None:
        """Give every filter ``clock`` (None: none); only while stopped."""
        if clock is not None and not IReferenceClock.providedBy(clock):
            raise TypeError(f"SetSyncSource takes an IReferenceClock or None, not {type(clock)}")
        with self._lock:
            self._check_stopped()
            for filter in self._filters.values():
                filter.SetSyncSource(clock)
            self._clock = clock
        self.Notify(EC_CLOCK_CHANGED, 0, 0)

    def GetSyncSource(self) -> Any:
        """The graph's clock, or None."""
        return self._clock

    # -- IMediaControl -------------------------------------------------------------------------

    def _downstream_first(self) -> list[Any]:
        """The filters ordered so that every filter comes before those feeding it."""
        filters = list(self._filters.values())
        ordered: list[Any] = []
        seen: set[int] = set()

        def visit(filter: Any) -> None:
            if id(filter) in seen:
                return
            seen.add(id(filter))
            for pin in filter.EnumPins():
                if pin.QueryDirection() is PinDirection.PINDIR_OUTPUT and is_connected(pin):
                    visit(pin.ConnectedTo().QueryPinInfo().filter)
            ordered.append(filter)

        for filter in filters:
            visit(filter)
        return [filter for filter in ordered if any(filter is f for f in filters)]

    def Pause(self) -> None:
        """See `IMediaControl.Pause`. A live source in the graph produces nothing while
        paused, so its renderers cannot show a first sample: ``get_state_code`` then reports
        VFW_S_CANT_CUE, as Windows' ``GetState`` does, and waits for no renderer."""
        with self._lock:
            self._pause_locked()

    def _pause_locked(self) -> None:
        if self._state is _RUNNING and self._clock is not None:
            self._paused_at = self._clock.GetTime()
        if self._state is _STOPPED:
            self._paused_at = None
            with self._event_cond:
                self._completion = None
                self._renderers_left = sum(map(_is_active_renderer, self._filters.values()))
            self._set_latency()
        try:
            for filter in self._downstream_first():
                filter.Pause()
        except Exception:
            self._stop_all()
            raise
        self._state = _PAUSED

    def Run(self) -> None:
        """See `IMediaControl.Run`. Resuming from a pause keeps stream time where it stood:
        the start time moves on by the time spent paused.

        A graph with no renderer whose input is connected has no end of stream to wait
        for: ``Run`` reports EC_COMPLETE (param1 S_OK, param2 0) at once, so
        ``WaitForCompletion`` returns instead of waiting forever. Its filters run on until
        ``Stop``."""
        with self._lock:
            if self._state is _RUNNING:
                return
            if self._state is _STOPPED:
                self._pause_locked()
            start = 0
            if self._clock is not None:
                now = self._clock.GetTime()
                if self._paused_at is not None:
                    # Resuming: stream time stood still while paused (IMediaFilter::Run).
                    start = self._start + (now - self._paused_at)
                else:
                    start = now + RUN_LATENCY
            self._run_filters(start)
            with self._event_cond:
                unending = self._completion is None and self._renderers_left <= 0
            if unending and not any(map(_is_active_renderer, self._filters.values())):
                self.Notify(EC_COMPLETE, 0, 0)

    def Stop(self) -> None:
        """See `IMediaControl.Stop`."""
        with self._lock:
            first = self._stop_all()
        if first is not None:
            raise first

    def _stop_all(self) -> Exception | None:
        first: Exception | None = None
        for filter in self._downstream_first():
            try:
                filter.Stop()
            except Exception as exc:
                log.debug("stopping %r failed: %r", filter, exc)
                first = first or exc
        self._state = _STOPPED
        return first

    def GetState(self, timeout_ms: int) -> FilterState:
        """See `IMediaControl.GetState` (`get_state_code` also gives the success code)."""
        return self.get_state_code(timeout_ms)[0]

    def get_state_code(self, timeout_ms: int) -> tuple[FilterState, HRESULT]:
        """``GetState`` with the success code Windows returns beside the state (see
        `IMediaFilter.GetState`): paused with a live source, VFW_S_CANT_CUE at once (no
        waiting for renderers, which cannot finish pausing); VFW_S_STATE_INTERMEDIATE when a
        filter has not finished its transition within ``timeout_ms``; else S_OK."""
        seconds = _seconds(timeout_ms)
        state = self._state
        if state is _PAUSED and self._cannot_cue():
            return state, HRESULT.VFW_S_CANT_CUE
        deadline = None if seconds is None else time.monotonic() + seconds
        intermediate = False
        for filter in list(self._filters.values()):
            left = -1 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            with_code = getattr(filter, "get_state_code", None)
            if with_code is None:
                filter.GetState(left)
            elif with_code(left)[1] == HRESULT.VFW_S_STATE_INTERMEDIATE:
                intermediate = True
        code = HRESULT.VFW_S_STATE_INTERMEDIATE if intermediate else HRESULT.S_OK
        return self._state, code

    def _cannot_cue(self) -> bool:
        """Whether a filter answers VFW_S_CANT_CUE (a live source, paused)."""
        for filter in list(self._filters.values()):
            with_code = getattr(filter, "get_state_code", None)
            if with_code is not None and with_code(0)[1] == HRESULT.VFW_S_CANT_CUE:
                return True
        return False

    # -- latency (GStreamer's latency query) ----------------------------------------------------

    def query_latency(self) -> tuple[bool, int, int | None]:
        """The graph's latency, as GStreamer's latency query answers it: ``(live, min,
        max)`` in 100 ns units. Along each path from a source to a renderer with a connected
        input, the filters' ``latency()`` hooks (``(min, max)``; (0, 0) for a filter
        without one) add up, and a max of None (no limit) stays None; where paths meet, and
        over all renderers, the largest min and the smallest max win (every path must be
        able to wait for the slowest). ``live`` is True when a filter on a path is live
        (``is_live``). Without a renderer: ``(False, 0, None)``.

        When the graph leaves Stopped, every filter is told the latency to use
        (``set_latency``): ``min`` when live, else 0; renderers present each sample that
        much after its time, so that a live source's samples, captured whole one frame
        after their time, are not all late."""
        with self._lock:
            renderers = [f for f in self._filters.values() if _is_active_renderer(f)]
            found: dict[int, tuple[bool, int, int | None]] = {}
            paths = [_path_latency(renderer, found, set()) for renderer in renderers]
        if not paths:
            return False, 0, None
        maxima = [high for _live, _low, high in paths if high is not None]
        return (
            any(live for live, _low, _high in paths),
            max(low for _live, low, _high in paths),
            min(maxima) if maxima else None,
        )

    def _set_latency(self) -> None:
        """Tell every filter the latency of the run to come (see `query_latency`)."""
        live, minimum, _maximum = self.query_latency()
        for filter in self._filters.values():
            setter = getattr(filter, "set_latency", None)
            if setter is not None:
                setter(minimum if live else 0)

    # -- IMediaSeeking ------------------------------------------------------------------------

    def seeking_sources(self) -> list[Any] | None:
        """The filters that seek for the graph (each once, in graph order), or None when a
        renderer's path has none (or there is no renderer): see the class docstring."""
        found: list[Any] = []
        renderers = [f for f in self._filters.values() if _is_active_renderer(f)]
        if not renderers:
            return None
        for renderer in renderers:
            stack, seen = [renderer], {id(renderer)}
            while stack:
                filter = stack.pop()
                feeders = [
                    pin.ConnectedTo().QueryPinInfo().filter
                    for pin in filter.EnumPins()
                    if pin.QueryDirection() is PinDirection.PINDIR_INPUT and is_connected(pin)
                ]
                if not feeders:
                    return None  # a source that cannot seek ends this path
                for upstream in feeders:
                    if IMediaSeeking.providedBy(upstream):
                        if not any(upstream is other for other in found):
                            found.append(upstream)
                    elif id(upstream) not in seen:
                        seen.add(id(upstream))
                        stack.append(upstream)
        return found

    def _seekers(self) -> list[Any]:
        """`seeking_sources`, each able to seek; else E_NOTIMPL naming who cannot."""
        seekers = self.seeking_sources()
        if not seekers:
            raise NotImplError(
                message="the graph cannot seek: a renderer has no seekable source upstream"
            )
        for seeker in seekers:
            if not seeker.GetCapabilities() & AM_SEEKING_CanSeekAbsolute:
                raise NotImplError(message=f"the graph cannot seek: {filter_label(seeker)} cannot")
        return seekers

    def GetCapabilities(self) -> int:
        """See `IMediaSeeking.GetCapabilities`: what every seeking source can do."""
        seekers = self.seeking_sources()
        if not seekers:
            return 0
        capabilities = -1
        for seeker in seekers:
            capabilities &= seeker.GetCapabilities()
        return capabilities

    def GetDuration(self) -> int:
        """See `IMediaSeeking.GetDuration`: the longest source's."""
        seekers = self.seeking_sources()
        if not seekers:
            raise NotImplError(message="the graph has no seekable source to ask its duration")
        return int(max(seeker.GetDuration() for seeker in seekers))

    def GetStopPosition(self) -> int:
        """See `IMediaSeeking.GetStopPosition`: the latest source's."""
        seekers = self.seeking_sources()
        if not seekers:
            raise NotImplError(message="the graph has no seekable source to ask its stop")
        return int(max(seeker.GetStopPosition() for seeker in seekers))

    def GetCurrentPosition(self) -> int:
        """See `IMediaSeeking.GetCurrentPosition`: the segment's start plus the stream time
        on the graph's clock (running: now; paused: at the pause; stopped: 0), times the
        rate, never past the stop. Without a clock, the furthest source's position."""
        seekers = self.seeking_sources() or []
        clock = self._clock
        if clock is None:
            if not seekers:
                raise NotImplError(message="the graph has no clock and no seekable source")
            return int(max(seeker.GetCurrentPosition() for seeker in seekers))
        starts = [_segment_start(seeker) for seeker in seekers]
        base = min((s for s in starts if s is not None), default=self._position_base)
        state, start, paused_at = self._state, self._start, self._paused_at
        elapsed = 0
        if state is _RUNNING:
            elapsed = clock.GetTime() - start
        elif state is _PAUSED and paused_at is not None:
            elapsed = paused_at - start
        rate = seekers[0].GetRate() if seekers else 1.0
        position = base + round(max(0, elapsed) * rate)
        try:
            stop = self.GetStopPosition() if seekers else None
        except COMError:
            stop = None
        return position if stop is None else max(base, min(position, stop))

    def GetPositions(self) -> tuple[int, int]:
        """See `IMediaSeeking.GetPositions`."""
        return self.GetCurrentPosition(), self.GetStopPosition()

    def GetAvailable(self) -> tuple[int, int]:
        """See `IMediaSeeking.GetAvailable`."""
        return 0, self.GetDuration()

    def GetRate(self) -> float:
        """See `IMediaSeeking.GetRate`: the sources' (1.0 without any)."""
        seekers = self.seeking_sources()
        return float(seekers[0].GetRate()) if seekers else 1.0

    def GetPreroll(self) -> int:
        """See `IMediaSeeking.GetPreroll`: the longest source's."""
        seekers = self.seeking_sources()
        return max((seeker.GetPreroll() for seeker in seekers), default=0) if seekers else 0

    def SetRate(self, rate: float) -> None:
        """See `IMediaSeeking.SetRate`: every source plays at ``rate`` from its current
        position; while paused or running the graph restarts stream time as a seek does."""
        if rate.__class__ not in (int, float) or not rate > 0 or rate == float("inf"):
            raise InvalidArgError(message=f"the rate must be > 0, not {rate!r}")
        with self._lock:
            seekers = self._seekers()
            self._reposition(lambda: [seeker.SetRate(rate) for seeker in seekers])

    def SetPositions(
        self, current: int | None, current_flags: int, stop: int | None, stop_flags: int
    ) -> tuple[int, int]:
        """See `IMediaSeeking.SetPositions`: every source seeks (class docstring). The
        positions are checked against the graph's (its current position, stop and longest
        duration) and each source's capabilities before anything changes; a source shorter
        than the new start plays nothing. Returns the new ``(current, stop)``: the earliest
        source's start and the latest source's stop."""
        with self._lock:
            seekers = self._seekers()
            try:
                duration: int | None = self.GetDuration()
            except COMError:
                duration = None
            old_stop = _common_stop(seekers)
            start, new_stop, key_frame = resolve_positions(
                current,
                current_flags,
                stop,
                stop_flags,
                now=self.GetCurrentPosition(),
                old_stop=old_stop,
                duration=duration,
            )
            for seeker in seekers:
                if not hasattr(seeker, "move_to"):  # another IMediaSeeking: its own checks
                    resolve_positions(
                        start,
                        AM_SEEKING_NoPositioning
                        if start is None
                        else AM_SEEKING_AbsolutePositioning,
                        new_stop,
                        AM_SEEKING_NoPositioning
                        if new_stop is None
                        else AM_SEEKING_AbsolutePositioning,
                        now=0,
                        old_stop=None,
                        duration=_duration_or_none(seeker),
                    )

            def seek_all() -> list[tuple[int, int]]:
                return [_move(seeker, start, new_stop, key_frame) for seeker in seekers]

            # Only the stop moving: the running streams take it, nothing restarts.
            results = seek_all() if start is None else self._reposition(seek_all)
            current_position = min(result[0] for result in results)
            if start is not None:
                self._position_base = current_position
            return current_position, max(result[1] for result in results)

    def _reposition(self, seek: Any) -> Any:
        """Run ``seek`` (every source moving) as the class docstring says, with the filters
        paused when the graph runs, and return what it returned."""
        state = self._state
        if state is _STOPPED:
            return seek()
        if state is _RUNNING:
            try:
                for filter in self._downstream_first():
                    filter.Pause()
            except Exception:
                self._stop_all()
                raise
        try:
            result = seek()
            # Counted afresh after the flushes: a completion of the old stream cannot
            # arrive any more, and the renderers, paused, report the new one at Run. (A
            # failed seek keeps the EC_ERRORABORT its source reported.)
            with self._event_cond:
                self._completion = None
                self._renderers_left = sum(map(_is_active_renderer, self._filters.values()))
        finally:
            self._paused_at = None  # the next Run restarts stream time at 0
            if state is _RUNNING:
                self._run_filters(0 if self._clock is None else self._clock.GetTime() + RUN_LATENCY)
        return result

    def _run_filters(self, start: int) -> None:
        """Run every filter with stream time 0 at clock time ``start``."""
        self._paused_at = None
        self._start = start
        try:
            for filter in self._downstream_first():
                filter.Run(start)
        except Exception:
            self._stop_all()
            raise
        self._state = _RUNNING

    # -- events --------------------------------------------------------------------------------

    def Notify(self, code: int, param1: Any, param2: Any) -> None:
        """See `IMediaEventSink.Notify`. An EC_COMPLETE naming a filter (a renderer's) is
        counted: the application gets one EC_COMPLETE, param2 0, once every renderer has sent
        one."""
        with self._event_cond:
            if code == EC_COMPLETE and IBaseFilter.providedBy(param2):
                self._renderers_left -= 1
                if self._renderers_left > 0:
                    return
                param2 = 0
            self._events.append((int(code), param1, param2))
            if self._completion is None and (code == EC_COMPLETE or code in _ABORTS):
                self._completion = int(code)
            self._event_cond.notify_all()

    def abort(self) -> None:
        """Report EC_USERABORT (the user ended playback, as closing a video window does)."""
        self.Notify(EC_USERABORT, 0, 0)

    def GetEvent(self, timeout_ms: int) -> tuple[int, Any, Any]:
        """See `IMediaEvent.GetEvent`."""
        seconds = _seconds(timeout_ms)
        with self._event_cond:
            if not self._event_cond.wait_for(lambda: self._events, seconds):
                raise AbortError(message=f"no event within {timeout_ms} ms")
            return self._events.popleft()

    def WaitForCompletion(self, timeout_ms: int) -> int:
        """See `IMediaEvent.WaitForCompletion`."""
        seconds = _seconds(timeout_ms)
        with self._event_cond:
            if not self._event_cond.wait_for(lambda: self._completion is not None, seconds):
                raise AbortError(message=f"the stream did not end within {timeout_ms} ms")
            assert self._completion is not None
            return self._completion

    def events(self) -> list[tuple[int, Any, Any]]:
        """Remove and return every queued event (oldest first), without waiting."""
        with self._event_cond:
            taken, self._events = list(self._events), collections.deque()
            return taken


def _free_pin(filter: Any, direction: PinDirection) -> Any:
    pins = free_pins(filter, direction)
    if pins:
        return pins[0]
    kind = "output" if direction is PinDirection.PINDIR_OUTPUT else "input"
    raise VfwNotFoundError(message=f"{filter!r} has no unconnected {kind} pin")


def _path_latency(
    filter: Any, found: dict[int, tuple[bool, int, int | None]], visiting: set[int]
) -> tuple[bool, int, int | None]:
    """``(live, min, max)`` from the sources up to and including ``filter`` (see
    `FilterGraph.query_latency`); ``found`` memoises, ``visiting`` breaks a loop."""
    key = id(filter)
    if key in found:
        return found[key]
    visiting.add(key)
    hook = getattr(filter, "latency", None)
    low, high = hook() if hook is not None else (0, 0)
    live = bool(getattr(filter, "is_live", False))
    feeders = [
        pin.ConnectedTo().QueryPinInfo().filter
        for pin in filter.EnumPins()
        if pin.QueryDirection() is PinDirection.PINDIR_INPUT and is_connected(pin)
    ]
    upstream = [_path_latency(f, found, visiting) for f in feeders if id(f) not in visiting]
    if upstream:
        live = live or any(up[0] for up in upstream)
        low += max(up[1] for up in upstream)
        maxima = [up[2] for up in upstream if up[2] is not None]
        up_high = min(maxima) if maxima else None
        high = None if high is None or up_high is None else high + up_high
    visiting.discard(key)
    found[key] = (live, low, high)
    return found[key]


def _is_active_renderer(filter: Any) -> bool:
    """A renderer with a connected input pin: the graph waits for its end of stream."""
    return bool(getattr(filter, "is_renderer", False)) and any(
        pin.QueryDirection() is PinDirection.PINDIR_INPUT and is_connected(pin)
        for pin in filter.EnumPins()
    )


def _segment_start(seeker: Any) -> int | None:
    """The start of a `SourceSeeking` source's segment (None for another kind)."""
    segment = getattr(seeker, "segment", None)
    start = getattr(segment, "start", None)
    return start if isinstance(start, int) else None


def _duration_or_none(seeker: Any) -> int | None:
    try:
        return int(seeker.GetDuration())
    except COMError:
        return None


def _common_stop(seekers: list[Any]) -> int | None:
    """The stop set on every source (the latest), or None when one plays to its end."""
    stops: list[int | None] = []
    for seeker in seekers:
        segment = getattr(seeker, "segment", None)
        if segment is not None:
            stops.append(segment.stop)
        else:
            try:
                stops.append(int(seeker.GetStopPosition()))
            except COMError:
                stops.append(None)
    if any(stop is None for stop in stops):
        return None
    return max(stop for stop in stops if stop is not None)


def _move(seeker: Any, start: int | None, stop: int | None, key_frame: bool) -> tuple[int, int]:
    """Move one source to checked absolute positions."""
    move = getattr(seeker, "move_to", None)
    if move is not None:
        result: tuple[int, int] = move(start, stop, key_frame)
        return result
    current_flags = AM_SEEKING_NoPositioning if start is None else AM_SEEKING_AbsolutePositioning
    if key_frame:
        current_flags |= AM_SEEKING_SeekToKeyFrame
    stop_flags = AM_SEEKING_NoPositioning if stop is None else AM_SEEKING_AbsolutePositioning
    result = seeker.SetPositions(start, current_flags, stop, stop_flags)
    return result
