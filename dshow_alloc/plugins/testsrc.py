"""``videotestsrc`` and ``audiotestsrc``: sources of generated video and audio (numpy).

Both offer the type their properties describe first, and accept any type in their range, so
a caps filter downstream (``! video/x-raw,format=I420,width=640,height=360 !``) sets the
stream's format, size and rate. They read the connection's type when they leave Stopped.

Time stamps are exact: video frame ``i`` at ``n/d`` frames/s runs from ``i * 10**7 * d // n``
to where frame ``i + 1`` starts, with media time ``(i, i + 1)``; an audio sample whose first
frame is ``k`` and holds ``n`` frames runs from ``k * 10**7 // rate`` to ``(k + n) * 10**7 //
rate``, with media time ``(k, k + n)``. Every sample is a sync point.

Seeking (`SourceSeeking`). With ``num-buffers`` set (>= 0) a test source is a stream of known
length, as a file is: ``num-buffers`` frames (video) or ``num-buffers * samples-per-buffer``
frames (audio) from position 0, so its duration is where the frame after those would start,
and ``num-buffers`` bounds the *position*, not the count pushed: after ``SetPositions(t)`` the
stream plays from the frame that contains ``t`` to the end of those frames (fewer buffers
than ``num-buffers``; the last audio buffer may be short). Every frame is a key frame. The
pattern is a function of the frame number (the ball's place, the sine's phase), so a seek
draws exactly what playing through would have. Without ``num-buffers`` (the default, -1) the
stream has no end and no duration: ``GetCapabilities`` is 0 and ``SetPositions`` raises
E_NOTIMPL, as for any source that cannot seek.

Live (``is-live=true``, `LiveSource`). The source captures at the graph clock's pace, as a
camera or a microphone: frame (or sample) ``i`` is made when the clock reaches its stream
time while the graph runs, and stamped with that time, so the stamps above are the running
time of each capture; nothing is made while paused (the source's and the graph's
``get_state_code`` report VFW_S_CANT_CUE), and the source cannot seek. Its latency is one
frame (one ``samples-per-buffer`` buffer): renderers of a live graph present each one that
much after its time.

Quality (``videotestsrc``). Told by a renderer downstream that a frame came late
(``AlterQuality``: Famine), the video source skips the frames that would be late too: it
advances its frame counter, without drawing them, to the first frame that starts at or
after the stream time the renderer reached (``skipped`` counts them).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from dshow_alloc.audio import audio_format, audio_type
from dshow_alloc.caps import frame_time, framerate_of
from dshow_alloc.filters import LiveSource, SourceFilter, size_allocator
from dshow_alloc.hresult import VfwNotConnectedError
from dshow_alloc.mediatype import MediaType, VideoInfoHeader, WaveFormatEx
from dshow_alloc.pins import BasePin
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.seeking import SourceSeeking, frame_containing
from dshow_alloc.structs import (
    AllocatorProperties,
    FilterState,
    PinDirection,
    Quality,
    QualityMessageType,
)
from dshow_alloc.video import VIDEO_META, video_format, video_layout, video_type

__all__ = ["AudioTestSource", "VideoTestSource", "smpte_colors"]

_OUT = PinDirection.PINDIR_OUTPUT
_STOPPED = FilterState.State_Stopped
_SECOND = 10_000_000
_MAX_SIZE = 16384
_CACHE_LIMIT = 64  # samples whose numpy views are kept; more means samples are not pooled

Bytes = npt.NDArray[np.uint8]

# -- colours ---------------------------------------------------------------------------------

# Each colour as R, G, B in 0..1 (the pluge levels go outside it). Video-range BT.601 Y'CbCr
# and full-range 8-bit RGB are both derived from these.
_COLORS: dict[str, tuple[float, float, float]] = {
    "black": (0.0, 0.0, 0.0),
    "white75": (0.75, 0.75, 0.75),
    "yellow75": (0.75, 0.75, 0.0),
    "cyan75": (0.0, 0.75, 0.75),
    "green75": (0.0, 0.75, 0.0),
    "magenta75": (0.75, 0.0, 0.75),
    "red75": (0.75, 0.0, 0.0),
    "blue75": (0.0, 0.0, 0.75),
    "white": (1.0, 1.0, 1.0),
    "-I": (0.0, 33 / 255, 76 / 255),
    "+Q": (50 / 255, 0.0, 106 / 255),
    "black-4": (-0.04, -0.04, -0.04),
    "black+4": (0.04, 0.04, 0.04),
}
_NAMES = tuple(_COLORS)
_INDEX = {name: index for index, name in enumerate(_NAMES)}


def _round(value: float) -> int:
    return min(max(math.floor(value + 0.5), 0), 255)


def _yuv(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    """BT.601 Y'CbCr in video range (Y 16..235, Cb/Cr 16..240 around 128)."""
    r, g, b = rgb
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return (
        _round(16 + 219 * luma),
        _round(128 + 224 * (b - luma) / 1.772),
        _round(128 + 224 * (r - luma) / 1.402),
    )


