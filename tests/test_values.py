"""Value types, GUIDs and flag constants (API.md §2, reference/directshow.md §1.1)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs
import pytest

import dshow_alloc
from dshow_alloc import (
    GUID_NULL,
    MEDIASUBTYPE_I420,
    MEDIASUBTYPE_IEEE_FLOAT,
    MEDIASUBTYPE_NV12,
    MEDIASUBTYPE_PCM,
    MEDIASUBTYPE_RGB24,
    MEDIASUBTYPE_RGB32,
    MEDIASUBTYPE_YUY2,
    AllocatorProperties,
    FORMAT_VideoInfo,
    FORMAT_WaveFormatEx,
    MediaType,
    MEDIATYPE_Audio,
    MEDIATYPE_Video,
    SampleProperties,
    VideoInfoHeader,
    WaveFormatEx,
    fourcc_subtype,
)

# -- AllocatorProperties -------------------------------------------------------------------


def test_allocator_properties_defaults() -> None:
    """Every field defaults to 0."""
    props = AllocatorProperties()
    assert (props.buffers, props.buffer_size, props.align, props.prefix) == (0, 0, 0, 0)


def test_allocator_properties_positional_order() -> None:
    """The positional order is ALLOCATOR_PROPERTIES': cBuffers, cbBuffer, cbAlign, cbPrefix."""
    props = AllocatorProperties(3, 4096, 16, 8)
    assert (props.buffers, props.buffer_size, props.align, props.prefix) == (3, 4096, 16, 8)
    assert [f.name for f in attrs.fields(AllocatorProperties)] == [
        "buffers",
        "buffer_size",
        "align",
        "prefix",
    ]


def test_allocator_properties_directshow_aliases() -> None:
    """cBuffers, cbBuffer, cbAlign and cbPrefix read the same fields."""
    props = AllocatorProperties(buffers=3, buffer_size=4096, align=16, prefix=8)
    assert props.cBuffers == 3
    assert props.cbBuffer == 4096
    assert props.cbAlign == 16
    assert props.cbPrefix == 8


@pytest.mark.parametrize("field", ["buffers", "buffer_size", "align", "prefix"])
def test_allocator_properties_negative_is_value_error(field: str) -> None:
    """A negative count or size is refused at construction."""
    with pytest.raises(ValueError):
        AllocatorProperties(**{field: -1})


@pytest.mark.parametrize("field", ["buffers", "buffer_size", "align", "prefix"])
@pytest.mark.parametrize("bad", [1.0, "1", None, b"\x01"], ids=["float", "str", "None", "bytes"])
def test_allocator_properties_non_int_is_type_error(field: str, bad: object) -> None:
    """A field that is not an int is refused with TypeError."""
    with pytest.raises(TypeError):
        AllocatorProperties(**{field: bad})


def test_allocator_properties_frozen_and_equal_by_value() -> None:
    """AllocatorProperties is immutable and compares by value."""
    props = AllocatorProperties(1, 2, 4, 0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        props.buffers = 5  # type: ignore[misc]
    assert props.buffers == 1
    assert props == AllocatorProperties(1, 2, 4, 0)
    assert hash(props) == hash(AllocatorProperties(1, 2, 4, 0))
    assert props != AllocatorProperties(1, 2, 4, 1)


# -- SampleProperties ----------------------------------------------------------------------

SAMPLE_FIELDS = [
    "type_specific_flags",
    "sample_flags",
    "actual",
    "start",
    "stop",
    "stream_id",
    "media_type",
    "size",
]


def test_sample_properties_fields() -> None:
    """The fields are AM_SAMPLE2_PROPERTIES', in its order (without cbData and pbBuffer)."""
    assert [f.name for f in attrs.fields(SampleProperties)] == SAMPLE_FIELDS


def test_sample_properties_defaults() -> None:
    """Defaults are those of a zeroed structure: all 0, no media type."""
    props = SampleProperties()
    assert props.type_specific_flags == 0
    assert props.sample_flags == 0
    assert props.actual == 0
    assert props.start == 0
    assert props.stop == 0
    assert props.stream_id == 0 == dshow_alloc.AM_STREAM_MEDIA
    assert props.media_type is None
    assert props.size == 0


def test_sample_properties_values() -> None:
    """Every field keeps what it was given; REFERENCE_TIME extremes fit."""
    mt = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo)
    props = SampleProperties(
        type_specific_flags=7,
        sample_flags=0x111,
        actual=10,
        start=-(2**63),
        stop=2**63 - 1,
        stream_id=dshow_alloc.AM_STREAM_CONTROL,
        media_type=mt,
        size=64,
    )
    assert attrs.astuple(props, recurse=False) == (7, 0x111, 10, -(2**63), 2**63 - 1, 1, mt, 64)


