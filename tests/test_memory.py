"""Memory beyond the contract: flag values, the allocator registry, a third-party allocator,
and what "SharedMemory" adds (a sealed memfd another process can map)."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from zope.interface import implementer

from dshow_alloc import (
    AllocationParams,
    AllocatorFlags,
    ComObject,
    IMemory,
    IMemoryAllocator,
    MapFlags,
    Memory,
    MemoryFlags,
    SharedMemoryAllocator,
    SharedMemoryBlock,
    SystemMemoryAllocator,
    find_allocator,
    register_allocator,
    set_default_allocator,
)
from dshow_alloc.testing import MemoryContract


def _read(memory: Any) -> bytes:
    with memory.Map(MapFlags.READ) as info:
        return bytes(info.data)


def _write(memory: Any, data: bytes, at: int = 0) -> None:
    with memory.Map(MapFlags.WRITE) as info:
        info.data[at : at + len(data)] = data


@implementer(IMemoryAllocator)
class BytesAllocator(ComObject):
    """A third-party allocator written against the public API: aligned bytearray regions."""

    def __init__(self, flags: int = 0) -> None:
        super().__init__()
        self.mem_type = "TestBytes"
        self.flags = AllocatorFlags(flags)
        self.freed: list[tuple[IMemory, bool | None]] = []

    def Alloc(self, size: int, params: AllocationParams | None = None) -> Memory:
        if type(size) is not int:
            raise TypeError("size must be an int")
        if size < 0:
            raise ValueError("size must be >= 0")
        if params is None:
            params = AllocationParams()
        if not isinstance(params, AllocationParams):
            raise TypeError("params must be AllocationParams")
        total = params.prefix + size + params.padding
        buffer = bytearray(total + params.align)  # never empty, so it has an address
        anchor = ctypes.c_char.from_buffer(buffer)
        shift = -ctypes.addressof(anchor) % params.align
        del anchor
        return Memory(
            self,
            buffer,
            base=shift,
            maxsize=len(buffer) - shift,
            offset=params.prefix,
            size=size,
            align=params.align,
            flags=params.flags,
        )

    def Free(self, memory: IMemory) -> None:
        """Record the memory, and whether its parent was writable at that moment."""
        parent = memory.parent
        self.freed.append((memory, None if parent is None else parent.IsWritable()))


@pytest.fixture
def default_allocator() -> Iterator[IMemoryAllocator]:
    """The default allocator; whatever a test sets, "SystemMemory" is the default afterwards."""
    allocator: IMemoryAllocator = find_allocator(None)
    try:
        yield allocator
    finally:
        set_default_allocator(find_allocator("SystemMemory"))


# -- flag values -------------------------------------------------------------------------------


def test_map_flags_are_gstreamers() -> None:
    """MapFlags have GstMapFlags' values: READ 1, WRITE 2, READWRITE 3."""
    assert (MapFlags.READ, MapFlags.WRITE, MapFlags.READWRITE) == (1, 2, 3)
    assert MapFlags.READ | MapFlags.WRITE == MapFlags.READWRITE


def test_memory_flags_are_gstreamers() -> None:
    """MemoryFlags have GstMemoryFlags' values (READONLY 2, NO_SHARE 16, ZERO_* 32 and 64...)."""
    assert int(MemoryFlags.READONLY) == 2
    assert int(MemoryFlags.NO_SHARE) == 16
    assert int(MemoryFlags.ZERO_PREFIXED) == 32
    assert int(MemoryFlags.ZERO_PADDED) == 64
    assert int(MemoryFlags.PHYSICALLY_CONTIGUOUS) == 128
    assert int(MemoryFlags.NOT_MAPPABLE) == 256


def test_allocator_flags_are_gstreamers() -> None:
    """AllocatorFlags have GstAllocatorFlags' values: CUSTOM_ALLOC 16, NO_COPY 32."""
    assert int(AllocatorFlags.CUSTOM_ALLOC) == 16
    assert int(AllocatorFlags.NO_COPY) == 32


# -- the registry ------------------------------------------------------------------------------


def test_default_allocator_is_system_memory(default_allocator: IMemoryAllocator) -> None:
    """find_allocator(None) is the allocator registered as "SystemMemory"."""
    assert default_allocator is find_allocator("SystemMemory")
    assert find_allocator() is default_allocator
    assert isinstance(default_allocator, SystemMemoryAllocator)
    assert default_allocator.mem_type == "SystemMemory"
    assert default_allocator.flags == 0


def test_shared_memory_is_registered() -> None:
    """ "SharedMemory" is registered, with mem_type "SharedMemory" and the NO_COPY flag."""
    shared = find_allocator("SharedMemory")
    assert isinstance(shared, SharedMemoryAllocator)
    assert shared.mem_type == "SharedMemory"
    assert shared.flags == AllocatorFlags.NO_COPY


