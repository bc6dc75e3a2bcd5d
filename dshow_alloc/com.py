"""The COM base: ``QueryInterface`` by interface or IID, and ``AddRef``/``Release``.

Python owns object lifetime, so ``QueryInterface`` hands back the object without counting a
reference. Reference counts govern pooled resources instead: a sample goes home, a memory block
returns to its allocator, when its count reaches 0 (`ComObject._final_release`).

Counting without a lock on the common path
-------------------------------------------
A count of 1 means the caller holds the only reference, so no other thread may legally touch
the count at the same time: ``AddRef`` and ``Release`` from a count of 1 are plain stores. A
count above 1 may be changed by several holders at once, so those calls go through the object's
lock, which also covers the last step from 1 to 0 when it races with another holder's call.

This holds with the GIL and on free-threaded CPython alike, because it relies on ownership,
not on the atomicity of plain stores: a reference reaches another thread only through
something that synchronizes (a queue, a lock, a list ``pop``), which makes the sender's stores
visible to the receiver; a thread that reads a stale count above 1 takes the lock and reads
it again there.
"""

from __future__ import annotations

import threading
from typing import Any, cast
from uuid import UUID

from zope.interface import implementer, providedBy
from zope.interface.interface import InterfaceClass

from dshow_alloc.hresult import NoInterfaceError, UnexpectedError
from interfaces import IUnknown

__all__ = ["ComObject", "iid_of", "query_interface"]


def iid_of(iface: InterfaceClass) -> UUID | None:
    """The IID an interface declares itself (never inherited from a base interface)."""
    if not isinstance(iface, InterfaceClass):
        raise TypeError(f"iid_of takes an interface, not {type(iface).__name__}")
    value = cast(Any, iface).queryDirectTaggedValue("iid")  # not in zope's type stubs
    return value if isinstance(value, UUID) else None


def _interface_for_iid(obj: object, iid: UUID) -> InterfaceClass | None:
    for iface in providedBy(obj).flattened():
        if isinstance(iface, InterfaceClass) and iid_of(iface) == iid:
            return iface
    return None


def query_interface(obj: object, iface: InterfaceClass | UUID) -> Any:
    """``obj`` if it provides ``iface`` (an interface or its IID), else ``E_NOINTERFACE``."""
    if isinstance(iface, UUID):
        if _interface_for_iid(obj, iface) is not None:
            return obj
        raise NoInterfaceError(message=f"{type(obj).__name__} does not provide IID {{{iface}}}")
    if not isinstance(iface, InterfaceClass):
        raise TypeError(f"QueryInterface takes an interface or a UUID, not {type(iface).__name__}")
    if iface.providedBy(obj):
        return obj
    raise NoInterfaceError(message=f"{type(obj).__name__} does not provide {iface.__name__}")


@implementer(IUnknown)
class ComObject:
    """Base of every COM object here. Created with a reference count of 1 (the creator's).

    Subclasses put what the last ``Release`` must do in `_final_release`, and may guard their
    own short critical sections with ``_mutex`` (never held while calling out).
    """

    __slots__ = ("__weakref__", "_mutex", "_refs")

    _refs: int
    _mutex: threading.Lock

    def __init__(self) -> None:
        self._refs = 1
        self._mutex = threading.Lock()

    def QueryInterface(self, iface: InterfaceClass | UUID) -> Any:
        """See `IUnknown.QueryInterface`."""
        return query_interface(self, iface)

    def AddRef(self) -> int:
        """See `IUnknown.AddRef`."""
        # Hot path: a count of 1 belongs to the caller alone (module docstring).
        if self._refs == 1:
            self._refs = 2
            return 2
        with self._mutex:
            refs = self._refs
            if refs <= 0:
                raise self._gone()
            self._refs = refs + 1
        return refs + 1

    def Release(self) -> int:
        """See `IUnknown.Release`."""
        # Hot path: a count of 1 belongs to the caller alone (module docstring).
        if self._refs == 1:
            self._refs = 0
            self._final_release()
            return 0
        with self._mutex:
            refs = self._refs
            if refs <= 0:
                raise self._gone()
            self._refs = refs - 1
        if refs == 1:
            self._final_release()
        return refs - 1

    def _final_release(self) -> None:
        """Runs once, on the thread whose ``Release`` took the count to 0."""

    def _gone(self) -> UnexpectedError:
        """The error for a call on an object whose count reached 0."""
        return UnexpectedError(message=f"{self!r} was released")

    @property
    def ref_count(self) -> int:
        """The current reference count, for diagnostics and tests."""
        return self._refs
