"""Reference clocks: `SystemClock` (real time, one helper thread) and `ManualClock` (by hand).

The `ReferenceClockContract` suite runs on both; the tests below pin what is particular to
each: exact firing order, counts and cookies on the manual clock; the helper thread's life,
``close`` and late periodic releases on the system clock. Real-time tests assert only that an
advise did not fire before its time and did fire within a generous bound, never how fast.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from zope.interface.verify import verifyClass, verifyObject

from dshow_alloc.clock import ManualClock, SystemClock
from dshow_alloc.hresult import HRESULT, InvalidArgError
from dshow_alloc.testing.clock import (
    SIGNAL_TIMEOUT,
    RecordingEvent,
    ReferenceClockContract,
    boundaries_reached,
    drain,
)
from interfaces import IReferenceClock, IUnknown

#: 1 ms and 20 ms in REFERENCE_TIME units (100 ns).
MS = 10_000
STEP = 20 * MS
#: A time no test reaches (1000 s ahead).
FAR = 1_000_000 * MS
#: The generous bound (seconds) for a real-time signal to arrive.
BOUND = 2.0

HELPER_NAME = "SystemClock-advise"


# -- test doubles ------------------------------------------------------------------------------


class CallbackEvent(threading.Event):
    """An Event that runs ``on_set()`` (with the thread that called ``set``) before setting."""

    def __init__(self, on_set: Callable[[], object]) -> None:
        super().__init__()
        self.on_set = on_set
        self.thread: threading.Thread | None = None

    def set(self) -> None:
        self.thread = threading.current_thread()
        self.on_set()
        super().set()


class RecordingSemaphore(threading.Semaphore):
    """A Semaphore whose ``release(n)`` also appends ``f"{name}x{n}"`` to a shared list."""

    def __init__(self, name: str, record: list[str]) -> None:
        super().__init__(0)
        self.name = name
        self._record = record

    def release(self, n: int = 1) -> None:
        self._record.append(f"{self.name}x{n}")
        super().release(n)


def new_helpers(before: set[threading.Thread]) -> list[threading.Thread]:
    """The SystemClock helper threads alive now that were not in ``before``."""
    return [
        t
        for t in threading.enumerate()
        if t not in before and t.name == HELPER_NAME and t.is_alive()
    ]


def the_helper(before: set[threading.Thread]) -> threading.Thread:
    """The one new SystemClock helper thread (fails unless there is exactly one)."""
    helpers = new_helpers(before)
    assert len(helpers) == 1, [t.name for t in helpers]
    return helpers[0]


def assert_ends(thread: threading.Thread) -> None:
    """``thread`` ends by itself within the bound."""
    thread.join(BOUND)
    assert not thread.is_alive()


# -- conformance and the contract suite --------------------------------------------------------

CLOCKS = [SystemClock, ManualClock]


@pytest.mark.parametrize("iface", [IUnknown, IReferenceClock])
@pytest.mark.parametrize("cls", CLOCKS)
def test_conformance(cls: type, iface: Any) -> None:
    """Both clocks declare and provide IUnknown and IReferenceClock with every method."""
    assert iface.implementedBy(cls)
    assert verifyClass(iface, cls)
    assert verifyObject(iface, cls())


class TestSystemClockContract(ReferenceClockContract):
    """Every IReferenceClock rule, on `SystemClock` in real time."""

    def make_clock(self) -> SystemClock:
        return SystemClock()


class TestManualClockContract(ReferenceClockContract):
    """Every IReferenceClock rule, on `ManualClock` moved by the suite."""

    def make_clock(self) -> ManualClock:
        return ManualClock()

    def advance_to(self, clock: Any, target: int) -> None:
        clock.set_time(max(target, clock.GetTime()))


# -- ManualClock -------------------------------------------------------------------------------


def test_manual_start() -> None:
    """A ManualClock starts at 1 by default, or at the given start, and stays there."""
    assert ManualClock().GetTime() == 1
    clock = ManualClock(start=500)
    assert [clock.GetTime(), clock.GetTime()] == [500, 500]
    assert ManualClock(0).GetTime() == 0


@pytest.mark.parametrize(
    ("start", "error"), [(-1, ValueError), (1.0, TypeError), (True, TypeError), (None, TypeError)]
)
def test_manual_bad_start(start: Any, error: type[Exception]) -> None:
    """A negative start is a ValueError; a start that is not an int is a TypeError."""
    with pytest.raises(error):
        ManualClock(start)


def test_manual_advance_and_set_time() -> None:
    """advance and set_time move the clock and return the new time; set_time to the current
    time and advance(0) are allowed."""
    clock = ManualClock()
    assert clock.advance(10) == 11
    assert clock.GetTime() == 11
    assert clock.set_time(100) == 100
    assert clock.set_time(100) == 100
    assert clock.advance(0) == 100
    assert clock.GetTime() == 100


def test_manual_never_goes_backwards() -> None:
    """set_time to an earlier time or a negative advance is a ValueError and changes nothing."""
    clock = ManualClock(100)
    with pytest.raises(ValueError, match="backwards"):
        clock.set_time(99)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert clock.GetTime() == 100


@pytest.mark.parametrize("bad", [1.5, 2.0, True, None, "3"])
def test_manual_move_needs_an_int(bad: Any) -> None:
    """advance and set_time with a value that is not an int are a TypeError."""
    clock = ManualClock(100)
    with pytest.raises(TypeError):
        clock.advance(bad)
    with pytest.raises(TypeError):
        clock.set_time(bad)
    assert clock.GetTime() == 100


def test_manual_signals_in_time_order() -> None:
    """One move signals every due advise in the order of its (first) due time; a periodic
    advise's boundaries passed in one move are released together, at its first one."""
    clock = ManualClock(1)
    record: list[str] = []
    for due in (30, 10, 20):
        clock.AdviseTime(0, due, RecordingEvent(str(due), record))
    semaphore = RecordingSemaphore("periodic", record)
    clock.AdvisePeriodic(15, 10, semaphore)
    assert clock.pending() == 4
    assert clock.set_time(40) == 40
    assert record == ["10", "periodicx3", "20", "30"]
    assert drain(semaphore) == 3
    assert clock.pending() == 1