def test_sample_properties_frozen() -> None:
    """SampleProperties is immutable; attrs.evolve makes a changed copy."""
    props = SampleProperties(actual=3)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        props.actual = 4  # type: ignore[misc]
    assert attrs.evolve(props, actual=4).actual == 4
    assert props.actual == 3


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"start": 1.5}, TypeError),
        ({"stop": 1.0}, TypeError),
        ({"start": "0"}, TypeError),
        ({"sample_flags": 1.0}, TypeError),
        ({"type_specific_flags": None}, TypeError),
        ({"actual": "10"}, TypeError),
        ({"stream_id": 0.0}, TypeError),
        ({"size": 1.0}, TypeError),
        ({"media_type": "video"}, TypeError),
        ({"media_type": MEDIATYPE_Video}, TypeError),
        ({"start": 2**63}, ValueError),
        ({"stop": -(2**63) - 1}, ValueError),
        ({"size": -1}, ValueError),
        ({"sample_flags": -1}, ValueError),
        ({"sample_flags": 2**32}, ValueError),
        ({"type_specific_flags": -1}, ValueError),
        ({"stream_id": -1}, ValueError),
    ],
    ids=lambda v: repr(v) if not isinstance(v, dict) else ",".join(f"{k}={v[k]!r}" for k in v),
)
def test_sample_properties_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Wrong types raise TypeError (times are ints, never float); out-of-range ValueError."""
    with pytest.raises(error):
        SampleProperties(**kwargs)


# -- MediaType -----------------------------------------------------------------------------

NV12 = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo)


def test_media_type_requires_guids() -> None:
    """major_type, subtype and format_type are required UUIDs."""
    with pytest.raises(TypeError):
        MediaType()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MediaType(str(MEDIATYPE_Video), MEDIASUBTYPE_NV12, FORMAT_VideoInfo)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MediaType(MEDIATYPE_Video, None, FORMAT_VideoInfo)  # type: ignore[arg-type]


def test_media_type_defaults() -> None:
    """format None, fixed_size_samples True, temporal_compression False, sample_size 0."""
    assert NV12.major_type == MEDIATYPE_Video
    assert NV12.subtype == MEDIASUBTYPE_NV12
    assert NV12.format_type == FORMAT_VideoInfo
    assert NV12.format is None
    assert NV12.fixed_size_samples is True
    assert NV12.temporal_compression is False
    assert NV12.sample_size == 0
    assert [f.name for f in attrs.fields(MediaType)][:7] == [
        "major_type",
        "subtype",
        "format_type",
        "format",
        "fixed_size_samples",
        "temporal_compression",
        "sample_size",
    ]


def test_media_type_frozen_value() -> None:
    """MediaType is immutable and compares by value."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        NV12.subtype = MEDIASUBTYPE_I420  # type: ignore[misc]
    assert MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo) == NV12
    assert hash(MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo)) == hash(NV12)
    assert attrs.evolve(NV12, subtype=MEDIASUBTYPE_I420) != NV12


def test_media_type_is_partially_specified() -> None:
    """A type with GUID_NULL in any of its three GUIDs is partially specified."""
    assert not NV12.is_partially_specified()
    assert MediaType(GUID_NULL, MEDIASUBTYPE_NV12, FORMAT_VideoInfo).is_partially_specified()
    assert MediaType(MEDIATYPE_Video, GUID_NULL, FORMAT_VideoInfo).is_partially_specified()
    assert MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, GUID_NULL).is_partially_specified()
    assert MediaType(GUID_NULL, GUID_NULL, GUID_NULL).is_partially_specified()


def test_media_type_matches_with_wildcards() -> None:
    """GUID_NULL in a field matches any value there; other fields must be equal."""
    any_video = MediaType(MEDIATYPE_Video, GUID_NULL, GUID_NULL)
    anything = MediaType(GUID_NULL, GUID_NULL, GUID_NULL)
    any_audio = MediaType(MEDIATYPE_Audio, GUID_NULL, GUID_NULL)
    i420 = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_I420, FORMAT_VideoInfo)
    assert NV12.matches(NV12)
    assert any_video.matches(NV12)
    assert NV12.matches(any_video)
    assert anything.matches(NV12)
    assert anything.matches(any_audio)
    assert not any_audio.matches(NV12)
    assert not NV12.matches(any_audio)
    assert not NV12.matches(i420)
    assert MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, GUID_NULL).matches(NV12)
    assert not MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_WaveFormatEx).matches(NV12)