def smpte_colors() -> dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """Each colour the patterns use: name -> ((Y, U, V) video range, (R, G, B) full range)."""
    return {
        name: (_yuv((r, g, b)), (_round(255 * r), _round(255 * g), _round(255 * b)))
        for name, (r, g, b) in _COLORS.items()
    }


# Palettes indexed by colour number: Y, U, V, and B,G,R,X bytes (a DIB's order).
_PAL_Y = np.array([_yuv(_COLORS[n])[0] for n in _NAMES], np.uint8)
_PAL_U = np.array([_yuv(_COLORS[n])[1] for n in _NAMES], np.uint8)
_PAL_V = np.array([_yuv(_COLORS[n])[2] for n in _NAMES], np.uint8)
_PAL_BGRX = np.array(
    [[_round(255 * c) for c in reversed(_COLORS[n])] + [255] for n in _NAMES], np.uint8
)


def _smpte_index(width: int, height: int) -> Bytes:
    """SMPTE EG 1 colour bars as colour numbers: seven 75% bars over two thirds of the
    height, the reversed castellations down to three quarters, then -I, white, +Q, black and
    the pluge (-4%, 0, +4%) and black."""
    idx = np.zeros((height, width), np.uint8)
    bar = Fraction(width, 7)

    def x(position: Fraction) -> int:
        return min(width, round(position * bar))

    top, middle = round(height * Fraction(2, 3)), round(height * Fraction(3, 4))
    bars = ("white75", "yellow75", "cyan75", "green75", "magenta75", "red75", "blue75")
    castles = ("blue75", "black", "magenta75", "black", "cyan75", "black", "white75")
    for i, (upper, lower) in enumerate(zip(bars, castles, strict=True)):
        idx[:top, x(Fraction(i)) : x(Fraction(i + 1))] = _INDEX[upper]
        idx[top:middle, x(Fraction(i)) : x(Fraction(i + 1))] = _INDEX[lower]
    bottom = (
        ("-I", Fraction(0), Fraction(5, 4)),
        ("white", Fraction(5, 4), Fraction(5, 2)),
        ("+Q", Fraction(5, 2), Fraction(15, 4)),
        ("black", Fraction(15, 4), Fraction(5)),
        ("black-4", Fraction(5), Fraction(16, 3)),
        ("black", Fraction(16, 3), Fraction(17, 3)),
        ("black+4", Fraction(17, 3), Fraction(6)),
        ("black", Fraction(6), Fraction(7)),
    )
    for name, left, right in bottom:
        idx[middle:, x(left) : x(right)] = _INDEX[name]
    return idx


# -- frame layouts ---------------------------------------------------------------------------

# Per format, per plane: (vertical subsampling, horizontal subsampling, bytes per sample).
_PLANES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "NV12": ((1, 1, 1), (2, 2, 2)),
    "I420": ((1, 1, 1), (2, 2, 1), (2, 2, 1)),
    "RGB24": ((1, 1, 3),),
    "RGB32": ((1, 1, 4),),
}
_VIDEO_FORMATS = tuple(_PLANES)


def _planes_of(fmt: str, idx: Bytes) -> list[Bytes]:
    """The plane contents (rows by bytes) of an image given as colour numbers."""
    if fmt in ("NV12", "I420"):
        chroma = idx[::2, ::2]
        luma = _PAL_Y[idx]
        if fmt == "I420":
            return [luma, _PAL_U[chroma], _PAL_V[chroma]]
        uv = np.stack((_PAL_U[chroma], _PAL_V[chroma]), axis=-1)
        return [luma, uv.reshape(chroma.shape[0], -1)]
    pixels = _PAL_BGRX[idx] if fmt == "RGB32" else _PAL_BGRX[idx][..., :3]
    return [np.ascontiguousarray(pixels).reshape(idx.shape[0], -1)]


def _masks_of(fmt: str, mask: npt.NDArray[np.bool_]) -> list[npt.NDArray[np.bool_]]:
    """A per-pixel mask spread over each plane's bytes, as `_planes_of` lays them out."""
    result = []
    for sub_y, sub_x, size in _PLANES[fmt]:
        result.append(np.repeat(mask[::sub_y, ::sub_x], size, axis=1))
    return result


class _Fill:
    """What one plane gets each frame: ``array``, written as one byte (``fill``) when
    ``value`` says it holds only that byte, else copied (``copyto``)."""

    __slots__ = ("array", "value")

    def __init__(self, content: Bytes) -> None:
        first = content.flat[0]
        self.value: int | None = int(first) if bool((content == first).all()) else None
        self.array = content


