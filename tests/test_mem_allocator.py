"""MemAllocator beyond the IMemAllocator contract: where sample memory comes from, when it is
released, and what the allocator's own final Release does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from zope.interface.interface import InterfaceClass
from zope.interface.verify import verifyClass, verifyObject

from dshow_alloc import (
    AM_GBF_NOWAIT,
    HRESULT,
    AllocationParams,
    AllocatorProperties,
    IMemAllocator,
    IMemAllocatorCallbackTemp,
    IMemoryAllocator,
    IUnknown,
    MediaSample,
    MemAllocator,
    Memory,
    SharedMemoryBlock,
    SystemMemoryAllocator,
    VfwNotCommittedError,
    find_allocator,
    set_default_allocator,
)
from dshow_alloc.testing.allocator import data_address
from dshow_alloc.testing.checks import raises_hresult


@pytest.fixture
def allocators() -> Iterator[list[MemAllocator]]:
    """A list to put allocators in; each is decommitted when the test ends."""
    made: list[MemAllocator] = []
    yield made
    for allocator in made:
        allocator.Decommit()


def committed(
    made: list[MemAllocator],
    props: AllocatorProperties,
    **kwargs: object,
) -> MemAllocator:
    """A MemAllocator(**kwargs) configured with ``props`` and committed."""
    allocator = MemAllocator(**kwargs)  # type: ignore[arg-type]
    made.append(allocator)
    allocator.SetProperties(props)
    allocator.Commit()
    return allocator


def take(allocator: MemAllocator, count: int) -> list[MediaSample]:
    return [allocator.GetBuffer(flags=AM_GBF_NOWAIT) for _ in range(count)]


def memory_of(sample: MediaSample) -> Memory:
    memory = sample.memory
    assert memory is not None
    return memory


@pytest.mark.parametrize("iface", [IUnknown, IMemAllocator, IMemAllocatorCallbackTemp])
def test_provides_allocator_interfaces(iface: InterfaceClass) -> None:
    """MemAllocator() provides IMemAllocator and IMemAllocatorCallbackTemp, verified, and
    QueryInterface answers for each with the allocator itself."""
    allocator = MemAllocator()
    assert iface.providedBy(allocator)
    assert verifyClass(iface, MemAllocator)
    assert verifyObject(iface, allocator)
    assert allocator.QueryInterface(iface) is allocator


def test_memory_from_default_allocator(allocators: list[MemAllocator]) -> None:
    """Without a memory allocator, every sample's memory comes from find_allocator(None)."""
    allocator = committed(allocators, AllocatorProperties(3, 100, 16, 4))
    samples = take(allocator, 3)
    try:
        for sample in samples:
            assert memory_of(sample).allocator is find_allocator(None)
        assert allocator.memory_allocator is find_allocator(None)
    finally:
        for sample in samples:
            assert sample.Release() == 0


def test_default_allocator_read_at_commit(allocators: list[MemAllocator]) -> None:
    """The default memory allocator is the one in force at Commit, not at construction."""
    old = find_allocator(None)
    replacement = SystemMemoryAllocator()
    allocator = MemAllocator()
    allocators.append(allocator)
    allocator.SetProperties(AllocatorProperties(1, 64, 1, 0))
    set_default_allocator(replacement)
    try:
        allocator.Commit()
    finally:
        set_default_allocator(old)
    with allocator.GetBuffer() as sample:
        assert memory_of(sample).allocator is replacement


def test_memory_from_named_allocator(allocators: list[MemAllocator]) -> None:
    """MemAllocator(memory_allocator="SharedMemory") gives samples memfd-backed memory."""
    allocator = committed(
        allocators, AllocatorProperties(2, 1000, 64, 8), memory_allocator="SharedMemory"
    )
    samples = take(allocator, 2)
    try:
        for sample in samples:
            memory = memory_of(sample)
            assert isinstance(memory, SharedMemoryBlock)
            assert memory.allocator is find_allocator("SharedMemory")
            assert memory.fd >= 0
            assert (data_address(sample) - 8) % 64 == 0
    finally:
        for sample in samples:
            assert sample.Release() == 0


def test_memory_from_allocator_object(allocators: list[MemAllocator]) -> None:
    """MemAllocator(memory_allocator=obj) takes every sample's memory from obj."""
    own = SystemMemoryAllocator()
    assert IMemoryAllocator.providedBy(own)
    allocator = committed(allocators, AllocatorProperties(2, 32, 1, 0), memory_allocator=own)
    samples = take(allocator, 2)
    try:
        assert [memory_of(s).allocator for s in samples] == [own, own]
    finally:
        for sample in samples:
            assert sample.Release() == 0


