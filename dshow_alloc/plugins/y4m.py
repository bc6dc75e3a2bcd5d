"""``y4msrc`` and ``y4msink``: raw 4:2:0 video in YUV4MPEG2 (``.y4m``) files.

A YUV4MPEG2 file is one header line (``YUV4MPEG2 W640 H360 F25:1 Ip A1:1 C420jpeg``) and then,
per frame, a ``FRAME`` line (optionally with parameters) followed by the Y, U and V planes,
each tightly packed (no row padding; the chroma planes are ceil(W/2) by ceil(H/2)). That is
exactly DirectShow's I420 (IYUV) layout, so frames go between the file and the samples'
memory with no conversion and no intermediate copy.

Pure Python on purpose: these filters work with the core install (no numpy).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from dshow_alloc.caps import frame_time, framerate_of
from dshow_alloc.filters import size_allocator
from dshow_alloc.mediatype import MediaType
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.plugins._common import (
    IN,
    IOV_MAX,
    OUT,
    SECOND,
    FileSink,
    FileSource,
    advance,
    location_error,
    open_checked,
    path_prop,
    required,
    write_all,
)
from dshow_alloc.registry import Element, PinTemplate
from dshow_alloc.seeking import SourceSeeking, frame_containing
from dshow_alloc.structs import AllocatorProperties
from dshow_alloc.video import VIDEO_META, VideoLayout, video_format, video_layout, video_type
from interfaces import IBufferSample

__all__ = ["Y4MHeader", "Y4MSink", "Y4MSource", "parse_y4m_header"]

log = logging.getLogger(__name__)

_MAGIC = b"YUV4MPEG2"
_FRAME = b"FRAME"
_MAX_LINE = 65536  # a header or FRAME line longer than this is not a y4m file
_CHROMA_420 = frozenset({"420", "420jpeg", "420mpeg2", "420paldv"})
_INTERLACING = {
    "p": "progressive",
    "?": "unknown",
    "t": "top field first",
    "b": "bottom field first",
    "m": "mixed",
}
_DEFAULT_RATE = Fraction(25)


@attrs.frozen
class Y4MHeader:
    """What a YUV4MPEG2 stream header says."""

    width: int
    """W: pixels per row."""
    height: int
    """H: rows."""
    framerate: Fraction
    """F: frames per second (25 when the file gives none, as FFmpeg assumes)."""
    interlacing: str
    """I: ``p``, ``?``, ``t``, ``b`` or ``m`` (``?`` when absent)."""
    chroma: str
    """C: the 4:2:0 siting given (``420jpeg``...; ``420`` when absent)."""
    size: int
    """Bytes the header line takes, its newline included."""


def parse_y4m_header(line: bytes, path: Path | str = "<stream>") -> Y4MHeader:
    """Parse a YUV4MPEG2 header line (with its newline).

    Raises:
        ValueError: not a YUV4MPEG2 header, a missing or bad W/H/F tag, or a chroma
            format other than 4:2:0 (the message names ``path`` and the tag).
    """
    if not line.endswith(b"\n"):
        raise ValueError(f"{path}: not a YUV4MPEG2 file (no complete header line)")
    words = line[:-1].split(b" ")
    if words[0] != _MAGIC:
        raise ValueError(f"{path}: not a YUV4MPEG2 file (it does not start with YUV4MPEG2)")
    tags: dict[str, str] = {}
    for word in words[1:]:
        if not word:
            continue  # tolerate doubled spaces
        try:
            text = word.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: the header tag {word!r} is not ASCII") from None
        if text[0] != "X":  # X tags are application-defined; several may appear
            tags[text[0]] = text[1:]
    width, height = _dimension(tags, "W", path), _dimension(tags, "H", path)
    framerate = _framerate(tags.get("F"), path)
    interlacing = tags.get("I", "?")
    if interlacing not in _INTERLACING:
        raise ValueError(f"{path}: unknown interlacing tag I{interlacing}")
    chroma = tags.get("C", "420")
    if chroma not in _CHROMA_420:
        raise ValueError(
            f"{path}: chroma format C{chroma} is not supported; y4msrc reads 4:2:0 files "
            f"only (C{', C'.join(sorted(_CHROMA_420))} or no C tag)"
        )
    return Y4MHeader(width, height, framerate, interlacing, chroma, len(line))


def _dimension(tags: dict[str, str], tag: str, path: Path | str) -> int:
    text = tags.get(tag)
    if text is None:
        raise ValueError(f"{path}: the YUV4MPEG2 header has no {tag} tag")
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"{path}: bad {tag} tag {tag}{text} (a positive integer is needed)")
    return int(text)


def _framerate(text: str | None, path: Path | str) -> Fraction:
    if text is None:
        return _DEFAULT_RATE
    num, sep, den = text.partition(":")
    if not (sep and num.isdigit() and den.isdigit()):
        raise ValueError(f"{path}: bad frame rate tag F{text} (expected F<num>:<den>)")
    if int(num) == 0 or int(den) == 0:
        return _DEFAULT_RATE  # "unknown": FFmpeg's choice too
    return Fraction(int(num), int(den))


def _read_header(path: Path) -> Y4MHeader:
    with path.open("rb") as file:
        line = file.readline(_MAX_LINE)
    return parse_y4m_header(line, path)


def _frame_rows(data: memoryview, layout: VideoLayout, widths: Sequence[int]) -> list[memoryview]:
    """The visible bytes of every row of every plane, in file order."""
    rows: list[memoryview] = []
    for offset, stride, height, width in zip(
        layout.offsets, layout.strides, layout.heights, widths, strict=True
    ):
        rows.extend(data[offset + r * stride : offset + r * stride + width] for r in range(height))
    return rows


def _strided_layout(layout: VideoLayout, sample: Any) -> VideoLayout:
    """``layout`` with the offsets and strides of the sample's VIDEO_META, when it has one."""
    if not IBufferSample.providedBy(sample):
        return layout
    meta = sample.GetMeta(VIDEO_META)
    if meta is None:
        return layout
    fields = meta.fields
    offsets, strides = tuple(fields["offsets"]), tuple(fields["strides"])
    if (offsets, strides) == (layout.offsets, layout.strides):
        return layout
    if len(offsets) != layout.n_planes:
        raise ValueError(f"the sample's VIDEO_META has {len(offsets)} planes, not 3")
    end = max(o + s * h for o, s, h in zip(offsets, strides, layout.heights, strict=True))
    return attrs.evolve(layout, offsets=offsets, strides=strides, size=end)


