"""Concurrency: `MemAllocator` and its samples shared by many threads (API.md §3-4).

Ordering between threads is made deterministic with events, barriers and queues. A thread is
known to be blocked in ``GetBuffer`` when its innermost frame is a ``threading`` wait called
from ``GetBuffer`` (`wait_until_blocked`), which holds for any implementation built on
``threading`` primitives. Every test that can block runs under an explicit timeout and joins
every thread it starts.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dshow_alloc import (
    AM_GBF_NOWAIT,
    HRESULT,
    AllocatorProperties,
    MediaSample,
    MemAllocator,
    SystemMemoryAllocator,
    UnexpectedError,
    VfwAlreadyCommittedError,
    VfwBadAlignError,
    VfwBuffersOutstandingError,
    VfwNotCommittedError,
    VfwSizeNotSetError,
    VfwTimeoutError,
)

BUFFER_SIZE = 64

# -- helpers ---------------------------------------------------------------------------------


class Worker(threading.Thread):
    """A thread that keeps its target's result or exception for the test to check."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self._fn = fn
        self._fn_args = args
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = self._fn(*self._fn_args)
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def finish(self, timeout: float = 5.0) -> Any:
        """Join (asserting the thread ended in time) and return its result or raise its error."""
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} is still running after {timeout} s"
        if self.error is not None:
            raise self.error
        return self.result

    def outcome(self, timeout: float = 5.0) -> BaseException | Any:
        """Join (asserting the thread ended in time); its exception, or its result."""
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} is still running after {timeout} s"
        return self.error if self.error is not None else self.result


