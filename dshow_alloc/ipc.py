"""Zero-copy sample transport between processes: memfds over a Unix socket.

A `SampleSender` hands samples whose memory comes from the ``"SharedMemory"`` allocator to a
`SampleReceiver` in another process. Only a small header crosses the socket; the frame bytes
stay where the producer wrote them, and the receiver maps the same pages. The sample stays out
of its pool until the receiver lets go of it::

    producer process                          consumer process
    ----------------                          ----------------
    sample = pool.GetBuffer()
    ...fill sample.GetPointer()...
    sender.send(sample)   # AddRefs it   ──►  sample = receiver.receive()
    sample.Release()                          ...read sample.GetPointer()...
                                              sample.Release()
    (the sender Releases its reference,  ◄──  (a release message)
     the sample goes home to the pool)

Connections
-----------
Both ends take over a connected ``AF_UNIX`` ``SOCK_SEQPACKET`` socket. Make one with
`socket_pair` (for a child process you start yourself: pass the child's end with
``subprocess.Popen(pass_fds=...)`` and rebuild it there with ``socket.socket(fileno=fd)``), or
with a `Listener` and `connect` on an address. An address is either

* a ``str``: a Linux *abstract* address, a name that lives in the kernel, not in the file
  system, and disappears with the listening socket, so nothing is left behind even after
  ``kill -9``; or
* a path (any ``os.PathLike``, such as `pathlib.Path`): a socket file, which is what two
  programs that know nothing of each other agree on (``shmsink socket-path=/tmp/video``).
  The `Listener` creates it (replacing a stale socket file nobody listens at any more) and
  removes it when closed; a listener killed with ``kill -9`` leaves the file, and the next
  `Listener` at that path replaces it.

Either side may listen. `Listener.accept` and `connect` refuse a peer running under another
user id (abstract addresses have no file permissions to do that; for socket files it keeps
the two kinds of address alike).

Handshake
---------
Each end greets the other with a HELLO. The sender's carries the media type of the stream
(`SampleSender` ``media_type``; none is allowed), so a receiver knows what it will get before
any sample is sent: `SampleReceiver.handshake` reads it. The sender sends no sample until the
receiver has asked for them with a READY message (`SampleReceiver.start`; ``receive`` sends it
if nobody did, and by default the constructor does). So a receiver that refuses the type, or
one that only wanted to know it (``start=False``, `handshake`, `close`), leaves before it was
sent anything: the sender's samples never left home, and the next receiver gets the stream
from its first sample. Until READY arrives, `SampleSender.send` waits (within its
``timeout``).

What the receiver gets
----------------------
`SampleReceiver.receive` returns a standalone `MediaSample` (count 1, owned by the caller)
whose memory blocks are read-only mappings of the sender's blocks (``PROT_READ``: the receiver
cannot scribble on the producer's pool). It carries the sender's times, media times, flags
(sync point, discontinuity, preroll, ...), actual data length, stream id, media type (when
the sample carries one: a type change) and metas (``VIDEO_META`` and any other: see below).
The final ``Release`` of that sample (more exactly: of the last of its memory blocks, which a
user may ``AddRef`` or ``Share`` beyond the sample's life) sends the release message. A
receiver cannot forward a received sample to a third process (its blocks are not
`SharedMemoryBlock`\\ s); copy it into a shared pool's sample first.

Metas cross by API name and fields: each meta whose fields are plain data (None, bool, int,
float, str, bytes, and tuples, lists and dicts of them) is added again on the received sample
with ``AddMeta``, so its API's ``init`` checks it there, provided the receiving process has an
API of that name registered (``VIDEO_META`` always is). A meta tagged ``"memory-reference"``
(it refers to the sender's memory itself), one whose fields are not plain data, and one the
receiver does not know or whose ``init`` refuses it are left off, as a copy leaves off a meta
without a transform.

Samples that are not shared memory
----------------------------------
`SampleSender.send` refuses a sample with a block that is not a `SharedMemoryBlock` with
``InvalidArgError`` (E_INVALIDARG, a ``ValueError``) rather than copying it silently: a hidden
3 MB copy per frame is the cost this module exists to avoid. Configure the pool with
``memory_allocator="SharedMemory"``.

Lifetime and failures
---------------------
* The sender keeps a reference (``AddRef``) on every sample in flight until its release message
  arrives. A reader thread, started by the constructor and stopped by `SampleSender.close`,
  handles release messages, so samples go home while the producer is blocked in ``GetBuffer``.
* If the receiver closes or dies, the sender's reader sees the socket close and releases every
  sample still in flight (`SampleSender.reclaimed` counts them): they go home to their pool.
* If the sender closes or dies, the receiver sees end of stream (``receive`` returns None).
  Mappings it holds stay valid until it releases them: the kernel keeps the memfd pages alive
  as long as one process maps them.
* Each memfd crosses the socket once; the receiver caches its mapping under an id. When the
  sender's block is freed (its pool decommitted), the sender tells the receiver to forget that
  id, so the cache only holds blocks that still exist.
* Memfds are anonymous and die with the last process holding them; abstract addresses die with
  their socket. Nothing is created under ``/dev/shm``, and nothing in the file system except
  the socket file of a `Listener` given a path.

Message protocol
----------------
Version 2. One ``SOCK_SEQPACKET`` message per record, little-endian, the first byte its kind.
Each end sends its HELLO first; the sender sends nothing else before the receiver's READY:

======= ============ ==============================================================
kind    direction    body
======= ============ ==============================================================
HELLO   both ways    magic ``b"DSAI"``, protocol version (u16), role (u8); from the
                     sender, then the pickled media type of the stream (nothing: no
                     type). A version or role that does not fit ends the connection
READY   ← receiver   nothing: send samples (once, after the receiver's HELLO)
SAMPLE  sender →     token (u64; 0 for a sample without blocks, which needs no
                     release), sample flags (the AM_SAMPLE_* bits, plus 0x20 when the
                     media time is set), type-specific flags, stream id (u32 each),
                     actual length, start, stop, media start, media stop (i64 each),
                     media-type length, metas length (u32 each), block count (u8);
                     then per block: memfd id, map size, region start, maxsize,
                     offset, size, align (u64 each), memory flags (u32), new (u8);
                     then the pickled media type, then the pickled metas (a list of
                     (API name, fields dict) pairs of plain data). The fds of the
                     blocks marked new ride along (SCM_RIGHTS), in block order.
FORGET  sender →     memfd ids (u64 each) whose mappings the receiver may drop
RELEASE ← receiver   tokens (u64 each) of samples the receiver has finished with
======= ============ ==============================================================

Pickles are read by unpicklers that accept only what the field holds: for media types the
``dshow_alloc.mediatype`` classes and ``uuid.UUID``, for metas no class at all. The end of the
stream is the end of the connection (``shutdown`` or process exit); no message says it.
"""

