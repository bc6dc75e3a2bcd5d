"""``invert`` and ``gain``: in-place effects on raw video and audio (numpy).

Both are `TransInPlaceFilter`\\ s: each sample is changed where it lies and goes downstream
on the downstream allocator; when the samples arrive read-only (a ``tee`` upstream) the base
class first copies each into a sample of the output allocator, and counts it in ``copies``.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from dshow_alloc.audio import audio_format
from dshow_alloc.filters import TransInPlaceFilter
from dshow_alloc.frames import audio_frames, video_frame
from dshow_alloc.mediatype import MediaType
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.structs import PinDirection
from dshow_alloc.video import VIDEO_FORMATS, video_format

__all__ = ["Gain", "Invert"]

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
        # NV12 frame's time in the pixel benchmark of ``dshow-alloc bench``.
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
