"""The filter registry: names, entry points, `prop` fields, property parsing, `make_filter`.

A small registered source ("regsrc") declares one property of every kind; a fake installed
distribution in ``tmp_path`` (a ``.dist-info`` directory with ``entry_points.txt``) proves
that entry points of the group ``dshow_alloc.filters`` are found, loaded and usable from the
launch syntax.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest

from dshow_alloc import EC_COMPLETE, BaseFilter, FilterGraph, NullRenderer, SourceFilter, registry
from dshow_alloc.launch import LaunchError, parse_launch
from dshow_alloc.plugins.basic import NullSink, QueueElement, TeeElement
from dshow_alloc.registry import (
    ENTRY_POINT_GROUP,
    Element,
    FilterUnavailableError,
    PinTemplate,
    PropertyInfo,
    UnknownFilterError,
    UnknownPropertyError,
    filter_class,
    filter_names,
    make_filter,
    parse_property,
    prop,
    properties_of,
    register_filter,
    unregister_filter,
)
from dshow_alloc.report import run_graph
from dshow_alloc.structs import PinDirection

BUILTINS = [
    "audioconvert",
    "audioresample",
    "audiotestsrc",
    "autoconvert",
    "avsink",
    "avsrc",
    "gain",
    "invert",
    "nullsink",
    "queue",
    "raysink",
    "raysrc",
    "shmsink",
    "shmsrc",
    "tee",
    "videoconvert",
    "videoscale",
    "videotestsrc",
    "wavsink",
    "wavsrc",
    "y4msink",
    "y4msrc",
]


@attrs.define
class _RegProperties:
    num_buffers: int = prop(-1, kind=int, minimum=-1, doc="samples to make (-1: endless)")
    rate: Fraction = prop(Fraction(30), kind=Fraction, doc="frames per second")  # noqa: RUF009
    label: str = prop("", kind=str, doc="a label")
    flag: bool = prop(False, kind=bool, doc="a switch")
    location: Path | None = prop(None, kind=Path, doc="a file")  # noqa: RUF009
    mode: str = prop("fast", kind=str, choices=("fast", "slow"), doc="how to go")
    level: float = prop(1.0, kind=float, minimum=0.0, maximum=10.0, doc="a level")


class RegSource(SourceFilter, Element):
    """A registered source with one property of every kind; it makes 8-byte samples."""

    Properties = _RegProperties
    description = "A source for registry tests"
    pin_templates = (PinTemplate("Output", PinDirection.PINDIR_OUTPUT, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, buffer_size=8, buffers=2)
        self.count = 0

    def expected_samples(self) -> int | None:
        """``num-buffers`` when it is not endless."""
        return self.props.num_buffers if self.props.num_buffers >= 0 else None

    def FillBuffer(self, sample: Any) -> bool:
        """``num-buffers`` samples, then the end."""
        if 0 <= self.props.num_buffers <= self.count:
            return False
        self.count += 1
        return True


@pytest.fixture
def regsrc() -> Iterator[type]:
    """``regsrc`` registered for the test only."""
    register_filter("regsrc", RegSource)
    yield RegSource
    unregister_filter("regsrc")


@pytest.fixture
def broken_spec() -> Iterator[str]:
    """``brokenfilter`` registered to a module that does not exist (as a missing extra)."""
    registry.filter_names()  # the built-ins and entry points are read first
    registry._specs["brokenfilter"] = "dshow_alloc_no_such_module:Missing"
    yield "brokenfilter"
    unregister_filter("brokenfilter")


FAKE_MODULE = '''
from dshow_alloc.plugins.basic import NullSink
from dshow_alloc.registry import Element


class FakeFilter(NullSink):
    """A sink shipped by another distribution."""

    description = "a filter from fakepkg"


class NotAFilter:
    """Registered by mistake: neither a BaseFilter nor an Element."""


def make_sink():
    """Registered by mistake: a function, not a class."""
    return FakeFilter()
'''

FAKE_ENTRY_POINTS = f"""[{ENTRY_POINT_GROUP}]
fakefilter = fakepkg_mod:FakeFilter
fakebroken = fakepkg_missing_mod:Nope
notafilter = fakepkg_mod:NotAFilter
tee = fakepkg_mod:FakeFilter
"""


@pytest.fixture
def fakepkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A distribution ``fakepkg`` installed in ``tmp_path`` with four entry points; removed
    again (and the registry rescanned) at teardown."""
    info = tmp_path / "fakepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(FAKE_ENTRY_POINTS)
    (tmp_path / "fakepkg_mod.py").write_text(FAKE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.rescan()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("fakepkg_mod", None)
    for name in ("fakefilter", "fakebroken", "notafilter"):
        unregister_filter(name)
    registry.rescan()
    assert filter_names() == BUILTINS


# -- names -----------------------------------------------------------------------------------


def test_filter_names_lists_the_builtins_sorted() -> None:
    """filter_names lists exactly the built-in names, sorted, without importing them."""
    assert filter_names() == BUILTINS


def test_basic_builtins_load_as_their_classes() -> None:
    """tee, queue and nullsink resolve to the classes in dshow_alloc.plugins.basic."""
    assert filter_class("tee") is TeeElement
    assert filter_class("queue") is QueueElement
    assert filter_class("nullsink") is NullSink


def test_unknown_filter_suggests_the_closest_names() -> None:
    """An unknown name raises UnknownFilterError (a LookupError) naming the closest names."""
    with pytest.raises(UnknownFilterError) as info:
        filter_class("videotestsrcc")
    assert isinstance(info.value, LookupError)
    assert info.value.name == "videotestsrcc"
    assert info.value.suggestions == ["videotestsrc", "audiotestsrc", "videoscale"]
    assert str(info.value) == (
        "no filter named 'videotestsrcc'; did you mean videotestsrc or audiotestsrc or videoscale?"
    )


def test_unknown_filter_without_close_names_has_no_hint() -> None:
    """A name like no other gives no suggestion and no "did you mean"."""
    with pytest.raises(UnknownFilterError) as info:
        filter_class("zzzz")
    assert info.value.suggestions == []
    assert str(info.value) == "no filter named 'zzzz'"


def test_unimportable_entry_stays_listed_and_raises_filter_unavailable(broken_spec: str) -> None:
    """A registered entry whose module fails to import is listed, and asking for it raises
    FilterUnavailableError (an ImportError) saying which entry and why."""
    assert broken_spec in filter_names()
    with pytest.raises(FilterUnavailableError) as info:
        filter_class(broken_spec)
    assert isinstance(info.value, ImportError)
    assert str(info.value) == (
        "brokenfilter (dshow_alloc_no_such_module:Missing) cannot be loaded: "
        "No module named 'dshow_alloc_no_such_module'."
    )
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_missing_extra_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module failing on a missing numpy says to install the ``media`` extra."""
    (tmp_path / "needs_numpy_mod.py").write_text(
        "raise ImportError(\"No module named 'numpy'\", name='numpy')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    filter_names()
    registry._specs["needsnumpy"] = "needs_numpy_mod:Filter"
    try:
        with pytest.raises(FilterUnavailableError) as info:
            filter_class("needsnumpy")
    finally:
        unregister_filter("needsnumpy")
        sys.modules.pop("needs_numpy_mod", None)
    assert str(info.value) == (
        "needsnumpy (needs_numpy_mod:Filter) cannot be loaded: No module named 'numpy'. "
        "Install it with: pip install 'dshow-alloc[media]'"
    )


def test_unavailable_filter_in_a_launch_line_points_at_it(broken_spec: str) -> None:
    """Launching an unavailable filter is a LaunchError under its name."""
    with pytest.raises(LaunchError) as info:
        parse_launch("queue ! brokenfilter", FilterGraph(clock=None))
    assert info.value.offset == 8
    assert info.value.length == len("brokenfilter")
    assert info.value.reason.startswith("brokenfilter (dshow_alloc_no_such_module:Missing)")


# -- entry points ----------------------------------------------------------------------------


def test_entry_point_of_an_installed_distribution_is_found(fakepkg: Path) -> None:
    """rescan reads the entry points of a distribution installed after the first scan, and
    filter_class loads its class by name."""
    assert "fakefilter" in filter_names()
    cls = filter_class("fakefilter")
    assert cls.__name__ == "FakeFilter"
    assert cls.__module__ == "fakepkg_mod"
    assert issubclass(cls, NullSink)
    assert filter_names() == sorted([*BUILTINS, "fakebroken", "fakefilter", "notafilter"])


def test_entry_point_cannot_replace_a_builtin(fakepkg: Path) -> None:
    """An entry point named like a built-in (``tee``) does not replace it."""
    assert filter_class("tee") is TeeElement


def test_entry_point_whose_module_is_missing_is_unavailable(fakepkg: Path) -> None:
    """An entry point naming a module that is not installed raises FilterUnavailableError."""
    with pytest.raises(FilterUnavailableError) as info:
        filter_class("fakebroken")
    assert str(info.value) == (
        "fakebroken (fakepkg_missing_mod:Nope) cannot be loaded: "
        "No module named 'fakepkg_missing_mod'."
    )


def test_entry_point_to_a_non_filter_class_is_refused(fakepkg: Path) -> None:
    """An entry point naming a class that is not a BaseFilter and Element raises
    FilterUnavailableError saying so, caused by the TypeError register_filter gives."""
    with pytest.raises(FilterUnavailableError) as info:
        filter_class("notafilter")
    assert str(info.value) == (
        "notafilter (fakepkg_mod:NotAFilter) cannot be used: "
        "fakepkg_mod:NotAFilter is not a BaseFilter and Element subclass"
    )
    assert isinstance(info.value.__cause__, TypeError)
    assert "notafilter" in filter_names()


def test_entry_point_to_a_non_filter_class_is_not_remembered(fakepkg: Path) -> None:
    """A refused entry point is refused again on every request (nothing is cached)."""
    for _ in range(2):
        with pytest.raises(FilterUnavailableError, match="cannot be used"):
            filter_class("notafilter")
    assert "notafilter" not in registry._loaded


def test_entry_point_to_a_non_filter_class_in_a_launch_line(fakepkg: Path) -> None:
    """Launching an entry point that is not a filter is a LaunchError under its name."""
    graph = FilterGraph(clock=None)
    with pytest.raises(LaunchError) as info:
        parse_launch("queue ! notafilter", graph)
    assert info.value.reason == (
        "notafilter (fakepkg_mod:NotAFilter) cannot be used: "
        "fakepkg_mod:NotAFilter is not a BaseFilter and Element subclass"
    )
    assert (info.value.offset, info.value.length) == (8, 10)
    assert graph.EnumFilters() == []


def test_entry_point_to_a_function_is_refused(fakepkg: Path) -> None:
    """An entry point naming something that is not a class at all is refused the same way."""
    filter_names()
    registry._specs["notaclass"] = "fakepkg_mod:make_sink"
    try:
        with pytest.raises(FilterUnavailableError) as info:
            filter_class("notaclass")
    finally:
        unregister_filter("notaclass")
    assert str(info.value) == (
        "notaclass (fakepkg_mod:make_sink) cannot be used: "
        "fakepkg_mod:make_sink is not a BaseFilter and Element subclass"
    )


def test_entry_point_filter_works_in_a_launch_line(fakepkg: Path, regsrc: type) -> None:
    """A filter from an entry point is made, connected and run by the launch syntax."""
    with FilterGraph(clock=None) as graph:
        pipeline = parse_launch("regsrc num-buffers=3 ! fakefilter", graph)
        assert list(pipeline.filters) == ["regsrc0", "fakefilter0"]
        assert type(pipeline.filters["fakefilter0"]).__name__ == "FakeFilter"
        report = run_graph(graph)
    assert report.completion == "EC_COMPLETE"
    assert report.renderers == {"fakefilter0": 3}


def test_rescan_forgets_an_uninstalled_distribution_it_never_loaded(
    fakepkg: Path,
) -> None:
    """After the distribution is removed from the path, rescan drops its unloaded entries."""
    sys.path.remove(str(fakepkg))
    try:
        registry.rescan()
        names = filter_names()
        assert "fakebroken" not in names
        assert "notafilter" not in names
    finally:
        sys.path.insert(0, str(fakepkg))


# -- register_filter -------------------------------------------------------------------------


def test_register_filter_makes_the_class_available(regsrc: type) -> None:
    """A registered class is listed and returned by filter_class; unregister forgets it."""
    assert "regsrc" in filter_names()
    assert filter_class("regsrc") is RegSource
    unregister_filter("regsrc")
    assert "regsrc" not in filter_names()
    with pytest.raises(UnknownFilterError):
        filter_class("regsrc")
    register_filter("regsrc", RegSource)  # for the fixture's teardown


def test_register_filter_refuses_a_name_taken(regsrc: type) -> None:
    """A name already registered (by a test or a built-in) is a ValueError unless replace."""
    with pytest.raises(ValueError, match="a filter named 'regsrc' is already registered"):
        register_filter("regsrc", RegSource)
    with pytest.raises(ValueError, match="a filter named 'tee' is already registered"):
        register_filter("tee", RegSource)
    assert filter_class("tee") is TeeElement
    register_filter("regsrc", NullSink, replace=True)
    assert filter_class("regsrc") is NullSink


class _PlainFilter(NullRenderer):
    """A BaseFilter that is not an Element."""


class _PlainElement(Element):
    """An Element that is not a BaseFilter."""


@pytest.mark.parametrize("cls", [_PlainFilter, _PlainElement, object, "NullSink"])
def test_register_filter_refuses_non_filters(cls: Any) -> None:
    """Only classes deriving from both BaseFilter and Element can be registered (TypeError)."""
    with pytest.raises(TypeError, match="is not a BaseFilter and Element subclass"):
        register_filter("notregistered", cls)
    assert "notregistered" not in filter_names()


@pytest.mark.parametrize("name", ["", None, 3])
def test_register_filter_refuses_bad_names(name: Any) -> None:
    """A filter name is a non-empty str (ValueError otherwise)."""
    with pytest.raises(ValueError, match="a filter name is a non-empty str"):
        register_filter(name, RegSource)


# -- properties_of -----------------------------------------------------------------------------


def test_properties_of_lists_every_field_in_order(regsrc: type) -> None:
    """properties_of gives launch names, kinds, defaults, docs, choices and ranges exactly."""
    assert properties_of(RegSource) == [
        PropertyInfo("num-buffers", int, -1, "samples to make (-1: endless)", None, -1, None),
        PropertyInfo("rate", Fraction, Fraction(30), "frames per second", None, None, None),
        PropertyInfo("label", str, "", "a label", None, None, None),
        PropertyInfo("flag", bool, False, "a switch", None, None, None),
        PropertyInfo("location", Path, None, "a file", None, None, None),
        PropertyInfo("mode", str, "fast", "how to go", ("fast", "slow"), None, None),
        PropertyInfo("level", float, 1.0, "a level", None, 0.0, 10.0),
    ]
    kinds = [info.kind_name for info in properties_of(RegSource)]
    assert kinds == ["int", "fraction", "string", "bool", "path", "string", "float"]


def test_properties_of_builtin_basics() -> None:
    """queue has GStreamer's limits and leak (and max-size, the older name), nullsink has
    sync and max-lateness, tee and a plain class have none."""
    assert properties_of(QueueElement) == [
        PropertyInfo(
            "max-size-buffers",
            int,
            16,
            "samples the queue holds when full (0: no limit)",
            None,
            0,
            None,
        ),
        PropertyInfo(
            "max-size-bytes",
            int,
            0,
            "bytes of sample data the queue holds when full (0: no limit)",
            None,
            0,
            None,
        ),
        PropertyInfo(
            "max-size-time",
            int,
            0,
            "stream time the queue holds when full, in 100 ns units (0: no limit)",
            None,
            0,
            None,
        ),
        PropertyInfo(
            "leaky",
            str,
            "no",
            "when full: wait (no), drop the new sample (upstream) or the oldest (downstream)",
            ("no", "upstream", "downstream"),
            None,
            None,
        ),
        PropertyInfo(
            "max-size",
            int,
            None,
            "the older name of max-size-buffers (unset: not given)",
            None,
            1,
            None,
        ),
    ]
    assert [info.name for info in properties_of(NullSink)] == ["sync", "max-lateness"]
    assert properties_of(NullSink)[0] == PropertyInfo(
        "sync", bool, False, "present samples at their times on the clock", None, None, None
    )
    assert properties_of(TeeElement) == []
    assert properties_of(BaseFilter) == []


# -- prop validation -----------------------------------------------------------------------------


def test_defaults_fill_props() -> None:
    """A filter made with no properties holds every default in ``props``."""
    source = RegSource()
    assert attrs.asdict(source.props) == {
        "num_buffers": -1,
        "rate": Fraction(30),
        "label": "",
        "flag": False,
        "location": None,
        "mode": "fast",
        "level": 1.0,
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("num_buffers", True, "num-buffers must be an int, not bool"),
        ("num_buffers", 2.0, "num-buffers must be an int, not float"),
        ("num_buffers", "3", "num-buffers must be an int, not str"),
        ("num_buffers", None, "num-buffers must be an int, not NoneType"),
        ("rate", 2.5, "rate must be a fraction, not float"),
        ("label", 3, "label must be a string, not int"),
        ("flag", 1, "flag must be a bool, not int"),
        ("location", 3, "location must be a path, not int"),
        ("level", "1", "level must be a float, not str"),
        ("level", False, "level must be a float, not bool"),
    ],
)
def test_prop_refuses_wrong_types(name: str, value: Any, message: str) -> None:
    """A value of the wrong type is a TypeError naming the launch name (a bool is no int)."""
    with pytest.raises(TypeError) as info:
        RegSource(**{name: value})
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("num_buffers", -2, "num-buffers must be >= -1, got -2"),
        ("level", -0.5, "level must be >= 0.0, got -0.5"),
        ("level", 11, "level must be <= 10.0, got 11.0"),
        ("mode", "medium", "mode must be one of fast, slow, not medium"),
    ],
)
def test_prop_refuses_values_out_of_range_or_choices(name: str, value: Any, message: str) -> None:
    """A value outside ``[minimum, maximum]`` or ``choices`` is a ValueError saying so."""
    with pytest.raises(ValueError) as info:
        RegSource(**{name: value})
    assert str(info.value) == message


def test_prop_converts_str_to_path_and_int_to_float_and_fraction() -> None:
    """A path may be given as a str, a float or fraction as an int; the limits are inclusive."""
    source = RegSource(location="clip.y4m", level=10, rate=25, num_buffers=-1)
    assert source.props.location == Path("clip.y4m")
    assert type(source.props.level) is float
    assert source.props.level == 10.0
    assert type(source.props.rate) is Fraction
    assert source.props.rate == Fraction(25)
    assert RegSource(level=0).props.level == 0.0


def test_props_are_validated_on_assignment() -> None:
    """Assigning a bad value to ``props`` later raises as construction does."""
    source = RegSource()
    with pytest.raises(TypeError, match="num-buffers must be an int, not str"):
        source.props.num_buffers = "5"
    with pytest.raises(ValueError, match="mode must be one of fast, slow, not x"):
        source.props.mode = "x"
    source.props.location = "other.y4m"
    assert source.props.location == Path("other.y4m")


def test_unknown_property_is_refused_with_suggestions() -> None:
    """init_properties refuses an unknown property with UnknownPropertyError naming the
    closest ones and listing all of them."""
    with pytest.raises(UnknownPropertyError) as info:
        RegSource(num_buffer=3)
    assert info.value.name == "num-buffer"
    assert info.value.suggestions == ["num-buffers"]
    assert str(info.value) == (
        "RegSource has no property 'num-buffer'; did you mean num-buffers? "
        "(it has flag, label, level, location, mode, num-buffers, rate)"
    )


def test_unknown_property_of_a_filter_without_properties() -> None:
    """A filter with no properties says it has none."""
    with pytest.raises(UnknownPropertyError) as info:
        TeeElement().init_properties({"size": 3})
    assert str(info.value) == "TeeElement has no property 'size' (it has none)"


def test_prop_refuses_an_unknown_kind() -> None:
    """prop with a kind outside int, float, bool, str, Fraction, Path is a TypeError."""
    with pytest.raises(TypeError, match="a property kind is one of"):
        prop(0, kind=complex, doc="no")


# -- parse_property ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("num-buffers", "300", 300),
        ("num-buffers", "-1", -1),
        ("num-buffers", "0x10", 16),
        ("num-buffers", "0o17", 15),
        ("num-buffers", "0b101", 5),
        ("num_buffers", "7", 7),
        ("rate", "30000/1001", Fraction(30000, 1001)),
        ("rate", "25", Fraction(25)),
        ("rate", "2.5", Fraction(5, 2)),
        ("label", "hello world", "hello world"),
        ("label", "", ""),
        ("location", "dir/out.y4m", Path("dir/out.y4m")),
        ("mode", "slow", "slow"),
        ("level", "2", 2.0),
        ("level", "0.25", 0.25),
        ("flag", "true", True),
        ("flag", "True", True),
        ("flag", "YES", True),
        ("flag", "1", True),
        ("flag", "false", False),
        ("flag", "no", False),
        ("flag", "0", False),
    ],
)
def test_parse_property_reads_each_kind(name: str, text: str, value: Any) -> None:
    """parse_property reads the text as the property's type and returns its Python name."""
    python_name, parsed = parse_property(RegSource, name, text)
    assert python_name == name.replace("-", "_")
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("num-buffers", "x", "num-buffers is an int, not 'x'"),
        ("num-buffers", "1.5", "num-buffers is an int, not '1.5'"),
        ("num-buffers", "", "num-buffers is an int, not ''"),
        ("rate", "fast", "rate is a fraction, not 'fast'"),
        ("rate", "1/0", "rate is a fraction, not '1/0'"),
        ("level", "high", "level is a float, not 'high'"),
        ("flag", "maybe", "flag is a bool (true or false), not 'maybe'"),
        ("mode", "medium", "mode must be one of fast, slow, not 'medium'"),
    ],
)
def test_parse_property_bad_values(name: str, text: str, message: str) -> None:
    """A text that is not a value of the property's type is a ValueError saying what is
    expected and quoting the text."""
    with pytest.raises(ValueError) as info:
        parse_property(RegSource, name, text)
    assert str(info.value) == message


