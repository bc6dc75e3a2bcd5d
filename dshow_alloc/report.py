"""Running a built graph to its end, with a progress bar, and the table of what happened.

`run_graph` runs a graph until every renderer finished (EC_COMPLETE), an error aborts it, a
time limit passes, or Ctrl-C; it stops the graph cleanly in every case and returns a
`RunReport`: samples per source and renderer, the rate, each allocator's reuse and time
blocked in ``GetBuffer``, the copies filters made, the samples renderers and leaky queues
dropped and those renderers presented late, and the graph's events. Each event is a
`RunEvent`: its text, and what the graph was told; an error keeps its exception (type,
message and traceback) and the name of the filter that reported it (`RunReport.errors`).

The progress bar is tqdm's (the ``media`` extra); without tqdm, or when ``progress`` is
False, nothing is drawn.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import attrs

from dshow_alloc.filters import reported_by
from dshow_alloc.hresult import AbortError, COMError
from dshow_alloc.pins import filter_label, is_connected, is_source, pin_label
from dshow_alloc.structs import EC_COMPLETE, EC_ERRORABORT, EC_USERABORT, EventCode, PinDirection

__all__ = ["AllocatorReport", "RunEvent", "RunReport", "collect_report", "run_graph"]


def event_name(code: int) -> str:
    """``EC_COMPLETE`` for 1, else the hex code."""
    try:
        return EventCode(code).name
    except ValueError:
        return hex(code)


class RunEvent(str):
    """One event of a run, as its text (``"EC_COMPLETE"``, ``"EC_ERRORABORT (oops)"``: what
    the end-of-run table prints and compares equal to), keeping what the graph was told."""

    code: int
    """The event code (``EC_ERRORABORT``)."""
    param1: Any
    """Its first parameter (an error's HRESULT)."""
    param2: Any
    """Its second parameter (an error's exception)."""

    def __new__(cls, text: str, code: int, param1: Any = 0, param2: Any = 0) -> RunEvent:
        event = super().__new__(cls, text)
        event.code, event.param1, event.param2 = code, param1, param2
        return event

    def __getnewargs__(self) -> tuple[str, int, Any, Any]:  # type: ignore[override]
        return str(self), self.code, self.param1, self.param2

    @property
    def error(self) -> BaseException | None:
        """The exception an EC_ERRORABORT carried, with its ``__traceback__``; else None."""
        error = self.param2
        return error if self.code == EC_ERRORABORT and isinstance(error, BaseException) else None

    @property
    def filter_name(self) -> str | None:
        """The filter that reported the error (whose hook raised it), when one did."""
        error = self.error
        return reported_by(error) if error is not None else None

    def describe(self) -> str:
        """An error in one line, ``myfilter0: ValueError: oops in my filter`` (the event's
        text for anything else)."""
        error = self.error
        if error is None:
            return str(self)
        where = f"{self.filter_name}: " if self.filter_name else ""
        return f"{where}{type(error).__name__}: {error}"

    def format_traceback(self) -> str:
        """An error's traceback as Python prints it ("" for another event)."""
        error = self.error
        return "".join(traceback.format_exception(error)) if error is not None else ""


@attrs.frozen
class AllocatorReport:
    """One allocator of the graph."""

    name: str
    """Who uses it: ``"videotestsrc0.Output -> invert0.Input"`` (the first connection)."""
    origin: str
    """Who provided it (``BaseOutputPin.allocator_origin``)."""
    buffers: int
    """``cBuffers`` it was configured with."""
    buffer_size: int
    """``cbBuffer``."""
    made: int
    """Samples it made."""
    served: int
    """Samples ``GetBuffer`` handed out."""
    waits: int
    """``GetBuffer`` calls that had to wait for a sample to come home."""
    blocked_seconds: float
    """Seconds those calls waited in all."""

    @property
    def reuse(self) -> float:
        """Samples handed out per sample made (a source's last ``GetBuffer``, whose
        ``FillBuffer`` ends the stream, counts too)."""
        return self.served / self.made if self.made else 0.0


@attrs.frozen
class RunReport:
    """What `run_graph` saw."""

    completion: str
    """``EC_COMPLETE``, ``EC_ERRORABORT``, ``EC_USERABORT`` or ``interrupted``/``timeout``."""
    seconds: float
    """From ``Run`` to the end."""
    sources: dict[str, int]
    """Samples each source delivered."""
    renderers: dict[str, int]
    """Samples each renderer presented."""
    allocators: list[AllocatorReport]
    copies: dict[str, int]
    """Samples each filter copied (in-place filters given read-only samples, tee branches
    and queues whose downstream refused the upstream allocator, shmsink)."""
    events: list[str]
    """The graph's events, in order (an error's message included); from `run_graph`, each
    a `RunEvent` keeping the event's parameters (an error's exception)."""
    dropped: dict[str, int] = attrs.field(factory=dict)
    """Samples each filter that can drop dropped: renderers with ``sync`` (too late),
    leaky queues (full), and any other filter that dropped some (shmsink without a reader)."""
    late: dict[str, int] = attrs.field(factory=dict)
    """Samples each renderer with ``sync`` presented although they arrived late."""

    @property
    def succeeded(self) -> bool:
        """True when the graph completed."""
        return self.completion == EC_COMPLETE.name

    @property
    def samples(self) -> int:
        """Samples delivered by all sources."""
        return sum(self.sources.values())

    @property
    def errors(self) -> list[RunEvent]:
        """The events that carried an exception (EC_ERRORABORT from a filter), in order."""
        return [e for e in self.events if isinstance(e, RunEvent) and e.error is not None]

    def format(self) -> str:
        """The end-of-run table."""
        rate = self.samples / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.completion} after {self.seconds:.3f} s: {self.samples} samples from "
            f"{len(self.sources)} source(s), {rate:,.1f} samples/s",
        ]
        # The dropped and late columns appear when a filter of the graph can drop.
        losses = bool(self.dropped or self.late)

        def row(label: str, name: str, samples: str) -> tuple[str, ...]:
            cells = (label, samples, str(self.copies.get(name, 0)))
            if not losses:
                return cells
            dropped, late = self.dropped.get(name), self.late.get(name)
            return (
                *cells,
                "" if dropped is None else str(dropped),
                "" if late is None else str(late),
            )

        header = ("filter", "samples", "copies") + (("dropped", "late") if losses else ())
        rows: list[tuple[str, ...]] = [header]
        for name, count in self.sources.items():
            rows.append(row(f"{name} (source)", name, str(count)))
        for name, count in self.renderers.items():
            rows.append(row(f"{name} (renderer)", name, str(count)))
        others = [*self.copies, *(name for name in self.dropped if name not in self.copies)]
        for name in others:
            if name not in self.sources and name not in self.renderers:
                rows.append(row(name, name, ""))
        lines += _table(rows)
        if self.allocators:
            rows = [("allocator", "buffers", "made", "served", "reuse", "waits", "blocked")]
            for a in self.allocators:
                rows.append(
                    (
                        a.name,
                        f"{a.buffers} x {a.buffer_size:,} B",
                        str(a.made),
                        str(a.served),
                        f"{a.reuse:.1f}x",
                        str(a.waits),
                        f"{a.blocked_seconds * 1000:.1f} ms",
                    )
                )
            lines += _table(rows)
        lines.append("events: " + (", ".join(self.events) or "none"))
        return "\n".join(lines)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells).rstrip())
        if index == 0:
            out.append("  " + "  ".join("-" * width for width in widths))
    return out


