"""Intelligent connect: merit, ``FilterGraph.Connect`` through converters, ``Render``,
``RenderFile``, a launch line's ``autoconvert``, and how ``inspect`` and ``dot`` show them.

Most tests use small converters registered here (``tconvert`` changes formats, ``tscale``
changes sizes) with the built-in converters set to MERIT_DO_NOT_USE for the test, so the
filters a search may insert are exactly the test's; the tests at the end use the real
``videoconvert``/``videoscale``/``audioconvert``/``audioresample`` when they are there.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dshow_alloc import (
    EC_COMPLETE,
    HRESULT,
    MERIT_DO_NOT_USE,
    MERIT_NORMAL,
    MERIT_PREFERRED,
    MERIT_UNLIKELY,
    FilterGraph,
    InvalidArgError,
    MediaType,
    NotImplError,
    PointerError,
    RendererFilter,
    SourceFilter,
    TransformFilter,
    VfwAlreadyConnectedError,
    VfwCannotConnectError,
    VfwCannotRenderError,
    VfwInvalidDirectionError,
    VfwNoAcceptableTypesError,
    VfwNotFoundError,
    VfwNotInGraphError,
    VfwNotStoppedError,
    builder,
    registry,
    video_type,
)
from dshow_alloc.audio import audio_type
from dshow_alloc.cli import main
from dshow_alloc.dot import graph_to_dot
from dshow_alloc.launch import LaunchError, parse_launch
from dshow_alloc.pins import is_connected
from dshow_alloc.plugins.y4m import Y4MSource
from dshow_alloc.registry import (
    Element,
    PinTemplate,
    UnknownFilterError,
    extensions_of,
    make_filter,
    merit_name,
    merit_of,
    register_filter,
    set_merit,
    unregister_filter,
)
from dshow_alloc.structs import PinDirection
from dshow_alloc.video import video_format

IN, OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT
FORMATS = ("NV12", "I420", "RGB24", "RGB32")
NV12 = video_type("NV12", 64, 48)
I420 = video_type("I420", 64, 48)
RGB32 = video_type("RGB32", 64, 48)
SMALL_I420 = video_type("I420", 32, 24)
HAVE_FFMPEG = shutil.which("ffmpeg") is not None
HAVE_AV = importlib.util.find_spec("av") is not None
REAL_CONVERTERS = ("videoconvert", "videoscale", "audioconvert", "audioresample")
HAVE_REAL = all(name in registry.filter_names() for name in REAL_CONVERTERS)


# -- test doubles ---------------------------------------------------------------------------


def _size(media_type: MediaType) -> tuple[int, int]:
    header = media_type.format
    return header.width, abs(header.height)


class Converter(TransformFilter, Element):
    """A registered test converter: ``conversions`` says which formats it turns into which
    (same size); with ``scales`` it also changes the size (same format). Its output offers
    the input type first, then the input size in each format it converts to."""

    conversions: ClassVar[dict[str, tuple[str, ...]]] = {}
    scales: ClassVar[bool] = False
    offers: ClassVar[bool] = True
    made: ClassVar[int] = 0
    description = "a test converter"
    pin_templates = (
        PinTemplate("Input", IN, "video/x-raw"),
        PinTemplate("Output", OUT, "video/x-raw"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)
        type(self).made += 1

    def CheckInputType(self, media_type: MediaType) -> bool:
        return video_format(media_type) in self.conversions

    def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
        format_in, format_out = video_format(media_type_in), video_format(media_type_out)
        if format_in is None or format_out is None:
            return False
        converts = format_out == format_in or format_out in self.conversions.get(format_in, ())
        scales = _size(media_type_in) == _size(media_type_out) or (
            self.scales and format_out == format_in
        )
        return converts and scales

    def GetMediaType(self, position: int) -> MediaType | None:
        media_type = self.input.ConnectionMediaType()
        format_in = video_format(media_type)
        assert format_in is not None
        width, height = _size(media_type)
        rate = media_type.format.avg_time_per_frame
        offered = [media_type] + [
            video_type(fmt, width, height, avg_time_per_frame=rate)
            for fmt in (self.conversions.get(format_in, ()) if self.offers else ())
        ]
        return offered[position] if position < len(offered) else None

    def Transform(self, in_sample: Any, out_sample: Any) -> None:
        out_sample.SetActualDataLength(self.output.ConnectionMediaType().sample_size)


def converter(
    name: str, conversions: dict[str, tuple[str, ...]], scales: bool = False, offers: bool = True
) -> type:
    """A new `Converter` class (each registered name needs its own class); with ``offers``
    False its output offers only the input type."""
    attributes = {"conversions": conversions, "scales": scales, "offers": offers, "made": 0}
    return type(name, (Converter,), attributes)


#: Every format into every other one, at the same size.
ANY_FORMAT = {fmt: tuple(other for other in FORMATS if other != fmt) for fmt in FORMATS}
#: Same format, any size.
SAME_FORMAT: dict[str, tuple[str, ...]] = {fmt: () for fmt in FORMATS}


class Frames(SourceFilter):
    """``count`` frames of one video type."""

    def __init__(self, media_type: MediaType = NV12, count: int = 3) -> None:
        super().__init__(name="frames", media_type=media_type, buffers=2)
        self.count = count
        self.index = 0

    def FillBuffer(self, sample: Any) -> bool:
        if self.index >= self.count:
            return False
        sample.SetActualDataLength(self.media_type.sample_size)
        sample.SetTime(self.index * 400_000, (self.index + 1) * 400_000)
        self.index += 1
        return True


class Wants(RendererFilter):
    """A renderer that takes only ``wanted``, and offers it when ``offers``."""

    def __init__(self, wanted: MediaType, *, offers: bool = True, name: str = "wants") -> None:
        super().__init__(name=name, sync=False)
        self.wanted = wanted
        self.offers = offers

    def CheckMediaType(self, media_type: MediaType) -> bool:
        return media_type == self.wanted

    def get_media_type(self, pin: Any, position: int) -> MediaType | None:
        return self.wanted if self.offers and position == 0 and pin is self.input else None

    def DoRenderSample(self, sample: Any) -> None:
        pass


class Screen(RendererFilter, Element):
    """A registered test renderer that takes only RGB32."""

    description = "a test renderer taking RGB32"
    pin_templates = (PinTemplate("In", IN, "video/x-raw,format=RGB32"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)

    def CheckMediaType(self, media_type: MediaType) -> bool:
        return video_format(media_type) == "RGB32"

    def DoRenderSample(self, sample: Any) -> None:
        pass


@pytest.fixture
def register() -> Iterator[Callable[..., type]]:
    """Register test filters for one test, with the built-in converters out of the way
    (MERIT_DO_NOT_USE); everything is put back at teardown."""
    names: list[str] = []
    quiet = [c.name for c in builder.converters()]
    for name in quiet:
        set_merit(name, MERIT_DO_NOT_USE)

    def add(name: str, cls: type, merit: int | None = MERIT_NORMAL) -> type:
        register_filter(name, cls, merit=merit)
        names.append(name)
        return cls

    yield add
    for name in names:
        unregister_filter(name)
    for name in quiet:
        set_merit(name, None)


@pytest.fixture
def graph() -> Iterator[FilterGraph]:
    """A graph without a clock, stopped at teardown."""
    with FilterGraph(clock=None) as graph:
        yield graph


def _pair(graph: FilterGraph, source: Any, sink: Any) -> None:
    graph.AddFilter(source)
    graph.AddFilter(sink)


def _path(graph: FilterGraph, source: Any) -> list[tuple[str, MediaType]]:
    """From ``source`` downstream: each filter's class name and the type leaving it."""
    steps: list[tuple[str, MediaType]] = []
    filter = source
    while True:
        outputs = [p for p in filter.EnumPins() if p.QueryDirection() is OUT and is_connected(p)]
        if not outputs:
            return steps
        steps.append((type(filter).__name__, outputs[0].ConnectionMediaType()))
        filter = outputs[0].ConnectedTo().QueryPinInfo().filter