def test_media_type_with_format_block() -> None:
    """A format block is stored as given; different blocks do not match."""
    vih = VideoInfoHeader(640, 480, bit_count=12)
    a = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, format=vih)
    b = MediaType(
        MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, format=attrs.evolve(vih, width=320)
    )
    assert a.format is vih
    assert a.matches(a)
    assert not a.matches(b)
    assert a != b


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"sample_size": -1}, ValueError),
        ({"sample_size": 1.0}, TypeError),
        ({"fixed_size_samples": "yes"}, TypeError),
        ({"temporal_compression": 1.0}, TypeError),
    ],
    ids=["sample_size-negative", "sample_size-float", "fixed-str", "temporal-float"],
)
def test_media_type_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Field types and ranges are checked at construction."""
    with pytest.raises(error):
        MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, **kwargs)


# -- format blocks -------------------------------------------------------------------------


def test_video_info_header_defaults() -> None:
    """width and height are required; the rest default to 0."""
    vih = VideoInfoHeader(1920, 1080)
    assert (vih.width, vih.height) == (1920, 1080)
    assert vih.bit_count == 0
    assert vih.avg_time_per_frame == 0
    assert vih.bit_rate == 0
    assert vih.image_size == 0
    with pytest.raises(TypeError):
        VideoInfoHeader()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        VideoInfoHeader(1920)  # type: ignore[call-arg]


def test_video_info_header_values_and_frozen() -> None:
    """Given values are kept (AvgTimePerFrame in 100 ns units); the header is immutable."""
    vih = VideoInfoHeader(
        640, -480, bit_count=32, avg_time_per_frame=333_333, bit_rate=1000, image_size=1228800
    )
    assert (vih.height, vih.bit_count, vih.avg_time_per_frame) == (-480, 32, 333_333)
    assert (vih.bit_rate, vih.image_size) == (1000, 1228800)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        vih.width = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"width": 640.0}, TypeError),
        ({"height": "480"}, TypeError),
        ({"avg_time_per_frame": 333333.3}, TypeError),
        ({"bit_count": -1}, ValueError),
        ({"avg_time_per_frame": -1}, ValueError),
        ({"bit_rate": -1}, ValueError),
        ({"image_size": -1}, ValueError),
    ],
    ids=lambda v: ",".join(f"{k}={v[k]!r}" for k in v) if isinstance(v, dict) else v.__name__,
)
def test_video_info_header_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Wrong types raise TypeError; negative sizes, rates and durations raise ValueError."""
    args: dict[str, Any] = {"width": 640, "height": 480, **kwargs}
    with pytest.raises(error):
        VideoInfoHeader(**args)


@pytest.mark.parametrize(
    ("channels", "bits", "rate", "block_align", "avg_bytes"),
    [
        (2, 16, 48000, 4, 192000),
        (1, 8, 8000, 1, 8000),
        (6, 24, 48000, 18, 864000),
        (2, 32, 44100, 8, 352800),
    ],
)
def test_wave_format_derived_fields(
    channels: int, bits: int, rate: int, block_align: int, avg_bytes: int
) -> None:
    """block_align = channels * bits / 8 and avg_bytes_per_sec = rate * block_align."""
    wfx = WaveFormatEx(1, channels, rate, bits)
    assert wfx.format_tag == 1
    assert wfx.channels == channels
    assert wfx.samples_per_sec == rate
    assert wfx.bits_per_sample == bits
    assert wfx.block_align == block_align
    assert wfx.avg_bytes_per_sec == avg_bytes


def test_wave_format_keywords_and_explicit_values() -> None:
    """The named fields work as keywords; explicit block_align/avg_bytes_per_sec are kept."""
    wfx = WaveFormatEx(
        format_tag=3, channels=2, samples_per_sec=48000, bits_per_sample=32,
        block_align=16, avg_bytes_per_sec=1,
    )  # fmt: skip
    assert (wfx.block_align, wfx.avg_bytes_per_sec) == (16, 1)
    assert WaveFormatEx(3, 2, 48000, 32, block_align=16).avg_bytes_per_sec == 768000
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        wfx.channels = 1  # type: ignore[misc]
    assert dshow_alloc.WAVE_FORMAT_PCM == 1
    assert dshow_alloc.WAVE_FORMAT_IEEE_FLOAT == 3


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((1.0, 2, 48000, 16), TypeError),
        ((1, "2", 48000, 16), TypeError),
        ((1, 2, 48000.0, 16), TypeError),
        ((1, 2, 48000, None), TypeError),
        ((1, -2, 48000, 16), ValueError),
        ((1, 2, -48000, 16), ValueError),
        ((-1, 2, 48000, 16), ValueError),
    ],
)
def test_wave_format_validation(args: tuple[Any, ...], error: type[Exception]) -> None:
    """Wrong types raise TypeError; negative counts and rates raise ValueError."""
    with pytest.raises(error):
        WaveFormatEx(*args)


def test_wave_format_requires_fields() -> None:
    """format_tag, channels, samples_per_sec and bits_per_sample are required."""
    with pytest.raises(TypeError):
        WaveFormatEx(1, 2, 48000)  # type: ignore[call-arg]


