"""Memory blocks and memory allocators: GStreamer's GstMemory/GstAllocator in COM dress.

A `Memory` is a region of ``maxsize`` bytes in a backing buffer (a ``bytearray``, an ``mmap``,
or read-only ``bytes``); ``offset`` and ``size`` select the valid data inside it. Access goes
through `Memory.Map`, which follows GStreamer's lock and map rules:

* a WRITE mapping of READONLY memory is refused;
* nested mappings must ask for the same mode or a narrower one (READ then WRITE is refused,
  WRITE-only then READ is refused, READWRITE then either is fine);
* a memory locked EXCLUSIVE by two or more holders (two samples, or a sample and a sub-memory
  made by `Memory.Share`) cannot be mapped WRITE.

Refusals raise `AccessDeniedError` (``E_ACCESSDENIED``) and change nothing. Memory is reference
counted: its final ``Release`` hands it back to its allocator's ``Free``.

Allocators are found by name in a registry (`register_allocator`, `find_allocator`); the
default is ``"SystemMemory"``. ``"SharedMemory"`` allocates memfd-backed blocks whose file
descriptor another process can map (`SharedMemoryBlock.fd`).
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import fcntl
import mmap
import os
import threading
from typing import Any
from uuid import UUID

import attrs
from zope.interface import implementer
from zope.interface.interface import InterfaceClass

from dshow_alloc.com import ComObject, query_interface
from dshow_alloc.hresult import AccessDeniedError, OutOfMemoryError, UnexpectedError
from dshow_alloc.validators import NON_NEGATIVE, power_of_two
from interfaces import IMemory, IMemoryAllocator

__all__ = [
    "AllocationParams",
    "AllocatorFlags",
    "MapFlags",
    "MapInfo",
    "Memory",
    "MemoryFlags",
    "SharedMemoryAllocator",
    "SharedMemoryBlock",
    "SystemMemoryAllocator",
    "buffer_address",
    "find_allocator",
    "register_allocator",
    "set_default_allocator",
]

_CACHE_LINE = 64
_PAGE = 4096


class MapFlags(enum.IntFlag):
    """``GstMapFlags``: the access a mapping asks for."""

    READ = 1
    WRITE = 2
    READWRITE = 3


class MemoryFlags(enum.IntFlag):
    """``GstMemoryFlags`` (same values)."""

    READONLY = 2
    """Never mappable for WRITE."""
    NO_SHARE = 16
    """Must not be shared (`Memory.Share` refuses); copied instead."""
    ZERO_PREFIXED = 32
    """The prefix bytes are zero."""
    ZERO_PADDED = 64
    """The padding bytes after the data are zero."""
    PHYSICALLY_CONTIGUOUS = 128
    """Advisory."""
    NOT_MAPPABLE = 256
    """The memory cannot be mapped at all."""


class AllocatorFlags(enum.IntFlag):
    """``GstAllocatorFlags``."""

    CUSTOM_ALLOC = 16
    """The allocator has its own allocation API; generic code should not call ``Alloc``."""
    NO_COPY = 32
    """Copies of its memory come from the default allocator (it is expensive: pool it)."""


_NO_FLAGS = MemoryFlags(0)

# GST_LOCK_FLAG_EXCLUSIVE: a holder's claim on a memory, counted in the share counter.
_EXCLUSIVE = 4
# Plain ints: ``~`` of an IntFlag member stays inside the flag's members and loses bits, and
# IntFlag operators cost a microsecond where int ones cost nanoseconds.
_ACCESS = int(MapFlags.READWRITE)
_WRITE = int(MapFlags.WRITE)
_READONLY = int(MemoryFlags.READONLY)


def _check_map_flags(flags: object) -> None:
    if not isinstance(flags, int) or isinstance(flags, bool):
        raise TypeError(f"Map flags must be MapFlags, not {type(flags).__name__}")
    if not int(flags) & _ACCESS or int(flags) & ~_ACCESS:
        raise ValueError(f"Map flags must be READ, WRITE or READWRITE, got {flags!r}")


def _memory_flags(value: object) -> MemoryFlags:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"flags must be MemoryFlags, not {type(value).__name__}")
    return MemoryFlags(value)


_power_of_two, _non_negative = power_of_two, NON_NEGATIVE


@attrs.frozen
class AllocationParams:
    """``GstAllocationParams``, with ``align`` in bytes like DirectShow's ``cbAlign``."""

    flags: MemoryFlags = attrs.field(default=MemoryFlags(0), converter=_memory_flags)
    """Flags the new memory carries."""
    align: int = attrs.field(default=1, validator=_power_of_two)
    """Alignment in bytes of the start of the prefix (a power of two)."""
    prefix: int = attrs.field(default=0, validator=_non_negative)
    """Bytes reserved before the data."""
    padding: int = attrs.field(default=0, validator=_non_negative)
    """Bytes reserved after the data."""


