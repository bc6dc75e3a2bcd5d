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
  two pins offer is *fixated* with the caps' values and tried in turn. Filters that pass
  types through unchanged (in-place transforms, queues, tees) pass the caps on upstream:
  in ``videotestsrc ! invert ! video/x-raw,width=320 ! ...`` the link into ``invert`` is
  fixated with them too, so the source is asked for 320 pixels.
- A filter written after another without ``!`` starts a new chain.
- ``autoconvert`` (GStreamer's name) stands for the graph builder's intelligent connect:
  ``a ! autoconvert ! b`` connects ``a`` to ``b`` with ``FilterGraph.Connect``, directly
  when they agree on a type, else through the registered converters it inserts
  (`dshow_alloc.builder`), which then show in the graph (and in ``dshow-alloc dot``, marked
  as added). A caps filter on either side restricts the type leaving ``a`` or entering
  ``b``: ``videotestsrc ! video/x-raw,format=NV12 ! autoconvert !
  video/x-raw,format=I420,width=160,height=90 ! y4msink`` inserts a converter and a scaler.
  See `AutoConvert` for why it is not a filter of its own.

Links are connected upstream first (a transform's output only connects once its input has).
Every mistake raises `LaunchError`, a ValueError whose message quotes the line with a caret
under the place: unknown filter (with the closest names, or for a GStreamer element's name
the filters doing its job here), unknown property, bad value, a file a source cannot read
(at its property), a name used twice or never defined, pins that cannot connect (with the
types each side offered and accepts, or the conflict with the caps), and a graph that could
never finish: no source, a filter nothing is linked to, a filter whose outputs are all
linked to nothing (spare request pins and unlinked demuxer streams may stay free), or no
renderer. An error ``Run`` raises about a property (a file sink's ``location``) becomes one
with `Pipeline.error_for`.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator
from typing import Any

import attrs

from dshow_alloc import builder
from dshow_alloc.caps import Caps, CapsError, caps_of
from dshow_alloc.elements import Tee
from dshow_alloc.filters import BaseFilter
from dshow_alloc.filters.transform import _PassThroughFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.hresult import (
    COMError,
    NotImplError,
    VfwNoAcceptableTypesError,
    VfwTypeNotAcceptedError,
)
from dshow_alloc.pins import (
    BaseInputPin,
    BaseOutputPin,
    BasePin,
    filter_label,
    free_pins,
    is_source,
    pin_label,
)
from dshow_alloc.registry import (
    Element,
    FilterUnavailableError,
    PinTemplate,
    PropertyError,
    UnknownFilterError,
    UnknownPropertyError,
    filter_class,
    parse_property,
)
from dshow_alloc.structs import PinDirection

__all__ = ["AutoConvert", "LaunchError", "Link", "Pipeline", "parse_launch", "tokenize"]

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT
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
    through: _Element | None = None
    """The ``autoconvert`` this link stands for (connected by intelligent connect)."""
    up_caps: Caps | None = None
    """With ``through``: the caps filter between ``up`` and the autoconvert."""
    caps_token: Token | None = None
    """Where ``caps`` was written."""
    up_caps_token: Token | None = None
    """Where ``up_caps`` was written."""


@attrs.define(eq=False)
class Pipeline:
    """A graph built from a launch line: the graph, its filters by name, and the links."""

    graph: FilterGraph
    """The filter graph (connected, stopped)."""
    text: str
    """The launch line."""
    filters: dict[str, Any]
    """Every filter made, by name, in the order written (not ``autoconvert``, nor the
    converters it inserted: ``graph.added_filters()`` lists those)."""
    links: list[Link]
    """The connections, in the order they were made (an ``autoconvert``'s: one for each
    connection of its chain, upstream first)."""
    _places: dict[str, tuple[Token, dict[str, Token]]] = attrs.field(factory=dict, repr=False)
    # filter name -> (where its name was written, property -> where that was written)

    def error_for(self, exc: BaseException) -> LaunchError | None:
        """``exc`` as a `LaunchError` marking its place in the line when it is about one
        property of a filter the line made (a `PropertyError`, such as the OSError of a file
        sink whose ``location`` cannot be written, which ``Run`` raises); else None."""
        if not isinstance(exc, PropertyError):
            return None
        place = self._places.get(exc.filter_name)
        if place is None:
            return None
        element_token, properties = place
        token = properties.get(exc.property_name, element_token)
        return LaunchError(str(exc), self.text, token.offset, token.end - token.offset)

    def sources(self) -> list[Any]:
        """Filters with no input pin."""
        return [f for f in self.filters.values() if is_source(f)]

    def renderers(self) -> list[Any]:
        """Filters that end a stream (the graph waits for their end of stream)."""
        return [f for f in self.filters.values() if getattr(f, "is_renderer", False)]


class AutoConvert(BaseFilter, Element):
    """``autoconvert``: in a launch line, the converters a link needs, found when the graph
    is built.

    The launch builder does not add this filter to the graph. It connects the filters on
    either side of it with intelligent connect (`dshow_alloc.builder.connect`, which is what
    ``FilterGraph.Connect`` does), the caps filters written next to it restricting the type
    leaving the filter before it and the type entering the filter after it. The converters
    inserted are ordinary members of the graph, marked as added by ``autoconvert``.

    Why not a filter holding its converters, as GStreamer's ``autoconvert`` is a bin: a
    DirectShow graph has no bins (a filter cannot hold filters its graph does not know);
    each of a filter's pins settles on its type when it connects, one at a time, while the
    converters needed depend on the types of both neighbours; and converters hidden inside
    one filter would be missing from everything that looks at the graph (``dot``, the
    end-of-run table, state changes, seeking, each link's allocator negotiation). The graph
    builder already does the job, in the open.

    Made by itself (``make_filter("autoconvert")``) it is listed and inspectable, but its
    pins refuse every connection (E_NOTIMPL).
    """

    description = "Inserts the converters a link needs (launch lines; intelligent connect)"
    pin_templates = (PinTemplate("Input", _IN, "ANY"), PinTemplate("Output", _OUT, "ANY"))

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)
        self.add_pin(BaseInputPin(self, "Input"))
        self.add_pin(BaseOutputPin(self, "Output"))

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """Refuse: only a launch line's builder uses ``autoconvert`` (class docstring)."""
        raise NotImplError(
            message="autoconvert connects nothing itself: in a launch line it stands for "
            "FilterGraph.Connect between its neighbours"
        )


def _is_autoconvert(kind: str) -> bool:
    try:
        cls = filter_class(kind)
    except (LookupError, ImportError):
        return False  # reported where the filters are made
    return isinstance(cls, type) and issubclass(cls, AutoConvert)


def _fold_autoconverts(parser: _Parser) -> None:
    """Replace each ``autoconvert`` and its two links by one link, between its neighbours,
    that intelligent connect makes."""
    for element in [e for e in parser.elements if _is_autoconvert(e.kind)]:
        for key, raw, token in element.properties:
            try:
                parse_property(filter_class(element.kind), key, raw, owner=element.kind)
            except (LookupError, ValueError) as exc:
                raise parser.error(str(exc), token) from None

        def names_it(node: _Element | _Ref, element: _Element = element) -> bool:
            if isinstance(node, _Ref):
                return element.name is not None and node.name == element.name
            return node is element

        incoming = [link for link in parser.links if names_it(link.down)]
        outgoing = [link for link in parser.links if names_it(link.up)]
        if len(incoming) != 1 or len(outgoing) != 1 or incoming[0] is outgoing[0]:
            raise parser.error(
                f"{element.kind} needs one link in and one link out: it connects the filter "
                "before it to the filter after it",
                element.token,
            )
        link_in, link_out = incoming[0], outgoing[0]
        for node in (link_in.down, link_out.up):
            if isinstance(node, _Ref) and node.pin is not None:
                raise parser.error(f"{element.kind} has no pins to name", node.token)
        if link_in.through is not None or _is_autoconvert_node(parser, link_out.down):
            raise parser.error(f"two {element.kind} in a row: one is enough", element.token)
        merged = _PendingLink(
            link_in.up,
            link_out.down,
            link_out.caps,
            link_out.token,
            element,
            link_in.caps,
            caps_token=link_out.caps_token,
            up_caps_token=link_in.caps_token,
        )
        parser.links[parser.links.index(link_in)] = merged
        parser.links.remove(link_out)
        parser.elements.remove(element)


def _is_autoconvert_node(parser: _Parser, node: _Element | _Ref) -> bool:
    if isinstance(node, _Element):
        return _is_autoconvert(node.kind)
    return any(e.name == node.name and _is_autoconvert(e.kind) for e in parser.elements)


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
        caps_token: Token | None = None  # a caps filter not yet closed by '!'
        caps_place: Token | None = None  # where the link's caps filter was written
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
                caps_token = caps_place = token
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
                self.links.append(_PendingLink(previous, node, caps, bang, caps_token=caps_place))
            bang, caps, caps_place = None, None, None
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
    _fold_autoconverts(parser)
    graph = graph if graph is not None else FilterGraph()
    before = graph.EnumFilters()
    added: list[Any] = []
    places: dict[str, tuple[Token, dict[str, Token]]] = {}
    try:
        filters = _make_filters(parser, graph, added, places)
        links = _connect(parser, graph, filters)
    except BaseException:
        # The filters made here, and any converter autoconvert left in.
        made = [f for f in graph.EnumFilters() if not any(f is old for old in before)]
        for filter in reversed(made):
            with contextlib.suppress(COMError):
                graph.RemoveFilter(filter)
        raise
    return Pipeline(graph, text, filters, links, places=places)


def _make_filters(
    parser: _Parser,
    graph: FilterGraph,
    added: list[Any],
    places: dict[str, tuple[Token, dict[str, Token]]],
) -> dict[str, Any]:
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
        written = {key.replace("_", "-"): at for key, _raw, at in element.properties}
        try:
            filter = cls(name=name, **values)
        except (TypeError, ValueError, LookupError, OSError, COMError) as exc:
            if isinstance(exc, PropertyError) and exc.property_name in written:
                # It names the filter and the property: point at the property.
                raise parser.error(str(exc), written[exc.property_name]) from None
            message = str(exc)
            if not message.startswith((f"{element.kind}:", f"{name}:")):
                message = f"{element.kind}: {message}"
            raise parser.error(message, token) from None
        places[name] = (token, written)
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
        self,
        parser: _Parser,
        graph: FilterGraph,
        ordered: list[tuple[_PendingLink, Any, Any]],
        wanted: dict[int, list[_Wanted]] | None = None,
    ) -> None:
        self.parser, self.graph, self.ordered = parser, graph, ordered
        self.wanted = wanted or {}
        # Each link's caps: its own, narrowed by what links after type-passing filters want.
        self.caps = {id(link): _link_caps(parser, link, self.wanted) for link, _u, _d in ordered}
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
        attempt = self._try_pair if link.through is None else self._try_through
        for out_pin in outputs:
            for in_pin in inputs:
                if attempt(index, link, out_pin, in_pin, failures):
                    return True
        if index >= self.deepest:
            self.deepest = index
            plural = "s" if self.attempts != 1 else ""
            reasons = "\n    ".join(dict.fromkeys(failures)) or (
                f"(gave up after {self.attempts} connection attempt{plural})"
            )
            through = f" through {link.through.kind}" if link.through is not None else ""
            token = link.through.token if link.through is not None else link.token
            self.failure = self.parser.error(
                f"cannot link {up.name} to {down.name}{through}:\n    {reasons}", token
            )
        return False

    def _try_through(
        self, index: int, link: _PendingLink, out_pin: Any, in_pin: Any, failures: list[str]
    ) -> bool:
        """An ``autoconvert`` link: intelligent connect, once (its choice of converters and
        types is not revisited when a later link fails)."""
        if self.attempts >= _MAX_ATTEMPTS:
            return False
        self.attempts += 1
        try:
            added = builder.connect(
                self.graph,
                out_pin,
                in_pin,
                out_caps=link.up_caps,
                in_caps=link.caps,
                by="autoconvert",
            )
        except COMError as exc:
            failures.append(f"{pin_label(out_pin)} -> {pin_label(in_pin)}: {exc}")
            return False
        made = _chain_links(out_pin, in_pin, link)
        self.links.extend(made)
        if self.solve(index + 1):
            return True
        del self.links[len(self.links) - len(made) :]
        for filter in reversed(added):
            self.graph.RemoveFilter(filter)
        if not added:
            self.graph.Disconnect(in_pin)
            self.graph.Disconnect(out_pin)
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
        caps = self.caps[id(link)]
        candidates = 0
        # Without caps the pins' own negotiation goes first (None), then each type either
        # pin offers that it did not pick; with caps, the offered types fixed by the caps.
        for media_type in _types_for(out_pin, in_pin, caps):
            if media_type is not None and media_type in tried:
                continue
            if self.attempts >= _MAX_ATTEMPTS:
                break
            self.attempts += 1
            candidates += 1
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
        if errors or (not candidates and self.attempts < _MAX_ATTEMPTS):
            wanted = self.wanted.get(id(link), [])
            failures.append(_why(out_pin, in_pin, caps, errors, refused, wanted))
        return False


def _chain_links(out_pin: Any, in_pin: Any, link: _PendingLink) -> list[Link]:
    """The connections from ``out_pin`` to ``in_pin`` through the converters between them,
    upstream first; the first carries the caps before the autoconvert, the last those after
    it."""
    made: list[Link] = []
    pin = out_pin
    while True:
        peer = pin.ConnectedTo()
        made.append(Link(pin, peer, link.up_caps if not made else None))
        if peer is in_pin:
            break
        converter = peer.QueryPinInfo().filter
        pin = next(p for p in converter.EnumPins() if p.QueryDirection() is _OUT)
    last = made[-1]
    made[-1] = Link(last.output, last.input, link.caps or last.caps)
    return made


def _types_for(out_pin: Any, in_pin: Any, caps: Caps | None) -> list[Any]:
    if caps is not None:
        return list(_candidates(out_pin, in_pin, caps))
    offered = [t for t in _types(out_pin) + _types(in_pin) if not t.is_partially_specified()]
    return [None, *dict.fromkeys(offered)]


def _connect(parser: _Parser, graph: FilterGraph, filters: dict[str, Any]) -> list[Link]:
    ordered = _order(parser, filters)
    _check_inputs(parser, ordered)
    search = _Search(parser, graph, ordered, _wanted_after(ordered))
    if not search.solve(0):
        assert search.failure is not None
        raise search.failure
    _check_outputs(parser, ordered)
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
    out_pin: Any,
    in_pin: Any,
    caps: Caps | None,
    errors: list[COMError],
    refused: list[Any],
    wanted: list[_Wanted] | None = None,
) -> str:
    """Why ``out_pin`` did not connect to ``in_pin``: the errors, the types tried, and what
    each side offers and accepts; ``wanted``: where caps the link did not write came from."""
    out_label, in_label = pin_label(out_pin), pin_label(in_pin)
    offered = ", ".join(caps_of(t) for t in _types(out_pin)) or "nothing"
    templates = [
        t.caps
        for t in getattr(type(in_pin.QueryPinInfo().filter), "pin_templates", ())
        if t.direction is PinDirection.PINDIR_INPUT
    ]
    accepts = " or ".join(templates) if templates else "(not declared)"
    origin = ""
    if wanted:
        names = list(dict.fromkeys(filter_label(want.through) for want in wanted))
        verb = "passes" if len(names) == 1 else "pass"
        origin = f" (wanted after {' and '.join(names)}, which {verb} types through unchanged)"
    through = f" through {caps}{origin}" if caps is not None else ""
    reasons = [str(exc) for exc in errors if not isinstance(exc, VfwTypeNotAcceptedError)] or [
        _no_fit(out_pin, caps, refused, offered)
    ]
    lines = [f"{out_label} -> {in_label}{through}: {reasons[0]}"]
    lines += [f"  also: {reason}" for reason in dict.fromkeys(reasons) if reason != reasons[0]]
    if refused:
        lines.append(f"  refused: {', '.join(dict.fromkeys(caps_of(t) for t in refused))}")
    if f"offers only {offered}" not in lines[0]:
        lines.append(f"  {out_label} offers {offered}")
    lines.append(f"  {in_label} accepts {accepts}")
    return "\n    ".join(lines)


