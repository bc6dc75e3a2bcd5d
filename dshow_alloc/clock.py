"""Reference clocks: `SystemClock` (real time) and `ManualClock` (time advanced by hand).

Both provide `IReferenceClock`: ``GetTime`` in REFERENCE_TIME (int, 100 ns units), one-shot
advises (``AdviseTime`` sets a ``threading.Event``) and periodic ones (``AdvisePeriodic``
releases a ``threading.Semaphore`` once per boundary reached). The interface docstrings are the
spec; Wine's ``dlls/quartz/tests/systemclock.c`` pins the same argument checks on Windows.

Advises
-------
Both clocks keep their pending advises in one `_AdviseQueue`: a dict from cookie to advise and
a heap of ``(due, cookie)`` for finding the next one due. Cookies come from a counter and are
never reused, so a cookie that fired or was removed answers ``Unadvise`` with False forever,
and a heap entry whose cookie is no longer in the dict is simply skipped (lazy deletion).

An advise whose time has already come when it is made is signalled at once, on the calling
thread, inside ``AdviseTime``/``AdvisePeriodic`` (Windows' system clock signals such an
advise within milliseconds: ``test_advise`` in the Wine test named above). Events and
semaphores are always signalled outside the clock's lock, so a signal may call back into the
clock.

A periodic advise found due at a time ``now`` that has passed ``n`` of its boundaries is
released ``n`` times at once (``release(n)``) and rescheduled at the first boundary after
``now``. Within one batch, advises are signalled in the order of the time they were due
(the first boundary for a periodic one), ties in the order they were made.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from time import monotonic_ns as _monotonic_ns
from types import TracebackType
from typing import Any

from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.hresult import InvalidArgError
from interfaces import IReferenceClock

__all__ = ["ManualClock", "SystemClock"]

log = logging.getLogger("dshow_alloc.clock")

#: REFERENCE_TIME units per second.
_UNITS_PER_SECOND = 10_000_000

#: The longest the helper thread sleeps at once, in seconds: far-off due times (up to 2**63
#: units, some 29,000 years) would overflow ``Condition.wait``; waking early is harmless.
_MAX_WAIT = 3600.0

#: What a due advise does: ``Event.set`` or ``Semaphore.release``, and how many times.
_Signal = tuple[Callable[..., Any], int]


def _check_time(name: str, value: object) -> int:
    """``value`` as an int REFERENCE_TIME; TypeError for anything else (bool and float too)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int REFERENCE_TIME (100 ns units), not {type(value).__name__}"
        )
    return int(value)


def _check_cookie(cookie: object) -> int:
    if isinstance(cookie, bool) or not isinstance(cookie, int):
        raise TypeError(f"an advise cookie is an int, not {type(cookie).__name__}")
    return int(cookie)


def _method(obj: object, name: str, role: str) -> Callable[..., Any]:
    """The bound method ``obj.name``; TypeError when ``obj`` has none."""
    method: Callable[..., Any] | None = getattr(obj, name, None)
    if not callable(method):
        raise TypeError(f"the {role} must have a {name}() method; {type(obj).__name__} has none")
    return method


def _boundaries(start: int, period: int, now: int) -> int:
    """How many of ``start + k * period`` (k = 0, 1, ...) are <= ``now``."""
    return 0 if now < start else (now - start) // period + 1


def _fire(signals: list[_Signal]) -> list[Exception]:
    """Signal each in order; one that raises does not stop the others. Returns the errors."""
    errors: list[Exception] = []
    for signal, count in signals:
        try:
            if count == 1:
                signal()
            else:
                signal(count)  # Semaphore.release(n): one call for n boundaries
        except Exception as exc:
            errors.append(exc)
    return errors


class _Advise:
    """One pending advise: when it is next due, its period (0: one-shot) and its signal."""

    __slots__ = ("due", "period", "signal")

    def __init__(self, due: int, period: int, signal: Callable[..., Any]) -> None:
        self.due = due
        self.period = period
        self.signal = signal