class _PyBuffer(ctypes.Structure):
    """CPython's ``Py_buffer``, to read the address of a read-only buffer."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_PYBUF_SIMPLE = 0


def buffer_address(buffer: Any) -> int:
    """The address of the first byte of a buffer-protocol object (bytearray, mmap, bytes,
    read-only views and mappings too)."""
    if isinstance(buffer, bytes):
        address = ctypes.cast(ctypes.c_char_p(buffer), ctypes.c_void_p).value
        return int(address or 0)
    view = memoryview(buffer)
    if not view.nbytes:
        return 0  # nothing to point at (ctypes refuses an empty buffer)
    if view.readonly:
        view.release()
        info = _PyBuffer()
        if _get_buffer(buffer, ctypes.byref(info), _PYBUF_SIMPLE) != 0:
            raise TypeError(f"cannot read the address of a {type(buffer).__name__}")
        try:
            return int(info.buf or 0)
        finally:
            _release_buffer(ctypes.byref(info))
    view.release()
    anchor = ctypes.c_char.from_buffer(buffer)
    try:
        return ctypes.addressof(anchor)
    finally:
        del anchor  # the export would keep an mmap from closing


@attrs.define(eq=False)
class MapInfo:
    """``GstMapInfo``: a live mapping of a memory. A context manager: leaving it unmaps."""

    memory: Memory
    """The mapped memory."""
    flags: MapFlags
    """The access granted."""
    data: memoryview
    """The ``size`` valid bytes; read-only unless mapped WRITE. Released by ``Unmap``."""
    size: int
    """``len(data)``."""
    maxsize: int
    """Bytes from the data start to the end of the memory (``maxsize - offset``)."""
    mapped: bool = True
    """False once unmapped."""

    def __enter__(self) -> MapInfo:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mapped:
            self.memory.Unmap(self)


@implementer(IMemory)
class Memory(ComObject):
    """A region of a backing buffer. See `IMemory`.

    Allocators make these; a custom allocator creates ``Memory(self, buffer, ...)`` over any
    writable buffer-protocol object (or read-only ``bytes`` with ``MemoryFlags.READONLY``).
    """

    __slots__ = (
        "_base",
        "_buffer",
        "_holders",
        "_lock_count",
        "_mode",
        "_share",
        "align",
        "allocator",
        "flags",
        "maxsize",
        "offset",
        "parent",
        "size",
    )

    allocator: Any
    parent: Memory | None
    maxsize: int
    offset: int
    size: int
    align: int
    flags: MemoryFlags

    def __init__(
        self,
        allocator: Any,
        buffer: Any,
        *,
        base: int = 0,
        maxsize: int | None = None,
        offset: int = 0,
        size: int | None = None,
        align: int = 1,
        flags: MemoryFlags = _NO_FLAGS,
        parent: Memory | None = None,
    ) -> None:
        super().__init__()
        total = memoryview(buffer).nbytes
        if maxsize is None:
            maxsize = total - base
        if size is None:
            size = maxsize - offset
        if base < 0 or maxsize < 0 or base + maxsize > total:
            raise ValueError(
                f"region [{base}, {base}+{maxsize}) lies outside a {total}-byte buffer"
            )
        if offset < 0 or size < 0 or offset + size > maxsize:
            raise ValueError(f"offset {offset} + size {size} exceeds maxsize {maxsize}")
        self.allocator = allocator
        self._buffer = buffer
        self._base = base
        self.maxsize = maxsize
        self.offset = offset
        self.size = size
        self.align = align
        self.flags = flags if flags.__class__ is MemoryFlags else MemoryFlags(flags)
        self.parent = parent
        # GstMiniObject lock state: exclusive holders, nested mappings, their access mode.
        self._share = 0
        self._lock_count = 0
        self._mode = 0
        # The samples holding it (each with one exclusive lock), told when it is resized.
        self._holders: list[Any] = []

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {getattr(self.allocator, 'mem_type', '?')} "
            f"offset={self.offset} size={self.size} maxsize={self.maxsize} refs={self._refs}>"
        )

    # -- the lock state (GstMiniObject lock) ---------------------------------------------------

    def _lock(self, flags: int) -> bool:
        """Take a lock per GStreamer's rules; False (nothing changed) when refused."""
        flags = int(flags)  # plain int arithmetic: IntFlag operators are slow
        access = flags & _ACCESS
        if access & _WRITE and int(self.flags) & _READONLY:
            return False
        with self._mutex:
            share = self._share + (1 if flags & _EXCLUSIVE else 0)
            if share >= 2 and (self._mode & _WRITE or access & _WRITE):
                return False
            if access:
                if self._lock_count == 0:
                    self._mode = access
                elif self._mode & access != access:
                    return False
                self._lock_count += 1
            self._share = share
        return True

    def _unlock(self, flags: int) -> None:
        with self._mutex:
            if flags & _EXCLUSIVE:
                if self._share <= 0:
                    raise UnexpectedError(message="unlock of a memory that is not locked")
                self._share -= 1
            if flags & _ACCESS:
                if self._lock_count <= 0:
                    raise UnexpectedError(message="unmap of a memory that is not mapped")
                self._lock_count -= 1
                if self._lock_count == 0:
                    self._mode = 0

    def _check_alive(self) -> None:
        if self._refs <= 0 or self._buffer is None:
            raise self._gone()

    def _data_view(self) -> memoryview:
        """A writable view of the data, without lock accounting (for the memory's holder)."""
        start = self._base + self.offset
        return memoryview(self._buffer)[start : start + self.size]

    @property
    def address(self) -> int:
        """The address of the first data byte (``offset`` bytes past the region start)."""
        self._check_alive()
        return buffer_address(self._buffer) + self._base + self.offset

    # -- IMemory -------------------------------------------------------------------------------

    def QueryInterface(self, iface: InterfaceClass | UUID) -> Any:
        """See `IUnknown.QueryInterface`; refused after the final Release."""
        self._check_alive()
        return query_interface(self, iface)

    def Map(self, flags: MapFlags = MapFlags.READ) -> MapInfo:
        """See `IMemory.Map`."""
        _check_map_flags(flags)
        self._check_alive()
        if self.flags & MemoryFlags.NOT_MAPPABLE:
            raise AccessDeniedError(message="memory is flagged NOT_MAPPABLE")
        mode = MapFlags(flags)
        if not self._lock(mode):
            raise AccessDeniedError(message=self._refusal(mode))
        view = self._data_view()
        if not mode & MapFlags.WRITE:
            view = view.toreadonly()
        return MapInfo(self, mode, view, self.size, self.maxsize - self.offset)

    def _refusal(self, mode: MapFlags) -> str:
        if mode & MapFlags.WRITE and self.flags & MemoryFlags.READONLY:
            return "WRITE mapping of READONLY memory"
        if self._share >= 2:
            return f"{mode.name} mapping of memory shared by {self._share} holders"
        return f"{mode.name} mapping nested inside a {MapFlags(self._mode).name} mapping"

    def Unmap(self, info: MapInfo) -> None:
        """See `IMemory.Unmap`."""
        if not isinstance(info, MapInfo):
            raise TypeError(f"Unmap takes a MapInfo, not {type(info).__name__}")
        if info.memory is not self:
            raise ValueError("that mapping belongs to another memory")
        if not info.mapped:
            raise ValueError("that mapping was already unmapped")
        self._check_alive()
        self._unlock(info.flags)
        info.mapped = False
        with contextlib.suppress(BufferError):  # a view derived from it keeps the bytes valid
            info.data.release()

    def Resize(self, offset_delta: int, size: int) -> None:
        """See `IMemory.Resize`."""
        if type(offset_delta) is not int or type(size) is not int:
            raise TypeError("Resize takes two ints")
        self._check_alive()
        new_offset = self.offset + offset_delta
        if new_offset < 0 or size < 0 or new_offset + size > self.maxsize:
            raise ValueError(
                f"offset {new_offset} and size {size} do not fit maxsize {self.maxsize}"
            )
        if not self.IsWritable():
            raise AccessDeniedError(message="Resize of a memory that is not writable")
        if offset_delta > 0:
            self.flags &= ~MemoryFlags.ZERO_PREFIXED
        if offset_delta + size < self.size:
            self.flags &= ~MemoryFlags.ZERO_PADDED
        self.offset = new_offset
        self.size = size
        for holder in list(self._holders):
            holder._layout_changed()

    def _span(self, offset: int, size: int | None) -> tuple[int, int]:
        if type(offset) is not int or (size is not None and type(size) is not int):
            raise TypeError("offset and size must be ints (size may be None)")
        if size is None:
            size = self.size - offset
        start = self.offset + offset
        if start < 0 or size < 0 or start + size > self.maxsize:
            raise ValueError(f"offset {offset} size {size} lies outside the memory")
        return start, size

    def Share(self, offset: int = 0, size: int | None = None) -> Memory:
        """See `IMemory.Share`."""
        start, size = self._span(offset, size)
        self._check_alive()
        if self.flags & MemoryFlags.NO_SHARE:
            raise AccessDeniedError(message="memory is flagged NO_SHARE")
        root = self.parent if self.parent is not None else self
        # Two exclusive locks, as gst_memory_share takes: refused while mapped WRITE.
        if not self._lock(_EXCLUSIVE):
            raise AccessDeniedError(message="Share of a memory mapped for writing")
        try:
            if not self._lock(_EXCLUSIVE):
                raise AccessDeniedError(message="Share of a memory mapped for writing")
            self._unlock(_EXCLUSIVE)
            child = self._make_child(root, start, size)
        finally:
            self._unlock(_EXCLUSIVE)
        return child

    def _make_child(self, root: Memory, offset: int, size: int) -> Memory:
        """A read-only sub-memory of ``root``; holds an exclusive lock and a reference on it."""
        if not root._lock(_EXCLUSIVE):
            raise AccessDeniedError(message="Share of a memory mapped for writing")
        root.AddRef()
        child = type(self).__new__(type(self))
        Memory.__init__(
            child,
            self.allocator,
            self._buffer,
            base=self._base,
            maxsize=self.maxsize,
            offset=offset,
            size=size,
            align=self.align,
            flags=root.flags | MemoryFlags.READONLY,
            parent=root,
        )
        self._init_child(child)
        return child

    def _init_child(self, child: Memory) -> None:
        """Copy subclass state into a sub-memory made by `Share`."""

    def Copy(self, offset: int = 0, size: int | None = None) -> Memory:
        """See `IMemory.Copy`."""
        start, size = self._span(offset, size)
        self._check_alive()
        allocator = self.allocator
        if allocator is None or getattr(allocator, "flags", 0) & (
            AllocatorFlags.NO_COPY | AllocatorFlags.CUSTOM_ALLOC
        ):
            allocator = find_allocator(None)
        copy: Memory = allocator.Alloc(size, AllocationParams(align=self.align))
        source = self._base + start
        with copy.Map(MapFlags.WRITE) as info:
            info.data[:] = memoryview(self._buffer)[source : source + size]
        return copy

    def IsSpan(self, other: IMemory) -> int | None:
        """See `IMemory.IsSpan`."""
        if not isinstance(other, Memory):
            raise TypeError(f"IsSpan takes a Memory, not {type(other).__name__}")
        self._check_alive()
        other._check_alive()
        if (
            self.parent is None
            or self.parent is not other.parent
            or self.allocator is not other.allocator
            or self._buffer is not other._buffer
        ):
            return None
        if self._base + self.offset + self.size != other._base + other.offset:
            return None
        return self.offset - self.parent.offset

    def IsWritable(self) -> bool:
        """See `IMemory.IsWritable`."""
        self._check_alive()
        return not int(self.flags) & _READONLY and self._share < 2

    def _final_release(self) -> None:
        parent = self.parent
        if parent is not None:
            parent._unlock(_EXCLUSIVE)
        if self.allocator is not None:
            self.allocator.Free(self)
        self._buffer = None
        if parent is not None:
            parent.Release()


