"""The file filters: ``y4msrc``/``y4msink`` (YUV4MPEG2) and ``wavsrc``/``wavsink`` (RIFF/WAVE).

Files are checked with real readers: ffprobe (Debian's ffmpeg) and PyAV, and the stdlib
``wave`` module for 16-bit WAV. The sources used here are small `SourceFilter` subclasses
written below, or ``y4msrc``/``wavsrc`` on files ffmpeg made.
"""

from __future__ import annotations

import json
import struct
import subprocess
import threading
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dshow_alloc.audio import audio_type
from dshow_alloc.caps import frame_time
from dshow_alloc.elements import CollectingRenderer
from dshow_alloc.filters import SourceFilter, size_allocator
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import VfwTypeNotAcceptedError
from dshow_alloc.mediatype import MediaType
from dshow_alloc.memory import AllocationParams
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.plugins.wav import WavSink, WavSource
from dshow_alloc.plugins.y4m import Y4MSink, Y4MSource
from dshow_alloc.registry import filter_class, make_filter, properties_of
from dshow_alloc.structs import (
    EC_COMPLETE,
    EC_ERRORABORT,
    AllocatorProperties,
    FilterState,
)
from dshow_alloc.video import VIDEO_META, video_layout, video_type

FFPROBE = Path("/usr/bin/ffprobe")
FFMPEG = Path("/usr/bin/ffmpeg")
needs_ffprobe = pytest.mark.skipif(not FFPROBE.exists(), reason="ffprobe is not installed")
STOPPED = FilterState.State_Stopped


# -- helpers ---------------------------------------------------------------------------------


def pattern_frame(fmt: str, width: int, height: int, index: int) -> list[list[bytes]]:
    """Deterministic planes of frame ``index``: per plane, its rows (visible bytes only)."""
    layout = video_layout(fmt, width, height)
    half = (width + 1) // 2
    widths = {"I420": (width, half, half), "IYUV": (width, half, half), "NV12": (width, 2 * half)}
    planes = []
    for p, (rows, row_bytes) in enumerate(zip(layout.heights, widths[fmt], strict=True)):
        planes.append(
            [
                bytes((index * 7 + p * 50 + r * 3 + c) & 0xFF for c in range(row_bytes))
                for r in range(rows)
            ]
        )
    return planes


class FrameSource(SourceFilter):
    """Sends ``count`` pattern frames of one raw video type; honours a sample's VIDEO_META.

    ``align`` > 1 asks for that allocator alignment, so that a pool attaching VIDEO_META for
    a downstream that proposed it pads the rows to it.
    """

    def __init__(self, media_type: MediaType, count: int, *, align: int = 1) -> None:
        super().__init__(name="frames", media_type=media_type, buffers=2)
        self.count, self.align, self.index = count, align, 0
        self.layout = video_layout(media_type)
        self.sent: list[bytes] = []
        """Each frame as tightly packed bytes."""
        self.strides: list[tuple[int, ...]] = []

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        padded = video_layout(self.media_type, stride_align=self.align).size
        wanted = AllocatorProperties(request.buffers, request.buffer_size, self.align, 0)
        size_allocator(allocator, wanted, buffers=2, buffer_size=padded)

    def Pause(self) -> None:
        if self.state is STOPPED:
            self.index = 0
            self.sent.clear()
            self.strides.clear()
        super().Pause()

    def FillBuffer(self, sample: Any) -> bool:
        if self.index >= self.count:
            return False
        i = self.index
        planes = pattern_frame(self.layout.format, self.layout.width, self.layout.height, i)
        meta = sample.GetMeta(VIDEO_META)
        offsets = meta.fields["offsets"] if meta else self.layout.offsets
        strides = meta.fields["strides"] if meta else self.layout.strides
        data = sample.GetPointer()
        end = 0
        for rows, offset, stride in zip(planes, offsets, strides, strict=True):
            for r, row in enumerate(rows):
                data[offset + r * stride : offset + r * stride + len(row)] = row
            end = max(end, offset + stride * len(rows))
        sample.SetActualDataLength(end)
        per = self.media_type.format.avg_time_per_frame
        sample.SetTime(i * per, (i + 1) * per)
        self.sent.append(b"".join(b"".join(rows) for rows in planes))
        self.strides.append(tuple(strides))
        self.index += 1
        return True


class NV12ThenI420(SourceFilter):
    """Offers NV12 first, then I420 (it never streams)."""

    def GetMediaType(self, position: int) -> MediaType | None:
        formats = ("NV12", "I420")
        return video_type(formats[position], 64, 48) if position < len(formats) else None


class ChunkSource(SourceFilter):
    """Sends ``data`` (raw audio bytes of ``media_type``) in pieces of ``chunk`` bytes."""

    def __init__(self, media_type: MediaType, data: bytes, chunk: int = 4096) -> None:
        super().__init__(name="chunks", media_type=media_type, buffer_size=chunk, buffers=2)
        self.data, self.chunk, self.offset = data, chunk, 0

    def Pause(self) -> None:
        if self.state is STOPPED:
            self.offset = 0
        super().Pause()

    def FillBuffer(self, sample: Any) -> bool:
        piece = self.data[self.offset : self.offset + self.chunk]
        if not piece:
            return False
        sample.GetPointer()[: len(piece)] = piece
        sample.SetActualDataLength(len(piece))
        self.offset += len(piece)
        return True