def _upstream_first(graph: Any) -> list[Any]:
    """The graph's filters, each after every filter feeding it (sources first)."""
    filters = list(graph.EnumFilters())
    placed: list[Any] = []
    while len(placed) < len(filters):
        progress = False
        for filter in filters:
            if any(f is filter for f in placed):
                continue
            feeders = [
                pin.ConnectedTo().QueryPinInfo().filter
                for pin in filter.EnumPins()
                if pin.QueryDirection() is PinDirection.PINDIR_INPUT and is_connected(pin)
            ]
            if all(any(p is f for p in placed) for f in feeders):
                placed.append(filter)
                progress = True
        if not progress:  # a loop: keep the rest in graph order
            placed += [f for f in filters if not any(p is f for p in placed)]
    return placed


def _allocators(graph: Any) -> list[AllocatorReport]:
    found: dict[int, AllocatorReport] = {}
    for filter in _upstream_first(graph):
        for pin in filter.EnumPins():
            allocator = getattr(pin, "allocator", None)
            if allocator is None or id(allocator) in found or not hasattr(allocator, "served"):
                continue
            props = allocator.GetProperties()
            peer = pin.ConnectedTo() if pin.is_connected() else None
            name = pin_label(pin) + (f" -> {pin_label(peer)}" if peer is not None else "")
            found[id(allocator)] = AllocatorReport(
                name,
                getattr(pin, "allocator_origin", ""),
                props.buffers,
                props.buffer_size,
                allocator.made,
                allocator.served,
                allocator.waits,
                allocator.blocked_seconds,
            )
    return list(found.values())


