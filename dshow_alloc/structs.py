"""DirectShow value types and flag constants.

``AllocatorProperties`` is ``ALLOCATOR_PROPERTIES``; ``SampleProperties`` is
``AM_SAMPLE2_PROPERTIES``. Both are frozen: an allocator or a sample hands out a new value and
never lets a caller's copy change under it. Every field names the DirectShow field it stands for.
"""

from __future__ import annotations

import enum
import uuid
from typing import TYPE_CHECKING, Any

import attrs

from dshow_alloc.validators import (
    INT32,
    NON_NEGATIVE,
    REFERENCE_TIME,
    UINT32,
    optional_instance_of,
)

if TYPE_CHECKING:
    from dshow_alloc.mediatype import MediaType

__all__ = [
    "AM_GBF_NOTASYNCPOINT",
    "AM_GBF_NOWAIT",
    "AM_GBF_PREVFRAMESKIPPED",
    "AM_SAMPLE_DATADISCONTINUITY",
    "AM_SAMPLE_ENDOFSTREAM",
    "AM_SAMPLE_FLUSH_ON_PAUSE",
    "AM_SAMPLE_PREROLL",
    "AM_SAMPLE_SPLICEPOINT",
    "AM_SAMPLE_STOPVALID",
    "AM_SAMPLE_TIMEDISCONTINUITY",
    "AM_SAMPLE_TIMEVALID",
    "AM_SAMPLE_TYPECHANGED",
    "AM_STREAM_CONTROL",
    "AM_STREAM_MEDIA",
    "EC_CLOCK_CHANGED",
    "EC_COMPLETE",
    "EC_ERRORABORT",
    "EC_PAUSED",
    "EC_USERABORT",
    "MERIT_DO_NOT_USE",
    "MERIT_NORMAL",
    "MERIT_PREFERRED",
    "MERIT_UNLIKELY",
    "SAMPLE_MEDIA_TIME_VALID",
    "SAMPLE_VALID_FLAGS",
    "TIME_FORMAT_MEDIA_TIME",
    "TIME_FORMAT_NONE",
    "AM_SEEKING_AbsolutePositioning",
    "AM_SEEKING_CanDoSegments",
    "AM_SEEKING_CanGetCurrentPos",
    "AM_SEEKING_CanGetDuration",
    "AM_SEEKING_CanGetStopPos",
    "AM_SEEKING_CanPlayBackwards",
    "AM_SEEKING_CanSeekAbsolute",
    "AM_SEEKING_CanSeekBackwards",
    "AM_SEEKING_CanSeekForwards",
    "AM_SEEKING_IncrementalPositioning",
    "AM_SEEKING_NoFlush",
    "AM_SEEKING_NoPositioning",
    "AM_SEEKING_PositioningBitsMask",
    "AM_SEEKING_RelativePositioning",
    "AM_SEEKING_ReturnTime",
    "AM_SEEKING_SeekToKeyFrame",
    "AM_SEEKING_Segment",
    "AM_SEEKING_Source",
    "AllocatorProperties",
    "EventCode",
    "FilterInfo",
    "FilterState",
    "PinDirection",
    "PinInfo",
    "Quality",
    "QualityMessageType",
    "SampleProperties",
]

# IMemAllocator::GetBuffer flags (axcore.idl). Only AM_GBF_NOWAIT changes what MemAllocator does.
AM_GBF_PREVFRAMESKIPPED = 1
AM_GBF_NOTASYNCPOINT = 2
AM_GBF_NOWAIT = 4

# AM_SAMPLE2_PROPERTIES.dwSampleFlags (axcore.idl).
AM_SAMPLE_SPLICEPOINT = 0x1
AM_SAMPLE_PREROLL = 0x2
AM_SAMPLE_DATADISCONTINUITY = 0x4
AM_SAMPLE_TYPECHANGED = 0x8
AM_SAMPLE_TIMEVALID = 0x10
AM_SAMPLE_TIMEDISCONTINUITY = 0x40
AM_SAMPLE_FLUSH_ON_PAUSE = 0x80
AM_SAMPLE_STOPVALID = 0x100
AM_SAMPLE_ENDOFSTREAM = 0x200

#: CMediaSample's private "media time valid" bit: never reported, refused by SetProperties.
SAMPLE_MEDIA_TIME_VALID = 0x20
#: Every flag bit a sample may carry (CMediaSample's Sample_ValidFlags).
SAMPLE_VALID_FLAGS = 0x1FF


