"""dshow_alloc.frames: numpy views of video frames and audio buffers over a sample's bytes,
mapped for a with block: exact bytes, shapes and strides, VIDEO_META, bottom-up RGB,
read-only and write-through rules, what holds after the block, and refused input."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import numpy as np
import pytest

from dshow_alloc import (
    HRESULT,
    MEDIASUBTYPE_PCM,
    VIDEO_META,
    AccessDeniedError,
    FORMAT_VideoInfo,
    FORMAT_WaveFormatEx,
    MapFlags,
    MediaSample,
    MediaType,
    MEDIATYPE_Video,
    MemAllocator,
    VideoInfoHeader,
    WaveFormatEx,
    video_layout,
    video_type,
)
from dshow_alloc.audio import audio_type
from dshow_alloc.frames import AUDIO_DTYPES, AudioFrames, VideoFrame, audio_frames, video_frame
from dshow_alloc.pool import PoolConfig
from dshow_alloc.testing.checks import raises_hresult


def pattern(size: int) -> bytearray:
    """``size`` bytes counting up from 1 (mod 251), so every offset has a telling value."""
    return bytearray((i * 7 + 1) % 251 for i in range(size))


def wrapped(media_type: MediaType, extra: int = 0) -> tuple[bytearray, MediaSample]:
    """A writable standalone sample over a fresh pattern of the type's frame size (+extra)."""
    data = pattern(video_layout(media_type).size + extra)
    return data, MediaSample.wrap(data)


def rows(data: bytes | bytearray, offset: int, stride: int, count: int, width: int) -> list[bytes]:
    """``count`` rows of ``width`` bytes, ``stride`` apart from ``offset``."""
    return [bytes(data[offset + r * stride : offset + r * stride + width]) for r in range(count)]


def plane_rows(plane: np.ndarray) -> list[bytes]:
    """A 2-D plane's rows as bytes."""
    return [row.tobytes() for row in plane]


def top_down(media_type: MediaType) -> MediaType:
    """The same RGB type with a negative biHeight: a top-down DIB."""
    vih = media_type.format
    assert isinstance(vih, VideoInfoHeader)
    return attrs.evolve(media_type, format=attrs.evolve(vih, height=-vih.height))


# -- layout: exact bytes, shapes, strides ------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "width", "height", "shapes"),
    [
        ("NV12", 6, 4, [(4, 6), (2, 6)]),
        ("NV12", 5, 3, [(3, 5), (2, 6)]),
        ("I420", 6, 4, [(4, 6), (2, 3), (2, 3)]),
        ("IYUV", 5, 3, [(3, 5), (2, 3), (2, 3)]),
        ("YUY2", 6, 2, [(2, 12)]),
        ("YUY2", 5, 2, [(2, 12)]),
    ],
)
def test_yuv_planes_are_the_tight_layout(
    fmt: str, width: int, height: int, shapes: list[tuple[int, int]]
) -> None:
    """Without a VIDEO_META each YUV plane is (rows, image bytes) at the tight stride, and
    holds exactly the bytes of the tight layout."""
    media_type = video_type(fmt, width, height)
    layout = video_layout(media_type)
    data, sample = wrapped(media_type)
    frame = video_frame(sample, media_type)
    assert (frame.format, frame.width, frame.height) == (fmt, width, height)
    assert (frame.offsets, frame.strides) == (layout.offsets, layout.strides)
    with frame:
        assert [p.shape for p in frame.planes] == shapes
        for plane, offset, stride, (count, row_bytes) in zip(
            frame.planes, layout.offsets, layout.strides, shapes, strict=True
        ):
            assert plane.dtype == np.uint8
            assert plane.strides == (stride, 1)
            assert plane_rows(plane) == rows(data, offset, stride, count, row_bytes)
        assert frame.data.shape == (layout.size,)
        assert frame.data.tobytes() == bytes(data)
    sample.Release()


def test_planes_are_views_of_the_sample_memory() -> None:
    """No copy: the first plane starts at the address of the sample's data."""
    media_type = video_type("NV12", 16, 8)
    sample = MediaSample.allocate(video_layout(media_type).size)
    with video_frame(sample, media_type) as frame:
        y, uv = frame.planes
        address = sample.PeekMemory(0).address
        assert y.__array_interface__["data"][0] == address
        assert uv.__array_interface__["data"][0] == address + 16 * 8
        assert frame.data.__array_interface__["data"][0] == address
    sample.Release()


