"""IMediaSample and IMediaSample2: a pooled buffer of media data with its times and flags."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dshow_alloc.mediatype import MediaType
    from dshow_alloc.memory import MapFlags
    from dshow_alloc.meta import Meta, MetaInfo
    from dshow_alloc.sample import SampleMapInfo
    from dshow_alloc.structs import SampleProperties
    from interfaces.memory import IMemory

__all__ = ["IBufferSample", "IMediaSample", "IMediaSample2"]


class IMediaSample(IUnknown):
    """A buffer from an allocator's pool, with its data length, times, flags and media type.

    Ownership. ``IMemAllocator.GetBuffer`` hands a sample out with a count of 1, owned by the
    caller. Whoever keeps a sample past the call that gave it to them (an input pin queueing it
    in ``Receive``) calls ``AddRef`` first and ``Release`` when done. The final ``Release``
    resets the sample (see below) and returns it to its allocator (``ReleaseBuffer``), which
    puts it at the head of its free list; blocked ``GetBuffer`` callers wake. Samples support
    the ``with`` statement: ``with allocator.GetBuffer() as sample:`` calls ``Release`` once
    at the end of the block (and ``__enter__`` returns the sample itself, without
    ``AddRef``).

    Reset at the final Release (CMediaSample::Release): the sample flags (sync point, preroll,
    discontinuity, type changed, time valid, stop valid, media time valid), the media type, the
    type-specific flags and the stream id (back to AM_STREAM_MEDIA, 0) are cleared. The actual
    data length is NOT reset: it survives into the next ``GetBuffer`` (native Windows does the
    same); neither are the raw stored start and stop values, nor the bytes.

    A sample that went back to its pool is dead until ``GetBuffer`` hands it out again: every
    method called on it, ``AddRef`` and ``Release`` included, raises ``COMError``
    E_UNEXPECTED and changes nothing.

    Flags. Sample time, media time and the ``Is*``/``Set*`` booleans map onto the
    AM_SAMPLE2_PROPERTIES ``sample_flags`` bits exactly as on Windows: sync point =
    AM_SAMPLE_SPLICEPOINT (0x1), preroll = AM_SAMPLE_PREROLL (0x2), discontinuity =
    AM_SAMPLE_DATADISCONTINUITY (0x4), media type set = AM_SAMPLE_TYPECHANGED (0x8), start time
    valid = AM_SAMPLE_TIMEVALID (0x10), stop time valid = AM_SAMPLE_STOPVALID (0x100). The
    media-time-valid bit (0x20) is internal: never reported, refused by ``SetProperties``.

    Times are ``int`` REFERENCE_TIME values in 100 ns units, never float. Media times are
    independent of sample times.

    Threads: a sample belongs to one holder at a time; its ``Get*``/``Set*`` methods are not
    synchronised against each other. ``AddRef`` and ``Release`` are thread-safe.

    The IID is the real one, IID_IMediaSample.
    """

    taggedValue("iid", UUID("56a8689a-0ad4-11ce-b03a-0020af0ba770"))

    def GetPointer() -> memoryview:
        """Return a view of the sample's data: the ``GetSize()`` bytes after the prefix.

        The view is one-dimensional, format ``"B"``, and writes through it reach the sample's
        buffer directly. It is read-only when the sample was delivered read-only (the
        allocator was negotiated with ``IMemInputPin.NotifyAllocator(..., read_only=True)``);
        a holder that must modify such data copies it first. The view is valid while the
        caller holds a reference: after the final ``Release`` the bytes belong to the sample's
        next holder and must not be touched.
        """

    def GetSize() -> int:
        """Return the size of the data buffer in bytes: the allocator's actual ``buffer_size``
        (cbBuffer), prefix excluded. Fixed for the sample's life."""

    def GetTime() -> tuple[int, int | None]:
        """Return the sample's stream times as ``(start, stop)``.

        ``stop`` is None when only the start is valid (Windows returns VFW_S_NO_STOP_TIME
        there, with stop = start + 1).

        Raises:
            COMError: VFW_E_SAMPLE_TIME_NOT_SET when no start time is set (AM_SAMPLE_TIMEVALID
                clear), even if a stop time is flagged valid.
        """

    def SetTime(start: int | None = None, stop: int | None = None) -> None:
        """Set or clear the sample's stream times.

        ``SetTime(start, stop)`` sets both and the TIMEVALID and STOPVALID flags;
        ``SetTime(start)`` sets the start, sets TIMEVALID and clears STOPVALID;
        ``SetTime()`` (start None) clears both flags, whatever ``stop`` is. Never fails.
        ``IMemAllocator.GetBuffer``'s start and stop arguments do not call this.
        """

    def IsSyncPoint() -> bool:
        """Return True when the sample is a sync point (a key frame: decoding can start here),
        that is when AM_SAMPLE_SPLICEPOINT is set."""

    def SetSyncPoint(sync: bool) -> None:
        """Set (True) or clear (False) the sync-point flag, AM_SAMPLE_SPLICEPOINT."""

    def IsPreroll() -> bool:
        """Return True when the sample is preroll (to be decoded but not presented), that is
        when AM_SAMPLE_PREROLL is set."""

    def SetPreroll(preroll: bool) -> None:
        """Set (True) or clear (False) the preroll flag, AM_SAMPLE_PREROLL."""

    def GetActualDataLength() -> int:
        """Return the number of valid data bytes at the start of the buffer.

        ``GetSize()`` for a sample fresh from a new allocator; afterwards whatever was last
        set, even across a release and a new ``GetBuffer``.
        """

    def SetActualDataLength(length: int) -> None:
        """Set the number of valid data bytes, ``0 <= length <= GetSize()``.

        Raises:
            COMError: VFW_E_BUFFER_OVERFLOW when ``length`` < 0 or ``length`` > ``GetSize()``;
                the length is unchanged.
        """

    def GetMediaType() -> MediaType | None:
        """Return the in-band media type change attached to the sample, or None when there is
        none (Windows' S_FALSE). A downstream pin receiving a sample with a type switches to
        that type from this sample on (see ``IMemInputPin.Receive``)."""

    def SetMediaType(media_type: MediaType | None) -> None:
        """Attach an in-band media type change to the sample, or remove it with None.

        A type sets AM_SAMPLE_TYPECHANGED; None clears the type and the flag. ``MediaType`` is
        immutable, so the sample stores the value itself. Never fails.
        """

    def IsDiscontinuity() -> bool:
        """Return True when the sample follows a break in the data (after a seek, a flush or
        dropped samples), that is when AM_SAMPLE_DATADISCONTINUITY is set."""

    def SetDiscontinuity(discontinuity: bool) -> None:
        """Set (True) or clear (False) the discontinuity flag, AM_SAMPLE_DATADISCONTINUITY."""

    def GetMediaTime() -> tuple[int, int]:
        """Return the sample's media times ``(start, stop)`` (for example frame numbers or byte
        offsets; their meaning depends on the media type).

        Raises:
            COMError: VFW_E_MEDIA_TIME_NOT_SET when no media time is set.
        """

    def SetMediaTime(start: int | None, stop: int | None) -> None:
        """Set the media times, or clear them with ``start`` None (``stop`` is then ignored).

        Raises:
            COMError: E_POINTER when ``start`` is given without ``stop``; nothing changes.
        """