def _snapshot(graph: FilterGraph) -> tuple[list[Any], list[tuple[Any, Any]]]:
    """The graph's filters and its connections (output pin, input pin)."""
    filters = graph.EnumFilters()
    links = [
        (pin, pin.ConnectedTo())
        for f in filters
        for pin in f.EnumPins()
        if pin.QueryDirection() is OUT and is_connected(pin)
    ]
    return filters, links


# -- merit in the registry ------------------------------------------------------------------


def test_merit_constants_are_directshows() -> None:
    """The MERIT_* constants have DirectShow's values."""
    assert (MERIT_PREFERRED, MERIT_NORMAL, MERIT_UNLIKELY, MERIT_DO_NOT_USE) == (
        0x800000,
        0x600000,
        0x400000,
        0x200000,
    )
    assert merit_name(0x600000) == "MERIT_NORMAL"
    assert merit_name(0x600001) == "0x600001"


@pytest.mark.parametrize(
    ("name", "merit"),
    [
        ("nullsink", MERIT_UNLIKELY),
        ("y4msrc", MERIT_NORMAL),
        ("wavsrc", MERIT_NORMAL),
        ("avsrc", MERIT_UNLIKELY),
        ("y4msink", MERIT_DO_NOT_USE),
        ("wavsink", MERIT_DO_NOT_USE),
        ("avsink", MERIT_DO_NOT_USE),
        ("shmsink", MERIT_DO_NOT_USE),
        ("invert", MERIT_DO_NOT_USE),
        ("gain", MERIT_DO_NOT_USE),
        ("tee", MERIT_DO_NOT_USE),
        ("queue", MERIT_DO_NOT_USE),
        ("videotestsrc", MERIT_DO_NOT_USE),
        ("autoconvert", MERIT_DO_NOT_USE),
    ],
)
def test_builtin_merits(name: str, merit: int) -> None:
    """Each built-in filter has the merit the registry documents."""
    assert merit_of(name) == merit


def test_builtin_file_extensions() -> None:
    """y4msrc reads .y4m, wavsrc .wav, avsrc any file; other filters read none."""
    assert extensions_of("y4msrc") == (".y4m",)
    assert extensions_of("wavsrc") == (".wav",)
    assert extensions_of("avsrc") == ("*",)
    assert extensions_of("nullsink") == ()


def test_merit_precedence(register: Callable[..., type]) -> None:
    """set_merit wins over the registration's merit, which wins over the class attribute;
    None goes back."""
    cls = converter("ClassMerit", ANY_FORMAT)
    cls.merit = MERIT_PREFERRED
    register("tclassmerit", cls, merit=None)
    assert merit_of("tclassmerit") == MERIT_PREFERRED  # an entry point's class attribute
    register_filter("tclassmerit", cls, replace=True, merit=MERIT_UNLIKELY)
    assert merit_of("tclassmerit") == MERIT_UNLIKELY
    set_merit("tclassmerit", 0x600123)
    assert merit_of("tclassmerit") == 0x600123
    set_merit("tclassmerit", None)
    assert merit_of("tclassmerit") == MERIT_UNLIKELY


def test_default_merit_is_do_not_use(register: Callable[..., type]) -> None:
    """A filter that declares no merit is MERIT_DO_NOT_USE: never inserted."""
    register("tplain", converter("Plain", ANY_FORMAT), merit=None)
    assert merit_of("tplain") == MERIT_DO_NOT_USE
    assert "tplain" not in [c.name for c in builder.converters()]


