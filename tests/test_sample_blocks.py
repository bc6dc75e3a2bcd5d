"""IBufferSample on standalone and pool samples: blocks, GetPointer merging, Map, wrap,
read-only samples, MakeWritable, Copy, metas, bad input and released samples.

The contract is the `IBufferSample` docstrings (interfaces/sample.py) and GStreamer's GstBuffer
rules (reference/gstreamer.md section 3). Every test gives back every sample and memory
reference it takes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import pytest

from dshow_alloc import (
    AM_SAMPLE_PREROLL,
    AM_SAMPLE_SPLICEPOINT,
    HRESULT,
    MAX_MEMORY,
    MEDIASUBTYPE_NV12,
    AccessDeniedError,
    AllocationParams,
    AllocatorProperties,
    FORMAT_VideoInfo,
    IBufferSample,
    InvalidArgError,
    MapFlags,
    MediaSample,
    MediaType,
    MEDIATYPE_Video,
    MemAllocator,
    Memory,
    MemoryFlags,
    SampleMapInfo,
    SharedMemoryBlock,
    UnexpectedError,
    VfwSampleTimeNotSetError,
    find_allocator,
)
from dshow_alloc.hresult import hresult_error_class
from dshow_alloc.memory import buffer_address
from dshow_alloc.meta import TAG_MEMORY, TAG_MEMORY_REFERENCE, Meta, MetaInfo, register_meta
from dshow_alloc.testing.checks import assert_query_interface, raises_hresult

SYSTEM = find_allocator(None)

VIDEO = MediaType(
    major_type=MEDIATYPE_Video, subtype=MEDIASUBTYPE_NV12, format_type=FORMAT_VideoInfo
)

# Meta APIs for these tests (names are process-wide, so they carry this module's prefix).
PLAIN_META = register_meta("test-sample-blocks.plain", transform=lambda meta, dest, **ctx: True)
REFUSED_META = register_meta(
    "test-sample-blocks.refused", transform=lambda meta, dest, **ctx: False
)
UNCOPIED_META = register_meta("test-sample-blocks.uncopied")
LAYOUT_META = register_meta(
    "test-sample-blocks.layout", tags=(TAG_MEMORY,), transform=lambda meta, dest, **ctx: True
)
REFERENCE_META = register_meta(
    "test-sample-blocks.reference",
    tags=(TAG_MEMORY_REFERENCE,),
    transform=lambda meta, dest, **ctx: True,
)
NO_INIT_META = register_meta("test-sample-blocks.no-init", init=lambda meta, sample: False)
POOLED_META = register_meta(
    "test-sample-blocks.pooled",
    transform=lambda meta, dest, **ctx: True,
    clear=lambda meta, sample: setattr(meta, "uses", 0),
)
# Same api name as nothing registered: a MetaInfo that register_meta never returned.
UNREGISTERED = MetaInfo("test-sample-blocks.unregistered", frozenset(), None, None, None)


# -- helpers -----------------------------------------------------------------------------------


def block(data: bytes, params: AllocationParams | None = None, allocator: Any = None) -> Memory:
    """A new memory block (count 1, owned by the caller) holding ``data``."""
    memory: Memory = (allocator or SYSTEM).Alloc(len(data), params)
    with memory.Map(MapFlags.WRITE) as info:
        info.data[:] = data
    return memory


def dead_block() -> Memory:
    memory = block(b"dead")
    memory.Release()
    return memory


def read(sample: MediaSample) -> bytes:
    """All of a sample's bytes, through a READ mapping (which never copies)."""
    with sample.Map(MapFlags.READ) as info:
        return info.tobytes()


def read_memory(memory: Memory) -> bytes:
    with memory.Map(MapFlags.READ) as info:
        return bytes(info.data)


def blocks(sample: MediaSample) -> list[Memory]:
    return [sample.PeekMemory(i) for i in range(sample.GetMemoryCount())]


def address(view: memoryview) -> int:
    """The address of a view's first byte (read-only views included)."""
    return int(np.frombuffer(view, dtype=np.uint8).ctypes.data)


def sample_of(*chunks: bytes) -> MediaSample:
    """A standalone sample with one new block per chunk."""
    sample = MediaSample()
    for chunk in chunks:
        sample.AppendMemory(block(chunk))
    return sample


def snapshot(sample: MediaSample) -> tuple[Any, ...]:
    """Everything a failed call must leave unchanged (blocks compared by identity)."""
    mems = blocks(sample)
    return (
        sample.ref_count,
        tuple(mems),
        tuple((m.ref_count, m._share, m.offset, m.size) for m in mems),
        sample.GetSize(),
        sample.GetActualDataLength(),
        read(sample),
        sample.IsReadOnly(),
        tuple(sample.IterMeta()),
        sample.GetProperties(),
    )


def memory_state(memory: Memory) -> tuple[int, int]:
    return memory.ref_count, memory._share


@contextlib.contextmanager
def expect(error: type[BaseException] | HRESULT) -> Iterator[None]:
    """``pytest.raises`` for a builtin exception, ``raises_hresult`` for an HRESULT."""
    if isinstance(error, HRESULT):
        with raises_hresult(hresult_error_class(error), error):
            yield
    else:
        with pytest.raises(error):
            yield


def fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


KINDS = ["allocate", "wrap", "memory", "pool"]
Factory = Callable[[bytes], MediaSample]


@pytest.fixture(params=KINDS)
def make(request: pytest.FixtureRequest) -> Iterator[Factory]:
    """A factory of writable one-block samples holding given bytes, of each kind: allocate,
    wrap of a bytearray, MediaSample(None, memory with prefix and padding), and a pool sample
    (with a 4-byte prefix). Pools are decommitted at teardown."""
    pools: list[MemAllocator] = []

    def factory(data: bytes) -> MediaSample:
        assert data, "the factories make one-block samples"
        if request.param == "allocate":
            sample = MediaSample.allocate(len(data))
            with sample.Map(MapFlags.WRITE) as info:
                info.data[:] = data
        elif request.param == "wrap":
            sample = MediaSample.wrap(bytearray(data))
        elif request.param == "memory":
            sample = MediaSample(None, block(data, AllocationParams(prefix=3, padding=5)))
        else:
            allocator = MemAllocator(name=f"test-sample-blocks-{len(pools)}")
            pools.append(allocator)
            allocator.SetProperties(AllocatorProperties(1, len(data), 1, 4))
            allocator.Commit()
            sample = allocator.GetBuffer()
            sample.GetPointer()[:] = data
        assert sample.GetMemoryCount() == 1
        assert read(sample) == data
        return sample

    yield factory
    for allocator in pools:
        allocator.Decommit()


@pytest.fixture
def pool() -> Iterator[MemAllocator]:
    """A committed pool of two 16-byte samples with a 16-byte prefix aligned to 16."""
    allocator = MemAllocator(name="test-sample-blocks-pool")
    assert allocator.SetProperties(AllocatorProperties(2, 16, 16, 16)).buffer_size == 16
    allocator.Commit()
    yield allocator
    allocator.Decommit()


# -- construction ------------------------------------------------------------------------------


def test_allocate_makes_one_block_of_the_size() -> None:
    sample = MediaSample.allocate(24)
    (memory,) = blocks(sample)
    assert memory.allocator is SYSTEM
    assert (memory.size, memory.offset) == (24, 0)
    assert (sample.GetSize(), sample.GetActualDataLength()) == (24, 24)
    assert sample.ref_count == 1 and sample.IsWritable() and not sample.IsReadOnly()
    assert sample.allocator is None
    assert memory._share == 1 and memory.IsWritable()
    assert_query_interface(sample, IBufferSample)
    assert sample.Release() == 0
    assert memory.ref_count == 0


def test_allocate_zero_makes_no_block() -> None:
    sample = MediaSample.allocate(0)
    assert sample.GetMemoryCount() == 0
    assert (sample.GetSize(), sample.GetActualDataLength()) == (0, 0)
    view = sample.GetPointer()
    assert len(view) == 0 and not view.readonly
    with sample.Map(MapFlags.READ) as info:
        assert info.views == ()
        assert len(info.data) == 0
        assert info.tobytes() == b"" and info.size == 0
    assert sample.Release() == 0