def test_data_covers_the_actual_data_length() -> None:
    """``data`` is the GetActualDataLength bytes (padding included), not the whole buffer."""
    media_type = video_type("I420", 4, 2)
    data, sample = wrapped(media_type, extra=20)
    sample.SetActualDataLength(video_layout(media_type).size + 3)
    with video_frame(sample, media_type) as frame:
        assert frame.data.tobytes() == bytes(data[: video_layout(media_type).size + 3])
    sample.Release()


def test_video_meta_strides_are_followed() -> None:
    """A matching VIDEO_META's padded strides and offsets place the planes; the padding stays
    out of the plane arrays."""
    media_type = video_type("I420", 100, 50)
    padded = video_layout(media_type, stride_align=64)
    assert padded.strides == (128, 64, 64)
    sample = MediaSample.allocate(padded.size)
    sample.GetPointer()[:] = pattern(padded.size)
    sample.AddMeta(VIDEO_META, **padded.meta_fields())
    data = bytes(sample.GetPointer())
    with video_frame(sample, media_type) as frame:
        assert (frame.offsets, frame.strides) == (padded.offsets, padded.strides)
        y, u, v = frame.planes
        assert [p.shape for p in frame.planes] == [(50, 100), (25, 50), (25, 50)]
        assert [p.strides for p in frame.planes] == [(128, 1), (64, 1), (64, 1)]
        assert plane_rows(y) == rows(data, 0, 128, 50, 100)
        assert plane_rows(u) == rows(data, padded.offsets[1], 64, 25, 50)
        assert plane_rows(v) == rows(data, padded.offsets[2], 64, 25, 50)
    sample.Release()


def test_a_video_meta_for_another_size_is_ignored() -> None:
    """A VIDEO_META whose width, height or plane count differ from the type is not used: the
    tight layout applies."""
    media_type = video_type("NV12", 32, 16)
    sample = MediaSample.allocate(video_layout(media_type, stride_align=64).size)
    sample.AddMeta(VIDEO_META, **video_layout("NV12", 30, 16, stride_align=64).meta_fields())
    frame = video_frame(sample, media_type)
    assert frame.strides == (32, 32)
    sample.Release()


def test_pool_samples_with_video_meta(pools: list[MemAllocator]) -> None:
    """A pool configured with "video-meta" gives samples whose frames use its strides."""
    media_type = video_type("NV12", 100, 50)
    layout = video_layout(media_type, stride_align=64)
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(
        PoolConfig(layout.size, 2, 2, align=64, options={"video-meta"}, media_type=media_type)
    )
    pool.Commit()
    with pool.GetBuffer() as sample, video_frame(sample, media_type) as frame:
        y, uv = frame.planes
        assert (y.shape, y.strides) == ((50, 100), (128, 1))
        assert (uv.shape, uv.strides) == ((25, 100), (128, 1))
        y[10, 99] = 255
        assert sample.GetPointer()[10 * 128 + 99] == 255


def test_rgb_bottom_up_is_presented_top_down() -> None:
    """A bottom-up RGB24 DIB (positive height, rows padded to 4 bytes) gives an (h, w, 3)
    B,G,R array whose row 0 is the last row in memory, through a negative stride."""
    media_type = video_type("RGB24", 3, 4)
    stride = 12  # 3 pixels * 3 bytes = 9, padded to 12
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type) as frame:
        assert frame.bottom_up
        (image,) = frame.planes
        assert image.shape == (4, 3, 3)
        assert image.strides == (-stride, 3, 1)
        for row in range(4):
            stored = 3 - row
            assert image[row].tobytes() == bytes(data[stored * stride : stored * stride + 9])
        assert image[0, 1].tolist() == list(data[3 * stride + 3 : 3 * stride + 6])  # B, G, R
    sample.Release()


