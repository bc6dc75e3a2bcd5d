"""Copy-on-write, as properties: no write through one holder is ever seen by another.

A holder is a sample object with a count of 1. Holders are made by ``allocate``, by a pool,
over sub-memories that span one parent, by ``wrap`` of a bytearray or bytes, by ``Copy``
(shallow, deep, region, merge), by ``MakeWritable`` of a shared sample, and they exchange
blocks with ``GetMemory`` + ``InsertMemory``. Writes go through ``GetPointer``, ``Map(WRITE)``
and region copies. After every step each holder's bytes, read through a READ mapping (which
must never copy), equal a pure-Python model of what that holder alone wrote.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dshow_alloc import (
    AM_GBF_NOWAIT,
    AccessDeniedError,
    AllocatorProperties,
    COMError,
    MapFlags,
    MediaSample,
    MemAllocator,
    Memory,
    MemoryFlags,
    find_allocator,
)

SYSTEM = find_allocator(None)
POOL_SIZE = 12
POOL_BUFFERS = 3
MAX_HOLDERS = 7
MAX_BLOCKS = 16

chunks = st.binary(min_size=0, max_size=10)
payloads = st.binary(min_size=1, max_size=12)


def new_block(data: bytes) -> Memory:
    memory: Memory = SYSTEM.Alloc(len(data))
    with memory.Map(MapFlags.WRITE) as info:
        info.data[:] = data
    return memory


def address(view: memoryview) -> int:
    """The address of a view's first byte (read-only views included)."""
    return int(np.frombuffer(view, dtype=np.uint8).ctypes.data)


def blocks(sample: MediaSample) -> list[Memory]:
    return [sample.PeekMemory(i) for i in range(sample.GetMemoryCount())]


def read(sample: MediaSample) -> bytes:
    """The sample's bytes through a READ mapping, checking that it changed no block."""
    before = blocks(sample)
    with sample.Map(MapFlags.READ) as info:
        assert all(view.readonly for view in info.views)
        data = info.tobytes()
    assert blocks(sample) == before, "a READ mapping replaced a block"
    return data


def block_start(sample: MediaSample, index: int) -> int:
    """Where block ``index`` starts in the sample's bytes."""
    return sum(sample.PeekMemory(i).size for i in range(index))


