"""Graphs on Ray: ``raysink`` and ``raysrc`` link graphs in different Ray workers, on one node or
many, with the pool's back-pressure across them (the ``ray`` extra).

One graph ends in ``raysink channel=NAME``; another, in another Ray worker (an actor, a task,
a driver), starts with ``raysrc channel=NAME``. Between them runs a *channel*: a small Ray
actor named ``NAME`` (in the Ray namespace ``namespace``, default ``"dshow_alloc"``) that the
raysink creates when its input connects and that dies with the raysink's process. Nothing else
is shared: the two graphs know each other only by the channel's name, so they can be built
and run anywhere in the cluster. `GraphActor` hosts a graph in an actor; `RayPipeline` (and
`run_pipeline`) wires a multi-stage pipeline across actors; `run_many` runs one launch line
over many inputs across the cluster. Neither this module nor its helpers schedule, place or
retry anything of their own: Ray does.

What crosses
------------
Each sample crosses as its bytes (its ``GetActualDataLength`` bytes, as a numpy array put in
the object store: one copy, at the producer), its times and media times, its flags (sync
point, discontinuity, preroll and the others of ``AM_SAMPLE_*``), its type-specific flags and
stream id, a media type it carries (a format change) and its metas whose fields are plain data
(None, bool, int, float, str, bytes, and tuples, lists and dicts of them; ``VIDEO_META``
among them), added again on the consumer's sample by API name. A consumer on the same node
reads the object store's pages in place: the array Ray gives it is wrapped as the sample's
memory, with no copy. Those pages are immutable, so received samples are read-only: the
output pin says so (``NotifyAllocator(..., read_only=True)``) and an in-place filter after
``raysrc`` copies into its own samples (its ``copies``) instead of writing.

The type comes from the producer: when ``raysrc``'s output connects it asks the channel for
the raysink's connection type (waiting up to ``timeout`` seconds for the channel to appear)
and offers exactly that, so no caps are typed by hand. A consumer whose downstream refuses
that type fails to connect, having taken nothing. A format change on the producer (a sample
carrying a new type) crosses with its sample; ``raysrc`` makes the same change on its output
(``change_media_type``: downstream is asked first; a refusal ends the stream with
EC_ERRORABORT).

Back-pressure
-------------
The consumer's pool sets the window: ``raysrc``'s allocator holds ``buffers`` samples (more
when downstream asks for more, a queue for one), and the producer may have at most that many
samples in flight to it. A sample stays in flight from its send until the consumer releases
its last reference to it; then a *credit* returns, and the raysink releases its own reference
on the producer's sample, which goes home to its pool. So a slow consumer makes the producer's
``GetBuffer`` wait exactly as a slow renderer does in one process, and the object store holds
at most the window's samples per channel: never an unbounded queue. The credit core
(`CreditWindow`, `ReturnSlips`, `ChannelCore`) is plain Python; `LocalChannels` runs the same
protocol between graphs of one process, without Ray.

End of stream and errors
------------------------
End of stream crosses in order after the last sample; the raysink then waits (up to 5 s) for
the consumer to release what it holds and only then reports EC_COMPLETE. An error ends the
others with EC_ERRORABORT, within a few seconds, whatever stage it starts in:

* the producer's graph aborted (an error upstream of the raysink, reported before the end of
  stream reached it), or stopped before its end of stream: the consumer's stream ends with
  E_ABORT;
* the producer's process died (the actor was killed): the channel dies with it, and the
  consumer's stream ends with VFW_E_NOT_CONNECTED;
* the consumer's graph failed downstream of ``raysrc``, or stopped before the end of stream,
  or its process died (the channel hears nothing from it for 3 s): the raysink takes back
  every sample in flight (they go home to their pool) and its stream ends with
  VFW_E_NOT_CONNECTED, naming why.

Bad input gets a clear error and loses nothing: a ``raysrc`` naming a channel nobody makes
fails to connect with VFW_E_TIMEOUT after ``timeout`` seconds, naming the channel and its
namespace; a second raysink on one channel fails to connect with VFW_E_ALREADY_CONNECTED (a
second reading raysrc's stream ends with it); a sample larger than the producer node's
object store is refused with E_OUTOFMEMORY before anything of it is sent (the stream ends
with EC_ERRORABORT after every sample before it was delivered).

One process, many nodes
-----------------------
Everything here works the same on one machine (``ray.init()``) and on a cluster (``ray start
--head`` on one node, ``ray start --address=HEAD:6379`` on the others, ``ray.init(address=
"auto")`` in the driver): the channel's name is all the two graphs share. Across nodes the
object store copies each sample once over the network to the consumer's node; on one node
there is no copy at the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import attrs
from zope.interface import implementer

from dshow_alloc.allocator import live_allocators
from dshow_alloc.caps import Caps, CapsError, caps_of
from dshow_alloc.com import ComObject
from dshow_alloc.filters import (
    ReceivedPool,
    ReceivingStream,
    RendererFilter,
    SourceFilter,
)
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import (
    AbortError,
    COMError,
    NotImplError,
    OutOfMemoryError,
    VfwAlreadyConnectedError,
    VfwInvalidMediaTypeError,
    VfwNotConnectedError,
    VfwTimeoutError,
    VfwWrongStateError,
)
from dshow_alloc.mediatype import MediaType, WaveFormatEx
from dshow_alloc.memory import AllocationParams, AllocatorFlags, Memory, MemoryFlags
from dshow_alloc.meta import add_portable_metas, portable_metas
from dshow_alloc.pins import BaseInputPin, BasePin, error_hresult, is_source
from dshow_alloc.plugins._common import IN, OUT, STOPPED, HoldsResource
from dshow_alloc.pool import PoolConfig
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.report import RunReport, run_graph
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import (
    AM_SAMPLE_TYPECHANGED,
    EC_ERRORABORT,
    EC_USERABORT,
    AllocatorProperties,
    FilterState,
    SampleProperties,
)
from interfaces import IMemory, IMemoryAllocator

__all__ = [
    "DEFAULT_NAMESPACE",
    "PEER_TIMEOUT",
    "ChannelCore",
    "CreditWindow",
    "GraphActor",  # noqa: F822 (made on first use: it needs Ray)
    "GraphHost",
    "InputResult",
    "LocalChannels",
    "Notice",
    "RayChannels",
    "RayPipeline",
    "RaySink",
    "RaySource",
    "ReturnSlips",
    "StageLinks",
    "run_many",
    "run_pipeline",
]

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "dshow_alloc"
"""The Ray namespace channels are named in unless a filter's ``namespace`` says otherwise."""
PEER_TIMEOUT = 3.0
"""Seconds a channel waits without a word from its consumer before it counts it gone."""
_POLL = 0.25
"""Seconds a long poll waits on the channel (a stop or a flush is seen this fast)."""
_HEARTBEAT = 0.5
"""Seconds between the consumer's words to the channel when it has no credit to return."""
_EOS_RELEASE_TIMEOUT = 5.0
"""Seconds a raysink waits at end of stream for its consumer to release what it holds."""
_RPC_MARGIN = 10.0
"""Seconds a call to a channel actor may take beyond its own wait before it counts as lost."""
_FALLBACK_BUFFER_SIZE = 65536
"""raysrc's sample size for a type that gives none."""
_RUNNING = FilterState.State_Running


def _ray() -> Any:
    """The ``ray`` module, initialised (``ray.init()`` when this process has not: it joins
    the cluster ``RAY_ADDRESS`` names, or starts a local one)."""
    try:
        ray = importlib.import_module("ray")
    except ImportError as exc:
        raise ImportError(
            "dshow_alloc.distributed needs Ray: pip install 'dshow-alloc[ray]'"
        ) from exc
    if not ray.is_initialized():
        ray.init()
    return ray


# -- the credit core (no Ray) ------------------------------------------------------------------


class _FlushingError(Exception):
    """A flush began while a sample waited for a credit: it is refused (``Receive`` False)."""