# IMediaSeeking::SetPositions flags (AM_SEEKING_SEEKING_FLAGS, strmif.h): one positioning
# mode in the low two bits, then modifiers.
AM_SEEKING_NoPositioning = 0x0
AM_SEEKING_AbsolutePositioning = 0x1
AM_SEEKING_RelativePositioning = 0x2
AM_SEEKING_IncrementalPositioning = 0x3
AM_SEEKING_PositioningBitsMask = 0x3
AM_SEEKING_SeekToKeyFrame = 0x4
AM_SEEKING_ReturnTime = 0x8
AM_SEEKING_Segment = 0x10
AM_SEEKING_NoFlush = 0x20

# IMediaSeeking::GetCapabilities bits (AM_SEEKING_SEEKING_CAPABILITIES, strmif.h).
AM_SEEKING_CanSeekAbsolute = 0x1
AM_SEEKING_CanSeekForwards = 0x2
AM_SEEKING_CanSeekBackwards = 0x4
AM_SEEKING_CanGetCurrentPos = 0x8
AM_SEEKING_CanGetStopPos = 0x10
AM_SEEKING_CanGetDuration = 0x20
AM_SEEKING_CanPlayBackwards = 0x40
AM_SEEKING_CanDoSegments = 0x80
AM_SEEKING_Source = 0x100

#: TIME_FORMAT_MEDIA_TIME (uuids.h): REFERENCE_TIME, the only time format supported.
TIME_FORMAT_MEDIA_TIME = uuid.UUID("7b785574-8c82-11cf-bc0c-00aa00ac74f6")
#: TIME_FORMAT_NONE: GUID_NULL.
TIME_FORMAT_NONE = uuid.UUID(int=0)

# AM_SAMPLE2_PROPERTIES.dwStreamId values.
AM_STREAM_MEDIA = 0
AM_STREAM_CONTROL = 1

# A registered filter's merit (strmif.h): the graph builder's intelligent connect inserts
# only filters above MERIT_DO_NOT_USE, the highest merit first.
MERIT_PREFERRED = 0x800000
MERIT_NORMAL = 0x600000
MERIT_UNLIKELY = 0x400000
MERIT_DO_NOT_USE = 0x200000


class EventCode(enum.IntEnum):
    """Filter graph event codes (evcode.h), as ``IMediaEvent.GetEvent`` reports them."""

    EC_COMPLETE = 0x01
    """Every renderer has seen end of stream (param1: S_OK; param2: 0 or the renderer)."""
    EC_USERABORT = 0x02
    """The user ended playback (param1, param2: 0)."""
    EC_ERRORABORT = 0x03
    """Streaming stopped on an error (param1: the HRESULT; param2: the exception or None)."""
    EC_CLOCK_CHANGED = 0x0D
    """The graph's reference clock changed (param1, param2: 0)."""
    EC_PAUSED = 0x0E
    """A pause request completed (param1: S_OK; param2: 0)."""


EC_COMPLETE = EventCode.EC_COMPLETE
EC_USERABORT = EventCode.EC_USERABORT
EC_ERRORABORT = EventCode.EC_ERRORABORT
EC_CLOCK_CHANGED = EventCode.EC_CLOCK_CHANGED
EC_PAUSED = EventCode.EC_PAUSED

_non_negative_int, _reference_time = NON_NEGATIVE, REFERENCE_TIME
_uint32, _int32 = UINT32, INT32


@attrs.frozen
class AllocatorProperties:
    """``ALLOCATOR_PROPERTIES``: how many buffers an allocator holds and how they are laid out."""

    buffers: int = attrs.field(default=0, validator=_non_negative_int)
    """cBuffers: number of samples in the pool."""
    buffer_size: int = attrs.field(default=0, validator=_non_negative_int)
    """cbBuffer: data bytes per sample, not counting the prefix."""
    align: int = attrs.field(default=0, validator=_non_negative_int)
    """cbAlign: alignment in bytes of the start of each sample's prefix (a power of two)."""
    prefix: int = attrs.field(default=0, validator=_non_negative_int)
    """cbPrefix: bytes reserved before each sample's data, inside the same block."""

    @property
    def cBuffers(self) -> int:
        """Alias of ``buffers`` under its DirectShow name."""
        return self.buffers

    @property
    def cbBuffer(self) -> int:
        """Alias of ``buffer_size`` under its DirectShow name."""
        return self.buffer_size

    @property
    def cbAlign(self) -> int:
        """Alias of ``align`` under its DirectShow name."""
        return self.align

    @property
    def cbPrefix(self) -> int:
        """Alias of ``prefix`` under its DirectShow name."""
        return self.prefix


