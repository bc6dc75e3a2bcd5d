"""``wavsrc`` and ``wavsink``: uncompressed audio in RIFF/WAVE (``.wav``) files.

A WAVE file is a RIFF container: a ``fmt `` chunk holding a ``WAVEFORMATEX`` (or its
``WAVEFORMATEXTENSIBLE`` extension), then a ``data`` chunk holding the interleaved samples,
with any other chunks (``LIST``, ``fact``, ...) skipped; each chunk is padded to an even
length. The samples are exactly what DirectShow's PCM and IEEE float types carry, so they go
between the file and the samples' memory with no conversion.

Pure Python on purpose: these filters work with the core install (no numpy).
"""

from __future__ import annotations

import io
import logging
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

import attrs

from dshow_alloc.audio import audio_format, audio_type
from dshow_alloc.mediatype import (
    MEDIASUBTYPE_IEEE_FLOAT,
    MEDIASUBTYPE_PCM,
    WAVE_FORMAT_IEEE_FLOAT,
    WAVE_FORMAT_PCM,
    MediaType,
)
from dshow_alloc.plugins._common import (
    IN,
    OUT,
    SECOND,
    FileSink,
    FileSource,
    location_error,
    open_checked,
    path_prop,
    required,
    write_all,
)
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.seeking import SourceSeeking, frame_containing

__all__ = ["WAVE_FORMAT_EXTENSIBLE", "WavInfo", "WavSink", "WavSource", "read_wav_info"]

log = logging.getLogger(__name__)


WAVE_FORMAT_EXTENSIBLE = 0xFFFE
"""wFormatTag of a ``WAVEFORMATEXTENSIBLE``: the real format is its SubFormat GUID."""

# KSDATAFORMAT_SUBTYPE_PCM and _IEEE_FLOAT are the DirectShow subtype GUIDs.
_SUBFORMATS = {MEDIASUBTYPE_PCM: WAVE_FORMAT_PCM, MEDIASUBTYPE_IEEE_FLOAT: WAVE_FORMAT_IEEE_FLOAT}
_FORMAT_NAMES = {
    (WAVE_FORMAT_PCM, 8): "U8",
    (WAVE_FORMAT_PCM, 16): "S16LE",
    (WAVE_FORMAT_PCM, 24): "S24LE",
    (WAVE_FORMAT_PCM, 32): "S32LE",
    (WAVE_FORMAT_IEEE_FLOAT, 32): "F32LE",
}
# dwChannelMask for n channels, Microsoft's usual speaker layouts (KSAUDIO_SPEAKER_*):
# mono FC; stereo FL FR; FL FR FC; quad FL FR BL BR; FL FR FC BL BR; 5.1; FL FR FC LFE BL BR
# BC; 7.1 surround (FL FR FC LFE BL BR SL SR). More channels: 0, no speaker assignment.
_CHANNEL_MASKS = {1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 5: 0x37, 6: 0x3F, 7: 0x13F, 8: 0x63F}
_MAX_FMT = 1 << 16  # a fmt chunk larger than this is not a WAVEFORMATEX
_RIFF_LIMIT = 0xFFFFFFFF


@attrs.frozen
class WavInfo:
    """What a WAVE file's header says."""

    format: str
    """The sample format (``S16LE``, ``F32LE``, ... as `audio_type` names them)."""
    rate: int
    """nSamplesPerSec."""
    channels: int
    """nChannels."""
    data_offset: int
    """Where the samples start in the file."""
    frames: int
    """How many whole frames (one sample per channel) the data chunk holds."""
    block_align: int
    """nBlockAlign: bytes per frame."""