class CreditWindow:
    """The producer's side of the back-pressure: at most ``limit`` samples in flight.

    A consumer's attachment sets the limit (`grant`; None: no consumer, nothing may be
    sent). Each sample sent takes a token first (`reserve`, which waits while the window is
    full), is held with a reference of its own while in flight (`hold`), and goes home when
    its token comes back (`give_back`), or when every token is taken back at once (`reclaim`,
    `fail`). Thread-safe: the streaming thread reserves and holds, another thread gives back.
    Samples are released outside the lock.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._limit: int | None = None
        # token -> [sample or None (reserved, not yet held), what keeps its data alive]
        self._held: dict[int, list[Any]] = {}
        self._next = 1
        self._failure: BaseException | None = None
        self._releasing = 0  # give_back calls between their pop and their samples' release
        self.sent = 0
        """Samples held since the last `reset` (each one sent)."""
        self.returned = 0
        """Tokens the consumer gave back since the last `reset`."""
        self.reclaimed = 0
        """Samples taken back without the consumer's release since the last `reset`."""
        self.waits = 0
        """`reserve` calls that had to wait for a credit."""
        self.blocked_seconds = 0.0
        """Seconds they waited in all."""

    @property
    def limit(self) -> int | None:
        """The consumer's window (None: no consumer attached)."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Tokens taken and not yet back."""
        return len(self._held)

    @property
    def failure(self) -> BaseException | None:
        """The error `fail` recorded, until `reset`."""
        return self._failure

    def reset(self) -> None:
        """A new run: no consumer known, no failure, counters at 0 (anything still held is
        reclaimed first)."""
        self.reclaim()
        with self._cond:
            self._limit = None
            self._failure = None
            self.sent = self.returned = self.reclaimed = self.waits = 0
            self.blocked_seconds = 0.0

    def grant(self, limit: int | None) -> None:
        """The consumer's window is ``limit`` samples (None: no consumer)."""
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValueError(f"a window is a positive int or None, got {limit!r}")
        with self._cond:
            self._limit = limit
            self._cond.notify_all()

    def reserve(self, interrupted: Callable[[], None], *, poll: float = _POLL) -> int:
        """A token for one more sample in flight, waiting while there is no room (no
        consumer, or ``limit`` in flight). ``interrupted`` is called (with the window's lock
        held; it must not block) before each wait and raises to stop waiting. Raises the
        error `fail` recorded."""
        with self._cond:
            began: float | None = None
            try:
                while True:
                    if self._failure is not None:
                        raise self._failure
                    limit = self._limit
                    if limit is not None and len(self._held) < limit:
                        token = self._next
                        self._next += 1
                        self._held[token] = [None, None]
                        return token
                    interrupted()
                    if began is None:
                        began = time.monotonic()
                        self.waits += 1
                    self._cond.wait(poll)
            finally:
                if began is not None:
                    self.blocked_seconds += time.monotonic() - began

    def hold(self, token: int, sample: Any) -> None:
        """``sample``, about to be sent with ``token``, stays out of its pool until the token
        comes back: the window takes a reference of its own."""
        with self._cond:
            entry = self._held.get(token)
            if entry is not None and entry[0] is None:
                sample.AddRef()
                entry[0] = sample

    def sent_with(self, token: int, keep: Any) -> None:
        """``token``'s sample was sent; ``keep`` (what keeps the sent data alive) is kept
        until the token comes back (at once when it came back already)."""
        with self._cond:
            self.sent += 1
            entry = self._held.get(token)
            if entry is not None:
                entry[1] = keep

    def wake(self) -> None:
        """Wake `reserve` and `wait_empty` callers to look at their conditions again."""
        with self._cond:
            self._cond.notify_all()

    def cancel(self, token: int) -> None:
        """``token`` was reserved but its sample was not sent."""
        self._release([self._pop([token])])

    def give_back(self, tokens: Iterable[int]) -> int:
        """The consumer released the samples of ``tokens``: each goes home. Tokens not in
        flight (taken back already) are ignored. Returns how many came back."""
        with self._cond:
            entries = [entry for token in tokens if (entry := self._held.pop(token, None))]
            self.returned += len(entries)  # counted with the pop: one step for readers
            self._releasing += 1
        try:
            self._release([entries])
        finally:
            with self._cond:
                self._releasing -= 1
                self._cond.notify_all()  # wait_empty: now they are home, not only popped
        return len(entries)

    def reclaim(self) -> int:
        """Take back every sample in flight (the consumer left): each goes home."""
        with self._cond:
            entries = list(self._held.values())
            self._held.clear()
            self.reclaimed += sum(1 for entry in entries if entry[0] is not None)
            self._cond.notify_all()
        self._release([entries])
        return len(entries)

    def fail(self, error: BaseException) -> None:
        """The stream cannot go on: `reserve` raises ``error`` from now on (until `reset`),
        and every sample in flight is taken back."""
        with self._cond:
            if self._failure is None:
                self._failure = error
            self._cond.notify_all()
        self.reclaim()

    def wait_empty(self, timeout: float, interrupted: Callable[[], bool]) -> bool:
        """Wait until nothing is in flight (True), ``timeout`` seconds pass, a failure is
        recorded or ``interrupted()`` is true (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._held or self._releasing:
                left = deadline - time.monotonic()
                if left <= 0 or self._failure is not None or interrupted():
                    return False
                self._cond.wait(min(left, _POLL))
            return True

    def _pop(self, tokens: Iterable[int]) -> list[list[Any]]:
        with self._cond:
            entries = [entry for token in tokens if (entry := self._held.pop(token, None))]
            if entries:
                self._cond.notify_all()
            return entries

    @staticmethod
    def _release(groups: list[list[list[Any]]]) -> None:
        for entries in groups:
            for entry in entries:
                sample, entry[0], entry[1] = entry[0], None, None
                if sample is not None:
                    sample.Release()


class ReturnSlips:
    """The consumer's side of the back-pressure: the tokens of the samples it received, and
    those it released and has not yet given back to the producer.

    `received` when a sample arrives, `released` when its last reference goes (any thread),
    `take` on the thread that gives the credits back.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._out: set[int] = set()
        self._pending: list[int] = []
        self._closed = False

    @property
    def outstanding(self) -> int:
        """Samples received and not yet released."""
        return len(self._out)

    @property
    def closed(self) -> bool:
        """True after `close` (until `open`)."""
        return self._closed

    def received(self, token: int) -> None:
        """A sample of ``token`` arrived."""
        with self._cond:
            self._out.add(token)

    def released(self, token: int) -> None:
        """The sample of ``token`` was released: its credit waits to go back."""
        with self._cond:
            if token not in self._out:
                return
            self._out.discard(token)
            self._pending.append(token)
            self._cond.notify_all()

    def take(self, timeout: float) -> list[int]:
        """The tokens released since the last call, waiting up to ``timeout`` seconds for one
        (at once after `close`)."""
        with self._cond:
            if not self._pending and not self._closed:
                self._cond.wait(timeout)
            taken, self._pending = self._pending, []
            return taken

    def close(self) -> None:
        """`take` waits no more."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def open(self) -> None:
        """A new run: nothing outstanding or pending."""
        with self._cond:
            self._out.clear()
            self._pending.clear()
            self._closed = False


@attrs.frozen
class Notice:
    """What the channel tells its producer (`ChannelCore.poll`)."""

    returned: tuple[int, ...]
    """Tokens the consumer gave back since the last notice."""
    epoch: int
    """The number of the consumer's attachment (it grows with each)."""
    credits: int | None
    """The attached consumer's window; None: no consumer."""
    left: tuple[str | None, ...]
    """Why each consumer that left since the last notice left (None: after the end of
    stream, as it should)."""


Entry = tuple[str, Any, tuple[int, ...]]
"""A channel's queue entry: ``("samples", payload, tokens)``, ``("end", None, ())`` or
``("abort", why, ())``."""


def _fits(expected: MediaType, sent: MediaType) -> bool:
    """Whether the producer's type ``sent`` is the stream ``expected`` describes (a field
    ``expected`` leaves open takes any value)."""
    if expected == sent:
        return True
    try:
        return Caps.parse(caps_of(expected)).matches(sent)
    except CapsError:
        return expected.matches(sent)


def _describe(media_type: MediaType | None) -> str:
    if media_type is None:
        return "no type"
    try:
        return caps_of(media_type)
    except Exception:
        return repr(media_type)