def _blocked_in_get_buffer(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None or frame.f_code.co_filename != threading.__file__:
        return False
    if frame.f_code.co_name != "wait":
        return False
    while frame is not None:
        if frame.f_code.co_name == "GetBuffer":
            return True
        frame = frame.f_back
    return False


def wait_until_blocked(*threads: Worker, timeout: float = 5.0) -> None:
    """Return once every thread is waiting inside ``GetBuffer`` (and has not returned)."""
    deadline = time.monotonic() + timeout
    while not all(_blocked_in_get_buffer(t) for t in threads):
        for t in threads:
            assert not t.done.is_set(), f"{t.name} returned instead of blocking: {t.outcome()!r}"
        assert time.monotonic() < deadline, "the threads never blocked in GetBuffer"
        time.sleep(0.001)
    assert not any(t.done.is_set() for t in threads)


class NotifyRecorder:
    """An ``IMemAllocatorNotifyCallbackTemp`` that records the thread of each call."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self._lock = threading.Lock()

    def NotifyRelease(self) -> None:
        with self._lock:
            self.threads.append(threading.get_ident())

    @property
    def count(self) -> int:
        return len(self.threads)


@pytest.fixture
def make_pool() -> Iterator[Callable[..., MemAllocator]]:
    """Committed pools; at teardown each is decommitted, which wakes any thread left blocked."""
    made: list[MemAllocator] = []

    def make(buffers: int, **kwargs: Any) -> MemAllocator:
        allocator = MemAllocator(**kwargs)
        allocator.SetProperties(AllocatorProperties(buffers, BUFFER_SIZE, 1, 0))
        allocator.Commit()
        made.append(allocator)
        return allocator

    yield make
    for allocator in made:
        allocator.Decommit()


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads far more often, to shake out interleavings."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def take_all(allocator: MemAllocator) -> list[MediaSample]:
    """Every free sample of ``allocator``, in the order it hands them out."""
    return [allocator.GetBuffer() for _ in range(allocator.GetFreeCount())]


# -- blocking GetBuffer ----------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_blocked_get_buffer_wakes_with_the_released_sample(make_pool):
    """A GetBuffer on an empty pool blocks until a release, then returns that very sample."""
    allocator = make_pool(1)
    held = allocator.GetBuffer()
    waiter = Worker(allocator.GetBuffer, name="waiter")
    waiter.start()
    wait_until_blocked(waiter)
    assert allocator.GetFreeCount() == 0

    releaser = Worker(held.Release, name="releaser")
    releaser.start()
    assert releaser.finish() == 0
    got = waiter.finish()
    assert got is held
    assert got.ref_count == 1
    assert allocator.GetFreeCount() == 0
    assert got.Release() == 0
    assert allocator.GetFreeCount() == 1


@pytest.mark.timeout(10)
def test_blocked_get_buffers_each_get_a_distinct_released_sample(make_pool):
    """Three blocked GetBuffer calls, three releases one by one: each release wakes exactly
    one waiter, with the sample just released; no sample goes to two owners."""
    allocator = make_pool(3)
    held = take_all(allocator)
    results: queue.Queue[tuple[str, MediaSample]] = queue.Queue()

    def wait_for_sample() -> None:
        results.put((threading.current_thread().name, allocator.GetBuffer()))

    waiters = [Worker(wait_for_sample, name=f"waiter-{i}") for i in range(3)]
    for w in waiters:
        w.start()
    wait_until_blocked(*waiters)

    handed: dict[str, MediaSample] = {}
    for released in held:
        assert released.Release() == 0
        name, got = results.get(timeout=5)
        assert got is released  # the only free sample
        assert got.ref_count == 1
        assert name not in handed
        handed[name] = got
        assert results.empty()  # nothing free: nobody else can have returned
        assert allocator.GetFreeCount() == 0
    for w in waiters:
        w.finish()
    assert len({id(s) for s in handed.values()}) == 3
    for sample in handed.values():  # the waiters handed their reference over to this thread
        assert sample.Release() == 0
    assert allocator.GetFreeCount() == 3


@pytest.mark.timeout(10)
def test_decommit_wakes_every_blocked_get_buffer_with_not_committed(make_pool):
    """Decommit wakes all threads blocked in GetBuffer (no timeout) promptly, each raising
    VfwNotCommittedError (0x80040211); the sample already out stays usable."""
    allocator = make_pool(1)
    held = allocator.GetBuffer()
    waiters = [Worker(allocator.GetBuffer, name=f"waiter-{i}") for i in range(4)]
    for w in waiters:
        w.start()
    wait_until_blocked(*waiters)

    started = time.monotonic()
    allocator.Decommit()
    outcomes = [w.outcome(timeout=2.0) for w in waiters]
    assert time.monotonic() - started < 2.0
    for outcome in outcomes:
        assert isinstance(outcome, VfwNotCommittedError)
        assert outcome.hresult == 0x80040211 == HRESULT.VFW_E_NOT_COMMITTED
    held.GetPointer()[:4] = b"live"
    assert bytes(held.GetPointer()[:4]) == b"live"
    assert allocator.allocated == 1
    assert held.Release() == 0
    assert allocator.allocated == 0


@pytest.mark.timeout(10)
def test_get_buffer_timeout_raises_after_that_long_and_changes_nothing(make_pool):
    """GetBuffer(timeout=t) on an empty pool raises VfwTimeoutError (a TimeoutError,
    0x8004022E) after about t seconds, leaving the pool exactly as it was."""
    allocator = make_pool(1)
    recorder = NotifyRecorder()
    allocator.SetNotify(recorder)
    held = allocator.GetBuffer()
    started = time.monotonic()
    with pytest.raises(VfwTimeoutError) as info:
        allocator.GetBuffer(timeout=0.2)
    elapsed = time.monotonic() - started
    assert isinstance(info.value, TimeoutError)
    assert info.value.hresult == 0x8004022E == HRESULT.VFW_E_TIMEOUT
    assert 0.2 <= elapsed < 2.0
    assert allocator.GetFreeCount() == 0
    assert allocator.committed
    assert held.ref_count == 1
    assert [o.sample for o in allocator.outstanding()] == [held]
    assert recorder.count == 0
    assert held.Release() == 0
    assert allocator.GetFreeCount() == 1
    assert allocator.GetBuffer(timeout=0.2) is held
    assert held.Release() == 0


@pytest.mark.timeout(10)
def test_get_buffer_with_timeout_succeeds_when_a_sample_comes_back_in_time(make_pool):
    """A GetBuffer with a timeout returns the released sample if it comes home in time."""
    allocator = make_pool(1)
    held = allocator.GetBuffer()
    waiter = Worker(lambda: allocator.GetBuffer(timeout=30), name="waiter")
    waiter.start()
    wait_until_blocked(waiter)
    assert held.Release() == 0
    got = waiter.finish()
    assert got is held
    assert got.Release() == 0


@pytest.mark.timeout(10)
def test_nowait_never_blocks_on_an_empty_pool(make_pool):
    """AM_GBF_NOWAIT (and timeout=0) on an empty pool raise VfwTimeoutError at once, in
    every thread, however often they try."""
    allocator = make_pool(2)
    held = take_all(allocator)

    def try_many() -> Counter[str]:
        seen: Counter[str] = Counter()
        for i in range(500):
            try:
                if i % 2:
                    allocator.GetBuffer(flags=AM_GBF_NOWAIT)
                else:
                    allocator.GetBuffer(timeout=0)
            except VfwTimeoutError as exc:
                seen[hex(exc.hresult)] += 1
        return seen

    workers = [Worker(try_many, name=f"nowait-{i}") for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        assert w.finish() == {"0x8004022e": 500}
    assert allocator.GetFreeCount() == 0
    for sample in held:
        assert sample.Release() == 0


@pytest.mark.timeout(20)
def test_nowait_never_blocks_under_contention(make_pool, fast_switching):
    """Threads using AM_GBF_NOWAIT on a contended pool either get a sample or VfwTimeoutError,
    and never wait; every sample they got comes home."""
    allocator = make_pool(2)
    start = threading.Barrier(4)

    def churn() -> tuple[int, int]:
        start.wait()
        got = refused = 0
        for _ in range(1000):
            try:
                sample = allocator.GetBuffer(flags=AM_GBF_NOWAIT)
            except VfwTimeoutError:
                refused += 1
                continue
            got += 1
            assert sample.Release() == 0
        return got, refused

    workers = [Worker(churn, name=f"churn-{i}") for i in range(4)]
    for w in workers:
        w.start()
    totals = [w.finish(timeout=15) for w in workers]
    assert sum(got + refused for got, refused in totals) == 4000
    assert sum(got for got, _ in totals) > 0
    assert allocator.GetFreeCount() == 2
    assert allocator.outstanding() == []


def test_nowait_on_a_decommitted_pool_raises_not_committed(make_pool):
    """AM_GBF_NOWAIT does not turn VFW_E_NOT_COMMITTED into a timeout."""
    allocator = make_pool(1)
    allocator.Decommit()
    with pytest.raises(VfwNotCommittedError):
        allocator.GetBuffer(flags=AM_GBF_NOWAIT)


# -- reference counts across threads ---------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("starting_count", [1, 2])
def test_addref_release_hammered_from_eight_threads(make_pool, fast_switching, starting_count):
    """8 threads each AddRef a shared sample N times, then Release it N times: the count ends
    where it started, no call sees a count at or below the owner's, and the sample goes home
    exactly once, on the owner's last Release."""
    allocator = make_pool(1)
    recorder = NotifyRecorder()
    allocator.SetNotify(recorder)
    sample = allocator.GetBuffer()
    for _ in range(starting_count - 1):
        sample.AddRef()
    n = 10000
    start = threading.Barrier(8)

    def hammer() -> list[str]:
        wrong: list[str] = []
        start.wait()
        for _ in range(n):
            count = sample.AddRef()
            if count <= starting_count:
                wrong.append(f"AddRef returned {count}")
        for _ in range(n):
            count = sample.Release()
            if count < starting_count:
                wrong.append(f"Release returned {count}")
        return wrong

    workers = [Worker(hammer, name=f"hammer-{i}") for i in range(8)]
    for w in workers:
        w.start()
    problems = [p for w in workers for p in w.finish(timeout=15)]
    assert problems == []
    assert sample.ref_count == starting_count
    assert recorder.count == 0
    assert allocator.GetFreeCount() == 0
    for expected in range(starting_count - 1, -1, -1):
        assert sample.Release() == expected
    assert recorder.threads == [threading.get_ident()]
    assert allocator.GetFreeCount() == 1
    with pytest.raises(UnexpectedError):
        sample.Release()
    assert recorder.count == 1


@pytest.mark.timeout(30)
def test_stress_four_producers_on_a_pool_of_three(make_pool, fast_switching):
    """4 threads x 5000 GetBuffer/Release on 3 samples: no sample is ever held by two threads,
    its bytes are not touched by anyone else while held, every sample comes home, and
    NotifyRelease ran once per final release."""
    allocator = make_pool(3)
    recorder = NotifyRecorder()
    allocator.SetNotify(recorder)
    owners: dict[MediaSample, str] = {}
    guard = threading.Lock()
    start = threading.Barrier(4)
    rounds = 5000

    def produce(tag: int) -> tuple[int, list[str]]:
        me = threading.current_thread().name
        wrong: list[str] = []
        finals = 0
        start.wait()
        for i in range(rounds):
            sample = allocator.GetBuffer()
            with guard:
                if sample in owners:
                    wrong.append(f"{sample!r} handed to {me} while {owners[sample]} holds it")
                owners[sample] = me
            if sample.ref_count != 1:
                wrong.append(f"{sample!r} came out of GetBuffer with count {sample.ref_count}")
            sample.GetPointer()[0] = tag
            counts = (sample.AddRef(), sample.Release()) if i % 5 == 0 else (2, 1)
            if counts != (2, 1):
                wrong.append(f"{me} saw a foreign reference on {sample!r}: {counts}")
            if sample.GetPointer()[0] != tag:
                wrong.append(f"{sample!r} was written by another thread while {me} held it")
            with guard:
                if owners.pop(sample, None) != me:
                    wrong.append(f"{sample!r} lost its owner {me}")
            if sample.Release() == 0:
                finals += 1
        return finals, wrong

    workers = [Worker(produce, i, name=f"producer-{i}") for i in range(4)]
    for w in workers:
        w.start()
    outcomes = [w.finish(timeout=25) for w in workers]
    assert [p for _, wrong in outcomes for p in wrong] == []
    finals = sum(f for f, _ in outcomes)
    assert finals == 4 * rounds
    assert recorder.count == finals
    assert allocator.GetFreeCount() == 3
    assert allocator.outstanding() == []
    assert owners == {}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("last", ["receiver", "sender"])
def test_sample_passed_between_threads_goes_home_exactly_once(make_pool, last):
    """A sample AddRef'd on one thread and Released on another goes home once, on the thread
    whose Release took the count to 0."""
    allocator = make_pool(1)
    recorder = NotifyRecorder()
    allocator.SetNotify(recorder)
    mailbox: queue.Queue[MediaSample] = queue.Queue()
    sender_released = threading.Event()
    receiver_released = threading.Event()

    def send() -> int:
        sample = allocator.GetBuffer()
        sample.GetPointer()[:5] = b"hello"
        assert sample.AddRef() == 2  # the receiver's reference
        mailbox.put(sample)
        if last == "sender":
            assert receiver_released.wait(5)
        count = sample.Release()
        sender_released.set()
        return count

    def receive() -> int:
        sample = mailbox.get(timeout=5)
        assert bytes(sample.GetPointer()[:5]) == b"hello"
        if last == "receiver":
            assert sender_released.wait(5)
        count = sample.Release()
        receiver_released.set()
        return count

    sender = Worker(send, name="sender")
    receiver = Worker(receive, name="receiver")
    sender.start()
    receiver.start()
    counts = {"sender": sender.finish(), "receiver": receiver.finish()}
    first = "sender" if last == "receiver" else "receiver"
    assert counts == {first: 1, last: 0}
    final_thread = sender if last == "sender" else receiver
    assert recorder.threads == [final_thread.ident]
    assert allocator.GetFreeCount() == 1


@pytest.mark.timeout(30)
def test_pipeline_hand_off_stress(make_pool, fast_switching):
    """A producer hands 5000 samples to a consumer (AddRef, then both Release in any order):
    each goes home exactly once, on the thread whose Release returned 0."""
    allocator = make_pool(3)
    recorder = NotifyRecorder()
    allocator.SetNotify(recorder)
    mailbox: queue.Queue[MediaSample | None] = queue.Queue(maxsize=2)
    total = 5000

    def produce() -> list[int]:
        zeros = []
        for i in range(total):
            sample = allocator.GetBuffer()
            sample.GetPointer()[:4] = i.to_bytes(4, "little")
            sample.SetActualDataLength(4)
            sample.AddRef()
            mailbox.put(sample)
            if sample.Release() == 0:
                zeros.append(threading.get_ident())
        mailbox.put(None)
        return zeros

    def consume() -> tuple[list[int], list[int]]:
        zeros, seen = [], []
        while (sample := mailbox.get(timeout=10)) is not None:
            seen.append(int.from_bytes(sample.GetPointer()[:4], "little"))
            if sample.Release() == 0:
                zeros.append(threading.get_ident())
        return zeros, seen

    producer = Worker(produce, name="producer")
    consumer = Worker(consume, name="consumer")
    producer.start()
    consumer.start()
    producer_zeros = producer.finish(timeout=25)
    consumer_zeros, seen = consumer.finish(timeout=25)
    assert seen == list(range(total))
    assert len(producer_zeros) + len(consumer_zeros) == total
    assert Counter(recorder.threads) == Counter(producer_zeros + consumer_zeros)
    assert allocator.GetFreeCount() == 3


# -- Decommit with samples out ---------------------------------------------------------------


def _hold_until(allocator: MemAllocator, got: queue.Queue, go: threading.Event) -> bytes:
    """Take a sample, report it, wait for ``go``, write to it, then release it."""
    sample = allocator.GetBuffer()
    got.put(sample)
    assert go.wait(5)
    name = threading.current_thread().name.encode()
    sample.GetPointer()[: len(name)] = name
    data = bytes(sample.GetPointer()[: len(name)])
    assert sample.Release() == 0
    return data


@pytest.mark.timeout(10)
def test_decommit_with_samples_out_in_other_threads(make_pool):
    """After Decommit, samples held by other threads stay writable; the memory goes only when
    the last of them comes home."""
    allocator = make_pool(3)
    got: queue.Queue[MediaSample] = queue.Queue()
    go = [threading.Event(), threading.Event()]
    holders = [Worker(_hold_until, allocator, got, go[i], name=f"holder-{i}") for i in range(2)]
    for h in holders:
        h.start()
    held = {got.get(timeout=5), got.get(timeout=5)}
    assert allocator.GetFreeCount() == 1

    allocator.Decommit()
    assert not allocator.committed
    assert allocator.allocated == 3
    with pytest.raises(VfwNotCommittedError):
        allocator.GetBuffer(flags=AM_GBF_NOWAIT)
    with pytest.raises(VfwBuffersOutstandingError):
        allocator.SetProperties(AllocatorProperties(3, BUFFER_SIZE, 1, 0))

    go[0].set()
    assert holders[0].finish() == b"holder-0"
    assert allocator.allocated == 3
    assert allocator.GetFreeCount() == 2
    go[1].set()
    assert holders[1].finish() == b"holder-1"
    assert allocator.allocated == 0
    assert allocator.GetFreeCount() == 3
    for sample in held:
        with pytest.raises(UnexpectedError):
            sample.GetPointer()


@pytest.mark.timeout(10)
def test_commit_before_the_last_sample_comes_home_cancels_the_decommit(make_pool):
    """A Commit while a Decommit waits for samples cancels it: the same sample objects stay
    in service, and the one released afterwards is the next one handed out."""
    allocator = make_pool(2)
    got: queue.Queue[MediaSample] = queue.Queue()
    go = threading.Event()
    holder = Worker(_hold_until, allocator, got, go, name="holder")
    holder.start()
    out = got.get(timeout=5)
    home = allocator.GetBuffer()
    assert home.Release() == 0

    allocator.Decommit()
    assert allocator.allocated == 2
    allocator.Commit()
    assert allocator.committed
    go.set()
    assert holder.finish() == b"holder"
    assert allocator.allocated == 2
    assert allocator.GetFreeCount() == 2
    first = allocator.GetBuffer()
    second = allocator.GetBuffer()
    assert first is out  # LIFO: released last, handed out first
    assert second is home
    assert bytes(first.GetPointer()[:6]) == b"holder"
    assert first.Release() == 0
    assert second.Release() == 0


# -- NotifyRelease ---------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_notify_release_runs_on_the_releasing_thread_outside_allocator_locks(make_pool):
    """NotifyRelease runs on the thread of the final Release, with the sample already home
    and no allocator lock held: another thread can use the allocator meanwhile."""
    allocator = make_pool(1)
    seen: dict[str, Any] = {}

    def use_allocator() -> None:
        seen["free"] = allocator.GetFreeCount()
        seen["sample"] = allocator.GetBuffer(flags=AM_GBF_NOWAIT)  # the one just released
        with pytest.raises(VfwTimeoutError):  # empty pool: the waiting path, under the lock
            allocator.GetBuffer(flags=AM_GBF_NOWAIT)
        allocator.Commit()  # idempotent, takes the lock
        seen["outstanding"] = [o.sample for o in allocator.outstanding()]

    class Callback:
        def __init__(self) -> None:
            self.threads: list[int] = []

        def NotifyRelease(self) -> None:
            self.threads.append(threading.get_ident())
            if len(self.threads) == 1:
                helper = threading.Thread(target=use_allocator, name="helper", daemon=True)
                helper.start()
                helper.join(5)
                seen["helper finished"] = not helper.is_alive()

    callback = Callback()
    allocator.SetNotify(callback)
    sample = allocator.GetBuffer()
    releaser = Worker(sample.Release, name="releaser")
    releaser.start()
    assert releaser.finish(timeout=8) == 0
    assert callback.threads == [releaser.ident]
    assert seen["helper finished"]
    assert seen["free"] == 1
    assert seen["sample"] is sample
    assert seen["outstanding"] == [sample]
    assert sample.Release() == 0  # the helper's reference, handed over to this thread
    assert callback.threads == [releaser.ident, threading.get_ident()]


@pytest.mark.timeout(10)
def test_free_count_stays_full_while_decommit_releases_memory():
    """GetFreeCount read by another thread while Decommit frees an all-home pool reports every
    sample free (API.md §3: it equals buffers whenever every sample has come home)."""
    readings: list[int] = []

    class ProbingAllocator(SystemMemoryAllocator):
        """System memory whose Free lets another thread read the pool's free count."""

        pool: MemAllocator | None = None

        def Free(self, memory: Any) -> None:
            super().Free(memory)
            if self.pool is not None:
                reader = threading.Thread(
                    target=lambda: readings.append(self.pool.GetFreeCount()), daemon=True
                )
                reader.start()
                reader.join(5)

    memory_allocator = ProbingAllocator()
    allocator = MemAllocator(memory_allocator=memory_allocator)
    memory_allocator.pool = allocator
    allocator.SetProperties(AllocatorProperties(3, BUFFER_SIZE, 1, 0))
    allocator.Commit()
    assert allocator.GetFreeCount() == 3
    allocator.Decommit()
    assert allocator.allocated == 0
    assert len(readings) == 3
    assert readings == [3, 3, 3]


@pytest.mark.timeout(10)
def test_free_count_is_steady_while_a_pending_decommit_is_rechecked(fast_switching):
    """While one sample of 64 is out, GetFreeCount read by another thread says 63 throughout
    any number of Decommit/Commit cycles (Commit cancels the pending decommit)."""
    allocator = MemAllocator()
    allocator.SetProperties(AllocatorProperties(64, BUFFER_SIZE, 1, 0))
    allocator.Commit()
    held = allocator.GetBuffer()
    stop = threading.Event()
    wrong: list[int] = []

    def poll() -> None:
        while not stop.is_set():
            if (free := allocator.GetFreeCount()) != 63:
                wrong.append(free)
                stop.set()

    poller = Worker(poll, name="poller")
    poller.start()
    deadline = time.monotonic() + 3.0  # ends at once when a wrong reading is seen
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            allocator.Decommit()
            allocator.Commit()
    finally:
        stop.set()
        poller.finish()
        held.Release()
        allocator.Decommit()
    assert wrong == []


# -- a model of the pool, driven by hypothesis -----------------------------------------------


class PoolModel(RuleBasedStateMachine):
    """Random single-threaded sequences of pool calls, checked against a model of the pool."""

    @initialize()
    def start(self) -> None:
        self.allocator = MemAllocator()
        self.recorder = NotifyRecorder()
        self.allocator.SetNotify(self.recorder)
        self.buffers = 0  # as last set; 0 = never configured
        self.committed = False
        self.allocated = 0  # samples that exist (0 when no commit or decommit completed)
        # The free stack (LIFO, top last). None stands for a fresh sample not yet seen.
        self.free: list[MediaSample | None] = []
        self.generation: set[MediaSample] = set()  # samples seen in the current allocation
        self.refs: dict[MediaSample, int] = {}  # samples out, with their counts
        self.known: list[MediaSample] = []  # every sample ever handed out
        self.notified = 0

    def _come_home(self, sample: MediaSample) -> None:
        del self.refs[sample]
        self.free.append(sample)
        self.notified += 1
        if not self.committed and not self.refs:  # a pending decommit completes
            self.allocated = 0
            self.free = []
            self.generation = set()

    @rule(buffers=st.integers(min_value=0, max_value=4))
    def set_properties(self, buffers: int) -> None:
        request = AllocatorProperties(buffers, BUFFER_SIZE, 1, 0)
        if self.committed:
            with pytest.raises(VfwAlreadyCommittedError):
                self.allocator.SetProperties(request)
        elif self.allocated:
            with pytest.raises(VfwBuffersOutstandingError):
                self.allocator.SetProperties(request)
        else:
            assert self.allocator.SetProperties(request) == request
            self.buffers = buffers

    @rule()
    def set_properties_bad_align(self) -> None:
        with pytest.raises(VfwBadAlignError):
            self.allocator.SetProperties(AllocatorProperties(2, BUFFER_SIZE, 3, 0))

    @rule()
    def commit(self) -> None:
        if self.committed:
            self.allocator.Commit()
        elif self.buffers == 0:
            with pytest.raises(VfwSizeNotSetError):
                self.allocator.Commit()
        else:
            self.allocator.Commit()
            self.committed = True
            if not self.allocated:
                self.allocated = self.buffers
                self.free = [None] * self.buffers

    @rule()
    def decommit(self) -> None:
        self.allocator.Decommit()
        if self.committed:
            self.committed = False
            if not self.refs:
                self.allocated = 0
                self.free = []
                self.generation = set()

    @rule()
    def get_buffer(self) -> None:
        if not self.committed:
            with pytest.raises(VfwNotCommittedError):
                self.allocator.GetBuffer(flags=AM_GBF_NOWAIT)
            return
        if not self.free:
            with pytest.raises(VfwTimeoutError):
                self.allocator.GetBuffer(flags=AM_GBF_NOWAIT)
            return
        sample = self.allocator.GetBuffer(flags=AM_GBF_NOWAIT)
        expected = self.free.pop()
        if expected is None:  # a fresh sample: any one of this allocation not seen yet
            assert sample not in self.generation
            self.generation.add(sample)
            if sample not in self.known:
                self.known.append(sample)
        else:
            assert sample is expected  # LIFO
        assert sample not in self.refs
        assert sample.ref_count == 1
        assert sample.GetSize() == BUFFER_SIZE
        self.refs[sample] = 1

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def add_ref(self, data: st.DataObject) -> None:
        sample = data.draw(st.sampled_from(self.known))
        if sample in self.refs:
            self.refs[sample] += 1
            assert sample.AddRef() == self.refs[sample]
        else:
            with pytest.raises(UnexpectedError) as info:
                sample.AddRef()
            assert info.value.hresult == HRESULT.E_UNEXPECTED

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        sample = data.draw(st.sampled_from(self.known))
        if sample in self.refs:
            self.refs[sample] -= 1
            assert sample.Release() == self.refs[sample]
            if self.refs[sample] == 0:
                self._come_home(sample)
        else:
            with pytest.raises(UnexpectedError) as info:
                sample.Release()
            assert info.value.hresult == HRESULT.E_UNEXPECTED

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def use(self, data: st.DataObject) -> None:
        sample = data.draw(st.sampled_from(self.known))
        if sample in self.refs:
            sample.SetTime(1, 2)
            assert sample.GetTime() == (1, 2)
            sample.GetPointer()[0] = 7
        else:
            with pytest.raises(UnexpectedError):
                sample.GetPointer()
            with pytest.raises(UnexpectedError):
                sample.SetTime(1, 2)

    @invariant()
    def matches_model(self) -> None:
        allocator = self.allocator
        assert allocator.committed == self.committed
        assert allocator.allocated == self.allocated
        assert allocator.GetFreeCount() == self.buffers - len(self.refs)
        assert {o.sample: o.refs for o in allocator.outstanding()} == self.refs
        assert self.recorder.count == self.notified
        for sample in self.known:
            assert sample.ref_count == self.refs.get(sample, 0)

    def teardown(self) -> None:
        for sample, count in list(self.refs.items()):
            for _ in range(count):
                sample.Release()
        self.allocator.Decommit()
        assert self.allocator.allocated == 0


@pytest.mark.timeout(30)
def test_pool_against_a_model():
    """Random interleavings of SetProperties/Commit/Decommit/GetBuffer/AddRef/Release on one
    thread match a model of the pool: free count, commit state, which samples are out with
    which counts, LIFO reuse, E_UNEXPECTED on samples that are home, one NotifyRelease per
    final release."""
    run_state_machine_as_test(
        PoolModel,
        settings=settings(max_examples=150, stateful_step_count=40, deadline=None, database=None),
    )