def test_parse_property_unknown_name_uses_the_owner_name() -> None:
    """An unknown property is UnknownPropertyError, named after ``owner`` when given."""
    with pytest.raises(UnknownPropertyError) as info:
        parse_property(RegSource, "lable", "x", owner="regsrc")
    assert str(info.value) == (
        "regsrc has no property 'lable'; did you mean label? "
        "(it has flag, label, level, location, mode, num-buffers, rate)"
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("num-buffers", "-5", "num-buffers must be >= -1, got -5"),
        ("num-buffers", "-0x2", "num-buffers must be >= -1, got -0x2"),
        ("level", "-0.5", "level must be >= 0.0, got -0.5"),
        ("level", "11", "level must be <= 10.0, got 11"),
        ("level", "1e2", "level must be <= 10.0, got 1e2"),
    ],
)
def test_parse_property_refuses_values_out_of_range(name: str, text: str, message: str) -> None:
    """parse_property refuses a value outside the property's range, quoting the text as
    written, as it refuses one outside its choices."""
    with pytest.raises(ValueError) as info:
        parse_property(RegSource, name, text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [("num-buffers", "-1", -1), ("level", "0", 0.0), ("level", "10.0", 10.0)],
)
def test_parse_property_accepts_the_range_ends(name: str, text: str, value: Any) -> None:
    """The minimum and maximum themselves are allowed."""
    assert parse_property(RegSource, name, text) == (name.replace("-", "_"), value)