class EndlessAudio(SourceFilter):
    """Sends 100-frame buffers of silence until stopped."""

    def __init__(self, media_type: MediaType) -> None:
        super().__init__(name="endless", media_type=media_type, buffer_size=100 * 4, buffers=2)

    def FillBuffer(self, sample: Any) -> bool:
        sample.SetActualDataLength(400)
        return True


class Recorder(CollectingRenderer):
    """Also keeps each sample's media time, sync point and discontinuity flags."""

    def __init__(self, *, propose_align: int = 0) -> None:
        super().__init__(name="recorder")
        self.propose_align = propose_align
        self.media_times: list[tuple[int, int]] = []
        self.sync: list[bool] = []
        self.discontinuity: list[bool] = []
        self.strides: list[tuple[int, ...] | None] = []
        self.samples: list[Any] = []

    def propose_allocation(self, pin: Any, query: AllocationQuery) -> None:
        if self.propose_align:
            query.add_param(None, AllocationParams(align=self.propose_align))
            query.add_meta(VIDEO_META.api)

    def DoRenderSample(self, sample: Any) -> None:
        super().DoRenderSample(sample)
        self.media_times.append(sample.GetMediaTime())
        self.sync.append(sample.IsSyncPoint())
        self.discontinuity.append(sample.IsDiscontinuity())
        meta = sample.GetMeta(VIDEO_META)
        self.strides.append(tuple(meta.fields["strides"]) if meta else None)


