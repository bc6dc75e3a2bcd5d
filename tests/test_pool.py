"""IBufferPool on MemAllocator: GStreamer pool configuration, growth and flushing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from dshow_alloc import (
    AM_GBF_NOWAIT,
    HRESULT,
    AllocationParams,
    AllocatorProperties,
    InvalidArgError,
    MediaSample,
    MemAllocator,
    Memory,
    OutOfMemoryError,
    SharedMemoryBlock,
    SystemMemoryAllocator,
    VfwAlreadyCommittedError,
    VfwBadAlignError,
    VfwBuffersOutstandingError,
    VfwNotCommittedError,
    VfwSizeNotSetError,
    VfwTimeoutError,
    VfwWrongStateError,
)
from dshow_alloc.pool import PoolConfig
from interfaces import IBufferPool

TIMEOUT = 10.0


@pytest.fixture
def pool(pools: list[MemAllocator]) -> MemAllocator:
    allocator = MemAllocator(name="pool-under-test")
    pools.append(allocator)
    return allocator


def state(allocator: MemAllocator) -> tuple[Any, ...]:
    return (
        allocator.GetConfig(),
        allocator.GetProperties(),
        allocator.committed,
        allocator.allocated,
        allocator.GetFreeCount(),
    )


def release(samples: list[MediaSample]) -> None:
    for sample in samples:
        sample.Release()


def blocked_get_buffer(allocator: MemAllocator) -> tuple[threading.Thread, list[Any]]:
    """Start a thread blocked in GetBuffer; its result (sample or exception) lands in a list."""
    result: list[Any] = []
    entered = threading.Event()

    def run() -> None:
        entered.set()
        try:
            result.append(allocator.GetBuffer(timeout=TIMEOUT))
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=run, name="pool-waiter")
    thread.start()
    entered.wait(TIMEOUT)
    return thread, result


def wait_until_waiting(allocator: MemAllocator) -> None:
    """Return once a thread is counted as waiting inside GetBuffer."""
    done = threading.Event()
    while not done.wait(0.001):
        if allocator._waiters:  # the documented waiter count, read for synchronisation only
            return


# -- PoolConfig --------------------------------------------------------------------------------


def test_pool_config_defaults() -> None:
    """PoolConfig(size) is unlimited, aligned to 1, no prefix or padding, default memory."""
    config = PoolConfig(100)
    assert (config.buffer_size, config.min_buffers, config.max_buffers) == (100, 0, 0)
    assert (config.align, config.prefix, config.padding) == (1, 0, 0)
    assert config.memory_allocator is None
    assert config.options == frozenset()
    assert config.media_type is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"buffer_size": -1}, ValueError),
        ({"buffer_size": 1.5}, TypeError),
        ({"buffer_size": 1, "min_buffers": -1}, ValueError),
        ({"buffer_size": 1, "max_buffers": True}, TypeError),
        ({"buffer_size": 1, "padding": -2}, ValueError),
        ({"buffer_size": 1, "options": "video-meta"}, TypeError),
        ({"buffer_size": 1, "options": [1]}, TypeError),
        ({"buffer_size": 1, "memory_allocator": 42}, TypeError),
        ({"buffer_size": 1, "media_type": "video"}, TypeError),
    ],
)
def test_pool_config_rejects_bad_fields(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """PoolConfig refuses wrong types (TypeError) and negative counts (ValueError)."""
    with pytest.raises(error):
        PoolConfig(**kwargs)


def test_pool_config_options_become_a_frozenset() -> None:
    """Options given as any iterable of names are stored as a frozenset."""
    assert PoolConfig(1, options=["a", "b", "a"]).options == frozenset({"a", "b"})


# -- SetConfig / GetConfig ---------------------------------------------------------------------


def test_mem_allocator_provides_ibufferpool(pool: MemAllocator) -> None:
    """MemAllocator provides IBufferPool, and QueryInterface finds it."""
    assert verifyObject(IBufferPool, pool)
    assert pool.QueryInterface(IBufferPool) is pool


def test_set_properties_is_a_fixed_config(pool: MemAllocator) -> None:
    """SetProperties(p) reads back as min_buffers == max_buffers == p.buffers."""
    pool.SetProperties(AllocatorProperties(3, 100, 16, 4))
    assert pool.GetConfig() == PoolConfig(108, 3, 3, 16, 4)


def test_set_config_rounds_like_set_properties(pool: MemAllocator) -> None:
    """SetConfig rounds buffer_size to roundup(size + prefix, align) - prefix."""
    pool.SetConfig(PoolConfig(100, 1, 4, align=64, prefix=8, padding=3))
    assert pool.GetConfig() == PoolConfig(120, 1, 4, align=64, prefix=8, padding=3)
    assert pool.GetProperties() == AllocatorProperties(4, 120, 64, 8)


def test_unlimited_config_reports_min_as_buffers(pool: MemAllocator) -> None:
    """GetProperties of an unlimited pool reports min_buffers as its buffer count."""
    pool.SetConfig(PoolConfig(10, min_buffers=2))
    assert pool.GetProperties() == AllocatorProperties(2, 10, 1, 0)


@pytest.mark.parametrize("align", [0, 3, 12])
def test_set_config_bad_align(pool: MemAllocator, align: int) -> None:
    """An alignment that is not a power of two is VFW_E_BADALIGN, even when committed."""
    pool.SetConfig(PoolConfig(10, 1, 1))
    pool.Commit()
    before = state(pool)
    with pytest.raises(VfwBadAlignError) as caught:
        pool.SetConfig(PoolConfig(10, 1, 1, align=align))
    assert caught.value.hresult == HRESULT.VFW_E_BADALIGN
    assert state(pool) == before


def test_set_config_min_above_max(pool: MemAllocator) -> None:
    """min_buffers > max_buffers with max_buffers set is E_INVALIDARG; nothing changes."""
    before = state(pool)
    with pytest.raises(InvalidArgError) as caught:
        pool.SetConfig(PoolConfig(10, 5, 4))
    assert caught.value.hresult == HRESULT.E_INVALIDARG
    assert state(pool) == before


def test_set_config_min_with_unlimited_max(pool: MemAllocator) -> None:
    """min_buffers above 0 with max_buffers 0 (unlimited) is a valid config."""
    pool.SetConfig(PoolConfig(10, 5, 0))
    assert pool.GetConfig().min_buffers == 5


def test_set_config_committed(pool: MemAllocator) -> None:
    """SetConfig on a committed pool is VFW_E_ALREADY_COMMITTED and changes nothing."""
    pool.SetConfig(PoolConfig(10, 1, 2))
    pool.Commit()
    before = state(pool)
    with pytest.raises(VfwAlreadyCommittedError):
        pool.SetConfig(PoolConfig(20))
    assert state(pool) == before


def test_set_config_outstanding(pool: MemAllocator) -> None:
    """SetConfig after Decommit with a sample still out is VFW_E_BUFFERS_OUTSTANDING."""
    pool.SetConfig(PoolConfig(10, 1, 2))
    pool.Commit()
    held = pool.GetBuffer()
    pool.Decommit()
    before = state(pool)
    with pytest.raises(VfwBuffersOutstandingError):
        pool.SetConfig(PoolConfig(20))
    assert state(pool) == before
    held.Release()
    pool.SetConfig(PoolConfig(20))
    assert pool.GetConfig().buffer_size == 20


def test_set_config_type_errors(pool: MemAllocator) -> None:
    """SetConfig takes a PoolConfig, and a memory allocator name must be registered."""
    before = state(pool)
    with pytest.raises(TypeError):
        pool.SetConfig(AllocatorProperties(1, 1, 1, 0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no memory allocator"):
        pool.SetConfig(PoolConfig(1, memory_allocator="NoSuchMemory"))
    assert state(pool) == before


# -- Commit and growth -------------------------------------------------------------------------


def test_commit_preallocates_min_buffers(pool: MemAllocator) -> None:
    """Commit makes min_buffers samples; GetFreeCount counts those plus what may be made."""
    pool.SetConfig(PoolConfig(10, 2, 5))
    assert pool.GetFreeCount() == 5
    pool.Commit()
    assert pool.allocated == 2
    assert pool.GetFreeCount() == 5


def test_unlimited_pool_may_start_empty(pool: MemAllocator) -> None:
    """An unlimited config with min 0 commits empty and grows on each GetBuffer."""
    pool.SetConfig(PoolConfig(10))
    pool.Commit()
    assert (pool.allocated, pool.GetFreeCount()) == (0, 0)
    samples = [pool.GetBuffer(flags=AM_GBF_NOWAIT) for _ in range(5)]
    assert pool.allocated == 5
    assert len({id(s) for s in samples}) == 5
    assert [s.GetSize() for s in samples] == [10] * 5
    assert pool.GetFreeCount() == 0
    release(samples)
    assert pool.GetFreeCount() == 5
    again = pool.GetBuffer()
    assert again is samples[-1]  # reuse before growth, LIFO
    assert pool.allocated == 5
    again.Release()


def test_growth_stops_at_max(pool: MemAllocator) -> None:
    """Below max_buffers an empty pool makes a sample; at the limit NOWAIT times out."""
    pool.SetConfig(PoolConfig(10, 1, 3))
    pool.Commit()
    samples = [pool.GetBuffer() for _ in range(3)]
    assert pool.allocated == 3
    assert [s.index for s in samples] == [0, 1, 2]
    assert pool.GetFreeCount() == 0
    with pytest.raises(VfwTimeoutError) as caught:
        pool.GetBuffer(flags=AM_GBF_NOWAIT)
    assert caught.value.hresult == HRESULT.VFW_E_TIMEOUT
    assert pool.allocated == 3
    release(samples)
    assert pool.GetFreeCount() == 3


@pytest.mark.timeout(30)
def test_growth_limit_blocks_until_release(pool: MemAllocator) -> None:
    """At max_buffers GetBuffer blocks and gets the next sample released."""
    pool.SetConfig(PoolConfig(10, 0, 2))
    pool.Commit()
    held = [pool.GetBuffer(), pool.GetBuffer()]
    thread, result = blocked_get_buffer(pool)
    wait_until_waiting(pool)
    assert not result
    held[0].Release()
    thread.join(TIMEOUT)
    assert result == [held[0]]
    assert pool.allocated == 2
    release([result[0], held[1]])


def test_fixed_pool_with_zero_buffers_still_refused(pool: MemAllocator) -> None:
    """SetProperties with 0 buffers stays refused by Commit (DirectShow), unlike SetConfig."""
    pool.SetProperties(AllocatorProperties(0, 10, 1, 0))
    with pytest.raises(VfwSizeNotSetError):
        pool.Commit()
    assert not pool.committed


def test_zero_size_config_refused_by_commit(pool: MemAllocator) -> None:
    """A config with buffer_size 0 is accepted and refused by Commit with VFW_E_SIZENOTSET."""
    pool.SetConfig(PoolConfig(0, 1, 1))
    with pytest.raises(VfwSizeNotSetError):
        pool.Commit()
    assert not pool.committed


def test_padding_and_memory_allocator_reach_the_memory(pool: MemAllocator) -> None:
    """Samples' memory has the configured prefix, padding and memory allocator."""
    pool.SetConfig(
        PoolConfig(100, 1, 1, align=4096, prefix=16, padding=64, memory_allocator="SharedMemory")
    )
    pool.Commit()
    with pool.GetBuffer() as sample:
        memory = sample.memory
        assert isinstance(memory, SharedMemoryBlock)
        assert memory.offset == 16
        assert memory.maxsize >= 16 + sample.GetSize() + 64
        assert (memory.address - 16) % 4096 == 0


