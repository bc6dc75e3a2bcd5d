"""Caps strings and media types: parsing, printing, matching, fixating, frame rates."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import attrs
import pytest

from dshow_alloc import MediaType, MEDIATYPE_Video
from dshow_alloc.audio import audio_type
from dshow_alloc.caps import Caps, CapsError, IntRange, caps_of, frame_time, framerate_of
from dshow_alloc.mediatype import FORMAT_None, MEDIASUBTYPE_None, MEDIATYPE_Stream
from dshow_alloc.video import video_type

NTSC = Fraction(30000, 1001)


def i420(width: int = 64, height: int = 48, avg: int = 333333) -> MediaType:
    """An I420 type of the given size and frame duration."""
    return video_type("I420", width, height, avg_time_per_frame=avg)


# -- parse -------------------------------------------------------------------------------------


def test_parse_scalars_lists_and_ranges() -> None:
    """Fields keep their order; a value is a scalar, a tuple (list) or an IntRange."""
    caps = Caps.parse(
        "video/x-raw,format={I420,NV12},width=[1,16384],height=480,framerate=30000/1001"
    )
    assert caps.media == "video/x-raw"
    assert caps.fields == (
        ("format", ("I420", "NV12")),
        ("width", IntRange(1, 16384)),
        ("height", 480),
        ("framerate", NTSC),
    )
    assert caps.get("height") == 480
    assert caps.get("nothing") is None


def test_parse_audio() -> None:
    """Audio caps have format, rate and channels."""
    caps = Caps.parse("audio/x-raw,format=S16LE,rate=[8000,48000],channels={1,2}")
    assert caps.fields == (
        ("format", "S16LE"),
        ("rate", IntRange(8000, 48000)),
        ("channels", (1, 2)),
    )


def test_parse_strips_spaces_and_allows_a_bare_kind() -> None:
    """Spaces around kind, names and values are ignored; a kind alone has no fields."""
    assert Caps.parse(" video/x-raw , width = 3 ") == Caps("video/x-raw", (("width", 3),))
    assert Caps.parse("video/x-raw") == Caps("video/x-raw")
    assert Caps.parse("video/x-raw,format={ I420 , NV12 }").get("format") == ("I420", "NV12")


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("", "unknown media kind ''; known: video/x-raw, audio/x-raw", 0),
        (
            "video/x-foo,width=3",
            "unknown media kind 'video/x-foo'; known: video/x-raw, audio/x-raw",
            0,
        ),
        (
            "video/x-raw,width=3,bogus=1",
            "video/x-raw has no field 'bogus'; it has format, width, height, framerate",
            20,
        ),
        (
            "audio/x-raw,width=3",
            "audio/x-raw has no field 'width'; it has format, rate, channels",
            12,
        ),
        (
            "video/x-raw,width=x",
            "width must be an int, got 'x'",
            18,
        ),
        ("video/x-raw,width=0", "bad value for width: 0 is not a positive int", 18),
        (
            "video/x-raw,framerate=0/1",
            "bad value for framerate: 0/1 is not a positive frame rate",
            22,
        ),
        (
            "video/x-raw,format=XYZ",
            "bad value for format: 'XYZ' is not one of NV12, I420, IYUV, YUY2, RGB24, RGB32",
            19,
        ),
        (
            "video/x-raw,format={I420,XYZ}",
            "bad value for format: 'XYZ' is not one of NV12, I420, IYUV, YUY2, RGB24, RGB32",
            19,
        ),
        (
            "audio/x-raw,format=S16BE",
            "bad value for format: 'S16BE' is not one of U8, S16LE, S24LE, S32LE, F32LE",
            19,
        ),
        (
            "video/x-raw,width=[1,2,3]",
            "width must be a range [low,high] of two ints, got '[1,2,3]'",
            18,
        ),
        ("video/x-raw,width=3,width=4", "field 'width' given twice", 20),
        ("video/x-raw,", "expected name=value, got ''", 12),
        ("video/x-raw,width", "expected name=value, got 'width'", 12),
        ("video/x-raw,Width=3", "expected name=value, got 'Width=3'", 12),
    ],
)
def test_parse_errors_say_what_and_where(text: str, message: str, offset: int) -> None:
    """A bad caps string raises CapsError (a ValueError) with the message and the offset of
    the part that is wrong (a value's offset is where the value starts)."""
    with pytest.raises(CapsError) as info:
        Caps.parse(text)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == message
    assert info.value.offset == offset


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("video/x-raw, width=x", 19),
        ("video/x-raw,  width = x", 22),
        ("video/x-raw,width=  x", 20),
        ("video/x-raw, format=I420, height=x", 33),
    ],
)
def test_bad_value_offset_after_spaces(text: str, offset: int) -> None:
    """Spaces before the name, around ``=`` or before the value do not move the offset off
    the value's first character."""
    with pytest.raises(CapsError) as info:
        Caps.parse(text)
    assert info.value.offset == offset
    assert text[offset] == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "video/x-raw,width=[5,1]",
            "bad value for width: [5,1] is not a range of positive ints, low to high",
        ),
        (
            "video/x-raw,height=[0,5]",
            "bad value for height: [0,5] is not a range of positive ints, low to high",
        ),
        (
            "audio/x-raw,rate=[-8000,8000]",
            "bad value for rate: [-8000,8000] is not a range of positive ints, low to high",
        ),
    ],
)
def test_ranges_must_be_positive_and_low_to_high(text: str, message: str) -> None:
    """A range must satisfy ``0 < low <= high``; otherwise CapsError at the value."""
    with pytest.raises(CapsError) as info:
        Caps.parse(text)
    assert str(info.value) == message
    assert info.value.offset == text.index("[")


