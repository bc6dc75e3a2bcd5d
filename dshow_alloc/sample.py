"""Media samples: ``IMediaSample2`` over memory blocks.

A sample carries the DirectShow per-buffer state (times, media times, flags, an in-band media
type) over a `Memory` block that it holds with an exclusive lock. Pool samples come from
`MemAllocator.GetBuffer` with a count of 1; their final ``Release`` resets them and sends them
home (`MemAllocator.ReleaseBuffer`). A sample whose count reached 0 refuses every call with
``E_UNEXPECTED`` until its pool hands it out again.

``SetTime``, ``GetBuffer`` and ``Release`` are the per-frame path of every filter, so they are
written for speed: no lock unless the count is shared (see `dshow_alloc.com`), and argument
checks that cost one comparison on valid input.

Internal API
------------
The sample's slots are its own: other modules change them only through these methods (the
contract between a sample and its pool, and with the receivers that rebuild samples sent
from elsewhere). They are underscore-prefixed because they are not for users.

For its pool (`dshow_alloc.allocator.MemAllocator`):

- ``MediaSample(pool, memory, index)`` makes a pool sample at home (count 0) over
  ``memory``; ``_seal_home(prepare)`` then runs ``prepare(sample)`` with a count of 1 (the
  pool's ``prepare_sample`` adding metas or blocks), marks every meta present then pooled
  and locked, and records the blocks' layout as the home layout.
- ``_hand_out(trace)`` gives the sample out: count 1, not home, ``trace`` recorded.
- ``_come_home(pool)`` is the pool's half of the final ``Release`` (which already reset the
  per-buffer state and cleared the pooled metas): it checks that the sample is due home to
  ``pool`` (UnexpectedError otherwise), marks it home, drops its trace, restores the home
  layout of resized blocks, and returns whether it can be reused (False when its blocks were
  added, removed or replaced, or another holder still shares one).
- ``_away()`` is None for a sample at home, else its count (for leak reports);
  ``_free_memory()`` gives up the blocks and metas of a sample its pool no longer keeps.

For a receiver of samples from another process or node:

- ``_carried()`` reads what a sample carries, in one call: its blocks, media type, metas, and
  the sample flags (with ``SAMPLE_MEDIA_TIME_VALID`` when the media time is set), type-specific
  flags, stream id, actual length, start, stop, media start and media stop.
- ``_set_carried(...)`` sets every carried property at once (and, optionally, the media time
  and read-only state), with exactly the checks of ``SetProperties``, which is built on it.

Fast paths: a method call costs about 30 ns, some 8% of a ``GetBuffer`` + ``Release``
round trip (about 380 ns), so the pool's two per-frame steps are written inline, and these
are the only slots it touches outside the methods above. ``MemAllocator.GetBuffer`` does what
``_hand_out(None)`` does (``_pooled = False``, ``_refs = 1``; with tracing on it calls
``_hand_out``). ``MemAllocator.ReleaseBuffer`` takes the per-frame homecoming inline: when
``_allocator`` is the pool, ``_refs`` and ``_pooled`` are false, nothing is ``_dirty`` and the
one block (``_view`` set, ``_memory._share == 1``) is as it left, it sets ``_pooled = True``
and ``_trace = None`` (what ``_come_home`` does then); any other case calls ``_come_home``.
Change these slots and the pool together.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from uuid import UUID

import attrs
from zope.interface import implementer
from zope.interface.interface import InterfaceClass

from dshow_alloc.com import ComObject, query_interface
from dshow_alloc.hresult import (
    AccessDeniedError,
    InvalidArgError,
    PointerError,
    UnexpectedError,
    VfwBufferOverflowError,
    VfwMediaTimeNotSetError,
    VfwSampleTimeNotSetError,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.memory import (
    _EXCLUSIVE,
    _READONLY,
    AllocationParams,
    MapFlags,
    MapInfo,
    Memory,
    MemoryFlags,
    _check_map_flags,
    find_allocator,
)
from dshow_alloc.meta import (
    TAG_MEMORY,
    TAG_MEMORY_REFERENCE,
    Meta,
    MetaFlags,
    MetaInfo,
    is_registered,
)
from dshow_alloc.structs import (
    AM_SAMPLE_DATADISCONTINUITY,
    AM_SAMPLE_PREROLL,
    AM_SAMPLE_SPLICEPOINT,
    AM_SAMPLE_STOPVALID,
    AM_SAMPLE_TIMEVALID,
    AM_SAMPLE_TYPECHANGED,
    AM_STREAM_MEDIA,
    SAMPLE_MEDIA_TIME_VALID,
    SAMPLE_VALID_FLAGS,
    SampleProperties,
)
from interfaces import IBufferSample, IMediaSample2, IMemory, IMemoryAllocator

__all__ = ["MAX_MEMORY", "MediaSample", "SampleMapInfo", "Trace"]

log = logging.getLogger("dshow_alloc.sample")

MAX_MEMORY = 16
"""The most blocks a sample holds; appending to a full sample merges its blocks first."""

# Bits of MediaSample._dirty, read by the pool when the sample comes home.
_TAG_MEMORY = 1  # blocks were added, removed or replaced (GST_BUFFER_FLAG_TAG_MEMORY)
_RESIZED = 2  # a block was resized through Memory.Resize

_Carried = tuple[int, int, int, int, int, int, int, int]
"""The per-buffer numbers of `MediaSample._carried`."""

_TIME_MIN = -(2**63)
_TIME_MAX = 2**63 - 1
_TIME_FLAGS = AM_SAMPLE_TIMEVALID | AM_SAMPLE_STOPVALID
_NOT_TIME_FLAGS = ~_TIME_FLAGS
_NOT_STOPVALID = ~AM_SAMPLE_STOPVALID


def _time(value: Any, name: str) -> int:
    """``value`` as a REFERENCE_TIME, or TypeError/ValueError."""
    if value.__class__ is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"{name} is a REFERENCE_TIME: an int in 100 ns units, not {type(value).__name__}"
            )
        value = int(value)
    if not _TIME_MIN <= value <= _TIME_MAX:
        raise ValueError(f"{name} {value} does not fit a 64-bit REFERENCE_TIME")
    return int(value)


def _flag(value: Any, name: str) -> bool:
    if value.__class__ is not bool and not isinstance(value, int):
        raise TypeError(f"{name} takes a bool, not {type(value).__name__}")
    return bool(value)


def _memory_allocator(allocator: Any) -> Any:
    if allocator is None or isinstance(allocator, str):
        found = find_allocator(allocator)
        if found is None:
            raise ValueError(f"no memory allocator is registered as {allocator!r}")
        return found
    if not IMemoryAllocator.providedBy(allocator):
        raise TypeError(
            f"allocator must provide IMemoryAllocator or be a registered name, "
            f"not {type(allocator).__name__}"
        )
    return allocator


def _check_memory_arg(memory: object) -> Memory:
    if not isinstance(memory, Memory):
        raise TypeError(f"a sample holds Memory blocks, not {type(memory).__name__}")
    return memory


def _api_name(api: object) -> str:
    if isinstance(api, MetaInfo):
        return api.api
    if isinstance(api, str):
        return api
    raise TypeError(f"a meta api is a str name or a MetaInfo, not {type(api).__name__}")


def _unmap_all(infos: Iterable[MapInfo]) -> None:
    """Unmap block mappings made by `MediaSample.Map` and drop their references."""
    for info in infos:
        info.memory.Unmap(info)
        info.memory.Release()


class Trace:
    """Where a pool sample was acquired: the thread and the stack of its ``GetBuffer`` call."""

    __slots__ = ("stack", "thread")

    def __init__(self, thread: str, stack: list[traceback.FrameSummary]) -> None:
        self.thread = thread
        self.stack = stack

    def where(self) -> str:
        """The innermost caller's frame, as ``file:line in function``."""
        if not self.stack:
            return "?"
        frame = self.stack[-1]
        return f"{frame.filename}:{frame.lineno} in {frame.name}"


