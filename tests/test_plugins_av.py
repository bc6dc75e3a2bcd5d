"""``avsrc`` and ``avsink``: decoding files into raw samples and encoding samples into files,
checked against PyAV's own decoding and against ffprobe from Debian's ffmpeg."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

av = pytest.importorskip("av")
np = pytest.importorskip("numpy")

from dshow_alloc import AllocationParams  # noqa: E402
from dshow_alloc.audio import audio_type  # noqa: E402
from dshow_alloc.elements import CollectingRenderer  # noqa: E402
from dshow_alloc.filters import SourceFilter, size_allocator  # noqa: E402
from dshow_alloc.graph import FilterGraph  # noqa: E402
from dshow_alloc.negotiation import AllocationQuery  # noqa: E402
from dshow_alloc.pins import BaseInputPin  # noqa: E402
from dshow_alloc.plugins.av import AVSink, AVSource  # noqa: E402
from dshow_alloc.registry import filter_class, make_filter, properties_of  # noqa: E402
from dshow_alloc.structs import EC_COMPLETE, AllocatorProperties, FilterState  # noqa: E402
from dshow_alloc.video import VIDEO_META, video_layout, video_type  # noqa: E402

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = "/usr/bin/ffprobe"
needs_ffprobe = pytest.mark.skipif(not Path(FFPROBE).exists(), reason="ffprobe is not installed")
FRAME_100NS = 400_000  # 25 frames/s


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=30)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Input files made by Debian's ffmpeg: 10 and 25 frames of 64x48 video at 25 frames/s,
    and 0.5 s of a 440 Hz sine at 8000 Hz (WAV and Ogg Vorbis)."""
    if not Path(FFMPEG).exists():
        pytest.skip("ffmpeg is not installed")
    root = tmp_path_factory.mktemp("av")
    files = {
        "video": root / "in.mp4",
        "video25": root / "in25.mp4",
        "wav": root / "in.wav",
        "ogg": root / "in.ogg",
        "text": root / "notes.txt",
    }
    lavfi = ["-f", "lavfi", "-i"]
    video = "testsrc=size=64x48:rate=25"
    _ffmpeg(*lavfi, video, "-frames:v", "10", "-c:v", "mpeg4", str(files["video"]))
    _ffmpeg(*lavfi, video, "-frames:v", "25", "-c:v", "mpeg4", str(files["video25"]))
    sine = "sine=frequency=440:sample_rate=8000"
    _ffmpeg(*lavfi, sine, "-t", "0.5", str(files["wav"]))
    _ffmpeg(*lavfi, sine, "-t", "0.5", "-c:a", "libvorbis", str(files["ogg"]))
    files["text"].write_text("not a media file\n")
    return files


def _pyav_frames(path: Path, **reformat: Any) -> list[Any]:
    """Every video frame of ``path`` as PyAV decodes it, reformatted."""
    with av.open(str(path)) as container:
        return [frame.reformat(**reformat) for frame in container.decode(video=0)]


def _plane_bytes(frame: Any, index: int, rows: int, row_bytes: int) -> bytes:
    """Plane ``index`` of a PyAV frame without its row padding."""
    plane = frame.planes[index]
    array = np.frombuffer(plane, np.uint8, count=rows * plane.line_size)
    return bytes(array.reshape(rows, plane.line_size)[:, :row_bytes].tobytes())


def _i420_bytes(frame: Any) -> bytes:
    """A yuv420p PyAV frame as tightly packed I420 (Y, U, V)."""
    w, h = frame.width, frame.height
    cw, ch = (w + 1) // 2, (h + 1) // 2
    return b"".join(
        [
            _plane_bytes(frame, 0, h, w),
            _plane_bytes(frame, 1, ch, cw),
            _plane_bytes(frame, 2, ch, cw),
        ]
    )


def _run(source: Any, sink: Any, media_type: Any = None) -> FilterGraph:
    """Connect ``source`` to ``sink`` (with ``media_type`` when given), run to the end."""
    graph = FilterGraph(clock=None)
    graph.AddFilter(source)
    graph.AddFilter(sink)
    graph.ConnectDirect(source.output, sink.input, media_type)
    graph.Run()
    assert graph.WaitForCompletion(20_000) == EC_COMPLETE
    return graph