@implementer(IMemoryAllocator)
class SystemMemoryAllocator(ComObject):
    """``"SystemMemory"``: blocks in Python ``bytearray`` storage, aligned as asked."""

    __slots__ = ("flags", "mem_type")

    mem_type: str
    flags: AllocatorFlags

    def __init__(self) -> None:
        super().__init__()
        self.mem_type = "SystemMemory"
        self.flags = AllocatorFlags(0)

    def Alloc(self, size: int, params: AllocationParams | None = None) -> Memory:
        """See `IMemoryAllocator.Alloc`."""
        params = _check_alloc_args(size, params)
        total = params.prefix + size + params.padding
        # Blocks of a page or more start on a cache line even when less was asked: numpy's
        # and memset's loops over a frame run measurably slower from a 16-byte boundary.
        align = max(params.align, _CACHE_LINE) if total >= _PAGE else params.align
        try:
            buffer = bytearray(total + align - 1)
        except MemoryError as exc:
            raise OutOfMemoryError(message=f"cannot allocate {total} bytes") from exc
        shift = -buffer_address(buffer) % align
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
        """See `IMemoryAllocator.Free`. The bytearray goes with the last view of it."""
        _check_free_arg(memory)


def _check_free_arg(memory: object) -> None:
    if not isinstance(memory, Memory):
        raise TypeError(f"Free takes a Memory, not {type(memory).__name__}")


