"""IUnknown: interface discovery and reference counting, the root of every COM interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from zope.interface import Interface, taggedValue

if TYPE_CHECKING:
    from zope.interface.interface import InterfaceClass

__all__ = ["IUnknown"]


class IUnknown(Interface):
    """The root COM interface: ask an object for another interface, count references to it.

    Every object in the framework provides ``IUnknown``, and every other interface extends it.

    Ownership rules (they differ from C++ COM on purpose):

    - Every object starts with a count of 1, the reference of whoever created it.
    - Python owns object lifetime. An object lives while Python references it, whatever its
      count says; ``QueryInterface`` and the methods that return an existing object (a pin's
      peer, an input pin's allocator, a filter's clock or pins) return it without calling
      ``AddRef``, and the caller does not ``Release`` it.
    - Reference counts govern pooled resources. The methods that hand out a new or pooled
      object (``IMemAllocator.GetBuffer``, ``IMemoryAllocator.Alloc``, ``IMemory.Share``,
      ``IMemory.Copy``) return it with a count of 1, owned by the caller, who must ``Release``
      it exactly once. Whoever keeps such an object beyond the call that gave it to them calls
      ``AddRef`` first and ``Release`` when done with it.
    - The final ``Release`` (the count reaching 0) runs the object's one final hook, if it has
      one: a media sample goes back to its allocator's free list, a memory goes back to its
      memory allocator. Objects that hold no pooled resource (filters, pins, allocators,
      clocks) have no final hook; their count is bookkeeping only.
    - ``AddRef`` and ``Release`` are thread-safe: any thread may call them.

    The IID is the real one, IID_IUnknown.
    """

    taggedValue("iid", UUID("00000000-0000-0000-c000-000000000046"))

    def QueryInterface(iface: InterfaceClass | UUID) -> Any:
        """Return the object that provides ``iface`` on behalf of this one.

        ``iface`` is an interface object (``IMemAllocator``) or its IID as a ``uuid.UUID`` (the
        value of the interface's direct tagged value ``"iid"``). Asking for an interface that
        extends another also answers for the base: an object providing ``IMediaSample2``
        answers for ``IMediaSample`` and ``IUnknown`` too. The returned object is normally this
        same object; asking for ``IUnknown`` always returns the same object for a given COM
        object (COM's identity rule), so two references denote the same object exactly when
        their ``QueryInterface(IUnknown)`` results are identical.

        The reference count does not change: nothing is AddRef'd, and the caller must not
        ``Release`` the result.

        Raises:
            COMError: E_NOINTERFACE (also a ``TypeError``) when the object does not provide
                ``iface``.
        """

    def AddRef() -> int:
        """Add one reference to the object and return the new count.

        Call it before keeping a counted object (a sample, a memory) beyond the call that
        handed it to you; balance it with one ``Release``.

        Raises:
            COMError: E_UNEXPECTED when the count is already 0: the object was finally released
                (a sample that went back to its pool, a memory returned to its allocator).
                Nothing changes; a sample becomes usable again only when ``GetBuffer`` hands it
                out anew.
        """

    def Release() -> int:
        """Drop one reference and return the new count.

        When the count reaches 0 the object runs its final hook, if it has one (see the class
        docstring): a sample is reset and returned to its allocator, a memory is returned to
        its memory allocator. The hook runs exactly once, on the releasing thread, before
        ``Release`` returns 0.

        Raises:
            COMError: E_UNEXPECTED when the count is already 0 (a release below 0, such as a
                second final ``Release``); nothing changes.
        """