class ChannelCore:
    """One channel's state: its producer and type, its consumer and window, the queue of
    what was sent, the credits to return. Plain data, no waiting and no threads: the Ray
    actor (`RayChannels`) and `LocalChannels` wrap it, and call it one call at a time.

    ``clock`` gives seconds (monotonic); a consumer silent for ``peer_timeout`` seconds (no
    `pull` or `give_back`) counts as gone, for the producer's next `poll`.
    """

    def __init__(
        self,
        name: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        peer_timeout: float = PEER_TIMEOUT,
    ) -> None:
        self.name = name
        self._clock = clock
        self._peer_timeout = peer_timeout
        self.producer: str | None = None
        self.media_type: MediaType | None = None
        self.consumer: str | None = None
        self.credits: int | None = None
        self.epoch = 0
        self._seen = 0.0
        self._queue: deque[Entry] = deque()
        self._returned: list[int] = []
        self._left: list[str | None] = []
        self._ended = False
        self._next_push = 0
        self._early: dict[int, tuple[int, Entry]] = {}

    def __repr__(self) -> str:
        return f"<ChannelCore {self.name!r} producer={self.producer} consumer={self.consumer}>"

    # -- the producer ------------------------------------------------------------------------

    def claim(self, producer: str, media_type: MediaType) -> None:
        """``producer`` sends on this channel, samples of ``media_type`` (again: a new type).
        Another producer's channel: VFW_E_ALREADY_CONNECTED."""
        if not isinstance(media_type, MediaType):
            raise TypeError(f"a channel's type is a MediaType, not {type(media_type).__name__}")
        if self.producer not in (None, producer):
            raise VfwAlreadyConnectedError(
                message=f"channel {self.name!r} already has a raysink; give this one another "
                "channel name"
            )
        self.producer, self.media_type = producer, media_type

    def unclaim(self, producer: str) -> None:
        """``producer`` disconnected: a consumer mid-stream is told the stream was aborted."""
        if self.producer != producer:
            return
        self.producer = self.media_type = None
        if self.consumer is not None and not self._ended:
            self._queue.append(("abort", f"the raysink of channel {self.name!r} disconnected", ()))

    def begin(self, producer: str) -> None:
        """A new run of the producer: what a previous run left is dropped, and its pushes
        are numbered from 0 again."""
        self._check_producer(producer)
        self._queue.clear()
        self._returned.clear()
        self._left.clear()
        self._ended = False
        self._next_push = 0
        self._early.clear()

    def push(self, producer: str, epoch: int, number: int, entry: Entry) -> None:
        """Queue ``entry`` for the consumer, in the order of the pushes' ``number`` (0, 1,
        ... from `begin`): a push that arrives early waits for those before it (an async
        actor may run one caller's calls out of order). Samples sent to a consumer of another
        attachment than ``epoch`` (one that left meanwhile) are dropped and their tokens
        returned to the producer. End of stream and aborts always queue."""
        self._check_producer(producer)
        if entry[0] not in ("samples", "end", "abort"):
            raise ValueError(f"unknown channel entry {entry[0]!r}")
        self._early[number] = (epoch, entry)
        while (ready := self._early.pop(self._next_push, None)) is not None:
            self._next_push += 1
            self._queue_entry(*ready)

    def _queue_entry(self, epoch: int, entry: Entry) -> bool:
        kind = entry[0]
        if kind == "samples":
            if self.consumer is None or epoch != self.epoch:
                self._returned.extend(entry[2])
                return False
        else:
            self._ended = True
        self._queue.append(entry)
        return True

    def poll(self, producer: str, epoch: int) -> Notice | None:
        """What changed since the producer last heard (it knows attachment ``epoch``): None
        when nothing did. A consumer silent too long is counted gone here."""
        self._check_producer(producer)
        self._expire()
        if not self._returned and not self._left and epoch == self.epoch:
            return None
        notice = Notice(tuple(self._returned), self.epoch, self.credits, tuple(self._left))
        self._returned.clear()
        self._left.clear()
        return notice

    def _check_producer(self, producer: str) -> None:
        if self.producer != producer:
            raise VfwNotConnectedError(
                message=f"channel {self.name!r} is no longer this raysink's (it disconnected, or "
                "another took the channel)"
            )

    # -- the consumer ------------------------------------------------------------------------

    def get_media_type(self) -> MediaType | None:
        """The producer's connection type (None: no producer claimed the channel)."""
        return self.media_type if self.producer is not None else None

    def attach(self, consumer: str, credits: int, expected: MediaType | None) -> int:
        """``consumer`` reads from now on, with a window of ``credits`` samples, in the type
        ``expected`` (None: any). Returns the attachment's epoch.

        Raises VFW_E_NOT_CONNECTED without a producer, VFW_E_ALREADY_CONNECTED while another
        consumer reads, VFW_E_INVALIDMEDIATYPE when the producer's type does not fit
        ``expected``; then nothing changed (the producer sent nothing to it)."""
        if type(credits) is not int or credits < 1:
            raise ValueError(f"a window is a positive int, got {credits!r}")
        self._expire()
        if self.producer is None or self.media_type is None:
            raise VfwNotConnectedError(message=f"channel {self.name!r} has no raysink")
        if self.consumer not in (None, consumer):
            raise VfwAlreadyConnectedError(
                message=f"channel {self.name!r} already has a raysrc reading; one at a time"
            )
        if expected is not None and not _fits(expected, self.media_type):
            raise VfwInvalidMediaTypeError(
                message=f"the raysink of channel {self.name!r} sends "
                f"{_describe(self.media_type)}, but this raysrc's output is "
                f"{_describe(expected)}; build the consuming graph again"
            )
        if self.consumer is None:
            self.epoch += 1
        self.consumer, self.credits, self._seen = consumer, credits, self._clock()
        return self.epoch

    def pull(self, consumer: str) -> list[Entry]:
        """Everything queued for ``consumer`` (empty: nothing yet). A consumer the channel
        counted gone (or that detached) gets VFW_E_NOT_CONNECTED."""
        self._check_consumer(consumer)
        self._seen = self._clock()
        taken = list(self._queue)
        self._queue.clear()
        return taken

    def give_back(self, consumer: str, tokens: Sequence[int]) -> None:
        """``consumer`` released the samples of ``tokens`` (none: it is still there)."""
        self._check_consumer(consumer)
        self._seen = self._clock()
        self._returned.extend(tokens)

    def detach(self, consumer: str, reason: str | None) -> None:
        """``consumer`` reads no more; ``reason`` None after the end of stream, else why it
        left mid-stream. Samples queued for it are dropped (the producer takes them back);
        an end of stream or abort stays for the next consumer."""
        if self.consumer != consumer:
            return
        self._drop_consumer(reason)

    def _drop_consumer(self, reason: str | None) -> None:
        self.consumer = self.credits = None
        self._left.append(reason)
        kept: deque[Entry] = deque()
        for entry in self._queue:
            if entry[0] == "samples":
                self._returned.extend(entry[2])  # never delivered: they come back
            else:
                kept.append(entry)
        self._queue = kept

    def _check_consumer(self, consumer: str) -> None:
        self._expire()
        if self.consumer != consumer:
            raise VfwNotConnectedError(
                message=f"channel {self.name!r} no longer counts this raysrc as its consumer "
                f"(it was silent for more than {self._peer_timeout:g} s, or detached)"
            )

    def _expire(self) -> None:
        if self.consumer is not None and self._clock() - self._seen > self._peer_timeout:
            self._drop_consumer(
                f"the raysrc said nothing for {self._peer_timeout:g} s (its process died?)"
            )


# -- links: what the filters call, over a port (Ray or local) --------------------------------


class _Port(Protocol):
    """How a link reaches one channel's `ChannelCore` and moves sample data."""

    name: str

    def call(self, method: str, *args: Any) -> Any: ...

    def wait(self, method: str, timeout: float, *args: Any) -> Any: ...

    def post(self, method: str, *args: Any) -> None: ...

    def put(self, headers: list[tuple[Any, ...]], buffers: list[memoryview]) -> tuple[Any, Any]: ...

    def fetch(self, payload: Any) -> tuple[list[tuple[Any, ...]], list[Any]]: ...

    def capacity(self) -> int | None: ...

    def close(self) -> None: ...


class ProducerLink:
    """A raysink's end of a channel (see `ChannelCore` for each call's rules)."""

    def __init__(self, port: _Port, producer: str) -> None:
        self.port = port
        self.producer = producer
        self._pushes = 0  # numbers the pushes of a run (see ChannelCore.push)

    @property
    def name(self) -> str:
        """The channel's name."""
        return self.port.name

    def claim(self, media_type: MediaType) -> None:
        """See `ChannelCore.claim`."""
        self.port.call("claim", self.producer, media_type)

    def unclaim(self) -> None:
        """See `ChannelCore.unclaim`; the link is closed after."""
        try:
            self.port.call("unclaim", self.producer)
        except COMError as exc:
            log.debug("channel %r: unclaim failed: %s", self.name, exc)
        finally:
            self.port.close()

    def begin(self) -> None:
        """See `ChannelCore.begin`."""
        self.port.call("begin", self.producer)
        self._pushes = 0

    def _push(self, epoch: int, entry: Entry) -> None:
        number, self._pushes = self._pushes, self._pushes + 1
        self.port.post("push", self.producer, epoch, number, entry)

    def capacity(self) -> int | None:
        """The largest sample the data path can take, in bytes (None: no limit known)."""
        return self.port.capacity()

    def send(
        self,
        epoch: int,
        tokens: list[int],
        headers: list[tuple[Any, ...]],
        buffers: list[memoryview],
    ) -> Any:
        """Put the data (one copy) and queue it for the consumer of ``epoch``; returns what
        keeps the data alive until the consumer gives ``tokens`` back."""
        payload, keep = self.port.put(headers, buffers)
        self._push(epoch, ("samples", payload, tuple(tokens)))
        return keep

    def end(self, error: str | None) -> None:
        """End of stream after everything sent (``error``: the stream was aborted, why)."""
        entry: Entry = ("end", None, ()) if error is None else ("abort", error, ())
        self._push(0, entry)

    def poll(self, epoch: int, timeout: float) -> Notice | None:
        """See `ChannelCore.poll`, waiting up to ``timeout`` seconds for something."""
        notice: Notice | None = self.port.wait("poll", timeout, self.producer, epoch)
        return notice


class ConsumerLink:
    """A raysrc's end of a channel (see `ChannelCore` for each call's rules)."""

    def __init__(self, port: _Port, consumer: str) -> None:
        self.port = port
        self.consumer = consumer

    @property
    def name(self) -> str:
        """The channel's name."""
        return self.port.name

    def media_type(self, timeout: float) -> MediaType | None:
        """The producer's type, waiting up to ``timeout`` seconds for a producer to claim the
        channel (None: none did)."""
        found: MediaType | None = self.port.wait("get_media_type", timeout)
        return found

    def attach(self, credits: int, expected: MediaType | None) -> int:
        """See `ChannelCore.attach`."""
        epoch: int = self.port.call("attach", self.consumer, credits, expected)
        return epoch

    def pull(self, timeout: float) -> list[Entry]:
        """See `ChannelCore.pull`, waiting up to ``timeout`` seconds for something."""
        entries: list[Entry] = self.port.wait("pull", timeout, self.consumer)
        return entries

    def fetch(self, payload: Any) -> tuple[list[tuple[Any, ...]], list[Any]]:
        """The headers and data buffers of one ``("samples", payload)`` entry."""
        return self.port.fetch(payload)

    def give_back(self, tokens: list[int]) -> None:
        """See `ChannelCore.give_back`."""
        self.port.call("give_back", self.consumer, tokens)

    def detach(self, reason: str | None) -> None:
        """See `ChannelCore.detach` (errors are logged: the channel may be gone)."""
        try:
            self.port.call("detach", self.consumer, reason)
        except COMError as exc:
            log.debug("channel %r: detach failed: %s", self.name, exc)

    def close(self) -> None:
        """Let go of the channel."""
        self.port.close()


