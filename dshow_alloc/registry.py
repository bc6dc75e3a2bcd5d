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

from dshow_alloc.structs import PinDirection

__all__ = [
    "ENTRY_POINT_GROUP",
    "Element",
    "FilterUnavailableError",
    "PinTemplate",
    "PropertyInfo",
    "UnknownFilterError",
    "UnknownPropertyError",
    "filter_class",
    "filter_names",
    "make_filter",
    "parse_property",
    "prop",
    "properties_of",
    "register_filter",
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
    "tee": "dshow_alloc.plugins.basic:TeeElement",
    "queue": "dshow_alloc.plugins.basic:QueueElement",
    "nullsink": "dshow_alloc.plugins.basic:NullSink",
}
"""Built-in filters: name -> ``module:class``."""

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


class Element:
    """The declarations a registered filter carries (see the module docstring)."""

    Properties: ClassVar[type] = _NoProperties
    description: ClassVar[str] = ""
    pin_templates: ClassVar[tuple[PinTemplate, ...]] = ()
    props: Any

    def init_properties(self, values: dict[str, Any]) -> None:
        """Validate ``values`` into ``self.props`` (TypeError/ValueError for bad ones)."""
        names = {field.name for field in attrs.fields(self.Properties)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UnknownPropertyError(type(self).__name__, unknown[0].replace("_", "-"), names)
        self.props = self.Properties(**values)

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
    """No filter has that name; ``suggestions`` are the closest names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no filter named {name!r}{hint}")
        self.name, self.suggestions = name, suggestions


class UnknownPropertyError(LookupError):
    """The filter has no property of that name."""

    def __init__(self, filter_name: str, name: str, names: Any) -> None:
        known = sorted(n.replace("_", "-") for n in names)
        close = difflib.get_close_matches(name, known, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        listed = f" (it has {', '.join(known)})" if known else " (it has none)"
        super().__init__(f"{filter_name} has no property {name!r}{hint}{listed}")
        self.name, self.suggestions = name, close


class FilterUnavailableError(ImportError):
    """The filter is registered but its module does not import (an extra not installed)."""


_lock = threading.Lock()
_specs: dict[str, str] = {}  # name -> "module:attr", not loaded yet
_loaded: dict[str, type] = {}
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


def register_filter(name: str, cls: type, *, replace: bool = False) -> None:
    """Register ``cls`` under ``name`` in this process (entry points do it for packages)."""
    if not isinstance(name, str) or not name:
        raise ValueError("a filter name is a non-empty str")
    _check_filter_class(cls, repr(cls))
    _scan()
    with _lock:
        if not replace and (name in _loaded or name in _specs):
            raise ValueError(f"a filter named {name!r} is already registered")
        _specs[name] = f"{cls.__module__}:{cls.__qualname__}"
        _loaded[name] = cls


def unregister_filter(name: str) -> None:
    """Forget ``name`` (tests use it to undo `register_filter`)."""
    with _lock:
        _specs.pop(name, None)
        _loaded.pop(name, None)


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
        raise UnknownFilterError(name, difflib.get_close_matches(name, list(_specs), n=3))
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
