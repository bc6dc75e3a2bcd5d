"""What the built-in file and socket filters share: the open-on-Pause, close-on-Stop lifecycle
(`HoldsResource`), its file-sink and file-source forms (`FileSink`, `FileSource`), the error
for a file that cannot be opened (`LocationError`), a path property, a required-value check,
and a loop that writes every byte.

Private to ``dshow_alloc.plugins``: the registered filters are the public surface.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, NoReturn, Protocol, TypeVar

from dshow_alloc.filters import BaseFilter, RendererFilter, SourceFilter
from dshow_alloc.mediatype import MediaType
from dshow_alloc.pins import error_hresult
from dshow_alloc.registry import PropertyError, prop
from dshow_alloc.structs import EC_ERRORABORT, EC_USERABORT, FilterState, PinDirection

__all__ = [
    "IN",
    "IOV_MAX",
    "OUT",
    "SECOND",
    "STOPPED",
    "FileSink",
    "FileSource",
    "HoldsResource",
    "LocationError",
    "advance",
    "location_error",
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


class LocationError(PropertyError, OSError):
    """A file a filter's property names that cannot be opened, saying which filter, which
    property and why: ``y4msink0: cannot write location=/no/dir/x.y4m: No such file or
    directory``. An OSError with the cause's ``errno``, ``strerror`` and ``filename``; made
    by `location_error`, whose subclasses also keep the cause's kind (a missing file is a
    `FileNotFoundError`)."""

    def __init__(
        self,
        message: str,
        *,
        filter_name: str,
        property_name: str,
        value: Any,
        errno: int | None = None,
        strerror: str | None = None,
    ) -> None:
        super().__init__(errno, strerror, os.fspath(value) if value is not None else None)
        self.message = message
        self.filter_name, self.property_name, self.value = filter_name, property_name, value

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as made (the OSError default would call __init__ with errno, strerror).
        remake = functools.partial(
            type(self),
            self.message,
            filter_name=self.filter_name,
            property_name=self.property_name,
            value=self.value,
            errno=self.errno,
            strerror=self.strerror,
        )
        return (remake, ())


class LocationNotFoundError(LocationError, FileNotFoundError):
    """`LocationError` for a file or directory that does not exist."""


class LocationPermissionError(LocationError, PermissionError):
    """`LocationError` for a file the process may not open so."""


class LocationIsADirectoryError(LocationError, IsADirectoryError):
    """`LocationError` for a location that is a directory."""


class LocationNotADirectoryError(LocationError, NotADirectoryError):
    """`LocationError` for a location whose parent is not a directory."""


class LocationExistsError(LocationError, FileExistsError):
    """`LocationError` for a file that must not exist yet."""


_LOCATION_ERRORS: dict[type[OSError], type[LocationError]] = {
    FileNotFoundError: LocationNotFoundError,
    PermissionError: LocationPermissionError,
    IsADirectoryError: LocationIsADirectoryError,
    NotADirectoryError: LocationNotADirectoryError,
    FileExistsError: LocationExistsError,
}


def location_error(
    exc: OSError, filter_name: str, value: Any, action: str, property_name: str = "location"
) -> OSError:
    """``exc`` (opening the file ``value`` to ``action``: "read", "write") as a
    `LocationError` naming the filter and the property, of the same kind as ``exc``; an
    ``exc`` that already is one is returned as it is."""
    if isinstance(exc, LocationError):
        return exc
    cls = next(
        (error for kind, error in _LOCATION_ERRORS.items() if isinstance(exc, kind)),
        LocationError,
    )
    why = exc.strerror or str(exc)
    return cls(
        f"{filter_name}: cannot {action} {property_name}={value}: {why}",
        filter_name=filter_name,
        property_name=property_name,
        value=value,
        errno=exc.errno,
        strerror=exc.strerror,
    )


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


def _raise_location_error(exc: OSError, filter: Any, action: str, property_name: str) -> NoReturn:
    """Raise ``exc`` as a `LocationError` of ``filter``'s ``property_name``."""
    if isinstance(exc, LocationError):
        raise exc
    props = getattr(filter, "props", None)
    value = getattr(props, property_name.replace("-", "_"), None)
    raise location_error(exc, filter.name, value, action, property_name) from exc