def write_views(views: tuple[memoryview, ...], offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` of the bytes the views cover, in order."""
    pos = 0
    for view in views:
        lo, hi = max(offset, pos), min(offset + len(data), pos + len(view))
        if lo < hi:
            view[lo - pos : hi - pos] = data[lo - offset : hi - offset]
        pos += len(view)


@attrs.define(eq=False)
class Holder:
    sample: MediaSample
    model: bytearray
    read_only: bool
    how: str


class CopyOnWrite(RuleBasedStateMachine):
    """Holders of shared blocks, written at random, against one bytearray model per holder."""

    @initialize()
    def start(self) -> None:
        self.holders: list[Holder] = []
        self.made: list[Memory] = []  # blocks made here; every one must be gone at the end
        self.constants: list[tuple[bytes, bytes]] = []  # wrapped bytes and their value
        self.pool = MemAllocator(name="cow-properties")
        self.pool.SetProperties(AllocatorProperties(POOL_BUFFERS, POOL_SIZE, 1, 0))
        self.pool.Commit()

    # -- helpers -------------------------------------------------------------------------------

    def _block(self, data: bytes) -> Memory:
        memory = new_block(data)
        self.made.append(memory)
        return memory

    def _add(self, sample: MediaSample, model: bytes, how: str, read_only: bool = False) -> None:
        assert sample.ref_count == 1
        self.holders.append(Holder(sample, bytearray(model), read_only, how))

    def _pick(self, data: st.DataObject, *, with_blocks: bool = False) -> Holder:
        choices = [h for h in self.holders if h.sample.GetMemoryCount() or not with_blocks]
        return data.draw(st.sampled_from(choices))

    def _range(self, data: st.DataObject, length: int) -> tuple[int, int]:
        offset = data.draw(st.integers(0, length))
        size = data.draw(st.integers(0, length - offset))
        return offset, size

    def has_room(self) -> bool:
        return len(self.holders) < MAX_HOLDERS

    def has_holders(self) -> bool:
        return bool(self.holders)

    def has_blocks(self) -> bool:
        return any(h.sample.GetMemoryCount() for h in self.holders)

    def pool_has_free(self) -> bool:
        out = sum(1 for h in self.holders if h.sample.allocator is self.pool)
        return self.has_room() and out < POOL_BUFFERS

    # -- making holders ------------------------------------------------------------------------

    @precondition(has_room)
    @rule(first=chunks, rest=st.lists(chunks, max_size=3))
    def allocate(self, first: bytes, rest: list[bytes]) -> None:
        sample = MediaSample.allocate(len(first))
        if first:
            with sample.Map(MapFlags.WRITE) as info:
                info.data[:] = first
        for chunk in rest:
            sample.AppendMemory(self._block(chunk))
        self._add(sample, first + b"".join(rest), "allocate")

    @precondition(pool_has_free)
    @rule(data=st.binary(min_size=POOL_SIZE, max_size=POOL_SIZE))
    def from_pool(self, data: bytes) -> None:
        sample = self.pool.GetBuffer(flags=AM_GBF_NOWAIT)
        sample.GetPointer()[:] = data
        self._add(sample, data, "pool")

    @precondition(has_room)
    @rule(
        payload=st.binary(min_size=3, max_size=16),
        companion=st.sampled_from(["none", "parent", "copy", "region", "sibling"]),
        data=st.data(),
    )
    def spanning(self, payload: bytes, companion: str, data: st.DataObject) -> None:
        """A sample of two or more sub-memories that span one parent, and maybe a companion
        holder of some of the same bytes: the parent itself, a copy or a region copy of the
        sample, or another sub-memory of the parent. Otherwise only the sub-memories hold the
        parent."""
        parent = self._block(payload)
        cuts = sorted(
            data.draw(st.lists(st.integers(0, len(payload)), min_size=3, max_size=5, unique=True))
        )
        sample = MediaSample()
        for lo, hi in itertools.pairwise(cuts):
            sample.AppendMemory(parent.Share(lo, hi - lo))
        model = payload[cuts[0] : cuts[-1]]
        self._add(sample, model, "spanning")
        if companion == "parent" and self.has_room():
            parent.AddRef()
            self._add(MediaSample(None, parent), payload, "parent")
        elif companion == "copy" and self.has_room():
            self._add(sample.Copy(), model, "copy of spanning")
        elif companion == "region" and self.has_room():
            offset, size = self._range(data, len(model))
            self._add(
                sample.Copy(offset=offset, size=size), model[offset : offset + size], "region"
            )
        elif companion == "sibling" and self.has_room():
            lo = data.draw(st.integers(0, len(payload)))
            hi = data.draw(st.integers(lo, len(payload)))
            sibling = MediaSample()
            sibling.AppendMemory(parent.Share(lo, hi - lo))
            self._add(sibling, payload[lo:hi], "sibling")
        parent.Release()

    @precondition(has_room)
    @rule(payload=payloads)
    def wrap_bytearray(self, payload: bytes) -> None:
        self._add(MediaSample.wrap(bytearray(payload)), payload, "wrap bytearray")

    @precondition(has_room)
    @rule(payload=payloads)
    def wrap_bytes(self, payload: bytes) -> None:
        constant = bytes(bytearray(payload))
        self.constants.append((constant, bytes(payload)))
        sample = MediaSample.wrap(constant)
        assert sample.IsReadOnly()
        self._add(sample, payload, "wrap bytes", read_only=True)

    @precondition(lambda self: self.has_room() and self.has_holders())
    @rule(deep=st.booleans(), data=st.data())
    def copy(self, deep: bool, data: st.DataObject) -> None:
        holder = self._pick(data)
        copy = holder.sample.Copy(deep=deep)
        source = blocks(holder.sample)
        if deep:  # new blocks, nobody else's
            assert all(m._share == 1 and all(m is not s for s in source) for m in blocks(copy))
        else:  # the same blocks, locked by both
            assert blocks(copy) == source and all(m._share >= 2 for m in source)
        self._add(copy, holder.model, "deep copy" if deep else "copy")

    @precondition(lambda self: self.has_room() and self.has_holders())
    @rule(merge=st.booleans(), data=st.data())
    def region_copy(self, merge: bool, data: st.DataObject) -> None:
        holder = self._pick(data)
        offset, size = self._range(data, len(holder.model))
        copy = holder.sample.Copy(offset=offset, size=size, merge=merge)
        assert copy.GetActualDataLength() == size
        self._add(copy, holder.model[offset : offset + size], "region copy")

    @precondition(lambda self: self.has_room() and self.has_holders())
    @rule(data=st.data())
    def make_writable_shared(self, data: st.DataObject) -> None:
        holder = self._pick(data)
        assert holder.sample.AddRef() == 2
        writable = holder.sample.MakeWritable()
        assert writable is not holder.sample
        assert holder.sample.ref_count == 1
        self._add(writable, holder.model, "make writable")

    @precondition(has_holders)
    @rule(data=st.data())
    def make_writable_self(self, data: st.DataObject) -> None:
        holder = self._pick(data)
        assert holder.sample.MakeWritable() is holder.sample
        holder.read_only = False

    @precondition(has_holders)
    @rule(data=st.data())
    def set_read_only(self, data: st.DataObject) -> None:
        holder = self._pick(data)
        holder.sample.SetReadOnly(True)
        holder.read_only = True

    @precondition(has_holders)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        holder = self._pick(data)
        self.holders.remove(holder)
        assert holder.sample.Release() == 0

    # -- exchanging blocks ---------------------------------------------------------------------

    @precondition(has_blocks)
    @rule(data=st.data())
    def share_block(self, data: st.DataObject) -> None:
        """Give another holder (or the same one) a block of this one, with GetMemory."""
        source = self._pick(data, with_blocks=True)
        target = self._pick(data)
        index = data.draw(st.integers(0, source.sample.GetMemoryCount() - 1))
        start = block_start(source.sample, index)
        memory = source.sample.GetMemory(index)
        chunk = bytes(source.model[start : start + memory.size])
        count = target.sample.GetMemoryCount()
        position = data.draw(st.integers(-1, count))
        if count >= MAX_BLOCKS:  # merged into one block first
            at = 0 if position == 0 else len(target.model)
        elif position == -1:
            at = len(target.model)
        else:
            at = block_start(target.sample, position)
        target.sample.InsertMemory(position, memory)
        target.model[at:at] = chunk

    @precondition(has_holders)
    @rule(chunk=chunks, data=st.data())
    def append_block(self, chunk: bytes, data: st.DataObject) -> None:
        holder = self._pick(data)
        holder.sample.AppendMemory(self._block(chunk))
        holder.model += chunk

    @precondition(has_blocks)
    @rule(data=st.data())
    def remove_block(self, data: st.DataObject) -> None:
        holder = self._pick(data, with_blocks=True)
        index = data.draw(st.integers(0, holder.sample.GetMemoryCount() - 1))
        start = block_start(holder.sample, index)
        del holder.model[start : start + holder.sample.PeekMemory(index).size]
        holder.sample.RemoveMemory(index)

    @precondition(has_blocks)
    @rule(chunk=chunks, data=st.data())
    def replace_block(self, chunk: bytes, data: st.DataObject) -> None:
        holder = self._pick(data, with_blocks=True)
        index = data.draw(st.integers(0, holder.sample.GetMemoryCount() - 1))
        start = block_start(holder.sample, index)
        holder.model[start : start + holder.sample.PeekMemory(index).size] = chunk
        holder.sample.ReplaceMemory(index, self._block(chunk))

    # -- writing -------------------------------------------------------------------------------

    @precondition(has_holders)
    @rule(payload=payloads, data=st.data())
    def write_pointer(self, payload: bytes, data: st.DataObject) -> None:
        holder = self._pick(data)
        offset = data.draw(st.integers(0, len(holder.model)))
        payload = payload[: len(holder.model) - offset]
        view = holder.sample.GetPointer()
        assert len(view) == len(holder.model)
        if holder.read_only:
            assert view.readonly
            if payload:
                with pytest.raises(TypeError):
                    view[offset : offset + len(payload)] = payload
        else:
            assert not view.readonly
            view[offset : offset + len(payload)] = payload
            holder.model[offset : offset + len(payload)] = payload
        view.release()

    def has_several_blocks(self) -> bool:
        return any(h.sample.GetMemoryCount() > 1 for h in self.holders)

    @precondition(has_several_blocks)
    @rule(payload=payloads, data=st.data())
    def write_pointer_over_blocks(self, payload: bytes, data: st.DataObject) -> None:
        """GetPointer of a sample of several blocks: a span of one parent, or a merge."""
        several = [h for h in self.holders if h.sample.GetMemoryCount() > 1]
        holder = data.draw(st.sampled_from(several))
        offset = data.draw(st.integers(0, len(holder.model)))
        payload = payload[: len(holder.model) - offset]
        view = holder.sample.GetPointer()
        if holder.read_only:
            assert view.readonly and bytes(view) == holder.model
        else:
            view[offset : offset + len(payload)] = payload
            holder.model[offset : offset + len(payload)] = payload
        view.release()

    @precondition(has_holders)
    @rule(payload=payloads, data=st.data())
    def write_map(self, payload: bytes, data: st.DataObject) -> None:
        holder = self._pick(data)
        offset = data.draw(st.integers(0, len(holder.model)))
        payload = payload[: len(holder.model) - offset]
        if holder.read_only:
            before = blocks(holder.sample)
            with pytest.raises(AccessDeniedError):
                holder.sample.Map(MapFlags.WRITE)
            assert blocks(holder.sample) == before
            return
        with holder.sample.Map(MapFlags.WRITE) as info:
            assert not any(view.readonly for view in info.views)
            write_views(info.views, offset, payload)
        holder.model[offset : offset + len(payload)] = payload

    @precondition(has_holders)
    @rule(payload=payloads, data=st.data())
    def write_region_copy(self, payload: bytes, data: st.DataObject) -> None:
        """Write through a short-lived region copy: only the copy sees it."""
        holder = self._pick(data)
        offset, size = self._range(data, len(holder.model))
        copy = holder.sample.Copy(offset=offset, size=size)
        expected = bytearray(holder.model[offset : offset + size])
        payload = payload[:size]
        view = copy.GetPointer()
        view[: len(payload)] = payload
        view.release()
        expected[: len(payload)] = payload
        assert read(copy) == expected
        assert copy.Release() == 0

    # -- checks --------------------------------------------------------------------------------

    @invariant()
    def each_holder_sees_only_its_own_writes(self) -> None:
        for holder in getattr(self, "holders", []):
            sample = holder.sample
            assert read(sample) == holder.model, holder.how
            assert sample.GetSize() == len(holder.model)
            assert sample.IsReadOnly() is holder.read_only
            assert sample.ref_count == 1 and sample.IsWritable()
        # Wrapped bytes are never written (the memory code handles raw addresses of bytes
        # objects, so a write through ctypes would be possible, and silent).
        for constant, value in getattr(self, "constants", []):
            assert constant == value

    def teardown(self) -> None:
        if not hasattr(self, "pool"):
            return
        for holder in self.holders:
            with contextlib.suppress(COMError):
                holder.sample.Release()
        self.holders = []
        self.pool.Decommit()
        assert self.pool.allocated == 0
        assert [m for m in self.made if m.ref_count] == []


@pytest.mark.timeout(60)
def test_no_write_through_one_holder_is_seen_by_another() -> None:
    run_state_machine_as_test(
        CopyOnWrite,
        settings=settings(
            max_examples=200,
            stateful_step_count=30,
            deadline=None,
            database=None,
            derandomize=True,
        ),
    )


# -- single properties -------------------------------------------------------------------------

layouts = st.lists(chunks, min_size=1, max_size=5)
QUICK = settings(max_examples=80, deadline=None, database=None, derandomize=True)


def sample_of(layout: list[bytes]) -> MediaSample:
    sample = MediaSample()
    for chunk in layout:
        sample.AppendMemory(new_block(chunk))
    return sample


def write_through(sample: MediaSample, how: str, offset: int, payload: bytes) -> None:
    if how == "pointer":
        view = sample.GetPointer()
        view[offset : offset + len(payload)] = payload
        view.release()
    else:
        with sample.Map(MapFlags.WRITE) as info:
            write_views(info.views, offset, payload)


@QUICK
@given(
    layout=layouts,
    derive=st.sampled_from(["copy", "deep", "make writable", "share blocks", "region"]),
    writer=st.sampled_from(["source", "derived"]),
    how=st.sampled_from(["pointer", "map"]),
    payload=payloads,
    data=st.data(),
)
def test_a_write_through_one_of_two_holders(
    layout: list[bytes], derive: str, writer: str, how: str, payload: bytes, data: Any
) -> None:
    """Two holders of the same bytes; a write through either is seen by it alone."""
    source = sample_of(layout)
    whole = b"".join(layout)
    offset, size = 0, len(whole)
    if derive == "copy":
        derived = source.Copy()
    elif derive == "deep":
        derived = source.Copy(deep=True)
    elif derive == "make writable":
        source.AddRef()
        derived = source.MakeWritable()
    elif derive == "share blocks":
        derived = MediaSample()
        for index in range(source.GetMemoryCount()):
            derived.AppendMemory(source.GetMemory(index))
    else:
        offset = data.draw(st.integers(0, len(whole)))
        size = data.draw(st.integers(0, len(whole) - offset))
        derived = source.Copy(offset=offset, size=size)
    models = {"source": bytearray(whole), "derived": bytearray(whole[offset : offset + size])}
    target = source if writer == "source" else derived
    model = models[writer]
    at = data.draw(st.integers(0, len(model)))
    payload = payload[: len(model) - at]
    write_through(target, how, at, payload)
    model[at : at + len(payload)] = payload
    try:
        assert read(source) == models["source"]
        assert read(derived) == models["derived"]
    finally:
        derived.Release()
        source.Release()


@QUICK
@given(payload=payloads, how=st.sampled_from(["pointer", "map"]), data=st.data())
def test_wrapped_bytearray_sees_its_sample_but_never_a_copy(
    payload: bytes, how: str, data: Any
) -> None:
    """Writes through the sample that wraps a bytearray reach it; writes through copies of
    that sample (shallow, region, MakeWritable) never do, and then neither do the wrapping
    sample's own later writes reach the copies."""
    buffer = bytearray(payload)
    sample = MediaSample.wrap(buffer)
    at = data.draw(st.integers(0, len(buffer) - 1))
    write_through(sample, how, at, b"\x01")
    expected = bytearray(payload)
    expected[at] = 1
    assert buffer == expected

    kind = data.draw(st.sampled_from(["copy", "region", "make writable"]))
    if kind == "copy":
        copy = sample.Copy()
        lo = 0
    elif kind == "region":
        lo = data.draw(st.integers(0, len(buffer) - 1))
        copy = sample.Copy(offset=lo, size=len(buffer) - lo)
    else:
        sample.AddRef()
        copy = sample.MakeWritable()
        lo = 0
    copied = bytearray(expected[lo:])
    write_through(copy, how, 0, b"\xfe" * len(copied))
    assert buffer == expected  # the copy wrote into a private block
    write_through(sample, how, at, b"\x02")  # the wrapping sample still owns the bytearray
    expected[at] = 2
    assert buffer == expected
    assert read(copy) == b"\xfe" * len(copied)
    copy.Release()
    sample.Release()


@QUICK
@given(
    layout=layouts,
    shared=st.booleans(),
    read_only_memory=st.booleans(),
    count_two=st.booleans(),
    read_only=st.booleans(),
)
def test_a_read_mapping_never_copies(
    layout: list[bytes], shared: bool, read_only_memory: bool, count_two: bool, read_only: bool
) -> None:
    """Whatever the blocks' sharing, a READ mapping leaves every block in place."""
    sample = sample_of(layout)
    other = sample.Copy() if shared else None
    if read_only_memory:
        sample.AppendMemory(Memory(None, b"const", flags=MemoryFlags.READONLY))
    if read_only:
        sample.SetReadOnly(True)
    if count_two:
        sample.AddRef()
    before = blocks(sample)
    shares = [m._share for m in before]
    with sample.Map(MapFlags.READ) as info:
        assert [address(v) for v in info.views if len(v)] == [m.address for m in before if m.size]
        assert info.tobytes() == b"".join(layout) + (b"const" if read_only_memory else b"")
    assert blocks(sample) == before
    assert [m._share for m in before] == shares
    if count_two:
        sample.Release()
    if other is not None:
        other.Release()
    sample.Release()


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    payload=st.binary(min_size=3, max_size=16),
    others=st.lists(
        st.sampled_from(["parent", "copy", "region", "child", "sibling"]), max_size=3, unique=True
    ),
    writes=st.lists(
        st.tuples(st.sampled_from(["pointer", "map"]), payloads), min_size=1, max_size=3
    ),
    data=st.data(),
)
def test_writes_around_sub_memories_that_span_one_parent(
    payload: bytes, others: list[str], writes: list[tuple[str, bytes]], data: Any
) -> None:
    """A sample of sub-memories spanning one parent, next to other holders of that parent's
    bytes: the parent itself, a copy or a region copy of the sample, a sample holding one of
    its sub-memories, a sample holding another sub-memory of the parent. Writes through any of
    them are seen by the writer alone."""
    parent = new_block(payload)
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(payload)), min_size=3, max_size=5, unique=True))
    )
    spanning = MediaSample()
    for lo, hi in itertools.pairwise(cuts):
        spanning.AppendMemory(parent.Share(lo, hi - lo))
    holders = [(spanning, bytearray(payload[cuts[0] : cuts[-1]]))]
    for other in others:
        if other == "parent":
            parent.AddRef()
            holders.append((MediaSample(None, parent), bytearray(payload)))
        elif other == "copy":
            holders.append((spanning.Copy(), bytearray(holders[0][1])))
        elif other == "region":
            offset = data.draw(st.integers(0, len(holders[0][1])))
            size = data.draw(st.integers(0, len(holders[0][1]) - offset))
            region = spanning.Copy(offset=offset, size=size)
            holders.append((region, bytearray(holders[0][1][offset : offset + size])))
        elif other == "child":
            index = data.draw(st.integers(0, spanning.GetMemoryCount() - 1))
            start = block_start(spanning, index) + cuts[0]
            sample = MediaSample()
            sample.AppendMemory(spanning.GetMemory(index))
            holders.append((sample, bytearray(payload[start : start + sample.GetSize()])))
        else:
            lo = data.draw(st.integers(0, len(payload)))
            hi = data.draw(st.integers(lo, len(payload)))
            sample = MediaSample()
            sample.AppendMemory(parent.Share(lo, hi - lo))
            holders.append((sample, bytearray(payload[lo:hi])))
    parent.Release()
    try:
        for how, chunk in writes:
            sample, model = data.draw(st.sampled_from(holders))
            at = data.draw(st.integers(0, len(model)))
            chunk = chunk[: len(model) - at]
            write_through(sample, how, at, chunk)
            model[at : at + len(chunk)] = chunk
            for other_sample, other_model in holders:
                assert read(other_sample) == other_model
    finally:
        for sample, _model in holders:
            sample.Release()
    assert parent.ref_count == 0
