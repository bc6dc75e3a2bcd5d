"""Pools discard samples that come home changed (blocks added, removed or replaced, or still
shared) and make replacements on demand; a block only resized is restored. Also the pool
option "video-meta"."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from dshow_alloc import (
    AM_GBF_NOWAIT,
    HRESULT,
    MEDIASUBTYPE_PCM,
    AllocatorProperties,
    FORMAT_WaveFormatEx,
    InvalidArgError,
    MapFlags,
    MediaSample,
    MediaType,
    MEDIATYPE_Audio,
    MemAllocator,
    MetaFlags,
    UnexpectedError,
    VfwTimeoutError,
    VideoInfoHeader,
    WaveFormatEx,
    find_allocator,
    register_meta,
    video_layout,
    video_type,
)
from dshow_alloc.pool import PoolConfig
from dshow_alloc.testing.allocator import NotifyRecorder
from dshow_alloc.testing.checks import raises_hresult
from dshow_alloc.video import VIDEO_META

SIZE = 64
TIMEOUT = 10.0


def block(size: int, fill: int = 0) -> Any:
    memory = find_allocator(None).Alloc(size)
    with memory.Map(MapFlags.WRITE) as info:
        info.data[:] = bytes([fill]) * size
    return memory


# Pool kinds: (how to configure, min_buffers, max_buffers).
KINDS = {
    "fixed": (lambda pool: pool.SetProperties(AllocatorProperties(2, SIZE, 1, 0)), 2, 2),
    "bounded": (lambda pool: pool.SetConfig(PoolConfig(SIZE, 1, 2)), 1, 2),
    "unlimited": (lambda pool: pool.SetConfig(PoolConfig(SIZE, 1, 0)), 1, 0),
}


def make_pool(pools: list[MemAllocator], kind: str) -> MemAllocator:
    configure, _, _ = KINDS[kind]
    pool = MemAllocator(name=f"discard-{kind}", starvation_warning=None)
    pools.append(pool)
    configure(pool)
    pool.Commit()
    return pool


def fixed(pools: list[MemAllocator], buffers: int, **config: Any) -> MemAllocator:
    pool = MemAllocator(name=f"fixed-{buffers}", starvation_warning=None)
    pools.append(pool)
    if config:
        pool.SetConfig(PoolConfig(SIZE, buffers, buffers, **config))
    else:
        pool.SetProperties(AllocatorProperties(buffers, SIZE, 1, 0))
    pool.Commit()
    return pool


def out(pool: MemAllocator) -> list[tuple[int, int]]:
    """The outstanding samples as (id, refs)."""
    return sorted((id(o.sample), o.refs) for o in pool.outstanding())


# -- the ways a sample comes home -------------------------------------------------------------
# Each change takes the pool sample and returns what it keeps alive (released after the pool
# sample's release, so that it is still alive at that moment).

Change = Callable[[MediaSample], list[Any]]


def append(sample: MediaSample) -> list[Any]:
    sample.AppendMemory(block(8))
    return []


def insert(sample: MediaSample) -> list[Any]:
    sample.InsertMemory(0, block(8))
    return []


def replace(sample: MediaSample) -> list[Any]:
    sample.ReplaceMemory(0, block(SIZE))  # same size: still a replaced block
    return []


def replace_by_itself(sample: MediaSample) -> list[Any]:
    sample.ReplaceMemory(0, sample.GetMemory(0))
    return []


def remove(sample: MediaSample) -> list[Any]:
    sample.RemoveMemory(0)
    assert sample.GetMemoryCount() == 0
    return []


def append_then_remove(sample: MediaSample) -> list[Any]:
    sample.AppendMemory(block(8))
    sample.RemoveMemory(1)  # back to the pool's own single block, but it was changed
    return []


def cow_pointer(sample: MediaSample) -> list[Any]:
    copy = sample.Copy()
    sample.GetPointer()[0] = 0xAB  # copy-on-write: the pool sample gets a new block
    assert sample.PeekMemory(0) is not copy.PeekMemory(0)
    return [copy]


def cow_map(sample: MediaSample) -> list[Any]:
    copy = sample.Copy()
    with sample.Map(MapFlags.WRITE) as mapping:
        mapping.data[0] = 0xAB
    return [copy]


def cow_copy_released_first(sample: MediaSample) -> list[Any]:
    copy = sample.Copy()
    sample.GetPointer()[0] = 0xAB
    copy.Release()  # nothing shares now, but the block was replaced
    return []


def shallow_copy_alive(sample: MediaSample) -> list[Any]:
    return [sample.Copy()]


def region_copy_alive(sample: MediaSample) -> list[Any]:
    return [sample.Copy(offset=4, size=8)]


def make_writable_copy_alive(sample: MediaSample) -> list[Any]:
    sample.AddRef()
    writable = sample.MakeWritable()  # drops our second reference, shares the block
    assert writable is not sample
    return [writable]


def share_alive(sample: MediaSample) -> list[Any]:
    return [sample.PeekMemory(0).Share(0, 8)]


def shallow_copy_released(sample: MediaSample) -> list[Any]:
    sample.Copy().Release()
    return []


def deep_copy_alive(sample: MediaSample) -> list[Any]:
    return [sample.Copy(deep=True)]


def share_released(sample: MediaSample) -> list[Any]:
    sample.PeekMemory(0).Share(0, 8).Release()
    return []


def get_memory_alive(sample: MediaSample) -> list[Any]:
    return [sample.GetMemory(0)]  # a reference, not a lock: the block is not shared


def resize_shrink(sample: MediaSample) -> list[Any]:
    sample.PeekMemory(0).Resize(0, 16)
    assert sample.GetSize() == 16
    return []


def resize_shift(sample: MediaSample) -> list[Any]:
    sample.PeekMemory(0).Resize(4, 8)
    return []


def resize_empty(sample: MediaSample) -> list[Any]:
    sample.PeekMemory(0).Resize(0, 0)
    return []


def write_only(sample: MediaSample) -> list[Any]:
    sample.GetPointer()[:] = bytes(range(SIZE))
    return []


def map_write_only(sample: MediaSample) -> list[Any]:
    with sample.Map(MapFlags.WRITE) as mapping:
        mapping.data[:4] = b"abcd"
    return []


def fields_only(sample: MediaSample) -> list[Any]:
    sample.SetTime(10, 20)
    sample.SetActualDataLength(3)
    sample.SetSyncPoint(True)
    sample.SetReadOnly(True)
    return []


CHANGES: list[tuple[Change, bool]] = [
    (append, True),
    (insert, True),
    (replace, True),
    (replace_by_itself, True),
    (remove, True),
    (append_then_remove, True),
    (cow_pointer, True),
    (cow_map, True),
    (cow_copy_released_first, True),
    (shallow_copy_alive, True),
    (region_copy_alive, True),
    (make_writable_copy_alive, True),
    (share_alive, True),
    (shallow_copy_released, False),
    (deep_copy_alive, False),
    (share_released, False),
    (get_memory_alive, False),
    (resize_shrink, False),
    (resize_shift, False),
    (resize_empty, False),
    (write_only, False),
    (map_write_only, False),
    (fields_only, False),
]
CHANGE_IDS = [change.__name__ for change, _ in CHANGES]
DISCARDING = [change for change, discarded in CHANGES if discarded]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("change", "discarded"), CHANGES, ids=CHANGE_IDS)
def test_change_then_release(
    pools: list[MemAllocator], kind: str, change: Change, discarded: bool
) -> None:
    """A changed or still-shared sample is discarded (counted, no longer allocated, never
    handed out again), anything else is reused; the free count and the outstanding list stay
    exact, and the pool hands out as many samples as before without blocking."""
    _, min_buffers, max_buffers = KINDS[kind]
    pool = make_pool(pools, kind)
    assert pool.allocated == min_buffers
    sample = pool.GetBuffer(flags=AM_GBF_NOWAIT)
    assert sample.index == 0
    free_while_out = max_buffers - 1 if max_buffers else min_buffers - 1
    assert pool.GetFreeCount() == free_while_out
    survivors = change(sample)
    assert pool.GetFreeCount() == free_while_out
    assert out(pool) == [(id(sample), 1)]
    assert pool.discarded == 0

    assert sample.Release() == 0
    allocated = min_buffers - 1 if discarded else min_buffers
    assert pool.discarded == (1 if discarded else 0)
    assert pool.allocated == allocated
    assert pool.outstanding() == []
    assert pool.GetFreeCount() == (max_buffers or allocated)
    for survivor in survivors:
        survivor.Release()
    assert pool.allocated == allocated
    assert pool.GetFreeCount() == (max_buffers or allocated)

    got = [pool.GetBuffer(flags=AM_GBF_NOWAIT) for _ in range(2)]
    try:
        if discarded:
            assert all(s is not sample for s in got)
            assert sorted(s.index for s in got) == [1, 2]  # numbers are not reused
        else:
            assert got[0] is sample  # LIFO: the sample just released comes first
            assert sorted(s.index for s in got) == [0, 1]
        for s in got:
            assert s.GetMemoryCount() == 1
            assert s.GetSize() == SIZE
            assert s.PeekMemory(0).size == SIZE
            assert s.IsWritable() and not s.IsReadOnly()
            assert len(s.GetPointer()) == SIZE
        assert pool.allocated == 2
        assert pool.GetFreeCount() == 0
        if max_buffers:
            with raises_hresult(VfwTimeoutError, HRESULT.VFW_E_TIMEOUT):
                pool.GetBuffer(flags=AM_GBF_NOWAIT)
        assert out(pool) == sorted((id(s), 1) for s in got)
    finally:
        for s in got:
            s.Release()
    assert pool.discarded == (1 if discarded else 0)
    assert pool.GetFreeCount() == 2
    assert pool.allocated == 2


@pytest.mark.parametrize("change", DISCARDING, ids=[c.__name__ for c in DISCARDING])
def test_discard_with_samples_still_out(pools: list[MemAllocator], change: Change) -> None:
    """Discarding one sample while the others are out frees exactly one place."""
    pool = fixed(pools, 3)
    held = [pool.GetBuffer() for _ in range(3)]
    assert pool.GetFreeCount() == 0
    survivors = change(held[1])
    held[1].Release()
    try:
        assert pool.discarded == 1
        assert pool.allocated == 2
        assert pool.GetFreeCount() == 1
        assert out(pool) == sorted([(id(held[0]), 1), (id(held[2]), 1)])
        replacement = pool.GetBuffer(flags=AM_GBF_NOWAIT)
        assert replacement.index == 3
        assert pool.GetFreeCount() == 0
        with raises_hresult(VfwTimeoutError, HRESULT.VFW_E_TIMEOUT):
            pool.GetBuffer(flags=AM_GBF_NOWAIT)
        replacement.Release()
    finally:
        for s in (held[0], held[2], *survivors):
            s.Release()
    assert pool.GetFreeCount() == 3
    assert pool.allocated == 3


def test_discarded_sample_is_stale(pools: list[MemAllocator]) -> None:
    """A discarded sample refuses every call with E_UNEXPECTED, like any released one."""
    pool = fixed(pools, 1)
    sample = pool.GetBuffer()
    sample.AppendMemory(block(4))
    sample.Release()
    assert pool.discarded == 1
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sample.GetPointer()
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sample.Release()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(change, expected, id=change.__name__)
        for change, expected in [
            (shallow_copy_alive, bytes(range(SIZE))),
            (region_copy_alive, bytes(range(4, 12))),
            (share_alive, bytes(range(8))),
            (cow_pointer, bytes(range(SIZE))),
            (make_writable_copy_alive, bytes(range(SIZE))),
        ]
    ],
)
def test_survivors_keep_their_bytes(
    pools: list[MemAllocator], change: Change, expected: bytes
) -> None:
    """What still shares a discarded sample's memory keeps reading its bytes, even after the
    pool is decommitted and gone to zero samples."""
    pool = fixed(pools, 1)
    sample = pool.GetBuffer()
    sample.GetPointer()[:] = bytes(range(SIZE))
    (survivor,) = change(sample)
    sample.Release()
    assert pool.discarded == 1
    pool.Decommit()
    assert pool.allocated == 0
    try:
        if isinstance(survivor, MediaSample):
            data = bytes(survivor.GetPointer())
        else:
            with survivor.Map() as info:
                data = bytes(info.data)
        assert data == expected
    finally:
        survivor.Release()


def test_copy_on_write_keeps_copies_apart(pools: list[MemAllocator]) -> None:
    """After copy-on-write the copy keeps the old bytes and the pool sample has the new ones;
    the pool sample is then discarded, the copy untouched."""
    pool = fixed(pools, 1)
    sample = pool.GetBuffer()
    sample.GetPointer()[:] = b"\x01" * SIZE
    copy = sample.Copy()
    sample.GetPointer()[:4] = b"new!"
    assert bytes(copy.GetPointer()[:4]) == b"\x01" * 4
    assert bytes(sample.GetPointer()[:4]) == b"new!"
    sample.Release()
    assert pool.discarded == 1
    assert bytes(copy.GetPointer()) == b"\x01" * SIZE
    copy.Release()
    with pool.GetBuffer(flags=AM_GBF_NOWAIT) as fresh:
        assert fresh is not sample
        assert fresh.index == 1


# -- resize only: restored ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "size"),
    [(0, 16), (4, 8), (0, 0), (-8, SIZE), (0, SIZE + 16), (-8, SIZE + 24), (24, 40)],
)
def test_resize_is_restored(pools: list[MemAllocator], delta: int, size: int) -> None:
    """A block that was only resized (within prefix and padding) is given back the pool's
    offset and size at release, and the same sample is reused, not discarded."""
    pool = fixed(pools, 1, prefix=8, padding=16)
    sample = pool.GetBuffer()
    memory = sample.PeekMemory(0)
    assert (memory.offset, memory.size, memory.maxsize) == (8, SIZE, 8 + SIZE + 16)
    address = memory.address
    memory.Resize(delta, size)
    assert sample.GetSize() == size
    assert len(sample.GetPointer()) == size
    sample.Release()
    assert pool.discarded == 0
    assert pool.allocated == 1
    assert pool.GetFreeCount() == 1
    with pool.GetBuffer(flags=AM_GBF_NOWAIT) as again:
        assert again is sample
        assert again.PeekMemory(0) is memory
        assert (memory.offset, memory.size) == (8, SIZE)
        assert memory.address == address
        assert again.GetSize() == SIZE
        assert len(again.GetPointer()) == SIZE
    assert pool.discarded == 0


def test_restored_sample_actual_length_fits(pools: list[MemAllocator]) -> None:
    """After a resize into the padding is undone, the actual data length fits the sample."""
    pool = fixed(pools, 1, padding=16)
    sample = pool.GetBuffer()
    sample.PeekMemory(0).Resize(0, SIZE + 16)
    assert sample.GetActualDataLength() == SIZE + 16
    sample.Release()
    with pool.GetBuffer() as again:
        assert again is sample
        assert again.GetSize() == SIZE
        assert 0 <= again.GetActualDataLength() <= again.GetSize()


def test_resize_then_append_is_discarded(pools: list[MemAllocator]) -> None:
    """A resize does not save a sample whose blocks were also changed."""
    pool = fixed(pools, 1)
    sample = pool.GetBuffer()
    sample.PeekMemory(0).Resize(0, 8)
    sample.AppendMemory(block(8))
    sample.Release()
    assert pool.discarded == 1
    assert pool.allocated == 0
    assert pool.GetFreeCount() == 1


def test_resize_with_share_alive_is_discarded(pools: list[MemAllocator]) -> None:
    """A resized block that is shared at release is discarded, not restored."""
    pool = fixed(pools, 1)
    sample = pool.GetBuffer()
    sample.PeekMemory(0).Resize(0, 8)
    shared = sample.PeekMemory(0).Share(0, 4)
    sample.Release()
    try:
        assert pool.discarded == 1
        assert pool.allocated == 0
    finally:
        shared.Release()


def test_blocks_added_by_prepare_sample_are_not_a_change(pools: list[MemAllocator]) -> None:
    """A sample built with two blocks by prepare_sample comes home unchanged and is reused."""

    class TwoBlockPool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            sample.AppendMemory(block(8))

    pool = TwoBlockPool()
    pools.append(pool)
    pool.SetProperties(AllocatorProperties(1, SIZE, 1, 0))
    pool.Commit()
    sample = pool.GetBuffer()
    assert sample.GetMemoryCount() == 2
    sample.Release()
    assert pool.discarded == 0
    with pool.GetBuffer(flags=AM_GBF_NOWAIT) as again:
        assert again is sample


# -- waiters -----------------------------------------------------------------------------------


def start_waiters(pool: MemAllocator, count: int) -> tuple[list[threading.Thread], list[Any]]:
    """Start ``count`` threads blocked in GetBuffer (no timeout: only a wake-up frees them);
    return once all are counted as waiting."""
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            outcome: Any = pool.GetBuffer()
        except Exception as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, name=f"discard-waiter-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    done = threading.Event()
    while pool._waiters < count and not done.wait(0.001):  # the documented waiter count
        assert all(t.is_alive() for t in threads), results
    return threads, results


def join(pool: MemAllocator, threads: list[threading.Thread]) -> None:
    """Join the threads; one still blocked after TIMEOUT was never woken: flush the pool to
    free it, then fail."""
    for thread in threads:
        thread.join(TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        pool.SetFlushing(True)
        for thread in threads:
            thread.join(TIMEOUT)
        pytest.fail(f"GetBuffer never woke in {stuck}")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fixed", "bounded"])
@pytest.mark.parametrize("change", [append, share_alive, cow_pointer], ids=lambda c: c.__name__)
def test_discard_wakes_a_waiter(pools: list[MemAllocator], kind: str, change: Change) -> None:
    """A GetBuffer blocked on a full pool wakes when a discard frees a place, and gets a new
    sample."""
    pool = MemAllocator(name=f"waiter-{kind}", starvation_warning=None)
    pools.append(pool)
    if kind == "fixed":
        pool.SetProperties(AllocatorProperties(1, SIZE, 1, 0))
    else:
        pool.SetConfig(PoolConfig(SIZE, 0, 1))
    pool.Commit()
    held = pool.GetBuffer()
    threads, results = start_waiters(pool, 1)
    assert results == []
    survivors = change(held)
    held.Release()
    join(pool, threads)
    try:
        assert len(results) == 1
        (got,) = results
        assert isinstance(got, MediaSample)
        assert got is not held
        assert got.index == 1
        assert pool.discarded == 1
        assert pool.allocated == 1
        assert pool.GetFreeCount() == 0
        assert out(pool) == [(id(got), 1)]
        got.Release()
    finally:
        for survivor in survivors:
            survivor.Release()
    assert pool.GetFreeCount() == 1


@pytest.mark.timeout(30)
def test_two_discards_wake_two_waiters(pools: list[MemAllocator]) -> None:
    """Two waiters on a full pool of two each get a distinct new sample after two discards."""
    pool = fixed(pools, 2)
    held = [pool.GetBuffer(), pool.GetBuffer()]
    threads, results = start_waiters(pool, 2)
    held[0].AppendMemory(block(4))
    held[0].Release()
    copy = held[1].Copy()
    held[1].Release()
    join(pool, threads)
    try:
        assert len(results) == 2
        assert all(isinstance(r, MediaSample) for r in results)
        assert results[0] is not results[1]
        assert sorted(r.index for r in results) == [2, 3]
        assert not any(r is h for r in results for h in held)
        assert pool.discarded == 2
        assert pool.allocated == 2
    finally:
        copy.Release()
        for r in results:
            if isinstance(r, MediaSample):
                r.Release()
    assert pool.GetFreeCount() == 2


@pytest.mark.timeout(30)
def test_reused_release_still_wakes_a_waiter(pools: list[MemAllocator]) -> None:
    """A resized-only sample is restored and handed to the waiter itself."""
    pool = fixed(pools, 1)
    held = pool.GetBuffer()
    threads, results = start_waiters(pool, 1)
    held.PeekMemory(0).Resize(0, 4)
    held.Release()
    join(pool, threads)
    assert results == [held]
    assert held.GetSize() == SIZE
    assert pool.discarded == 0
    held.Release()


@pytest.mark.timeout(60)
def test_threads_discarding_and_reusing(pools: list[MemAllocator]) -> None:
    """Four threads sharing a pool of two, discarding every third sample, never block forever;
    at the end every count is exact."""
    pool = fixed(pools, 2)
    rounds = 150
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(rounds):
                sample = pool.GetBuffer()
                assert sample.GetMemoryCount() == 1 and sample.GetSize() == SIZE
                if (i + seed) % 3 == 0:
                    sample.AppendMemory(block(4))
                sample.GetPointer()[0] = i & 0xFF
                sample.Release()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,), name=f"churn-{n}") for n in range(4)]
    for thread in threads:
        thread.start()
    join(pool, threads)
    assert errors == []
    expected = sum(1 for n in range(4) for i in range(rounds) if (i + n) % 3 == 0)
    assert pool.discarded == expected
    assert pool.outstanding() == []
    assert pool.allocated <= 2
    assert pool.GetFreeCount() == 2


# -- Decommit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", DISCARDING, ids=[c.__name__ for c in DISCARDING])
def test_decommit_completes_when_the_last_sample_is_discarded(
    pools: list[MemAllocator], change: Change
) -> None:
    """With a decommit pending, discarding the last sample out frees everything (allocated 0),
    whether the others came home before it or not."""
    pool = fixed(pools, 3)
    samples = [pool.GetBuffer() for _ in range(3)]
    pool.Decommit()
    samples[0].Release()
    assert pool.allocated == 3
    samples[1].AppendMemory(block(4))
    samples[1].Release()
    assert pool.allocated == 2
    survivors = change(samples[2])
    samples[2].Release()
    try:
        assert pool.allocated == 0
        assert pool.discarded == 2
        assert pool.outstanding() == []
    finally:
        for survivor in survivors:
            survivor.Release()
    pool.Commit()
    assert pool.allocated == 3
    with pool.GetBuffer() as again:
        assert again.GetSize() == SIZE


def test_decommit_with_only_discards(pools: list[MemAllocator]) -> None:
    """A pending decommit completes when every sample out is discarded."""
    pool = fixed(pools, 1)
    sample = pool.GetBuffer()
    pool.Decommit()
    sample.RemoveMemory(0)
    sample.Release()
    assert pool.allocated == 0
    assert pool.discarded == 1


def test_commit_cancels_decommit_then_discard(pools: list[MemAllocator]) -> None:
    """A Commit that cancels a pending decommit keeps the pool; a later discard is replaced."""
    pool = fixed(pools, 2)
    sample = pool.GetBuffer()
    pool.Decommit()
    pool.Commit()
    sample.AppendMemory(block(4))
    sample.Release()
    assert pool.committed
    assert pool.allocated == 1
    assert pool.GetFreeCount() == 2
    got = [pool.GetBuffer(flags=AM_GBF_NOWAIT) for _ in range(2)]
    assert pool.allocated == 2
    for s in got:
        s.Release()


# -- NotifyRelease -----------------------------------------------------------------------------


def test_notify_release_counts_every_release(pools: list[MemAllocator]) -> None:
    """NotifyRelease runs once per sample coming home, discarded or reused, after the place is
    free (the free count it sees includes the released sample)."""
    pool = fixed(pools, 1)
    recorder = NotifyRecorder(pool)
    pool.SetNotify(recorder)
    try:
        pool.GetBuffer().Release()
        assert [free for _, free in recorder.calls] == [1]
        sample = pool.GetBuffer()
        sample.AppendMemory(block(4))
        sample.Release()
        assert [free for _, free in recorder.calls] == [1, 1]
        sample = pool.GetBuffer()
        copy = sample.Copy()
        sample.Release()
        copy.Release()  # a standalone copy notifies nothing
        sample = pool.GetBuffer()
        sample.PeekMemory(0).Resize(0, 1)
        sample.Release()
        assert [free for _, free in recorder.calls] == [1, 1, 1, 1]
        assert pool.discarded == 2
    finally:
        pool.SetNotify(None)


def test_notify_release_on_discard_sees_the_new_counts(pools: list[MemAllocator]) -> None:
    """Inside NotifyRelease for a discard, the sample is already gone from the pool."""
    pool = fixed(pools, 2)
    seen: list[tuple[int, int, int]] = []
    recorder = NotifyRecorder(pool)
    recorder.on_notify = lambda: seen.append(
        (pool.allocated, pool.discarded, len(pool.outstanding()))
    )
    pool.SetNotify(recorder)
    try:
        first, second = pool.GetBuffer(), pool.GetBuffer()
        first.RemoveMemory(0)
        first.Release()
        assert seen == [(1, 1, 1)]
        second.Release()
        assert seen == [(1, 1, 1), (1, 1, 0)]
    finally:
        pool.SetNotify(None)


def test_notify_release_error_on_discard_is_logged(
    pools: list[MemAllocator], caplog: pytest.LogCaptureFixture
) -> None:
    """A NotifyRelease that raises for a discarded sample is logged; the counts stay exact."""
    pool = fixed(pools, 1)
    recorder = NotifyRecorder(pool)
    recorder.error = RuntimeError("notify failed")
    pool.SetNotify(recorder)
    try:
        sample = pool.GetBuffer()
        sample.AppendMemory(block(4))
        with caplog.at_level(logging.ERROR, logger="dshow_alloc.allocator"):
            sample.Release()
        assert len(recorder.calls) == 1
        assert [r.name for r in caplog.records if r.levelno == logging.ERROR] == [
            "dshow_alloc.allocator"
        ]
        assert pool.discarded == 1
        assert pool.allocated == 0
        assert pool.GetFreeCount() == 1
    finally:
        pool.SetNotify(None)


# -- pooled metas on discard -------------------------------------------------------------------


def test_discarded_sample_clear_runs_and_replacement_is_prepared(
    pools: list[MemAllocator],
) -> None:
    """A discarded sample's pooled metas are cleared once; its replacement gets new pooled
    metas from prepare_sample."""
    cleared: list[Any] = []
    info = register_meta(
        f"test-discard-clear-{uuid.uuid4().hex}", clear=lambda meta, s: cleared.append((meta, s))
    )

    class Pool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            sample.AddMeta(info, n=sample.index)

    pool = Pool()
    pools.append(pool)
    pool.SetProperties(AllocatorProperties(1, SIZE, 1, 0))
    pool.Commit()
    sample = pool.GetBuffer()
    meta = sample.GetMeta(info)
    sample.AppendMemory(block(4))
    sample.Release()
    assert cleared == [(meta, sample)]
    with pool.GetBuffer() as fresh:
        assert fresh is not sample
        (new_meta,) = fresh.IterMeta()
        assert new_meta is not meta
        assert new_meta.info is info
        assert new_meta.flags == MetaFlags.POOLED | MetaFlags.LOCKED
    assert len(cleared) == 2


# -- option "video-meta" -----------------------------------------------------------------------


VIDEO_CASES = [
    ("NV12", 33, 17, 1),
    ("NV12", 33, 17, 16),
    ("I420", 64, 48, 32),
    ("I420", 35, 3, 8),
    ("YUY2", 9, 5, 64),
    ("RGB24", 5, 3, 1),
    ("RGB24", 5, 3, 32),
    ("RGB32", 10, 2, 16),
]


def video_pool(
    pools: list[MemAllocator],
    fmt: str,
    width: int,
    height: int,
    align: int,
    min_buffers: int = 2,
    max_buffers: int = 3,
) -> MemAllocator:
    media_type = video_type(fmt, width, height)
    size = video_layout(media_type, stride_align=align).size
    pool = MemAllocator(name=f"video-{fmt}")
    pools.append(pool)
    pool.SetConfig(
        PoolConfig(
            size,
            min_buffers,
            max_buffers,
            align=align,
            options={"video-meta"},
            media_type=media_type,
        )
    )
    pool.Commit()
    return pool


@pytest.mark.parametrize(("fmt", "width", "height", "align"), VIDEO_CASES)
def test_video_meta_option_on_every_sample(
    pools: list[MemAllocator], fmt: str, width: int, height: int, align: int
) -> None:
    """Every sample of a "video-meta" pool, preallocated or grown, has exactly one pooled
    VIDEO_META with the strides and offsets of the frame aligned to the config's align."""
    layout = video_layout(video_type(fmt, width, height), stride_align=align)
    pool = video_pool(pools, fmt, width, height, align)
    samples = [pool.GetBuffer() for _ in range(3)]
    try:
        assert pool.allocated == 3
        for sample in samples:
            metas = list(sample.IterMeta())
            assert len(metas) == 1
            (meta,) = metas
            assert meta.info is VIDEO_META
            assert meta.fields == layout.meta_fields()
            assert all(stride % align == 0 for stride in meta.strides)
            assert meta.flags == MetaFlags.POOLED | MetaFlags.LOCKED
            assert sample.GetSize() >= layout.size
    finally:
        for sample in samples:
            sample.Release()


