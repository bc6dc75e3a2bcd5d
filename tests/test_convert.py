"""The converters ``videoconvert``, ``videoscale``, ``audioconvert`` and ``audioresample``:
types offered and accepted, pass-through with the downstream allocator, type changes
mid-stream, bad input, and output checked against Debian's ffmpeg doing the same conversion."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest

av = pytest.importorskip("av")
np = pytest.importorskip("numpy")

from dshow_alloc import (  # noqa: E402
    EC_COMPLETE,
    EC_ERRORABORT,
    HRESULT,
    FilterGraph,
    MediaType,
    RendererFilter,
    SourceFilter,
    VfwTypeNotAcceptedError,
    size_allocator,
)
from dshow_alloc.audio import audio_type  # noqa: E402
from dshow_alloc.caps import caps_of  # noqa: E402
from dshow_alloc.cli import main  # noqa: E402
from dshow_alloc.frames import video_frame  # noqa: E402
from dshow_alloc.launch import LaunchError, parse_launch  # noqa: E402
from dshow_alloc.mediatype import (  # noqa: E402
    FORMAT_VideoInfo,
    MEDIATYPE_Video,
    VideoInfoHeader,
    fourcc_subtype,
)
from dshow_alloc.memory import AllocationParams  # noqa: E402
from dshow_alloc.negotiation import AllocationQuery  # noqa: E402
from dshow_alloc.plugins.convert import (  # noqa: E402
    AudioConvert,
    AudioResample,
    VideoConvert,
    VideoScale,
    mix_matrix,
)
from dshow_alloc.registry import filter_class, make_filter, properties_of  # noqa: E402
from dshow_alloc.report import run_graph  # noqa: E402
from dshow_alloc.structs import AllocatorProperties  # noqa: E402
from dshow_alloc.video import VIDEO_FORMATS, VIDEO_META, video_layout, video_type  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")
SECOND = 10_000_000
FRAME = 400_000  # 25 frames/s

# -- a source of hand-made samples and a recording renderer -----------------------------------


@attrs.define
class Item:
    """One sample for `ScriptedSource`: its bytes, and the type it carries (None: none)."""

    data: bytes
    media_type: MediaType | None = None
    discontinuity: bool = False


class ScriptedSource(SourceFilter):
    """Delivers ``items`` in order, each timed one frame after the other, the samples large
    enough for the largest; records the id of every sample it fills."""

    def __init__(self, media_type: MediaType, items: list[Item], frame: int = FRAME) -> None:
        super().__init__(name="script", media_type=media_type, buffers=3)
        self.items = list(items)
        self.frame = frame
        self.sent = 0
        self.filled: list[int] = []

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        size = max(len(item.data) for item in self.items)
        size_allocator(allocator, request, buffers=3, buffer_size=size)

    def FillBuffer(self, sample: Any) -> bool:
        if self.sent == len(self.items):
            return False
        item = self.items[self.sent]
        sample.GetPointer()[: len(item.data)] = item.data
        sample.SetActualDataLength(len(item.data))
        sample.SetTime(self.sent * self.frame, (self.sent + 1) * self.frame)
        sample.SetSyncPoint(True)
        sample.SetDiscontinuity(item.discontinuity)
        if item.media_type is not None:
            sample.SetMediaType(item.media_type)
        self.filled.append(id(sample))
        self.sent += 1
        return True


class Recorder(RendererFilter):
    """Keeps, for every sample: its bytes, the type it carried, the connection type then, its
    times and its id. ``accepts`` decides ``CheckMediaType``; ``proposal`` is what it puts in
    an allocation query (min_buffers of a pool, and metas)."""

    def __init__(self, accepts: Any = None, proposal: tuple[int, tuple[str, ...]] | None = None):
        super().__init__(name="recorder", sync=False)
        self.accepts = accepts
        self.proposal = proposal
        self.data: list[bytes] = []
        self.carried: list[MediaType | None] = []
        self.types: list[MediaType] = []
        self.times: list[tuple[int, int | None]] = []
        self.ids: list[int] = []

    def CheckMediaType(self, media_type: MediaType) -> bool:
        return True if self.accepts is None else bool(self.accepts(media_type))

    def propose_allocation(self, pin: Any, query: AllocationQuery) -> None:
        if self.proposal is not None:
            minimum, metas = self.proposal
            query.add_pool(None, 0, minimum, 0)
            for api in metas:
                query.add_meta(api)

    def DoRenderSample(self, sample: Any) -> None:
        self.data.append(bytes(sample.GetPointer()[: sample.GetActualDataLength()]))
        self.carried.append(sample.GetMediaType())
        self.types.append(self.input.ConnectionMediaType())
        self.times.append(sample.GetTime())
        self.ids.append(id(sample))


def run(
    converter: Any,
    in_type: MediaType,
    items: list[Item],
    out_type: MediaType | None = None,
    recorder: Recorder | None = None,
    *,
    frame: int = FRAME,
    expect: int = EC_COMPLETE,
) -> tuple[ScriptedSource, Recorder, list[Any]]:
    """Play ``items`` through ``converter`` connected with ``in_type`` and ``out_type`` (None:
    the pins agree); the source, the recorder and the graph's events."""
    source = ScriptedSource(in_type, items, frame)
    recorder = recorder if recorder is not None else Recorder()
    with FilterGraph() as graph:
        for f in (source, converter, recorder):
            graph.AddFilter(f)
        graph.ConnectDirect(source.output, converter.input, in_type)
        graph.ConnectDirect(converter.output, recorder.input, out_type)
        graph.Run()
        assert graph.WaitForCompletion(20_000) == expect
        graph.Stop()
        events = graph.events()
    return source, recorder, events


# -- frames in DirectShow's layout and in ffmpeg's --------------------------------------------

PIXEL = {
    "NV12": "nv12",
    "I420": "yuv420p",
    "IYUV": "yuv420p",
    "YUY2": "yuyv422",
    "RGB24": "bgr24",
    "RGB32": "bgra",
}
PIXEL_BYTES = {"RGB24": 3, "RGB32": 4}


def to_dib(raw: bytes, fmt: str, width: int, height: int) -> bytes:
    """ffmpeg's tight top-down frame in DirectShow's layout: RGB bottom-up, rows of a DIB
    padded to 4 bytes; YUV as it is."""
    if fmt not in PIXEL_BYTES:
        return raw
    row = width * PIXEL_BYTES[fmt]
    stride = video_layout(fmt, width, height).strides[0]
    rows = np.frombuffer(raw, np.uint8).reshape(height, row)[::-1]
    out = np.zeros((height, stride), np.uint8)
    out[:, :row] = rows
    return out.tobytes()


