"""videotestsrc, audiotestsrc, invert and gain: exact pixels, samples, times and types."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.audio import audio_type
from dshow_alloc.caps import Caps, frame_time
from dshow_alloc.elements import CollectingRenderer
from dshow_alloc.filters import SourceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import (
    HRESULT,
    COMError,
    VfwMediaTimeNotSetError,
    VfwTypeNotAcceptedError,
)
from dshow_alloc.mediatype import (
    MEDIASUBTYPE_NV12,
    FORMAT_VideoInfo,
    MediaType,
    MEDIATYPE_Video,
    VideoInfoHeader,
)
from dshow_alloc.memory import AllocationParams
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin
from dshow_alloc.plugins.effects import Gain, Invert
from dshow_alloc.plugins.testsrc import AudioTestSource, VideoTestSource, smpte_colors
from dshow_alloc.pool import PoolConfig
from dshow_alloc.registry import UnknownPropertyError, filter_class, make_filter
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import EC_COMPLETE
from dshow_alloc.video import VIDEO_META, video_layout, video_type

W, H = 64, 48
NV12_SIZE = W * H * 3 // 2


class Recorder(CollectingRenderer):
    """A collecting renderer that also keeps media times and sync points."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.media_times: list[tuple[int, int] | None] = []
        self.sync_points: list[bool] = []

    def DoRenderSample(self, sample: Any) -> None:
        """Record the sample, its media time (None without one) and whether it is a sync
        point."""
        super().DoRenderSample(sample)
        try:
            self.media_times.append(sample.GetMediaTime())
        except VfwMediaTimeNotSetError:
            self.media_times.append(None)
        self.sync_points.append(sample.IsSyncPoint())


class MetaRecorder(Recorder):
    """A recorder whose input proposes ``VIDEO_META`` with ``align``-byte alignment, and
    keeps each sample's meta strides."""

    def __init__(self, align: int) -> None:
        super().__init__()
        self.align = align
        self.strides: list[tuple[int, ...] | None] = []

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Ask for padded rows described by a VIDEO_META."""
        query.add_param(None, AllocationParams(align=self.align))
        query.add_meta(VIDEO_META.api)

    def DoRenderSample(self, sample: Any) -> None:
        """Record the sample and its VIDEO_META strides."""
        super().DoRenderSample(sample)
        meta = sample.GetMeta(VIDEO_META)
        self.strides.append(None if meta is None else meta.strides)


class BytesSource(SourceFilter):
    """Sends the given payloads, one per sample, with ``media_type``."""

    def __init__(self, media_type: MediaType, payloads: list[bytes]) -> None:
        super().__init__(media_type=media_type, buffer_size=max(map(len, payloads)), buffers=2)
        self.payloads = list(payloads)

    def FillBuffer(self, sample: Any) -> bool:
        """The next payload, or the end."""
        if not self.payloads:
            return False
        payload = self.payloads.pop(0)
        sample.GetPointer()[: len(payload)] = payload
        sample.SetActualDataLength(len(payload))
        return True


def run(*filters: Any, media_type: MediaType | None = None) -> Any:
    """Connect the filters in a chain (the first link with ``media_type`` when given), run
    to completion and return the last one."""
    with FilterGraph(clock=None) as graph:
        for filter in filters:
            graph.AddFilter(filter)
        graph.ConnectDirect(filters[0].output, filters[1].input, media_type)
        if len(filters) > 2:
            graph.connect_chain(*filters[1:])
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    return filters[-1]


def video(**props: Any) -> Any:
    """A videotestsrc, 64x48 and 2 frames unless told otherwise."""
    values: dict[str, Any] = {"width": W, "height": H, "num-buffers": 2}
    values.update(props)
    return make_filter("videotestsrc", **values)


def frames(fmt: str, width: int = W, height: int = H, count: int = 1, **props: Any) -> list[bytes]:
    """``count`` frames of ``videotestsrc`` in ``fmt`` at ``width`` x ``height``."""
    source = video(width=width, height=height, **{"num-buffers": count}, **props)
    media_type = video_type(fmt, width, height, avg_time_per_frame=333333)
    return run(source, Recorder(), media_type=media_type).data  # type: ignore[no-any-return]


def colour(name: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The (Y, U, V) and (R, G, B) of a pattern colour."""
    return smpte_colors()[name]


