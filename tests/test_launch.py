"""The launch syntax: tokens, every error with its caret, names, branches, pins and caps.

Registered test filters stand in for real media: ``testsrc`` offers NV12 then I420 at
64x48 30 fps but accepts NV12 or I420 at any size (a caps filter picks), ``testsink`` takes
I420 only, and ``tonesrc`` offers S16LE then U8 mono audio at 8000 Hz. The basic
built-ins (tee, queue, nullsink) fill in the rest. Links are connected by a search that goes
back to earlier links and tries their other types when a later link cannot connect.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

import dshow_alloc.launch as launch_module
from dshow_alloc import EC_COMPLETE, FilterGraph, MediaType
from dshow_alloc.audio import audio_type
from dshow_alloc.caps import Caps, frame_time
from dshow_alloc.filters import RendererFilter, SourceFilter, size_allocator
from dshow_alloc.hresult import OutOfMemoryError, VfwWrongStateError
from dshow_alloc.launch import LaunchError, Link, Pipeline, Token, parse_launch, tokenize
from dshow_alloc.pins import pin_label
from dshow_alloc.plugins.basic import NullSink, QueueElement, TeeElement
from dshow_alloc.registry import Element, PinTemplate, prop, register_filter, unregister_filter
from dshow_alloc.structs import AllocatorProperties, PinDirection
from dshow_alloc.video import video_format, video_type

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT


@attrs.define
class _SourceProperties:
    num_buffers: int = prop(-1, kind=int, minimum=-1, doc="frames to make (-1: endless)")
    rate: Fraction = prop(Fraction(30), kind=Fraction, doc="frames per second")  # noqa: RUF009
    label: str = prop("", kind=str, doc="a label")
    flag: bool = prop(False, kind=bool, doc="a switch")
    location: Path | None = prop(None, kind=Path, doc="a file")  # noqa: RUF009
    mode: str = prop("fast", kind=str, choices=("fast", "slow"), doc="how to go")


class TestSource(SourceFilter, Element):
    """``testsrc``: offers NV12 then I420 at 64x48, accepts either format at any size."""

    __test__ = False
    Properties = _SourceProperties
    description = "A range source for launch tests"
    pin_templates = (
        PinTemplate(
            "Output", _OUT, "video/x-raw,format={NV12,I420},width=[1,16384],height=[1,16384]"
        ),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, buffers=2)
        self.count = 0

    def GetMediaType(self, position: int) -> MediaType | None:
        """NV12, then I420, at 64x48 and the ``rate`` property."""
        formats = ("NV12", "I420")
        if position >= len(formats):
            return None
        return video_type(formats[position], 64, 48, avg_time_per_frame=frame_time(self.props.rate))

    def check_media_type(self, pin: Any, media_type: MediaType) -> bool:
        """NV12 or I420 of any size."""
        return video_format(media_type) in ("NV12", "I420")

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Two samples of the connection type's size."""
        size = self.output.ConnectionMediaType().sample_size
        size_allocator(allocator, request, buffers=2, buffer_size=size)

    def FillBuffer(self, sample: Any) -> bool:
        """``num-buffers`` samples (endless when -1)."""
        if 0 <= self.props.num_buffers <= self.count:
            return False
        self.count += 1
        return True


