"""``avsrc`` as a demuxer (a pin per stream) and ``avsink`` as a muxer (request pins), the
demux -> process -> mux graph without queues, and seeking ``avsrc``: checked against files
made by Debian's ffmpeg, read back with ffprobe and PyAV."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

av = pytest.importorskip("av")
np = pytest.importorskip("numpy")

from dshow_alloc import (  # noqa: E402
    AM_SEEKING_AbsolutePositioning,
    AM_SEEKING_NoPositioning,
    AM_SEEKING_SeekToKeyFrame,
)
from dshow_alloc.audio import audio_type  # noqa: E402
from dshow_alloc.elements import CollectingRenderer  # noqa: E402
from dshow_alloc.graph import FilterGraph  # noqa: E402
from dshow_alloc.hresult import InvalidArgError  # noqa: E402
from dshow_alloc.launch import LaunchError, parse_launch  # noqa: E402
from dshow_alloc.registry import make_filter  # noqa: E402
from dshow_alloc.report import run_graph  # noqa: E402
from dshow_alloc.structs import EC_COMPLETE, FilterState  # noqa: E402
from dshow_alloc.video import video_type  # noqa: E402

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = "/usr/bin/ffprobe"
needs_ffprobe = pytest.mark.skipif(not Path(FFPROBE).exists(), reason="ffprobe is not installed")
SECOND = 10_000_000
FRAME = 400_000  # 25 frames/s


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files made by Debian's ffmpeg:

    - ``av``: 2 s of 160x120 H.264 (key frame every 10 frames) at 25 frames/s and AAC at
      48 kHz (a sine), the streams interleaved as ffmpeg writes them;
    - ``pcm``: 2 s of 64x48 MPEG-4 (key frame every 5 frames) and 16-bit PCM at 8000 Hz;
    - ``three``: video, audio, video streams in that order;
    - ``video``: 64x48 video only.
    """
    if not Path(FFMPEG).exists():
        pytest.skip("ffmpeg is not installed")
    root = tmp_path_factory.mktemp("demux")
    made = {
        "av": root / "av.mp4",
        "pcm": root / "pcm.mkv",
        "three": root / "three.mkv",
        "video": root / "video.mp4",
    }
    lavfi = ["-f", "lavfi", "-i"]
    _ffmpeg(
        *lavfi, "testsrc2=size=160x120:rate=25", *lavfi, "sine=frequency=440:sample_rate=48000",
        "-t", "2", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", "-c:a", "aac",
        str(made["av"]),
    )  # fmt: skip
    _ffmpeg(
        *lavfi, "testsrc=size=64x48:rate=25", *lavfi, "sine=frequency=300:sample_rate=8000",
        "-t", "2", "-c:v", "mpeg4", "-g", "5", "-c:a", "pcm_s16le", str(made["pcm"]),
    )  # fmt: skip
    _ffmpeg(
        *lavfi, "testsrc=size=64x48:rate=25", *lavfi, "sine=sample_rate=8000",
        *lavfi, "testsrc2=size=32x24:rate=25", "-t", "1",
        "-map", "0", "-map", "1", "-map", "2", "-c:v", "mpeg4", "-c:a", "pcm_s16le",
        str(made["three"]),
    )  # fmt: skip
    _ffmpeg(*lavfi, "testsrc=size=64x48:rate=25", "-t", "1", "-c:v", "mpeg4", str(made["video"]))
    return made


def _probe(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            FFPROBE, "-v", "error", "-count_frames", "-show_entries",
            "stream=index,codec_type,codec_name,start_time,duration,nb_read_frames",
            "-of", "json", str(path),
        ],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    streams: list[dict[str, Any]] = json.loads(out)["streams"]
    return streams


