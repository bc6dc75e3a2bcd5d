"""Filters found by name: what ``launch``, ``inspect`` and ``dot`` build graphs from.

A *registered filter* is a `BaseFilter` subclass that also derives from `Element` and
declares, as class attributes:

- ``Properties``: an attrs class whose fields are made with `prop` (type, default, doc,
  choices, range). The filter is built as ``cls(name=None, **properties)`` and keeps the
  validated values in ``self.props``. Launch names are the field names with ``-`` for ``_``
  (``num-buffers`` is ``num_buffers``).
- ``description``: one line for ``inspect``.
- ``pin_templates``: one `PinTemplate` per pin (its id, direction, and the types it takes
  or offers as a caps string).

The registry holds the built-in filters (below) and every entry point of the group
``dshow_alloc.filters`` of every installed distribution: another package adds a filter with
no change here by declaring, in its ``pyproject.toml``::

    [project.entry-points."dshow_alloc.filters"]
    myfilter = "mypackage.filters:MyFilter"

Entries load when first asked for. One that fails to import (an extra not installed) stays
listed, and asking for it raises `FilterUnavailableError` saying why.

Merit. Every registered filter has a merit, DirectShow's number for how willingly the graph
builder inserts it (``FilterGraph.Connect``, ``Render``, ``RenderFile``): `MERIT_PREFERRED`,
`MERIT_NORMAL`, `MERIT_UNLIKELY` or `MERIT_DO_NOT_USE` (any int from 0 to 0xFFFFFFFF). Only
filters above `MERIT_DO_NOT_USE` are ever inserted, so a filter is left out unless it asks.
A filter's merit is, in this order: the one `set_merit` gave its name; the one its
registration gave (``register_filter(..., merit=)``, or the built-in table below); its class's
``merit`` attribute (an entry point's filter declares it there), `MERIT_DO_NOT_USE` by
default. The built-in merits: the converters ``videoconvert``, ``videoscale``,
``audioconvert`` and ``audioresample`` `MERIT_NORMAL` (what intelligent connect inserts);
the file readers ``y4msrc`` and ``wavsrc`` `MERIT_NORMAL` and ``avsrc`` (any file PyAV reads)
`MERIT_UNLIKELY`, for ``RenderFile``; ``nullsink`` `MERIT_UNLIKELY`, the renderer ``Render``
falls back on; and `MERIT_DO_NOT_USE` for the rest: the sinks that need a location or a
socket (``y4msink``, ``wavsink``, ``avsink``, ``shmsink``), the effects that change the data
(``invert``, ``gain``), ``tee``, ``queue`` and the sources that are not files.

File sources. ``RenderFile`` chooses the source by file name suffix: a filter's
`extensions_of` (its registration's, else its class's ``extensions`` attribute) lists the
suffixes it reads (``.y4m``), ``*`` meaning any file.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import attrs

from dshow_alloc.structs import (
    MERIT_DO_NOT_USE,
    MERIT_NORMAL,
    MERIT_PREFERRED,
    MERIT_UNLIKELY,
    PinDirection,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "GSTREAMER_NAMES",
    "Element",
    "FilterUnavailableError",
    "PinTemplate",
    "PropertyError",
    "PropertyInfo",
    "UnknownFilterError",
    "UnknownPropertyError",
    "extensions_of",
    "filter_class",
    "filter_names",
    "make_filter",
    "merit_name",
    "merit_of",
    "parse_property",
    "prop",
    "properties_of",
    "register_filter",
    "set_merit",
]

ENTRY_POINT_GROUP = "dshow_alloc.filters"

_BUILTINS = {
    "videotestsrc": "dshow_alloc.plugins.testsrc:VideoTestSource",
    "audiotestsrc": "dshow_alloc.plugins.testsrc:AudioTestSource",
    "invert": "dshow_alloc.plugins.effects:Invert",
    "gain": "dshow_alloc.plugins.effects:Gain",
    "y4msrc": "dshow_alloc.plugins.y4m:Y4MSource",
    "y4msink": "dshow_alloc.plugins.y4m:Y4MSink",
    "wavsrc": "dshow_alloc.plugins.wav:WavSource",
    "wavsink": "dshow_alloc.plugins.wav:WavSink",
    "avsrc": "dshow_alloc.plugins.av:AVSource",
    "avsink": "dshow_alloc.plugins.av:AVSink",
    "shmsink": "dshow_alloc.plugins.shm:ShmSink",
    "shmsrc": "dshow_alloc.plugins.shm:ShmSource",
    "raysink": "dshow_alloc.distributed:RaySink",
    "raysrc": "dshow_alloc.distributed:RaySource",
    "tee": "dshow_alloc.plugins.basic:TeeElement",
    "queue": "dshow_alloc.plugins.basic:QueueElement",
    "nullsink": "dshow_alloc.plugins.basic:NullSink",
    "videoconvert": "dshow_alloc.plugins.convert:VideoConvert",
    "videoscale": "dshow_alloc.plugins.convert:VideoScale",
    "audioconvert": "dshow_alloc.plugins.convert:AudioConvert",
    "audioresample": "dshow_alloc.plugins.convert:AudioResample",
    "autoconvert": "dshow_alloc.launch:AutoConvert",
}
"""Built-in filters: name -> ``module:class``."""

_BUILTIN_MERITS = {
    "videoconvert": MERIT_NORMAL,
    "videoscale": MERIT_NORMAL,
    "audioconvert": MERIT_NORMAL,
    "audioresample": MERIT_NORMAL,
    "y4msrc": MERIT_NORMAL,
    "wavsrc": MERIT_NORMAL,
    "avsrc": MERIT_UNLIKELY,
    "nullsink": MERIT_UNLIKELY,
}
"""The built-in filters' registered merits (the others: `MERIT_DO_NOT_USE`, their class's)."""

_BUILTIN_EXTENSIONS = {"y4msrc": (".y4m",), "wavsrc": (".wav",), "avsrc": ("*",)}
"""The file name suffixes the built-in file sources read."""

_MERIT_NAMES = {
    MERIT_PREFERRED: "MERIT_PREFERRED",
    MERIT_NORMAL: "MERIT_NORMAL",
    MERIT_UNLIKELY: "MERIT_UNLIKELY",
    MERIT_DO_NOT_USE: "MERIT_DO_NOT_USE",
}

# -- properties ------------------------------------------------------------------------------

_KINDS: dict[type, str] = {
    int: "int",
    float: "float",
    bool: "bool",
    str: "string",
    Fraction: "fraction",
    Path: "path",
}


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def prop(
    default: Any,
    *,
    kind: type,
    doc: str,
    choices: tuple[Any, ...] | None = None,
    minimum: Any = None,
    maximum: Any = None,
) -> Any:
    """A field of an ``Properties`` class: type-checked (ints are not bools; a path may be
    given as a str), limited to ``choices`` or to ``[minimum, maximum]``, documented.
    ``default`` None means "not set" (a ``location`` with no default)."""
    if kind not in _KINDS:
        raise TypeError(f"a property kind is one of {[k.__name__ for k in _KINDS]}")

    def convert(value: Any) -> Any:
        if kind is Path and isinstance(value, str):
            return Path(value)
        if kind is float and type(value) is int:
            return float(value)
        if kind is Fraction and type(value) is int:
            return Fraction(value)
        return value

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = attribute.name.replace("_", "-")
        if value is None and default is None:
            return
        if type(value) is not kind and not (kind is Path and isinstance(value, Path)):
            raise TypeError(f"{name} must be {_article(_KINDS[kind])}, not {type(value).__name__}")
        if choices is not None and value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, not {value}")
        if minimum is not None and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ValueError(f"{name} must be <= {maximum}, got {value}")

    metadata = {"kind": kind, "doc": doc, "choices": choices, "range": (minimum, maximum)}
    return attrs.field(default=default, converter=convert, validator=check, metadata=metadata)


@attrs.frozen
class PropertyInfo:
    """What ``inspect`` shows of one property."""

    name: str
    """The launch name (``num-buffers``)."""
    kind: type
    """int, float, bool, str, Fraction or Path."""
    default: Any
    """The default (None: not set)."""
    doc: str
    """One line."""
    choices: tuple[Any, ...] | None
    """The allowed values, when there is a fixed set."""
    minimum: Any
    """The least allowed value, or None."""
    maximum: Any
    """The greatest allowed value, or None."""

    @property
    def kind_name(self) -> str:
        """``int``, ``float``, ``bool``, ``string``, ``fraction`` or ``path``."""
        return _KINDS[self.kind]


@attrs.frozen
class PinTemplate:
    """A pin a registered filter has: its id, direction and types (caps syntax)."""

    name: str
    """The pin id (``QueryId``); a name ending in ``%u`` stands for pins made on demand."""
    direction: PinDirection
    """PINDIR_INPUT or PINDIR_OUTPUT."""
    caps: str
    """The types it takes or offers, e.g. ``video/x-raw,format={I420,NV12}``; ``ANY``."""


@attrs.define
class _NoProperties:
    pass


_props_lock = threading.RLock()  # serializes Element.set_properties (rare, never blocks long)


class Element:
    """The declarations a registered filter carries (see the module docstring), and
    ``set_property``/``set_properties`` to change its properties while it runs."""

    Properties: ClassVar[type] = _NoProperties
    description: ClassVar[str] = ""
    pin_templates: ClassVar[tuple[PinTemplate, ...]] = ()
    merit: ClassVar[int] = MERIT_DO_NOT_USE
    """How willingly intelligent connect inserts the filter (see the module docstring)."""
    extensions: ClassVar[tuple[str, ...]] = ()
    """For a file source: the file name suffixes it reads (``.y4m``; ``*``: any file)."""
    props: Any

    def init_properties(self, values: dict[str, Any]) -> None:
        """Validate ``values`` into ``self.props`` (TypeError/ValueError for bad ones)."""
        names = {field.name for field in attrs.fields(self.Properties)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UnknownPropertyError(type(self).__name__, unknown[0].replace("_", "-"), names)
        self.props = self.Properties(**values)

    def set_property(self, name: str, value: Any) -> None:
        """Change one property, in any state and from any thread: ``set_properties(**{name:
        value})`` (``name`` as in Python, ``num_buffers``, or a launch line, ``num-buffers``)."""
        self.set_properties(**{name: value})

    def set_properties(self, **values: Any) -> None:
        """Change properties together: validated like the filter's own arguments (TypeError
        or ValueError for a bad value, `UnknownPropertyError` for an unknown name; then
        nothing changed), then put in place at once — ``self.props`` is replaced by a new
        object, so a streaming thread that read it sees every new value or none — and the
        filter is told (``properties_changed``). A running filter picks a change up at its
        next sample; which properties change a running stream, each filter's docstring says
        (a test source's size changes the stream's format, its pattern the next frame)."""
        renamed = {key.replace("-", "_"): value for key, value in values.items()}
        names = {field.name for field in attrs.fields(self.Properties)}
        unknown = sorted(set(renamed) - names)
        if unknown:
            raise UnknownPropertyError(type(self).__name__, unknown[0].replace("_", "-"), names)
        with _props_lock:  # one change after another, each from the latest values
            self.props = attrs.evolve(self.props, **renamed)
            self.properties_changed(frozenset(renamed))

    def properties_changed(self, names: frozenset[str]) -> None:
        """``set_properties`` set ``names`` (Python names) in ``self.props`` — also to the
        values they had: a property may describe what the filter offers rather than what it
        streams now (a test source's ``width``, when a caps filter chose another). Called on
        the caller's thread, one change at a time; it must not block. Default: nothing (a
        filter that reads ``self.props`` at each sample needs nothing more)."""

    def expected_samples(self) -> int | None:
        """How many samples the filter will produce, when it knows (for progress bars)."""
        return None


def properties_of(cls: type) -> list[PropertyInfo]:
    """The properties a registered filter class declares, in declaration order."""
    result = []
    for field in attrs.fields(getattr(cls, "Properties", _NoProperties)):
        meta = field.metadata
        minimum, maximum = meta.get("range", (None, None))
        result.append(
            PropertyInfo(
                field.name.replace("_", "-"),
                meta.get("kind", str),
                field.default,
                meta.get("doc", ""),
                meta.get("choices"),
                minimum,
                maximum,
            )
        )
    return result


class UnknownFilterError(LookupError):
    """No filter has that name; ``suggestions`` are the closest names (for a GStreamer
    element's name, the filters that do its job here, which ``note`` explains)."""

    def __init__(self, name: str, suggestions: list[str], note: str = "") -> None:
        hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
        if note:
            hint += f" ({note})"
        super().__init__(f"no filter named {name!r}{hint}")
        self.name, self.suggestions, self.note = name, suggestions, note


#: GStreamer elements users type from habit -> (the filters doing that job here, why).
GSTREAMER_NAMES: dict[str, tuple[tuple[str, ...], str]] = {
    "fakesink": (("nullsink",), "GStreamer's fakesink is nullsink here"),
    "fakevideosink": (("nullsink",), "GStreamer's fakevideosink is nullsink here"),
    "fakeaudiosink": (("nullsink",), "GStreamer's fakeaudiosink is nullsink here"),
    "autovideosink": (("nullsink",), "nothing draws video here; y4msink or avsink write it"),
    "xvimagesink": (("nullsink",), "nothing draws video here; y4msink or avsink write it"),
    "ximagesink": (("nullsink",), "nothing draws video here; y4msink or avsink write it"),
    "glimagesink": (("nullsink",), "nothing draws video here; y4msink or avsink write it"),
    "autoaudiosink": (("nullsink",), "nothing plays audio here; wavsink or avsink write it"),
    "alsasink": (("nullsink",), "nothing plays audio here; wavsink or avsink write it"),
    "pulsesink": (("nullsink",), "nothing plays audio here; wavsink or avsink write it"),
    "filesrc": (("avsrc", "y4msrc", "wavsrc"), "these read a file and decode it themselves"),
    "decodebin": (("avsrc",), "avsrc reads, demuxes and decodes a file: no filesrc before it"),
    "decodebin3": (("avsrc",), "avsrc reads, demuxes and decodes a file: no filesrc before it"),
    "uridecodebin": (("avsrc",), "avsrc reads, demuxes and decodes the file location= names"),
    "uridecodebin3": (("avsrc",), "avsrc reads, demuxes and decodes the file location= names"),
    "playbin": (("avsrc",), "avsrc reads, demuxes and decodes the file location= names"),
    "qtdemux": (("avsrc",), "avsrc demuxes and decodes a file by itself"),
    "matroskademux": (("avsrc",), "avsrc demuxes and decodes a file by itself"),
    "wavparse": (("wavsrc",), "wavsrc reads a WAV file by itself"),
    "filesink": (("y4msink", "wavsink", "avsink"), "by the file to write: .y4m, .wav, others"),
    "mp4mux": (("avsink",), "avsink encodes and muxes by its file name"),
    "matroskamux": (("avsink",), "avsink encodes and muxes by its file name"),
    "x264enc": (("avsink",), "avsink encodes and muxes by its file name"),
    "y4menc": (("y4msink",), "y4msink writes the file itself"),
    "wavenc": (("wavsink",), "wavsink writes the file itself"),
    "identity": (("queue",), "a queue passes samples on unchanged, on its own thread"),
    "volume": (("gain",), "GStreamer's volume is gain here (factor=)"),
    "videoconvertscale": (("videoconvert", "videoscale"), "one converts, one scales"),
    "autovideoconvert": (("autoconvert",), "autoconvert inserts the converters a link needs"),
    "capsfilter": ((), "write the caps themselves between two '!': ! video/x-raw,width=320 !"),
}


def _unknown(name: object) -> UnknownFilterError:
    """The error for a name nobody registered: for a GStreamer element's name, the filters
    that do its job here; else the closest spellings."""
    text = str(name)
    with _lock:
        known = list(_specs)
    if text in GSTREAMER_NAMES:
        names, note = GSTREAMER_NAMES[text]
        return UnknownFilterError(text, [n for n in names if n in known], note)
    return UnknownFilterError(text, difflib.get_close_matches(text, known, n=3))


class UnknownPropertyError(LookupError):
    """The filter has no property of that name."""

    def __init__(self, filter_name: str, name: str, names: Any) -> None:
        known = sorted(n.replace("_", "-") for n in names)
        close = difflib.get_close_matches(name, known, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        listed = f" (it has {', '.join(known)})" if known else " (it has none)"
        super().__init__(f"{filter_name} has no property {name!r}{hint}{listed}")
        self.name, self.suggestions = name, close


class PropertyError:
    """Mixed into an exception about one property's value of one filter (a file its
    ``location`` names that cannot be opened): a launch line puts its caret under that
    property (`dshow_alloc.launch.Pipeline.error_for`)."""

    filter_name: str
    """The filter's name (``y4msink0``)."""
    property_name: str
    """The property as a launch line writes it (``location``)."""
    value: Any
    """The property's value."""


class FilterUnavailableError(ImportError):
    """The filter is registered but its module does not import (an extra not installed)."""


_lock = threading.Lock()
_specs: dict[str, str] = {}  # name -> "module:attr", not loaded yet
_loaded: dict[str, type] = {}
_registered_merits: dict[str, int] = {}  # register_filter(..., merit=)
_merits: dict[str, int] = {}  # set_merit
_scanned = False


def _scan() -> None:
    global _scanned
    with _lock:
        if _scanned:
            return
        for name, target in _BUILTINS.items():
            _specs.setdefault(name, target)
        for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry.name not in _BUILTINS:
                _specs.setdefault(entry.name, entry.value)
        _scanned = True


def rescan() -> None:
    """Read the entry points again (after installing a package in this process)."""
    global _scanned
    with _lock:
        _scanned = False
        for name in list(_specs):
            if name not in _loaded:
                del _specs[name]
    _scan()


def register_filter(
    name: str, cls: type, *, replace: bool = False, merit: int | None = None
) -> None:
    """Register ``cls`` under ``name`` in this process (entry points do it for packages),
    with ``merit`` (None: the class's ``merit``). A bad merit raises as `set_merit` says,
    and nothing is registered."""
    if not isinstance(name, str) or not name:
        raise ValueError("a filter name is a non-empty str")
    _check_filter_class(cls, repr(cls))
    if merit is not None:
        _check_merit(merit)
    _scan()
    with _lock:
        if not replace and (name in _loaded or name in _specs):
            raise ValueError(f"a filter named {name!r} is already registered")
        _specs[name] = f"{cls.__module__}:{cls.__qualname__}"
        _loaded[name] = cls
        _merits.pop(name, None)
        if merit is None:
            _registered_merits.pop(name, None)
        else:
            _registered_merits[name] = merit


def unregister_filter(name: str) -> None:
    """Forget ``name`` (tests use it to undo `register_filter`), and any merit set for it."""
    with _lock:
        _specs.pop(name, None)
        _loaded.pop(name, None)
        _registered_merits.pop(name, None)
        _merits.pop(name, None)


def _check_merit(merit: object) -> int:
    if type(merit) is not int:
        raise TypeError(f"a merit is an int (MERIT_NORMAL ...), not {type(merit).__name__}")
    if not 0 <= merit <= 0xFFFFFFFF:
        raise ValueError(f"a merit is from 0 to 0xFFFFFFFF (a DWORD), not {merit:#x}")
    return merit


def set_merit(name: str, merit: int | None) -> None:
    """Give the filter registered as ``name`` this merit, over its registration's and its
    class's; None goes back to those. Any registered name may be given one, built-in or not.

    Raises:
        TypeError: ``merit`` is not an int (a bool is not one).
        ValueError: ``merit`` is outside 0..0xFFFFFFFF.
        UnknownFilterError: no filter is registered as ``name``.

    A call that raises changes nothing.
    """
    if merit is not None:
        _check_merit(merit)
    _scan()
    with _lock:
        known = name in _specs
    if not known:
        raise _unknown(name)
    with _lock:
        if merit is None:
            _merits.pop(name, None)
        else:
            _merits[name] = merit


def merit_of(name: str) -> int:
    """The merit of the filter registered as ``name`` (the module docstring says which).

    Raises:
        UnknownFilterError, FilterUnavailableError: as `filter_class` (only when the merit
            comes from the class).
    """
    _scan()
    with _lock:
        if name in _merits:
            return _merits[name]
        if name in _registered_merits:
            return _registered_merits[name]
        if name in _BUILTIN_MERITS and _specs.get(name) == _BUILTINS.get(name):
            return _BUILTIN_MERITS[name]
    return int(filter_class(name).merit)


def merit_name(merit: int) -> str:
    """``MERIT_NORMAL`` for 0x600000 and the other named values, else the number in hex."""
    return _MERIT_NAMES.get(merit, f"{merit:#x}")


def extensions_of(name: str) -> tuple[str, ...]:
    """The file name suffixes the source registered as ``name`` reads, lower case with their
    dot (``*``: any file); () for a filter that reads no files.

    Raises:
        UnknownFilterError, FilterUnavailableError: as `filter_class`.
    """
    _scan()
    with _lock:
        builtin = name in _BUILTIN_EXTENSIONS and _specs.get(name) == _BUILTINS.get(name)
    if builtin:
        return _BUILTIN_EXTENSIONS[name]
    return tuple(str(suffix).lower() for suffix in filter_class(name).extensions)


def filter_names() -> list[str]:
    """Every registered name, sorted (nothing is imported)."""
    _scan()
    return sorted(_specs)


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    _check_filter_class(obj, target)
    return obj


def _check_filter_class(cls: Any, what: str) -> None:
    from dshow_alloc.filters import BaseFilter

    if not (isinstance(cls, type) and issubclass(cls, BaseFilter) and issubclass(cls, Element)):
        raise TypeError(f"{what} is not a BaseFilter and Element subclass")
    try:
        _check_merit(cls.merit)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: its merit attribute is wrong: {exc}") from None
    extensions = cls.extensions
    if not isinstance(extensions, tuple) or not all(isinstance(e, str) for e in extensions):
        raise TypeError(f"{what}: its extensions attribute is not a tuple of str")


def filter_class(name: str) -> Any:
    """The class registered as ``name``.

    Raises:
        UnknownFilterError: no such name (with the closest names).
        FilterUnavailableError: its module failed to import (says which extra to install).
    """
    _scan()
    cls = _loaded.get(name)
    if cls is not None:
        return cls
    target = _specs.get(name)
    if target is None:
        raise _unknown(name)
    try:
        cls = _load(target)
    except TypeError as exc:
        raise FilterUnavailableError(f"{name} ({target}) cannot be used: {exc}") from exc
    except ImportError as exc:
        raise FilterUnavailableError(
            f"{name} ({target}) cannot be loaded: {exc}. {_extra_hint(exc)}".strip()
        ) from exc
    with _lock:
        _loaded[name] = cls
    return cls


def _extra_hint(exc: ImportError) -> str:
    missing = getattr(exc, "name", None) or ""
    extra = {"numpy": "media", "av": "av"}.get(missing.split(".")[0])
    return f"Install it with: pip install 'dshow-alloc[{extra}]'" if extra else ""


def make_filter(name: str, *, filter_name: str | None = None, **properties: Any) -> Any:
    """A new filter registered as ``name`` with ``properties`` (Python names or launch
    names), named ``filter_name`` (default: the registered name)."""
    cls = filter_class(name)
    values = {key.replace("-", "_"): value for key, value in properties.items()}
    return cls(name=filter_name or name, **values)


_PARSERS: dict[type, Callable[[str], Any]] = {
    int: lambda text: int(text, 0),
    float: float,
    str: str,
    Fraction: Fraction,
    Path: Path,
}
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_property(cls: type, name: str, text: str, *, owner: str | None = None) -> tuple[str, Any]:
    """Turn ``name=text`` from a launch line into ``(python_name, value)`` for ``cls``.

    Raises:
        UnknownPropertyError: ``cls`` has no such property.
        ValueError: ``text`` is not a value of the property's type.
    """
    infos = {info.name: info for info in properties_of(cls)}
    key = name.replace("_", "-")
    info = infos.get(key)
    if info is None:
        raise UnknownPropertyError(owner or cls.__name__, key, infos)
    if info.kind is bool:
        try:
            return key.replace("-", "_"), _BOOLS[text.lower()]
        except KeyError:
            raise ValueError(f"{key} is a bool (true or false), not {text!r}") from None
    try:
        value = _PARSERS[info.kind](text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{key} is {_article(info.kind_name)}, not {text!r}") from None
    if info.choices is not None and value not in info.choices:
        raise ValueError(f"{key} must be one of {', '.join(map(str, info.choices))}, not {text!r}")
    if info.minimum is not None and value < info.minimum:
        raise ValueError(f"{key} must be >= {info.minimum}, got {text}")
    if info.maximum is not None and value > info.maximum:
        raise ValueError(f"{key} must be <= {info.maximum}, got {text}")
    return key.replace("-", "_"), value