def test_video_meta_hand_computed(pools: list[MemAllocator]) -> None:
    """For I420 33x17 aligned to 16 the meta says strides 48/32/32 at offsets 0/816/1104."""
    pool = video_pool(pools, "I420", 33, 17, 16, 1, 1)
    assert pool.GetConfig().buffer_size == 1392
    with pool.GetBuffer() as sample:
        meta = sample.GetMeta("video-meta")
        assert meta is not None
        assert (meta.format, meta.width, meta.height, meta.n_planes) == ("I420", 33, 17, 3)
        assert meta.offsets == (0, 816, 1104)
        assert meta.strides == (48, 32, 32)


def test_video_meta_survives_reuse_and_is_new_after_discard(pools: list[MemAllocator]) -> None:
    """The VIDEO_META is the same object across reuse; a discarded sample's replacement has
    its own, with the same fields."""
    pool = video_pool(pools, "NV12", 33, 17, 16, 1, 1)
    sample = pool.GetBuffer()
    meta = sample.GetMeta(VIDEO_META)
    sample.Release()
    sample = pool.GetBuffer()
    assert sample.GetMeta(VIDEO_META) is meta
    assert list(sample.IterMeta()) == [meta]
    sample.AppendMemory(block(4))
    sample.Release()
    assert pool.discarded == 1
    with pool.GetBuffer() as fresh:
        (new_meta,) = fresh.IterMeta()
        assert new_meta is not meta
        assert new_meta.fields == meta.fields
        assert new_meta.locked