@pytest.mark.parametrize(
    ("merit", "error"),
    [
        ("high", TypeError),
        (True, TypeError),
        (1.0, TypeError),
        (-1, ValueError),
        (2**32, ValueError),
    ],
)
def test_bad_merit_changes_nothing(
    register: Callable[..., type], merit: Any, error: type[Exception]
) -> None:
    """A merit that is not an int from 0 to 0xFFFFFFFF is refused and changes nothing."""
    register("tmerit", converter("BadMerit", ANY_FORMAT), merit=MERIT_UNLIKELY)
    with pytest.raises(error):
        set_merit("tmerit", merit)
    assert merit_of("tmerit") == MERIT_UNLIKELY
    with pytest.raises(error):
        register_filter("tmerit2", converter("BadMerit2", ANY_FORMAT), merit=merit)
    assert "tmerit2" not in registry.filter_names()


def test_bad_class_merit_is_refused() -> None:
    """A class whose merit attribute is not a valid merit cannot be registered."""
    cls = converter("BadClassMerit", ANY_FORMAT)
    cls.merit = "high"
    with pytest.raises(TypeError, match="merit"):
        register_filter("tbadclass", cls)
    assert "tbadclass" not in registry.filter_names()


def test_set_merit_of_an_unknown_name() -> None:
    """set_merit on a name nobody registered raises UnknownFilterError (a LookupError)."""
    with pytest.raises(UnknownFilterError, match="nulsink"):
        set_merit("nulsink", MERIT_NORMAL)
    assert merit_of("nullsink") == MERIT_UNLIKELY


def test_converters_are_ranked(register: Callable[..., type]) -> None:
    """converters() lists one-input one-output filters above MERIT_DO_NOT_USE, highest
    merit first, then by name; other filters and MERIT_DO_NOT_USE ones are left out."""
    register("tb", converter("B", ANY_FORMAT), merit=MERIT_NORMAL)
    register("ta", converter("A", ANY_FORMAT), merit=MERIT_NORMAL)
    register("tc", converter("C", ANY_FORMAT), merit=MERIT_PREFERRED)
    register("td", converter("D", ANY_FORMAT), merit=MERIT_DO_NOT_USE)
    register("tscreen", Screen, merit=MERIT_PREFERRED)
    assert [c.name for c in builder.converters()] == ["tc", "ta", "tb"]
    assert [c.name for c in builder.renderers()][:2] == ["tscreen", "nullsink"]


# -- Connect --------------------------------------------------------------------------------


def test_direct_connect_adds_nothing(register: Callable[..., type], graph: FilterGraph) -> None:
    """Pins that agree on a type connect directly: no filter is made or added."""
    cls = register("tconvert", converter("TConvert", ANY_FORMAT))
    source, sink = Frames(NV12), Wants(NV12)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert source.output.ConnectedTo() is sink.input
    assert sink.input.ConnectionMediaType() == NV12
    assert graph.EnumFilters() == [source, sink]
    assert graph.added_filters() == []
    assert cls.made == 0


@pytest.mark.parametrize("offers", [True, False], ids=["sink-offers", "sink-silent"])
def test_one_converter_chain(
    register: Callable[..., type], graph: FilterGraph, offers: bool
) -> None:
    """NV12 into a renderer taking only I420 puts one converter in between, NV12 on its
    input and I420 on its output, whether or not the renderer offers its type."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    source, sink = Frames(NV12), Wants(I420, offers=offers)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert _path(graph, source) == [("Frames", NV12), ("TConvert", I420)]
    (added,) = graph.added_filters()
    assert type(added).__name__ == "TConvert"
    assert added.QueryFilterInfo().name == "tconvert"
    assert graph.added_by(added) == "Connect"
    assert graph.added_by(source) is None


def test_two_converter_chain(register: Callable[..., type], graph: FilterGraph) -> None:
    """NV12 64x48 into a renderer taking I420 32x24 takes a converter then a scaler, in
    that order, with the types that fit on each link."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    source, sink = Frames(NV12), Wants(SMALL_I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert _path(graph, source) == [
        ("Frames", NV12),
        ("TConvert", I420),
        ("TScale", SMALL_I420),
    ]
    assert [type(f).__name__ for f in graph.added_filters()] == ["TConvert", "TScale"]
    assert [f.QueryFilterInfo().name for f in graph.EnumFilters()] == [
        "frames",
        "wants",
        "tconvert",
        "tscale",
    ]