BARS = ("white75", "yellow75", "cyan75", "green75", "magenta75", "red75", "blue75")


# -- videotestsrc: pixels ----------------------------------------------------------------------


def test_smpte_bar_colours_are_the_standard_75_percent_values() -> None:
    """The seven top bars are the 75% colours in BT.601 video range and 191-level RGB."""
    assert [colour(name)[0] for name in BARS] == [
        (180, 128, 128),
        (162, 44, 142),
        (131, 156, 44),
        (112, 72, 58),
        (84, 184, 198),
        (65, 100, 212),
        (35, 212, 114),
    ]
    assert [colour(name)[1] for name in BARS] == [
        (191, 191, 191),
        (191, 191, 0),
        (0, 191, 191),
        (0, 191, 0),
        (191, 0, 191),
        (191, 0, 0),
        (0, 0, 191),
    ]
    assert colour("black")[0] == (16, 128, 128) and colour("white")[0] == (235, 128, 128)
    assert colour("black-4")[0][0] == 7 and colour("black+4")[0][0] == 25


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("NV12", b"\x10" * (W * H) + b"\x80" * (W * H // 2)),
        ("I420", b"\x10" * (W * H) + b"\x80" * (W * H // 2)),
        ("RGB24", b"\x00" * (W * H * 3)),
        ("RGB32", b"\x00\x00\x00\xff" * (W * H)),
    ],
)
def test_black_is_exact(fmt: str, expected: bytes) -> None:
    """pattern=black gives Y 16 and U/V 128, or RGB 0 (RGB32's X byte 255), every frame."""
    data = frames(fmt, count=2, pattern="black")
    assert data == [expected, expected]


def test_white_is_exact() -> None:
    """pattern=white gives Y 235 and U/V 128."""
    assert frames("NV12", pattern="white") == [b"\xeb" * (W * H) + b"\x80" * (W * H // 2)]


def smpte_nv12(width: int, height: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """One smpte NV12 frame as its Y plane and its UV plane (rows of U,V pairs)."""
    data = np.frombuffer(frames("NV12", width, height)[0], np.uint8)
    luma = data[: width * height].reshape(height, width)
    return luma, data[width * height :].reshape((height + 1) // 2, -1)


def test_smpte_nv12_pixels() -> None:
    """At 70x48 each bar is 10 pixels wide: the top rows, the castellations (rows 32-35)
    and the bottom row (-I, white, +Q, black, pluge) have the expected Y, U and V."""
    luma, chroma = smpte_nv12(70, 48)
    for bar, name in enumerate(BARS):
        y, u, v = colour(name)[0]
        assert luma[0, bar * 10 + 5] == y
        assert luma[31, bar * 10] == y
        assert (chroma[0, bar * 10 + 4], chroma[0, bar * 10 + 5]) == (u, v)
    castles = ("blue75", "black", "magenta75", "black", "cyan75", "black", "white75")
    for bar, name in enumerate(castles):
        assert luma[32, bar * 10 + 5] == colour(name)[0][0]
        assert luma[35, bar * 10 + 5] == colour(name)[0][0]
    bottom = {
        5: "-I",
        18: "white",
        30: "+Q",
        45: "black",
        51: "black-4",
        55: "black",
        58: "black+4",
    }
    for x, name in bottom.items():
        assert luma[36, x] == colour(name)[0][0], name
        assert luma[47, x] == colour(name)[0][0], name
    assert luma[47, 69] == 16


def test_smpte_i420_planes() -> None:
    """I420 carries the same Y plane as NV12, and its U and V planes are NV12's pairs split."""
    luma, chroma = smpte_nv12(W, H)
    data = np.frombuffer(frames("I420")[0], np.uint8)
    quarter = W * H // 4
    assert bytes(data[: W * H]) == luma.tobytes()
    assert bytes(data[W * H : W * H + quarter]) == chroma[:, 0::2].tobytes()
    assert bytes(data[W * H + quarter :]) == chroma[:, 1::2].tobytes()


@pytest.mark.parametrize(("fmt", "size"), [("RGB24", 3), ("RGB32", 4)])
def test_smpte_rgb_is_a_bottom_up_dib(fmt: str, size: int) -> None:
    """RGB frames hold B,G,R(,X) per pixel in rows padded to 4 bytes, the last image row
    first: the top bars are at the end of the buffer and the pluge row at its start."""
    data = frames(fmt, 70, 48)[0]
    stride = (70 * size + 3) // 4 * 4  # a DIB row is padded to 4 bytes
    assert len(data) == stride * 48
    rows = [data[row * stride : (row + 1) * stride] for row in range(48)]
    image = rows[::-1]  # image row 0 first
    for bar, name in enumerate(BARS):
        r, g, b = colour(name)[1]
        pixel = image[0][(bar * 10 + 5) * size : (bar * 10 + 6) * size]
        assert pixel == bytes([b, g, r, 255][:size])
    assert image[47][18 * size : 18 * size + 3] == b"\xff\xff\xff"  # 100% white below
    assert image[47][58 * size : 58 * size + 3] == b"\x0a\x0a\x0a"  # +4% pluge


def test_top_down_rgb_keeps_image_row_0_first() -> None:
    """A negative height (a top-down DIB) is accepted for RGB and puts the top bars first."""
    source = video(**{"num-buffers": 1})
    media_type = video_type("RGB32", 70, 48, avg_time_per_frame=333333)
    header = media_type.format
    top_down = MediaType(
        media_type.major_type,
        media_type.subtype,
        media_type.format_type,
        VideoInfoHeader(
            header.width,
            -48,
            header.bit_count,
            header.avg_time_per_frame,
            image_size=header.image_size,
        ),
        sample_size=media_type.sample_size,
    )
    data = run(source, Recorder(), media_type=top_down).data[0]
    r, g, b = colour("white75")[1]
    assert data[:4] == bytes([b, g, r, 255])


def test_ball_moves_over_black() -> None:
    """pattern=ball draws a white ball on black whose place changes from frame to frame,
    its size staying the same; frame 0 has it in the top-left corner."""
    data = frames("NV12", count=3, pattern="ball")
    lumas = [np.frombuffer(frame[: W * H], np.uint8).reshape(H, W) for frame in data]
    diameter = 6  # min(64, 48) // 8, even
    assert set(np.unique(lumas[0]).tolist()) == {16, 235}
    assert lumas[0][diameter // 2, diameter // 2] == 235
    assert lumas[0][H - 1, W - 1] == 16
    counts = [int((luma == 235).sum()) for luma in lumas]
    assert counts[0] == counts[1] == counts[2] > 0
    assert not np.array_equal(lumas[0], lumas[1])
    assert not np.array_equal(lumas[1], lumas[2])
    chroma = np.frombuffer(data[0][W * H :], np.uint8)
    assert set(np.unique(chroma).tolist()) == {128}


def test_ball_in_rgb_matches_nv12_position() -> None:
    """The ball is at the same place in RGB24 as in NV12 (white 255 where Y is 235)."""
    nv12 = np.frombuffer(frames("NV12", count=2, pattern="ball")[1][: W * H], np.uint8)
    rgb = np.frombuffer(frames("RGB24", count=2, pattern="ball")[1], np.uint8)
    image = rgb.reshape(H, W, 3)[::-1]
    assert np.array_equal(image[..., 0] == 255, nv12.reshape(H, W) == 235)


# -- videotestsrc: times, counts, types ----------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "starts"),
    [
        (Fraction(30), [0, 333333, 666666, 1000000, 1333333, 1666666]),
        (Fraction(30000, 1001), [0, 333666, 667333, 1001000, 1334666, 1668333]),
    ],
)
def test_video_times_are_exact(rate: Fraction, starts: list[int]) -> None:
    """Frame i runs from i * 10^7 * d // n to where frame i + 1 starts, media time (i, i+1),
    every frame a sync point."""
    sink = run(video(framerate=rate, **{"num-buffers": 5}), Recorder())
    assert sink.times == list(itertools.pairwise(starts))
    assert sink.media_times == [(i, i + 1) for i in range(5)]
    assert sink.sync_points == [True] * 5


def test_num_buffers_then_complete_and_restart() -> None:
    """num-buffers=3 renders exactly three frames, then EC_COMPLETE; running again starts
    at frame 0."""
    source, sink = video(**{"num-buffers": 3}), Recorder()
    assert source.expected_samples() == 3
    assert video(**{"num-buffers": -1}).expected_samples() is None
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        for _ in range(2):
            graph.Run()
            assert graph.WaitForCompletion(10_000) == EC_COMPLETE
            graph.Stop()
    assert sink.media_times == [(0, 1), (1, 2), (2, 3)] * 2
    assert len(sink.data) == 6


def test_zero_buffers_completes_at_once() -> None:
    """num-buffers=0 sends no sample, only end of stream (EC_COMPLETE), for both sources."""
    assert run(video(**{"num-buffers": 0}), Recorder()).data == []
    assert run(audio(**{"num-buffers": 0}), Recorder()).data == []


def test_video_offers_the_four_formats_nv12_first() -> None:
    """GetMediaType offers NV12, I420, RGB24, RGB32 at the properties' size and rate."""
    source = video(width=32, height=16, framerate=Fraction(25))
    offered = [source.GetMediaType(i) for i in range(5)]
    assert offered[:4] == [
        video_type(fmt, 32, 16, avg_time_per_frame=400000)
        for fmt in ("NV12", "I420", "RGB24", "RGB32")
    ]
    assert offered[4] is None
    sink = Recorder()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        assert source.output.ConnectionMediaType() == offered[0]


def test_a_forced_type_sets_format_size_and_rate() -> None:
    """ConnectDirect with I420 80x60 at 25 frames/s makes frames of that type and times."""
    media_type = video_type("I420", 80, 60, avg_time_per_frame=400000)
    sink = run(video(pattern="black"), Recorder(), media_type=media_type)
    assert [len(data) for data in sink.data] == [80 * 60 * 3 // 2] * 2
    assert sink.times == [(0, 400000), (400000, 800000)]


def bad_video_types() -> Iterator[MediaType]:
    """Types videotestsrc must refuse."""
    yield video_type("YUY2", W, H, avg_time_per_frame=333333)
    yield video_type("IYUV", W, H, avg_time_per_frame=333333)
    yield video_type("NV12", W, H, avg_time_per_frame=0)
    yield MediaType(
        MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, VideoInfoHeader(0, H, 12, 333333)
    )
    yield MediaType(
        MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, VideoInfoHeader(W, -H, 12, 333333)
    )
    yield video_type("NV12", 16385, 2, avg_time_per_frame=333333)
    yield audio_type("S16LE", 44100, 1)


@pytest.mark.parametrize("media_type", list(bad_video_types()))
def test_video_refuses_other_types(media_type: MediaType) -> None:
    """An odd format, a zero, negative or too large size, no frame rate or audio is refused
    with VFW_E_TYPE_NOT_ACCEPTED, leaving both pins unconnected."""
    source, sink = video(), Recorder()
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(source)
        graph.AddFilter(sink)
        with pytest.raises(VfwTypeNotAcceptedError) as caught:
            graph.ConnectDirect(source.output, sink.input, media_type)
        assert caught.value.hresult == HRESULT.VFW_E_TYPE_NOT_ACCEPTED == 0x8004022A
        assert not source.output.is_connected() and not sink.input.is_connected()
        assert source.output.QueryAccept(media_type) is False


# -- videotestsrc: VIDEO_META ------------------------------------------------------------------


def test_video_meta_from_a_pool_is_honoured() -> None:
    """A pool sample carrying a VIDEO_META with 128-byte strides gets the same visible
    pixels as an unpadded frame, at the meta's offsets, padding untouched."""
    media_type = video_type("NV12", W, H, avg_time_per_frame=333333)
    plain = frames("NV12")[0]
    source = video()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, Recorder())
        layout = video_layout(media_type, stride_align=128)
        pool = MemAllocator()
        pool.SetConfig(
            PoolConfig(
                layout.size,
                min_buffers=1,
                align=128,
                options={VIDEO_META.api},
                media_type=media_type,
            )
        )
        pool.Commit()
        try:
            with pool.GetBuffer() as sample:
                sample.GetPointer()[:] = b"\xaa" * sample.GetSize()
                assert source.FillBuffer(sample) is True
                assert sample.GetActualDataLength() == layout.size == 128 * 72
                data = bytes(sample.GetPointer())
        finally:
            pool.Decommit()
    assert layout.strides == (128, 128)
    for row in range(H):
        assert data[row * 128 : row * 128 + W] == plain[row * W : (row + 1) * W]
        assert data[row * 128 + W : (row + 1) * 128] == b"\xaa" * (128 - W)
    base = layout.offsets[1]
    for row in range(H // 2):
        start = base + row * 128
        assert data[start : start + W] == plain[W * H + row * W : W * H + (row + 1) * W]


def test_video_meta_on_a_standalone_sample() -> None:
    """FillBuffer honours a VIDEO_META added by hand (odd strides, planes in reverse order)."""
    source = video(pattern="black")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, Recorder())
        sample = MediaSample.allocate(8000)
        try:
            sample.GetPointer()[:] = b"\x00" * 8000
            sample.AddMeta(
                VIDEO_META,
                format="NV12",
                width=W,
                height=H,
                n_planes=2,
                offsets=(2000, 10),
                strides=(120, 70),
            )
            assert source.FillBuffer(sample) is True
            data = np.frombuffer(bytes(sample.GetPointer()), np.uint8)
            assert sample.GetActualDataLength() == 2000 + 120 * H
        finally:
            sample.Release()
    luma = data[2000 : 2000 + 120 * H].reshape(H, 120)
    chroma = data[10 : 10 + 70 * (H // 2)].reshape(H // 2, 70)
    assert (luma[:, :W] == 16).all() and (luma[:, W:] == 0).all()
    assert (chroma[:, :W] == 128).all() and (chroma[:, W:] == 0).all()
    assert (data[:10] == 0).all()


def test_video_meta_proposed_downstream_pads_the_stream() -> None:
    """A renderer proposing VIDEO_META with 64-byte alignment gets samples whose meta says
    64-byte strides; the visible pixels equal an unpadded stream's."""
    plain = frames("NV12", 40, 20)[0]
    sink = MetaRecorder(align=64)
    media_type = video_type("NV12", 40, 20, avg_time_per_frame=333333)
    run(video(width=40, height=20, **{"num-buffers": 1}), sink, media_type=media_type)
    assert sink.strides == [(64, 64)]
    data = sink.data[0]
    assert len(data) == 64 * 30
    for row in range(20):
        assert data[row * 64 : row * 64 + 40] == plain[row * 40 : (row + 1) * 40]


def test_views_are_dropped_when_the_source_stops() -> None:
    """After a run no numpy view of the pool's samples stays cached in the source."""
    source, invert = video(), make_filter("invert")
    run(source, invert, Recorder())
    assert source._views == {}


# -- audiotestsrc ------------------------------------------------------------------------------


def audio(**props: Any) -> Any:
    """An audiotestsrc, 8000 Hz, 256 frames a buffer, 3 buffers unless told otherwise."""
    values: dict[str, Any] = {"rate": 8000, "samples-per-buffer": 256, "num-buffers": 3}
    values.update(props)
    return make_filter("audiotestsrc", **values)


def sine(frames: npt.NDArray[np.int64], freq: float = 440.0, rate: int = 8000) -> Any:
    """The documented wave: 0.8 * sin(2 * pi * (freq * k / rate))."""
    return 0.8 * np.sin(2 * np.pi * (freq * frames / rate))


def test_sine_s16_matches_numpy_exactly_across_buffers() -> None:
    """Three S16LE buffers hold round(32767 * 0.8 * sin(2 pi 440 k / 8000)) for k = 0..767,
    continuous from buffer to buffer."""
    sink = run(audio(), Recorder())
    assert [len(data) for data in sink.data] == [512] * 3
    values = np.frombuffer(b"".join(sink.data), "<i2")
    expected = np.rint(sine(np.arange(768)) * 32767).astype(np.int16)
    assert np.array_equal(values, expected)


def test_audio_times_and_media_times_are_exact() -> None:
    """At 44100 Hz with 1024 frames a buffer, buffer n runs from n*1024*10^7 // 44100."""
    sink = run(audio(rate=44100, **{"samples-per-buffer": 1024}), Recorder())
    assert sink.times == [(0, 232199), (232199, 464399), (464399, 696598)]
    assert sink.media_times == [(0, 1024), (1024, 2048), (2048, 3072)]
    assert sink.sync_points == [True] * 3


def test_sine_stays_continuous_past_one_second() -> None:
    """F32LE buffers of 300 frames at 1000 Hz carry on past the first second with the phase
    the one-piece formula gives (to float32 precision)."""
    media_type = audio_type("F32LE", 1000, 1)
    sink = run(
        audio(rate=1000, freq=123.25, **{"samples-per-buffer": 300, "num-buffers": 5}),
        Recorder(),
        media_type=media_type,
    )
    values = np.frombuffer(b"".join(sink.data), "<f4")
    expected = sine(np.arange(1500), 123.25, 1000).astype(np.float32)
    assert np.array_equal(values[:1000], expected[:1000])
    assert np.max(np.abs(values - expected)) <= 1e-6


@pytest.mark.parametrize(
    ("fmt", "dtype", "encode"),
    [
        ("F32LE", "<f4", lambda v: v.astype(np.float32)),
        ("S32LE", "<i4", lambda v: np.rint(v * 2147483647).astype(np.int32)),
        ("U8", np.uint8, lambda v: (np.rint(v * 127) + 128).astype(np.uint8)),
    ],
)
def test_sine_in_each_format_on_every_channel(fmt: str, dtype: Any, encode: Any) -> None:
    """A forced format and two channels: both channels carry the same sine, scaled for the
    format."""
    media_type = audio_type(fmt, 8000, 2)
    sink = run(audio(**{"num-buffers": 2}), Recorder(), media_type=media_type)
    values = np.frombuffer(b"".join(sink.data), dtype).reshape(-1, 2)
    expected = encode(sine(np.arange(512)))
    assert np.array_equal(values[:, 0], expected)
    assert np.array_equal(values[:, 1], expected)


def test_silence() -> None:
    """wave=silence gives zeros (S16LE) and 128 (U8)."""
    sink = run(audio(wave="silence", **{"num-buffers": 1}), Recorder())
    assert sink.data == [b"\x00" * 512]
    u8 = run(
        audio(wave="silence", **{"num-buffers": 1}),
        Recorder(),
        media_type=audio_type("U8", 8000, 1),
    )
    assert u8.data == [b"\x80" * 256]


def test_audio_offers_and_refuses() -> None:
    """GetMediaType offers S16LE, F32LE, S32LE, U8 at the properties' rate and channels;
    S24LE, 9 channels, 384001 Hz and video are refused."""
    source = audio(rate=48000, channels=2)
    assert [source.GetMediaType(i) for i in range(5)] == [
        audio_type(fmt, 48000, 2) for fmt in ("S16LE", "F32LE", "S32LE", "U8")
    ] + [None]
    assert source.expected_samples() == 3
    for bad in (
        audio_type("S24LE", 48000, 2),
        audio_type("S16LE", 48000, 9),
        audio_type("S16LE", 384001, 1),
        video_type("NV12", W, H, avg_time_per_frame=333333),
    ):
        assert source.output.QueryAccept(bad) is False
    assert source.output.QueryAccept(audio_type("F32LE", 96000, 8)) is True


# -- invert ------------------------------------------------------------------------------------


def test_invert_inverts_every_byte() -> None:
    """invert turns black NV12 (16/128) into 239/127 in place, with no copy."""
    source, invert = video(pattern="black"), make_filter("invert")
    sink = run(source, invert, Recorder())
    assert sink.data == [b"\xef" * (W * H) + b"\x7f" * (W * H // 2)] * 2
    assert invert.copies == 0


def test_invert_twice_is_identity() -> None:
    """Two inverts in a row give back the smpte frames unchanged, in every format."""
    for fmt in ("NV12", "RGB24"):
        media_type = video_type(fmt, W, H, avg_time_per_frame=333333)
        sink = run(
            video(), make_filter("invert"), make_filter("invert"), Recorder(), media_type=media_type
        )
        assert sink.data == frames(fmt, count=2)


def test_invert_after_a_tee_copies_each_sample() -> None:
    """Behind a tee the samples are read-only, so invert works on copies and counts them;
    the other branch still sees the original frames."""
    source, tee, invert = video(pattern="black", **{"num-buffers": 3}), make_filter("tee"), Invert()
    inverted, original = Recorder(), Recorder()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, tee, invert, inverted)
        graph.connect_chain(tee, original)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert invert.copies == 3
    black = b"\x10" * (W * H) + b"\x80" * (W * H // 2)
    assert original.data == [black] * 3
    assert inverted.data == [bytes(255 - b for b in black)] * 3


def test_invert_takes_raw_video_only() -> None:
    """invert accepts the six raw video formats and refuses audio; connecting audiotestsrc
    to it finds no acceptable type."""
    invert = Invert()
    for fmt in ("NV12", "I420", "IYUV", "YUY2", "RGB24", "RGB32"):
        assert invert.input.QueryAccept(video_type(fmt, W, H)) is True
    assert invert.input.QueryAccept(audio_type("S16LE", 8000, 1)) is False
    with FilterGraph(clock=None) as graph:
        source = audio()
        graph.AddFilter(source)
        graph.AddFilter(invert)
        with pytest.raises(COMError) as caught:
            graph.ConnectDirect(source.output, invert.input)
        assert caught.value.hresult == HRESULT.VFW_E_NO_ACCEPTABLE_TYPES
        with pytest.raises(VfwTypeNotAcceptedError):
            graph.ConnectDirect(source.output, invert.input, audio_type("S16LE", 8000, 1))


# -- gain --------------------------------------------------------------------------------------


def gained(fmt: str, payload: bytes, factor: float) -> bytes:
    """``payload`` in ``fmt`` mono 8000 Hz after ``gain factor=...``."""
    source = BytesSource(audio_type(fmt, 8000, 1), [payload])
    sink = run(source, make_filter("gain", factor=factor), Recorder())
    assert len(sink.data) == 1
    return sink.data[0]  # type: ignore[no-any-return]


S16 = [-32768, -3, -1, 0, 1, 3, 20000, 32767]


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        (0.5, [-16384, -2, 0, 0, 0, 2, 10000, 16384]),
        (2.0, [-32768, -6, -2, 0, 2, 6, 32767, 32767]),
        (1.0, S16),
        (0.0, [0] * 8),
    ],
)
def test_gain_s16(factor: float, expected: list[int]) -> None:
    """S16LE values times the factor, rounded half to even and clipped."""
    data = gained("S16LE", np.array(S16, "<i2").tobytes(), factor)
    assert np.frombuffer(data, "<i2").tolist() == expected


@pytest.mark.parametrize(
    ("factor", "expected"),
    [(0.5, [64, 64, 128, 128, 128, 192]), (2.0, [0, 0, 126, 128, 130, 255])],
)
def test_gain_u8_is_centred_on_128(factor: float, expected: list[int]) -> None:
    """U8 scales the distance from 128, rounded half to even and clipped to 0..255."""
    assert list(gained("U8", bytes([0, 1, 127, 128, 129, 255]), factor)) == expected


def test_gain_s32_f32_and_s24() -> None:
    """S32LE and S24LE clip at 2.0 and halve exactly; F32LE is multiplied without clipping."""
    s32 = np.array([-(2**31), 3, 2**31 - 1, 1000], "<i4").tobytes()
    assert np.frombuffer(gained("S32LE", s32, 2.0), "<i4").tolist() == [
        -(2**31),
        6,
        2**31 - 1,
        2000,
    ]
    f32 = np.array([0.25, -1.0, 0.75], "<f4").tobytes()
    assert np.frombuffer(gained("F32LE", f32, 2.0), "<f4").tolist() == [0.5, -2.0, 1.5]
    values = [-8388608, -3, 3, 8388607, 5000000]
    s24 = b"".join(v.to_bytes(3, "little", signed=True) for v in values)

    def decode(data: bytes) -> list[int]:
        return [
            int.from_bytes(data[i : i + 3], "little", signed=True) for i in range(0, len(data), 3)
        ]

    assert decode(gained("S24LE", s24, 0.5)) == [-4194304, -2, 2, 4194304, 2500000]
    assert decode(gained("S24LE", s24, 2.0)) == [-8388608, -6, 6, 8388607, 8388607]


def test_gain_on_audiotestsrc_halves_the_sine() -> None:
    """audiotestsrc ! gain factor=0.5 gives the sine's S16 values halved, rounded half to
    even."""
    sink = run(audio(**{"num-buffers": 2}), make_filter("gain", factor=0.5), Recorder())
    original = np.rint(sine(np.arange(512)) * 32767)
    assert np.frombuffer(b"".join(sink.data), "<i2").tolist() == np.rint(original * 0.5).tolist()


def test_gain_takes_raw_audio_only() -> None:
    """gain accepts the five PCM/float formats and refuses video."""
    gain = Gain()
    for fmt in ("S16LE", "S32LE", "F32LE", "U8", "S24LE"):
        assert gain.input.QueryAccept(audio_type(fmt, 8000, 2)) is True
    assert gain.input.QueryAccept(video_type("NV12", W, H)) is False


# -- properties and registration -------------------------------------------------------------


def test_property_validation() -> None:
    """Bad values raise ValueError or TypeError, unknown names UnknownPropertyError; ints convert
    to Fraction and float where the property says so."""
    with pytest.raises(ValueError, match="pattern"):
        make_filter("videotestsrc", pattern="plaid")
    with pytest.raises(UnknownPropertyError):
        make_filter("videotestsrc", colour=1)
    with pytest.raises(UnknownPropertyError):
        make_filter("invert", factor=2.0)
    for name, value in (("width", 0), ("height", 16385), ("num-buffers", -2)):
        with pytest.raises(ValueError):
            make_filter("videotestsrc", **{name: value})
    with pytest.raises(TypeError):
        make_filter("videotestsrc", width="64")
    with pytest.raises(ValueError):
        make_filter("audiotestsrc", volume=1.5)
    with pytest.raises(ValueError):
        make_filter("audiotestsrc", wave="square")
    with pytest.raises(ValueError):
        make_filter("gain", factor=-1.0)
    assert make_filter("videotestsrc", framerate=25).props.framerate == Fraction(25)
    assert make_filter("gain", factor=2).props.factor == 2.0
    defaults = make_filter("videotestsrc").props
    assert (defaults.pattern, defaults.width, defaults.height, defaults.framerate) == (
        "smpte",
        320,
        240,
        Fraction(30),
    )
    audio_defaults = make_filter("audiotestsrc").props
    assert (
        audio_defaults.wave,
        audio_defaults.freq,
        audio_defaults.volume,
        audio_defaults.rate,
        audio_defaults.channels,
        audio_defaults.samples_per_buffer,
        audio_defaults.num_buffers,
    ) == ("sine", 440.0, 0.8, 44100, 1, 1024, -1)


def test_registered_names_and_pin_templates() -> None:
    """The four names resolve to these classes, and every pin template's caps parse."""
    assert filter_class("videotestsrc") is VideoTestSource
    assert filter_class("audiotestsrc") is AudioTestSource
    assert filter_class("invert") is Invert
    assert filter_class("gain") is Gain
    for cls in (VideoTestSource, AudioTestSource, Invert, Gain):
        assert cls.description
        for template in cls.pin_templates:
            Caps.parse(template.caps)
    assert frame_time(Fraction(30)) == 333333
