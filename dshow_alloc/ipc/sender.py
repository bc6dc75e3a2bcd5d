"""The producing end of the sample protocol: `SampleSender` (see the `dshow_alloc.ipc` package
docstring for what crosses and how samples come home).
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
import warnings
import weakref
from collections import deque

from dshow_alloc.hresult import (
    InvalidArgError,
    UnexpectedError,
    VfwNotConnectedError,
    VfwTimeoutError,
)
from dshow_alloc.ipc.transport import (
    _DEFAULT_RELEASE_TIMEOUT,
    _GONE,
    _check_socket,
    _check_timeout,
    _deadline,
    _peer_credentials,
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
    _MAX_IDS,
    _MAX_MESSAGE,
    _READY,
    _RELEASE,
    _ROLE_RECEIVER,
    _ROLE_SENDER,
    _SAMPLE,
    _SAMPLE_FORMAT,
    PROTOCOL_VERSION,
    _hello_payload,
    _pickle_media_type,
    _pickle_metas,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.memory import Memory, SharedMemoryBlock
from dshow_alloc.sample import MediaSample

__all__ = ["SampleSender"]

log = logging.getLogger("dshow_alloc.ipc")

# -- the sender --------------------------------------------------------------------------------


def _forget_block(sender_ref: weakref.ref[SampleSender], mem_id: int, key: int) -> None:
    """A root block the receiver has a mapping of was freed (a weakref.finalize callback)."""
    sender = sender_ref()
    if sender is not None:
        sender._block_freed(mem_id, key)


class SampleSender:
    """The producing end: sends shared-memory samples, takes them back when they are released.

    Takes over ``sock`` (see `socket_pair`, `connect`, `Listener.accept`), greets the receiver
    with a HELLO announcing ``media_type`` (the stream's type, or None), and starts a reader
    thread named ``name`` that handles the receiver's messages; `close` stops it. A context
    manager: leaving the block closes with the default timeout. No sample is sent before the
    receiver asked for them (`ready`; see the package docstring): `send` waits until it has.

    Thread safety: `send` may be called from several threads (each sample goes out whole, in
    the order the calls took the send lock). Samples come home on the reader thread (so does
    the pool's ``NotifyRelease``), or on the thread that calls `close`.
    """

    __slots__ = (
        "__weakref__",
        "_closed",
        "_closing",
        "_connected",
        "_finalizers",
        "_forgets",
        "_ids",
        "_in_flight",
        "_lock",
        "_media_types",
        "_next_id",
        "_reader",
        "_ready",
        "_reclaimed",
        "_send_lock",
        "_sent",
        "_sock",
        "_state",
        "_tokens",
        "_told",
        "name",
        "peer_pid",
    )

    def __init__(
        self,
        sock: socket.socket,
        *,
        name: str | None = None,
        media_type: MediaType | None = None,
    ) -> None:
        sock = _check_socket(sock)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, not {type(name).__name__}")
        if media_type is not None and not isinstance(media_type, MediaType):
            raise TypeError(f"media_type must be a MediaType or None, not {type(media_type)}")
        announced = (
            b""
            if media_type is None
            else _pickle_media_type(media_type, _MAX_MESSAGE - _HELLO_FORMAT.size)
        )
        sock.setblocking(True)
        self._sock = sock
        self.name = name if name is not None else f"SampleSender@{id(self):x}"
        self.peer_pid: int = _peer_credentials(sock)[0]
        """The process id of the receiver, from the socket's peer credentials (for a
        `socket_pair`, Linux reports the process that made the pair)."""
        self._lock = threading.Lock()  # _in_flight, _connected, the counters
        self._state = threading.Condition(self._lock)  # notified when nothing is in flight
        self._send_lock = threading.Lock()  # one message at a time; ids in message order
        self._in_flight: dict[int, MediaSample] = {}
        self._tokens = itertools.count(1)
        self._ids: dict[int, int] = {}  # id(root block) -> memfd id, for roots still alive
        self._finalizers: dict[int, weakref.finalize] = {}  # type: ignore[type-arg]
        self._next_id = 1
        self._forgets: deque[int] = deque()
        self._media_types: dict[MediaType, bytes] = {}
        self._told = media_type
        self._ready = False
        self._connected = True
        self._closing = False
        self._closed = False
        self._sent = 0
        self._reclaimed = 0
        try:
            hello = _HELLO_FORMAT.pack(_HELLO, _MAGIC, PROTOCOL_VERSION, _ROLE_SENDER) + announced
            _send_message(sock, hello, [], time.monotonic() + _DEFAULT_RELEASE_TIMEOUT)
        except _GONE:
            self._connected = False
        self._reader = threading.Thread(target=self._read_loop, name=self.name, daemon=True)
        self._reader.start()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self._connected else "disconnected"
        if state == "connected" and not self._ready:
            state = "connected, not ready"
        return f"<SampleSender {self.name} {state} in_flight={len(self._in_flight)}>"

    def __enter__(self) -> SampleSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            warnings.warn(f"{self!r} was not closed", ResourceWarning, stacklevel=1)

    # -- sending -------------------------------------------------------------------------------

    def send(self, sample: MediaSample, *, timeout: float | None = None) -> None:
        """Send ``sample`` to the receiver without copying its bytes.

        The sender takes its own reference (``AddRef``) and keeps it until the receiver has
        released its copy (or the receiver goes away); the caller keeps its reference and
        normally ``Release``\\ s it right after this call. Do not write to the sample after
        sending it: the receiver reads the same bytes.

        Carried: times, media times, every sample flag, the actual data length, the type-
        specific flags, the stream id, the media type (``SetMediaType``) and the metas whose
        fields are plain data (`dshow_alloc.ipc` docstring). Before the receiver's READY, the
        call waits for it.

        Raises:
            TypeError: ``sample`` is not a `MediaSample`.
            InvalidArgError: a block is not shared memory (a ``"SharedMemory"`` pool's samples
                are), or the media type cannot cross processes, or the media type and metas
                do not fit one message.
            UnexpectedError: the sample went back to its pool (count 0).
            VfwNotConnectedError: the sender was closed or the receiver went away (also
                before asking for samples).
            VfwTimeoutError: the receiver did not ask for samples, or did not take messages,
                for ``timeout`` seconds (None: wait).

        A call that raises sends nothing and leaves the sample's count as it was.
        """
        # Hot path, once per frame: the sample's state is read in one call of its internal
        # API instead of through GetProperties (which builds and validates a
        # SampleProperties per call); its sample flags include the media-time bit.
        if sample.__class__ is not MediaSample and not isinstance(sample, MediaSample):
            raise TypeError(f"send takes a MediaSample, not {type(sample).__name__}")
        deadline = None if timeout is None else _deadline(timeout)
        blocks, media_type, sample_metas, carried = sample._carried()
        if len(blocks) > _MAX_BLOCKS:
            raise InvalidArgError(message=f"{len(blocks)} blocks; at most {_MAX_BLOCKS} cross")
        for block in blocks:
            if block.__class__ is not SharedMemoryBlock and not isinstance(
                block, SharedMemoryBlock
            ):
                raise InvalidArgError(
                    message=f"{block!r} is not shared memory; only samples whose memory comes "
                    f"from the 'SharedMemory' allocator can cross processes without a copy"
                )
            if block.fd < 0 or block._refs <= 0:
                raise UnexpectedError(message=f"{block!r} was freed")
        pickled = b"" if media_type is None else self._pickled(media_type)
        metas = _pickle_metas(sample_metas) if sample_metas else b""
        size = _SAMPLE_FORMAT.size + len(blocks) * _BLOCK_FORMAT.size + len(pickled) + len(metas)
        if size > _MAX_MESSAGE:
            raise InvalidArgError(
                message=f"the sample's media type and metas take {size} bytes in its message; "
                f"at most {_MAX_MESSAGE} fit"
            )
        header = (*carried, len(pickled), len(metas), len(blocks))
        if self._closing or not self._connected:
            raise self._not_connected()
        if not self._ready:
            self._wait_ready_to_send(deadline, timeout)
        left = _remaining(deadline)
        if not self._send_lock.acquire(timeout=-1 if left is None else left):
            raise VfwTimeoutError(message=f"another send held the socket for {timeout} s")
        try:
            self._send_locked(sample, header, list(blocks), pickled + metas, deadline)
        finally:
            self._send_lock.release()
        if media_type is not None:
            self._told = media_type
        if self._forgets:
            self._flush_forgets()

    def _wait_ready_to_send(self, deadline: float | None, timeout: float | None) -> None:
        """Wait for the receiver's READY before a first send."""
        with self._state:
            self._state.wait_for(
                lambda: self._ready or self._closing or not self._connected, _remaining(deadline)
            )
            if self._closing or not self._connected:
                raise self._not_connected()
            if not self._ready:
                raise VfwTimeoutError(
                    message=f"the receiver of {self.name} did not ask for samples within "
                    f"{timeout} s"
                )

    def _pickled(self, media_type: MediaType) -> bytes:
        data = self._media_types.get(media_type)
        if data is None:
            limit = _MAX_MESSAGE - _SAMPLE_FORMAT.size - _MAX_BLOCKS * _BLOCK_FORMAT.size
            data = _pickle_media_type(media_type, limit)
            if len(self._media_types) >= 64:
                self._media_types.clear()
            self._media_types[media_type] = data
        return data

    def _send_locked(
        self,
        sample: MediaSample,
        header: tuple[int, ...],
        blocks: list[Memory],
        trailer: bytes,
        deadline: float | None,
    ) -> None:
        if self._forgets:
            self._send_forgets_locked(deadline)
        token = next(self._tokens) if blocks else 0
        parts = [_SAMPLE_FORMAT.pack(_SAMPLE, token, *header)]
        fds: list[int] = []
        new_roots: list[tuple[SharedMemoryBlock, int]] = []
        for block in blocks:
            assert isinstance(block, SharedMemoryBlock)
            root = block.parent if block.parent is not None else block
            assert isinstance(root, SharedMemoryBlock)
            mem_id = self._ids.get(id(root))
            new = mem_id is None
            if mem_id is None:
                mem_id = self._next_id
                self._next_id += 1
                self._ids[id(root)] = mem_id
                new_roots.append((root, mem_id))
                fds.append(root.fd)
            parts.append(
                _BLOCK_FORMAT.pack(
                    mem_id,
                    block.mapsize,
                    block.fd_offset,
                    block.maxsize,
                    block.offset,
                    block.size,
                    block.align,
                    int(block.flags),
                    new,
                )
            )
        parts.append(trailer)
        # The sample is in flight before the message leaves, so that a release message (or
        # the receiver's death) can never find it missing.
        if token:
            sample.AddRef()
            with self._lock:
                if self._connected:
                    self._in_flight[token] = sample
                    token_held = True
                else:
                    token_held = False
            if not token_held:
                sample.Release()
                self._forget_new(new_roots)
                raise self._not_connected()
        try:
            _send_message(self._sock, b"".join(parts), fds, deadline)
        except BaseException as exc:
            self._forget_new(new_roots)
            if token:
                with self._lock:
                    mine = self._in_flight.pop(token, None)
                    self._notify_if_idle_locked()
                if mine is not None:
                    sample.Release()
            if isinstance(exc, _GONE):  # the reader sees the end too, and reclaims the rest
                raise self._not_connected() from exc
            if isinstance(exc, OSError) and not isinstance(exc, VfwTimeoutError):
                raise VfwNotConnectedError(message=f"send failed: {exc}") from exc
            raise
        for root, mem_id in new_roots:
            finalizer = weakref.finalize(root, _forget_block, weakref.ref(self), mem_id, id(root))
            finalizer.atexit = False
            self._finalizers[mem_id] = finalizer
        self._sent += 1

    def _forget_new(self, new_roots: list[tuple[SharedMemoryBlock, int]]) -> None:
        """Undo the ids given to blocks whose first message did not leave."""
        for root, _mem_id in new_roots:
            self._ids.pop(id(root), None)

    def _not_connected(self) -> VfwNotConnectedError:
        if self._closing:
            return VfwNotConnectedError(message=f"{self.name} is closed")
        return VfwNotConnectedError(message=f"the receiver of {self.name} went away")

    # -- forgetting freed blocks ---------------------------------------------------------------

    def _block_freed(self, mem_id: int, key: int) -> None:
        """A root block was freed (any thread, maybe inside a Release): tell the receiver."""
        if self._ids.get(key) == mem_id:
            del self._ids[key]
        self._finalizers.pop(mem_id, None)
        self._forgets.append(mem_id)
        self._flush_forgets()

    def _flush_forgets(self) -> None:
        """Send pending FORGET messages if nobody else is sending (never blocks).

        If the send lock is taken, its holder sends them: it flushes after each send.
        """
        while self._forgets:
            if not self._send_lock.acquire(blocking=False):
                return
            try:
                self._send_forgets_locked(time.monotonic())
            except (VfwTimeoutError, OSError):
                return  # no room now: the next send carries them; a dead peer needs none
            finally:
                self._send_lock.release()

    def _send_forgets_locked(self, deadline: float | None) -> None:
        if self._closing or not self._connected:
            self._forgets.clear()
            return
        ids: list[int] = []
        while self._forgets and len(ids) < _MAX_IDS:
            ids.append(self._forgets.popleft())
        if not ids:
            return
        message = bytes([_FORGET]) + b"".join(_ID_FORMAT.pack(i) for i in ids)
        try:
            _send_message(self._sock, message, [], deadline)
        except BaseException:
            self._forgets.extendleft(reversed(ids))
            raise

    # -- the reader thread ---------------------------------------------------------------------

    def _read_loop(self) -> None:
        buffer = bytearray(_MAX_MESSAGE)
        view = memoryview(buffer)
        greeted = False
        try:
            while True:
                try:
                    size = self._sock.recv_into(buffer)
                except _GONE:
                    return
                except OSError:
                    return  # closed under us
                if size == 0:
                    return  # the receiver closed or died
                kind = buffer[0]
                if not greeted:
                    payload = _hello_payload(view[:size], _ROLE_RECEIVER, self.name)
                    if payload is None:
                        return
                    if payload:
                        log.error("%s: the receiver's HELLO is too long; disconnecting", self.name)
                        return
                    greeted = True
                elif kind == _READY and size == 1 and not self._ready:
                    with self._state:
                        self._ready = True
                        self._state.notify_all()
                elif kind == _RELEASE and size > 1 and (size - 1) % _ID_FORMAT.size == 0:
                    for (token,) in _ID_FORMAT.iter_unpack(view[1:size]):
                        self._release_token(token)
                else:
                    log.error("%s: unexpected message kind %d; disconnecting", self.name, kind)
                    return
        finally:
            self._disconnect()

    def _release_token(self, token: int) -> None:
        with self._lock:
            sample = self._in_flight.pop(token, None)
            self._notify_if_idle_locked()
        if sample is None:
            log.warning("%s: release of unknown sample token %d ignored", self.name, token)
            return
        try:
            sample.Release()
        except Exception:
            log.exception("%s: Release of %r failed", self.name, sample)

    def _notify_if_idle_locked(self) -> None:
        if not self._in_flight:
            self._state.notify_all()

    def _disconnect(self) -> None:
        """The connection is over: stop sending and bring every sample in flight home."""
        _shutdown(self._sock, socket.SHUT_RDWR)
        with self._lock:
            self._connected = False
            held = list(self._in_flight.values())
            self._in_flight.clear()
            self._reclaimed += len(held)
            self._state.notify_all()
        for sample in held:
            try:
                sample.Release()
            except Exception:
                log.exception("%s: Release of %r failed", self.name, sample)

    # -- state ---------------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the receiver asks for samples: True once it has; False if it went away
        (or this sender was closed) first, or after ``timeout`` seconds (None: no limit)."""
        timeout = _check_timeout(timeout)
        with self._state:
            self._state.wait_for(
                lambda: self._ready or self._closing or not self._connected, timeout
            )
            return self._ready and self._connected and not self._closing

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no sample is in flight; False if some still are after ``timeout`` s."""
        timeout = _check_timeout(timeout)
        with self._state:
            return self._state.wait_for(lambda: not self._in_flight, timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        """End the stream, wait for the receiver to release what it holds, then disconnect.

        The receiver sees end of stream once it has received every sample sent before. Up to
        ``timeout`` seconds (None: no limit) are given to the receiver to release the samples
        it still holds; after that they are taken back (and counted in `reclaimed`): their
        pool may hand them out again while the receiver still looks at them. Stops the
        reader thread and closes the socket. Idempotent.
        """
        timeout = _check_timeout(timeout)
        with self._lock:
            if self._closing:
                already = True
            else:
                already = False
                self._closing = True
        if already:
            self._reader.join()
            return
        _shutdown(self._sock, socket.SHUT_WR)  # the receiver's end of stream
        with self._state:
            self._state.wait_for(lambda: not self._in_flight or not self._connected, timeout)
        _shutdown(self._sock, socket.SHUT_RDWR)  # wakes the reader, which reclaims the rest
        if self._reader is not threading.current_thread():
            self._reader.join()
        self._disconnect()
        with self._send_lock:
            self._sock.close()
        for finalizer in list(self._finalizers.values()):
            finalizer.detach()
        self._finalizers.clear()
        self._ids.clear()
        self._forgets.clear()
        self._closed = True

    @property
    def connected(self) -> bool:
        """False once the receiver went away or the sender was closed."""
        return self._connected and not self._closing

    @property
    def ready(self) -> bool:
        """True once the receiver asked for samples (its READY arrived), while connected."""
        return self._ready and self._connected and not self._closing

    @property
    def media_type(self) -> MediaType | None:
        """The type the receiver was last told: the HELLO's, then that of each sample sent
        with a media type (a type change)."""
        return self._told

    @property
    def in_flight(self) -> int:
        """Samples sent and not yet released by the receiver."""
        return len(self._in_flight)

    @property
    def sent(self) -> int:
        """Samples sent so far."""
        return self._sent

    @property
    def reclaimed(self) -> int:
        """Samples taken back without a release message (receiver gone, or close timed out)."""
        return self._reclaimed

    @property
    def known_blocks(self) -> int:
        """Memfds the receiver has a mapping of (sent once, not yet freed here)."""
        return len(self._ids)
