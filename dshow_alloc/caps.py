"""Media types written the GStreamer way: ``video/x-raw,format=I420,width=640,height=360``.

The launch syntax uses these *caps* strings as filters between two filters
(``videotestsrc ! video/x-raw,width=640 ! ...``), and ``inspect`` and ``dot`` use them to
show types. A `Caps` is a media kind (``video/x-raw``, ``audio/x-raw``) and fields:

============ ==================================== ==========================================
kind         field                                DirectShow
============ ==================================== ==========================================
video/x-raw  ``format`` (NV12, I420, IYUV, YUY2,  subtype
             RGB24, RGB32)
video/x-raw  ``width``, ``height``                VIDEOINFOHEADER biWidth, biHeight
video/x-raw  ``framerate`` (``30/1``, ``30000/1001``) AvgTimePerFrame (10^7 / framerate)
audio/x-raw  ``format`` (U8, S16LE, S24LE, S32LE, wFormatTag and wBitsPerSample
             F32LE)
audio/x-raw  ``rate``, ``channels``               nSamplesPerSec, nChannels
============ ==================================== ==========================================

A field's value is one value, a list of alternatives ``{I420,NV12}`` or an integer range
``[1,16384]`` (ranges appear in pin templates). A caps string that leaves a field out accepts
any value of it. `Caps.fixate` applies a caps filter to a type a pin offers: the fields it
fixes replace the offered ones, which is how a caps filter sets a source's size and format.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import attrs

from dshow_alloc.audio import AUDIO_FORMATS, audio_format, audio_type
from dshow_alloc.mediatype import MediaType, MEDIATYPE_Audio, MEDIATYPE_Video
from dshow_alloc.video import VIDEO_FORMATS, video_format, video_type

__all__ = ["Caps", "CapsError", "caps_of", "frame_time", "framerate_of"]

_SECOND = 10_000_000
VIDEO = "video/x-raw"
AUDIO = "audio/x-raw"
# kind -> field -> value kind
_FIELDS: dict[str, dict[str, str]] = {
    VIDEO: {"format": "video-format", "width": "int", "height": "int", "framerate": "fraction"},
    AUDIO: {"format": "audio-format", "rate": "int", "channels": "int"},
}
_NAME = re.compile(r"[a-z][a-z0-9-]*")


class CapsError(ValueError):
    """A caps string that does not parse; ``offset`` is where in the string it went wrong."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@attrs.frozen
class IntRange:
    """``[low,high]``: any int from ``low`` to ``high`` inclusive."""

    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return type(value) is int and self.low <= value <= self.high

    def __str__(self) -> str:
        return f"[{self.low},{self.high}]"


def frame_time(framerate: Fraction) -> int:
    """A frame's duration in 100 ns units (``AvgTimePerFrame``) at ``framerate`` frames/s."""
    if framerate <= 0:
        raise ValueError(f"a frame rate must be positive, got {framerate}")
    return round(_SECOND / framerate)


def framerate_of(avg_time_per_frame: int) -> Fraction:
    """The frame rate a frame duration stands for (``333667`` -> ``30000/1001``)."""
    if avg_time_per_frame <= 0:
        return Fraction(0)
    exact = Fraction(_SECOND, avg_time_per_frame)
    # The usual rates first: whole numbers and the NTSC ones (30000/1001).
    for candidate in (Fraction(round(exact)), Fraction(round(exact * 1001 / 1000) * 1000, 1001)):
        if candidate > 0 and frame_time(candidate) == avg_time_per_frame:
            return candidate
    return exact.limit_denominator(1000)


_KIND_NAMES = {"int": "an int", "fraction": "a fraction (30 or 30000/1001)"}


def _parse_scalar(name: str, kind: str, text: str) -> Any:
    if kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name} must be {_KIND_NAMES[kind]}, got {text!r}") from None
        if value <= 0:
            raise ValueError(f"bad value for {name}: {text} is not a positive int")
        return value
    if kind == "fraction":
        try:
            rate = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{name} must be {_KIND_NAMES[kind]}, got {text!r}") from None
        if rate <= 0:
            raise ValueError(f"bad value for {name}: {text} is not a positive frame rate")
        return rate
    known = VIDEO_FORMATS if kind == "video-format" else AUDIO_FORMATS
    if text not in known:
        raise ValueError(f"bad value for {name}: {text!r} is not one of {', '.join(known)}")
    return text