def test_allocate_with_named_allocator_and_params() -> None:
    """allocate passes the allocator (by name) and the params on: a memfd block with its
    prefix, whose prefix start is aligned."""
    params = AllocationParams(align=64, prefix=16, padding=8)
    sample = MediaSample.allocate(100, allocator="SharedMemory", params=params)
    (memory,) = blocks(sample)
    assert isinstance(memory, SharedMemoryBlock)
    assert memory.allocator is find_allocator("SharedMemory")
    assert (memory.offset, memory.size) == (16, 100)
    assert (memory.address - 16) % 64 == 0
    assert sample.GetSize() == 100
    assert address(sample.GetPointer()) == memory.address  # the prefix is not data
    fd = memory.fd
    assert fd_is_open(fd)
    assert sample.Release() == 0
    assert memory.fd == -1 and not fd_is_open(fd)


def test_allocate_with_allocator_object() -> None:
    shared = find_allocator("SharedMemory")
    sample = MediaSample.allocate(8, allocator=shared)
    assert sample.PeekMemory(0).allocator is shared
    sample.Release()


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("8",), {}, TypeError),
        ((True,), {}, TypeError),
        ((8.0,), {}, TypeError),
        ((-1,), {}, ValueError),
        ((8,), {"allocator": "no-such-allocator"}, ValueError),
        ((8,), {"allocator": object()}, TypeError),
        ((8,), {"params": "align=8"}, TypeError),
        ((0,), {"params": "align=8"}, TypeError),
    ],
)
def test_allocate_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        MediaSample.allocate(*args, **kwargs)


def test_memory_constructor_takes_the_reference() -> None:
    memory = block(b"abcdef", AllocationParams(prefix=2))
    sample = MediaSample(None, memory)
    assert sample.PeekMemory(0) is memory
    assert memory_state(memory) == (1, 1)  # the caller's reference moved in, plus a lock
    assert read(sample) == b"abcdef"
    assert address(sample.GetPointer()) == memory.address
    assert sample.Release() == 0
    assert memory.ref_count == 0


def test_memory_constructor_without_memory() -> None:
    sample = MediaSample(None, None)
    assert sample.GetMemoryCount() == 0 and sample.GetSize() == 0
    assert sample.ref_count == 1
    sample.Release()


def test_memory_constructor_bad_memory() -> None:
    with pytest.raises(TypeError):
        MediaSample(None, b"not a memory")  # type: ignore[arg-type]
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        MediaSample(None, dead_block())


def test_wrap_bytes_is_read_only_without_copy() -> None:
    data = b"immutable bytes!"
    sample = MediaSample.wrap(data)
    (memory,) = blocks(sample)
    assert sample.IsReadOnly() and sample.IsWritable()
    assert memory.flags & MemoryFlags.READONLY
    assert memory.address == buffer_address(data)  # no copy
    assert (sample.GetSize(), sample.GetActualDataLength()) == (16, 16)
    view = sample.GetPointer()
    assert view.readonly and bytes(view) == data
    assert address(view) == buffer_address(data)
    with pytest.raises(TypeError):
        view[0] = 0
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        sample.Map(MapFlags.WRITE)
    assert data == b"immutable bytes!" and read(sample) == data
    assert sample.PeekMemory(0) is memory
    sample.Release()


def test_wrap_bytearray_writes_reach_it() -> None:
    data = bytearray(b"0123456789")
    sample = MediaSample.wrap(data)
    assert not sample.IsReadOnly()
    assert sample.PeekMemory(0).address == buffer_address(data)
    view = sample.GetPointer()
    assert address(view) == buffer_address(data)
    view[:3] = b"abc"
    with sample.Map(MapFlags.WRITE) as info:
        info.data[-1] = ord("Z")
    assert data == bytearray(b"abc345678Z")
    del view
    sample.Release()
    data.append(0)  # no export of the bytearray is left behind
    assert len(data) == 11


def test_wrap_numpy_array() -> None:
    array = np.arange(6, dtype=np.uint16).reshape(2, 3)
    sample = MediaSample.wrap(array)
    assert sample.GetSize() == 12 and not sample.IsReadOnly()
    assert sample.PeekMemory(0).address == array.ctypes.data
    view = sample.GetPointer()
    view[0:2] = b"\xff\x00"
    view[10:12] = b"\x00\x01"
    assert array[0, 0] == 0xFF and array[1, 2] == 0x100
    del view
    sample.Release()


def test_wrap_read_only_numpy_array_and_view() -> None:
    array = np.zeros(4, dtype=np.uint8)
    array.setflags(write=False)
    backing = bytearray(b"wxyz")
    for data in (array, memoryview(backing).toreadonly()):
        sample = MediaSample.wrap(data)
        assert sample.IsReadOnly()
        assert sample.PeekMemory(0).flags & MemoryFlags.READONLY
        with pytest.raises(TypeError):
            sample.GetPointer()[0] = 1
        sample.Release()
    assert not array.any() and backing == b"wxyz"


@pytest.mark.parametrize(
    "data",
    [
        np.arange(12, dtype=np.uint8).reshape(3, 4)[:, ::2],
        np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(3, 4)),
        memoryview(bytearray(10))[::2],
    ],
    ids=["strided", "fortran", "strided-view"],
)
def test_wrap_non_contiguous_is_refused(data: Any) -> None:
    with pytest.raises(ValueError):
        MediaSample.wrap(data)


@pytest.mark.parametrize("data", [[1, 2, 3], "text", 42, None, object()])
def test_wrap_non_buffer_is_refused(data: Any) -> None:
    with pytest.raises(TypeError):
        MediaSample.wrap(data)


@pytest.mark.parametrize(("data", "read_only"), [(b"", True), (bytearray(), False)])
def test_wrap_empty_makes_no_block(data: Any, read_only: bool) -> None:
    sample = MediaSample.wrap(data)
    assert sample.GetMemoryCount() == 0 and sample.GetSize() == 0
    assert sample.IsReadOnly() is read_only
    assert sample.GetPointer().readonly is read_only
    sample.Release()


# -- Peek / Get / Append / Insert / Replace / Remove ------------------------------------------


def test_peek_borrows_and_get_adds_a_reference(make: Factory) -> None:
    sample = make(b"abcd")
    memory = sample.PeekMemory(0)
    assert memory_state(memory) == (1, 1)
    assert sample.PeekMemory(0) is memory
    got = sample.GetMemory(0)
    assert got is memory
    assert memory_state(memory) == (2, 1)  # a plain reference, no lock
    assert memory.IsWritable()
    got.Release()
    assert memory_state(memory) == (1, 1)
    sample.Release()


def test_append_memory(make: Factory) -> None:
    sample = make(b"head")
    first = sample.PeekMemory(0)
    sample.SetActualDataLength(1)
    tail = block(b"-tail", AllocationParams(prefix=4))
    sample.AppendMemory(tail)
    assert blocks(sample) == [first, tail]
    assert memory_state(tail) == (1, 1)  # the reference moved in
    assert (sample.GetSize(), sample.GetActualDataLength()) == (9, 9)
    assert read(sample) == b"head-tail"
    sample.Release()


@pytest.mark.parametrize(
    ("index", "order"),
    [(0, "nab"), (1, "anb"), (2, "abn"), (-1, "abn")],
)
def test_insert_memory_positions(make: Factory, index: int, order: str) -> None:
    sample = make(b"A")
    named = {"a": sample.PeekMemory(0), "b": block(b"B"), "n": block(b"N")}
    sample.AppendMemory(named["b"])
    sample.SetActualDataLength(0)
    sample.InsertMemory(index, named["n"])
    assert blocks(sample) == [named[c] for c in order]
    assert read(sample) == order.upper().encode()
    assert (sample.GetSize(), sample.GetActualDataLength()) == (3, 3)
    sample.Release()


