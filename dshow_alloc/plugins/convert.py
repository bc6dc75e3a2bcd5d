"""``videoconvert``, ``videoscale``, ``audioconvert`` and ``audioresample``: the converters
between raw types, named and behaving as GStreamer's (the ``av`` extra: PyAV and numpy).

What each changes. The output type is the input type with the converter's own fields
replaced; every other field passes through unchanged:

================ ============================================ ===============================
filter           changes                                      keeps
================ ============================================ ===============================
videoconvert     format (NV12, I420, IYUV, YUY2, RGB24,       size, frame rate
                 RGB32) and DIB orientation
videoscale       size (1..16384 each way, ``method=``) and     format, frame rate
                 DIB orientation
audioconvert     sample format (U8, S16LE, S24LE, S32LE,      rate
                 F32LE) and channel count (1..64)
audioresample    rate (1..1000000 Hz)                         format, channels
================ ============================================ ===============================

The output pin offers the input's own type first, then (``videoconvert``, ``audioconvert``)
the input in each other format and, for audio, in mono and stereo; it accepts any type the
rule above allows, so a caps filter chooses: ``videotestsrc ! videoconvert !
video/x-raw,format=RGB24 ! ...``, ``! videoscale ! video/x-raw,width=320,height=180 !``,
``! audioconvert ! audio/x-raw,format=F32LE,channels=1 !``, ``! audioresample !
audio/x-raw,rate=22050 !``. A type of an unknown format, a size or rate out of range, or a
``block_align`` that is not ``channels`` times the sample width is refused (``QueryAccept``
False, ``Connect`` VFW_E_TYPE_NOT_ACCEPTED) and nothing changes.

Pass-through. When the output type is the input type, each sample goes downstream as it came,
untouched and not copied (GStreamer's basetransform pass-through), and the converter hands
upstream what downstream has: its allocator (the upstream allocator is the downstream one,
the read-only flag passed on), its allocator requirements and its allocation proposal. Only
when downstream refuses the upstream allocator and the samples arrive read-only is each one
copied (so that downstream never writes into a read-only sample).

Type changes mid-stream. A sample may carry a new input type (``SetMediaType``); the input
pin accepts it when the converter can make its output from it. The converter reads the
input type for every sample and keeps producing its output type: a ``videoscale`` whose
output is 320x180 makes 320x180 frames whether 640x360 or 1280x720 comes in, and a
``videoconvert`` keeps its output format. When the new input type leads to another output
type (a ``videoconvert`` whose input size changes: same output format, new size), downstream
is asked first (``QueryAccept``: a refusal refuses the input type, so the stream ends with
EC_ERRORABORT and no frame of a wrong size is ever delivered), and the first output sample
of the new type carries it (``SetMediaType``). A converter passing samples through starts
converting when the types stop being equal, and passes through again when they match. Output
samples come from the negotiated allocator; when that is the upstream one (pass-through) or
its samples are too small for the new type, from a pool of the converter's own, made then and
released at Stop.

Engines, and why:

- Video: FFmpeg's swscale through PyAV (`av.video.reformatter.VideoReformatter`) for every
  conversion that computes new pixel values: scaling (``method=`` nearest, bilinear, bicubic,
  area, lanczos: swscale's point, bilinear, bicubic, area and lanczos kernels), YUV <-> RGB
  (BT.601, YUV in video range 16..235, RGB full range) and YUY2 from or to anything. swscale
  runs with full chroma interpolation and accurate rounding: its fast paths repeat chroma
  samples instead of interpolating them and get the last rows of some frames wrong (a flat
  grey comes out two levels off there), while with these flags every flat colour converts
  exactly and 4:2:0 chroma is interpolated bilinearly from the sample centres. (An odd-height
  YUY2 frame going to 4:2:0 is given its last row twice: swscale leaves that chroma row
  unwritten.) numpy where only bytes move, because it is exact and writes straight into the
  output sample: the same format with other strides or the other DIB orientation, I420 <->
  IYUV (the same layout), NV12 <-> I420/IYUV (the chroma planes interleaved or split),
  RGB24 <-> RGB32 (the X byte dropped, or set to 255). PyAV's reformat always returns a
  frame of its own, so a frame swscale converted is copied once into the output sample (its
  rows put in the DIB's order on the way); the input is read in place
  (`av.VideoFrame.from_numpy_buffer` over the mapped sample) when its layout is one PyAV can
  describe (top-down RGB; I420 and NV12 of even size with planes where a tight layout puts
  them for its stride), else copied once into a PyAV frame kept for the purpose. Both sides
  honour a sample's ``VIDEO_META`` (padded rows).
- Sample formats and channels (``audioconvert``): numpy, because every rule is exact and
  stated here, sample for sample. Integers to float: ``x / 2**(bits - 1)`` in float32 (U8 is
  ``x - 128`` first); float to integers: ``x * 2**(bits - 1)`` rounded to the nearest (ties
  to even) and clipped; integers to wider integers: shifted left; to narrower: the low bits
  dropped (an arithmetic shift right, no dither). S24LE is three little-endian bytes.
- Channel mixing (``audioconvert``), by the usual rules (GStreamer's stereo <-> mono; the
  down-mixes FFmpeg makes for integer formats): channel ``k``
  of ``n`` sits where Microsoft's speaker layout for ``n`` channels puts it (1: FC; 2: FL FR;
  3: FL FR FC; 4: FL FR BL BR; 5: FL FR FC BL BR; 6: FL FR FC LFE BL BR; 7: the 6 and BC; 8:
  FL FR FC LFE BL BR SL SR). A channel the output has goes to it at full level. Mono goes to
  the output's FC when it has one, else to FL and FR at full level (up-mix). Otherwise FC goes
  to FL and FR at 1/sqrt(2); back channels go to the side ones of the same side, else to FL
  or FR at 1/sqrt(2); side channels to the back ones, else to FL or FR at 1/sqrt(2); BC to BL
  and BR, else SL and SR, else FL and FR, at 1/sqrt(2) each; into a mono output, FL and FR go
  to FC at 1/sqrt(2); LFE is dropped when the output has none. Then, when some output channel's
  coefficients add up to more than 1, every coefficient is divided by the largest such sum,
  so nothing clips and the balance stays (stereo to mono is ``(L + R) / 2``; 5.1 to stereo is
  ``L = 0.414 FL + 0.293 FC + 0.293 BL``). More than 8 channels on either side have no
  positions: channel ``k`` goes to channel ``k``, extra outputs are silent. When either side
  is F32LE the mix is computed in float32 (the input channels added in order); between
  integer formats in the wider of the two, in fixed point with coefficients of 15 fraction
  bits, rounded half up (as swresample and GStreamer mix integers), then converted.
- Rates (``audioresample``): FFmpeg's swresample through PyAV (`av.AudioResampler`, its
  default filter), because a good band-limited resampler is not numpy's to write. It keeps
  history from sample to sample; its last frames are delivered at end of stream, and a
  discontinuity or a flush starts it over. Output times are the first input sample's start
  plus the frames delivered since, at the output rate (GStreamer's audioresample does the
  same); media times are not set. S24LE is resampled as 32-bit samples.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar, NamedTuple

import attrs
import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation, VideoReformatter

from dshow_alloc.allocator import MemAllocator
from dshow_alloc.audio import AUDIO_FORMATS, audio_format, audio_type
from dshow_alloc.caps import caps_of
from dshow_alloc.filters import (
    TransformFilter,
    copy_sample,
    copy_sample_properties,
    size_allocator,
    upstream_buffer_size,
)
from dshow_alloc.frames import AUDIO_DTYPES, audio_frames, video_frame
from dshow_alloc.hresult import (
    COMError,
    FailError,
    VfwNotConnectedError,
    VfwSampleTimeNotSetError,
    VfwTypeNotAcceptedError,
)
from dshow_alloc.mediatype import MediaType, VideoInfoHeader, WaveFormatEx
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BaseOutputPin, BasePin, pin_label
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.structs import AllocatorProperties, FilterState, PinDirection
from dshow_alloc.video import (
    OPTION_VIDEO_META,
    VIDEO_FORMATS,
    VIDEO_META,
    video_format,
    video_layout,
    video_type,
)
from interfaces import IBufferPool

__all__ = ["AudioConvert", "AudioResample", "VideoConvert", "VideoScale", "mix_matrix"]

log = logging.getLogger(__name__)

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT
_STOPPED = FilterState.State_Stopped
_SECOND = 10_000_000
_MAX_SIZE = 16384
_MAX_RATE = 1_000_000
_MAX_CHANNELS = 64
_VIDEO_CAPS = (
    "video/x-raw,format={" + ",".join(VIDEO_FORMATS) + "},"
    f"width=[1,{_MAX_SIZE}],height=[1,{_MAX_SIZE}]"
)
_AUDIO_CAPS = (
    "audio/x-raw,format={" + ",".join(AUDIO_FORMATS) + "},"
    f"rate=[1,{_MAX_RATE}],channels=[1,{_MAX_CHANNELS}]"
)
_OUTPUT_BUFFERS = 2
_AUDIO_FRAMES = 4096  # frames an output sample holds when upstream's sample size is unknown

Array = npt.NDArray[Any]

# -- types -----------------------------------------------------------------------------------


class _VideoSpec(NamedTuple):
    """What a raw video type says, the fields a converter compares and replaces."""

    format: str
    width: int
    height: int  # rows, positive
    top_down: bool  # an RGB DIB stored top row first (negative biHeight); False for YUV
    frame_time: int  # AvgTimePerFrame


class _AudioSpec(NamedTuple):
    """What a raw audio type says."""

    format: str
    rate: int
    channels: int


_Spec = _VideoSpec | _AudioSpec
_RGB = frozenset({"RGB24", "RGB32"})
_SAMPLE_BYTES = {"U8": 1, "S16LE": 2, "S24LE": 3, "S32LE": 4, "F32LE": 4}


def _video_spec(media_type: MediaType) -> _VideoSpec | None:
    """The spec of a raw video type this module converts, None for anything else."""
    fmt = video_format(media_type)
    if fmt is None:
        return None
    header: VideoInfoHeader = media_type.format
    width, height = header.width, header.height
    if not (1 <= width <= _MAX_SIZE and 1 <= abs(height) <= _MAX_SIZE):
        return None
    if height < 0 and fmt not in _RGB:
        return None  # only a DIB may be top-down
    return _VideoSpec(fmt, width, abs(height), height < 0, header.avg_time_per_frame)


def _video_media_type(spec: _VideoSpec) -> MediaType:
    media_type = video_type(
        spec.format, spec.width, spec.height, avg_time_per_frame=spec.frame_time
    )
    if spec.top_down:
        header = attrs.evolve(media_type.format, height=-spec.height)
        media_type = attrs.evolve(media_type, format=header)
    return media_type


def _audio_spec(media_type: MediaType) -> _AudioSpec | None:
    """The spec of a raw audio type this module converts, None for anything else."""
    fmt = audio_format(media_type)
    if fmt is None:
        return None
    wave: WaveFormatEx = media_type.format
    if not (1 <= wave.samples_per_sec <= _MAX_RATE and 1 <= wave.channels <= _MAX_CHANNELS):
        return None
    if wave.block_align != wave.channels * _SAMPLE_BYTES[fmt]:
        return None
    return _AudioSpec(fmt, wave.samples_per_sec, wave.channels)


def _audio_media_type(spec: _AudioSpec) -> MediaType:
    return audio_type(spec.format, spec.rate, spec.channels)


# -- the output pin --------------------------------------------------------------------------


class _ConverterOutputPin(BaseOutputPin):
    """A converter's output pin: in pass-through it hands downstream the upstream allocator
    (as an in-place transform's output does), otherwise it negotiates as any output pin."""

    _filter: _Converter

    def DecideAllocator(self, input_pin: Any) -> Any:
        """The upstream allocator when the types are equal and downstream takes it (with the
        upstream ``read_only`` flag); otherwise ``CBaseOutputPin``'s negotiation."""
        converter = self._filter
        upstream_pin = converter.input
        upstream = upstream_pin.peek_allocator()
        if upstream is not None and upstream_pin.is_connected() and converter.passes_through():
            try:
                input_pin.NotifyAllocator(upstream, upstream_pin.read_only)
            except Exception as exc:
                log.debug("%r: downstream refused the upstream allocator (%s)", self, exc)
            else:
                self.allocator_origin = (
                    f"passed through from {pin_label(upstream_pin.ConnectedTo())}"
                )
                return upstream
        return super().DecideAllocator(input_pin)

    def share(self, allocator: Any, origin: str) -> None:
        """Use ``allocator`` (the upstream one, which downstream just accepted) from now on."""
        old, self._allocator = self._allocator, allocator
        self.allocator_origin = f"passed through from {origin}"
        if old is not None and old is not allocator:
            old.Decommit()


# -- the base class --------------------------------------------------------------------------


class _Job:
    """How samples of one input type become samples of one output type; made once per pair
    of types (a subclass adds what its engine needs)."""

    def __init__(self, in_type: MediaType, out_type: MediaType, passthrough: bool) -> None:
        self.in_type = in_type
        self.out_type = out_type
        self.passthrough = passthrough
        self.allocator: Any = None  # where output samples come from (None in pass-through)


class _Converter(TransformFilter, Element):
    """What the four converters share: types, pass-through, type changes (module docstring).

    A subclass names the spec fields it changes (``converted``), reads and builds specs
    (``spec_of``, ``type_of``), lists what it offers (``offered``), sizes its samples
    (``output_size``), and converts (``make_job``, ``convert``).
    """

    converted: ClassVar[tuple[str, ...]] = ()
    """The spec fields the output may have of its own; the others follow the input."""

    output: _ConverterOutputPin

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)
        # TransformFilter made a plain output pin: ours passes the allocator through.
        self.remove_pin(self.output)
        self.output = self.add_pin(_ConverterOutputPin(self, "Output"))
        self._job: _Job | None = None
        self._announce: MediaType | None = None  # the next output sample carries it
        self._pool: MemAllocator | None = None  # our own samples, when the negotiated won't do
        self.conversions = 0
        """Samples converted (not passed through) since the filter was made."""

    # -- specs (subclasses) ------------------------------------------------------------------

    @staticmethod
    def spec_of(media_type: MediaType) -> _Spec | None:
        """The spec of ``media_type``, None when the converter does not take it."""
        raise NotImplementedError

    @staticmethod
    def type_of(spec: Any) -> MediaType:
        """The media type of ``spec``."""
        raise NotImplementedError

    def offered(self, spec: Any) -> list[Any]:
        """The output specs offered for input ``spec``, after ``spec`` itself."""
        return []

    def output_size(self, in_type: MediaType, out_type: MediaType) -> int:
        """Bytes an output sample needs."""
        raise NotImplementedError

    def make_job(self, in_type: MediaType, out_type: MediaType) -> _Job:
        """The job converting ``in_type`` to ``out_type`` (specs differ)."""
        raise NotImplementedError

    def convert(self, pin: BaseInputPin, sample: Any, job: _Job) -> bool:
        """Convert ``sample`` and deliver the result; False when downstream refused it."""
        raise NotImplementedError

    def derive(self, spec_in: Any, spec_out: Any) -> Any:
        """``spec_in`` with the converted fields of ``spec_out``."""
        spec = spec_in._replace(**{name: getattr(spec_out, name) for name in self.converted})
        if isinstance(spec, _VideoSpec) and spec.format not in _RGB and spec.top_down:
            spec = spec._replace(top_down=False)  # YUV has one orientation
        return spec

    def target(self, in_type: MediaType, out_type: MediaType) -> MediaType:
        """The output type ``in_type`` leads to while the output is ``out_type``: ``out_type``
        itself when nothing changes, ``in_type`` itself when that is what comes out."""
        spec_in, spec_out = self.spec_of(in_type), self.spec_of(out_type)
        assert spec_in is not None and spec_out is not None
        spec = self.derive(spec_in, spec_out)
        if spec == spec_out:
            return out_type
        if spec == spec_in:
            return in_type
        return self.type_of(spec)

    # -- DirectShow's hooks ------------------------------------------------------------------

    def CheckInputType(self, media_type: MediaType) -> bool:
        """A raw type of the converter's kind, of a known format, in range."""
        return self.spec_of(media_type) is not None

    def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
        """``media_type_out`` is ``media_type_in`` with only the converted fields changed
        (and both in range)."""
        spec_in, spec_out = self.spec_of(media_type_in), self.spec_of(media_type_out)
        if spec_in is None or spec_out is None:
            return False
        return bool(self.derive(spec_in, spec_out) == spec_out)

    def GetMediaType(self, position: int) -> MediaType | None:
        """The input's type at 0, then the other types ``offered`` lists."""
        in_type = self.input.ConnectionMediaType()
        if position == 0:
            return in_type
        spec = self.spec_of(in_type)
        others = [s for s in self.offered(spec) if s != spec] if spec is not None else []
        if 0 < position <= len(others):
            return self.type_of(others[position - 1])
        return None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Two samples large enough for an output frame (audio: for the frames of an
        upstream sample), or more if asked."""
        size = self.output_size(self.input.ConnectionMediaType(), self.output.ConnectionMediaType())
        size_allocator(allocator, request, buffers=_OUTPUT_BUFFERS, buffer_size=size)

    # -- pass-through ------------------------------------------------------------------------

    def passes_through(self) -> bool:
        """True when both pins are connected with types of equal specs: samples go through
        as they are."""
        if not (self.input.is_connected() and self.output.is_connected()):
            return False
        return self.spec_of(self.input.ConnectionMediaType()) == self.spec_of(
            self.output.ConnectionMediaType()
        )

    def _sharing(self) -> bool:
        """Pass-through with a downstream pin to hand upstream's questions to."""
        return self.output.input_pin is not None and self.passes_through()

    def allocator_requirements(self, pin: BaseInputPin) -> AllocatorProperties | None:
        """In pass-through, downstream's requirements."""
        if pin is self.input and self._sharing():
            return self.output.input_pin.GetAllocatorRequirements()  # type: ignore[no-any-return]
        return pin.requirements

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        """In pass-through, the downstream pin's allocator."""
        if pin is self.input and self._sharing():
            return self.output.input_pin.GetAllocator()
        return None

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        """In pass-through, hand the upstream allocator on downstream (its samples are the
        ones delivered); when downstream refuses it, the output keeps its own."""
        if pin is not self.input or not self._sharing():
            return
        try:
            self.output.input_pin.NotifyAllocator(allocator, read_only)
        except Exception as exc:
            log.debug("%r: downstream refused the upstream allocator (%s)", self, exc)
            return
        self.output.share(allocator, pin_label(pin.ConnectedTo()))

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """In pass-through, downstream's proposal (forwarded); otherwise none."""
        if pin is self.input and self._sharing():
            downstream = self.output.input_pin
            if hasattr(downstream, "ProposeAllocation"):
                downstream.ProposeAllocation(query)

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """An output connected in pass-through lets upstream renegotiate, so that the
        downstream allocator and proposal reach it."""
        if pin is self.output and self.passes_through():
            self._reconfigure_upstream()

    def reconfigure_upstream(self, pin: BaseOutputPin) -> None:
        """In pass-through, upstream renegotiates first (its allocator is the one passed)."""
        if pin is self.output and self.passes_through():
            self._reconfigure_upstream()

    def _reconfigure_upstream(self) -> None:
        upstream = self.input.ConnectedTo()
        if isinstance(upstream, BaseOutputPin):
            upstream.reconfigure()

    # -- types while connected ---------------------------------------------------------------

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Input: ``CheckInputType``; once the output is connected, also an output type from
        it: the current one, or a new one downstream accepts (``QueryAccept``). Output:
        ``CheckTransform`` from the input's type."""
        if pin is self.input:
            if not self.CheckInputType(media_type):
                return False
            output = self.output
            if output.is_connected() and output.input_pin is not None:
                out_type = output.ConnectionMediaType()
                wanted = self.target(media_type, out_type)
                if wanted is not out_type:
                    return bool(output.ConnectedTo().QueryAccept(wanted))
            return True
        if not self.input.is_connected():
            raise VfwNotConnectedError(message="connect the converter's input pin first")
        return self.CheckTransform(self.input.ConnectionMediaType(), media_type)

    def _plan(self, in_type: MediaType) -> _Job:
        """The job for the current types; a new output type first when the input leads to
        one (asked of downstream, carried by the next output sample)."""
        output = self.output
        out_type = output.ConnectionMediaType()
        wanted = self.target(in_type, out_type)
        if wanted is not out_type:
            peer = output.ConnectedTo()
            if not peer.QueryAccept(wanted):
                raise VfwTypeNotAcceptedError(
                    message=f"{pin_label(peer)} refuses {caps_of(wanted)}, the output the new "
                    f"input {caps_of(in_type)} leads to"
                )
            output.SetMediaType(wanted)
            self._announce = wanted
            out_type = wanted
        if self.spec_of(in_type) == self.spec_of(out_type):
            self._announce = None  # the input sample carries the type itself
            return _Job(in_type, out_type, passthrough=True)
        job = self.make_job(in_type, out_type)
        job.allocator = self._allocator_for(out_type, self.output_size(in_type, out_type))
        return job

    def _allocator_for(self, out_type: MediaType, size: int) -> Any:
        """The negotiated allocator when its samples fit ``out_type``; else a pool of our own
        (the negotiated one is upstream's, or too small, or lays out frames of another type)."""
        negotiated = self.output.allocator
        if negotiated is not None and negotiated is not self.input.peek_allocator():
            fits = negotiated.GetProperties().buffer_size >= size
            if fits and IBufferPool.providedBy(negotiated):
                config = negotiated.GetConfig()
                fits = OPTION_VIDEO_META not in config.options or config.media_type == out_type
            if fits:
                return negotiated
        pool = self._pool
        if pool is not None and pool.GetProperties().buffer_size >= size:
            return pool
        if pool is not None:
            pool.Decommit()
        buffers = _OUTPUT_BUFFERS
        if negotiated is not None:
            buffers = max(buffers, negotiated.GetProperties().buffers)
        pool = MemAllocator(name=f"{self.name}.Output (own pool)")
        pool.SetProperties(AllocatorProperties(buffers, size, 16, 0))
        pool.Commit()
        self._pool = pool
        return pool

    def _output_sample(self, job: _Job) -> Any:
        return job.allocator.GetBuffer()

    def _deliver(self, out_sample: Any) -> bool:
        announce = self._announce
        if announce is not None:
            self._announce = None
            out_sample.SetMediaType(announce)
        self.conversions += 1
        return bool(self.output.Deliver(out_sample))

    # -- streaming ---------------------------------------------------------------------------

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Pass the sample through when the types are equal, else convert it; the types are
        read for every sample (a sample may have changed the input's)."""
        output = self.output
        if not output.is_connected():
            raise VfwNotConnectedError(message=f"{output!r} is not connected")
        in_type = pin.ConnectionMediaType()
        job = self._job
        if (
            job is None
            or job.in_type is not in_type
            or job.out_type is not output.ConnectionMediaType()
        ):
            try:
                if job is not None:
                    self._job = None
                    self.finish_job(job)
                job = self._job = self._plan(in_type)
            except Exception as exc:
                pin.stream_error(exc)
                raise
        if job.passthrough:
            if pin.read_only and output.allocator is not pin.peek_allocator():
                return self._deliver_copy(sample)
            return bool(output.Deliver(sample))
        return self.convert(pin, sample, job)

    def _deliver_copy(self, sample: Any) -> bool:
        """A read-only sample for a downstream that was promised writable ones: a copy."""
        out_sample = self.output.GetDeliveryBuffer()
        try:
            copy_sample(sample, out_sample)
            return bool(self.output.Deliver(out_sample))
        finally:
            out_sample.Release()

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        """Leaving or entering Stopped: the types are read again, our own pool released."""
        if new is _STOPPED or old is _STOPPED:
            self.reset_stream()
            self._job = None
            self._announce = None
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.Decommit()

    def finish_job(self, job: _Job) -> None:
        """The types changed: ``job`` ends (a resampler delivers what it holds)."""

    def reset_stream(self) -> None:
        """Forget what the stream so far left behind (a resampler's history)."""

    def end_flush(self, pin: BaseInputPin) -> None:
        """A new stream follows: start over, then forward."""
        self.reset_stream()
        super().end_flush(pin)


# -- video -----------------------------------------------------------------------------------

# DirectShow format -> the FFmpeg pixel format with the same bytes (a DIB's B, G, R(, X)).
_PIXEL_FORMATS = {
    "NV12": "nv12",
    "I420": "yuv420p",
    "IYUV": "yuv420p",
    "YUY2": "yuyv422",
    "RGB24": "bgr24",
    "RGB32": "bgra",
}
_I420 = frozenset({"I420", "IYUV"})
_METHODS = {
    "nearest": Interpolation.POINT,
    "bilinear": Interpolation.BILINEAR,
    "bicubic": Interpolation.BICUBIC,
    "area": Interpolation.AREA,
    "lanczos": Interpolation.LANCZOS,
}
_SWSCALE_FLAGS = Interpolation.FULL_CHR_H_INT | Interpolation.ACCURATE_RND
_Planes = tuple[Array, ...]


def _copy_planes(src: _Planes, dst: _Planes) -> None:
    for source, target in zip(src, dst, strict=True):
        target[...] = source


def _nv12_to_i420(src: _Planes, dst: _Planes) -> None:
    dst[0][...] = src[0]
    dst[1][...] = src[1][:, 0::2]
    dst[2][...] = src[1][:, 1::2]


def _i420_to_nv12(src: _Planes, dst: _Planes) -> None:
    dst[0][...] = src[0]
    dst[1][:, 0::2] = src[1]
    dst[1][:, 1::2] = src[2]


def _rgb24_to_rgb32(src: _Planes, dst: _Planes) -> None:
    dst[0][..., :3] = src[0]
    dst[0][..., 3] = 255


def _rgb32_to_rgb24(src: _Planes, dst: _Planes) -> None:
    dst[0][...] = src[0][..., :3]


def _repack(src: str, dst: str) -> Callable[[_Planes, _Planes], None] | None:
    """The numpy function moving a frame's bytes from format ``src`` to ``dst`` at the same
    size, None when the pixels must be computed (swscale)."""
    if src == dst or (src in _I420 and dst in _I420):
        return _copy_planes
    if src == "NV12" and dst in _I420:
        return _nv12_to_i420
    if src in _I420 and dst == "NV12":
        return _i420_to_nv12
    if (src, dst) == ("RGB24", "RGB32"):
        return _rgb24_to_rgb32
    if (src, dst) == ("RGB32", "RGB24"):
        return _rgb32_to_rgb24
    return None


def _plane_of(frame: Any, index: int, shape: tuple[int, ...]) -> Array:
    """Plane ``index`` of a PyAV frame as an array of ``shape`` (rows, row bytes) or (rows,
    pixels, bytes a pixel), padding left out, over the frame's memory."""
    plane = frame.planes[index]
    strides = (plane.line_size, 1) if len(shape) == 2 else (plane.line_size, shape[2], 1)
    return np.ndarray(shape, np.uint8, plane, 0, strides)


def _frame_end(offsets: tuple[int, ...], strides: tuple[int, ...], rows: tuple[int, ...]) -> int:
    return max(o + s * r for o, s, r in zip(offsets, strides, rows, strict=True))


class _VideoJob(_Job):
    """One video conversion: a numpy repack, or swscale with the frames it needs."""

    def __init__(
        self, in_type: MediaType, out_type: MediaType, interpolation: Interpolation
    ) -> None:
        super().__init__(in_type, out_type, passthrough=False)
        self.spec_in = _video_spec(in_type)
        self.spec_out = _video_spec(out_type)
        assert self.spec_in is not None and self.spec_out is not None
        self.layout_out = video_layout(out_type)
        same_size = self.spec_in[1:3] == self.spec_out[1:3]
        self.repack = _repack(self.spec_in.format, self.spec_out.format) if same_size else None
        # Full chroma interpolation and accurate rounding: swscale's fast YUV to RGB paths
        # upsample chroma by repeating it and get the last rows of some frames wrong (a flat
        # grey of Y 126 comes out 126 instead of 128 there); with these flags every flat
        # colour converts exactly, and 4:2:0 chroma is interpolated bilinearly.
        self.interpolation = interpolation | _SWSCALE_FLAGS
        self.reformatter = VideoReformatter()
        self.pixel_in = _PIXEL_FORMATS[self.spec_in.format]
        self.pixel_out = _PIXEL_FORMATS[self.spec_out.format]
        self.scratch: Any = None  # a PyAV frame the input is copied into when it must be
        # swscale's YUY2 to 4:2:0 at the same size never writes the last chroma row of an
        # odd-height frame (it makes chroma rows from pairs of rows): give it the last row
        # twice, and leave the extra output row out.
        odd = self.spec_in.height % 2 == 1
        self.extra_row = int(
            same_size and odd and self.spec_in.format == "YUY2" and self.spec_out.format in _I420
        )

    def run(self, in_sample: Any, out_sample: Any) -> None:
        """Convert the frame in ``in_sample`` into ``out_sample`` (its data length set)."""
        out_sample.SetActualDataLength(out_sample.GetSize())
        with (
            video_frame(in_sample, self.in_type, write=False) as src,
            video_frame(out_sample, self.out_type, write=True, lock=False) as dst,
        ):
            if self.repack is not None:
                self.repack(src.planes, dst.planes)
            else:
                self._scale(src, dst)
            end = _frame_end(dst.offsets, dst.strides, self.layout_out.heights)
        out_sample.SetActualDataLength(end)

    def _scale(self, src: Any, dst: Any) -> None:
        picture = self._input_frame(src)
        spec = self.spec_out
        assert spec is not None
        result = self.reformatter.reformat(
            picture,
            width=spec.width,
            height=spec.height + self.extra_row,
            format=self.pixel_out,
            interpolation=self.interpolation,
        )
        del picture  # it may be a view of the input sample: let go of it at once
        for index, target in enumerate(dst.planes):
            target[...] = _plane_of(result, index, target.shape)

    def _input_frame(self, src: Any) -> Any:
        """A PyAV frame of the input: over the sample's bytes when PyAV can describe their
        layout, else a copy in a frame kept for the purpose."""
        spec = self.spec_in
        assert spec is not None
        planes = src.planes
        fmt, width, height = spec.format, spec.width, spec.height
        if self.extra_row:
            frame = self.scratch
            if frame is None:
                frame = self.scratch = av.VideoFrame(width, height + 1, self.pixel_in)
            rows, row_bytes = planes[0].shape
            target = _plane_of(frame, 0, (rows + 1, row_bytes))
            target[:rows] = planes[0]
            target[rows] = planes[0][-1]
            return frame
        if fmt in _RGB and planes[0].strides[0] > 0:
            return av.VideoFrame.from_numpy_buffer(planes[0], format=self.pixel_in)
        if width % 2 == 0 and height % 2 == 0 and fmt in _I420 | {"NV12"}:
            stride = src.strides[0]
            if fmt == "NV12":
                tight = stride % 2 == 0 and (src.offsets, src.strides) == (
                    (0, stride * height),
                    (stride, stride),
                )
            else:
                half = stride // 2
                luma = stride * height
                tight = stride % 2 == 0 and (src.offsets, src.strides) == (
                    (0, luma, luma + half * height // 2),
                    (stride, half, half),
                )
            if tight:
                rows = height * 3 // 2
                data = src.data[: rows * stride].reshape(rows, stride)
                return av.VideoFrame.from_numpy_buffer(data, format=self.pixel_in, width=width)
        frame = self.scratch
        if frame is None:
            frame = self.scratch = av.VideoFrame(width, height, self.pixel_in)
        for index, source in enumerate(planes):
            _plane_of(frame, index, source.shape)[...] = source
        return frame


class _VideoConverter(_Converter):
    """What ``videoconvert`` and ``videoscale`` share."""

    pin_templates = (
        PinTemplate("Input", _IN, _VIDEO_CAPS),
        PinTemplate("Output", _OUT, _VIDEO_CAPS),
    )

    spec_of = staticmethod(_video_spec)
    type_of = staticmethod(_video_media_type)

    def interpolation(self) -> Interpolation:
        """swscale's flags for this converter."""
        return Interpolation.BILINEAR

    def output_size(self, in_type: MediaType, out_type: MediaType) -> int:
        """A frame of ``out_type`` in its tight layout (a pool that pads rows for
        ``VIDEO_META`` made its samples larger)."""
        return max(video_layout(out_type).size, out_type.sample_size)

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Two samples of an output frame, rows padded to the requested alignment when
        downstream takes ``VIDEO_META`` (the pool then lays frames out so)."""
        out_type = self.output.ConnectionMediaType()
        size = max(video_layout(out_type).size, out_type.sample_size)
        if VIDEO_META.api in self.output.metas:
            size = max(size, video_layout(out_type, stride_align=max(request.align, 1)).size)
        size_allocator(allocator, request, buffers=_OUTPUT_BUFFERS, buffer_size=size)

    def make_job(self, in_type: MediaType, out_type: MediaType) -> _Job:
        """A numpy repack or a swscale conversion."""
        return _VideoJob(in_type, out_type, self.interpolation())

    def convert(self, pin: BaseInputPin, sample: Any, job: _Job) -> bool:
        """One output frame per input frame, with the input's times and flags."""
        assert isinstance(job, _VideoJob)
        out_sample = self._output_sample(job)
        try:
            copy_sample_properties(sample, out_sample)
            try:
                job.run(sample, out_sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            return self._deliver(out_sample)
        finally:
            out_sample.Release()


class VideoConvert(_VideoConverter):
    """``videoconvert``: raw video from any format the project knows to any other (NV12,
    I420, IYUV, YUY2, RGB24, RGB32; bottom-up or top-down DIBs), at the same size and frame
    rate. Byte moves are numpy's, pixel arithmetic swscale's (see the module docstring)."""

    description = "Converts raw video between formats (swscale, numpy)"
    converted = ("format", "top_down")

    def offered(self, spec: Any) -> list[Any]:
        """The input in each other format (RGB as bottom-up DIBs)."""
        return [spec._replace(format=f, top_down=False) for f in VIDEO_FORMATS]


@attrs.define
class _ScaleProperties:
    method: str = prop(
        "bilinear",
        kind=str,
        choices=tuple(_METHODS),
        doc="the scaling kernel: nearest neighbour, bilinear, bicubic, area or lanczos",
    )


class VideoScale(_VideoConverter):
    """``videoscale``: raw video scaled to any size from 1x1 to 16384x16384, in the same
    format and frame rate, with swscale's ``method`` kernel (default bilinear, as GStreamer's).
    Offers the input's size; a caps filter sets another (``! video/x-raw,width=320,height=180
    !``)."""

    Properties = _ScaleProperties
    description = "Scales raw video to any size (swscale)"
    converted = ("width", "height", "top_down")

    def interpolation(self) -> Interpolation:
        """The ``method`` property's kernel."""
        return _METHODS[self.props.method]


# -- audio -----------------------------------------------------------------------------------

_INT_BITS = {"U8": 8, "S16LE": 16, "S24LE": 24, "S32LE": 32}
# Speaker positions: front left, right and centre, low frequency, back left, right and centre,
# side left and right.
_FL, _FR, _FC, _LFE = "FL", "FR", "FC", "LFE"
_BL, _BR, _BC, _SL, _SR = "BL", "BR", "BC", "SL", "SR"
_POSITIONS: dict[int, tuple[str, ...]] = {
    1: (_FC,),
    2: (_FL, _FR),
    3: (_FL, _FR, _FC),
    4: (_FL, _FR, _BL, _BR),
    5: (_FL, _FR, _FC, _BL, _BR),
    6: (_FL, _FR, _FC, _LFE, _BL, _BR),
    7: (_FL, _FR, _FC, _LFE, _BL, _BR, _BC),
    8: (_FL, _FR, _FC, _LFE, _BL, _BR, _SL, _SR),
}
_HALF_POWER = 1 / math.sqrt(2)
_LEFT, _RIGHT = {_BL: _FL, _SL: _FL}, {_BR: _FR, _SR: _FR}
_OTHER_SURROUND = {_BL: _SL, _BR: _SR, _SL: _BL, _SR: _BR}


def mix_matrix(in_channels: int, out_channels: int) -> list[list[float]]:
    """The coefficients ``audioconvert`` mixes with: ``matrix[j][i]`` is how much of input
    channel ``i`` goes into output channel ``j`` (the rules are in the module docstring)."""
    for count in (in_channels, out_channels):
        if type(count) is not int or not 1 <= count <= _MAX_CHANNELS:
            raise ValueError(f"a channel count is an int in 1..{_MAX_CHANNELS}, got {count!r}")
    matrix = [[0.0] * in_channels for _ in range(out_channels)]
    if in_channels == out_channels:
        for k in range(in_channels):
            matrix[k][k] = 1.0
        return matrix
    sources, targets = _POSITIONS.get(in_channels), _POSITIONS.get(out_channels)
    if sources is None or targets is None:  # no speaker positions: channel k to channel k
        for k in range(min(in_channels, out_channels)):
            matrix[k][k] = 1.0
        return matrix
    where = {position: index for index, position in enumerate(targets)}

    def add(into: str, source: int, gain: float) -> None:
        if into in (_FL, _FR) and into not in where:  # a mono output: the front pair is FC
            into, gain = _FC, gain * _HALF_POWER
        if into in where:
            matrix[where[into]][source] += gain

    for i, position in enumerate(sources):
        if position in where:
            add(position, i, 1.0)
        elif position == _FC and in_channels == 1:
            add(_FL, i, 1.0)  # mono up-mix: both front channels at full level
            add(_FR, i, 1.0)
        elif position == _FC:
            add(_FL, i, _HALF_POWER)
            add(_FR, i, _HALF_POWER)
        elif position in (_FL, _FR):
            add(position, i, 1.0)  # only a mono output lacks them: into FC at 1/sqrt(2)
        elif position in _OTHER_SURROUND:
            other = _OTHER_SURROUND[position]
            if other in where:
                add(other, i, 1.0)
            else:
                add(_LEFT.get(position) or _RIGHT[position], i, _HALF_POWER)
        elif position == _BC:
            for pair in ((_BL, _BR), (_SL, _SR), (_FL, _FR)):
                if all(p in where for p in pair) or pair == (_FL, _FR):
                    add(pair[0], i, _HALF_POWER)
                    add(pair[1], i, _HALF_POWER)
                    break
        # LFE without an LFE output: dropped
    largest = max(sum(abs(c) for c in row) for row in matrix)
    if largest > 1.0:
        matrix = [[c / largest for c in row] for row in matrix]
    return matrix


def _integers(array: Array, fmt: str) -> npt.NDArray[np.int64]:
    """Samples of integer format ``fmt`` (an ``audio_frames`` array) as signed int64."""
    if fmt == "S24LE":
        low = array[..., 0].astype(np.int64) | (array[..., 1].astype(np.int64) << 8)
        return low | (array[..., 2].view(np.int8).astype(np.int64) << 16)
    values = array.astype(np.int64)
    if fmt == "U8":
        values -= 128
    return values


def _store_integers(values: npt.NDArray[np.int64], fmt: str) -> Array:
    """Signed values of ``fmt``'s range in ``fmt``'s bytes ((n, channels) or S24LE's (n,
    channels, 3))."""
    if fmt == "S24LE":
        out = np.empty((*values.shape, 3), np.uint8)
        out[..., 0] = values & 0xFF
        out[..., 1] = (values >> 8) & 0xFF
        out[..., 2] = (values >> 16) & 0xFF
        return out
    if fmt == "U8":
        return (values + 128).astype(np.uint8)
    return values.astype(AUDIO_DTYPES[fmt])


def _to_float(array: Array, fmt: str) -> npt.NDArray[np.float32]:
    if fmt == "F32LE":
        return np.asarray(array, np.float32)
    scale = np.float32(2.0 ** -(_INT_BITS[fmt] - 1))
    return _integers(array, fmt).astype(np.float32) * scale


def _from_float(values: npt.NDArray[np.float32], fmt: str) -> Array:
    if fmt == "F32LE":
        return values.astype("<f4", copy=False)
    bits = _INT_BITS[fmt]
    scaled = np.rint(np.nan_to_num(values.astype(np.float64)) * 2.0 ** (bits - 1))
    high = 2 ** (bits - 1)
    return _store_integers(np.clip(scaled, -high, high - 1).astype(np.int64), fmt)


class _AudioJob(_Job):
    """One ``audioconvert`` conversion (see the module docstring for every rule)."""

    def __init__(self, in_type: MediaType, out_type: MediaType) -> None:
        super().__init__(in_type, out_type, passthrough=False)
        spec_in, spec_out = _audio_spec(in_type), _audio_spec(out_type)
        assert spec_in is not None and spec_out is not None
        self.spec_in, self.spec_out = spec_in, spec_out
        self.block_out = spec_out.channels * _SAMPLE_BYTES[spec_out.format]
        self.matrix = (
            mix_matrix(spec_in.channels, spec_out.channels)
            if spec_in.channels != spec_out.channels
            else None
        )

    def run(self, array: Array) -> Array:
        """The output frames for an ``audio_frames`` array of input frames."""
        fmt_in, fmt_out = self.spec_in.format, self.spec_out.format
        if "F32LE" in (fmt_in, fmt_out):
            values = _to_float(array, fmt_in)
            if self.matrix is not None:
                values = self._mix_float(values, self.matrix)
            return _from_float(values, fmt_out)
        bits_in, bits_out = _INT_BITS[fmt_in], _INT_BITS[fmt_out]
        bits = max(bits_in, bits_out)
        work = _integers(array, fmt_in) << (bits - bits_in)
        if self.matrix is not None:
            work = self._mix_fixed(work, self.matrix, bits)
        return _store_integers(work >> (bits - bits_out), fmt_out)

    @staticmethod
    def _mix_float(values: npt.NDArray[np.float32], matrix: list[list[float]]) -> Any:
        out = np.zeros((values.shape[0], len(matrix)), np.float32)
        for j, row in enumerate(matrix):
            column = out[:, j]
            for i, coefficient in enumerate(row):
                if coefficient:
                    column += np.float32(coefficient) * values[:, i]
        return out

    @staticmethod
    def _mix_fixed(
        values: npt.NDArray[np.int64], matrix: list[list[float]], bits: int
    ) -> npt.NDArray[np.int64]:
        out = np.zeros((values.shape[0], len(matrix)), np.int64)
        for j, row in enumerate(matrix):
            column = out[:, j]
            for i, coefficient in enumerate(row):
                fixed = round(coefficient * 32768)
                if fixed:
                    column += fixed * values[:, i]
        high = 2 ** (bits - 1)
        mixed: npt.NDArray[np.int64] = np.clip((out + 16384) >> 15, -high, high - 1)
        return mixed


class _AudioConverter(_Converter):
    """What ``audioconvert`` and ``audioresample`` share: frames in, frames out, split
    over several output samples when one would not hold them."""

    pin_templates = (
        PinTemplate("Input", _IN, _AUDIO_CAPS),
        PinTemplate("Output", _OUT, _AUDIO_CAPS),
    )

    spec_of = staticmethod(_audio_spec)
    type_of = staticmethod(_audio_media_type)

    def frames_per_sample(self, in_type: MediaType, out_type: MediaType) -> int:
        """Output frames an output sample should hold."""
        wave: WaveFormatEx = in_type.format
        size = upstream_buffer_size(self.input)
        return max(size // wave.block_align, 1) if size else _AUDIO_FRAMES

    def output_size(self, in_type: MediaType, out_type: MediaType) -> int:
        """``frames_per_sample`` frames of ``out_type``."""
        wave: WaveFormatEx = out_type.format
        return self.frames_per_sample(in_type, out_type) * wave.block_align

    def _send(
        self,
        data: Array,
        job: _Job,
        template: Any,
        start: int | None,
        rate: int,
        offset: int = 0,
        media: int | None = None,
        discontinuity: bool = False,
    ) -> bool:
        """Deliver ``data`` (output frames) in as many output samples as it needs. The first
        takes ``template``'s times and flags when there is one (else ``discontinuity``; each
        is a sync point); then each is timed from ``start`` (100 ns; None: no time) as
        frames ``offset`` and on at ``rate``, with media times (frame numbers) from ``media``
        (None: none). False when downstream refused a sample."""
        raw = data.reshape(-1).view(np.uint8)
        wave: WaveFormatEx = job.out_type.format
        block = wave.block_align
        frames = len(raw) // block
        done = 0
        while done < frames:
            out_sample = self._output_sample(job)
            try:
                count = min(frames - done, out_sample.GetSize() // block)
                if count == 0:
                    raise FailError(message=f"{out_sample.GetSize()}-byte samples hold no frame")
                size = count * block
                out_sample.GetPointer()[:size] = raw[done * block : done * block + size]
                out_sample.SetActualDataLength(size)
                if template is not None:
                    copy_sample_properties(template, out_sample)
                    template = None
                else:
                    out_sample.SetSyncPoint(True)
                    out_sample.SetDiscontinuity(discontinuity)
                    discontinuity = False
                if start is not None:
                    first = offset + done
                    out_sample.SetTime(
                        start + first * _SECOND // rate, start + (first + count) * _SECOND // rate
                    )
                else:
                    out_sample.SetTime(None)
                if media is not None:
                    out_sample.SetMediaTime(media + done, media + done + count)
                else:
                    out_sample.SetMediaTime(None, None)
                if not self._deliver(out_sample):
                    return False
            finally:
                out_sample.Release()
            done += count
        return True


def _times(sample: Any) -> tuple[int | None, int | None]:
    """A sample's start time and media start, each None when not set."""
    try:
        start: int | None = sample.GetTime()[0]
    except VfwSampleTimeNotSetError:
        start = None
    try:
        media: int | None = sample.GetMediaTime()[0]
    except COMError:
        media = None
    return start, media


class AudioConvert(_AudioConverter):
    """``audioconvert``: raw audio from any sample format and channel count to any other
    (U8, S16LE, S24LE, S32LE, F32LE; 1 to 64 channels), at the same rate. numpy does it, by the
    rules the module docstring states: exact format conversions, and GStreamer's and FFmpeg's
    usual down-mix and up-mix."""

    description = "Converts raw audio between sample formats and channel counts (numpy)"
    converted = ("format", "channels")

    def offered(self, spec: Any) -> list[Any]:
        """The input in each other format, then in mono and stereo."""
        formats = [spec._replace(format=f) for f in AUDIO_FORMATS]
        return formats + [spec._replace(channels=n) for n in (1, 2)]

    def make_job(self, in_type: MediaType, out_type: MediaType) -> _Job:
        """The numpy conversion between the two types."""
        return _AudioJob(in_type, out_type)

    def convert(self, pin: BaseInputPin, sample: Any, job: _Job) -> bool:
        """The same frames in the output format, with the input's times and flags."""
        assert isinstance(job, _AudioJob)
        try:
            with audio_frames(sample, job.in_type, write=False) as frames:
                data = job.run(frames.array)
        except Exception as exc:
            pin.stream_error(exc)
            raise
        start, media = _times(sample)
        return self._send(data, job, sample, start, job.spec_in.rate, media=media)


# -- resampling ------------------------------------------------------------------------------

# DirectShow format -> the packed FFmpeg sample format it is resampled in.
_SAMPLE_FORMATS = {"U8": "u8", "S16LE": "s16", "S24LE": "s32", "S32LE": "s32", "F32LE": "flt"}


class _ResampleJob(_Job):
    """One stream through swresample: its history, and the frames and time delivered."""

    def __init__(self, in_type: MediaType, out_type: MediaType) -> None:
        super().__init__(in_type, out_type, passthrough=False)
        spec_in, spec_out = _audio_spec(in_type), _audio_spec(out_type)
        assert spec_in is not None and spec_out is not None
        self.spec_in, self.spec_out = spec_in, spec_out
        self.sample_format = _SAMPLE_FORMATS[spec_in.format]
        self.layout = f"{spec_in.channels} channels"  # the same on both sides: no mixing
        self.resampler: Any = None
        self.pushed = 0  # input frames given to the resampler since it started
        self.delivered = 0  # output frames delivered since then
        self.start: int | None = None  # the start time of the first of those input frames
        self.discontinuity = False  # the next output sample carries the flag

    @property
    def started(self) -> bool:
        """True while the resampler holds a stream."""
        return self.resampler is not None

    def begin(self, sample: Any) -> None:
        """Start a stream at ``sample`` (its start time, its discontinuity flag)."""
        self.start = _times(sample)[0]
        self.delivered = self.pushed = 0
        self.discontinuity = bool(sample.IsDiscontinuity())
        self.resampler = av.AudioResampler(
            format=self.sample_format, layout=self.layout, rate=self.spec_out.rate
        )

    def push(self, array: Array) -> list[Array]:
        """Resample an ``audio_frames`` array; the output frames swresample gives back."""
        spec = self.spec_in
        if spec.format == "S24LE":
            values: Array = (_integers(array, "S24LE") << 8).astype("<i4")
        else:
            values = np.ascontiguousarray(array)
        frame = av.AudioFrame.from_ndarray(
            values.reshape(1, -1), format=self.sample_format, layout=self.layout
        )
        frame.sample_rate = spec.rate
        frame.pts = self.pushed
        frame.time_base = Fraction(1, spec.rate)
        self.pushed += len(array)
        return self._unpack(self.resampler.resample(frame))

    def drain(self) -> list[Array]:
        """What swresample still holds (its filter's delay); the stream ends."""
        resampler, self.resampler = self.resampler, None
        return self._unpack(resampler.resample(None)) if resampler is not None else []

    def drop(self) -> None:
        """End the stream, dropping what swresample holds."""
        self.resampler = None

    def _unpack(self, frames: list[Any]) -> list[Array]:
        channels = self.spec_in.channels
        out: list[Array] = []
        for frame in frames:
            if not frame.samples:
                continue
            values = frame.to_ndarray().reshape(frame.samples, channels)
            if self.spec_in.format == "S24LE":
                values = _store_integers(values.astype(np.int64) >> 8, "S24LE")
            out.append(values)
        return out


class AudioResample(_AudioConverter):
    """``audioresample``: raw audio at any rate from 1 to 1000000 Hz, in the same format and
    channels, by swresample (see the module docstring). Output times run on from the first
    input sample's start at the output rate; media times are not set. Offers the input's
    rate; a caps filter sets another (``! audio/x-raw,rate=22050 !``)."""

    description = "Resamples raw audio to any rate (swresample)"
    converted = ("rate",)

    def frames_per_sample(self, in_type: MediaType, out_type: MediaType) -> int:
        """An upstream sample's frames at the output rate, and room for the resampler's
        delay."""
        frames = super().frames_per_sample(in_type, out_type)
        rate_in: int = in_type.format.samples_per_sec
        rate_out: int = out_type.format.samples_per_sec
        return -(-frames * rate_out // rate_in) + 64

    def make_job(self, in_type: MediaType, out_type: MediaType) -> _Job:
        """A swresample stream, started by the first sample."""
        return _ResampleJob(in_type, out_type)

    def finish_job(self, job: _Job) -> None:
        """The input type changed: deliver what the old stream's resampler holds first."""
        if isinstance(job, _ResampleJob) and job.started:
            self._send_blocks(job, job.drain())

    def convert(self, pin: BaseInputPin, sample: Any, job: _Job) -> bool:
        """Resample the frames; deliver what comes out, timed from the stream's start (a
        discontinuity ends the stream before it and starts another)."""
        assert isinstance(job, _ResampleJob)
        try:
            if job.started and sample.IsDiscontinuity() and not self._send_blocks(job, job.drain()):
                return False
            if not job.started:
                job.begin(sample)
            with audio_frames(sample, job.in_type, write=False) as frames:
                blocks = job.push(frames.array)
        except Exception as exc:
            pin.stream_error(exc)
            raise
        return self._send_blocks(job, blocks)

    def _send_blocks(self, job: _ResampleJob, blocks: list[Array]) -> bool:
        for block in blocks:
            discontinuity, job.discontinuity = job.discontinuity, False
            rate = job.spec_out.rate
            sent = self._send(
                block, job, None, job.start, rate, job.delivered, discontinuity=discontinuity
            )
            job.delivered += len(block)
            if not sent:
                return False
        return True

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Deliver what the resampler holds, then end of stream."""
        job = self._job
        if isinstance(job, _ResampleJob) and job.started and self.output.is_connected():
            try:
                self._send_blocks(job, job.drain())
            except Exception as exc:
                pin.stream_error(exc)
                raise
        super().end_of_stream(pin)

    def reset_stream(self) -> None:
        """Drop the resampler's history (after a flush or a stop nothing of it is wanted)."""
        job = self._job
        if isinstance(job, _ResampleJob):
            job.drop()
