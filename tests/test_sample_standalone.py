"""Samples outside any pool: over a memory block the sample takes over, freed at count 0."""

from __future__ import annotations

import pytest

from dshow_alloc import (
    HRESULT,
    AccessDeniedError,
    MapFlags,
    MediaSample,
    UnexpectedError,
    find_allocator,
)
from dshow_alloc.testing import MediaSampleContract


class TestStandaloneSampleContract(MediaSampleContract):
    """The IMediaSample2 contract holds for a sample with no allocator."""

    def make_sample(self, size: int) -> MediaSample:
        return MediaSample(None, find_allocator(None).Alloc(size))


def test_standalone_sample_owns_its_memory() -> None:
    """The sample holds the block exclusively and its final Release frees the block."""
    memory = find_allocator(None).Alloc(32)
    sample = MediaSample(None, memory)
    assert sample.ref_count == 1
    assert sample.memory is memory
    assert sample.allocator is None
    assert sample.GetSize() == 32
    sample.GetPointer()[:3] = b"abc"
    with memory.Map(MapFlags.READ) as info:
        assert bytes(info.data[:3]) == b"abc"
    assert sample.Release() == 0
    assert sample.memory is None
    with pytest.raises(UnexpectedError):
        memory.Map(MapFlags.READ)  # the sample's final Release was the block's too
    with pytest.raises(UnexpectedError) as caught:
        sample.GetPointer()
    assert caught.value.hresult == HRESULT.E_UNEXPECTED


def test_second_holder_refused_while_mapped_for_writing() -> None:
    """A second sample cannot take a block that its holder has mapped WRITE (GStreamer's
    exclusive-lock rule), and the refusal changes nothing."""
    memory = find_allocator(None).Alloc(16)
    first = MediaSample(None, memory)
    info = memory.Map(MapFlags.WRITE)
    with pytest.raises(AccessDeniedError):
        MediaSample(None, memory)
    info.data[0] = 1  # the mapping still works
    memory.Unmap(info)
    assert memory.IsWritable()  # still one holder
    assert first.GetPointer()[0] == 1
    assert first.Release() == 0
