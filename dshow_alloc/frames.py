"""numpy views of raw video frames and audio buffers, over a sample's own bytes (no copy).

``video_frame(sample, media_type)`` and ``audio_frames(sample, media_type)`` describe the
sample's data as numpy arrays; using the result as a context manager maps the sample for as
long as the ``with`` block lasts::

    with video_frame(sample, pin.ConnectionMediaType()) as frame:
        y, uv = frame.planes                  # NV12: (h, w) and (h/2, w) uint8, no copy
        y[:] = 255 - y

    with audio_frames(sample, pin.ConnectionMediaType()) as audio:
        audio.array[:, 0] //= 2               # S16LE stereo: an (n, 2) array of <i2

Layout. A video frame's planes lie where the sample's ``VIDEO_META`` says (padded strides)
when it has one whose width, height and plane count match the type, else where the type's
tight layout (`video_layout`) puts them. Each plane array is 2-D ``(rows, row bytes of image
data)`` with the row stride of that layout, so padding is left out; ``frame.data`` is every
``GetActualDataLength()`` byte, padding included.

Mapping. Entering maps a dshow_alloc `MediaSample` with ``Map``: READ for a read-only sample
(a ``tee``'s or ``shmsrc``'s), READ|WRITE otherwise (``write=`` chooses); any other
``IMediaSample`` is read through ``GetPointer()``. The arrays of a READ mapping are read-only
(writing raises ValueError); those of a WRITE mapping write through to the sample. Leaving
the block unmaps.

After the block. ``frame.planes``, ``frame.data`` and ``audio.array`` raise ValueError ("the
frame's mapping ended"), and every array the frame handed out is made read-only, so a kept
array can no longer write into a sample that may be back in its pool. Reading a kept array
stays memory-safe but is not prevented: numpy never re-checks a buffer, so no array can be
made to raise on read. What makes it safe is that the arrays are built over a memoryview of
their own which nobody releases (numpy 2 even takes its own view of it): as long as an array
lives, that view holds the buffer export of the memory's backing store, so a ``bytearray``
cannot be resized and an ``mmap`` cannot be closed (``SharedMemory`` defers the close) under
it. The bytes it shows are whatever the memory holds later. (Releasing a memoryview at exit
would not help: numpy holds no export on the view it was given, so ``release()`` succeeds
while arrays exist, and with numpy 1.x would leave them pointing at memory that can be freed.)
Views you derive yourself (``y[::2]``) keep the writability they had.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import numpy.typing as npt

from dshow_alloc.audio import audio_format
from dshow_alloc.hresult import AccessDeniedError
from dshow_alloc.mediatype import MediaType, WaveFormatEx
from dshow_alloc.memory import MapFlags
from dshow_alloc.sample import MediaSample
from dshow_alloc.video import VIDEO_META, video_format, video_layout

__all__ = ["AUDIO_DTYPES", "AudioFrames", "VideoFrame", "audio_frames", "video_frame"]

_READ = MapFlags.READ
_READ_WRITE = MapFlags.READ | MapFlags.WRITE
_ENDED = "the frame's mapping ended: use its arrays inside the with block"
_UNMAPPED = "the frame is not mapped: use it as a context manager (with video_frame(...) as f)"

# -- the mapping, shared by video and audio ----------------------------------------------------


class _Mapped:
    """A sample's bytes mapped for one ``with`` block, as numpy arrays made by ``_enter``.

    Plain ``__slots__`` classes, not attrs: a frame is made and mapped once per sample on the
    streaming thread (``invert`` at 1080p), so construction is kept to a few attribute stores.
    """

    __slots__ = ("_handed", "_length", "_lock", "_mapping", "_sample", "_state", "_write")

    _mapping: Any
    """The sample's `SampleMapInfo` while mapped with Map, else None (set by __enter__)."""
    _handed: list[npt.NDArray[Any]]
    """Every array handed out while mapped (made read-only at exit); [0] is the first made."""

    def __init__(self, sample: Any, length: int, write: bool | None, lock: bool) -> None:
        self._sample = sample
        self._length = length
        self._write = write
        self._lock = lock
        self._state = 0  # 0 never mapped, 1 mapped, 2 mapping ended

    @property
    def mapped(self) -> bool:
        """True inside the ``with`` block."""
        return self._state == 1

    @property
    def writable(self) -> bool:
        """True when the mapping is writable: the arrays write through to the sample."""
        self._check()
        return bool(self._handed[0].flags.writeable)

    def _check(self) -> None:
        if self._state != 1:
            raise ValueError(_ENDED if self._state == 2 else _UNMAPPED)

    def _first_array(self, view: memoryview) -> npt.NDArray[Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self._state == 1:
            raise ValueError("the frame is mapped already; a frame maps once at a time")
        sample = self._sample
        write = self._write
        mapping: Any = None
        if self._lock and isinstance(sample, MediaSample):
            if write is None:
                write = not sample.IsReadOnly()
            mapping = sample.Map(_READ_WRITE if write else _READ)
            try:
                view = mapping.data
            except ValueError:  # scattered blocks: GetPointer merges them (see its docstring)
                mapping.Unmap()
                mapping = None
                view = sample.GetPointer()
        else:
            view = sample.GetPointer()
            if write and view.readonly:
                raise AccessDeniedError(message="a writable frame of a read-only sample")
        if write is False and not view.readonly:
            view = view.toreadonly()
        try:
            # A view of our own, released by nobody: it keeps the backing store exported (so
            # alive) for as long as any array made over it lives. See the module docstring.
            self._handed = [self._first_array(memoryview(view))]
        except BaseException:
            if mapping is not None:
                mapping.Unmap()
            raise
        self._mapping = mapping
        self._state = 1
        return self

    def __exit__(self, *exc: object) -> None:
        if self._state != 1:
            return
        self._state = 2
        for array in self._handed:
            array.flags.writeable = False  # a kept array must not write into a pooled sample
        self._handed = []
        mapping, self._mapping = self._mapping, None
        if mapping is not None:
            mapping.Unmap()


# -- video -------------------------------------------------------------------------------------

_CHANNELS = {"RGB24": 3, "RGB32": 4}  # packed DIB formats: bytes per pixel (B, G, R[, X])

# One plane's array: (shape, offset, strides) for np.ndarray(buffer=...).
_Plane = tuple[tuple[int, ...], int, tuple[int, ...]]


class _Geometry:
    """What a video type implies, computed once per MediaType object (see `_geometry`)."""

    __slots__ = (
        "bottom_up",
        "channels",
        "format",
        "height",
        "media_type",
        "n_planes",
        "offsets",
        "plans",
        "row_bytes",
        "rows",
        "strides",
        "tight",
        "width",
    )

    def __init__(self, media_type: MediaType, name: str) -> None:
        layout = video_layout(media_type)
        self.media_type = media_type
        self.format = name
        self.width, self.height = layout.width, layout.height
        self.n_planes = layout.n_planes
        self.rows = layout.heights
        self.channels = _CHANNELS.get(name, 0)
        # A DIB with a positive biHeight is stored bottom row first; YUV is always top-down.
        self.bottom_up = bool(self.channels) and media_type.format.height > 0
        if self.channels:
            self.row_bytes: tuple[int, ...] = (layout.width * self.channels,)
        else:
            # With no alignment asked for, the tight strides are the image bytes of a row.
            self.row_bytes = layout.strides
        self.plans: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, list[_Plane]]] = {}
        self.offsets, self.strides = layout.offsets, layout.strides
        self.tight = self.plan(layout.offsets, layout.strides)

    def plan(self, offsets: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, list[_Plane]]:
        """The bytes a frame needs and each plane's array, for these offsets and strides."""
        key = (offsets, strides)
        found = self.plans.get(key)
        if found is not None:
            return found
        needed = 0
        planes: list[_Plane] = []
        for index, (offset, stride) in enumerate(zip(offsets, strides, strict=True)):
            rows, row_bytes = self.rows[index], self.row_bytes[index]
            if stride < row_bytes:
                raise ValueError(
                    f"plane {index} of a {self.width}x{self.height} {self.format} frame has "
                    f"{row_bytes} bytes a row; a stride of {stride} cannot hold them"
                )
            needed = max(needed, offset + stride * (rows - 1) + row_bytes)
            if self.channels:
                pixel = (self.channels, 1)
                shape: tuple[int, ...] = (rows, self.width, self.channels)
                if self.bottom_up:  # first row in memory is the bottom one: present top-down
                    planes.append((shape, offset + stride * (rows - 1), (-stride, *pixel)))
                else:
                    planes.append((shape, offset, (stride, *pixel)))
            else:
                planes.append(((rows, row_bytes), offset, (stride, 1)))
        if len(self.plans) < 16:  # a producer uses one padded layout; never grow unbounded
            self.plans[key] = (needed, planes)
        return needed, planes