class IMediaSample2(IMediaSample):
    """Read and write all of a sample's properties at once (AM_SAMPLE2_PROPERTIES).

    Every sample from ``MemAllocator`` provides it. The rules of `IMediaSample` hold, E_UNEXPECTED
    after the sample went home included.

    The IID is the real one, IID_IMediaSample2.
    """

    taggedValue("iid", UUID("36b73884-c2c8-11cf-8b46-00805f6cef60"))

    def GetProperties() -> SampleProperties:
        """Return a snapshot of the sample's properties.

        ``type_specific_flags``; ``sample_flags`` (the AM_SAMPLE_* bits, never 0x20);
        ``actual`` (``GetActualDataLength()``); ``start`` and ``stop`` (the stored values,
        meaningful only when TIMEVALID / STOPVALID are set; a fresh sample reports 0);
        ``stream_id``; ``media_type`` (the type when TYPECHANGED is set, else None); ``size``
        (``GetSize()``). A fresh sample of a ``buffer_size`` N allocator reports flags 0,
        type-specific flags 0, actual N, start 0, stream id 0, no media type, size N.
        """

    def SetProperties(props: SampleProperties) -> None:
        """Replace the sample's properties with ``props``.

        All checks come first; a failed call changes nothing. On success ``sample_flags``
        replace the sample's flags verbatim (not OR-ed; the private media-time state is kept),
        and ``type_specific_flags``, ``actual``, ``start``, ``stop`` and ``stream_id`` are
        stored. The media type follows AM_SAMPLE_TYPECHANGED: with the flag, ``media_type``
        becomes the sample's type; without it the sample has no media type afterwards
        (``media_type`` is ignored), so the flag and the type always agree. ``props.size`` is
        read-only information: pass 0 or the real size. The usual pattern is read, modify,
        write: ``s.SetProperties(attrs.evolve(s.GetProperties(), actual=n))``.

        Examples: flags 0 leave the time unset; TIMEVALID with ``start`` s makes ``GetTime()``
        return ``(s, None)``; PREROLL | DATADISCONTINUITY | SPLICEPOINT make all three ``Is*``
        True.

        Raises:
            COMError: E_INVALIDARG (also a ``ValueError``) when ``sample_flags`` has bits
                outside 0x1FF or has 0x20, when ``props.size`` is neither 0 nor ``GetSize()``,
                or when ``actual`` is negative or greater than ``GetSize()``.
            COMError: E_POINTER when ``sample_flags`` has AM_SAMPLE_TYPECHANGED and
                ``media_type`` is None.
        """


