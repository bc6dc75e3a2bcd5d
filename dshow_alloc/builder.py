"""Intelligent connect: the filters the graph builder puts between two pins.

``FilterGraph.Connect``, ``Render`` and ``RenderFile`` (``IGraphBuilder``) and a launch
line's ``autoconvert`` use this module. The filters it may insert come from the registry
(`dshow_alloc.registry`) and their merit decides the order:

- A *converter* is a registered filter with exactly one input and one output pin template
  (neither made on demand) and a merit above ``MERIT_DO_NOT_USE``. Converters are ranked by
  merit, highest first, then by name.
- `connect` first connects the two pins directly (the pins' own negotiation). When that is
  refused because no type fits (VFW_E_TYPE_NOT_ACCEPTED, VFW_E_NO_ACCEPTABLE_TYPES,
  VFW_E_INVALIDMEDIATYPE, E_FAIL or E_INVALIDARG), it tries chains of converters between
  them: every chain of one converter, then of two, up to `MAX_CHAIN` (a converter appears
  once in a chain); chains of one length in the lexicographic order of their converters'
  ranks (so ``[a, b]`` before ``[a, c]`` before ``[b, a]`` when a ranks above b above c).
  The first chain that connects end to end is kept, its filters added to the graph under
  their registered names. Any other error of the direct connection (a filter's hook
  raising, an allocator that cannot be sized) is raised as it is: no converter mends it.
  Inside a chain any error (a converter that cannot be made, a refusal, a hook raising)
  only means that the chain, or that type on that link, does not fit.
- Within a chain each link first takes the type its two pins agree on (``IPin.Connect``
  with no type: the downstream pin's types, then the upstream pin's, or the reverse when
  the upstream filter prefers its own). When that fails, or a later link fails, the link
  is tried again with, in turn: the upstream pin's types fixed by the downstream pin's
  template caps (a renderer declaring ``audio/x-raw,format=F32LE,channels=1`` gets mono
  float from an ``audioconvert`` that offers neither by itself); on a link before the last,
  the upstream pin's types moved towards the *goal*, what the final input pin wants (its
  caps restriction, template caps and offered types), one set of the goal's fields at a
  time, the largest sets first (so an ``audioconvert`` before an ``audioresample`` makes
  the goal's format and channels and leaves the rate to the resampler); then each type
  either pin offers. A caps restriction (a launch line's ``autoconvert`` between caps
  filters) applies to the first link leaving the output pin and to the last link entering
  the input pin: only candidate types it fixes and matches are tried there.
- The search is bounded: at most `MAX_CHAIN` converters and `MAX_ATTEMPTS` pin
  connections in one call, so it always ends quickly. When nothing fits it raises
  VFW_E_CANNOT_CONNECT (0x80040217) and the graph is exactly as it was: the filters it added
  are removed and every pin it connected is disconnected.

`render` connects an output pin to a *renderer*: a registered filter with one input pin
template, no output, that renders (``is_renderer``), of merit above ``MERIT_DO_NOT_USE``; the
highest merit first (then by name), each through `connect`, so converters go in as needed.
``nullsink`` (``MERIT_UNLIKELY``, takes anything) is where it falls back when no renderer of
higher merit takes the stream. `render_file` picks a file source by the file's suffix
(`dshow_alloc.registry.extensions_of`; highest merit first, a source naming the suffix
before one taking any file, then by name), makes it with ``location=`` the file and renders
each of its output pins; a source that cannot read the file is passed over for the next.
Both raise VFW_E_CANNOT_RENDER (0x80040218) when nothing works, the graph as it was.

The graph remembers the filters these calls added (``FilterGraph.added_filters`` and
``added_by``), and ``dshow-alloc dot`` marks them.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from dshow_alloc.caps import Caps, caps_of
from dshow_alloc.hresult import (
    FailError,
    InvalidArgError,
    PointerError,
    VfwAlreadyConnectedError,
    VfwCannotConnectError,
    VfwCannotRenderError,
    VfwInvalidDirectionError,
    VfwInvalidMediaTypeError,
    VfwNoAcceptableTypesError,
    VfwNotFoundError,
    VfwNotInGraphError,
    VfwTypeNotAcceptedError,
)
from dshow_alloc.mediatype import MediaType
from dshow_alloc.pins import free_pins, is_connected, pin_label
from dshow_alloc.registry import (
    FilterUnavailableError,
    extensions_of,
    filter_class,
    filter_names,
    make_filter,
    merit_of,
    properties_of,
)
from dshow_alloc.structs import MERIT_DO_NOT_USE, PinDirection
from interfaces import IPin

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_CHAIN",
    "Candidate",
    "connect",
    "converters",
    "file_sources",
    "render",
    "render_file",
    "renderers",
]

log = logging.getLogger(__name__)

MAX_CHAIN = 3
"""The most converters `connect` puts between two pins."""
MAX_ATTEMPTS = 1000
"""The most pin connections one `connect` tries: a search that reaches it (ten converters
that never fit) ends in about a second."""

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT
#: What a refused direct connection raises when no type fits: converters may help.
_NO_TYPE_FITS = (
    VfwTypeNotAcceptedError,
    VfwNoAcceptableTypesError,
    VfwInvalidMediaTypeError,
    FailError,
    InvalidArgError,
)
#: How many reasons a failure message quotes.
_REASONS = 4


@attrs.frozen
class Candidate:
    """A registered filter intelligent connect may insert, with its rank."""

    name: str
    """The registered name."""
    cls: type
    """The filter class."""
    merit: int
    """Its merit (`dshow_alloc.registry.merit_of`)."""


def _candidates(wanted: Any) -> list[Candidate]:
    """Every loadable registered filter above MERIT_DO_NOT_USE whose class ``wanted``
    accepts, ranked: merit (highest first), then name."""
    found = []
    for name in filter_names():
        try:
            cls = filter_class(name)
            merit = merit_of(name)
        except (FilterUnavailableError, LookupError):
            continue
        if merit > MERIT_DO_NOT_USE and wanted(cls):
            found.append(Candidate(name, cls, merit))
    return sorted(found, key=lambda c: (-c.merit, c.name))


def _templates(cls: type, direction: PinDirection) -> list[Any]:
    return [t for t in getattr(cls, "pin_templates", ()) if t.direction is direction]


def _one_pin_each(cls: type, inputs: int, outputs: int) -> bool:
    ins, outs = _templates(cls, _IN), _templates(cls, _OUT)
    on_demand = any("%" in t.name for t in ins + outs)
    return len(ins) == inputs and len(outs) == outputs and not on_demand


def converters() -> list[Candidate]:
    """The converters `connect` may insert, ranked (see the module docstring)."""
    return _candidates(lambda cls: _one_pin_each(cls, 1, 1))


def renderers() -> list[Candidate]:
    """The renderers `render` may add, ranked (see the module docstring)."""
    return _candidates(
        lambda cls: _one_pin_each(cls, 1, 0) and bool(getattr(cls, "is_renderer", False))
    )


def file_sources(path: Path | str) -> list[Candidate]:
    """The sources `render_file` may make for ``path``, in the order it tries them: merit
    (highest first), a source naming the suffix before one taking any file (``*``), name."""
    suffix = Path(path).suffix.lower()

    def reads(cls: type) -> bool:
        return not _templates(cls, _IN) and any(p.name == "location" for p in properties_of(cls))

    ranked = []
    for candidate in _candidates(reads):
        try:
            extensions = extensions_of(candidate.name)
        except (FilterUnavailableError, LookupError):
            continue
        if suffix and suffix in extensions:
            ranked.append((0, candidate))
        elif "*" in extensions:
            ranked.append((1, candidate))
    ranked.sort(key=lambda item: (-item[1].merit, item[0], item[1].name))
    return [candidate for _specific, candidate in ranked]


# -- checks ------------------------------------------------------------------------------------


def _check_stopped(graph: Any) -> None:
    graph._check_stopped()  # VFW_E_NOT_STOPPED


def _check_pin(graph: Any, pin: Any, direction: PinDirection, what: str) -> None:
    if pin is None:
        raise PointerError(message=f"the {what} pin is None")
    if not IPin.providedBy(pin):
        raise TypeError(f"the {what} pin must be an IPin, not {type(pin).__name__}")
    owner = pin.QueryPinInfo().filter
    if not any(owner is other for other in graph.EnumFilters()):
        raise VfwNotInGraphError(message=f"{pin_label(pin)} belongs to a filter outside the graph")
    if pin.QueryDirection() is not direction:
        raise VfwInvalidDirectionError(message=f"{pin_label(pin)} is not an {what} pin")
    if is_connected(pin):
        raise VfwAlreadyConnectedError(message=f"{pin_label(pin)} is already connected")


# -- the search --------------------------------------------------------------------------------


def _offered(pin: Any) -> list[MediaType]:
    try:
        return list(pin.EnumMediaTypes())
    except Exception:
        return []


def _fixated(types: list[MediaType], caps: list[Caps], *, own: bool = False) -> Iterator[MediaType]:
    """Each of ``types`` with every caps' fields put in, when the result matches all of
    them; with ``own``, then the type each caps fixes by itself (a caps filter's)."""
    for media_type in types:
        fixed: MediaType | None = media_type
        for restriction in caps:
            fixed = restriction.fixate(fixed) if fixed is not None else None
        if fixed is not None and all(restriction.matches(fixed) for restriction in caps):
            yield fixed
    for restriction in caps if own else ():
        made = restriction.media_type()
        if made is not None and all(other.matches(made) for other in caps):
            yield made


def _template_caps(in_pin: Any) -> Caps | None:
    """The caps of the registered pin template ``in_pin`` was made from, when they parse
    (``ANY`` does not)."""
    owner = in_pin.QueryPinInfo().filter
    pin_id = in_pin.QueryId()
    for template in _templates(type(owner), _IN):
        name = template.name
        if name == pin_id or ("%" in name and pin_id.startswith(name.split("%", 1)[0])):
            try:
                return Caps.parse(template.caps)
            except ValueError:
                return None
    return None


def _goals(in_pin: Any, in_caps: Caps | None) -> list[Caps]:
    """What ``in_pin`` wants, as caps (see `_Search.goals`)."""
    goals = [] if in_caps is None else [in_caps]
    template = _template_caps(in_pin)
    if template is not None:
        goals.append(template)
    for media_type in _offered(in_pin):
        try:
            goals.append(Caps.parse(caps_of(media_type)))
        except ValueError:
            continue  # not raw audio or video: no fields to aim at
    return list(dict.fromkeys(goals))


def _parts(goal: Caps) -> list[Caps]:
    """``goal`` restricted to each non-empty set of its fields, the largest sets first: the
    types a converter may have to make on the way (an ``audioresample`` before an
    ``audioconvert`` changes the rate alone)."""
    fields = goal.fields
    return [
        Caps(goal.media, subset)
        for size in range(len(fields), 0, -1)
        for subset in itertools.combinations(fields, size)
    ]


class _Search:
    """One `connect` call's search (see the module docstring)."""

    def __init__(
        self, graph: Any, in_pin: Any, out_caps: Caps | None, in_caps: Caps | None, by: str
    ) -> None:
        self.graph, self.out_caps, self.in_caps, self.by = graph, out_caps, in_caps, by
        self.goals = _goals(in_pin, in_caps)
        """What the final input pin wants, as caps: its caps restriction, its template's
        caps and the types it offers."""
        self.attempts = 0
        self.reasons: list[str] = []
        self.reached = -1  # the furthest link of the current chain that connected

    def note(self, out_pin: Any, in_pin: Any, exc: BaseException) -> None:
        """Remember why a link failed (for the error message)."""
        self.note_text(f"{pin_label(out_pin)} -> {pin_label(in_pin)}: {exc}")

    def note_text(self, reason: str) -> None:
        """Remember a reason, once."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    def types(self, out_pin: Any, in_pin: Any, first: bool, last: bool) -> Iterator[Any]:
        """The types to try on one link, in order: None (the pins' own negotiation; not
        when caps restrict the link), the upstream pin's types fixed by the downstream
        pin's template caps, then on a link before the last the upstream pin's types moved
        towards the goal (`goals`) and each type either pin offers. Caps restricting the
        link fix every candidate, and those they do not match are dropped."""
        caps = [c for c, applies in ((self.out_caps, first), (self.in_caps, last)) if applies]
        restrictions = [c for c in caps if c is not None]
        template = _template_caps(in_pin)
        upstream = _offered(out_pin)
        offered = upstream + _offered(in_pin)
        candidates: list[MediaType] = []
        if template is not None:
            candidates += _fixated(upstream, [template])
        if not last:
            for goal in self.goals:
                for part in _parts(goal):
                    candidates += _fixated(upstream, [part])
            candidates += [t for t in offered if not t.is_partially_specified()]
        found: list[Any] = []
        if restrictions:
            found += _fixated(offered, restrictions, own=True)
            found += _fixated(candidates, restrictions)
        else:
            found += [None, *candidates]
        yield from dict.fromkeys(found)

    def link(self, links: list[tuple[Any, Any]], index: int) -> bool:
        """Connect ``links[index:]`` depth first, trying each type of a link in turn."""
        if index == len(links):
            return True
        out_pin, in_pin = links[index]
        tried: list[MediaType] = []
        for media_type in self.types(out_pin, in_pin, index == 0, index == len(links) - 1):
            if media_type in tried:
                continue
            if self.attempts >= MAX_ATTEMPTS:
                return False
            self.attempts += 1
            try:
                self.graph.ConnectDirect(out_pin, in_pin, media_type)
            except Exception as exc:
                self.note(out_pin, in_pin, exc)
                continue
            tried.append(out_pin.ConnectionMediaType())
            self.reached = max(self.reached, index)
            if self.link(links, index + 1):
                return True
            self.graph.Disconnect(in_pin)
            self.graph.Disconnect(out_pin)
        return False

    def chain(self, out_pin: Any, in_pin: Any, chain: tuple[Candidate, ...]) -> list[Any] | None:
        """Add ``chain``'s filters and connect them between the pins; None (and nothing
        left behind) when it does not fit. Sets ``reached``; raises `_UnusableError` for a
        converter that cannot be made."""
        added: list[Any] = []
        self.reached = -1
        try:
            for candidate in chain:
                try:
                    filter = make_filter(candidate.name)
                except Exception as exc:
                    self.note_text(f"{candidate.name} cannot be made: {exc}")
                    raise _UnusableError(candidate.name) from exc
                self.graph._add_for(filter, candidate.name, self.by)
                added.append(filter)
            pins = [out_pin]
            for filter in added:
                pins += [free_pins(filter, _IN)[0], free_pins(filter, _OUT)[0]]
            pins.append(in_pin)
            if self.link(list(zip(pins[::2], pins[1::2], strict=True)), 0):
                return added
        except BaseException:
            self.undo(added)
            raise
        self.undo(added)
        return None

    def undo(self, added: list[Any]) -> None:
        """Remove ``added`` from the graph (which disconnects their pins)."""
        for filter in reversed(added):
            self.graph.RemoveFilter(filter)


class _UnusableError(Exception):
    """A converter that cannot be made (a required property, a broken class)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def connect(
    graph: Any,
    out_pin: Any,
    in_pin: Any,
    *,
    out_caps: Caps | None = None,
    in_caps: Caps | None = None,
    by: str = "Connect",
) -> list[Any]:
    """Connect ``out_pin`` to ``in_pin`` of ``graph``, directly or through converters (see
    the module docstring); return the filters added, upstream first ([] when direct).

    ``out_caps`` restricts the type leaving ``out_pin`` and ``in_caps`` the type entering
    ``in_pin``; ``by`` is what ``FilterGraph.added_by`` says added the converters.

    Raises:
        COMError: E_POINTER for a None pin; VFW_E_NOT_IN_GRAPH, VFW_E_INVALID_DIRECTION or
            VFW_E_ALREADY_CONNECTED for a pin that is outside the graph, of the wrong
            direction or connected; VFW_E_NOT_STOPPED when the graph is not stopped;
            VFW_E_CANNOT_CONNECT when no chain fits; or the direct connection's own error
            when it failed for a reason other than the type.
        TypeError: a pin that is not an IPin.
    """
    _check_pin(graph, out_pin, _OUT, "output")
    _check_pin(graph, in_pin, _IN, "input")
    _check_stopped(graph)
    search = _Search(graph, in_pin, out_caps, in_caps, by)
    if out_caps is None and in_caps is None:
        search.attempts += 1
        try:
            graph.ConnectDirect(out_pin, in_pin, None)
            return []
        except _NO_TYPE_FITS as exc:  # anything else is raised: no converter mends it
            search.note(out_pin, in_pin, exc)
    # Directly with the other candidate types (the input pin's template, the caps).
    if search.chain(out_pin, in_pin, ()) is not None:
        return []
    failed: set[tuple[str, ...]] = set()
    unusable: set[str] = set()
    tried = 0
    candidates = converters()
    for length in range(1, MAX_CHAIN + 1):
        for chain in itertools.permutations(candidates, length):
            names = tuple(candidate.name for candidate in chain)
            if unusable.intersection(names) or any(names[:k] in failed for k in range(length)):
                continue
            if search.attempts >= MAX_ATTEMPTS:
                break
            tried += 1
            try:
                added = search.chain(out_pin, in_pin, chain)
            except _UnusableError as exc:
                unusable.add(exc.name)
                continue
            if added is not None:
                log.debug("connected %s -> %s through %s", out_pin, in_pin, names)
                return added
            if search.reached + 1 < length and search.attempts < MAX_ATTEMPTS:
                # The link into converter number reached + 1 never connected, whatever
                # types went before: no chain starting with these converters can.
                failed.add(names[: search.reached + 2])
    reasons = "; ".join(search.reasons[:_REASONS]) or "no type fits"
    bound = " (the search's bound was reached)" if search.attempts >= MAX_ATTEMPTS else ""
    raise VfwCannotConnectError(
        message=f"cannot connect {pin_label(out_pin)} to {pin_label(in_pin)}, directly or "
        f"through up to {MAX_CHAIN} of {len(candidates)} converters ({tried} chains "
        f"tried{bound}): {reasons}"
    )