@pytest.mark.timeout(30)
def test_two_converter_chain_streams(register: Callable[..., type]) -> None:
    """A graph Connect built runs: every frame reaches the renderer, at its size."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    source, sink = Frames(NV12, count=5), Wants(SMALL_I420)
    with FilterGraph(clock=None) as graph:
        _pair(graph, source, sink)
        graph.Connect(source.output, sink.input)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert sink.rendered == 5


def test_a_link_aims_at_what_the_end_wants(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """A scaler of RGB32 only, which offers only its input type, then a converter of RGB32
    to I420: the link between them is given the size the renderer wants (RGB32 32x24), so
    RGB32 64x48 reaches I420 32x24 through the two (the other order cannot work)."""
    register("ta_scale", converter("Scale", {"RGB32": ()}, scales=True))
    register("tb_to_i420", converter("ToI420", {"RGB32": ("I420",)}))
    source, sink = Frames(RGB32), Wants(SMALL_I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert _path(graph, source) == [
        ("Frames", RGB32),
        ("Scale", video_type("RGB32", 32, 24)),
        ("ToI420", SMALL_I420),
    ]


def test_template_caps_choose_the_type(register: Callable[..., type], graph: FilterGraph) -> None:
    """A registered renderer that offers no type but declares RGB32 in its pin template
    gets RGB32 from a converter that can make it but offers only its input type (NV12)."""
    register("tconvert", converter("Silent", ANY_FORMAT, offers=False))
    screen = Screen(name="screen")
    source = Frames(NV12)
    _pair(graph, source, screen)
    graph.Connect(source.output, screen.input)
    assert _path(graph, source) == [("Frames", NV12), ("Silent", RGB32)]


class Thumbnail(RendererFilter, Element):
    """A renderer of RGB32 32x24 only, which offers no type: its template says it."""

    description = "a test renderer taking RGB32 32x24"
    pin_templates = (PinTemplate("In", IN, "video/x-raw,format=RGB32,width=32,height=24"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)

    def CheckMediaType(self, media_type: MediaType) -> bool:
        return video_format(media_type) == "RGB32" and _size(media_type) == (32, 24)


def test_direct_connect_uses_the_input_template(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """videotestsrc offers 320x240 but makes any size: Connect to a renderer whose
    template asks RGB32 32x24 connects directly in that type, inserting nothing."""
    cls = register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    source, sink = make_filter("videotestsrc"), Thumbnail(name="thumbnail")
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert graph.added_filters() == []
    assert cls.made == 0
    assert sink.input.ConnectionMediaType() == video_type(
        "RGB32", 32, 24, avg_time_per_frame=333333
    )


def test_higher_merit_converter_is_used(register: Callable[..., type], graph: FilterGraph) -> None:
    """Of two converters that both fit, the one of higher merit goes in; raising the other's
    merit with set_merit makes the next Connect take it."""
    register("ta_low", converter("Low", ANY_FORMAT), merit=MERIT_UNLIKELY)
    register("tz_high", converter("High", ANY_FORMAT), merit=MERIT_PREFERRED)
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert [type(f).__name__ for f in graph.added_filters()] == ["High"]
    graph.RemoveFilter(graph.added_filters()[0])
    set_merit("ta_low", MERIT_PREFERRED + 1)
    graph.Connect(source.output, sink.input)
    assert [type(f).__name__ for f in graph.added_filters()] == ["Low"]


def test_equal_merit_goes_by_name(register: Callable[..., type], graph: FilterGraph) -> None:
    """Two converters of equal merit: the one whose registered name sorts first."""
    register("tbeta", converter("Beta", ANY_FORMAT))
    register("talpha", converter("Alpha", ANY_FORMAT))
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert [type(f).__name__ for f in graph.added_filters()] == ["Alpha"]


def test_shorter_chain_beats_higher_merit(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """One MERIT_UNLIKELY converter that fits is chosen over two MERIT_PREFERRED ones that
    fit together: shorter chains first."""
    register("tdirect", converter("Direct", {"NV12": ("I420",)}), merit=MERIT_UNLIKELY)
    register("tto_rgb", converter("ToRGB", {"NV12": ("RGB32",)}), merit=MERIT_PREFERRED)
    register("tfrom_rgb", converter("FromRGB", {"RGB32": ("I420",)}), merit=MERIT_PREFERRED)
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert [type(f).__name__ for f in graph.added_filters()] == ["Direct"]


def test_chain_order_within_a_length(register: Callable[..., type], graph: FilterGraph) -> None:
    """Among two-converter chains the first converter's rank decides first: with only
    two-step routes, the route starting with the higher-merit converter wins."""
    register("tto_rgb", converter("ToRGB", {"NV12": ("RGB32",)}), merit=MERIT_NORMAL)
    register("tfrom_rgb", converter("FromRGB", {"RGB32": ("I420",)}), merit=MERIT_NORMAL)
    register("tto_yuy", converter("ToRGB24", {"NV12": ("RGB24",)}), merit=MERIT_PREFERRED)
    register("tfrom_yuy", converter("FromRGB24", {"RGB24": ("I420",)}), merit=MERIT_UNLIKELY)
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert [type(f).__name__ for f in graph.added_filters()] == ["ToRGB24", "FromRGB24"]
    assert _path(graph, source)[1] == ("ToRGB24", video_type("RGB24", 64, 48))


def test_do_not_use_is_never_inserted(register: Callable[..., type], graph: FilterGraph) -> None:
    """A converter of MERIT_DO_NOT_USE is never made, even when it alone would fit:
    Connect raises VFW_E_CANNOT_CONNECT."""
    cls = register("tnever", converter("Never", ANY_FORMAT), merit=MERIT_DO_NOT_USE)
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    with pytest.raises(VfwCannotConnectError) as info:
        graph.Connect(source.output, sink.input)
    assert info.value.hresult == HRESULT.VFW_E_CANNOT_CONNECT == 0x80040217
    assert cls.made == 0
    assert graph.EnumFilters() == [source, sink]


def test_failure_leaves_the_graph_as_it_was(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """When no chain fits, Connect raises 0x80040217 after trying converters, and the graph
    has the same filters and connections as before; the pins connect later as before."""
    cls = register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    other_source, other_sink = Frames(NV12), Wants(NV12, name="other")
    graph.connect_chain(other_source, other_sink)
    source, sink = Frames(NV12), Wants(video_type("YUY2", 64, 48))
    _pair(graph, source, sink)
    before = _snapshot(graph)
    with pytest.raises(VfwCannotConnectError) as info:
        graph.Connect(source.output, sink.input)
    assert info.value.hresult == 0x80040217
    assert "frames 0001.Output" in str(info.value)
    assert cls.made > 0  # converters were tried
    assert _snapshot(graph) == before
    assert graph.added_filters() == []
    assert not is_connected(source.output) and not is_connected(sink.input)
    assert source.output.allocator is None
    late = Wants(NV12, name="late")
    graph.AddFilter(late)
    graph.Connect(source.output, late.input)
    assert late.input.ConnectionMediaType() == NV12


def test_a_hook_error_is_raised_as_it_is(register: Callable[..., type], graph: FilterGraph) -> None:
    """A direct connection failing for another reason than the type (a hook raising)
    raises that error, without trying any converter."""
    cls = register("tconvert", converter("TConvert", ANY_FORMAT))

    class Broken(Wants):
        def CheckMediaType(self, media_type: MediaType) -> bool:
            raise RuntimeError("broken renderer")

    source, sink = Frames(NV12), Broken(I420)
    _pair(graph, source, sink)
    with pytest.raises(RuntimeError, match="broken renderer"):
        graph.Connect(source.output, sink.input)
    assert cls.made == 0
    assert graph.EnumFilters() == [source, sink]


def test_connect_chain_stays_direct(register: Callable[..., type], graph: FilterGraph) -> None:
    """connect_chain links directly: no converter goes in, the type refusal is raised."""
    cls = register("tconvert", converter("TConvert", ANY_FORMAT))
    with pytest.raises(VfwNoAcceptableTypesError):
        graph.connect_chain(Frames(NV12), Wants(I420))
    assert cls.made == 0
    assert len(graph.EnumFilters()) == 2


def test_a_converter_that_cannot_be_made_is_passed_over(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """A converter whose construction fails is skipped for the next one."""

    class Unmakeable(Converter):
        conversions = ANY_FORMAT

        def __init__(self, **kwargs: Any) -> None:
            raise ValueError("needs a location")

    register("ta_unmakeable", Unmakeable, merit=MERIT_PREFERRED)
    register("tconvert", converter("TConvert", ANY_FORMAT))
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    assert [type(f).__name__ for f in graph.added_filters()] == ["TConvert"]


def test_the_search_is_bounded(register: Callable[..., type], graph: FilterGraph) -> None:
    """Ten converters that never fit: the search stops at MAX_ATTEMPTS pin connections
    and chains of MAX_CHAIN, and says so."""
    classes = [
        register(f"tloop{n}", converter(f"Loop{n}", {fmt: FORMATS for fmt in FORMATS}))
        for n in range(10)
    ]
    source, sink = Frames(NV12), Wants(video_type("YUY2", 64, 48))
    _pair(graph, source, sink)
    with pytest.raises(VfwCannotConnectError, match="bound"):
        graph.Connect(source.output, sink.input)
    made = sum(cls.made for cls in classes)
    assert 0 < made <= builder.MAX_ATTEMPTS * builder.MAX_CHAIN
    assert graph.EnumFilters() == [source, sink]


# -- bad input ------------------------------------------------------------------------------


def test_connect_refuses_bad_pins(register: Callable[..., type], graph: FilterGraph) -> None:
    """None, a non-pin, a pin outside the graph, the wrong direction or a connected pin:
    each raises its error and the graph is unchanged."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    source, sink, outside = Frames(NV12), Wants(I420), Wants(I420, name="outside")
    other_source, other_sink = Frames(NV12), Wants(NV12, name="other")
    _pair(graph, source, sink)
    graph.connect_chain(other_source, other_sink)
    before = _snapshot(graph)
    cases: list[tuple[Any, Any, type[Exception], int | None]] = [
        (None, sink.input, PointerError, 0x80004003),
        (source.output, "pin", TypeError, None),
        (source.output, outside.input, VfwNotInGraphError, 0x8004025F),
        (sink.input, source.output, VfwInvalidDirectionError, 0x80040208),
        (other_source.output, sink.input, VfwAlreadyConnectedError, 0x80040204),
        (source.output, other_sink.input, VfwAlreadyConnectedError, 0x80040204),
    ]
    for out_pin, in_pin, error, code in cases:
        with pytest.raises(error) as info:
            graph.Connect(out_pin, in_pin)
        if code is not None:
            assert info.value.hresult == code  # type: ignore[attr-defined]
        assert _snapshot(graph) == before