def test_rgb_top_down_and_rgb32_channels() -> None:
    """A top-down RGB32 DIB (negative height) gives (h, w, 4) in memory order."""
    media_type = top_down(video_type("RGB32", 2, 3))
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type) as frame:
        assert not frame.bottom_up
        (image,) = frame.planes
        assert (image.shape, image.strides) == ((3, 2, 4), (8, 4, 1))
        assert image.tobytes() == bytes(data)
    sample.Release()


def test_rgb32_bottom_up_write_lands_on_the_last_stored_row() -> None:
    """Writing the top row of a bottom-up frame writes the last row of the buffer."""
    media_type = video_type("RGB32", 2, 3)
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type) as frame:
        frame.planes[0][0] = [1, 2, 3, 4]
    assert bytes(data[16:24]) == bytes([1, 2, 3, 4] * 2)
    sample.Release()


def test_media_type_defaults_to_the_samples_own() -> None:
    """Without a media type argument the one the sample carries is used."""
    media_type = video_type("YUY2", 4, 2)
    _, sample = wrapped(media_type)
    sample.SetMediaType(media_type)
    frame = video_frame(sample)
    assert (frame.format, frame.width, frame.height) == ("YUY2", 4, 2)
    sample.Release()


# -- read-only, write-through, the map lock ----------------------------------------------------


def test_read_only_sample_gives_read_only_arrays() -> None:
    """A read-only sample (wrap of bytes) maps READ: writing an array raises ValueError and
    the bytes stay as they were."""
    media_type = video_type("NV12", 4, 2)
    original = bytes(pattern(video_layout(media_type).size))
    sample = MediaSample.wrap(original)
    with video_frame(sample, media_type) as frame:
        assert not frame.writable
        for array in (frame.data, *frame.planes):
            assert not array.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 0
    assert bytes(sample.GetPointer()) == original
    sample.Release()


def test_set_read_only_sample_maps_read() -> None:
    """A writable sample marked SetReadOnly(True) (as a tee's branches are) is mapped READ:
    read-only arrays, and a WRITE Map meanwhile is refused by the map lock."""
    media_type = video_type("I420", 4, 2)
    data, sample = wrapped(media_type)
    before = bytes(data)
    sample.SetReadOnly(True)
    with video_frame(sample, media_type) as frame, pytest.raises(ValueError, match="read-only"):
        frame.planes[1][0, 0] = 9
    assert bytes(data) == before
    sample.Release()


def test_writable_sample_writes_through() -> None:
    """The arrays of a writable sample are its bytes: writes land in the sample's buffer."""
    media_type = video_type("I420", 4, 2)
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type) as frame:
        assert frame.writable
        y, u, v = frame.planes
        y[:] = 1
        u[:] = 2
        v[0, 1] = 3
    assert bytes(data[:8]) == b"\x01" * 8
    assert bytes(data[8:10]) == b"\x02\x02"
    assert data[11] == 3
    sample.Release()


def test_write_false_maps_read_and_write_true_refuses_read_only() -> None:
    """``write=False`` gives read-only arrays over a writable sample; ``write=True`` on a
    read-only sample raises E_ACCESSDENIED at entry."""
    media_type = video_type("NV12", 4, 2)
    _, sample = wrapped(media_type)
    with video_frame(sample, media_type, write=False) as frame:
        assert not frame.data.flags.writeable
    sample.Release()
    frozen = MediaSample.wrap(bytes(video_layout(media_type).size))
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        video_frame(frozen, media_type, write=True).__enter__()
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        video_frame(frozen, media_type, write=True, lock=False).__enter__()
    frozen.Release()


def test_the_frame_holds_the_map_lock_until_exit() -> None:
    """Inside a READ frame a WRITE Map of the sample is refused; after the block it works.
    With lock=False no lock is taken."""
    media_type = video_type("NV12", 4, 2)
    _, sample = wrapped(media_type)
    with (
        video_frame(sample, media_type, write=False),
        raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED),
    ):
        sample.Map(MapFlags.WRITE)
    sample.Map(MapFlags.WRITE).Unmap()
    with video_frame(sample, media_type, write=False, lock=False):
        sample.Map(MapFlags.WRITE).Unmap()
    sample.Release()