def ffmpeg_video(data: bytes, src: str, dst: str, size: tuple[int, int], out: tuple[int, int],
                 flags: str = "bilinear+full_chroma_int+accurate_rnd") -> bytes:  # fmt: skip
    """Debian's ffmpeg converting one rawvideo frame (ffmpeg's layout both ways)."""
    assert FFMPEG is not None
    command = [
        FFMPEG, "-v", "error", "-f", "rawvideo", "-pix_fmt", PIXEL[src],
        "-s", f"{size[0]}x{size[1]}", "-i", "-", "-sws_flags", flags,
        "-pix_fmt", PIXEL[dst], "-s", f"{out[0]}x{out[1]}", "-f", "rawvideo", "-",
    ]  # fmt: skip
    return subprocess.run(command, input=data, capture_output=True, check=True, timeout=30).stdout


def max_diff(ours: bytes, reference: bytes) -> int:
    assert len(ours) == len(reference)
    a = np.frombuffer(ours, np.uint8).astype(np.int16)
    b = np.frombuffer(reference, np.uint8).astype(np.int16)
    return int(np.abs(a - b).max())


@pytest.fixture(scope="module")
def pictures() -> dict[tuple[str, int, int], bytes]:
    """One frame of ffmpeg's testsrc2 in every format, at 160x120 and 161x121 (ffmpeg's
    layout: top-down, tight rows)."""
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed")
    frames: dict[tuple[str, int, int], bytes] = {}
    for width, height in ((160, 120), (161, 121)):
        command = [
            FFMPEG, "-v", "error", "-f", "lavfi",
            "-i", f"testsrc2=size={width}x{height}:rate=1,format=bgr24",
            "-frames:v", "1", "-pix_fmt", "yuv420p", "-f", "rawvideo", "-",
        ]  # fmt: skip
        i420 = subprocess.run(command, capture_output=True, check=True, timeout=30).stdout
        for fmt in VIDEO_FORMATS:
            frames[fmt, width, height] = (
                i420
                if fmt in ("I420", "IYUV")
                else ffmpeg_video(i420, "I420", fmt, (width, height), (width, height))
            )
    return frames


def convert_frame(
    converter: Any,
    fmt_in: str,
    data: bytes,
    size: tuple[int, int],
    fmt_out: str,
    out: tuple[int, int],
) -> tuple[bytes, MediaType]:
    """One DirectShow-layout frame through ``converter``; the output bytes and type."""
    in_type = video_type(fmt_in, *size, avg_time_per_frame=FRAME)
    out_type = video_type(fmt_out, *out, avg_time_per_frame=FRAME)
    _source, recorder, _events = run(converter, in_type, [Item(data)], out_type)
    assert len(recorder.data) == 1
    return recorder.data[0], recorder.types[0]


def i420_frame(width: int, height: int, luma: int) -> bytes:
    """A flat I420 frame: every Y byte ``luma``, chroma neutral (128)."""
    layout = video_layout("I420", width, height)
    frame = bytearray([128]) * layout.size
    frame[: width * height] = bytes([luma]) * (width * height)
    return bytes(frame)


def nv12_frame(width: int, height: int, luma: int) -> bytes:
    """A flat NV12 frame."""
    layout = video_layout("NV12", width, height)
    frame = bytearray([128]) * layout.size
    frame[: width * height] = bytes([luma]) * (width * height)
    return bytes(frame)


def video(fmt: str, width: int, height: int) -> MediaType:
    """A raw video type at 25 frames/s."""
    return video_type(fmt, width, height, avg_time_per_frame=FRAME)


def i420(width: int, height: int) -> MediaType:
    """An I420 type at 25 frames/s."""
    return video("I420", width, height)


audio = audio_type


# -- registry, inspect, offered types --------------------------------------------------------


def test_registered_names_are_the_converter_classes() -> None:
    """The four names resolve to the classes of dshow_alloc.plugins.convert."""
    assert filter_class("videoconvert") is VideoConvert
    assert filter_class("videoscale") is VideoScale
    assert filter_class("audioconvert") is AudioConvert
    assert filter_class("audioresample") is AudioResample


def test_inspect_shows_the_pins_and_the_method_property(capsys: pytest.CaptureFixture[str]) -> None:
    """``inspect videoscale`` lists both pins with their caps and the method choices."""
    assert main(["inspect", "videoscale"]) == 0
    out = capsys.readouterr().out
    caps = "video/x-raw,format={NV12,I420,IYUV,YUY2,RGB24,RGB32},width=[1,16384],height=[1,16384]"
    assert f"input  Input      {caps}" in out
    assert f"output Output     {caps}" in out
    assert "one of nearest, bilinear, bicubic, area, lanczos" in out
    assert main(["inspect", "audioresample"]) == 0
    out = capsys.readouterr().out
    assert "audio/x-raw,format={U8,S16LE,S24LE,S32LE,F32LE},rate=[1,1000000],channels=[1,64]" in out


def test_only_videoscale_has_a_property() -> None:
    """videoscale has ``method`` (default bilinear, GStreamer's); the others have none."""
    (method,) = properties_of(VideoScale)
    assert (method.name, method.default) == ("method", "bilinear")
    assert method.choices == ("nearest", "bilinear", "bicubic", "area", "lanczos")
    for cls in (VideoConvert, AudioConvert, AudioResample):
        assert properties_of(cls) == []


def _offered(converter: Any, in_type: MediaType) -> list[str]:
    source = ScriptedSource(in_type, [Item(b"\0")])
    with FilterGraph() as graph:
        graph.AddFilter(source)
        graph.AddFilter(converter)
        graph.ConnectDirect(source.output, converter.input, in_type)
        return [caps_of(t) for t in converter.output.EnumMediaTypes()]


def test_videoconvert_offers_the_input_first_then_every_other_format() -> None:
    """videoconvert's output offers the input type, then the same size in each other format."""
    rest = ",width=64,height=48,framerate=25/1"
    assert _offered(VideoConvert(), i420(64, 48)) == [
        f"video/x-raw,format={fmt}{rest}"
        for fmt in ("I420", "NV12", "IYUV", "YUY2", "RGB24", "RGB32")
    ]


def test_audioconvert_offers_the_input_then_each_format_then_mono() -> None:
    """audioconvert's output offers the input, each other format, then mono (stereo is the
    input's own count)."""
    assert _offered(AudioConvert(), audio_type("S16LE", 44100, 2)) == [
        f"audio/x-raw,format={fmt},rate=44100,channels={n}"
        for fmt, n in (
            ("S16LE", 2),
            ("U8", 2),
            ("S24LE", 2),
            ("S32LE", 2),
            ("F32LE", 2),
            ("S16LE", 1),
        )
    ]


def test_videoscale_and_audioresample_offer_only_the_input_type() -> None:
    """Sizes and rates are not enumerated: a caps filter picks one."""
    assert _offered(VideoScale(), i420(64, 48)) == [caps_of(i420(64, 48))]
    assert _offered(AudioResample(), audio_type("F32LE", 8000, 1)) == [
        "audio/x-raw,format=F32LE,rate=8000,channels=1"
    ]