class ChannelDirectory(Protocol):
    """Where filters find channels by name: `RayChannels` (the default) or `LocalChannels`."""

    def producer(self, name: str, namespace: str, producer: str) -> ProducerLink: ...

    def consumer(
        self, name: str, namespace: str, consumer: str, timeout: float
    ) -> ConsumerLink: ...


def _lookup_timeout(name: str, namespace: str, limit: float) -> VfwTimeoutError:
    return VfwTimeoutError(
        message=f"no channel {name!r} in Ray namespace {namespace!r} after {limit:g} s: no raysink "
        "made it (build the producing graph first, or check the name and namespace)"
    )


# -- in one process ----------------------------------------------------------------------------


class _LocalPort:
    """A channel of `LocalChannels`: the core under a condition."""

    def __init__(self, directory: LocalChannels, name: str, core: ChannelCore) -> None:
        self.name = name
        self._directory = directory
        self._core = core
        self._cond = directory._cond

    def call(self, method: str, *args: Any) -> Any:
        with self._cond:
            result = getattr(self._core, method)(*args)
            self._cond.notify_all()
            return result

    def wait(self, method: str, timeout: float, *args: Any) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = getattr(self._core, method)(*args)
                left = deadline - time.monotonic()
                if result or left <= 0:
                    self._cond.notify_all()
                    return result
                self._cond.wait(left)

    def post(self, method: str, *args: Any) -> None:
        self.call(method, *args)

    def put(self, headers: list[tuple[Any, ...]], buffers: list[memoryview]) -> tuple[Any, Any]:
        self._directory.puts += 1
        self._directory.samples += len(buffers)
        data = [bytes(buffer) for buffer in buffers]  # the one copy, immutable as the store's
        return (headers, data), None

    def fetch(self, payload: Any) -> tuple[list[tuple[Any, ...]], list[Any]]:
        headers, data = payload
        return headers, data

    def capacity(self) -> int | None:
        return self._directory.capacity

    def close(self) -> None:
        pass


class LocalChannels:
    """Channels between graphs of this process: the channel protocol without Ray.

    Give one instance to both filters (``RaySink(channel="a", channels=local)``,
    ``RaySource(channel="a", channels=local)``). Each sample's bytes are copied once (into an
    immutable ``bytes``, as the object store holds them). ``capacity`` is the largest sample
    accepted (None: any); ``clock`` and ``peer_timeout`` go to each `ChannelCore`.
    """

    def __init__(
        self,
        *,
        capacity: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        peer_timeout: float = PEER_TIMEOUT,
    ) -> None:
        self.capacity = capacity
        self._clock = clock
        self._peer_timeout = peer_timeout
        self._cond = threading.Condition()
        self._cores: dict[tuple[str, str], ChannelCore] = {}
        self.puts = 0
        """Data puts made (one a batch of samples)."""
        self.samples = 0
        """Samples whose bytes were put."""

    def core(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> ChannelCore | None:
        """The channel's core (None: no raysink made it), for inspection."""
        return self._cores.get((namespace, name))

    def producer(self, name: str, namespace: str, producer: str) -> ProducerLink:
        """The channel ``name``, made when it does not exist."""
        with self._cond:
            core = self._cores.get((namespace, name))
            if core is None:
                core = ChannelCore(name, clock=self._clock, peer_timeout=self._peer_timeout)
                self._cores[(namespace, name)] = core
                self._cond.notify_all()
        return ProducerLink(_LocalPort(self, name, core), producer)

    def consumer(self, name: str, namespace: str, consumer: str, timeout: float) -> ConsumerLink:
        """The channel ``name``, waiting up to ``timeout`` seconds (0: no limit) for it."""
        deadline = time.monotonic() + timeout if timeout else None
        with self._cond:
            while (core := self._cores.get((namespace, name))) is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise _lookup_timeout(name, namespace, timeout)
                self._cond.wait(_POLL if left is None else min(left, _POLL))
        return ConsumerLink(_LocalPort(self, name, core), consumer)


# -- on Ray ------------------------------------------------------------------------------------


class _ChannelActor:
    """The Ray actor of one channel (async: a long poll waits without holding up the others).

    Every call runs one `ChannelCore` method on the actor's event loop and wakes the waiters;
    ``wait_call`` repeats a method until it returns something (or ``timeout`` passes).
    """

    def __init__(self, name: str) -> None:
        self._core = ChannelCore(name)
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def call(self, method: str, *args: Any) -> Any:
        """One core call."""
        changed = self._condition()
        async with changed:
            try:
                return getattr(self._core, method)(*args)
            finally:
                changed.notify_all()

    async def wait_call(self, method: str, timeout: float, *args: Any) -> Any:
        """The core call ``method`` once it returns something, or its empty answer after
        ``timeout`` seconds."""
        changed = self._condition()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with changed:
            while True:
                result = getattr(self._core, method)(*args)
                left = deadline - loop.time()
                if result or left <= 0:
                    changed.notify_all()
                    return result
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), left)


@functools.cache
def _channel_actor_class() -> Any:
    return _ray().remote(num_cpus=0, max_restarts=0)(_ChannelActor)


class _RayPort:
    """A channel that is a named Ray actor; data through the object store."""

    def __init__(self, actor: Any, name: str, namespace: str) -> None:
        self.name = name
        self._actor = actor
        self._namespace = namespace
        self._capacity: int | bool | None = False  # False: not asked yet

    def _get(self, ref: Any, timeout: float) -> Any:
        ray = _ray()
        errors = ray.exceptions
        try:
            return ray.get(ref, timeout=timeout)
        except errors.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise
        except errors.GetTimeoutError:
            raise VfwTimeoutError(
                message=f"channel {self.name!r} did not answer within {timeout:g} s"
            ) from None
        except errors.RayActorError as exc:
            raise VfwNotConnectedError(
                message=f"channel {self.name!r} is gone: the process of its raysink died, or "
                f"it disconnected ({type(exc).__name__})"
            ) from None

    def call(self, method: str, *args: Any) -> Any:
        return self._get(self._actor.call.remote(method, *args), _RPC_MARGIN)

    def wait(self, method: str, timeout: float, *args: Any) -> Any:
        ref = self._actor.wait_call.remote(method, timeout, *args)
        return self._get(ref, timeout + _RPC_MARGIN)

    def post(self, method: str, *args: Any) -> None:
        # Not waited for: the channel runs calls from one caller in order, and the producer's
        # poll sees the channel gone within _POLL.
        self._actor.call.remote(method, *args)

    def put(self, headers: list[tuple[Any, ...]], buffers: list[memoryview]) -> tuple[Any, Any]:
        import numpy as np

        ray = _ray()
        arrays = [np.frombuffer(buffer, dtype=np.uint8) for buffer in buffers]
        try:
            ref = ray.put((headers, arrays))  # the one copy of the bytes
        except (ray.exceptions.ObjectStoreFullError, ray.exceptions.OutOfMemoryError) as exc:
            size = sum(len(buffer) for buffer in buffers)
            raise OutOfMemoryError(
                message=f"the object store cannot take {size:,} bytes more ({exc})"
            ) from None
        return [ref], ref  # a ref inside a list crosses the channel as a ref

    def fetch(self, payload: Any) -> tuple[list[tuple[Any, ...]], list[Any]]:
        ray = _ray()
        errors = ray.exceptions
        try:
            headers, arrays = ray.get(payload[0], timeout=_RPC_MARGIN)
        except (errors.ObjectLostError, errors.RayActorError, errors.GetTimeoutError) as exc:
            raise VfwNotConnectedError(
                message=f"channel {self.name!r}: the samples sent are gone (the raysink's "
                f"process died?): {type(exc).__name__}"
            ) from None
        return headers, [memoryview(array) for array in arrays]

    def capacity(self) -> int | None:
        if self._capacity is False:
            self._capacity = _object_store_capacity()
        assert self._capacity is not True
        return self._capacity

    def close(self) -> None:
        self._actor = None


def _object_store_capacity() -> int | None:
    """This node's object store size in bytes (None: unknown)."""
    ray = _ray()
    node = ray.get_runtime_context().get_node_id()
    for info in ray.nodes():
        if info.get("NodeID") == node:
            size = info.get("Resources", {}).get("object_store_memory")
            return int(size) if size else None
    return None


class RayChannels:
    """Channels as named Ray actors (the filters' default): a raysink makes the actor
    ``name`` in ``namespace`` (it is owned by the raysink's process and dies with it), a
    raysrc looks it up."""

    def producer(self, name: str, namespace: str, producer: str) -> ProducerLink:
        """The channel ``name``, made when it does not exist."""
        actor = (
            _channel_actor_class()
            .options(name=name, namespace=namespace, get_if_exists=True)
            .remote(name)
        )
        return ProducerLink(_RayPort(actor, name, namespace), producer)

    def consumer(self, name: str, namespace: str, consumer: str, timeout: float) -> ConsumerLink:
        """The channel ``name``, waiting up to ``timeout`` seconds (0: no limit) for it."""
        ray = _ray()
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            try:
                actor = ray.get_actor(name, namespace=namespace)
                break
            except ValueError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise _lookup_timeout(name, namespace, timeout) from None
                time.sleep(0.05)
        return ConsumerLink(_RayPort(actor, name, namespace), consumer)


_RAY_CHANNELS = RayChannels()