_geometries: dict[int, _Geometry] = {}


def _geometry(media_type: Any) -> _Geometry:
    """The geometry of a video type, made and remembered (`video_frame` looks it up first:
    by identity, since a pin hands out the same MediaType object for every sample, and
    hashing the frozen attrs type with its format block would cost microseconds)."""
    if not isinstance(media_type, MediaType):
        raise TypeError(f"video_frame needs a MediaType, not {type(media_type).__name__}")
    name = video_format(media_type)
    if name is None:
        raise ValueError(
            "video_frame needs a raw video type of a known format (NV12, I420, IYUV, YUY2, "
            f"RGB24, RGB32), not major type {media_type.major_type} / subtype "
            f"{media_type.subtype}"
        )
    geometry = _Geometry(media_type, name)
    if len(_geometries) >= 64:
        _geometries.clear()
    _geometries[id(media_type)] = geometry
    return geometry


class VideoFrame(_Mapped):
    """One raw video frame of a sample, as numpy arrays over the sample's bytes.

    Made by `video_frame`; use it as a context manager (see the module docstring for the
    mapping and what holds after the block).
    """

    __slots__ = ("_geometry", "_plane_arrays", "_planes", "offsets", "strides")

    offsets: tuple[int, ...]
    """Where each plane starts in the sample (from the ``VIDEO_META`` or the tight layout)."""
    strides: tuple[int, ...]
    """Bytes per row of each plane in memory, padding included (positive, as stored)."""

    def __init__(
        self,
        sample: Any,
        geometry: _Geometry,
        offsets: tuple[int, ...],
        strides: tuple[int, ...],
        planes: list[_Plane],
        length: int,
        write: bool | None,
        lock: bool,
    ) -> None:
        # Hot path (one frame per sample): the stores of _Mapped.__init__ written out, and the
        # rest of the state (_mapping, _handed, _plane_arrays) set by __enter__.
        self._sample = sample
        self._length = length
        self._write = write
        self._lock = lock
        self._state = 0
        self._geometry = geometry
        self.offsets = offsets
        self.strides = strides
        self._planes = planes

    @property
    def format(self) -> str:
        """The format name: ``"NV12"``, ``"I420"``, ``"IYUV"``, ``"YUY2"``, ``"RGB24"`` or
        ``"RGB32"``."""
        return self._geometry.format

    @property
    def width(self) -> int:
        """Pixels per row."""
        return self._geometry.width

    @property
    def height(self) -> int:
        """Rows (positive, whatever the DIB orientation)."""
        return self._geometry.height

    @property
    def bottom_up(self) -> bool:
        """True for an RGB DIB stored bottom row first (its planes are still shown top-down)."""
        return self._geometry.bottom_up

    def _first_array(self, view: memoryview) -> npt.NDArray[Any]:
        self._plane_arrays: tuple[npt.NDArray[np.uint8], ...] | None = None
        return np.frombuffer(view, np.uint8, self._length)

    @property
    def data(self) -> npt.NDArray[np.uint8]:
        """All ``GetActualDataLength()`` bytes of the frame, padding included, 1-D uint8."""
        self._check()
        return self._handed[0]

    @property
    def planes(self) -> tuple[npt.NDArray[np.uint8], ...]:
        """One uint8 array per plane, over the sample's bytes (no copy).

        Planar and semi-planar YUV (NV12: Y, UV; I420/IYUV: Y, U, V): 2-D ``(rows, row
        bytes)``, e.g. NV12's UV plane is ``(ceil(h/2), 2*ceil(w/2))`` with U and V
        interleaved. YUY2 (packed 4:2:2): one ``(h, 4*ceil(w/2))`` plane of Y0 U Y1 V bytes.
        RGB24 and RGB32: one ``(h, w, 3 or 4)`` array in DIB byte order B, G, R (, X), its
        rows always top-down: a bottom-up DIB (positive ``biHeight``) is presented through a
        negative row stride (``planes[0].strides[0] < 0``), so ``planes[0][0]`` is the top row.
        """
        self._check()
        arrays = self._plane_arrays
        if arrays is None:  # made on first use: invert, say, needs only ``data``
            data = self._handed[0]
            arrays = tuple(np.ndarray(s, np.uint8, data, o, t) for s, o, t in self._planes)
            self._handed.extend(arrays)
            self._plane_arrays = arrays
        return arrays