@pytest.mark.parametrize(
    ("name", "in_type", "accepted", "refused"),
    [
        ("videoconvert", i420(64, 48), video("RGB24", 64, 48), i420(32, 24)),
        ("videoscale", i420(64, 48), i420(1, 16384), video("NV12", 64, 48)),
        ("audioconvert", audio("S16LE", 8000, 2), audio("F32LE", 8000, 6), audio("U8", 16000, 2)),
        ("audioresample", audio("S16LE", 8000, 2), audio("S16LE", 10**6, 2), audio("U8", 8000, 2)),
    ],
)  # fmt: skip
def test_output_takes_only_what_the_converter_changes(
    name: str, in_type: MediaType, accepted: MediaType, refused: MediaType
) -> None:
    """Each converter's output accepts a change of its own fields and refuses any other."""
    converter = make_filter(name)
    source = ScriptedSource(in_type, [Item(b"\0")])
    with FilterGraph() as graph:
        graph.AddFilter(source)
        graph.AddFilter(converter)
        graph.ConnectDirect(source.output, converter.input, in_type)
        assert converter.output.QueryAccept(accepted) is True
        assert converter.output.QueryAccept(refused) is False
        assert converter.output.QueryAccept(in_type) is True


# -- launch lines ------------------------------------------------------------------------------


def test_launch_videoconvert_to_rgb24_then_back_into_y4m(tmp_path: Path) -> None:
    """``videoconvert ! video/x-raw,format=RGB24`` makes RGB24 frames, and a second
    videoconvert turns them into the I420 y4msink takes: every frame reaches the file."""
    out = tmp_path / "out.y4m"
    line = (
        "videotestsrc num-buffers=5 width=64 height=48 ! videoconvert ! video/x-raw,format=RGB24 "
        f"! videoconvert ! y4msink location={out}"
    )
    pipeline = parse_launch(line)
    kinds = [caps_of(link.output.ConnectionMediaType()).split(",")[1] for link in pipeline.links]
    assert kinds == ["format=NV12", "format=RGB24", "format=I420"]
    report = run_graph(pipeline.graph)
    assert report.succeeded and report.renderers == {"y4msink0": 5}
    assert out.read_bytes().count(b"FRAME\n") == 5
    assert pipeline.filters["videoconvert0"].conversions == 5


def test_launch_videoscale_to_320x180() -> None:
    """``videoscale ! video/x-raw,width=320,height=180`` delivers 320x180 frames."""
    pipeline = parse_launch(
        "videotestsrc num-buffers=4 ! videoscale ! video/x-raw,width=320,height=180 ! nullsink"
    )
    last = pipeline.links[-1].output.ConnectionMediaType()
    assert caps_of(last) == "video/x-raw,format=NV12,width=320,height=180,framerate=30/1"
    report = run_graph(pipeline.graph)
    assert report.succeeded and report.renderers == {"nullsink0": 4}


def test_launch_audioconvert_to_float_mono_wav(tmp_path: Path) -> None:
    """``audioconvert ! audio/x-raw,format=F32LE,channels=1 ! wavsink`` writes a float mono
    WAV with every frame."""
    from dshow_alloc.plugins.wav import read_wav_info

    out = tmp_path / "out.wav"
    line = (
        "audiotestsrc num-buffers=10 channels=2 ! audioconvert "
        f"! audio/x-raw,format=F32LE,channels=1 ! wavsink location={out}"
    )
    assert run_graph(parse_launch(line).graph).succeeded
    with out.open("rb") as file:
        info = read_wav_info(file, out)
    assert (info.format, info.rate, info.channels, info.frames) == ("F32LE", 44100, 1, 10 * 1024)