def test_seventeenth_append_merges_into_two_blocks() -> None:
    sample = MediaSample()
    for k in range(MAX_MEMORY):
        sample.AppendMemory(block(bytes([k]) * (k % 3 + 1)))
    assert MAX_MEMORY == 16 and sample.GetMemoryCount() == 16
    expected = b"".join(bytes([k]) * (k % 3 + 1) for k in range(16))
    old = blocks(sample)
    for memory in old:
        memory.AddRef()
    last = block(b"\xee\xff")
    sample.AppendMemory(last)
    assert sample.GetMemoryCount() == 2
    merged, second = blocks(sample)
    assert second is last
    assert all(merged is not memory for memory in old)
    assert merged.size == len(expected)
    assert read(sample) == expected + b"\xee\xff"
    assert sample.GetSize() == sample.GetActualDataLength() == len(expected) + 2
    for memory in old:  # the merged blocks were unlocked and released
        assert memory_state(memory) == (1, 0)
        memory.Release()
    sample.Release()


@pytest.mark.parametrize(("index", "new_first"), [(0, True), (7, False), (16, False), (-1, False)])
def test_insert_into_full_sample_merges_first(index: int, new_first: bool) -> None:
    sample = sample_of(*[bytes([65 + k]) for k in range(16)])
    new = block(b"!")
    sample.InsertMemory(index, new)
    assert sample.GetMemoryCount() == 2
    assert (sample.PeekMemory(0) is new) is new_first
    merged = b"ABCDEFGHIJKLMNOP"
    assert read(sample) == (b"!" + merged if new_first else merged + b"!")
    assert sample.GetActualDataLength() == 17
    sample.Release()


def test_replace_memory_releases_the_old_block(make: Factory) -> None:
    sample = make(b"old!")
    sample.AppendMemory(block(b"keep"))
    old = sample.PeekMemory(0)
    old.AddRef()
    new = block(b"brand-new")
    sample.ReplaceMemory(0, new)
    assert sample.PeekMemory(0) is new
    assert memory_state(old) == (1, 0)  # unlocked, and the sample's reference dropped
    assert memory_state(new) == (1, 1)
    assert read(sample) == b"brand-newkeep"
    assert sample.GetSize() == sample.GetActualDataLength() == 13
    old.Release()
    sample.Release()


def test_remove_memory_releases_the_old_block(make: Factory) -> None:
    sample = make(b"first")
    second = block(b"second")
    sample.AppendMemory(second)
    first = sample.PeekMemory(0)
    first.AddRef()
    sample.RemoveMemory(0)
    assert blocks(sample) == [second]
    assert memory_state(first) == (1, 0)
    assert read(sample) == b"second"
    assert sample.GetSize() == sample.GetActualDataLength() == 6
    sample.RemoveMemory(0)
    assert sample.GetMemoryCount() == 0
    assert (sample.GetSize(), sample.GetActualDataLength()) == (0, 0)
    assert second.ref_count == 0
    assert len(sample.GetPointer()) == 0
    first.Release()
    sample.Release()


@pytest.mark.parametrize("how", ["remove", "replace"])
def test_shared_memory_fd_closes_with_the_last_reference(how: str) -> None:
    shared = find_allocator("SharedMemory")
    sample = sample_of(b"x")
    memory = block(b"shared", allocator=shared)
    assert isinstance(memory, SharedMemoryBlock)
    fd = memory.fd
    sample.AppendMemory(memory)
    copy = sample.Copy()  # a second holder: its lock and reference keep the fd open
    if how == "remove":
        sample.RemoveMemory(1)
    else:
        sample.ReplaceMemory(1, block(b"other"))
    assert fd_is_open(fd) and memory.ref_count == 1
    assert read(copy) == b"xshared"
    if how == "remove":
        copy.RemoveMemory(1)
    else:
        copy.ReplaceMemory(1, block(b"third"))
    assert memory.ref_count == 0 and memory.fd == -1
    assert not fd_is_open(fd)
    sample.Release()
    copy.Release()


def test_a_block_mapped_for_writing_elsewhere_is_copied_in() -> None:
    """A block that cannot be locked (mapped WRITE by its holder) goes in as a copy, and the
    caller's reference is dropped."""
    owner = sample_of(b"busy")
    other = sample_of(b"x")
    with owner.Map(MapFlags.WRITE) as info:
        memory = owner.GetMemory(0)
        assert memory.ref_count == 3  # the sample, the mapping and ours
        other.AppendMemory(memory)
        assert other.PeekMemory(1) is not memory
        assert memory_state(memory) == (2, 1)  # the caller's reference was dropped
        info.data[:] = b"BUSY"  # the mapping still works; the copy does not see it
    assert read(other) == b"xbusy"
    assert read(owner) == b"BUSY"
    owner.Release()
    other.Release()


def test_a_block_appended_to_two_samples_is_shared() -> None:
    first = sample_of(b"shared")
    memory = first.GetMemory(0)
    second = MediaSample()
    second.AppendMemory(memory)
    assert second.PeekMemory(0) is memory
    assert memory_state(memory) == (2, 2)
    assert not memory.IsWritable()
    second.GetPointer()[0:2] = b"SH"  # a write through the second holder copies first
    assert second.PeekMemory(0) is not memory
    assert read(second) == b"SHared"
    assert read(first) == b"shared"
    assert first.PeekMemory(0) is memory and memory_state(memory) == (1, 1)
    first.Release()
    second.Release()


def test_resizing_a_block_sets_the_actual_length() -> None:
    sample = sample_of(b"abcdef", b"gh")
    sample.SetActualDataLength(1)
    sample.PeekMemory(0).Resize(1, 3)
    assert read(sample) == b"bcdgh"
    assert sample.GetSize() == sample.GetActualDataLength() == 5
    sample.Release()


# -- mutators on a shared sample ---------------------------------------------------------------

MUTATORS: dict[str, Callable[[MediaSample, Memory], Any]] = {
    "AppendMemory": lambda s, m: s.AppendMemory(m),
    "InsertMemory": lambda s, m: s.InsertMemory(0, m),
    "InsertMemory-1": lambda s, m: s.InsertMemory(-1, m),
    "ReplaceMemory": lambda s, m: s.ReplaceMemory(0, m),
    "RemoveMemory": lambda s, m: s.RemoveMemory(0),
    "AddMeta": lambda s, m: s.AddMeta(PLAIN_META, value=2),
    "RemoveMeta": lambda s, m: s.RemoveMeta(s.GetMeta(PLAIN_META)),
    "SetReadOnly(False)": lambda s, m: s.SetReadOnly(False),
}


@pytest.mark.parametrize("name", MUTATORS)
def test_mutators_refuse_a_shared_sample(make: Factory, name: str) -> None:
    sample = make(b"data")
    sample.AddMeta(PLAIN_META, value=1)
    sample.SetReadOnly(True)
    assert sample.AddRef() == 2
    assert not sample.IsWritable()
    memory = block(b"new")
    before = snapshot(sample)
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        MUTATORS[name](sample, memory)
    assert snapshot(sample) == before
    assert memory_state(memory) == (1, 0)  # not taken over
    memory.Release()
    assert sample.Release() == 1
    assert sample.IsWritable()
    sample.Release()


# -- bad input ---------------------------------------------------------------------------------

E_INVALIDARG = HRESULT.E_INVALIDARG
E_UNEXPECTED = HRESULT.E_UNEXPECTED

