"""The consuming end of the sample protocol: `SampleReceiver`, and the read-only
`ReceivedMemory` blocks (with their `ReceivedMemoryAllocator`) it maps the sender's memory
into (see the `dshow_alloc.ipc` package docstring).
"""

from __future__ import annotations

import logging
import mmap
import os
import select
import socket
import threading
import time
import warnings
from collections.abc import Iterator

from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    COMError,
    FailError,
    NotImplError,
    VfwNotConnectedError,
    VfwTimeoutError,
)
from dshow_alloc.ipc.transport import (
    _ANCILLARY,
    _DEFAULT_RELEASE_TIMEOUT,
    _GONE,
    _RECV_FLAGS,
    _SEND_FLAGS,
    _check_socket,
    _check_timeout,
    _close_fds,
    _peer_credentials,
    _received_fds,
    _remaining,
    _send_message,
    _shutdown,
)
from dshow_alloc.ipc.wire import (
    _BLOCK_FORMAT,
    _FORGET,
    _HELLO,
    _HELLO_FORMAT,
    _ID_FORMAT,
    _MAGIC,
    _MAX_BLOCKS,
    _MAX_MESSAGE,
    _READY,
    _RELEASE,
    _RELEASE_FORMAT,
    _ROLE_RECEIVER,
    _ROLE_SENDER,
    _SAMPLE,
    _SAMPLE_FORMAT,
    PROTOCOL_VERSION,
    _hello_payload,
    _load_media_type,
    _load_metas,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.memory import AllocationParams, AllocatorFlags, Memory, MemoryFlags
from dshow_alloc.meta import add_portable_metas
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import AM_SAMPLE_TYPECHANGED, SAMPLE_MEDIA_TIME_VALID
from interfaces import IMemory, IMemoryAllocator

__all__ = ["ReceivedMemory", "ReceivedMemoryAllocator", "SampleReceiver"]

log = logging.getLogger("dshow_alloc.ipc")

# -- the receiver ------------------------------------------------------------------------------


class _Ticket:
    """One received sample: its sender's token and how many of its blocks are still alive."""

    __slots__ = ("receiver", "remaining", "token")

    def __init__(self, receiver: SampleReceiver, token: int, remaining: int) -> None:
        self.receiver = receiver
        self.token = token
        self.remaining = remaining


class ReceivedMemory(Memory):
    """A read-only `Memory` in this process's mapping of another process's shared block.

    Made by `SampleReceiver.receive`; its final ``Release`` (once every block of its sample has
    had one) sends the release message that lets the sender's sample go home.
    """

    __slots__ = ("_ticket",)

    _ticket: _Ticket

    def _init_child(self, child: Memory) -> None:
        assert isinstance(child, ReceivedMemory)
        child._ticket = self._ticket


@implementer(IMemoryAllocator)
class ReceivedMemoryAllocator(ComObject):
    """``"ReceivedSharedMemory"``: the allocator of every `ReceivedMemory`.

    It allocates nothing (``CUSTOM_ALLOC``; ``Alloc`` raises ``NotImplError``, and ``Copy`` of
    its memories comes from the default allocator); its ``Free`` reports the final release of a
    received block to the receiver it came from.
    """

    __slots__ = ("flags", "mem_type")

    mem_type: str
    flags: AllocatorFlags

    def __init__(self) -> None:
        super().__init__()
        self.mem_type = "ReceivedSharedMemory"
        self.flags = AllocatorFlags.CUSTOM_ALLOC | AllocatorFlags.NO_COPY

    def Alloc(self, size: int, params: AllocationParams | None = None) -> IMemory:
        """Refused: received memory comes only from `SampleReceiver.receive`."""
        raise NotImplError(message="received shared memory cannot be allocated here")

    def Free(self, memory: IMemory) -> None:
        """See `IMemoryAllocator.Free`: the last freed block of a sample releases it."""
        if not isinstance(memory, ReceivedMemory):
            raise TypeError(f"Free takes a ReceivedMemory, not {type(memory).__name__}")
        if memory.parent is None:
            ticket = memory._ticket
            ticket.receiver._block_freed(ticket)


_received_allocator = ReceivedMemoryAllocator()
_flags_cache: dict[int, MemoryFlags] = {}


def _read_only_flags(flags: int) -> MemoryFlags:
    """A sender's block flags plus READONLY (cached: enum arithmetic is slow per frame)."""
    found = _flags_cache.get(flags)
    if found is None:
        found = MemoryFlags(flags) | MemoryFlags.READONLY
        if len(_flags_cache) < 256:
            _flags_cache[flags] = found
    return found


class SampleReceiver:
    """The consuming end: receives samples, and tells the sender when each is released.

    Takes over ``sock`` (see `socket_pair`, `connect`, `Listener.accept`). Starts no thread:
    messages are read by `handshake` and `receive`, release messages are sent by the final
    ``Release`` of each received sample, on the releasing thread. A context manager, and an
    iterator over the samples until end of stream::

        with SampleReceiver(connect(address)) as receiver:
            for sample in receiver:
                with sample:
                    use(sample.GetPointer())

    ``start`` (default True) asks the sender for samples at once (READY). With
    ``start=False`` nothing is asked until `start` (or the first `receive`): read the
    stream's type with `handshake` first, and `close` without starting to leave having taken
    nothing from the sender::

        receiver = SampleReceiver(connect(address), start=False)
        if fits(receiver.handshake(timeout=5)):
            receiver.start()
        else:
            receiver.close()  # the sender sent nothing

    ``release_timeout`` bounds how long a ``Release`` waits for room in the socket to send its
    release message (the sender's reader normally drains it at once); after that the message
    is dropped with a warning, and the sender gets the sample back when the connection ends.
    """

    __slots__ = (
        "__weakref__",
        "_buffer",
        "_closed",
        "_ended",
        "_greeted",
        "_mapped",
        "_mappings",
        "_media_type",
        "_poller",
        "_received",
        "_recv_lock",
        "_send_lock",
        "_sock",
        "_started",
        "_ticket_lock",
        "peer_pid",
        "release_timeout",
    )

    def __init__(
        self,
        sock: socket.socket,
        *,
        release_timeout: float = _DEFAULT_RELEASE_TIMEOUT,
        start: bool = True,
    ) -> None:
        sock = _check_socket(sock)
        checked = _check_timeout(release_timeout)
        if checked is None:
            raise TypeError("release_timeout must be a number of seconds")
        sock.setblocking(True)
        self._sock = sock
        self.release_timeout = checked
        self.peer_pid: int = _peer_credentials(sock)[0]
        """The process id of the sender, from the socket's peer credentials (for a
        `socket_pair`, Linux reports the process that made the pair)."""
        self._recv_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._ticket_lock = threading.Lock()
        self._mappings: dict[int, mmap.mmap] = {}
        self._buffer = bytearray(_MAX_MESSAGE)
        self._poller = select.poll()
        self._poller.register(sock.fileno(), select.POLLIN)
        self._greeted = False
        self._media_type: MediaType | None = None
        self._started = False
        self._ended = False
        self._closed = False
        self._received = 0
        self._mapped = 0
        try:
            hello = _HELLO_FORMAT.pack(_HELLO, _MAGIC, PROTOCOL_VERSION, _ROLE_RECEIVER)
            _send_message(sock, hello, [], time.monotonic() + self.release_timeout)
        except _GONE:
            pass  # the sender is gone already: receive() reports end of stream
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ended" if self._ended else "open"
        return f"<SampleReceiver from pid {self.peer_pid} {state} received={self._received}>"

    def __enter__(self) -> SampleReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[MediaSample]:
        while (sample := self.receive()) is not None:
            yield sample

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            warnings.warn(f"{self!r} was not closed", ResourceWarning, stacklevel=1)

    # -- the handshake ---------------------------------------------------------------------------

    def handshake(self, timeout: float | None = None) -> MediaType | None:
        """The media type the sender announced in its HELLO (None: it announced none),
        waiting for the HELLO if it has not been read yet. Takes no sample.

        Raises:
            VfwTimeoutError: no HELLO within ``timeout`` seconds (None: wait).
            VfwNotConnectedError: the sender closed (or this receiver was closed) before its
                HELLO came.
            FailError: the sender broke the protocol; the connection is closed.
        """
        timeout = _check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._recv_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise VfwTimeoutError(message=f"another receive held the receiver for {timeout} s")
        try:
            while not self._greeted:
                if self._ended or self._closed:
                    raise VfwNotConnectedError(
                        message=f"the sender (process {self.peer_pid}) closed before its HELLO"
                    )
                self._read_one(deadline, timeout, "no HELLO from the sender")
            return self._media_type
        finally:
            self._recv_lock.release()

    def start(self) -> None:
        """Ask the sender for samples (the READY message); later calls do nothing. The
        constructor calls it unless given ``start=False``; so does the first `receive`."""
        if self._started:
            return
        message = bytes([_READY])
        try:
            with self._send_lock:
                if self._started or self._closed:
                    return
                self._started = True
                _send_message(self._sock, message, [], time.monotonic() + self.release_timeout)
        except (VfwTimeoutError, OSError):
            pass  # the sender is gone or not reading: receive() reports how the stream ends

    # -- receiving -----------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> MediaSample | None:
        """The next sample (count 1, yours to ``Release``), or None at end of stream. Asks
        the sender for samples first if nobody did (`start`).

        End of stream: the sender closed or died, or this receiver was closed (also by another
        thread while this call waits). Every later call returns None at once.

        Raises:
            VfwTimeoutError: no sample arrived within ``timeout`` seconds (None: wait).
            FailError: the sender broke the protocol; the connection is closed (later calls
                return None).
        """
        timeout = _check_timeout(timeout)
        if not self._started:
            self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._recv_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise VfwTimeoutError(message=f"another receive held the receiver for {timeout} s")
        try:
            while True:
                if self._ended or self._closed:
                    return None
                sample = self._read_one(deadline, timeout, "no sample")
                if sample is not None:
                    self._received += 1
                    return sample
        finally:
            self._recv_lock.release()

    def _read_one(
        self, deadline: float | None, timeout: float | None, missing: str
    ) -> MediaSample | None:
        """Read and handle one message; the sample if it was one. ``missing`` names what
        did not come, for the timeout's message."""
        sock = self._sock
        buffer = self._buffer
        while True:
            # Wait first: a consumer is usually quicker than its producer, so the message is
            # usually not there yet (and a failed non-blocking read costs an exception).
            left = _remaining(deadline)
            if not self._poller.poll(None if left is None else int(left * 1000 + 0.999)):
                if deadline is not None and time.monotonic() >= deadline:
                    raise VfwTimeoutError(message=f"{missing} within {timeout} s")
                continue
            try:
                size, ancillary, flags, _addr = sock.recvmsg_into([buffer], _ANCILLARY, _RECV_FLAGS)
                break
            except BlockingIOError:
                continue
            except OSError:  # reset by a dying sender, or closed under us
                self._end()
                return None
        fds = _received_fds(ancillary) if ancillary else []
        try:
            if size == 0:
                self._end()
                return None
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise self._broken("a message too large for the protocol")
            view = memoryview(buffer)[:size]
            if not self._greeted:
                payload = _hello_payload(view, _ROLE_SENDER, repr(self))
                if payload is None:
                    raise self._broken("no valid HELLO")
                try:
                    self._media_type = _load_media_type(payload) if payload else None
                except Exception as exc:
                    raise self._broken(f"a HELLO with a malformed media type ({exc!r})") from exc
                self._greeted = True
                return None
            kind = buffer[0]
            if kind == _SAMPLE:
                owned, fds = fds, []  # _build closes them, whatever happens
                return self._build(view, owned)
            if kind == _FORGET and size > 1 and (size - 1) % _ID_FORMAT.size == 0:
                for (mem_id,) in _ID_FORMAT.iter_unpack(view[1:]):
                    self._mappings.pop(mem_id, None)
                return None
            raise self._broken(f"unexpected message kind {kind}")
        finally:
            _close_fds(fds)

    def _broken(self, what: str) -> FailError:
        _shutdown(self._sock, socket.SHUT_RDWR)  # the sender takes back what it sent
        self._end()
        return FailError(message=f"protocol error from process {self.peer_pid}: {what}")

    def _build(self, view: memoryview, fds: list[int]) -> MediaSample:
        """A sample from a SAMPLE message; takes over ``fds`` (closes them in every case)."""
        try:
            (
                _kind,
                token,
                sample_flags,
                type_flags,
                stream_id,
                actual,
                start,
                stop,
                media_start,
                media_stop,
                media_type_size,
                metas_size,
                count,
            ) = _SAMPLE_FORMAT.unpack_from(view)
            offset = _SAMPLE_FORMAT.size
            entries = [
                _BLOCK_FORMAT.unpack_from(view, offset + index * _BLOCK_FORMAT.size)
                for index in range(count)
            ]
            offset += count * _BLOCK_FORMAT.size
            if offset + media_type_size + metas_size != len(view) or count > _MAX_BLOCKS:
                raise ValueError("inconsistent sizes")
            media_type = (
                _load_media_type(view[offset : offset + media_type_size])
                if media_type_size
                else None
            )
            metas = _load_metas(view[offset + media_type_size :]) if metas_size else None
            news = [entry[-1] for entry in entries]
            if (
                news.count(1) != len(fds)
                or news.count(0) + len(fds) != count
                or (count and not token)
            ):
                raise ValueError("file descriptors do not match the blocks")
            if media_type is not None:
                sample_flags |= AM_SAMPLE_TYPECHANGED  # it accompanies a media type
            # The media-time bit says the two media times are set; the rest is checked by
            # the sample itself, as SetProperties checks it (MediaSample._set_carried).
            media_time = (
                (media_start, media_stop) if sample_flags & SAMPLE_MEDIA_TIME_VALID else None
            )
            sample_flags &= ~SAMPLE_MEDIA_TIME_VALID
        except Exception as exc:  # a hostile pickle may raise anything its classes raise
            _close_fds(fds)
            raise self._broken(f"malformed SAMPLE message ({exc})") from exc
        ticket = _Ticket(self, token, count)
        blocks: list[ReceivedMemory] = []
        sample: MediaSample | None = None
        new_fds = iter(fds)
        try:
            for mem_id, mapsize, base, maxsize, block_offset, size, align, mflags, new in entries:
                if new:
                    fd = next(new_fds)
                    try:
                        mapping = mmap.mmap(fd, mapsize, mmap.MAP_SHARED, mmap.PROT_READ)
                    finally:
                        os.close(fd)
                    self._mappings[mem_id] = mapping
                    self._mapped += 1
                else:
                    mapping = self._mappings[mem_id]
                memory = ReceivedMemory(
                    _received_allocator,
                    mapping,
                    base=base,
                    maxsize=maxsize,
                    offset=block_offset,
                    size=size,
                    align=align,
                    flags=_read_only_flags(mflags),
                )
                memory._ticket = ticket
                blocks.append(memory)
            sample = MediaSample(None, blocks.pop(0) if blocks else None)
            while blocks:
                sample.AppendMemory(blocks.pop(0))
            if metas is not None:
                add_portable_metas(sample, metas, repr(self))
            # Once per frame: every carried property at once, with SetProperties' checks,
            # without building a SampleProperties.
            sample._set_carried(
                sample_flags,
                type_flags,
                stream_id,
                actual,
                start,
                stop,
                media_type,
                media_time=media_time,
                read_only=True,
            )
        except COMError as exc:  # refused by the sample's checks: a malformed message
            self._unbuild(ticket, blocks, sample, new_fds)
            raise self._broken(f"malformed SAMPLE message ({exc})") from exc
        except Exception as exc:
            self._unbuild(ticket, blocks, sample, new_fds)
            raise self._broken(f"cannot map the SAMPLE message's blocks ({exc!r})") from exc
        return sample

    @staticmethod
    def _unbuild(
        ticket: _Ticket,
        blocks: list[ReceivedMemory],
        sample: MediaSample | None,
        new_fds: Iterator[int],
    ) -> None:
        """Drop whatever a failed `_build` made, without a release message: the ticket never
        reaches 0 (and the connection ends, so the sender takes the sample back)."""
        ticket.remaining = -1
        for memory in blocks:
            memory.Release()
        if sample is not None:
            sample.Release()
        _close_fds(list(new_fds))

    # -- releasing -----------------------------------------------------------------------------

    def _block_freed(self, ticket: _Ticket) -> None:
        with self._ticket_lock:
            ticket.remaining -= 1
            done = ticket.remaining == 0
        if done:
            self._send_release(ticket.token)

    def _send_release(self, token: int) -> None:
        """Tell the sender a sample is released (any thread; never raises)."""
        if self._closed:
            return
        message = _RELEASE_FORMAT.pack(_RELEASE, token)
        try:
            with self._send_lock:
                if self._closed:
                    return
                try:
                    self._sock.send(message, _SEND_FLAGS)
                except BlockingIOError:  # no room: wait for some, within release_timeout
                    deadline = time.monotonic() + self.release_timeout
                    _send_message(self._sock, message, [], deadline)
        except VfwTimeoutError:
            log.warning(
                "%r: the sender did not read a release message for %.1f s; it gets the sample "
                "back when the connection ends",
                self,
                self.release_timeout,
            )
        except OSError:
            pass  # the sender is gone: it has nothing to give back any more

    def _end(self) -> None:
        """End of stream: drop the cached mappings (live samples keep theirs)."""
        self._ended = True
        self._mappings.clear()

    def close(self) -> None:
        """Disconnect. Idempotent; a ``receive`` waiting in another thread returns None.

        Samples received and not yet released stay readable, but the sender takes them back
        when it sees the connection close: its pool may refill them while you read. Release
        what you received before closing.
        """
        if self._closed:
            return
        _shutdown(self._sock, socket.SHUT_RDWR)
        with self._recv_lock, self._send_lock:
            self._closed = True
            self._sock.close()
        self._end()

    @property
    def ended(self) -> bool:
        """True once the stream ended (the sender closed or died, or this receiver closed)."""
        return self._ended or self._closed

    @property
    def received(self) -> int:
        """Samples received so far."""
        return self._received

    @property
    def media_type(self) -> MediaType | None:
        """The media type the sender announced in its HELLO: None before the HELLO was read
        (see `handshake`) or when the sender announced none."""
        return self._media_type

    @property
    def started(self) -> bool:
        """True once this receiver asked the sender for samples (`start`)."""
        return self._started

    @property
    def mapped(self) -> int:
        """Memfds mapped so far (each crosses once): the sender's blocks this receiver saw."""
        return self._mapped

    @property
    def cached_mappings(self) -> int:
        """Memfd mappings kept for blocks the sender may send again."""
        return len(self._mappings)