@pytest.mark.timeout(30)
def test_connect_render_while_running_raise_not_stopped(register: Callable[..., type]) -> None:
    """Connect, Render and RenderFile on a graph that is not stopped raise
    VFW_E_NOT_STOPPED and change nothing."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    running_source, running_sink = Frames(NV12, count=10**6), Wants(NV12, name="running")
    source, sink = Frames(NV12), Wants(I420)
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(running_source, running_sink)
        _pair(graph, source, sink)
        graph.Pause()
        before = _snapshot(graph)
        with pytest.raises(VfwNotStoppedError) as info:
            graph.Connect(source.output, sink.input)
        assert info.value.hresult == 0x80040224
        with pytest.raises(VfwNotStoppedError):
            graph.Render(source.output)
        with pytest.raises(VfwNotStoppedError):
            graph.RenderFile(__file__)
        assert _snapshot(graph) == before
        graph.Stop()


# -- Render ---------------------------------------------------------------------------------


def test_render_falls_back_on_nullsink(register: Callable[..., type], graph: FilterGraph) -> None:
    """With no other renderer registered, Render connects the pin to a new nullsink."""
    source = Frames(NV12)
    graph.AddFilter(source)
    graph.Render(source.output)
    (renderer,) = graph.added_filters()
    assert renderer.QueryFilterInfo().name == "nullsink"
    assert graph.added_by(renderer) == "Render"
    assert source.output.ConnectedTo() is renderer.input
    assert renderer.input.ConnectionMediaType() == NV12


def test_render_prefers_a_higher_merit_renderer_through_converters(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """A registered renderer of higher merit than nullsink is used, with the converter its
    type needs in between."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscreen", Screen, merit=MERIT_NORMAL)
    source = Frames(NV12)
    graph.AddFilter(source)
    graph.Render(source.output)
    assert [type(f).__name__ for f in graph.added_filters()] == ["Screen", "TConvert"]
    assert _path(graph, source) == [("Frames", NV12), ("TConvert", RGB32)]
    assert {graph.added_by(f) for f in graph.added_filters()} == {"Render"}


