"""Transport of the sample protocol: addresses, ``SOCK_SEQPACKET`` sockets, `Listener`,
`connect`, `socket_pair`, and sending and receiving one message with its file descriptors.

The addresses and the peer check are described in the `dshow_alloc.ipc` package docstring.
"""

from __future__ import annotations

import array
import contextlib
import errno
import logging
import os
import secrets
import select
import socket
import stat
import struct
import time

from dshow_alloc.hresult import AccessDeniedError, VfwNotConnectedError, VfwTimeoutError
from dshow_alloc.ipc.wire import _MAX_BLOCKS

__all__ = ["Address", "Listener", "connect", "socket_pair", "unique_address"]

log = logging.getLogger("dshow_alloc.ipc")

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