class _AdviseQueue:
    """The pending advises of one clock, in due order. Not thread-safe: the clock locks it."""

    __slots__ = ("_advises", "_cookies", "_heap")

    def __init__(self) -> None:
        self._advises: dict[int, _Advise] = {}
        # (due, cookie) per pending advise, plus stale entries of removed ones (skipped).
        self._heap: list[tuple[int, int]] = []
        self._cookies = itertools.count(1)

    def __len__(self) -> int:
        return len(self._advises)

    def add(
        self, due: int, period: int, signal: Callable[..., Any], now: int
    ) -> tuple[int, list[_Signal]]:
        """Add an advise; return its cookie and what is due at once (time ``now`` reached).

        A one-shot advise already due is not stored: its cookie is spent at once.
        """
        cookie = next(self._cookies)
        if due > now:
            self._push(cookie, _Advise(due, period, signal))
            return cookie, []
        if not period:
            return cookie, [(signal, 1)]
        passed = _boundaries(due, period, now)
        self._push(cookie, _Advise(due + passed * period, period, signal))
        return cookie, [(signal, passed)]

    def _push(self, cookie: int, advise: _Advise) -> None:
        self._advises[cookie] = advise
        heapq.heappush(self._heap, (advise.due, cookie))

    def remove(self, cookie: int) -> bool:
        """Remove a pending advise; False when no pending advise has ``cookie``."""
        if self._advises.pop(cookie, None) is None:
            return False
        # Keep stale heap entries from piling up when many advises are removed unfired
        # (a renderer that is flushed repeatedly).
        if len(self._heap) > 2 * len(self._advises) + 16:
            self._heap = [(advise.due, key) for key, advise in self._advises.items()]
            heapq.heapify(self._heap)
        return True

    def next_due(self) -> int | None:
        """The earliest due time of the pending advises, or None when there are none."""
        heap, advises = self._heap, self._advises
        while heap and heap[0][1] not in advises:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def take_due(self, now: int) -> list[_Signal]:
        """Remove the one-shot advises due at ``now``, reschedule the periodic ones, and
        return their signals in due order."""
        heap, advises = self._heap, self._advises
        signals: list[_Signal] = []
        while heap and heap[0][0] <= now:
            due, cookie = heapq.heappop(heap)
            advise = advises.get(cookie)
            if advise is None:
                continue  # removed
            if not advise.period:
                del advises[cookie]
                signals.append((advise.signal, 1))
                continue
            passed = _boundaries(due, advise.period, now)
            advise.due = due + passed * advise.period
            heapq.heappush(heap, (advise.due, cookie))
            signals.append((advise.signal, passed))
        return signals

    def clear(self) -> None:
        """Remove every advise (cookies are still never reused)."""
        self._advises.clear()
        self._heap.clear()


def _advise_time_args(base_time: object, stream_time: object, event: object) -> tuple[int, Any]:
    """Check `IReferenceClock.AdviseTime`'s arguments; return the due time and ``event.set``."""
    base = _check_time("base_time", base_time)
    stream = _check_time("stream_time", stream_time)
    signal = _method(event, "set", "event")
    if base + stream <= 0:
        raise InvalidArgError(
            message=f"AdviseTime: base_time + stream_time must be > 0, not {base + stream}"
        )
    return base + stream, signal


def _advise_periodic_args(
    start_time: object, period_time: object, semaphore: object
) -> tuple[int, int, Any]:
    """Check `IReferenceClock.AdvisePeriodic`'s arguments; return them and ``release``."""
    start = _check_time("start_time", start_time)
    period = _check_time("period_time", period_time)
    signal = _method(semaphore, "release", "semaphore")
    if start <= 0 or period <= 0:
        raise InvalidArgError(
            message=f"AdvisePeriodic: start_time and period_time must be > 0, "
            f"not {start} and {period}"
        )
    return start, period, signal


