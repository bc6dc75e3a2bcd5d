"""``MemAllocator``: DirectShow's CMemAllocator, a fixed pool of samples.

Life cycle: ``SetProperties`` (how many samples, how big) → ``Commit`` (allocate them) →
``GetBuffer``/``Release`` many times → ``Decommit`` (no more GetBuffer; memory goes when the last
sample comes home). API.md §3 has the rules; reference/directshow.md §2 has their sources.

Concurrency
-----------
The free list is a Python list used as a LIFO stack. ``list.pop()`` and ``list.append()`` are
atomic, so the uncontended ``GetBuffer`` and ``ReleaseBuffer`` take no lock: ``pop`` hands the
calling thread sole ownership of a sample. The condition variable is used only by a
``GetBuffer`` that finds the list empty and by the state changes (Commit, Decommit).

A waiter counts itself in ``_waiters`` under the lock *before* it looks at the free list a last
time; a releaser appends *before* it reads ``_waiters``. So either the waiter finds the sample,
or the releaser sees the waiter and notifies it (taking the lock, which the waiter only gives up
inside ``wait``): no wake-up is lost.

Diagnostics
-----------
``outstanding()`` lists the samples not at home. With tracing on (``MemAllocator(trace=True)``,
or the environment variable ``DSHOW_ALLOC_TRACE=1``) each records the thread and stack of its
``GetBuffer``. A ``GetBuffer`` blocked longer than ``starvation_warning`` seconds logs a warning
on the ``dshow_alloc.allocator`` logger naming the holders.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
import weakref
from typing import Any

import attrs
from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    COMError,
    OutOfMemoryError,
    UnexpectedError,
    VfwAlreadyCommittedError,
    VfwBadAlignError,
    VfwBuffersOutstandingError,
    VfwNotCommittedError,
    VfwSizeNotSetError,
    VfwTimeoutError,
)
from dshow_alloc.memory import AllocationParams, find_allocator
from dshow_alloc.sample import MediaSample, Trace
from dshow_alloc.structs import AM_GBF_NOWAIT, AllocatorProperties
from interfaces import IMediaSample, IMemAllocatorCallbackTemp, IMemoryAllocator

__all__ = ["MemAllocator", "OutstandingSample", "live_allocators"]

log = logging.getLogger("dshow_alloc.allocator")

_DEFAULT_STARVATION_WARNING = 5.0

#: Every MemAllocator alive, for leak checks (`dshow_alloc.testing.outstanding_samples`).
_live: weakref.WeakSet[MemAllocator] = weakref.WeakSet()


@attrs.frozen
class OutstandingSample:
    """A sample away from its pool, as `MemAllocator.outstanding` reports it."""

    sample: MediaSample
    """The sample."""
    refs: int
    """Its reference count when the report was made."""
    trace: Trace | None
    """Where it was acquired, when the allocator traces; else None."""

    def describe(self) -> str:
        """One line naming the sample, its count and where it was acquired."""
        where = (
            f"acquired by thread {self.trace.thread!r} at {self.trace.where()}"
            if self.trace is not None
            else "acquired at an unknown place (turn tracing on to see where)"
        )
        return f"sample #{self.sample.index} (refs {self.refs}) {where}"


def _env_trace() -> bool:
    return os.environ.get("DSHOW_ALLOC_TRACE", "").lower() in ("1", "true", "yes", "on")


@implementer(IMemAllocatorCallbackTemp)
class MemAllocator(ComObject):
    """``CLSID_MemoryAllocator``: a pool of samples. See `IMemAllocator`.

    ``memory_allocator`` (an `IMemoryAllocator` or a registered name) supplies the sample
    memory; ``None`` means the default allocator at the time of ``Commit``. ``name`` appears in
    log messages. ``trace`` records where each sample was acquired (slow; for debugging).
    ``starvation_warning`` is how many seconds a blocked ``GetBuffer`` waits before it logs
    the holders (``None``: never).
    """

    __slots__ = (
        "_committed",
        "_cond",
        "_decommits",
        "_free",
        "_memory_allocator",
        "_notify",
        "_props",
        "_samples",
        "_waiters",
        "name",
        "starvation_warning",
        "trace",
    )

    def __init__(
        self,
        *,
        memory_allocator: IMemoryAllocator | str | None = None,
        name: str | None = None,
        trace: bool | None = None,
        starvation_warning: float | None = _DEFAULT_STARVATION_WARNING,
    ) -> None:
        super().__init__()
        if (
            memory_allocator is not None
            and not isinstance(memory_allocator, str)
            and not IMemoryAllocator.providedBy(memory_allocator)
        ):
            raise TypeError(
                f"memory_allocator must provide IMemoryAllocator or be a registered name, "
                f"not {type(memory_allocator).__name__}"
            )
        if isinstance(memory_allocator, str) and find_allocator(memory_allocator) is None:
            raise ValueError(f"no memory allocator is registered as {memory_allocator!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, not {type(name).__name__}")
        if starvation_warning is not None and not starvation_warning > 0:
            raise ValueError("starvation_warning must be a positive number of seconds or None")
        self._memory_allocator = memory_allocator
        self.name = name if name is not None else f"MemAllocator@{id(self):x}"
        self.trace = _env_trace() if trace is None else bool(trace)
        self.starvation_warning = starvation_warning
        self._props = AllocatorProperties()
        self._committed = False
        self._cond = threading.Condition(self._mutex)
        # Every sample of the current commit, and the LIFO stack of those at home.
        self._samples: list[MediaSample] = []
        self._free: list[MediaSample] = []
        self._waiters = 0
        # Counts Decommit calls, so a waiter notices a Decommit even if Commit follows at once.
        self._decommits = 0
        self._notify: Any = None
        _live.add(self)

    def __repr__(self) -> str:
        state = "committed" if self._committed else "decommitted"
        return f"<MemAllocator {self.name} {state} {self._props} free={len(self._free)}>"

    # -- configuration -------------------------------------------------------------------------

    def SetProperties(self, request: AllocatorProperties) -> AllocatorProperties:
        """See `IMemAllocator.SetProperties`."""
        if not isinstance(request, AllocatorProperties):
            raise TypeError(
                f"SetProperties takes AllocatorProperties, not {type(request).__name__}"
            )
        align = request.align
        if align <= 0 or align & (align - 1):
            raise VfwBadAlignError(message=f"alignment {align} is not a power of two")
        with self._cond:
            if self._committed:
                raise VfwAlreadyCommittedError()
            if self._samples:
                raise VfwBuffersOutstandingError(
                    message=f"{len(self._samples) - len(self._free)} samples are still out"
                )
            size = -(-(request.buffer_size + request.prefix) // align) * align - request.prefix
            self._props = AllocatorProperties(request.buffers, size, align, request.prefix)
            return self._props

    def GetProperties(self) -> AllocatorProperties:
        """See `IMemAllocator.GetProperties`."""
        return self._props

    def _resolve_memory_allocator(self) -> Any:
        chosen = self._memory_allocator
        if chosen is None or isinstance(chosen, str):
            found = find_allocator(chosen)
            if found is None:
                raise VfwSizeNotSetError(message=f"memory allocator {chosen!r} is not registered")
            return found
        return chosen

    # -- commit / decommit ---------------------------------------------------------------------

    def Commit(self) -> None:
        """See `IMemAllocator.Commit`."""
        while True:
            with self._cond:
                if self._committed:
                    return
                props = self._props
                if props.buffers == 0 or props.buffer_size == 0:
                    raise VfwSizeNotSetError()
                if self._samples:  # a pending decommit: cancel it, keep the samples
                    self._committed = True
                    return
            # The memory allocator may be user code: call it without holding the lock.
            samples = self._allocate(props)
            with self._cond:
                if not self._committed and not self._samples and self._props == props:
                    self._samples = samples
                    self._free[:] = samples[::-1]  # sample #0 is handed out first
                    self._committed = True
                    return
            # Another thread committed or reconfigured meanwhile: drop ours, look again.
            _free_samples(samples)

    def _allocate(self, props: AllocatorProperties) -> list[MediaSample]:
        memory_allocator = self._resolve_memory_allocator()
        params = AllocationParams(align=props.align, prefix=props.prefix)
        samples: list[MediaSample] = []
        try:
            for index in range(props.buffers):
                memory = memory_allocator.Alloc(props.buffer_size, params)
                samples.append(MediaSample(self, memory, index))
        except BaseException as exc:
            _free_samples(samples)
            if isinstance(exc, COMError):
                raise
            if isinstance(exc, MemoryError | OSError):
                raise OutOfMemoryError(message=str(exc)) from exc
            raise
        return samples

    def Decommit(self) -> None:
        """See `IMemAllocator.Decommit`."""
        with self._cond:
            if not self._committed:
                return
            self._committed = False
            self._decommits += 1
            self._cond.notify_all()
            retired = self._retire_if_all_home_locked()
        _free_samples(retired)

    def _retire_if_all_home_locked(self) -> list[MediaSample]:
        """Detach every sample if all are home and the allocator is decommitted.

        Returns the detached samples; the caller releases their memory after dropping the
        lock (the memory allocator may be user code).
        """
        if self._committed or not self._samples or len(self._free) != len(self._samples):
            return []
        # Take the samples off the stack one atomic pop at a time: a GetBuffer that read
        # `_committed` just before Decommit may still pop one, and then it is not home.
        free = self._free
        drained: list[MediaSample] = []
        while True:
            try:
                drained.append(free.pop())
            except IndexError:
                break
        if len(drained) != len(self._samples):
            free.extend(reversed(drained))
            return []
        retired, self._samples = self._samples, []
        return retired

    def _final_release(self) -> None:
        self.Decommit()

    # -- GetBuffer / ReleaseBuffer -------------------------------------------------------------

    def GetBuffer(
        self,
        start: int | None = None,
        stop: int | None = None,
        flags: int = 0,
        *,
        timeout: float | None = None,
    ) -> MediaSample:
        """See `IMemAllocator.GetBuffer`."""
        if flags.__class__ is not int or flags < 0 or timeout is not None:
            _check_get_buffer_args(flags, timeout)
        # Hot path, no lock: the atomic pop gives this thread the sample (module docstring).
        if self._committed:
            try:
                sample = self._free.pop()
            except IndexError:
                sample = self._wait_for_sample(flags, timeout)
        else:
            sample = self._wait_for_sample(flags, timeout)
        sample._pooled = False
        sample._refs = 1
        if self.trace:
            sample._trace = Trace(
                threading.current_thread().name, traceback.extract_stack(limit=16)[:-1]
            )
        return sample

    def _wait_for_sample(self, flags: int, timeout: float | None) -> MediaSample:
        deadline = None if timeout is None else time.monotonic() + timeout
        warn_after = self.starvation_warning
        started = time.monotonic()
        warned = False
        with self._cond:
            decommits = self._decommits
            self._waiters += 1
            try:
                while True:
                    if not self._committed or self._decommits != decommits:
                        raise VfwNotCommittedError()
                    try:
                        return self._free.pop()
                    except IndexError:
                        pass
                    if flags & AM_GBF_NOWAIT:
                        raise VfwTimeoutError(message="no free sample and AM_GBF_NOWAIT")
                    now = time.monotonic()
                    wait = None if deadline is None else deadline - now
                    if wait is not None and wait <= 0:
                        raise VfwTimeoutError(message=f"no free sample within {timeout} s")
                    if not warned and warn_after is not None:
                        until_warning = started + warn_after - now
                        if until_warning <= 0:
                            warned = True
                            self._warn_starved(now - started)
                        elif wait is None or until_warning < wait:
                            wait = until_warning
                    self._cond.wait(wait)
            finally:
                self._waiters -= 1

    def _warn_starved(self, waited: float) -> None:
        holders = self.outstanding()
        lines = "\n".join(f"  {h.describe()}" for h in holders)
        log.warning(
            "GetBuffer on %s has been blocked for %.1f s: %d of %d samples are outstanding:\n%s",
            self.name,
            waited,
            len(holders),
            len(self._samples),
            lines or "  (none: they are being released)",
        )

    def ReleaseBuffer(self, sample: IMediaSample) -> None:
        """See `IMemAllocator.ReleaseBuffer`. Called by the sample's final ``Release``."""
        if sample.__class__ is not MediaSample and not isinstance(sample, MediaSample):
            raise TypeError(f"ReleaseBuffer takes a MediaSample, not {type(sample).__name__}")
        assert isinstance(sample, MediaSample)  # for the type checker; checked just above
        if sample._allocator is not self or sample._refs or sample._pooled:
            raise UnexpectedError(message=f"ReleaseBuffer of {sample!r}, which is not due home")
        sample._pooled = True
        sample._trace = None
        self._free.append(sample)
        if self._waiters:
            with self._cond:
                self._cond.notify()
        if not self._committed:
            with self._cond:
                retired = self._retire_if_all_home_locked()
            _free_samples(retired)
        notify = self._notify
        if notify is not None:
            try:
                notify.NotifyRelease()
            except Exception:
                log.exception("NotifyRelease of %r raised; the sample is home regardless", notify)

    # -- IMemAllocatorCallbackTemp -------------------------------------------------------------

    def SetNotify(self, notify: Any) -> None:
        """See `IMemAllocatorCallbackTemp.SetNotify`."""
        if notify is not None and not callable(getattr(notify, "NotifyRelease", None)):
            raise TypeError(f"{type(notify).__name__} has no NotifyRelease method")
        with self._cond:
            old, self._notify = self._notify, notify
        if notify is not None and hasattr(notify, "AddRef"):
            notify.AddRef()
        if old is not None and hasattr(old, "Release"):
            old.Release()

    def GetFreeCount(self) -> int:
        """See `IMemAllocatorCallbackTemp.GetFreeCount`."""
        with self._cond:  # consistent with a Decommit that is detaching the samples
            return self._props.buffers - (len(self._samples) - len(self._free))

    # -- diagnostics ---------------------------------------------------------------------------

    @property
    def committed(self) -> bool:
        """True between Commit and Decommit."""
        return self._committed

    @property
    def allocated(self) -> int:
        """How many samples exist (0 once a Decommit completed)."""
        return len(self._samples)

    def outstanding(self) -> list[OutstandingSample]:
        """The samples away from home, with their counts and (when tracing) where they went."""
        return [
            OutstandingSample(sample, sample._refs, sample._trace)
            for sample in list(self._samples)
            if not sample._pooled
        ]

    @property
    def memory_allocator(self) -> Any:
        """The memory allocator samples come from (resolved now if given by name or None)."""
        return self._resolve_memory_allocator()


def _free_samples(samples: list[MediaSample]) -> None:
    """Release the memory of samples no pool holds any more."""
    for sample in samples:
        sample._free_memory()


def live_allocators() -> list[MemAllocator]:
    """Every MemAllocator that is still alive (for leak checks in tests)."""
    return list(_live)


def _check_get_buffer_args(flags: Any, timeout: Any) -> None:
    if isinstance(flags, bool) or not isinstance(flags, int):
        raise TypeError(f"GetBuffer flags must be an int, not {type(flags).__name__}")
    if flags < 0:
        raise ValueError(f"GetBuffer flags must be >= 0, got {flags}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout is seconds (a number) or None, not {type(timeout).__name__}")
        if not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds, got {timeout}")
