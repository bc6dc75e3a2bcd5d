"""``MemAllocator``: DirectShow's CMemAllocator with GStreamer's buffer pool inside.

Life cycle: ``SetProperties`` (how many samples, how big) → ``Commit`` (allocate them) →
``GetBuffer``/``Release`` many times → ``Decommit`` (no more GetBuffer; memory goes when the last
sample comes home): a sample still out when ``Decommit`` is called keeps its memory until its
last ``Release``, and ``Commit`` while that is pending cancels it.

``SetConfig`` (`IBufferPool`) configures the same pool the GStreamer way: it holds between
``min_buffers`` and ``max_buffers`` samples (0: no limit), preallocates ``min_buffers`` at
``Commit`` and makes a new sample when ``GetBuffer`` finds none free below the limit.
``SetProperties(p)`` is the fixed case, ``min_buffers == max_buffers == p.buffers``.

Concurrency
-----------
The free list is a Python list used as a LIFO stack; the uncontended ``GetBuffer`` and
``ReleaseBuffer`` take no lock of the allocator's. The condition variable is used by a
``GetBuffer`` that finds the list empty, by the state changes (Commit, Decommit,
SetFlushing), by a release that has a waiter to serve, and around the notify callback. A
``GetBuffer`` that grows the pool reserves its place under the lock and allocates outside it:
the memory allocator may be user code, and it is never called with the pool lock held.

What each lock-free path relies on, with the GIL and on free-threaded CPython alike:

- ``list.pop()`` and ``list.append()`` are atomic (one bytecode with the GIL; the list's own
  lock without it), and a ``pop`` that returns what an ``append`` pushed sees everything the
  appending thread wrote before (the sample's reset state): the pop gives the calling thread
  sole ownership of a sample, which then writes its count and flags with plain stores.
- ``_ready`` (committed and not flushing) is the one flag the fast ``GetBuffer`` reads. A
  stale True lets a ``GetBuffer`` racing ``Decommit`` or ``SetFlushing`` take a sample, as if
  it had run just before; nothing is lost, because the sample's release brings it home.
- ``ReleaseBuffer`` reads ``_waiters`` and ``_committed`` *after* its ``append`` (a read of
  ``_waiters`` before it only sends the sample to a waiter at once, under the lock); a
  waiter stores its count, and ``Decommit`` its ``_committed = False``, *before* it pops the
  list (``Decommit`` pops every sample to see if all are home, never trusting ``len``). The
  list's lock orders the two: whichever comes second sees what the other stored first, so
  either the waiter (or Decommit) finds the sample, or the releaser sees the waiter (and hands
  the sample over) or the decommit (and retires the samples). No wake-up and no retirement
  is lost.
- ``_served`` and the other statistics are plain increments; two racing may count once.

A sample that comes home while threads wait in ``GetBuffer`` goes to one of them, never to a
caller on the fast path: the releaser, seeing ``_waiters`` above the samples already handed
over, puts it in ``_handoff`` under the lock and notifies, and a thread that has waited takes
from ``_handoff`` before the free list (one just arriving, ``AM_GBF_NOWAIT`` or not, does not).
A thread already waiting when a release begins therefore gets that sample; one that starts
waiting during the release either finds it on the free list or is handed it. Handed samples a
waiter did not take (it was flushed or decommitted) go back to the free list as it leaves.

The notify callback is read, and the calling thread counted, under the lock; ``SetNotify``
swaps the callback under the lock and waits for the calls of the old one already under way,
so once it returns the old callback is never called again (unless it is called from inside a
callback, where waiting could deadlock).

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
from functools import partial
from typing import Any

import attrs
from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    COMError,
    InvalidArgError,
    OutOfMemoryError,
    VfwAlreadyCommittedError,
    VfwBadAlignError,
    VfwBuffersOutstandingError,
    VfwNotCommittedError,
    VfwSizeNotSetError,
    VfwTimeoutError,
    VfwWrongStateError,
)
from dshow_alloc.memory import AllocationParams, find_allocator
from dshow_alloc.pool import PoolConfig, pool_option
from dshow_alloc.sample import MediaSample, Trace
from dshow_alloc.structs import AM_GBF_NOWAIT, AllocatorProperties
from interfaces import IBufferPool, IMediaSample, IMemAllocatorCallbackTemp, IMemoryAllocator

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


@implementer(IMemAllocatorCallbackTemp, IBufferPool)
class MemAllocator(ComObject):
    """``CLSID_MemoryAllocator``: a pool of samples. See `IMemAllocator` and `IBufferPool`.

    ``memory_allocator`` (an `IMemoryAllocator` or a registered name) supplies the sample
    memory; ``None`` means the default allocator at the time of ``Commit``. ``name`` appears in
    log messages. ``trace`` records where each sample was acquired (slow; for debugging).
    ``starvation_warning`` is how many seconds a blocked ``GetBuffer`` waits before it logs
    the holders (``None``: never).
    """

    __slots__ = (
        "_blocked",
        "_committed",
        "_cond",
        "_config",
        "_decommits",
        "_discarded",
        "_fixed",
        "_flushes",
        "_flushing",
        "_free",
        "_growing",
        "_handoff",
        "_made",
        "_memory_allocator",
        "_next_index",
        "_notified",
        "_notify",
        "_notifying",
        "_props",
        "_ready",
        "_samples",
        "_served",
        "_waiters",
        "_waits",
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
        # The DirectShow and the GStreamer view of one configuration, always set together.
        self._props = AllocatorProperties()
        self._config = PoolConfig(0)
        self._fixed = True  # configured by SetProperties: Commit refuses 0 buffers
        self._committed = False
        self._flushing = False
        self._ready = False  # committed and not flushing: all the fast path reads
        self._cond = threading.Condition(self._mutex)
        # Every sample of the current commit, and the LIFO stack of those at home.
        self._samples: list[MediaSample] = []
        self._free: list[MediaSample] = []
        self._handoff: list[MediaSample] = []  # home, promised to a waiter (under the lock)
        self._growing = 0  # samples being made by GetBuffer calls outside the lock
        self._waiters = 0
        # Count Decommit and SetFlushing(True) calls, so a waiter notices either even if
        # Commit or SetFlushing(False) follows at once.
        self._decommits = 0
        self._flushes = 0
        self._notify: Any = None
        self._notifying: list[int] = []  # threads inside NotifyRelease (under the lock)
        self._notified = threading.Condition(self._mutex)  # one of them has returned
        self._next_index = 0  # numbers new samples; discarded samples' numbers are not reused
        self._discarded = 0
        # Statistics for reports: never reset, read without a lock.
        self._served = 0  # GetBuffer calls that returned a sample
        self._made = 0  # samples ever made
        self._waits = 0  # GetBuffer calls that had to wait for a release
        self._blocked = 0.0  # seconds spent waiting
        _live.add(self)

    def __repr__(self) -> str:
        state = "committed" if self._committed else "decommitted"
        if self._flushing:
            state += ", flushing"
        return f"<MemAllocator {self.name} {state} {self._props} free={len(self._free)}>"

    # -- configuration -------------------------------------------------------------------------

    def SetProperties(self, request: AllocatorProperties) -> AllocatorProperties:
        """See `IMemAllocator.SetProperties`."""
        if not isinstance(request, AllocatorProperties):
            raise TypeError(
                f"SetProperties takes AllocatorProperties, not {type(request).__name__}"
            )
        _check_align(request.align)
        size = _rounded_size(request.buffer_size, request.prefix, request.align)
        props = AllocatorProperties(request.buffers, size, request.align, request.prefix)
        config = PoolConfig(size, request.buffers, request.buffers, request.align, request.prefix)
        with self._cond:
            self._check_configurable_locked()
            self._props, self._config, self._fixed = props, config, True
            return props

    def _check_configurable_locked(self) -> None:
        if self._committed:
            raise VfwAlreadyCommittedError()
        if self._samples or self._growing:
            raise VfwBuffersOutstandingError(
                message=f"{len(self._samples) - len(self._free)} samples are still out"
            )

    def GetProperties(self) -> AllocatorProperties:
        """See `IMemAllocator.GetProperties`."""
        return self._props

    # -- IBufferPool ---------------------------------------------------------------------------

    def SetConfig(self, config: PoolConfig) -> None:
        """See `IBufferPool.SetConfig`."""
        if not isinstance(config, PoolConfig):
            raise TypeError(f"SetConfig takes a PoolConfig, not {type(config).__name__}")
        _check_align(config.align)
        if config.max_buffers and config.min_buffers > config.max_buffers:
            raise InvalidArgError(
                message=f"min_buffers {config.min_buffers} > max_buffers {config.max_buffers}"
            )
        chosen = config.memory_allocator
        if isinstance(chosen, str) and find_allocator(chosen) is None:
            raise ValueError(f"no memory allocator is registered as {chosen!r}")
        size = _rounded_size(config.buffer_size, config.prefix, config.align)
        config = attrs.evolve(config, buffer_size=size)
        for name in sorted(config.options):  # what each registered option needs of a config
            option = pool_option(name)
            if option is not None:
                option.check(config)
        props = AllocatorProperties(
            config.max_buffers or config.min_buffers, size, config.align, config.prefix
        )
        with self._cond:
            self._check_configurable_locked()
            self._props, self._config, self._fixed = props, config, False

    def GetConfig(self) -> PoolConfig:
        """See `IBufferPool.GetConfig`."""
        return self._config

    def SetFlushing(self, flushing: bool) -> None:
        """See `IBufferPool.SetFlushing`."""
        if not isinstance(flushing, bool | int):
            raise TypeError(f"SetFlushing takes a bool, not {type(flushing).__name__}")
        with self._cond:
            self._flushing = bool(flushing)
            if flushing:
                self._flushes += 1
            self._ready = self._committed and not self._flushing
            self._cond.notify_all()

    @property
    def flushing(self) -> bool:
        """True between SetFlushing(True) and SetFlushing(False) (or the next Commit)."""
        return self._flushing

    def _resolve_memory_allocator(self) -> Any:
        chosen = self._config.memory_allocator
        if chosen is None:
            chosen = self._memory_allocator
        if chosen is None or isinstance(chosen, str):
            found = find_allocator(chosen)
            if found is None:
                raise VfwSizeNotSetError(message=f"memory allocator {chosen!r} is not registered")
            return found
        return chosen

    # -- commit / decommit ---------------------------------------------------------------------

    def Commit(self) -> None:
        """See `IMemAllocator.Commit`. Also ends flushing, as activating a GStreamer pool does."""
        while True:
            with self._cond:
                if self._committed:
                    return
                config = self._config
                if config.buffer_size == 0 or (self._fixed and config.max_buffers == 0):
                    raise VfwSizeNotSetError()
                if self._samples or self._growing:  # a pending decommit: cancel it
                    self._open_locked()
                    return
            # The memory allocator may be user code: call it without holding the lock.
            samples = self._allocate(config, range(config.min_buffers))
            with self._cond:
                if not self._committed and not self._samples and self._config is config:
                    self._next_index = len(samples)
                    self._made += len(samples)
                    self._samples = samples
                    self._free[:] = samples[::-1]  # sample #0 is handed out first
                    self._open_locked()
                    return
            # Another thread committed or reconfigured meanwhile: drop ours, look again.
            _free_samples(samples)

    def _open_locked(self) -> None:
        self._committed = True
        self._flushing = False
        self._ready = True

    def _allocate(self, config: PoolConfig, indexes: range) -> list[MediaSample]:
        memory_allocator = self._resolve_memory_allocator()
        params = AllocationParams(align=config.align, prefix=config.prefix, padding=config.padding)
        preparers = [
            option.preparer(config)
            for name in sorted(config.options)
            if (option := pool_option(name)) is not None
        ]
        prepare = self.prepare_sample if not preparers else partial(self._prepare, preparers)
        samples: list[MediaSample] = []
        try:
            for index in indexes:
                memory = memory_allocator.Alloc(config.buffer_size, params)
                sample = MediaSample(self, memory, index)
                samples.append(sample)
                # Like GstBufferPool's alloc_buffer: metas present after prepare are pooled,
                # and what the sample is then (blocks prepare_sample added too) is its home.
                sample._seal_home(prepare)
        except BaseException as exc:
            _free_samples(samples)
            if isinstance(exc, COMError):
                raise
            if isinstance(exc, MemoryError | OSError):
                raise OutOfMemoryError(message=str(exc)) from exc
            raise
        return samples

    def _prepare(self, preparers: list[Any], sample: MediaSample) -> None:
        """The config's registered pool options (`dshow_alloc.pool`), then `prepare_sample`."""
        for prepare in preparers:
            prepare(sample)
        self.prepare_sample(sample)

    def prepare_sample(self, sample: MediaSample) -> None:
        """Called for each new sample before the pool keeps it; override to add metas.

        Metas added here are pooled: locked against removal, kept across reuse, and their
        API's ``clear`` runs each time the sample comes home. The sample is writable here.
        """

    def Decommit(self) -> None:
        """See `IMemAllocator.Decommit`."""
        with self._cond:
            if not self._committed:
                return
            self._committed = False
            self._ready = False
            self._decommits += 1
            self._cond.notify_all()
            retired = self._retire_if_all_home_locked()
        _free_samples(retired)

    def _retire_if_all_home_locked(self) -> list[MediaSample]:
        """Detach every sample if all are home and the allocator is decommitted.

        Returns the detached samples; the caller releases their memory after dropping the
        lock (the memory allocator may be user code).
        """
        if self._committed or self._growing or not self._samples or self._handoff:
            return []
        # Take the samples off the stack one atomic pop at a time: a GetBuffer that read
        # `_committed` just before Decommit may still pop one, and then it is not home. The
        # pops, not len(), also order this against a ReleaseBuffer's append (module docstring).
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
        if self._ready:
            try:
                sample = self._free.pop()
            except IndexError:
                sample = self._wait_for_sample(flags, timeout)
        else:
            sample = self._wait_for_sample(flags, timeout)
        # Fast path, documented in dshow_alloc.sample: what _hand_out(None) does, inline.
        sample._pooled = False
        sample._refs = 1
        self._served += 1  # statistics; an increment racing another thread's may be lost
        if self.trace:
            sample._hand_out(
                Trace(threading.current_thread().name, traceback.extract_stack(limit=16)[:-1])
            )
        return sample

    def _wait_for_sample(self, flags: int, timeout: float | None) -> MediaSample:
        sample = self._take_or_reserve(flags, timeout)
        return sample if sample is not None else self._grow()

    def _grow(self) -> MediaSample:
        """Make one more sample for a GetBuffer that reserved its place (``_growing``)."""
        config = self._config  # cannot change: SetConfig is refused while _growing
        with self._cond:
            index = self._next_index
            self._next_index += 1
            self._made += 1
        try:
            (sample,) = self._allocate(config, range(index, index + 1))
        except BaseException:
            with self._cond:
                self._growing -= 1
                self._cond.notify()  # the place is free again
                retired = self._retire_if_all_home_locked()
            _free_samples(retired)
            raise
        with self._cond:
            self._growing -= 1
            self._samples.append(sample)
        return sample

    def _take_or_reserve(self, flags: int, timeout: float | None) -> MediaSample | None:
        """A free sample, or None when the caller may make a new one (its place reserved)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        warn_after = self.starvation_warning
        started = time.monotonic()
        warned = waited = False
        retired: list[MediaSample] = []
        try:
            with self._cond:
                decommits, flushes = self._decommits, self._flushes
                self._waiters += 1
                try:
                    while True:
                        if not self._committed or self._decommits != decommits:
                            raise VfwNotCommittedError()
                        if self._flushing or self._flushes != flushes:
                            raise VfwWrongStateError(message="the pool is flushing")
                        if waited and self._handoff:  # kept for threads that waited
                            return self._handoff.pop()
                        try:
                            return self._free.pop()
                        except IndexError:
                            pass
                        limit = self._config.max_buffers
                        if not limit or len(self._samples) + self._growing < limit:
                            self._growing += 1
                            return None
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
                        if not waited:
                            waited = True
                            self._waits += 1
                        began = time.monotonic()
                        self._cond.wait(wait)
                        self._blocked += time.monotonic() - began
                finally:
                    self._waiters -= 1
                    retired = self._return_unclaimed_locked()
        finally:
            _free_samples(retired)

    def _return_unclaimed_locked(self) -> list[MediaSample]:
        """Put back on the free list the handed-over samples no waiter is left to take (a
        waiter timed out, was flushed or decommitted); retire all if a Decommit is pending."""
        surplus = len(self._handoff) - self._waiters
        if surplus <= 0:
            return []
        for _ in range(surplus):
            self._free.append(self._handoff.pop())
        self._cond.notify_all()  # a waiter that came after the flush or decommit may take them
        return [] if self._committed else self._retire_if_all_home_locked()

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
        if not isinstance(sample, MediaSample):
            raise TypeError(f"ReleaseBuffer takes a MediaSample, not {type(sample).__name__}")
        # Fast path, documented in dshow_alloc.sample: the per-frame homecoming (due home
        # here, its one block as it left) inline; anything else goes through _come_home.
        if (
            sample._allocator is self
            and not sample._refs
            and not sample._pooled
            and not sample._dirty
            and sample._view is not None
            and sample._memory._share == 1
        ):
            sample._pooled = True
            sample._trace = None
        elif not sample._come_home(self):
            self._discard(sample)
            return
        # Hot path: with nobody waiting, an append and no lock (module docstring).
        if self._waiters:
            self._hand_over(sample)
        else:
            self._free.append(sample)
            if self._waiters:  # a waiter came between the read and the append
                self._hand_over(None)
        if not self._committed:
            with self._cond:
                retired = self._retire_if_all_home_locked()
            _free_samples(retired)
        if self._notify is not None:
            self._notify_release()

    def _hand_over(self, sample: MediaSample | None) -> None:
        """Give ``sample`` (or, for None, one from the free list) to a waiter not yet served,
        or put it on the free list when every waiter already has one."""
        with self._cond:
            if self._waiters <= len(self._handoff):
                if sample is not None:
                    self._free.append(sample)
                return
            if sample is None:
                try:
                    sample = self._free.pop()
                except IndexError:
                    return  # the waiter (or a fast GetBuffer) took it already
            self._handoff.append(sample)
            self._cond.notify()

    def _notify_release(self) -> None:
        """Tell the SetNotify callback that a sample came home (outside every lock).

        The callback is read and this thread counted in ``_notifying`` under the lock, so a
        ``SetNotify`` that replaces it can wait for the call to finish."""
        me = threading.get_ident()
        with self._cond:
            notify = self._notify
            if notify is None:
                return
            self._notifying.append(me)
        try:
            notify.NotifyRelease()
        except Exception:
            log.exception("NotifyRelease of %r raised; the sample is home regardless", notify)
        finally:
            with self._cond:
                self._notifying.remove(me)
                self._notified.notify_all()

    def _discard(self, sample: MediaSample) -> None:
        """Drop a sample that came home unfit for reuse; the pool may make a new one."""
        with self._cond:
            self._samples.remove(sample)
            self._discarded += 1
            if self._waiters:
                self._cond.notify()  # a waiter may now grow the pool
            retired = [] if self._committed else self._retire_if_all_home_locked()
        log.debug(
            "%s discarded sample #%d: its memory was changed or shared", self.name, sample.index
        )
        sample._free_memory()
        _free_samples(retired)
        self._notify_release()

    # -- IMemAllocatorCallbackTemp -------------------------------------------------------------

    def SetNotify(self, notify: Any) -> None:
        """See `IMemAllocatorCallbackTemp.SetNotify`."""
        if notify is not None and not callable(getattr(notify, "NotifyRelease", None)):
            raise TypeError(f"{type(notify).__name__} has no NotifyRelease method")
        if notify is not None and hasattr(notify, "AddRef"):
            notify.AddRef()
        me = threading.get_ident()
        with self._cond:
            old, self._notify = self._notify, notify
            # Calls of the old callback already under way finish before this returns, so it
            # is never called after; from inside a callback, waiting could deadlock: skip it.
            while self._notifying and me not in self._notifying:
                self._notified.wait()
        if old is not None and hasattr(old, "Release"):
            old.Release()

    def GetFreeCount(self) -> int:
        """See `IMemAllocatorCallbackTemp.GetFreeCount`."""
        with self._cond:  # consistent with a Decommit that is detaching the samples
            free = len(self._free)
            limit = self._config.max_buffers
            if not limit:
                return free
            return free + max(0, limit - len(self._samples) - self._growing)

    # -- diagnostics ---------------------------------------------------------------------------

    @property
    def committed(self) -> bool:
        """True between Commit and Decommit."""
        return self._committed

    @property
    def discarded(self) -> int:
        """How many samples came home changed (blocks replaced, or still shared) and were
        dropped instead of reused, since the allocator was made."""
        return self._discarded

    @property
    def allocated(self) -> int:
        """How many samples exist (0 once a Decommit completed)."""
        return len(self._samples)

    @property
    def made(self) -> int:
        """How many samples the allocator has made since it was created (each commit makes
        its set; a growing pool adds to it)."""
        return self._made

    @property
    def served(self) -> int:
        """How many samples ``GetBuffer`` handed out since the allocator was created (a
        statistic: under heavy contention from several threads a count may be missed)."""
        return self._served

    @property
    def waiting(self) -> int:
        """How many threads are in ``GetBuffer`` waiting for a sample now (a snapshot; tests
        use it to know a thread is blocked without sleeping)."""
        return self._waiters

    @property
    def waits(self) -> int:
        """How many times a ``GetBuffer`` waited for a sample to come home."""
        return self._waits

    @property
    def blocked_seconds(self) -> float:
        """Total seconds ``GetBuffer`` calls spent waiting for a sample to come home."""
        return self._blocked

    def outstanding(self) -> list[OutstandingSample]:
        """The samples away from home, with their counts and (when tracing) where they went."""
        return [
            OutstandingSample(sample, refs, sample.trace)
            for sample in list(self._samples)
            if (refs := sample._away()) is not None
        ]

    @property
    def memory_allocator(self) -> Any:
        """The memory allocator samples come from (resolved now if given by name or None)."""
        return self._resolve_memory_allocator()


def _check_align(align: int) -> None:
    if align <= 0 or align & (align - 1):
        raise VfwBadAlignError(message=f"alignment {align} is not a power of two")


def _rounded_size(size: int, prefix: int, align: int) -> int:
    """``roundup(size + prefix, align) - prefix``: data plus prefix fill whole align units."""
    return -(-(size + prefix) // align) * align - prefix


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