def test_manual_same_time_in_advise_order() -> None:
    """Advises due at the same time are signalled in the order they were made."""
    clock = ManualClock(1)
    record: list[str] = []
    for name in ("a", "b", "c"):
        clock.AdviseTime(5, 5, RecordingEvent(name, record))
    clock.advance(9)
    assert record == ["a", "b", "c"]


def test_manual_periodic_jump_over_three_boundaries() -> None:
    """A periodic advise releases once at its start, then 3 times for a move over 3
    boundaries, and not for a boundary not yet reached."""
    clock = ManualClock(1)
    semaphore = threading.Semaphore(0)
    cookie = clock.AdvisePeriodic(10, 10, semaphore)
    clock.set_time(9)
    assert drain(semaphore) == 0
    clock.set_time(10)
    assert drain(semaphore) == 1
    clock.set_time(40)
    assert drain(semaphore) == 3
    clock.set_time(49)
    assert drain(semaphore) == 0
    clock.set_time(50)
    assert drain(semaphore) == 1
    assert clock.Unadvise(cookie) is True
    clock.set_time(1000)
    assert drain(semaphore) == 0


def test_manual_periodic_start_passed() -> None:
    """A periodic advise whose start has passed releases at once, inside AdvisePeriodic,
    once per boundary reached, and stays pending."""
    clock = ManualClock(35)
    semaphore = threading.Semaphore(0)
    clock.AdvisePeriodic(10, 10, semaphore)
    assert drain(semaphore) == 3  # 10, 20, 30
    assert clock.pending() == 1
    clock.set_time(40)
    assert drain(semaphore) == 1


def test_manual_unadvise_true_then_false() -> None:
    """Unadvise of a pending advise returns True, then False; the event is never set."""
    clock = ManualClock()
    event = threading.Event()
    cookie = clock.AdviseTime(0, 10, event)
    assert clock.pending() == 1
    assert clock.Unadvise(cookie) is True
    assert clock.pending() == 0
    assert clock.Unadvise(cookie) is False
    clock.set_time(100)
    assert not event.is_set()


