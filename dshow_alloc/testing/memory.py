"""`MemoryContract`: the behaviour every `IMemoryAllocator` and its `IMemory` promise.

Subclass it and define ``make_allocator()``; every test allocates through that allocator::

    from dshow_alloc.testing import MemoryContract

    class TestMyAllocator(MemoryContract):
        def make_allocator(self):
            return MyAllocator()

The rules are the `IMemory`/`IMemoryAllocator` docstrings; the behaviour is
GStreamer's ``GstMemory`` as its own check tests pin it (``tests/check/gst/gstmemory.c``:
``test_alloc_params``, ``test_map_nested``, ``test_submemory``, ``test_submemory_writable``,
``test_writable``, ``test_copy``, ``test_is_span``, ``test_resize``, ``test_map_resize``).
Alignment is given in bytes, as DirectShow's
``cbAlign``. Each test releases every memory it allocates.

Addresses: a memory that has an ``address`` attribute (the address of its first data byte, as
the built-in memories do) is checked through it; otherwise the address is read with ctypes
from a WRITE mapping's ``data``.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from dshow_alloc.hresult import HRESULT, AccessDeniedError, COMError, UnexpectedError
from dshow_alloc.memory import (
    AllocationParams,
    AllocatorFlags,
    MapFlags,
    MemoryFlags,
    find_allocator,
)
from dshow_alloc.testing.checks import assert_query_interface, raises_hresult
from interfaces import IMemory, IMemoryAllocator, IUnknown

__all__ = ["MemoryContract", "data_address"]

READ = MapFlags.READ
WRITE = MapFlags.WRITE
READWRITE = MapFlags.READ | MapFlags.WRITE

#: Every power of two from 1 to 4096 bytes (a page on most systems).
ALIGNMENTS = [1 << n for n in range(13)]

#: GStreamer's nesting rule (test_map_nested): an inner mapping may ask for the outer mode or
#: a narrower one. (outer, inner, allowed).
NESTED_MAPS = [
    (READ, READ, True),
    (READ, WRITE, False),
    (READ, READWRITE, False),
    (WRITE, READ, False),
    (WRITE, WRITE, True),
    (WRITE, READWRITE, False),
    (READWRITE, READ, True),
    (READWRITE, WRITE, True),
    (READWRITE, READWRITE, True),
]

ZERO_FLAGS = MemoryFlags.ZERO_PREFIXED | MemoryFlags.ZERO_PADDED


def _denied() -> contextlib.AbstractContextManager[None]:
    """Expect ``E_ACCESSDENIED`` (0x80070005), raised as `AccessDeniedError`."""
    return raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED)


def _unexpected() -> contextlib.AbstractContextManager[None]:
    """Expect ``E_UNEXPECTED`` (0x8000FFFF), raised as `UnexpectedError`."""
    return raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED)


def _read(memory: Any) -> bytes:
    """The memory's ``size`` data bytes, through a READ mapping."""
    with memory.Map(READ) as info:
        return bytes(info.data)


def _write(memory: Any, data: bytes, at: int = 0) -> None:
    """Store ``data`` at ``at`` in the memory's data, through a WRITE mapping."""
    with memory.Map(WRITE) as info:
        info.data[at : at + len(data)] = data


def _region(memory: Any) -> bytes:
    """All ``maxsize`` bytes of the memory's region (prefix, data, padding), via a share."""
    whole = memory.Share(-memory.offset, memory.maxsize)
    try:
        return _read(whole)
    finally:
        whole.Release()


def _pattern(size: int, seed: int = 1) -> bytes:
    """``size`` bytes that differ from zero and from their neighbours."""
    return bytes((seed + 7 * i) % 251 + 1 for i in range(size))


def data_address(memory: Any) -> int:
    """The address of the memory's first data byte.

    Uses ``memory.address`` when the memory has one; otherwise maps the memory WRITE and reads
    the address of ``data`` with ctypes (the memory must be writable and non-empty).
    """
    address = getattr(memory, "address", None)
    if isinstance(address, int):
        return address
    with memory.Map(WRITE) as info:
        anchor = ctypes.c_char.from_buffer(info.data)
        try:
            return ctypes.addressof(anchor)
        finally:
            del anchor  # drop the export before Unmap releases the view