def render(graph: Any, out_pin: Any, *, by: str = "Render") -> list[Any]:
    """Connect ``out_pin`` to a new renderer, through converters as needed (see the module
    docstring); return the filters added (converters upstream first, the renderer last).

    Raises:
        COMError: E_POINTER, VFW_E_NOT_IN_GRAPH, VFW_E_INVALID_DIRECTION,
            VFW_E_ALREADY_CONNECTED, VFW_E_NOT_STOPPED as `connect`; VFW_E_CANNOT_RENDER
            when no renderer takes the stream (the graph as it was).
        TypeError: ``out_pin`` is not an IPin.
    """
    _check_pin(graph, out_pin, _OUT, "output")
    _check_stopped(graph)
    reasons: list[str] = []
    last: Exception | None = None
    candidates = renderers()
    for candidate in candidates:
        try:
            renderer = make_filter(candidate.name)
        except Exception as exc:
            reasons.append(f"{candidate.name} cannot be made: {exc}")
            continue
        graph._add_for(renderer, candidate.name, by)
        try:
            added = connect(graph, out_pin, free_pins(renderer, _IN)[0], by=by)
        except Exception as exc:
            graph.RemoveFilter(renderer)
            reasons.append(f"{candidate.name}: {exc}")
            last = exc
            continue
        except BaseException:
            graph.RemoveFilter(renderer)
            raise
        return [*added, renderer]
    names = ", ".join(c.name for c in candidates) or "none registered"
    raise VfwCannotRenderError(
        message=f"no renderer takes {pin_label(out_pin)} (renderers: {names}): "
        + ("; ".join(reasons[:_REASONS]) or "none")
    ) from last