def _check_alloc_args(size: int, params: AllocationParams | None) -> AllocationParams:
    if type(size) is not int:
        raise TypeError(f"size must be an int, not {type(size).__name__}")
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if params is None:
        return AllocationParams()
    if not isinstance(params, AllocationParams):
        raise TypeError(f"params must be AllocationParams, not {type(params).__name__}")
    return params


class SharedMemoryBlock(Memory):
    """A `Memory` in a memfd mapping; ``fd`` can be sent to another process and mapped there.

    ``fd`` belongs to the block: it is closed, and the mapping unmapped, by the final Release
    of the root block. The memfd disappears when the last process holding it closes it.
    """

    __slots__ = ("fd", "mapsize")

    fd: int
    mapsize: int

    @property
    def fd_offset(self) -> int:
        """Where this block's region (its offset 0) starts in the memfd.

        Another process that maps ``fd`` finds the data at ``fd_offset + offset``.
        """
        return self._base

    def _init_child(self, child: Memory) -> None:
        assert isinstance(child, SharedMemoryBlock)
        child.fd = self.fd
        child.mapsize = self.mapsize


@implementer(IMemoryAllocator)
class SharedMemoryAllocator(ComObject):
    """``"SharedMemory"``: memfd-backed blocks, shareable across processes by file descriptor.

    Each block is its own memfd, sealed against shrinking and growing, mapped MAP_SHARED and
    sized in whole pages. Copies come from the default allocator (``AllocatorFlags.NO_COPY``).
    """

    __slots__ = ("flags", "mem_type")

    mem_type: str
    flags: AllocatorFlags

    def __init__(self) -> None:
        super().__init__()
        self.mem_type = "SharedMemory"
        self.flags = AllocatorFlags.NO_COPY

    def Alloc(self, size: int, params: AllocationParams | None = None) -> SharedMemoryBlock:
        """See `IMemoryAllocator.Alloc`."""
        params = _check_alloc_args(size, params)
        total = params.prefix + size + params.padding
        slack = params.align - 1 if params.align > mmap.PAGESIZE else 0
        mapsize = max(mmap.PAGESIZE, -(-(total + slack) // mmap.PAGESIZE) * mmap.PAGESIZE)
        try:
            fd = os.memfd_create("dshow-alloc", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except OSError as exc:
            raise OutOfMemoryError(message=f"memfd_create failed: {exc}") from exc
        try:
            os.ftruncate(fd, mapsize)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
            mapping = mmap.mmap(fd, mapsize, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            os.close(fd)
            raise OutOfMemoryError(message=f"cannot map {mapsize} shared bytes: {exc}") from exc
        shift = -buffer_address(mapping) % params.align
        block = SharedMemoryBlock(
            self,
            mapping,
            base=shift,
            maxsize=mapsize - shift,
            offset=params.prefix,
            size=size,
            align=params.align,
            flags=params.flags,
        )
        block.fd = fd
        block.mapsize = mapsize
        return block

    def Free(self, memory: IMemory) -> None:
        """See `IMemoryAllocator.Free`: the root block unmaps and closes its memfd."""
        _check_free_arg(memory)
        if not isinstance(memory, SharedMemoryBlock) or memory.parent is not None:
            return
        mapping = memory._buffer
        with contextlib.suppress(BufferError):  # an exported view keeps it until it goes
            mapping.close()
        os.close(memory.fd)
        memory.fd = -1


_registry: dict[str, Any] = {}
_registry_lock = threading.Lock()
_default: list[Any] = []  # one element: the default allocator


def register_allocator(name: str, allocator: IMemoryAllocator) -> None:
    """Make ``allocator`` findable as ``name`` (a second registration of a name replaces it)."""
    if not isinstance(name, str):
        raise TypeError(f"an allocator is registered under a str name, not {type(name).__name__}")
    if not name:
        raise ValueError("an allocator name must not be empty")
    if not IMemoryAllocator.providedBy(allocator):
        raise TypeError(f"{type(allocator).__name__} does not provide IMemoryAllocator")
    with _registry_lock:
        _registry[name] = allocator


def find_allocator(name: str | None = None) -> Any:
    """The allocator registered as ``name``, the default for ``None``, or ``None`` if unknown."""
    if name is None:
        return _default[0]
    if not isinstance(name, str):
        raise TypeError(f"allocator names are str, not {type(name).__name__}")
    return _registry.get(name)


def set_default_allocator(allocator: IMemoryAllocator) -> None:
    """Make ``allocator`` what ``find_allocator(None)`` returns."""
    if not IMemoryAllocator.providedBy(allocator):
        raise TypeError(f"{type(allocator).__name__} does not provide IMemoryAllocator")
    with _registry_lock:
        _default[:] = [allocator]


_system = SystemMemoryAllocator()
register_allocator("SystemMemory", _system)
register_allocator("SharedMemory", SharedMemoryAllocator())
set_default_allocator(_system)
