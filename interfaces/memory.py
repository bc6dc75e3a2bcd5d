"""IMemory and IMemoryAllocator: GStreamer's GstMemory and GstAllocator in COM dress.

Neither interface exists in DirectShow; their IIDs are project-defined. The lock and map rules
are GStreamer's ``GstMemory`` ones, with alignment given in bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import Attribute, taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from dshow_alloc.memory import AllocationParams, MapFlags, MapInfo

__all__ = ["IMemory", "IMemoryAllocator"]


class IMemory(IUnknown):
    """A region of bytes: GStreamer's ``GstMemory``.

    Layout. The memory owns ``maxsize`` bytes starting at its region start, which is aligned to
    ``align`` bytes. The valid data are the ``size`` bytes at ``offset`` inside the region; the
    bytes before them are the prefix, the bytes after them up to ``maxsize`` the padding.
    ``offset + size <= maxsize`` always holds.

    Lifetime. A memory is reference counted (`IUnknown`): it is created with a count of 1, owned
    by whoever called ``IMemoryAllocator.Alloc``, ``Share`` or ``Copy``. Its final ``Release``
    drops what it holds on its parent (see ``Share``) and hands it to its allocator's ``Free``.
    Every method called on a memory after its final ``Release`` raises ``COMError``
    E_UNEXPECTED.

    Locks (GStreamer's ``GstMiniObject`` lock). Two kinds
    of lock guard a memory:

    - Access locks are taken by ``Map`` and dropped by ``Unmap``. While any mapping is open the
      memory has an access mode (READ, WRITE or both), set by the first mapping; a nested
      mapping must ask for the same mode or a narrower one.
    - Exclusive locks are taken by whatever holds the memory as its contents: each sub-memory
      made by ``Share`` holds one on its root parent, and a container (a sample, a buffer) may
      hold one on each memory it stores. Two or more exclusive holders mean the memory is
      shared: it can no longer be mapped for writing or resized. A plain ``AddRef`` takes no
      lock and does not make a memory shared.

    Every refusal by these rules raises ``COMError`` E_ACCESSDENIED (also a ``PermissionError``)
    and changes nothing.

    Thread safety: every method may be called from any thread; the lock state is updated
    atomically.

    The IID is project-defined (DirectShow has no such interface).
    """

    taggedValue("iid", UUID("5b0f3a1e-7d2c-4c1e-9a61-6d656d6f7279"))

    maxsize = Attribute(
        "int: the bytes the memory owns, prefix and padding included. Fixed for the memory's life."
    )
    offset = Attribute(
        "int: where the valid data start, in bytes from the region start (the prefix length). "
        "Changed only by ``Resize``."
    )
    size = Attribute(
        "int: the number of valid data bytes, from ``offset``. Changed only by ``Resize``."
    )
    align = Attribute(
        "int: the alignment of the region start in bytes, a power of two (1 = no constraint). "
        "It applies to the start of the prefix, not to the data, as DirectShow's cbAlign does."
    )
    flags = Attribute(
        "MemoryFlags: READONLY (never mappable for writing), NO_SHARE (``Share`` refused), "
        "ZERO_PREFIXED / ZERO_PADDED (prefix / padding bytes are zero; cleared by a ``Resize`` "
        "that exposes other bytes), and the advisory PHYSICALLY_CONTIGUOUS and NOT_MAPPABLE "
        "(``Map`` refuses a NOT_MAPPABLE memory with E_ACCESSDENIED)."
    )
    allocator = Attribute(
        "IMemoryAllocator: the allocator that made the memory (for a sub-memory, its root "
        "parent's allocator); its ``Free`` receives the memory at the final ``Release``."
    )
    parent = Attribute(
        "IMemory | None: for a sub-memory made by ``Share``, the root memory whose bytes it "
        "views (always the root, never a chain of sub-memories); None for a memory that owns "
        "its bytes."
    )

    def Map(flags: MapFlags = ...) -> MapInfo:
        """Map the valid data for access and return the mapping.

        ``flags`` is ``MapFlags.READ`` (the default), ``MapFlags.WRITE`` or
        ``MapFlags.READWRITE``. The returned ``MapInfo`` exposes ``data`` (a memoryview of the
        ``size`` valid bytes, read-only unless WRITE was asked), ``size``, ``maxsize`` (bytes
        from the data start to the end of the region), ``flags`` and ``memory`` (this memory).
        Writes through ``data`` reach the memory's bytes directly: nothing is copied.

        ``MapInfo`` is a context manager: leaving the ``with`` block calls ``Unmap`` unless the
        mapping was already unmapped. Each successful ``Map`` must be balanced by exactly one
        ``Unmap``. Mapping does not change the reference count: the caller keeps its own
        reference until the mapping is closed.

        Rules (GStreamer's):

        - WRITE (or READWRITE) on a READONLY memory is refused; a READ mapping of it is fine.
        - Nested mappings must ask for the same mode as the open ones or a narrower one: after
          READ, a WRITE or READWRITE request is refused; after WRITE-only, a READ request is
          refused; after READWRITE, READ and WRITE are both accepted.
        - WRITE is refused while two or more holders have the memory exclusively locked (see
          the class docstring).
        - A NOT_MAPPABLE memory refuses every mapping.

        Raises:
            COMError: E_ACCESSDENIED when a rule above refuses the mapping; no lock is taken.
            COMError: E_UNEXPECTED when the memory was finally released.
            ValueError: ``flags`` asks for neither READ nor WRITE, or carries other bits.
        """

    def Unmap(info: MapInfo) -> None:
        """Close a mapping made by ``Map`` on this memory.

        Drops the mapping's access lock (the last one clears the access mode) and releases
        ``info.data``, so any later use of that memoryview raises ``ValueError``. A view sliced
        from ``info.data`` that is still alive keeps the bytes reachable; do not keep one.

        Raises:
            ValueError: ``info`` belongs to another memory, or was already unmapped (leaving a
                ``with`` block after an explicit ``Unmap`` is not an error).
        """

    def Resize(offset_delta: int, size: int) -> None:
        """Move the start of the valid data by ``offset_delta`` bytes and set ``size``.

        Afterwards ``offset`` is the old offset plus ``offset_delta`` and ``size`` is ``size``;
        ``maxsize`` and the bytes are unchanged, so growing into the prefix or the padding is
        allowed. ZERO_PREFIXED is cleared when ``offset_delta > 0``; ZERO_PADDED is cleared when
        ``offset_delta + size`` is less than the old size. Allowed while mapped; open mappings
        keep the view they were given.

        Raises:
            COMError: E_ACCESSDENIED when the memory is not writable (``IsWritable()`` is
                False); nothing changes.
            COMError: E_UNEXPECTED when the memory was finally released.
            ValueError: the new range leaves the region (new offset < 0, ``size`` < 0, or new
                offset + ``size`` > ``maxsize``); nothing changes.
        """

    def Share(offset: int = 0, size: int | None = None) -> IMemory:
        """Return a read-only sub-memory viewing part of this memory's bytes, without copying.

        The sub-memory starts ``offset`` bytes after this memory's data start and spans
        ``size`` bytes (None: up to the end of this memory's data, ``self.size - offset``). The
        range may reach into the prefix or the padding but must stay inside the region. The
        result has the same ``maxsize``, ``align`` and ``allocator``, ``flags`` equal to the
        root's flags plus READONLY (a sub-memory is never writable), ``parent`` set to the root
        memory (this memory, or this memory's own parent), and a count of 1 owned by the caller.

        Until its final ``Release`` the sub-memory holds an exclusive lock and a reference
        (``AddRef``) on its root parent, so the root stays alive and, if something else holds
        it exclusively too (a sample storing it), stops being writable. The final ``Release``
        of the sub-memory drops that lock and calls ``Release`` on the root.

        Raises:
            COMError: E_ACCESSDENIED when the memory is flagged NO_SHARE, or is mapped for
                writing (two exclusive locks cannot coexist with a WRITE mapping); nothing
                changes.
            COMError: E_UNEXPECTED when the memory was finally released.
            ValueError: the range leaves the region (``self.offset + offset`` < 0, ``size`` < 0,
                or ``self.offset + offset + size`` > ``maxsize``).
        """

    def Copy(offset: int = 0, size: int | None = None) -> IMemory:
        """Return a new, writable memory holding a copy of part of this memory's bytes.

        The range is chosen as for ``Share`` (None size: to the end of the data). The copy has
        ``size`` valid bytes at offset 0, flags 0 and the same ``align``, comes from this
        memory's allocator unless that allocator is flagged NO_COPY or CUSTOM_ALLOC (then from
        the default allocator, ``find_allocator(None)``), and starts with a count of 1 owned by
        the caller. A 0-byte copy is allowed. This memory is not changed.

        Raises:
            COMError: E_OUTOFMEMORY when the allocator cannot allocate the copy.
            COMError: E_UNEXPECTED when the memory was finally released.
            ValueError: the range leaves the region, as for ``Share``.
        """

    def IsSpan(other: IMemory) -> int | None:
        """Tell whether this memory is immediately followed by ``other`` in a common parent.

        True only when both are sub-memories of the same root parent, from the same allocator,
        and ``other``'s data start exactly where this memory's data end. Then the result is the
        offset of this memory's data in the parent's data (``self.offset - parent.offset``), so
        ``parent.Share(result, self.size + other.size)`` views both without copying. Otherwise
        (no parent, different parents or allocators, a gap, a parent compared with its own
        child) the result is None.
        """

    def IsWritable() -> bool:
        """Return True when the memory may be written: ``Map(WRITE)`` and ``Resize`` allowed.

        That is: the memory is not flagged READONLY, and at most one holder has it exclusively
        locked (0 or 1). Reference counts do not matter: an extra ``AddRef`` leaves a memory
        writable. A WRITE mapping can still be refused by the nesting rules of ``Map``.
        """


class IMemoryAllocator(IUnknown):
    """Makes memories: GStreamer's ``GstAllocator``.

    Allocators are registered by name (``register_allocator``) and found with
    ``find_allocator(name)``; ``find_allocator(None)`` is the default (``"SystemMemory"``
    unless ``set_default_allocator`` chose another). ``"SharedMemory"`` makes memfd-backed
    memories another process can map. An allocator lives as long as Python references it (the
    registry keeps registered ones alive); every memory it makes references it.

    The IID is project-defined (DirectShow has no such interface).
    """

    taggedValue("iid", UUID("5b0f3a1e-7d2c-4c1e-9a61-616c6c6f6361"))

    mem_type = Attribute(
        "str: the kind of memory this allocator makes, such as SystemMemory or SharedMemory; "
        "two memories are of the same type when their allocators have the same ``mem_type``."
    )
    flags = Attribute(
        "AllocatorFlags: CUSTOM_ALLOC (the allocator has its own allocation API; generic code "
        "should not call ``Alloc`` on it) and NO_COPY (``IMemory.Copy`` of its memories "
        "allocates from the default allocator instead)."
    )

    def Alloc(size: int, params: AllocationParams | None = None) -> IMemory:
        """Allocate a memory with ``size`` valid bytes and return it with a count of 1.

        ``params`` (None: ``AllocationParams()``, that is flags 0, align 1, prefix 0,
        padding 0) sets the layout: the region starts at an address that is a multiple of
        ``params.align`` bytes; ``offset`` is ``params.prefix``; ``size`` is ``size``;
        ``maxsize`` is at least ``prefix + size + padding`` (an allocator may round it up, for
        example to whole pages). The memory's ``flags`` are ``params.flags``; with
        ZERO_PREFIXED the prefix bytes are zero, with ZERO_PADDED every byte after the data up
        to ``maxsize`` is zero. ``size`` 0 is allowed. The memory is writable, unmapped and has
        no parent; the caller owns its reference and its final ``Release`` brings it back to
        this allocator's ``Free``.

        Raises:
            COMError: E_OUTOFMEMORY when the bytes cannot be obtained.
            ValueError: ``size`` < 0.
        """

    def Free(memory: IMemory) -> None:
        """Take back a memory whose count reached 0 and dispose of its bytes (or keep them).

        Called exactly once per memory this allocator made, by that memory's final
        ``Release``, after the memory has dropped its exclusive lock on its parent and before it
        releases its reference to it. Users never call it. For a sub-memory, ``Free`` must not
        dispose of the bytes, which belong to the root parent.
        """