def _no_fit(out_pin: Any, caps: Caps | None, refused: list[Any], offered: str) -> str:
    """The conflict when every type tried was refused, or there was none to try."""
    out_label = pin_label(out_pin)
    if caps is not None and not refused:
        return f"no type {out_label} offers can be made to fit {caps}"
    if caps is not None and not any(out_pin.QueryAccept(t) for t in refused):
        return f"{out_label} cannot make {caps}: it offers only {offered}"
    return "no type fits"


@attrs.frozen
class _Wanted:
    """Caps written after a filter that passes types through: the link into it must carry
    a type of them too."""

    caps: Caps
    token: Token | None
    """Where the caps were written."""
    through: Any
    """The filter passing types through."""


def _passes_types(filter: Any) -> bool:
    """Whether ``filter``'s outputs always carry its input's type: in-place transforms,
    queues and tees (whose output pins accept only the input's type)."""
    return isinstance(filter, _PassThroughFilter | Tee)


def _wanted_after(ordered: list[tuple[_PendingLink, Any, Any]]) -> dict[int, list[_Wanted]]:
    """For each link (by id) into a filter that passes types through, the caps written on
    the links after it (and after the type-passing filters that follow): so a caps filter
    after ``invert`` or a ``queue`` reaches the source (``videotestsrc ! invert !
    video/x-raw,width=320 ! ...`` asks the source for 320 pixels)."""
    leaving: dict[int, list[tuple[_PendingLink, Any]]] = {}
    for link, up, down in ordered:
        leaving.setdefault(id(up), []).append((link, down))

    def wants(filter: Any, seen: frozenset[int]) -> list[_Wanted]:
        if not _passes_types(filter) or id(filter) in seen:
            return []
        seen = seen | {id(filter)}
        found: list[_Wanted] = []
        for link, down in leaving.get(id(filter), []):
            if link.through is not None:  # converters may change the type after up_caps
                if link.up_caps is not None:
                    found.append(_Wanted(link.up_caps, link.up_caps_token, filter))
                continue
            if link.caps is not None:
                found.append(_Wanted(link.caps, link.caps_token, filter))
            found += wants(down, seen)
        return found

    return {
        id(link): wants(down, frozenset()) for link, _up, down in ordered if link.through is None
    }