def _media_type_class() -> type:
    from dshow_alloc.mediatype import MediaType  # mediatype imports this module

    return MediaType


_optional_media_type = optional_instance_of(_media_type_class, "a MediaType")


@attrs.frozen
class SampleProperties:
    """``AM_SAMPLE2_PROPERTIES``: everything ``IMediaSample2`` reads and writes in one call."""

    type_specific_flags: int = attrs.field(default=0, validator=_uint32)
    """dwTypeSpecificFlags: flags whose meaning depends on the media type."""
    sample_flags: int = attrs.field(default=0, validator=_uint32)
    """dwSampleFlags: the ``AM_SAMPLE_*`` bits."""
    actual: int = attrs.field(default=0, validator=_int32)
    """lActual: bytes of valid data."""
    start: int = attrs.field(default=0, validator=_reference_time)
    """tStart: start time, meaningful when ``AM_SAMPLE_TIMEVALID`` is set."""
    stop: int = attrs.field(default=0, validator=_reference_time)
    """tStop: stop time, meaningful when ``AM_SAMPLE_STOPVALID`` is set."""
    stream_id: int = attrs.field(default=AM_STREAM_MEDIA, validator=_uint32)
    """dwStreamId: ``AM_STREAM_MEDIA`` or ``AM_STREAM_CONTROL``."""
    media_type: MediaType | None = attrs.field(default=None, validator=_optional_media_type)
    """pMediaType: the in-band type change, meaningful with ``AM_SAMPLE_TYPECHANGED``."""
    size: int = attrs.field(default=0, validator=_non_negative_int)
    """cbBuffer: the sample's buffer size; 0 on input to SetProperties means "not given"."""


class PinDirection(enum.IntEnum):
    """``PIN_DIRECTION``."""

    PINDIR_INPUT = 0
    PINDIR_OUTPUT = 1


class FilterState(enum.IntEnum):
    """``FILTER_STATE``."""

    State_Stopped = 0
    State_Paused = 1
    State_Running = 2


@attrs.frozen
class PinInfo:
    """``PIN_INFO``: what ``IPin.QueryPinInfo`` returns."""

    filter: Any
    """pFilter: the owning filter (IBaseFilter), or None."""
    direction: PinDirection
    """dir: input or output."""
    name: str
    """achName: the pin's name."""


@attrs.frozen
class FilterInfo:
    """``FILTER_INFO``: what ``IBaseFilter.QueryFilterInfo`` returns."""

    name: str
    """achName: the name the graph knows the filter by ("" outside a graph)."""
    graph: Any
    """pGraph: the filter graph, or None."""


class QualityMessageType(enum.IntEnum):
    """``QualityMessageType``: which way a stream is out of balance."""

    Famine = 0
    """Data arrives too late: send less (skip work, drop frames)."""
    Flood = 1
    """Data arrives early and plentiful: more could be sent."""


def _quality_type(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, QualityMessageType):
        raise TypeError(
            f"{attribute.name} must be a QualityMessageType (Famine or Flood), "
            f"not {type(value).__name__}"
        )


def _proportion(_inst: Any, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int:
        raise TypeError(f"{attribute.name} must be an int, not {type(value).__name__}")
    if not 0 < value < 2**31:
        raise ValueError(
            f"{attribute.name} must be a LONG > 0 (1000 is the current rate), got {value}"
        )


@attrs.frozen
class Quality:
    """``Quality``: a quality message, sent upstream by ``IQualityControl.Notify``."""

    type: QualityMessageType = attrs.field(validator=_quality_type)
    """Type: ``Famine`` (too late) or ``Flood`` (early)."""
    proportion: int = attrs.field(validator=_proportion)
    """Proportion: the rate of data the sender can take, per mille of the current rate (1000:
    as now; 500: half as much)."""
    late: int = attrs.field(validator=_reference_time)
    """Late: how late (100 ns units; negative: early) the sample at ``timestamp`` was."""
    timestamp: int = attrs.field(validator=_reference_time)
    """TimeStamp: the start time (stream time) of the sample the message is about."""