def test_unknown_memory_allocator_name() -> None:
    """A memory allocator name nobody registered is a ValueError at construction."""
    with pytest.raises(ValueError, match="no memory allocator"):
        MemAllocator(memory_allocator="NoSuchMemory")


def test_memory_layout_matches_memory_block(allocators: list[MemAllocator]) -> None:
    """GetPointer is the memory's data: address, prefix offset and size agree."""
    allocator = committed(allocators, AllocatorProperties(2, 17, 16, 3))
    samples = take(allocator, 2)
    try:
        for sample in samples:
            memory = memory_of(sample)
            assert data_address(sample) == memory.address
            assert (memory.offset, memory.size) == (3, 29)  # roundup(17 + 3, 16) - 3
            assert (memory.address - 3) % 16 == 0
    finally:
        for sample in samples:
            assert sample.Release() == 0


def test_memory_released_when_decommitted_with_all_home(
    allocators: list[MemAllocator],
) -> None:
    """Decommit with every sample home releases all memory at once."""
    allocator = committed(allocators, AllocatorProperties(2, 64, 1, 0))
    samples = take(allocator, 2)
    memories = [memory_of(s) for s in samples]
    for sample in samples:
        assert sample.Release() == 0
    assert allocator.allocated == 2
    allocator.Decommit()
    assert allocator.allocated == 0
    assert [m.ref_count for m in memories] == [0, 0]


def test_memory_released_when_last_sample_comes_home(allocators: list[MemAllocator]) -> None:
    """After Decommit with samples out, memory stays until the last one comes home."""
    allocator = committed(
        allocators, AllocatorProperties(3, 64, 1, 0), memory_allocator="SharedMemory"
    )
    a, b = take(allocator, 2)
    memories = [memory_of(s) for s in (a, b)]
    allocator.Decommit()
    assert allocator.allocated == 3
    assert a.Release() == 0
    assert allocator.allocated == 3
    assert all(m.ref_count == 1 for m in memories)
    assert b.Release() == 0
    assert allocator.allocated == 0
    assert [m.ref_count for m in memories] == [0, 0]
    assert all(isinstance(m, SharedMemoryBlock) and m.fd == -1 for m in memories)


def test_commit_cancelling_decommit_keeps_memory(allocators: list[MemAllocator]) -> None:
    """Commit during a pending Decommit keeps the very same memory blocks."""
    allocator = committed(allocators, AllocatorProperties(2, 64, 1, 0))
    samples = take(allocator, 2)
    memories = [memory_of(s) for s in samples]
    allocator.Decommit()
    allocator.Commit()
    assert allocator.allocated == 2
    for sample in samples:
        assert sample.Release() == 0
    again = take(allocator, 2)
    try:
        assert {id(memory_of(s)) for s in again} == {id(m) for m in memories}
    finally:
        for sample in again:
            assert sample.Release() == 0


def test_final_release_decommits() -> None:
    """The allocator's own final Release decommits it."""
    allocator = MemAllocator()
    allocator.SetProperties(AllocatorProperties(1, 16, 1, 0))
    allocator.Commit()
    assert allocator.committed is True
    assert allocator.AddRef() == 2
    assert allocator.Release() == 1
    assert allocator.committed is True
    assert allocator.Release() == 0
    assert allocator.committed is False
    assert allocator.allocated == 0
    with raises_hresult(VfwNotCommittedError, HRESULT.VFW_E_NOT_COMMITTED):
        allocator.GetBuffer(flags=AM_GBF_NOWAIT)


def test_final_release_with_sample_out() -> None:
    """A final Release with a sample out leaves a pending decommit: the sample stays usable
    and its memory goes when it comes home."""
    allocator = MemAllocator()
    allocator.SetProperties(AllocatorProperties(1, 16, 1, 0))
    allocator.Commit()
    sample = allocator.GetBuffer()
    assert allocator.Release() == 0
    assert allocator.committed is False
    view = sample.GetPointer()
    view[:] = b"x" * 16
    view.release()
    assert allocator.allocated == 1
    assert sample.Release() == 0
    assert allocator.allocated == 0


def test_alloc_params_follow_properties(allocators: list[MemAllocator]) -> None:
    """Each sample's memory is allocated with the allocator's align and prefix."""
    seen: list[tuple[int, AllocationParams | None]] = []

    class Recording(SystemMemoryAllocator):
        def Alloc(self, size: int, params: AllocationParams | None = None) -> Memory:
            seen.append((size, params))
            return super().Alloc(size, params)

    committed(allocators, AllocatorProperties(2, 40, 32, 8), memory_allocator=Recording())
    assert seen == [(56, AllocationParams(align=32, prefix=8))] * 2
