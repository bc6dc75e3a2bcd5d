"""``avsrc`` and ``avsink``: any file PyAV (FFmpeg) reads, as raw samples; raw samples, encoded
into any file PyAV writes. Needs the ``av`` extra (PyAV) and numpy.

``avsrc location=in.mp4`` decodes one stream of the file (the video stream when there is one,
else the audio stream; ``stream=audio`` picks audio) into raw samples: video frames in I420,
NV12, RGB32 or RGB24 at the file's size and frame rate, or audio in S16LE or F32LE at the file's
rate and channels. Those are the types it offers; it takes any size, format and rate it can
produce, so a caps filter (``avsrc ! video/x-raw,format=NV12,width=320,height=240 ! ...``)
scales and converts on the way (FFmpeg's swscale and swresample do the work). Sample times come
from the file's timestamps, exactly (Fractions, no float), rebased so the stream starts at 0.

``avsink location=out.mp4`` encodes raw video (I420, IYUV, NV12, RGB24, RGB32) or audio (any
of ``AUDIO_FORMATS``) into a file whose container follows the file name. ``codec`` names the
encoder; by default it is the container's usual one when PyAV can encode it, with two rules:
H.264 means ``libx264``, or ``mpeg4`` when PyAV lacks it (mp4, mkv, mov); audio goes into a PCM
container (wav) as PCM of the input's own format, bit for bit, and into containers whose usual
codec is AAC or AC-3 (mp4, m4a, mov, mkv, mka) as ``aac``. Frame times become the encoder's
timestamps at the connection's frame rate, so N frames in make N frames in the file.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import attrs
import av
import numpy as np

from dshow_alloc.audio import AUDIO_FORMATS, audio_format, audio_type
from dshow_alloc.caps import frame_time, framerate_of
from dshow_alloc.filters import size_allocator
from dshow_alloc.mediatype import (
    MediaType,
    MEDIATYPE_Video,
    VideoInfoHeader,
    WaveFormatEx,
)
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BasePin
from dshow_alloc.plugins._common import (
    IN,
    OUT,
    SECOND,
    FileSink,
    FileSource,
    path_prop,
    required,
)
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.structs import AllocatorProperties
from dshow_alloc.video import VIDEO_META, VideoLayout, video_format, video_layout, video_type

__all__ = ["AVSink", "AVSource"]

log = logging.getLogger(__name__)

_ATTACHED_PIC = 0x0400  # AV_DISPOSITION_ATTACHED_PIC: a cover picture, not a video
_MAX_SIZE = 16384

# DirectShow video format -> the PyAV (FFmpeg) pixel format with the same bytes per row.
# RGB24/RGB32 are DIBs: B, G, R(, X) per pixel.
_PIXEL_FORMATS = {
    "I420": "yuv420p",
    "IYUV": "yuv420p",
    "NV12": "nv12",
    "RGB24": "bgr24",
    "RGB32": "bgra",
}
_OFFERED_VIDEO = ("I420", "NV12", "RGB32", "RGB24")
_DIB_FORMATS = frozenset({"RGB24", "RGB32"})

# DirectShow audio format -> the packed PyAV sample format that holds it (S24LE is written
# from 32-bit samples; FFmpeg has no packed 24-bit format to produce it from).
_SAMPLE_FORMATS = {"U8": "u8", "S16LE": "s16", "S32LE": "s32", "F32LE": "flt"}
_NUMPY_DTYPES = {"u8": "u1", "s16": "<i2", "s32": "<i4", "flt": "<f4"}
_OFFERED_AUDIO = ("S16LE", "F32LE")
_PCM_CODECS = {
    "U8": "pcm_u8",
    "S16LE": "pcm_s16le",
    "S24LE": "pcm_s24le",
    "S32LE": "pcm_s32le",
    "F32LE": "pcm_f32le",
}
_AUDIO_FRAMES_PER_SAMPLE = 8192
"""Audio frames an ``avsrc`` sample holds at most; a bigger decoded frame spans samples."""


def _half(n: int) -> int:
    return (n + 1) // 2


def _row_bytes(fmt: str, width: int) -> tuple[int, ...]:
    """The bytes of image data in one row of each plane (strides may add padding)."""
    if fmt in ("I420", "IYUV"):
        return (width, _half(width), _half(width))
    if fmt == "NV12":
        return (width, 2 * _half(width))
    return ((3 if fmt == "RGB24" else 4) * width,)


def _channel_layout(channels: int) -> av.AudioLayout | None:
    """FFmpeg's default layout for ``channels`` channels, or None when it has none."""
    try:
        return av.AudioLayout(f"{channels}c")
    except (ValueError, av.error.FFmpegError):
        return None


