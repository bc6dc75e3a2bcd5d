"""A sample that comes home while a thread waits in GetBuffer goes to that thread, never to
a caller on the fast path; handed samples nobody takes go back to the free list."""

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