def test_no_video_meta_without_the_option(pools: list[MemAllocator]) -> None:
    """A media type alone does not add a VIDEO_META; the option does."""
    media_type = video_type("NV12", 16, 16)
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(PoolConfig(384, 1, 1, media_type=media_type))
    pool.Commit()
    with pool.GetBuffer() as sample:
        assert list(sample.IterMeta()) == []


def state(pool: MemAllocator) -> tuple[Any, ...]:
    return (pool.GetConfig(), pool.GetProperties(), pool.committed, pool.allocated)


NV12 = video_type("NV12", 33, 17)  # 867 bytes unpadded, 1248 with strides aligned to 16
AUDIO = MediaType(
    MEDIATYPE_Audio, MEDIASUBTYPE_PCM, FORMAT_WaveFormatEx, WaveFormatEx(1, 2, 8000, 16)
)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(PoolConfig(1000, 1, 1, options={"video-meta"}), id="no-media-type"),
        pytest.param(
            PoolConfig(1232, 1, 1, align=16, prefix=8, options={"video-meta"}, media_type=NV12),
            id="too-small-after-rounding",
        ),
        pytest.param(
            PoolConfig(866, 1, 1, options={"video-meta"}, media_type=NV12),
            id="one-byte-short",
        ),
        pytest.param(
            PoolConfig(867, 1, 1, align=16, options={"video-meta"}, media_type=NV12),
            id="unpadded-size-with-align",
        ),
        pytest.param(
            PoolConfig(4096, 1, 1, options={"video-meta"}, media_type=AUDIO),
            id="audio-type",
        ),
        pytest.param(
            PoolConfig(
                4096,
                1,
                1,
                options={"video-meta"},
                media_type=MediaType(NV12.major_type, NV12.subtype, NV12.format_type, None),
            ),
            id="no-format-block",
        ),
    ],
)
def test_video_meta_option_refused(pools: list[MemAllocator], config: PoolConfig) -> None:
    """ "video-meta" without a media type, with a type that is not raw video, or with a
    buffer_size (after rounding) smaller than the padded frame is E_INVALIDARG; the pool keeps
    its previous configuration."""
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(PoolConfig(100, 1, 2, align=4))
    before = state(pool)
    with raises_hresult(InvalidArgError, HRESULT.E_INVALIDARG):
        pool.SetConfig(config)
    assert state(pool) == before
    assert pool.GetConfig() == PoolConfig(100, 1, 2, align=4)