def test_manual_cookie_after_fire() -> None:
    """Once a one-shot advise fired, Unadvise of its cookie returns False."""
    clock = ManualClock()
    event = threading.Event()
    cookie = clock.AdviseTime(0, 5, event)
    clock.set_time(4)
    assert not event.is_set()
    clock.set_time(5)
    assert event.is_set()
    assert clock.pending() == 0
    assert clock.Unadvise(cookie) is False


def test_manual_cookies_count_up_and_are_never_reused() -> None:
    """Cookies are 1, 2, 3, ... on a fresh clock, never reused after a fire or an Unadvise,
    and a refused call spends none."""
    clock = ManualClock()
    first = clock.AdviseTime(0, 10, threading.Event())
    assert clock.Unadvise(first) is True
    second = clock.AdviseTime(0, 1, threading.Event())  # due: fires at once
    with pytest.raises(InvalidArgError):
        clock.AdviseTime(0, 0, threading.Event())
    with pytest.raises(TypeError):
        clock.AdvisePeriodic(1.0, 10, threading.Semaphore(0))  # type: ignore[arg-type]
    third = clock.AdvisePeriodic(5, 10, threading.Semaphore(0))
    assert [first, second, third] == [1, 2, 3]


def test_manual_due_advise_fires_inside_advise_time() -> None:
    """An AdviseTime whose time is reached sets the event before AdviseTime returns, on the
    calling thread, and leaves nothing pending."""
    clock = ManualClock(100)
    event = CallbackEvent(lambda: None)
    clock.AdviseTime(50, 50, event)
    assert event.is_set()
    assert event.thread is threading.current_thread()
    assert clock.pending() == 0


@pytest.mark.timeout(30)
def test_manual_fires_on_the_moving_thread() -> None:
    """Advises are signalled on the thread that moves the clock."""
    clock = ManualClock()
    event = CallbackEvent(lambda: None)
    clock.AdviseTime(0, 10, event)
    mover = threading.Thread(target=clock.set_time, args=(10,), name="clock-mover")
    mover.start()
    mover.join()
    assert event.is_set()
    assert event.thread is mover


@pytest.mark.parametrize(
    ("base_time", "stream_time"), [(0, 0), (-1, 0), (0, -1), (10, -10), (-(2**63), 2**62)]
)
def test_manual_advise_time_invalid_arg(base_time: int, stream_time: int) -> None:
    """AdviseTime with base_time + stream_time <= 0 raises E_INVALIDARG (0x80070057), a
    ValueError, and changes nothing."""
    clock = ManualClock()
    kept = clock.AdviseTime(0, 10, threading.Event())
    event = threading.Event()
    with pytest.raises(InvalidArgError) as info:
        clock.AdviseTime(base_time, stream_time, event)
    assert info.value.hresult == HRESULT.E_INVALIDARG
    assert info.value.hresult == 0x80070057
    assert isinstance(info.value, ValueError)
    assert not event.is_set()
    assert clock.pending() == 1
    assert clock.AdviseTime(0, 20, threading.Event()) == kept + 1


@pytest.mark.parametrize(("start_time", "period_time"), [(0, 10), (-5, 10), (1, 0), (1, -10)])
def test_manual_advise_periodic_invalid_arg(start_time: int, period_time: int) -> None:
    """AdvisePeriodic with start_time <= 0 or period_time <= 0 raises E_INVALIDARG
    (0x80070057), a ValueError, and changes nothing."""
    clock = ManualClock(100)
    semaphore = threading.Semaphore(0)
    with pytest.raises(InvalidArgError) as info:
        clock.AdvisePeriodic(start_time, period_time, semaphore)
    assert info.value.hresult == 0x80070057
    assert isinstance(info.value, ValueError)
    assert drain(semaphore) == 0
    assert clock.pending() == 0