def video_frame(
    sample: Any,
    media_type: MediaType | None = None,
    *,
    write: bool | None = None,
    lock: bool = True,
) -> VideoFrame:
    """The raw video frame in ``sample``, described by ``media_type`` (a `VideoFrame`).

    ``media_type`` defaults to the one the sample carries (``GetMediaType()``, set when the
    type changed); a filter passes its pin's ``ConnectionMediaType()``. The planes lie where
    the sample's ``VIDEO_META`` says when its width, height and plane count match the type,
    else in the type's tight layout. ``write`` chooses the mapping: None maps READ|WRITE
    unless the sample is read-only, False maps READ (read-only arrays, no copy-on-write),
    True insists on WRITE (a read-only sample then raises ``AccessDeniedError`` at entry).
    ``lock=False`` reads a `MediaSample` through ``GetPointer()`` instead of ``Map``: the same
    bytes, read-only and copy-on-write rules, but no map lock is taken, so nothing refuses a
    conflicting ``Map`` meanwhile. It is for a filter that holds the sample alone (a
    ``TransInPlaceFilter.Transform``) on a hot path: ``Map`` plus ``Unmap`` cost about 10 us.

    Raises TypeError when there is no media type, ValueError for a type that is not raw
    video of a known format or a sample whose ``GetActualDataLength()`` bytes are too few for
    the layout. Nothing is mapped until the frame is entered.
    """
    if media_type is None:
        media_type = sample.GetMediaType()
        if media_type is None:
            raise TypeError(
                "the sample carries no media type: pass video_frame(sample, media_type), "
                "in a filter the pin's ConnectionMediaType()"
            )
    geometry = _geometries.get(id(media_type))
    if geometry is None or geometry.media_type is not media_type:
        geometry = _geometry(media_type)
    offsets, strides = geometry.offsets, geometry.strides
    needed, planes = geometry.tight
    meta = sample.GetMeta(VIDEO_META) if hasattr(sample, "GetMeta") else None
    if (
        meta is not None
        and meta.width == geometry.width
        and meta.height == geometry.height
        and meta.n_planes == geometry.n_planes
    ):
        offsets, strides = meta.offsets, meta.strides
        needed, planes = geometry.plan(offsets, strides)
    length = sample.GetActualDataLength()
    if length < needed:
        raise ValueError(
            f"the sample holds {length} bytes; a {geometry.width}x{geometry.height} "
            f"{geometry.format} frame with offsets {offsets} and strides {strides} needs "
            f"{needed}"
        )
    return VideoFrame(sample, geometry, offsets, strides, planes, length, write, lock)


