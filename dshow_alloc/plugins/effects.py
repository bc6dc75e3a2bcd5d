"""``invert`` and ``gain``: in-place effects on raw video and audio (numpy).

Both are `TransInPlaceFilter`\\ s: each sample is changed where it lies and goes downstream
on the downstream allocator; when the samples arrive read-only (a ``tee`` upstream) the base
class first copies each into a sample of the output allocator, and counts it in ``copies``.
"""

from __future__ import annotations

import time
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from dshow_alloc.audio import audio_format
from dshow_alloc.filters import TransInPlaceFilter
from dshow_alloc.frames import audio_frames, video_frame
from dshow_alloc.mediatype import MediaType
from dshow_alloc.plugins.basic import NullSink
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.structs import PinDirection
from dshow_alloc.video import VIDEO_FORMATS, video_format

__all__ = ["Gain", "Invert", "bench_black_invert"]

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT

_VIDEO_CAPS = "video/x-raw,format={" + ",".join(VIDEO_FORMATS) + "}"


class Invert(TransInPlaceFilter, Element):
    """``invert``: every byte of each raw video frame (its ``GetActualDataLength`` bytes,
    row padding included) becomes ``255 - byte``, in place. Takes NV12, I420, IYUV, YUY2,
    RGB24 and RGB32; refuses audio and everything else."""

    description = "Inverts every byte of raw video frames, in place"
    pin_templates = (
        PinTemplate("Input", _IN, _VIDEO_CAPS),
        PinTemplate("Output", _OUT, _VIDEO_CAPS),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Raw video of a format `dshow_alloc.video` knows."""
        return video_format(media_type) is not None

    def Transform(self, sample: Any) -> None:
        """Invert the sample's data in place."""
        # Hot path: one np.invert writing in place over every byte. lock=False reads through
        # GetPointer, not Map: Transform holds the sample alone (a read-only one was copied
        # by the base class first), and Map + Unmap cost about 10 us, some 8% of a 1080p
        # NV12 frame's time in bench_black_invert.
        with video_frame(sample, self.input.ConnectionMediaType(), lock=False) as frame:
            data = frame.data
            np.invert(data, out=data)


# -- gain ------------------------------------------------------------------------------------

_GAIN_FORMATS = ("S16LE", "S32LE", "F32LE", "U8", "S24LE")
_AUDIO_CAPS = "audio/x-raw,format={" + ",".join(_GAIN_FORMATS) + "}"
_INT_RANGES = {"S16LE": (-32768, 32767), "S32LE": (-(2**31), 2**31 - 1)}


@attrs.define
class _GainProperties:
    factor: float = prop(
        1.0, kind=float, minimum=0.0, maximum=100.0, doc="what every sample value is multiplied by"
    )


def _scale_s24(triples: npt.NDArray[np.uint8], factor: float) -> None:
    """Packed little-endian 24-bit samples (one row of 3 bytes each), scaled and clipped in
    place."""
    values = (
        triples[:, 0].astype(np.int32)
        | (triples[:, 1].astype(np.int32) << 8)
        | (triples[:, 2].astype(np.int32) << 16)
    )
    values = (values ^ 0x800000) - 0x800000  # sign-extend
    scaled = np.clip(np.rint(values * factor), -(2**23), 2**23 - 1).astype(np.int32)
    triples[:, 0] = scaled & 0xFF
    triples[:, 1] = (scaled >> 8) & 0xFF
    triples[:, 2] = (scaled >> 16) & 0xFF


class Gain(TransInPlaceFilter, Element):
    """``gain``: every audio sample value times ``factor``, in place.

    Integer formats round half to even and clip to their range (U8 is centred on 128:
    ``128 + (value - 128) * factor``); F32LE is multiplied in float32 and not clipped. A
    factor of exactly 1 leaves the data alone. ``factor`` may change while streaming, from
    any thread (``gain.set_property("factor", 0.5)``): it is read once per sample, so each
    sample is scaled by one factor, from the next sample on. Takes S16LE, S32LE, F32LE, U8
    and S24LE.
    """

    Properties = _GainProperties
    description = "Multiplies raw audio by a factor, in place, clipping integer formats"
    pin_templates = (
        PinTemplate("Input", _IN, _AUDIO_CAPS),
        PinTemplate("Output", _OUT, _AUDIO_CAPS),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Raw audio in S16LE, S32LE, F32LE, U8 or S24LE."""
        return audio_format(media_type) in _GAIN_FORMATS

    def Transform(self, sample: Any) -> None:
        """Scale the sample's data in place."""
        factor = float(self.props.factor)
        if factor == 1.0:
            return
        # lock=False for the reason Invert gives: the sample is ours alone here.
        with audio_frames(sample, self.input.ConnectionMediaType(), lock=False) as audio:
            values = audio.array
            fmt = audio.format
            if fmt == "F32LE":
                np.multiply(values, np.float32(factor), out=values)
            elif fmt == "U8":
                scaled = np.rint((values.astype(np.float64) - 128.0) * factor) + 128.0
                values[...] = np.clip(scaled, 0, 255)
            elif fmt == "S24LE":
                _scale_s24(values.reshape(-1, 3), factor)
            else:
                low, high = _INT_RANGES[fmt]
                values[...] = np.clip(np.rint(values * factor), low, high)


# -- benchmark -------------------------------------------------------------------------------


class _TimedNullSink(NullSink):
    """``nullsink`` noting when the first and the last sample arrived."""

    def __init__(self) -> None:
        super().__init__(name="nullsink")
        self.first = self.last = 0.0

    def DoRenderSample(self, sample: Any) -> None:
        """Note the time."""
        now = time.perf_counter()
        if not self.first:
            self.first = now
        self.last = now


def bench_black_invert(
    frames: int, width: int = 1920, height: int = 1080, *, repeat: int = 3
) -> tuple[float, float]:
    """Frames/s of ``videotestsrc pattern=black ! invert ! nullsink`` (NV12) and of a bare
    numpy loop doing the same pixel work on one frame (Y plane to 16, UV plane to 128, then
    ``np.invert`` in place): ``(pipeline, bare)``.

    Both figures are steady-state rates over ``frames - 1`` frames: the pipeline's from the
    first frame reaching the sink to the last, the loop's after one untimed frame. So neither
    counts its setup (the pool's allocation and the first touch of its pages, which cost
    milliseconds in a VM, the streaming thread's start; the loop's first-touch page faults).
    The two alternate ``repeat`` times, and each figure is the best of its runs (the least
    disturbed, as ``timeit`` advises).
    """
    if frames < 2 or repeat < 1:
        raise ValueError(f"frames must be >= 2 and repeat >= 1, got {frames} and {repeat}")
    pipeline = bare = 0.0
    for _ in range(repeat):
        pipeline = max(pipeline, _pipeline_rate(frames, width, height))
        bare = max(bare, _bare_rate(frames, width, height))
    return pipeline, bare


def _pipeline_rate(frames: int, width: int, height: int) -> float:
    from dshow_alloc.graph import FilterGraph
    from dshow_alloc.registry import make_filter
    from dshow_alloc.structs import EC_COMPLETE

    source = make_filter(
        "videotestsrc", pattern="black", width=width, height=height, num_buffers=frames
    )
    sink = _TimedNullSink()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, make_filter("invert"), sink)
        graph.Run()
        if graph.WaitForCompletion(600_000) != EC_COMPLETE:
            raise RuntimeError("the benchmark graph did not complete")
    if sink.rendered != frames:
        raise RuntimeError(f"rendered {sink.rendered} of {frames} frames")
    return (frames - 1) / (sink.last - sink.first)


def _bare_rate(frames: int, width: int, height: int) -> float:
    luma = width * height
    frame = np.empty(luma + (width + 1) // 2 * 2 * ((height + 1) // 2), np.uint8)
    y_plane, uv_plane = frame[:luma], frame[luma:]
    began = 0.0
    for index in range(frames):
        if index == 1:
            began = time.perf_counter()
        y_plane.fill(16)
        uv_plane.fill(128)
        np.invert(frame, out=frame)
    return (frames - 1) / (time.perf_counter() - began)