# (call, error); ``m`` is a live block the call may be given, ``d`` a dead one. The sample has
# two blocks of 4 bytes each.
BAD_INPUT: dict[str, tuple[Callable[[MediaSample, Memory, Memory], Any], Any]] = {
    "PeekMemory str": (lambda s, m, d: s.PeekMemory("0"), TypeError),
    "PeekMemory float": (lambda s, m, d: s.PeekMemory(0.0), TypeError),
    "PeekMemory bool": (lambda s, m, d: s.PeekMemory(False), TypeError),
    "PeekMemory None": (lambda s, m, d: s.PeekMemory(None), TypeError),
    "PeekMemory 2": (lambda s, m, d: s.PeekMemory(2), E_INVALIDARG),
    "PeekMemory -1": (lambda s, m, d: s.PeekMemory(-1), E_INVALIDARG),
    "GetMemory 2": (lambda s, m, d: s.GetMemory(2), E_INVALIDARG),
    "GetMemory str": (lambda s, m, d: s.GetMemory("1"), TypeError),
    "AppendMemory None": (lambda s, m, d: s.AppendMemory(None), TypeError),
    "AppendMemory bytes": (lambda s, m, d: s.AppendMemory(b"data"), TypeError),
    "AppendMemory dead": (lambda s, m, d: s.AppendMemory(d), E_UNEXPECTED),
    "InsertMemory 3": (lambda s, m, d: s.InsertMemory(3, m), E_INVALIDARG),
    "InsertMemory -2": (lambda s, m, d: s.InsertMemory(-2, m), E_INVALIDARG),
    "InsertMemory -1.0": (lambda s, m, d: s.InsertMemory(-1.0, m), TypeError),
    "InsertMemory True": (lambda s, m, d: s.InsertMemory(True, m), TypeError),
    "InsertMemory str": (lambda s, m, d: s.InsertMemory("0", m), TypeError),
    "InsertMemory object": (lambda s, m, d: s.InsertMemory(0, object()), TypeError),
    "InsertMemory dead": (lambda s, m, d: s.InsertMemory(0, d), E_UNEXPECTED),
    "ReplaceMemory 2": (lambda s, m, d: s.ReplaceMemory(2, m), E_INVALIDARG),
    "ReplaceMemory -1": (lambda s, m, d: s.ReplaceMemory(-1, m), E_INVALIDARG),
    "ReplaceMemory None": (lambda s, m, d: s.ReplaceMemory(0, None), TypeError),
    "ReplaceMemory bool": (lambda s, m, d: s.ReplaceMemory(False, m), TypeError),
    "ReplaceMemory dead": (lambda s, m, d: s.ReplaceMemory(0, d), E_UNEXPECTED),
    "RemoveMemory 2": (lambda s, m, d: s.RemoveMemory(2), E_INVALIDARG),
    "RemoveMemory -1": (lambda s, m, d: s.RemoveMemory(-1), E_INVALIDARG),
    "RemoveMemory str": (lambda s, m, d: s.RemoveMemory("0"), TypeError),
    "Map 0": (lambda s, m, d: s.Map(0), ValueError),
    "Map 4": (lambda s, m, d: s.Map(4), ValueError),
    "Map 5": (lambda s, m, d: s.Map(MapFlags.READ | 4), ValueError),
    "Map str": (lambda s, m, d: s.Map("r"), TypeError),
    "Map bool": (lambda s, m, d: s.Map(True), TypeError),
    "Map None": (lambda s, m, d: s.Map(None), TypeError),
    "SetReadOnly str": (lambda s, m, d: s.SetReadOnly("yes"), TypeError),
    "SetReadOnly None": (lambda s, m, d: s.SetReadOnly(None), TypeError),
    "Copy deep str": (lambda s, m, d: s.Copy("deep"), TypeError),
    "Copy merge str": (lambda s, m, d: s.Copy(merge="yes"), TypeError),
    "Copy offset float": (lambda s, m, d: s.Copy(offset=1.0), TypeError),
    "Copy offset bool": (lambda s, m, d: s.Copy(offset=True), TypeError),
    "Copy size str": (lambda s, m, d: s.Copy(size="2"), TypeError),
    "Copy offset -1": (lambda s, m, d: s.Copy(offset=-1), E_INVALIDARG),
    "Copy size -1": (lambda s, m, d: s.Copy(size=-1), E_INVALIDARG),
    "Copy size 9": (lambda s, m, d: s.Copy(size=9), E_INVALIDARG),
    "Copy offset 9": (lambda s, m, d: s.Copy(offset=9), E_INVALIDARG),
    "Copy range past end": (lambda s, m, d: s.Copy(offset=5, size=4), E_INVALIDARG),
    "AddMeta str": (lambda s, m, d: s.AddMeta("test-sample-blocks.plain"), TypeError),
    "AddMeta unregistered": (lambda s, m, d: s.AddMeta(UNREGISTERED), ValueError),
    "AddMeta reserved field": (lambda s, m, d: s.AddMeta(PLAIN_META, api="x"), ValueError),
    "GetMeta int": (lambda s, m, d: s.GetMeta(1), TypeError),
    "IterMeta int": (lambda s, m, d: s.IterMeta(1), TypeError),
    "RemoveMeta str": (lambda s, m, d: s.RemoveMeta("test-sample-blocks.plain"), TypeError),
    "RemoveMeta foreign": (lambda s, m, d: s.RemoveMeta(Meta(PLAIN_META, {})), ValueError),
}


@pytest.mark.parametrize("name", BAD_INPUT)
def test_bad_input_changes_nothing(make: Factory, name: str) -> None:
    call, error = BAD_INPUT[name]
    sample = make(b"abcd")
    sample.AppendMemory(block(b"efgh"))
    sample.AddMeta(PLAIN_META, value=1)
    memory = block(b"live")
    dead = dead_block()
    before = snapshot(sample)
    with expect(error):
        call(sample, memory, dead)
    assert snapshot(sample) == before
    assert memory_state(memory) == (1, 0)  # not taken over, not locked
    assert dead.ref_count == 0
    memory.Release()
    sample.Release()


def test_invalid_index_is_also_a_value_error() -> None:
    sample = sample_of(b"a")
    with pytest.raises(ValueError) as caught:
        sample.PeekMemory(1)
    assert isinstance(caught.value, InvalidArgError)
    assert caught.value.hresult == HRESULT.E_INVALIDARG
    sample.Release()


# -- GetPointer --------------------------------------------------------------------------------


def test_get_pointer_of_one_block_is_the_block(make: Factory) -> None:
    sample = make(b"0123456789")
    memory = sample.PeekMemory(0)
    view = sample.GetPointer()
    assert len(view) == 10 and not view.readonly
    assert address(view) == memory.address  # no copy, prefix excluded
    view[0] = ord("X")
    assert read_memory(memory) == b"X123456789"
    assert sample.PeekMemory(0) is memory
    del view
    sample.Release()


def test_get_pointer_of_spanning_blocks_does_not_copy() -> None:
    parent = block(bytes(range(32)))
    sample = MediaSample()
    sample.AppendMemory(parent.Share(4, 8))
    sample.AppendMemory(parent.Share(12, 10))
    sample.AppendMemory(parent.Share(22, 2))
    children = blocks(sample)
    view = sample.GetPointer()
    assert not view.readonly and len(view) == 20
    assert address(view) == parent.address + 4
    assert blocks(sample) == children  # no merge, no copy
    view[0] = 0xAA
    assert read_memory(parent)[4] == 0xAA
    assert read(sample)[0] == 0xAA
    with sample.Map(MapFlags.READ) as info:
        assert address(info.data) == parent.address + 4
        assert info.data.readonly
    del view
    parent.Release()
    sample.Release()
    assert parent.ref_count == 0


def test_get_pointer_of_spanning_blocks_whose_parent_another_sample_holds() -> None:
    """The parent is locked by another sample: writing through a span would reach it, so the
    blocks are merged into a private copy."""
    parent = block(b"0123456789abcdef")
    holder = MediaSample(None, parent)
    sample = MediaSample()
    sample.AppendMemory(parent.Share(0, 8))
    sample.AppendMemory(parent.Share(8, 8))
    view = sample.GetPointer()
    assert address(view) != parent.address
    assert sample.GetMemoryCount() == 1 and sample.PeekMemory(0).parent is None
    view[:2] = b"XY"
    assert read(sample) == b"XY23456789abcdef"
    assert read(holder) == b"0123456789abcdef"
    assert parent._share == 1 and parent.IsWritable()
    del view
    sample.Release()
    holder.Release()


