"""Raw video frame layouts and ``VIDEO_META``, the meta that tells a reader a frame's strides.

A DirectShow video type says a frame's size and format; where each plane starts and how many
bytes a row takes (the stride) follow from them, unless the producer padded its rows, for
example to align each row for SIMD. GStreamer's answer, kept here, is a meta on the sample:
``VIDEO_META`` (api ``"video-meta"``) with ``format``, ``width``, ``height``, ``n_planes`` and the
per-plane ``offsets`` and ``strides``. `video_layout` computes them from a video `MediaType`
and a stride alignment; a pool configured with the option ``"video-meta"`` attaches one to
each of its samples. ``VIDEO_META`` is tagged ``"memory"``: a copy of part of a sample, or one
that merges its blocks, does not keep it.

Formats: NV12, I420, IYUV (planar 4:2:0), YUY2 (packed 4:2:2), RGB24 and RGB32 (bottom-up or
top-down DIBs; an RGB24 row is padded to 4 bytes, as a DIB's always is).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs

from dshow_alloc.hresult import InvalidArgError
from dshow_alloc.mediatype import (
    MEDIASUBTYPE_I420,
    MEDIASUBTYPE_IYUV,
    MEDIASUBTYPE_NV12,
    MEDIASUBTYPE_RGB24,
    MEDIASUBTYPE_RGB32,
    MEDIASUBTYPE_YUY2,
    FORMAT_VideoInfo,
    MediaType,
    MEDIATYPE_Video,
    VideoInfoHeader,
)
from dshow_alloc.meta import TAG_MEMORY, Meta, register_meta
from dshow_alloc.pool import PoolConfig, PoolOption, register_pool_option

__all__ = [
    "OPTION_VIDEO_META",
    "VIDEO_FORMATS",
    "VIDEO_META",
    "VideoLayout",
    "video_format",
    "video_layout",
    "video_type",
]


@attrs.frozen
class _Format:
    name: str
    subtype: UUID
    bit_count: int
    fourcc: bool
    # Per plane: (bytes per row for a width w, rows for a height h).
    planes: tuple[tuple[Any, Any], ...]
    min_stride_align: int = 1


def _half(n: int) -> int:
    return (n + 1) // 2


_FORMAT_LIST = (
    _Format(
        "NV12",
        MEDIASUBTYPE_NV12,
        12,
        True,
        ((lambda w: w, lambda h: h), (lambda w: _half(w) * 2, _half)),
    ),
    _Format(
        "I420",
        MEDIASUBTYPE_I420,
        12,
        True,
        ((lambda w: w, lambda h: h), (_half, _half), (_half, _half)),
    ),
    _Format(
        "IYUV",
        MEDIASUBTYPE_IYUV,
        12,
        True,
        ((lambda w: w, lambda h: h), (_half, _half), (_half, _half)),
    ),
    _Format("YUY2", MEDIASUBTYPE_YUY2, 16, True, ((lambda w: _half(w) * 4, lambda h: h),)),
    _Format("RGB24", MEDIASUBTYPE_RGB24, 24, False, ((lambda w: w * 3, lambda h: h),), 4),
    _Format("RGB32", MEDIASUBTYPE_RGB32, 32, False, ((lambda w: w * 4, lambda h: h),)),
)
_BY_NAME = {f.name: f for f in _FORMAT_LIST}
_BY_SUBTYPE = {f.subtype: f for f in _FORMAT_LIST}

VIDEO_FORMATS: tuple[str, ...] = tuple(_BY_NAME)
"""The raw video format names `video_layout` and `video_type` know."""


def _round_up(n: int, align: int) -> int:
    return -(-n // align) * align


@attrs.frozen
class VideoLayout:
    """Where the planes of one frame lie in its buffer."""

    format: str
    """Format name (``"NV12"``)."""
    width: int
    """Pixels per row."""
    height: int
    """Rows (positive, whatever the DIB orientation)."""
    offsets: tuple[int, ...]
    """Byte offset of each plane from the start of the frame."""
    strides: tuple[int, ...]
    """Bytes per row of each plane, padding included."""
    heights: tuple[int, ...]
    """Rows of each plane."""
    size: int
    """Bytes the whole frame needs."""

    @property
    def n_planes(self) -> int:
        """How many planes the format has."""
        return len(self.offsets)

    def meta_fields(self) -> dict[str, Any]:
        """The fields of a ``VIDEO_META`` describing this layout (``AddMeta(VIDEO_META, **f)``)."""
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "n_planes": self.n_planes,
            "offsets": self.offsets,
            "strides": self.strides,
        }

    def plane(self, data: memoryview, index: int) -> memoryview:
        """Plane ``index`` of a frame's bytes, as ``heights[index]`` rows of ``strides[index]``.

        The view is 2-D (rows by stride bytes) and shares ``data``'s memory and writability.
        """
        if not 0 <= index < self.n_planes:
            raise IndexError(f"{self.format} has {self.n_planes} planes, not plane {index}")
        start = self.offsets[index]
        stride, rows = self.strides[index], self.heights[index]
        if len(data) < start + stride * rows:
            raise ValueError(f"{len(data)} bytes do not hold plane {index} of {self}")
        return data[start : start + stride * rows].cast("B", (rows, stride))


def _format_of(media_type: MediaType) -> _Format:
    if not isinstance(media_type, MediaType):
        raise TypeError(f"a video layout needs a MediaType, not {type(media_type).__name__}")
    fmt = _BY_SUBTYPE.get(media_type.subtype)
    if media_type.major_type != MEDIATYPE_Video or fmt is None:
        raise ValueError(f"not a raw video type this module knows ({', '.join(VIDEO_FORMATS)})")
    if not isinstance(media_type.format, VideoInfoHeader):
        raise ValueError("the media type has no VideoInfoHeader format block")
    return fmt


def video_format(media_type: MediaType) -> str | None:
    """The format name of a raw video type this module knows (``"NV12"``), else None."""
    fmt = _BY_SUBTYPE.get(media_type.subtype)
    if (
        fmt is None
        or media_type.major_type != MEDIATYPE_Video
        or not isinstance(media_type.format, VideoInfoHeader)
    ):
        return None
    return fmt.name


def video_layout(media_type: MediaType | str, *args: int, stride_align: int = 1) -> VideoLayout:
    """The plane layout of a frame: ``video_layout(mt)`` or ``video_layout("NV12", w, h)``.

    Each plane's stride is rounded up to a multiple of ``stride_align`` (a power of two), and
    planes follow one another with no gap.
    """
    if type(stride_align) is not int or stride_align < 1 or stride_align & (stride_align - 1):
        raise ValueError(f"stride_align must be a power of two >= 1, got {stride_align!r}")
    if isinstance(media_type, str):
        fmt = _BY_NAME.get(media_type)
        if fmt is None:
            raise ValueError(f"unknown video format {media_type!r}; known: {VIDEO_FORMATS}")
        if len(args) != 2 or not all(type(a) is int for a in args):
            raise TypeError('video_layout("FORMAT", width, height) takes two ints')
        width, height = args
    else:
        if args:
            raise TypeError("video_layout(media_type) takes no width and height")
        fmt = _format_of(media_type)
        width, height = media_type.format.width, abs(media_type.format.height)
    if width <= 0 or height <= 0:
        raise ValueError(f"a frame needs a positive size, got {width}x{height}")
    align = max(stride_align, fmt.min_stride_align)
    offsets, strides, heights = [], [], []
    offset = 0
    for row_bytes, rows_of in fmt.planes:
        stride = _round_up(row_bytes(width), align)
        rows = rows_of(height)
        offsets.append(offset)
        strides.append(stride)
        heights.append(rows)
        offset += stride * rows
    return VideoLayout(
        fmt.name, width, height, tuple(offsets), tuple(strides), tuple(heights), offset
    )


def video_type(format: str, width: int, height: int, *, avg_time_per_frame: int = 0) -> MediaType:
    """A fully specified raw video `MediaType` (FORMAT_VideoInfo, fixed-size samples)."""
    fmt = _BY_NAME.get(format)
    if fmt is None:
        raise ValueError(f"unknown video format {format!r}; known: {VIDEO_FORMATS}")
    size = video_layout(format, width, height).size
    compression = int.from_bytes(fmt.name.encode("ascii"), "little") if fmt.fourcc else 0
    header = VideoInfoHeader(
        width=width,
        height=height,
        bit_count=fmt.bit_count,
        avg_time_per_frame=avg_time_per_frame,
        image_size=size,
        compression=compression,
    )
    return MediaType(MEDIATYPE_Video, fmt.subtype, FORMAT_VideoInfo, header, sample_size=size)


_VIDEO_FIELDS = ("format", "width", "height", "n_planes", "offsets", "strides")


def _video_meta_init(meta: Meta, _sample: object) -> bool:
    fields = meta.fields
    missing = [name for name in _VIDEO_FIELDS if name not in fields]
    if missing:
        raise TypeError(f"VIDEO_META needs the fields {missing}")
    n_planes = fields["n_planes"]
    if type(n_planes) is not int or not 1 <= n_planes <= 4:
        raise ValueError(f"n_planes must be an int in 1..4, got {n_planes!r}")
    for name in ("offsets", "strides"):
        value = tuple(fields[name])
        if len(value) != n_planes or not all(type(v) is int and v >= 0 for v in value):
            raise ValueError(f"{name} must be {n_planes} ints >= 0, got {fields[name]!r}")
        setattr(meta, name, value)
    return True


def _video_meta_transform(meta: Meta, dest: Any, **context: Any) -> bool:
    # Offsets and strides describe the whole frame: a copy of part of it cannot keep them.
    return not context.get("region", False)


VIDEO_META = register_meta(
    "video-meta",
    tags=("video", TAG_MEMORY, "colorspace", "size"),
    init=_video_meta_init,
    transform=_video_meta_transform,
)
"""GstVideoMeta: ``format``, ``width``, ``height``, ``n_planes``, ``offsets``, ``strides``."""


# -- the "video-meta" pool option (GstVideoBufferPool's GST_BUFFER_POOL_OPTION_VIDEO_META) ------

OPTION_VIDEO_META = "video-meta"
"""Pool option: each sample carries a pooled VIDEO_META computed from the config's media type,
with strides aligned to the config's ``align``. Registered here (`register_pool_option`): the
generic pool knows nothing of video."""


def _check_video_meta_config(config: PoolConfig) -> None:
    if config.media_type is None:
        raise InvalidArgError(message='pool option "video-meta" needs the config\'s media_type')
    try:
        layout = video_layout(config.media_type, stride_align=config.align)
    except ValueError as exc:
        raise InvalidArgError(message=f'pool option "video-meta": {exc}') from exc
    if layout.size > config.buffer_size:
        raise InvalidArgError(
            message=f"buffer_size {config.buffer_size} is smaller than the {layout.format} "
            f"frame with strides {layout.strides} ({layout.size} bytes)"
        )


def _video_meta_preparer(config: PoolConfig) -> Any:
    assert config.media_type is not None  # checked by SetConfig
    fields = video_layout(config.media_type, stride_align=config.align).meta_fields()

    def prepare(sample: Any) -> None:
        sample.AddMeta(VIDEO_META, **fields)

    return prepare


register_pool_option(
    PoolOption(OPTION_VIDEO_META, check=_check_video_meta_config, preparer=_video_meta_preparer)
)