def test_single_value_range_is_allowed() -> None:
    """``[5,5]`` (low equal to high) is a range holding only 5."""
    caps = Caps.parse("video/x-raw,width=[5,5]")
    assert caps.get("width") == IntRange(5, 5)
    assert 5 in caps.get("width")
    assert 4 not in caps.get("width")


def test_parse_refuses_non_strings() -> None:
    """Caps are parsed from a str only (TypeError)."""
    with pytest.raises(TypeError, match="caps are a str, not bytes"):
        Caps.parse(b"video/x-raw")  # type: ignore[arg-type]


# -- str ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "video/x-raw",
        "video/x-raw,format=I420,width=640,height=360,framerate=30/1",
        "video/x-raw,framerate=30000/1001,format={I420,NV12},width=[1,16384]",
        "video/x-raw,framerate={30/1,25/1}",
        "audio/x-raw,format=F32LE,rate=48000,channels=2",
        "audio/x-raw,rate=[1,192000],channels={1,2,6}",
    ],
)
def test_str_round_trips(text: str) -> None:
    """str of parsed caps gives back the canonical text, which parses to equal caps."""
    caps = Caps.parse(text)
    assert str(caps) == text
    assert Caps.parse(str(caps)) == caps


def test_str_is_canonical() -> None:
    """Spaces go, whole frame rates get a denominator, ranges and lists are compact."""
    caps = Caps.parse("video/x-raw, framerate=25, width=[ 1 , 8 ], format={ NV12 , I420 }")
    assert str(caps) == "video/x-raw,framerate=25/1,width=[1,8],format={NV12,I420}"


# -- matches -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "media_type", "expected"),
    [
        ("video/x-raw", i420(), True),
        ("video/x-raw,format=I420", i420(), True),
        ("video/x-raw,format=NV12", i420(), False),
        ("video/x-raw,format={NV12,I420}", i420(), True),
        ("video/x-raw,width=[64,64],height=48", i420(), True),
        ("video/x-raw,width=[65,100]", i420(), False),
        ("video/x-raw,width={32,64}", i420(), True),
        ("video/x-raw,framerate=30/1", i420(), True),
        ("video/x-raw,framerate=30000/1001", i420(avg=333667), True),
        ("video/x-raw,framerate=30/1", i420(avg=333667), False),
        ("video/x-raw,framerate=25/1", i420(avg=400000), True),
        ("audio/x-raw", i420(), False),
        ("video/x-raw", audio_type("S16LE", 44100, 2), False),
        ("audio/x-raw,format=S16LE,rate=44100,channels=2", audio_type("S16LE", 44100, 2), True),
        ("audio/x-raw,rate=[8000,32000]", audio_type("S16LE", 44100, 2), False),
        ("audio/x-raw,format=F32LE", audio_type("F32LE", 48000, 1), True),
        ("video/x-raw", MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None), False),
    ],
)
def test_matches(text: str, media_type: MediaType, expected: bool) -> None:
    """A type matches caps of its kind when every field the caps give holds its value."""
    assert Caps.parse(text).matches(media_type) is expected


