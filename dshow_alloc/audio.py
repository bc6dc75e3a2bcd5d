"""Raw audio types: PCM and IEEE float samples, interleaved, described by ``WAVEFORMATEX``.

Format names are GStreamer's (``S16LE``, ``F32LE``, ...): `audio_type` turns one, a rate and a
channel count into a fully specified `MediaType`; `audio_format` reads the name back.
"""

from __future__ import annotations

from dshow_alloc.mediatype import (
    MEDIASUBTYPE_IEEE_FLOAT,
    MEDIASUBTYPE_PCM,
    WAVE_FORMAT_IEEE_FLOAT,
    WAVE_FORMAT_PCM,
    FORMAT_WaveFormatEx,
    MediaType,
    MEDIATYPE_Audio,
    WaveFormatEx,
)

__all__ = ["AUDIO_FORMATS", "audio_format", "audio_type"]

# name -> (wFormatTag, wBitsPerSample)
_FORMATS = {
    "U8": (WAVE_FORMAT_PCM, 8),
    "S16LE": (WAVE_FORMAT_PCM, 16),
    "S24LE": (WAVE_FORMAT_PCM, 24),
    "S32LE": (WAVE_FORMAT_PCM, 32),
    "F32LE": (WAVE_FORMAT_IEEE_FLOAT, 32),
}
_BY_TAG = {value: name for name, value in _FORMATS.items()}

AUDIO_FORMATS: tuple[str, ...] = tuple(_FORMATS)
"""The raw audio format names `audio_type` knows (little-endian, interleaved)."""


def audio_type(format: str, rate: int, channels: int) -> MediaType:
    """A fully specified raw audio `MediaType`; a sample holds any whole number of frames."""
    try:
        tag, bits = _FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown audio format {format!r}; known: {AUDIO_FORMATS}") from None
    if type(rate) is not int or not 1 <= rate <= 1_000_000:
        raise ValueError(f"rate must be an int in 1..1000000 Hz, got {rate!r}")
    if type(channels) is not int or not 1 <= channels <= 64:
        raise ValueError(f"channels must be an int in 1..64, got {channels!r}")
    wave = WaveFormatEx(tag, channels, rate, bits)
    subtype = MEDIASUBTYPE_PCM if tag == WAVE_FORMAT_PCM else MEDIASUBTYPE_IEEE_FLOAT
    return MediaType(
        MEDIATYPE_Audio, subtype, FORMAT_WaveFormatEx, wave, sample_size=wave.block_align
    )


def audio_format(media_type: MediaType) -> str | None:
    """The format name of a raw audio type (``"S16LE"``), or None for any other type."""
    wave = media_type.format
    if media_type.major_type != MEDIATYPE_Audio or not isinstance(wave, WaveFormatEx):
        return None
    return _BY_TAG.get((wave.format_tag, wave.bits_per_sample))