def _parse_value(name: str, kind: str, text: str) -> Any:
    """One field's value; ValueError with a whole sentence naming the field."""
    if text.startswith("{") and text.endswith("}"):
        items = [item.strip() for item in text[1:-1].split(",")]
        return tuple(_parse_scalar(name, kind, item) for item in items)
    if text.startswith("[") and text.endswith("]") and kind == "int":
        parts = text[1:-1].split(",")
        try:
            low, high = (int(part) for part in parts)
        except ValueError:
            raise ValueError(
                f"{name} must be a range [low,high] of two ints, got {text!r}"
            ) from None
        if not 0 < low <= high:
            raise ValueError(
                f"bad value for {name}: {text} is not a range of positive ints, low to high"
            )
        return IntRange(low, high)
    return _parse_scalar(name, kind, text)


def _split_fields(text: str) -> list[tuple[str, int]]:
    """Split on the commas that are not inside ``{}`` or ``[]``, with each part's offset."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append((text[start:index], start))
            start = index + 1
    parts.append((text[start:], start))
    return parts


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, tuple):
        return value in wanted
    if isinstance(wanted, IntRange):
        return value in wanted
    return bool(value == wanted)


def _pick(current: Any, wanted: Any) -> Any:
    """The value a fixed type takes: ``current`` when it fits ``wanted``, else the first fit."""
    if wanted is None or _matches(current, wanted):
        return current
    if isinstance(wanted, tuple):
        return wanted[0]
    if isinstance(wanted, IntRange):
        return min(max(current, wanted.low), wanted.high)
    return wanted


def _values(value: Any) -> tuple[Any, ...] | IntRange:
    return value if isinstance(value, tuple | IntRange) else (value,)


def _common(first: Any, second: Any) -> Any:
    """The values two caps allow for one field (None given: any value), as one value, a
    tuple or a range; None when they have none in common."""
    if first is None or second is None:
        return second if first is None else first
    a, b = _values(first), _values(second)
    if isinstance(a, IntRange) and isinstance(b, IntRange):
        low, high = max(a.low, b.low), min(a.high, b.high)
        if low > high:
            return None
        return low if low == high else IntRange(low, high)
    if isinstance(a, IntRange):
        a, b = b, a
    assert isinstance(a, tuple)
    kept = tuple(value for value in a if value in b)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else kept


def _format_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "{" + ",".join(_format_value(item) for item in value) + "}"
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return str(value)


@attrs.frozen
class Caps:
    """A media kind and the fields a type of that kind must have (see the module docstring)."""

    media: str
    """``"video/x-raw"`` or ``"audio/x-raw"``."""
    fields: tuple[tuple[str, Any], ...] = ()
    """``(name, value)`` pairs in the order written; a value is a scalar, a tuple of
    alternatives or an `IntRange`."""

    @classmethod
    def parse(cls, text: str) -> Caps:
        """Parse a caps string; `CapsError` (a ValueError) says what and where."""
        if not isinstance(text, str):
            raise TypeError(f"caps are a str, not {type(text).__name__}")
        parts = _split_fields(text)
        media = parts[0][0].strip()
        if media not in _FIELDS:
            raise CapsError(f"unknown media kind {media!r}; known: {', '.join(_FIELDS)}", 0)
        allowed = _FIELDS[media]
        fields: dict[str, Any] = {}
        for part, offset in parts[1:]:
            name, equals, value = part.partition("=")
            name = name.strip()
            if not equals or not _NAME.fullmatch(name):
                raise CapsError(f"expected name=value, got {part!r}", offset)
            if name not in allowed:
                raise CapsError(
                    f"{media} has no field {name!r}; it has {', '.join(allowed)}", offset
                )
            if name in fields:
                raise CapsError(f"field {name!r} given twice", offset)
            try:
                fields[name] = _parse_value(name, allowed[name], value.strip())
            except ValueError as exc:
                at = offset + part.index("=") + 1
                at += len(value) - len(value.lstrip())
                raise CapsError(str(exc), at) from None
        return cls(media, tuple(fields.items()))

    def get(self, name: str) -> Any:
        """The value of field ``name``, or None when the caps leave it open."""
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def __str__(self) -> str:
        return ",".join([self.media, *(f"{k}={_format_value(v)}" for k, v in self.fields)])

    def _values_of(self, media_type: MediaType) -> dict[str, Any] | None:
        if self.media == VIDEO and media_type.major_type == MEDIATYPE_Video:
            name = video_format(media_type)
            if name is None:
                return None
            header = media_type.format
            return {
                "format": name,
                "width": header.width,
                "height": abs(header.height),
                "framerate": framerate_of(header.avg_time_per_frame),
            }
        if self.media == AUDIO and media_type.major_type == MEDIATYPE_Audio:
            name = audio_format(media_type)
            if name is None:
                return None
            wave = media_type.format
            return {"format": name, "rate": wave.samples_per_sec, "channels": wave.channels}
        return None

    def matches(self, media_type: MediaType) -> bool:
        """True when ``media_type`` is of this kind and has every field's value."""
        values = self._values_of(media_type)
        if values is None:
            return False
        return all(_matches(values[name], wanted) for name, wanted in self.fields)

    def media_type(self) -> MediaType | None:
        """The type these caps describe when they fix every field (one value each), else
        None (``video/x-raw,format=I420,width=640,height=360,framerate=30/1``)."""
        names = _FIELDS[self.media]
        values = {name: self.get(name) for name in names}
        if any(isinstance(v, tuple | IntRange) for v in values.values()):
            return None
        required = ("format", "width", "height") if self.media == VIDEO else tuple(names)
        if any(values[name] is None for name in required):
            return None
        return _build(self.media, values)

    def intersect(self, other: Caps) -> Caps | None:
        """The caps a type must have to match both ``self`` and ``other``, or None when no
        type can (another kind, or a field whose values have nothing in common):
        ``video/x-raw,format={I420,NV12}`` and ``video/x-raw,format=I420,width=320`` give
        ``video/x-raw,format=I420,width=320``."""
        if not isinstance(other, Caps):
            raise TypeError(f"intersect takes Caps, not {type(other).__name__}")
        if self.media != other.media:
            return None
        names = [name for name, _ in self.fields]
        names += [name for name, _ in other.fields if name not in names]
        fields: list[tuple[str, Any]] = []
        for name in names:
            value = _common(self.get(name), other.get(name))
            if value is None:
                return None
            fields.append((name, value))
        return Caps(self.media, tuple(fields))

    def fixate(self, media_type: MediaType) -> MediaType | None:
        """``media_type`` with the fields these caps fix put in (None: another kind).

        A list keeps the offered value when it is in the list, else takes the first; a
        range clamps it.
        """
        values = self._values_of(media_type)
        if values is None:
            return None
        return _build(
            self.media, {name: _pick(value, self.get(name)) for name, value in values.items()}
        )


def _build(media: str, values: dict[str, Any]) -> MediaType:
    """The fully specified type of kind ``media`` with these field values."""
    if media == VIDEO:
        rate = values["framerate"]
        return video_type(
            values["format"],
            values["width"],
            values["height"],
            avg_time_per_frame=frame_time(rate) if rate else 0,
        )
    return audio_type(values["format"], values["rate"], values["channels"])


def caps_of(media_type: MediaType) -> str:
    """``media_type`` in caps syntax when it is raw video or audio, else its GUIDs."""
    for media in (VIDEO, AUDIO):
        values = Caps(media)._values_of(media_type)
        if values is not None:
            if not values.get("framerate", 1):
                del values["framerate"]
            return str(Caps(media, tuple(values.items())))
    return f"{media_type.major_type}/{media_type.subtype}"