def run(*filters: Any, expect: int = EC_COMPLETE) -> FilterGraph:
    """Connect ``filters`` in a chain, run to completion and stop (the graph is returned)."""
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(*filters)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == expect
        graph.Stop()
    return graph


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly (it must succeed)."""
    subprocess.run([str(FFMPEG), "-v", "error", "-y", *args], check=True)


def ffprobe(path: Path, entries: str) -> dict[str, Any]:
    """ffprobe's JSON for ``path``."""
    out = subprocess.run(
        [
            str(FFPROBE),
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            entries,
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def y4m_frames(path: Path) -> tuple[bytes, list[bytes]]:
    """(header line, frames' bytes) of a y4m file without frame parameters."""
    content = path.read_bytes()
    header, _, body = content.partition(b"\n")
    frames = body.split(b"FRAME\n")
    assert frames[0] == b""
    return header + b"\n", frames[1:]


def decode_planes(path: Path) -> list[bytes]:
    """Each video frame PyAV decodes, as Y, U, V planes tightly packed."""
    av = pytest.importorskip("av")
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.format.name == "yuv420p"
            packed = b""
            for plane in frame.planes:
                width, height = plane.width, plane.height
                raw = bytes(plane)
                packed += b"".join(
                    raw[r * plane.line_size : r * plane.line_size + width] for r in range(height)
                )
            frames.append(packed)
    return frames


def wav_file(fmt_chunk: bytes, data: bytes, extra_chunks: bytes = b"") -> bytes:
    """A RIFF/WAVE file with ``fmt_chunk``'s body, ``extra_chunks`` and then ``data``."""
    fmt = b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"\0" * (len(fmt_chunk) & 1)
    body = b"WAVE" + fmt + extra_chunks + b"data" + struct.pack("<I", len(data)) + data
    body += b"\0" * (len(data) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def plain_fmt(tag: int, channels: int, rate: int, bits: int) -> bytes:
    """A WAVEFORMATEX body (16 bytes for PCM, 18 with cbSize 0 otherwise)."""
    block = channels * bits // 8
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    return body if tag == 1 else body + b"\0\0"


def extensible_fmt(subtype: int, channels: int, rate: int, bits: int, guid_tail: bytes) -> bytes:
    """A WAVEFORMATEXTENSIBLE body whose SubFormat is ``subtype`` + ``guid_tail``."""
    block = channels * bits // 8
    body = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 3)
    return body + struct.pack("<IHH", subtype, 0, 0x10) + guid_tail


KS_TAIL = bytes.fromhex("800000aa00389b71")


def chunks_of(content: bytes) -> dict[bytes, bytes]:
    """The chunks of a RIFF/WAVE file by id (bodies without pad bytes)."""
    assert content[:4] == b"RIFF" and content[8:12] == b"WAVE"
    assert struct.unpack("<I", content[4:8])[0] == len(content) - 8
    chunks, position = {}, 12
    while position < len(content):
        cid, size = (
            content[position : position + 4],
            struct.unpack_from("<I", content, position + 4)[0],
        )
        chunks[cid] = content[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)
    assert position == len(content)
    return chunks


@pytest.fixture
def ffmpeg_y4m(tmp_path: Path) -> Path:
    """Five 64x48 testsrc frames at 25 frames/s, written by ffmpeg."""
    if not FFMPEG.exists():
        pytest.skip("ffmpeg is not installed")
    path = tmp_path / "ffmpeg.y4m"
    args = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-frames:v", "5"]
    ffmpeg(*args, "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.fixture
def ffmpeg_wav(tmp_path: Path) -> Path:
    """Half a second of a 440 Hz sine, 8 kHz mono s16le, written by ffmpeg."""
    if not FFMPEG.exists():
        pytest.skip("ffmpeg is not installed")
    path = tmp_path / "ffmpeg.wav"
    args = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "0.5"]
    ffmpeg(*args, "-c:a", "pcm_s16le", str(path))
    return path


# -- registry --------------------------------------------------------------------------------


def test_registered_names_and_properties() -> None:
    """The four filters are registered under their names with their documented properties."""
    assert filter_class("y4msrc") is Y4MSource
    assert filter_class("y4msink") is Y4MSink
    assert filter_class("wavsrc") is WavSource
    assert filter_class("wavsink") is WavSink
    assert [(p.name, p.kind, p.default) for p in properties_of(WavSource)] == [
        ("location", Path, None),
        ("samples-per-buffer", int, 1024),
    ]
    for cls in (Y4MSource, Y4MSink, WavSink):
        assert [(p.name, p.kind, p.default) for p in properties_of(cls)] == [
            ("location", Path, None)
        ]


@pytest.mark.parametrize("name", ["y4msrc", "y4msink", "wavsrc", "wavsink"])
def test_location_is_required(name: str) -> None:
    """Each filter made without a location raises a ValueError saying it needs one."""
    with pytest.raises(ValueError, match=f"{name} needs a location"):
        make_filter(name)


@pytest.mark.parametrize("name", ["y4msrc", "wavsrc"])
def test_source_of_missing_file_raises(name: str, tmp_path: Path) -> None:
    """A source whose file does not exist raises FileNotFoundError when made."""
    with pytest.raises(FileNotFoundError):
        make_filter(name, location=tmp_path / "nothing")


# -- y4msrc ----------------------------------------------------------------------------------


def test_y4msrc_reads_ffmpeg_file(ffmpeg_y4m: Path) -> None:
    """An ffmpeg-made 64x48 25 fps file gives its only type exactly and five samples with the
    file's frame bytes, exact times, media times = frame index, all sync points."""
    source = make_filter("y4msrc", location=str(ffmpeg_y4m))
    expected_type = video_type("I420", 64, 48, avg_time_per_frame=400_000)
    assert source.output.GetMediaType(0) == expected_type
    assert source.output.GetMediaType(1) is None
    assert (source.header.width, source.header.height) == (64, 48)
    assert source.header.framerate == Fraction(25)
    assert source.interlacing == "p"
    assert source.expected_samples() == 5
    recorder = Recorder()
    run(source, recorder)
    assert recorder.input.ConnectionMediaType() == expected_type
    _, frames = y4m_frames(ffmpeg_y4m)
    assert recorder.data == frames
    assert [len(d) for d in recorder.data] == [4608] * 5
    assert recorder.times == [(i * 400_000, (i + 1) * 400_000) for i in range(5)]
    assert recorder.media_times == [(i, i + 1) for i in range(5)]
    assert recorder.sync == [True] * 5
    assert recorder.discontinuity == [True, False, False, False, False]


def test_y4msrc_frame_parameters_and_ntsc_times(tmp_path: Path) -> None:
    """Frames with FRAME parameters are read; at 30000/1001 frame i starts at
    i * 10_000_000 * 1001 // 30000; the count is unknown up front (None)."""
    frames = [bytes([i]) * 12 for i in range(3)]  # 4x2 I420: 8 + 2 + 2 bytes
    path = tmp_path / "ntsc.y4m"
    path.write_bytes(
        b"YUV4MPEG2 W4 H2 F30000:1001 It A10:11 C420mpeg2 XCOLORRANGE=LIMITED\n"
        + b"FRAME\n"
        + frames[0]
        + b"FRAME Ixyz XOTHER=1\n"
        + frames[1]
        + b"FRAME\n"
        + frames[2]
    )
    source = make_filter("y4msrc", location=path)
    assert source.output.GetMediaType(0) == video_type(
        "I420", 4, 2, avg_time_per_frame=frame_time(Fraction(30000, 1001))
    )
    assert source.interlacing == "t"
    assert source.expected_samples() is None
    recorder = Recorder()
    run(source, recorder)
    assert recorder.data == frames
    assert recorder.times == [(0, 333_666), (333_666, 667_333), (667_333, 1_001_000)]


@pytest.mark.parametrize(
    ("header", "width", "height", "rate", "chroma"),
    [
        (b"YUV4MPEG2 W2 H2 F30:1\n", 2, 2, Fraction(30), "420"),
        (b"YUV4MPEG2 W2 H2 C420jpeg\n", 2, 2, Fraction(25), "420jpeg"),
        (b"YUV4MPEG2 W3 H5 F0:0 C420paldv I?\n", 3, 5, Fraction(25), "420paldv"),
        (b"YUV4MPEG2  W2 H4 F24000:1001 Im C420\n", 2, 4, Fraction(24000, 1001), "420"),
    ],
)
def test_y4msrc_header_tags(
    tmp_path: Path, header: bytes, width: int, height: int, rate: Fraction, chroma: str
) -> None:
    """W, H, F, I and C are read; a missing C is 4:2:0, a missing or 0:0 F is 25 fps."""
    path = tmp_path / "h.y4m"
    path.write_bytes(header)
    source = make_filter("y4msrc", location=path)
    h = source.header
    assert (h.width, h.height, h.framerate, h.chroma, h.size) == (
        width,
        height,
        rate,
        chroma,
        len(header),
    )
    assert source.expected_samples() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"YUV4MPEG2 W64 H48 F25:1 C422\n", "chroma format C422 is not supported"),
        (b"YUV4MPEG2 W64 H48 F25:1 C444\n", "chroma format C444 is not supported"),
        (b"YUV4MPEG2 W64 H48 F25:1 Cmono\n", "chroma format Cmono is not supported"),
        (b"YUV4MPEG2 W64 H48 F25:1 C420p10\n", "chroma format C420p10 is not supported"),
        (b"YUV4MPEG2 H48 F25:1\n", "has no W tag"),
        (b"YUV4MPEG2 W64 H0 F25:1\n", "bad H tag H0"),
        (b"YUV4MPEG2 W64 H48 F25\n", "bad frame rate tag F25"),
        (b"YUV4MPEG2 W64 H48 Ix\n", "unknown interlacing tag Ix"),
        (b"RIFF....WAVE", "not a YUV4MPEG2 file"),
        (b"YUV4MPEG2 W64 H48", "no complete header line"),
    ],
)
def test_y4msrc_refuses_bad_headers(tmp_path: Path, content: bytes, message: str) -> None:
    """A non-4:2:0 chroma, a missing or bad tag, or a non-y4m file raise a ValueError naming
    the file and the tag."""
    path = tmp_path / "bad.y4m"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        make_filter("y4msrc", location=path)
    assert str(path) in str(info.value)