def _audio_samples(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


def _pin_ids(filter: Any) -> list[str]:
    return [pin.QueryId() for pin in filter.EnumPins()]


# -- the demuxer's pins ------------------------------------------------------------------------


def test_pins_are_named_per_kind_in_file_order(files: dict[str, Path]) -> None:
    """``streams=all`` gives a pin per stream named per kind, in the order of the file's
    streams; the default is the first video and the first audio stream; a name picks one."""
    three = files["three"]
    assert _pin_ids(make_filter("avsrc", location=three, streams="all")) == [
        "video_0",
        "audio_0",
        "video_1",
    ]
    assert _pin_ids(make_filter("avsrc", location=three)) == ["video_0", "audio_0"]
    assert _pin_ids(make_filter("avsrc", location=three, streams="video_1")) == ["video_1"]
    assert _pin_ids(make_filter("avsrc", location=three, streams="audio,video")) == [
        "video_0",
        "audio_0",
    ]
    assert _pin_ids(make_filter("avsrc", location=files["video"])) == ["video_0"]


@pytest.mark.parametrize(
    ("streams", "message"),
    [
        ("audio", r"video\.mp4 has no audio stream \(its streams: video_0\)"),
        ("video_3", r"has no stream 'video_3'"),
        ("subtitles", r"'subtitles' is not a stream name"),
        (",", r"names no stream"),
    ],
)
def test_bad_stream_names_are_refused(files: dict[str, Path], streams: str, message: str) -> None:
    """A stream the file does not have, or a word that names no stream, raises ValueError
    when the filter is made."""
    with pytest.raises(ValueError, match=message):
        make_filter("avsrc", location=files["video"], streams=streams)


def test_a_bad_stream_name_in_a_launch_line_points_at_the_filter(files: dict[str, Path]) -> None:
    """In a launch line the error is a LaunchError with a caret under the filter."""
    line = f"avsrc location={files['video']} streams=audio ! nullsink"
    with pytest.raises(LaunchError, match=r"has no audio stream") as caught:
        parse_launch(line)
    assert caught.value.offset == 0


def test_each_pin_offers_its_own_kind(files: dict[str, Path]) -> None:
    """The video pin offers and accepts video only, the audio pin audio only."""
    src = make_filter("avsrc", location=files["pcm"])
    video, audio = src.EnumPins()
    assert [t.format.width for t in video.EnumMediaTypes()] == [64] * 4
    assert video.QueryAccept(audio_type("S16LE", 8000, 1)) is False
    assert audio.QueryAccept(audio_type("S16LE", 8000, 1)) is True
    assert audio.QueryAccept(video_type("I420", 64, 48)) is False


def test_one_stream_links_its_first_fitting_pin(files: dict[str, Path], tmp_path: Path) -> None:
    """``avsrc ! invert ! y4msink`` links the video pin; the audio pin, linked to nothing,
    is not decoded, and the file still plays to the end."""
    out = tmp_path / "out.y4m"
    pipeline = parse_launch(
        f"avsrc location={files['av']} name=d ! invert ! y4msink location={out}"
    )
    report = run_graph(pipeline.graph, timeout=60)
    assert report.completion == "EC_COMPLETE"
    d = pipeline.filters["d"]
    assert [pin.is_connected() for pin in d.EnumPins()] == [True, False]
    assert d.FindPin("video_0").delivered == 50
    assert out.read_bytes().count(b"FRAME\n") == 50


def test_audio_alone_links_the_audio_pin(files: dict[str, Path], tmp_path: Path) -> None:
    """``avsrc ! gain ! wavsink`` skips the video pin, which gain refuses."""
    out = tmp_path / "out.wav"
    pipeline = parse_launch(
        f"avsrc location={files['pcm']} ! gain factor=0.5 ! wavsink location={out}"
    )
    assert pipeline.links[0].output.QueryId() == "audio_0"
    assert run_graph(pipeline.graph, timeout=60).completion == "EC_COMPLETE"
    assert _audio_samples(out) == _audio_samples(files["pcm"]) == 16000


# -- the muxer's request pins ------------------------------------------------------------------


def test_the_muxer_always_has_one_free_pin(tmp_path: Path) -> None:
    """avsink starts with ``sink_0``; connecting it makes ``sink_1``; a disconnected pin
    goes while another free one remains; ``request_pin`` makes a named one."""
    with FilterGraph(clock=None) as graph:
        sink = make_filter("avsink", location=tmp_path / "x.mkv")
        video = make_filter("videotestsrc", num_buffers=2, width=32, height=24)
        audio = make_filter("audiotestsrc", num_buffers=2)
        for f in (sink, video, audio):
            graph.AddFilter(f)
        assert _pin_ids(sink) == ["sink_0"]
        graph.Connect(video.output, sink.FindPin("sink_0"))
        assert _pin_ids(sink) == ["sink_0", "sink_1"]
        graph.Connect(audio.output, sink.FindPin("sink_1"))
        assert _pin_ids(sink) == ["sink_0", "sink_1", "sink_2"]
        graph.Disconnect(video.output)
        graph.Disconnect(sink.FindPin("sink_0"))
        assert _pin_ids(sink) == ["sink_1", "sink_2"]
        assert sink.request_pin("sink_5").QueryId() == "sink_5"
        assert sink.request_pin("sink_1") is sink.FindPin("sink_1")
        assert sink.request_pin("src_0") is None
        assert sink.request_pin("sink_01") is None


def test_a_launch_line_names_a_request_pin(tmp_path: Path) -> None:
    """``m.sink_3`` in a launch line makes that pin; ``m.`` takes the next free one."""
    out = tmp_path / "out.mkv"
    pipeline = parse_launch(
        "videotestsrc num-buffers=5 width=32 height=24 ! m.sink_3 "
        f"audiotestsrc num-buffers=5 ! m. avsink name=m location={out}"
    )
    assert [link.input.QueryId() for link in pipeline.links] == ["sink_3", "sink_0"]
    assert run_graph(pipeline.graph, timeout=60).completion == "EC_COMPLETE"
    kinds = [s["codec_type"] for s in _probe(out)] if Path(FFPROBE).exists() else []
    assert kinds in ([], ["audio", "video"])  # streams in pin-number order


def test_end_of_stream_waits_for_every_input(tmp_path: Path) -> None:
    """The muxer completes once, after its last input ended, with every sample written."""
    out = tmp_path / "out.mkv"
    pipeline = parse_launch(
        "videotestsrc num-buffers=3 width=32 height=24 ! m. "
        f"audiotestsrc num-buffers=40 ! m. avsink name=m location={out}"
    )
    report = run_graph(pipeline.graph, timeout=60)
    assert report.events.count("EC_COMPLETE") == 1
    assert pipeline.filters["m"].written == 43
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]


