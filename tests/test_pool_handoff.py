"""A sample that comes home while a thread waits in GetBuffer goes to that thread, never to
a caller on the fast path; handed samples nobody takes go back to the free list; SetNotify
waits for calls of the callback it replaces."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dshow_alloc import (
    AM_GBF_NOWAIT,
    HRESULT,
    AllocatorProperties,
    MemAllocator,
    VfwNotCommittedError,
    VfwTimeoutError,
    VfwWrongStateError,
)
from dshow_alloc.testing.graph import wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pool() -> Iterator[MemAllocator]:
    """A committed allocator of one 64-byte sample, decommitted at the end."""
    allocator = MemAllocator(name="handoff")
    allocator.SetProperties(AllocatorProperties(1, 64, 1, 0))
    allocator.Commit()
    yield allocator
    allocator.Decommit()


def start_waiter(
    allocator: MemAllocator, timeout: float = 10.0
) -> tuple[threading.Thread, list[Any]]:
    """A thread blocked in ``GetBuffer(timeout=...)``; returns once it is counted as waiting.
    Its result (a sample or the COMError) lands in the list."""
    results: list[Any] = []
    before = allocator.waiting

    def run() -> None:
        try:
            results.append(allocator.GetBuffer(timeout=timeout))
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=run, name="handoff-waiter")
    thread.start()
    wait_until(lambda: allocator.waiting == before + 1 or results)
    return thread, results


def test_release_goes_to_the_waiter_not_to_the_releasers_next_get_buffer(
    pool: MemAllocator,
) -> None:
    """Releasing then asking again at once finds nothing: the waiter got the sample."""
    held = pool.GetBuffer()
    thread, results = start_waiter(pool)
    held.Release()
    with pytest.raises(VfwTimeoutError):
        pool.GetBuffer(flags=AM_GBF_NOWAIT)
    thread.join(10)
    assert results == [held]
    assert pool.waiting == 0
    results[0].Release()
    assert pool.GetFreeCount() == 1


def test_two_waiters_two_releases_each_gets_one(pool: MemAllocator) -> None:
    """Two samples released with two threads waiting: each thread gets one, the releaser none."""
    pool.Decommit()
    pool.SetProperties(AllocatorProperties(2, 64, 1, 0))
    pool.Commit()
    first, second = pool.GetBuffer(), pool.GetBuffer()
    thread_a, results_a = start_waiter(pool)
    thread_b, results_b = start_waiter(pool)
    assert pool.waiting == 2
    first.Release()
    second.Release()
    with pytest.raises(VfwTimeoutError):
        pool.GetBuffer(flags=AM_GBF_NOWAIT)
    thread_a.join(10)
    thread_b.join(10)
    got = results_a + results_b
    assert len(got) == 2
    assert {id(sample) for sample in got} == {id(first), id(second)}
    for sample in got:
        sample.Release()
    assert pool.GetFreeCount() == 2


def test_decommit_with_a_waiter_retires_every_sample(pool: MemAllocator) -> None:
    """Decommit wakes the waiter with VFW_E_NOT_COMMITTED and, once the last sample is home,
    the pool holds no sample: none is stranded in the hand-over."""
    held = pool.GetBuffer()
    thread, results = start_waiter(pool)
    pool.Decommit()
    thread.join(10)
    assert isinstance(results[0], VfwNotCommittedError)
    assert results[0].hresult == HRESULT.VFW_E_NOT_COMMITTED
    held.Release()
    assert pool.allocated == 0


def test_flush_returns_an_untaken_hand_over_to_the_free_list(pool: MemAllocator) -> None:
    """A waiter flushed out leaves nothing promised: after SetFlushing(False) the sample is free."""
    held = pool.GetBuffer()
    thread, results = start_waiter(pool)
    pool.SetFlushing(True)
    thread.join(10)
    assert isinstance(results[0], VfwWrongStateError)
    held.Release()
    pool.SetFlushing(False)
    assert pool.GetFreeCount() == 1
    again = pool.GetBuffer(flags=AM_GBF_NOWAIT)
    assert again is held
    again.Release()


def test_many_releases_and_waiters_lose_no_sample(pool: MemAllocator) -> None:
    """Four threads taking and releasing 500 times each through a 2-sample pool: every
    GetBuffer succeeds and every sample ends at home."""
    pool.Decommit()
    pool.SetProperties(AllocatorProperties(2, 64, 1, 0))
    pool.Commit()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for _ in range(500):
                pool.GetBuffer(timeout=10).Release()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn, name=f"churn-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert pool.waiting == 0
    assert pool.GetFreeCount() == 2


class _Callback:
    """A NotifyRelease that records its calls and can be held inside the call."""

    def __init__(self, hold: bool = False) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.go = threading.Event()
        self.hold = hold
        self.log: list[str] = []
        self.on_call: Any = None

    def NotifyRelease(self) -> None:
        self.calls += 1
        self.entered.set()
        if self.on_call is not None:
            self.on_call()
        if self.hold:
            self.go.wait(10)
        self.log.append("callback returned")


def test_set_notify_waits_for_a_call_of_the_old_callback(pool: MemAllocator) -> None:
    """SetNotify(None) returns only after a NotifyRelease already under way has returned, and
    the old callback is not called again."""
    callback = _Callback(hold=True)
    pool.SetNotify(callback)
    sample = pool.GetBuffer()
    releaser = threading.Thread(target=sample.Release, name="releaser")
    releaser.start()
    assert callback.entered.wait(10)

    def clear() -> None:
        pool.SetNotify(None)
        callback.log.append("SetNotify returned")

    setter = threading.Thread(target=clear, name="setter")
    setter.start()
    setter.join(0.2)  # a grace period for a wrong early return, not a timing assertion
    assert setter.is_alive()
    callback.go.set()
    setter.join(10)
    releaser.join(10)
    assert callback.log == ["callback returned", "SetNotify returned"]
    pool.GetBuffer().Release()
    assert callback.calls == 1


def test_set_notify_from_inside_the_callback_does_not_wait_for_itself(
    pool: MemAllocator,
) -> None:
    """A callback that removes itself returns: SetNotify does not wait for its own caller."""
    callback = _Callback()
    callback.on_call = lambda: pool.SetNotify(None)
    pool.SetNotify(callback)
    pool.GetBuffer().Release()
    pool.GetBuffer().Release()
    assert callback.calls == 1
    assert callback.log == ["callback returned"]
