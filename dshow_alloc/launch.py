"""The launch syntax: a filter graph written on one line, as ``gst-launch-1.0`` reads it.

::

    videotestsrc num-buffers=300 ! video/x-raw,format=I420,width=640,height=360 ! invert
        ! tee name=t  t. ! queue ! y4msink location=out.y4m  t. ! queue ! nullsink

- ``FILTER key=value ...`` makes a registered filter (`dshow_alloc.registry`) with typed
  properties: each value is read as the property's type (``num-buffers=300`` an int,
  ``framerate=30000/1001`` a fraction, ``sync=true`` a bool). Quote values with spaces
  (``location="my clip.y4m"``). ``name=NAME`` names the filter; unnamed filters are called
  after their kind and a number (``videotestsrc0``).
- ``!`` links the filter on its left to the one on its right: the first free output pin
  whose connection succeeds to the first free input pin.
- ``NAME.`` refers to a named filter (``t. ! queue`` starts a branch from the tee ``t``;
  ``... ! mux.`` ends one into it, on the muxer's next free pin); ``NAME.PIN`` picks a pin by
  id (``d.audio_0`` a demuxer's stream; ``m.sink_1`` a muxer's request pin, made when asked).
- A caps filter between two links (``! video/x-raw,format=I420,width=640 !``) restricts the
  connection to types that match it (see `dshow_alloc.caps`). Sources offer any size and
  format in their range, so a caps filter sets the stream's size and format: each type the
  two pins offer is *fixated* with the caps' values and tried in turn.
- A filter written after another without ``!`` starts a new chain.

Links are connected upstream first (a transform's output only connects once its input has).
Every mistake raises `LaunchError`, a ValueError whose message quotes the line with a caret
under the place: unknown filter (with the closest names), unknown property, bad value, a
name used twice or never defined, and pins that cannot connect, with the types each side
offered and accepts.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator
from typing import Any

import attrs

from dshow_alloc.caps import Caps, CapsError, caps_of
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import COMError, VfwNoAcceptableTypesError, VfwTypeNotAcceptedError
from dshow_alloc.pins import free_pins, is_source, pin_label
from dshow_alloc.registry import (
    FilterUnavailableError,
    UnknownFilterError,
    UnknownPropertyError,
    filter_class,
    parse_property,
)
from dshow_alloc.structs import PinDirection

__all__ = ["LaunchError", "Link", "Pipeline", "parse_launch", "tokenize"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PROPERTY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)=(.*)", re.DOTALL)


class LaunchError(ValueError):
    """A launch line that cannot become a graph; the message points at the place."""

    def __init__(self, message: str, text: str, offset: int, length: int = 1) -> None:
        self.reason, self.text, self.offset, self.length = message, text, offset, max(length, 1)
        super().__init__(self._render())

    def _render(self) -> str:
        # Show the line (one line even if the pipeline was written on several), and a caret.
        line_start = self.text.rfind("\n", 0, self.offset) + 1
        line_end = self.text.find("\n", self.offset)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        column = self.offset - line_start
        caret = " " * column + "^" * min(self.length, max(1, len(line) - column))
        return f"{self.reason}\n  {line}\n  {caret}"


@attrs.frozen
class Token:
    """A word of the line (quotes removed) or ``!``, with where it was."""

    text: str
    offset: int
    end: int
    bang: bool = False


def tokenize(text: str) -> list[Token]:
    """Split a launch line into words and ``!`` links, honouring single and double quotes."""
    if not isinstance(text, str):
        raise TypeError(f"a launch line is a str, not {type(text).__name__}")
    tokens: list[Token] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char == "!":
            tokens.append(Token("!", index, index + 1, bang=True))
            index += 1
            continue
        start, word = index, []
        while index < length and not text[index].isspace() and text[index] != "!":
            char = text[index]
            if char in "\"'":
                close = text.find(char, index + 1)
                if close < 0:
                    raise LaunchError("unterminated quote", text, index)
                word.append(text[index + 1 : close])
                index = close + 1
            else:
                word.append(char)
                index += 1
        tokens.append(Token("".join(word), start, index))
    return tokens


@attrs.define
class _Element:
    kind: str
    token: Token
    properties: list[tuple[str, str, Token]] = attrs.Factory(list)
    name: str | None = None
    filter: Any = None


@attrs.define
class _Ref:
    name: str
    pin: str | None
    token: Token


@attrs.frozen
class Link:
    """One ``!`` of the line, once connected: the two pins and the type they agreed."""

    output: Any
    """The output pin."""
    input: Any
    """The input pin."""
    caps: Caps | None
    """The caps filter written on the link, if any."""


@attrs.define
class _PendingLink:
    up: _Element | _Ref
    down: _Element | _Ref
    caps: Caps | None
    token: Token


@attrs.define(eq=False)
class Pipeline:
    """A graph built from a launch line: the graph, its filters by name, and the links."""

    graph: FilterGraph
    """The filter graph (connected, stopped)."""
    text: str
    """The launch line."""
    filters: dict[str, Any]
    """Every filter made, by name, in the order written."""
    links: list[Link]
    """The connections, in the order they were made."""

    def sources(self) -> list[Any]:
        """Filters with no input pin."""
        return [f for f in self.filters.values() if is_source(f)]

    def renderers(self) -> list[Any]:
        """Filters that end a stream (the graph waits for their end of stream)."""
        return [f for f in self.filters.values() if getattr(f, "is_renderer", False)]


def _is_caps(word: str) -> bool:
    head = re.split(r"[,=]", word, maxsplit=1)[0]
    return "/" in head


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.elements: list[_Element] = []
        self.links: list[_PendingLink] = []

    def error(self, message: str, token: Token) -> LaunchError:
        return LaunchError(message, self.text, token.offset, token.end - token.offset)

    def parse(self) -> None:
        previous: _Element | _Ref | None = None
        bang: Token | None = None
        caps: Caps | None = None
        caps_token: Token | None = None
        tokens = tokenize(self.text)
        if not tokens:
            raise LaunchError("the launch line is empty", self.text, 0)
        for token in tokens:
            if token.bang:
                if previous is None:
                    raise self.error("'!' must follow a filter", token)
                if bang is not None and caps_token is None:
                    raise self.error("two '!' in a row", token)
                bang, caps_token = token, None  # a caps filter is closed by this '!'
                continue
            if _is_caps(token.text):
                if bang is None or caps is not None:
                    raise self.error("a caps filter must stand between two '!'", token)
                try:
                    caps = Caps.parse(token.text)
                except CapsError as exc:
                    at = token.offset + exc.offset
                    raise LaunchError(f"bad caps: {exc}", self.text, at) from None
                caps_token = token
                continue
            if caps_token is not None:
                raise self.error("a caps filter must be followed by '!'", token)
            match = _PROPERTY.fullmatch(token.text)
            if match is not None and not token.text.startswith(("'", '"')):
                if bang is not None or not isinstance(previous, _Element):
                    raise self.error("a property must follow its filter's name", token)
                key, value = match.groups()
                if key == "name":
                    if not _NAME.fullmatch(value):
                        raise self.error(f"{value!r} is not a valid filter name", token)
                    previous.name = value
                else:
                    previous.properties.append((key, value, token))
                continue
            node = self._node(token)
            if bang is not None:
                assert previous is not None
                self.links.append(_PendingLink(previous, node, caps, bang))
            bang, caps = None, None
            previous = node
        if caps_token is not None:
            raise self.error("a caps filter must be followed by '!' and a filter", caps_token)
        if bang is not None:
            raise self.error("'!' at the end links to nothing", bang)

    def _node(self, token: Token) -> _Element | _Ref:
        word = token.text
        if "." in word:
            name, _, pin = word.partition(".")
            if not _NAME.fullmatch(name):
                raise self.error(f"{word!r} is not NAME. or NAME.PIN", token)
            return _Ref(name, pin or None, token)
        if not _NAME.fullmatch(word):
            raise self.error(f"{word!r} is not a filter name", token)
        element = _Element(word, token)
        self.elements.append(element)
        return element


def parse_launch(text: str, graph: FilterGraph | None = None) -> Pipeline:
    """Build the graph a launch line describes (connected, stopped); see the module docstring.

    ``graph`` defaults to a new `FilterGraph`. On any error the filters made are removed
    from the graph again and `LaunchError` is raised.
    """
    parser = _Parser(text)
    parser.parse()
    graph = graph if graph is not None else FilterGraph()
    added: list[Any] = []
    try:
        filters = _make_filters(parser, graph, added)
        links = _connect(parser, graph, filters)
    except BaseException:
        for filter in reversed(added):
            with contextlib.suppress(COMError):
                graph.RemoveFilter(filter)
        raise
    return Pipeline(graph, text, filters, links)


def _make_filters(parser: _Parser, graph: FilterGraph, added: list[Any]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    counters: dict[str, int] = {}
    taken = {f.QueryFilterInfo().name for f in graph.EnumFilters()}
    explicit = {e.name for e in parser.elements if e.name is not None}
    for element in parser.elements:
        token = element.token
        try:
            cls = filter_class(element.kind)
        except UnknownFilterError as exc:
            raise parser.error(str(exc), token) from None
        except FilterUnavailableError as exc:
            raise parser.error(str(exc), token) from None
        values: dict[str, Any] = {}
        for key, raw, prop_token in element.properties:
            try:
                python_name, value = parse_property(cls, key, raw, owner=element.kind)
            except UnknownPropertyError as exc:
                raise parser.error(str(exc), prop_token) from None
            except ValueError as exc:
                raise parser.error(f"{element.kind}: bad value: {exc}", prop_token) from None
            values[python_name] = value
        name = element.name
        if name is None:
            while True:
                number = counters.get(element.kind, 0)
                counters[element.kind] = number + 1
                name = f"{element.kind}{number}"
                if name not in explicit and name not in taken:
                    break
        if name in filters:
            raise parser.error(f"two filters are named {name!r}", token)
        if name in taken:
            raise parser.error(f"the graph already has a filter named {name!r}", token)
        try:
            filter = cls(name=name, **values)
        except (TypeError, ValueError, LookupError, OSError, COMError) as exc:
            raise parser.error(f"{element.kind}: {exc}", token) from None
        graph.AddFilter(filter, name)
        added.append(filter)
        element.filter, element.name = filter, name
        filters[name] = filter
    return filters


def _resolve(parser: _Parser, node: _Element | _Ref, filters: dict[str, Any]) -> Any:
    if isinstance(node, _Element):
        return node.filter
    filter = filters.get(node.name)
    if filter is None:
        close = difflib.get_close_matches(node.name, list(filters), n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise parser.error(f"no filter is named {node.name!r}{hint}", node.token)
    return filter


def _free_pins(filter: Any, direction: PinDirection, pin_id: str | None) -> list[Any]:
    pins = free_pins(filter, direction)
    if pin_id is None:
        return pins
    named = [pin for pin in pins if pin.QueryId() == pin_id]
    request = getattr(filter, "request_pin", None)
    if (
        not named
        and request is not None
        and not any(pin.QueryId() == pin_id for pin in filter.EnumPins())
    ):
        # A request pin (a muxer's sink_%u): made when the line names it.
        pin = request(pin_id)
        if pin is not None and pin.QueryDirection() is direction:
            named = [pin]
    return named


def _order(parser: _Parser, filters: dict[str, Any]) -> list[tuple[_PendingLink, Any, Any]]:
    """The links, each once its upstream filter's inputs are all linked (Kahn's order)."""
    resolved = [
        (link, _resolve(parser, link.up, filters), _resolve(parser, link.down, filters))
        for link in parser.links
    ]
    incoming: dict[int, int] = {}
    for _link, _up, down in resolved:
        incoming[id(down)] = incoming.get(id(down), 0) + 1
    ordered: list[tuple[_PendingLink, Any, Any]] = []
    pending = list(resolved)
    while pending:
        ready = [item for item in pending if incoming.get(id(item[1]), 0) == 0]
        if not ready:
            raise parser.error("the links form a loop", pending[0][0].token)
        for item in ready:
            pending.remove(item)
            ordered.append(item)
            incoming[id(item[2])] -= 1
    return ordered


#: How many connection attempts the search for types that fit every link may make.
_MAX_ATTEMPTS = 2000


class _Search:
    """Connect the links in order; when one cannot connect, go back and try the earlier
    links' other types (``videotestsrc ! invert ! y4msink``: the source's first type, NV12,
    passes through invert but y4msink takes only I420, so the first link is redone in I420)."""

    def __init__(
        self, parser: _Parser, graph: FilterGraph, ordered: list[tuple[_PendingLink, Any, Any]]
    ) -> None:
        self.parser, self.graph, self.ordered = parser, graph, ordered
        self.attempts = 0
        self.deepest = -1
        self.failure: LaunchError | None = None
        self.links: list[Link] = []

    def solve(self, index: int) -> bool:
        if index == len(self.ordered):
            return True
        link, up, down = self.ordered[index]
        outputs, inputs = self._pins(link, up, down)
        failures: list[str] = []
        for out_pin in outputs:
            for in_pin in inputs:
                if self._try_pair(index, link, out_pin, in_pin, failures):
                    return True
        if index >= self.deepest:
            self.deepest = index
            reasons = "\n    ".join(dict.fromkeys(failures)) or "(too many attempts)"
            self.failure = self.parser.error(
                f"cannot link {up.name} to {down.name}:\n    {reasons}", link.token
            )
        return False

    def _pins(self, link: _PendingLink, up: Any, down: Any) -> tuple[list[Any], list[Any]]:
        up_pin = link.up.pin if isinstance(link.up, _Ref) else None
        down_pin = link.down.pin if isinstance(link.down, _Ref) else None
        outputs = _free_pins(up, PinDirection.PINDIR_OUTPUT, up_pin)
        inputs = _free_pins(down, PinDirection.PINDIR_INPUT, down_pin)
        if not outputs:
            what = f"no free output pin {up_pin!r}" if up_pin else "no free output pin"
            raise self.parser.error(f"{up.name} has {what}", link.token)
        if not inputs:
            what = f"no free input pin {down_pin!r}" if down_pin else "no free input pin"
            raise self.parser.error(f"{down.name} has {what}", link.token)
        return outputs, inputs

    def _try_pair(
        self, index: int, link: _PendingLink, out_pin: Any, in_pin: Any, failures: list[str]
    ) -> bool:
        tried: list[Any] = []
        refused: list[Any] = []
        errors: list[COMError] = []
        # Without caps the pins' own negotiation goes first (None), then each type either
        # pin offers that it did not pick; with caps, the offered types fixed by the caps.
        for media_type in _types_for(out_pin, in_pin, link.caps):
            if media_type is not None and media_type in tried:
                continue
            if self.attempts >= _MAX_ATTEMPTS:
                break
            self.attempts += 1
            try:
                self.graph.ConnectDirect(out_pin, in_pin, media_type)
            except COMError as exc:
                errors.append(exc)
                if media_type is not None:
                    refused.append(media_type)
                continue
            tried.append(out_pin.ConnectionMediaType())
            self.links.append(Link(out_pin, in_pin, link.caps))
            if self.solve(index + 1):
                return True
            self.links.pop()
            self.graph.Disconnect(in_pin)
            self.graph.Disconnect(out_pin)
        if errors:
            failures.append(_why(out_pin, in_pin, link.caps, errors, refused))
        return False


def _types_for(out_pin: Any, in_pin: Any, caps: Caps | None) -> list[Any]:
    if caps is not None:
        return list(_candidates(out_pin, in_pin, caps))
    offered = [t for t in _types(out_pin) + _types(in_pin) if not t.is_partially_specified()]
    return [None, *dict.fromkeys(offered)]


def _connect(parser: _Parser, graph: FilterGraph, filters: dict[str, Any]) -> list[Link]:
    search = _Search(parser, graph, _order(parser, filters))
    if not search.solve(0):
        assert search.failure is not None
        raise search.failure
    return search.links


def _candidates(out_pin: Any, in_pin: Any, caps: Caps) -> Iterator[Any]:
    seen: list[Any] = []
    offered = list(_types(out_pin)) + list(_types(in_pin))
    fixed = caps.media_type()
    for media_type in [*(caps.fixate(t) for t in offered), fixed]:
        if media_type is not None and media_type not in seen:
            seen.append(media_type)
            yield media_type


def _types(pin: Any) -> list[Any]:
    try:
        return list(pin.EnumMediaTypes())
    except COMError:
        return []


def _connect_pins(graph: FilterGraph, out_pin: Any, in_pin: Any, caps: Caps | None) -> None:
    if caps is None:
        graph.ConnectDirect(out_pin, in_pin)
        return
    error: COMError | None = None
    for media_type in _candidates(out_pin, in_pin, caps):
        try:
            graph.ConnectDirect(out_pin, in_pin, media_type)
            return
        except COMError as exc:
            error = exc
    if error is None:
        error = VfwNoAcceptableTypesError(message=f"no type offered can be made to fit {caps}")
    raise error


def _why(
    out_pin: Any, in_pin: Any, caps: Caps | None, errors: list[COMError], refused: list[Any]
) -> str:
    """Why ``out_pin`` did not connect to ``in_pin``: the errors, the types tried, and what
    each side offers and accepts."""
    offered = ", ".join(caps_of(t) for t in _types(out_pin)) or "nothing"
    templates = [
        t.caps
        for t in getattr(type(in_pin.QueryPinInfo().filter), "pin_templates", ())
        if t.direction is PinDirection.PINDIR_INPUT
    ]
    accepts = " or ".join(templates) if templates else "(not declared)"
    through = f" through {caps}" if caps is not None else ""
    reasons = [str(exc) for exc in errors if not isinstance(exc, VfwTypeNotAcceptedError)] or [
        "no type fits"
    ]
    lines = [f"{pin_label(out_pin)} -> {pin_label(in_pin)}{through}: {reasons[0]}"]
    lines += [f"  also: {reason}" for reason in dict.fromkeys(reasons) if reason != reasons[0]]
    if refused:
        lines.append(f"  refused: {', '.join(dict.fromkeys(caps_of(t) for t in refused))}")
    lines.append(f"  {pin_label(out_pin)} offers {offered}")
    lines.append(f"  {pin_label(in_pin)} accepts {accepts}")
    return "\n    ".join(lines)