# -- demux -> process -> mux -------------------------------------------------------------------


@needs_ffprobe
@pytest.mark.timeout(120)
def test_demux_process_mux_without_queues(files: dict[str, Path], tmp_path: Path) -> None:
    """The issue's line, without queues, runs to the end: both streams are in the file, as
    many video frames as the input and audio samples to within one AAC frame, durations
    within one video frame, the streams' first timestamps aligned as in the input; the
    picture is inverted and the sound halved."""
    src, out = files["av"], tmp_path / "out.mp4"
    line = (
        f"avsrc location={src} name=d d.video_0 ! invert ! m. d.audio_0 ! gain factor=0.5 ! m. "
        f"avsink name=m location={out}"
    )
    report = run_graph(parse_launch(line).graph, timeout=100)
    assert report.completion == "EC_COMPLETE"
    before, after = _probe(src), _probe(out)
    assert [s["codec_type"] for s in after] == ["video", "audio"]
    assert int(after[0]["nb_read_frames"]) == int(before[0]["nb_read_frames"]) == 50
    assert abs(_audio_samples(out) - _audio_samples(src)) <= 1024
    for old, new in zip(before, after, strict=True):
        assert abs(float(new["duration"]) - float(old["duration"])) <= 0.04
    offset_in = float(before[1]["start_time"]) - float(before[0]["start_time"])
    offset_out = float(after[1]["start_time"]) - float(after[0]["start_time"])
    assert abs(offset_out - offset_in) <= 0.04
    with av.open(str(src)) as a, av.open(str(out)) as b:
        y_in = next(a.decode(video=0)).to_ndarray()[:120].astype(float)
        y_out = next(b.decode(video=0)).to_ndarray()[:120].astype(float)
    assert abs((255 - y_in).mean() - y_out.mean()) < 4
    with av.open(str(src)) as a, av.open(str(out)) as b:
        rms_in = np.sqrt(np.mean(np.concatenate([f.to_ndarray() for f in a.decode(audio=0)]) ** 2))
        rms_out = np.sqrt(np.mean(np.concatenate([f.to_ndarray() for f in b.decode(audio=0)]) ** 2))
    assert rms_out == pytest.approx(rms_in / 2, rel=0.05)