def launch_names(*items: tuple[str, Any]) -> dict[str, Any]:
    """Keyword arguments spelled with launch names (``num-buffers``)."""
    return dict(items)


# -- make_filter ---------------------------------------------------------------------------------


def test_make_filter_takes_launch_or_python_names(regsrc: type) -> None:
    """make_filter accepts ``num-buffers`` and ``num_buffers`` alike and names the filter."""
    source = make_filter("regsrc", **launch_names(("num-buffers", 3)), label="a")
    assert isinstance(source, RegSource)
    assert source.props.num_buffers == 3
    assert source.props.label == "a"
    assert source.name == "regsrc"
    named = make_filter("regsrc", filter_name="src1", num_buffers=4)
    assert named.name == "src1"
    assert named.props.num_buffers == 4
    queue = make_filter("queue", **launch_names(("max-size", 4)))
    assert queue.props.max_size == 4


def test_make_filter_errors(regsrc: type) -> None:
    """make_filter raises UnknownFilterError, UnknownPropertyError, TypeError, ValueError."""
    with pytest.raises(UnknownFilterError):
        make_filter("regsrcc")
    with pytest.raises(UnknownPropertyError):
        make_filter("regsrc", **launch_names(("num-buffer", 3)))
    with pytest.raises(TypeError):
        make_filter("regsrc", **launch_names(("num-buffers", "3")))
    with pytest.raises(ValueError):
        make_filter("regsrc", mode="medium")


def test_made_filter_runs_with_its_expected_samples(regsrc: type) -> None:
    """A made filter runs in a graph, producing ``num-buffers`` samples as it announced."""
    source = make_filter("regsrc", **launch_names(("num-buffers", 4)))
    assert source.expected_samples() == 4
    sink = make_filter("nullsink")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
        assert sink.rendered == 4