class FileSink(HoldsResource, RendererFilter, Generic[F]):
    """A renderer writing one file a run, as the file sinks do (``sync=False``).

    Subclasses implement `open_file` (create the file and write its header; called only when
    the input is connected: no connection, no file), `write_sample` and `finish_file`
    (headers, trailer, close). The file is finished at end of stream *before* completion is
    reported (a reader after ``WaitForCompletion`` sees the whole file; a failure to finish
    is reported as EC_ERRORABORT), or at ``Stop`` (which raises a failure). A lock keeps
    writing and finishing apart: a sample arriving after the file was finished is dropped.

    A file that cannot be created makes ``Pause`` raise a `LocationError` (an OSError of the
    cause's kind) naming the filter and its `location_property`, changing nothing. No
    header-only file is left behind after an error: a run that wrote no sample removes the
    file it created at ``Stop`` when it ended without end of stream (stopped first), or when
    the graph reported an error or a user abort (EC_ERRORABORT, EC_USERABORT; an error
    upstream sends end of stream after reporting itself). A run that wrote samples keeps
    its file, however far it got; a clean run of no samples (end of stream, no error) keeps
    its valid, empty file.
    """

    location_property: ClassVar[str] = "location"
    """The property naming the file (in launch spelling)."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name, sync=False)
        self._file_lock = threading.Lock()  # writing against finishing (Stop's thread)
        self._file: F | None = None
        self._path: Path | None = None  # the file the open one was created at
        self._file_samples = 0
        self._empty: Path | None = None  # finished at end of stream with no sample in it

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
        """Close ``file`` without finishing it: the pause that opened it failed, or the run
        ended with nothing written (the file is removed next)."""
        try:
            file.close()
        except Exception:
            log.debug("%r: closing an abandoned file failed", self, exc_info=True)

    def file_samples(self) -> int:
        """Samples written into the open file (read with the file lock held; a sink that
        writes in its own ``receive`` counts its own)."""
        return self._file_samples

    def open_resource(self) -> None:
        """`open_file`, when the input is connected; an OSError becomes a `LocationError`."""
        pin = self.input
        file: F | None = None
        if pin.is_connected():
            try:
                file = self.open_file(pin.ConnectionMediaType())
            except OSError as exc:
                _raise_location_error(exc, self, "write", self.location_property)
        self.hold_file(file)

    def hold_file(self, file: F | None) -> None:
        """Keep ``file`` (None: no file this run) as the file `open_resource` created at
        the path `location_property` names: a subclass opening its own calls this."""
        props = getattr(self, "props", None)
        path = getattr(props, self.location_property.replace("-", "_"), None)
        with self._file_lock:
            self._file, self._file_samples, self._empty = file, 0, None
            self._path = Path(path) if file is not None and path is not None else None

    def release_resource(self, *, failed: bool) -> None:
        """`finish_file`; after a failed pause, or with nothing written, `abandon_file` and
        remove the file (also one finished empty at end of stream, when the graph reported
        an error: see the class docstring). The file lock is held meanwhile: a caller
        returns once the file is done."""
        with self._file_lock:
            file, self._file = self._file, None
            empty, self._empty = self._empty, None
            if file is None:
                if empty is not None and _graph_aborted(self):
                    _remove(self, empty)
                return
            path, self._path = self._path, None
            if failed or self.file_samples() == 0:
                self.abandon_file(file)
                if path is not None:
                    _remove(self, path)
            else:
                self.finish_file(file)

    def DoRenderSample(self, sample: Any) -> None:
        """`write_sample`, unless the file was finished (a stop racing the stream)."""
        with self._file_lock:
            file = self._file
            if file is not None:
                self.write_sample(file, sample)
                self._file_samples += 1

    def end_of_stream(self, pin: Any) -> None:
        """Finish the file (kept, even with no samples), then report completion (so a
        reader after ``WaitForCompletion`` sees the whole file)."""
        try:
            with self._file_lock:
                file, self._file, path, self._path = self._file, None, self._path, None
                if file is not None:
                    self._empty = path if self.file_samples() == 0 else None
                    self.finish_file(file)
        except Exception as exc:
            self.notify_event(EC_ERRORABORT, error_hresult(exc), exc)
        super().end_of_stream(pin)


def _graph_aborted(filter: Any) -> bool:
    """Whether ``filter``'s graph reported an error or a user abort as its completion."""
    wait = getattr(filter.graph, "WaitForCompletion", None)
    if wait is None:
        return False
    try:
        return wait(0) in (EC_ERRORABORT, EC_USERABORT)
    except Exception:  # not complete (E_ABORT), or not a graph that says
        return False


def _remove(filter: Any, path: Path) -> None:
    """Remove the file ``filter`` created at ``path`` (an unfinished run's)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("%r: cannot remove the unfinished %s", filter, path, exc_info=True)


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

    location_property: ClassVar[str] = "location"
    """The property naming the file (in launch spelling)."""

    def open_resource(self) -> None:
        """`open_file`; an OSError becomes a `LocationError`."""
        try:
            self._file = self.open_file()
        except OSError as exc:
            _raise_location_error(exc, self, "read", self.location_property)

    def release_resource(self, *, failed: bool) -> None:
        """`close_file`."""
        file, self._file = self._file, None
        if file is not None:
            self.close_file(file)