# -- GUIDs and constants -------------------------------------------------------------------

GUIDS = {
    "MEDIATYPE_Video": "73646976-0000-0010-8000-00aa00389b71",
    "MEDIATYPE_Audio": "73647561-0000-0010-8000-00aa00389b71",
    "MEDIASUBTYPE_NV12": "3231564e-0000-0010-8000-00aa00389b71",
    "MEDIASUBTYPE_I420": "30323449-0000-0010-8000-00aa00389b71",
    "MEDIASUBTYPE_IYUV": "56555949-0000-0010-8000-00aa00389b71",
    "MEDIASUBTYPE_YUY2": "32595559-0000-0010-8000-00aa00389b71",
    "MEDIASUBTYPE_RGB24": "e436eb7d-524f-11ce-9f53-0020af0ba770",
    "MEDIASUBTYPE_RGB32": "e436eb7e-524f-11ce-9f53-0020af0ba770",
    "MEDIASUBTYPE_PCM": "00000001-0000-0010-8000-00aa00389b71",
    "MEDIASUBTYPE_IEEE_FLOAT": "00000003-0000-0010-8000-00aa00389b71",
    "FORMAT_VideoInfo": "05589f80-c356-11ce-bf01-00aa0055595a",
    "FORMAT_WaveFormatEx": "05589f81-c356-11ce-bf01-00aa0055595a",
    "GUID_NULL": "00000000-0000-0000-0000-000000000000",
}


@pytest.mark.parametrize(("name", "value"), sorted(GUIDS.items()))
def test_guid_constant(name: str, value: str) -> None:
    """Each GUID constant is a uuid.UUID with Microsoft's value."""
    guid = getattr(dshow_alloc, name)
    assert isinstance(guid, UUID)
    assert guid == UUID(value)


def test_guid_null_is_zero() -> None:
    """GUID_NULL is the all-zero UUID."""
    assert GUID_NULL.int == 0


@pytest.mark.parametrize(
    ("fourcc", "expected"),
    [
        ("NV12", MEDIASUBTYPE_NV12),
        ("I420", MEDIASUBTYPE_I420),
        ("YUY2", MEDIASUBTYPE_YUY2),
        ("vids", MEDIATYPE_Video),
        ("auds", MEDIATYPE_Audio),
    ],
)
def test_fourcc_subtype(fourcc: str, expected: UUID) -> None:
    """A FourCC maps to XXXXXXXX-0000-0010-8000-00AA00389B71 with the code little-endian."""
    assert fourcc_subtype(fourcc) == expected


def test_non_fourcc_subtypes() -> None:
    """RGB and audio subtypes are not FourCC-derived (RGB) or use the format tag (PCM, float)."""
    assert MEDIASUBTYPE_RGB24 != MEDIASUBTYPE_RGB32
    assert MEDIASUBTYPE_PCM.fields[0] == dshow_alloc.WAVE_FORMAT_PCM
    assert MEDIASUBTYPE_IEEE_FLOAT.fields[0] == dshow_alloc.WAVE_FORMAT_IEEE_FLOAT


FLAGS = {
    "AM_GBF_PREVFRAMESKIPPED": 1,
    "AM_GBF_NOTASYNCPOINT": 2,
    "AM_GBF_NOWAIT": 4,
    "AM_SAMPLE_SPLICEPOINT": 0x1,
    "AM_SAMPLE_PREROLL": 0x2,
    "AM_SAMPLE_DATADISCONTINUITY": 0x4,
    "AM_SAMPLE_TYPECHANGED": 0x8,
    "AM_SAMPLE_TIMEVALID": 0x10,
    "AM_SAMPLE_TIMEDISCONTINUITY": 0x40,
    "AM_SAMPLE_FLUSH_ON_PAUSE": 0x80,
    "AM_SAMPLE_STOPVALID": 0x100,
    "AM_SAMPLE_ENDOFSTREAM": 0x200,
    "AM_STREAM_MEDIA": 0,
    "AM_STREAM_CONTROL": 1,
}


@pytest.mark.parametrize(("name", "value"), sorted(FLAGS.items()))
def test_flag_constant(name: str, value: int) -> None:
    """Each flag constant is an int with its axcore.idl value."""
    constant = getattr(dshow_alloc, name)
    assert type(constant) is int
    assert constant == value


def test_sample_flags_are_distinct_bits() -> None:
    """The AM_SAMPLE_* flags are single, distinct bits, none of them 0x20 (media time)."""
    bits = [v for k, v in FLAGS.items() if k.startswith("AM_SAMPLE_")]
    assert all(b & (b - 1) == 0 for b in bits)
    assert len(set(bits)) == len(bits)
    combined = 0
    for b in bits:
        combined |= b
    assert combined == 0x3DF
    assert not combined & 0x20