def test_unknown_name_finds_nothing() -> None:
    """find_allocator of a name nobody registered returns None."""
    assert find_allocator("nope") is None


def test_register_allocator() -> None:
    """A registered allocator is found by its name; registering the name again replaces it."""
    first = BytesAllocator()
    second = BytesAllocator()
    register_allocator("test_memory.BytesAllocator", first)
    assert find_allocator("test_memory.BytesAllocator") is first
    register_allocator("test_memory.BytesAllocator", second)
    assert find_allocator("test_memory.BytesAllocator") is second
    assert find_allocator("SystemMemory").mem_type == "SystemMemory"


def test_set_default_allocator(default_allocator: IMemoryAllocator) -> None:
    """set_default_allocator changes what find_allocator(None) returns, and nothing else."""
    custom = BytesAllocator()
    set_default_allocator(custom)
    assert find_allocator(None) is custom
    assert find_allocator("SystemMemory") is default_allocator
    set_default_allocator(default_allocator)
    assert find_allocator(None) is default_allocator


@pytest.mark.parametrize(
    "candidate",
    [object(), None, "SystemMemory", SystemMemoryAllocator],
    ids=["object", "None", "'SystemMemory'", "SystemMemoryAllocator"],
)
def test_registry_refuses_non_allocators(
    default_allocator: IMemoryAllocator, candidate: Any
) -> None:
    """register_allocator and set_default_allocator refuse non-allocators with TypeError."""
    with pytest.raises(TypeError):
        register_allocator("test_memory.not-an-allocator", candidate)
    with pytest.raises(TypeError):
        set_default_allocator(candidate)
    assert find_allocator("test_memory.not-an-allocator") is None
    assert find_allocator(None) is default_allocator


# -- a third-party allocator -------------------------------------------------------------------


class TestBytesAllocatorContract(MemoryContract):
    """The memory contract holds for an allocator written outside the package."""

    def make_allocator(self) -> IMemoryAllocator:
        return BytesAllocator()


def test_custom_allocator_memory() -> None:
    """A Memory over a third party's bytearray has the layout its Alloc gave it."""
    allocator = BytesAllocator()
    params = AllocationParams(flags=MemoryFlags.ZERO_PADDED, align=64, prefix=3, padding=5)
    memory = allocator.Alloc(10, params)
    assert isinstance(memory, Memory)
    assert IMemory.providedBy(memory)
    assert (memory.offset, memory.size, memory.align) == (3, 10, 64)
    assert memory.maxsize >= 18
    assert memory.flags == MemoryFlags.ZERO_PADDED
    assert memory.allocator is allocator
    assert (memory.address - memory.offset) % 64 == 0
    _write(memory, b"0123456789")
    assert _read(memory) == b"0123456789"
    assert memory.Release() == 0


def test_custom_allocator_free_is_called_once_per_memory() -> None:
    """Free gets each memory once: a sub-memory after dropping its lock, then its root."""
    allocator = BytesAllocator()
    memory = allocator.Alloc(8)
    first = memory.Share(0, 4)
    second = memory.Share(4, 4)
    assert memory.IsWritable() is False
    assert first.Release() == 0
    # The parent was writable in Free: the sub-memory's exclusive lock was already dropped.
    assert allocator.freed == [(first, True)]
    assert memory.Release() == 1  # `second` still holds the root
    assert allocator.freed == [(first, True)]
    assert second.Release() == 0
    assert allocator.freed == [(first, True), (second, True), (memory, None)]


def test_copy_of_custom_memory_uses_the_same_allocator() -> None:
    """Copy of memory from an allocator without NO_COPY allocates from that allocator."""
    allocator = BytesAllocator()
    memory = allocator.Alloc(4)
    _write(memory, b"abcd")
    copy = memory.Copy(1, 2)
    assert copy.allocator is allocator
    assert _read(copy) == b"bc"
    assert copy.Release() == 0
    assert memory.Release() == 0


def test_copy_of_no_copy_memory_uses_the_default(default_allocator: IMemoryAllocator) -> None:
    """Copy of memory from a NO_COPY allocator allocates from the current default allocator."""
    expensive = BytesAllocator(AllocatorFlags.NO_COPY)
    memory = expensive.Alloc(4)
    _write(memory, b"abcd")
    copy = memory.Copy()
    assert copy.allocator is default_allocator
    custom = BytesAllocator()
    set_default_allocator(custom)
    second = memory.Copy()
    assert second.allocator is custom
    assert _read(second) == b"abcd"
    for done in (copy, second, memory):
        assert done.Release() == 0


# -- SharedMemory ------------------------------------------------------------------------------


