"""``avsrc`` and ``avsink``: any file PyAV (FFmpeg) reads, demuxed and decoded into raw
streams; raw streams, encoded and muxed into any file PyAV writes. Needs the ``av`` extra
(PyAV) and numpy.

``avsrc location=in.mp4`` is a demuxer: each stream ``streams=`` chooses (by default the
first video and the first audio stream) gets an output pin, named as GStreamer's demuxers
name their pads: ``video_0``, ``audio_0``, ``video_1``... numbered per kind in the order of
the file's streams. A video pin carries frames in I420, NV12, RGB32 or RGB24 at the
stream's size and frame rate; an audio pin S16LE or F32LE at its rate and channels. Those
are the types offered; any size, format and rate the pin can produce is accepted, so a caps
filter (``avsrc ! video/x-raw,format=NV12,width=320,height=240 ! ...``) scales and converts
on the way (FFmpeg's swscale and swresample do the work). Sample times come from the file's
timestamps, exactly (Fractions, no float), measured from the container's start, so the
streams keep the alignment they have in the file. ``avsrc`` seeks (``IMediaSeeking``).

A file whose video changes resolution mid-stream (an MPEG-TS of joined recordings): while a
pin carries the stream's own size, the first frame of another size is a format change
(`BaseOutputPin.change_media_type`: downstream is asked, the pool renegotiated when the frames
grow, that frame carries the new type); a pin connected at a size a caps filter chose keeps
scaling every frame to it.

Memory stays bounded without queues: each ``avsrc`` pin decodes on its own thread (as
DirectShow's splitters have a thread per output pin) and reads the file only when it needs
a packet, so at most the packets interleaved ahead of it wait in another pin's queue;
``avsink`` never holds a sample back to interleave (FFmpeg's interleaving muxer holds the
compressed packets, at most ``max_interleave_delta``, 10 s, of them). Neither side waits for
another stream, so demux -> process -> mux cannot deadlock.

``avsink location=out.mp4`` is a muxer with request input pins ``sink_0``, ``sink_1``...:
one stream per connected pin, of raw video (I420, IYUV, NV12, RGB24, RGB32) or audio (any of
``AUDIO_FORMATS``), in a container that follows the file name. ``codec`` names the encoder
of the streams of its kind, ``audio-codec`` the audio one; by default it is the container's
usual one when PyAV can encode it, with two rules: H.264 means ``libx264``, or ``mpeg4`` when
PyAV lacks it (mp4, mkv, mov); audio goes into a PCM container (wav) as PCM of the input's
own format, bit for bit, and into containers whose usual codec is AAC or AC-3 (mp4, m4a,
mov, mkv, mka) as ``aac``. Frame times become the encoder's timestamps at the connection's
frame rate, so N frames in make N frames in the file.

A video format change mid-stream (a sample carrying a new size or format) is accepted when
the stream's encoder is libx264 or mpeg4, whose bitstreams carry the size in band: the
encoder is drained and a new one, opened for the new type, goes on in the same stream, so
ffprobe and players decode frames of both sizes (mp4, mkv, ts). Other encoders (MPEG-TS's
default MPEG-2, for one) and audio streams refuse a change (``QueryAccept`` False), which
ends the stream upstream with EC_ERRORABORT; the file keeps what came before.
"""

from __future__ import annotations

import logging
import math
import re
import threading
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
from dshow_alloc.filters import SourceStream, size_allocator
from dshow_alloc.hresult import NotImplError, VfwNotStoppedError
from dshow_alloc.mediatype import (
    MediaType,
    MEDIATYPE_Video,
    VideoInfoHeader,
    WaveFormatEx,
)
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BaseOutputPin, BasePin
from dshow_alloc.plugins._common import (
    IN,
    OUT,
    SECOND,
    STOPPED,
    FileSink,
    FileSource,
    location_error,
    path_prop,
    required,
)
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.seeking import SourceSeeking
from dshow_alloc.structs import AllocatorProperties, FilterState
from dshow_alloc.video import VIDEO_META, VideoLayout, video_format, video_layout, video_type

__all__ = ["AVSink", "AVSource"]

log = logging.getLogger(__name__)

RUNNING = FilterState.State_Running
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
_RESIZABLE_ENCODERS = frozenset({"libx264", "mpeg4"})
"""Video encoders ``avsink`` restarts at a new frame size mid-stream: their bitstreams carry
the size in band, so a decoder follows the change (checked with ffprobe in mp4, mkv, ts)."""


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


def _open_error(path: Path, exc: Exception, filter_name: str) -> Exception:
    if isinstance(exc, OSError):
        return location_error(exc, filter_name, path, "read")
    return ValueError(f"avsrc: {path} is not a media file PyAV can read ({exc})")


# -- avsrc -------------------------------------------------------------------------------------


@attrs.frozen
class _StreamInfo:
    """What ``avsrc`` learnt of one stream when it probed the file."""

    kind: str
    """``"video"`` or ``"audio"``."""
    index: int
    """The stream's index in the container."""
    pin_id: str
    """Its pin's id: ``video_0``, ``audio_0``, ``video_1``... (numbered per kind, in the
    order of the file's streams)."""
    frames: int | None
    """Frames the container says the stream has, when it says."""
    width: int = 0
    """Video: pixels per row."""
    height: int = 0
    """Video: rows."""
    rate: Fraction = Fraction(0)
    """Video: frames per second (0 unknown); audio: sample rate."""
    channels: int = 0
    """Audio: channels."""