# -- fixate ------------------------------------------------------------------------------------


def test_fixate_list_keeps_the_current_value_when_inside() -> None:
    """A list that contains the offered value keeps it."""
    offered = video_type("NV12", 64, 48, avg_time_per_frame=333333)
    fixed = Caps.parse("video/x-raw,format={I420,NV12}").fixate(offered)
    assert fixed == offered


def test_fixate_list_takes_the_first_when_outside() -> None:
    """A list without the offered value gives its first value."""
    offered = video_type("NV12", 64, 48, avg_time_per_frame=333333)
    fixed = Caps.parse("video/x-raw,format={I420,YUY2},width={320,640}").fixate(offered)
    assert fixed == video_type("I420", 320, 48, avg_time_per_frame=333333)


@pytest.mark.parametrize(("width", "expected"), [(64, 100), (150, 150), (300, 200)])
def test_fixate_range_clamps(width: int, expected: int) -> None:
    """A range clamps the offered value into ``[low, high]``."""
    fixed = Caps.parse("video/x-raw,width=[100,200]").fixate(i420(width=width))
    assert fixed == i420(width=expected)


def test_fixate_scalars_replace_the_offered_values() -> None:
    """Scalar fields replace the offered format, size and frame rate."""
    fixed = Caps.parse("video/x-raw,format=I420,width=320,height=240,framerate=25").fixate(
        video_type("NV12", 64, 48, avg_time_per_frame=333333)
    )
    assert fixed == video_type("I420", 320, 240, avg_time_per_frame=400000)
    assert fixed is not None
    assert fixed.sample_size == 320 * 240 * 3 // 2


def test_fixate_ntsc_framerate() -> None:
    """framerate=30000/1001 fixes avg_time_per_frame to 333667."""
    fixed = Caps.parse("video/x-raw,framerate=30000/1001").fixate(i420(avg=400000))
    assert fixed is not None
    assert fixed.format.avg_time_per_frame == 333667


def test_fixate_keeps_an_unset_framerate_unless_given() -> None:
    """A type without a frame duration keeps none, unless the caps give a frame rate."""
    assert Caps.parse("video/x-raw,width=32").fixate(i420(avg=0)) == i420(width=32, avg=0)
    assert Caps.parse("video/x-raw,framerate=30").fixate(i420(avg=0)) == i420(avg=333333)


def test_fixate_audio() -> None:
    """Audio caps fix format, rate and channels."""
    fixed = Caps.parse("audio/x-raw,format=F32LE,rate=48000,channels={1,2}").fixate(
        audio_type("S16LE", 44100, 2)
    )
    assert fixed == audio_type("F32LE", 48000, 2)


def test_fixate_another_kind_is_none() -> None:
    """Caps of one kind do not fixate a type of another (None)."""
    assert Caps.parse("video/x-raw").fixate(audio_type("S16LE", 44100, 2)) is None
    assert Caps.parse("audio/x-raw").fixate(i420()) is None


