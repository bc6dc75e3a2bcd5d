"""Media samples: ``IMediaSample2`` over memory blocks.

A sample carries the DirectShow per-buffer state (times, media times, flags, an in-band media
type) over a `Memory` block that it holds with an exclusive lock. Pool samples come from
`MemAllocator.GetBuffer` with a count of 1; their final ``Release`` resets them and sends them
home (`MemAllocator.ReleaseBuffer`). A sample whose count reached 0 refuses every call with
``E_UNEXPECTED`` until its pool hands it out again.

``SetTime``, ``GetBuffer`` and ``Release`` are the per-frame path of every filter, so they are
written for speed: no lock unless the count is shared (see `dshow_alloc.com`), and argument
checks that cost one comparison on valid input.
"""

from __future__ import annotations

import contextlib
import traceback
from typing import Any
from uuid import UUID

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
from dshow_alloc.memory import _EXCLUSIVE, Memory
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
from interfaces import IMediaSample2

__all__ = ["MediaSample", "Trace"]

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


@implementer(IMediaSample2)
class MediaSample(ComObject):
    """A media sample. See `IMediaSample` and `IMediaSample2`."""

    __slots__ = (
        "_actual",
        "_allocator",
        "_flags",
        "_index",
        "_media_start",
        "_media_stop",
        "_media_type",
        "_memory",
        "_pooled",
        "_size",
        "_start",
        "_stop",
        "_stream_id",
        "_trace",
        "_type_flags",
        "_view",
    )

    _allocator: Any
    _memory: Memory | None
    _view: memoryview | None
    _trace: Trace | None

    def __init__(self, allocator: Any, memory: Memory, index: int = 0) -> None:
        """A sample over ``memory``, which it takes over (the caller's reference moves in).

        Pool samples start home (count 0, on the free list); others start with count 1.
        """
        super().__init__()
        if not memory._lock(_EXCLUSIVE):
            raise AccessDeniedError(message="the memory is mapped for writing elsewhere")
        self._allocator = allocator
        self._memory = memory
        self._view = memory._data_view()
        self._index = index
        self._size = memory.size
        self._actual = memory.size
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

    def __repr__(self) -> str:
        return (
            f"<MediaSample #{self._index} refs={self._refs} size={self._size}"
            f"{' home' if self._pooled else ''}>"
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
        allocator = self._allocator
        if allocator is not None:
            allocator.ReleaseBuffer(self)
        else:
            self._free_memory()
        return 0

    def _free_memory(self) -> None:
        """Give up the memory block (a standalone sample's end, or a pool's Decommit)."""
        view, memory = self._view, self._memory
        self._view = None
        self._memory = None
        if view is not None:
            with contextlib.suppress(BufferError):  # a caller's slice of it keeps the bytes
                view.release()
        if memory is not None:
            memory._unlock(_EXCLUSIVE)
            memory.Release()

    # -- data ----------------------------------------------------------------------------------

    def GetPointer(self) -> memoryview:
        """See `IMediaSample.GetPointer`."""
        view = self._view
        if not self._refs or view is None:
            raise self._gone()
        return view[:]

    def GetSize(self) -> int:
        """See `IMediaSample.GetSize`."""
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
        flags = props.sample_flags
        if flags & ~SAMPLE_VALID_FLAGS or flags & SAMPLE_MEDIA_TIME_VALID:
            raise InvalidArgError(message=f"sample flags 0x{flags:X} outside 0x1FF or with 0x20")
        if props.size not in (0, self._size):
            raise InvalidArgError(message=f"size {props.size} is not this sample's {self._size}")
        if not 0 <= props.actual <= self._size:
            raise InvalidArgError(message=f"actual {props.actual} outside 0..{self._size}")
        if flags & AM_SAMPLE_TYPECHANGED and props.media_type is None:
            raise PointerError(message="AM_SAMPLE_TYPECHANGED without a media_type")
        self._type_flags = props.type_specific_flags
        self._flags = flags | (self._flags & SAMPLE_MEDIA_TIME_VALID)
        self._actual = props.actual
        self._start = props.start
        self._stop = props.stop
        self._stream_id = props.stream_id
        self._media_type = props.media_type if flags & AM_SAMPLE_TYPECHANGED else None

    # -- diagnostics ---------------------------------------------------------------------------

    @property
    def allocator(self) -> Any:
        """The allocator this sample goes home to (None for a standalone sample)."""
        return self._allocator

    @property
    def memory(self) -> Memory | None:
        """The memory block holding the prefix and the data."""
        return self._memory

    @property
    def index(self) -> int:
        """The sample's number in its pool, stable for the pool's commit."""
        return self._index

    @property
    def trace(self) -> Trace | None:
        """Where it was last acquired, when its allocator traces (``MemAllocator(trace=True)``)."""
        return self._trace