@attrs.define(eq=False)
class SampleMapInfo:
    """A mapping of all of a sample's blocks (`MediaSample.Map`). Leaving a ``with`` unmaps.

    ``views`` has one view per block (each read-only unless mapped WRITE). ``data`` is one view
    of all the bytes when they are contiguous (one block, or blocks that span one parent) and
    raises ValueError otherwise: a READ mapping never copies, so scattered blocks stay
    scattered (``GetPointer`` merges them).
    """

    sample: MediaSample
    """The mapped sample."""
    flags: MapFlags
    """The access granted."""
    infos: tuple[MapInfo, ...]
    """The per-block mappings."""
    span: memoryview | None
    """The bytes as one view, when the blocks are contiguous."""
    mapped: bool = True
    """False once unmapped."""

    @property
    def views(self) -> tuple[memoryview, ...]:
        """One view per block."""
        self._check()
        return tuple(info.data for info in self.infos)

    @property
    def data(self) -> memoryview:
        """All the bytes as one view (ValueError when the blocks are not contiguous)."""
        self._check()
        if self.span is None:
            raise ValueError(
                f"the sample's {len(self.infos)} blocks are not contiguous: use .views, "
                "or GetPointer() to merge them"
            )
        return self.span

    @property
    def size(self) -> int:
        """Total bytes mapped."""
        return sum(info.size for info in self.infos)

    def tobytes(self) -> bytes:
        """A copy of all the bytes."""
        return b"".join(bytes(view) for view in self.views)

    def _check(self) -> None:
        if not self.mapped:
            raise ValueError("the sample mapping was unmapped")

    def Unmap(self) -> None:
        """Unmap every block (once)."""
        self._check()
        self.mapped = False
        if self.span is not None and len(self.infos) != 1:
            with contextlib.suppress(BufferError):
                self.span.release()
        _unmap_all(self.infos)

    def __enter__(self) -> SampleMapInfo:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mapped:
            self.Unmap()


