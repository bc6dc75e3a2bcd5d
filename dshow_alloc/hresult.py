"""HRESULT values and the exceptions that carry them.

A failing HRESULT is raised as `COMError` (one statically written subclass per code, so
type checkers and IDEs see every class); success codes are ordinary returns (see the README's
mapping table). Values are the Windows ones as unsigned 32-bit numbers (vfwmsgs.h, winerror.h).
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = [
    "FAILED",
    "HRESULT",
    "SUCCEEDED",
    "AbortError",
    "AccessDeniedError",
    "COMError",
    "FailError",
    "InvalidArgError",
    "NoInterfaceError",
    "NotImplError",
    "OutOfMemoryError",
    "PointerError",
    "UnexpectedError",
    "VfwAlreadyCommittedError",
    "VfwAlreadyConnectedError",
    "VfwBadAlignError",
    "VfwBufferNotSetError",
    "VfwBufferOverflowError",
    "VfwBuffersOutstandingError",
    "VfwCannotConnectError",
    "VfwCannotRenderError",
    "VfwEnumOutOfSyncError",
    "VfwInvalidDirectionError",
    "VfwInvalidMediaTypeError",
    "VfwMediaTimeNotSetError",
    "VfwNoAcceptableTypesError",
    "VfwNoAllocatorError",
    "VfwNoClockError",
    "VfwNoTransportError",
    "VfwNotCommittedError",
    "VfwNotConnectedError",
    "VfwNotFoundError",
    "VfwNotInGraphError",
    "VfwNotStoppedError",
    "VfwRuntimeError",
    "VfwSampleTimeNotSetError",
    "VfwSizeNotSetError",
    "VfwTimeoutError",
    "VfwTypeNotAcceptedError",
    "VfwWrongStateError",
    "hresult_error_class",
]


class HRESULT(enum.IntEnum):
    """Windows HRESULT codes used by DirectShow, as unsigned 32-bit values."""

    S_OK = 0x00000000
    S_FALSE = 0x00000001
    VFW_S_NO_MORE_ITEMS = 0x00040103
    VFW_S_STATE_INTERMEDIATE = 0x00040237
    VFW_S_CANT_CUE = 0x00040268
    VFW_S_NO_STOP_TIME = 0x00040270
    E_NOTIMPL = 0x80004001
    E_NOINTERFACE = 0x80004002
    E_POINTER = 0x80004003
    E_ABORT = 0x80004004
    E_FAIL = 0x80004005
    E_UNEXPECTED = 0x8000FFFF
    E_ACCESSDENIED = 0x80070005
    E_OUTOFMEMORY = 0x8007000E
    E_INVALIDARG = 0x80070057
    VFW_E_INVALIDMEDIATYPE = 0x80040200
    VFW_E_ENUM_OUT_OF_SYNC = 0x80040203
    VFW_E_ALREADY_CONNECTED = 0x80040204
    VFW_E_NO_ACCEPTABLE_TYPES = 0x80040207
    VFW_E_INVALID_DIRECTION = 0x80040208
    VFW_E_NOT_CONNECTED = 0x80040209
    VFW_E_NO_ALLOCATOR = 0x8004020A
    VFW_E_RUNTIME_ERROR = 0x8004020B
    VFW_E_BUFFER_NOTSET = 0x8004020C
    VFW_E_BUFFER_OVERFLOW = 0x8004020D
    VFW_E_BADALIGN = 0x8004020E
    VFW_E_ALREADY_COMMITTED = 0x8004020F
    VFW_E_BUFFERS_OUTSTANDING = 0x80040210
    VFW_E_NOT_COMMITTED = 0x80040211
    VFW_E_SIZENOTSET = 0x80040212
    VFW_E_NO_CLOCK = 0x80040213
    VFW_E_NOT_FOUND = 0x80040216
    VFW_E_CANNOT_CONNECT = 0x80040217
    VFW_E_CANNOT_RENDER = 0x80040218
    VFW_E_NOT_STOPPED = 0x80040224
    VFW_E_WRONG_STATE = 0x80040227
    VFW_E_TYPE_NOT_ACCEPTED = 0x8004022A
    VFW_E_TIMEOUT = 0x8004022E
    VFW_E_SAMPLE_TIME_NOT_SET = 0x80040249
    VFW_E_MEDIA_TIME_NOT_SET = 0x80040251
    VFW_E_NOT_IN_GRAPH = 0x8004025F
    VFW_E_NO_TRANSPORT = 0x80040266


def FAILED(hr: int) -> bool:
    """True when ``hr`` is a failure code (bit 31 set)."""
    return bool(hr & 0x80000000)


def SUCCEEDED(hr: int) -> bool:
    """True when ``hr`` is a success code (S_OK, S_FALSE, VFW_S_*)."""
    return not hr & 0x80000000


class COMError(Exception):
    """A failed COM call. ``hresult`` is the exact unsigned Windows value.

    Raise a specific subclass (``VfwNotCommittedError()``) where the code is known; use
    ``COMError.from_hresult(hr)`` to turn a number into the matching subclass.
    """

    #: The code every instance of this class carries; ``None`` only on the base class.
    code: ClassVar[HRESULT | None] = None
    #: The Windows message text for ``code``.
    default_message: ClassVar[str] = "COM call failed."

    hresult: int
    message: str

    def __init__(self, hresult: int | None = None, message: str | None = None) -> None:
        if hresult is None:
            if self.code is None:
                raise TypeError("COMError needs an hresult")
            hresult = self.code
        elif self.code is not None and hresult != self.code:
            raise ValueError(
                f"{type(self).__name__} carries {self.code.name}, not 0x{hresult & 0xFFFFFFFF:08X}"
            )
        self.hresult = hresult & 0xFFFFFFFF
        self.message = message if message is not None else self.default_message
        super().__init__(self.hresult, self.message)

    @property
    def name(self) -> str:
        """The symbolic name of ``hresult`` (``"VFW_E_TIMEOUT"``), or its hex value."""
        try:
            return HRESULT(self.hresult).name
        except ValueError:
            return f"0x{self.hresult:08X}"

    def __str__(self) -> str:
        return f"{self.name} (0x{self.hresult:08X}): {self.message}"

    @classmethod
    def from_hresult(cls, hresult: int, message: str | None = None) -> COMError:
        """The exception for ``hresult``: its subclass when one exists, else a plain COMError."""
        klass = _BY_CODE.get(hresult & 0xFFFFFFFF)
        if klass is None:
            return COMError(hresult, message)
        return klass(None, message)


class NotImplError(COMError, NotImplementedError):
    """E_NOTIMPL (0x80004001)."""

    code = HRESULT.E_NOTIMPL
    default_message = "Not implemented."


class NoInterfaceError(COMError, TypeError):
    """E_NOINTERFACE (0x80004002)."""

    code = HRESULT.E_NOINTERFACE
    default_message = "No such interface supported."


class PointerError(COMError):
    """E_POINTER (0x80004003)."""

    code = HRESULT.E_POINTER
    default_message = "Invalid (NULL) pointer."


class AbortError(COMError):
    """E_ABORT (0x80004004)."""

    code = HRESULT.E_ABORT
    default_message = "Operation aborted."


class FailError(COMError):
    """E_FAIL (0x80004005)."""

    code = HRESULT.E_FAIL
    default_message = "Unspecified error."


class UnexpectedError(COMError):
    """E_UNEXPECTED (0x8000FFFF)."""

    code = HRESULT.E_UNEXPECTED
    default_message = "Catastrophic failure: the call was unexpected in this state."


class AccessDeniedError(COMError, PermissionError):
    """E_ACCESSDENIED (0x80070005)."""

    code = HRESULT.E_ACCESSDENIED
    default_message = "General access denied error."


class OutOfMemoryError(COMError, MemoryError):
    """E_OUTOFMEMORY (0x8007000E)."""

    code = HRESULT.E_OUTOFMEMORY
    default_message = "Ran out of memory."


class InvalidArgError(COMError, ValueError):
    """E_INVALIDARG (0x80070057)."""

    code = HRESULT.E_INVALIDARG
    default_message = "One or more arguments are invalid."


class VfwInvalidMediaTypeError(COMError):
    """VFW_E_INVALIDMEDIATYPE (0x80040200)."""

    code = HRESULT.VFW_E_INVALIDMEDIATYPE
    default_message = "The specified media type is invalid."


class VfwEnumOutOfSyncError(COMError):
    """VFW_E_ENUM_OUT_OF_SYNC (0x80040203)."""

    code = HRESULT.VFW_E_ENUM_OUT_OF_SYNC
    default_message = "The enumerator has become invalid."


class VfwAlreadyConnectedError(COMError):
    """VFW_E_ALREADY_CONNECTED (0x80040204)."""

    code = HRESULT.VFW_E_ALREADY_CONNECTED
    default_message = "At least one of the pins involved in the operation is already connected."


class VfwNoAcceptableTypesError(COMError):
    """VFW_E_NO_ACCEPTABLE_TYPES (0x80040207)."""

    code = HRESULT.VFW_E_NO_ACCEPTABLE_TYPES
    default_message = "No combination of media types was found that both pins accept."


class VfwInvalidDirectionError(COMError):
    """VFW_E_INVALID_DIRECTION (0x80040208)."""

    code = HRESULT.VFW_E_INVALID_DIRECTION
    default_message = "The two pins have the same direction."


class VfwNotConnectedError(COMError):
    """VFW_E_NOT_CONNECTED (0x80040209)."""

    code = HRESULT.VFW_E_NOT_CONNECTED
    default_message = "The operation cannot be performed because the pins are not connected."


class VfwNoAllocatorError(COMError):
    """VFW_E_NO_ALLOCATOR (0x8004020A)."""

    code = HRESULT.VFW_E_NO_ALLOCATOR
    default_message = "No sample buffer allocator is available."


class VfwRuntimeError(COMError):
    """VFW_E_RUNTIME_ERROR (0x8004020B)."""

    code = HRESULT.VFW_E_RUNTIME_ERROR
    default_message = "A run-time error occurred."


class VfwBufferNotSetError(COMError):
    """VFW_E_BUFFER_NOTSET (0x8004020C)."""

    code = HRESULT.VFW_E_BUFFER_NOTSET
    default_message = "No buffer space has been set."


class VfwBufferOverflowError(COMError):
    """VFW_E_BUFFER_OVERFLOW (0x8004020D)."""

    code = HRESULT.VFW_E_BUFFER_OVERFLOW
    default_message = "The buffer is not big enough."


class VfwBadAlignError(COMError):
    """VFW_E_BADALIGN (0x8004020E)."""

    code = HRESULT.VFW_E_BADALIGN
    default_message = "An invalid alignment was specified."


class VfwAlreadyCommittedError(COMError):
    """VFW_E_ALREADY_COMMITTED (0x8004020F)."""

    code = HRESULT.VFW_E_ALREADY_COMMITTED
    default_message = "Cannot change allocated memory while the filter is active."


class VfwBuffersOutstandingError(COMError):
    """VFW_E_BUFFERS_OUTSTANDING (0x80040210)."""

    code = HRESULT.VFW_E_BUFFERS_OUTSTANDING
    default_message = "One or more buffers are still active."


class VfwNotCommittedError(COMError):
    """VFW_E_NOT_COMMITTED (0x80040211)."""

    code = HRESULT.VFW_E_NOT_COMMITTED
    default_message = "Cannot allocate a sample when the allocator is not active."


class VfwSizeNotSetError(COMError):
    """VFW_E_SIZENOTSET (0x80040212)."""

    code = HRESULT.VFW_E_SIZENOTSET
    default_message = "Cannot allocate memory because no size has been set."


class VfwNoClockError(COMError):
    """VFW_E_NO_CLOCK (0x80040213)."""

    code = HRESULT.VFW_E_NO_CLOCK
    default_message = "Cannot lock for synchronization because no clock has been defined."


class VfwNotFoundError(COMError):
    """VFW_E_NOT_FOUND (0x80040216)."""

    code = HRESULT.VFW_E_NOT_FOUND
    default_message = "The requested object was not found."


class VfwCannotConnectError(COMError):
    """VFW_E_CANNOT_CONNECT (0x80040217)."""

    code = HRESULT.VFW_E_CANNOT_CONNECT
    default_message = (
        "No combination of intermediate filters could be found to make the connection."
    )


class VfwCannotRenderError(COMError):
    """VFW_E_CANNOT_RENDER (0x80040218)."""

    code = HRESULT.VFW_E_CANNOT_RENDER
    default_message = "No combination of filters could be found to render the stream."


class VfwNotStoppedError(COMError):
    """VFW_E_NOT_STOPPED (0x80040224)."""

    code = HRESULT.VFW_E_NOT_STOPPED
    default_message = (
        "The operation could not be performed because the filter graph is not stopped."
    )


class VfwWrongStateError(COMError):
    """VFW_E_WRONG_STATE (0x80040227)."""

    code = HRESULT.VFW_E_WRONG_STATE
    default_message = "The operation cannot be performed in the current state."


class VfwTypeNotAcceptedError(COMError):
    """VFW_E_TYPE_NOT_ACCEPTED (0x8004022A)."""

    code = HRESULT.VFW_E_TYPE_NOT_ACCEPTED
    default_message = "This media type is not accepted."


class VfwTimeoutError(COMError, TimeoutError):
    """VFW_E_TIMEOUT (0x8004022E)."""

    code = HRESULT.VFW_E_TIMEOUT
    default_message = "The operation timed out."


class VfwSampleTimeNotSetError(COMError):
    """VFW_E_SAMPLE_TIME_NOT_SET (0x80040249)."""

    code = HRESULT.VFW_E_SAMPLE_TIME_NOT_SET
    default_message = "No time stamp has been set for this sample."


class VfwMediaTimeNotSetError(COMError):
    """VFW_E_MEDIA_TIME_NOT_SET (0x80040251)."""

    code = HRESULT.VFW_E_MEDIA_TIME_NOT_SET
    default_message = "No media time stamp has been set for this sample."


class VfwNotInGraphError(COMError):
    """VFW_E_NOT_IN_GRAPH (0x8004025F)."""

    code = HRESULT.VFW_E_NOT_IN_GRAPH
    default_message = (
        "Cannot perform the requested function on an object that is not in the filter graph."
    )


class VfwNoTransportError(COMError):
    """VFW_E_NO_TRANSPORT (0x80040266)."""

    code = HRESULT.VFW_E_NO_TRANSPORT
    default_message = "Pins cannot connect because they don't support the same transport."


_BY_CODE: dict[int, type[COMError]] = {
    HRESULT.E_NOTIMPL: NotImplError,
    HRESULT.E_NOINTERFACE: NoInterfaceError,
    HRESULT.E_POINTER: PointerError,
    HRESULT.E_ABORT: AbortError,
    HRESULT.E_FAIL: FailError,
    HRESULT.E_UNEXPECTED: UnexpectedError,
    HRESULT.E_ACCESSDENIED: AccessDeniedError,
    HRESULT.E_OUTOFMEMORY: OutOfMemoryError,
    HRESULT.E_INVALIDARG: InvalidArgError,
    HRESULT.VFW_E_INVALIDMEDIATYPE: VfwInvalidMediaTypeError,
    HRESULT.VFW_E_ENUM_OUT_OF_SYNC: VfwEnumOutOfSyncError,
    HRESULT.VFW_E_ALREADY_CONNECTED: VfwAlreadyConnectedError,
    HRESULT.VFW_E_NO_ACCEPTABLE_TYPES: VfwNoAcceptableTypesError,
    HRESULT.VFW_E_INVALID_DIRECTION: VfwInvalidDirectionError,
    HRESULT.VFW_E_NOT_CONNECTED: VfwNotConnectedError,
    HRESULT.VFW_E_NO_ALLOCATOR: VfwNoAllocatorError,
    HRESULT.VFW_E_RUNTIME_ERROR: VfwRuntimeError,
    HRESULT.VFW_E_BUFFER_NOTSET: VfwBufferNotSetError,
    HRESULT.VFW_E_BUFFER_OVERFLOW: VfwBufferOverflowError,
    HRESULT.VFW_E_BADALIGN: VfwBadAlignError,
    HRESULT.VFW_E_ALREADY_COMMITTED: VfwAlreadyCommittedError,
    HRESULT.VFW_E_BUFFERS_OUTSTANDING: VfwBuffersOutstandingError,
    HRESULT.VFW_E_NOT_COMMITTED: VfwNotCommittedError,
    HRESULT.VFW_E_SIZENOTSET: VfwSizeNotSetError,
    HRESULT.VFW_E_NO_CLOCK: VfwNoClockError,
    HRESULT.VFW_E_NOT_FOUND: VfwNotFoundError,
    HRESULT.VFW_E_CANNOT_CONNECT: VfwCannotConnectError,
    HRESULT.VFW_E_CANNOT_RENDER: VfwCannotRenderError,
    HRESULT.VFW_E_NOT_STOPPED: VfwNotStoppedError,
    HRESULT.VFW_E_WRONG_STATE: VfwWrongStateError,
    HRESULT.VFW_E_TYPE_NOT_ACCEPTED: VfwTypeNotAcceptedError,
    HRESULT.VFW_E_TIMEOUT: VfwTimeoutError,
    HRESULT.VFW_E_SAMPLE_TIME_NOT_SET: VfwSampleTimeNotSetError,
    HRESULT.VFW_E_MEDIA_TIME_NOT_SET: VfwMediaTimeNotSetError,
    HRESULT.VFW_E_NOT_IN_GRAPH: VfwNotInGraphError,
    HRESULT.VFW_E_NO_TRANSPORT: VfwNoTransportError,
}


def hresult_error_class(hresult: int) -> type[COMError]:
    """The COMError subclass raised for ``hresult`` (``COMError`` itself for unknown codes)."""
    return _BY_CODE.get(hresult & 0xFFFFFFFF, COMError)