def test_launch_audioresample_to_22050_wav(tmp_path: Path) -> None:
    """``audioresample ! audio/x-raw,rate=22050 ! wavsink`` writes half as many frames
    (within 2) at 22050 Hz."""
    from dshow_alloc.plugins.wav import read_wav_info

    out = tmp_path / "out.wav"
    line = (
        "audiotestsrc num-buffers=10 ! audioresample ! audio/x-raw,rate=22050 "
        f"! wavsink location={out}"
    )
    assert run_graph(parse_launch(line).graph).succeeded
    with out.open("rb") as file:
        info = read_wav_info(file, out)
    assert (info.format, info.rate, info.channels) == ("S16LE", 22050, 1)
    assert abs(info.frames - 10 * 1024 // 2) <= 2


# -- pass-through ------------------------------------------------------------------------------

PASS_THROUGH = [
    ("videoconvert", i420(64, 48), i420_frame(64, 48, 100)),
    ("videoscale", i420(64, 48), i420_frame(64, 48, 100)),
    ("audioconvert", audio_type("S16LE", 8000, 2), bytes(range(256)) * 16),
    ("audioresample", audio_type("S16LE", 8000, 2), bytes(range(256)) * 16),
]


@pytest.mark.parametrize(("name", "media_type", "data"), PASS_THROUGH)
def test_equal_types_pass_the_very_same_samples_on_the_downstream_allocator(
    name: str, media_type: MediaType, data: bytes
) -> None:
    """With equal types every sample reaches downstream as the same object, untouched; the
    upstream allocator is the downstream one and upstream got downstream's proposal."""
    converter = make_filter(name)
    recorder = Recorder(proposal=(5, ("convert-test-meta",)))
    items = [Item(data), Item(data[::-1]), Item(data)]
    source, recorder, events = run(converter, media_type, items, recorder=recorder)
    assert recorder.ids == source.filled
    assert recorder.data == [item.data for item in items]
    assert converter.conversions == 0
    allocator = recorder.input.peek_allocator()
    assert source.output.allocator is allocator
    assert converter.output.allocator is allocator
    assert converter.output.allocator_origin == "passed through from script.Output"
    query = source.output.last_query
    assert query is not None and query.pools[0].min_buffers == 5
    assert query.has_meta("convert-test-meta")
    assert [e[0] for e in events] == [EC_COMPLETE]


def test_converting_uses_an_allocator_of_its_own_and_proposes_nothing() -> None:
    """When the types differ, the samples downstream are the converter's own, and upstream
    neither shares the downstream allocator nor sees its proposal."""
    recorder = Recorder(proposal=(5, ()))
    source, recorder, _ = run(
        VideoConvert(), i420(64, 48), [Item(i420_frame(64, 48, 16))] * 2,
        video_type("NV12", 64, 48, avg_time_per_frame=FRAME), recorder,
    )  # fmt: skip
    assert not set(recorder.ids) & set(source.filled)
    assert source.output.allocator is not recorder.input.peek_allocator()
    assert source.output.last_query is None
    assert recorder.data == [nv12_frame(64, 48, 16)] * 2  # I420 -> NV12 interleaves the chroma


def test_read_only_samples_pass_through_read_only() -> None:
    """Behind a tee, videoconvert passes the read-only samples on read-only: the in-place
    invert after it copies each one (10 copies), and videoconvert converts none."""
    line = (
        "videotestsrc num-buffers=10 ! video/x-raw,format=I420 ! tee name=t "
        "t. ! videoconvert ! invert ! nullsink t. ! queue ! nullsink"
    )
    pipeline = parse_launch(line)
    report = run_graph(pipeline.graph)
    assert report.succeeded and report.copies == {"invert0": 10}
    assert pipeline.filters["videoconvert0"].conversions == 0


def padded(data: bytes, fmt: str, width: int, height: int, align: int) -> tuple[bytes, Any]:
    """A tight frame laid out with rows padded to ``align`` bytes (padding 0xEE), and that
    layout."""
    tight, wide = (
        video_layout(fmt, width, height),
        video_layout(fmt, width, height, stride_align=align),
    )
    out = bytearray(b"\xee") * wide.size
    for plane in range(tight.n_planes):
        rows, row = tight.heights[plane], tight.strides[plane]
        for r in range(rows):
            src = tight.offsets[plane] + r * row
            dst = wide.offsets[plane] + r * wide.strides[plane]
            out[dst : dst + row] = data[src : src + row]
    return bytes(out), wide


class MetaSource(ScriptedSource):
    """A ScriptedSource whose frames are padded and described by a VIDEO_META."""

    layout: Any = None

    def FillBuffer(self, sample: Any) -> bool:
        more = super().FillBuffer(sample)
        if more:
            sample.AddMeta(VIDEO_META, **self.layout.meta_fields())
        return more


class MetaRecorder(Recorder):
    """A Recorder proposing VIDEO_META with rows aligned to 64 bytes; keeps each sample's
    frame as the meta describes it, without the padding."""

    def __init__(self) -> None:
        super().__init__()
        self.strides: list[tuple[int, ...]] = []

    def propose_allocation(self, pin: Any, query: AllocationQuery) -> None:
        query.add_param(None, AllocationParams(align=64))
        query.add_meta(VIDEO_META.api)

    def DoRenderSample(self, sample: Any) -> None:
        super().DoRenderSample(sample)
        meta = sample.GetMeta(VIDEO_META)
        self.strides.append(tuple(meta.strides))
        with video_frame(sample, self.input.ConnectionMediaType(), write=False) as frame:
            self.data[-1] = b"".join(plane.tobytes() for plane in frame.planes)


@pytest.mark.parametrize("dst", ["NV12", "RGB24", "YUY2"])
def test_padded_frames_in_and_out_follow_their_video_meta(dst: str) -> None:
    """A 100x50 I420 frame with rows padded to 32 bytes (its VIDEO_META says so) converts
    into samples whose rows are padded to 64, as the downstream VIDEO_META proposal asked:
    the pixels are those of the same frame converted tight to tight."""
    frame = i420_frame(100, 50, 90)
    frame = frame[:5000] + bytes(range(256)) * 4 + frame[6024:]  # a pattern in U and V
    data, layout = padded(frame, "I420", 100, 50, 32)
    source = MetaSource(i420(100, 50), [Item(data)])
    source.layout = layout
    recorder = MetaRecorder()
    converter = VideoConvert()
    with FilterGraph() as graph:
        for f in (source, converter, recorder):
            graph.AddFilter(f)
        graph.ConnectDirect(source.output, converter.input, i420(100, 50))
        graph.ConnectDirect(converter.output, recorder.input, video(dst, 100, 50))
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
        graph.Stop()
    tight, _ = convert_frame(VideoConvert(), "I420", frame, (100, 50), dst, (100, 50))
    expected = video_layout(dst, 100, 50, stride_align=64).strides
    assert recorder.strides == [expected]
    rows = video_layout(dst, 100, 50)
    planes = [
        tight[o : o + s * h]
        for o, s, h in zip(rows.offsets, rows.strides, rows.heights, strict=True)
    ]
    if dst == "RGB24":  # the frame's planes are top-down; the DIB bottom-up, rows of 300 + 0
        planes = [np.frombuffer(tight, np.uint8).reshape(50, 300)[::-1].tobytes()]
    assert recorder.data == [b"".join(planes)]


# -- type changes mid-stream -------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_videoscale_keeps_its_output_size_when_the_input_resolution_changes() -> None:
    """Fixed at 320x180, videoscale scales 640x360, then 1280x720, then 640x360 frames (each
    change carried by a sample) to 320x180, and its output type never changes."""
    items = [
        Item(i420_frame(640, 360, 40)),
        Item(i420_frame(640, 360, 50)),
        Item(i420_frame(1280, 720, 60), i420(1280, 720)),
        Item(i420_frame(1280, 720, 70)),
        Item(i420_frame(640, 360, 80), i420(640, 360)),
    ]
    _source, recorder, events = run(VideoScale(), i420(640, 360), items, i420(320, 180))
    assert recorder.data == [i420_frame(320, 180, luma) for luma in (40, 50, 60, 70, 80)]
    assert recorder.carried == [None] * 5
    assert recorder.types == [i420(320, 180)] * 5
    assert [e[0] for e in events] == [EC_COMPLETE]


@pytest.mark.timeout(60)
def test_videoconvert_keeps_its_output_format_and_announces_a_new_size() -> None:
    """Fixed at RGB24, videoconvert converts I420 then NV12 at the same size with no type
    change downstream; a smaller input makes RGB24 of the new size, whose first sample
    carries the new type."""
    rgb = video_type("RGB24", 64, 48, avg_time_per_frame=FRAME)
    small = video_type("RGB24", 32, 24, avg_time_per_frame=FRAME)
    items = [
        Item(i420_frame(64, 48, 126)),
        Item(nv12_frame(64, 48, 126), video_type("NV12", 64, 48, avg_time_per_frame=FRAME)),
        Item(i420_frame(32, 24, 126), i420(32, 24)),
        Item(i420_frame(32, 24, 126)),
    ]
    converter = VideoConvert()
    _source, recorder, _ = run(converter, i420(64, 48), items, rgb)
    # Y 126 with neutral chroma is RGB 128 (BT.601 video range to full range).
    gray = video_layout(rgb).size, video_layout(small).size
    assert recorder.data == [bytes([128]) * gray[0]] * 2 + [bytes([128]) * gray[1]] * 2
    assert recorder.carried == [None, None, small, None]
    assert recorder.types == [rgb, rgb, small, small]
    assert converter.output.ConnectionMediaType() == small


@pytest.mark.timeout(60)
def test_pass_through_turns_to_converting_and_back_when_the_input_changes() -> None:
    """A videoscale passing 64x48 through scales the 128x96 frames that follow (its output
    stays 64x48), then passes 64x48 frames through again."""
    small = i420(64, 48)
    items = [
        Item(i420_frame(64, 48, 30)),
        Item(i420_frame(128, 96, 90), i420(128, 96)),
        Item(i420_frame(64, 48, 200), small),
    ]
    converter = VideoScale()
    source, recorder, events = run(converter, small, items, small)
    assert recorder.data == [i420_frame(64, 48, luma) for luma in (30, 90, 200)]
    assert recorder.ids[0] == source.filled[0] and recorder.ids[2] == source.filled[2]
    assert recorder.ids[1] not in source.filled
    assert converter.conversions == 1
    assert recorder.types == [small] * 3
    assert recorder.carried == [None, None, small]  # the source's own sample, as it was
    assert [e[0] for e in events] == [EC_COMPLETE]


@pytest.mark.timeout(60)
def test_a_new_input_downstream_refuses_ends_the_stream_before_a_wrong_frame() -> None:
    """When downstream takes only 64x48 and the input turns 32x24, the stream ends with
    EC_ERRORABORT (VFW_E_TYPE_NOT_ACCEPTED) after the one good frame."""
    rgb = video_type("RGB24", 64, 48, avg_time_per_frame=FRAME)
    items = [
        Item(i420_frame(64, 48, 16)),
        Item(i420_frame(32, 24, 16), i420(32, 24)),
        Item(i420_frame(32, 24, 16)),
    ]
    recorder = Recorder(accepts=lambda mt: mt.format.width == 64)
    _s, recorder, events = run(
        VideoConvert(), i420(64, 48), items, rgb, recorder, expect=EC_ERRORABORT
    )
    assert recorder.types == [rgb]
    assert (events[0][0], events[0][1]) == (EC_ERRORABORT, HRESULT.VFW_E_TYPE_NOT_ACCEPTED)


def _sine(rate: int, frames: int, start: int = 0, channels: int = 1) -> Any:
    t = np.arange(start, start + frames) / rate
    wave_ = np.rint(np.sin(2 * np.pi * 1000 * t) * 10000).astype("<i2")
    return np.repeat(wave_[:, None], channels, axis=1)


@pytest.mark.timeout(60)
def test_audioresample_keeps_its_rate_when_the_input_rate_changes() -> None:
    """Fixed at 22050 Hz, audioresample resamples 44100 Hz, then 48000 Hz input (the change
    carried by a sample): every output sample is 22050 Hz, nothing of either stream is lost,
    and the new stream's times start where its first input sample did."""
    first = [Item(_sine(44100, 1024, k * 1024).tobytes()) for k in range(4)]
    second = [Item(_sine(48000, 960, k * 960).tobytes()) for k in range(5)]
    second[0].media_type = audio_type("S16LE", 48000, 1)
    out = audio_type("S16LE", 22050, 1)
    frame = 1024 * SECOND // 44100
    _s, recorder, events = run(
        AudioResample(), audio_type("S16LE", 44100, 1), first + second, out, frame=frame
    )
    assert recorder.types == [out] * len(recorder.data) and set(recorder.carried) == {None}
    frames = [len(d) // 2 for d in recorder.data]
    assert abs(sum(frames) - (2048 + 2205)) <= 4
    starts = [t[0] for t in recorder.times]
    assert starts[0] == 0 and 4 * frame in starts  # the second stream is timed from its start
    assert [e[0] for e in events] == [EC_COMPLETE]


@pytest.mark.timeout(60)
def test_audioconvert_keeps_its_output_when_the_input_format_changes() -> None:
    """Fixed at F32LE mono, audioconvert mixes S16LE stereo, then S32LE stereo: the same
    signal comes out both times, and the output type never changes."""
    s16 = _sine(8000, 512, channels=2)
    s32 = s16.astype("<i4") << 16
    items = [Item(s16.tobytes()), Item(s32.tobytes(), audio_type("S32LE", 8000, 2))]
    out = audio_type("F32LE", 8000, 1)
    _s, recorder, _ = run(AudioConvert(), audio_type("S16LE", 8000, 2), items, out)
    expected = (s16[:, 0].astype(np.float32) / np.float32(32768)).astype("<f4").tobytes()
    assert recorder.data == [expected, expected]
    assert recorder.types == [out, out] and recorder.carried == [None, None]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("videotestsrc ! videoconvert ! video/x-raw,format=XYZ ! nullsink", "'XYZ' is not one of"),
        ("videotestsrc ! videoscale ! video/x-raw,width=-2 ! nullsink", "-2 is not a positive int"),
        ("videotestsrc ! videoscale ! video/x-raw,height=0 ! nullsink", "0 is not a positive int"),
        ("audiotestsrc ! audioresample ! audio/x-raw,rate=0 ! nullsink", "0 is not a positive int"),
        ("videotestsrc ! videoscale method=cubic ! nullsink", "method must be one of nearest"),
    ],
)
def test_bad_launch_lines_say_what_is_wrong(line: str, message: str) -> None:
    """An unknown format, a size or rate of 0 or below, or an unknown method is a LaunchError
    naming it, and no graph is made."""
    with pytest.raises(LaunchError, match=message):
        parse_launch(line)