class MemoryContract:
    """The `IMemoryAllocator` / `IMemory` contract; subclass and define `make_allocator`."""

    def make_allocator(self) -> IMemoryAllocator:
        """Return the allocator under test."""
        raise NotImplementedError("define make_allocator() in your subclass")

    @pytest.fixture
    def allocator(self) -> IMemoryAllocator:
        """The allocator under test, from `make_allocator`."""
        return self.make_allocator()

    # -- Alloc: layout, flags, count -----------------------------------------------------------

    def test_provides_interfaces(self, allocator: IMemoryAllocator) -> None:
        """The allocator provides IMemoryAllocator with a str mem_type, and its memory IMemory."""
        assert verifyObject(IMemoryAllocator, allocator)
        assert isinstance(allocator.mem_type, str)
        assert allocator.mem_type != ""
        memory = allocator.Alloc(16)
        assert verifyObject(IMemory, memory)
        assert memory.Release() == 0

    def test_alloc_without_params(self, allocator: IMemoryAllocator) -> None:
        """Alloc(100) gives size 100 at offset 0, maxsize >= 100, align 1, flags 0, no parent."""
        memory = allocator.Alloc(100)
        assert memory.size == 100
        assert memory.offset == 0
        assert memory.maxsize >= 100
        assert memory.align == 1
        assert memory.flags == 0
        assert memory.parent is None
        assert memory.allocator is allocator
        assert memory.IsWritable() is True
        assert memory.Release() == 0

    def test_alloc_with_params(self, allocator: IMemoryAllocator) -> None:
        """Prefix 10 and padding 10 give offset 10, size 100, maxsize >= 120 (test_alloc_params)."""
        params = AllocationParams(flags=ZERO_FLAGS, align=16, prefix=10, padding=10)
        memory = allocator.Alloc(100, params)
        assert memory.size == 100
        assert memory.offset == 10
        assert memory.maxsize >= 120
        assert memory.align == 16
        assert memory.flags == ZERO_FLAGS
        assert memory.parent is None
        assert memory.Release() == 0

    @pytest.mark.parametrize(
        "flags",
        [
            MemoryFlags(0),
            MemoryFlags.READONLY,
            MemoryFlags.NO_SHARE,
            MemoryFlags.ZERO_PREFIXED,
            MemoryFlags.ZERO_PADDED,
            MemoryFlags.NO_SHARE | MemoryFlags.ZERO_PADDED,
        ],
    )
    def test_alloc_flags_come_from_params(
        self, allocator: IMemoryAllocator, flags: MemoryFlags
    ) -> None:
        """The new memory's flags are exactly ``params.flags``."""
        memory = allocator.Alloc(8, AllocationParams(flags=flags, prefix=4, padding=4))
        assert memory.flags == flags
        assert memory.Release() == 0

    def test_alloc_count_is_one(self, allocator: IMemoryAllocator) -> None:
        """A new memory has a count of 1: AddRef gives 2, two Releases give 1 then 0."""
        memory = allocator.Alloc(8)
        assert memory.AddRef() == 2
        assert memory.Release() == 1
        assert memory.Release() == 0

    def test_alloc_zero_size(self, allocator: IMemoryAllocator) -> None:
        """Alloc(0) works and maps to an empty view (test_try_new_and_alloc)."""
        memory = allocator.Alloc(0)
        assert memory.size == 0
        assert memory.offset == 0
        with memory.Map(READ) as info:
            assert info.size == 0
            assert len(info.data) == 0
        assert memory.Release() == 0

    def test_alloc_large(self, allocator: IMemoryAllocator) -> None:
        """A 640x480x4 memory maps WRITE over all its bytes (test_try_new_and_alloc)."""
        size = 640 * 480 * 4
        memory = allocator.Alloc(size)
        with memory.Map(WRITE) as info:
            assert info.size == size
            info.data[640 * 479 * 4 + 479] = 0xFF
            info.data[size - 1] = 0xFE
        with memory.Map(READ) as info:
            assert info.data[640 * 479 * 4 + 479] == 0xFF
            assert info.data[size - 1] == 0xFE
        assert memory.Release() == 0

    def test_alloc_negative_size(self, allocator: IMemoryAllocator) -> None:
        """Alloc with a size below 0 raises ValueError."""
        with pytest.raises(ValueError):
            allocator.Alloc(-1)

    @pytest.mark.parametrize("params", [{"align": 16}, 16, "prefix=4"])
    def test_alloc_params_of_wrong_type(self, allocator: IMemoryAllocator, params: Any) -> None:
        """Alloc with params that are not AllocationParams (or None) raises TypeError."""
        with pytest.raises(TypeError):
            allocator.Alloc(8, params)

    @pytest.mark.parametrize("prefix", [0, 3])
    @pytest.mark.parametrize("align", ALIGNMENTS)
    def test_prefix_start_is_aligned(
        self, allocator: IMemoryAllocator, align: int, prefix: int
    ) -> None:
        """The prefix start (data address minus offset) is a multiple of ``align`` bytes."""
        memory = allocator.Alloc(5, AllocationParams(align=align, prefix=prefix))
        assert memory.align == align
        assert memory.offset == prefix
        assert (data_address(memory) - memory.offset) % align == 0
        assert memory.Release() == 0

    def test_address_is_data_start(self, allocator: IMemoryAllocator) -> None:
        """A memory's ``address`` is the address of the first byte a WRITE mapping exposes."""
        memory = allocator.Alloc(8, AllocationParams(prefix=3))
        if not hasattr(memory, "address"):
            memory.Release()
            pytest.skip("this memory has no address attribute")
        with memory.Map(WRITE) as info:
            anchor = ctypes.c_char.from_buffer(info.data)
            mapped = ctypes.addressof(anchor)
            del anchor
        assert memory.address == mapped
        assert memory.Release() == 0

    def test_zero_prefixed_and_padded(self, allocator: IMemoryAllocator) -> None:
        """ZERO_PREFIXED zeroes the prefix; ZERO_PADDED zeroes every byte after the data."""
        params = AllocationParams(flags=ZERO_FLAGS, align=8, prefix=10, padding=10)
        # Leave dirty bytes behind, in case the allocator recycles regions.
        dirty = allocator.Alloc(100, AllocationParams(align=8, prefix=10, padding=10))
        dirty.Resize(-dirty.offset, dirty.maxsize)
        _write(dirty, b"\xff" * dirty.maxsize)
        assert dirty.Release() == 0
        memory = allocator.Alloc(100, params)
        assert memory.flags == ZERO_FLAGS
        region = _region(memory)
        assert len(region) == memory.maxsize
        assert region[:10] == bytes(10)
        assert region[110:] == bytes(memory.maxsize - 110)
        assert memory.Release() == 0

    # -- Map / Unmap ---------------------------------------------------------------------------

    def test_map_read(self, allocator: IMemoryAllocator) -> None:
        """A READ mapping is a read-only view of ``size`` bytes; writing to it raises TypeError."""
        memory = allocator.Alloc(100, AllocationParams(prefix=10))
        info = memory.Map(READ)
        assert info.memory is memory
        assert info.flags == READ
        assert info.size == 100
        assert info.maxsize == memory.maxsize - 10
        assert isinstance(info.data, memoryview)
        assert info.data.readonly is True
        assert info.data.nbytes == 100
        with pytest.raises(TypeError):
            info.data[0] = 1
        memory.Unmap(info)
        assert memory.Release() == 0

    def test_map_write_is_visible_in_later_read(self, allocator: IMemoryAllocator) -> None:
        """A WRITE mapping is writable and what it stores shows in a later READ mapping."""
        memory = allocator.Alloc(64, AllocationParams(prefix=8, padding=8))
        info = memory.Map(WRITE)
        assert info.flags == WRITE
        assert info.size == 64
        assert info.data.readonly is False
        info.data[:] = _pattern(64)
        memory.Unmap(info)
        assert _read(memory) == _pattern(64)
        assert memory.Release() == 0

    def test_map_readwrite(self, allocator: IMemoryAllocator) -> None:
        """A READWRITE mapping reads the bytes and writes them in place."""
        memory = allocator.Alloc(4)
        _write(memory, b"abcd")
        with memory.Map(READWRITE) as info:
            assert info.flags == READWRITE
            assert bytes(info.data) == b"abcd"
            info.data[1:3] = b"XY"
        assert _read(memory) == b"aXYd"
        assert memory.Release() == 0

    def test_map_leaves_count_unchanged(self, allocator: IMemoryAllocator) -> None:
        """Mapping and unmapping take no reference (test_map, test_auto_unmap)."""
        memory = allocator.Alloc(100)
        with memory.Map(READ):
            assert memory.AddRef() == 2
            assert memory.Release() == 1
        assert memory.AddRef() == 2
        assert memory.Release() == 1
        assert memory.Release() == 0

    def test_map_info_context_manager_unmaps(self, allocator: IMemoryAllocator) -> None:
        """Leaving a MapInfo's with-block unmaps: ``.data`` raises ValueError, WRITE maps again."""
        memory = allocator.Alloc(8)
        with memory.Map(READ) as info:
            assert bytes(info.data) == bytes(8)
        with pytest.raises(ValueError):
            bytes(info.data)
        with pytest.raises(ValueError):
            info.data[0]
        with memory.Map(WRITE) as again:
            again.data[0] = 1
        assert memory.Release() == 0

    def test_unmap_releases_the_view(self, allocator: IMemoryAllocator) -> None:
        """After an explicit Unmap, any use of the mapping's ``.data`` raises ValueError."""
        memory = allocator.Alloc(8)
        info = memory.Map(WRITE)
        memory.Unmap(info)
        with pytest.raises(ValueError):
            info.data[0] = 1
        with pytest.raises(ValueError):
            len(info.data)
        assert memory.Release() == 0

    def test_unmap_twice(self, allocator: IMemoryAllocator) -> None:
        """A second Unmap of one mapping raises ValueError; a with-exit after Unmap does not."""
        memory = allocator.Alloc(8)
        info = memory.Map(READ)
        memory.Unmap(info)
        with pytest.raises(ValueError):
            memory.Unmap(info)
        with memory.Map(WRITE) as inner:
            memory.Unmap(inner)
        with pytest.raises(ValueError):
            memory.Unmap(inner)
        assert memory.Release() == 0

    def test_unmap_of_another_memorys_mapping(self, allocator: IMemoryAllocator) -> None:
        """Unmap of a mapping made on another memory raises ValueError and unmaps nothing."""
        first = allocator.Alloc(8)
        second = allocator.Alloc(8)
        info = first.Map(WRITE)
        with pytest.raises(ValueError):
            second.Unmap(info)
        info.data[0] = 7
        first.Unmap(info)
        assert _read(first)[0] == 7
        assert first.Release() == 0
        assert second.Release() == 0

    @pytest.mark.parametrize("flags", [0, 4, 8])
    def test_map_with_invalid_flags(self, allocator: IMemoryAllocator, flags: int) -> None:
        """Map with flags asking neither READ nor WRITE, or other bits, raises ValueError."""
        memory = allocator.Alloc(8)
        with pytest.raises(ValueError):
            memory.Map(MapFlags(flags))
        with memory.Map(WRITE):
            pass
        assert memory.Release() == 0

    @pytest.mark.parametrize(("outer", "inner", "allowed"), NESTED_MAPS)
    def test_nested_map(
        self, allocator: IMemoryAllocator, outer: MapFlags, inner: MapFlags, allowed: bool
    ) -> None:
        """A nested mapping must ask for the open mode or a narrower one (test_map_nested)."""
        memory = allocator.Alloc(100)
        _write(memory, _pattern(100))
        first = memory.Map(outer)
        if allowed:
            second = memory.Map(inner)
            assert second.flags == inner
            assert second.size == 100
            if inner & READ:
                assert bytes(second.data) == _pattern(100)
            if inner & WRITE:
                second.data[0] = 0
            memory.Unmap(second)
        else:
            with _denied():
                memory.Map(inner)
        # Nothing changed: the outer mapping still works...
        assert first.data.nbytes == 100
        if outer & WRITE:
            first.data[1] = 0
        memory.Unmap(first)
        # ...and once it is closed, any mode maps again.
        for flags in (WRITE, READ, READWRITE):
            with memory.Map(flags):
                pass
        expected = bytearray(_pattern(100))
        if allowed and inner & WRITE:
            expected[0] = 0
        if outer & WRITE:
            expected[1] = 0
        assert _read(memory) == bytes(expected)
        assert memory.Release() == 0

    def test_unmap_out_of_order(self, allocator: IMemoryAllocator) -> None:
        """Nested mappings close in any order; a third Unmap raises ValueError (test_map_nested)."""
        memory = allocator.Alloc(100)
        first = memory.Map(WRITE)
        second = memory.Map(WRITE)
        memory.Unmap(first)
        with _denied():
            memory.Map(READ)  # the second WRITE mapping is still open
        memory.Unmap(second)
        with pytest.raises(ValueError):
            memory.Unmap(second)
        with memory.Map(READ):
            pass
        assert memory.Release() == 0

    def test_write_map_of_readonly_memory(self, allocator: IMemoryAllocator) -> None:
        """A READONLY memory refuses WRITE and READWRITE maps and maps READ (test_writable)."""
        memory = allocator.Alloc(26, AllocationParams(flags=MemoryFlags.READONLY))
        assert memory.IsWritable() is False
        with _denied():
            memory.Map(WRITE)
        with _denied():
            memory.Map(READWRITE)
        with memory.Map(READ) as info:
            assert info.data.readonly is True
            assert info.size == 26
        with _denied():
            memory.Map(WRITE)
        assert memory.flags == MemoryFlags.READONLY
        assert memory.Release() == 0

    def test_map_of_not_mappable_memory(self, allocator: IMemoryAllocator) -> None:
        """A NOT_MAPPABLE memory refuses READ and WRITE maps with E_ACCESSDENIED."""
        memory = allocator.Alloc(8, AllocationParams(flags=MemoryFlags.NOT_MAPPABLE))
        assert memory.flags == MemoryFlags.NOT_MAPPABLE
        with _denied():
            memory.Map(READ)
        with _denied():
            memory.Map(WRITE)
        assert memory.Release() == 0

    # -- Share ---------------------------------------------------------------------------------

    def test_share_layout(self, allocator: IMemoryAllocator) -> None:
        """Share(1, 2) is a read-only sub-memory at offset+1 of 2 bytes with the root as parent."""
        memory = allocator.Alloc(4, AllocationParams(align=8, prefix=8))
        _write(memory, b"abcd")
        sub = memory.Share(1, 2)
        assert sub.size == 2
        assert sub.offset == 9
        assert sub.maxsize == memory.maxsize
        assert sub.align == 8
        assert sub.flags == MemoryFlags.READONLY
        assert sub.parent is memory
        assert sub.allocator is memory.allocator
        assert sub.IsWritable() is False
        assert _read(sub) == b"bc"
        assert sub.AddRef() == 2
        assert sub.Release() == 1
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_share_views_the_same_bytes(self, allocator: IMemoryAllocator) -> None:
        """A sub-memory's ``address`` is its parent's plus the share offset: nothing is copied."""
        memory = allocator.Alloc(16, AllocationParams(prefix=4))
        sub = memory.Share(3, 5)
        try:
            if not (hasattr(memory, "address") and hasattr(sub, "address")):
                pytest.skip("these memories have no address attribute")
            assert sub.address == memory.address + 3
            assert sub.address - sub.offset == memory.address - memory.offset
        finally:
            assert sub.Release() == 0
            assert memory.Release() == 0

    def test_share_size_defaults_to_the_rest(self, allocator: IMemoryAllocator) -> None:
        """Share() spans all the data and Share(1) the data after the first byte."""
        memory = allocator.Alloc(4, AllocationParams(prefix=8))
        _write(memory, b"abcd")
        whole = memory.Share()
        assert (whole.offset, whole.size) == (8, 4)
        assert _read(whole) == b"abcd"
        rest = memory.Share(1)
        assert (rest.offset, rest.size) == (9, 3)
        assert _read(rest) == b"bcd"
        assert whole.Release() == 0
        assert rest.Release() == 0
        assert memory.Release() == 0

    def test_share_of_zero_bytes(self, allocator: IMemoryAllocator) -> None:
        """Share(1, 0) gives an empty sub-memory that maps to 0 bytes (test_submemory)."""
        memory = allocator.Alloc(4)
        sub = memory.Share(1, 0)
        assert sub.size == 0
        assert sub.offset == 1
        with sub.Map(READ) as info:
            assert info.size == 0
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_share_reaches_into_prefix_and_padding(self, allocator: IMemoryAllocator) -> None:
        """Share(-offset, maxsize) views the whole region, prefix and padding included."""
        params = AllocationParams(flags=ZERO_FLAGS, prefix=4, padding=4)
        memory = allocator.Alloc(4, params)
        _write(memory, b"abcd")
        whole = memory.Share(-4, memory.maxsize)
        assert whole.offset == 0
        assert whole.size == memory.maxsize
        assert _read(whole)[:12] == bytes(4) + b"abcd" + bytes(4)
        assert whole.Release() == 0
        assert memory.Release() == 0

    def test_share_flags_are_root_flags_plus_readonly(self, allocator: IMemoryAllocator) -> None:
        """A sub-memory's flags are its root's flags plus READONLY."""
        memory = allocator.Alloc(8, AllocationParams(flags=ZERO_FLAGS, prefix=2, padding=2))
        sub = memory.Share(2, 4)
        assert sub.flags == ZERO_FLAGS | MemoryFlags.READONLY
        assert memory.flags == ZERO_FLAGS
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_share_of_share_has_the_root_as_parent(self, allocator: IMemoryAllocator) -> None:
        """A share of a share has the root as parent and offsets that add up."""
        memory = allocator.Alloc(4, AllocationParams(prefix=8))
        _write(memory, b"abcd")
        sub = memory.Share(1, 3)
        subsub = sub.Share(1, 1)
        assert subsub.parent is memory
        assert subsub.offset == 10
        assert subsub.size == 1
        assert subsub.flags == MemoryFlags.READONLY
        assert _read(subsub) == b"c"
        assert sub.Release() == 0
        assert _read(subsub) == b"c"
        assert subsub.Release() == 0
        assert memory.Release() == 0

    def test_sub_memory_refuses_write_maps(self, allocator: IMemoryAllocator) -> None:
        """A sub-memory maps READ but refuses WRITE, READWRITE and Resize."""
        memory = allocator.Alloc(8)
        sub = memory.Share(2, 4)
        with _denied():
            sub.Map(WRITE)
        with _denied():
            sub.Map(READWRITE)
        with _denied():
            sub.Resize(0, 2)
        assert (sub.offset, sub.size) == (2, 4)
        with sub.Map(READ) as info:
            assert info.size == 4
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_share_of_readonly_memory(self, allocator: IMemoryAllocator) -> None:
        """A READONLY memory can be shared; neither it nor the share maps WRITE."""
        memory = allocator.Alloc(26, AllocationParams(flags=MemoryFlags.READONLY))
        sub = memory.Share(0, 8)
        assert sub.flags == MemoryFlags.READONLY
        with _denied():
            memory.Map(WRITE)
        with _denied():
            sub.Map(WRITE)
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_one_share_leaves_the_root_writable(self, allocator: IMemoryAllocator) -> None:
        """With one sub-memory (one exclusive holder) the root stays writable; writes show."""
        memory = allocator.Alloc(4)
        _write(memory, b"abcd")
        sub = memory.Share(1, 2)
        assert memory.IsWritable() is True
        _write(memory, b"XY", at=1)
        assert _read(sub) == b"XY"
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_two_shares_make_the_root_unwritable(self, allocator: IMemoryAllocator) -> None:
        """Two live sub-memories (two holders) make the root unwritable until one is released."""
        memory = allocator.Alloc(8)
        first = memory.Share(0, 4)
        second = memory.Share(4, 4)
        assert memory.IsWritable() is False
        with _denied():
            memory.Map(WRITE)
        with _denied():
            memory.Resize(0, 4)
        assert memory.size == 8
        with memory.Map(READ) as info:
            assert info.size == 8
        assert second.Release() == 0
        assert memory.IsWritable() is True
        _write(memory, b"wxyz")
        assert _read(first) == b"wxyz"
        assert first.Release() == 0
        assert memory.IsWritable() is True
        assert memory.Release() == 0

    def test_share_holds_a_reference_on_the_root(self, allocator: IMemoryAllocator) -> None:
        """A sub-memory holds one reference on its root and keeps it alive until it goes."""
        memory = allocator.Alloc(4)
        _write(memory, b"abcd")
        sub = memory.Share(2, 2)
        assert memory.AddRef() == 3
        assert memory.Release() == 2
        assert memory.Release() == 1  # the caller's own reference is gone...
        assert _read(sub) == b"cd"  # ...and the bytes are still there
        assert sub.Release() == 0
        with _unexpected():
            memory.AddRef()

    def test_share_while_mapped_write(self, allocator: IMemoryAllocator) -> None:
        """Share of a memory mapped WRITE (or READWRITE) is refused and changes nothing."""
        memory = allocator.Alloc(4)
        for flags in (WRITE, READWRITE):
            info = memory.Map(flags)
            with _denied():
                memory.Share(0, 4)
            info.data[0] = ord("z")  # the mapping still works
            memory.Unmap(info)
        sub = memory.Share(0, 4)
        assert memory.IsWritable() is True  # exactly one holder: no lock leaked
        assert _read(sub)[:1] == b"z"
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_share_while_mapped_read(self, allocator: IMemoryAllocator) -> None:
        """Share of a memory mapped READ works and sees the mapped bytes (test_submemory)."""
        memory = allocator.Alloc(4)
        _write(memory, b"abcd")
        with memory.Map(READ) as info:
            sub = memory.Share(1, 2)
            assert _read(sub) == bytes(info.data[1:3])
        assert sub.Release() == 0
        assert memory.Release() == 0

    def test_share_of_no_share_memory(self, allocator: IMemoryAllocator) -> None:
        """Share of a NO_SHARE memory raises E_ACCESSDENIED and changes nothing."""
        memory = allocator.Alloc(8, AllocationParams(flags=MemoryFlags.NO_SHARE))
        with _denied():
            memory.Share(0, 4)
        assert memory.IsWritable() is True
        assert memory.AddRef() == 2
        assert memory.Release() == 1
        _write(memory, b"ok")
        assert memory.Release() == 0

    @pytest.mark.parametrize(
        ("offset", "size"),
        [(-5, 1), (0, -1), ("maxsize", 0), (0, "maxsize+1"), (5, None), (-1, None)],
    )
    def test_share_out_of_bounds(
        self, allocator: IMemoryAllocator, offset: int | str, size: int | str | None
    ) -> None:
        """Share of a range outside the region raises ValueError and leaves the memory alone."""
        memory = allocator.Alloc(4, AllocationParams(prefix=4))
        resolved = {"maxsize": memory.maxsize - 4 + 1, "maxsize+1": memory.maxsize + 1}
        if offset == -1:
            memory.Resize(-4, 8)  # offset 0: one byte before it is outside the region
        with pytest.raises(ValueError):
            memory.Share(
                resolved[offset] if isinstance(offset, str) else offset,
                resolved[size] if isinstance(size, str) else size,
            )
        assert memory.IsWritable() is True
        _write(memory, b"ok")
        assert memory.Release() == 0

    # -- Copy ----------------------------------------------------------------------------------

    def test_copy_is_a_writable_independent_memory(self, allocator: IMemoryAllocator) -> None:
        """Copy() holds the data at offset 0, is writable, and shares no bytes (test_copy)."""
        memory = allocator.Alloc(4, AllocationParams(align=16, prefix=4, padding=4))
        _write(memory, b"abcd")
        copy = memory.Copy()
        assert copy is not memory
        assert copy.size == 4
        assert copy.offset == 0
        assert copy.maxsize >= 4
        assert copy.align == 16
        assert copy.flags == 0
        assert copy.parent is None
        assert copy.IsWritable() is True
        assert _read(copy) == b"abcd"
        _write(copy, b"WXYZ")
        assert _read(memory) == b"abcd"
        _write(memory, b"1234")
        assert _read(copy) == b"WXYZ"
        assert memory.AddRef() == 2  # Copy took no reference on the original
        assert memory.Release() == 1
        assert copy.AddRef() == 2
        assert copy.Release() == 1
        assert copy.Release() == 0
        assert memory.Release() == 0

    def test_copy_range(self, allocator: IMemoryAllocator) -> None:
        """Copy(1, 2) holds bytes 1-2 of the data and Copy(1) the rest from byte 1."""
        memory = allocator.Alloc(4)
        _write(memory, b"abcd")
        part = memory.Copy(1, 2)
        assert (part.offset, part.size) == (0, 2)
        assert _read(part) == b"bc"
        rest = memory.Copy(1)
        assert rest.size == 3
        assert _read(rest) == b"bcd"
        assert part.Release() == 0
        assert rest.Release() == 0
        assert memory.Release() == 0

    def test_copy_of_zero_bytes(self, allocator: IMemoryAllocator) -> None:
        """Copy(0, 0), and Copy() of an empty memory, give empty memories (test_copy)."""
        memory = allocator.Alloc(4)
        empty = memory.Copy(0, 0)
        assert empty.size == 0
        with empty.Map(READ) as info:
            assert info.size == 0
        assert empty.Release() == 0
        assert memory.Release() == 0
        nothing = allocator.Alloc(0)
        copy = nothing.Copy()
        assert copy.size == 0
        with copy.Map(READ) as info:
            assert info.size == 0
        assert copy.Release() == 0
        assert nothing.Release() == 0

    def test_copy_of_readonly_memory_is_writable(self, allocator: IMemoryAllocator) -> None:
        """Copies of a READONLY memory and of a sub-memory are writable, with flags 0."""
        memory = allocator.Alloc(8, AllocationParams(flags=MemoryFlags.READONLY))
        copy = memory.Copy()
        assert copy.flags == 0
        assert memory.flags == MemoryFlags.READONLY
        _write(copy, b"a", at=4)
        plain = allocator.Alloc(8)
        _write(plain, b"abcdefgh")
        sub = plain.Share(2, 4)
        sub_copy = sub.Copy()
        assert sub_copy.flags == 0
        assert sub_copy.parent is None
        assert _read(sub_copy) == b"cdef"
        _write(sub_copy, b"X")
        assert _read(sub) == b"cdef"
        for done in (copy, memory, sub_copy, sub, plain):
            assert done.Release() == 0

    def test_copy_clears_zero_flags(self, allocator: IMemoryAllocator) -> None:
        """A copy of a ZERO_PREFIXED/ZERO_PADDED memory has flags 0."""
        memory = allocator.Alloc(8, AllocationParams(flags=ZERO_FLAGS, prefix=4, padding=4))
        copy = memory.Copy()
        assert copy.flags == 0
        assert copy.Release() == 0
        assert memory.Release() == 0

    def test_copy_reaches_into_the_prefix(self, allocator: IMemoryAllocator) -> None:
        """Copy(-prefix, n) copies prefix bytes too."""
        params = AllocationParams(flags=MemoryFlags.ZERO_PREFIXED, prefix=4)
        memory = allocator.Alloc(4, params)
        _write(memory, b"abcd")
        head = memory.Copy(-4, 4)
        assert _read(head) == bytes(4)
        both = memory.Copy(-4)
        assert both.size == 8
        assert _read(both) == bytes(4) + b"abcd"
        assert head.Release() == 0
        assert both.Release() == 0
        assert memory.Release() == 0

    def test_copy_allocator(self, allocator: IMemoryAllocator) -> None:
        """A copy comes from the memory's allocator, or the default one for NO_COPY/CUSTOM_ALLOC."""
        memory = allocator.Alloc(8)
        copy = memory.Copy()
        if int(allocator.flags) & int(AllocatorFlags.NO_COPY | AllocatorFlags.CUSTOM_ALLOC):
            assert copy.allocator is find_allocator(None)
        else:
            assert copy.allocator is allocator
        assert copy.Release() == 0
        assert memory.Release() == 0

    @pytest.mark.parametrize(("offset", "size"), [(-1, 2), (0, -1), (0, "maxsize+1"), (5, None)])
    def test_copy_out_of_bounds(
        self, allocator: IMemoryAllocator, offset: int, size: int | str | None
    ) -> None:
        """Copy of a range outside the region raises ValueError."""
        memory = allocator.Alloc(4)
        length = memory.maxsize + 1 if isinstance(size, str) else size
        with pytest.raises(ValueError):
            memory.Copy(offset, length)
        assert memory.Release() == 0

    # -- IsSpan --------------------------------------------------------------------------------

    def test_is_span_of_adjacent_shares(self, allocator: IMemoryAllocator) -> None:
        """Two adjacent shares span: the result is the first one's offset in the parent."""
        memory = allocator.Alloc(8, AllocationParams(prefix=8))
        first = memory.Share(0, 2)
        second = memory.Share(2, 2)
        assert first.IsSpan(second) == 0
        third = memory.Share(3, 2)
        fourth = memory.Share(5, 3)
        assert third.IsSpan(fourth) == 3
        middle = memory.Share(2, 4)
        left = middle.Share(0, 1)
        right = middle.Share(1, 3)
        assert left.IsSpan(right) == 2  # offsets count in the root, not in `middle`
        for sub in (first, second, third, fourth, middle, left, right):
            assert sub.Release() == 0
        assert memory.Release() == 0

    def test_is_span_of_non_adjacent_shares(self, allocator: IMemoryAllocator) -> None:
        """Shares with a gap, overlapping or in reverse order do not span."""
        memory = allocator.Alloc(8)
        first = memory.Share(0, 2)
        gap = memory.Share(3, 2)
        overlap = memory.Share(1, 2)
        second = memory.Share(2, 2)
        assert first.IsSpan(gap) is None
        assert first.IsSpan(overlap) is None
        assert second.IsSpan(first) is None
        for sub in (first, gap, overlap, second):
            assert sub.Release() == 0
        assert memory.Release() == 0

    def test_is_span_of_parent_and_child(self, allocator: IMemoryAllocator) -> None:
        """A parent and its own child never span, in either order (test_is_span)."""
        memory = allocator.Alloc(4)
        first = memory.Share(0, 2)
        second = memory.Share(2, 2)
        assert memory.IsSpan(second) is None
        assert first.IsSpan(memory) is None
        assert first.Release() == 0
        assert second.Release() == 0
        assert memory.Release() == 0

    def test_is_span_of_different_parents(self, allocator: IMemoryAllocator) -> None:
        """Shares of two different memories, or two plain memories, do not span."""
        one = allocator.Alloc(4)
        two = allocator.Alloc(4)
        head = one.Share(0, 2)
        tail = two.Share(2, 2)
        assert head.IsSpan(tail) is None
        assert one.IsSpan(two) is None
        assert head.Release() == 0
        assert tail.Release() == 0
        assert one.Release() == 0
        assert two.Release() == 0

    # -- Resize --------------------------------------------------------------------------------

    def test_resize(self, allocator: IMemoryAllocator) -> None:
        """Resize moves offset by the delta and sets size; maxsize never moves (test_resize)."""
        memory = allocator.Alloc(100)
        maxsize = memory.maxsize
        steps = [
            ((0, 100), (0, 100)),
            ((0, 50), (0, 50)),
            ((0, 100), (0, 100)),
            ((1, 99), (1, 99)),
            ((0, 99), (1, 99)),
            ((-1, 100), (0, 100)),
            ((50, 40), (50, 40)),
            ((-50, 100), (0, 100)),
            ((0, 0), (0, 0)),
            ((0, 100), (0, 100)),
            ((0, maxsize), (0, maxsize)),
            ((maxsize, 0), (maxsize, 0)),
            ((-maxsize, 100), (0, 100)),
        ]
        for (delta, size), expected in steps:
            memory.Resize(delta, size)
            assert (memory.offset, memory.size) == expected, (delta, size)
            assert memory.maxsize == maxsize
        assert memory.Release() == 0

    @pytest.mark.parametrize(
        ("delta", "size"),
        [(-1, 100), (0, "maxsize+1"), (1, "maxsize"), ("maxsize+1", 0), (0, -1), (-1, 1)],
    )
    def test_resize_out_of_bounds(
        self, allocator: IMemoryAllocator, delta: int | str, size: int | str
    ) -> None:
        """Resize outside the region raises ValueError and changes nothing (test_resize)."""
        memory = allocator.Alloc(100, AllocationParams(flags=ZERO_FLAGS))
        maxsize = memory.maxsize
        resolved = {"maxsize": maxsize, "maxsize+1": maxsize + 1}
        with pytest.raises(ValueError):
            memory.Resize(
                resolved[delta] if isinstance(delta, str) else delta,
                resolved[size] if isinstance(size, str) else size,
            )
        assert (memory.offset, memory.size, memory.maxsize) == (0, 100, maxsize)
        assert memory.flags == ZERO_FLAGS
        assert memory.Release() == 0

    def test_resize_while_mapped(self, allocator: IMemoryAllocator) -> None:
        """Resize is allowed while mapped; the next mapping shows the new size (test_map_resize)."""
        memory = allocator.Alloc(100)
        _write(memory, _pattern(100))
        with memory.Map(READ) as info:
            memory.Resize(1, 99)
            assert (memory.offset, memory.size) == (1, 99)
        with memory.Map(READ) as info:
            assert info.size == 99
            assert bytes(info.data) == _pattern(100)[1:]
            memory.Resize(-1, 100)
        assert (memory.offset, memory.size) == (0, 100)
        assert _read(memory) == _pattern(100)
        assert memory.Release() == 0

    def test_resize_clears_zero_prefixed(self, allocator: IMemoryAllocator) -> None:
        """A positive offset delta clears ZERO_PREFIXED only; a negative one clears nothing."""
        params = AllocationParams(flags=ZERO_FLAGS, prefix=10, padding=10)
        memory = allocator.Alloc(100, params)
        memory.Resize(-5, 105)
        assert memory.flags == ZERO_FLAGS
        memory.Resize(5, 100)
        assert memory.flags == MemoryFlags.ZERO_PADDED
        assert (memory.offset, memory.size) == (10, 100)
        assert memory.Release() == 0

    def test_resize_clears_zero_padded(self, allocator: IMemoryAllocator) -> None:
        """ZERO_PADDED is cleared when delta + size is below the old size (the padding grows)."""
        params = AllocationParams(flags=ZERO_FLAGS, prefix=10, padding=10)
        memory = allocator.Alloc(100, params)
        memory.Resize(0, 100)
        memory.Resize(0, 105)
        memory.Resize(-10, 115)  # delta + size = 105 = old size: padding unchanged
        assert memory.flags == ZERO_FLAGS
        memory.Resize(0, 114)
        assert memory.flags == MemoryFlags.ZERO_PREFIXED
        assert (memory.offset, memory.size) == (0, 114)
        assert memory.Release() == 0

    def test_resize_of_readonly_memory(self, allocator: IMemoryAllocator) -> None:
        """Resize of a READONLY memory raises E_ACCESSDENIED and changes nothing."""
        memory = allocator.Alloc(8, AllocationParams(flags=MemoryFlags.READONLY, prefix=2))
        with _denied():
            memory.Resize(1, 4)
        assert (memory.offset, memory.size) == (2, 8)
        assert memory.Release() == 0

    # -- Reference counting and lifetime -------------------------------------------------------

    def test_add_ref_and_release_counts(self, allocator: IMemoryAllocator) -> None:
        """AddRef and Release return the exact new count; extra references keep it writable."""
        memory = allocator.Alloc(8)
        assert memory.AddRef() == 2
        assert memory.AddRef() == 3
        assert memory.IsWritable() is True
        _write(memory, b"x")
        assert memory.Release() == 2
        assert memory.Release() == 1
        assert memory.Release() == 0

    def test_release_below_zero(self, allocator: IMemoryAllocator) -> None:
        """Release after the final Release raises E_UNEXPECTED, every time."""
        memory = allocator.Alloc(8)
        assert memory.Release() == 0
        with _unexpected():
            memory.Release()
        with _unexpected():
            memory.Release()

    def _released(self, allocator: IMemoryAllocator) -> Any:
        memory = allocator.Alloc(8)
        assert memory.Release() == 0
        return memory

    def test_add_ref_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """AddRef after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.AddRef()
        with _unexpected():
            memory.Release()

    @pytest.mark.parametrize("flags", [READ, WRITE])
    def test_map_after_final_release(self, allocator: IMemoryAllocator, flags: MapFlags) -> None:
        """Map after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.Map(flags)

    def test_share_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """Share after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.Share(0, 4)

    def test_copy_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """Copy after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.Copy(0, 4)

    def test_resize_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """Resize after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.Resize(0, 4)

    def test_is_writable_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """IsWritable after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.IsWritable()

    def test_is_span_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """IsSpan on (or with) a finally released sub-memory raises E_UNEXPECTED."""
        memory = allocator.Alloc(8)
        first = memory.Share(0, 4)
        second = memory.Share(4, 4)
        assert first.IsSpan(second) == 0
        assert second.Release() == 0
        try:
            with _unexpected():
                second.IsSpan(first)
        finally:
            assert first.Release() == 0
            assert memory.Release() == 0

    def test_unmap_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """Unmap, after the final Release, of a mapping made before it raises E_UNEXPECTED."""
        memory = allocator.Alloc(8)
        info = memory.Map(READ)
        assert memory.Release() == 0
        with _unexpected():
            memory.Unmap(info)

    def test_query_interface_after_final_release(self, allocator: IMemoryAllocator) -> None:
        """QueryInterface after the final Release raises E_UNEXPECTED."""
        memory = self._released(allocator)
        with _unexpected():
            memory.QueryInterface(IMemory)

    def test_query_interface(self, allocator: IMemoryAllocator) -> None:
        """QueryInterface(IMemory), (IUnknown) and by IID return the memory, count unchanged."""
        memory = allocator.Alloc(8)
        assert_query_interface(memory, IMemory)
        assert_query_interface(memory, IUnknown)
        with raises_hresult(COMError, HRESULT.E_NOINTERFACE):
            memory.QueryInterface(IMemoryAllocator)
        assert memory.AddRef() == 2
        assert memory.Release() == 1
        assert memory.Release() == 0

    # -- AllocationParams ----------------------------------------------------------------------

    def test_allocation_params_defaults(self) -> None:
        """AllocationParams() is flags 0, align 1, prefix 0, padding 0."""
        params = AllocationParams()
        assert (params.flags, params.align, params.prefix, params.padding) == (0, 1, 0, 0)

    @pytest.mark.parametrize("align", [0, 3, 6, 100, -4])
    def test_allocation_params_align_not_a_power_of_two(self, align: int) -> None:
        """An align that is not a power of two (0 included) raises ValueError."""
        with pytest.raises(ValueError):
            AllocationParams(align=align)

    @pytest.mark.parametrize("field", ["prefix", "padding"])
    def test_allocation_params_negative_sizes(self, field: str) -> None:
        """A negative prefix or padding raises ValueError."""
        with pytest.raises(ValueError):
            AllocationParams(**{field: -1})