def test_render_failure_raises_cannot_render(
    register: Callable[..., type], graph: FilterGraph
) -> None:
    """With nullsink set to MERIT_DO_NOT_USE and only an RGB32 renderer that no converter
    can feed, Render raises VFW_E_CANNOT_RENDER (0x80040218) and adds nothing."""
    register("tscreen", Screen, merit=MERIT_NORMAL)
    set_merit("nullsink", MERIT_DO_NOT_USE)
    try:
        source = Frames(NV12)
        graph.AddFilter(source)
        with pytest.raises(VfwCannotRenderError) as info:
            graph.Render(source.output)
        assert info.value.hresult == 0x80040218
        assert graph.EnumFilters() == [source]
        assert not is_connected(source.output)
    finally:
        set_merit("nullsink", None)


def test_render_refuses_bad_pins(graph: FilterGraph) -> None:
    """Render of an input pin, a connected pin or a pin outside the graph raises and
    changes nothing."""
    source, sink = Frames(NV12), Wants(NV12)
    graph.connect_chain(source, sink)
    lone = Frames(NV12)
    before = _snapshot(graph)
    with pytest.raises(VfwInvalidDirectionError):
        graph.Render(sink.input)
    with pytest.raises(VfwAlreadyConnectedError):
        graph.Render(source.output)
    with pytest.raises(VfwNotInGraphError):
        graph.Render(lone.output)
    assert _snapshot(graph) == before


# -- RenderFile -----------------------------------------------------------------------------


def _write(line: str) -> None:
    pipeline = parse_launch(line)
    with pipeline.graph as graph:
        graph.Run()
        assert graph.WaitForCompletion(20_000) == EC_COMPLETE


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small files: 4 frames of Y4M and 2,000 frames of WAV made with the project's own
    sinks, and an MP4 with a picture and a sound made with ffmpeg (when installed)."""
    folder = tmp_path_factory.mktemp("render_file")
    files = {"y4m": folder / "clip.y4m", "wav": folder / "tone.wav"}
    _write(
        f"videotestsrc num-buffers=4 ! video/x-raw,format=I420,width=32,height=24 ! "
        f"y4msink location={files['y4m']}"
    )
    _write(f"audiotestsrc num-buffers=2 samples-per-buffer=1000 ! wavsink location={files['wav']}")
    if HAVE_FFMPEG:
        files["mp4"] = folder / "clip.mp4"
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-y"),
                *("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"),
                *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000"),
                *("-t", "1", "-c:v", "mpeg4", "-c:a", "aac", "-shortest", str(files["mp4"])),
            ],
            check=True,
            timeout=60,
        )
    return files


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("kind", "source_class"), [("y4m", "Y4MSource"), ("wav", "WavSource")])
def test_render_file_plays_a_file(media: dict[str, Path], kind: str, source_class: str) -> None:
    """RenderFile picks the source by the suffix and renders its stream into a nullsink;
    the graph then plays the whole file."""
    with FilterGraph(clock=None) as graph:
        graph.RenderFile(media[kind])
        source, sink = graph.added_filters()
        assert type(source).__name__ == source_class
        assert graph.added_by(source) == "RenderFile"
        assert sink.QueryFilterInfo().name == "nullsink"
        assert graph.added_by(sink) == "RenderFile"
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert sink.rendered == (4 if kind == "y4m" else 2)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not (HAVE_FFMPEG and HAVE_AV), reason="needs ffmpeg and PyAV")
def test_render_file_renders_every_stream(media: dict[str, Path]) -> None:
    """An MP4 with a picture and a sound: avsrc and a nullsink for each stream, and the
    graph plays both to their end."""
    with FilterGraph(clock=None) as graph:
        graph.RenderFile(str(media["mp4"]))
        source, *sinks = graph.added_filters()
        assert type(source).__name__ == "AVSource"
        assert [pin.QueryId() for pin in source.EnumPins()] == ["video_0", "audio_0"]
        assert [s.QueryFilterInfo().name for s in sinks] == ["nullsink", "nullsink 0001"]
        graph.Run()
        assert graph.WaitForCompletion(30_000) == EC_COMPLETE
    assert sinks[0].rendered == 10
    assert sinks[1].rendered > 0


class PreferredY4M(Y4MSource):
    """y4msrc's class registered again, declaring its extensions and a merit itself."""

    extensions = (".y4m",)
    merit = MERIT_PREFERRED


class UnreadableY4M(Y4MSource):
    """A source of the highest merit for .y4m that cannot read any file."""

    extensions = (".Y4M",)

    def __init__(self, **kwargs: Any) -> None:
        raise ValueError("this source reads nothing")


def test_render_file_chooses_by_registry_data(
    register: Callable[..., type], media: dict[str, Path], graph: FilterGraph
) -> None:
    """A registered source whose class lists .y4m with a higher merit than y4msrc reads the
    file; one that cannot read it is passed over first."""
    register("tpreferred", PreferredY4M, merit=None)
    register("tunreadable", UnreadableY4M, merit=MERIT_PREFERRED + 1)
    expected = ["tunreadable", "tpreferred", "y4msrc"] + (["avsrc"] if HAVE_AV else [])
    assert [c.name for c in builder.file_sources(media["y4m"])] == expected
    graph.RenderFile(media["y4m"])
    assert [type(f).__name__ for f in graph.added_filters()] == ["PreferredY4M", "NullSink"]


def test_render_file_bad_input(media: dict[str, Path], graph: FilterGraph, tmp_path: Path) -> None:
    """A missing file, a folder, a file nothing reads, a path of the wrong type or a
    playlist raise a clear error and leave the graph empty."""
    with pytest.raises(VfwNotFoundError) as info:
        graph.RenderFile(tmp_path / "missing.y4m")
    assert info.value.hresult == 0x80040216
    with pytest.raises(VfwNotFoundError):
        graph.RenderFile(tmp_path)
    garbage = tmp_path / "garbage.y4m"
    garbage.write_bytes(b"not a video at all")
    with pytest.raises(VfwCannotRenderError) as render_info:
        graph.RenderFile(garbage)
    assert render_info.value.hresult == 0x80040218
    assert "y4msrc" in str(render_info.value)
    with pytest.raises(TypeError):
        graph.RenderFile(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgError):
        graph.RenderFile(media["y4m"], "playlist")  # type: ignore[arg-type]
    assert graph.EnumFilters() == []