def _bad_types() -> list[MediaType]:
    good = i420(64, 48)
    unknown = MediaType(
        MEDIATYPE_Video, fourcc_subtype("XYZ0"), FORMAT_VideoInfo, VideoInfoHeader(64, 48)
    )
    return [
        unknown,
        attrs.evolve(good, format=attrs.evolve(good.format, width=-2)),
        attrs.evolve(good, format=attrs.evolve(good.format, width=0)),
        attrs.evolve(good, format=attrs.evolve(good.format, height=-48)),  # YUV is never top-down
        attrs.evolve(good, format=attrs.evolve(good.format, width=16385)),
    ]


@pytest.mark.parametrize("index", range(5))
def test_a_bad_video_type_is_refused_and_changes_nothing(index: int) -> None:
    """QueryAccept answers False, and ConnectDirect raises VFW_E_TYPE_NOT_ACCEPTED leaving
    both pins unconnected and the converter's input as it was."""
    bad = _bad_types()[index]
    converter, recorder = VideoScale(), Recorder()
    source = ScriptedSource(i420(64, 48), [Item(b"\0")])
    with FilterGraph() as graph:
        for f in (source, converter, recorder):
            graph.AddFilter(f)
        assert converter.input.QueryAccept(bad) is False
        graph.ConnectDirect(source.output, converter.input, i420(64, 48))
        assert converter.output.QueryAccept(bad) is False
        with pytest.raises(VfwTypeNotAcceptedError):
            graph.ConnectDirect(converter.output, recorder.input, bad)
        assert not converter.output.is_connected() and not recorder.input.is_connected()
        assert converter.input.ConnectionMediaType() == i420(64, 48)


@pytest.mark.parametrize(
    "wave_format",
    [
        dict(format_tag=1, channels=2, samples_per_sec=0, bits_per_sample=16),
        dict(format_tag=1, channels=0, samples_per_sec=8000, bits_per_sample=16),
        dict(format_tag=1, channels=2, samples_per_sec=8000, bits_per_sample=16, block_align=2),
        dict(format_tag=1, channels=2, samples_per_sec=8000, bits_per_sample=12),
        dict(format_tag=1, channels=65, samples_per_sec=8000, bits_per_sample=16),
    ],
)
def test_a_bad_audio_type_is_refused(wave_format: dict[str, int]) -> None:
    """A rate or channel count of 0 (or too many channels), a wrong block_align or a sample
    width that is no format: both audio converters' pins refuse it."""
    from dshow_alloc.mediatype import WaveFormatEx

    bad = attrs.evolve(audio_type("S16LE", 8000, 2), format=WaveFormatEx(**wave_format))
    for converter in (AudioConvert(), AudioResample()):
        assert converter.input.QueryAccept(bad) is False