# -- audio -------------------------------------------------------------------------------------

AUDIO_DTYPES: dict[str, str] = {"U8": "u1", "S16LE": "<i2", "S32LE": "<i4", "F32LE": "<f4"}
"""The numpy dtype of each audio format; S24LE has none (see `AudioFrames.array`)."""
_WIDTHS = {"U8": 1, "S16LE": 2, "S24LE": 3, "S32LE": 4, "F32LE": 4}


class AudioFrames(_Mapped):
    """The audio frames of a sample, as one numpy array over its bytes. Made by
    `audio_frames`; a context manager like `VideoFrame`."""

    __slots__ = ("channels", "format", "n_frames", "rate")

    format: str
    """The format name (``"S16LE"``)."""
    channels: int
    """Samples per frame."""
    rate: int
    """Frames per second."""
    n_frames: int
    """Whole frames in the sample's ``GetActualDataLength()`` bytes."""

    def __init__(
        self,
        sample: Any,
        name: str,
        wave: WaveFormatEx,
        n_frames: int,
        write: bool | None,
        lock: bool,
    ) -> None:
        super().__init__(sample, n_frames * wave.block_align, write, lock)
        self.format = name
        self.channels = wave.channels
        self.rate = wave.samples_per_sec
        self.n_frames = n_frames

    def _first_array(self, view: memoryview) -> npt.NDArray[Any]:
        if self.format == "S24LE":
            raw = np.frombuffer(view, np.uint8, self._length)
            return raw.reshape(self.n_frames, self.channels, 3)
        values = np.frombuffer(view, AUDIO_DTYPES[self.format], self.n_frames * self.channels)
        return values.reshape(self.n_frames, self.channels)

    @property
    def array(self) -> npt.NDArray[Any]:
        """``(n_frames, channels)`` of the format's dtype (`AUDIO_DTYPES`), interleaved as
        stored. S24LE, which numpy has no dtype for, gives ``(n_frames, channels, 3)`` uint8:
        each value's three little-endian bytes."""
        self._check()
        return self._handed[0]


