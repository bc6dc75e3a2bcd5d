"""The IMemAllocator contract suite (`dshow_alloc.testing.MemAllocatorContract`) on MemAllocator."""

from __future__ import annotations

from dshow_alloc import MemAllocator
from dshow_alloc.testing import MemAllocatorContract


class TestMemAllocatorContract(MemAllocatorContract):
    """Every IMemAllocator rule, on the built-in `MemAllocator`."""

    def make_allocator(self) -> MemAllocator:
        return MemAllocator()
