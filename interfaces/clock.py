"""IReferenceClock: the time source filters synchronise to."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    import threading

__all__ = ["IReferenceClock"]


class IReferenceClock(IUnknown):
    """A monotonic clock in 100 ns units that can wake waiters at given times.

    The library reads time only through this interface (never the wall clock directly), so a
    test can inject a clock it advances by hand. Advise notifications are delivered by the
    clock: from a thread of its own for a real-time clock, from the thread that advances it
    for a manual one. A notification is never delivered before its time; how late it may come
    depends on the clock. The caller creates the event or semaphore and keeps owning it; the
    clock holds a reference to it until the advise fires (one-shot) or is removed.

    The IID is the real one, IID_IReferenceClock.
    """

    taggedValue("iid", UUID("56a86897-0ad4-11ce-b03a-0020af0ba770"))

    def GetTime() -> int:
        """Return the current time, REFERENCE_TIME in 100 ns units.

        Monotonic: never smaller than a value returned before (a clock whose source has not
        advanced returns the previous value again). The origin is arbitrary; only differences
        and comparisons with times from the same clock mean anything.
        """

    def AdviseTime(base_time: int, stream_time: int, event: threading.Event) -> int:
        """Ask for ``event`` to be set once, when the clock reaches ``base_time + stream_time``.

        A renderer passes the ``start`` given to ``IMediaFilter.Run`` as ``base_time`` and a
        sample's start time as ``stream_time``. If that time has already passed the event is
        set promptly. The advise is removed once it has fired. ``event`` should be clear when
        passed; the clock only sets it, never clears it.

        Returns a cookie for ``Unadvise``: a positive int, distinct from the cookies of all
        advises still pending on this clock.

        Raises:
            COMError: E_INVALIDARG (also a ``ValueError``) when ``base_time + stream_time``
                is 0 or negative.
        """

    def AdvisePeriodic(start_time: int, period_time: int, semaphore: threading.Semaphore) -> int:
        """Ask for ``semaphore`` to be released at ``start_time`` and every ``period_time``
        after it, until ``Unadvise``.

        Released once for every boundary ``start_time + k * period_time`` (k = 0, 1, ...) the
        clock reaches; a clock that jumps over several boundaries releases once for each.
        Returns a cookie as ``AdviseTime`` does.

        Raises:
            COMError: E_INVALIDARG (also a ``ValueError``) when ``start_time`` <= 0 or
                ``period_time`` <= 0.
        """

    def Unadvise(cookie: int) -> bool:
        """Remove a pending advise.

        Returns True when the advise was pending and is now removed (its event or semaphore
        will not be signalled again), False when no advise has that cookie (Windows' S_FALSE):
        already fired (one-shot), already removed, or never issued.
        """
