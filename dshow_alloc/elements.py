"""Built-in filters: `Tee`, `QueueFilter`, `NullRenderer` and `CollectingRenderer`."""

from __future__ import annotations

import collections
import logging
import threading
from typing import Any

from dshow_alloc.filters import (
    BaseFilter,
    RendererFilter,
    deliver_copy,
    join_streaming_thread,
    size_like_upstream,
)
from dshow_alloc.filters.transform import _PassThroughFilter, _PassThroughOutputPin
from dshow_alloc.hresult import (
    UnexpectedError,
    VfwNotConnectedError,
    VfwSampleTimeNotSetError,
    VfwWrongStateError,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.negotiation import AllocationQuery, PoolProposal, merge_queries
from dshow_alloc.pins import BaseInputPin, BaseOutputPin, BasePin, pin_label
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import AllocatorProperties, FilterState
from interfaces import IAllocationProposal, IBufferSample

__all__ = ["LEAKS", "CollectingRenderer", "NullRenderer", "QueueFilter", "Tee"]

log = logging.getLogger(__name__)

_STOPPED = FilterState.State_Stopped


# -- Tee -------------------------------------------------------------------------------------


class _TeeOutputPin(BaseOutputPin):
    """A tee branch: it hands on the tee's input allocator read-only when downstream takes
    it (``shared``), else negotiates its own and each sample is copied for it."""

    _filter: Tee

    def __init__(self, filter: Tee, name: str) -> None:
        super().__init__(filter, name)
        self.shared = False
        """True when this branch receives the upstream samples themselves (read-only)."""

    def DecideAllocator(self, input_pin: Any) -> Any:
        """The tee input's allocator, read-only; else ``CBaseOutputPin``'s negotiation."""
        upstream = self._filter.input.peek_allocator()
        if upstream is not None:
            self._ask_proposal(input_pin)
            try:
                input_pin.NotifyAllocator(upstream, True)
                self.shared = True
                self.allocator_origin = f"shared read-only from {pin_label(self._filter.input)}"
                return upstream
            except Exception as exc:
                log.debug("%r: downstream refused the shared allocator (%s)", self, exc)
        self.shared = False
        return super().DecideAllocator(input_pin)

    def own_allocator(self) -> Any:
        """Negotiate an allocator of this branch's own (``CBaseOutputPin``'s way)."""
        self.shared = False
        return BaseOutputPin.DecideAllocator(self, self._input)

    def BreakConnect(self) -> None:
        """Drop the connection; a shared allocator is the upstream's to decommit."""
        if self.shared:
            self._allocator = None
        self.shared = False
        super().BreakConnect()


class Tee(BaseFilter):
    """DirectShow's infinite tee: one input, and always exactly one unconnected output pin.

    Each sample is delivered to every connected branch, marked read-only (`IBufferSample`)
    and on the same allocator for every branch that accepts it read-only; a branch that
    refuses gets a copy from its own allocator. A branch that raises does not stop the others:
    the tee delivers to all, then raises the first error. ``Receive`` returns False only
    when every branch refused (all flushing).

    Allocation: the tee's input proposes the merge of its branches' proposals (largest size,
    alignment, prefix and padding; summed minimum counts; the metas every branch accepts).
    Connecting a branch makes the upstream pin negotiate again, so the merge includes it.
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self._next_output = 1
        self._branches: list[_TeeOutputPin] = []
        self.copies = 0
        """Samples copied for branches that would not take the shared ones."""
        self._add_spare()

    def _add_spare(self) -> None:
        self.add_pin(_TeeOutputPin(self, f"Output{self._next_output}"))
        self._next_output += 1

    def branches(self) -> list[_TeeOutputPin]:
        """The connected output pins."""
        return list(self._branches)

    # -- types -----------------------------------------------------------------------------

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """A branch connects only once the input is (E_UNEXPECTED, as a transform's output)."""
        if pin is not self.input and not self.input.is_connected():
            raise UnexpectedError(message="connect the tee's input pin first")

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """The input takes any type; a branch only the input's, once it is connected."""
        if pin is self.input:
            return all(
                media_type.matches(branch.ConnectionMediaType()) for branch in self._branches
            )
        if not self.input.is_connected():
            raise VfwNotConnectedError(message="connect the tee's input pin first")
        return self.input.ConnectionMediaType().matches(media_type)

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """A branch offers the input's type."""
        if pin is not self.input and position == 0 and self.input.is_connected():
            return self.input.ConnectionMediaType()
        return None

    # -- connections -----------------------------------------------------------------------

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """A new branch: renegotiate upstream (the merge now includes it), keep a spare pin."""
        if not isinstance(pin, _TeeOutputPin):
            return
        self._branches.append(pin)
        try:
            upstream = self.input.ConnectedTo() if self.input.is_connected() else None
            if isinstance(upstream, BaseOutputPin):
                upstream.reconfigure()
        except Exception:
            self._branches.remove(pin)
            raise
        if all(out.is_connected() for out in self.output_pins()):
            self._add_spare()

    def break_connect(self, pin: BasePin) -> None:
        """A branch went: drop its pin when another spare remains."""
        if pin in self._branches:
            self._branches.remove(pin)
        if isinstance(pin, _TeeOutputPin):
            spares = [
                out for out in self.output_pins() if out is not pin and not out.is_connected()
            ]
            if spares and pin in self._pins and len(self.output_pins()) > 1:
                self._pins.remove(pin)

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        """Offer the new upstream allocator to every branch, read-only."""
        for branch in self._branches:
            try:
                branch.input_pin.NotifyAllocator(allocator, True)
            except Exception as exc:
                log.debug("%r refused the shared allocator (%s)", branch, exc)
                if branch.shared:
                    branch._allocator = branch.own_allocator()
                continue
            if not branch.shared and branch._allocator is not None:
                branch._allocator.Decommit()
            branch._allocator, branch.shared = allocator, True
            branch.allocator_origin = f"shared read-only from {pin_label(pin)}"

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """The merge of the branches' proposals (``GetAllocatorRequirements`` counting as a
        proposal for a branch that makes none)."""
        answers = []
        for branch in self._branches:
            peer = branch.input_pin
            answer = AllocationQuery(query.media_type)
            if IAllocationProposal.providedBy(peer):
                peer.ProposeAllocation(answer)
            if not answer.pools:
                try:
                    needs = peer.GetAllocatorRequirements()
                except Exception:
                    needs = None
                if isinstance(needs, AllocatorProperties) and (needs.buffer_size or needs.buffers):
                    answer.add_pool(None, needs.buffer_size, needs.buffers, 0)
            answers.append(answer)
        merged = merge_queries(query.media_type, answers)
        query.pools.extend(merged.pools)
        query.params.extend(merged.params)
        query.metas.extend(merged.metas)

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """A copying branch's samples are as large as the upstream ones."""
        size_like_upstream(self.input, pin, allocator, request)

    # -- streaming -------------------------------------------------------------------------

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Deliver to every branch (see the class docstring)."""
        if sample.__class__ is MediaSample:
            sample._read_only = True
        elif IBufferSample.providedBy(sample):
            sample.SetReadOnly(True)
        accepted = not self._branches
        error: Exception | None = None
        for branch in self._branches:
            try:
                if branch.shared:
                    delivered = branch.Deliver(sample)
                else:
                    self.copies += 1
                    delivered = deliver_copy(branch, sample)
                accepted = delivered or accepted
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error
        return accepted


# -- Queue -----------------------------------------------------------------------------------

_SAMPLE, _EOS, _SEGMENT = range(3)
#: ``leaky``: what a full queue does with a new sample: wait, drop it, or drop the oldest.
LEAKS = ("no", "upstream", "downstream")
_NO_LIMIT = 1 << 62


def _limit(name: str, value: object, minimum: int) -> int:
    if value.__class__ is not int:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    assert isinstance(value, int)
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class _QueueOutputPin(_PassThroughOutputPin):
    """The queue's output: a streaming thread of its own delivers what the input queued.
    Quality messages from downstream go to the queue (`BaseOutputPin.Notify`), which passes
    them upstream."""

    _filter: QueueFilter

    def __init__(self, filter: QueueFilter, name: str = "Output") -> None:
        super().__init__(filter, name)
        self._thread: threading.Thread | None = None

    def Active(self) -> None:
        """Commit, then start the thread."""
        super().Active()
        self._filter._stopping = False
        self._filter._error = None
        self._thread = threading.Thread(
            target=self._filter._push, name=f"{self._filter.name} queue", daemon=True
        )
        self._thread.start()

    def Inactive(self) -> None:
        """Stop and join the thread, then release what is still queued."""
        queue = self._filter
        with queue._cond:
            queue._stopping = True
            queue._cond.notify_all()
        try:
            super().Inactive()
        finally:
            thread, self._thread = self._thread, None
            join_streaming_thread(thread)
            queue._drop_queued()


class QueueFilter(_PassThroughFilter):
    """A bounded thread boundary, as GStreamer's queue: ``Receive`` queues the sample (with
    its own reference) and returns; a thread of the queue's delivers downstream.

    Limits (GStreamer's): ``max_size`` samples (None: no limit on the count),
    ``max_size_bytes`` bytes of data (``GetActualDataLength``; 0: no limit) and
    ``max_size_time`` 100 ns units of stream time, from the start of the oldest queued
    sample to the end (stop, else start) of the newest (0: no limit). The queue is full when
    any limit is reached. Then ``leaky`` decides: ``"no"`` (the default) makes ``Receive``
    block until there is room, a flush, or a stop; ``"upstream"`` drops the new sample;
    ``"downstream"`` drops the oldest queued samples until there is room. A dropped sample
    is released at once, never delivered, and counted in `dropped`; ``Receive`` succeeds
    and upstream never waits. Only samples count and only samples leak: end of stream and
    new segments are queued without limit and travel in order with the samples kept. A
    flush drops what is queued (not counted as dropped). When a downstream ``Receive``
    fails, the queue drops what follows and the next ``Receive`` raises that error, so
    upstream stops too.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        max_size: int | None = 16,
        max_size_bytes: int = 0,
        max_size_time: int = 0,
        leaky: str = "no",
    ) -> None:
        if max_size is not None:
            _limit("max_size", max_size, 1)
        _limit("max_size_bytes", max_size_bytes, 0)
        _limit("max_size_time", max_size_time, 0)
        if leaky not in LEAKS:
            raise ValueError(f"leaky must be one of {', '.join(LEAKS)}, not {leaky!r}")
        BaseFilter.__init__(self, name=name)
        self.max_size = max_size
        self.max_size_bytes = max_size_bytes
        self.max_size_time = max_size_time
        self.leaky = leaky
        self._count_limit = _NO_LIMIT if max_size is None else max_size
        self._count_only = not max_size_bytes and not max_size_time  # the common case
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self.output = self.add_pin(_QueueOutputPin(self))
        # (kind, value, bytes, start, end): bytes and times only when a limit needs them.
        self._items: collections.deque[tuple[int, Any, int, int | None, int | None]] = (
            collections.deque()
        )
        self._cond = threading.Condition()
        self._samples = 0  # samples queued (events are not counted)
        self._bytes = 0  # their data bytes, when max_size_bytes is set
        self._newest_end: int | None = None  # end time of the newest queued sample
        self._stopping = False
        self._busy = False  # the thread is handling an item it took off the queue
        self._error: BaseException | None = None
        self.high_water = 0
        """The most samples queued at once."""
        self.copies = 0
        """Samples copied because downstream would not take the upstream allocator's."""
        self.dropped = 0
        """Samples a leaky queue dropped since it last left Stopped."""

    def __len__(self) -> int:
        return len(self._items)

    @property
    def max_size_buffers(self) -> int | None:
        """``max_size`` under GStreamer's name."""
        return self.max_size

    def receive_can_block(self, pin: BaseInputPin) -> bool:
        """A full queue blocks (a leaky one never does)."""
        return self.leaky == "no"

    def latency(self) -> tuple[int, int | None]:
        """See `BaseFilter.latency`: no minimum; a queue that never drops can hold back
        ``max_size_time`` more (nothing known without that limit, and a leaky queue drops
        data rather than holding it)."""
        return 0, self.max_size_time if self.leaky == "no" else 0

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Downstream's proposal, with room for a full queue: ``max_size`` more samples in
        the first pool's minimum (upstream then blocks on the full queue, not on its pool).
        A leaky queue asks two more (the one its thread is delivering and the one upstream
        is filling), so that upstream never waits for a sample at all."""
        super().propose_allocation(pin, query)
        room = (self.max_size or 0) + (2 if self.leaky != "no" else 0)
        if query.pools:
            first = query.pools[0]
            query.pools[0] = PoolProposal(first.pool, first.size, first.min_buffers + room, 0)
        else:
            query.add_pool(None, 0, room, 0)

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Wake producers blocked on a full queue when stopping; count drops afresh when
        leaving Stopped."""
        if new is _STOPPED:
            with self._cond:
                self._cond.notify_all()
        elif old is _STOPPED:
            self.dropped = 0

    def _full(self) -> bool:
        """Whether a limit is reached (lock held)."""
        if self._samples >= self._count_limit:
            return True
        if self.max_size_bytes and self._bytes >= self.max_size_bytes:
            return True
        if self.max_size_time and self._newest_end is not None:
            oldest = next((item[3] for item in self._items if item[3] is not None), None)
            if oldest is not None and self._newest_end - oldest >= self.max_size_time:
                return True
        return False

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Queue ``sample``; when the queue is full wait, or drop (see the class docstring)."""
        cond = self._cond
        with cond:
            # Hot path: with only the count limit, fullness is one comparison; with room the
            # sample is queued here.
            if not (self._samples >= self._count_limit if self._count_only else self._full()):
                if self._state is _STOPPED:
                    raise VfwWrongStateError(message=f"{self!r} stopped")
                if pin.flushing:
                    return False
                if self._error is not None:
                    raise self._error
                if self._count_only:
                    sample.AddRef()
                    self._items.append((_SAMPLE, sample, 0, None, None))
                    samples = self._samples = self._samples + 1
                    if samples > self.high_water:
                        self.high_water = samples
                else:
                    self._append(sample)
                cond.notify_all()
                return True
        return self._receive_when_full(pin, sample)

    def _receive_when_full(self, pin: BaseInputPin, sample: Any) -> bool:
        """``receive`` on a full queue: wait for room, or leak (see the class docstring)."""
        cond = self._cond
        leaked: list[Any] | None = None
        try:
            with cond:
                while self._error is None and self._full():
                    if self._state is _STOPPED or pin.flushing or self.leaky == "upstream":
                        break
                    if self.leaky == "no":
                        cond.wait()
                        continue
                    oldest = self._take_oldest()
                    if oldest is None:
                        break
                    leaked = leaked or []
                    leaked.append(oldest)
                if self._state is _STOPPED:
                    raise VfwWrongStateError(message=f"{self!r} stopped")
                if pin.flushing:
                    return False
                if self._error is not None:
                    raise self._error
                if self.leaky == "upstream" and self._full():
                    self.dropped += 1
                    return True
                self._append(sample)
                cond.notify_all()
            return True
        finally:
            if leaked is not None:
                for old in leaked:
                    old.Release()

    def _append(self, sample: Any) -> None:
        """Queue a sample (lock held), with the figures its limits need."""
        size, start, end = 0, None, None
        if not self._count_only:
            if self.max_size_bytes:
                size = sample.GetActualDataLength()
                self._bytes += size
            if self.max_size_time:
                try:
                    start, stop = sample.GetTime()
                except VfwSampleTimeNotSetError:
                    pass
                else:
                    end = start if stop is None else stop
                    self._newest_end = end
        sample.AddRef()
        self._items.append((_SAMPLE, sample, size, start, end))
        self._samples += 1
        if self._samples > self.high_water:
            self.high_water = self._samples

    def _take_oldest(self) -> Any | None:
        """Take the oldest queued sample off the queue, counted as dropped (lock held);
        None when only events are queued."""
        items = self._items
        for index, item in enumerate(items):
            if item[0] == _SAMPLE:
                del items[index]
                self._took(item)
                self.dropped += 1
                return item[1]
        return None

    def _took(self, item: tuple[int, Any, int, int | None, int | None]) -> None:
        """A sample left the queue (lock held): update the levels."""
        self._samples -= 1
        self._bytes -= item[2]
        if not self._samples:
            self._newest_end = None

    def _enqueue(self, kind: int, value: Any) -> None:
        with self._cond:
            self._items.append((kind, value, 0, None, None))
            self._cond.notify_all()

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Queued, in order with the samples."""
        self._enqueue(_EOS, None)

    def new_segment(self, pin: BaseInputPin, start: int, stop: int, rate: float) -> None:
        """Queued, in order with the samples."""
        self._enqueue(_SEGMENT, (start, stop, rate))

    def begin_flush(self, pin: BaseInputPin) -> None:
        """Drop what is queued, wake a blocked producer, and flush downstream."""
        self._drop_queued()
        super().begin_flush(pin)

    def end_flush(self, pin: BaseInputPin) -> None:
        """Once the queue's thread has finished with anything it took before the flush (so
        nothing from before it reaches downstream after it), flush downstream ends; a stored
        downstream error is forgotten."""
        with self._cond:
            while self._busy and not self._stopping:
                self._cond.wait()
        super().end_flush(pin)
        self._error = None

    def _drop_queued(self) -> None:
        with self._cond:
            dropped, self._items = list(self._items), collections.deque()
            self._samples = self._bytes = 0
            self._newest_end = None
            self._cond.notify_all()
        for kind, value, *_levels in dropped:
            if kind == _SAMPLE:
                value.Release()

    def _push(self) -> None:
        """The queue's streaming thread."""
        cond, output = self._cond, self.output
        while True:
            with cond:
                while not self._items and not self._stopping:
                    cond.wait()
                if self._stopping:
                    return
                item = self._items.popleft()
                kind, value = item[0], item[1]
                if kind == _SAMPLE:
                    # Hot path: _took, inlined.
                    samples = self._samples = self._samples - 1
                    if item[2]:
                        self._bytes -= item[2]
                    if not samples:
                        self._newest_end = None
                self._busy = True
                cond.notify_all()
            try:
                if kind == _SAMPLE:
                    self._deliver(output, value)
                elif kind == _EOS:
                    self._forward(output.DeliverEndOfStream)
                else:
                    self._forward(output.DeliverNewSegment, *value)
            finally:
                with cond:
                    self._busy = False
                    cond.notify_all()

    def _deliver(self, output: BaseOutputPin, sample: Any) -> None:
        try:
            if self._error is not None or self.input.flushing:
                return
            if output._allocator is self.input._allocator:
                output.Deliver(sample)
            else:
                self.copies += 1
                deliver_copy(output, sample)
        except Exception as exc:
            log.debug("%r: downstream failed (%r); dropping until a flush", self, exc)
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            sample.Release()

    def _forward(self, call: Any, *args: Any) -> None:
        if self._error is not None or self.input.flushing:
            return
        try:
            call(*args)
        except Exception as exc:
            log.debug("%r: downstream event failed: %r", self, exc)


# -- renderers -------------------------------------------------------------------------------


class NullRenderer(RendererFilter):
    """Takes any type and presents nothing (GStreamer's fakesink); ``sync`` is off by
    default. ``rendered`` counts the samples (``dropped`` and ``late`` those a ``sync``
    renderer found late, see `RendererFilter`)."""

    def __init__(
        self, *, name: str | None = None, sync: bool = False, max_lateness: int | None = None
    ) -> None:
        super().__init__(name=name, sync=sync, max_lateness=max_lateness)

    def DoRenderSample(self, sample: Any) -> None:
        """Nothing."""


class CollectingRenderer(RendererFilter):
    """Keeps a copy of every sample's data and times, for tests and examples.

    ``data`` holds the bytes (``GetActualDataLength`` of them), ``times`` the ``(start,
    stop)`` pairs (None for a sample without a time), ``read_only`` whether each sample
    arrived read-only. It collects every sample however late (``max_lateness`` -1) unless
    given another ``max_lateness``.
    """

    def __init__(
        self, *, name: str | None = None, sync: bool = False, max_lateness: int | None = -1
    ) -> None:
        super().__init__(name=name, sync=sync, max_lateness=max_lateness)
        self.data: list[bytes] = []
        self.times: list[tuple[int, int | None] | None] = []
        self.read_only: list[bool] = []

    def DoRenderSample(self, sample: Any) -> None:
        """Record ``sample``."""
        length = sample.GetActualDataLength()
        self.data.append(bytes(sample.GetPointer()[:length]))
        try:
            self.times.append(sample.GetTime())
        except VfwSampleTimeNotSetError:
            self.times.append(None)
        self.read_only.append(bool(IBufferSample.providedBy(sample) and sample.IsReadOnly()))
