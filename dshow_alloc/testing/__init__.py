"""Public test helpers: contract suites for your own implementations, and leak checks.

The contract suites are pytest classes to subclass with a factory; every test in them asserts
behaviour the interface promises, so an implementation that passes them can stand in for ours::

    from dshow_alloc.testing import MemAllocatorContract

    class TestMyAllocator(MemAllocatorContract):
        def make_allocator(self):
            return MyAllocator()

Importing this package needs pytest (the ``test`` extra).
"""

from dshow_alloc.testing.allocator import MemAllocatorContract
from dshow_alloc.testing.clock import ReferenceClockContract
from dshow_alloc.testing.graph import assert_all_home, graph_allocators, wait_until
from dshow_alloc.testing.leaks import OutstandingSamplesError, check_no_outstanding_samples
from dshow_alloc.testing.memory import MemoryContract
from dshow_alloc.testing.sample import MediaSampleContract

__all__ = [
    "MediaSampleContract",
    "MemAllocatorContract",
    "MemoryContract",
    "OutstandingSamplesError",
    "ReferenceClockContract",
    "assert_all_home",
    "check_no_outstanding_samples",
    "graph_allocators",
    "wait_until",
]