class TestAudioSource(SourceFilter, Element):
    """``tonesrc``: offers S16LE then U8, mono at 8000 Hz, and accepts only those."""

    __test__ = False
    description = "An audio source for launch tests"
    pin_templates = (
        PinTemplate("Output", _OUT, "audio/x-raw,format={S16LE,U8},rate=8000,channels=1"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, buffer_size=160, buffers=2)

    def GetMediaType(self, position: int) -> MediaType | None:
        """S16LE, then U8."""
        formats = ("S16LE", "U8")
        return audio_type(formats[position], 8000, 1) if position < len(formats) else None

    def FillBuffer(self, sample: Any) -> bool:
        """Nothing: the stream ends at once."""
        return False


class TestSink(RendererFilter, Element):
    """``testsink``: takes I420 only; ``types`` records each connection's type."""

    __test__ = False
    description = "An I420 renderer for launch tests"
    pin_templates: ClassVar[tuple[PinTemplate, ...]] = (
        PinTemplate("In", _IN, "video/x-raw,format=I420"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)
        self.types: list[MediaType] = []

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """I420 only."""
        return video_format(media_type) == "I420"

    def complete_connect(self, pin: Any, peer: Any) -> None:
        """Record the connection type."""
        self.types.append(pin.ConnectionMediaType())

    def DoRenderSample(self, sample: Any) -> None:
        """Nothing."""


@pytest.fixture(autouse=True)
def test_filters() -> Iterator[None]:
    """``testsrc``, ``testsink`` and ``tonesrc`` registered for each test."""
    register_filter("testsrc", TestSource)
    register_filter("testsink", TestSink)
    register_filter("tonesrc", TestAudioSource)
    yield
    unregister_filter("testsrc")
    unregister_filter("testsink")
    unregister_filter("tonesrc")


@pytest.fixture
def graph() -> Iterator[FilterGraph]:
    """A graph without a clock, stopped at the end."""
    with FilterGraph(clock=None) as graph:
        yield graph


def launch_error(text: str, graph: FilterGraph | None = None) -> LaunchError:
    """The LaunchError ``text`` raises; the graph given is left with no filter."""
    graph = graph if graph is not None else FilterGraph(clock=None)
    with pytest.raises(LaunchError) as info:
        parse_launch(text, graph)
    assert graph.EnumFilters() == []
    return info.value


# -- tokenize --------------------------------------------------------------------------------


def test_tokenize_words_and_links() -> None:
    """Words and ``!`` come with their offsets; ``!`` needs no spaces around it."""
    assert tokenize("a ! b") == [
        Token("a", 0, 1),
        Token("!", 2, 3, bang=True),
        Token("b", 4, 5),
    ]
    assert tokenize("a!b") == [
        Token("a", 0, 1),
        Token("!", 1, 2, bang=True),
        Token("b", 2, 3),
    ]
    assert tokenize("  \n\t") == []


def test_tokenize_quotes() -> None:
    """Single and double quotes keep spaces and ``!`` in one word and are removed."""
    assert tokenize("location=\"my clip!.y4m\" label='a b'c") == [
        Token("location=my clip!.y4m", 0, 23),
        Token("label=a bc", 24, 36),
    ]
    assert tokenize("'it''s'") == [Token("its", 0, 7)]
    assert tokenize('x="\'"') == [Token("x='", 0, 5)]


def test_tokenize_unterminated_quote() -> None:
    """An unterminated quote is a LaunchError at the quote."""
    with pytest.raises(LaunchError) as info:
        tokenize('testsrc label="abc')
    assert info.value.reason == "unterminated quote"
    assert info.value.offset == 14
    assert str(info.value) == 'unterminated quote\n  testsrc label="abc\n                ^'


def test_tokenize_refuses_non_strings() -> None:
    """A launch line is a str (TypeError)."""
    with pytest.raises(TypeError, match="a launch line is a str, not list"):
        tokenize(["testsrc"])  # type: ignore[arg-type]


# -- errors ----------------------------------------------------------------------------------


def test_error_message_quotes_the_line_with_a_caret() -> None:
    """The message is the reason, the line, and carets under the offending word."""
    error = launch_error("testsrc ! nullsnk")
    assert error.reason == "no filter named 'nullsnk'; did you mean nullsink?"
    assert (error.offset, error.length) == (10, 7)
    assert str(error) == (
        "no filter named 'nullsnk'; did you mean nullsink?\n"
        "  testsrc ! nullsnk\n"
        "            ^^^^^^^"
    )
    assert isinstance(error, ValueError)


def test_error_on_a_later_line_shows_that_line() -> None:
    """In a pipeline written on several lines the caret is under the word in its own line."""
    error = launch_error("testsrc\n  ! nosuch")
    assert error.offset == 12
    assert str(error).splitlines()[1:] == ["    ! nosuch", "      ^^^^^^"]


def test_unknown_element_lists_the_closest_names() -> None:
    """An unknown filter names up to three close names, the test ones included."""
    error = launch_error("testsrcc ! nullsink")
    assert error.reason == (
        "no filter named 'testsrcc'; did you mean testsrc or videotestsrc or audiotestsrc?"
    )
    assert (error.offset, error.length) == (0, 8)


def test_unknown_property() -> None:
    """An unknown property points at ``key=value`` and suggests the closest name."""
    error = launch_error("testsrc num-buffer=3 ! testsink")
    assert error.reason == (
        "testsrc has no property 'num-buffer'; did you mean num-buffers? "
        "(it has flag, label, location, mode, num-buffers, rate)"
    )
    assert (error.offset, error.length) == (8, 12)


@pytest.mark.parametrize(
    ("text", "reason", "offset", "length"),
    [
        ("testsrc num-buffers=x", "testsrc: bad value: num-buffers is an int, not 'x'", 8, 13),
        ("testsrc rate=1/0", "testsrc: bad value: rate is a fraction, not '1/0'", 8, 8),
        (
            "testsrc flag=maybe",
            "testsrc: bad value: flag is a bool (true or false), not 'maybe'",
            8,
            10,
        ),
        (
            "testsrc mode=medium",
            "testsrc: bad value: mode must be one of fast, slow, not 'medium'",
            8,
            11,
        ),
        ("queue max-size=big", "queue: bad value: max-size is an int, not 'big'", 6, 12),
    ],
)
def test_bad_property_values(text: str, reason: str, offset: int, length: int) -> None:
    """A value that is not of the property's type points at ``key=value``."""
    error = launch_error(text)
    assert (error.reason, error.offset, error.length) == (reason, offset, length)


@pytest.mark.parametrize(
    ("text", "reason", "offset", "length"),
    [
        (
            "testsrc num-buffers=-5 ! testsink",
            "testsrc: bad value: num-buffers must be >= -1, got -5",
            8,
            14,
        ),
        ("queue max-size=0", "queue: bad value: max-size must be >= 1, got 0", 6, 10),
        ("queue max-size=-0x1", "queue: bad value: max-size must be >= 1, got -0x1", 6, 13),
    ],
)
def test_value_out_of_range_points_at_the_property(
    text: str, reason: str, offset: int, length: int
) -> None:
    """A value outside the property's range is a bad value at ``key=value``, quoting it."""
    error = launch_error(text)
    assert (error.reason, error.offset, error.length) == (reason, offset, length)


def test_value_out_of_range_message() -> None:
    """The whole message: the reason, the line, carets under ``num-buffers=-5``."""
    error = launch_error("testsrc num-buffers=-5 ! testsink")
    assert str(error) == (
        "testsrc: bad value: num-buffers must be >= -1, got -5\n"
        "  testsrc num-buffers=-5 ! testsink\n"
        "          ^^^^^^^^^^^^^^"
    )


def test_value_at_the_end_of_the_range_is_taken(graph: FilterGraph) -> None:
    """The minimum itself (``num-buffers=-1``, ``max-size=1``) is allowed."""
    pipeline = parse_launch("testsrc num-buffers=-1 ! queue max-size=1 ! testsink", graph)
    assert pipeline.filters["testsrc0"].props.num_buffers == -1
    assert pipeline.filters["queue0"].props.max_size == 1


@pytest.mark.parametrize(
    ("text", "reason", "offset", "length"),
    [
        ("", "the launch line is empty", 0, 1),
        ("num-buffers=3 testsrc", "a property must follow its filter's name", 0, 13),
        ("testsrc ! num-buffers=3", "a property must follow its filter's name", 10, 13),
        ("testsrc ! ! testsink", "two '!' in a row", 10, 1),
        ("testsrc!!testsink", "two '!' in a row", 8, 1),
        ("! testsrc", "'!' must follow a filter", 0, 1),
        ("testsrc !", "'!' at the end links to nothing", 8, 1),
        ("video/x-raw ! testsink", "a caps filter must stand between two '!'", 0, 11),
        ("testsrc video/x-raw ! testsink", "a caps filter must stand between two '!'", 8, 11),
        (
            "testsrc ! video/x-raw ! video/x-raw ! testsink",
            "a caps filter must stand between two '!'",
            24,
            11,
        ),
        ("testsrc ! video/x-raw testsink", "a caps filter must be followed by '!'", 22, 8),
        (
            "testsrc ! video/x-raw",
            "a caps filter must be followed by '!' and a filter",
            10,
            11,
        ),
        ("testsrc name=1x", "'1x' is not a valid filter name", 8, 7),
        ("testsrc ! 1x", "'1x' is not a filter name", 10, 2),
        ("testsrc ! 1x.Input", "'1x.Input' is not NAME. or NAME.PIN", 10, 8),
    ],
)
def test_syntax_errors(text: str, reason: str, offset: int, length: int) -> None:
    """Each syntax mistake has its reason and the caret under the token at fault."""
    error = launch_error(text)
    assert (error.reason, error.offset, error.length) == (reason, offset, length)


@pytest.mark.parametrize(
    ("text", "reason", "offset"),
    [
        (
            "testsrc ! video/x-rav ! testsink",
            "bad caps: unknown media kind 'video/x-rav'; known: video/x-raw, audio/x-raw",
            10,
        ),
        (
            "testsrc ! video/x-raw,depth=8 ! testsink",
            "bad caps: video/x-raw has no field 'depth'; it has format, width, height, framerate",
            22,
        ),
        (
            "testsrc ! video/x-raw,width=wide ! testsink",
            "bad caps: width must be an int, got 'wide'",
            28,
        ),
        (
            "testsrc ! video/x-raw,width=3,width=4 ! testsink",
            "bad caps: field 'width' given twice",
            30,
        ),
    ],
)
def test_caps_errors_point_inside_the_caps(text: str, reason: str, offset: int) -> None:
    """A bad caps filter is a LaunchError at the place inside the caps that is wrong."""
    error = launch_error(text)
    assert (error.reason, error.offset, error.length) == (reason, offset, 1)


def test_unknown_reference_suggests_a_close_name() -> None:
    """``NAME.`` of a name never given is an error at the reference, naming close names."""
    error = launch_error("testsrc ! tee name=branch brnch. ! testsink")
    assert error.reason == "no filter is named 'brnch'; did you mean branch?"
    assert (error.offset, error.length) == (26, 6)
    error = launch_error("testsrc ! zz.")
    assert error.reason == "no filter is named 'zz'"


def test_duplicate_names() -> None:
    """Two filters with the same name: error at the second."""
    error = launch_error("testsrc name=a ! queue name=a ! testsink")
    assert error.reason == "two filters are named 'a'"
    assert (error.offset, error.length) == (17, 5)


def test_auto_name_skips_an_explicit_name_written_later(graph: FilterGraph) -> None:
    """An automatic name never takes a name given explicitly, even later in the line."""
    pipeline = parse_launch("testsrc ! nullsink name=testsrc0", graph)
    assert list(pipeline.filters) == ["testsrc1", "testsrc0"]
    assert isinstance(pipeline.filters["testsrc0"], NullSink)


def test_loop() -> None:
    """Links that form a loop are an error at the first ``!`` of the loop."""
    error = launch_error("testsrc ! queue name=a ! queue name=b ! a.")
    assert error.reason == "the links form a loop"
    assert (error.offset, error.length) == (23, 1)


_NV12_64 = "video/x-raw,format=NV12,width=64,height=48,framerate=30/1"
_I420_64 = "video/x-raw,format=I420,width=64,height=48,framerate=30/1"
_NO_TYPES = (
    "VFW_E_NO_ACCEPTABLE_TYPES (0x80040207): "
    "No combination of media types was found that both pins accept."
)


def test_pins_that_cannot_connect_say_what_each_side_offers_and_accepts() -> None:
    """A link no type fits names the pin pair and its error, the types tried and refused,
    what the output offers and what the input accepts, under the ``!``."""
    error = launch_error("tonesrc ! testsink")
    assert error.reason == (
        "cannot link tonesrc0 to testsink0:\n"
        f"    tonesrc0.Output -> testsink0.In: {_NO_TYPES}\n"
        "      refused: audio/x-raw,format=S16LE,rate=8000,channels=1, "
        "audio/x-raw,format=U8,rate=8000,channels=1\n"
        "      tonesrc0.Output offers audio/x-raw,format=S16LE,rate=8000,channels=1, "
        "audio/x-raw,format=U8,rate=8000,channels=1\n"
        "      testsink0.In accepts video/x-raw,format=I420"
    )
    assert (error.offset, error.length) == (8, 1)
    assert str(error).splitlines()[-2:] == ["  tonesrc ! testsink", "          ^"]


def test_the_deepest_link_that_cannot_connect_is_reported() -> None:
    """When every way of connecting the earlier links leaves a later link unconnectable,
    the error is that later link's (the earlier ones did connect)."""
    error = launch_error("testsrc ! video/x-raw,format=NV12 ! tee name=t t. ! testsink")
    assert error.reason == (
        "cannot link t to testsink0:\n"
        f"    t.Output1 -> testsink0.In: {_NO_TYPES}\n"
        f"      refused: {_NV12_64}\n"
        f"      t.Output1 offers {_NV12_64}\n"
        "      testsink0.In accepts video/x-raw,format=I420"
    )
    assert (error.offset, error.length) == (50, 1)


def test_deepest_link_error_describes_its_last_try() -> None:
    """After every type of the source was tried upstream, the deepest link's error shows
    the last one it was given (U8, the source's last type)."""
    error = launch_error("tonesrc ! queue ! testsink")
    assert error.reason == (
        "cannot link queue0 to testsink0:\n"
        f"    queue0.Output -> testsink0.In: {_NO_TYPES}\n"
        "      refused: audio/x-raw,format=U8,rate=8000,channels=1\n"
        "      queue0.Output offers audio/x-raw,format=U8,rate=8000,channels=1\n"
        "      testsink0.In accepts video/x-raw,format=I420"
    )
    assert error.offset == 16


def test_caps_that_no_pin_accepts() -> None:
    """Caps the input refuses: "no type fits" through the caps, the fixated type refused,
    and what both sides take."""
    error = launch_error("testsrc ! video/x-raw,format=NV12 ! testsink")
    assert error.reason == (
        "cannot link testsrc0 to testsink0:\n"
        "    testsrc0.Output -> testsink0.In through video/x-raw,format=NV12: no type fits\n"
        f"      refused: {_NV12_64}\n"
        f"      testsrc0.Output offers {_NV12_64}, {_I420_64}\n"
        "      testsink0.In accepts video/x-raw,format=I420"
    )
    assert (error.offset, error.length) == (34, 1)


def test_audio_caps_that_no_pin_accepts() -> None:
    """Audio caps into a video sink: the audio type the caps fixate is refused."""
    error = launch_error("tonesrc ! audio/x-raw,format=U8 ! testsink")
    assert error.reason == (
        "cannot link tonesrc0 to testsink0:\n"
        "    tonesrc0.Output -> testsink0.In through audio/x-raw,format=U8: no type fits\n"
        "      refused: audio/x-raw,format=U8,rate=8000,channels=1\n"
        "      tonesrc0.Output offers audio/x-raw,format=S16LE,rate=8000,channels=1, "
        "audio/x-raw,format=U8,rate=8000,channels=1\n"
        "      testsink0.In accepts video/x-raw,format=I420"
    )
    assert error.offset == 32


class Moody(TestSink):
    """Takes NV12 or I420 but fails to complete either connection, differently for each."""

    def CheckMediaType(self, media_type: MediaType) -> bool:
        """NV12 or I420."""
        return video_format(media_type) in ("NV12", "I420")

    def complete_connect(self, pin: Any, peer: Any) -> None:
        """VFW_E_WRONG_STATE for NV12, E_OUTOFMEMORY for I420."""
        if video_format(pin.ConnectionMediaType()) == "NV12":
            raise VfwWrongStateError(message="NV12 is not ready")
        raise OutOfMemoryError(message="no memory for I420")


@pytest.fixture
def moody() -> Iterator[None]:
    """``moody`` registered for the test."""
    register_filter("moody", Moody)
    yield
    unregister_filter("moody")


@pytest.mark.usefixtures("moody")
def test_errors_other_than_refusals_are_the_reason() -> None:
    """Errors that are not VFW_E_TYPE_NOT_ACCEPTED are the reason: the pins' own
    negotiation's error first, another distinct one on an ``also:`` line."""
    lines = launch_error("testsrc ! moody").reason.split("\n")
    assert lines[:3] == [
        "cannot link testsrc0 to moody0:",
        "    testsrc0.Output -> moody0.In: E_OUTOFMEMORY (0x8007000E): no memory for I420",
        "      also: VFW_E_WRONG_STATE (0x80040227): NV12 is not ready",
    ]
    assert lines[-3:] == [
        f"      refused: {_NV12_64}, {_I420_64}",
        f"      testsrc0.Output offers {_NV12_64}, {_I420_64}",
        "      moody0.In accepts video/x-raw,format=I420",
    ]


@pytest.mark.usefixtures("moody")
def test_also_lines_do_not_repeat_the_first_reason() -> None:
    """Each distinct error appears once: the first is not repeated as ``also:``."""
    error = launch_error("testsrc ! moody")
    assert error.reason == (
        "cannot link testsrc0 to moody0:\n"
        "    testsrc0.Output -> moody0.In: E_OUTOFMEMORY (0x8007000E): no memory for I420\n"
        "      also: VFW_E_WRONG_STATE (0x80040227): NV12 is not ready\n"
        f"      refused: {_NV12_64}, {_I420_64}\n"
        f"      testsrc0.Output offers {_NV12_64}, {_I420_64}\n"
        "      moody0.In accepts video/x-raw,format=I420"
    )


def test_undeclared_input_types_say_so() -> None:
    """An input whose filter declares no templates "accepts (not declared)"."""

    class Picky(TestSink):
        pin_templates = ()

    register_filter("picky", Picky)
    try:
        error = launch_error("testsrc ! video/x-raw,format=NV12 ! picky")
    finally:
        unregister_filter("picky")
    assert error.reason.split("\n")[-1] == "      picky0.In accepts (not declared)"


def test_too_many_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search stops after ``_MAX_ATTEMPTS`` connections; a link it never got to try
    says how many it made."""
    monkeypatch.setattr(launch_module, "_MAX_ATTEMPTS", 1)
    error = launch_error("testsrc ! queue ! testsink")
    assert error.reason == (
        "cannot link queue0 to testsink0:\n    (gave up after 1 connection attempt)"
    )
    assert error.offset == 16
    monkeypatch.setattr(launch_module, "_MAX_ATTEMPTS", 0)
    error = launch_error("testsrc ! testsink")
    assert error.reason == (
        "cannot link testsrc0 to testsink0:\n    (gave up after 0 connection attempts)"
    )
    assert error.offset == 8


def test_attempts_are_counted_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """``testsrc ! queue ! testsink`` takes 5 attempts (NV12 into the queue, the sink
    refusing it by negotiation and by type, I420 into the queue, I420 into the sink): with
    5 it connects, again on a second line (each line has its own budget); with 4 it fails."""
    monkeypatch.setattr(launch_module, "_MAX_ATTEMPTS", 5)
    for _ in range(2):
        with FilterGraph(clock=None) as graph:
            pipeline = parse_launch("testsrc ! queue ! testsink", graph)
            assert pipeline.filters["testsink0"].types == [
                video_type("I420", 64, 48, avg_time_per_frame=333333)
            ]
    monkeypatch.setattr(launch_module, "_MAX_ATTEMPTS", 4)
    error = launch_error("testsrc ! queue ! testsink")
    assert error.reason == (
        "cannot link queue0 to testsink0:\n    (gave up after 4 connection attempts)"
    )


@pytest.mark.parametrize(
    ("text", "reason", "offset"),
    [
        ("testsrc ! testsink ! testsink", "testsink0 has no free output pin", 19),
        ("testsrc ! queue ! testsrc", "testsrc1 has no free input pin", 16),
        ("testsrc ! q.Bogus queue name=q", "q has no free input pin 'Bogus'", 8),
        ("testsrc ! queue name=q q.Input ! testsink", "q has no free output pin 'Input'", 31),
        ("testsrc ! queue name=q testsrc ! q.", "q has no free input pin", 31),
    ],
)
def test_no_free_pin(text: str, reason: str, offset: int) -> None:
    """A link with no free pin on one side (or no pin of the id asked for) is an error at
    its ``!``."""
    error = launch_error(text)
    assert (error.reason, error.offset, error.length) == (reason, offset, 1)


def test_error_leaves_the_graph_as_it_was() -> None:
    """A line that fails after making and connecting filters removes only what it added."""
    with FilterGraph(clock=None) as graph:
        mine = NullSink(name="mine")
        graph.AddFilter(mine, "mine")
        with pytest.raises(LaunchError) as info:
            parse_launch(
                "testsrc ! video/x-raw,format=NV12 ! queue ! tee name=t t. ! testsink", graph
            )
        assert info.value.reason.split("\n")[0] == "cannot link t to testsink0:"
        assert graph.EnumFilters() == [mine]
        assert not mine.input.is_connected()
        pipeline = parse_launch("testsrc num-buffers=2 ! video/x-raw,format=I420 ! testsink", graph)
        assert len(graph.EnumFilters()) == 3
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
        assert pipeline.filters["testsink0"].rendered == 2


def test_filter_constructor_errors_are_launch_errors() -> None:
    """A filter whose constructor refuses its properties fails at its name."""

    class Fussy(TestSink):
        def __init__(self, *, name: str | None = None, **props: Any) -> None:
            raise OSError("cannot open the device")

    register_filter("fussy", Fussy)
    try:
        error = launch_error("testsrc ! fussy")
    finally:
        unregister_filter("fussy")
    assert error.reason == "fussy: cannot open the device"
    assert (error.offset, error.length) == (10, 5)


# -- names -----------------------------------------------------------------------------------


def test_automatic_names_count_per_kind_and_skip_explicit_ones(graph: FilterGraph) -> None:
    """Unnamed filters are KIND0, KIND1, ..., skipping names given explicitly."""
    pipeline = parse_launch(
        "testsrc ! queue ! queue name=queue1 ! queue ! nullsink testsrc ! testsink", graph
    )
    assert list(pipeline.filters) == [
        "testsrc0",
        "queue0",
        "queue1",
        "queue2",
        "nullsink0",
        "testsrc1",
        "testsink0",
    ]
    assert [graph.FindFilterByName(name) for name in pipeline.filters] == list(
        pipeline.filters.values()
    )
    assert [f.QueryFilterInfo().name for f in graph.EnumFilters()] == list(pipeline.filters)


def test_pipeline_describes_what_was_built(graph: FilterGraph) -> None:
    """The Pipeline holds the graph, the line, the filters, the links, sources, renderers."""
    text = "testsrc ! video/x-raw,format=I420 ! queue ! testsink testsrc name=s2 ! nullsink"
    pipeline = parse_launch(text, graph)
    assert isinstance(pipeline, Pipeline)
    assert pipeline.graph is graph
    assert pipeline.text == text
    f = pipeline.filters
    assert isinstance(f["queue0"], QueueElement)
    assert pipeline.sources() == [f["testsrc0"], f["s2"]]
    assert pipeline.renderers() == [f["testsink0"], f["nullsink0"]]
    assert pipeline.links == [
        Link(f["testsrc0"].output, f["queue0"].input, Caps.parse("video/x-raw,format=I420")),
        Link(f["s2"].output, f["nullsink0"].input, None),
        Link(f["queue0"].output, f["testsink0"].input, None),
    ]


def test_default_graph_is_made(graph: FilterGraph) -> None:
    """Without a graph, parse_launch makes a new FilterGraph."""
    pipeline = parse_launch("testsrc ! testsink")
    try:
        assert isinstance(pipeline.graph, FilterGraph)
        assert pipeline.graph is not graph
        assert len(pipeline.graph.EnumFilters()) == 2
    finally:
        pipeline.graph.Stop()


# -- properties --------------------------------------------------------------------------------


def test_properties_are_typed(graph: FilterGraph) -> None:
    """Each value is read as its property's type; quotes allow spaces."""
    pipeline = parse_launch(
        "testsrc num-buffers=0x10 rate=30000/1001 label='two words' flag=yes "
        'location="my clip.y4m" mode=slow ! testsink',
        graph,
    )
    props = pipeline.filters["testsrc0"].props
    assert props.num_buffers == 16
    assert props.rate == Fraction(30000, 1001)
    assert props.label == "two words"
    assert props.flag is True
    assert props.location == Path("my clip.y4m")
    assert props.mode == "slow"


def test_rate_property_sets_the_offered_frame_duration(graph: FilterGraph) -> None:
    """The source's rate reaches the connection type (frame_time(30000/1001) = 333667)."""
    pipeline = parse_launch("testsrc rate=30000/1001 ! testsink", graph)
    assert pipeline.filters["testsink0"].types[0].format.avg_time_per_frame == 333667


# -- links -------------------------------------------------------------------------------------


def test_without_caps_the_sink_gets_i420_because_nv12_is_refused(graph: FilterGraph) -> None:
    """The source offers NV12 first; the I420-only sink refuses it and gets I420 64x48."""
    pipeline = parse_launch("testsrc ! testsink", graph)
    assert pipeline.filters["testsink0"].types == [
        video_type("I420", 64, 48, avg_time_per_frame=333333)
    ]


def test_caps_filter_sets_format_and_size(graph: FilterGraph) -> None:
    """A caps filter fixes format and size of a source that accepts any size."""
    pipeline = parse_launch(
        "testsrc ! video/x-raw,format=I420,width=320,height=240 ! testsink", graph
    )
    expected = video_type("I420", 320, 240, avg_time_per_frame=333333)
    assert pipeline.filters["testsink0"].types == [expected]
    assert pipeline.filters["testsrc0"].output.ConnectionMediaType() == expected
    assert pipeline.links[0].caps == Caps.parse("video/x-raw,format=I420,width=320,height=240")
    assert pipeline.filters["testsrc0"].output.allocator.GetProperties() == AllocatorProperties(
        2, 320 * 240 * 3 // 2, 1, 0
    )


def test_caps_filter_fixes_frame_rate_and_format_through_a_tee(graph: FilterGraph) -> None:
    """A caps filter before a tee sets the type every branch carries."""
    pipeline = parse_launch(
        "testsrc ! video/x-raw,format=I420,width=96,framerate=25 ! tee name=t "
        "t. ! queue ! testsink  t. ! testsink",
        graph,
    )
    expected = video_type("I420", 96, 48, avg_time_per_frame=400000)
    assert pipeline.filters["testsink0"].types == [expected]
    assert pipeline.filters["testsink1"].types == [expected]


def test_caps_filter_applied_to_the_input_side(graph: FilterGraph) -> None:
    """Caps between a tee and a sink restrict a link whose output offers a fixed type."""
    pipeline = parse_launch(
        "testsrc ! video/x-raw,format=I420 ! tee name=t t. ! video/x-raw,format=I420 ! testsink",
        graph,
    )
    assert pipeline.filters["testsink0"].types == [
        video_type("I420", 64, 48, avg_time_per_frame=333333)
    ]


def test_branches_from_a_tee(graph: FilterGraph) -> None:
    """``t. !`` starts a branch from the named tee; each branch takes a new output pin."""
    pipeline = parse_launch(
        "testsrc num-buffers=3 ! video/x-raw,format=I420 ! tee name=t "
        "t. ! queue ! testsink t. ! queue ! nullsink",
        graph,
    )
    tee = pipeline.filters["t"]
    assert isinstance(tee, TeeElement)
    outputs = {
        link.output.QueryId(): link.input
        for link in pipeline.links
        if link.output in tee.EnumPins()
    }
    assert outputs == {
        "Output1": pipeline.filters["queue0"].input,
        "Output2": pipeline.filters["queue1"].input,
    }
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert pipeline.filters["testsink0"].rendered == 3
    assert pipeline.filters["nullsink0"].rendered == 3


def test_branch_written_before_the_tee_input_still_connects(graph: FilterGraph) -> None:
    """Links are made upstream first, so a branch written before the tee's input works."""
    pipeline = parse_launch(
        "t. ! queue ! testsink  testsrc num-buffers=2 ! video/x-raw,format=I420 ! tee name=t",
        graph,
    )
    assert list(pipeline.filters) == ["queue0", "testsink0", "testsrc0", "t"]
    assert [(link.output.QueryId(), link.input.QueryId()) for link in pipeline.links] == [
        ("Output", "Input"),
        ("Output1", "Input"),
        ("Output", "In"),
    ]
    assert pipeline.filters["testsink0"].types == [
        video_type("I420", 64, 48, avg_time_per_frame=333333)
    ]
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert pipeline.filters["testsink0"].rendered == 2


def test_name_dot_pin_picks_a_pin(graph: FilterGraph) -> None:
    """``NAME.PIN`` connects the pin of that id, as upstream or downstream end."""
    pipeline = parse_launch(
        "testsrc ! video/x-raw,format=I420 ! q.Input  queue name=q  q.Output ! testsink", graph
    )
    q = pipeline.filters["q"]
    assert q.input.ConnectedTo() is pipeline.filters["testsrc0"].output
    assert q.output.ConnectedTo() is pipeline.filters["testsink0"].input


def test_name_dot_pin_of_a_tee_branch(graph: FilterGraph) -> None:
    """``t.Output1 !`` links the tee's first branch pin by id."""
    pipeline = parse_launch("testsrc ! tee name=t t.Output1 ! nullsink", graph)
    assert pipeline.filters["t"].FindPin("Output1").ConnectedTo() is (
        pipeline.filters["nullsink0"].input
    )


def test_exclamation_marks_without_spaces(graph: FilterGraph) -> None:
    """``a!b`` links like ``a ! b``."""
    pipeline = parse_launch("testsrc!video/x-raw,width=16!testsink", graph)
    assert pipeline.filters["testsink0"].types == [
        video_type("I420", 16, 48, avg_time_per_frame=333333)
    ]


def test_names_already_in_the_graph_are_not_reused(graph: FilterGraph) -> None:
    """In a graph that already holds a "queue0", the new queue is "queue1" and every
    Pipeline name finds its own filter."""
    first = NullSink(name="queue0")
    graph.AddFilter(first, "queue0")
    pipeline = parse_launch("testsrc ! queue ! nullsink", graph)
    assert list(pipeline.filters) == ["testsrc0", "queue1", "nullsink0"]
    for name, filter in pipeline.filters.items():
        assert graph.FindFilterByName(name) is filter
    assert graph.FindFilterByName("queue0") is first


def test_auto_names_skip_graph_names_and_explicit_names(graph: FilterGraph) -> None:
    """An automatic name skips both the graph's names and names written in the line."""
    graph.AddFilter(NullSink(name="queue0"), "queue0")
    pipeline = parse_launch("testsrc ! queue ! queue name=queue1 ! queue ! nullsink", graph)
    assert list(pipeline.filters) == ["testsrc0", "queue2", "queue1", "queue3", "nullsink0"]


def test_explicit_name_already_in_the_graph_is_an_error() -> None:
    """``name=x`` when the graph already has an "x" is a LaunchError at the filter, and the
    graph keeps only what it had."""
    with FilterGraph(clock=None) as graph:
        mine = NullSink(name="mine")
        graph.AddFilter(mine, "mine")
        with pytest.raises(LaunchError) as info:
            parse_launch("testsrc ! nullsink name=mine", graph)
        assert info.value.reason == "the graph already has a filter named 'mine'"
        assert (info.value.offset, info.value.length) == (10, 8)
        assert graph.EnumFilters() == [mine]


def test_second_line_into_the_same_graph_gets_new_names(graph: FilterGraph) -> None:
    """Two lines launched into one graph: the second line's filters count on."""
    first = parse_launch("testsrc ! testsink", graph)
    second = parse_launch("testsrc ! queue ! testsink", graph)
    assert list(first.filters) == ["testsrc0", "testsink0"]
    assert list(second.filters) == ["testsrc1", "queue0", "testsink1"]
    assert [f.QueryFilterInfo().name for f in graph.EnumFilters()] == [
        "testsrc0",
        "testsink0",
        "testsrc1",
        "queue0",
        "testsink1",
    ]


# -- the search for types that fit every link ---------------------------------------------------

_I420 = video_type("I420", 64, 48, avg_time_per_frame=333333)


def _link_types(pipeline: Pipeline) -> list[tuple[str, str, MediaType]]:
    """Each link as (output pin, input pin, connection type)."""
    return [
        (pin_label(link.output), pin_label(link.input), link.output.ConnectionMediaType())
        for link in pipeline.links
    ]


def test_an_earlier_link_is_redone_in_another_type(graph: FilterGraph) -> None:
    """NV12 passes the queue but the sink takes only I420, so the first link is redone in
    I420 and the line connects and runs with I420 throughout."""
    pipeline = parse_launch("testsrc num-buffers=3 ! queue ! testsink", graph)
    assert _link_types(pipeline) == [
        ("testsrc0.Output", "queue0.Input", _I420),
        ("queue0.Output", "testsink0.In", _I420),
    ]
    assert pipeline.filters["testsink0"].types == [_I420]
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert pipeline.filters["testsink0"].rendered == 3


def test_a_long_chain_is_redone_from_its_first_link(graph: FilterGraph) -> None:
    """Through two queues, a tee and another queue, the I420 the sink needs is found back
    at the source; the tee keeps one connected branch and one spare output."""
    pipeline = parse_launch(
        "testsrc num-buffers=2 ! queue ! queue ! tee name=t t. ! queue ! testsink", graph
    )
    assert [link.output.ConnectionMediaType() for link in pipeline.links] == [_I420] * 5
    tee = pipeline.filters["t"]
    outputs = [p for p in tee.EnumPins() if p.QueryDirection() is _OUT]
    assert [p.is_connected() for p in outputs] == [True, False]
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert pipeline.filters["testsink0"].rendered == 2


def test_tee_branches_agree_on_a_type_every_branch_takes(graph: FilterGraph) -> None:
    """A tee feeding the I420-only sink and a nullsink gets I420 from the source."""
    pipeline = parse_launch(
        "testsrc num-buffers=2 ! tee name=t t. ! testsink t. ! queue ! nullsink", graph
    )
    assert _link_types(pipeline) == [
        ("testsrc0.Output", "t.Input", _I420),
        ("t.Output1", "testsink0.In", _I420),
        ("t.Output2", "queue0.Input", _I420),
        ("queue0.Output", "nullsink0.In", _I420),
    ]
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert pipeline.filters["testsink0"].rendered == 2
    assert pipeline.filters["nullsink0"].rendered == 2


def test_caps_candidates_are_retried_when_a_later_link_refuses(graph: FilterGraph) -> None:
    """Caps fixing only the size are tried with each offered format: NV12 32x24 first,
    then I420 32x24, which the sink behind the queue takes; the allocator is sized for the
    type finally agreed (16 buffers: the queue asks for room for max-size samples)."""
    pipeline = parse_launch("testsrc ! video/x-raw,width=32,height=24 ! queue ! testsink", graph)
    small = video_type("I420", 32, 24, avg_time_per_frame=333333)
    assert _link_types(pipeline) == [
        ("testsrc0.Output", "queue0.Input", small),
        ("queue0.Output", "testsink0.In", small),
    ]
    assert pipeline.links[0].caps == Caps.parse("video/x-raw,width=32,height=24")
    assert pipeline.filters["testsrc0"].output.allocator.GetProperties() == AllocatorProperties(
        16, 32 * 24 * 3 // 2, 1, 0
    )


def test_a_line_that_needs_no_search_keeps_the_first_type(graph: FilterGraph) -> None:
    """Nothing refuses NV12 in ``testsrc ! queue ! nullsink``: the source's first type stays."""
    pipeline = parse_launch("testsrc ! queue ! nullsink", graph)
    nv12 = video_type("NV12", 64, 48, avg_time_per_frame=333333)
    assert [link.output.ConnectionMediaType() for link in pipeline.links] == [nv12, nv12]