def test_codec_names_the_encoder_of_its_kind(files: dict[str, Path], tmp_path: Path) -> None:
    """``codec=mpeg4`` encodes the video stream and leaves audio to the default;
    ``audio-codec`` picks the audio encoder; a codec of no stream's kind is refused."""
    out = tmp_path / "out.mkv"
    line = (
        f"avsrc location={files['pcm']} name=d d.video_0 ! m. d.audio_0 ! m. "
        f"avsink name=m location={out} codec=mpeg4 audio-codec=pcm_s16le"
    )
    assert run_graph(parse_launch(line).graph, timeout=60).completion == "EC_COMPLETE"
    with av.open(str(out)) as container:
        assert [s.codec_context.name for s in container.streams] == ["mpeg4", "pcm_s16le"]
    bad = parse_launch(
        f"videotestsrc num-buffers=1 ! avsink location={tmp_path / 'bad.mkv'} codec=aac"
    )
    with pytest.raises(ValueError, match=r"'aac' encodes audio, not video"):
        bad.graph.Pause()
    assert bad.graph.GetState(0) is FilterState.State_Stopped
    assert not (tmp_path / "bad.mkv").exists()


# -- seeking avsrc -----------------------------------------------------------------------------


def _decoded(path: Path) -> list[tuple[int, bytes]]:
    """Every video frame of ``path`` as PyAV decodes it: start (100 ns) and I420 bytes."""
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            start = round(Fraction(frame.pts) * frame.time_base * SECOND)
            picture = frame.reformat(format="yuv420p")
            frames.append((start, b"".join(_planes(picture))))
        return frames


