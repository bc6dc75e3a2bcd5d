"""`ReferenceClockContract`: the behaviour every `IReferenceClock` promises, as a pytest suite.

Subclass it and define ``make_clock()``; every test then runs against your clock::

    from dshow_alloc.testing import ReferenceClockContract

    class TestMyClock(ReferenceClockContract):
        def make_clock(self):
            return MyClock()

The suite moves time with `advance_to`, which by default waits in real time until the clock
reaches the target (for a clock that runs by itself); a clock moved by hand overrides it::

    class TestMyManualClock(ReferenceClockContract):
        def make_clock(self):
            return MyManualClock()

        def advance_to(self, clock, target):
            clock.set_time(max(target, clock.GetTime()))

The rules are the `IReferenceClock` docstrings (REFERENCE_TIME is an int in 100 ns units,
never a float); the argument checks are the ones Windows' system clock makes in
Wine's ``dlls/quartz/tests/systemclock.c`` (``test_advise``). No test asserts how *soon* a
real-time clock signals, only that it does within `SIGNAL_TIMEOUT` seconds and never before
its time. Each test removes the advises it left pending (``Unadvise``), so a clock whose
helper threads run only while advises are pending leaves none behind.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from dshow_alloc.hresult import HRESULT, InvalidArgError, NoInterfaceError
from dshow_alloc.testing.checks import assert_query_interface, raises_hresult
from interfaces import IMediaSample, IReferenceClock, IUnknown

__all__ = ["RecordingEvent", "ReferenceClockContract", "boundaries_reached"]

#: How long (seconds) a test waits for a signal, or for a clock to reach a time, before it
#: calls the test failed. Generous: it bounds a failure, it does not measure speed.
SIGNAL_TIMEOUT = 10.0

#: REFERENCE_TIME units per millisecond.
MS = 10_000


def boundaries_reached(start: int, period: int, now: int) -> int:
    """How many of the periodic boundaries ``start + k * period`` (k = 0, 1, ...) are <= now."""
    return 0 if now < start else (now - start) // period + 1


class RecordingEvent(threading.Event):
    """A ``threading.Event`` whose ``set`` also appends ``name`` to a shared list, in order."""

    def __init__(self, name: str, record: list[str]) -> None:
        super().__init__()
        self.name = name
        self._record = record

    def set(self) -> None:
        """Record the call, then set the event."""
        self._record.append(self.name)  # list.append is atomic: safe from any thread
        super().set()


def drain(semaphore: threading.Semaphore) -> int:
    """Acquire ``semaphore`` without blocking until it is 0; return how many times it gave."""
    count = 0
    while semaphore.acquire(blocking=False):
        count += 1
    return count


class ReferenceClockContract:
    """Tests every `IReferenceClock` implementation must pass.

    Define `make_clock`; override `advance_to` for a clock that does not run by itself, and
    `close_clock` for one that must be shut down. `step` is the time (100 ns units) a test
    waits for an advise that should fire; `far` is a time no test reaches, for advises that
    must stay pending.
    """

    #: A short time ahead (20 ms), for advises the test waits for.
    step: int = 20 * MS
    #: A time ahead that no test reaches (1000 s), for advises that must stay pending.
    far: int = 1_000_000 * MS

    def make_clock(self) -> IReferenceClock:
        """A fresh clock whose time is > 0 (advise times must be)."""
        raise NotImplementedError("subclasses of ReferenceClockContract define make_clock")

    def advance_to(self, clock: Any, target: int) -> None:
        """Return once ``clock.GetTime() >= target``. The default waits in real time."""
        deadline = time.monotonic() + SIGNAL_TIMEOUT
        while (now := clock.GetTime()) < target:
            assert time.monotonic() < deadline, f"the clock did not reach {target} (at {now})"
            time.sleep(min((target - now) / 10_000_000, 0.01))

    def close_clock(self, clock: Any) -> None:
        """Shut ``clock`` down at the end of the test (its advises are already removed)."""

    # -- helpers ---------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _remove_advises(self) -> Iterator[None]:
        self._clocks: list[Any] = []
        self._cookies: list[tuple[Any, int]] = []
        yield
        for clock, cookie in self._cookies:
            clock.Unadvise(cookie)
        for clock in self._clocks:
            self.close_clock(clock)

    def clock(self) -> Any:
        """A fresh clock from `make_clock`, cleaned up when the test ends."""
        clock = self.make_clock()
        self._clocks.append(clock)
        now = clock.GetTime()
        assert now > 0, f"the contract needs a clock whose time is > 0, not {now}"
        return clock

    def advise_time(self, clock: Any, base_time: int, stream_time: int, event: Any) -> int:
        """``clock.AdviseTime``, the advise removed at the end of the test if still pending."""
        cookie: int = clock.AdviseTime(base_time, stream_time, event)
        self._cookies.append((clock, cookie))
        return cookie

    def advise_periodic(self, clock: Any, start_time: int, period_time: int, sem: Any) -> int:
        """``clock.AdvisePeriodic``, the advise removed at the end of the test."""
        cookie: int = clock.AdvisePeriodic(start_time, period_time, sem)
        self._cookies.append((clock, cookie))
        return cookie

    def past(self, clock: Any, before: int) -> int:
        """The clock's time, first moved on (if need be) so that ``now - before`` is > 0."""
        if clock.GetTime() <= before:
            self.advance_to(clock, before + 1)
        now: int = clock.GetTime()
        return now

    @staticmethod
    def acquire(semaphore: threading.Semaphore, times: int) -> None:
        """Acquire ``semaphore`` ``times`` times, each within `SIGNAL_TIMEOUT`."""
        for index in range(times):
            assert semaphore.acquire(timeout=SIGNAL_TIMEOUT), f"release {index + 1} never came"

    @staticmethod
    def assert_not_early(event: threading.Event, clock: Any, due: int) -> None:
        """If ``event`` is set, the clock has reached ``due`` (read in this order, so a clock
        that is still running cannot make the check fail)."""
        fired = event.is_set()
        now = clock.GetTime()
        assert not fired or now >= due, f"signalled at {now}, before its time {due}"

    @staticmethod
    def wait_collected(ref: weakref.ref[Any]) -> None:
        """Wait until the object behind ``ref`` is garbage (a helper thread may hold it a
        moment after it fired)."""
        deadline = time.monotonic() + SIGNAL_TIMEOUT
        while ref() is not None:
            assert time.monotonic() < deadline, "the clock still holds the event"
            gc.collect()
            time.sleep(0.001)

    # -- identity and GetTime --------------------------------------------------------------

    def test_verify_object(self) -> None:
        """The clock provides IReferenceClock with every method."""
        assert verifyObject(IReferenceClock, self.clock())

    @pytest.mark.parametrize("iface", [IUnknown, IReferenceClock])
    def test_query_interface(self, iface: Any) -> None:
        """QueryInterface for IUnknown/IReferenceClock (or its IID) returns the clock itself
        and leaves the count alone."""
        assert_query_interface(self.clock(), iface)

    def test_query_interface_unrelated(self) -> None:
        """QueryInterface for IMediaSample is E_NOINTERFACE."""
        with raises_hresult(NoInterfaceError, HRESULT.E_NOINTERFACE):
            self.clock().QueryInterface(IMediaSample)

    def test_get_time_is_an_int(self) -> None:
        """GetTime returns an int (never a float or a bool)."""
        now = self.clock().GetTime()
        assert type(now) is int

    def test_get_time_is_monotonic(self) -> None:
        """Successive GetTime calls never decrease, also across a move of the clock."""
        clock = self.clock()
        times = [clock.GetTime() for _ in range(1000)]
        self.advance_to(clock, times[-1] + self.step)
        times += [clock.GetTime() for _ in range(1000)]
        assert times == sorted(times)
        assert times[-1] >= times[0] + self.step

    @pytest.mark.timeout(30)
    def test_get_time_is_monotonic_across_threads(self) -> None:
        """GetTime never decreases, whichever thread reads it, in the order of the reads."""
        clock = self.clock()
        order = threading.Lock()
        last = [clock.GetTime()]
        errors: list[str] = []

        def read() -> None:
            for _ in range(2000):
                with order:  # serialises the reads: each must be >= the one before
                    now = clock.GetTime()
                    if now < last[0]:
                        errors.append(f"{now} after {last[0]}")
                    last[0] = now

        threads = [threading.Thread(target=read, name=f"clock-reader-{n}") for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

    # -- AdviseTime ------------------------------------------------------------------------

    @pytest.mark.parametrize("split", ["base", "stream", "both", "negative-stream"])
    def test_advise_time_reached_fires(self, split: str) -> None:
        """An AdviseTime whose time has been reached sets the event, however the time is split
        between base_time and stream_time; its cookie is a positive int that Unadvise no
        longer knows."""
        clock = self.clock()
        now = self.past(clock, 1000)
        base, stream = {
            "base": (now, 0),
            "stream": (0, now),
            "both": (now - 1000, 1000),
            "negative-stream": (now + 1000, -1000),
        }[split]
        event = threading.Event()
        cookie = self.advise_time(clock, base, stream, event)
        assert type(cookie) is int
        assert cookie > 0
        assert event.wait(SIGNAL_TIMEOUT)
        assert clock.Unadvise(cookie) is False

    def test_advise_time_fires_at_its_time_not_before(self) -> None:
        """An AdviseTime a step ahead is not set before the clock reaches its time, and is
        set once it has."""
        clock = self.clock()
        now = clock.GetTime()
        due = now + self.step
        event = threading.Event()
        cookie = self.advise_time(clock, now, self.step, event)
        self.assert_not_early(event, clock, due)
        self.advance_to(clock, due - 1)
        self.assert_not_early(event, clock, due)
        self.advance_to(clock, due)
        assert event.wait(SIGNAL_TIMEOUT)
        assert clock.GetTime() >= due
        assert clock.Unadvise(cookie) is False

    def test_advise_time_pending_until_unadvised(self) -> None:
        """A far AdviseTime stays pending: Unadvise removes it (True), then knows it no more
        (False), and the event is never set."""
        clock = self.clock()
        event = threading.Event()
        cookie = self.advise_time(clock, clock.GetTime(), self.far, event)
        assert not event.is_set()
        assert clock.Unadvise(cookie) is True
        assert clock.Unadvise(cookie) is False
        assert not event.is_set()

    def test_earlier_advise_added_later_fires_first(self) -> None:
        """An advise due before one already pending fires at its own time; the later one
        stays pending."""
        clock = self.clock()
        late, early = threading.Event(), threading.Event()
        now = clock.GetTime()
        late_cookie = self.advise_time(clock, now, self.far, late)
        early_cookie = self.advise_time(clock, now, self.step, early)
        self.advance_to(clock, now + self.step)
        assert early.wait(SIGNAL_TIMEOUT)
        assert not late.is_set()
        assert clock.Unadvise(early_cookie) is False
        assert clock.Unadvise(late_cookie) is True

    def test_advises_fire_in_time_order(self) -> None:
        """Advises made out of order are signalled in the order of their times."""
        clock = self.clock()
        record: list[str] = []
        now = clock.GetTime()
        events = [RecordingEvent(name, record) for name in ("third", "first", "second")]
        for event, steps in zip(events, (3, 1, 2), strict=True):
            self.advise_time(clock, now, steps * self.step, event)
        self.advance_to(clock, now + 3 * self.step)
        for event in events:
            assert event.wait(SIGNAL_TIMEOUT)
        assert record == ["first", "second", "third"]

    def test_unadvise_one_of_several(self) -> None:
        """Unadvising one advise leaves the others to fire."""
        clock = self.clock()
        now = clock.GetTime()
        kept, removed = threading.Event(), threading.Event()
        removed_cookie = self.advise_time(clock, now, self.step, removed)
        self.advise_time(clock, now, 2 * self.step, kept)
        assert clock.Unadvise(removed_cookie) is True
        self.advance_to(clock, now + 2 * self.step)
        assert kept.wait(SIGNAL_TIMEOUT)
        assert not removed.is_set()

    # -- cookies and Unadvise --------------------------------------------------------------

    def test_cookies_are_distinct_positive_ints(self) -> None:
        """Cookies of pending advises, one-shot and periodic, are distinct positive ints."""
        clock = self.clock()
        now = clock.GetTime()
        cookies = [self.advise_time(clock, now, self.far + n, threading.Event()) for n in range(5)]
        cookies += [
            self.advise_periodic(clock, now + self.far, self.step, threading.Semaphore(0))
            for _ in range(3)
        ]
        assert all(type(cookie) is int and cookie > 0 for cookie in cookies)
        assert len(set(cookies)) == 8
        assert [clock.Unadvise(cookie) for cookie in cookies] == [True] * 8

    @pytest.mark.parametrize("cookie", [0, -1, 1, 2, 12345678, 2**64])
    def test_unadvise_unknown_cookie(self, cookie: int) -> None:
        """Unadvise of a cookie no pending advise has returns False (S_FALSE)."""
        assert self.clock().Unadvise(cookie) is False

    @pytest.mark.timeout(30)
    def test_advise_from_many_threads(self) -> None:
        """Advises made from several threads at once get distinct cookies, all removable."""
        clock = self.clock()
        now = clock.GetTime()
        cookies: list[int] = []
        start = threading.Barrier(4)

        def advise() -> None:
            start.wait(SIGNAL_TIMEOUT)
            for n in range(100):
                cookies.append(clock.AdviseTime(now, self.far + n, threading.Event()))

        threads = [threading.Thread(target=advise, name=f"clock-adviser-{n}") for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._cookies += [(clock, cookie) for cookie in cookies]
        assert len(set(cookies)) == 400
        assert all(clock.Unadvise(cookie) is True for cookie in cookies)

    # -- AdvisePeriodic --------------------------------------------------------------------

    def test_periodic_releases_once_per_boundary(self) -> None:
        """AdvisePeriodic releases once at start_time and once per period after it, never
        for a boundary not yet reached, and never again after Unadvise."""
        clock = self.clock()
        semaphore = threading.Semaphore(0)
        start, period = clock.GetTime() + self.step, self.step
        cookie = self.advise_periodic(clock, start, period, semaphore)
        self.advance_to(clock, start)
        self.acquire(semaphore, 1)
        self.advance_to(clock, start + 2 * period)
        self.acquire(semaphore, 2)
        assert clock.Unadvise(cookie) is True
        extra = drain(semaphore)
        assert 3 + extra <= boundaries_reached(start, period, clock.GetTime())
        self.advance_to(clock, clock.GetTime() + 2 * period)
        assert drain(semaphore) == 0
        assert clock.Unadvise(cookie) is False

    def test_periodic_jump_releases_for_each_boundary(self) -> None:
        """A clock that passes several boundaries at once releases once for each."""
        clock = self.clock()
        semaphore = threading.Semaphore(0)
        start, period = clock.GetTime() + self.step, self.step
        cookie = self.advise_periodic(clock, start, period, semaphore)
        self.advance_to(clock, start + 3 * period)
        self.acquire(semaphore, 4)
        assert clock.Unadvise(cookie) is True
        extra = drain(semaphore)
        assert 4 + extra <= boundaries_reached(start, period, clock.GetTime())

    def test_periodic_start_in_the_past(self) -> None:
        """A periodic advise whose start has passed releases at once for every boundary
        already reached."""
        clock = self.clock()
        period = self.step
        now = self.past(clock, 3 * period)
        semaphore = threading.Semaphore(0)
        start = now - 3 * period
        cookie = self.advise_periodic(clock, start, period, semaphore)
        self.acquire(semaphore, 4)
        assert clock.Unadvise(cookie) is True
        extra = drain(semaphore)
        assert 4 + extra <= boundaries_reached(start, period, clock.GetTime())

    # -- references ------------------------------------------------------------------------

    def test_unadvise_drops_the_event(self) -> None:
        """After Unadvise the clock holds no reference to the event or semaphore."""
        clock = self.clock()
        event, semaphore = threading.Event(), threading.Semaphore(0)
        now = clock.GetTime()
        event_ref, semaphore_ref = weakref.ref(event), weakref.ref(semaphore)
        one_shot = self.advise_time(clock, now, self.far, event)
        periodic = self.advise_periodic(clock, now + self.far, self.step, semaphore)
        del event, semaphore
        gc.collect()
        assert event_ref() is not None, "the clock must hold the event while pending"
        assert semaphore_ref() is not None, "the clock must hold the semaphore while pending"
        assert clock.Unadvise(one_shot) is True
        assert clock.Unadvise(periodic) is True
        self.wait_collected(event_ref)
        self.wait_collected(semaphore_ref)

    def test_fired_advise_drops_the_event(self) -> None:
        """After a one-shot advise fired the clock holds no reference to its event."""
        clock = self.clock()
        event = threading.Event()
        now = clock.GetTime()
        self.advise_time(clock, now, self.step, event)
        self.advance_to(clock, now + self.step)
        assert event.wait(SIGNAL_TIMEOUT)
        event_ref = weakref.ref(event)
        del event
        self.wait_collected(event_ref)

    # -- bad arguments ---------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("base_time", "stream_time"),
        [(0, 0), (-1, 1), (5, -5), (-10, 0), (0, -1), (10, -11), (-(2**63), 0)],
    )
    def test_advise_time_not_positive(self, base_time: int, stream_time: int) -> None:
        """AdviseTime with base_time + stream_time <= 0 is E_INVALIDARG (also a ValueError)
        and changes nothing."""
        clock = self.clock()
        event = threading.Event()
        with raises_hresult(InvalidArgError, HRESULT.E_INVALIDARG):
            clock.AdviseTime(base_time, stream_time, event)
        with pytest.raises(ValueError):
            clock.AdviseTime(base_time, stream_time, event)
        assert not event.is_set()

    @pytest.mark.parametrize(
        ("start_time", "period_time"),
        [("zero-start", 1), ("negative-start", 1), ("now", 0), ("now", -1), ("zero-start", 0)],
    )
    def test_advise_periodic_not_positive(self, start_time: str, period_time: int) -> None:
        """AdvisePeriodic with start_time <= 0 or period_time <= 0 is E_INVALIDARG (also a
        ValueError) and releases nothing."""
        clock = self.clock()
        start = {"zero-start": 0, "negative-start": -clock.GetTime(), "now": clock.GetTime()}[
            start_time
        ]
        semaphore = threading.Semaphore(0)
        with raises_hresult(InvalidArgError, HRESULT.E_INVALIDARG):
            clock.AdvisePeriodic(start, period_time * self.step, semaphore)
        with pytest.raises(ValueError):
            clock.AdvisePeriodic(start, period_time * self.step, semaphore)
        assert drain(semaphore) == 0

    @pytest.mark.parametrize(
        "bad", [1.0, 0.5, True, None, "1"], ids=["1.0", "0.5", "True", "None", "str"]
    )
    @pytest.mark.parametrize("position", [0, 1])
    def test_advise_time_non_int_time(self, bad: object, position: int) -> None:
        """A time that is not an int (a float, a bool, None, a str) is a TypeError."""
        clock = self.clock()
        event = threading.Event()
        args: list[object] = [clock.GetTime(), self.step]
        args[position] = bad
        with pytest.raises(TypeError):
            clock.AdviseTime(*args, event)
        assert not event.is_set()

    @pytest.mark.parametrize(
        "bad", [1.0, 0.5, True, None, "1"], ids=["1.0", "0.5", "True", "None", "str"]
    )
    @pytest.mark.parametrize("position", [0, 1])
    def test_advise_periodic_non_int_time(self, bad: object, position: int) -> None:
        """A start or period that is not an int is a TypeError."""
        clock = self.clock()
        semaphore = threading.Semaphore(0)
        args: list[object] = [clock.GetTime(), self.step]
        args[position] = bad
        with pytest.raises(TypeError):
            clock.AdvisePeriodic(*args, semaphore)
        assert drain(semaphore) == 0

    @pytest.mark.parametrize(
        "event", [None, object(), threading.Semaphore(0), 1], ids=["None", "object", "sem", "int"]
    )
    def test_advise_time_needs_an_event(self, event: object) -> None:
        """AdviseTime with something that has no set() is a TypeError, even when due."""
        clock = self.clock()
        with pytest.raises(TypeError):
            clock.AdviseTime(clock.GetTime(), 0, event)

    @pytest.mark.parametrize(
        "semaphore", [None, object(), threading.Event(), 1], ids=["None", "object", "event", "int"]
    )
    def test_advise_periodic_needs_a_semaphore(self, semaphore: object) -> None:
        """AdvisePeriodic with something that has no release() is a TypeError, even when
        due."""
        clock = self.clock()
        with pytest.raises(TypeError):
            clock.AdvisePeriodic(clock.GetTime(), self.step, semaphore)