def test_bad_properties_raise_and_make_nothing() -> None:
    """An unknown method is a ValueError; a property videoconvert lacks is a LookupError."""
    with pytest.raises(ValueError, match="method must be one of nearest, bilinear"):
        make_filter("videoscale", method="cubic")
    with pytest.raises(LookupError, match="has no property 'method'"):
        make_filter("videoconvert", method="bilinear")
    with pytest.raises(ValueError, match=r"a channel count is an int in 1\.\.64"):
        mix_matrix(0, 2)


# -- video against ffmpeg ----------------------------------------------------------------------

# Pairs numpy converts by moving bytes (exact by construction).
REPACKED = {
    ("I420", "IYUV"), ("IYUV", "I420"), ("NV12", "I420"), ("NV12", "IYUV"), ("I420", "NV12"),
    ("IYUV", "NV12"), ("RGB24", "RGB32"), ("RGB32", "RGB24"),
}  # fmt: skip
SUBSAMPLED_420 = {"I420", "IYUV", "NV12"}
SIZES = [(160, 120), (161, 121)]


def psnr(ours: bytes, reference: bytes) -> float:
    a = np.frombuffer(ours, np.uint8).astype(np.float64)
    b = np.frombuffer(reference, np.uint8).astype(np.float64)
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def conversion_tolerance(src: str, dst: str, size: tuple[int, int]) -> float:
    """The PSNR (dB) ours must reach against Debian's ffmpeg for ``src`` -> ``dst`` (inf:
    identical bytes).

    Byte moves are exact. swscale with the same flags gives identical frames at even sizes,
    except 4:2:0 to RGB: Debian's FFmpeg 5.1 interpolates 4:2:0 chroma in another way than
    the FFmpeg 8 libraries in PyAV (ours is checked against a float model below). At odd
    sizes the two swscale versions round the last chroma column and row differently for
    every YUV <-> RGB pair: 30 dB.
    """
    if (src, dst) in REPACKED:
        return math.inf
    odd = size[0] % 2 == 1
    if odd and {src, dst} & {"RGB24", "RGB32"}:
        return 30.0
    if src in SUBSAMPLED_420 and dst in ("RGB24", "RGB32"):
        return 30.0
    return math.inf


def _pairs() -> list[tuple[str, str, tuple[int, int]]]:
    return [(a, b, size) for size in SIZES for a in VIDEO_FORMATS for b in VIDEO_FORMATS if a != b]


@pytest.mark.parametrize(("src", "dst", "size"), _pairs())
def test_videoconvert_matches_ffmpeg(
    pictures: dict[tuple[str, int, int], bytes], src: str, dst: str, size: tuple[int, int]
) -> None:
    """Every format to every other, at an even and an odd size, gives what Debian's ffmpeg
    gives for the same conversion (-sws_flags bilinear+full_chroma_int+accurate_rnd), within
    the PSNR `conversion_tolerance` states."""
    width, height = size
    data = pictures[src, width, height]
    ours, out_type = convert_frame(VideoConvert(), src, to_dib(data, src, *size), size, dst, size)
    assert out_type == video(dst, *size)
    reference = to_dib(ffmpeg_video(data, src, dst, size, size), dst, *size)
    if src == "YUY2" and dst in ("I420", "IYUV") and height % 2:
        # ffmpeg leaves the last chroma row of an odd-height YUY2 frame unwritten (zeros); ours
        # is that row's own chroma, U and V bytes of the YUY2 row.
        layout = video_layout(dst, *size)
        last = np.frombuffer(data, np.uint8).reshape(height, -1)[-1]
        for plane, offset in ((2, 3), (1, 1)):  # V first: cutting a row moves the rows after
            start = layout.offsets[plane] + layout.strides[plane] * (layout.heights[plane] - 1)
            row = ours[start : start + layout.strides[plane]]
            assert row == last[offset::4].tobytes()
            ours = ours[:start] + ours[start + len(row) :]
            reference = reference[:start] + reference[start + len(row) :]
    if conversion_tolerance(src, dst, size) == math.inf:
        assert ours == reference
    else:
        assert psnr(ours, reference) >= conversion_tolerance(src, dst, size)