@pytest.mark.parametrize(
    ("buffer_size", "prefix", "rounded"),
    [(1248, 0, 1248), (1233, 0, 1248), (1241, 8, 1256), (1240, 8, 1240)],
)
def test_video_meta_size_check_uses_the_rounded_size(
    pools: list[MemAllocator], buffer_size: int, prefix: int, rounded: int
) -> None:
    """The frame size is checked against the rounded buffer_size: NV12 33x17 aligned to 16
    needs 1248 bytes."""
    media_type = video_type("NV12", 33, 17)
    pool = MemAllocator()
    pools.append(pool)
    config = PoolConfig(
        buffer_size, 1, 1, align=16, prefix=prefix, options={"video-meta"}, media_type=media_type
    )
    if rounded < 1248:
        with raises_hresult(InvalidArgError, HRESULT.E_INVALIDARG):
            pool.SetConfig(config)
        assert pool.GetConfig() == PoolConfig(0)
        return
    pool.SetConfig(config)
    assert pool.GetConfig().buffer_size == rounded
    pool.Commit()
    with pool.GetBuffer() as sample:
        assert sample.GetMeta(VIDEO_META).strides == (48, 48)


def test_set_properties_drops_the_option(pools: list[MemAllocator]) -> None:
    """SetProperties replaces the whole config: samples made after it carry no VIDEO_META."""
    media_type = video_type("RGB32", 4, 4)
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(PoolConfig(64, 1, 1, options={"video-meta"}, media_type=media_type))
    pool.SetProperties(AllocatorProperties(1, 64, 1, 0))
    assert pool.GetConfig().options == frozenset()
    pool.Commit()
    with pool.GetBuffer() as sample:
        assert list(sample.IterMeta()) == []


def test_video_meta_top_down_type(pools: list[MemAllocator]) -> None:
    """A top-down RGB type (negative height) gives a meta with the positive height."""
    bottom_up = video_type("RGB24", 5, 3)
    top_down = MediaType(
        bottom_up.major_type,
        bottom_up.subtype,
        bottom_up.format_type,
        VideoInfoHeader(width=5, height=-3, bit_count=24),
    )
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(PoolConfig(48, 1, 1, options={"video-meta"}, media_type=top_down))
    pool.Commit()
    with pool.GetBuffer() as sample:
        meta = sample.GetMeta(VIDEO_META)
        assert (meta.height, meta.strides) == (3, (16,))
