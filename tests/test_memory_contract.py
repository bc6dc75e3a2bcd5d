"""The `MemoryContract` suite on the built-in allocators, "SystemMemory" and "SharedMemory"."""

from __future__ import annotations

from dshow_alloc import find_allocator
from dshow_alloc.testing.memory import MemoryContract
from interfaces import IMemoryAllocator


class TestSystemMemory(MemoryContract):
    """The default allocator: aligned regions of a bytearray."""

    def make_allocator(self) -> IMemoryAllocator:
        allocator: IMemoryAllocator = find_allocator("SystemMemory")
        return allocator


class TestSharedMemory(MemoryContract):
    """The memfd allocator: whole pages of a sealed memfd, mapped shared."""

    def make_allocator(self) -> IMemoryAllocator:
        allocator: IMemoryAllocator = find_allocator("SharedMemory")
        return allocator