def test_y4msrc_truncated_last_frame_is_an_error_after_the_complete_frames(
    tmp_path: Path,
) -> None:
    """A file ending inside frame 2 delivers frames 0 and 1, then EC_ERRORABORT with a
    ValueError naming the file and frame; end of stream still lets y4msink finish."""
    path, out = tmp_path / "cut.y4m", tmp_path / "out.y4m"
    header = b"YUV4MPEG2 W4 H2 F25:1 Ip A1:1 C420jpeg\n"
    path.write_bytes(
        header + b"FRAME\n" + b"a" * 12 + b"FRAME\n" + b"b" * 12 + b"FRAME\n" + b"c" * 5
    )
    source, sink = make_filter("y4msrc", location=path), make_filter("y4msink", location=out)
    assert source.expected_samples() is None
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_ERRORABORT
        events = graph.events()
        graph.Stop()
    errors = [event for event in events if event[0] == EC_ERRORABORT]
    assert len(errors) == 1
    assert isinstance(errors[0][2], ValueError)
    assert (
        str(errors[0][2])
        == f"{path}: frame 2 is truncated (5 of 12 bytes); the file ends inside it"
    )
    assert sink.frames_written == 2
    assert out.read_bytes() == header + b"FRAME\n" + b"a" * 12 + b"FRAME\n" + b"b" * 12


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"FRA", "frame 1 is truncated \\(the file ends inside its FRAME line\\)"),
        (b"FRAME Ixx", "frame 1 is truncated \\(the file ends inside its FRAME line\\)"),
        (b"GARBAGE", "expected a FRAME line for frame 1, found b'GARBAG'"),
    ],
)
def test_y4msrc_bad_frame_line_is_an_error(tmp_path: Path, tail: bytes, message: str) -> None:
    """A cut or garbled FRAME line after frame 0 ends the stream with EC_ERRORABORT."""
    path = tmp_path / "bad.y4m"
    path.write_bytes(b"YUV4MPEG2 W4 H2\nFRAME\n" + b"a" * 12 + tail)
    recorder = Recorder()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(make_filter("y4msrc", location=path), recorder)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_ERRORABORT
        error = next(e[2] for e in graph.events() if e[0] == EC_ERRORABORT)
        graph.Stop()
    assert recorder.data == [b"a" * 12]
    with pytest.raises(ValueError, match=message):
        raise error


def test_y4msrc_restarts_from_the_first_frame(ffmpeg_y4m: Path) -> None:
    """Stopping and running again replays the file from frame 0."""
    source, recorder = make_filter("y4msrc", location=ffmpeg_y4m), Recorder()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, recorder)
        for _ in range(2):
            graph.Run()
            assert graph.WaitForCompletion(10_000) == EC_COMPLETE
            graph.Stop()
    assert len(recorder.data) == 10
    assert recorder.data[:5] == recorder.data[5:]
    assert recorder.times[5:] == [(i * 400_000, (i + 1) * 400_000) for i in range(5)]


def test_y4msrc_fills_padded_rows_of_a_video_meta(tmp_path: Path) -> None:
    """When downstream proposes VIDEO_META with 64-byte alignment, each 63x47 frame is read
    into rows of stride 64 and the visible bytes equal the file's."""
    sent = FrameSource(video_type("I420", 63, 47, avg_time_per_frame=400_000), 3)
    path = tmp_path / "odd.y4m"
    run(sent, make_filter("y4msink", location=path))
    source, recorder = make_filter("y4msrc", location=path), Recorder(propose_align=64)
    run(source, recorder)
    assert recorder.strides == [(64, 64, 64)] * 3
    layout = video_layout("I420", 63, 47, stride_align=64)
    assert [len(d) for d in recorder.data] == [layout.size] * 3
    for data, expected in zip(recorder.data, sent.sent, strict=True):
        visible = b"".join(
            data[offset + r * 64 : offset + r * 64 + width]
            for offset, rows, width in zip(
                layout.offsets, layout.heights, (63, 32, 32), strict=True
            )
            for r in range(rows)
        )
        assert visible == expected


# -- y4msink ---------------------------------------------------------------------------------


