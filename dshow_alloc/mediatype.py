"""Media types: ``AM_MEDIA_TYPE``, its format blocks and the GUIDs that name them.

GUID values are Microsoft's (uuids.h, ksuuids.h, wmcodecdsp.h). In a ``MediaType`` used for
matching, ``GUID_NULL`` in ``major_type``, ``subtype`` or ``format_type`` is a wildcard, as in
``IPin::Connect`` with a partial type.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs

from dshow_alloc.validators import INT32, UINT16, UINT32, int_in

__all__ = [
    "GUID_NULL",
    "MEDIASUBTYPE_I420",
    "MEDIASUBTYPE_IEEE_FLOAT",
    "MEDIASUBTYPE_IYUV",
    "MEDIASUBTYPE_NV12",
    "MEDIASUBTYPE_PCM",
    "MEDIASUBTYPE_RGB24",
    "MEDIASUBTYPE_RGB32",
    "MEDIASUBTYPE_YUY2",
    "WAVE_FORMAT_IEEE_FLOAT",
    "WAVE_FORMAT_PCM",
    "FORMAT_None",
    "FORMAT_VideoInfo",
    "FORMAT_WaveFormatEx",
    "MEDIASUBTYPE_None",
    "MEDIATYPE_Audio",
    "MEDIATYPE_Stream",
    "MEDIATYPE_Video",
    "MediaType",
    "VideoInfoHeader",
    "WaveFormatEx",
    "fourcc_subtype",
]

GUID_NULL = UUID("00000000-0000-0000-0000-000000000000")

MEDIATYPE_Video = UUID("73646976-0000-0010-8000-00aa00389b71")  # 'vids'
MEDIATYPE_Audio = UUID("73647561-0000-0010-8000-00aa00389b71")  # 'auds'
MEDIATYPE_Stream = UUID("e436eb83-524f-11ce-9f53-0020af0ba770")  # a byte stream
MEDIASUBTYPE_None = UUID("e436eb8e-524f-11ce-9f53-0020af0ba770")
FORMAT_None = UUID("0f6417d6-c318-11d0-a43f-00a0c9223196")

MEDIASUBTYPE_NV12 = UUID("3231564e-0000-0010-8000-00aa00389b71")
MEDIASUBTYPE_I420 = UUID("30323449-0000-0010-8000-00aa00389b71")
MEDIASUBTYPE_IYUV = UUID("56555949-0000-0010-8000-00aa00389b71")
MEDIASUBTYPE_YUY2 = UUID("32595559-0000-0010-8000-00aa00389b71")
MEDIASUBTYPE_RGB24 = UUID("e436eb7d-524f-11ce-9f53-0020af0ba770")
MEDIASUBTYPE_RGB32 = UUID("e436eb7e-524f-11ce-9f53-0020af0ba770")
MEDIASUBTYPE_PCM = UUID("00000001-0000-0010-8000-00aa00389b71")
MEDIASUBTYPE_IEEE_FLOAT = UUID("00000003-0000-0010-8000-00aa00389b71")

FORMAT_VideoInfo = UUID("05589f80-c356-11ce-bf01-00aa0055595a")
FORMAT_WaveFormatEx = UUID("05589f81-c356-11ce-bf01-00aa0055595a")

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003


def fourcc_subtype(fourcc: str) -> UUID:
    """The subtype GUID DirectShow derives from a FourCC (``"NV12"`` -> MEDIASUBTYPE_NV12)."""
    if not isinstance(fourcc, str):
        raise TypeError(f"a FourCC is a str, not {type(fourcc).__name__}")
    raw = fourcc.encode("ascii")
    if len(raw) != 4:
        raise ValueError(f"a FourCC is four ASCII characters, got {fourcc!r}")
    return UUID(fields=(int.from_bytes(raw, "little"), 0x0000, 0x0010, 0x80, 0x00, 0x00AA00389B71))


_U16, _U32, _I32 = UINT16, UINT32, INT32
_TIME = int_in(0, 2**63 - 1)


@attrs.frozen
class VideoInfoHeader:
    """``VIDEOINFOHEADER`` with its ``BITMAPINFOHEADER`` folded in."""

    width: int = attrs.field(validator=_I32)
    """bmiHeader.biWidth: pixels per row."""
    height: int = attrs.field(validator=_I32)
    """bmiHeader.biHeight: rows; negative means a top-down RGB image."""
    bit_count: int = attrs.field(default=0, validator=_U16)
    """bmiHeader.biBitCount: bits per pixel."""
    avg_time_per_frame: int = attrs.field(default=0, validator=_TIME)
    """AvgTimePerFrame: frame duration in 100 ns units."""
    bit_rate: int = attrs.field(default=0, validator=_U32)
    """dwBitRate: bits per second."""
    image_size: int = attrs.field(default=0, validator=_U32)
    """bmiHeader.biSizeImage: bytes per frame (0 for uncompressed RGB)."""
    bit_error_rate: int = attrs.field(default=0, validator=_U32)
    """dwBitErrorRate: bit errors per second."""
    compression: int = attrs.field(default=0, validator=_U32)
    """bmiHeader.biCompression: FourCC as a little-endian DWORD; 0 (BI_RGB) for RGB."""
    planes: int = attrs.field(default=1, validator=_U16)
    """bmiHeader.biPlanes: always 1."""


def _default_block_align(self: WaveFormatEx) -> int:
    return self.channels * self.bits_per_sample // 8


def _default_avg_bytes(self: WaveFormatEx) -> int:
    return self.samples_per_sec * self.block_align


@attrs.frozen
class WaveFormatEx:
    """``WAVEFORMATEX``; ``block_align`` and ``avg_bytes_per_sec`` derive from the others."""

    format_tag: int = attrs.field(validator=_U16)
    """wFormatTag: ``WAVE_FORMAT_PCM`` or ``WAVE_FORMAT_IEEE_FLOAT``."""
    channels: int = attrs.field(validator=_U16)
    """nChannels."""
    samples_per_sec: int = attrs.field(validator=_U32)
    """nSamplesPerSec: sample rate in Hz."""
    bits_per_sample: int = attrs.field(validator=_U16)
    """wBitsPerSample."""
    block_align: int = attrs.field(
        default=attrs.Factory(_default_block_align, takes_self=True), validator=_U16
    )
    """nBlockAlign: bytes per frame of all channels (channels * bits_per_sample / 8)."""
    avg_bytes_per_sec: int = attrs.field(
        default=attrs.Factory(_default_avg_bytes, takes_self=True), validator=_U32
    )
    """nAvgBytesPerSec: samples_per_sec * block_align."""
    extra: bytes = attrs.field(default=b"", validator=attrs.validators.instance_of(bytes))
    """The cbSize bytes that follow the structure."""


def _guid(_inst: Any, attribute: attrs.Attribute[UUID], value: object) -> None:
    if not isinstance(value, UUID):
        raise TypeError(f"{attribute.name} must be a uuid.UUID, not {type(value).__name__}")


_sample_size = int_in(0, 0xFFFFFFFF, fits="a ULONG")


@attrs.frozen
class MediaType:
    """``AM_MEDIA_TYPE``. Frozen, so handing one out is DirectShow's deep copy."""

    major_type: UUID = attrs.field(validator=_guid)
    """majortype: ``MEDIATYPE_Video``, ``MEDIATYPE_Audio``, ... (GUID_NULL: any)."""
    subtype: UUID = attrs.field(validator=_guid)
    """subtype: ``MEDIASUBTYPE_*`` (GUID_NULL: any)."""
    format_type: UUID = attrs.field(validator=_guid)
    """formattype: ``FORMAT_VideoInfo``, ``FORMAT_WaveFormatEx`` (GUID_NULL: any or none)."""
    format: Any = None
    """pbFormat: the format block (``VideoInfoHeader``, ``WaveFormatEx``) or None."""
    fixed_size_samples: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool)
    )
    """bFixedSizeSamples."""
    temporal_compression: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    """bTemporalCompression."""
    sample_size: int = attrs.field(default=0, validator=_sample_size)
    """lSampleSize: bytes per sample when sizes are fixed, else 0."""

    def is_partially_specified(self) -> bool:
        """True when a GUID is GUID_NULL (a wildcard), as ``CMediaType::IsPartiallySpecified``."""
        return GUID_NULL in (self.major_type, self.subtype, self.format_type)

    def matches(self, other: MediaType) -> bool:
        """True when ``other`` fits this type: equal GUIDs, GUID_NULL on either side matching any.

        When both format types are specified, the format blocks must be equal too (a partial type
        with ``format_type == GUID_NULL`` ignores the format block).
        """
        for mine, theirs in (
            (self.major_type, other.major_type),
            (self.subtype, other.subtype),
            (self.format_type, other.format_type),
        ):
            if mine != theirs and GUID_NULL not in (mine, theirs):
                return False
        if GUID_NULL in (self.format_type, other.format_type):
            return True
        return self.format is None or other.format is None or self.format == other.format