def test_lock_false_gives_the_same_bytes_and_rules() -> None:
    """``lock=False`` reads through GetPointer: same planes, writes go through, read-only
    samples stay read-only."""
    media_type = video_type("NV12", 4, 2)
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type, lock=False) as frame:
        frame.planes[0][0, 0] = 200
    assert data[0] == 200
    sample.Release()
    frozen = MediaSample.wrap(bytes(16))
    with video_frame(frozen, video_type("NV12", 4, 2), lock=False) as frame:
        assert not frame.planes[0].flags.writeable
    frozen.Release()


def test_scattered_blocks_are_merged() -> None:
    """A sample of two separate blocks is read through GetPointer, which merges them."""
    media_type = video_type("NV12", 4, 2)
    data = bytes(pattern(12))
    sample = MediaSample.allocate(8)
    sample.GetPointer()[:] = data[:8]
    tail = MediaSample.allocate(4)
    tail.GetPointer()[:] = data[8:]
    sample.AppendMemory(tail.GetMemory(0))
    tail.Release()
    with video_frame(sample, media_type) as frame:
        assert frame.data.tobytes() == data
        frame.planes[1][0, 0] = 0
    assert sample.GetPointer()[8] == 0
    sample.Release()


class PlainSample:
    """An IMediaSample that is not a dshow_alloc MediaSample: only GetPointer and friends."""

    def __init__(self, data: Any, media_type: MediaType | None = None) -> None:
        self.data = data
        self.media_type = media_type

    def GetPointer(self) -> memoryview:
        return memoryview(self.data)

    def GetActualDataLength(self) -> int:
        return len(self.data)

    def GetMediaType(self) -> MediaType | None:
        return self.media_type


def test_other_samples_are_read_through_get_pointer() -> None:
    """A sample without Map or GetMeta is read with GetPointer; its writability decides the
    arrays'."""
    media_type = video_type("NV12", 4, 2)
    data = pattern(12)
    with video_frame(PlainSample(data, media_type)) as frame:
        frame.planes[0][1, 3] = 0
    assert data[7] == 0
    with video_frame(PlainSample(bytes(12), media_type)) as frame:
        assert not frame.planes[0].flags.writeable


# -- after the block ---------------------------------------------------------------------------


def test_frame_use_after_exit_raises() -> None:
    """``planes`` and ``data`` raise ValueError before entering and after the block."""
    media_type = video_type("NV12", 4, 2)
    _, sample = wrapped(media_type)
    frame = video_frame(sample, media_type)
    with pytest.raises(ValueError, match="not mapped"):
        _ = frame.planes
    with frame:
        assert frame.mapped
    assert not frame.mapped
    for name in ("planes", "data", "writable"):
        with pytest.raises(ValueError, match="the frame's mapping ended"):
            getattr(frame, name)
    sample.Release()


def test_kept_arrays_become_read_only_at_exit() -> None:
    """An array kept past the block (writable inside it) can no longer write: the sample's
    bytes stay as they were."""
    media_type = video_type("NV12", 4, 2)
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type) as frame:
        y = frame.planes[0]
        whole = frame.data
        y[0, 0] = 50
    before = bytes(data)
    for array in (y, whole):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 99
    assert bytes(data) == before
    sample.Release()


def test_kept_array_keeps_the_bytes_alive() -> None:
    """Reading an array kept past the block never reads freed memory: the array holds the
    backing bytearray's export even after the sample is gone, and lets go when it goes."""
    media_type = video_type("NV12", 4, 2)
    data, sample = wrapped(media_type)
    with video_frame(sample, media_type) as frame:
        y = frame.planes[0]
    expected = bytes(data[:8])
    sample.Release()
    del frame
    with pytest.raises(BufferError):
        data.extend(b"x")  # still exported: cannot move under the array
    assert y.tobytes() == expected
    del y
    data.extend(b"x")  # the last array gone, the bytearray is free again


def test_kept_array_over_shared_memory_stays_readable() -> None:
    """With memfd-backed memory the mmap's close is deferred while an array holds it."""
    media_type = video_type("NV12", 64, 32)
    size = video_layout(media_type).size
    sample = MediaSample.allocate(size, allocator="SharedMemory")
    sample.GetPointer()[:] = pattern(size)
    with video_frame(sample, media_type) as frame:
        uv = frame.planes[1]
    sample.Release()  # the block is freed: Free defers the close to the last export
    assert uv.tobytes() == bytes(pattern(size)[64 * 32 :])