@implementer(IReferenceClock)
class SystemClock(ComObject):
    """``CLSID_SystemClock``: real time, ``time.monotonic_ns() // 100``. See `IReferenceClock`.

    Advises are signalled by one helper thread per clock (named ``SystemClock-advise``, a
    daemon), which runs only while advises are pending: the first advise starts it, and it
    ends by itself when none is left (all fired or removed). It sleeps on a condition until
    the nearest due time; an earlier advise or an ``Unadvise`` wakes it. It never signals
    early; how late it signals depends on the OS scheduler and the GIL. An error raised by a
    signal is logged on the ``dshow_alloc.clock`` logger.

    The helper thread keeps the clock alive while advises are pending: ``close()`` (or
    ``with SystemClock() as clock:``, or the final ``Release``) removes them all and joins it.
    """

    __slots__ = ("_cond", "_queue", "_running", "_thread", "_wake_at")

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition(self._mutex)
        self._queue = _AdviseQueue()
        self._thread: threading.Thread | None = None  # the latest helper, running or ended
        self._running = False  # the latest helper still looks at the queue
        self._wake_at: int | None = None  # the due time the helper sleeps until, if asleep

    def __repr__(self) -> str:
        helper = "running" if self._running else "stopped"
        return f"<SystemClock time={self.GetTime()} pending={len(self._queue)} helper={helper}>"

    def __enter__(self) -> SystemClock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def GetTime(self) -> int:
        """See `IReferenceClock.GetTime`."""
        # Hot path (renderers call it per sample): no lock and no state. time.monotonic_ns
        # cannot go backwards (PEP 418; one system-wide clock, so not across threads either),
        # and floor division by 100 keeps that order, so the result is monotonic by itself.
        # A "last value" guard would need a lock to be correct, and guard against nothing.
        return _monotonic_ns() // 100

    def AdviseTime(self, base_time: int, stream_time: int, event: threading.Event) -> int:
        """See `IReferenceClock.AdviseTime`. A time already reached sets ``event`` at once,
        on the calling thread."""
        due, signal = _advise_time_args(base_time, stream_time, event)
        return self._add(due, 0, signal)

    def AdvisePeriodic(
        self, start_time: int, period_time: int, semaphore: threading.Semaphore
    ) -> int:
        """See `IReferenceClock.AdvisePeriodic`. Boundaries already reached are released at
        once, on the calling thread."""
        start, period, signal = _advise_periodic_args(start_time, period_time, semaphore)
        return self._add(start, period, signal)

    def Unadvise(self, cookie: int) -> bool:
        """See `IReferenceClock.Unadvise`."""
        key = _check_cookie(cookie)
        with self._cond:
            if not self._queue.remove(key):
                return False
            self._cond.notify()  # the helper re-plans, and ends if nothing is left
        return True

    def pending(self) -> int:
        """The number of advises pending (not yet fired, or periodic, and not removed)."""
        return len(self._queue)

    def close(self) -> None:
        """Remove every pending advise and wait for the helper thread to end (after the
        signal it may be delivering). Idempotent; the clock stays usable (a later advise
        starts a new helper). Called from a signal on the helper thread, it does not wait."""
        with self._cond:
            self._queue.clear()
            thread = self._thread
            self._cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _final_release(self) -> None:
        self.close()

    def _add(self, due: int, period: int, signal: Callable[..., Any]) -> int:
        with self._cond:
            cookie, signals = self._queue.add(due, period, signal, self.GetTime())
            if len(self._queue) and not self._running:
                try:
                    self._start_helper()
                except BaseException:
                    self._queue.remove(cookie)  # a failed call changes nothing
                    raise
            elif self._wake_at is not None and due < self._wake_at:
                self._cond.notify()  # due before the helper would wake: re-plan
        errors = _fire(signals)
        if errors:
            raise errors[0]
        return cookie

    def _start_helper(self) -> None:
        """Start a helper thread (lock held). It joins the previous one first, so joining
        the latest helper joins them all."""
        thread = threading.Thread(
            target=self._run, args=(self._thread,), name="SystemClock-advise", daemon=True
        )
        thread.start()
        self._thread = thread
        self._running = True

    def _run(self, previous: threading.Thread | None) -> None:
        """The helper thread: signal advises as they come due; end when none is pending."""
        if previous is not None:
            previous.join()
        cond, queue = self._cond, self._queue
        while True:
            with cond:
                while True:
                    if not len(queue):
                        self._running = False
                        self._wake_at = None
                        return
                    now = self.GetTime()
                    signals = queue.take_due(now)
                    if signals:
                        self._wake_at = None
                        break
                    wake_at = queue.next_due()
                    assert wake_at is not None  # the queue is not empty
                    self._wake_at = wake_at
                    # A wait that ends early (a timeout rounded down, a notify) just loops:
                    # nothing is signalled before GetTime() reaches its due time.
                    cond.wait(min((wake_at - now) / _UNITS_PER_SECOND, _MAX_WAIT))
            self._fire_logged(signals)
            del signals  # hold no event or semaphore while asleep

    @staticmethod
    def _fire_logged(signals: list[_Signal]) -> None:
        """Signal, on the helper thread, where an error has no caller to go to: log it."""
        for error in _fire(signals):
            log.error("a SystemClock advise signal raised", exc_info=error)