def collect_report(
    graph: Any, *, completion: str, seconds: float, events: list[str] | None = None
) -> RunReport:
    """The report of a graph that ran (call it before the filters are reconnected)."""
    sources: dict[str, int] = {}
    renderers: dict[str, int] = {}
    copies: dict[str, int] = {}
    dropped: dict[str, int] = {}
    late: dict[str, int] = {}
    for filter in graph.EnumFilters():
        name = filter_label(filter)
        if is_source(filter):
            sources[name] = sum(getattr(pin, "delivered", 0) for pin in filter.EnumPins())
        renderer = bool(getattr(filter, "is_renderer", False))
        if renderer:
            renderers[name] = getattr(filter, "rendered", 0)
        count = getattr(filter, "copies", 0)
        if count:
            copies[name] = count
        syncing = renderer and getattr(filter, "sync", False) is True
        lost = getattr(filter, "dropped", 0)
        if isinstance(lost, int) and (lost or syncing or getattr(filter, "leaky", "no") != "no"):
            dropped[name] = lost
        if syncing:
            late[name] = getattr(filter, "late", 0)
    return RunReport(
        completion,
        seconds,
        sources,
        renderers,
        _allocators(graph),
        copies,
        events or [],
        dropped,
        late,
    )


def _expected(graph: Any) -> int | None:
    total = 0
    for filter in graph.EnumFilters():
        if is_source(filter):
            method = getattr(filter, "expected_samples", None)
            count = method() if method is not None else None
            if count is None:
                return None
            total += count
    return total or None


def _delivered(graph: Any) -> int:
    return sum(
        getattr(pin, "delivered", 0)
        for filter in graph.EnumFilters()
        if is_source(filter)
        for pin in filter.EnumPins()
    )


def _drain_events(graph: Any) -> list[str]:
    events: list[str] = []
    while True:
        try:
            code, param1, param2 = graph.GetEvent(0)
        except COMError:
            return events
        text = event_name(code)
        if code == EC_ERRORABORT:
            text += f" ({param2})" if param2 is not None else f" ({param1:#x})"
        events.append(RunEvent(text, code, param1, param2))


def run_graph(
    graph: Any,
    *,
    progress: bool = False,
    timeout: float | None = None,
    file: Any = None,
) -> RunReport:
    """Run ``graph`` to its end and stop it; see the module docstring.

    ``timeout`` (seconds) stops a graph that has not finished (completion ``"timeout"``).
    Ctrl-C (KeyboardInterrupt) stops the graph and ends with completion ``"interrupted"``.
    """
    bar = _progress_bar(_expected(graph), file) if progress else None
    began = time.perf_counter()
    completion = "timeout"
    try:
        graph.Run()
        while True:
            try:
                code = graph.WaitForCompletion(100)
            except AbortError:
                if bar is not None:
                    bar.n = _delivered(graph)
                    bar.refresh()
                if timeout is not None and time.perf_counter() - began > timeout:
                    break
                continue
            completion = event_name(code)
            break
    except KeyboardInterrupt:
        completion = "interrupted"
        graph.Notify(EC_USERABORT, 0, None)
    finally:
        seconds = time.perf_counter() - began
        graph.Stop()
        if bar is not None:
            bar.n = _delivered(graph)
            bar.refresh()
            bar.close()
    return collect_report(
        graph, completion=completion, seconds=seconds, events=_drain_events(graph)
    )


def _progress_bar(total: int | None, file: Any) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    # tqdm's monitor thread would outlive the run (it never stops): the bar is refreshed
    # here, so it is not needed.
    tqdm.monitor_interval = 0
    return tqdm(total=total, unit=" samples", file=file, dynamic_ncols=True, leave=True)