def read_wav_info(file: BinaryIO, path: Path | str = "<stream>") -> WavInfo:
    """Parse the RIFF/WAVE header of ``file`` (positioned at its start), up to the start of
    the data chunk.

    A data chunk that claims more bytes than the file has (a file whose writer never patched
    the sizes, or one cut short) is taken as the whole frames the file holds.

    Raises:
        ValueError: not a WAVE file, a compressed or unsupported format, or a header that
            ends before the data chunk (the message names ``path``).
    """
    file_size = os.fstat(file.fileno()).st_size
    riff = file.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
        kind = "RF64 (WAVE over 4 GiB)" if riff[:4] in (b"RF64", b"BW64") else "RIFF/WAVE"
        if riff[:4] == b"RIFX":
            kind = "big-endian RIFX"
        if kind != "RIFF/WAVE":
            raise ValueError(f"{path}: {kind} files are not supported")
        raise ValueError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    position = 12
    fmt: tuple[str, int, int, int] | None = None
    while True:
        head = file.read(8)
        if len(head) < 8:
            missing = "fmt and data chunks" if fmt is None else "data chunk"
            raise ValueError(f"{path}: truncated WAV header (the file ends before its {missing})")
        chunk_id, size = head[:4], struct.unpack("<I", head[4:])[0]
        position += 8
        if chunk_id == b"fmt ":
            if not 16 <= size <= _MAX_FMT:
                raise ValueError(f"{path}: bad fmt chunk size {size}")
            body = file.read(size)
            if len(body) < size:
                raise ValueError(f"{path}: truncated WAV header (inside the fmt chunk)")
            fmt = _parse_fmt(body, path)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError(f"{path}: the data chunk comes before the fmt chunk")
            name, rate, channels, block_align = fmt
            available = file_size - position
            if size > available:
                log.warning(
                    "%s: the data chunk claims %d bytes but the file holds %d after it; "
                    "reading those",
                    path,
                    size,
                    available,
                )
                size = available
            if size % block_align:
                log.warning("%s: %d bytes after the last whole frame are ignored", path, size)
            return WavInfo(name, rate, channels, position, size // block_align, block_align)
            file.seek(size & 1, os.SEEK_CUR)
        else:
            file.seek(size + (size & 1), os.SEEK_CUR)
        position += size + (size & 1)  # chunks are padded to even sizes


def _parse_fmt(body: bytes, path: Path | str) -> tuple[str, int, int, int]:
    """(format name, rate, channels, block align) from a fmt chunk."""
    tag, channels, rate, _avg, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise ValueError(f"{path}: WAVE_FORMAT_EXTENSIBLE fmt chunk of {len(body)} bytes")
        subformat = UUID(bytes_le=body[24:40])
        if subformat not in _SUBFORMATS:
            raise ValueError(
                f"{path}: compressed or unsupported WAVE_FORMAT_EXTENSIBLE subformat "
                f"{subformat}; wavsrc reads PCM and IEEE float"
            )
        tag = _SUBFORMATS[subformat]
    name = _FORMAT_NAMES.get((tag, bits))
    if name is None:
        if tag in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT):
            kind = "PCM" if tag == WAVE_FORMAT_PCM else "IEEE float"
            raise ValueError(f"{path}: {bits}-bit {kind} is not supported")
        raise ValueError(
            f"{path}: compressed or unsupported WAV format tag {tag:#06x}; "
            "wavsrc reads PCM (8, 16, 24, 32 bits) and 32-bit IEEE float"
        )
    if not 1 <= channels <= 64 or rate == 0:
        raise ValueError(f"{path}: bad WAV format ({channels} channels at {rate} Hz)")
    if block_align != channels * bits // 8:
        raise ValueError(
            f"{path}: block align {block_align} does not match {channels} channels of {bits} bits"
        )
    return name, rate, channels, block_align


# -- wavsrc ----------------------------------------------------------------------------------


@attrs.define
class _SourceProperties:
    location: Path | None = path_prop("the .wav file to read")  # noqa: RUF009 (an attrs field)
    samples_per_buffer: int = prop(
        1024, kind=int, minimum=1, maximum=1 << 24, doc="frames (samples per channel) a buffer"
    )


