"""The IMediaSample2 contract suite (`dshow_alloc.testing.MediaSampleContract`) on the samples
of a committed MemAllocator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dshow_alloc import AM_GBF_NOWAIT, AllocatorProperties, MediaSample, MemAllocator
from dshow_alloc.testing import MediaSampleContract


class TestMemAllocatorSampleContract(MediaSampleContract):
    """Every IMediaSample2 rule, on samples from a one-sample `MemAllocator` pool."""

    allocators: list[MemAllocator]

    @pytest.fixture(autouse=True)
    def _decommit_pools(self) -> Iterator[None]:
        self.allocators = []
        yield
        for allocator in self.allocators:
            allocator.Decommit()

    def make_sample(self, size: int) -> MediaSample:
        allocator = MemAllocator()
        allocator.SetProperties(AllocatorProperties(1, size, 1, 0))
        allocator.Commit()
        self.allocators.append(allocator)
        return allocator.GetBuffer()

    def reacquire(self, sample: MediaSample) -> MediaSample:  # type: ignore[override]
        # A pool of one: the sample that just came home is the only one to hand out.
        allocator: MemAllocator = sample.allocator
        return allocator.GetBuffer(flags=AM_GBF_NOWAIT)