# -- autoconvert ----------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_autoconvert_inserts_converters(register: Callable[..., type], tmp_path: Path) -> None:
    """``! autoconvert !`` between NV12 64x48 and I420 32x24 caps inserts a converter and a
    scaler when the graph is built; the file written has 3 frames of 32x24."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    target = tmp_path / "small.y4m"
    pipeline = parse_launch(
        "videotestsrc num-buffers=3 ! video/x-raw,format=NV12,width=64,height=48 ! autoconvert"
        f" ! video/x-raw,format=I420,width=32,height=24 ! y4msink location={target}"
    )
    with pipeline.graph as graph:
        assert list(pipeline.filters) == ["videotestsrc0", "y4msink0"]
        added = graph.added_filters()
        assert [type(f).__name__ for f in added] == ["TConvert", "TScale"]
        assert {graph.added_by(f) for f in added} == {"autoconvert"}
        assert [link.output.ConnectionMediaType() for link in pipeline.links] == [
            video_type("NV12", 64, 48, avg_time_per_frame=333333),
            video_type("I420", 64, 48, avg_time_per_frame=333333),
            video_type("I420", 32, 24, avg_time_per_frame=333333),
        ]
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    data = target.read_bytes()
    assert data.startswith(b"YUV4MPEG2 W32 H24 ")
    assert data.count(b"FRAME\n") == 3


def test_autoconvert_connects_directly_when_it_can(register: Callable[..., type]) -> None:
    """When the neighbours agree on a type, autoconvert inserts nothing."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    pipeline = parse_launch("videotestsrc ! autoconvert ! video/x-raw,format=I420 ! nullsink")
    with pipeline.graph as graph:
        assert graph.added_filters() == []
        (link,) = pipeline.links
        assert video_format(link.output.ConnectionMediaType()) == "I420"


@pytest.mark.parametrize(
    ("line", "message", "at"),
    [
        ("videotestsrc ! autoconvert", "needs one link in and one link out", "autoconvert"),
        ("autoconvert ! nullsink", "needs one link in and one link out", "autoconvert"),
        (
            "videotestsrc ! autoconvert ! autoconvert ! nullsink",
            "two autoconvert in a row",
            "autoconvert",
        ),
        ("videotestsrc ! autoconvert method=x ! nullsink", "no property", "method=x"),
        (
            "audiotestsrc ! autoconvert ! y4msink location=x.y4m",
            "VFW_E_CANNOT_CONNECT (0x80040217)",
            "autoconvert",
        ),
    ],
)
def test_autoconvert_mistakes(
    register: Callable[..., type], line: str, message: str, at: str
) -> None:
    """A misused or failing autoconvert is a LaunchError pointing at it, and the graph it
    was given is left empty."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    with FilterGraph(clock=None) as graph:
        with pytest.raises(LaunchError) as info:
            parse_launch(line, graph)
        assert message in info.value.reason
        assert info.value.text[info.value.offset :].startswith(at)
        assert graph.EnumFilters() == []


def test_autoconvert_alone_refuses_connections(graph: FilterGraph) -> None:
    """autoconvert made outside a launch line is inspectable, but its pins refuse to
    connect (E_NOTIMPL)."""
    alone = make_filter("autoconvert")
    source = Frames(NV12)
    _pair(graph, source, alone)
    with pytest.raises(NotImplError):
        graph.ConnectDirect(source.output, alone.FindPin("Input"))
    assert not is_connected(source.output)


# -- dot and inspect ------------------------------------------------------------------------


def test_dot_marks_added_filters(register: Callable[..., type], graph: FilterGraph) -> None:
    """dot draws a filter Connect added with a dashed border and "added by Connect"; the
    filters added by hand keep the plain style."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    source, sink = Frames(NV12), Wants(I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    dot = graph_to_dot(graph)
    assert 'label="tconvert\\nTConvert\\nadded by Connect";' in dot
    assert dot.count('style="rounded,filled,dashed"') == 1
    assert 'label="frames\\nFrames";' in dot
    assert dot.count('style="rounded,filled"; fillcolor="#eeeeee";') == 2
    assert dot.count(" -> ") == 2


