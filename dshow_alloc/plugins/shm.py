"""``shmsink`` and ``shmsrc``: the zero-copy path between two processes' graphs.

One process runs ``... ! shmsink socket-path=/tmp/video``; another runs ``shmsrc
socket-path=/tmp/video ! ...``, with no caps to type: shmsrc asks the sink for the stream's
type. The frames do not travel: ``shmsink`` makes its upstream fill samples in
``"SharedMemory"`` (memfd) blocks, and sends each sample's header over the Unix socket with
`dshow_alloc.ipc`; ``shmsrc`` maps the same pages read-only and delivers them as its own
samples, with their times, flags (sync point, discontinuity, preroll, ...) and metas
(``VIDEO_META`` and any whose fields are plain data). A sample stays out of the producer's pool
until the consumer's graph releases it, so a slow consumer paces the producer just as a slow
renderer would in one graph.

shmsink
    Creates the socket file at ``socket-path`` when it leaves Stopped (a stale socket file
    from a killed producer is replaced; a missing directory or another file there fails
    ``Pause`` with nothing changed) and removes it when it stops. It takes any media type.

    *Zero copy.* Its input pin proposes the ``"SharedMemory"`` memory allocator in the
    allocation proposal and offers a pool configured with it, so upstream's samples are
    shared memory from the start. A sample that still is not (a tee branch sharing another
    allocator, a filter with its own pool) is copied into a shared pool of the sink's own and
    counted in ``copies``.

    *Connections.* Every connection is greeted at once with the stream's media type (its
    input connection's type; after a type change, the new one), and is sent no sample until
    it asks for them (`dshow_alloc.ipc`'s READY). One that leaves without asking (a
    ``shmsrc`` learning the type while its graph is built, or one refusing the type) has
    taken nothing: the next reader gets the stream from where it is. Up to 8 connections
    wait at a time; more are closed at once.

    *Readers.* One reader at a time (GStreamer's shmsink serves several): the first
    connection that asks for samples is served; one that asks while another is served waits
    until that one leaves, then it is served from the next sample on. ``readers`` counts the
    readers served, not the connections that only asked the type.

    *wait-for-connection* (default true, as GStreamer's): while no reader is served, the
    sample waits (and upstream with it), until a reader asks for samples, the graph stops or
    a flush begins; so the producer neither starts before its reader nor loses frames. False
    drops the samples that arrive while nobody reads (``dropped`` counts them).

    *A reader that goes away mid-stream* (closes, crashes): the samples it held come home to
    their pool (``reclaimed`` counts them), and the sink carries on as it does before the
    first reader: it waits for the next reader (wait-for-connection) or drops. This is
    GStreamer's behaviour and lets a consumer restart without restarting the producer.

    *End of stream*: every sample was sent; the sink waits (up to 5 s) until the reader has
    released them, then closes the connection, which the reader sees as its end of stream,
    and only then reports EC_COMPLETE. A reader asking for samples after that sees end of
    stream at once (the type is still announced).

shmsrc
    *The type comes from the producer.* When its output pin connects (graph build time),
    shmsrc asks the shmsink at ``socket-path`` for the stream's type: it connects, reads the
    type from the greeting and leaves without taking a sample, waiting up to ``timeout``
    seconds for the sink to appear (then the connection fails with VFW_E_TIMEOUT, naming
    the path). The answer is kept until the output pin is disconnected; after a failed
    attempt, the next ones look once without waiting. Its output offers that type and
    accepts the types that fit it (a caps filter after shmsrc in a launch line narrows it;
    one that does not fit fails the link). ``caps`` still restricts: a type from the sink
    that does not fit them fails the connection with VFW_E_INVALIDMEDIATYPE naming both;
    caps that fix a whole type (``video/x-raw,format=I420,width=640,height=360``) are the
    type without asking, so the consumer's graph can be built before the producer runs; so
    can a whole type given to the connection (a caps filter after shmsrc) while the sink is
    not there, once the wait for it is over.

    *Streaming.* It connects again when streaming starts, retrying for up to ``timeout``
    seconds while nothing listens there yet (then EC_ERRORABORT with VFW_E_TIMEOUT); the same
    ``timeout`` bounds the wait for each sample (0: no limit). Before asking for samples it
    checks the sink's type against its output's: one that does not fit (the producer was
    restarted with another size) stops the stream with EC_ERRORABORT (VFW_E_INVALIDMEDIATYPE)
    saying both types, having taken nothing from the sink, so the next reader still gets every
    frame. A sample carrying another type later (a type change that does not fit), or a video
    frame whose size differs from the type's, stops the stream the same way.

    *Zero copy.* The samples it delivers are the received ones, whose memory is the
    producer's (`dshow_alloc.ipc.ReceivedMemory`, mapped read-only). They are marked
    read-only and the output pin tells downstream so (``NotifyAllocator(..., read_only=True)``),
    so an in-place filter downstream copies into its own allocator's samples instead of
    writing (``copies`` on that filter). The allocator the output pin negotiates is never
    filled: it exists to tell downstream the sample size (the connection type's sample size;
    one second for audio), which is what a filter that copies sizes its own samples by. Its
    statistics (the run report's allocator row) are those of the samples received: ``made``
    counts the producer's memory blocks mapped, ``served`` the samples delivered, ``waits``
    and ``blocked_seconds`` the waits for the producer's next sample.

    When the sink ends the stream (or its process exits), ``shmsrc`` delivers end of stream.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.caps import Caps, CapsError, caps_of
from dshow_alloc.filters import (
    ReceivedPool,
    ReceivingStream,
    RendererFilter,
    SourceFilter,
    copy_sample,
    join_streaming_thread,
    size_allocator,
)
from dshow_alloc.hresult import (
    COMError,
    VfwInvalidMediaTypeError,
    VfwNotCommittedError,
    VfwNotConnectedError,
    VfwTimeoutError,
    VfwWrongStateError,
)
from dshow_alloc.ipc import Listener, SampleReceiver, SampleSender, connect
from dshow_alloc.mediatype import MediaType, MEDIATYPE_Video, WaveFormatEx
from dshow_alloc.memory import SharedMemoryBlock, find_allocator
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BasePin
from dshow_alloc.plugins._common import IN, OUT, STOPPED, HoldsResource, path_prop, required
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import AllocatorProperties, FilterState

__all__ = ["ShmSink", "ShmSource"]

log = logging.getLogger(__name__)

_RUNNING = FilterState.State_Running

_POLL = 0.1
"""Seconds between looks at the state while waiting (a stop or flush is seen this fast)."""
_EOS_RELEASE_TIMEOUT = 5.0
"""Seconds shmsink waits at end of stream for its reader to release what it holds."""
_COPY_BUFFERS = 4
"""Samples in shmsink's own shared pool, for the samples it has to copy."""
_FALLBACK_BUFFER_SIZE = 65536
"""shmsrc's allocator sample size for a type that gives none."""
_MAX_PENDING = 8
"""Connections shmsink keeps while they have not asked for samples, or wait their turn."""
_DECIDING_POLL = 0.01
"""Seconds between shmsink's looks at a connection that has not asked for samples yet."""