def _planes(frame: Any) -> list[bytes]:
    heights = (frame.height, frame.height // 2, frame.height // 2)
    widths = (frame.width, frame.width // 2, frame.width // 2)
    out = []
    for plane, rows, width in zip(frame.planes, heights, widths, strict=True):
        array = np.frombuffer(plane, np.uint8, count=rows * plane.line_size)
        out.append(array.reshape(rows, plane.line_size)[:, :width].tobytes())
    return out


def _seek_and_collect(
    path: Path, pin_id: str, position: int, flags: int = AM_SEEKING_AbsolutePositioning, **kw: Any
) -> tuple[Any, CollectingRenderer]:
    src = make_filter("avsrc", location=path, **kw)
    sink = CollectingRenderer()
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(src)
        graph.AddFilter(sink)
        media_type = video_type("I420", 64, 48, avg_time_per_frame=FRAME)
        if pin_id.startswith("audio"):
            media_type = audio_type("S16LE", 8000, 1)
        graph.ConnectDirect(src.FindPin(pin_id), sink.input, media_type)
        src.SetPositions(position, flags, None, AM_SEEKING_NoPositioning)
        graph.Run()
        assert graph.WaitForCompletion(60_000) == EC_COMPLETE
    return src, sink


@pytest.mark.parametrize("position", [0, 9_500_000, 10_000_000, 13_000_000, 19_900_000])
def test_a_seek_starts_at_the_frame_containing_the_position(
    files: dict[str, Path], position: int
) -> None:
    """Sought while stopped, avsrc's first frame is the file's own frame containing the
    position (decoded from the key frame before it), stamped ``frame start - position``,
    and every later frame follows, exactly."""
    decoded = _decoded(files["pcm"])
    index = max(i for i, (start, _data) in enumerate(decoded) if start <= position)
    src, sink = _seek_and_collect(files["pcm"], "video_0", position)
    assert sink.data == [data for _start, data in decoded[index:]]
    assert sink.times[0] == (decoded[index][0] - position, decoded[index][0] - position + FRAME)
    assert src.GetCurrentPosition() <= src.GetDuration()


def test_seek_to_key_frame_starts_the_segment_there(files: dict[str, Path]) -> None:
    """With AM_SEEKING_SeekToKeyFrame the first frame is the key frame before the position
    (every 5th frame here) and the segment starts there: its stream time is 0."""
    decoded = _decoded(files["pcm"])
    src, sink = _seek_and_collect(
        files["pcm"],
        "video_0",
        13_000_000,
        AM_SEEKING_AbsolutePositioning | AM_SEEKING_SeekToKeyFrame,
    )
    assert sink.data[0] == decoded[30][1]  # frame 32 holds 1.3 s; the key frame is 30
    assert sink.times[0] == (0, FRAME)
    assert src.segment.start == 12_000_000
    assert len(sink.data) == 20


def test_an_audio_seek_is_exact_to_the_frame(files: dict[str, Path]) -> None:
    """Sought to 1.2345 s, the audio pin's first sample starts at the audio frame
    containing it (floor(1.2345 * 8000) = 9876) and the bytes are the file's from there."""
    with av.open(str(files["pcm"])) as container:
        pcm = b"".join(bytes(f.planes[0])[: f.samples * 2] for f in container.decode(audio=0))
    _src, sink = _seek_and_collect(files["pcm"], "audio_0", 12_345_000, streams="audio")
    assert b"".join(sink.data) == pcm[9876 * 2 :]
    assert sink.times[0][0] == 9876 * SECOND // 8000 - 12_345_000


def test_a_stop_position_ends_the_stream_there(files: dict[str, Path]) -> None:
    """Frames from 0.5 s up to (not including) the one starting at 1.0 s."""
    src = make_filter("avsrc", location=files["pcm"])
    sink = CollectingRenderer()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        src.SetPositions(5_000_000, AM_SEEKING_AbsolutePositioning, 10_000_000, 1)
        graph.Run()
        assert graph.WaitForCompletion(60_000) == EC_COMPLETE
    assert len(sink.data) == 13
    assert src.GetStopPosition() == 10_000_000


def test_seek_while_paused_shows_the_new_frame(files: dict[str, Path]) -> None:
    """Paused on frame 0, a seek to 1 s flushes it and the renderer's next frame is frame
    25, stamped 0."""
    decoded = _decoded(files["pcm"])
    src = make_filter("avsrc", location=files["pcm"], streams="video")
    sink = CollectingRenderer()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(src, sink)
        graph.Pause()
        assert graph.GetState(10_000) is FilterState.State_Paused
        src.SetPositions(10_000_000, AM_SEEKING_AbsolutePositioning, None, 0)
        graph.Run()
        assert graph.WaitForCompletion(60_000) == EC_COMPLETE
    assert sink.data[0] == decoded[25][1]
    assert sink.times[0] == (0, FRAME)
    assert len(sink.data) == 25
    assert sink.input.segment[:2] == (10_000_000, 2**63 - 1)


@pytest.mark.parametrize(
    ("position", "message"),
    [(-1, "negative"), (20_000_000, "past the end"), (99 * SECOND, "past the end")],
)
def test_bad_seeks_change_nothing(files: dict[str, Path], position: int, message: str) -> None:
    """A negative position or one at or past the end raises E_INVALIDARG; the segment stays."""
    src = make_filter("avsrc", location=files["pcm"])
    before = src.segment
    with pytest.raises(InvalidArgError, match=message):
        src.SetPositions(position, AM_SEEKING_AbsolutePositioning, None, 0)
    assert src.segment == before
    assert src.GetDuration() == 20_000_000