class FailingAllocator(SystemMemoryAllocator):
    """System memory that refuses after ``budget`` allocations."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget

    def Alloc(self, size: int, params: AllocationParams | None = None) -> Memory:
        if self.budget <= 0:
            raise OutOfMemoryError(message="budget spent")
        self.budget -= 1
        return super().Alloc(size, params)


def test_failed_growth_changes_nothing(pool: MemAllocator) -> None:
    """A GetBuffer whose new sample cannot be allocated raises, and the counts stay exact."""
    pool.SetConfig(PoolConfig(10, 1, 3, memory_allocator=FailingAllocator(1)))
    pool.Commit()
    first = pool.GetBuffer()
    before = state(pool)
    with pytest.raises(OutOfMemoryError):
        pool.GetBuffer()
    assert state(pool) == before
    assert pool.GetFreeCount() == 2
    first.Release()
    assert pool.GetBuffer() is first
    first.Release()


def test_failed_growth_after_decommit_completes_it(pool: MemAllocator) -> None:
    """A pending decommit completes once the last sample is home, growth failures included."""
    pool.SetConfig(PoolConfig(10, 1, 3, memory_allocator=FailingAllocator(1)))
    pool.Commit()
    first = pool.GetBuffer()
    with pytest.raises(OutOfMemoryError):
        pool.GetBuffer()
    pool.Decommit()
    assert pool.allocated == 1
    first.Release()
    assert pool.allocated == 0


@pytest.mark.timeout(30)
def test_concurrent_growth_hands_out_distinct_samples(pool: MemAllocator) -> None:
    """Eight threads growing an unlimited pool at once each get their own new sample."""
    pool.SetConfig(PoolConfig(16))
    pool.Commit()
    barrier = threading.Barrier(8)
    got: list[MediaSample] = []
    lock = threading.Lock()

    def take() -> None:
        barrier.wait(TIMEOUT)
        sample = pool.GetBuffer(timeout=TIMEOUT)
        with lock:
            got.append(sample)

    threads = [threading.Thread(target=take, name=f"grower-{i}") for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len({id(s) for s in got}) == 8
    assert pool.allocated == 8
    assert sorted(s.index for s in got) == list(range(8))
    release(got)
    assert pool.GetFreeCount() == 8


# -- SetFlushing -------------------------------------------------------------------------------


def test_flushing_refuses_get_buffer(pool: MemAllocator) -> None:
    """While flushing, GetBuffer raises VFW_E_WRONG_STATE; nothing is freed or made."""
    pool.SetConfig(PoolConfig(10, 2, 2))
    pool.Commit()
    held = pool.GetBuffer()
    pool.SetFlushing(True)
    assert pool.flushing
    with pytest.raises(VfwWrongStateError) as caught:
        pool.GetBuffer()
    assert caught.value.hresult == HRESULT.VFW_E_WRONG_STATE
    with pytest.raises(VfwWrongStateError):
        pool.GetBuffer(flags=AM_GBF_NOWAIT)
    assert pool.allocated == 2
    held.GetPointer()[0] = 9  # samples out stay valid
    held.Release()
    assert pool.GetFreeCount() == 2
    pool.SetFlushing(False)
    with pool.GetBuffer() as sample:
        assert sample is held


@pytest.mark.timeout(30)
@pytest.mark.parametrize("unflush_at_once", [False, True])
def test_flushing_wakes_waiters(pool: MemAllocator, unflush_at_once: bool) -> None:
    """A GetBuffer blocked at the limit wakes with VFW_E_WRONG_STATE when flushing starts,
    even when SetFlushing(False) follows before it wakes."""
    pool.SetConfig(PoolConfig(10, 1, 1))
    pool.Commit()
    held = pool.GetBuffer()
    thread, result = blocked_get_buffer(pool)
    wait_until_waiting(pool)
    pool.SetFlushing(True)
    if unflush_at_once:
        pool.SetFlushing(False)
    thread.join(TIMEOUT)
    assert len(result) == 1 and isinstance(result[0], VfwWrongStateError)
    held.Release()


def test_commit_ends_flushing(pool: MemAllocator) -> None:
    """Commit after Decommit ends flushing, as activating a GStreamer pool does."""
    pool.SetConfig(PoolConfig(10, 1, 1))
    pool.Commit()
    pool.SetFlushing(True)
    pool.Decommit()
    with pytest.raises(VfwNotCommittedError):
        pool.GetBuffer()
    pool.Commit()
    assert not pool.flushing
    pool.GetBuffer().Release()


def test_set_flushing_type_error(pool: MemAllocator) -> None:
    """SetFlushing takes a bool."""
    with pytest.raises(TypeError):
        pool.SetFlushing("yes")  # type: ignore[arg-type]
    assert not pool.flushing