# -- media_type --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "video/x-raw,format=I420,width=640,height=360,framerate=30/1",
            video_type("I420", 640, 360, avg_time_per_frame=333333),
        ),
        (
            "video/x-raw,format=NV12,width=64,height=48,framerate=30000/1001",
            video_type("NV12", 64, 48, avg_time_per_frame=333667),
        ),
        ("video/x-raw,format=RGB32,width=8,height=2", video_type("RGB32", 8, 2)),
        ("audio/x-raw,format=S16LE,rate=44100,channels=2", audio_type("S16LE", 44100, 2)),
        ("video/x-raw,format=I420,width=640", None),
        ("video/x-raw,width=640,height=360", None),
        ("video/x-raw,format={I420,NV12},width=640,height=360", None),
        ("video/x-raw,format=I420,width=[1,640],height=360", None),
        ("video/x-raw,format=I420,width=640,height=360,framerate={25,30}", None),
        ("audio/x-raw,format=S16LE,rate=44100", None),
        ("audio/x-raw,format=S16LE,rate=44100,channels={1,2}", None),
    ],
)
def test_media_type_only_when_fully_fixed(text: str, expected: MediaType | None) -> None:
    """media_type is the type the caps describe when every needed field has one value."""
    assert Caps.parse(text).media_type() == expected


# -- caps_of -----------------------------------------------------------------------------------


def test_caps_of_video_audio_and_other() -> None:
    """caps_of writes raw video and audio in caps syntax, anything else as its GUIDs."""
    assert caps_of(i420()) == "video/x-raw,format=I420,width=64,height=48,framerate=30/1"
    assert caps_of(i420(avg=333667)) == (
        "video/x-raw,format=I420,width=64,height=48,framerate=30000/1001"
    )
    assert caps_of(i420(avg=0)) == "video/x-raw,format=I420,width=64,height=48"
    assert caps_of(audio_type("S24LE", 96000, 6)) == (
        "audio/x-raw,format=S24LE,rate=96000,channels=6"
    )
    stream = MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None)
    assert caps_of(stream) == f"{MEDIATYPE_Stream}/{MEDIASUBTYPE_None}"


def test_caps_of_top_down_video_gives_the_positive_height() -> None:
    """A top-down DIB (negative biHeight) has its height written positive."""
    bottom_up = video_type("RGB32", 8, 4)
    top_down = attrs.evolve(bottom_up, format=attrs.evolve(bottom_up.format, height=-4))
    assert caps_of(top_down) == "video/x-raw,format=RGB32,width=8,height=4"
    assert Caps.parse("video/x-raw,height=4").matches(top_down)


def test_caps_of_parses_back_to_matching_caps() -> None:
    """The caps written for a type parse back into caps fixed to exactly that type."""
    for media_type in (i420(avg=417083), audio_type("U8", 8000, 1)):
        caps = Caps.parse(caps_of(media_type))
        assert caps.matches(media_type)
        assert caps.media_type() == media_type


def test_caps_of_an_unknown_video_subtype_is_its_guids() -> None:
    """A video type of an unknown subtype is written as its GUIDs."""
    odd = attrs.evolve(i420(), subtype=MEDIATYPE_Video)
    assert caps_of(odd) == f"{MEDIATYPE_Video}/{MEDIATYPE_Video}"


# -- frame rates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "duration"),
    [
        (Fraction(24000, 1001), 417083),
        (Fraction(25), 400000),
        (Fraction(30), 333333),
        (Fraction(30000, 1001), 333667),
        (Fraction(60000, 1001), 166833),
        (Fraction(15), 666667),
    ],
)
def test_frame_time_and_framerate_of_round_trip(rate: Fraction, duration: int) -> None:
    """frame_time rounds 10^7 / rate; framerate_of recovers whole and NTSC rates exactly."""
    assert frame_time(rate) == duration
    assert framerate_of(duration) == rate


def test_framerate_of_other_durations() -> None:
    """A duration of no usual rate gives the closest fraction with denominator <= 1000;
    no duration gives 0."""
    assert framerate_of(333000) == Fraction(10000, 333)
    assert framerate_of(0) == 0
    assert framerate_of(-1) == 0


@pytest.mark.parametrize("rate", [Fraction(0), Fraction(-25)])
def test_frame_time_refuses_non_positive_rates(rate: Any) -> None:
    """A frame rate must be positive (ValueError)."""
    with pytest.raises(ValueError, match="a frame rate must be positive"):
        frame_time(rate)
