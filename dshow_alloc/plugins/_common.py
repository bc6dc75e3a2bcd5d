"""What the built-in file and socket filters share: the open-on-Pause, close-on-Stop lifecycle
(`HoldsResource`), its file-sink and file-source forms (`FileSink`, `FileSource`), a path
property, a required-value check, and a loop that writes every byte.

Private to ``dshow_alloc.plugins``: the registered filters are the public surface.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from dshow_alloc.filters import BaseFilter, RendererFilter, SourceFilter
from dshow_alloc.mediatype import MediaType
from dshow_alloc.pins import error_hresult
from dshow_alloc.registry import prop
from dshow_alloc.structs import EC_ERRORABORT, FilterState, PinDirection

__all__ = [
    "IN",
    "IOV_MAX",
    "OUT",
    "SECOND",
    "STOPPED",
    "FileSink",
    "FileSource",
    "HoldsResource",
    "advance",
    "open_checked",
    "path_prop",
    "required",
    "write_all",
]

log = logging.getLogger(__name__)

IN, OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT
STOPPED = FilterState.State_Stopped
SECOND = 10_000_000
"""REFERENCE_TIME units (100 ns) in a second."""
IOV_MAX = 1024
"""readv/writev take at most this many buffers a call on Linux."""

T = TypeVar("T")


class _Closable(Protocol):
    def close(self) -> None: ...


F = TypeVar("F", bound=_Closable)


def path_prop(doc: str) -> Any:
    """A `Path` property that is not set by default (a ``location``, a ``socket-path``)."""
    return prop(None, kind=Path, doc=doc)


def required(value: T | None, message: str) -> T:
    """``value``, or ValueError(``message``) when it is None (a property left unset)."""
    if value is None:
        raise ValueError(message)
    return value


def open_checked(path: Path, mode: str, prepare: Callable[[io.FileIO], object]) -> io.FileIO:
    """``path`` opened unbuffered in ``mode`` (``"rb"``, ``"wb"``) once ``prepare`` ran on it
    (reading and checking a header, or writing one); closed again when ``prepare`` raises."""
    file = io.FileIO(os.fspath(path), mode)  # as Path.open: errors name the path as a str
    try:
        prepare(file)
    except BaseException:
        file.close()
        raise
    return file


def advance(pending: list[memoryview], count: int) -> None:
    """Take ``count`` bytes off the front of ``pending`` (after a readv or writev): the views
    done whole go, a partial one keeps the rest."""
    while count and pending:
        first = pending[0]
        if count >= len(first):
            count -= len(first)
            pending.pop(0)
        else:
            pending[0] = first[count:]
            count = 0


def write_all(fd: int, views: list[memoryview]) -> None:
    """Write every byte of ``views`` in order (a short write carries on where it stopped)."""
    pending = [view for view in views if len(view)]
    while pending:
        advance(pending, os.writev(fd, pending[:IOV_MAX]))


class HoldsResource(BaseFilter):
    """A filter that holds a resource (a file, a socket) from leaving Stopped until Stop.

    ``Pause`` from Stopped calls `open_resource` first, with the filter lock held, so that a
    resource that cannot be had (a bad location) raises before anything changes; when the
    pause itself then fails, `release_resource` (``failed=True``) gives it back. ``Stop``
    stops (joining any streaming) and then calls `release_resource`, whose errors it raises.
    Put it before the filter base class: ``class MySink(HoldsResource, RendererFilter)``.
    """

    def open_resource(self) -> None:
        """Take the resource; raising refuses the pause with nothing changed."""

    def release_resource(self, *, failed: bool) -> None:
        """Give the resource back (nothing to do when it is not held). ``failed``: the
        pause that took it failed, and its error is raised after this."""

    def Pause(self) -> None:
        """See `IMediaFilter.Pause`: leaving Stopped takes the resource first."""
        with self._lock:
            if self._state is not STOPPED:
                super().Pause()
                return
            self.open_resource()
            try:
                super().Pause()
            except BaseException:
                self.release_resource(failed=True)
                raise

    def Stop(self) -> None:
        """See `IMediaFilter.Stop`: stop, then give the resource back."""
        with self._lock:
            try:
                super().Stop()
            finally:
                self.release_resource(failed=False)


class FileSink(HoldsResource, RendererFilter, Generic[F]):
    """A renderer writing one file a run, as the file sinks do (``sync=False``).

    Subclasses implement `open_file` (create the file and write its header; called only when
    the input is connected: no connection, no file), `write_sample` and `finish_file`
    (headers, trailer, close). The file is finished at end of stream *before* completion is
    reported (a reader after ``WaitForCompletion`` sees the whole file; a failure to finish
    is reported as EC_ERRORABORT), or at ``Stop`` (which raises a failure). A lock keeps
    writing and finishing apart: a sample arriving after the file was finished is dropped.
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name, sync=False)
        self._file_lock = threading.Lock()  # writing against finishing (Stop's thread)
        self._file: F | None = None

    def open_file(self, media_type: MediaType) -> F:
        """Create the file for the connection type ``media_type`` and write its header
        (called by ``Pause`` leaving Stopped)."""
        raise NotImplementedError

    def write_sample(self, file: F, sample: Any) -> None:
        """Write ``sample`` into ``file`` (called with the file lock held)."""
        raise NotImplementedError

    def finish_file(self, file: F) -> None:
        """Complete and close ``file``, once (called with the file lock held)."""
        raise NotImplementedError

    def abandon_file(self, file: F) -> None:
        """Close ``file`` without finishing it: the pause that opened it failed."""
        try:
            file.close()
        except Exception:
            log.debug("%r: closing an abandoned file failed", self, exc_info=True)

    def open_resource(self) -> None:
        """`open_file`, when the input is connected."""
        pin = self.input
        file = self.open_file(pin.ConnectionMediaType()) if pin.is_connected() else None
        with self._file_lock:
            self._file = file

    def release_resource(self, *, failed: bool) -> None:
        """`finish_file`, or `abandon_file` after a failed pause. The file lock is held
        meanwhile: a caller returns once the file is done."""
        with self._file_lock:
            file, self._file = self._file, None
            if file is None:
                return
            if failed:
                self.abandon_file(file)
            else:
                self.finish_file(file)

    def DoRenderSample(self, sample: Any) -> None:
        """`write_sample`, unless the file was finished (a stop racing the stream)."""
        with self._file_lock:
            file = self._file
            if file is not None:
                self.write_sample(file, sample)

    def end_of_stream(self, pin: Any) -> None:
        """Finish the file, then report completion (so a reader after ``WaitForCompletion``
        sees the whole file)."""
        try:
            self.release_resource(failed=False)
        except Exception as exc:
            self.notify_event(EC_ERRORABORT, error_hresult(exc), exc)
        super().end_of_stream(pin)


class FileSource(HoldsResource, SourceFilter, Generic[F]):
    """A source reading a file it opens again each time it leaves Stopped (every run starts
    at the beginning) and closes at ``Stop``, after its streaming thread was joined.

    Subclasses implement `open_file` (open and position it, checking it still matches what
    the filter offers; raising refuses the pause) and read ``self._file`` in ``FillBuffer``
    (None: not open, the stream is over); `close_file` closes it.
    """

    _file: F | None = None
    """The open file, from ``Pause`` to ``Stop``."""

    def open_file(self) -> F:
        """Open the file for a run (called by ``Pause`` leaving Stopped)."""
        raise NotImplementedError

    def close_file(self, file: F) -> None:
        """Close ``file`` (the streaming thread has stopped)."""
        file.close()

    def open_resource(self) -> None:
        """`open_file`."""
        self._file = self.open_file()

    def release_resource(self, *, failed: bool) -> None:
        """`close_file`."""
        file, self._file = self._file, None
        if file is not None:
            self.close_file(file)