def _link_caps(
    parser: _Parser, link: _PendingLink, wanted: dict[int, list[_Wanted]]
) -> Caps | None:
    """The caps ``link`` must meet: its own and those wanted after it (`_wanted_after`); a
    LaunchError when they have no type in common (the line can never connect)."""
    caps = link.caps
    for want in wanted.get(id(link), []):
        combined = want.caps if caps is None else caps.intersect(want.caps)
        if combined is None:
            name = filter_label(want.through)
            raise parser.error(
                f"{want.caps}, wanted after {name}, and {caps} before it have no type in "
                f"common ({name} passes types through unchanged)",
                want.token or link.token,
            )
        caps = combined
    return caps


def _check_inputs(parser: _Parser, ordered: list[tuple[_PendingLink, Any, Any]]) -> None:
    """Refuse a line with a filter whose input pins nothing is linked to: no sample would
    reach it, so the graph could never finish (with no source in the line, that is the
    complaint). At the filter's name, before any type is tried."""
    fed = {id(down) for _link, _up, down in ordered}
    elements = [e for e in parser.elements if e.filter is not None]
    has_source = any(is_source(e.filter) for e in elements)
    for element in elements:
        filter, name = element.filter, element.name
        has_inputs = any(pin.QueryDirection() is _IN for pin in filter.EnumPins())
        if has_inputs and id(filter) not in fed:
            if not has_source:
                raise parser.error(
                    f"the line has no source: nothing makes the samples {name} would take "
                    "(start it with one, such as videotestsrc, audiotestsrc, y4msrc or avsrc)",
                    element.token,
                )
            raise parser.error(
                f"nothing is linked to {name}: no sample would reach it, so the graph could "
                "never finish",
                element.token,
            )