def test_a_frame_maps_again_after_exit_but_not_twice() -> None:
    """Entering a mapped frame raises; after the block it may be entered again."""
    media_type = video_type("NV12", 4, 2)
    _, sample = wrapped(media_type)
    frame = video_frame(sample, media_type)
    with frame, pytest.raises(ValueError, match="mapped already"):
        frame.__enter__()
    with frame:
        assert frame.planes[0].shape == (2, 4)
    sample.Release()


# -- audio -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "values"),
    [
        ("U8", [0, 128, 255, 1, 2, 3]),
        ("S16LE", [-32768, 0, 32767, 1, -2, 3]),
        ("S32LE", [-(2**31), 0, 2**31 - 1, 1, -2, 3]),
        ("F32LE", [-1.0, 0.0, 0.5, 0.25, -2.0, 3.0]),
    ],
)
def test_audio_frames_shape_and_dtype(fmt: str, values: list[float]) -> None:
    """Each format gives an (n_frames, channels) array of its dtype over the sample's bytes."""
    media_type = audio_type(fmt, 8000, 2)
    payload = bytearray(np.array(values, AUDIO_DTYPES[fmt]).tobytes())
    sample = MediaSample.wrap(payload)
    audio = audio_frames(sample, media_type)
    assert (audio.format, audio.channels, audio.rate, audio.n_frames) == (fmt, 2, 8000, 3)
    with audio:
        array = audio.array
        assert array.shape == (3, 2)
        assert array.dtype == np.dtype(AUDIO_DTYPES[fmt])
        assert array.ravel().tolist() == values
        array[0, 1] = 7
    assert np.frombuffer(payload, AUDIO_DTYPES[fmt])[1] == 7
    sample.Release()


def test_audio_s24_is_three_bytes_per_value() -> None:
    """S24LE has no numpy dtype: (n_frames, channels, 3) uint8, little-endian triples."""
    media_type = audio_type("S24LE", 48000, 2)
    payload = bytearray(range(1, 13))  # 2 frames of 2 values of 3 bytes
    sample = MediaSample.wrap(payload)
    with audio_frames(sample, media_type) as audio:
        assert audio.array.shape == (2, 2, 3)
        assert audio.array.dtype == np.uint8
        assert audio.array[1, 0].tolist() == [7, 8, 9]
    sample.Release()


def test_audio_partial_frame_is_left_out() -> None:
    """Bytes past the last whole frame are not in the array; no bytes give no frames."""
    sample = MediaSample.wrap(bytearray(10))  # S16LE stereo: 4-byte frames, so 2 and a half
    with audio_frames(sample, audio_type("S16LE", 8000, 2)) as audio:
        assert audio.array.shape == (2, 2)
    sample.Release()
    empty = MediaSample.wrap(b"")
    with audio_frames(empty, audio_type("S24LE", 8000, 2)) as audio:
        assert (audio.n_frames, audio.array.shape) == (0, (0, 2, 3))
    empty.Release()


def test_audio_read_only_and_after_exit() -> None:
    """Read-only samples give read-only audio arrays; after the block ``array`` raises and a
    kept array is read-only."""
    media_type = audio_type("S16LE", 8000, 1)
    frozen = MediaSample.wrap(bytes(8))
    with audio_frames(frozen, media_type) as audio, pytest.raises(ValueError, match="read-only"):
        audio.array[0, 0] = 1
    frozen.Release()
    payload = bytearray(8)
    sample = MediaSample.wrap(payload)
    with audio_frames(sample, media_type) as audio:
        kept = audio.array
    with pytest.raises(ValueError, match="the frame's mapping ended"):
        _ = audio.array
    with pytest.raises(ValueError, match="read-only"):
        kept[0, 0] = 1
    assert payload == bytearray(8)
    assert isinstance(audio, AudioFrames)
    sample.Release()


# -- refused input -----------------------------------------------------------------------------