def _video_type_ok(media_type: MediaType) -> bool:
    """A raw video type of `_PIXEL_FORMATS` with a size in range (only RGB may be top-down)."""
    fmt = video_format(media_type)
    if fmt not in _PIXEL_FORMATS:
        return False
    header: VideoInfoHeader = media_type.format
    height = header.height if fmt in _DIB_FORMATS else max(header.height, 0)
    return 0 < header.width <= _MAX_SIZE and 0 < abs(height) <= _MAX_SIZE


def _audio_type_ok(media_type: MediaType) -> bool:
    """A raw audio type with a channel count FFmpeg has a layout for (any rate)."""
    wave: WaveFormatEx = media_type.format
    return (
        audio_format(media_type) is not None
        and _channel_layout(wave.channels) is not None
        and wave.block_align == wave.channels * wave.bits_per_sample // 8
    )


def _frame_layout(sample: Any, layout: VideoLayout) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The plane offsets and strides of ``sample``: its ``VIDEO_META``'s when it has one."""
    get_meta = getattr(sample, "GetMeta", None)
    meta = get_meta(VIDEO_META) if get_meta is not None else None
    if (
        meta is not None
        and len(meta.offsets) == layout.n_planes
        and (meta.width, meta.height) == (layout.width, layout.height)
    ):
        return tuple(meta.offsets), tuple(meta.strides)
    return layout.offsets, layout.strides


def _frame_size(offsets: tuple[int, ...], strides: tuple[int, ...], layout: VideoLayout) -> int:
    return max(o + s * h for o, s, h in zip(offsets, strides, layout.heights, strict=True))