def test_get_pointer_merges_scattered_blocks_of_a_writable_sample() -> None:
    sample = sample_of(b"abc", b"", b"defg", b"h")
    old = blocks(sample)
    for memory in old:
        memory.AddRef()
    sample.SetActualDataLength(2)
    view = sample.GetPointer()
    assert bytes(view) == b"abcdefgh" and not view.readonly
    (merged,) = blocks(sample)
    assert all(merged is not memory for memory in old)
    assert address(view) == merged.address
    assert sample.GetSize() == sample.GetActualDataLength() == 8
    for memory in old:
        assert memory_state(memory) == (1, 0)
        memory.Release()
    view[0] = ord("A")
    assert read(sample) == b"Abcdefgh"
    del view
    sample.Release()


def test_get_pointer_of_scattered_blocks_of_a_shared_sample_is_a_read_only_copy() -> None:
    sample = sample_of(b"abc", b"def")
    old = blocks(sample)
    sample.AddRef()
    view = sample.GetPointer()
    assert bytes(view) == b"abcdef"
    assert view.readonly
    with pytest.raises(TypeError):
        view[0] = 0
    assert blocks(sample) == old
    assert read(sample) == b"abcdef"
    sample.Release()
    sample.Release()


def test_get_pointer_of_a_read_only_sample_with_scattered_blocks() -> None:
    sample = sample_of(b"ab", b"cd")
    sample.SetReadOnly(True)
    view = sample.GetPointer()
    assert view.readonly and bytes(view) == b"abcd"
    with pytest.raises(TypeError):
        view[0] = 0
    assert read(sample) == b"abcd"
    sample.Release()


def test_get_pointer_copies_a_shared_block_first(make: Factory) -> None:
    sample = make(b"original")
    memory = sample.PeekMemory(0)
    copy = sample.Copy()
    assert copy.PeekMemory(0) is memory and not memory.IsWritable()
    view = sample.GetPointer()
    view[:3] = b"NEW"
    assert sample.PeekMemory(0) is not memory
    assert address(view) == sample.PeekMemory(0).address
    assert read(sample) == b"NEWginal"
    assert read(copy) == b"original"
    assert copy.PeekMemory(0) is memory and memory.IsWritable()
    del view
    view = copy.GetPointer()  # now the only holder: no copy
    assert address(view) == memory.address
    del view
    copy.Release()
    sample.Release()


def test_get_pointer_copies_read_only_memory() -> None:
    memory = Memory(None, b"frozen", flags=MemoryFlags.READONLY)
    sample = MediaSample(None, memory)
    assert not sample.IsReadOnly()
    memory.AddRef()
    view = sample.GetPointer()
    assert not view.readonly
    view[0] = ord("F")
    assert sample.PeekMemory(0) is not memory
    assert read(sample) == b"Frozen"
    assert read_memory(memory) == b"frozen"
    assert memory_state(memory) == (1, 0)
    memory.Release()
    del view
    sample.Release()


# -- Map ---------------------------------------------------------------------------------------


def test_map_read_never_copies() -> None:
    """READ maps shared blocks, read-only memory and a shared sample without a copy."""
    owner = sample_of(b"shared")
    sample = MediaSample()
    sample.AppendMemory(owner.GetMemory(0))
    sample.AppendMemory(Memory(None, b"-ro-", flags=MemoryFlags.READONLY))
    sample.AppendMemory(block(b"own"))
    sample.AddRef()
    before = blocks(sample)
    with sample.Map() as info:
        assert isinstance(info, SampleMapInfo)
        assert info.flags == MapFlags.READ
        assert [bytes(v) for v in info.views] == [b"shared", b"-ro-", b"own"]
        assert all(v.readonly for v in info.views)
        assert [address(v) for v in info.views] == [m.address for m in before]
        assert info.tobytes() == b"shared-ro-own" and info.size == 13
        with pytest.raises(ValueError):
            info.data  # noqa: B018 - scattered blocks are not one view
        assert blocks(sample) == before
    assert blocks(sample) == before
    assert info.mapped is False
    with pytest.raises(ValueError):
        info.views  # noqa: B018
    with pytest.raises(ValueError):
        info.Unmap()
    for memory in before:
        assert memory._lock_count == 0
    sample.Release()
    sample.Release()
    owner.Release()


def test_map_read_of_one_block(make: Factory) -> None:
    sample = make(b"single")
    memory = sample.PeekMemory(0)
    with sample.Map(MapFlags.READ) as info:
        assert info.data.readonly and bytes(info.data) == b"single"
        assert address(info.data) == memory.address
        with pytest.raises(TypeError):
            info.data[0] = 0
    with pytest.raises(ValueError):
        info.data  # noqa: B018
    sample.Release()


def test_map_write_of_a_private_block_does_not_copy(make: Factory) -> None:
    sample = make(b"private")
    memory = sample.PeekMemory(0)
    with sample.Map(MapFlags.WRITE) as info:
        assert info.flags == MapFlags.WRITE
        assert not info.data.readonly
        assert address(info.data) == memory.address
        info.data[0] = ord("P")
    assert sample.PeekMemory(0) is memory
    assert read(sample) == b"Private"
    sample.Release()


def test_map_write_copies_shared_and_read_only_blocks() -> None:
    owner = sample_of(b"theirs")
    shared = owner.PeekMemory(0)
    frozen = Memory(None, b"ro", flags=MemoryFlags.READONLY)
    frozen.AddRef()
    sample = MediaSample()
    sample.AppendMemory(owner.GetMemory(0))
    sample.AppendMemory(frozen)
    own = block(b"mine")
    sample.AppendMemory(own)
    with sample.Map(MapFlags.READWRITE) as info:
        first, second, third = info.views
        assert not any(v.readonly for v in info.views)
        first[:] = b"THEIRS"
        second[:] = b"RO"
        third[:] = b"MINE"
    new_first, new_second, new_third = blocks(sample)
    assert new_first is not shared and new_second is not frozen and new_third is own
    assert read(sample) == b"THEIRSROMINE"
    assert read(owner) == b"theirs" and read_memory(frozen) == b"ro"
    assert memory_state(shared) == (1, 1) and memory_state(frozen) == (1, 0)
    frozen.Release()
    sample.Release()
    owner.Release()


def test_map_write_of_spanning_sub_memories_copies_them() -> None:
    """Sub-memories are read-only memory: a WRITE mapping gives the sample private copies and
    leaves the parent alone."""
    parent = block(b"0123456789")
    sample = MediaSample()
    sample.AppendMemory(parent.Share(0, 5))
    sample.AppendMemory(parent.Share(5, 5))
    with sample.Map(MapFlags.WRITE) as info:
        for view in info.views:
            view[0] = ord("#")
    assert read(sample) == b"#1234#6789"
    assert read_memory(parent) == b"0123456789"
    assert all(m.parent is None for m in blocks(sample))
    parent.Release()
    sample.Release()


def test_map_write_of_a_read_only_sample_is_refused(make: Factory) -> None:
    sample = make(b"delivered")
    sample.SetReadOnly(True)
    before = snapshot(sample)
    for flags in (MapFlags.WRITE, MapFlags.READWRITE):
        with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
            sample.Map(flags)
    assert snapshot(sample) == before
    assert sample.PeekMemory(0)._lock_count == 0
    sample.Release()


def test_map_refused_by_the_lock_rules_leaves_nothing_mapped() -> None:
    sample = sample_of(b"free", b"busy")
    busy = sample.GetMemory(1)
    outside = busy.Map(MapFlags.WRITE)  # a WRITE-only mapping: a nested READ is refused
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        sample.Map(MapFlags.READ)
    assert sample.PeekMemory(0)._lock_count == 0
    with sample.PeekMemory(0).Map(MapFlags.WRITE):  # would fail under a leftover READ map
        pass
    busy.Unmap(outside)
    assert read(sample) == b"freebusy"
    busy.Release()
    sample.Release()


def test_map_keeps_its_blocks_alive_until_unmapped() -> None:
    sample = MediaSample.wrap(b"abcd").MakeWritable()
    try:
        with sample.Map(MapFlags.READ) as info:
            sample.GetPointer()[0] = ord("X")  # copy-on-write of the read-only block
            assert bytes(info.views[0]) == b"abcd"
        assert read(sample) == b"Xbcd"
    finally:
        sample.Release()