def _fills(fmt: str, idx: Bytes, rows: tuple[int, ...]) -> list[_Fill]:
    """The per-plane fills for an image; a solid one is given as its first rows only."""
    fills = []
    for content, plane_rows in zip(_planes_of(fmt, idx), rows, strict=True):
        if content.shape[0] < plane_rows:
            content = np.broadcast_to(content[:1], (plane_rows, content.shape[1]))
        fills.append(_Fill(content))
    return fills


class _Ball:
    """A white ball over black, bouncing off the frame's edges, its position a function of
    the frame number (its top-left corner always on even coordinates, so that 4:2:0 chroma
    lines up)."""

    def __init__(self, fmt: str, width: int, height: int) -> None:
        self.fmt, self.width, self.height = fmt, width, height
        small = min(width, height)
        size = max(2, small // 8 // 2 * 2)
        self.size = size = min(size, small)
        centre = (size - 1) / 2
        yy, xx = np.mgrid[0:size, 0:size]
        mask = (yy - centre) ** 2 + (xx - centre) ** 2 <= (size / 2) ** 2
        idx = np.where(mask, _INDEX["white"], _INDEX["black"]).astype(np.uint8)
        self.patches = _planes_of(fmt, idx)
        self.masks = _masks_of(fmt, mask)
        self.step_x = max(2, width // 48)
        self.step_y = max(2, height // 36)

    @staticmethod
    def _bounce(travel: int, span: int) -> int:
        if span <= 0:
            return 0
        where = travel % (2 * span)
        return where if where <= span else 2 * span - where

    def position(self, frame: int) -> tuple[int, int]:
        """The ball's top-left corner ``(x, y)`` in frame ``frame``."""
        x = self._bounce(frame * self.step_x, self.width - self.size)
        y = self._bounce(frame * self.step_y, self.height - self.size)
        return x - x % 2, y - y % 2

    def draw(self, planes: tuple[Bytes, ...], frame: int) -> None:
        x, y = self.position(frame)
        for plane, patch, mask, (sub_y, sub_x, size) in zip(
            planes, self.patches, self.masks, _PLANES[self.fmt], strict=True
        ):
            top, left = y // sub_y, x // sub_x * size
            region = plane[top : top + patch.shape[0], left : left + patch.shape[1]]
            np.copyto(region, patch[: region.shape[0], : region.shape[1]], where=mask)


@attrs.define
class _VideoPlan:
    """What one stream of `VideoTestSource` needs, computed once from the connection type."""

    fmt: str
    width: int
    height: int
    pattern: str  # the pattern property it draws: another value means a new plan
    flip: bool  # a bottom-up DIB: image row 0 is the last row in memory
    row_bytes: tuple[int, ...]
    rows: tuple[int, ...]
    offsets: tuple[int, ...]
    strides: tuple[int, ...]
    size: int
    time_num: int  # frame i starts at i * time_num // time_den
    time_den: int
    fills: list[_Fill]
    ball: _Ball | None


@attrs.define
class _SampleViews:
    """The numpy views of one sample's frame and the calls that fill them."""

    memory: Any  # the block the views are of: another block means new views
    layout: Any  # the VIDEO_META (offsets, strides) they follow, or None
    planes: tuple[Bytes, ...]
    fills: tuple[Callable[[], object], ...]
    size: int  # the actual data length of a frame


# -- videotestsrc ----------------------------------------------------------------------------


_DEFAULT_RATE, _MIN_RATE, _MAX_RATE_VIDEO = Fraction(30), Fraction(1, 1000), Fraction(100_000)


@attrs.define
class _VideoProperties:
    pattern: str = prop(
        "smpte",
        kind=str,
        choices=("smpte", "black", "white", "ball"),
        doc="what to draw: SMPTE colour bars, black, white, or a ball bouncing over black",
    )
    width: int = prop(320, kind=int, minimum=1, maximum=_MAX_SIZE, doc="offered frame width")
    height: int = prop(240, kind=int, minimum=1, maximum=_MAX_SIZE, doc="offered frame height")
    # prop() makes an attrs field; ruff cannot tell a Fraction default is immutable.
    framerate: Fraction = prop(  # noqa: RUF009
        _DEFAULT_RATE,
        kind=Fraction,
        minimum=_MIN_RATE,
        maximum=_MAX_RATE_VIDEO,
        doc="offered frames per second (30000/1001 for NTSC)",
    )
    num_buffers: int = prop(-1, kind=int, minimum=-1, doc="frames to make, -1 for no end")
    is_live: bool = prop(
        False, kind=bool, doc="capture at the clock's pace, nothing while paused (no seeking)"
    )


class VideoTestSource(LiveSource, SourceSeeking, SourceFilter, Element):
    """``videotestsrc``: generated frames in NV12, I420, RGB24 or RGB32 (numpy).

    ``GetMediaType`` offers the properties' size and rate in each format, NV12 first; any
    of those formats at any size from 1 to 16384 and any positive rate is accepted, so a
    caps filter picks the stream's. Patterns: ``smpte`` (SMPTE EG 1 bars, 75% in BT.601
    video range; computed once per stream and copied into each frame), ``black`` (Y 16,
    U/V 128; RGB 0, with the X byte of RGB32 at 255), ``white`` and ``ball``. A sample
    carrying a ``VIDEO_META`` is written with its offsets and strides (padding left alone).

    While it runs (``set_property``/``set_properties``, from any thread): a new ``pattern``
    is drawn from the next frame on; a new ``width`` or ``height`` changes the stream's
    size — the connection's format and rate kept, the other dimension too unless set in the
    same call — through a dynamic format change at the next frame
    (`SourceStream.request_media_type`): downstream is asked with ``QueryAccept``, the pool is
    renegotiated when the frames no longer fit it, the first frame of the new size carries
    the new type; a refusal ends the stream with EC_ERRORABORT. ``framerate`` applies to the
    next connection; ``num-buffers`` at once.
    """

    Properties = _VideoProperties
    description = "Generated video: SMPTE colour bars, black, white or a moving ball"
    pin_templates = (
        PinTemplate(
            "Output",
            _OUT,
            "video/x-raw,format={NV12,I420,RGB24,RGB32},"
            f"width=[1,{_MAX_SIZE}],height=[1,{_MAX_SIZE}]",
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, buffers=3)
        self._frame = 0
        self._skip_to = 0  # the frame AlterQuality asked to go on from
        self.skipped = 0
        """Frames skipped, not drawn, because downstream said they would be late."""
        self._plan: _VideoPlan | None = None
        # sample -> its numpy views, made once per pooled sample. Cleared at Stop, so that no
        # view outlives the pool's commit.
        self._views: dict[Any, _SampleViews] = {}
        # Guards _views between the streaming thread and Stop. Not the filter lock: Stop holds
        # that while it joins the streaming thread, which must never wait for it.
        self._views_lock = threading.Lock()

    def expected_samples(self) -> int | None:
        """``num-buffers`` when it is set."""
        count: int = self.props.num_buffers
        return count if count >= 0 else None

    # -- seeking -----------------------------------------------------------------------------

    def frame_rate(self) -> Fraction:
        """The stream's frame rate: the connection type's, else the ``framerate``
        property."""
        rate: Fraction = self.props.framerate
        if self.output.is_connected():
            header: VideoInfoHeader = self.output.ConnectionMediaType().format
            if frame_time(rate) != header.avg_time_per_frame:
                rate = framerate_of(header.avg_time_per_frame)
        return rate

    def frame_start(self, index: int) -> int:
        """Where frame ``index`` starts (REFERENCE_TIME)."""
        rate = self.frame_rate()
        return index * _SECOND * rate.denominator // rate.numerator

    def GetCapabilities(self) -> int:
        """See `IMediaSeeking.GetCapabilities`: 0 without ``num-buffers``, and when live."""
        seekable = self.props.num_buffers >= 0 and not self.props.is_live
        return super().GetCapabilities() if seekable else 0

    def seek_duration(self) -> int | None:
        """The end of frame ``num-buffers - 1``; None without ``num-buffers``."""
        count: int = self.props.num_buffers
        return self.frame_start(count) if count >= 0 else None

    def seek_to(self, position: int, key_frame: bool) -> int:
        """Go on from the frame that contains ``position``."""
        rate = self.frame_rate()
        frame = frame_containing(position, rate.numerator, rate.denominator)
        self._frame = frame
        self._skip_to = 0
        return self.frame_start(frame) if key_frame else position

    # -- live and quality --------------------------------------------------------------------

    @property
    def is_live(self) -> bool:
        """The ``is-live`` property."""
        return bool(self.props.is_live)

    def capture_latency(self) -> int:
        """One frame."""
        return self.frame_start(1)

    def AlterQuality(self, quality: Quality) -> bool:
        """Famine (frames late): go on from the first frame that starts at or after
        ``timestamp + late``, the stream time downstream reached (module docstring); True.
        Anything else is passed on (False)."""
        if quality.type is not QualityMessageType.Famine or quality.late <= 0:
            return False
        target = quality.timestamp + quality.late
        rate = self.frame_rate()
        frame = frame_containing(target, rate.numerator, rate.denominator)
        if self.frame_start(frame) < target:
            frame += 1
        # A plain store the streaming thread reads at its next frame: no lock (a renderer
        # calls this on the streaming thread, which Stop may be joining under the lock).
        self._skip_to = max(self._skip_to, frame)
        return True

    # -- types -------------------------------------------------------------------------------

    def GetMediaType(self, position: int) -> MediaType | None:
        """The properties' size and rate in NV12, I420, RGB24 then RGB32."""
        if not 0 <= position < len(_VIDEO_FORMATS):
            return None
        props = self.props
        return video_type(
            _VIDEO_FORMATS[position],
            props.width,
            props.height,
            avg_time_per_frame=frame_time(props.framerate),
        )

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Any of the four formats, 1..16384 pixels each way (RGB also top-down, with a
        negative height), at any positive frame rate."""
        fmt = video_format(media_type)
        if fmt not in _PLANES:
            return False
        header: VideoInfoHeader = media_type.format
        return (
            1 <= header.width <= _MAX_SIZE
            and 1 <= abs(header.height) <= _MAX_SIZE
            and (header.height > 0 or fmt.startswith("RGB"))
            and header.avg_time_per_frame > 0
        )

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Three samples of the connection type's frame size (or more, if asked); when
        downstream takes ``VIDEO_META``, large enough for rows padded to the requested
        alignment, which is how the pool lays them out."""
        media_type = self.output.ConnectionMediaType()
        size = max(video_layout(media_type).size, media_type.sample_size)
        if VIDEO_META.api in self.output.metas:
            padded = video_layout(media_type, stride_align=max(request.align, 1)).size
            size = max(size, padded)
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    # -- streaming ---------------------------------------------------------------------------

    def _make_plan(self) -> _VideoPlan:
        if not self.output.is_connected():
            raise VfwNotConnectedError(message=f"{self!r}: connect the output first")
        media_type = self.output.ConnectionMediaType()
        fmt = video_format(media_type)
        assert fmt is not None
        header: VideoInfoHeader = media_type.format
        layout = video_layout(media_type)
        width, height = layout.width, layout.height
        row_bytes = tuple(-(-width // sub_x) * size for _sub_y, sub_x, size in _PLANES[fmt])
        rate = self.frame_rate()
        pattern = self.props.pattern
        if pattern == "smpte":
            idx = _smpte_index(width, height)
        else:
            colour = "white" if pattern == "white" else "black"
            idx = np.full((min(height, 2), width), _INDEX[colour], np.uint8)
        return _VideoPlan(
            fmt=fmt,
            width=width,
            height=height,
            pattern=pattern,
            flip=fmt.startswith("RGB") and header.height > 0,
            row_bytes=row_bytes,
            rows=layout.heights,
            offsets=layout.offsets,
            strides=layout.strides,
            size=layout.size,
            time_num=_SECOND * rate.denominator,
            time_den=rate.numerator,
            fills=_fills(fmt, idx, layout.heights),
            ball=_Ball(fmt, width, height) if pattern == "ball" else None,
        )

    def _plane_views(self, data: memoryview, plan: _VideoPlan, meta: Any) -> tuple[Bytes, ...]:
        """The visible part of each plane of ``data`` as a writable 2-D array, image row 0
        first."""
        offsets = plan.offsets if meta is None else meta.offsets
        strides = plan.strides if meta is None else meta.strides
        if len(offsets) != len(plan.rows):
            raise ValueError(
                f"VIDEO_META has {len(offsets)} planes, {plan.fmt} has {len(plan.rows)}"
            )
        buffer = np.frombuffer(data, np.uint8)
        views = []
        for offset, stride, rows, row_bytes in zip(
            offsets, strides, plan.rows, plan.row_bytes, strict=True
        ):
            if stride < row_bytes or offset + stride * (rows - 1) + row_bytes > len(buffer):
                raise ValueError(
                    f"a plane at offset {offset} with stride {stride} does not fit "
                    f"{rows} rows of {row_bytes} bytes in {len(buffer)} bytes"
                )
            if stride == row_bytes:
                view = buffer[offset : offset + rows * row_bytes].reshape(rows, row_bytes)
            else:
                view = np.lib.stride_tricks.as_strided(
                    buffer[offset:], shape=(rows, row_bytes), strides=(stride, 1)
                )
            views.append(view[::-1] if plan.flip else view)
        return tuple(views)

    def FillBuffer(self, sample: Any) -> bool:
        """Draw frame ``n`` of the pattern into ``sample`` and time it; False after
        ``num-buffers`` frames."""
        frame = self._frame
        if self._skip_to > frame:  # told the frames up to it would be late (AlterQuality)
            self.skipped += self._skip_to - frame
            frame = self._frame = self._skip_to
        limit = self.props.num_buffers
        if 0 <= limit <= frame:
            return False
        plan = self._plan
        if plan is None or plan.pattern != self.props.pattern:
            plan = self._plan = self._make_plan()  # the first frame, or a new pattern
            self._views.clear()  # their fills are the old plan's
        if self.props.is_live and not self.wait_for_capture(frame * plan.time_num // plan.time_den):
            return False  # stopping
        # Hot path: the numpy views of a pooled sample, and the calls that fill them, are
        # made once (see _views); a frame is then a few numpy calls and the time stamps.
        sample.GetPointer()  # makes the memory writable (copy-on-write) if it was shared
        # Samples of other IMediaSample implementations may have no metas and no blocks.
        get_meta = getattr(sample, "GetMeta", None)
        meta = get_meta(VIDEO_META) if get_meta is not None else None
        layout = None if meta is None else (meta.offsets, meta.strides)
        memory = getattr(sample, "memory", None)
        entry = self._views.get(sample)
        if entry is None or memory is None or entry.memory is not memory or entry.layout != layout:
            entry = self._sample_entry(sample, plan, meta, layout)
        for fill in entry.fills:
            fill()
        if plan.ball is not None:
            plan.ball.draw(entry.planes, frame)
        sample.SetActualDataLength(entry.size)
        num, den = plan.time_num, plan.time_den
        sample.SetTime(frame * num // den, (frame + 1) * num // den)
        sample.SetMediaTime(frame, frame + 1)
        sample.SetSyncPoint(True)
        self._frame = frame + 1
        return True

    def _sample_entry(self, sample: Any, plan: _VideoPlan, meta: Any, layout: Any) -> _SampleViews:
        data = sample.GetPointer()
        planes = self._plane_views(data, plan, meta)
        fills: list[Callable[[], object]] = []
        for plane, fill in zip(planes, plan.fills, strict=True):
            if fill.value is not None:
                # A plane without padding is filled as one run of bytes (a 1-D view measured
                # faster than the 2-D one in the 1080p benchmark).
                target = plane.reshape(-1) if plane.flags.c_contiguous else plane
                fills.append(functools.partial(target.fill, fill.value))
            else:
                fills.append(functools.partial(np.copyto, plane, fill.array))
        if layout is None:
            size = plan.size
        else:
            size = max(
                offset + stride * rows
                for offset, stride, rows in zip(meta.offsets, meta.strides, plan.rows, strict=True)
            )
        memory = getattr(sample, "memory", None)
        entry = _SampleViews(memory, layout, planes, tuple(fills), min(size, len(data)))
        with self._views_lock:
            # Not when driven by hand (nothing would clear it), nor without a block to check.
            if self._state is not _STOPPED and memory is not None:
                if len(self._views) >= _CACHE_LIMIT:
                    self._views.clear()
                self._views[sample] = entry
        return entry

    # -- state -------------------------------------------------------------------------------

    def Pause(self) -> None:
        """Leaving Stopped: frame 0 again, and the plan from the connection type and the
        properties."""
        with self._lock:
            if self._state is _STOPPED:
                self._frame = 0
                self._skip_to = self.skipped = 0
                self._plan = self._make_plan() if self.output.is_connected() else None
            super().Pause()

    def Stop(self) -> None:
        """Stop streaming, then drop the sample views (the pool may free its memory)."""
        try:
            super().Stop()
        finally:
            with self._views_lock:
                self._views.clear()

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """A new connection type: the plan is made again."""
        self._plan = None
        super().complete_connect(pin, peer)

    def break_connect(self, pin: BasePin) -> None:
        """No connection type: no plan."""
        self._plan = None
        self._views.clear()
        super().break_connect(pin)

    def properties_changed(self, names: frozenset[str]) -> None:
        """A ``width`` or ``height`` set on a connected output: ask for the stream's new size
        (the last size asked for and not yet made is the base, so two calls add up); the
        stream's own size asks for nothing."""
        if not names & {"width", "height"} or not self.output.is_connected():
            return
        pending = self.output.pending_media_type
        base = pending or self.output.ConnectionMediaType()
        fmt = video_format(base)
        assert fmt is not None  # only raw video connects
        header: VideoInfoHeader = base.format
        width = self.props.width if "width" in names else header.width
        height = self.props.height if "height" in names else abs(header.height)
        resized = video_type(fmt, width, height, avg_time_per_frame=header.avg_time_per_frame)
        if header.height < 0:  # a top-down DIB stays top-down
            resized = attrs.evolve(resized, format=attrs.evolve(resized.format, height=-height))
        if resized != base or pending is not None:
            self.output.request_media_type(resized)

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """The output's size changed (on the streaming thread): a new plan for the next
        frame."""
        self._plan = None
        self._views.clear()


# -- audiotestsrc ----------------------------------------------------------------------------

_AUDIO_FORMATS = ("S16LE", "F32LE", "S32LE", "U8")
_MAX_RATE = 384_000
_MAX_CHANNELS = 8


@attrs.define
class _AudioProperties:
    wave: str = prop("sine", kind=str, choices=("sine", "silence"), doc="what to generate")
    freq: float = prop(
        440.0, kind=float, minimum=0.0, maximum=1_000_000.0, doc="sine frequency (Hz)"
    )
    volume: float = prop(
        0.8, kind=float, minimum=0.0, maximum=1.0, doc="amplitude, 1 is full scale"
    )
    rate: int = prop(44100, kind=int, minimum=1, maximum=_MAX_RATE, doc="offered sample rate (Hz)")
    channels: int = prop(
        1, kind=int, minimum=1, maximum=_MAX_CHANNELS, doc="offered channels (all the same wave)"
    )
    samples_per_buffer: int = prop(
        1024, kind=int, minimum=1, maximum=1 << 20, doc="frames in each sample"
    )
    num_buffers: int = prop(-1, kind=int, minimum=-1, doc="samples to make, -1 for no end")
    is_live: bool = prop(
        False, kind=bool, doc="capture at the clock's pace, nothing while paused (no seeking)"
    )


@attrs.define
class _AudioPlan:
    fmt: str
    rate: int
    channels: int
    block_align: int


def _encode(values: npt.NDArray[np.float64], fmt: str) -> npt.NDArray[Any]:
    """Samples in -1..1 as the bytes of ``fmt`` (integers rounded half to even)."""
    if fmt == "F32LE":
        return values.astype("<f4")
    if fmt == "S16LE":
        return np.rint(values * 32767.0).astype("<i2")
    if fmt == "S32LE":
        return np.rint(values * 2147483647.0).astype("<i4")
    return (np.rint(values * 127.0) + 128).astype(np.uint8)


class AudioTestSource(LiveSource, SourceSeeking, SourceFilter, Element):
    """``audiotestsrc``: a sine (or silence), the same on every channel, interleaved.

    Frame ``k`` of the sine is ``volume * sin(2 * pi * (freq * k / rate))``, the phase
    carried from sample to sample (for ``k`` past one second the whole seconds' phase is
    reduced first, so long runs keep their precision). Integer formats scale by their
    largest value (S16LE 32767, S32LE 2147483647, U8 127 around 128) and round half to
    even. Offers S16LE, F32LE, S32LE and U8 at the properties' rate and channels; accepts
    any of them at 1..384000 Hz and 1..8 channels.

    While it runs (``set_property``, from any thread), ``freq``, ``volume`` and ``wave``
    apply from the next sample. A new ``freq`` keeps the phase where the old one left it
    (no click): from the frame ``k0`` where it starts, frame ``k`` is at phase ``p0 + freq *
    (k - k0) / rate``. A seek, or leaving Stopped, starts again from ``freq * k / rate``.
    ``rate``, ``channels`` and ``samples-per-buffer`` apply to the next connection.
    """

    Properties = _AudioProperties
    description = "Generated audio: a sine wave or silence"
    pin_templates = (
        PinTemplate(
            "Output",
            _OUT,
            "audio/x-raw,format={S16LE,F32LE,S32LE,U8},"
            f"rate=[1,{_MAX_RATE}],channels=[1,{_MAX_CHANNELS}]",
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, buffers=4)
        self._frames = 0
        self._plan: _AudioPlan | None = None
        # Where the sine's current frequency took over: (frame k0, phase p0 at it, freq).
        self._anchor: tuple[int, float, float] = (0, 0.0, self.props.freq)

    def expected_samples(self) -> int | None:
        """``num-buffers`` when it is set."""
        count: int = self.props.num_buffers
        return count if count >= 0 else None

    # -- seeking -----------------------------------------------------------------------------

    def sample_rate(self) -> int:
        """The stream's rate: the connection type's, else the ``rate`` property."""
        if self.output.is_connected():
            wave: WaveFormatEx = self.output.ConnectionMediaType().format
            return wave.samples_per_sec
        rate: int = self.props.rate
        return rate

    @property
    def is_live(self) -> bool:
        """The ``is-live`` property."""
        return bool(self.props.is_live)

    def capture_latency(self) -> int:
        """One buffer: ``samples-per-buffer`` frames."""
        return int(self.props.samples_per_buffer * _SECOND // self.sample_rate())

    def frame_limit(self) -> int | None:
        """The frames the stream holds: ``num-buffers * samples-per-buffer``; None without
        ``num-buffers``."""
        count: int = self.props.num_buffers
        return count * self.props.samples_per_buffer if count >= 0 else None

    def GetCapabilities(self) -> int:
        """See `IMediaSeeking.GetCapabilities`: 0 without ``num-buffers``, and when live."""
        seekable = self.props.num_buffers >= 0 and not self.props.is_live
        return super().GetCapabilities() if seekable else 0

    def seek_duration(self) -> int | None:
        """The end of the last frame; None without ``num-buffers``."""
        frames = self.frame_limit()
        return None if frames is None else frames * _SECOND // self.sample_rate()

    def seek_to(self, position: int, key_frame: bool) -> int:
        """Go on from the frame that contains ``position``."""
        rate = self.sample_rate()
        frame = frame_containing(position, rate)
        self._frames = frame
        self._anchor = (0, 0.0, self.props.freq)
        return frame * _SECOND // rate if key_frame else position

    def GetMediaType(self, position: int) -> MediaType | None:
        """The properties' rate and channels in S16LE, F32LE, S32LE then U8."""
        if not 0 <= position < len(_AUDIO_FORMATS):
            return None
        return audio_type(_AUDIO_FORMATS[position], self.props.rate, self.props.channels)

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Any of the four formats at 1..384000 Hz and 1..8 channels, frames packed."""
        fmt = audio_format(media_type)
        if fmt not in _AUDIO_FORMATS:
            return False
        wave: WaveFormatEx = media_type.format
        return (
            1 <= wave.samples_per_sec <= _MAX_RATE
            and 1 <= wave.channels <= _MAX_CHANNELS
            and wave.block_align == wave.channels * wave.bits_per_sample // 8
        )

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Four samples of ``samples-per-buffer`` frames (or more, if asked)."""
        wave: WaveFormatEx = self.output.ConnectionMediaType().format
        size = self.props.samples_per_buffer * wave.block_align
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    def _make_plan(self) -> _AudioPlan:
        if not self.output.is_connected():
            raise VfwNotConnectedError(message=f"{self!r}: connect the output first")
        media_type = self.output.ConnectionMediaType()
        fmt = audio_format(media_type)
        assert fmt is not None
        wave: WaveFormatEx = media_type.format
        return _AudioPlan(fmt, wave.samples_per_sec, wave.channels, wave.block_align)

    def _wave(self, first: int, count: int, rate: int) -> npt.NDArray[np.float64]:
        """Frames ``first`` to ``first + count`` of the wave at ``rate``, in -1..1."""
        props = self.props  # read once: a change from another thread applies whole
        if props.freq != self._anchor[2]:
            # A new frequency: it starts at this sample, at the phase the old one reached.
            self._anchor = (first, self._phase(first, rate), props.freq)
        if props.wave == "silence" or count == 0:
            return np.zeros(count)
        k0, phase, freq = self._anchor
        seconds, rest = divmod(first - k0, rate)
        cycles = (freq * np.arange(rest, rest + count, dtype=np.float64)) / rate
        if seconds:
            cycles += (freq * seconds) % 1.0
        if phase:
            cycles += phase
        values: npt.NDArray[np.float64] = props.volume * np.sin(2 * np.pi * cycles)
        return values

    def _phase(self, frame: int, rate: int) -> float:
        """The sine's phase at ``frame`` (in cycles, 0..1) under the current anchor."""
        k0, phase, freq = self._anchor
        seconds, rest = divmod(frame - k0, rate)
        return float((phase + (freq * seconds) % 1.0 + freq * rest / rate) % 1.0)

    def FillBuffer(self, sample: Any) -> bool:
        """The next ``samples-per-buffer`` frames (as many as fit); False after
        ``num-buffers * samples-per-buffer`` frames."""
        plan = self._plan
        if plan is None:
            plan = self._plan = self._make_plan()
        data = sample.GetPointer()
        count = min(self.props.samples_per_buffer, len(data) // plan.block_align)
        first = self._frames
        if self.props.num_buffers >= 0:
            count = min(count, self.props.num_buffers * self.props.samples_per_buffer - first)
            if count <= 0:
                return False
        if self.props.is_live and not self.wait_for_capture(first * _SECOND // plan.rate):
            return False  # stopping
        encoded = _encode(self._wave(first, count, plan.rate), plan.fmt)
        out = np.frombuffer(data, encoded.dtype, count * plan.channels)
        out.reshape(count, plan.channels)[...] = encoded[:, None]
        sample.SetActualDataLength(count * plan.block_align)
        rate = plan.rate
        sample.SetTime(first * _SECOND // rate, (first + count) * _SECOND // rate)
        sample.SetMediaTime(first, first + count)
        sample.SetSyncPoint(True)
        self._frames = first + count
        return True

    def Pause(self) -> None:
        """Leaving Stopped: frame 0 again, and the format from the connection type."""
        with self._lock:
            if self._state is _STOPPED:
                self._frames = 0
                self._anchor = (0, 0.0, self.props.freq)
                self._plan = self._make_plan() if self.output.is_connected() else None
            super().Pause()

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """A new connection type: the plan is made again."""
        self._plan = None
        super().complete_connect(pin, peer)

    def break_connect(self, pin: BasePin) -> None:
        """No connection type: no plan."""
        self._plan = None
        super().break_connect(pin)