def test_no_media_type_is_a_clear_type_error() -> None:
    """A sample that carries no media type needs one passed."""
    sample = MediaSample.wrap(bytearray(16))
    with pytest.raises(TypeError, match="ConnectionMediaType"):
        video_frame(sample)
    with pytest.raises(TypeError, match="ConnectionMediaType"):
        audio_frames(sample)
    with pytest.raises(TypeError, match="MediaType"):
        video_frame(sample, "NV12")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="MediaType"):
        audio_frames(sample, "S16LE")  # type: ignore[arg-type]
    sample.Release()


def test_wrong_major_type_is_refused() -> None:
    """Audio for video_frame, video for audio_frames: ValueError naming the formats."""
    sample = MediaSample.wrap(bytearray(64))
    with pytest.raises(ValueError, match="raw video"):
        video_frame(sample, audio_type("S16LE", 8000, 1))
    with pytest.raises(ValueError, match="raw audio"):
        audio_frames(sample, video_type("NV12", 4, 2))
    sample.Release()


def test_unknown_formats_are_refused() -> None:
    """A video subtype the module does not know, PCM under a video major type, and 12-bit
    PCM are ValueErrors."""
    sample = MediaSample.wrap(bytearray(64))
    unknown = MediaType(
        MEDIATYPE_Video, uuid.uuid4(), FORMAT_VideoInfo, VideoInfoHeader(4, 2, bit_count=12)
    )
    with pytest.raises(ValueError, match="known format"):
        video_frame(sample, unknown)
    pcm_as_video = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_PCM, FORMAT_WaveFormatEx, None)
    with pytest.raises(ValueError, match="raw audio"):
        audio_frames(sample, pcm_as_video)
    odd_bits = audio_type("S16LE", 8000, 1)
    odd_bits = attrs.evolve(odd_bits, format=WaveFormatEx(1, 1, 8000, 12))
    with pytest.raises(ValueError, match="raw audio"):
        audio_frames(sample, odd_bits)
    sample.Release()


def test_block_align_must_match() -> None:
    """A WaveFormatEx whose block_align is not channels times the sample width is refused."""
    media_type = audio_type("S16LE", 8000, 2)
    assert isinstance(media_type.format, WaveFormatEx)
    bad = attrs.evolve(media_type, format=attrs.evolve(media_type.format, block_align=8))
    sample = MediaSample.wrap(bytearray(16))
    with pytest.raises(ValueError, match="block_align=8"):
        audio_frames(sample, bad)
    sample.Release()


def test_sample_too_short_for_the_type() -> None:
    """Fewer actual bytes than the layout needs: ValueError with both numbers."""
    media_type = video_type("NV12", 4, 2)  # 12 bytes
    sample = MediaSample.wrap(bytearray(12))
    sample.SetActualDataLength(11)
    with pytest.raises(ValueError, match=r"holds 11 bytes.*needs 12"):
        video_frame(sample, media_type)
    sample.Release()


def test_padded_meta_too_big_for_the_sample() -> None:
    """A VIDEO_META whose strides need more bytes than the sample has is refused."""
    media_type = video_type("NV12", 100, 50)
    sample = MediaSample.allocate(video_layout(media_type).size)  # tight size only
    sample.AddMeta(VIDEO_META, **video_layout(media_type, stride_align=64).meta_fields())
    with pytest.raises(ValueError, match="needs"):
        video_frame(sample, media_type)
    sample.Release()


def test_a_stride_shorter_than_a_row_is_refused() -> None:
    """A VIDEO_META stride smaller than a row's image bytes is a ValueError."""
    media_type = video_type("NV12", 8, 2)
    sample = MediaSample.allocate(64)
    fields = video_layout(media_type).meta_fields()
    sample.AddMeta(VIDEO_META, **{**fields, "strides": (4, 8)})
    with pytest.raises(ValueError, match="stride of 4"):
        video_frame(sample, media_type)
    sample.Release()


def test_public_classes() -> None:
    """video_frame and audio_frames return VideoFrame and AudioFrames."""
    sample = MediaSample.wrap(bytearray(12))
    assert isinstance(video_frame(sample, video_type("NV12", 4, 2)), VideoFrame)
    assert isinstance(audio_frames(sample, audio_type("U8", 8000, 1)), AudioFrames)
    sample.Release()