def _plane_array(plane: Any, rows: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A PyAV plane as a ``rows`` x ``line_size`` array (no copy)."""
    line = plane.line_size
    return np.frombuffer(plane, np.uint8, count=rows * line).reshape(rows, line)


def _sample_array(
    data: memoryview, offset: int, stride: int, rows: int
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """``rows`` rows of ``stride`` bytes of a sample's data from ``offset`` (no copy)."""
    return np.frombuffer(data, np.uint8, count=rows * stride, offset=offset).reshape(rows, stride)


def _open_error(path: Path, exc: Exception) -> Exception:
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(f"avsrc: {path}: no such file")
    if isinstance(exc, OSError):
        return OSError(f"avsrc: cannot read {path}: {exc.strerror or exc}")
    return ValueError(f"avsrc: {path} is not a media file PyAV can read ({exc})")


# -- avsrc -------------------------------------------------------------------------------------


@attrs.frozen
class _StreamInfo:
    """What ``avsrc`` learnt of the chosen stream when it probed the file."""

    kind: str
    """``"video"`` or ``"audio"``."""
    index: int
    """The stream's index in the container."""
    frames: int | None
    """Frames (video) the container says the stream has, when it says."""
    width: int = 0
    """Video: pixels per row."""
    height: int = 0
    """Video: rows."""
    rate: Fraction = Fraction(0)
    """Video: frames per second (0 unknown); audio: sample rate."""
    channels: int = 0
    """Audio: channels."""


def _probe(path: Path, wanted: str) -> _StreamInfo:
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise _open_error(path, exc) from exc
    try:
        videos = [
            s
            for s in container.streams.video
            if s.codec_context.width > 0 and not int(getattr(s, "disposition", 0)) & _ATTACHED_PIC
        ]
        audios = list(container.streams.audio)
        kind = wanted if wanted != "auto" else ("video" if videos else "audio")
        streams: list[Any] = videos if kind == "video" else audios
        if not streams:
            what = "audio or video" if wanted == "auto" else kind
            raise ValueError(f"avsrc: {path} has no {what} stream")
        stream = streams[0]
        frames = stream.frames if stream.frames > 0 else None
        if kind == "video":
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            return _StreamInfo(
                kind,
                stream.index,
                frames,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                rate=Fraction(rate),
            )
        channels = stream.codec_context.layout.nb_channels
        if stream.codec_context.sample_rate <= 0 or channels <= 0:
            raise ValueError(f"avsrc: {path}: the audio stream has no rate or channels")
        return _StreamInfo(
            kind,
            stream.index,
            None,
            rate=Fraction(stream.codec_context.sample_rate),
            channels=channels,
        )
    finally:
        container.close()


@attrs.define
class _SourceProperties:
    location: Path | None = path_prop("the media file to read")  # noqa: RUF009 (an attrs field)
    stream: str = prop(
        "auto",
        kind=str,
        choices=("auto", "video", "audio"),
        doc="which stream to decode (auto: video when the file has it, else audio)",
    )
    num_buffers: int = prop(-1, kind=int, minimum=-1, doc="samples to send (-1: the whole file)")


class AVSource(FileSource[Any], Element):
    """``avsrc``: decodes a file's video or audio stream into raw samples (see the module
    docstring). The file is probed when the filter is made (a missing or unreadable file, or
    one without the stream asked for, raises naming it), and opened again each time the filter
    leaves Stopped: every run starts from the beginning."""

    Properties = _SourceProperties
    description = "Decodes a media file (any format PyAV reads) into raw video or audio"
    pin_templates = (PinTemplate("Output", OUT, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, buffers=4)
        location = required(self.props.location, "avsrc needs a location (the file to read)")
        self.info = _probe(location, self.props.stream)
        """What the probe found: the chosen stream's kind, size, rate and channels."""
        self._frames: Iterator[Any] | None = None
        self._resampler: Any = None
        self._pending: deque[memoryview] = deque()
        self._layout: VideoLayout | None = None
        self._first: Fraction | None = None
        self._next_start = 0
        self._position = 0  # audio frames sent
        self._filled = 0

    # -- types -------------------------------------------------------------------------------

    def GetMediaType(self, position: int) -> MediaType | None:
        """The file's own size and rate in I420, NV12, RGB32 and RGB24 (video), or its rate
        and channels in S16LE and F32LE (audio)."""
        info = self.info
        if info.kind == "video":
            if not 0 <= position < len(_OFFERED_VIDEO):
                return None
            avg = frame_time(info.rate) if info.rate > 0 else 0
            return video_type(
                _OFFERED_VIDEO[position], info.width, info.height, avg_time_per_frame=avg
            )
        if not 0 <= position < len(_OFFERED_AUDIO):
            return None
        channels = info.channels if _channel_layout(info.channels) is not None else 2
        return audio_type(_OFFERED_AUDIO[position], int(info.rate), channels)

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Any size, format and rate the filter can convert the stream to: raw video in
        I420, IYUV, NV12, RGB24 or RGB32 up to 16384x16384 (RGB top-down or bottom-up), or raw
        audio in U8, S16LE, S32LE or F32LE with a channel count FFmpeg has a layout for."""
        if self.info.kind == "video":
            return _video_type_ok(media_type)
        return audio_format(media_type) in _SAMPLE_FORMATS and _audio_type_ok(media_type)

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Video: a frame of the connection type (with strides padded to the requested
        alignment, for a ``VIDEO_META`` pool); audio: 8192 frames."""
        media_type = self.output.ConnectionMediaType()
        if media_type.major_type == MEDIATYPE_Video:
            align = request.align if request.align > 0 else 1
            if align & (align - 1):
                align = 1
            size = max(media_type.sample_size, video_layout(media_type, stride_align=align).size)
        else:
            size = _AUDIO_FRAMES_PER_SAMPLE * media_type.format.block_align
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    def expected_samples(self) -> int | None:
        """The video stream's frame count when the container knows it, capped by
        ``num-buffers`` (audio: ``num-buffers`` when set)."""
        limit: int = self.props.num_buffers
        count: int | None = self.info.frames if self.info.kind == "video" else None
        if limit >= 0:
            return limit if count is None else min(count, limit)
        return count

    # -- state -------------------------------------------------------------------------------

    def open_file(self) -> Any:
        """Open the file for streaming from its start, as ``Pause`` leaves Stopped (a file
        gone since the probe raises here, before anything changes)."""
        location: Path = self.props.location
        try:
            container = av.open(str(location))
        except Exception as exc:
            raise _open_error(location, exc) from exc
        try:
            stream = container.streams[self.info.index]
            self._frames = container.decode(stream)
            self._resampler = None
            self._layout = None
            if self.output.is_connected():
                media_type = self.output.ConnectionMediaType()
                if self.info.kind == "video":
                    self._layout = video_layout(media_type)
                else:
                    wave = media_type.format
                    self._resampler = av.AudioResampler(
                        format=_SAMPLE_FORMATS[audio_format(media_type) or "S16LE"],
                        layout=_channel_layout(wave.channels),
                        rate=wave.samples_per_sec,
                    )
        except Exception:
            container.close()
            raise
        self._pending.clear()
        self._first = None
        self._next_start = self._position = self._filled = 0
        return container

    def close_file(self, file: Any) -> None:
        """Close the container (a failure to is only logged)."""
        self._frames = self._resampler = None
        self._pending.clear()
        try:
            file.close()
        except Exception:
            log.debug("%r: closing %s failed", self, self.props.location, exc_info=True)

    # -- streaming ---------------------------------------------------------------------------

    def FillBuffer(self, sample: Any) -> bool:
        """The next video frame, or the next audio frames (at most 8192); False at the end
        of the file or after ``num-buffers`` samples."""
        if 0 <= self.props.num_buffers <= self._filled:
            return False
        filled = self._fill_video(sample) if self.info.kind == "video" else self._fill_audio(sample)
        if filled:
            self._filled += 1
        return filled

    def _next_frame(self) -> Any:
        frames = self._frames
        if frames is None:
            return None
        try:
            return next(frames)
        except StopIteration:
            self._frames = None
            return None

    def _rebased(self, time: Fraction) -> int:
        if self._first is None:
            self._first = time
        return round((time - self._first) * SECOND)

    def _fill_video(self, sample: Any) -> bool:
        frame = self._next_frame()
        if frame is None:
            return False
        media_type = self.output.ConnectionMediaType()
        layout = self._layout or video_layout(media_type)
        header = media_type.format
        fmt = layout.format
        picture = frame.reformat(
            width=layout.width, height=layout.height, format=_PIXEL_FORMATS[fmt]
        )
        offsets, strides = _frame_layout(sample, layout)
        data = sample.GetPointer()
        flip = fmt in _DIB_FORMATS and header.height > 0
        for index, row_bytes in enumerate(_row_bytes(fmt, layout.width)):
            rows = layout.heights[index]
            source = _plane_array(picture.planes[index], rows)[:, :row_bytes]
            target = _sample_array(data, offsets[index], strides[index], rows)[:, :row_bytes]
            target[...] = source[::-1] if flip else source
        sample.SetActualDataLength(_frame_size(offsets, strides, layout))
        start, stop = self._video_times(frame, header.avg_time_per_frame)
        sample.SetTime(start, stop)
        sample.SetSyncPoint(True)
        sample.SetDiscontinuity(self._filled == 0)
        return True

    def _video_times(self, frame: Any, connection_avg: int) -> tuple[int, int]:
        base = frame.time_base
        if frame.pts is None or base is None:
            start = self._next_start
            if self._first is None:
                self._first = Fraction(0)
        else:
            start = self._rebased(Fraction(frame.pts) * base)
        duration = getattr(frame, "duration", 0)  # PyAV >= 14
        if frame.pts is not None and base is not None and duration:
            stop = self._rebased(Fraction(frame.pts + duration) * base)
        elif self.info.rate > 0:
            stop = start + frame_time(self.info.rate)
        else:
            stop = start + (connection_avg or frame_time(Fraction(25)))
        self._next_start = stop
        return start, stop

    def _fill_audio(self, sample: Any) -> bool:
        media_type = self.output.ConnectionMediaType()
        wave = media_type.format
        block = wave.block_align
        pending = self._pending
        while not pending:
            if not self._decode_audio(block):
                return False
        chunk = pending[0]
        room = sample.GetSize() // block * block
        if len(chunk) > room:
            pending[0] = chunk[room:]
            chunk = chunk[:room]
        else:
            pending.popleft()
        sample.GetPointer()[: len(chunk)] = chunk
        sample.SetActualDataLength(len(chunk))
        frames = len(chunk) // block
        rate = wave.samples_per_sec
        first = self._position
        self._position += frames
        sample.SetTime(first * SECOND // rate, self._position * SECOND // rate)
        sample.SetSyncPoint(True)
        sample.SetDiscontinuity(self._filled == 0)
        return True

    def _decode_audio(self, block: int) -> bool:
        """Decode and resample until some audio is pending; False at the end (after the
        resampler gave back what it held)."""
        resampler = self._resampler
        if resampler is None:
            return False
        frame = self._next_frame()
        if frame is None:
            self._resampler = None  # flushed below, once
        for out in resampler.resample(frame):
            size = out.samples * block
            if size:
                self._pending.append(memoryview(bytes(out.planes[0]))[:size])
        return self._resampler is not None or bool(self._pending)


# -- avsink ------------------------------------------------------------------------------------


@attrs.define
class _SinkProperties:
    location: Path | None = path_prop("the file to write")  # noqa: RUF009 (an attrs field)
    codec: str = prop(
        "",
        kind=str,
        doc="the encoder (empty: libx264 or mpeg4 for video; PCM for WAV, else aac or the "
        "container's own for audio)",
    )
    bitrate: int = prop(0, kind=int, minimum=0, doc="bits per second (0: the codec's default)")


def _encoder(name: str, kind: str) -> Any:
    try:
        codec = av.Codec(name, "w")
    except Exception as exc:
        raise ValueError(f"avsink: PyAV has no encoder {name!r}") from exc
    if codec.type != kind:
        raise ValueError(f"avsink: {name!r} encodes {codec.type}, not {kind}")
    return codec


def _has_encoder(name: str) -> bool:
    try:
        av.Codec(name, "w")
    except Exception:
        return False
    return True


def _encoder_pixel_format(codec: Any, native: str) -> str:
    """The pixel format to encode in: the input's own when the encoder takes any format, or
    takes it and it is YUV; else yuv420p (what players expect); else the encoder's first."""
    supported = [f.name for f in codec.video_formats or ()]
    if not supported or (native in ("yuv420p", "nv12") and native in supported):
        return native
    return "yuv420p" if "yuv420p" in supported else str(supported[0])


def _default_video_codec(container: Any) -> str:
    default = getattr(container, "default_video_codec", "h264")
    if default not in ("h264", "none") and _has_encoder(default):
        return str(default)
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def _default_audio_codec(container: Any, fmt: str) -> str:
    default = str(getattr(container, "default_audio_codec", "aac"))
    if default.startswith("pcm_"):
        return _PCM_CODECS[fmt]  # WAV and the like: the samples as they are
    if default in ("aac", "ac3", "none") or not _has_encoder(default):
        return "aac"
    return default


class AVSink(FileSink[Any], Element):
    """``avsink``: encodes raw video (I420, IYUV, NV12, RGB24, RGB32) or raw audio into
    ``location``; the container follows the file name. The file is created when the filter
    leaves Stopped (a bad location or codec raises there) and finished — encoder drained,
    trailer written, closed — at end of stream, before EC_COMPLETE, or at Stop."""

    Properties = _SinkProperties
    description = "Encodes raw video or audio into a media file (any format PyAV writes)"
    pin_templates = (PinTemplate("In", IN, "ANY"),)

    video_formats: ClassVar[tuple[str, ...]] = tuple(_PIXEL_FORMATS)
    """The raw video formats the input takes."""

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)
        self._stream: Any = None
        self._layout: VideoLayout | None = None
        self._time_base = Fraction(1)
        self._rate = Fraction(0)
        self._layout_name = ""  # audio: the FFmpeg channel layout
        self._first_start: int | None = None
        self._last_pts = -1
        self._frames = 0
        self.written = 0
        """Samples encoded since the filter last left Stopped."""

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Raw video in a format of ``video_formats`` with a positive size up to 16384 (RGB
        either way up), or raw audio in any of ``AUDIO_FORMATS``."""
        if media_type.major_type == MEDIATYPE_Video:
            return _video_type_ok(media_type)
        return audio_format(media_type) in AUDIO_FORMATS and _audio_type_ok(media_type)

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """The sink reads ``VIDEO_META`` strides, so upstream may pad its rows."""
        if query.media_type is not None and query.media_type.major_type == MEDIATYPE_Video:
            query.add_meta(VIDEO_META.api)

    # -- state -------------------------------------------------------------------------------

    def open_resource(self) -> None:
        """Leaving Stopped (in ``Pause``): check ``location`` and reset the counters, even
        when the input is not connected (then no file is made)."""
        required(self.props.location, "avsink needs a location (the file to write)")
        self.written = 0
        self._first_start = None
        self._last_pts = -1
        self._frames = 0
        super().open_resource()

    def open_file(self, media_type: MediaType) -> Any:
        """Create the file and write its header, as ``Pause`` leaves Stopped (raising for a
        bad location or codec before anything changes)."""
        location: Path = self.props.location
        try:
            container = av.open(str(location), "w")
        except Exception as exc:
            raise ValueError(f"avsink: cannot write {location}: {exc}") from exc
        try:
            if media_type.major_type == MEDIATYPE_Video:
                self._stream = self._add_video(container, media_type)
            else:
                self._stream = self._add_audio(container, media_type)
            try:
                container.start_encoding()  # opens the file and the encoder; writes the header
            except FileNotFoundError as exc:
                raise FileNotFoundError(f"avsink: cannot create {location}: {exc}") from exc
            except OSError as exc:
                raise OSError(f"avsink: cannot write {location}: {exc}") from exc
            except ValueError as exc:
                raise ValueError(f"avsink: {location}: {exc}") from exc
        except Exception:
            self._stream = None
            try:
                container.close()
            except Exception:
                log.debug("%r: closing a failed %s", self, location, exc_info=True)
            raise
        return container

    def _add_video(self, container: Any, media_type: MediaType) -> Any:
        header = media_type.format
        fmt = video_format(media_type) or "I420"
        name = self.props.codec or _default_video_codec(container)
        codec = _encoder(name, "video")
        rate = framerate_of(header.avg_time_per_frame) or Fraction(25)
        self._rate, self._time_base = rate, 1 / rate
        self._layout = video_layout(media_type)
        try:
            stream = container.add_stream(codec.name, rate=rate)
        except ValueError as exc:
            raise ValueError(f"avsink: {self.props.location}: {exc}") from exc
        stream.width, stream.height = header.width, abs(header.height)
        stream.pix_fmt = _encoder_pixel_format(codec, _PIXEL_FORMATS[fmt])
        stream.codec_context.time_base = self._time_base
        if self.props.bitrate:
            stream.bit_rate = self.props.bitrate
        return stream

    def _add_audio(self, container: Any, media_type: MediaType) -> Any:
        wave = media_type.format
        fmt = audio_format(media_type) or "S16LE"
        name = self.props.codec or _default_audio_codec(container, fmt)
        codec = _encoder(name, "audio")
        rate = wave.samples_per_sec
        self._rate, self._time_base = Fraction(rate), Fraction(1, rate)
        try:
            stream = container.add_stream(codec.name, rate=rate)
        except ValueError as exc:
            raise ValueError(f"avsink: {self.props.location}: {exc}") from exc
        context = stream.codec_context
        self._layout_name = f"{wave.channels}c"
        context.layout = self._layout_name
        supported = [f.name for f in codec.audio_formats or ()]
        mine = _SAMPLE_FORMATS.get(fmt, "s32")
        context.format = mine if not supported or mine in supported else supported[0]
        if self.props.bitrate:
            stream.bit_rate = self.props.bitrate
        return stream

    def finish_file(self, file: Any) -> None:
        """Drain the encoder, write the trailer and close the file."""
        stream, self._stream = self._stream, None
        try:
            for packet in stream.encode(None):
                file.mux(packet)
        finally:
            file.close()

    # -- writing -----------------------------------------------------------------------------

    def write_sample(self, file: Any, sample: Any) -> None:
        """Encode ``sample``; its packets go into the file."""
        stream = self._stream
        if stream.type == "video":
            frame = self._video_frame(sample, stream)
        else:
            frame = self._audio_frame(sample)
            if frame is None:
                return
        for packet in stream.encode(frame):
            file.mux(packet)
        self.written += 1

    def _video_frame(self, sample: Any, stream: Any) -> Any:
        media_type = self.input.ConnectionMediaType()
        layout = self._layout or video_layout(media_type)
        fmt = layout.format
        native = _PIXEL_FORMATS[fmt]
        frame = av.VideoFrame(layout.width, layout.height, native)
        offsets, strides = _frame_layout(sample, layout)
        data = sample.GetPointer()
        flip = fmt in _DIB_FORMATS and media_type.format.height > 0
        for index, row_bytes in enumerate(_row_bytes(fmt, layout.width)):
            rows = layout.heights[index]
            source = _sample_array(data, offsets[index], strides[index], rows)[:, :row_bytes]
            target = _plane_array(frame.planes[index], rows)[:, :row_bytes]
            target[...] = source[::-1] if flip else source
        if frame.format.name != stream.pix_fmt:
            frame = frame.reformat(format=stream.pix_fmt)
        frame.pts = self._video_pts(sample)
        frame.time_base = self._time_base
        return frame

    def _video_pts(self, sample: Any) -> int:
        """The frame number the sample's start time stands for (rebased to the first
        sample), kept increasing; the next number for a sample without a time."""
        try:
            start, _stop = sample.GetTime()
        except Exception:
            start = None
        pts = self._last_pts + 1
        if start is not None:
            if self._first_start is None:
                self._first_start = start
            pts = max(pts, round(Fraction(start - self._first_start, SECOND) * self._rate))
        self._last_pts = pts
        return pts

    def _audio_frame(self, sample: Any) -> Any:
        media_type = self.input.ConnectionMediaType()
        wave = media_type.format
        fmt = audio_format(media_type) or "S16LE"
        count = sample.GetActualDataLength() // wave.block_align
        if count == 0:
            return None
        data = sample.GetPointer()[: count * wave.block_align]
        if fmt == "S24LE":
            wide = np.zeros((count * wave.channels, 4), np.uint8)
            wide[:, 1:] = np.frombuffer(data, np.uint8).reshape(-1, 3)
            array = wide.view("<i4").reshape(1, -1)
            sample_format = "s32"
        else:
            sample_format = _SAMPLE_FORMATS[fmt]
            array = np.frombuffer(data, _NUMPY_DTYPES[sample_format]).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(array, format=sample_format, layout=self._layout_name)
        frame.sample_rate = wave.samples_per_sec
        frame.pts = self._frames
        frame.time_base = self._time_base
        self._frames += count
        return frame