def _check_outputs(parser: _Parser, ordered: list[tuple[_PendingLink, Any, Any]]) -> None:
    """Refuse a connected line whose graph could never finish, at the filter to blame: one
    with output pins none of which is linked (its samples would reach no renderer: a tee
    needs a branch, a demuxer one stream linked; spare pins may stay free), or a line with
    no renderer at all (nothing would report the end of a stream)."""
    feeding = {id(up) for _link, up, _down in ordered}
    elements = [e for e in parser.elements if e.filter is not None]
    for element in elements:
        has_outputs = any(pin.QueryDirection() is _OUT for pin in element.filter.EnumPins())
        if has_outputs and id(element.filter) not in feeding:
            raise parser.error(
                f"nothing is linked to the output of {element.name}: its samples would reach "
                "no renderer, so the graph could never finish (end every branch in a "
                "renderer, such as nullsink)",
                element.token,
            )
    if elements and not any(getattr(e.filter, "is_renderer", False) for e in elements):
        ends = [
            e for e in elements if not any(p.QueryDirection() is _OUT for p in e.filter.EnumPins())
        ]
        element = (ends or elements)[0]
        raise parser.error(
            f"the line has no renderer: {element.name} does not end a stream, so nothing "
            "would report the end and the graph could never finish (end it in a renderer, "
            "such as nullsink, y4msink, wavsink or avsink)",
            element.token,
        )