def test_dot_command_shows_autoconvert_filters(
    register: Callable[..., type], capsys: pytest.CaptureFixture[str]
) -> None:
    """``dshow-alloc dot`` of a line with autoconvert draws the converters it inserted."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    line = "videotestsrc ! video/x-raw,format=NV12 ! autoconvert ! video/x-raw,format=RGB32 "
    assert main(["dot", line + "! nullsink"]) == 0
    out = capsys.readouterr().out
    assert 'label="tconvert\\nTConvert\\nadded by autoconvert";' in out
    assert out.count(" -> ") == 2


def test_inspect_shows_merit(
    register: Callable[..., type], capsys: pytest.CaptureFixture[str]
) -> None:
    """``inspect`` lists each filter's merit, and ``inspect NAME`` gives it with its value
    (and what files a source reads)."""
    register("tconvert", converter("TConvert", ANY_FORMAT), merit=MERIT_PREFERRED)
    register("tod", converter("Odd", ANY_FORMAT), merit=0x600001)
    assert main(["inspect"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert rows["tconvert"] == "preferred"
    assert rows["tod"] == "0x600001"
    assert rows["nullsink"] == "unlikely"
    assert rows["y4msink"] == "do-not-use"
    assert rows["y4msrc"] == "normal"
    assert main(["inspect", "nullsink"]) == 0
    second = capsys.readouterr().out.splitlines()[1]
    assert second.endswith("NullSink, merit MERIT_UNLIKELY (0x400000)")
    assert main(["inspect", "y4msrc"]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[1]
        .endswith("merit MERIT_NORMAL (0x600000), reads .y4m files")
    )


# -- the real converters --------------------------------------------------------------------

needs_real = pytest.mark.skipif(not HAVE_REAL, reason="the converters module is not there")


@needs_real
@pytest.mark.timeout(60)
def test_real_videoconvert_between_nv12_and_i420() -> None:
    """NV12 into a renderer taking only I420: Connect inserts the real videoconvert alone,
    and the frames stream through it."""
    source, sink = Frames(NV12, count=3), Wants(I420, offers=False)
    with FilterGraph(clock=None) as graph:
        _pair(graph, source, sink)
        graph.Connect(source.output, sink.input)
        assert [f.QueryFilterInfo().name for f in graph.added_filters()] == ["videoconvert"]
        assert _path(graph, source)[1][1] == I420
        graph.Run()
        assert graph.WaitForCompletion(20_000) == EC_COMPLETE
    assert sink.rendered == 3


@needs_real
@pytest.mark.timeout(60)
def test_real_autoconvert_converts_and_scales(tmp_path: Path) -> None:
    """``autoconvert`` from NV12 64x48 to I420 32x24 inserts the real converters and the
    file written has 32x24 frames."""
    target = tmp_path / "small.y4m"
    pipeline = parse_launch(
        "videotestsrc num-buffers=2 ! video/x-raw,format=NV12,width=64,height=48 ! "
        f"autoconvert ! video/x-raw,format=I420,width=32,height=24 ! y4msink location={target}"
    )
    with pipeline.graph as graph:
        added = {f.QueryFilterInfo().name for f in graph.added_filters()}
        assert added and added <= {"videoconvert", "videoscale"}
        graph.Run()
        assert graph.WaitForCompletion(20_000) == EC_COMPLETE
    data = target.read_bytes()
    assert data.startswith(b"YUV4MPEG2 W32 H24 ")
    assert data.count(b"FRAME\n") == 2


class Tone(SourceFilter):
    """``count`` buffers of 441 frames of silence in one audio type."""

    def __init__(self, media_type: MediaType, count: int = 3) -> None:
        block = media_type.format.block_align
        super().__init__(name="tone", media_type=media_type, buffer_size=441 * block)
        self.count, self.index = count, 0

    def FillBuffer(self, sample: Any) -> bool:
        if self.index >= self.count:
            return False
        size = 441 * self.media_type.format.block_align
        sample.GetPointer()[:size] = bytes(size)
        sample.SetActualDataLength(size)
        sample.SetTime(self.index * 100_000, (self.index + 1) * 100_000)
        self.index += 1
        return True


@needs_real
@pytest.mark.timeout(60)
def test_real_audio_converters_feed_a_picky_renderer() -> None:
    """S16LE 44.1 kHz stereo into a renderer taking only F32LE 48 kHz mono: Connect inserts
    audioconvert (to F32LE mono) then audioresample (to 48 kHz), and the stream plays."""
    stereo, wanted = audio_type("S16LE", 44100, 2), audio_type("F32LE", 48000, 1)
    source, sink = Tone(stereo), Wants(wanted)
    with FilterGraph(clock=None) as graph:
        _pair(graph, source, sink)
        graph.Connect(source.output, sink.input)
        assert [f.QueryFilterInfo().name for f in graph.added_filters()] == [
            "audioconvert",
            "audioresample",
        ]
        assert _path(graph, source) == [
            ("Tone", stereo),
            ("AudioConvert", audio_type("F32LE", 44100, 1)),
            ("AudioResample", wanted),
        ]
        graph.Run()
        assert graph.WaitForCompletion(20_000) == EC_COMPLETE
    assert sink.rendered >= 3


def test_allocator_properties_survive(register: Callable[..., type], graph: FilterGraph) -> None:
    """Each link of a chain negotiated its own allocator, sized for its type."""
    register("tconvert", converter("TConvert", ANY_FORMAT))
    register("tscale", converter("TScale", SAME_FORMAT, scales=True))
    source, sink = Frames(NV12), Wants(SMALL_I420)
    _pair(graph, source, sink)
    graph.Connect(source.output, sink.input)
    convert, scale = graph.added_filters()
    sizes = [
        pin.allocator.GetProperties().buffer_size
        for pin in (source.output, convert.output, scale.output)
    ]
    assert sizes == [NV12.sample_size, I420.sample_size, SMALL_I420.sample_size]


# -- the sample -----------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "intelligent_connect.py"


@pytest.fixture
def sample(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """samples/intelligent_connect.py imported as a module, run in ``tmp_path``."""
    spec = importlib.util.spec_from_file_location("_sample_intelligent_connect", SAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.chdir(tmp_path)
    yield module


@needs_real
@pytest.mark.timeout(60)
def test_sample_reports_what_it_did(sample: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The sample passes its checks and prints each chain the graph builder made."""
    assert sample.main(["--frames", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  added by Connect: ['videoconvert']" in out
    assert any(
        line.startswith("RenderFile: wavsrc -> [") and "-> levelmeter" in line for line in out
    )
    assert "Connect audio to y4msink: VFW_E_CANNOT_CONNECT (0x80040217)" in out
    assert "  wrote small.y4m: 2 frames of 160x120" in out
    assert out[-1] == "check: OK (converters inserted where needed, files and levels as sent)"


@needs_real
@pytest.mark.timeout(60)
def test_sample_detects_a_failed_connect(
    sample: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the search allowed no converter, the sample's steps fail and it returns 1."""
    monkeypatch.setattr(builder, "MAX_CHAIN", 0)
    assert sample.main(["--frames", "2"]) == 1
    out = capsys.readouterr().out
    assert "check: FAILED (Connect, RenderFile, autoconvert)" in out