@needs_ffprobe
@pytest.mark.parametrize(
    ("fmt", "width", "height", "rate", "rate_text"),
    [
        ("I420", 64, 48, Fraction(25), "25/1"),
        ("IYUV", 63, 47, Fraction(30000, 1001), "30000/1001"),
    ],
)
def test_y4msink_file_reads_back_exactly(
    tmp_path: Path, fmt: str, width: int, height: int, rate: Fraction, rate_text: str
) -> None:
    """y4msink writes the documented header and tightly packed frames; ffprobe sees the size,
    yuv420p, the frame count and rate, and PyAV decodes the exact planes sent."""
    path = tmp_path / "out.y4m"
    source = FrameSource(video_type(fmt, width, height, avg_time_per_frame=frame_time(rate)), 4)
    sink = make_filter("y4msink", location=path)
    run(source, sink)
    header, frames = y4m_frames(path)
    assert (
        header
        == (
            f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n"
        ).encode()
    )
    assert frames == source.sent
    assert sink.frames_written == 4
    probe = ffprobe(path, "stream=width,height,pix_fmt,nb_read_frames,r_frame_rate")
    assert probe["streams"] == [
        {
            "width": width,
            "height": height,
            "pix_fmt": "yuv420p",
            "r_frame_rate": rate_text,
            "nb_read_frames": "4",
        }
    ]
    assert decode_planes(path) == source.sent


def test_y4msink_reads_a_video_meta_with_padded_strides(tmp_path: Path) -> None:
    """Samples whose VIDEO_META pads rows to 32 bytes are written tightly packed."""
    path = tmp_path / "padded.y4m"
    source = FrameSource(video_type("I420", 63, 47, avg_time_per_frame=400_000), 3, align=32)
    run(source, make_filter("y4msink", location=path))
    assert source.strides == [(64, 32, 32)] * 3
    assert y4m_frames(path)[1] == source.sent


@needs_ffprobe
def test_y4m_round_trip_of_an_ffmpeg_file(ffmpeg_y4m: Path, tmp_path: Path) -> None:
    """y4msrc -> y4msink copies an ffmpeg file's frames exactly, and a copy of our copy is
    byte-identical to it."""
    first, second = tmp_path / "first.y4m", tmp_path / "second.y4m"
    run(make_filter("y4msrc", location=ffmpeg_y4m), make_filter("y4msink", location=first))
    run(make_filter("y4msrc", location=first), make_filter("y4msink", location=second))
    assert y4m_frames(first)[1] == y4m_frames(ffmpeg_y4m)[1]
    assert second.read_bytes() == first.read_bytes()
    probe = ffprobe(first, "stream=width,height,pix_fmt,nb_read_frames,r_frame_rate")
    assert probe["streams"][0]["nb_read_frames"] == "5"


def test_y4msink_without_frame_rate_writes_25_fps(tmp_path: Path) -> None:
    """A connection type with no avg_time_per_frame is written as F25:1."""
    path = tmp_path / "norate.y4m"
    run(FrameSource(video_type("I420", 4, 2), 1), make_filter("y4msink", location=path))
    assert path.read_bytes().startswith(b"YUV4MPEG2 W4 H2 F25:1 Ip A1:1 C420jpeg\nFRAME\n")


def test_y4msink_end_of_stream_before_any_frame_writes_the_header(tmp_path: Path) -> None:
    """End of stream before any sample leaves a header-only file, complete at EC_COMPLETE."""
    path = tmp_path / "empty.y4m"
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(
            FrameSource(video_type("I420", 8, 6, avg_time_per_frame=400_000), 0),
            make_filter("y4msink", location=path),
        )
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
        assert path.read_bytes() == b"YUV4MPEG2 W8 H6 F25:1 Ip A1:1 C420jpeg\n"
        graph.Stop()


def test_y4msink_refuses_nv12(tmp_path: Path) -> None:
    """Forcing NV12 raises VFW_E_TYPE_NOT_ACCEPTED through ConnectDirect; connecting with no
    type skips NV12 and takes the source's next type, I420."""
    sink = make_filter("y4msink", location=tmp_path / "x.y4m")
    assert not sink.CheckMediaType(video_type("NV12", 64, 48))
    assert not sink.CheckMediaType(audio_type("S16LE", 8000, 1))
    with FilterGraph(clock=None) as graph:
        source = NV12ThenI420(name="offers", buffer_size=4608)
        graph.AddFilter(source)
        graph.AddFilter(sink)
        with pytest.raises(VfwTypeNotAcceptedError) as info:
            graph.ConnectDirect(source.output, sink.input, video_type("NV12", 64, 48))
        assert info.value.hresult == 0x8004022A
        assert not sink.input.is_connected()
        graph.Connect(source.output, sink.input)
        assert sink.input.ConnectionMediaType() == video_type("I420", 64, 48)


@pytest.mark.parametrize("name", ["y4msink", "wavsink"])
@pytest.mark.parametrize("method", ["Pause", "Run"])
def test_sink_bad_location_fails_and_leaves_the_graph_stopped(
    tmp_path: Path, name: str, method: str
) -> None:
    """A location in a missing directory makes Pause/Run raise FileNotFoundError, leaving
    every filter and the graph stopped with no streaming thread and no file."""
    location = tmp_path / "missing" / "out"
    if name == "y4msink":
        source: SourceFilter = FrameSource(video_type("I420", 8, 6), 3)
    else:
        source = ChunkSource(audio_type("S16LE", 8000, 1), b"\0" * 64)
    sink = make_filter(name, location=location)
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        with pytest.raises(FileNotFoundError):
            getattr(graph, method)()
        assert graph.GetState(0) is STOPPED
        assert (source.state, sink.state) == (STOPPED, STOPPED)
        assert source.output._thread is None
    assert not location.parent.exists()


# -- wavsrc ----------------------------------------------------------------------------------


