"""IMemAllocator and its release-callback interfaces: the pool of media samples."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from dshow_alloc.pool import PoolConfig
    from dshow_alloc.structs import AllocatorProperties
    from interfaces.sample import IMediaSample

__all__ = [
    "IBufferPool",
    "IMemAllocator",
    "IMemAllocatorCallbackTemp",
    "IMemAllocatorNotifyCallbackTemp",
]


class IMemAllocator(IUnknown):
    """A fixed pool of equally sized media samples (CLSID_MemoryAllocator: ``MemAllocator``).

    Life cycle. A fresh allocator is unconfigured (``GetProperties()`` is all zeros) and not
    committed. ``SetProperties`` configures it, ``Commit`` allocates the samples and opens the
    pool, ``GetBuffer`` hands samples out, each sample's final ``Release`` brings it home
    (``ReleaseBuffer``), and ``Decommit`` closes the pool; its memory is released once every
    sample has come home. In a filter graph the output pin's allocator negotiation
    (``IMemInputPin``) calls ``SetProperties``; the output pin commits the allocator when its
    filter leaves Stopped and decommits it when the filter stops.

    Memory layout. Every sample's data are ``buffer_size`` bytes (``IMediaSample.GetSize``),
    preceded by ``prefix`` bytes of the same block; the address of the prefix start is a
    multiple of ``align``; samples never overlap. The bytes come from the default memory
    allocator (``find_allocator(None)``, see `IMemoryAllocator`) unless the allocator was
    configured with another.

    Free list. Free samples are kept last in, first out: the sample most recently released is
    the one ``GetBuffer`` hands out next.

    Threads: every method is thread-safe. ``GetBuffer`` may block; the rest do not.

    The IID is the real one, IID_IMemAllocator.
    """

    taggedValue("iid", UUID("56a8689c-0ad4-11ce-b03a-0020af0ba770"))

    def SetProperties(request: AllocatorProperties) -> AllocatorProperties:
        """Configure the pool and return the properties actually set.

        Checks, first failure wins: ``request.align`` not a power of two (0 included) ->
        VFW_E_BADALIGN; the allocator is committed -> VFW_E_ALREADY_COMMITTED; samples are
        still out (after a ``Decommit`` that has not completed) -> VFW_E_BUFFERS_OUTSTANDING.
        A failed call changes nothing.

        The result has ``buffers``, ``align`` and ``prefix`` as requested and ``buffer_size``
        rounded so that data plus prefix fill whole alignment units:
        ``roundup(buffer_size + prefix, align) - prefix`` (for example ``buffer_size`` 17,
        ``align`` 16, ``prefix`` 0 gives 32; 1, 16, 1 gives 15; 1, 16, 16 gives 16).
        ``GetProperties`` then returns exactly this result, and after ``Commit`` every sample's
        ``GetSize()`` equals its ``buffer_size``. ``buffers`` or ``buffer_size`` of 0 are
        accepted here and refused by ``Commit``. The call may be repeated while uncommitted;
        the last one wins. ``request`` (immutable) is never changed.

        Raises:
            COMError: VFW_E_BADALIGN, VFW_E_ALREADY_COMMITTED or VFW_E_BUFFERS_OUTSTANDING, as
                above.
        """

    def GetProperties() -> AllocatorProperties:
        """Return the properties last set by ``SetProperties`` (all zeros on a fresh
        allocator)."""

    def Commit() -> None:
        """Allocate the samples (if needed) and open the pool, so that ``GetBuffer`` works.

        Idempotent: committing a committed allocator does nothing. Committing while a
        ``Decommit`` is still waiting for samples to come home cancels the decommit and keeps
        the existing samples, without reallocating. A commit may reuse the samples of an
        earlier commit when the properties have not changed since.

        Raises:
            COMError: VFW_E_SIZENOTSET when ``SetProperties`` was never called or ``buffers``
                or ``buffer_size`` is 0; the allocator stays uncommitted.
            COMError: E_OUTOFMEMORY when the memory cannot be allocated; the allocator stays
                uncommitted.
        """

    def Decommit() -> None:
        """Close the pool. Idempotent, and a no-op on an allocator never committed.

        From now on ``GetBuffer`` raises VFW_E_NOT_COMMITTED, and every thread blocked in
        ``GetBuffer`` wakes and raises VFW_E_NOT_COMMITTED. Samples already out stay valid and
        writable until their final ``Release``. The memory is released at once when every
        sample is home, otherwise when the last one comes back (the decommit is pending until
        then; ``SetProperties`` meanwhile raises VFW_E_BUFFERS_OUTSTANDING).
        """

    def GetBuffer(
        start: int | None = None,
        stop: int | None = None,
        flags: int = 0,
        *,
        timeout: float | None = None,
    ) -> IMediaSample:
        """Take a free sample from the pool and return it with a count of 1, owned by the
        caller.

        When no sample is free: with ``AM_GBF_NOWAIT`` in ``flags`` the call raises
        VFW_E_TIMEOUT at once; otherwise it blocks until a sample is released, the allocator
        is decommitted, or ``timeout`` seconds pass (None: no limit; 0: do not wait, like
        AM_GBF_NOWAIT). A sample that comes home while threads wait goes to one of them: a
        thread that was not waiting (the releaser calling ``GetBuffer`` again, an
        ``AM_GBF_NOWAIT`` call) cannot take it first. When one sample comes home while several
        threads wait, exactly one of them gets it and the others keep waiting, their timeouts
        still counting from the start of their call.

        The sample is the most recently released free one (LIFO). Its properties are what its
        final ``Release`` left (see `IMediaSample`): flags, times, media type, type-specific
        flags and stream id cleared; actual data length and bytes as the last holder left them.
        Its data are writable. ``start`` and ``stop`` are ignored, not applied to the sample
        (Windows ignores them too; call ``IMediaSample.SetTime``). The hint flags
        AM_GBF_PREVFRAMESKIPPED and AM_GBF_NOTASYNCPOINT are accepted and ignored; other bits
        are ignored.

        The caller must ``Release`` the sample exactly once (or use ``with``); passing it to
        ``IMemInputPin.Receive`` does not transfer that reference.

        Raises:
            COMError: VFW_E_NOT_COMMITTED when the allocator is not committed (never committed,
                or after ``Decommit``, pending or complete), including for a thread woken by
                ``Decommit`` while waiting.
            COMError: VFW_E_TIMEOUT (also a ``TimeoutError``) when no sample is free and
                AM_GBF_NOWAIT is set, or ``timeout`` elapsed.
            ValueError: ``flags`` or ``timeout`` is negative.
        """

    def ReleaseBuffer(sample: IMediaSample) -> None:
        """Take a sample back. Called by the sample's final ``Release``; users never call it.

        In order: the (already reset) sample goes to the head of the free list; blocked
        ``GetBuffer`` callers wake; if a ``Decommit`` is pending and this was the last sample
        out, the memory is released; then, outside any allocator lock and on the releasing
        thread, the notify callback (``IMemAllocatorCallbackTemp.SetNotify``) runs, if one is
        set.

        Raises:
            COMError: E_UNEXPECTED when ``sample`` is not due home here: it belongs to another
                allocator, is already home, or its count is not 0. Nothing changes.
        """


class IMemAllocatorCallbackTemp(IMemAllocator):
    """An allocator that can report its free count and call back when a sample comes home.

    Deprecated in DirectShow but provided by CMemAllocator, and so by ``MemAllocator``.

    The IID is the real one, IID_IMemAllocatorCallbackTemp.
    """

    taggedValue("iid", UUID("379a0cf0-c1de-11d2-abf5-00a0c905f375"))

    def SetNotify(notify: IMemAllocatorNotifyCallbackTemp | None) -> None:
        """Set the callback whose ``NotifyRelease`` runs each time a sample comes home, or
        remove it with None. Replaces any previous callback; the allocator keeps a reference to
        ``notify`` until it is replaced or removed. Never fails."""

    def GetFreeCount() -> int:
        """Return the number of samples not held by anyone: ``buffers`` minus the samples
        currently out. It equals ``buffers`` before the first ``Commit`` and whenever every
        sample has come home."""


class IMemAllocatorNotifyCallbackTemp(IUnknown):
    """Implemented by whoever wants to hear that a sample went back to an allocator.

    The IID is the real one, IID_IMemAllocatorNotifyCallbackTemp.
    """

    taggedValue("iid", UUID("92980b30-c1de-11d2-abf5-00a0c905f375"))

    def NotifyRelease() -> None:
        """A sample has just come home.

        Called once per final ``Release`` of a sample, after the sample is back on the free
        list and waiting ``GetBuffer`` callers were woken, outside any allocator lock, on the
        releasing thread. It must not block. An exception it raises is logged (``logging``)
        and swallowed: the release has completed and its caller does not see the exception.
        """


class IBufferPool(IUnknown):
    """GStreamer's buffer-pool configuration on a sample pool (implemented by ``MemAllocator``).

    A pool holds between ``min_buffers`` and ``max_buffers`` samples (``max_buffers`` 0:
    no limit). ``Commit`` preallocates ``min_buffers``; a ``GetBuffer`` that finds the free
    list empty allocates a new sample while the pool is below ``max_buffers``, and blocks (or
    raises VFW_E_TIMEOUT with ``AM_GBF_NOWAIT``) only at the limit. ``IMemAllocator.
    SetProperties(p)`` is the fixed-size special case: ``min_buffers == max_buffers ==
    p.buffers``, and a ``buffers`` of 0 stays refused by ``Commit`` as DirectShow does.

    ``GetFreeCount`` counts what ``GetBuffer`` can hand out without blocking: the free samples
    plus those the pool may still create (for an unlimited pool, the free samples).

    The IID is project-defined (GStreamer has no COM IIDs).
    """

    taggedValue("iid", UUID("5b0f3a1e-7d2c-4c1e-9a61-706f6f6c6366"))

    def SetConfig(config: PoolConfig) -> None:
        """Configure the pool.

        Refused exactly as ``IMemAllocator.SetProperties`` is, first failure wins:
        ``config.align`` not a power of two -> VFW_E_BADALIGN; ``min_buffers > max_buffers``
        while ``max_buffers`` is set -> E_INVALIDARG; committed -> VFW_E_ALREADY_COMMITTED;
        samples still out -> VFW_E_BUFFERS_OUTSTANDING. A refused call changes nothing.
        ``buffer_size`` is rounded as SetProperties rounds it
        (``roundup(buffer_size + prefix, align) - prefix``); ``GetConfig`` returns the result.
        """

    def GetConfig() -> PoolConfig:
        """Return the configuration in force (a frozen value; all defaults when unconfigured)."""

    def SetFlushing(flushing: bool) -> None:
        """Start or stop flushing.

        While flushing, ``GetBuffer`` calls that are waiting and new ones raise
        VFW_E_WRONG_STATE promptly; nothing is freed or allocated, samples out stay valid and
        come home as usual. ``SetFlushing(False)`` lets ``GetBuffer`` hand samples out again.
        """