@pytest.fixture
def shared() -> SharedMemoryAllocator:
    """The "SharedMemory" allocator."""
    allocator = find_allocator("SharedMemory")
    assert isinstance(allocator, SharedMemoryAllocator)
    return allocator


def _independent_mapping(fd: int, length: int) -> mmap.mmap:
    """A second, independent MAP_SHARED mapping of the memfd, through a duplicate fd."""
    dup = os.dup(fd)
    try:
        return mmap.mmap(dup, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(dup)


def test_shared_block_has_a_memfd(shared: SharedMemoryAllocator) -> None:
    """A SharedMemory block owns a real memfd, as large as its pages."""
    block = shared.Alloc(100)
    assert isinstance(block, SharedMemoryBlock)
    status = os.fstat(block.fd)
    assert os.readlink(f"/proc/self/fd/{block.fd}").startswith("/memfd:")
    assert status.st_size == block.mapsize
    assert status.st_size >= block.maxsize
    assert block.Release() == 0


@pytest.mark.parametrize(
    ("size", "pages"), [(1, 1), (100, 1), (mmap.PAGESIZE, 1), (mmap.PAGESIZE + 1, 2)]
)
def test_shared_block_is_whole_pages(shared: SharedMemoryAllocator, size: int, pages: int) -> None:
    """A SharedMemory block's maxsize is rounded up to whole pages (GStreamer's shm does)."""
    block = shared.Alloc(size)
    assert block.maxsize == pages * mmap.PAGESIZE
    assert block.Release() == 0


def test_shared_memfd_is_sealed_against_shrinking(shared: SharedMemoryAllocator) -> None:
    """The memfd carries F_SEAL_SHRINK, so ftruncate to a smaller size fails with EPERM."""
    block = shared.Alloc(100)
    seals = fcntl.fcntl(block.fd, fcntl.F_GET_SEALS)
    assert seals & fcntl.F_SEAL_SHRINK
    with pytest.raises(PermissionError) as info:
        os.ftruncate(block.fd, 0)
    assert info.value.errno == errno.EPERM
    assert os.fstat(block.fd).st_size == block.mapsize
    assert block.Release() == 0


def test_shared_memory_is_zero_copy(shared: SharedMemoryAllocator) -> None:
    """Bytes written through a WRITE map show in an independent mapping of the fd, and back."""
    block = shared.Alloc(64, AllocationParams(prefix=16))
    mapping = _independent_mapping(block.fd, block.mapsize)
    try:
        _write(block, b"written by Map")
        assert mapping[16 : 16 + 14] == b"written by Map"
        mapping[16 + 20 : 16 + 30] = b"by mmap..."
        assert _read(block)[20:30] == b"by mmap..."
    finally:
        mapping.close()
    assert block.Release() == 0


CHILD = """
import mmap, sys
fd, length, offset = (int(arg) for arg in sys.argv[1:4])
mapping = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
sys.stdout.write(mapping[offset : offset + 16].hex())
mapping[offset + 16 : offset + 32] = b"child was here.."
mapping.close()
"""


def test_shared_memory_crosses_processes(shared: SharedMemoryAllocator) -> None:
    """A child process maps the fd, reads the parent's bytes and writes bytes the parent reads."""
    block = shared.Alloc(32, AllocationParams(prefix=8))
    _write(block, b"parent was here.")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(block.fd), str(block.mapsize), str(block.offset)],
        pass_fds=(block.fd,),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert bytes.fromhex(result.stdout) == b"parent was here."
    assert _read(block) == b"parent was here.child was here.."
    assert block.Release() == 0


def test_final_release_closes_the_memfd(shared: SharedMemoryAllocator) -> None:
    """The root block's final Release closes its fd; a sub-memory's Release leaves it open."""
    block = shared.Alloc(16)
    fd = block.fd
    sub = block.Share(0, 8)
    assert sub.Release() == 0
    os.fstat(fd)
    assert block.Release() == 0
    with pytest.raises(OSError) as info:
        os.fstat(fd)
    assert info.value.errno == errno.EBADF


def test_copy_of_shared_memory_comes_from_the_default(
    shared: SharedMemoryAllocator, default_allocator: IMemoryAllocator
) -> None:
    """Copy of a SharedMemory block is allocated by the default allocator (NO_COPY)."""
    block = shared.Alloc(8)
    _write(block, b"abcdefgh")
    copy = block.Copy(2, 4)
    assert copy.allocator is default_allocator
    assert not isinstance(copy, SharedMemoryBlock)
    assert _read(copy) == b"cdef"
    custom = BytesAllocator()
    set_default_allocator(custom)
    second = block.Copy()
    assert second.allocator is custom
    assert _read(second) == b"abcdefgh"
    for done in (copy, second, block):
        assert done.Release() == 0