from __future__ import annotations

import array
import contextlib
import errno
import io
import itertools
import logging
import mmap
import os
import pickle
import secrets
import select
import socket
import stat
import struct
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any, Final

from zope.interface import implementer

from dshow_alloc.com import ComObject
from dshow_alloc.hresult import (
    AccessDeniedError,
    FailError,
    InvalidArgError,
    NotImplError,
    UnexpectedError,
    VfwNotConnectedError,
    VfwTimeoutError,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.memory import (
    AllocationParams,
    AllocatorFlags,
    Memory,
    MemoryFlags,
    SharedMemoryBlock,
)
from dshow_alloc.meta import TAG_MEMORY_REFERENCE, Meta, get_meta_info
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import AM_SAMPLE_TYPECHANGED, SAMPLE_VALID_FLAGS
from interfaces import IMemory, IMemoryAllocator

__all__ = [
    "PROTOCOL_VERSION",
    "Address",
    "Listener",
    "ReceivedMemory",
    "ReceivedMemoryAllocator",
    "SampleReceiver",
    "SampleSender",
    "connect",
    "socket_pair",
    "unique_address",
]

log = logging.getLogger("dshow_alloc.ipc")

PROTOCOL_VERSION: Final = 2
"""The version both ends announce in their HELLO; a mismatch ends the connection. Version 2
added the media type to the sender's HELLO, the READY message and the metas of a SAMPLE."""

_MAGIC = b"DSAI"
_HELLO, _SAMPLE, _FORGET, _RELEASE, _READY = 1, 2, 3, 4, 5
_ROLE_SENDER, _ROLE_RECEIVER = 1, 2

_HELLO_FORMAT = struct.Struct("<B4sHB")  # from the sender, the pickled media type follows
_SAMPLE_FORMAT = struct.Struct("<BQIIIqqqqqIIB")
_BLOCK_FORMAT = struct.Struct("<QQQQQQQIB")
_ID_FORMAT = struct.Struct("<Q")
_RELEASE_FORMAT = struct.Struct("<BQ")

_MAX_MESSAGE = 65536
"""The largest message either side sends or accepts (a media type must fit in it)."""
_MAX_BLOCKS = 16
"""The most memory blocks a sample may carry (MediaSample's own limit)."""
_MAX_IDS = (_MAX_MESSAGE - 1) // _ID_FORMAT.size
_ANCILLARY = socket.CMSG_SPACE(_MAX_BLOCKS * array.array("i").itemsize)

_SEND_FLAGS = socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL
_RECV_FLAGS = socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionRefusedError)