class _FlushingError(Exception):
    """A flush began while shmsink waited: the sample is refused (``Receive`` returns False)."""


def _is_shared(sample: Any) -> bool:
    """True when every block of ``sample`` is shared memory another process can map."""
    if not isinstance(sample, MediaSample):
        return False
    return all(
        isinstance(sample.PeekMemory(index), SharedMemoryBlock)
        for index in range(sample.GetMemoryCount())
    )


class _SocketPath:
    """The ``socket_path`` attribute of both filters."""

    props: Any

    @property
    def socket_path(self) -> Path | None:
        """The ``socket-path`` property."""
        path: Path | None = self.props.socket_path
        return path


# -- shmsink ---------------------------------------------------------------------------------


@attrs.define
class _SinkProperties:
    socket_path: Path | None = path_prop(  # noqa: RUF009 (an attrs field)
        "the socket file to create; shmsrc connects to it (required)"
    )
    wait_for_connection: bool = prop(
        True, kind=bool, doc="hold the stream while no reader is connected (false: drop)"
    )


class ShmSink(_SocketPath, HoldsResource, RendererFilter, Element):
    """``shmsink``: hands every sample to a reader in another process through shared memory,
    without copying it (see the module docstring).

    Counters, reset when the filter leaves Stopped: ``sent`` (samples sent, also
    ``rendered``), ``dropped`` (no reader, wait-for-connection false), ``copies`` (samples
    that were not shared memory), ``readers`` (readers served: connections that asked for
    samples) and ``reclaimed`` (samples taken back from readers that went away or did not
    release them in time).
    """

    Properties = _SinkProperties
    description = "Sends samples to another process through shared memory, without a copy"
    pin_templates = (PinTemplate("In", IN, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)
        self._pool = MemAllocator(memory_allocator="SharedMemory", name=f"{self.name}.In")
        self._copy_pool: MemAllocator | None = None
        self._cond = threading.Condition()  # guards the fields below; never held while waiting
        self._listener: Listener | None = None  # on anything but a condition wait
        self._accept_thread: threading.Thread | None = None
        self._sender: SampleSender | None = None  # the reader served (it asked for samples)
        self._closing = False
        self._ended = False
        self._waiting = False
        self.sent = 0
        """Samples sent to readers."""
        self.dropped = 0
        """Samples dropped because no reader was connected (wait-for-connection false)."""
        self.copies = 0
        """Samples copied into shared memory because theirs was not."""
        self.readers = 0
        """Readers that connected and were served."""
        self.reclaimed = 0
        """Samples taken back from readers without their release."""

    @property
    def waiting_for_reader(self) -> bool:
        """True while a sample waits for a reader to connect (wait-for-connection)."""
        return self._waiting

    # -- state ---------------------------------------------------------------------------------

    def open_resource(self) -> None:
        """Leaving Stopped (in ``Pause``), create the socket first, so that a bad
        ``socket-path`` raises (``FileNotFoundError``, ``FileExistsError``, ``OSError``)
        with nothing changed; then reset the counters and start accepting readers."""
        path = required(
            self.props.socket_path, f"{self.name}: set socket-path, the socket file to create"
        )
        listener = Listener(path)
        thread = threading.Thread(
            target=self._accept_loop, args=(listener,), name=f"{self.name} accept", daemon=True
        )
        with self._cond:
            self._closing = self._ended = False
            self._listener, self._accept_thread = listener, thread
        self.sent = self.dropped = self.copies = self.readers = self.reclaimed = 0
        thread.start()

    def release_resource(self, *, failed: bool) -> None:
        """At Stop (or a failed pause): disconnect the reader (what it holds comes home) and
        remove the socket file."""
        self._shut_down()

    def _shut_down(self) -> None:
        with self._cond:
            self._closing = True
            listener, self._listener = self._listener, None
            thread, self._accept_thread = self._accept_thread, None
            sender, self._sender = self._sender, None
            copy_pool = self._copy_pool
            self._cond.notify_all()
        if listener is not None:
            listener.close()  # wakes the accept thread and removes the socket file
        join_streaming_thread(thread)
        if sender is not None:
            self._retire(sender)
        if copy_pool is not None:
            copy_pool.Decommit()

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Wake a sample waiting for a reader when stopping."""
        super().state_changed(old, new)
        with self._cond:
            self._cond.notify_all()

    # -- readers -------------------------------------------------------------------------------

    def _accept_loop(self, listener: Listener) -> None:
        """The accept thread: greet every connection with the stream's type, and serve the
        first one that asks for samples whenever no reader is served."""
        pending: list[SampleSender] = []  # greeted, not served; only this thread touches it
        try:
            while True:
                with self._cond:
                    if self._closing:
                        return
                self._serve_pending(pending)
                deciding = any(sender.connected and not sender.ready for sender in pending)
                try:
                    sock = listener.accept(timeout=_DECIDING_POLL if deciding else _POLL)
                except VfwTimeoutError:
                    continue
                except VfwNotConnectedError:
                    return  # the listener was closed: Stop
                except Exception as exc:
                    log.warning("%s: a reader could not connect: %s", self.name, exc)
                    continue
                sender = self._greet(sock, len(pending))
                if sender is not None:
                    pending.append(sender)
        finally:
            for sender in pending:
                sender.close(timeout=0)

    def _greet(self, sock: Any, waiting: int) -> SampleSender | None:
        """A sender on ``sock`` that announced the stream's type; None when refused."""
        if waiting >= _MAX_PENDING:
            log.warning("%s: %d connections wait already; one more closed", self.name, waiting)
            sock.close()
            return None
        try:
            media_type = self.input.ConnectionMediaType()
        except VfwNotConnectedError:
            media_type = None
        try:
            try:
                return SampleSender(sock, name=f"{self.name} sender", media_type=media_type)
            except ValueError as exc:  # the type cannot cross (InvalidArgError)
                log.warning("%s: the stream's type is not announced: %s", self.name, exc)
                return SampleSender(sock, name=f"{self.name} sender")
        except Exception as exc:
            sock.close()
            log.warning("%s: a reader's connection failed: %s", self.name, exc)
            return None

    def _serve_pending(self, pending: list[SampleSender]) -> None:
        """Close the connections that left without asking for samples (they took none);
        serve the first that asked, when no reader is served."""
        for sender in [sender for sender in pending if not sender.connected]:
            pending.remove(sender)
            log.debug("%s: process %d left without asking for samples", self.name, sender.peer_pid)
            sender.close(timeout=0)
        with self._cond:
            ended = self._ended
            busy = self._sender is not None and self._sender.connected
        if busy:
            return
        for sender in [sender for sender in pending if sender.ready]:
            pending.remove(sender)
            self._adopt(sender)
            if not ended:
                return  # the others wait for this reader to leave

    def _adopt(self, sender: SampleSender) -> None:
        """Serve ``sender``, which asked for samples."""
        with self._cond:
            refused = self._closing or self._ended
            old = None
            if not refused:
                old, self._sender = self._sender, sender
                self.readers += 1
                self._cond.notify_all()
        if refused:
            # After the end of stream (or while stopping) a reader sees end of stream at once.
            sender.close(timeout=0)
            return
        log.info("%s: reader process %d connected", self.name, sender.peer_pid)
        if old is not None:
            self._retire(old)

    def _retire(self, sender: SampleSender) -> None:
        """Close a sender this thread took out of ``_sender``; count what it took back."""
        sender.close(timeout=0)
        with self._cond:
            self.reclaimed += sender.reclaimed

    def _check_streaming(self, pin: BaseInputPin) -> None:
        if self._state is STOPPED:
            raise VfwWrongStateError(message=f"{self!r} stopped")
        if pin.flushing:
            raise _FlushingError

    def _reader(self, pin: BaseInputPin) -> SampleSender | None:
        """The connected reader's sender; None: none, and not waiting for one. A reader
        found gone is retired here."""
        while True:
            gone = None
            with self._cond:
                self._check_streaming(pin)
                sender = self._sender
                if sender is not None and sender.connected:
                    return sender
                if sender is not None:
                    self._sender, gone = None, sender
                elif not self.props.wait_for_connection:
                    return None
                else:
                    self._waiting = True
                    try:
                        self._cond.wait(_POLL)
                    finally:
                        self._waiting = False
            if gone is not None:
                log.info("%s: reader process %d went away", self.name, gone.peer_pid)
                self._retire(gone)

    def _drop_reader(self, sender: SampleSender) -> None:
        with self._cond:
            mine = self._sender is sender
            if mine:
                self._sender = None
        if mine:
            log.info("%s: reader process %d went away", self.name, sender.peer_pid)
            self._retire(sender)

    # -- streaming -----------------------------------------------------------------------------

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Wait for Run (a paused renderer holds its first sample), then send ``sample`` to
        the reader; see the module docstring for what happens without one."""
        if self._state is not _RUNNING and not self._wait_until_due(pin, sample):
            return False
        try:
            sent = self._send_or_drop(pin, sample)
        except _FlushingError:
            return False
        except VfwWrongStateError:
            raise  # stopping: not an error of the stream
        except Exception as exc:
            pin.stream_error(exc)
            raise
        if sent:
            self.rendered += 1
        return True

    def DoRenderSample(self, sample: Any) -> None:
        """Send ``sample`` to the reader (waiting for one, or dropping it, as configured)."""
        try:
            self._send_or_drop(self.input, sample)
        except _FlushingError:
            return

    def _send_or_drop(self, pin: BaseInputPin, sample: Any) -> bool:
        """True when sent, False when dropped; raises _FlushingError or VfwWrongStateError when a
        flush or stop interrupts."""
        copy: MediaSample | None = None
        try:
            while True:
                sender = self._reader(pin)
                if sender is None:
                    self.dropped += 1
                    return False
                if copy is None and not _is_shared(sample):
                    copy = self._copy(pin, sample)
                try:
                    self._send(pin, sender, copy if copy is not None else sample)
                except VfwNotConnectedError:
                    self._drop_reader(sender)  # then wait for the next reader, or drop
                    continue
                self.sent += 1
                return True
        finally:
            if copy is not None:
                copy.Release()

    def _send(self, pin: BaseInputPin, sender: SampleSender, sample: MediaSample) -> None:
        # A reader greeted with another type than the stream's now (the type changed while it
        # waited its turn) gets the type on its next sample, put on it only while send() reads
        # it. Hot path: usually the very object it was told.
        told, current = sender.media_type, pin.ConnectionMediaType()
        tag = (
            told is not None
            and told is not current
            and told != current
            and sample.GetMediaType() is None
        )
        if tag:
            sample.SetMediaType(current)
        try:
            while True:
                try:
                    sender.send(sample, timeout=_POLL)
                    break
                except VfwTimeoutError:  # the reader is not reading: look at the state
                    self._check_streaming(pin)
        finally:
            if tag:
                sample.SetMediaType(None)

    def _copy(self, pin: BaseInputPin, sample: Any) -> MediaSample:
        """A copy of ``sample`` in a sample of the sink's shared pool (waiting for one)."""
        pool = self._copy_pool_for(max(sample.GetActualDataLength(), 1))
        while True:
            self._check_streaming(pin)
            try:
                copy: MediaSample = pool.GetBuffer(timeout=_POLL)
                break
            except VfwTimeoutError:
                continue  # every copy is with the reader
            except VfwNotCommittedError:
                self._check_streaming(pin)
                raise
        try:
            copy_sample(sample, copy)
            media_type = sample.GetMediaType()
            if media_type is not None:
                copy.SetMediaType(media_type)
        except BaseException:
            copy.Release()
            raise
        self.copies += 1
        return copy

    def _copy_pool_for(self, size: int) -> MemAllocator:
        with self._cond:
            if self._closing:
                raise VfwWrongStateError(message=f"{self!r} stopped")
            pool = self._copy_pool
            if pool is None or pool.GetProperties().buffer_size < size:
                if pool is not None:
                    pool.Decommit()  # its samples are freed as they come home
                pool = MemAllocator(memory_allocator="SharedMemory", name=f"{self.name} copies")
                pool.SetProperties(AllocatorProperties(_COPY_BUFFERS, size, 1))
                self._copy_pool = pool
            pool.Commit()
            return pool

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Close the connection once the reader released everything (it sees end of stream),
        then report completion."""
        with self._cond:
            self._ended = True
            sender, self._sender = self._sender, None
            self._cond.notify_all()
        if sender is not None:
            deadline = time.monotonic() + _EOS_RELEASE_TIMEOUT
            while not sender.wait_idle(_POLL):
                if self._state is STOPPED or pin.flushing or time.monotonic() >= deadline:
                    break
            self._retire(sender)
        super().end_of_stream(pin)

    def begin_flush(self, pin: BaseInputPin) -> None:
        """Wake a sample waiting for a reader (it is refused)."""
        super().begin_flush(pin)
        with self._cond:
            self._cond.notify_all()

    def end_flush(self, pin: BaseInputPin) -> None:
        """A new stream follows: readers are served again."""
        super().end_flush(pin)
        with self._cond:
            self._ended = False

    # -- allocation ----------------------------------------------------------------------------

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Ask for ``"SharedMemory"`` memory (GStreamer's shmsink proposes its allocator)."""
        query.add_param(find_allocator("SharedMemory"))

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        """A pool whose samples are shared memory."""
        return self._pool


# -- shmsrc ----------------------------------------------------------------------------------


@attrs.define
class _SourceProperties:
    socket_path: Path | None = path_prop(  # noqa: RUF009 (an attrs field)
        "the socket file of the shmsink to read from (required)"
    )
    timeout: float = prop(
        10.0,
        kind=float,
        minimum=0.0,
        doc="seconds to wait for the shmsink (when the graph is built, to learn the type, and "
        "when streaming starts) and for each sample (0: no limit)",
    )
    caps: str | None = prop(
        None,
        kind=str,
        doc="restrict the stream's type, e.g. video/x-raw,format=I420 (a whole type: the type, "
        "without asking the shmsink)",
    )


def _fits(expected: MediaType, sent: MediaType) -> bool:
    """Whether the producer's type ``sent`` is the stream ``expected`` describes (a field
    ``expected`` leaves open, such as a framerate of 0, takes any value)."""
    if expected == sent:
        return True
    try:
        return Caps.parse(caps_of(expected)).matches(sent)
    except CapsError:
        return expected.matches(sent)


class _ShmStream(ReceivingStream):
    """shmsrc's output pin: its streaming thread delivers the received samples themselves."""

    received_as = "samples are mapped"

    _filter: ShmSource

    def __init__(self, filter: ShmSource) -> None:
        super().__init__(filter, "Output")
        self._receiver: SampleReceiver | None = None
        self._mapped = 0  # the receiver's mappings already counted in the pool
        self._last = 0.0  # when the last sample arrived (monotonic seconds)

    def Inactive(self) -> None:
        """Stop the thread, then disconnect from the sink."""
        try:
            super().Inactive()
        finally:
            receiver, self._receiver = self._receiver, None
            if receiver is not None:
                receiver.close()

    def next_sample(self) -> Any | None:
        """The next sample the sink sends, itself (connecting on the first call); None when
        the sink ended the stream or the pin is stopping. No sample for ``timeout`` seconds
        raises VFW_E_TIMEOUT; a sink or a sample of another type VFW_E_INVALIDMEDIATYPE."""
        source, stopping = self._filter, self._stopping
        receiver = self._receiver
        if receiver is None:
            receiver = source.connect_to_sink(stopping, self.ConnectionMediaType())
            if receiver is None:
                return None  # stopping, or the sink closed before greeting
            self._receiver, self._mapped = receiver, 0
            self._last = time.monotonic()
        limit = source.props.timeout
        waited_since: float | None = None
        while not stopping.is_set():
            try:
                # First a look (the sample is often there already), then waits of _POLL.
                sample = receiver.receive(timeout=0 if waited_since is None else _POLL)
            except VfwTimeoutError:
                now = time.monotonic()
                if waited_since is None:
                    waited_since = now
                elif limit and now - self._last >= limit:
                    raise VfwTimeoutError(
                        message=f"{source.name}: no sample from {source.socket_path} for {limit} s"
                    ) from None
                continue
            if sample is None:
                return None  # the sink ended the stream, or its process exited
            self._last = time.monotonic()
            try:
                source.check_sample(sample, self.ConnectionMediaType())
            except BaseException:
                sample.Release()
                raise
            pool = self._allocator
            if isinstance(pool, ReceivedPool):
                mapped = receiver.mapped
                waited = None if waited_since is None else self._last - waited_since
                pool.note(waited, made=mapped - self._mapped)
                self._mapped = mapped
            return sample
        return None


class ShmSource(_SocketPath, SourceFilter, Element):
    """``shmsrc``: delivers the samples a ``shmsink`` in another process sends, without
    copying them, in the type the sink announces (see the module docstring)."""

    Properties = _SourceProperties
    description = "Receives samples from a shmsink in another process, without a copy"
    pin_templates = (PinTemplate("Output", OUT, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        caps = Caps.parse(self.props.caps) if self.props.caps is not None else None
        self._caps = caps
        self._caps_type = caps.media_type() if caps is not None else None
        # What the sink announced, kept until the output pin disconnects (_asked: known).
        self._announced: MediaType | None = None
        self._asked = False
        self._ask_error: COMError | None = None  # the last attempt's failure
        super().__init__(name=name, media_type=self._caps_type, buffers=1)
        self.remove_pin(self.output)
        self.output: _ShmStream = self.add_pin(_ShmStream(self))

    def Pause(self) -> None:
        """See `IMediaFilter.Pause`: ``socket-path`` must be set (ValueError)."""
        if self._state is STOPPED and self.props.socket_path is None:
            raise ValueError(f"{self.name}: set socket-path, the socket of the shmsink to read")
        super().Pause()

    def FillBuffer(self, sample: Any) -> bool:
        """Not used: the streaming thread delivers the received samples themselves."""
        return False

    # -- the type ------------------------------------------------------------------------------

    def sink_media_type(self) -> MediaType | None:
        """The type the shmsink at ``socket-path`` announces (None: none, or no
        ``socket-path``), asked once and kept until the output pin disconnects.

        Waits up to ``timeout`` seconds for the sink to appear (after a failed attempt, the
        next ones look once without waiting). Raises VfwTimeoutError when it does not, and
        VfwInvalidMediaTypeError for a type that does not fit ``caps``.
        """
        path = self.props.socket_path
        if path is None:
            return None
        if not self._asked:
            self._announced = self._ask(path)
            self._asked = True
        announced = self._announced
        if announced is not None and self._caps is not None and not self._caps.matches(announced):
            raise VfwInvalidMediaTypeError(
                message=f"{self.name}: the shmsink at {path} sends {caps_of(announced)}, which "
                f"does not fit caps={self.props.caps}"
            )
        return announced

    def _ask(self, path: Path) -> MediaType | None:
        """Connect, read the type from the sink's greeting, and leave without asking for
        samples (the sink sends none)."""
        limit = self.props.timeout or None
        retry = self._ask_error is None
        try:
            try:
                sock = connect(path, timeout=limit if retry else 0)
            except VfwTimeoutError:
                waited = f"after {limit} s" if retry else "(looked once; nor was it before)"
                raise VfwTimeoutError(
                    message=f"{self.name}: nothing listens at {path} {waited}, so the stream's "
                    "type is unknown: run the shmsink's graph first, or give shmsrc caps= the "
                    "whole type"
                ) from None
            receiver = SampleReceiver(sock, start=False)
            try:
                announced = receiver.handshake(timeout=limit)
            except COMError as exc:
                raise type(exc)(
                    message=f"{self.name}: the shmsink at {path} did not announce its type "
                    f"({exc.message})"
                ) from None
            finally:
                receiver.close()
        except COMError as exc:
            self._ask_error = exc
            raise
        self._ask_error = None
        log.info("%s: the shmsink at %s sends %s", self.name, path, _caps_or_none(announced))
        return announced

    def GetMediaType(self, position: int) -> MediaType | None:
        """The type ``caps`` fix when they fix a whole one; else the type the shmsink
        announces (`sink_media_type`)."""
        if position != 0:
            return None
        if self._caps_type is not None:
            return self._caps_type
        return self.sink_media_type()

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """A fully specified type that fits ``caps`` when set, and the type the shmsink
        announces (unless ``caps`` fix the type). When the sink cannot be asked (not
        there), the type is taken as given: streaming checks it against the sink's."""
        if media_type.is_partially_specified():
            return False
        if self._caps is not None and not self._caps.matches(media_type):
            return False
        if self._caps_type is None:
            try:
                announced = self.sink_media_type()
            except (VfwTimeoutError, VfwNotConnectedError):
                return True
            if announced is not None and not _fits(media_type, announced):
                return False
        return True

    def break_connect(self, pin: BasePin) -> None:
        """A connection of the output pin ends: the next one asks the sink for its type
        again."""
        if pin.is_connected():
            self._asked, self._announced = False, None
        super().break_connect(pin)

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """One sample of the type's size (one second for audio): the size filters that copy
        the received samples use for theirs."""
        media_type = self.output.ConnectionMediaType()
        size = media_type.sample_size
        if isinstance(media_type.format, WaveFormatEx):
            size = max(size, media_type.format.avg_bytes_per_sec)
        size = size or request.buffer_size or _FALLBACK_BUFFER_SIZE
        wanted = AllocatorProperties(1, request.buffer_size, request.align, request.prefix)
        size_allocator(allocator, wanted, buffers=1, buffer_size=size)

    # -- streaming -----------------------------------------------------------------------------

    def connect_to_sink(
        self, stopping: threading.Event, expected: MediaType
    ) -> SampleReceiver | None:
        """Connect to ``socket-path`` (retrying for ``timeout`` seconds), check the type the
        sink announces against ``expected`` and ask for samples. None when ``stopping`` is set
        first, or when the sink closes before greeting (its stream is over).

        Raises:
            VfwTimeoutError: nothing listens there, or the sink did not greet, in time.
            VfwInvalidMediaTypeError: the sink's type does not fit ``expected``; the
                connection was closed before asking for a sample, so the sink sent none.
        """
        path = self.props.socket_path
        limit = self.props.timeout
        deadline = time.monotonic() + limit if limit else None
        receiver: SampleReceiver | None = None
        while receiver is None and not stopping.is_set():
            left = _POLL if deadline is None else max(0.0, min(_POLL, deadline - time.monotonic()))
            try:
                receiver = SampleReceiver(connect(path, timeout=left), start=False)
            except VfwTimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise VfwTimeoutError(
                        message=f"{self.name}: nothing listens at {path} after {limit} s "
                        "(is the shmsink's graph running?)"
                    ) from None
        try:
            while receiver is not None and not stopping.is_set():
                try:
                    announced = receiver.handshake(timeout=_POLL)
                except VfwTimeoutError:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise VfwTimeoutError(
                            message=f"{self.name}: the shmsink at {path} did not greet within "
                            f"{limit} s"
                        ) from None
                    continue
                except VfwNotConnectedError:
                    log.info("%s: the shmsink at %s closed before greeting", self.name, path)
                    break
                if announced is not None and not _fits(expected, announced):
                    raise self._mismatch(announced, expected)
                receiver.start()
                log.info("%s: connected to process %d", self.name, receiver.peer_pid)
                result, receiver = receiver, None
                return result
            return None
        finally:
            if receiver is not None:
                receiver.close()  # it asked for nothing: the sink sent nothing

    def _mismatch(self, sent: MediaType, expected: MediaType) -> VfwInvalidMediaTypeError:
        return VfwInvalidMediaTypeError(
            message=f"{self.name}: the producer sends {caps_of(sent)}, but this shmsrc's "
            f"output is {caps_of(expected)}; build the graph again while the producer runs "
            "(shmsrc takes its type), or give shmsrc caps= (or the caps filter after it) the "
            "producer's type"
        )

    def check_sample(self, sample: Any, expected: MediaType) -> None:
        """Refuse a sample that does not belong to the connection type ``expected``
        (VfwInvalidMediaTypeError); a type it carries that fits is taken off it."""
        sent = sample.GetMediaType()
        if sent is not None:
            if not _fits(expected, sent):
                raise self._mismatch(sent, expected)
            sample.SetMediaType(None)  # the connection type already says it
        length = sample.GetActualDataLength()
        if (
            expected.major_type == MEDIATYPE_Video
            and expected.fixed_size_samples
            and expected.sample_size
            and length != expected.sample_size
        ):
            raise VfwInvalidMediaTypeError(
                message=f"{self.name}: a frame of {length} bytes, but {caps_of(expected)} "
                f"frames are {expected.sample_size} bytes; check shmsrc's caps"
            )
        wave = expected.format
        if isinstance(wave, WaveFormatEx) and wave.block_align and length % wave.block_align:
            raise VfwInvalidMediaTypeError(
                message=f"{self.name}: {length} bytes of audio is not whole frames of "
                f"{wave.block_align} bytes ({caps_of(expected)}); check shmsrc's caps"
            )


def _caps_or_none(media_type: MediaType | None) -> str:
    """``caps_of(media_type)``, or ``"no type"``."""
    return "no type" if media_type is None else caps_of(media_type)