def test_wavsrc_reads_ffmpeg_file(ffmpeg_wav: Path) -> None:
    """An ffmpeg-made 8 kHz mono s16le file (with a LIST chunk) gives S16LE/8000/1 and
    4000 frames in 1024-frame buffers (the last shorter) with exact times."""
    source = make_filter("wavsrc", location=ffmpeg_wav)
    assert source.output.GetMediaType(0) == audio_type("S16LE", 8000, 1)
    assert source.output.GetMediaType(1) is None
    assert source.info.frames == 4000
    assert source.expected_samples() == 4
    recorder = Recorder()
    run(source, recorder)
    assert [len(d) for d in recorder.data] == [2048, 2048, 2048, 1856]
    assert b"".join(recorder.data) == chunks_of(ffmpeg_wav.read_bytes())[b"data"]
    assert recorder.times == [
        (0, 1_280_000),
        (1_280_000, 2_560_000),
        (2_560_000, 3_840_000),
        (3_840_000, 5_000_000),
    ]
    assert recorder.media_times == [(0, 1024), (1024, 2048), (2048, 3072), (3072, 4000)]
    assert recorder.sync == [True] * 4
    assert recorder.discontinuity == [True, False, False, False]


@pytest.mark.parametrize(
    ("fmt_chunk", "fmt", "channels", "block"),
    [
        (plain_fmt(1, 1, 44100, 8), "U8", 1, 1),
        (plain_fmt(1, 2, 44100, 16), "S16LE", 2, 4),
        (plain_fmt(1, 2, 44100, 24), "S24LE", 2, 6),
        (plain_fmt(1, 1, 44100, 32), "S32LE", 1, 4),
        (plain_fmt(3, 2, 44100, 32), "F32LE", 2, 8),
        (extensible_fmt(1, 2, 44100, 24, KS_TAIL), "S24LE", 2, 6),
        (extensible_fmt(1, 3, 44100, 32, KS_TAIL), "S32LE", 3, 12),
        (extensible_fmt(3, 2, 44100, 32, KS_TAIL), "F32LE", 2, 8),
    ],
)
def test_wavsrc_formats(
    tmp_path: Path, fmt_chunk: bytes, fmt: str, channels: int, block: int
) -> None:
    """PCM 8/16/24/32, float 32, plain or extensible, with an odd-sized unknown chunk (and
    its pad byte) before the data, give the right type and the data bytes exactly."""
    data = bytes(range(256))[: block * 21]
    path = tmp_path / "f.wav"
    path.write_bytes(wav_file(fmt_chunk, data, b"junk" + struct.pack("<I", 3) + b"abc\0"))
    source = make_filter("wavsrc", location=path, samples_per_buffer=8)
    assert source.output.GetMediaType(0) == audio_type(fmt, 44100, channels)
    assert source.expected_samples() == 3
    recorder = Recorder()
    run(source, recorder)
    assert [len(d) for d in recorder.data] == [8 * block, 8 * block, 5 * block]
    assert b"".join(recorder.data) == data
    assert recorder.times == [(0, 1814), (1814, 3628), (3628, 4761)]


def test_wavsrc_unpatched_data_size_reads_what_the_file_holds(tmp_path: Path) -> None:
    """A data chunk claiming 0xFFFFFFFF bytes (a streamed file) is read to the file's end, in
    whole frames."""
    content = wav_file(plain_fmt(1, 2, 8000, 16), bytes(range(42)))
    content = content[: len(content) - 46] + struct.pack("<I", 0xFFFFFFFF) + bytes(range(42))
    path = tmp_path / "stream.wav"
    path.write_bytes(content[:-1])  # 41 bytes: 10 whole frames and one byte
    source = make_filter("wavsrc", location=path)
    assert source.info.frames == 10
    recorder = Recorder()
    run(source, recorder)
    assert recorder.data == [bytes(range(40))]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"YUV4MPEG2 W64 H48\n", "not a WAV file"),
        (b"RF64\xff\xff\xff\xffWAVE", "RF64 .* not supported"),
        (
            wav_file(plain_fmt(0x55, 2, 44100, 0), b""),
            "compressed or unsupported WAV format tag 0x0055",
        ),
        (
            wav_file(plain_fmt(2, 2, 44100, 4), b""),
            "compressed or unsupported WAV format tag 0x0002",
        ),
        (wav_file(plain_fmt(3, 1, 44100, 64), b""), "64-bit IEEE float is not supported"),
        (wav_file(plain_fmt(1, 1, 44100, 12), b""), "12-bit PCM is not supported"),
        (
            wav_file(extensible_fmt(0x55, 2, 44100, 16, KS_TAIL), b""),
            "compressed or unsupported WAVE_FORMAT_EXTENSIBLE subformat",
        ),
        (wav_file(plain_fmt(1, 2, 44100, 16), b"")[:36], "truncated WAV header .* data chunk"),
        (wav_file(plain_fmt(1, 2, 44100, 16), b"")[:30], "truncated WAV header .* fmt chunk"),
        (b"RIFF\0\0\0\0WAVE", "truncated WAV header .* fmt and data chunks"),
        (
            b"RIFF\0\0\0\0WAVEdata\0\0\0\0"
            + b"fmt "
            + struct.pack("<I", 16)
            + plain_fmt(1, 1, 8000, 16),
            "the data chunk comes before the fmt chunk",
        ),
    ],
)
def test_wavsrc_refuses_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    """Non-WAV, RF64, compressed or unsupported formats and truncated headers raise a
    ValueError naming the file."""
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        make_filter("wavsrc", location=path)
    assert str(path) in str(info.value)