# -- what a sample carries ---------------------------------------------------------------------


def _metas_of(sample: Any) -> list[tuple[str, dict[str, Any]]] | None:
    return portable_metas(sample.IterMeta()) or None


def _header(token: int, sample: Any, length: int) -> tuple[Any, ...]:
    """What crosses with a sample's bytes, in a tuple (small to pickle)."""
    props = sample.GetProperties()
    try:
        media_time: tuple[int, int] | None = sample.GetMediaTime()
    except COMError:
        media_time = None
    return (
        token,
        props.type_specific_flags,
        props.sample_flags & ~AM_SAMPLE_TYPECHANGED,
        length,
        props.start,
        props.stop,
        props.stream_id,
        media_time,
        props.media_type,
        _metas_of(sample),
    )


class _ReceivedMemory(Memory):
    """A read-only `Memory` over a received sample's bytes (the object store's pages); its
    final ``Release`` gives the sample's credit back."""

    __slots__ = ("_slip",)

    _slip: tuple[ReturnSlips, int]

    def _init_child(self, child: Memory) -> None:
        assert isinstance(child, _ReceivedMemory)
        child._slip = self._slip


@implementer(IMemoryAllocator)
class _ReceivedAllocator(ComObject):
    """The allocator of every `_ReceivedMemory`: it allocates nothing; its ``Free`` of a
    root block returns the credit."""

    __slots__ = ("flags", "mem_type")

    mem_type: str
    flags: AllocatorFlags

    def __init__(self) -> None:
        super().__init__()
        self.mem_type = "RayObjectStore"
        self.flags = AllocatorFlags.CUSTOM_ALLOC | AllocatorFlags.NO_COPY

    def Alloc(self, size: int, params: AllocationParams | None = None) -> IMemory:
        """Refused: received memory comes only from a raysrc."""
        raise NotImplError(message="memory received through a channel cannot be allocated")

    def Free(self, memory: IMemory) -> None:
        """See `IMemoryAllocator.Free`: a root block's credit goes back."""
        if not isinstance(memory, _ReceivedMemory):
            raise TypeError(f"Free takes a received memory, not {type(memory).__name__}")
        if memory.parent is None:
            slips, token = memory._slip
            slips.released(token)


_RECEIVED = _ReceivedAllocator()


def _received_sample(header: tuple[Any, ...], data: Any, slips: ReturnSlips) -> MediaSample:
    """A read-only standalone sample over ``data`` (no copy) with what ``header`` says; its
    final release gives the token back through ``slips``."""
    (token, type_flags, flags, length, start, stop, stream, media_time, _type, metas) = header
    slips.received(token)
    if len(data):
        memory = _ReceivedMemory(_RECEIVED, data, flags=MemoryFlags.READONLY)
        memory._slip = (slips, token)
        sample = MediaSample(None, memory)
    else:
        sample = MediaSample()
        slips.released(token)
    try:
        sample.SetProperties(SampleProperties(type_flags, flags, length, start, stop, stream))
        if media_time is not None:
            sample.SetMediaTime(*media_time)
        add_portable_metas(sample, metas or (), "raysrc")
        sample.SetReadOnly(True)
    except BaseException:
        sample.Release()
        raise
    return sample


# -- raysink -----------------------------------------------------------------------------------

_BATCH = 16
"""The most samples one put (and one call to the channel) carries."""


@attrs.define
class _SinkProperties:
    channel: str | None = prop(
        None, kind=str, doc="the channel's name, which the consuming raysrc names (required)"
    )
    namespace: str = prop(DEFAULT_NAMESPACE, kind=str, doc="the Ray namespace of the channel")
    buffers: int = prop(
        10,
        kind=int,
        minimum=1,
        maximum=1024,
        doc="samples asked of upstream's pool (the consumer's window and some, to fill it)",
    )


def _check_channel(owner: Any) -> str:
    channel: str | None = owner.props.channel
    if not channel:
        raise ValueError(f"{owner.name}: set channel=NAME, the channel between the two graphs")
    return channel


class _Marker:
    """End of stream (``error`` None) or an abort, queued after the samples before it."""

    __slots__ = ("error",)

    def __init__(self, error: str | None) -> None:
        self.error = error