class IBufferSample(IUnknown):
    """GStreamer's GstBuffer on a sample: memory blocks, writability, copy-on-write, metas.

    Blocks. A sample holds 0..16 ``IMemory`` blocks, each with an exclusive lock, and its
    data is their bytes in order: ``GetSize()`` is their total. Adding, inserting, replacing or
    removing a block sets the actual data length to the new total and marks the sample's
    blocks as changed (a pool discards such a sample when it comes home). Methods that take a
    block take over the caller's reference to it; a block that cannot be locked (it is mapped
    for writing by another holder) is copied instead, and the caller's reference dropped.

    Writability. The sample is writable when its count is 1: its blocks and metas may change
    (the block and meta mutators raise E_ACCESSDENIED otherwise). Data is copy-on-write per
    block: write access to a block that another holder also locks, or to read-only memory,
    first replaces it in this sample by a private copy, so no other holder ever sees the
    write. Write access is ``GetPointer()`` (unless the sample is read-only) and
    ``Map(WRITE)``; a READ mapping never copies. A ``GetPointer()`` view is write access at
    the time of the call and holds no lock: once the blocks are shared (a shallow ``Copy`` or
    ``MakeWritable``), call ``GetPointer()`` again before writing, since an older view still
    points at the shared block. ``Map(WRITE)`` holds its lock until unmapped, so a copy made
    meanwhile gets its own bytes.

    Merging. ``GetPointer()`` over several blocks gives one view: of the parent memory,
    without a copy, when the blocks are consecutive parts of one parent that no other holder
    locks (writable then, because nobody else can see the bytes); otherwise of a new block with
    the bytes, which replaces the blocks when the sample is writable, and is a read-only
    temporary copy when it is not (so that no write is silently lost).

    Read-only samples. A sample made over immutable bytes, or marked read-only for delivery
    (``SetReadOnly(True)``, as a tee or a ``NotifyAllocator(..., read_only=True)`` connection
    does), gives read-only views (writing raises ``TypeError``, the data is unchanged) and
    refuses ``Map(WRITE)`` with E_ACCESSDENIED. ``MakeWritable()`` and ``Copy(deep=True)``
    give a writable sample. The final release clears the mark.

    Metas. Typed metadata of registered APIs (``register_meta``), kept in insertion order.

    The IID is project-defined (GStreamer has no COM IIDs).
    """

    taggedValue("iid", UUID("5b0f3a1e-7d2c-4c1e-9a61-627566666572"))

    def GetMemoryCount() -> int:
        """Return how many blocks the sample holds (0..16)."""

    def PeekMemory(index: int) -> IMemory:
        """Return block ``index``, borrowed: valid while the sample holds it (no AddRef).

        Raises:
            COMError: E_INVALIDARG (a ``ValueError``) for an index outside the blocks.
        """

    def GetMemory(index: int) -> IMemory:
        """Return block ``index`` with a new reference, which the caller releases."""

    def AppendMemory(memory: IMemory) -> None:
        """Add ``memory`` after the last block. A sample with 16 blocks first merges all of
        them into one new block, so the result has two."""

    def InsertMemory(index: int, memory: IMemory) -> None:
        """Insert ``memory`` before block ``index`` (0..count; -1 appends). Merges a full
        sample first, as ``AppendMemory`` does."""

    def ReplaceMemory(index: int, memory: IMemory) -> None:
        """Replace block ``index`` by ``memory``; the old block is unlocked and released."""

    def RemoveMemory(index: int) -> None:
        """Remove block ``index``; it is unlocked and released."""

    def Map(flags: MapFlags = ...) -> SampleMapInfo:
        """Map every block with ``flags`` and return the mapping (a context manager).

        READ never copies: ``views`` gives each block's bytes, ``data`` all of them when they
        are contiguous. WRITE first makes each block private (copy-on-write) and is refused
        with E_ACCESSDENIED on a read-only sample. A block the lock rules refuse (mapped WRITE
        by another holder) raises E_ACCESSDENIED and nothing stays mapped.
        """

    def IsWritable() -> bool:
        """Return True when the count is 1 (blocks and metas may change)."""

    def IsReadOnly() -> bool:
        """Return True when the sample's data is read-only for its holders."""

    def SetReadOnly(read_only: bool) -> None:
        """Mark the data read-only (for delivery) or, on a writable sample, writable again.

        Raises:
            COMError: E_ACCESSDENIED when clearing the mark on a sample with count > 1.
        """

    def MakeWritable() -> IBufferSample:
        """Return a writable sample with this one's content.

        With a count of 1: the sample itself, no longer read-only. Otherwise a shallow
        ``Copy()`` that shares the blocks, and the caller's reference to this sample is
        dropped (GStreamer's transfer rule): use the result from then on.
        """

    def Copy(
        deep: bool = False, *, offset: int = 0, size: int | None = None, merge: bool = False
    ) -> IBufferSample:
        """Return a new standalone sample (count 1, writable) with a copy of this one.

        Copied: flags, times, media times, media type, type-specific flags, stream id, the
        actual data length, and each meta whose API has a ``transform`` that returns True.
        Blocks are shared (locked by both samples, so a write to either copies first), or
        copied when ``deep``. ``offset``/``size`` copy a byte range (a region: blocks are
        shared in part, times are kept only from offset 0 and the stop only for the whole
        sample; the actual length is ``size``); ``merge`` puts the bytes in one new block.
        Metas tagged "memory" are dropped by region and merge copies, metas tagged
        "memory-reference" by deep copies.

        Raises:
            COMError: E_INVALIDARG (a ``ValueError``) when the range lies outside the data.
        """

    def AddMeta(info: MetaInfo, /, **fields: object) -> Meta | None:
        """Add a meta of a registered API with these fields, after any already there.

        Returns the meta, or None when the API's ``init`` returned False.

        Raises:
            COMError: E_ACCESSDENIED when the sample is not writable.
        """

    def GetMeta(api: str | MetaInfo) -> Meta | None:
        """Return the first meta of ``api``, or None."""

    def IterMeta(api: str | MetaInfo | None = None) -> Iterator[Meta]:
        """Iterate over the metas (of ``api`` only, if given) in insertion order."""

    def RemoveMeta(meta: Meta) -> None:
        """Remove ``meta`` from the sample.

        Raises:
            COMError: E_ACCESSDENIED when the sample is not writable or the meta is locked
                (a pooled meta). ValueError when ``meta`` is not on this sample.
        """