@attrs.frozen
class _FileInfo:
    """What the probe found: the streams chosen, the file's duration and time origin."""

    streams: tuple[_StreamInfo, ...]
    duration: int | None
    """REFERENCE_TIME, when the container knows it."""
    origin: Fraction
    """The container's start time in seconds: media position 0."""


def _usable_streams(container: Any) -> list[_StreamInfo]:
    """Every video stream (not cover pictures) and audio stream, numbered per kind."""
    found: list[_StreamInfo] = []
    counts = {"video": 0, "audio": 0}
    for stream in container.streams:
        kind = stream.type
        if kind == "video":
            context = stream.codec_context
            if context.width <= 0 or int(getattr(stream, "disposition", 0)) & _ATTACHED_PIC:
                continue
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            info = _StreamInfo(
                "video",
                stream.index,
                f"video_{counts['video']}",
                stream.frames if stream.frames > 0 else None,
                width=context.width,
                height=context.height,
                rate=Fraction(rate),
            )
        elif kind == "audio":
            context = stream.codec_context
            if context.sample_rate <= 0 or context.layout.nb_channels <= 0:
                continue
            info = _StreamInfo(
                "audio",
                stream.index,
                f"audio_{counts['audio']}",
                stream.frames if stream.frames > 0 else None,
                rate=Fraction(context.sample_rate),
                channels=context.layout.nb_channels,
            )
        else:
            continue
        counts[kind] += 1
        found.append(info)
    return found


def _choose(path: Path, usable: list[_StreamInfo], wanted: str) -> tuple[_StreamInfo, ...]:
    """The streams ``streams=`` names (see `_SourceProperties.streams`), in file order."""
    names = [word.strip() for word in wanted.split(",") if word.strip()]
    if not names:
        raise ValueError("avsrc: streams= names no stream")
    have = ", ".join(info.pin_id for info in usable) or "none"
    chosen: list[_StreamInfo] = []
    for name in names:
        if name == "all":
            picked = usable
        elif name == "auto":
            picked = [
                next(i for i in usable if i.kind == kind)
                for kind in ("video", "audio")
                if any(i.kind == kind for i in usable)
            ]
        elif name in ("video", "audio"):
            picked = [i for i in usable if i.kind == name][:1]
        else:
            picked = [i for i in usable if i.pin_id == name]
            if not picked and not re.fullmatch(r"(video|audio)_\d+", name):
                raise ValueError(
                    f"avsrc: {name!r} is not a stream name (video, audio, video_N, audio_N, "
                    "all or auto)"
                )
        if not picked:
            what = f"{name} stream" if name in ("video", "audio") else f"stream {name!r}"
            raise ValueError(f"avsrc: {path} has no {what} (its streams: {have})")
        chosen += [info for info in picked if info not in chosen]
    return tuple(sorted(chosen, key=lambda info: info.index))


def _probe(path: Path, wanted: str, filter_name: str) -> _FileInfo:
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise _open_error(path, exc, filter_name) from exc
    try:
        usable = _usable_streams(container)
        if not usable:
            raise ValueError(f"avsrc: {path} has no audio or video stream")
        streams = _choose(path, usable, wanted)
        origin = Fraction(container.start_time or 0, 1_000_000)
        duration: int | None = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration * SECOND // 1_000_000
        return _FileInfo(streams, duration, origin)
    finally:
        container.close()


@attrs.define
class _SourceProperties:
    location: Path | None = path_prop("the media file to read")  # noqa: RUF009 (an attrs field)
    streams: str = prop(
        "auto",
        kind=str,
        doc="the streams that get pins, comma-separated: video, audio (the first of each "
        "kind), video_N, audio_N, all, or auto (the first video and the first audio stream)",
    )
    num_buffers: int = prop(
        -1, kind=int, minimum=-1, doc="samples each pin sends (-1: the whole file)"
    )


_MAX_QUEUED = 4096
"""Packets a pin's queue holds before a reader for another pin waits for it to be taken: a
limit only a badly interleaved file reaches (seconds of compressed data)."""


class _Demuxer:
    """The file's packets, shared by the pins: the pin that needs a packet reads the file
    (one reader at a time, under the lock), and the packets of the other linked streams wait
    in those pins' queues. Streams nothing is linked to are not demuxed at all."""

    def __init__(self, container: Any, indexes: list[int]) -> None:
        self.container = container
        self._cond = threading.Condition()
        self._indexes = indexes
        self._queues: dict[int, deque[Any]] = {index: deque() for index in indexes}
        self._packets: Iterator[Any] = iter(())
        self._ended = False
        self.restart()

    def restart(self) -> None:
        """Read from where the container is now (after opening it or a seek)."""
        for queue in self._queues.values():
            queue.clear()
        self._ended = False
        if self._indexes:
            self._packets = self.container.demux(
                [self.container.streams[index] for index in self._indexes]
            )

    def next_packet(self, index: int, stopping: threading.Event) -> Any:
        """The next packet of stream ``index``; None at the end of the file or when
        ``stopping`` is set."""
        with self._cond:
            queue = self._queues[index]
            while not queue:
                if self._ended or stopping.is_set():
                    return None
                if any(
                    len(other) >= _MAX_QUEUED for i, other in self._queues.items() if i != index
                ):
                    self._cond.wait(0.05)  # another pin is far behind: let it catch up
                    continue
                packet = next(self._packets, None)
                if packet is None:
                    self._ended = True
                    self._cond.notify_all()
                    continue
                if packet.size:  # not the empty packets that mark the end of a stream
                    self._queues[packet.stream.index].append(packet)
            packet = queue.popleft()
            if len(queue) == _MAX_QUEUED - 1:
                self._cond.notify_all()
            return packet

    def peek_start(self, index: int) -> Any:
        """Read until stream ``index`` has a packet queued and return that packet (left in
        the queue), or None at the end of the file."""
        with self._cond:
            queue = self._queues[index]
            while not queue and not self._ended:
                packet = next(self._packets, None)
                if packet is None:
                    self._ended = True
                elif packet.size:
                    self._queues[packet.stream.index].append(packet)
            return queue[0] if queue else None