class RaySink(HoldsResource, RendererFilter, Element):
    """``raysink``: sends every sample to the ``raysrc`` of another graph, anywhere in the Ray
    cluster, through the channel ``channel`` (see the module docstring).

    The channel is made (or found) when the input connects and carries the connection type;
    each run waits for a consumer before sending and keeps at most the consumer's window of
    samples in flight, each held out of its pool until the consumer releases it. The input
    asks upstream for ``buffers`` samples, so that the window can fill. ``channels`` (Python
    only) is where channels are found: `RayChannels` by default, or a `LocalChannels` for
    graphs in one process.

    Sending. ``Receive`` takes a credit (waiting while the window is full) and queues the
    sample; a thread of the filter's sends what is queued, up to 16 samples in one put and
    one call, so that the copy into the object store overlaps the next sample's production.
    A flush (a seek in the producing graph) refuses a sample waiting for a credit and is not
    forwarded: what was sent stays sent.

    Counters, reset when the filter leaves Stopped: ``sent`` (also ``rendered``),
    ``returned`` (credits the consumer gave back) and ``reclaimed`` (samples taken back
    without the consumer's release: it left, or the run stopped).
    """

    Properties = _SinkProperties
    description = "Sends samples to a raysrc in another Ray worker, with back-pressure"
    pin_templates = (PinTemplate("In", IN, "ANY"),)

    def __init__(
        self, *, name: str | None = None, channels: ChannelDirectory | None = None, **props: Any
    ) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)
        self.input.requirements = AllocatorProperties(self.props.buffers, 0, 1, 0)
        self._directory: ChannelDirectory = channels if channels is not None else _RAY_CHANNELS
        self._id = f"raysink-{uuid.uuid4().hex}"
        self._link: ProducerLink | None = None
        self._window = CreditWindow()
        self._epoch = -1
        self._capacity: int | None = None
        self._ended = False  # end of stream (or an abort) was queued this run
        self._cond = threading.Condition()  # guards the outbox and _closing
        self._outbox: deque[tuple[int, tuple[Any, ...], memoryview] | _Marker] = deque()
        self._closing = False
        self._threads: list[threading.Thread] = []

    @property
    def window(self) -> CreditWindow:
        """The credits: the consumer's window and the samples in flight."""
        return self._window

    @property
    def sent(self) -> int:
        """Samples sent this run."""
        return self._window.sent

    @property
    def returned(self) -> int:
        """Samples the consumer released this run."""
        return self._window.returned

    @property
    def reclaimed(self) -> int:
        """Samples taken back without the consumer's release this run."""
        return self._window.reclaimed

    # -- connection ----------------------------------------------------------------------------

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """The input connected: make the channel and announce the connection type on it."""
        super().complete_connect(pin, peer)
        if pin is not self.input:
            return
        channel = _check_channel(self)
        link = self._directory.producer(channel, self.props.namespace, self._id)
        try:
            link.claim(pin.ConnectionMediaType())
        except BaseException:
            link.port.close()
            raise
        self._link = link

    def break_connect(self, pin: BasePin) -> None:
        """The input disconnects: give the channel up."""
        if pin is self.input:
            link, self._link = self._link, None
            if link is not None:
                link.unclaim()
        super().break_connect(pin)

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """A format change: the channel announces the new type to later consumers."""
        if self._link is not None:
            self._link.claim(pin.ConnectionMediaType())

    # -- state ---------------------------------------------------------------------------------

    def open_resource(self) -> None:
        """Leaving Stopped: a new run on the channel; threads that send and that hear the
        consumer."""
        link = self._link
        if link is None:
            return  # not connected: nothing to send
        self._capacity = link.capacity()
        link.begin()
        self._window.reset()
        self._epoch, self._ended = -1, False
        with self._cond:
            self._closing = False
            self._outbox.clear()
        self._threads = [
            threading.Thread(target=target, args=(link,), name=f"{self.name} {what}", daemon=True)
            for target, what in ((self._listen, "credits"), (self._send_loop, "sender"))
        ]
        for thread in self._threads:
            thread.start()

    def release_resource(self, *, failed: bool) -> None:
        """At Stop: what is queued is still sent, then (before an end of stream) the abort
        that tells the consumer the stream was cut short; every sample in flight is then
        taken back (home to its pool)."""
        if not self._threads:
            return
        self._queue_end("the producing graph stopped before the end of its stream")
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        threads, self._threads = self._threads, []
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(_POLL + _RPC_MARGIN)
        self._window.reclaim()

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Wake a sample waiting for a credit when stopping."""
        super().state_changed(old, new)
        self._window.wake()

    def _listen(self, link: ProducerLink) -> None:
        """The credits thread: apply what the channel says until the run ends."""
        while not self._closing:
            try:
                notice = link.poll(self._epoch, _POLL)
            except COMError as exc:
                if not self._closing:
                    self._fail(exc)
                return
            if notice is not None:
                self._hear(notice)

    def _hear(self, notice: Notice) -> None:
        window = self._window
        for reason in notice.left:
            taken = window.reclaim()
            if reason is not None and not self._ended and (window.sent or taken):
                self._fail(
                    VfwNotConnectedError(
                        message=f"{self.name}: the consumer of channel {self.props.channel!r} "
                        f"left mid-stream: {reason}"
                    )
                )
        window.give_back(notice.returned)
        self._epoch = notice.epoch
        window.grant(notice.credits)

    def _fail(self, error: BaseException) -> None:
        log.info("%s: %s", self.name, error)
        self._window.fail(error)

    def _send_loop(self, link: ProducerLink) -> None:
        """The sender thread: send what is queued, in order, in batches."""
        window = self._window
        while True:
            with self._cond:
                while not self._outbox and not self._closing:
                    self._cond.wait(_POLL)
                if not self._outbox:
                    return
                first = self._outbox.popleft()
                batch: list[tuple[int, tuple[Any, ...], memoryview]] = []
                if isinstance(first, _Marker):
                    marker: _Marker | None = first
                else:
                    marker = None
                    batch.append(first)
                    while (
                        len(batch) < _BATCH
                        and self._outbox
                        and not isinstance(self._outbox[0], _Marker)
                    ):
                        item = self._outbox.popleft()
                        assert not isinstance(item, _Marker)
                        batch.append(item)
            try:
                if marker is not None:
                    link.end(marker.error)
                    continue
                tokens = [token for token, _header, _data in batch]
                keep = link.send(
                    self._epoch, tokens, [h for _t, h, _d in batch], [d for _t, _h, d in batch]
                )
            except Exception as exc:
                self._fail(exc)  # takes every sample back, the streaming thread hears it
                continue
            for token in tokens:
                window.sent_with(token, keep)

    def _queue_end(self, error: str | None) -> None:
        """Queue end of stream (``error`` None) or an abort after what is queued, once a run."""
        with self._cond:
            if self._ended or not self._threads:
                return
            self._ended = True
            self._outbox.append(_Marker(error))
            self._cond.notify_all()

    # -- streaming -----------------------------------------------------------------------------

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Wait for Run (a paused renderer holds its first sample), then send ``sample``. An
        error of the stream is queued for the consumer after the samples before it."""
        if self._state is not _RUNNING and not self._wait_until_due(pin, sample):
            return False
        try:
            self._send(pin, sample)
        except _FlushingError:
            return False
        except VfwWrongStateError:
            raise  # stopping: not an error of the stream
        except Exception as exc:
            self._queue_end(f"the raysink failed: {exc}")
            pin.stream_error(exc)
            raise
        self.rendered += 1
        return True

    def DoRenderSample(self, sample: Any) -> None:
        """Send ``sample`` (waiting for a credit)."""
        try:
            self._send(self.input, sample)
        except _FlushingError:
            return

    def _interrupted(self, pin: BaseInputPin) -> None:
        if self._state is STOPPED:
            raise VfwWrongStateError(message=f"{self!r} stopped")
        if pin.flushing:
            raise _FlushingError

    def _send(self, pin: BaseInputPin, sample: Any) -> None:
        if self._link is None or not self._threads:
            raise VfwNotConnectedError(message=f"{self.name}: the input is not connected")
        length = sample.GetActualDataLength()
        capacity = self._capacity
        if capacity is not None and length > capacity:
            raise OutOfMemoryError(
                message=f"{self.name}: a sample of {length:,} bytes cannot cross channel "
                f"{self.props.channel!r}: the object store of this node holds {capacity:,} "
                "bytes (start Ray with a larger object_store_memory, or send smaller samples)"
            )
        window = self._window
        token = window.reserve(functools.partial(self._interrupted, pin))
        try:
            header = _header(token, sample, length)
            data = sample.GetPointer()[:length]
            window.hold(token, sample)  # out of its pool until the consumer releases it
        except BaseException:
            window.cancel(token)
            raise
        with self._cond:
            self._outbox.append((token, header, data))
            self._cond.notify_all()

    def begin_flush(self, pin: BaseInputPin) -> None:
        """Wake a sample waiting for a credit (it is refused)."""
        super().begin_flush(pin)
        self._window.wake()

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Queue end of stream (an abort when this graph reported an error before it), wait up
        to 5 s for the consumer to release everything, then report completion."""
        if self._threads and not self._ended:
            aborted = self._graph_aborted()
            self._queue_end(aborted)
            if aborted is None:
                self._window.wait_empty(
                    _EOS_RELEASE_TIMEOUT, lambda: self._state is STOPPED or pin.flushing
                )
            failure = self._window.failure
            if failure is not None and aborted is None:
                self.notify_event(EC_ERRORABORT, error_hresult(failure), failure)
        super().end_of_stream(pin)

    def _graph_aborted(self) -> str | None:
        """Why this graph aborted before the end of stream reached the sink (None: it did
        not): an error upstream sends end of stream after reporting EC_ERRORABORT."""
        graph = self.graph
        if graph is None:
            return None
        try:
            code = graph.WaitForCompletion(0)
        except COMError:
            return None
        if code in (EC_ERRORABORT, EC_USERABORT):
            name = "EC_ERRORABORT" if code == EC_ERRORABORT else "EC_USERABORT"
            return f"the producing graph ended with {name} upstream of {self.name}"
        return None


# -- raysrc ------------------------------------------------------------------------------------


@attrs.define
class _SourceProperties:
    channel: str | None = prop(
        None, kind=str, doc="the channel's name, which the producing raysink names (required)"
    )
    namespace: str = prop(DEFAULT_NAMESPACE, kind=str, doc="the Ray namespace of the channel")
    timeout: float = prop(
        10.0,
        kind=float,
        minimum=0.0,
        doc="seconds to wait for the channel and its type when connecting (0: no limit)",
    )
    buffers: int = prop(
        8,
        kind=int,
        minimum=1,
        maximum=1024,
        doc="samples the producer may have in flight here (downstream may ask for more)",
    )


_END = object()


class _RayStream(ReceivingStream):
    """raysrc's output pin: its streaming thread delivers the received samples themselves."""

    received_as = "the object store's"

    _filter: RaySource

    def __init__(self, filter: RaySource) -> None:
        super().__init__(filter, "Output")
        self._ready: deque[Any] = deque()
        self._slips = ReturnSlips()
        self._courier: threading.Thread | None = None
        self._attached: ConsumerLink | None = None
        self._ended = False  # end of stream (or an abort) came from the producer
        self._left = False

    @property
    def slips(self) -> ReturnSlips:
        """The received samples not yet released, and the credits to give back."""
        return self._slips

    def Active(self) -> None:
        """A new run: nothing received yet."""
        self._ready.clear()
        self._slips.open()
        self._ended = self._left = False
        super().Active()

    def Inactive(self) -> None:
        """Stop the thread, give back what it still had, then leave the channel."""
        try:
            super().Inactive()
        finally:
            while self._ready:
                item = self._ready.popleft()
                if isinstance(item, tuple):
                    item[0].Release()
            self._leave("the consuming graph stopped before the end of the stream")

    def _leave(self, reason: str) -> None:
        link, self._attached = self._attached, None
        self._slips.close()
        courier, self._courier = self._courier, None
        if courier is not None and courier is not threading.current_thread():
            courier.join(_HEARTBEAT + _RPC_MARGIN)
        if link is not None and not self._left:
            self._left = True
            link.detach(None if self._ended else reason)

    def Deliver(self, sample: Any) -> bool:
        """Deliver downstream; a failure there tells the producer at once (it stops too)."""
        try:
            return super().Deliver(sample)
        except Exception as exc:
            self._leave(f"the consuming graph failed downstream of {self._filter.name}: {exc}")
            raise

    def _attach(self) -> ConsumerLink:
        link = self._filter.consumer_link()
        credits = self.allocator.GetProperties().buffers
        link.attach(credits, self.ConnectionMediaType())
        self._attached = link
        courier = threading.Thread(
            target=self._give_back, args=(link,), name=f"{self._filter.name} credits", daemon=True
        )
        self._courier = courier
        courier.start()
        return link

    def _give_back(self, link: ConsumerLink) -> None:
        """The credits thread: return released samples' credits at once, and say something
        every _HEARTBEAT seconds anyway (the channel counts a silent consumer gone)."""
        slips = self._slips
        while True:
            tokens = slips.take(_HEARTBEAT)
            if slips.closed and not tokens:
                return
            try:
                link.give_back(tokens)
            except COMError as exc:
                log.info("%s: %s", self._filter.name, exc)
                return

    def next_sample(self) -> Any | None:
        """The next received sample, itself (attaching to the channel on the first call);
        None at the producer's end of stream or when stopping. A type change the producer
        made is made on this pin first."""
        stopping = self._stopping
        link = self._attached or self._attach()
        waited_since: float | None = None
        while not stopping.is_set():
            if self._ready:
                item = self._ready.popleft()
                if item is _END:
                    return None
                if isinstance(item, BaseException):
                    raise item
                pool = self._allocator
                if isinstance(pool, ReceivedPool):
                    pool.note(None if waited_since is None else time.monotonic() - waited_since)
                sample, media_type = item
                return self._typed(sample, media_type)
            entries = link.pull(0 if waited_since is None else _POLL)
            if not entries and waited_since is None:
                waited_since = time.monotonic()
            for kind, payload, _tokens in entries:
                self._unpack(link, kind, payload)
        return None

    def _unpack(self, link: ConsumerLink, kind: str, payload: Any) -> None:
        if kind == "samples":
            headers, buffers = link.fetch(payload)
            for header, data in zip(headers, buffers, strict=True):
                self._ready.append((_received_sample(header, data, self._slips), header[8]))
        elif kind == "end":
            self._ended = True
            self._ready.append(_END)
        else:
            self._ended = True
            self._ready.append(
                AbortError(message=f"{self._filter.name}: channel {link.name!r}: {payload}")
            )

    def _typed(self, sample: MediaSample, media_type: MediaType | None) -> MediaSample | None:
        """``sample``, after the pin changed to the ``media_type`` the producer's sample
        carried when it is another (VFW_E_TYPE_NOT_ACCEPTED when downstream refuses; None
        when a stop interrupts the change)."""
        if media_type is None or media_type == self.ConnectionMediaType():
            return sample
        try:
            changed = self.change_media_type(media_type)
        except BaseException:
            sample.Release()
            raise
        if not changed:
            sample.Release()
            return None
        return sample