def test_map_survives_the_other_holder_releasing_the_block() -> None:
    first = sample_of(b"abcd")
    second = first.Copy()
    info = first.Map(MapFlags.READ)
    first.GetPointer()[0] = 1  # first takes a private copy; second is the block's holder
    second.Release()  # ... and lets go of it while first's mapping is open
    try:
        assert bytes(info.views[0]) == b"abcd"
        info.Unmap()
    finally:
        first.Release()


# -- read-only samples -------------------------------------------------------------------------


def test_set_read_only_gives_read_only_views(make: Factory) -> None:
    sample = make(b"payload")
    memory = sample.PeekMemory(0)
    assert not sample.IsReadOnly()
    sample.SetReadOnly(True)
    assert sample.IsReadOnly()
    view = sample.GetPointer()
    assert view.readonly and bytes(view) == b"payload"
    with pytest.raises(TypeError):
        view[0] = 0
    with pytest.raises(TypeError):
        view[:] = b"PAYLOAD"
    with sample.Map(MapFlags.READ) as info:
        assert all(v.readonly for v in info.views)
        with pytest.raises(TypeError):
            info.views[0][0] = 0
    assert read(sample) == b"payload" and sample.PeekMemory(0) is memory
    del view
    sample.SetReadOnly(False)  # writable (count 1): the mark can go
    assert not sample.IsReadOnly()
    sample.GetPointer()[0] = ord("P")
    assert read(sample) == b"Payload"
    sample.Release()


def test_read_only_mark_can_be_set_but_not_cleared_on_a_shared_sample(make: Factory) -> None:
    sample = make(b"tee")
    sample.AddRef()
    sample.SetReadOnly(True)  # marking for delivery is fine with a count of 2
    assert sample.IsReadOnly()
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        sample.SetReadOnly(False)
    assert sample.IsReadOnly()
    sample.Release()
    sample.SetReadOnly(False)
    assert not sample.IsReadOnly()
    sample.Release()


def test_final_release_clears_read_only_of_a_pool_sample(pool: MemAllocator) -> None:
    sample = pool.GetBuffer()
    sample.SetReadOnly(True)
    sample.Release()
    again = pool.GetBuffer()
    assert again is sample  # LIFO: the same sample, unchanged blocks
    assert not again.IsReadOnly()
    assert not again.GetPointer().readonly
    assert pool.discarded == 0
    again.Release()


# -- MakeWritable ------------------------------------------------------------------------------


def test_make_writable_of_a_writable_sample_is_itself(make: Factory) -> None:
    sample = make(b"mine")
    memory = sample.PeekMemory(0)
    sample.SetReadOnly(True)
    assert sample.MakeWritable() is sample
    assert sample.ref_count == 1 and not sample.IsReadOnly()
    assert sample.PeekMemory(0) is memory
    sample.GetPointer()[0] = ord("M")
    assert read(sample) == b"Mine"
    sample.Release()


def test_make_writable_of_a_shared_sample_copies_it(make: Factory) -> None:
    sample = make(b"shared!")
    sample.SetTime(100, 200)
    sample.SetSyncPoint(True)
    sample.SetActualDataLength(5)
    sample.SetReadOnly(True)
    memory = sample.PeekMemory(0)
    assert sample.AddRef() == 2
    writable = sample.MakeWritable()
    assert writable is not sample
    assert sample.ref_count == 1  # the caller's reference to the original went
    assert writable.ref_count == 1 and writable.IsWritable()
    assert writable.allocator is None
    assert not writable.IsReadOnly()
    assert sample.IsReadOnly()
    assert writable.PeekMemory(0) is memory  # shallow: the block is shared
    assert memory._share == 2 and not memory.IsWritable()
    assert writable.GetTime() == (100, 200) and writable.IsSyncPoint()
    assert writable.GetActualDataLength() == 5
    writable.GetPointer()[0] = ord("S")
    assert read(writable) == b"Shared!"
    assert read(sample) == b"shared!"
    assert sample.PeekMemory(0) is memory and memory.IsWritable()
    writable.Release()
    sample.Release()


def test_make_writable_of_wrapped_bytes() -> None:
    data = b"constant"
    sample = MediaSample.wrap(data)
    memory = sample.PeekMemory(0)
    writable = sample.MakeWritable()
    assert writable is sample and not writable.IsReadOnly()
    view = writable.GetPointer()
    assert not view.readonly
    assert writable.PeekMemory(0) is not memory
    view[0] = ord("C")
    assert read(writable) == b"Constant" and data == b"constant"
    del view
    writable.Release()


# -- Copy --------------------------------------------------------------------------------------


def _decorate(sample: MediaSample) -> None:
    sample.SetTime(1000, 2000)
    sample.SetMediaTime(10, 20)
    sample.SetSyncPoint(True)
    sample.SetPreroll(True)
    sample.SetMediaType(VIDEO)
    sample.SetProperties(attrs.evolve(sample.GetProperties(), type_specific_flags=7, stream_id=1))


def test_shallow_copy_shares_blocks_and_copies_fields(make: Factory) -> None:
    sample = make(b"0123456789")
    sample.AppendMemory(block(b"abcdef"))
    _decorate(sample)
    sample.SetActualDataLength(12)
    sample.SetReadOnly(True)
    copy = sample.Copy()
    assert copy is not sample
    assert copy.ref_count == 1 and copy.IsWritable() and not copy.IsReadOnly()
    assert copy.allocator is None
    assert blocks(copy) == blocks(sample)
    assert all(m._share == 2 and not m.IsWritable() for m in blocks(sample))
    assert copy.GetTime() == (1000, 2000)
    assert copy.GetMediaTime() == (10, 20)
    assert copy.IsSyncPoint() and copy.IsPreroll() and not copy.IsDiscontinuity()
    assert copy.GetMediaType() == VIDEO
    props = copy.GetProperties()
    assert props.type_specific_flags == 7 and props.stream_id == 1
    assert props.sample_flags & (AM_SAMPLE_SPLICEPOINT | AM_SAMPLE_PREROLL)
    assert copy.GetActualDataLength() == 12 and copy.GetSize() == 16
    assert sample.ref_count == 1  # copying takes no reference on the source
    copy.Release()
    assert all(m._share == 1 for m in blocks(sample))
    sample.Release()


def test_deep_copy_copies_every_block(make: Factory) -> None:
    sample = make(b"abcd")
    sample.AppendMemory(block(b"ef"))
    sample.SetReadOnly(True)
    _decorate(sample)
    before = snapshot(sample)
    copy = sample.Copy(deep=True)
    assert snapshot(sample) == before
    assert copy.GetMemoryCount() == 2
    assert all(c is not s for c, s in zip(blocks(copy), blocks(sample), strict=True))
    assert [m.size for m in blocks(copy)] == [4, 2]
    assert all(m._share == 1 and m.IsWritable() for m in blocks(copy) + blocks(sample))
    assert read(copy) == b"abcdef"
    assert not copy.IsReadOnly() and copy.GetTime() == (1000, 2000)
    copy.GetPointer()[0] = ord("A")
    assert read(sample) == b"abcdef"
    copy.Release()
    sample.Release()


# (offset, size) over blocks "ABCDEFGH" + "ijklmnop" -> the copy's blocks: ("same", i) is
# source block i itself, ("share", i, offset, size) a sub-memory of it.
REGIONS = [
    (0, 16, [("same", 0), ("same", 1)]),
    (0, 12, [("same", 0), ("share", 1, 0, 4)]),
    (4, 8, [("share", 0, 4, 4), ("share", 1, 0, 4)]),
    (8, 8, [("same", 1)]),
    (2, 3, [("share", 0, 2, 3)]),
    (9, 7, [("share", 1, 1, 7)]),
    (16, 0, []),
    (0, 0, []),
]