class _DemuxPin(SourceStream):
    """One output pin of ``avsrc``: decodes its stream's packets on its own streaming thread
    (DirectShow's splitters have a thread per output pin), so no stream waits for another's
    downstream."""

    _filter: AVSource

    def __init__(self, filter: AVSource, info: _StreamInfo) -> None:
        super().__init__(filter, info.pin_id)
        self.info = info
        """The stream this pin carries."""
        self._decoded: deque[Any] = deque()
        self._drained = False
        self._resampler: Any = None
        self._pending: deque[memoryview] = deque()
        self._layout: VideoLayout | None = None
        self._skip_before = 0  # media position: frames ending at or before it are skipped
        self._next_start = 0
        self._audio_position: int | None = None  # audio frames from media position 0
        self._filled = 0
        # Video: the decoded frames' size the connection type was made for (the probe's at
        # first); frames of another size mean the file changed resolution.
        self._native = (info.width, info.height)

    def clear(self) -> None:
        """Forget what was decoded (the file was closed)."""
        self._decoded.clear()
        self._pending.clear()
        self._drained = False
        self._audio_position = None
        self._layout = None
        self._resampler = None

    def reset(self, skip_before: int) -> None:
        """Start decoding again, dropping what ends before ``skip_before`` (the file was
        opened or sought)."""
        self.clear()
        self._skip_before = skip_before
        self._next_start = skip_before
        if self.is_connected():
            media_type = self.ConnectionMediaType()
            if self.info.kind == "video":
                self._layout = video_layout(media_type)
            else:
                wave = media_type.format
                self._resampler = av.AudioResampler(
                    format=_SAMPLE_FORMATS[audio_format(media_type) or "S16LE"],
                    layout=_channel_layout(wave.channels),
                    rate=wave.samples_per_sec,
                )

    def start_count(self) -> None:
        """A new run: ``num-buffers`` counts again."""
        self._filled = 0

    def next_sample(self) -> Any | None:
        """The next sample (see `SourceStream.next_sample`); for video, the size of the next
        decoded frame is looked at first, so a resolution change is a format change."""
        if self.info.kind == "video" and not self._follow_frame_size():
            return None
        return super().next_sample()

    def _follow_frame_size(self) -> bool:
        """Between two samples: when the next decoded frame's size is not the one the
        connection was made for, and the connection carries the stream's own size (not one
        a caps filter asked for, which frames are scaled to), change the pin's type to the
        new size (`change_media_type`, which may renegotiate the pool). False when stopping
        meanwhile."""
        frame = self._next_frame()
        if frame is None:
            return True  # the end (FillBuffer says so) or stopping
        self._decoded.appendleft(frame)
        size = (frame.width, frame.height)
        previous = self._native
        if size == previous:
            return True
        media_type = self.ConnectionMediaType()
        header: VideoInfoHeader = media_type.format
        if (header.width, abs(header.height)) != previous:
            self._native = size  # scaled to a chosen size: it stays
            return True
        fmt = video_format(media_type) or "I420"
        resized = video_type(fmt, *size, avg_time_per_frame=header.avg_time_per_frame)
        if header.height < 0:  # a top-down DIB stays top-down
            resized = attrs.evolve(resized, format=attrs.evolve(resized.format, height=-size[1]))
        log.debug("%r: the frames change from %dx%d to %dx%d", self, *previous, *size)
        if not self.change_media_type(resized):
            return False
        self._native = size
        self._layout = video_layout(resized)
        return True

    def FillBuffer(self, sample: Any) -> bool:
        """The next video frame, or the next audio frames (at most 8192); False at the end
        of the stream or after ``num-buffers`` samples."""
        if 0 <= self._filter.props.num_buffers <= self._filled:
            return False
        filled = self._fill_video(sample) if self.info.kind == "video" else self._fill_audio(sample)
        if filled:
            self._filled += 1
        return filled

    def _next_frame(self) -> Any:
        """The next decoded frame of the stream, or None at its end (or when stopping)."""
        decoded = self._decoded
        demuxer = self._filter.demuxer
        while not decoded:
            if self._drained or demuxer is None:
                return None
            packet = demuxer.next_packet(self.info.index, self.stopping)
            if packet is None:
                if self.stopping.is_set():
                    return None
                self._drained = True
                frames = demuxer.container.streams[self.info.index].codec_context.decode(None)
            else:
                frames = packet.decode()
            decoded.extend(frames)
        return decoded.popleft()

    def _position(self, frame: Any) -> Fraction | None:
        """A frame's media position in seconds (None without a time)."""
        if frame.pts is None or frame.time_base is None:
            return None
        position: Fraction = Fraction(frame.pts) * frame.time_base - self._filter.info.origin
        return position

    def _fill_video(self, sample: Any) -> bool:
        while True:
            frame = self._next_frame()
            if frame is None:
                return False
            start, stop = self._video_times(frame)
            if stop > self._skip_before or start >= self._skip_before:
                break  # frames that end before a seek's position are not converted at all
        media_type = self.ConnectionMediaType()
        layout = self._layout or video_layout(media_type)
        fmt = layout.format
        picture = frame.reformat(
            width=layout.width, height=layout.height, format=_PIXEL_FORMATS[fmt]
        )
        offsets, strides = _frame_layout(sample, layout)
        data = sample.GetPointer()
        flip = fmt in _DIB_FORMATS and media_type.format.height > 0
        for index, row_bytes in enumerate(_row_bytes(fmt, layout.width)):
            rows = layout.heights[index]
            source = _plane_array(picture.planes[index], rows)[:, :row_bytes]
            target = _sample_array(data, offsets[index], strides[index], rows)[:, :row_bytes]
            target[...] = source[::-1] if flip else source
        sample.SetActualDataLength(_frame_size(offsets, strides, layout))
        sample.SetTime(start, stop)
        sample.SetSyncPoint(True)  # a raw frame stands alone
        sample.SetDiscontinuity(self._filled == 0)
        return True

    def _video_times(self, frame: Any) -> tuple[int, int]:
        """A frame's start and stop as media positions (100 ns)."""
        position = self._position(frame)
        start = self._next_start if position is None else round(position * SECOND)
        duration = getattr(frame, "duration", 0)  # PyAV >= 14
        if position is not None and duration:
            stop = round((position + Fraction(duration) * frame.time_base) * SECOND)
        elif self.info.rate > 0:
            stop = start + frame_time(self.info.rate)
        else:
            stop = start + frame_time(Fraction(25))
        self._next_start = stop
        return start, stop

    def _fill_audio(self, sample: Any) -> bool:
        wave = self.ConnectionMediaType().format
        block = wave.block_align
        pending = self._pending
        while not pending:
            if not self._decode_audio(block, wave.samples_per_sec):
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
        first = self._audio_position or 0
        self._audio_position = first + frames
        sample.SetTime(first * SECOND // rate, (first + frames) * SECOND // rate)
        sample.SetSyncPoint(True)
        sample.SetDiscontinuity(self._filled == 0)
        return True

    def _decode_audio(self, block: int, rate: int) -> bool:
        """Decode and resample until some audio is pending; False at the end (after the
        resampler gave back what it held). The first audio after opening or a seek starts
        at the frame containing the seek's position (earlier frames are cut off)."""
        resampler = self._resampler
        if resampler is None:
            return False
        frame = self._next_frame()
        if frame is None:
            self._resampler = None  # flushed below, once
        elif self._audio_position is None:
            position = self._position(frame)
            first = 0 if position is None else math.floor(position * rate)
            self._audio_position = first
        for out in resampler.resample(frame):
            size = out.samples * block
            if not size:
                continue
            data = memoryview(bytes(out.planes[0]))[:size]
            skip = self._skip_before * rate // SECOND - (self._audio_position or 0)
            if skip > 0:  # the part before a seek's position
                cut = min(skip, out.samples)
                data = data[cut * block :]
                self._audio_position = (self._audio_position or 0) + cut
            if len(data):
                self._pending.append(data)
        return self._resampler is not None or bool(self._pending)


class AVSource(SourceSeeking, FileSource[Any], Element):
    """``avsrc``: a demuxer and decoder. Each stream ``streams=`` chooses gets an output
    pin — ``video_0``, ``audio_0``, ``video_1``... numbered per kind in the order of the
    file's streams, as GStreamer's demuxers name their pads — carrying raw samples (see the
    module docstring). Pins nothing is linked to are not decoded; the file plays to its end
    on the linked ones.

    Each pin decodes on its own streaming thread; the file is read by whichever pin needs a
    packet, the other streams' packets waiting in their pins' queues. So a stream whose
    downstream waits (a muxer interleaving, a renderer holding its preroll sample) never
    stops another.

    Seeking (`IMediaSeeking`, through `SourceSeeking`): to the key frame before the position,
    decoding forward and dropping what ends before it (audio is cut to the frame containing
    it); with ``AM_SEEKING_SeekToKeyFrame`` the segment starts at that key frame.

    The file is probed when the filter is made (a missing or unreadable file, or one without
    the streams asked for, raises naming it), and opened again each time the filter leaves
    Stopped.
    """

    Properties = _SourceProperties
    description = "Demuxes and decodes a media file (any format PyAV reads) into raw streams"
    pin_templates = (
        PinTemplate("video_%u", OUT, "video/x-raw"),
        PinTemplate("audio_%u", OUT, "audio/x-raw"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        location = required(self.props.location, "avsrc needs a location (the file to read)")
        self.info = _probe(location, self.props.streams, name or "avsrc")
        """What the probe found: the chosen streams (kind, size, rate, channels), the
        duration and the time origin."""
        self.demuxer: _Demuxer | None = None
        """The open file's packets, from ``Pause`` to ``Stop``."""
        super().__init__(name=name, buffers=4)

    def make_output_pins(self) -> list[SourceStream]:
        """A pin per chosen stream."""
        return [_DemuxPin(self, info) for info in self.info.streams]

    def demux_pins(self) -> list[_DemuxPin]:
        """The output pins, in the order of the file's streams."""
        return [pin for pin in self.output_pins() if isinstance(pin, _DemuxPin)]

    # -- types -------------------------------------------------------------------------------

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """Video: the stream's own size and rate in I420, NV12, RGB32 and RGB24; audio: its
        rate and channels in S16LE and F32LE."""
        info = pin.info if isinstance(pin, _DemuxPin) else None
        if info is None:
            return None
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
        """Any size, format and rate the pin's stream can be converted to: raw video in
        I420, IYUV, NV12, RGB24 or RGB32 up to 16384x16384 (RGB top-down or bottom-up), or
        raw audio in U8, S16LE, S32LE or F32LE with a channel count FFmpeg has a layout for."""
        if not isinstance(pin, _DemuxPin):
            return False
        if pin.info.kind == "video":
            return media_type.major_type == MEDIATYPE_Video and _video_type_ok(media_type)
        return audio_format(media_type) in _SAMPLE_FORMATS and _audio_type_ok(media_type)

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """Video: a frame of the connection type (with strides padded to the requested
        alignment, for a ``VIDEO_META`` pool); audio: 8192 frames."""
        media_type = pin.ConnectionMediaType()
        if media_type.major_type == MEDIATYPE_Video:
            align = request.align if request.align > 0 else 1
            if align & (align - 1):
                align = 1
            size = max(media_type.sample_size, video_layout(media_type, stride_align=align).size)
        else:
            size = _AUDIO_FRAMES_PER_SAMPLE * media_type.format.block_align
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    def expected_samples(self) -> int | None:
        """The frames the container says the linked streams have (each decoded frame is a
        sample), each capped by ``num-buffers``; None when it does not say."""
        limit: int = self.props.num_buffers
        pins = [pin for pin in self.demux_pins() if pin.is_connected()] or self.demux_pins()
        total = 0
        for pin in pins:
            count = pin.info.frames
            if limit >= 0:
                count = limit if count is None else min(count, limit)
            if count is None:
                return None
            total += count
        return total

    # -- seeking -----------------------------------------------------------------------------

    def seek_duration(self) -> int | None:
        """The container's duration."""
        return self.info.duration

    def seek_to(self, position: int, key_frame: bool) -> int:
        """Seek the file to the key frame at or before ``position`` (in the first linked
        video stream, else audio stream), and have every pin drop what ends before
        ``position``, or, with ``key_frame``, before that key frame."""
        demuxer = self.demuxer
        if demuxer is None:
            return position
        linked = [pin for pin in self.demux_pins() if pin.is_connected()]
        if not linked:
            return position
        reference = next((p for p in linked if p.info.kind == "video"), linked[0])
        container = demuxer.container
        stream = container.streams[reference.info.index]
        target = (Fraction(position, SECOND) + self.info.origin) / stream.time_base
        container.seek(math.floor(target), backward=True, any_frame=False, stream=stream)
        for pin in linked:
            container.streams[pin.info.index].codec_context.flush_buffers()
        demuxer.restart()
        start = position
        if key_frame:
            packet = demuxer.peek_start(reference.info.index)
            if packet is not None and packet.pts is not None:
                at = Fraction(packet.pts) * stream.time_base - self.info.origin
                start = max(0, min(position, round(at * SECOND)))
        for pin in linked:
            pin.reset(start)
        return start

    # -- state -------------------------------------------------------------------------------

    def open_file(self) -> Any:
        """Open the file for streaming from its start, as ``Pause`` leaves Stopped (a file
        gone since the probe raises here, before anything changes)."""
        location: Path = self.props.location
        try:
            container = av.open(str(location))
        except Exception as exc:
            raise _open_error(location, exc, self.name) from exc
        try:
            linked = [pin for pin in self.demux_pins() if pin.is_connected()]
            for pin in linked:
                context = container.streams[pin.info.index].codec_context
                context.thread_type = "AUTO"  # frame threads: decoding keeps up on 2 cores
            self.demuxer = _Demuxer(container, [pin.info.index for pin in linked])
            for pin in linked:
                pin.reset(0)
                pin.start_count()
        except Exception:
            self.demuxer = None
            container.close()
            raise
        return container

    def close_file(self, file: Any) -> None:
        """Close the container (a failure to is only logged)."""
        self.demuxer = None
        for pin in self.demux_pins():
            pin.clear()
        try:
            file.close()
        except Exception:
            log.debug("%r: closing %s failed", self, self.props.location, exc_info=True)


# -- avsink ------------------------------------------------------------------------------------


@attrs.define
class _SinkProperties:
    location: Path | None = path_prop("the file to write")  # noqa: RUF009 (an attrs field)
    codec: str = prop(
        "",
        kind=str,
        doc="the encoder of the streams of its kind, video or audio (empty: libx264 or mpeg4 "
        "for video; PCM for WAV, else aac or the container's own for audio)",
    )
    audio_codec: str = prop(
        "", kind=str, doc="the audio encoder, when codec names a video one (empty: as codec)"
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


def _any_encoder(name: str) -> Any:
    try:
        return av.Codec(name, "w")
    except Exception as exc:
        raise ValueError(f"avsink: PyAV has no encoder {name!r}") from exc


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


class _MuxStream:
    """One output stream of ``avsink``: the encoder of one input pin, and its clock."""

    def __init__(self, stream: Any, media_type: MediaType) -> None:
        self.stream = stream
        self.media_type = media_type
        self.kind: str = stream.type
        self.layout = video_layout(media_type) if self.kind == "video" else None
        if self.kind == "video":
            self.rate = framerate_of(media_type.format.avg_time_per_frame) or Fraction(25)
        else:
            self.rate = Fraction(media_type.format.samples_per_sec)
        self.time_base = 1 / self.rate
        self.last_pts = -1
        self.next_pts: int | None = None  # audio: the next frame's pts, in samples
        self.written = 0
        self.encoder: Any = None
        """The encoder started for a format change (its packets go into ``stream``); None:
        the stream's own."""

    @property
    def pix_fmt(self) -> str:
        """The pixel format the current encoder takes."""
        return str(self.encoder.pix_fmt if self.encoder is not None else self.stream.pix_fmt)

    def encode(self, frame: Any) -> list[Any]:
        """The packets the current encoder gives for ``frame`` (None drains it)."""
        if self.encoder is None:
            return list(self.stream.encode(frame))
        packets = list(self.encoder.encode(frame))
        for packet in packets:
            packet.stream = self.stream
        return packets


class _MuxPin(BaseInputPin):
    """A request input pin of ``avsink`` (``sink_%u``)."""

    _filter: AVSink


class AVSink(FileSink[Any], Element):
    """``avsink``: a muxer and encoder. It has request input pins, ``sink_0``, ``sink_1``,
    ... (GStreamer's ``sink_%u``): there is always one unconnected pin, and connecting it
    makes the next (``m.`` in a launch line takes it; ``m.sink_3`` asks for that one). Each
    connected pin becomes one stream of ``location``, whose container follows the file name,
    encoded from raw video (I420, IYUV, NV12, RGB24, RGB32) or raw audio (see the module
    docstring).

    Interleaving: each pin encodes its samples on its own streaming thread as they come and
    hands the packets to FFmpeg's interleaving muxer (``av_interleaved_write_frame``), which
    writes them in time order, holding at most its ``max_interleave_delta`` (10 s) of
    compressed packets when one stream runs ahead. No pin ever waits for another's samples,
    so a demuxer feeding the muxer on two paths cannot deadlock, and memory stays bounded by
    the pools upstream plus that window of packets. Timestamps are the samples' stream
    times, so the streams keep their alignment.

    The file is created when the filter leaves Stopped with at least one pin connected (a
    bad location or codec raises there), and finished — encoders drained, trailer written,
    closed — once every connected pin has had end of stream, before EC_COMPLETE, or at Stop.
    """

    Properties = _SinkProperties
    description = "Encodes and muxes raw video and audio into a media file (any format PyAV writes)"
    pin_templates = (PinTemplate("sink_%u", IN, "ANY"),)

    video_formats: ClassVar[tuple[str, ...]] = tuple(_PIXEL_FORMATS)
    """The raw video formats the inputs take."""

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)
        self._pins.remove(self.input)  # RendererFilter's single pin: ours are requested
        self.input = self.add_pin(_MuxPin(self, "sink_0"))
        """The first input pin, ``sink_0``."""
        self._streams: dict[int, _MuxStream] = {}  # id(pin) -> its stream, while the file is open
        self._ended_pins: set[int] = set()
        self.written = 0
        """Samples encoded since the filter last left Stopped."""

    # -- request pins ------------------------------------------------------------------------

    def sink_pins(self) -> list[_MuxPin]:
        """The input pins, in the order of their numbers."""
        pins = [pin for pin in self.input_pins() if isinstance(pin, _MuxPin)]
        return sorted(pins, key=lambda pin: int(pin.QueryId().rpartition("_")[2]))

    def connected_pins(self) -> list[_MuxPin]:
        """The connected input pins, in number order: one stream of the file each."""
        return [pin for pin in self.sink_pins() if pin.is_connected()]

    def request_pin(self, pin_id: str) -> _MuxPin | None:
        """The input pin ``pin_id`` (``sink_N``), made when it does not exist yet; None for an
        id that is not of that form. Only while stopped."""
        match = re.fullmatch(r"sink_(\d+)", pin_id)
        if match is None or str(int(match.group(1))) != match.group(1):
            return None
        for pin in self.sink_pins():
            if pin.QueryId() == pin_id:
                return pin
        if self._state is not STOPPED:
            raise VfwNotStoppedError(message="pins are requested while stopped")
        return self.add_pin(_MuxPin(self, pin_id))

    def _add_spare(self) -> None:
        taken = {pin.QueryId() for pin in self._pins}
        number = 0
        while f"sink_{number}" in taken:
            number += 1
        self.add_pin(_MuxPin(self, f"sink_{number}"))

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """Keep one unconnected pin."""
        super().complete_connect(pin, peer)
        if all(other.is_connected() for other in self.sink_pins()):
            self._add_spare()

    def break_connect(self, pin: BasePin) -> None:
        """Drop a disconnected pin while another unconnected one remains."""
        super().break_connect(pin)
        spares = [p for p in self.sink_pins() if p is not pin and not p.is_connected()]
        if isinstance(pin, _MuxPin) and spares and pin in self._pins:
            self._pins.remove(pin)
            if self.input is pin:
                self.input = self.sink_pins()[0]

    # -- types -------------------------------------------------------------------------------

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Raw video in a format of ``video_formats`` with a positive size up to 16384 (RGB
        either way up), or raw audio in any of ``AUDIO_FORMATS``."""
        if media_type.major_type == MEDIATYPE_Video:
            return _video_type_ok(media_type)
        return audio_format(media_type) in AUDIO_FORMATS and _audio_type_ok(media_type)

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """``CheckMediaType``; and once the file is open, a pin's new type (a format change
        mid-stream) only for video whose encoder restarts at a new size (H.264 by libx264,
        MPEG-4 part 2): another video format or size, the stream goes on with a new encoder.
        An audio stream keeps its type."""
        if not self.CheckMediaType(media_type):
            return False
        mux = self._streams.get(id(pin))
        if mux is None or media_type == mux.media_type:
            return True
        return (
            mux.kind == "video"
            and media_type.major_type == MEDIATYPE_Video
            and mux.stream.codec_context.name in _RESIZABLE_ENCODERS
        )

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """The sink reads ``VIDEO_META`` strides, so upstream may pad its rows."""
        if query.media_type is not None and query.media_type.major_type == MEDIATYPE_Video:
            query.add_meta(VIDEO_META.api)

    # -- state -------------------------------------------------------------------------------

    def open_resource(self) -> None:
        """Leaving Stopped (in ``Pause``): check ``location``, reset the counters, and
        create the file when a pin is connected (no connection, no file)."""
        required(self.props.location, "avsink needs a location (the file to write)")
        self.written = 0
        self._ended_pins.clear()
        pins = self.connected_pins()
        self.hold_file(self._open_container(pins) if pins else None)

    def _open_container(self, pins: list[_MuxPin]) -> Any:
        """Create the file with one stream per pin and write its header (raising for a bad
        location or codec before anything changes)."""
        location: Path = self.props.location
        kinds = {
            "video" if p.ConnectionMediaType().major_type == MEDIATYPE_Video else "audio"
            for p in pins
        }
        self._check_codecs(kinds)
        try:
            container = av.open(str(location), "w")
        except Exception as exc:
            raise ValueError(f"avsink: cannot write {location}: {exc}") from exc
        streams: dict[int, _MuxStream] = {}
        try:
            for pin in pins:
                media_type = pin.ConnectionMediaType()
                if media_type.major_type == MEDIATYPE_Video:
                    stream = self._add_video(container, media_type)
                else:
                    stream = self._add_audio(container, media_type)
                streams[id(pin)] = _MuxStream(stream, media_type)
            try:
                container.start_encoding()  # opens the file and the encoders; writes the header
            except OSError as exc:
                raise location_error(exc, self.name, location, "write") from exc
            except ValueError as exc:
                raise ValueError(f"avsink: {location}: {exc}") from exc
        except Exception:
            try:
                container.close()
            except Exception:
                log.debug("%r: closing a failed %s", self, location, exc_info=True)
            raise
        self._streams = streams
        return container

    def _add_video(self, container: Any, media_type: MediaType) -> Any:
        header = media_type.format
        fmt = video_format(media_type) or "I420"
        codec = self._chosen_codec("video") or _encoder(_default_video_codec(container), "video")
        rate = framerate_of(header.avg_time_per_frame) or Fraction(25)
        try:
            stream = container.add_stream(codec.name, rate=rate)
        except ValueError as exc:
            raise ValueError(f"avsink: {self.props.location}: {exc}") from exc
        stream.width, stream.height = header.width, abs(header.height)
        stream.pix_fmt = _encoder_pixel_format(codec, _PIXEL_FORMATS[fmt])
        stream.codec_context.time_base = 1 / rate
        # Frame and slice threads, as the ffmpeg command line has (PyAV's default is slice
        # threads only, which leave libx264 most of a second core idle).
        stream.codec_context.thread_type = "AUTO"
        if self.props.bitrate:
            stream.bit_rate = self.props.bitrate
        return stream

    def _add_audio(self, container: Any, media_type: MediaType) -> Any:
        wave = media_type.format
        fmt = audio_format(media_type) or "S16LE"
        codec = self._chosen_codec("audio") or _encoder(
            _default_audio_codec(container, fmt), "audio"
        )
        rate = wave.samples_per_sec
        try:
            stream = container.add_stream(codec.name, rate=rate)
        except ValueError as exc:
            raise ValueError(f"avsink: {self.props.location}: {exc}") from exc
        context = stream.codec_context
        context.layout = f"{wave.channels}c"
        supported = [f.name for f in codec.audio_formats or ()]
        mine = _SAMPLE_FORMATS.get(fmt, "s32")
        context.format = mine if not supported or mine in supported else supported[0]
        if self.props.bitrate:
            stream.bit_rate = self.props.bitrate
        return stream

    def _chosen_codec(self, kind: str) -> Any:
        """The encoder ``codec`` (or, for audio, ``audio-codec``) names for a stream of
        ``kind``, or None for the default."""
        if kind == "audio" and self.props.audio_codec:
            return _encoder(self.props.audio_codec, "audio")
        if self.props.codec:
            codec = _any_encoder(self.props.codec)
            if codec.type == kind:
                return codec
        return None

    def _check_codecs(self, kinds: set[str]) -> None:
        """``codec`` must encode a kind of stream the file has (``audio-codec``: audio)."""
        if self.props.codec:
            codec = _any_encoder(self.props.codec)
            if codec.type not in kinds:
                wanted = " or ".join(sorted(kinds))
                raise ValueError(f"avsink: {self.props.codec!r} encodes {codec.type}, not {wanted}")
        if self.props.audio_codec:
            _encoder(self.props.audio_codec, "audio")

    def finish_file(self, file: Any) -> None:
        """Drain every encoder, write the trailer and close the file."""
        streams, self._streams = self._streams, {}
        try:
            for mux in streams.values():
                for packet in mux.encode(None):
                    file.mux(packet)
        finally:
            file.close()

    def file_samples(self) -> int:
        """Samples encoded into the open file."""
        return self.written

    def abandon_file(self, file: Any) -> None:
        """Close the file without finishing it (the pause that opened it failed)."""
        self._streams = {}
        super().abandon_file(file)

    # -- streaming ---------------------------------------------------------------------------

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Wait while paused (or for the sample's time, with ``sync``), then encode and mux
        ``sample`` into the pin's stream."""
        if (
            self._state is not RUNNING or (self.sync and self._clock is not None)
        ) and not self._wait_until_due(pin, sample):
            return False
        try:
            with self._file_lock:
                file = self._file
                mux = self._streams.get(id(pin))
                if file is not None and mux is not None:
                    media_type = pin.ConnectionMediaType()
                    if media_type != mux.media_type:  # a format change arrived with sample
                        self._restart_encoder(file, mux, media_type)
                    self._write(file, mux, sample)
        except Exception as exc:
            pin.stream_error(exc)
            raise
        self.rendered += 1
        return True

    def DoRenderSample(self, sample: Any) -> None:
        """Samples arrive through ``receive``, which knows their pin."""
        raise NotImplError(message="avsink writes samples per pin (receive)")

    def _restart_encoder(self, file: Any, mux: _MuxStream, media_type: MediaType) -> None:
        """A video format change: drain the encoder of the old frames into the file, then go
        on in the same stream with an encoder opened for ``media_type``'s size and format."""
        for packet in mux.encode(None):
            file.mux(packet)
        header: VideoInfoHeader = media_type.format
        fmt = video_format(media_type) or "I420"
        old = mux.encoder if mux.encoder is not None else mux.stream.codec_context
        encoder = av.CodecContext.create(old.name, "w")
        encoder.width, encoder.height = header.width, abs(header.height)
        encoder.pix_fmt = _encoder_pixel_format(old.codec, _PIXEL_FORMATS[fmt])
        encoder.time_base = mux.time_base
        encoder.framerate = mux.rate
        encoder.thread_type = "AUTO"
        if self.props.bitrate:
            encoder.bit_rate = self.props.bitrate
        encoder.open()
        log.debug("%r: the stream goes on at %dx%d", self, header.width, abs(header.height))
        mux.encoder = encoder
        mux.media_type = media_type
        mux.layout = video_layout(media_type)

    def _write(self, file: Any, mux: _MuxStream, sample: Any) -> None:
        if mux.kind == "video":
            frame = self._video_frame(mux, sample)
        else:
            frame = self._audio_frame(mux, sample)
            if frame is None:
                return
        for packet in mux.encode(frame):
            file.mux(packet)
        mux.written += 1
        self.written += 1

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """A pin's stream ended: once every connected pin's has, finish the file and report
        completion."""
        with self._file_lock:
            self._ended_pins.add(id(pin))
            done = all(id(other) in self._ended_pins for other in self.connected_pins())
        if done:
            super().end_of_stream(pin)

    def end_flush(self, pin: BaseInputPin) -> None:
        """A flush (a seek): the pin's stream goes on."""
        with self._file_lock:
            self._ended_pins.discard(id(pin))
        super().end_flush(pin)

    def _video_frame(self, mux: _MuxStream, sample: Any) -> Any:
        layout = mux.layout
        assert layout is not None
        fmt = layout.format
        native = _PIXEL_FORMATS[fmt]
        frame = av.VideoFrame(layout.width, layout.height, native)
        offsets, strides = _frame_layout(sample, layout)
        data = sample.GetPointer()
        flip = fmt in _DIB_FORMATS and mux.media_type.format.height > 0
        for index, row_bytes in enumerate(_row_bytes(fmt, layout.width)):
            rows = layout.heights[index]
            source = _sample_array(data, offsets[index], strides[index], rows)[:, :row_bytes]
            target = _plane_array(frame.planes[index], rows)[:, :row_bytes]
            target[...] = source[::-1] if flip else source
        if frame.format.name != mux.pix_fmt:
            frame = frame.reformat(format=mux.pix_fmt)
        frame.pts = self._video_pts(mux, sample)
        frame.time_base = mux.time_base
        return frame

    @staticmethod
    def _video_pts(mux: _MuxStream, sample: Any) -> int:
        """The frame number the sample's stream time stands for, kept increasing (and not
        below 0); the next number for a sample without a time."""
        try:
            start, _stop = sample.GetTime()
        except Exception:
            start = None
        pts = mux.last_pts + 1
        if start is not None:
            pts = max(pts, round(Fraction(start, SECOND) * mux.rate))
        mux.last_pts = pts
        return pts

    def _audio_frame(self, mux: _MuxStream, sample: Any) -> Any:
        wave = mux.media_type.format
        fmt = audio_format(mux.media_type) or "S16LE"
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
        frame = av.AudioFrame.from_ndarray(array, format=sample_format, layout=f"{wave.channels}c")
        frame.sample_rate = wave.samples_per_sec
        if mux.next_pts is None:
            # The first audio: at its stream time (not before 0), then frame after frame.
            try:
                start = sample.GetTime()[0]
            except Exception:
                start = 0
            mux.next_pts = max(0, round(Fraction(start, SECOND) * wave.samples_per_sec))
        frame.pts = mux.next_pts
        frame.time_base = mux.time_base
        mux.next_pts += count
        return frame