_DEFAULT_RELEASE_TIMEOUT = 5.0


# -- addresses and sockets ---------------------------------------------------------------------


def unique_address(prefix: str = "dshow-alloc") -> str:
    """A fresh abstract socket name, ``prefix`` plus the process id and 64 random bits."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(8)}"


Address = str | os.PathLike[str]
"""Where a `Listener` listens: a str is an abstract name, a path a socket file."""


def _sockaddr(address: object) -> bytes:
    """The kernel's spelling of ``address``: for an abstract name a NUL byte, then the name;
    for a path its file-system bytes."""
    if isinstance(address, os.PathLike):
        raw = os.fsencode(address)
        if not raw or b"\0" in raw or len(raw) > 107:
            raise ValueError(
                f"a socket path is 1..107 bytes without NUL (the kernel's limit), "
                f"got {len(raw)} bytes: {os.fsdecode(raw)!r}"
            )
        return raw
    if not isinstance(address, str):
        raise TypeError(
            f"a socket address is a str (abstract) or a path, not {type(address).__name__}"
        )
    raw = address.encode()
    if not raw or b"\0" in raw or len(raw) > 107:
        raise ValueError(f"an abstract address is 1..107 bytes without NUL, got {address!r}")
    return b"\0" + raw


def _describe(address: Address) -> str:
    return f"'{os.fspath(address)}'" if isinstance(address, os.PathLike) else repr(address)


def _prepare_path(path: os.PathLike[str]) -> None:
    """Make room for a socket file at ``path``: the directory must exist; a socket file
    nobody listens at any more is removed; anything else there is refused."""
    name = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot create a socket at {name}: no directory {directory}", name
        )
    try:
        mode = os.lstat(name).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(errno.EEXIST, f"{name} exists and is not a socket", name)
    probe = _seqpacket()
    try:
        probe.setblocking(False)
        probe.connect(_sockaddr(path))
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)  # stale: its listener is gone
        return
    except BlockingIOError:
        pass  # a listener is there, with a full backlog
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot check the socket at {name}: {exc.strerror}", name
        ) from exc
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"another process listens at {name}", name)


def _seqpacket() -> socket.socket:
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)


def _check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout is seconds (a number) or None, not {type(timeout).__name__}")
    if not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {timeout}")
    return float(timeout)


def _deadline(timeout: object) -> float | None:
    """When a wait of ``timeout`` seconds (checked; None: no limit) started now ends."""
    checked = _check_timeout(timeout)
    return None if checked is None else time.monotonic() + checked


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end (``SO_PEERCRED``)."""
    size = struct.calcsize("3i")
    pid, uid, gid = struct.unpack(
        "3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
    )
    return pid, uid, gid


def _check_same_user(sock: socket.socket) -> None:
    pid, uid, _gid = _peer_credentials(sock)
    if uid != os.getuid():
        sock.close()
        raise AccessDeniedError(
            message=f"peer process {pid} runs as uid {uid}, not as this process's {os.getuid()}"
        )


def _wait(fd: int, events: int, timeout: float | None) -> bool:
    """Wait until ``fd`` is ready for ``events`` (or hung up); False on timeout."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(None if timeout is None else int(timeout * 1000 + 0.999)))


def socket_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected sockets, one for each end (close-on-exec; non-inheritable).

    Give the second to a child process with ``subprocess.Popen(..., pass_fds=[s.fileno()])``
    and rebuild it there with ``socket.socket(fileno=fd)``; close your copy of it after the
    child started.
    """
    first, second = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return first, second