@pytest.mark.parametrize("bad", [1.0, True, False, None, "5"])
def test_manual_non_int_times(bad: Any) -> None:
    """A float, bool, None or str in any time argument is a TypeError and changes nothing."""
    clock = ManualClock(100)
    event, semaphore = threading.Event(), threading.Semaphore(0)
    calls: list[Callable[[], object]] = [
        lambda: clock.AdviseTime(bad, 10, event),
        lambda: clock.AdviseTime(10, bad, event),
        lambda: clock.AdvisePeriodic(bad, 10, semaphore),
        lambda: clock.AdvisePeriodic(10, bad, semaphore),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert not event.is_set()
    assert drain(semaphore) == 0
    assert clock.pending() == 0


def test_manual_type_checked_before_value() -> None:
    """A wrong type is a TypeError even when the values would also be E_INVALIDARG."""
    clock = ManualClock()
    with pytest.raises(TypeError):
        clock.AdviseTime(0, 0, object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        clock.AdvisePeriodic(0, 0.0, threading.Semaphore(0))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["1", 1.0, True, None])
def test_manual_unadvise_needs_an_int(bad: Any) -> None:
    """Unadvise with a cookie that is not an int (True included) is a TypeError and leaves
    the pending advise alone."""
    clock = ManualClock()
    cookie = clock.AdviseTime(0, 10, threading.Event())
    assert cookie == 1
    with pytest.raises(TypeError):
        clock.Unadvise(bad)
    assert clock.pending() == 1


def test_manual_signal_error_raised_after_the_others() -> None:
    """An event whose set raises does not stop the other due advises; the move completes and
    then raises that error."""
    clock = ManualClock()
    record: list[str] = []

    def fail() -> None:
        raise RuntimeError("set failed")

    clock.AdviseTime(0, 10, RecordingEvent("first", record))
    clock.AdviseTime(0, 20, CallbackEvent(fail))
    clock.AdviseTime(0, 30, RecordingEvent("last", record))
    with pytest.raises(RuntimeError, match="set failed"):
        clock.set_time(30)
    assert record == ["first", "last"]
    assert clock.GetTime() == 30
    assert clock.pending() == 0


@pytest.mark.timeout(30)
def test_manual_signal_may_call_back_into_the_clock() -> None:
    """An event's set may advise on the clock again (signals run outside its lock)."""
    clock = ManualClock()
    follow_up = threading.Event()

    def advise_again() -> None:
        assert clock.pending() == 0
        clock.AdviseTime(clock.GetTime(), 5, follow_up)

    clock.AdviseTime(0, 10, CallbackEvent(advise_again))
    clock.set_time(10)
    assert clock.pending() == 1
    assert not follow_up.is_set()
    clock.advance(5)
    assert follow_up.is_set()


@pytest.mark.timeout(30)
def test_manual_concurrent_moves_count_every_boundary() -> None:
    """Four threads moving the clock 500 times each by 1 reach exactly start + 2000, and a
    period-1 advise is released exactly once per boundary."""
    clock = ManualClock(1)
    semaphore = threading.Semaphore(0)
    clock.AdvisePeriodic(1, 1, semaphore)

    def move() -> None:
        for _ in range(500):
            clock.advance(1)

    threads = [threading.Thread(target=move, name=f"clock-mover-{n}") for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.GetTime() == 2001
    assert drain(semaphore) == boundaries_reached(1, 1, 2001) == 2001


def test_manual_many_unadvised_advises() -> None:
    """Thousands of advises made and removed unfired leave the clock exact: the one kept
    still fires at its time."""
    clock = ManualClock()
    kept = threading.Event()
    clock.AdviseTime(0, 5000, kept)
    for due in range(10, 3000):
        assert clock.Unadvise(clock.AdviseTime(0, due, threading.Event())) is True
    assert clock.pending() == 1
    clock.set_time(4999)
    assert not kept.is_set()
    clock.set_time(5000)
    assert kept.is_set()
    assert clock.pending() == 0


def test_manual_final_release_removes_advises() -> None:
    """The final Release removes every pending advise."""
    clock = ManualClock()
    clock.AdviseTime(0, 10, threading.Event())
    clock.AdvisePeriodic(10, 10, threading.Semaphore(0))
    assert clock.AddRef() == 2
    assert clock.Release() == 1
    assert clock.pending() == 2
    assert clock.Release() == 0
    assert clock.pending() == 0


def test_manual_repr() -> None:
    """repr names the time and the number of pending advises."""
    clock = ManualClock(42)
    clock.AdviseTime(0, 50, threading.Event())
    assert repr(clock) == "<ManualClock time=42 pending=1>"


# -- SystemClock -------------------------------------------------------------------------------


def test_system_time_is_monotonic_ns_in_100ns_units() -> None:
    """GetTime is time.monotonic_ns() // 100, read between two such readings."""
    clock = SystemClock()
    before = time.monotonic_ns() // 100
    now = clock.GetTime()
    after = time.monotonic_ns() // 100
    assert type(now) is int
    assert before <= now <= after


@pytest.mark.timeout(30)
def test_system_advise_20ms_ahead() -> None:
    """An AdviseTime 20 ms ahead is signalled by the helper thread, within the bound, at a
    clock time not before its due time."""
    clock = SystemClock()
    seen: list[int] = []
    event = CallbackEvent(lambda: seen.append(clock.GetTime()))
    now = clock.GetTime()
    due = now + STEP
    cookie = clock.AdviseTime(now, STEP, event)
    assert event.wait(BOUND)
    assert seen[0] >= due
    assert clock.GetTime() >= due
    assert event.thread is not None
    assert event.thread.name == HELPER_NAME
    assert clock.Unadvise(cookie) is False


def test_system_due_advise_fires_on_the_caller_without_a_thread() -> None:
    """An AdviseTime whose time has passed sets the event inside AdviseTime, on the calling
    thread, and starts no helper thread."""
    before = set(threading.enumerate())
    clock = SystemClock()
    event = CallbackEvent(lambda: None)
    clock.AdviseTime(clock.GetTime(), 0, event)
    assert event.is_set()
    assert event.thread is threading.current_thread()
    assert clock.pending() == 0
    assert new_helpers(before) == []


@pytest.mark.timeout(30)
def test_system_one_helper_while_pending_gone_after_unadvise() -> None:
    """No helper runs before the first advise; one helper serves any number of pending
    advises; it ends by itself once they are all removed."""
    before = set(threading.enumerate())
    clock = SystemClock()
    assert new_helpers(before) == []
    now = clock.GetTime()
    cookies = [clock.AdviseTime(now, FAR + n, threading.Event()) for n in range(5)]
    cookies.append(clock.AdvisePeriodic(now + FAR, STEP, threading.Semaphore(0)))
    helper = the_helper(before)
    assert clock.pending() == 6
    for cookie in cookies[:-1]:
        assert clock.Unadvise(cookie) is True
    assert helper.is_alive()
    assert clock.Unadvise(cookies[-1]) is True
    assert_ends(helper)
    assert new_helpers(before) == []


@pytest.mark.timeout(30)
def test_system_helper_gone_after_advises_fired() -> None:
    """The helper ends by itself once every advise has fired, and a new advise starts a new
    one."""
    before = set(threading.enumerate())
    clock = SystemClock()
    for _ in range(2):
        event = threading.Event()
        clock.AdviseTime(clock.GetTime(), STEP, event)
        helper = the_helper(before)
        assert event.wait(BOUND)
        assert_ends(helper)
        assert clock.pending() == 0


@pytest.mark.timeout(30)
def test_system_close_joins_the_helper() -> None:
    """close() removes every advise and returns after the helper ended; it is idempotent and
    the clock stays usable."""
    before = set(threading.enumerate())
    clock = SystemClock()
    now = clock.GetTime()
    event, semaphore = threading.Event(), threading.Semaphore(0)
    one_shot = clock.AdviseTime(now, FAR, event)
    periodic = clock.AdvisePeriodic(now + FAR, STEP, semaphore)
    helper = the_helper(before)
    clock.close()
    assert not helper.is_alive()
    assert clock.pending() == 0
    assert clock.Unadvise(one_shot) is False
    assert clock.Unadvise(periodic) is False
    assert not event.is_set()
    assert drain(semaphore) == 0
    clock.close()
    again = threading.Event()
    clock.AdviseTime(clock.GetTime(), STEP, again)
    assert again.wait(BOUND)
    clock.close()
    assert new_helpers(before) == []


@pytest.mark.timeout(30)
def test_system_context_manager_and_release_close() -> None:
    """Leaving a `with` block, or the final Release, closes the clock and joins its helper."""
    before = set(threading.enumerate())
    with SystemClock() as clock:
        clock.AdviseTime(clock.GetTime(), FAR, threading.Event())
        helper = the_helper(before)
    assert not helper.is_alive()
    assert clock.pending() == 0

    clock = SystemClock()
    clock.AdvisePeriodic(clock.GetTime() + FAR, STEP, threading.Semaphore(0))
    helper = the_helper(before)
    assert clock.Release() == 0
    assert not helper.is_alive()
    assert clock.pending() == 0


@pytest.mark.timeout(30)
def test_system_close_from_a_signal() -> None:
    """An event's set may close the clock from the helper thread without deadlock."""
    before = set(threading.enumerate())
    clock = SystemClock()
    other = threading.Event()
    now = clock.GetTime()
    closer = CallbackEvent(clock.close)
    clock.AdviseTime(now, STEP, closer)
    clock.AdviseTime(now, FAR, other)
    assert closer.wait(SIGNAL_TIMEOUT)
    for helper in new_helpers(before):
        assert_ends(helper)
    assert clock.pending() == 0
    assert not other.is_set()


@pytest.mark.timeout(30)
def test_system_late_periodic_releases_for_each_boundary() -> None:
    """A helper held up past several periodic boundaries releases once for each of them
    when it gets going again, and never for one not yet reached."""
    clock = SystemClock()
    gate, blocked = threading.Event(), threading.Event()

    def hold_up() -> None:
        blocked.set()
        assert gate.wait(SIGNAL_TIMEOUT)

    now = clock.GetTime()
    start, period = now + 2 * STEP, STEP
    clock.AdviseTime(now, STEP, CallbackEvent(hold_up))
    semaphore = threading.Semaphore(0)
    cookie = clock.AdvisePeriodic(start, period, semaphore)
    assert blocked.wait(SIGNAL_TIMEOUT)
    while clock.GetTime() < start + 3 * period:
        time.sleep(0.005)
    assert drain(semaphore) == 0  # the helper is held up inside the first event's set
    gate.set()
    for _ in range(4):
        assert semaphore.acquire(timeout=SIGNAL_TIMEOUT)
    assert clock.Unadvise(cookie) is True
    extra = drain(semaphore)
    assert 4 + extra <= boundaries_reached(start, period, clock.GetTime())


@pytest.mark.timeout(30)
def test_system_signal_error_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An event whose set raises on the helper thread is logged on dshow_alloc.clock, and
    the helper goes on with the next advise."""
    caplog.set_level(logging.ERROR, logger="dshow_alloc.clock")
    clock = SystemClock()

    def fail() -> None:
        raise RuntimeError("set failed")

    now = clock.GetTime()
    clock.AdviseTime(now, STEP, CallbackEvent(fail))
    after = threading.Event()
    clock.AdviseTime(now, 2 * STEP, after)
    assert after.wait(SIGNAL_TIMEOUT)
    records = [r for r in caplog.records if r.name == "dshow_alloc.clock"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], RuntimeError)


@pytest.mark.timeout(30)
def test_system_far_future_advise() -> None:
    """An advise thousands of years ahead does not break the helper: a nearer one added
    afterwards still fires."""
    clock = SystemClock()
    now = clock.GetTime()
    far = clock.AdviseTime(now, 2**62, threading.Event())
    near = threading.Event()
    clock.AdviseTime(now, STEP, near)
    assert near.wait(BOUND)
    assert clock.Unadvise(far) is True


def test_system_repr() -> None:
    """repr names the time, the number of pending advises and the helper's state."""
    clock = SystemClock()
    assert re.fullmatch(r"<SystemClock time=\d+ pending=0 helper=stopped>", repr(clock))
    with clock:
        clock.AdviseTime(clock.GetTime(), FAR, threading.Event())
        assert re.fullmatch(r"<SystemClock time=\d+ pending=1 helper=running>", repr(clock))


def test_system_unadvise_needs_an_int() -> None:
    """Unadvise with a cookie that is not an int is a TypeError."""
    clock = SystemClock()
    with pytest.raises(TypeError):
        clock.Unadvise("1")  # type: ignore[arg-type]
