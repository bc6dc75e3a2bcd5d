"""Wire format of the sample protocol: message kinds and layouts, the HELLO check, and the
pickling of media types and metas (the table is in the `dshow_alloc.ipc` package docstring).

Pickles are read by unpicklers that accept only what the field holds: for media types the
``dshow_alloc.mediatype`` classes and ``uuid.UUID``, for metas no class at all.
"""

from __future__ import annotations

import io
import logging
import pickle
import struct
from typing import Any, Final

from dshow_alloc.hresult import InvalidArgError
from dshow_alloc.mediatype import MediaType
from dshow_alloc.meta import Meta, portable_metas

__all__ = ["PROTOCOL_VERSION"]

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


def _pickle_metas(metas: list[Meta]) -> bytes:
    """The metas of a sample that cross (`dshow_alloc.ipc` docstring), pickled; b"" for none."""
    crossing = portable_metas(metas)
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