class WavSource(SourceSeeking, FileSource[io.FileIO], Element):
    """``wavsrc``: reads a PCM or IEEE float WAV file into raw audio samples.

    The header is read when the filter is made, so the output pin offers the exact type
    (``audio_type(format, rate, channels)``, its only type). Formats: PCM of 8, 16, 24 or
    32 bits, 32-bit IEEE float, plain or as ``WAVE_FORMAT_EXTENSIBLE``; anything else
    (compressed, 64-bit float, RF64) raises ValueError, as does a file that is not WAV or
    whose header is cut short. Unknown chunks are skipped.

    Each buffer holds ``samples-per-buffer`` frames (the last one fewer), read straight
    into the sample's memory. A buffer whose first frame is frame ``k`` starts at
    ``k * 10_000_000 // rate`` and stops where the next one starts; its media time is the
    frame range ``(k, k + n)``; all are sync points and the first is a discontinuity.

    Seeking (`SourceSeeking`), exact to the frame: the duration is the end of the last
    frame, and after ``SetPositions(t)`` the first buffer starts at the frame that contains
    ``t`` (buffers of ``samples-per-buffer`` frames follow from there). Every frame is a key
    frame: ``AM_SEEKING_SeekToKeyFrame`` starts at the same frame, the segment at its start.
    """

    Properties = _SourceProperties
    description = "Reads PCM or float audio from a WAV file"
    pin_templates = (
        PinTemplate(
            "Output",
            OUT,
            "audio/x-raw,format={U8,S16LE,S24LE,S32LE,F32LE},rate=[1,1000000],channels=[1,64]",
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        location = required(self.props.location, "wavsrc needs a location (the .wav file to read)")
        try:
            with location.open("rb") as file:
                self.info = read_wav_info(file, location)
                """The file's header, as read when the filter was made."""
        except OSError as exc:
            raise location_error(exc, name or "wavsrc", location, "read") from exc
        info = self.info
        media_type = audio_type(info.format, info.rate, info.channels)
        self._block_align = info.block_align
        super().__init__(
            name=name,
            media_type=media_type,
            buffer_size=self.props.samples_per_buffer * self._block_align,
        )
        self._frame = 0
        self._frames = info.frames
        self._data_offset = info.data_offset

    def expected_samples(self) -> int | None:
        """The number of buffers: the file's frames in ``samples-per-buffer`` pieces."""
        per_buffer: int = self.props.samples_per_buffer
        return -(-self.info.frames // per_buffer)

    def open_file(self) -> io.FileIO:
        """Open the file at its first frame (each run starts there), as ``Pause`` leaves
        Stopped. Raises OSError when the file cannot be opened and ValueError when its header
        no longer matches the connected type."""
        file = open_checked(self.props.location, "rb", self._check_header)
        self._frame = 0
        return file

    def _check_header(self, file: io.FileIO) -> None:
        """Read the header again: the same format, and the data's frames now."""
        location: Path = self.props.location
        info = read_wav_info(file, location)
        if (info.format, info.rate, info.channels) != (
            self.info.format,
            self.info.rate,
            self.info.channels,
        ):
            raise ValueError(f"{location} changed since wavsrc read its header")
        file.seek(info.data_offset)
        self._frames = info.frames
        self._data_offset = info.data_offset

    def seek_duration(self) -> int | None:
        """The end of the last frame (of the file as it was last opened)."""
        return self._frames * SECOND // self.info.rate

    def seek_to(self, position: int, key_frame: bool) -> int:
        """Move to the frame that contains ``position`` (see the class docstring)."""
        rate = self.info.rate
        frame = frame_containing(position, rate)
        file = self._file
        if file is not None:
            file.seek(self._data_offset + frame * self._block_align)
        self._frame = frame
        return frame * SECOND // rate if key_frame else position

    def FillBuffer(self, sample: Any) -> bool:
        """Read the next ``samples-per-buffer`` frames into ``sample``; False at the end."""
        file = self._file
        first = self._frame
        count = min(self.props.samples_per_buffer, self._frames - first)
        if file is None or count <= 0:
            return False
        wanted = count * self._block_align
        view = sample.GetPointer()[:wanted]
        got = 0
        while got < wanted:
            n = file.readinto(view[got:])
            if not n:
                raise ValueError(
                    f"{self.props.location}: the file ends inside frame "
                    f"{first + got // self._block_align} (it was cut short while reading)"
                )
            got += n
        rate = self.info.rate
        self._frame = first + count
        sample.SetActualDataLength(wanted)
        sample.SetTime(first * SECOND // rate, (first + count) * SECOND // rate)
        sample.SetMediaTime(first, first + count)
        sample.SetSyncPoint(True)
        sample.SetDiscontinuity(first == 0)
        return True


# -- wavsink ---------------------------------------------------------------------------------


@attrs.define
class _SinkProperties:
    location: Path | None = path_prop("the .wav file to write")  # noqa: RUF009 (an attrs field)


@attrs.frozen
class _Layout:
    """Where the sizes to patch lie in a header written by `wav_header`."""

    header: bytes
    fact_offset: int | None  # the fact chunk's sample count, for float
    data_size_offset: int


def wav_header(media_type: MediaType) -> _Layout:
    """The RIFF/WAVE header (sizes zero) for a raw audio type, as `WavSink` writes it."""
    wave = media_type.format
    tag, channels, bits = wave.format_tag, wave.channels, wave.bits_per_sample
    common = (channels, wave.samples_per_sec, wave.avg_bytes_per_sec, wave.block_align, bits)
    if channels > 2 or (tag == WAVE_FORMAT_PCM and bits > 16):
        # WAVEFORMATEXTENSIBLE, as Microsoft asks for more than two channels or more than
        # 16 bits: wValidBitsPerSample, dwChannelMask, SubFormat.
        subformat = MEDIASUBTYPE_PCM if tag == WAVE_FORMAT_PCM else MEDIASUBTYPE_IEEE_FLOAT
        mask = _CHANNEL_MASKS.get(channels, 0)
        fmt = struct.pack("<HHIIHHHHI", WAVE_FORMAT_EXTENSIBLE, *common, 22, bits, mask)
        fmt += subformat.bytes_le
    elif tag == WAVE_FORMAT_PCM:
        fmt = struct.pack("<HHIIHH", tag, *common)  # PCMWAVEFORMAT: no cbSize
    else:
        fmt = struct.pack("<HHIIHHH", tag, *common, 0)
    header = b"RIFF\0\0\0\0WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
    fact_offset = None
    if tag != WAVE_FORMAT_PCM:  # every non-PCM format has a fact chunk: frames in the file
        header += b"fact" + struct.pack("<I", 4)
        fact_offset = len(header)
        header += b"\0\0\0\0"
    header += b"data"
    return _Layout(header + b"\0\0\0\0", fact_offset, len(header))


class WavSink(FileSink[io.FileIO], Element):
    """``wavsink``: writes raw audio samples (PCM or IEEE float) to a WAV file.

    One or two channels of 8/16-bit PCM or 32-bit float get a plain ``WAVEFORMATEX``
    (format tag 1 or 3); more channels, or 24/32-bit PCM, get ``WAVE_FORMAT_EXTENSIBLE``
    with the usual speaker mask for the channel count, as Microsoft recommends. Float files
    carry a ``fact`` chunk (the frame count).

    The file is created (truncated) with its header when the filter leaves Stopped
    (``Pause`` raises an OSError naming the filter and ``location`` for a bad location,
    changing nothing); sizes are patched and the data chunk padded to an even length at end
    of stream, before EC_COMPLETE is reported, or at ``Stop``. A clean run of no samples
    makes a valid file with an empty data chunk; a failed one removes it (see `FileSink`).
    Samples must hold whole frames (ValueError otherwise).
    """

    Properties = _SinkProperties
    description = "Writes PCM or float audio to a WAV file"
    pin_templates = (
        PinTemplate(
            "In",
            IN,
            "audio/x-raw,format={U8,S16LE,S24LE,S32LE,F32LE},rate=[1,1000000],channels=[1,64]",
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        required(self.props.location, "wavsink needs a location (the .wav file to write)")
        super().__init__(name=name)
        self._layout: _Layout | None = None
        self._block_align = 0
        self.bytes_written = 0
        """Sample bytes in the current file's data chunk."""

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """Raw audio `audio_format` knows (PCM 8/16/24/32 bits, 32-bit float)."""
        return audio_format(media_type) is not None

    def open_file(self, media_type: MediaType) -> io.FileIO:
        """Create the file and write its header, as ``Pause`` leaves Stopped; OSError (a
        missing directory, no permission) leaves the filter stopped."""
        layout = wav_header(media_type)
        header = memoryview(layout.header)
        file = open_checked(self.props.location, "wb", lambda f: write_all(f.fileno(), [header]))
        self._layout = layout
        self._block_align = media_type.format.block_align
        self.bytes_written = 0
        return file

    def write_sample(self, file: io.FileIO, sample: Any) -> None:
        """Append the sample's bytes to the data chunk."""
        layout = self._layout
        assert layout is not None  # set with the file
        length = sample.GetActualDataLength()
        if length % self._block_align:
            raise ValueError(
                f"a {length}-byte sample does not hold whole {self._block_align}-byte frames"
            )
        if len(layout.header) + self.bytes_written + length + 1 - 8 > _RIFF_LIMIT:
            raise ValueError(f"{self.props.location}: a WAV file holds at most 4 GiB")
        write_all(file.fileno(), [sample.GetPointer()[:length]])
        self.bytes_written += length

    def finish_file(self, file: io.FileIO) -> None:
        """Pad the data chunk to an even length, patch the sizes, and close the file."""
        layout, self._layout = self._layout, None
        try:
            fd, size = file.fileno(), self.bytes_written
            assert layout is not None  # set with the file
            if size & 1:
                write_all(fd, [memoryview(b"\0")])
            total = len(layout.header) + size + (size & 1)
            os.pwrite(fd, struct.pack("<I", total - 8), 4)
            os.pwrite(fd, struct.pack("<I", size), layout.data_size_offset)
            if layout.fact_offset is not None:
                frames = size // self._block_align
                os.pwrite(fd, struct.pack("<I", frames), layout.fact_offset)
        finally:
            file.close()