def _collect(source: Any, media_type: Any = None) -> CollectingRenderer:
    sink = CollectingRenderer()
    with _run(source, sink, media_type):
        pass
    return sink


def _probe(path: Path, *entries: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=" + ",".join(entries) + ":format=duration",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    result = json.loads(out)
    stream: dict[str, Any] = result["streams"][0]
    stream["format_duration"] = float(result["format"]["duration"])
    return stream


# -- registry ----------------------------------------------------------------------------------


def test_registered_names_and_properties() -> None:
    """avsrc and avsink are the registered classes with the documented properties."""
    assert filter_class("avsrc") is AVSource
    assert filter_class("avsink") is AVSink
    src = {p.name: (p.kind, p.default) for p in properties_of(AVSource)}
    assert src == {"location": (Path, None), "streams": (str, "auto"), "num-buffers": (int, -1)}
    sink = {p.name: (p.kind, p.default) for p in properties_of(AVSink)}
    assert sink == {
        "location": (Path, None),
        "codec": (str, ""),
        "audio-codec": (str, ""),
        "bitrate": (int, 0),
    }


# -- avsrc: video ------------------------------------------------------------------------------


def test_source_offers_the_file_size_and_rate(media: dict[str, Path]) -> None:
    """avsrc offers I420, NV12, RGB32 and RGB24 at the file's 64x48 and 25 frames/s, and
    expects the container's 10 frames (capped by num-buffers)."""
    src = make_filter("avsrc", location=media["video"])
    assert src.output.EnumMediaTypes() == [
        video_type(fmt, 64, 48, avg_time_per_frame=FRAME_100NS)
        for fmt in ("I420", "NV12", "RGB32", "RGB24")
    ]
    assert src.expected_samples() == 10
    assert (
        make_filter("avsrc", location=media["video"], **{"num-buffers": 4}).expected_samples() == 4
    )


def test_source_i420_matches_pyav_with_exact_times(media: dict[str, Path]) -> None:
    """Each I420 sample holds PyAV's decoded frame, tightly packed, and frame i runs from
    i * 400000 to (i + 1) * 400000."""
    sink = _collect(make_filter("avsrc", location=media["video"]))
    expected = [_i420_bytes(f) for f in _pyav_frames(media["video"], format="yuv420p")]
    assert len(sink.data) == 10
    assert sink.data[0] == expected[0]
    assert sink.data == expected
    assert sink.times == [(i * FRAME_100NS, (i + 1) * FRAME_100NS) for i in range(10)]


def test_source_num_buffers_limits_samples(media: dict[str, Path]) -> None:
    """num-buffers=3 sends the first three frames, then end of stream."""
    sink = _collect(make_filter("avsrc", location=media["video"], **{"num-buffers": 3}))
    assert len(sink.data) == 3
    assert sink.times[-1] == (2 * FRAME_100NS, 3 * FRAME_100NS)


def test_source_scales_to_the_connection_size(media: dict[str, Path]) -> None:
    """A type forced to 32x24 (and 50 frames/s) gets frames scaled by PyAV to 32x24, with
    times still from the file."""
    forced = video_type("I420", 32, 24, avg_time_per_frame=200_000)
    sink = _collect(make_filter("avsrc", location=media["video"]), forced)
    expected = [
        _i420_bytes(f) for f in _pyav_frames(media["video"], width=32, height=24, format="yuv420p")
    ]
    assert [len(d) for d in sink.data] == [32 * 24 * 3 // 2] * 10
    assert sink.data == expected
    assert sink.times[1] == (FRAME_100NS, 2 * FRAME_100NS)


def test_source_nv12_output(media: dict[str, Path]) -> None:
    """NV12 samples are PyAV's nv12 frame: the Y plane, then interleaved UV."""
    sink = _collect(make_filter("avsrc", location=media["video"]), video_type("NV12", 64, 48))
    frames = _pyav_frames(media["video"], format="nv12")
    expected = [_plane_bytes(f, 0, 48, 64) + _plane_bytes(f, 1, 24, 64) for f in frames]
    assert sink.data == expected


@pytest.mark.parametrize(
    ("fmt", "pyav", "width", "height"), [("RGB32", "bgra", 64, 48), ("RGB24", "bgr24", 30, 20)]
)
def test_source_rgb_output_is_a_bottom_up_dib(
    media: dict[str, Path], fmt: str, pyav: str, width: int, height: int
) -> None:
    """RGB32 and RGB24 samples are PyAV's bgra/bgr24 frame with the rows bottom-up, each row
    padded to the DIB stride (30 pixels of RGB24: 90 bytes in a 92-byte row)."""
    forced = video_type(fmt, width, height)
    layout = video_layout(forced)
    sink = _collect(make_filter("avsrc", location=media["video"]), forced)
    frames = _pyav_frames(media["video"], width=width, height=height, format=pyav)
    row = width * (4 if fmt == "RGB32" else 3)
    assert len(sink.data) == 10
    assert len(sink.data[0]) == layout.size == height * layout.strides[0]
    for data, frame in zip(sink.data, frames, strict=True):
        rows = np.frombuffer(data, np.uint8).reshape(height, layout.strides[0])[:, :row]
        assert rows[::-1].tobytes() == _plane_bytes(frame, 0, height, row)


class _PaddingRenderer(CollectingRenderer):
    """Proposes 64-byte alignment and VIDEO_META, and records each sample's meta strides."""

    def __init__(self) -> None:
        super().__init__()
        self.strides: list[tuple[int, ...] | None] = []

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        query.add_param(None, AllocationParams(align=64))
        query.add_meta(VIDEO_META.api)

    def DoRenderSample(self, sample: Any) -> None:
        meta = sample.GetMeta(VIDEO_META)
        self.strides.append(None if meta is None else tuple(meta.strides))
        super().DoRenderSample(sample)


def test_source_honours_video_meta_strides(media: dict[str, Path]) -> None:
    """With a pool whose samples carry a VIDEO_META of padded strides, each plane is written
    at the meta's offsets and strides."""
    forced = video_type("I420", 40, 30)
    sink = _PaddingRenderer()
    with _run(make_filter("avsrc", location=media["video"]), sink, forced):
        pass
    layout = video_layout(forced, stride_align=64)
    assert layout.strides == (64, 64, 64)
    assert sink.strides == [layout.strides] * 10
    frames = _pyav_frames(media["video"], width=40, height=30, format="yuv420p")
    for data, frame in zip(sink.data, frames, strict=True):
        view = memoryview(data)
        for index, row_bytes in enumerate((40, 20, 20)):
            plane = np.asarray(layout.plane(view, index))[:, :row_bytes]
            assert plane.tobytes() == _plane_bytes(frame, index, layout.heights[index], row_bytes)


def test_source_runs_again_from_the_start(media: dict[str, Path]) -> None:
    """After a stop, a second run reopens the file and sends all 10 frames again from 0."""
    src, sink = make_filter("avsrc", location=media["video"]), CollectingRenderer()
    with _run(src, sink) as graph:
        graph.Stop()
        graph.Run()
        assert graph.WaitForCompletion(20_000) == EC_COMPLETE
    assert len(sink.data) == 20
    assert sink.times[10] == (0, FRAME_100NS)
    assert sink.data[10] == sink.data[0]


# -- avsrc: audio ------------------------------------------------------------------------------


def test_source_audio_matches_pyav(media: dict[str, Path]) -> None:
    """A WAV file comes out as S16LE at 8000 Hz mono: PyAV's 4000 frames, byte for byte, with
    contiguous times ending at 0.5 s."""
    src = make_filter("avsrc", location=media["wav"])
    assert src.output.EnumMediaTypes() == [
        audio_type("S16LE", 8000, 1),
        audio_type("F32LE", 8000, 1),
    ]
    assert src.expected_samples() is None
    sink = _collect(src)
    with av.open(str(media["wav"])) as container:
        expected = b"".join(bytes(f.planes[0])[: f.samples * 2] for f in container.decode(audio=0))
    assert b"".join(sink.data) == expected
    assert len(expected) == 8000
    starts = [0]
    for data in sink.data:
        starts.append(starts[-1] + len(data) // 2)
    assert sink.times == [
        (a * 10_000_000 // 8000, b * 10_000_000 // 8000) for a, b in itertools.pairwise(starts)
    ]
    assert sink.times[-1][1] == 5_000_000


def test_source_audio_resamples_to_the_connection_type(media: dict[str, Path]) -> None:
    """A forced F32LE 16000 Hz stereo type gets what PyAV's resampler makes of the file."""
    forced = audio_type("F32LE", 16000, 2)
    sink = _collect(make_filter("avsrc", location=media["wav"]), forced)
    resampler = av.AudioResampler(format="flt", layout="stereo", rate=16000)
    chunks = []
    with av.open(str(media["wav"])) as container:
        for frame in [*container.decode(audio=0), None]:
            for out in resampler.resample(frame):
                chunks.append(bytes(out.planes[0])[: out.samples * 8])
    assert b"".join(sink.data) == b"".join(chunks)
    frames = sum(len(d) for d in sink.data) // 8
    assert sink.times[-1][1] == frames * 10_000_000 // 16000


def test_source_audio_from_vorbis(media: dict[str, Path]) -> None:
    """Ogg Vorbis decodes to as many S16LE frames as PyAV decodes, starting where PyAV's
    first decoded frame does (relative to the container's start time)."""
    sink = _collect(make_filter("avsrc", location=media["ogg"]))
    with av.open(str(media["ogg"])) as container:
        origin = Fraction(container.start_time or 0, 1_000_000)
        frames = list(container.decode(audio=0))
        total = sum(f.samples for f in frames)
        first = (Fraction(frames[0].pts) * frames[0].time_base - origin) * 8000
    assert sum(len(d) for d in sink.data) // 2 == total
    assert sink.times[0][0] == int(first) * 10_000_000 // 8000


def test_source_refuses_what_it_cannot_make(media: dict[str, Path]) -> None:
    """avsrc refuses S24LE audio, a channel count FFmpeg has no layout for, and video types
    for an audio stream."""
    src = make_filter("avsrc", location=media["wav"])
    assert src.output.QueryAccept(audio_type("U8", 22050, 6)) is True
    assert src.output.QueryAccept(audio_type("S24LE", 8000, 1)) is False
    assert src.output.QueryAccept(audio_type("S16LE", 8000, 9)) is False
    assert src.output.QueryAccept(video_type("I420", 64, 48)) is False
    video = make_filter("avsrc", location=media["video"])
    assert video.output.QueryAccept(video_type("RGB24", 1000, 10)) is True
    assert video.output.QueryAccept(video_type("YUY2", 64, 48)) is False
    assert video.output.QueryAccept(audio_type("S16LE", 8000, 1)) is False


# -- avsrc: errors -----------------------------------------------------------------------------


def test_source_missing_file_names_it(tmp_path: Path) -> None:
    """A file that does not exist raises FileNotFoundError naming it, when the filter is made."""
    missing = tmp_path / "missing.mp4"
    with pytest.raises(FileNotFoundError, match=r"missing\.mp4"):
        make_filter("avsrc", location=missing)


def test_source_non_media_file_names_it(media: dict[str, Path]) -> None:
    """A file that is not media raises ValueError naming it."""
    with pytest.raises(ValueError, match=r"notes\.txt"):
        make_filter("avsrc", location=media["text"])


def test_source_without_the_stream_asked_for(media: dict[str, Path]) -> None:
    """stream=audio on a video-only file raises ValueError naming the file."""
    with pytest.raises(ValueError, match=r"in\.mp4 has no audio stream"):
        make_filter("avsrc", location=media["video"], streams="audio")


def test_source_needs_a_location() -> None:
    """avsrc without a location raises ValueError."""
    with pytest.raises(ValueError, match="location"):
        make_filter("avsrc")


def test_source_file_gone_before_pause(media: dict[str, Path], tmp_path: Path) -> None:
    """A file removed after the probe makes Pause raise FileNotFoundError; the graph stays
    stopped and no streaming thread is left."""
    copy = tmp_path / "gone.mp4"
    copy.write_bytes(media["video"].read_bytes())
    src, sink = make_filter("avsrc", location=copy), CollectingRenderer()
    before = threading.active_count()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        copy.unlink()
        with pytest.raises(FileNotFoundError, match=r"gone\.mp4"):
            graph.Run()
        assert src.state is FilterState.State_Stopped
        assert threading.active_count() == before
    assert sink.data == []


# -- avsink ------------------------------------------------------------------------------------


@needs_ffprobe
def test_sink_writes_mp4_with_exact_frame_count(media: dict[str, Path], tmp_path: Path) -> None:
    """25 frames at 25 frames/s written with the default codec (libx264 when PyAV has it)
    make a 64x48 file of exactly 25 frames lasting 1 s, per ffprobe and PyAV."""
    out = tmp_path / "out.mp4"
    sink = make_filter("avsink", location=out)
    with _run(make_filter("avsrc", location=media["video25"]), sink):
        pass
    codec = "h264" if "libx264" in av.codecs_available else "mpeg4"
    info = _probe(out, "codec_name", "width", "height", "nb_read_frames", "r_frame_rate")
    assert (info["codec_name"], info["width"], info["height"]) == (codec, 64, 48)
    assert (info["nb_read_frames"], info["r_frame_rate"]) == ("25", "25/1")
    assert info["format_duration"] == pytest.approx(1.0, abs=0.05)
    assert sink.written == 25
    with av.open(str(out)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 25
    assert [f.pts * f.time_base for f in frames[:2]] == [0, Fraction(1, 25)]


@needs_ffprobe
def test_sink_mpeg4_from_rgb32(media: dict[str, Path], tmp_path: Path) -> None:
    """RGB32 samples encoded with codec=mpeg4 into Matroska make 10 frames of 64x48."""
    out = tmp_path / "out.mkv"
    with _run(
        make_filter("avsrc", location=media["video"]),
        make_filter("avsink", location=out, codec="mpeg4", bitrate=200_000),
        video_type("RGB32", 64, 48, avg_time_per_frame=FRAME_100NS),
    ):
        pass
    info = _probe(out, "codec_name", "width", "height", "nb_read_frames", "r_frame_rate")
    assert (info["codec_name"], info["width"], info["height"]) == ("mpeg4", 64, 48)
    assert (info["nb_read_frames"], info["r_frame_rate"]) == ("10", "25/1")


@pytest.mark.parametrize(
    ("fmt", "pyav", "width", "height"), [("NV12", "nv12", 64, 48), ("RGB24", "bgr24", 30, 20)]
)
def test_sink_lossless_round_trip(
    media: dict[str, Path], tmp_path: Path, fmt: str, pyav: str, width: int, height: int
) -> None:
    """NV12 and bottom-up RGB24 samples written with codec=rawvideo read back as exactly the
    frames avsrc decoded (the sink undoes the DIB's row order and padding)."""
    out = tmp_path / "out.nut"
    with _run(
        make_filter("avsrc", location=media["video"]),
        make_filter("avsink", location=out, codec="rawvideo"),
        video_type(fmt, width, height, avg_time_per_frame=FRAME_100NS),
    ):
        pass
    planes = [(height, width)] if fmt == "RGB24" else [(height, width), ((height + 1) // 2, width)]
    row_factor = 3 if fmt == "RGB24" else 1
    expected = _pyav_frames(media["video"], width=width, height=height, format=pyav)
    got = _pyav_frames(out, format=pyav)
    assert len(got) == 10
    for mine, theirs in zip(got, expected, strict=True):
        for index, (rows, row) in enumerate(planes):
            row_bytes = row * row_factor
            assert _plane_bytes(mine, index, rows, row_bytes) == _plane_bytes(
                theirs, index, rows, row_bytes
            )


@needs_ffprobe
@pytest.mark.parametrize("name", ["out.m4a", "out.mka"])
def test_sink_writes_aac(media: dict[str, Path], tmp_path: Path, name: str) -> None:
    """S16LE audio written to .m4a (default codec) or .mka (codec=aac) is AAC at 8000 Hz,
    mono, about 0.5 s long."""
    out = tmp_path / name
    props = {"codec": "aac"} if name.endswith(".mka") else {}
    with _run(
        make_filter("avsrc", location=media["wav"]),
        make_filter("avsink", location=out, **props),
    ):
        pass
    info = _probe(out, "codec_name", "sample_rate", "channels")
    assert (info["codec_name"], info["sample_rate"], info["channels"]) == ("aac", "8000", 1)
    # AAC frames are 1024 samples long: the last one is padded out.
    assert 0.5 <= info["format_duration"] <= 0.5 + 2 * 1024 / 8000


@needs_ffprobe
def test_sink_writes_wav_exactly(media: dict[str, Path], tmp_path: Path) -> None:
    """S16LE audio written to .wav is PCM: the same 4000 frames, byte for byte."""
    out = tmp_path / "out.wav"
    with _run(make_filter("avsrc", location=media["wav"]), make_filter("avsink", location=out)):
        pass
    info = _probe(out, "codec_name", "sample_rate", "channels", "nb_read_frames")
    assert (info["codec_name"], info["sample_rate"], info["channels"]) == ("pcm_s16le", "8000", 1)
    assert info["format_duration"] == 0.5

    def pcm(path: Path) -> bytes:
        with av.open(str(path)) as container:
            return b"".join(bytes(f.planes[0])[: f.samples * 2] for f in container.decode(audio=0))

    assert pcm(out) == pcm(media["wav"])
    assert len(pcm(out)) == 8000


class _S24Source(SourceFilter):
    """Two samples of S24LE stereo at 8000 Hz: 100 frames each, a ramp."""

    def __init__(self) -> None:
        super().__init__(name="s24", media_type=audio_type("S24LE", 8000, 2), buffer_size=600)
        self.sent = 0

    def FillBuffer(self, sample: Any) -> bool:
        if self.sent == 2:
            return False
        values = np.arange(self.sent * 200, self.sent * 200 + 200, dtype="<i4") * 1000 - 70_000
        sample.GetPointer()[:600] = values.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        sample.SetActualDataLength(600)
        sample.SetTime(self.sent * 125_000, (self.sent + 1) * 125_000)
        self.sent += 1
        return True


def test_sink_writes_s24le_to_wav(tmp_path: Path) -> None:
    """S24LE samples written to .wav come back as pcm_s24le with the same 24-bit values."""
    out = tmp_path / "out24.wav"
    with _run(_S24Source(), make_filter("avsink", location=out)):
        pass
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.sample_rate) == ("pcm_s24le", 8000)
        values = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
    assert (values >> 8).tolist() == (np.arange(400) * 1000 - 70_000).tolist()


def test_sink_bad_location_raises_at_pause(media: dict[str, Path], tmp_path: Path) -> None:
    """A location in a missing directory makes Run raise FileNotFoundError naming it at the
    pause; the graph is left stopped with no streaming thread."""
    out = tmp_path / "no" / "such" / "dir" / "out.mp4"
    src, sink = make_filter("avsrc", location=media["video"]), make_filter("avsink", location=out)
    before = threading.active_count()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        with pytest.raises(FileNotFoundError, match=r"out\.mp4"):
            graph.Run()
        assert (src.state, sink.state) == (FilterState.State_Stopped, FilterState.State_Stopped)
        assert threading.active_count() == before
    assert not out.exists()


def test_sink_unknown_codec_raises_at_pause(media: dict[str, Path], tmp_path: Path) -> None:
    """codec=nonesuch makes Pause raise ValueError naming the codec, and writes no file."""
    out = tmp_path / "out.mp4"
    src = make_filter("avsrc", location=media["video"])
    sink = make_filter("avsink", location=out, codec="nonesuch")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        with pytest.raises(ValueError, match="nonesuch"):
            graph.Pause()
    assert not out.exists()


def test_sink_needs_a_location(media: dict[str, Path]) -> None:
    """avsink without a location raises ValueError at Pause."""
    src, sink = make_filter("avsrc", location=media["video"]), make_filter("avsink")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        with pytest.raises(ValueError, match="location"):
            graph.Pause()


class _StallingSource(SourceFilter):
    """Three I420 64x48 frames (all bytes 10, 20, 30), then nothing until it is stopped."""

    def __init__(self) -> None:
        super().__init__(
            name="stalling", media_type=video_type("I420", 64, 48, avg_time_per_frame=FRAME_100NS)
        )
        self.sent = 0
        self.stopping = threading.Event()

    def Stop(self) -> None:
        self.stopping.set()
        super().Stop()

    def FillBuffer(self, sample: Any) -> bool:
        if self.sent == 3:
            self.stopping.wait(30)
            return False
        sample.GetPointer()[:4608] = bytes([10 * (self.sent + 1)]) * 4608
        sample.SetTime(self.sent * FRAME_100NS, (self.sent + 1) * FRAME_100NS)
        self.sent += 1
        return True


class _SignallingSink(AVSink):
    """avsink that sets ``three`` once it has written three samples."""

    def __init__(self, **props: Any) -> None:
        super().__init__(**props)
        self.three = threading.Event()

    def receive(self, pin: Any, sample: Any) -> bool:
        done = super().receive(pin, sample)
        if self.written == 3:
            self.three.set()
        return done


def test_sink_finishes_the_file_at_stop(tmp_path: Path) -> None:
    """Stopped before end of stream, avsink finishes the file at Stop: the three frames it
    was given read back exactly."""
    out = tmp_path / "stopped.avi"
    src, sink = _StallingSource(), _SignallingSink(location=out, codec="rawvideo")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        graph.Run()
        assert sink.three.wait(20)
        graph.Stop()
    frames = _pyav_frames(out, format="yuv420p")
    assert [_i420_bytes(f) for f in frames] == [bytes([v]) * 4608 for v in (10, 20, 30)]


class _PaddedSource(SourceFilter):
    """Two I420 40x30 frames from a pool aligned to 64 bytes, so that (when downstream
    proposes VIDEO_META) rows are padded to 64 bytes: the planes hold 1, 2 and 3 in the image
    and 0xEE in the padding. ``strides`` records each sample's VIDEO_META strides."""

    TYPE = video_type("I420", 40, 30, avg_time_per_frame=FRAME_100NS)
    LAYOUT = video_layout(TYPE, stride_align=64)

    def __init__(self) -> None:
        super().__init__(name="padded", media_type=self.TYPE, buffer_size=self.LAYOUT.size)
        self.sent = 0
        self.strides: list[tuple[int, ...] | None] = []

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        wanted = AllocatorProperties(request.buffers, request.buffer_size, 64, request.prefix)
        size_allocator(allocator, wanted, buffers=2, buffer_size=self.LAYOUT.size)

    def FillBuffer(self, sample: Any) -> bool:
        if self.sent == 2:
            return False
        data = sample.GetPointer()
        data[: self.LAYOUT.size] = b"\xee" * self.LAYOUT.size
        for index, row_bytes in enumerate((40, 20, 20)):
            np.asarray(self.LAYOUT.plane(data, index))[:, :row_bytes] = index + 1
        meta = sample.GetMeta(VIDEO_META)
        self.strides.append(None if meta is None else tuple(meta.strides))
        sample.SetActualDataLength(self.LAYOUT.size)
        sample.SetTime(self.sent * FRAME_100NS, (self.sent + 1) * FRAME_100NS)
        self.sent += 1
        return True


def test_sink_reads_video_meta_strides(tmp_path: Path) -> None:
    """avsink proposes VIDEO_META and reads each plane at the meta's offsets and strides, so
    padded rows are written without their padding."""
    out = tmp_path / "padded.avi"
    source = _PaddedSource()
    with _run(source, make_filter("avsink", location=out, codec="rawvideo")):
        pass
    assert source.strides == [(64, 64, 64)] * 2
    expected = b"\x01" * 1200 + b"\x02" * 300 + b"\x03" * 300
    frames = _pyav_frames(out, format="yuv420p")
    assert [_i420_bytes(f) for f in frames] == [expected, expected]


def test_sink_refuses_other_types() -> None:
    """avsink takes raw video and audio of the known formats only."""
    sink = AVSink(location=Path("unused.mp4"))
    assert sink.input.QueryAccept(video_type("IYUV", 64, 48)) is True
    assert sink.input.QueryAccept(video_type("YUY2", 64, 48)) is False
    assert sink.input.QueryAccept(audio_type("S24LE", 48000, 2)) is True
    assert sink.input.QueryAccept(audio_type("S16LE", 48000, 9)) is False