@implementer(IMediaSample2, IBufferSample)
class MediaSample(ComObject):
    """A media sample: DirectShow's per-buffer state over 0..16 memory blocks.

    See `IMediaSample`, `IMediaSample2` and `IBufferSample`.
    """

    __slots__ = (
        "_actual",
        "_allocator",
        "_dirty",
        "_flags",
        "_home",
        "_index",
        "_media_start",
        "_media_stop",
        "_media_type",
        "_memory",
        "_mems",
        "_metas",
        "_pooled",
        "_read_only",
        "_size",
        "_start",
        "_stop",
        "_stream_id",
        "_trace",
        "_type_flags",
        "_view",
    )

    _allocator: Any
    _memory: Any  # the first block, or None
    _mems: list[Memory]
    _metas: list[Meta]
    _view: memoryview | None
    _trace: Trace | None

    def __init__(self, allocator: Any = None, memory: Memory | None = None, index: int = 0) -> None:
        """A sample over ``memory`` (or no block), which it takes over (the caller's reference
        moves in).

        Pool samples (``allocator`` given) start home, with count 0; others start with count 1.
        """
        super().__init__()
        self._mems = []
        self._metas = []
        self._view = None
        self._memory = None
        if memory is not None:
            if not isinstance(memory, Memory):
                raise TypeError(f"a sample holds Memory blocks, not {type(memory).__name__}")
            memory._check_alive()
            if not self._hold(memory):
                raise AccessDeniedError(message="the memory is mapped for writing elsewhere")
            self._mems.append(memory)
        self._allocator = allocator
        self._index = index
        self._dirty = 0
        self._home: tuple[tuple[int, int], ...] = ()  # a pool sample's block layout
        self._read_only = False
        self._refresh()
        self._actual = self._size
        self._flags = 0
        self._start = 0
        self._stop = 0
        self._media_start = 0
        self._media_stop = 0
        self._media_type: MediaType | None = None
        self._type_flags = 0
        self._stream_id = AM_STREAM_MEDIA
        self._trace = None
        self._pooled = allocator is not None
        if self._pooled:
            self._refs = 0

    @classmethod
    def allocate(
        cls,
        size: int,
        *,
        allocator: IMemoryAllocator | str | None = None,
        params: AllocationParams | None = None,
    ) -> MediaSample:
        """A standalone sample with one new block of ``size`` bytes (no block when 0).

        ``allocator`` is an `IMemoryAllocator`, a registered name, or None for the default.
        """
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"size must be an int, not {type(size).__name__}")
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        chosen = _memory_allocator(allocator)
        if size == 0:
            if params is not None and not isinstance(params, AllocationParams):
                raise TypeError(f"params must be AllocationParams, not {type(params).__name__}")
            return cls()
        memory = chosen.Alloc(size, params)
        try:
            return cls(None, memory)
        except BaseException:
            memory.Release()
            raise

    @classmethod
    def wrap(cls, data: Any) -> MediaSample:
        """A standalone sample over ``data``'s bytes, without a copy.

        ``data`` is any C-contiguous buffer (bytes, bytearray, memoryview, mmap, numpy array).
        Immutable data (``bytes``, a read-only view) makes a read-only sample: its
        ``GetPointer()`` is read-only and ``MakeWritable()`` gives one with a writable copy.
        Writes through a writable sample reach ``data``. Empty data gives a sample with no
        block.
        """
        if isinstance(data, bytes):
            buffer: Any = data
            read_only = True
        else:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError(
                    f"wrap takes a buffer (bytes, bytearray, memoryview, array), "
                    f"not {type(data).__name__}"
                ) from None
            if not view.c_contiguous:
                raise ValueError("wrap needs C-contiguous data")
            read_only = view.readonly
            buffer = view if view.format == "B" and view.ndim == 1 else view.cast("B")
        if not len(buffer):
            sample = cls()
        else:
            flags = MemoryFlags.READONLY if read_only else MemoryFlags(0)
            sample = cls(None, Memory(None, buffer, flags=flags))
        sample._read_only = read_only
        return sample

    def __repr__(self) -> str:
        blocks = f" blocks={len(self._mems)}" if len(self._mems) != 1 else ""
        return (
            f"<MediaSample #{self._index} refs={self._refs} size={self._size}{blocks}"
            f"{' read-only' if self._read_only else ''}{' home' if self._pooled else ''}>"
        )

    def __enter__(self) -> MediaSample:
        return self

    def __exit__(self, *exc: object) -> None:
        self.Release()

    def _gone(self) -> UnexpectedError:
        return UnexpectedError(message=f"{self!r} was released to its pool; get a new one")

    # -- IUnknown ------------------------------------------------------------------------------

    def QueryInterface(self, iface: InterfaceClass | UUID) -> Any:
        """See `IUnknown.QueryInterface`; refused once the sample went home."""
        if not self._refs:
            raise self._gone()
        return query_interface(self, iface)

    def Release(self) -> int:
        """See `IUnknown.Release`: at 0 the sample is reset and goes home."""
        # Hot path: a count of 1 belongs to the caller alone (dshow_alloc.com).
        if self._refs == 1:
            self._refs = 0
        else:
            with self._mutex:
                refs = self._refs
                if refs <= 0:
                    raise self._gone()
                self._refs = refs - 1
            if refs != 1:
                return refs - 1
        # The final release. What CMediaSample::Release resets; not the actual data length.
        self._flags = 0
        self._media_type = None
        self._type_flags = 0
        self._stream_id = AM_STREAM_MEDIA
        self._read_only = False
        allocator = self._allocator
        if allocator is not None:
            if self._metas:
                self._reset_metas()
            allocator.ReleaseBuffer(self)
        else:
            self._free_memory()
        return 0

    def _reset_metas(self) -> None:
        """What a pool does at release: drop unpooled metas, ``clear`` the pooled ones."""
        kept = []
        for meta in self._metas:
            if not meta.flags & MetaFlags.POOLED:
                continue
            kept.append(meta)
            clear = meta.info.clear
            if clear is not None:
                try:
                    clear(meta, self)
                except Exception:
                    log.exception("clear of %r raised; the sample goes home regardless", meta)
        self._metas = kept

    def _free_memory(self) -> None:
        """Give up every block and meta (a standalone sample's end, or a pool's Decommit)."""
        self._drop_view()
        mems, self._mems = self._mems, []
        self._memory = None
        self._size = 0
        self._metas = []
        for memory in mems:
            self._unhold(memory)

    # -- holding blocks ------------------------------------------------------------------------

    def _hold(self, memory: Memory) -> bool:
        """Take this sample's exclusive lock on ``memory`` (False when the lock rules refuse)."""
        if not memory._lock(_EXCLUSIVE):
            return False
        memory._holders.append(self)
        return True

    def _unhold(self, memory: Memory) -> None:
        """Drop this sample's lock and reference on a block it no longer holds."""
        with contextlib.suppress(ValueError):
            memory._holders.remove(self)
        memory._unlock(_EXCLUSIVE)
        memory.Release()

    def _adopt(self, memory: Memory) -> Memory:
        """Hold ``memory`` (the caller's reference moves in), or a copy when it cannot be locked
        (it is mapped for writing by another holder), as gst_buffer_insert_memory does."""
        if self._hold(memory):
            return memory
        copy = memory.Copy()
        self._hold(copy)
        memory.Release()
        return copy

    def _drop_view(self) -> None:
        view, self._view = self._view, None
        if view is not None:
            with contextlib.suppress(BufferError):  # a caller's slice of it keeps the bytes
                view.release()

    def _refresh(self) -> None:
        """Recompute what is cached from the blocks: total size, first block, pointer view."""
        self._drop_view()
        mems = self._mems
        if len(mems) == 1:
            memory = self._memory = mems[0]
            self._size = memory.size
            if not int(memory.flags) & _READONLY:
                self._view = memory._data_view()
        else:
            self._size = sum(memory.size for memory in mems)
            self._memory = mems[0] if mems else None

    def _blocks_changed(self) -> None:
        """After a block was added, removed or replaced (GStreamer's TAG_MEMORY)."""
        self._dirty |= _TAG_MEMORY
        self._refresh()
        self._actual = self._size

    def _layout_changed(self) -> None:
        """Called by `Memory.Resize` on a block this sample holds."""
        self._dirty |= _RESIZED
        self._refresh()
        self._actual = self._size

    # -- data ----------------------------------------------------------------------------------

    def GetPointer(self) -> memoryview:
        """See `IMediaSample.GetPointer` and `IBufferSample` (copy-on-write, merging)."""
        view = self._view
        if view is not None and self._refs and not self._read_only and self._memory._share == 1:
            return view[:]
        return self._pointer()

    def _pointer(self) -> memoryview:
        if not self._refs:
            raise self._gone()
        mems = self._mems
        write = not self._read_only
        if not mems:
            return memoryview(bytearray()) if write else memoryview(b"")
        if len(mems) == 1:
            if not write:
                return mems[0]._data_view().toreadonly()
            self._make_block_writable(0)
            assert self._view is not None
            return self._view[:]
        span = self._span_view(write)
        if span is not None:
            return span
        if self._refs != 1:
            # A shared sample keeps its blocks; the merged bytes are a temporary copy, which is
            # read-only so that no write is silently lost.
            return memoryview(b"".join(memory._data_view() for memory in mems))
        self._replace_range(0, len(mems), self._merged(0, self._size))
        view = self._view
        assert view is not None
        return view[:] if write else view.toreadonly()

    def _make_block_writable(self, index: int) -> None:
        """Copy-on-write: give this sample its own copy of a block another holder shares (or
        of read-only memory), so that nobody else sees what is written."""
        memory = self._mems[index]
        if memory._share == 1 and not int(memory.flags) & _READONLY:
            return
        copy = memory.Copy()
        self._hold(copy)
        self._mems[index] = copy
        self._unhold(memory)
        self._dirty |= _TAG_MEMORY
        self._refresh()

    def _span_view(self, write: bool) -> memoryview | None:
        """The blocks as one view without a copy, when they are consecutive parts of one
        parent (for writing: and nobody but this sample holds that parent or the blocks)."""
        mems = self._mems
        first, last = mems[0], mems[-1]
        parent = first.parent
        if parent is None:
            return None
        for left, right in itertools.pairwise(mems):
            if left.IsSpan(right) is None:
                return None
        if write and (
            parent.flags & MemoryFlags.READONLY
            or parent._share != len(mems)
            or any(memory._share != 1 for memory in mems)
        ):
            return None
        start = first._base + first.offset
        stop = last._base + last.offset + last.size
        view = memoryview(first._buffer)[start:stop]
        return view if write else view.toreadonly()

    def _merged(self, offset: int, size: int) -> Memory:
        """A new block holding bytes ``offset .. offset+size`` of the sample (a copy)."""
        merged: Memory = find_allocator(None).Alloc(size)
        with merged.Map(MapFlags.WRITE) as info:
            target = info.data
            pos = 0
            for memory in self._mems:
                data = memory._data_view()
                lo, hi = max(offset - pos, 0), min(offset + size - pos, len(data))
                if lo < hi:
                    target[pos + lo - offset : pos + hi - offset] = data[lo:hi]
                pos += len(data)
        return merged

    def _replace_range(self, index: int, count: int, memory: Memory) -> None:
        """Replace ``count`` blocks from ``index`` by ``memory`` (a new, unheld block)."""
        self._hold(memory)
        old = self._mems[index : index + count]
        self._mems[index : index + count] = [memory]
        for block in old:
            self._unhold(block)
        self._blocks_changed()

    def GetSize(self) -> int:
        """See `IMediaSample.GetSize`: the total size of the blocks."""
        if not self._refs:
            raise self._gone()
        return self._size

    def GetActualDataLength(self) -> int:
        """See `IMediaSample.GetActualDataLength`."""
        if not self._refs:
            raise self._gone()
        return self._actual

    def SetActualDataLength(self, length: int) -> None:
        """See `IMediaSample.SetActualDataLength`."""
        if not self._refs:
            raise self._gone()
        if length.__class__ is not int:
            if isinstance(length, bool) or not isinstance(length, int):
                raise TypeError(f"length must be an int, not {type(length).__name__}")
            length = int(length)
        if not 0 <= length <= self._size:
            raise VfwBufferOverflowError(
                message=f"actual data length {length} outside 0..{self._size}"
            )
        self._actual = length

    def Map(self, flags: MapFlags = MapFlags.READ) -> SampleMapInfo:
        """See `IBufferSample.Map`."""
        _check_map_flags(flags)
        if not self._refs:
            raise self._gone()
        mode = MapFlags(flags)
        if mode & MapFlags.WRITE:
            if self._read_only:
                raise AccessDeniedError(message="WRITE mapping of a read-only sample")
            for index in range(len(self._mems)):
                self._make_block_writable(index)
        infos: list[MapInfo] = []
        try:
            for memory in self._mems:
                infos.append(memory.Map(mode))
                memory.AddRef()  # the mapping keeps its blocks alive until it is unmapped
        except BaseException:
            _unmap_all(infos)
            raise
        span = None
        if len(infos) == 1:
            span = infos[0].data
        elif len(infos) > 1:
            span = self._span_view(bool(mode & MapFlags.WRITE))
        elif not infos:
            span = memoryview(b"")
        return SampleMapInfo(self, mode, tuple(infos), span)

    # -- blocks (IBufferSample) ----------------------------------------------------------------

    def _check_mutable(self, what: str) -> None:
        refs = self._refs
        if not refs:
            raise self._gone()
        if refs != 1:
            raise AccessDeniedError(
                message=f"{what} needs a writable sample; this one has {refs} references "
                "(MakeWritable() first)"
            )

    def _index_arg(self, index: Any, limit: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"a block index is an int, not {type(index).__name__}")
        if not 0 <= index < limit:
            raise InvalidArgError(message=f"block index {index} outside 0..{limit - 1}")
        return int(index)

    def GetMemoryCount(self) -> int:
        """See `IBufferSample.GetMemoryCount`."""
        if not self._refs:
            raise self._gone()
        return len(self._mems)

    def PeekMemory(self, index: int) -> Memory:
        """See `IBufferSample.PeekMemory`."""
        if not self._refs:
            raise self._gone()
        return self._mems[self._index_arg(index, len(self._mems))]

    def GetMemory(self, index: int) -> Memory:
        """See `IBufferSample.GetMemory`."""
        memory = self.PeekMemory(index)
        memory.AddRef()
        return memory

    def AppendMemory(self, memory: IMemory) -> None:
        """See `IBufferSample.AppendMemory`."""
        self.InsertMemory(-1, memory)

    def InsertMemory(self, index: int, memory: IMemory) -> None:
        """See `IBufferSample.InsertMemory`."""
        self._check_mutable("InsertMemory")
        memory = _check_memory_arg(memory)
        count = len(self._mems)
        if index == -1 and type(index) is int:
            position = count
        else:
            position = self._index_arg(index, count + 1)
        memory._check_alive()
        if count >= MAX_MEMORY:
            # Full: merge every block into one first (gst_buffer_insert_memory does the same).
            self._replace_range(0, count, self._merged(0, self._size))
            position = min(position, 1)
        self._mems.insert(position, self._adopt(memory))
        self._blocks_changed()

    def ReplaceMemory(self, index: int, memory: IMemory) -> None:
        """See `IBufferSample.ReplaceMemory`."""
        self._check_mutable("ReplaceMemory")
        memory = _check_memory_arg(memory)
        position = self._index_arg(index, len(self._mems))
        memory._check_alive()
        old = self._mems[position]
        self._mems[position] = self._adopt(memory)
        self._unhold(old)
        self._blocks_changed()

    def RemoveMemory(self, index: int) -> None:
        """See `IBufferSample.RemoveMemory`."""
        self._check_mutable("RemoveMemory")
        position = self._index_arg(index, len(self._mems))
        old = self._mems.pop(position)
        self._unhold(old)
        self._blocks_changed()

    # -- writability (IBufferSample) -----------------------------------------------------------

    def IsWritable(self) -> bool:
        """See `IBufferSample.IsWritable`."""
        refs = self._refs
        if not refs:
            raise self._gone()
        return refs == 1

    def IsReadOnly(self) -> bool:
        """See `IBufferSample.IsReadOnly`."""
        if not self._refs:
            raise self._gone()
        return self._read_only

    def SetReadOnly(self, read_only: bool) -> None:
        """See `IBufferSample.SetReadOnly`."""
        if not self._refs:
            raise self._gone()
        flag = _flag(read_only, "SetReadOnly")
        if not flag and self._read_only:
            self._check_mutable("SetReadOnly(False)")
        self._read_only = flag

    def MakeWritable(self) -> MediaSample:
        """See `IBufferSample.MakeWritable`."""
        refs = self._refs
        if not refs:
            raise self._gone()
        if refs == 1:
            self._read_only = False
            return self
        copy = self.Copy()
        self.Release()
        return copy

    def Copy(
        self, deep: bool = False, *, offset: int = 0, size: int | None = None, merge: bool = False
    ) -> MediaSample:
        """See `IBufferSample.Copy`."""
        if not self._refs:
            raise self._gone()
        deep = _flag(deep, "deep")
        merge = _flag(merge, "merge")
        total = self._size
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError(f"offset must be an int, not {type(offset).__name__}")
        if size is None:
            size = total - offset
        elif isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"size must be an int or None, not {type(size).__name__}")
        if offset < 0 or size < 0 or offset + size > total:
            raise InvalidArgError(message=f"bytes {offset}+{size} outside the sample's {total}")
        region = offset > 0 or size < total
        dest = MediaSample()
        try:
            if merge and len(self._mems) > 1:
                dest._mems.append(self._merged(offset, size))
                dest._hold(dest._mems[0])
            else:
                self._copy_blocks_into(dest, offset, size, region, deep)
            dest._refresh()
            self._copy_fields_into(dest, offset, size, region)
            dropped = merge or region
            for meta in list(self._metas):
                tags = meta.info.tags
                if (dropped and TAG_MEMORY in tags) or (deep and TAG_MEMORY_REFERENCE in tags):
                    continue
                transform = meta.info.transform
                if transform is None:
                    continue
                context = {
                    "region": region,
                    "offset": offset,
                    "size": size,
                    "deep": deep,
                    "merge": merge,
                }
                if transform(meta, dest, **context):
                    dest._metas.append(meta.copy())
        except BaseException:
            dest.Release()
            raise
        return dest

    def _copy_blocks_into(
        self, dest: MediaSample, offset: int, size: int, region: bool, deep: bool
    ) -> None:
        pos = 0
        end = offset + size
        for memory in self._mems:
            length = memory.size
            lo, hi = max(offset - pos, 0), min(end - pos, length)
            pos += length
            if region and lo >= hi:
                continue  # no byte of this block is in the range
            whole = lo == 0 and hi == length
            if deep:
                block = memory.Copy(lo, hi - lo)
            elif whole:
                memory.AddRef()
                block = memory
            else:
                try:
                    block = memory.Share(lo, hi - lo)
                except AccessDeniedError:  # NO_SHARE, or mapped for writing: copy instead
                    block = memory.Copy(lo, hi - lo)
            dest._mems.append(dest._adopt(block))

    def _copy_fields_into(self, dest: MediaSample, offset: int, size: int, region: bool) -> None:
        flags = self._flags
        if offset > 0:
            flags &= ~(_TIME_FLAGS | SAMPLE_MEDIA_TIME_VALID)
        elif region:
            flags &= ~(AM_SAMPLE_STOPVALID | SAMPLE_MEDIA_TIME_VALID)
        dest._flags = flags
        dest._start, dest._stop = self._start, self._stop
        dest._media_start, dest._media_stop = self._media_start, self._media_stop
        dest._media_type = self._media_type
        dest._type_flags = self._type_flags
        dest._stream_id = self._stream_id
        dest._actual = size if region else min(self._actual, dest._size)

    # -- metas (IBufferSample) -----------------------------------------------------------------

    def AddMeta(self, info: MetaInfo, /, **fields: Any) -> Meta | None:
        """See `IBufferSample.AddMeta`."""
        self._check_mutable("AddMeta")
        if not isinstance(info, MetaInfo):
            raise TypeError(f"AddMeta takes a MetaInfo from register_meta, not {type(info)}")
        if not is_registered(info):
            raise ValueError(f"meta api {info.api!r} is not registered with this MetaInfo")
        meta = Meta(info, fields)
        if info.init is not None and info.init(meta, self) is False:
            return None
        self._metas.append(meta)
        return meta

    def GetMeta(self, api: str | MetaInfo) -> Meta | None:
        """See `IBufferSample.GetMeta`."""
        if not self._refs:
            raise self._gone()
        name = _api_name(api)
        for meta in self._metas:
            if meta.info.api == name:
                return meta
        return None

    def IterMeta(self, api: str | MetaInfo | None = None) -> Iterator[Meta]:
        """See `IBufferSample.IterMeta`."""
        if not self._refs:
            raise self._gone()
        metas = list(self._metas)
        if api is None:
            return iter(metas)
        name = _api_name(api)
        return iter([meta for meta in metas if meta.info.api == name])

    def RemoveMeta(self, meta: Meta) -> None:
        """See `IBufferSample.RemoveMeta`."""
        self._check_mutable("RemoveMeta")
        if not isinstance(meta, Meta):
            raise TypeError(f"RemoveMeta takes a Meta, not {type(meta).__name__}")
        position = next((i for i, held in enumerate(self._metas) if held is meta), None)
        if position is None:
            raise ValueError(f"{meta!r} is not on this sample")
        if meta.flags & MetaFlags.LOCKED:
            raise AccessDeniedError(message=f"{meta!r} is locked (a pooled meta)")
        del self._metas[position]

    # -- times ---------------------------------------------------------------------------------

    def GetTime(self) -> tuple[int, int | None]:
        """See `IMediaSample.GetTime`."""
        if not self._refs:
            raise self._gone()
        flags = self._flags
        if not flags & AM_SAMPLE_TIMEVALID:
            raise VfwSampleTimeNotSetError()
        return self._start, self._stop if flags & AM_SAMPLE_STOPVALID else None

    def SetTime(self, start: int | None = None, stop: int | None = None) -> None:
        """See `IMediaSample.SetTime`."""
        if not self._refs:
            raise self._gone()
        if start is None:
            self._flags &= _NOT_TIME_FLAGS
            return
        if start.__class__ is not int or not _TIME_MIN <= start <= _TIME_MAX:
            start = _time(start, "start")
        if stop is None:
            self._start = start
            self._flags = (self._flags | AM_SAMPLE_TIMEVALID) & _NOT_STOPVALID
            return
        if stop.__class__ is not int or not _TIME_MIN <= stop <= _TIME_MAX:
            stop = _time(stop, "stop")
        self._start = start
        self._stop = stop
        self._flags |= _TIME_FLAGS

    def GetMediaTime(self) -> tuple[int, int]:
        """See `IMediaSample.GetMediaTime`."""
        if not self._refs:
            raise self._gone()
        if not self._flags & SAMPLE_MEDIA_TIME_VALID:
            raise VfwMediaTimeNotSetError()
        return self._media_start, self._media_stop

    def SetMediaTime(self, start: int | None, stop: int | None) -> None:
        """See `IMediaSample.SetMediaTime`."""
        if not self._refs:
            raise self._gone()
        if start is None:
            self._flags &= ~SAMPLE_MEDIA_TIME_VALID
            return
        if stop is None:
            raise PointerError(message="SetMediaTime with a start needs a stop")
        start = _time(start, "start")
        stop = _time(stop, "stop")
        self._media_start = start
        self._media_stop = stop
        self._flags |= SAMPLE_MEDIA_TIME_VALID

    # -- flags ---------------------------------------------------------------------------------

    def _get_flag(self, bit: int) -> bool:
        if not self._refs:
            raise self._gone()
        return bool(self._flags & bit)

    def _set_flag(self, bit: int, value: Any, name: str) -> None:
        if not self._refs:
            raise self._gone()
        if _flag(value, name):
            self._flags |= bit
        else:
            self._flags &= ~bit

    def IsSyncPoint(self) -> bool:
        """See `IMediaSample.IsSyncPoint`."""
        return self._get_flag(AM_SAMPLE_SPLICEPOINT)

    def SetSyncPoint(self, sync: bool) -> None:
        """See `IMediaSample.SetSyncPoint`."""
        self._set_flag(AM_SAMPLE_SPLICEPOINT, sync, "SetSyncPoint")

    def IsPreroll(self) -> bool:
        """See `IMediaSample.IsPreroll`."""
        return self._get_flag(AM_SAMPLE_PREROLL)

    def SetPreroll(self, preroll: bool) -> None:
        """See `IMediaSample.SetPreroll`."""
        self._set_flag(AM_SAMPLE_PREROLL, preroll, "SetPreroll")

    def IsDiscontinuity(self) -> bool:
        """See `IMediaSample.IsDiscontinuity`."""
        return self._get_flag(AM_SAMPLE_DATADISCONTINUITY)

    def SetDiscontinuity(self, discontinuity: bool) -> None:
        """See `IMediaSample.SetDiscontinuity`."""
        self._set_flag(AM_SAMPLE_DATADISCONTINUITY, discontinuity, "SetDiscontinuity")

    # -- media type ----------------------------------------------------------------------------

    def GetMediaType(self) -> MediaType | None:
        """See `IMediaSample.GetMediaType`."""
        if not self._refs:
            raise self._gone()
        return self._media_type

    def SetMediaType(self, media_type: MediaType | None) -> None:
        """See `IMediaSample.SetMediaType`."""
        if not self._refs:
            raise self._gone()
        if media_type is None:
            self._media_type = None
            self._flags &= ~AM_SAMPLE_TYPECHANGED
        elif isinstance(media_type, MediaType):
            self._media_type = media_type
            self._flags |= AM_SAMPLE_TYPECHANGED
        else:
            raise TypeError(f"SetMediaType takes a MediaType or None, not {type(media_type)}")

    # -- IMediaSample2 -------------------------------------------------------------------------

    def GetProperties(self) -> SampleProperties:
        """See `IMediaSample2.GetProperties`."""
        if not self._refs:
            raise self._gone()
        return SampleProperties(
            type_specific_flags=self._type_flags,
            sample_flags=self._flags & ~SAMPLE_MEDIA_TIME_VALID,
            actual=self._actual,
            start=self._start,
            stop=self._stop,
            stream_id=self._stream_id,
            media_type=self._media_type,
            size=self._size,
        )

    def SetProperties(self, props: SampleProperties) -> None:
        """See `IMediaSample2.SetProperties`."""
        if not self._refs:
            raise self._gone()
        if not isinstance(props, SampleProperties):
            raise TypeError(f"SetProperties takes SampleProperties, not {type(props).__name__}")
        self._set_carried(
            props.sample_flags,
            props.type_specific_flags,
            props.stream_id,
            props.actual,
            props.start,
            props.stop,
            props.media_type,
            size=props.size,
        )

    # -- the internal API of pools and receivers (module docstring) ----------------------------

    def _set_carried(
        self,
        sample_flags: int,
        type_flags: int,
        stream_id: int,
        actual: int,
        start: int,
        stop: int,
        media_type: MediaType | None,
        *,
        size: int = 0,
        media_time: tuple[int, int] | None = None,
        read_only: bool | None = None,
    ) -> None:
        """Set every property a sample carries at once, with the checks of ``SetProperties``
        (which calls this): InvalidArgError for sample flags outside 0x1FF or with 0x20, a
        ``size`` other than 0 or the sample's, or an ``actual`` outside 0..size; PointerError
        for AM_SAMPLE_TYPECHANGED without a ``media_type``. The media type is kept only with
        AM_SAMPLE_TYPECHANGED. ``media_time`` (start, stop) also sets the media time (None
        keeps it as it is); ``read_only`` (None: unchanged) sets the read-only state. A call
        that raises changes nothing.
        """
        if not self._refs:
            raise self._gone()
        own = self._size
        if sample_flags & ~SAMPLE_VALID_FLAGS or sample_flags & SAMPLE_MEDIA_TIME_VALID:
            raise InvalidArgError(
                message=f"sample flags 0x{sample_flags:X} outside 0x1FF or with 0x20"
            )
        if size != 0 and size != own:
            raise InvalidArgError(message=f"size {size} is not this sample's {own}")
        if not 0 <= actual <= own:
            raise InvalidArgError(message=f"actual {actual} outside 0..{own}")
        type_changed = sample_flags & AM_SAMPLE_TYPECHANGED
        if type_changed and media_type is None:
            raise PointerError(message="AM_SAMPLE_TYPECHANGED without a media_type")
        if media_time is None:
            self._flags = sample_flags | (self._flags & SAMPLE_MEDIA_TIME_VALID)
        else:
            self._media_start, self._media_stop = media_time
            self._flags = sample_flags | SAMPLE_MEDIA_TIME_VALID
        self._type_flags = type_flags
        self._actual = actual
        self._start = start
        self._stop = stop
        self._stream_id = stream_id
        self._media_type = media_type if type_changed else None
        if read_only is not None:
            self._read_only = read_only

    def _carried(self) -> tuple[list[Memory], MediaType | None, list[Meta], _Carried]:
        """What the sample carries, for a sender: its blocks, media type and metas (the
        sample's own lists: do not change them), and (sample flags with 0x20 when the media
        time is set, type-specific flags, stream id, actual length, start, stop, media start,
        media stop). UnexpectedError once the sample went home."""
        if not self._refs:
            raise self._gone()
        return (
            self._mems,
            self._media_type,
            self._metas,
            (
                self._flags,
                self._type_flags,
                self._stream_id,
                self._actual,
                self._start,
                self._stop,
                self._media_start,
                self._media_stop,
            ),
        )

    def _seal_home(self, prepare: Callable[[MediaSample], None]) -> None:
        """Make a new pool sample's present state its home state: run ``prepare(self)`` with
        a count of 1, then mark every meta pooled and locked and record the block layout."""
        self._refs = 1
        try:
            prepare(self)
        finally:
            self._refs = 0
        for meta in self._metas:
            meta.flags |= MetaFlags.POOLED | MetaFlags.LOCKED
        self._dirty = 0
        self._home = tuple((memory.offset, memory.size) for memory in self._mems)

    def _hand_out(self, trace: Trace | None) -> None:
        """Leave home for a ``GetBuffer`` caller: count 1, ``trace`` recorded."""
        self._pooled = False
        self._refs = 1
        self._trace = trace

    def _come_home(self, pool: object) -> bool:
        """The pool's half of the final ``Release``: mark the sample home and tell whether
        it can be reused (module docstring). UnexpectedError when it is not due home to
        ``pool`` (another pool's, still counted, or home already)."""
        if self._allocator is not pool or self._refs or self._pooled:
            raise UnexpectedError(message=f"ReleaseBuffer of {self!r}, which is not due home")
        self._pooled = True
        self._trace = None
        if not self._dirty and self._view is not None and self._memory._share == 1:
            return True  # the per-frame case: nothing changed
        # As GstBufferPool's reset/release: blocks added, removed or replaced, or a block
        # another holder still locks, and the sample is discarded; a block that was only
        # resized gets its size back.
        mems = self._mems
        if self._dirty & _TAG_MEMORY or any(memory._share != 1 for memory in mems):
            return False
        if self._dirty:
            for memory, (offset, size) in zip(mems, self._home, strict=True):
                memory.offset, memory.size = offset, size
            self._refresh()
            self._actual = min(self._actual, self._size)
            self._dirty = 0
        return True

    def _away(self) -> int | None:
        """None for a pool sample at home; else its count."""
        return None if self._pooled else self._refs

    # -- diagnostics ---------------------------------------------------------------------------

    @property
    def allocator(self) -> Any:
        """The allocator this sample goes home to (None for a standalone sample)."""
        return self._allocator

    @property
    def memory(self) -> Memory | None:
        """The first memory block (a pool sample's only one), or None without blocks."""
        return self._mems[0] if self._mems else None

    @property
    def index(self) -> int:
        """The sample's number in its pool, stable for the pool's commit."""
        return self._index

    @property
    def trace(self) -> Trace | None:
        """Where it was last acquired, when its allocator traces (``MemAllocator(trace=True)``)."""
        return self._trace

    # -- carrying properties to another sample -------------------------------------------------

    def _carry_to(self, target: MediaSample) -> None:
        """Carry this sample's times, media times, and sync point, preroll, discontinuity and
        time-valid flags to ``target`` (another `MediaSample`), as they are: no checks, so a
        transform's per-sample copy costs a few stores. Its other flags stay."""
        target._start, target._stop = self._start, self._stop
        target._media_start, target._media_stop = self._media_start, self._media_stop
        target._flags = (target._flags & _KEPT_FLAGS) | (self._flags & _CARRIED_FLAGS)


# The flags `MediaSample._carry_to` carries (a transform's input to its output sample), and
# the target's flags it keeps (module globals: cheaper to read than class attributes).
_CARRIED_FLAGS = (
    AM_SAMPLE_SPLICEPOINT
    | AM_SAMPLE_PREROLL
    | AM_SAMPLE_DATADISCONTINUITY
    | AM_SAMPLE_TIMEVALID
    | AM_SAMPLE_STOPVALID
    | SAMPLE_MEDIA_TIME_VALID
)
_KEPT_FLAGS = ~_CARRIED_FLAGS