def _float_rgb(data: bytes, src: str, width: int, height: int) -> Any:
    """The float model of YUV to RGB: chroma interpolated bilinearly from sample centres
    (clamped at the edges), BT.601 video range to full range, rounded; (h, w, B G R)."""
    raw = np.frombuffer(data, np.uint8)
    cw, ch = (width + 1) // 2, (height + 1) // 2
    luma = raw[: width * height].reshape(height, width).astype(np.float64)
    if src == "YUY2":
        packed = raw.reshape(height, 4 * cw).astype(np.float64)
        luma = np.empty((height, 2 * cw))
        luma[:, 0::2], luma[:, 1::2] = packed[:, 0::4], packed[:, 2::4]
        luma = luma[:, :width]
        u, v = packed[:, 1::4], packed[:, 3::4]
    elif src == "NV12":
        uv = raw[width * height :].reshape(ch, 2 * cw).astype(np.float64)
        u, v = uv[:, 0::2], uv[:, 1::2]
    else:
        u = raw[width * height : width * height + cw * ch].reshape(ch, cw).astype(np.float64)
        v = raw[width * height + cw * ch :].reshape(ch, cw).astype(np.float64)

    def up(plane: Any, axis: int, n_out: int) -> Any:
        n_in = plane.shape[axis]
        if n_in == n_out:
            return plane
        x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(x).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        t = x - low
        a, b = np.take(plane, low, axis), np.take(plane, high, axis)
        shape = [1, 1]
        shape[axis] = n_out
        return a * (1 - t.reshape(shape)) + b * t.reshape(shape)

    # Chroma sample k of n covering m pixels sits at (k + 0.5) * m / n - 0.5 (swscale's
    # positions: for an odd size the chroma grid spans the whole picture).
    if src != "YUY2":
        u, v = up(u, 0, height), up(v, 0, height)
    u, v = up(u, 1, width), up(v, 1, width)
    y = (luma - 16) * 255 / 219
    cb, cr = (u - 128) * 255 / 224, (v - 128) * 255 / 224
    bgr = np.stack([y + 1.772 * cb, y - 0.344136 * cb - 0.714136 * cr, y + 1.402 * cr], -1)
    return np.clip(np.rint(bgr), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("src", ["I420", "NV12", "YUY2"])
def test_yuv_to_rgb_matches_a_float_model(
    pictures: dict[tuple[str, int, int], bytes], src: str, size: tuple[int, int]
) -> None:
    """YUV to RGB24 is within 50 dB PSNR of the float model (bilinear chroma from sample
    centres, BT.601): the check of the pairs where the two ffmpeg versions disagree."""
    data = pictures[src, *size]
    ours, _ = convert_frame(VideoConvert(), src, data, size, "RGB24", size)
    width, height = size
    stride = video_layout("RGB24", width, height).strides[0]
    image = np.frombuffer(ours, np.uint8).reshape(height, stride)[::-1, : 3 * width]
    model = _float_rgb(data, src, width, height).reshape(height, 3 * width)
    assert psnr(image.tobytes(), model.tobytes()) >= 50.0


def test_top_down_and_bottom_up_rgb_give_the_same_picture(
    pictures: dict[tuple[str, int, int], bytes],
) -> None:
    """A top-down RGB24 frame (negative height) converts to the I420 its bottom-up DIB does,
    and I420 converts to a top-down RGB32 whose rows are the bottom-up one's reversed."""
    size = (160, 120)
    data = pictures["RGB24", *size]
    bottom_up, _ = convert_frame(
        VideoConvert(), "RGB24", to_dib(data, "RGB24", *size), size, "I420", size
    )
    down = video("RGB24", *size)
    down = attrs.evolve(down, format=attrs.evolve(down.format, height=-120))
    _s, recorder, _ = run(VideoConvert(), down, [Item(data)], i420(*size))
    assert recorder.data == [bottom_up]
    up32 = video("RGB32", *size)
    top32 = attrs.evolve(up32, format=attrs.evolve(up32.format, height=-120))
    i420_data = pictures["I420", *size]
    _s, a, _ = run(VideoConvert(), i420(*size), [Item(i420_data)], up32)
    _s, b, _ = run(VideoConvert(), i420(*size), [Item(i420_data)], top32)
    rows = np.frombuffer(a.data[0], np.uint8).reshape(120, 640)
    assert b.data == [rows[::-1].tobytes()]


METHODS = {
    "nearest": "neighbor",
    "bilinear": "bilinear",
    "bicubic": "bicubic",
    "area": "area",
    "lanczos": "lanczos",
}


def scale_tolerance(fmt: str, size: tuple[int, int]) -> float:
    """The PSNR (dB) videoscale must reach against Debian's ffmpeg: identical frames, but
    for packed RGB of an odd source size, where FFmpeg 5.1's packed-RGB scaler is an outlier
    (its own result through planar RGB differs from it by up to 88 levels): 27 dB."""
    return 27.0 if fmt in ("RGB24", "RGB32") and size[0] % 2 else math.inf


@pytest.mark.parametrize("out", [(96, 72), (250, 190), (33, 17)])
@pytest.mark.parametrize("fmt", VIDEO_FORMATS)
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("size", SIZES)
def test_videoscale_matches_ffmpeg(
    pictures: dict[tuple[str, int, int], bytes],
    method: str,
    fmt: str,
    size: tuple[int, int],
    out: tuple[int, int],
) -> None:
    """Scaling down, up and to odd sizes with each method gives ffmpeg's frame for the same
    swscale kernel, within `scale_tolerance`."""
    data = pictures[fmt, *size]
    ours, out_type = convert_frame(
        VideoScale(method=method), fmt, to_dib(data, fmt, *size), size, fmt, out
    )
    assert out_type == video(fmt, *out)
    flags = f"{METHODS[method]}+full_chroma_int+accurate_rnd"
    reference = to_dib(ffmpeg_video(data, fmt, fmt, size, out, flags), fmt, *out)
    if scale_tolerance(fmt, size) == math.inf:
        assert ours == reference
    else:
        assert psnr(ours, reference) >= scale_tolerance(fmt, size)


# -- audio against ffmpeg ----------------------------------------------------------------------

SAMPLE = {"U8": "u8", "S16LE": "s16le", "S24LE": "s24le", "S32LE": "s32le", "F32LE": "f32le"}
WIDTH = {"U8": 1, "S16LE": 2, "S24LE": 3, "S32LE": 4, "F32LE": 4}
RATE = 48000


def ffmpeg_audio(
    data: bytes, src: str, dst: str, channels: int, out_channels: int, *, rate: int = RATE,
    out_rate: int | None = None, af: str | None = None,
) -> bytes:  # fmt: skip
    """Debian's ffmpeg converting raw interleaved audio."""
    assert FFMPEG is not None
    command = [FFMPEG, "-v", "error", "-f", SAMPLE[src], "-ar", str(rate), "-ac", str(channels)]
    command += ["-i", "-", *(["-af", af] if af else []), "-ac", str(out_channels)]
    command += ["-ar", str(out_rate or rate), "-f", SAMPLE[dst], "-"]
    return subprocess.run(command, input=data, capture_output=True, check=True, timeout=30).stdout


def values(raw: bytes, fmt: str) -> Any:
    """Raw samples as numbers: signed ints (U8 centred), or float."""
    if fmt == "S24LE":
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int64)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(v >= 1 << 23, v - (1 << 24), v)
    dtype = {"U8": "u1", "S16LE": "<i2", "S32LE": "<i4", "F32LE": "<f4"}[fmt]
    array = np.frombuffer(raw, dtype)
    if fmt == "F32LE":
        return array.astype(np.float64)
    return array.astype(np.int64) - (128 if fmt == "U8" else 0)