@pytest.mark.parametrize(("offset", "size", "layout"), REGIONS)
def test_region_copy(make: Factory, offset: int, size: int, layout: list[tuple[Any, ...]]) -> None:
    sample = make(b"ABCDEFGH")
    sample.AppendMemory(block(b"ijklmnop"))
    _decorate(sample)
    sample.SetActualDataLength(16)
    source = blocks(sample)
    copy = sample.Copy(offset=offset, size=size)
    assert read(copy) == b"ABCDEFGHijklmnop"[offset : offset + size]
    assert copy.GetSize() == size and copy.GetActualDataLength() == size
    got = blocks(copy)
    assert len(got) == len(layout)
    for memory, expected in zip(got, layout, strict=True):
        src = source[expected[1]]
        if expected[0] == "same":
            assert memory is src
        else:
            _, _, sub_offset, sub_size = expected
            assert memory.parent is src  # shared in part, without a copy
            assert memory.flags & MemoryFlags.READONLY
            assert (memory.offset - src.offset, memory.size) == (sub_offset, sub_size)
            assert memory.address == src.address + sub_offset
    whole = (offset, size) == (0, 16)
    if offset == 0:
        assert copy.GetTime() == ((1000, 2000) if whole else (1000, None))
    else:
        with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
            copy.GetTime()
    # fields other than times are copied whatever the range
    assert copy.IsSyncPoint() and copy.IsPreroll() and copy.GetMediaType() == VIDEO
    copy.Release()
    assert all(m._share == 1 for m in source)
    sample.Release()


def test_region_copy_of_a_block_mapped_for_writing_copies_it() -> None:
    sample = sample_of(b"0123456789")
    with sample.Map(MapFlags.WRITE) as info:
        copy = sample.Copy(offset=2, size=4)
        info.data[2] = ord("X")
    (memory,) = blocks(copy)
    assert memory.parent is None  # Share was refused while mapped WRITE: a copy
    assert read(copy) == b"2345"
    assert read(sample) == b"01X3456789"
    copy.Release()
    sample.Release()


def test_writing_the_source_of_a_region_copy_copies_first(make: Factory) -> None:
    sample = make(b"0123456789")
    memory = sample.PeekMemory(0)
    copy = sample.Copy(offset=3, size=4)
    assert memory._share == 2 and not memory.IsWritable()  # the sub-memory locks its parent
    sample.GetPointer()[:] = b"##########"
    assert sample.PeekMemory(0) is not memory
    assert read(copy) == b"3456"
    assert read(sample) == b"##########"
    copy.Release()
    assert memory.ref_count == 0  # the sub-memory held the last reference
    sample.Release()


def test_merge_copy_puts_the_bytes_in_one_new_block() -> None:
    sample = sample_of(b"abc", b"def", b"ghi")
    sample.SetTime(5, 6)
    source = blocks(sample)
    copy = sample.Copy(merge=True)
    (merged,) = blocks(copy)
    assert all(merged is not m for m in source)
    assert read(copy) == b"abcdefghi"
    assert copy.GetTime() == (5, 6)
    assert all(m._share == 1 for m in source)
    region = sample.Copy(offset=2, size=5, merge=True)
    assert region.GetMemoryCount() == 1 and read(region) == b"cdefg"
    assert region.GetActualDataLength() == 5
    assert region.PeekMemory(0).parent is None
    region.Release()
    copy.Release()
    sample.Release()


def test_merge_copy_of_one_block(make: Factory) -> None:
    sample = make(b"single")
    copy = sample.Copy(merge=True)
    assert copy.GetMemoryCount() == 1 and read(copy) == b"single"
    copy.GetPointer()[0] = ord("S")
    assert read(sample) == b"single"
    copy.Release()
    sample.Release()


def test_copy_of_a_wrapped_bytes_sample_is_writable() -> None:
    data = b"read-only"
    sample = MediaSample.wrap(data)
    for deep in (False, True):
        copy = sample.Copy(deep=deep)
        assert not copy.IsReadOnly()
        view = copy.GetPointer()
        assert not view.readonly
        view[0] = ord("R")
        assert read(copy) == b"Read-only"
        del view
        copy.Release()
    assert data == b"read-only" and read(sample) == data
    sample.Release()


def test_copy_transforms_metas() -> None:
    sample = sample_of(b"abcd", b"efgh")
    sample.AddMeta(PLAIN_META, value=1)
    sample.AddMeta(REFUSED_META)
    sample.AddMeta(UNCOPIED_META)
    sample.AddMeta(LAYOUT_META, stride=4)
    sample.AddMeta(REFERENCE_META)

    def apis(copy: MediaSample) -> list[str]:
        return [meta.api for meta in copy.IterMeta()]

    plain, layout, reference = PLAIN_META.api, LAYOUT_META.api, REFERENCE_META.api
    cases = {
        "shallow": ({}, [plain, layout, reference]),
        "deep": ({"deep": True}, [plain, layout]),
        "region": ({"offset": 1}, [plain, reference]),
        "merge": ({"merge": True}, [plain, reference]),
    }
    for name, (kwargs, expected) in cases.items():
        copy = sample.Copy(**kwargs)
        assert apis(copy) == expected, name
        original = sample.GetMeta(PLAIN_META)
        copied = copy.GetMeta(PLAIN_META)
        assert copied is not original and copied.value == 1
        copy.Release()
    sample.Release()


def test_merge_copy_of_one_block_drops_memory_metas() -> None:
    """A merge copy is one whatever the block count: metas tagged "memory" are dropped, as
    gst_buffer_copy_into does for MERGE."""
    sample = sample_of(b"abcd")
    sample.AddMeta(LAYOUT_META, stride=4)
    copy = sample.Copy(merge=True)
    try:
        assert copy.GetMeta(LAYOUT_META) is None
    finally:
        copy.Release()
        sample.Release()


def test_copy_while_mapped_for_writing_gets_a_private_block() -> None:
    sample = sample_of(b"live")
    memory = sample.PeekMemory(0)
    with sample.Map(MapFlags.WRITE) as info:
        copy = sample.Copy()
        info.data[:] = b"LIVE"
    assert copy.PeekMemory(0) is not memory
    assert read(copy) == b"live" and read(sample) == b"LIVE"
    assert memory_state(memory) == (1, 1)
    copy.Release()
    sample.Release()


def test_write_access_is_taken_again_after_a_copy() -> None:
    """A view is write access at the time of GetPointer: after a shallow copy, the documented
    way to write is a new GetPointer(), which copies on write so the copy never sees it."""
    sample = sample_of(b"abcd")
    sample.GetPointer()
    copy = sample.Copy()
    view = sample.GetPointer()
    view[0] = ord("X")
    try:
        assert read(copy) == b"abcd"
        assert read(sample) == b"Xbcd"
        assert copy.PeekMemory(0) is not sample.PeekMemory(0)
    finally:
        del view
        copy.Release()
        sample.Release()


# -- metas -------------------------------------------------------------------------------------


def test_meta_methods(make: Factory) -> None:
    sample = make(b"m")
    assert sample.GetMeta(PLAIN_META) is None and list(sample.IterMeta()) == []
    first = sample.AddMeta(PLAIN_META, value=1)
    layout = sample.AddMeta(LAYOUT_META, stride=8)
    second = sample.AddMeta(PLAIN_META, value=2)
    assert first is not None and second is not None and layout is not None
    assert first.value == 1 and layout.stride == 8
    assert sample.AddMeta(NO_INIT_META) is None
    assert sample.GetMeta(PLAIN_META) is first
    assert sample.GetMeta(PLAIN_META.api) is first
    assert list(sample.IterMeta()) == [first, layout, second]
    assert list(sample.IterMeta(PLAIN_META)) == [first, second]
    assert list(sample.IterMeta("no-such-api")) == []
    sample.RemoveMeta(first)
    assert list(sample.IterMeta()) == [layout, second]
    with pytest.raises(ValueError):
        sample.RemoveMeta(first)
    sample.Release()