class RaySource(SourceFilter, Element):
    """``raysrc``: delivers the samples the ``raysink`` of another graph sends through the
    channel ``channel``, in the raysink's type, read-only and without a copy on the same node
    (see the module docstring). ``channels`` (Python only) is where channels are found:
    `RayChannels` by default, or the `LocalChannels` the raysink uses."""

    Properties = _SourceProperties
    description = "Receives samples from a raysink in another Ray worker, without a copy"
    pin_templates = (PinTemplate("Output", OUT, "ANY"),)

    def __init__(
        self, *, name: str | None = None, channels: ChannelDirectory | None = None, **props: Any
    ) -> None:
        self.init_properties(props)
        self._directory: ChannelDirectory = channels if channels is not None else _RAY_CHANNELS
        self._id = f"raysrc-{uuid.uuid4().hex}"
        self._link: ConsumerLink | None = None
        self._announced: MediaType | None = None
        self._asked = False
        self._ask_failed = False
        super().__init__(name=name, buffers=1)
        self.remove_pin(self.output)
        self.output: _RayStream = self.add_pin(_RayStream(self))

    def Pause(self) -> None:
        """See `IMediaFilter.Pause`: ``channel`` must be set (ValueError)."""
        if self._state is STOPPED:
            _check_channel(self)
        super().Pause()

    def FillBuffer(self, sample: Any) -> bool:
        """Not used: the streaming thread delivers the received samples themselves."""
        return False

    def consumer_link(self) -> ConsumerLink:
        """The channel, found once (waiting up to ``timeout`` seconds for it; after a failed
        attempt the next ones look once without waiting)."""
        if self._link is None:
            channel = _check_channel(self)
            limit = self.props.timeout if not self._ask_failed else 1e-3
            try:
                self._link = self._directory.consumer(
                    channel, self.props.namespace, self._id, limit
                )
            except VfwTimeoutError:
                self._ask_failed = True  # the next looks do not wait; the message stays
                raise _lookup_timeout(channel, self.props.namespace, self.props.timeout) from None
        return self._link

    def producer_media_type(self) -> MediaType | None:
        """The raysink's connection type, asked once and kept until the output disconnects
        (None without ``channel``). Raises VfwTimeoutError when no channel of that name
        appears within ``timeout`` seconds, or it has no type yet."""
        if not self.props.channel:
            return None
        if not self._asked:
            link = self.consumer_link()
            limit = self.props.timeout if not self._ask_failed else 1e-3
            announced = link.media_type(limit or 1e9)
            if announced is None:
                self._ask_failed = True
                raise VfwTimeoutError(
                    message=f"{self.name}: channel {link.name!r} has no raysink with a "
                    f"connected input after {self.props.timeout:g} s"
                )
            self._announced, self._asked, self._ask_failed = announced, True, False
        return self._announced

    def GetMediaType(self, position: int) -> MediaType | None:
        """The raysink's type (`producer_media_type`) at 0."""
        return self.producer_media_type() if position == 0 else None

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """A fully specified type that fits the raysink's."""
        if media_type.is_partially_specified():
            return False
        announced = self.producer_media_type()
        return announced is None or _fits(media_type, announced)

    def break_connect(self, pin: BasePin) -> None:
        """The output disconnects: the next connection asks the channel again."""
        if pin is self.output and pin.is_connected():
            self._asked, self._announced = False, None
            link, self._link = self._link, None
            if link is not None:
                link.close()
        super().break_connect(pin)

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """A window of ``buffers`` samples (more if downstream asks), of the type's size (one
        second for audio), allocating nothing: no sample is ever taken from it."""
        media_type = self.output.ConnectionMediaType()
        size = media_type.sample_size
        if isinstance(media_type.format, WaveFormatEx):
            size = max(size, media_type.format.avg_bytes_per_sec)
        size = size or request.buffer_size or _FALLBACK_BUFFER_SIZE
        window = max(self.props.buffers, request.buffers)
        allocator.SetConfig(PoolConfig(size, 0, window, align=max(request.align, 1)))


# -- GraphActor --------------------------------------------------------------------------------


def _portable(report: RunReport) -> RunReport:
    """``report`` with its events as their plain text, so that it crosses processes (an
    event may hold what the graph was told: exceptions, filters)."""
    return attrs.evolve(report, events=[str(event) for event in report.events])


GraphSpec = str | Callable[[], FilterGraph]
"""A launch line, or a callable that builds and returns a connected `FilterGraph`."""


class GraphHost:
    """A graph in a worker, run in the background and asked about meanwhile: the body of
    `GraphActor`, and usable as it is in one process.

    ``graph`` is a launch line or a callable returning a `FilterGraph`; it is built by
    `build` (or the first `start`). `start` runs it (``run_graph`` on a thread of its own,
    stopping it at the end) and returns once it runs; `wait` returns its `RunReport`;
    `stop` ends it early (EC_USERABORT). `state`, `position` and `delivered` answer while it
    runs. It may run again after it ended.
    """

    def __init__(self, graph: GraphSpec) -> None:
        if not isinstance(graph, str) and not callable(graph):
            raise TypeError(f"a graph is a launch line or a callable, not {type(graph).__name__}")
        self._spec = graph
        self._graph: FilterGraph | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._report: RunReport | None = None
        self._error: BaseException | None = None

    @property
    def graph(self) -> FilterGraph | None:
        """The graph, once built."""
        return self._graph

    def build(self) -> str:
        """Build the graph (once); returns what it was built from. A bad launch line raises
        `LaunchError`; a callable that returns something else, TypeError."""
        with self._lock:
            if self._graph is None:
                spec = self._spec
                if isinstance(spec, str):
                    from dshow_alloc.launch import parse_launch

                    self._graph = parse_launch(spec).graph
                else:
                    built = spec()
                    if not isinstance(built, FilterGraph):
                        raise TypeError(
                            f"the graph callable returned {type(built).__name__}, not a FilterGraph"
                        )
                    self._graph = built
        spec = self._spec
        return spec if isinstance(spec, str) else getattr(spec, "__name__", repr(spec))

    def start(self, timeout: float | None = None) -> None:
        """Run the graph in the background (building it first); returns once it runs (or
        already ended). ``timeout`` seconds stop it (completion ``"timeout"``). A graph that
        cannot run raises here (VFW_E_WRONG_STATE when it runs already)."""
        self.build()
        graph = self._graph
        assert graph is not None
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise VfwWrongStateError(message="the graph runs already")
            self._report = self._error = None
            thread = threading.Thread(
                target=self._run, args=(graph, timeout), name="GraphHost run", daemon=True
            )
            self._thread = thread
        thread.start()
        while thread.is_alive() and graph.GetState(0) is STOPPED:
            thread.join(0.005)
        if not thread.is_alive() and self._error is not None:
            thread.join()
            error, self._error = self._error, None
            raise error

    def _run(self, graph: FilterGraph, timeout: float | None) -> None:
        try:
            self._report = _portable(run_graph(graph, timeout=timeout))
        except BaseException as exc:
            self._error = exc

    def wait(self, timeout: float | None = None) -> RunReport | None:
        """The run's report once it ended (None: still running after ``timeout`` seconds, or
        never started). An error that ended it is raised."""
        thread = self._thread
        if thread is None:
            return None
        thread.join(timeout)
        if thread.is_alive():
            return None
        if self._error is not None:
            raise self._error
        return self._report

    def run(self, timeout: float | None = None) -> RunReport | None:
        """`start`, then `wait` for the end."""
        self.start(timeout)
        return self.wait()

    def stop(self) -> RunReport | None:
        """End the run (EC_USERABORT) and return its report; None when it never ran."""
        thread, graph = self._thread, self._graph
        if thread is not None and thread.is_alive() and graph is not None:
            graph.Notify(EC_USERABORT, 0, None)
        return self.wait()

    def state(self) -> str:
        """The graph's state (``State_Running``...); ``unbuilt`` before `build`."""
        graph = self._graph
        return "unbuilt" if graph is None else graph.GetState(0).name

    def delivered(self) -> int:
        """Samples the graph's sources delivered in this run so far."""
        graph = self._graph
        if graph is None:
            return 0
        return sum(
            getattr(pin, "delivered", 0)
            for filter in graph.EnumFilters()
            if is_source(filter)
            for pin in filter.EnumPins()
        )

    def position(self) -> tuple[int, int] | None:
        """The graph's current position and duration (100 ns units); None when it cannot
        tell (no seekable source)."""
        graph = self._graph
        if graph is None:
            return None
        try:
            return graph.GetCurrentPosition(), graph.GetDuration()
        except COMError:
            return None

    def pid(self) -> int:
        """The process the graph runs in."""
        return os.getpid()

    def outstanding(self) -> int:
        """Samples away from their pools in this process (0 once a run ended cleanly)."""
        return sum(len(allocator.outstanding()) for allocator in live_allocators())