def _plane_widths(layout: VideoLayout) -> tuple[int, ...]:
    half = (layout.width + 1) // 2
    return (layout.width, half, half)


def _read_exactly(fd: int, views: list[memoryview]) -> int:
    """Read into ``views`` in order until they are full or the file ends; bytes read."""
    total = 0
    pending = [view for view in views if len(view)]
    while pending:
        got = os.readv(fd, pending[:IOV_MAX])
        if got == 0:
            break
        total += got
        advance(pending, got)
    return total


# -- y4msrc ----------------------------------------------------------------------------------


@attrs.define
class _SourceProperties:
    location: Path | None = path_prop("the .y4m file to read")  # noqa: RUF009 (an attrs field)


class Y4MSource(SourceSeeking, FileSource[io.FileIO], Element):
    """``y4msrc``: reads a YUV4MPEG2 file into I420 samples, one frame per sample.

    The header is read when the filter is made, so the output pin offers the exact type
    (``video_type("I420", W, H, avg_time_per_frame=frame_time(F))``, its only type).
    4:2:0 files only (``C420``, ``C420jpeg``, ``C420mpeg2``, ``C420paldv`` or no ``C`` tag);
    other chroma formats raise ValueError. Interlaced files (``It``/``Ib``/``Im``) are read
    as they are, frame by frame (``interlacing`` says which). A file with no ``F`` tag (or
    ``F0:0``) is taken as 25 frames/s.

    Frame ``i`` at rate n/d starts at ``i * 10_000_000 * d // n`` and stops where frame
    ``i + 1`` starts; its media time is ``(i, i + 1)``; every frame is a sync point and the
    first is a discontinuity. Frames are read straight into the sample's memory
    (``readv``), row by row into padded rows when downstream asked for a ``VIDEO_META``.

    A truncated last frame (the file ends inside it) is an error, as in GStreamer: every
    complete frame is delivered, then the graph gets EC_ERRORABORT with a ValueError naming
    the file and the frame, and end of stream still goes downstream, so a file sink
    finishes its file with the complete frames.

    Seeking (`SourceSeeking`): the duration is where the frame after the last complete one
    would start; ``SetPositions(t)`` starts at the frame that contains ``t`` (every frame is
    a key frame, so ``AM_SEEKING_SeekToKeyFrame`` starts at the same frame, with the
    segment starting at that frame's start instead of at ``t``). A file of plain ``FRAME``
    lines is sought directly; one with frame parameters is scanned from its first frame.
    """

    Properties = _SourceProperties
    description = "Reads raw 4:2:0 video from a YUV4MPEG2 (.y4m) file"
    pin_templates = (
        PinTemplate(
            "Output",
            OUT,
            "video/x-raw,format=I420,width=[1,2147483647],height=[1,2147483647]",
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        location = required(self.props.location, "y4msrc needs a location (the .y4m file to read)")
        try:
            self.header = _read_header(location)
        except OSError as exc:
            raise location_error(exc, name or "y4msrc", location, "read") from exc
        """The file's stream header, as read when the filter was made."""
        header = self.header
        if header.interlacing not in ("p", "?"):
            log.info(
                "%s is interlaced (%s); frames are delivered as stored",
                location,
                _INTERLACING[header.interlacing],
            )
        media_type = video_type(
            "I420", header.width, header.height, avg_time_per_frame=frame_time(header.framerate)
        )
        super().__init__(name=name, media_type=media_type)
        self._layout = video_layout(media_type)
        self._widths = _plane_widths(self._layout)
        self._record = len(_FRAME) + 1 + self._layout.size  # a frame with a plain FRAME line
        self._index = 0
        self._counted: tuple[tuple[int, int], int] | None = None  # (size, mtime) -> frames

    @property
    def interlacing(self) -> str:
        """The file's ``I`` tag: ``p``, ``?``, ``t``, ``b`` or ``m``."""
        return self.header.interlacing

    def expected_samples(self) -> int | None:
        """The number of frames, when every frame has the same size (a plain ``FRAME`` line
        and nothing after the last frame); None when frame parameters make sizes vary."""
        location: Path = self.props.location
        record = self._record
        try:
            body = location.stat().st_size - self.header.size
            with location.open("rb") as file:
                file.seek(self.header.size)
                first = file.read(len(_FRAME) + 1)
        except OSError:
            return None
        if body % record or (body and first != _FRAME + b"\n"):
            return None
        return body // record

    # -- state -----------------------------------------------------------------------------

    def open_file(self) -> io.FileIO:
        """Open the file at its first frame (each run starts there), as ``Pause`` leaves
        Stopped. Raises OSError when the file cannot be opened and ValueError when its header
        no longer matches the connected type."""
        file = open_checked(self.props.location, "rb", self._check_header)
        self._index = 0
        return file

    def _check_header(self, file: io.FileIO) -> None:
        location: Path = self.props.location
        line = _read_bytes(file, self.header.size)
        if not line.endswith(b"\n") or parse_y4m_header(line, location) != self.header:
            raise ValueError(f"{location} changed since y4msrc read its header")

    # -- seeking ---------------------------------------------------------------------------

    def frame_start(self, index: int) -> int:
        """Where frame ``index`` starts (REFERENCE_TIME)."""
        rate = self.header.framerate
        return index * SECOND * rate.denominator // rate.numerator

    def frame_count(self) -> int:
        """The complete frames the file holds now (scanned when frame parameters make sizes
        vary; the count is kept until the file changes)."""
        location: Path = self.props.location
        frames = self.expected_samples()
        if frames is not None:
            return frames
        stat = location.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        if self._counted is not None and self._counted[0] == key:
            return self._counted[1]
        with open_checked(location, "rb", self._check_header) as file:
            frames = self._skip_frames(file, None)
        self._counted = (key, frames)
        return frames

    def seek_duration(self) -> int | None:
        """The end of the last complete frame."""
        try:
            return self.frame_start(self.frame_count())
        except (OSError, ValueError):
            return None

    def seek_to(self, position: int, key_frame: bool) -> int:
        """Move to the frame that contains ``position`` (see the class docstring)."""
        rate = self.header.framerate
        index = frame_containing(position, rate.numerator, rate.denominator)
        file = self._file
        if file is not None:
            if self.expected_samples() is not None:
                file.seek(self.header.size + index * self._record)
            else:
                file.seek(self.header.size)
                self._skip_frames(file, index)
        self._index = index
        return self.frame_start(index) if key_frame else position

    def _skip_frames(self, file: io.FileIO, count: int | None) -> int:
        """Skip ``count`` frames (None: all the complete ones) from the first one, where
        ``file`` stands; return how many were skipped (fewer at the end of the file)."""
        size = self._layout.size
        end = os.fstat(file.fileno()).st_size
        skipped = 0
        while count is None or skipped < count:
            self._index = skipped
            at = file.tell()
            try:
                if not self._frame_line(file):
                    break
            except ValueError:
                if count is None:  # counting: a truncated frame is not a frame
                    break
                raise
            if file.tell() + size > end:
                file.seek(at)
                break
            file.seek(size, os.SEEK_CUR)
            skipped += 1
        return skipped

    # -- streaming -------------------------------------------------------------------------

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """A frame per sample: large enough for the frame with its rows padded to the
        requested alignment, in case downstream asked for a ``VIDEO_META`` with padded
        strides."""
        padded = video_layout(self.media_type, stride_align=max(request.align, 1)).size
        size_allocator(allocator, request, buffers=self.buffers, buffer_size=padded)

    def FillBuffer(self, sample: Any) -> bool:
        """Read the next frame into ``sample``; False at the end of the file."""
        file = self._file
        if file is None:
            return False
        if not self._frame_line(file):
            return False
        layout = _strided_layout(self._layout, sample)
        data = sample.GetPointer()
        if layout.size > len(data):
            raise ValueError(f"a {len(data)}-byte sample cannot hold a {layout.size}-byte frame")
        if layout is self._layout:
            views = [data[: layout.size]]
        else:
            views = _frame_rows(data, layout, self._widths)
        wanted = self._layout.size
        got = _read_exactly(file.fileno(), views)
        if got != wanted:
            raise ValueError(
                f"{self.props.location}: frame {self._index} is truncated "
                f"({got} of {wanted} bytes); the file ends inside it"
            )
        index = self._index
        self._index = index + 1
        rate = self.header.framerate
        sample.SetActualDataLength(layout.size)
        sample.SetTime(
            index * SECOND * rate.denominator // rate.numerator,
            (index + 1) * SECOND * rate.denominator // rate.numerator,
        )
        sample.SetMediaTime(index, index + 1)
        sample.SetSyncPoint(True)
        sample.SetDiscontinuity(index == 0)
        return True

    def _frame_line(self, file: io.FileIO) -> bool:
        """Consume one ``FRAME`` line; False at a clean end of file."""
        head = _read_bytes(file, len(_FRAME) + 1)
        if not head:
            return False
        if head == _FRAME + b"\n":
            return True
        if head != _FRAME + b" ":
            if _FRAME.startswith(head):  # the file ends inside the line
                raise ValueError(
                    f"{self.props.location}: frame {self._index} is truncated (the file "
                    "ends inside its FRAME line)"
                )
            raise ValueError(
                f"{self.props.location}: expected a FRAME line for frame {self._index}, "
                f"found {head!r}"
            )
        # Frame parameters: skipped, one byte at a time (they are rare and short).
        for _ in range(_MAX_LINE):
            byte = file.read(1)
            if byte == b"\n":
                return True
            if not byte:
                raise ValueError(
                    f"{self.props.location}: frame {self._index} is truncated (the file "
                    "ends inside its FRAME line)"
                )
        raise ValueError(
            f"{self.props.location}: the FRAME line of frame {self._index} is too long"
        )


def _read_bytes(file: io.FileIO, count: int) -> bytes:
    """Up to ``count`` bytes: fewer only at the end of the file."""
    parts = []
    while count:
        part = file.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


# -- y4msink ---------------------------------------------------------------------------------


@attrs.define
class _SinkProperties:
    location: Path | None = path_prop("the .y4m file to write")  # noqa: RUF009 (an attrs field)


class Y4MSink(FileSink[io.FileIO], Element):
    """``y4msink``: writes I420 (or IYUV) samples to a YUV4MPEG2 file, one frame each.

    The header is ``YUV4MPEG2 W<w> H<h> F<n>:<d> Ip A1:1 C420jpeg`` with the frame rate of
    the connection type's ``avg_time_per_frame`` (`framerate_of`); a type without one
    (``avg_time_per_frame`` 0) is written as 25:1, the rate FFmpeg assumes for such files.
    Odd sizes are fine (chroma planes are ceil(W/2) by ceil(H/2)). Samples with a
    ``VIDEO_META`` are read at its offsets and strides; the file is always tightly packed.

    The file is created (truncated) and its header written when the filter leaves Stopped
    (``Pause`` raises an OSError naming the filter and ``location`` for a bad location,
    changing nothing), and it is closed at end of stream, before EC_COMPLETE is reported, or
    at ``Stop``. A clean run of no samples makes a file that is only the header; a failed one
    removes it (see `FileSink`). Frames are written as soon as they arrive (``sync=False``).
    """

    Properties = _SinkProperties
    description = "Writes raw 4:2:0 video to a YUV4MPEG2 (.y4m) file"
    pin_templates = (
        PinTemplate(
            "In",
            IN,
            "video/x-raw,format={I420,IYUV},width=[1,2147483647],height=[1,2147483647]",
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        required(self.props.location, "y4msink needs a location (the .y4m file to write)")
        super().__init__(name=name)
        self._layout: VideoLayout | None = None
        self.frames_written = 0
        """Frames written to the current file."""

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """I420 and IYUV raw video of any size; nothing else (NV12 has other planes). Once
        the file is open its size is fixed (a y4m file has one size in its header): a type
        change to another size mid-stream is refused."""
        if video_format(media_type) not in ("I420", "IYUV") or media_type.format.width <= 0:
            return False
        layout, header = self._layout, media_type.format
        return layout is None or (layout.width, layout.height) == (header.width, abs(header.height))

    def propose_allocation(self, pin: Any, query: AllocationQuery) -> None:
        """Frames with padded rows are welcome: propose ``VIDEO_META``."""
        query.add_meta(VIDEO_META.api)

    def header_line(self, media_type: MediaType) -> bytes:
        """The stream header written for ``media_type``."""
        vih = media_type.format
        rate = framerate_of(vih.avg_time_per_frame) or _DEFAULT_RATE
        return (
            f"YUV4MPEG2 W{vih.width} H{abs(vih.height)} F{rate.numerator}:{rate.denominator} "
            "Ip A1:1 C420jpeg\n"
        ).encode("ascii")

    def open_file(self, media_type: MediaType) -> io.FileIO:
        """Create the file and write its header, as ``Pause`` leaves Stopped; OSError (a
        missing directory, no permission) leaves the filter stopped."""
        header = memoryview(self.header_line(media_type))
        file = open_checked(self.props.location, "wb", lambda f: write_all(f.fileno(), [header]))
        self._layout = video_layout(media_type)
        self.frames_written = 0
        return file

    def write_sample(self, file: io.FileIO, sample: Any) -> None:
        """Write ``FRAME`` and the sample's three planes, tightly packed."""
        layout = self._layout
        assert layout is not None  # set with the file
        strided = _strided_layout(layout, sample)
        length = sample.GetActualDataLength()
        if length < strided.size:
            raise ValueError(
                f"a {length}-byte sample is shorter than a {layout.width}x{layout.height} "
                f"I420 frame ({strided.size} bytes)"
            )
        data = sample.GetPointer()
        if strided is layout:
            views = [data[: layout.size]]
        else:
            views = _frame_rows(data, strided, _plane_widths(layout))
        write_all(file.fileno(), [memoryview(b"FRAME\n"), *views])
        self.frames_written += 1

    def finish_file(self, file: io.FileIO) -> None:
        """Close the file (a y4m file has nothing to patch)."""
        self._layout = None
        file.close()