def render_file(graph: Any, path: str | os.PathLike[str]) -> list[Any]:
    """Add a source reading ``path`` and render every one of its output pins (see the
    module docstring); return the filters added, the source first.

    Raises:
        TypeError: ``path`` is not a str or path.
        COMError: VFW_E_NOT_STOPPED when the graph is not stopped; VFW_E_NOT_FOUND when
            there is no file at ``path``; VFW_E_CANNOT_RENDER when no registered source
            reads it, or none has every stream rendered (the graph as it was).
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"RenderFile takes a file name (str or path), not {type(path).__name__}")
    location = Path(path)
    _check_stopped(graph)
    if not location.is_file():
        raise VfwNotFoundError(message=f"no file at {str(location)!r}")
    candidates = file_sources(location)
    if not candidates:
        raise VfwCannotRenderError(
            message=f"no registered source reads {location.suffix or 'suffix-less'} files"
        )
    reasons: list[str] = []
    last: Exception | None = None
    for candidate in candidates:
        try:
            source = make_filter(candidate.name, location=location)
        except Exception as exc:
            reasons.append(f"{candidate.name} cannot read it: {exc}")
            last = exc
            continue
        added = [source]
        graph._add_for(source, candidate.name, "RenderFile")
        try:
            outputs = free_pins(source, _OUT)
            if not outputs:
                raise VfwCannotRenderError(message=f"{candidate.name} found no stream in it")
            for pin in outputs:
                added += render(graph, pin, by="RenderFile")
            return added
        except Exception as exc:
            reasons.append(f"{candidate.name}: {exc}")
            last = exc
        except BaseException:
            _remove(graph, added)
            raise
        _remove(graph, added)
    raise VfwCannotRenderError(
        message=f"cannot render {str(location)!r}: " + "; ".join(reasons[:_REASONS])
    ) from last


def _remove(graph: Any, filters: list[Any]) -> None:
    for filter in reversed(filters):
        graph.RemoveFilter(filter)