def convert_audio(
    converter: Any, data: bytes, src: str, dst: str, channels: int, out_channels: int,
    rate: int = RATE, out_rate: int = RATE,
) -> tuple[bytes, Recorder]:  # fmt: skip
    """Raw audio in 1024-frame samples through ``converter``; the output bytes."""
    block = WIDTH[src] * channels * 1024
    items = [Item(data[i : i + block]) for i in range(0, len(data), block)]
    in_type, out_type = audio_type(src, rate, channels), audio_type(dst, out_rate, out_channels)
    _s, recorder, events = run(converter, in_type, items, out_type, frame=1024 * SECOND // rate)
    assert [e[0] for e in events] == [EC_COMPLETE]
    return b"".join(recorder.data), recorder


@pytest.fixture(scope="module")
def sounds() -> dict[str, bytes]:
    """0.25 s of stereo at 48 kHz in every format, made by ffmpeg from float samples that go
    past full scale (a 441 Hz tone at 1.2, a 1 kHz one just under 1, a little noise)."""
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed")
    expr = "1.2*sin(2*PI*441*t)*cos(2*PI*3*t)|0.999*sin(2*PI*1000*t+1)+0.00001*random(0)"
    command = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", f"aevalsrc=exprs={expr}:s={RATE}:d=0.25"]
    source = subprocess.run(
        [*command, "-f", "f32le", "-"], capture_output=True, check=True, timeout=30
    ).stdout
    return {fmt: ffmpeg_audio(source, "F32LE", fmt, 2, 2) for fmt in SAMPLE}


@pytest.mark.parametrize(("src", "dst"), [(a, b) for a in SAMPLE for b in SAMPLE if a != b])
def test_audioconvert_sample_formats_match_ffmpeg(
    sounds: dict[str, bytes], src: str, dst: str
) -> None:
    """Every sample format to every other gives ffmpeg's samples exactly, except F32LE to
    S24LE: ffmpeg rounds to 32 bits and then drops 8, ours rounds to 24 bits, so ours is
    ffmpeg's or one more (and closer to the float value)."""
    ours, recorder = convert_audio(AudioConvert(), sounds[src], src, dst, 2, 2)
    reference = ffmpeg_audio(sounds[src], src, dst, 2, 2)
    assert recorder.types[0] == audio_type(dst, RATE, 2)
    if (src, dst) != ("F32LE", "S24LE"):
        assert ours == reference
        return
    difference = values(ours, dst) - values(reference, dst)
    assert set(np.unique(difference).tolist()) == {0, 1}
    exact = values(sounds[src], src) * 2**23
    inside = np.abs(exact) < 2**23 - 1  # where nothing clips
    assert np.abs(values(ours, dst) - exact)[inside].max() <= 0.5  # the nearest step


@pytest.mark.parametrize(
    ("fmt", "mono", "stereo", "mix_bound"),
    [
        ("S16LE", None, "pan=stereo|c0=c0|c1=c0", 0),
        ("F32LE", "pan=mono|c0=0.5*c0+0.5*c1", "pan=stereo|c0=c0|c1=c0", 0),
        ("U8", None, "pan=stereo|c0=c0|c1=c0", 1),
        ("S32LE", None, "pan=stereo|c0=c0|c1=c0", 64),
    ],
)
def test_audioconvert_stereo_mono_matches_ffmpeg(
    sounds: dict[str, bytes], fmt: str, mono: str | None, stereo: str, mix_bound: int
) -> None:
    """Stereo to mono is (L + R) / 2 and mono to stereo copies, sample-exact against ffmpeg
    for S16LE (``-ac 1``) and F32LE (``pan`` at 0.5 each, as its ``-ac 1`` is not
    normalised), and within ffmpeg's own rounding for U8 (mixed in 16 bits, it rounds the
    half down: ours is ffmpeg's or one more) and S32LE (mixed in float32: within 64)."""
    ours, _ = convert_audio(AudioConvert(), sounds[fmt], fmt, fmt, 2, 1)
    reference = ffmpeg_audio(sounds[fmt], fmt, fmt, 2, 1, af=mono)
    difference = values(ours, fmt) - values(reference, fmt)
    if mix_bound == 0:
        assert ours == reference
    elif fmt == "U8":
        assert set(np.unique(difference).tolist()) == {0, 1}
    else:
        assert 0 < np.abs(difference).max() <= mix_bound
        both = values(sounds[fmt], fmt).reshape(-1, 2)
        assert (values(ours, fmt) == (both.sum(1) * 16384 + 16384) >> 15).all()
    up, _ = convert_audio(AudioConvert(), reference, fmt, fmt, 1, 2)
    assert up == ffmpeg_audio(reference, fmt, fmt, 1, 2, af=stereo)


@needs_ffmpeg
def test_audioconvert_51_to_stereo_matches_ffmpeg_with_the_same_matrix() -> None:
    """5.1 to stereo with the documented coefficients gives what ffmpeg's pan gives with
    the same ones, to within 1e-6 (float32 sums in another order)."""
    assert FFMPEG is not None
    command = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "anoisesrc=a=0.5:r=8000:d=0.2:s=7"]
    command += ["-af", "pan=5.1|c0=c0|c1=-1*c0|c2=0.5*c0|c3=0.2*c0|c4=0.8*c0|c5=-0.3*c0"]
    six = subprocess.run([*command, "-f", "f32le", "-"], capture_output=True, check=True).stdout
    matrix = mix_matrix(6, 2)
    pan = "pan=stereo|" + "|".join(
        f"c{j}=" + "+".join(f"{c!r}*c{i}" for i, c in enumerate(row) if c)
        for j, row in enumerate(matrix)
    )
    ours, _ = convert_audio(AudioConvert(), six, "F32LE", "F32LE", 6, 2, rate=8000, out_rate=8000)
    reference = ffmpeg_audio(six, "F32LE", "F32LE", 6, 2, rate=8000, af=pan)
    assert np.abs(values(ours, "F32LE") - values(reference, "F32LE")).max() <= 1e-6


def test_mix_matrix_follows_the_documented_rules() -> None:
    """Down-mixes are normalised (stereo to mono halves, 5.1 to stereo is 0.414/0.293/0.293),
    mono up-mixes to the centre or to both fronts at full level, and channels without
    positions map one to one."""
    half = 1 / math.sqrt(2)
    assert mix_matrix(2, 1) == [[0.5, 0.5]]
    assert mix_matrix(1, 2) == [[1.0], [1.0]]
    assert mix_matrix(1, 6) == [[0.0], [0.0], [1.0], [0.0], [0.0], [0.0]]
    norm = 1 + 2 * half
    expected = [
        [1 / norm, 0.0, half / norm, 0.0, half / norm, 0.0],
        [0.0, 1 / norm, half / norm, 0.0, 0.0, half / norm],
    ]
    assert np.allclose(mix_matrix(6, 2), expected, rtol=0, atol=1e-15)
    assert mix_matrix(2, 6) == [[1.0, 0.0], [0.0, 1.0], *[[0.0, 0.0]] * 4]
    assert mix_matrix(10, 2) == [[1.0 if i == j else 0.0 for i in range(10)] for j in range(2)]
    assert mix_matrix(3, 3) == [[1.0 if i == j else 0.0 for i in range(3)] for j in range(3)]


@pytest.mark.parametrize("fmt", ["S16LE", "F32LE", "S32LE", "U8", "S24LE"])
@pytest.mark.parametrize(
    ("rate", "out_rate"), [(44100, 22050), (48000, 44100), (8000, 48000), (44100, 8000)]
)
def test_audioresample_matches_ffmpeg_spectrum_rms_and_length(
    fmt: str, rate: int, out_rate: int
) -> None:
    """A 1 kHz sine resampled has its spectrum's peak in ffmpeg's bin, at 1 kHz (within one
    bin), an RMS within 0.5% of ffmpeg's, as many frames as ffmpeg's and within 2 of the
    rate ratio, and times running on from 0 at the output rate."""
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed")
    command = [
        FFMPEG,
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=1000:sample_rate={rate}:duration=1",
    ]
    command += ["-af", "volume=0.5", "-ac", "2", "-f", SAMPLE[fmt], "-"]
    data = subprocess.run(command, capture_output=True, check=True, timeout=30).stdout
    ours, recorder = convert_audio(AudioResample(), data, fmt, fmt, 2, 2, rate, out_rate)
    reference = ffmpeg_audio(data, fmt, fmt, 2, 2, rate=rate, out_rate=out_rate)
    a = values(ours, fmt).reshape(-1, 2)[:, 0].astype(np.float64)
    b = values(reference, fmt).reshape(-1, 2)[:, 0].astype(np.float64)
    assert len(a) == len(b) and abs(len(a) - out_rate) <= 2
    window = np.hanning(len(a))
    peak_a = int(np.argmax(np.abs(np.fft.rfft(a * window))))
    peak_b = int(np.argmax(np.abs(np.fft.rfft(b * window))))
    assert peak_a == peak_b and abs(peak_a * out_rate / len(a) - 1000) <= out_rate / len(a)
    rms_a, rms_b = np.sqrt((a**2).mean()), np.sqrt((b**2).mean())
    assert abs(rms_a / rms_b - 1) <= 0.005
    stops = [stop for _start, stop in recorder.times]
    starts = [start for start, _stop in recorder.times]
    assert starts[0] == 0 and starts[1:] == stops[:-1]
    assert stops[-1] == len(a) * SECOND // out_rate