def test_pooled_metas_are_locked_and_cleared() -> None:
    class MetaPool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            sample.AddMeta(POOLED_META, uses=0)

    allocator = MetaPool(name="test-sample-blocks-metas")
    allocator.SetProperties(AllocatorProperties(1, 8, 1, 0))
    allocator.Commit()
    try:
        sample = allocator.GetBuffer()
        pooled = sample.GetMeta(POOLED_META)
        assert pooled is not None and pooled.pooled and pooled.locked
        pooled.uses = 5
        extra = sample.AddMeta(PLAIN_META, value=1)
        assert extra is not None and not extra.pooled
        with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
            sample.RemoveMeta(pooled)
        assert list(sample.IterMeta()) == [pooled, extra]
        copy = sample.Copy()
        copied = copy.GetMeta(POOLED_META)
        assert copied is not None and not copied.pooled and not copied.locked
        copy.RemoveMeta(copied)
        copy.Release()
        sample.Release()
        again = allocator.GetBuffer()
        assert again is sample
        assert list(again.IterMeta()) == [pooled] and pooled.uses == 0
        again.Release()
    finally:
        allocator.Decommit()


# -- pool samples ------------------------------------------------------------------------------


def test_pool_sample_blocks(pool: MemAllocator) -> None:
    sample = pool.GetBuffer()
    (memory,) = blocks(sample)
    assert (memory.offset, memory.size) == (16, 16)
    assert (memory.address - 16) % 16 == 0
    assert sample.GetSize() == 16 and sample.IsWritable() and not sample.IsReadOnly()
    assert address(sample.GetPointer()) == memory.address
    assert memory_state(memory) == (1, 1)
    sample.Release()


def test_pool_reuses_a_sample_that_was_only_read(pool: MemAllocator) -> None:
    sample = pool.GetBuffer()
    memory = sample.PeekMemory(0)
    sample.GetPointer()[:4] = b"data"
    read(sample)
    copy = sample.Copy(deep=True)
    copy.Release()
    sample.Release()
    again = pool.GetBuffer()
    assert again is sample and again.PeekMemory(0) is memory
    assert pool.discarded == 0
    again.Release()


@pytest.mark.parametrize(
    "change",
    ["append", "remove", "replace", "merge", "cow", "shared at release"],
)
def test_pool_discards_a_sample_whose_blocks_changed(pool: MemAllocator, change: str) -> None:
    sample = pool.GetBuffer()
    memory = sample.PeekMemory(0)
    memory.AddRef()
    sample.GetPointer()[:] = b"0123456789abcdef"
    copy = None
    if change == "append":
        sample.AppendMemory(block(b"more"))
    elif change == "remove":
        sample.RemoveMemory(0)
    elif change == "replace":
        sample.ReplaceMemory(0, block(b"x" * 16))
    elif change == "merge":
        sample.AppendMemory(block(b"more"))
        sample.GetPointer()
    elif change == "cow":
        copy = sample.Copy()
        sample.GetPointer()[0] = 0
        copy.Release()
        copy = None
    else:
        copy = sample.Copy(offset=4, size=8)
    sample.Release()
    assert pool.discarded == 1
    assert sample.ref_count == 0
    other = pool.GetBuffer()
    third = pool.GetBuffer()
    assert sample not in (other, third)
    assert memory not in (other.PeekMemory(0), third.PeekMemory(0))
    other.GetPointer()[:] = b"X" * 16
    third.GetPointer()[:] = b"Y" * 16
    if copy is not None:  # the copy still holds the discarded sample's block, untouched
        assert read(copy) == b"456789ab"
        copy.Release()
    assert memory_state(memory) == (1, 0)
    memory.Release()
    other.Release()
    third.Release()


def test_make_writable_of_a_shared_pool_sample(pool: MemAllocator) -> None:
    sample = pool.GetBuffer()
    sample.GetPointer()[:4] = b"pool"
    sample.AddRef()
    writable = sample.MakeWritable()
    assert writable is not sample and writable.allocator is None
    assert sample.ref_count == 1
    memory = sample.PeekMemory(0)
    assert writable.PeekMemory(0) is memory and memory._share == 2
    writable.GetPointer()[:4] = b"POOL"
    assert read(sample)[:4] == b"pool"
    assert writable.PeekMemory(0) is not memory and memory._share == 1
    writable.Release()
    sample.Release()
    assert pool.discarded == 0  # the copy let go of the pool's block before it came home
    again = pool.GetBuffer()
    assert again is sample and again.PeekMemory(0) is memory
    again.Release()


RELEASED_CALLS: dict[str, Callable[[MediaSample, Memory, Meta], Any]] = {
    "GetMemoryCount": lambda s, m, meta: s.GetMemoryCount(),
    "PeekMemory": lambda s, m, meta: s.PeekMemory(0),
    "GetMemory": lambda s, m, meta: s.GetMemory(0),
    "AppendMemory": lambda s, m, meta: s.AppendMemory(m),
    "InsertMemory": lambda s, m, meta: s.InsertMemory(0, m),
    "ReplaceMemory": lambda s, m, meta: s.ReplaceMemory(0, m),
    "RemoveMemory": lambda s, m, meta: s.RemoveMemory(0),
    "Map READ": lambda s, m, meta: s.Map(MapFlags.READ),
    "Map WRITE": lambda s, m, meta: s.Map(MapFlags.WRITE),
    "IsWritable": lambda s, m, meta: s.IsWritable(),
    "IsReadOnly": lambda s, m, meta: s.IsReadOnly(),
    "SetReadOnly True": lambda s, m, meta: s.SetReadOnly(True),
    "SetReadOnly False": lambda s, m, meta: s.SetReadOnly(False),
    "MakeWritable": lambda s, m, meta: s.MakeWritable(),
    "Copy": lambda s, m, meta: s.Copy(),
    "Copy deep": lambda s, m, meta: s.Copy(deep=True),
    "Copy region": lambda s, m, meta: s.Copy(offset=1, size=2),
    "Copy merge": lambda s, m, meta: s.Copy(merge=True),
    "AddMeta": lambda s, m, meta: s.AddMeta(PLAIN_META, value=1),
    "GetMeta": lambda s, m, meta: s.GetMeta(PLAIN_META),
    "IterMeta": lambda s, m, meta: s.IterMeta(),
    "RemoveMeta": lambda s, m, meta: s.RemoveMeta(meta),
    "GetPointer": lambda s, m, meta: s.GetPointer(),
    "GetSize": lambda s, m, meta: s.GetSize(),
    "GetActualDataLength": lambda s, m, meta: s.GetActualDataLength(),
    "AddRef": lambda s, m, meta: s.AddRef(),
    "Release": lambda s, m, meta: s.Release(),
    "QueryInterface": lambda s, m, meta: s.QueryInterface(IBufferSample),
}


@pytest.mark.parametrize("name", RELEASED_CALLS)
def test_every_call_on_a_released_pool_sample_is_unexpected(pool: MemAllocator, name: str) -> None:
    sample = pool.GetBuffer()
    sample.GetPointer()[:] = b"0123456789abcdef"
    held = sample.PeekMemory(0)
    meta = sample.AddMeta(PLAIN_META, value=1)
    assert meta is not None
    other = pool.GetBuffer()
    assert sample.Release() == 0
    memory = block(b"arg")
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        RELEASED_CALLS[name](sample, memory, meta)
    assert memory_state(memory) == (1, 0)
    memory.Release()
    assert sample.ref_count == 0
    assert memory_state(held) == (1, 1)
    again = pool.GetBuffer()  # nothing changed: the same sample comes back, block and bytes
    assert again is sample and again.PeekMemory(0) is held
    assert read(again) == b"0123456789abcdef"
    assert again.GetMeta(PLAIN_META) is None and not again.IsReadOnly()
    assert pool.discarded == 0
    again.Release()
    other.Release()


def test_a_sample_retired_by_decommit_stays_dead() -> None:
    allocator = MemAllocator(name="test-sample-blocks-retired")
    allocator.SetProperties(AllocatorProperties(1, 8, 1, 0))
    allocator.Commit()
    sample = allocator.GetBuffer()
    memory = sample.PeekMemory(0)
    memory.AddRef()
    sample.Release()
    allocator.Decommit()
    assert allocator.allocated == 0
    assert memory_state(memory) == (1, 0)  # the pool let go of its block
    for name in ("GetMemoryCount", "GetPointer", "Map READ", "Copy", "MakeWritable"):
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            RELEASED_CALLS[name](sample, memory, Meta(PLAIN_META, {}))
    memory.Release()