@functools.cache
def _graph_actor_class() -> Any:
    return _ray().remote(num_cpus=0, max_concurrency=8, max_restarts=0)(GraphHost)


def __getattr__(name: str) -> Any:
    if name == "GraphActor":
        return _graph_actor_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _unwrapped(exc: BaseException) -> BaseException:
    """The error a Ray task raised, out of Ray's wrapper."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _ray_get(ref: Any, timeout: float | None = None) -> Any:
    ray = _ray()
    try:
        return ray.get(ref, timeout=timeout)
    except ray.exceptions.RayTaskError as exc:
        raise _unwrapped(exc) from None


# -- pipelines across actors -------------------------------------------------------------------


@attrs.frozen
class StageLinks:
    """The channels of one pipeline stage, for a stage given as a callable."""

    inbound: str | None
    """The channel its raysrc reads (None: the first stage)."""
    outbound: str | None
    """The channel its raysink feeds (None: the last stage)."""


def _with_channels(line: str, links: StageLinks, index: int) -> str:
    """``line`` with ``channel=`` given to its raysink and raysrc that have none."""
    from dshow_alloc.launch import tokenize

    tokens = tokenize(line)
    inserts: list[tuple[int, str]] = []
    for position, token in enumerate(tokens):
        if token.bang or token.text not in ("raysink", "raysrc"):
            continue
        keys = []
        for following in tokens[position + 1 :]:
            if following.bang or "=" not in following.text:
                break
            keys.append(following.text.partition("=")[0])
        if "channel" in keys:
            continue
        channel = links.outbound if token.text == "raysink" else links.inbound
        if channel is None:
            side = "after" if token.text == "raysink" else "before"
            raise ValueError(
                f"stage {index}: {token.text} at column {token.offset} has no channel= and no "
                f"stage {side} it to link to"
            )
        if any(channel in text for _, text in inserts):
            raise ValueError(f"stage {index}: more than one {token.text} without channel=")
        inserts.append((token.end, f" channel={channel}"))
    for end, text in sorted(inserts, reverse=True):
        line = line[:end] + text + line[end:]
    return line


class RayPipeline:
    """One stream through several graphs, each in its own `GraphActor`, stage ``i``'s
    ``raysink`` feeding stage ``i + 1``'s ``raysrc``::

        with RayPipeline([
            "avsrc location=in.mp4 ! raysink",
            "raysrc ! invert ! raysink",
            "raysrc ! avsink location=out.mp4",
        ]) as pipeline:
            reports = pipeline.run()

    A stage is a launch line (a raysink or raysrc written without ``channel=`` gets the
    channel the pipeline made for that boundary) or a callable taking `StageLinks` and
    returning a `FilterGraph`. ``options`` are Ray actor options (one dict for all stages,
    or one per stage; default ``num_cpus=0``). Stages are built in order (each raysrc learns
    its type from the stage before), started last first, and the actors are killed when the
    pipeline closes. An error in any stage ends the others with EC_ERRORABORT.
    """

    def __init__(
        self,
        stages: Sequence[str | Callable[[StageLinks], FilterGraph]],
        *,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if isinstance(stages, str) or not stages:
            raise ValueError("a pipeline is a non-empty list of stages")
        count = len(stages)
        per_stage = _stage_options(options, count)
        tag = uuid.uuid4().hex[:12]
        self.channels = [f"pipeline-{tag}-{index}" for index in range(count - 1)]
        """The channel between stage i and i + 1, by i."""
        self.specs: list[GraphSpec] = []
        """What each stage's actor builds: the launch lines with their channels."""
        for index, stage in enumerate(stages):
            links = StageLinks(
                self.channels[index - 1] if index > 0 else None,
                self.channels[index] if index < count - 1 else None,
            )
            if isinstance(stage, str):
                self.specs.append(_with_channels(stage, links, index))
            elif callable(stage):
                self.specs.append(functools.partial(stage, links))
            else:
                raise TypeError(
                    f"stage {index} is a launch line or a callable, not {type(stage).__name__}"
                )
        actor = _graph_actor_class()
        self.actors: list[Any] = [
            actor.options(**opts).remote(spec)
            for spec, opts in zip(self.specs, per_stage, strict=True)
        ]
        """The stages' `GraphActor` handles, in order."""
        self._built = False

    def __enter__(self) -> RayPipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def build(self) -> None:
        """Build every stage, in order; the first error is raised with a note naming its
        stage."""
        if self._built:
            return
        for index, actor in enumerate(self.actors):
            try:
                _ray_get(actor.build.remote())
            except Exception as exc:
                exc.add_note(f"in stage {index} of the pipeline: {self.specs[index]!r}")
                raise
        self._built = True

    def start(self, timeout: float | None = None) -> None:
        """Build, then run every stage, the last first (``timeout`` seconds stop each)."""
        self.build()
        for actor in reversed(self.actors):
            _ray_get(actor.start.remote(timeout))

    def wait(self, timeout: float | None = None) -> list[RunReport | None]:
        """Every stage's report, in order, once all ended (None for one still running after
        ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        reports: list[RunReport | None] = []
        for actor in self.actors:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            reports.append(_ray_get(actor.wait.remote(left)))
        return reports

    def run(self, timeout: float | None = None) -> list[RunReport | None]:
        """`start`, then `wait` for every stage."""
        self.start(timeout)
        return self.wait()

    def stop(self) -> list[RunReport | None]:
        """End every stage (first first) and return the reports."""
        return [_ray_get(actor.stop.remote()) for actor in self.actors]

    def close(self) -> None:
        """Kill the stages' actors (their channels die with them)."""
        ray = _ray()
        actors, self.actors = self.actors, []
        for actor in actors:
            ray.kill(actor)


def _stage_options(
    options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None, count: int
) -> list[dict[str, Any]]:
    if options is None or isinstance(options, Mapping):
        return [{"num_cpus": 0, **(options or {})} for _ in range(count)]
    chosen = list(options)
    if len(chosen) != count:
        raise ValueError(f"{len(chosen)} option dicts for {count} stages")
    return [{"num_cpus": 0, **dict(opts)} for opts in chosen]


def run_pipeline(
    stages: Sequence[str | Callable[[StageLinks], FilterGraph]],
    *,
    timeout: float | None = None,
    options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> list[RunReport | None]:
    """Run a `RayPipeline` of ``stages`` to its end and return every stage's report."""
    with RayPipeline(stages, options=options) as pipeline:
        return pipeline.run(timeout)


# -- many inputs -------------------------------------------------------------------------------


@attrs.frozen
class InputResult:
    """What `run_many` did with one input."""

    input: str
    """The input (a path, or the mapping's ``input``)."""
    line: str
    """The launch line run for it."""
    report: RunReport | None
    """The run's report (None: the graph could not be built or run)."""
    error: str | None
    """Why it could not (None: it ran)."""

    @property
    def succeeded(self) -> bool:
        """True when the graph ran to EC_COMPLETE."""
        return self.report is not None and self.report.succeeded


def _fields(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, str | os.PathLike):
        path = Path(item)
        return {"input": os.fspath(item), "name": path.name, "stem": path.stem}
    raise TypeError(f"an input is a path or a mapping of fields, not {type(item).__name__}")


def _run_line(line: str, timeout: float | None) -> tuple[RunReport | None, str | None]:
    """A Ray task: build ``line`` and run it to its end."""
    from dshow_alloc.launch import parse_launch

    try:
        report = run_graph(parse_launch(line).graph, timeout=timeout)
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return _portable(report), None


@functools.cache
def _run_line_task() -> Any:
    return _ray().remote(_run_line)


def run_many(
    line: str,
    inputs: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
    *,
    timeout: float | None = None,
    num_cpus: float = 1,
    progress: bool = True,
    file: Any = None,
) -> list[InputResult]:
    """Run the launch line ``line`` once per input, as Ray tasks across the cluster, and
    return what each did, in input order, with a progress bar (tqdm; ``progress=False``:
    none) counting inputs done.

    ``line`` is a `str.format` template: a path input gives ``{input}`` (the path),
    ``{name}`` and ``{stem}``; a mapping input gives its own keys. Every line is formatted
    before anything runs (a missing field raises KeyError, nothing ran). ``num_cpus`` is what
    each task reserves (Ray runs as many at once as the cluster's CPUs allow); ``timeout``
    seconds stop each graph. A graph that cannot be built or run gives an `InputResult`
    with its ``error``; the others run on.
    """
    items = list(inputs)
    fields = [_fields(item) for item in items]
    lines = [line.format(**values) for values in fields]
    task = _run_line_task().options(num_cpus=num_cpus)
    refs = [task.remote(text, timeout) for text in lines]
    bar = _progress_bar(len(refs), file) if progress else None
    ray = _ray()
    try:
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
            if bar is not None and ready:
                bar.update(len(ready))
    finally:
        if bar is not None:
            bar.close()
    results = []
    for values, text, ref in zip(fields, lines, refs, strict=True):
        label = str(values.get("input", values))
        try:
            report, error = _ray_get(ref)
        except Exception as exc:
            report, error = None, f"{type(exc).__name__}: {exc}"
        results.append(InputResult(label, text, report, error))
    return results


def _progress_bar(total: int, file: Any) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    tqdm.monitor_interval = 0  # its monitor thread would outlive the run
    return tqdm(total=total, unit=" inputs", file=file, dynamic_ncols=True, leave=True)