def audio_frames(
    sample: Any,
    media_type: MediaType | None = None,
    *,
    write: bool | None = None,
    lock: bool = True,
) -> AudioFrames:
    """The raw audio in ``sample``, described by ``media_type`` (an `AudioFrames`).

    ``media_type``, ``write`` and ``lock`` as for `video_frame`. The array covers the whole
    frames among the sample's ``GetActualDataLength()`` bytes; the bytes of a trailing partial
    frame are left out. Raises TypeError when there is no media type, ValueError for a type that is
    not raw audio in ``AUDIO_FORMATS`` or whose ``block_align`` is not ``channels`` times the
    sample width.
    """
    if media_type is None:
        media_type = sample.GetMediaType()
        if media_type is None:
            raise TypeError(
                "the sample carries no media type: pass audio_frames(sample, media_type), "
                "in a filter the pin's ConnectionMediaType()"
            )
    if not isinstance(media_type, MediaType):
        raise TypeError(f"audio_frames needs a MediaType, not {type(media_type).__name__}")
    name = audio_format(media_type)
    if name is None:
        raise ValueError(
            "audio_frames needs raw audio (U8, S16LE, S24LE, S32LE, F32LE in a WaveFormatEx), "
            f"not major type {media_type.major_type} / subtype {media_type.subtype}"
        )
    wave = media_type.format
    assert isinstance(wave, WaveFormatEx)  # audio_format checked it
    if wave.channels < 1 or wave.block_align != wave.channels * _WIDTHS[name]:
        raise ValueError(
            f"{name} with {wave.channels} channels has {wave.channels * _WIDTHS[name]}-byte "
            f"frames, but the format says block_align={wave.block_align}"
        )
    n_frames = sample.GetActualDataLength() // wave.block_align
    return AudioFrames(sample, name, wave, n_frames, write, lock)