@implementer(IReferenceClock)
class ManualClock(ComObject):
    """A clock that moves only when told to (`advance`, `set_time`), for deterministic tests.

    Like Twisted's ``task.Clock``: no thread and no real time. Advises due are signalled
    synchronously on the thread that moves the clock (or inside ``AdviseTime`` when its time
    has already come), in the order they fall due, outside the clock's lock. Safe to share
    between threads; with several threads moving the clock at once, each call signals its own
    batch in order.
    """

    __slots__ = ("_queue", "_time")

    def __init__(self, start: int = 1) -> None:
        super().__init__()
        now = _check_time("start", start)
        if now < 0:
            raise ValueError(f"start must be >= 0, not {now}")
        self._time = now
        self._queue = _AdviseQueue()

    def __repr__(self) -> str:
        return f"<ManualClock time={self._time} pending={len(self._queue)}>"

    def GetTime(self) -> int:
        """See `IReferenceClock.GetTime`."""
        return self._time  # one read of an int that only ever grows (under the lock)

    def AdviseTime(self, base_time: int, stream_time: int, event: threading.Event) -> int:
        """See `IReferenceClock.AdviseTime`. A time already reached sets ``event`` at once."""
        due, signal = _advise_time_args(base_time, stream_time, event)
        return self._add(due, 0, signal)

    def AdvisePeriodic(
        self, start_time: int, period_time: int, semaphore: threading.Semaphore
    ) -> int:
        """See `IReferenceClock.AdvisePeriodic`. Boundaries already reached are released at
        once."""
        start, period, signal = _advise_periodic_args(start_time, period_time, semaphore)
        return self._add(start, period, signal)

    def Unadvise(self, cookie: int) -> bool:
        """See `IReferenceClock.Unadvise`."""
        key = _check_cookie(cookie)
        with self._mutex:
            return self._queue.remove(key)

    def advance(self, delta: int) -> int:
        """Move the clock ``delta`` (>= 0) units forward, signal what fell due, and return
        the new time. Raises the first error a signal raised, after signalling the rest."""
        step = _check_time("delta", delta)
        if step < 0:
            raise ValueError(f"a ManualClock never goes backwards: delta {step} < 0")
        with self._mutex:
            self._time += step
            now = self._time
            signals = self._queue.take_due(now)
        self._signal(signals)
        return now

    def set_time(self, time: int) -> int:
        """Move the clock to ``time`` (not before the current time: ValueError), signal what
        fell due, and return ``time``. Errors from signals as for `advance`."""
        now = _check_time("time", time)
        with self._mutex:
            if now < self._time:
                raise ValueError(f"a ManualClock never goes backwards: {now} < {self._time}")
            self._time = now
            signals = self._queue.take_due(now)
        self._signal(signals)
        return now

    def pending(self) -> int:
        """The number of advises pending (not yet fired, or periodic, and not removed)."""
        return len(self._queue)

    def _final_release(self) -> None:
        with self._mutex:
            self._queue.clear()

    def _add(self, due: int, period: int, signal: Callable[..., Any]) -> int:
        with self._mutex:
            cookie, signals = self._queue.add(due, period, signal, self._time)
        self._signal(signals)
        return cookie

    @staticmethod
    def _signal(signals: list[_Signal]) -> None:
        errors = _fire(signals)
        if errors:
            raise errors[0]