# -- wavsink ---------------------------------------------------------------------------------


def test_wav_round_trip_is_byte_exact(ffmpeg_wav: Path, tmp_path: Path) -> None:
    """wavsrc -> wavsink keeps an ffmpeg file's samples exactly (a 44-byte header), and
    copying our file again gives identical bytes."""
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    run(make_filter("wavsrc", location=ffmpeg_wav), make_filter("wavsink", location=first))
    run(
        make_filter("wavsrc", location=first, samples_per_buffer=333),
        make_filter("wavsink", location=second),
    )
    data = chunks_of(ffmpeg_wav.read_bytes())[b"data"]
    content = first.read_bytes()
    assert content == wav_file(plain_fmt(1, 1, 8000, 16), data)
    assert len(content) == 44 + 8000
    assert second.read_bytes() == content
    with wave.open(str(first)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        assert reader.getnframes() == 4000
        assert reader.readframes(4000) == data


def sample_bytes(fmt: str, channels: int, frames: int) -> bytes:
    """Deterministic sample values of ``fmt`` (floats are exact small fractions)."""
    width = {"U8": 1, "S16LE": 2, "S24LE": 3, "S32LE": 4, "F32LE": 4}[fmt]
    out = bytearray()
    for i in range(frames * channels):
        if fmt == "F32LE":
            out += struct.pack("<f", ((i * 37) % 255 - 127) / 128)
        else:
            out += (((i * 2654435761) >> 7) & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    return bytes(out)


def decoded_bytes(path: Path, fmt: str) -> tuple[int, int, bytes]:
    """(rate, channels, interleaved sample bytes in the file's format) PyAV decodes."""
    av = pytest.importorskip("av")
    data = b""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate, channels = stream.rate, stream.channels
        for frame in container.decode(audio=0):
            assert frame.format.is_packed
            data += bytes(frame.planes[0])[: frame.samples * channels * frame.format.bytes]
    if fmt == "S24LE":  # FFmpeg decodes 24-bit PCM to s32: the three bytes are the high ones
        data = b"".join(data[i + 1 : i + 4] for i in range(0, len(data), 4))
    return rate, channels, data


@needs_ffprobe
@pytest.mark.parametrize(
    ("fmt", "channels", "tag", "fmt_size", "codec", "bits"),
    [
        ("U8", 1, 1, 16, "pcm_u8", 8),
        ("S16LE", 2, 1, 16, "pcm_s16le", 16),
        ("F32LE", 2, 3, 18, "pcm_f32le", 32),
        ("S24LE", 2, 0xFFFE, 40, "pcm_s24le", 24),
        ("S32LE", 1, 0xFFFE, 40, "pcm_s32le", 32),
        ("S16LE", 6, 0xFFFE, 40, "pcm_s16le", 16),
        ("F32LE", 3, 0xFFFE, 40, "pcm_f32le", 32),
    ],
)
def test_wavsink_file_reads_back_exactly(
    tmp_path: Path, fmt: str, channels: int, tag: int, fmt_size: int, codec: str, bits: int
) -> None:
    """wavsink writes a plain or extensible fmt chunk as documented (fact for float); ffprobe
    and PyAV read back the exact rate, channels, frame count and sample values."""
    frames, rate = 1001, 22050
    data = sample_bytes(fmt, channels, frames)
    path = tmp_path / "out.wav"
    run(
        ChunkSource(
            audio_type(fmt, rate, channels),
            data,
            chunk=96 * channels * (bits // 8),
        ),
        make_filter("wavsink", location=path),
    )
    chunks = chunks_of(path.read_bytes())
    fmt_chunk = chunks[b"fmt "]
    assert len(fmt_chunk) == fmt_size
    assert struct.unpack_from("<HHIIHH", fmt_chunk) == (
        tag,
        channels,
        rate,
        rate * channels * bits // 8,
        channels * bits // 8,
        bits,
    )
    if tag == 0xFFFE:
        cb_size, valid, mask = struct.unpack_from("<HHI", fmt_chunk, 16)
        masks = {1: 0x4, 2: 0x3, 3: 0x7, 6: 0x3F}
        assert (cb_size, valid, mask) == (22, bits, masks[channels])
        subtype = 3 if fmt == "F32LE" else 1
        assert fmt_chunk[24:] == struct.pack("<IHH", subtype, 0, 0x10) + KS_TAIL
    if fmt == "F32LE":
        assert chunks[b"fact"] == struct.pack("<I", frames)
    else:
        assert b"fact" not in chunks
    assert chunks[b"data"] == data
    probe = ffprobe(
        path,
        "stream=codec_name,sample_rate,channels,bits_per_sample,duration_ts:format=duration",
    )
    assert probe["streams"] == [
        {
            "codec_name": codec,
            "sample_rate": str(rate),
            "channels": channels,
            "bits_per_sample": bits,
            "duration_ts": frames,
        }
    ]
    assert probe["format"] == {"duration": f"{frames / rate:.6f}"}
    assert decoded_bytes(path, fmt) == (rate, channels, data)


def test_wavsink_pads_an_odd_data_chunk(tmp_path: Path) -> None:
    """Seven mono U8 frames make a 7-byte data chunk followed by a pad byte; RIFF counts it."""
    path = tmp_path / "odd.wav"
    run(
        ChunkSource(audio_type("U8", 8000, 1), b"\x01\x02\x03\x04\x05\x06\x07", chunk=4),
        make_filter("wavsink", location=path),
    )
    content = path.read_bytes()
    assert len(content) == 44 + 8
    assert content[-8:] == b"\x01\x02\x03\x04\x05\x06\x07\0"
    assert content == wav_file(plain_fmt(1, 1, 8000, 8), b"\x01\x02\x03\x04\x05\x06\x07")
    with wave.open(str(path)) as reader:
        assert reader.getnframes() == 7


@pytest.mark.parametrize("fmt", ["S16LE", "F32LE"])
def test_wavsink_end_of_stream_before_any_sample_writes_an_empty_file(
    tmp_path: Path, fmt: str
) -> None:
    """End of stream with no sample leaves a valid WAV with an empty data chunk (and a zero
    fact count for float), complete when EC_COMPLETE arrives."""
    path = tmp_path / "empty.wav"
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(
            ChunkSource(audio_type(fmt, 16000, 2), b""), make_filter("wavsink", location=path)
        )
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
        chunks = chunks_of(path.read_bytes())
        graph.Stop()
    assert chunks[b"data"] == b""
    if fmt == "S16LE":
        assert path.read_bytes() == wav_file(plain_fmt(1, 2, 16000, 16), b"")
        with wave.open(str(path)) as reader:
            assert (reader.getnchannels(), reader.getnframes()) == (2, 0)
    else:
        assert chunks[b"fact"] == b"\0\0\0\0"


class CountingWavSink(WavSink):
    """Sets ``enough`` once it has written three samples."""

    def __init__(self, **props: Any) -> None:
        super().__init__(**props)
        self.enough = threading.Event()

    def DoRenderSample(self, sample: Any) -> None:
        super().DoRenderSample(sample)
        if self.bytes_written >= 1200:
            self.enough.set()


def test_wavsink_stop_without_end_of_stream_finishes_the_file(tmp_path: Path) -> None:
    """Stopping an endless stream patches the sizes: the file holds every byte written."""
    path = tmp_path / "stopped.wav"
    sink = CountingWavSink(location=path)
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(EndlessAudio(audio_type("S16LE", 8000, 2)), sink)
        graph.Run()
        assert sink.enough.wait(10)
        graph.Stop()
    written = sink.bytes_written
    assert written % 400 == 0 and written >= 1200
    chunks = chunks_of(path.read_bytes())
    assert len(chunks[b"data"]) == written
    with wave.open(str(path)) as reader:
        assert reader.getnframes() == written // 4


def test_wavsink_refuses_video(tmp_path: Path) -> None:
    """Forcing a video type on wavsink raises VFW_E_TYPE_NOT_ACCEPTED through ConnectDirect."""
    sink = make_filter("wavsink", location=tmp_path / "x.wav")
    with FilterGraph(clock=None) as graph:
        source = FrameSource(video_type("I420", 8, 6), 1)
        graph.AddFilter(source)
        graph.AddFilter(sink)
        with pytest.raises(VfwTypeNotAcceptedError):
            graph.ConnectDirect(source.output, sink.input, video_type("I420", 8, 6))
    assert sink.CheckMediaType(audio_type("S24LE", 48000, 8))


class SlowEndRenderer(CollectingRenderer):
    """A renderer whose end_of_stream hook finishes work (as a file sink does) before
    calling the base class, which reports EC_COMPLETE; ``release`` lets it go on."""

    def __init__(self) -> None:
        super().__init__(name="slow-end")
        self.entered, self.release = threading.Event(), threading.Event()
        self.finished = False

    def end_of_stream(self, pin: Any) -> None:
        self.entered.set()
        self.release.wait(10)
        self.finished = True
        super().end_of_stream(pin)


def test_core_run_reports_complete_only_after_the_end_of_stream_hook() -> None:
    """Running a renderer whose end_of_stream hook is still working does not report
    EC_COMPLETE before the hook has finished."""
    from dshow_alloc.hresult import AbortError

    renderer = SlowEndRenderer()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(ChunkSource(audio_type("S16LE", 8000, 1), b""), renderer)
        try:
            graph.Pause()
            assert renderer.entered.wait(10)
            graph.Run()
            with pytest.raises(AbortError):
                graph.WaitForCompletion(0)
        finally:
            renderer.release.set()
            assert graph.WaitForCompletion(10_000) == EC_COMPLETE
            graph.Stop()
    assert renderer.finished


@pytest.mark.parametrize("name", ["y4msink", "wavsink"])
def test_sink_file_is_complete_when_run_reports_an_earlier_end_of_stream(
    tmp_path: Path, name: str
) -> None:
    """End of stream arriving while paused: EC_COMPLETE at Run comes after the file is
    finished, even when Run races the end-of-stream hook."""
    for attempt in range(20):
        path = tmp_path / f"{attempt}.out"
        if name == "y4msink":
            source: SourceFilter = FrameSource(video_type("I420", 8, 6), 0)
        else:
            source = ChunkSource(audio_type("S16LE", 8000, 1), b"")
        with FilterGraph(clock=None) as graph:
            graph.connect_chain(source, make_filter(name, location=path))
            graph.Run()
            assert graph.WaitForCompletion(10_000) == EC_COMPLETE
            content = path.read_bytes()
            graph.Stop()
        if name == "wavsink":
            assert content == wav_file(plain_fmt(1, 1, 8000, 16), b"")
        else:
            assert content == b"YUV4MPEG2 W8 H6 F25:1 Ip A1:1 C420jpeg\n"