def connect(address: Address, timeout: float | None = 5.0) -> socket.socket:
    """Connect to a `Listener` at ``address`` (an abstract name, or a socket file's path).

    Retries while nobody listens there yet (or the socket file does not exist yet), for up to
    ``timeout`` seconds (None: forever), then raises ``VfwTimeoutError``. A peer running as
    another user raises ``AccessDeniedError``.
    """
    target = _sockaddr(address)
    timeout = _check_timeout(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        sock = _seqpacket()
        try:
            sock.connect(target)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            sock.close()
            left = _remaining(deadline)
            if left is not None and left <= 0:
                raise VfwTimeoutError(
                    message=f"nothing listens at {_describe(address)} after {timeout} s"
                ) from exc
            time.sleep(0.01 if left is None else min(0.01, left))
            continue
        except BaseException:
            sock.close()
            raise
        _check_same_user(sock)
        return sock


class Listener:
    """A listening socket; a context manager that closes it.

    ``address`` (None: `unique_address`) is an abstract name (a str: nothing appears in the
    file system and the name is free again once this listener is closed or its process
    exits) or a path (an ``os.PathLike``: a socket file is made there and removed by
    `close`). A path needs an existing directory (``FileNotFoundError``); a stale socket file
    there, one nobody listens at any more, is replaced; a live one (``OSError`` EADDRINUSE)
    or any other file (``FileExistsError``) is refused and left alone. Whether a socket file
    is stale is found by connecting to it: a process listening there sees a connection that
    closes at once.
    """

    __slots__ = ("_closed", "_file", "_sock", "address")

    address: Address

    def __init__(self, address: Address | None = None, *, backlog: int = 4) -> None:
        if address is None:
            address = unique_address()
        target = _sockaddr(address)
        if isinstance(backlog, bool) or not isinstance(backlog, int):
            raise TypeError(f"backlog must be an int, not {type(backlog).__name__}")
        if backlog < 1:
            raise ValueError(f"backlog must be >= 1, got {backlog}")
        path = address if isinstance(address, os.PathLike) else None
        if path is not None:
            _prepare_path(path)
        sock = _seqpacket()
        try:
            sock.bind(target)
        except BaseException:
            sock.close()
            raise
        self._file: tuple[str, int, int] | None = None
        if path is not None:
            info = os.lstat(path)  # which file is ours, for close()
            self._file = (os.path.abspath(path), info.st_dev, info.st_ino)
        try:
            sock.listen(backlog)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            self._remove_file()
            raise
        self._sock = sock
        self._closed = False
        self.address = address

    def __repr__(self) -> str:
        address = self.address
        where = os.fspath(address) if isinstance(address, os.PathLike) else f"@{address}"
        return f"<Listener {where}{' closed' if self._closed else ''}>"

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def accept(self, timeout: float | None = None) -> socket.socket:
        """The next connection, as a blocking socket ready for `SampleSender`/`SampleReceiver`.

        Raises ``VfwTimeoutError`` when no peer connected within ``timeout`` seconds (None:
        wait), ``VfwNotConnectedError`` when the listener is (or gets) closed, and
        ``AccessDeniedError`` for a peer running as another user.
        """
        timeout = _check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise VfwNotConnectedError(message=f"{self!r} is closed")
            try:
                sock, _ = self._sock.accept()
            except BlockingIOError:
                # Wake at least every 0.1 s to notice a close() from another thread.
                left = _remaining(deadline)
                if left is not None and left <= 0:
                    raise VfwTimeoutError(
                        message=f"no connection at {_describe(self.address)} within {timeout} s"
                    ) from None
                _wait(self._sock.fileno(), select.POLLIN, 0.1 if left is None else min(0.1, left))
                continue
            except OSError as exc:
                if self._closed:
                    raise VfwNotConnectedError(message=f"{self!r} is closed") from exc
                raise
            sock.setblocking(True)
            _check_same_user(sock)
            return sock

    def close(self) -> None:
        """Stop listening; the address is free again (a socket file is removed, unless
        another file replaced it meanwhile). Idempotent."""
        if not self._closed:
            self._closed = True
            self._sock.close()
            self._remove_file()

    def _remove_file(self) -> None:
        if self._file is None:
            return
        name, device, inode = self._file
        self._file = None
        with contextlib.suppress(OSError):
            info = os.lstat(name)
            if (info.st_dev, info.st_ino) == (device, inode):
                os.unlink(name)


def _check_socket(sock: object) -> socket.socket:
    if not isinstance(sock, socket.socket):
        raise TypeError(f"expected a connected socket.socket, not {type(sock).__name__}")
    if sock.fileno() < 0:
        raise ValueError("the socket is closed")
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_SEQPACKET:
        raise ValueError(
            f"expected an AF_UNIX SOCK_SEQPACKET socket (socket_pair, connect, Listener.accept), "
            f"not {sock.family!r}/{sock.type!r}"
        )
    return sock


def _send_message(
    sock: socket.socket,
    message: bytes | bytearray | memoryview,
    fds: list[int],
    deadline: float | None,
) -> None:
    """Send one whole message, waiting for room until ``deadline`` (VfwTimeoutError)."""
    ancillary = (
        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())] if fds else None
    )
    while True:
        try:
            if ancillary is None:
                sock.send(message, _SEND_FLAGS)
            else:
                sock.sendmsg([message], ancillary, _SEND_FLAGS)
            return
        except BlockingIOError:
            left = _remaining(deadline)
            if left is not None and left <= 0:
                raise VfwTimeoutError(message="the peer is not reading its messages") from None
            _wait(sock.fileno(), select.POLLOUT, left)


def _received_fds(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return list(fds)


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _shutdown(sock: socket.socket, how: int) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(how)


# -- media types on the wire -------------------------------------------------------------------


class _MediaTypeUnpickler(pickle.Unpickler):
    """Unpickles media types and nothing else: no arbitrary code from the other end."""

    def find_class(self, module: str, name: str) -> Any:
        if (module == "uuid" and name in ("UUID", "SafeUUID")) or (
            module == "dshow_alloc.mediatype" and not name.startswith("_")
        ):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} may not cross processes in a media type")


def _load_media_type(data: bytes | memoryview) -> MediaType:
    value = _MediaTypeUnpickler(io.BytesIO(data)).load()
    if not isinstance(value, MediaType):
        raise pickle.UnpicklingError(f"expected a MediaType, got {type(value).__name__}")
    return value


def _pickle_media_type(media_type: MediaType, limit: int) -> bytes:
    """``media_type`` pickled for the wire; InvalidArgError for one the other end would refuse
    or one larger than ``limit`` bytes."""
    try:
        data = pickle.dumps(media_type, protocol=pickle.HIGHEST_PROTOCOL)
        _load_media_type(data)  # refuse here what the receiver would refuse
    except Exception as exc:
        raise InvalidArgError(message=f"the media type cannot cross processes: {exc!r}") from exc
    if len(data) > limit:
        raise InvalidArgError(
            message=f"the media type pickles to {len(data)} bytes; at most {limit} fit a message"
        )
    return data


# -- metas on the wire -------------------------------------------------------------------------

_PLAIN_SCALARS = (type(None), bool, int, float, str, bytes)


def _plain(value: object, depth: int = 0) -> bool:
    """True when ``value`` is plain data, which crosses without any class (see the module
    docstring); nesting deeper than 8 is not."""
    if type(value) in _PLAIN_SCALARS:
        return True
    if depth >= 8:
        return False
    if isinstance(value, tuple | list) and type(value) in (tuple, list):
        return all(_plain(item, depth + 1) for item in value)
    if isinstance(value, dict) and type(value) is dict:
        return all(type(key) is str and _plain(item, depth + 1) for key, item in value.items())
    return False


def _pickle_metas(metas: list[Meta]) -> bytes:
    """The metas of a sample that cross (see the module docstring), pickled; b"" for none."""
    crossing = []
    for meta in metas:
        if TAG_MEMORY_REFERENCE in meta.info.tags:
            continue
        fields = meta.__dict__
        if _plain(fields):
            crossing.append((meta.info.api, fields))
        else:
            log.debug("%s is not plain data: it does not cross processes", meta)
    if not crossing:
        return b""
    return pickle.dumps(crossing, protocol=pickle.HIGHEST_PROTOCOL)


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles plain data only: no class at all may be named."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} may not cross processes in a meta")


def _load_metas(data: bytes | memoryview) -> list[tuple[str, dict[str, Any]]]:
    value = _PlainUnpickler(io.BytesIO(data)).load()
    if type(value) is not list or not all(
        type(item) is tuple
        and len(item) == 2
        and type(item[0]) is str
        and type(item[1]) is dict
        and all(type(key) is str for key in item[1])
        for item in value
    ):
        raise pickle.UnpicklingError("metas must be a list of (API name, fields) pairs")
    return value


def _add_metas(sample: MediaSample, metas: list[tuple[str, dict[str, Any]]], who: str) -> None:
    """Add the received ``metas`` to ``sample`` (still writable); those this process does
    not know or whose ``init`` refuses them are left off."""
    for api, fields in metas:
        info = get_meta_info(api)
        if info is None:
            log.debug("%s: meta %r is not registered here; left off", who, api)
            continue
        try:
            sample.AddMeta(info, **fields)
        except Exception as exc:
            log.debug("%s: meta %r refused here (%s); left off", who, api, exc)


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
    receiver asked for them (`ready`; see the module docstring): `send` waits until it has.

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
        fields are plain data (module docstring). Before the receiver's READY, the call waits
        for it.

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
        # Hot path, once per frame: the sample's state is read from its fields, as its pool
        # does, instead of through GetProperties (which builds and validates a
        # SampleProperties per call); ``_flags`` includes the media-time bit.
        if sample.__class__ is not MediaSample and not isinstance(sample, MediaSample):
            raise TypeError(f"send takes a MediaSample, not {type(sample).__name__}")
        deadline = None if timeout is None else _deadline(timeout)
        if not sample._refs:
            raise sample._gone()
        blocks = sample._mems
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
        media_type = sample._media_type
        pickled = b"" if media_type is None else self._pickled(media_type)
        metas = _pickle_metas(sample._metas) if sample._metas else b""
        size = _SAMPLE_FORMAT.size + len(blocks) * _BLOCK_FORMAT.size + len(pickled) + len(metas)
        if size > _MAX_MESSAGE:
            raise InvalidArgError(
                message=f"the sample's media type and metas take {size} bytes in its message; "
                f"at most {_MAX_MESSAGE} fit"
            )
        header = (
            sample._flags,
            sample._type_flags,
            sample._stream_id,
            sample._actual,
            sample._start,
            sample._stop,
            sample._media_start,
            sample._media_stop,
            len(pickled),
            len(metas),
            len(blocks),
        )
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


def _hello_payload(message: memoryview, role: int, who: str) -> memoryview | None:
    """What follows the fixed part of a HELLO from a peer of ``role``; None (logged) when
    ``message`` is no such HELLO, or one of another protocol version."""
    if len(message) < _HELLO_FORMAT.size:
        log.error("%s: the peer did not start with a HELLO; disconnecting", who)
        return None
    kind, magic, version, peer_role = _HELLO_FORMAT.unpack_from(message)
    if kind != _HELLO or magic != _MAGIC:
        log.error("%s: the peer does not speak this protocol; disconnecting", who)
        return None
    if version != PROTOCOL_VERSION:
        log.error("%s: the peer speaks version %d, not %d", who, version, PROTOCOL_VERSION)
        return None
    if peer_role != role:
        log.error("%s: the peer has the same role as this end; disconnecting", who)
        return None
    return message[_HELLO_FORMAT.size :]


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
            if sample_flags & ~SAMPLE_VALID_FLAGS or (
                sample_flags & AM_SAMPLE_TYPECHANGED and media_type is None
            ):
                raise ValueError(f"sample flags 0x{sample_flags:X}")
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
            if not 0 <= actual <= sample._size:
                raise ValueError(f"actual data length {actual} outside 0..{sample._size}")
            if metas is not None:
                _add_metas(sample, metas, repr(self))
            # Hot path, once per frame: the fields the sender read are set directly (checked
            # above as SetProperties would), rather than through a SampleProperties.
            sample._read_only = True
            sample._flags = sample_flags
            sample._type_flags = type_flags
            sample._stream_id = stream_id
            sample._actual = actual
            sample._start = start
            sample._stop = stop
            sample._media_start = media_start
            sample._media_stop = media_stop
            sample._media_type = media_type
        except Exception as exc:
            # Whatever was built goes, without a release message: the ticket never reaches 0
            # (and the connection ends, so the sender takes the sample back).
            ticket.remaining = -1
            for memory in blocks:
                memory.Release()
            if sample is not None:
                sample.Release()
            _close_fds(list(new_fds))
            raise self._broken(f"cannot map the SAMPLE message's blocks ({exc!r})") from exc
        return sample

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
