"""Running graphs to the end (`run_graph`, `RunReport`), allocator statistics, allocator
origins on output pins, and the Graphviz drawing of a graph (`graph_to_dot`, `render`).

``testsrc`` makes ``num-buffers`` I420 64x48 frames (endless at -1; ``fail-at`` makes
``FillBuffer`` raise), ``testsink`` presents them, ``scribble`` writes into each sample in
place (so behind a tee it has to copy).
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from dshow_alloc import (
    AM_GBF_NOWAIT,
    AllocatorProperties,
    FilterGraph,
    FilterState,
    MediaType,
    MemAllocator,
    NullRenderer,
    VfwTimeoutError,
)
from dshow_alloc.caps import caps_of
from dshow_alloc.dot import graph_to_dot, render
from dshow_alloc.filters import (
    RendererFilter,
    SourceFilter,
    TransInPlaceFilter,
    size_allocator,
)
from dshow_alloc.launch import Pipeline, parse_launch
from dshow_alloc.registry import Element, PinTemplate, prop, register_filter, unregister_filter
from dshow_alloc.report import AllocatorReport, RunReport, event_name, run_graph
from dshow_alloc.structs import EC_COMPLETE, EC_ERRORABORT, PinDirection
from dshow_alloc.testing.graph import wait_until
from dshow_alloc.video import video_type

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT
FRAME = 64 * 48 * 3 // 2
"""Bytes of an I420 64x48 frame."""


@attrs.define
class _SourceProperties:
    num_buffers: int = prop(-1, kind=int, minimum=-1, doc="frames to make (-1: endless)")
    fail_at: int = prop(-1, kind=int, doc="FillBuffer raises at this frame (-1: never)")


class TestSource(SourceFilter, Element):
    """``testsrc``: I420 64x48 at 30 fps; ``num-buffers`` frames then the end."""

    __test__ = False
    Properties = _SourceProperties
    description = "A source for report tests"
    pin_templates = (PinTemplate("Output", _OUT, "video/x-raw,format=I420"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        media_type = video_type("I420", 64, 48, avg_time_per_frame=333333)
        super().__init__(name=name, media_type=media_type, buffers=2)
        self.count = 0

    def expected_samples(self) -> int | None:
        """``num-buffers`` unless endless."""
        return self.props.num_buffers if self.props.num_buffers >= 0 else None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Two frames."""
        size_allocator(allocator, request, buffers=2, buffer_size=FRAME)

    def FillBuffer(self, sample: Any) -> bool:
        """Frame ``count``; raises at ``fail-at``."""
        if self.count == self.props.fail_at:
            raise RuntimeError(f"frame {self.count} failed")
        if 0 <= self.props.num_buffers <= self.count:
            return False
        sample.SetTime(self.count * 333333, (self.count + 1) * 333333)
        self.count += 1
        return True


class TestSink(RendererFilter, Element):
    """``testsink``: presents I420 frames at once."""

    __test__ = False
    description = "A sink for report tests"
    pin_templates = (PinTemplate("In", _IN, "video/x-raw,format=I420"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=False)

    def DoRenderSample(self, sample: Any) -> None:
        """Nothing."""


class Scribble(TransInPlaceFilter, Element):
    """``scribble``: writes the first byte of each sample in place."""

    description = "Writes in place"
    pin_templates = (PinTemplate("Input", _IN, "ANY"), PinTemplate("Output", _OUT, "ANY"))

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)

    def Transform(self, sample: Any) -> None:
        """Write byte 0."""
        sample.GetPointer()[0] = 1


class RefusesOwnAllocator(NullRenderer):
    """A renderer whose input pin will not take the allocator it offered itself, so the
    output pin makes one (``InitAllocator``)."""

    def accept_allocator(self, pin: Any, allocator: Any, read_only: bool) -> None:
        """Refuse the pin's own allocator."""
        if allocator is pin.peek_allocator():
            raise ValueError("not that one")


class Proposer(NullRenderer):
    """A renderer that proposes its own pool of three samples."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.pool = MemAllocator(name="sink-pool")

    def propose_allocation(self, pin: Any, query: Any) -> None:
        """Offer ``pool``."""
        query.add_pool(self.pool, FRAME, 3)


@pytest.fixture(autouse=True)
def test_filters() -> Iterator[None]:
    """``testsrc``, ``testsink`` and ``scribble`` registered for each test."""
    register_filter("testsrc", TestSource)
    register_filter("testsink", TestSink)
    register_filter("scribble", Scribble)
    yield
    for name in ("testsrc", "testsink", "scribble"):
        unregister_filter(name)


@pytest.fixture
def graph() -> Iterator[FilterGraph]:
    """A graph without a clock, stopped at the end."""
    with FilterGraph(clock=None) as graph:
        yield graph


TEE_LINE = "testsrc num-buffers=5 ! tee name=t  t. ! queue ! scribble ! testsink  t. ! nullsink"


# -- run_graph -------------------------------------------------------------------------------


def test_simple_chain_report(graph: FilterGraph) -> None:
    """A finite chain completes; counts, the allocator's numbers and the events are exact
    (``served`` counts every GetBuffer: the 5 frames and the one whose FillBuffer ended)."""
    parse_launch("testsrc num-buffers=5 ! testsink", graph)
    report = run_graph(graph)
    assert report.completion == "EC_COMPLETE"
    assert report.succeeded is True
    assert report.sources == {"testsrc0": 5}
    assert report.renderers == {"testsink0": 5}
    assert report.samples == 5
    assert report.copies == {}
    assert report.events == ["EC_COMPLETE"]
    assert report.allocators == [
        AllocatorReport(
            "testsrc0.Output -> testsink0.In", "provided by testsink0.In", 2, FRAME, 2, 6, 0, 0.0
        )
    ]
    assert report.allocators[0].reuse == 3.0
    assert report.seconds > 0
    assert graph.GetState(0) is FilterState.State_Stopped


def test_tee_and_in_place_copies_are_counted(graph: FilterGraph) -> None:
    """An in-place filter behind a tee copies each read-only sample; the report counts the
    copies and both allocators (the shared one and the copy's)."""
    parse_launch(TEE_LINE, graph)
    report = run_graph(graph)
    assert report.completion == "EC_COMPLETE"
    assert report.sources == {"testsrc0": 5}
    assert report.renderers == {"testsink0": 5, "nullsink0": 5}
    assert report.copies == {"scribble0": 5}
    # The queue asks for 16 samples (its max-size), which the tee passes upstream.
    assert report.allocators == [
        AllocatorReport(
            "testsrc0.Output -> t.Input", "provided by t.Input", 16, FRAME, 16, 6, 0, 0.0
        ),
        AllocatorReport(
            "scribble0.Output -> testsink0.In",
            "provided by testsink0.In",
            1,
            FRAME,
            1,
            5,
            0,
            0.0,
        ),
    ]


def test_tee_without_queue_reports_two_buffers(graph: FilterGraph) -> None:
    """Without a queue the shared allocator keeps the source's two samples."""
    parse_launch("testsrc num-buffers=5 ! tee name=t t. ! scribble ! testsink t. ! nullsink", graph)
    report = run_graph(graph)
    assert report.copies == {"scribble0": 5}
    assert [(a.buffers, a.made, a.served) for a in report.allocators] == [(2, 2, 6), (1, 1, 5)]


def test_allocator_is_named_after_its_upstream_user(graph: FilterGraph) -> None:
    """An allocator passed through a tee and a queue is named after the source's link,
    whatever order the line was written in."""
    parse_launch("t. ! queue ! nullsink  testsrc num-buffers=3 ! tee name=t", graph)
    report = run_graph(graph)
    assert report.allocators == [
        AllocatorReport(
            "testsrc0.Output -> t.Input", "provided by t.Input", 16, FRAME, 16, 4, 0, 0.0
        )
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "scribble name=s ! testsink  testsrc num-buffers=3 ! s.",
            AllocatorReport(
                "testsrc0.Output -> s.Input", "provided by s.Input", 2, FRAME, 2, 4, 0, 0.0
            ),
        ),
        (
            "testsink name=k  queue name=q ! k.  testsrc num-buffers=3 ! q.",
            AllocatorReport(
                "testsrc0.Output -> q.Input", "provided by q.Input", 16, FRAME, 16, 4, 0, 0.0
            ),
        ),
    ],
)
def test_allocator_named_upstream_first_in_a_line_written_backwards(
    graph: FilterGraph, line: str, expected: AllocatorReport
) -> None:
    """A chain written downstream first still names its one allocator after the source's
    link; served is the 3 frames plus the GetBuffer whose FillBuffer ended the stream."""
    parse_launch(line, graph)
    report = run_graph(graph)
    assert report.allocators == [expected]


def test_timeout_stops_an_endless_graph(graph: FilterGraph) -> None:
    """An endless source ends by the time limit: completion "timeout", the graph stopped,
    its streaming thread joined, every presented sample counted on both ends."""
    pipeline = parse_launch("testsrc ! testsink", graph)
    report = run_graph(graph, timeout=0.2)
    assert report.completion == "timeout"
    assert report.succeeded is False
    assert report.events == []
    assert graph.GetState(0) is FilterState.State_Stopped
    assert all(f.state is FilterState.State_Stopped for f in graph.EnumFilters())
    source = pipeline.filters["testsrc0"]
    assert source.output._thread is None
    assert not any(t.name == "testsrc0.Output streaming" for t in threading.enumerate())
    assert report.sources["testsrc0"] > 0
    assert report.renderers["testsink0"] == report.sources["testsrc0"]


def test_fill_buffer_error_aborts_with_its_message(graph: FilterGraph) -> None:
    """A source whose FillBuffer raises ends the run with EC_ERRORABORT and the error's
    text in the events; the samples before it were delivered."""
    parse_launch("testsrc fail-at=2 ! testsink", graph)
    report = run_graph(graph)
    assert report.completion == "EC_ERRORABORT"
    assert report.succeeded is False
    assert report.events[0] == "EC_ERRORABORT (frame 2 failed)"
    # End of stream still follows the error; it may arrive before or after the stop.
    assert report.events[1:] in ([], ["EC_COMPLETE"])
    assert report.sources == {"testsrc0": 2}
    assert report.renderers == {"testsink0": 2}


def test_ctrl_c_stops_the_graph(graph: FilterGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    """KeyboardInterrupt while waiting stops the graph: completion "interrupted", and the
    graph got EC_USERABORT."""
    parse_launch("testsrc ! testsink", graph)

    def interrupted(timeout_ms: int) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(graph, "WaitForCompletion", interrupted)
    report = run_graph(graph)
    assert report.completion == "interrupted"
    assert report.events == ["EC_USERABORT"]
    assert graph.GetState(0) is FilterState.State_Stopped


def test_progress_bar_leaves_no_thread_running(graph: FilterGraph) -> None:
    """run_graph with a progress bar starts no tqdm monitor thread: none is left when it
    returns (the bar is refreshed by run_graph itself)."""
    from tqdm import tqdm

    before = set(threading.enumerate())
    parse_launch("testsrc num-buffers=2 ! testsink", graph)
    report = run_graph(graph, progress=True, file=io.StringIO())
    assert report.succeeded
    assert [t.name for t in threading.enumerate() if t not in before and t.is_alive()] == []
    assert tqdm.monitor is None
    assert tqdm.monitor_interval == 0


def test_progress_bar_is_drawn_to_the_file(graph: FilterGraph) -> None:
    """progress=True draws a tqdm bar to ``file`` whose total is the sources' expected
    samples."""
    parse_launch("testsrc num-buffers=4 ! testsink", graph)
    out = io.StringIO()
    report = run_graph(graph, progress=True, file=out)
    assert report.succeeded
    text = out.getvalue()
    assert "4/4" in text
    assert "100%" in text
    assert " samples/s" in text


def test_progress_bar_without_a_total(graph: FilterGraph) -> None:
    """A source that cannot say how many samples it makes gives a bar without a total."""
    parse_launch("testsrc ! testsink", graph)
    out = io.StringIO()
    run_graph(graph, progress=True, timeout=0.15, file=out)
    text = out.getvalue()
    assert " samples" in text
    assert "%" not in text


def test_no_progress_bar_by_default(graph: FilterGraph) -> None:
    """Without progress=True nothing is written."""
    parse_launch("testsrc num-buffers=2 ! testsink", graph)
    out = io.StringIO()
    run_graph(graph, file=out)
    assert out.getvalue() == ""


# -- RunReport -------------------------------------------------------------------------------


def test_format_is_the_end_of_run_table() -> None:
    """format() gives the header line, the filter table, the allocator table and events."""
    report = RunReport(
        "EC_COMPLETE",
        0.5,
        {"src": 10},
        {"sink": 10},
        [AllocatorReport("src.Output -> sink.In", "provided by sink.In", 4, 4608, 4, 11, 2, 0.25)],
        {"inplace": 3},
        ["EC_COMPLETE"],
    )
    assert report.format() == "\n".join(
        [
            "EC_COMPLETE after 0.500 s: 10 samples from 1 source(s), 20.0 samples/s",
            "  filter           samples  copies",
            "  ---------------  -------  ------",
            "  src (source)          10       0",
            "  sink (renderer)       10       0",
            "  inplace                        3",
            "  allocator                  buffers  made  served  reuse  waits   blocked",
            "  ---------------------  -----------  ----  ------  -----  -----  --------",
            "  src.Output -> sink.In  4 x 4,608 B     4      11   2.8x      2  250.0 ms",
            "events: EC_COMPLETE",
        ]
    )


def test_format_without_allocators_or_events() -> None:
    """A report with no allocator has no allocator table, and says "events: none"."""
    report = RunReport("timeout", 0.0, {}, {}, [], {}, [])
    assert report.format() == "\n".join(
        [
            "timeout after 0.000 s: 0 samples from 0 source(s), 0.0 samples/s",
            "  filter  samples  copies",
            "  ------  -------  ------",
            "events: none",
        ]
    )
    assert report.samples == 0
    assert report.succeeded is False


def test_format_of_a_real_run(graph: FilterGraph) -> None:
    """A run's table has its header line and one row per source, renderer and allocator."""
    parse_launch("testsrc num-buffers=5 ! testsink", graph)
    lines = run_graph(graph).format().splitlines()
    assert lines[0].startswith("EC_COMPLETE after ")
    assert "s: 5 samples from 1 source(s), " in lines[0]
    assert lines[1].split() == ["filter", "samples", "copies"]
    assert lines[3].split() == ["testsrc0", "(source)", "5", "0"]
    assert lines[4].split() == ["testsink0", "(renderer)", "5", "0"]
    assert lines[5].split() == [
        "allocator",
        "buffers",
        "made",
        "served",
        "reuse",
        "waits",
        "blocked",
    ]
    assert lines[7].split()[:11] == [
        "testsrc0.Output",
        "->",
        "testsink0.In",
        "2",
        "x",
        "4,608",
        "B",
        "2",
        "6",
        "3.0x",
        "0",
    ]
    assert lines[-1] == "events: EC_COMPLETE"


def test_allocator_report_reuse() -> None:
    """reuse is served per made, 0 when nothing was made."""
    assert AllocatorReport("a", "", 2, 8, 2, 5, 0, 0.0).reuse == 2.5
    assert AllocatorReport("a", "", 0, 0, 0, 0, 0, 0.0).reuse == 0.0


def test_event_name() -> None:
    """Known event codes are named, others given in hex."""
    assert event_name(EC_COMPLETE) == "EC_COMPLETE"
    assert event_name(EC_ERRORABORT) == "EC_ERRORABORT"
    assert event_name(0x9999) == "0x9999"


# -- allocator statistics --------------------------------------------------------------------


@pytest.fixture
def allocator() -> Iterator[MemAllocator]:
    """A fresh allocator, decommitted at the end."""
    allocator = MemAllocator(name="stats")
    yield allocator
    allocator.Decommit()


def test_fresh_allocator_statistics_are_zero(allocator: MemAllocator) -> None:
    """A new allocator has made, served and waited nothing."""
    assert (allocator.made, allocator.served, allocator.waits) == (0, 0, 0)
    assert allocator.blocked_seconds == 0.0


def test_made_and_served(allocator: MemAllocator) -> None:
    """Commit makes ``buffers`` samples; every GetBuffer counts as served; a second commit
    after a completed decommit makes a new set."""
    allocator.SetProperties(AllocatorProperties(2, 64, 1))
    allocator.Commit()
    assert allocator.made == 2
    for _ in range(3):
        first = allocator.GetBuffer()
        second = allocator.GetBuffer()
        first.Release()
        second.Release()
    assert (allocator.made, allocator.served, allocator.waits) == (2, 6, 0)
    allocator.Decommit()
    allocator.Commit()
    allocator.GetBuffer().Release()
    assert (allocator.made, allocator.served) == (4, 7)


def test_nowait_failure_is_neither_served_nor_a_wait(allocator: MemAllocator) -> None:
    """A GetBuffer with AM_GBF_NOWAIT that finds none serves nothing and does not wait."""
    allocator.SetProperties(AllocatorProperties(1, 64, 1))
    allocator.Commit()
    held = allocator.GetBuffer()
    with pytest.raises(VfwTimeoutError):
        allocator.GetBuffer(flags=AM_GBF_NOWAIT)
    held.Release()
    assert (allocator.made, allocator.served, allocator.waits) == (1, 1, 0)
    assert allocator.blocked_seconds == 0.0


def test_timed_out_wait_counts_as_a_wait(allocator: MemAllocator) -> None:
    """A GetBuffer that waits and times out counts one wait and its blocked time."""
    allocator.SetProperties(AllocatorProperties(1, 64, 1))
    allocator.Commit()
    held = allocator.GetBuffer()
    with pytest.raises(VfwTimeoutError):
        allocator.GetBuffer(timeout=0.01)
    held.Release()
    assert (allocator.served, allocator.waits) == (1, 1)
    assert allocator.blocked_seconds > 0


def test_blocked_get_buffer_counts_one_wait(allocator: MemAllocator) -> None:
    """A GetBuffer blocked in another thread until a release counts one wait, some blocked
    time, and one more served sample."""
    allocator.SetProperties(AllocatorProperties(1, 64, 1))
    allocator.Commit()
    held = allocator.GetBuffer()
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(allocator.GetBuffer()))
    thread.start()
    wait_until(lambda: allocator.waits == 1)
    held.Release()
    thread.join(10)
    assert not thread.is_alive()
    assert len(got) == 1
    got[0].Release()
    assert (allocator.made, allocator.served, allocator.waits) == (1, 2, 1)
    assert allocator.blocked_seconds > 0


def test_growing_pool_counts_each_sample_made(allocator: MemAllocator) -> None:
    """A pool allowed to grow counts the samples it adds on demand."""
    from dshow_alloc.pool import PoolConfig

    allocator.SetConfig(PoolConfig(64, min_buffers=1, max_buffers=3))
    allocator.Commit()
    assert allocator.made == 1
    samples = [allocator.GetBuffer() for _ in range(3)]
    assert (allocator.made, allocator.served, allocator.waits) == (3, 3, 0)
    for sample in samples:
        sample.Release()


# -- allocator origins -------------------------------------------------------------------------


def _connect(graph: FilterGraph, sink: Any) -> Any:
    source = TestSource(name="src", num_buffers=3)
    graph.connect_chain(source, sink)
    return source


def test_origin_provided_by_the_input_pin(graph: FilterGraph) -> None:
    """The input pin's GetAllocator gives "provided by" it; disconnecting clears it."""
    source = _connect(graph, TestSink(name="sink"))
    assert source.output.allocator_origin == "provided by sink.In"
    graph.Disconnect(source.output)
    assert source.output.allocator_origin == ""


def test_origin_made_by_the_output_pin(graph: FilterGraph) -> None:
    """When the input refuses its own allocator, the output's InitAllocator "made" it."""
    source = _connect(graph, RefusesOwnAllocator(name="sink"))
    assert source.output.allocator_origin == "made by src.Output"
    assert source.output.allocator.name == "src.Output"
    report = run_graph(graph)
    assert [(a.origin, a.made, a.served) for a in report.allocators] == [
        ("made by src.Output", 2, 4)
    ]


def test_origin_proposed_by_the_input_pin(graph: FilterGraph) -> None:
    """A pool from the input's allocation proposal is "proposed by" it."""
    sink = Proposer(name="sink")
    source = _connect(graph, sink)
    assert source.output.allocator_origin == "proposed by sink.In"
    assert source.output.allocator is sink.pool
    report = run_graph(graph)
    assert [(a.origin, a.buffers, a.made, a.served) for a in report.allocators] == [
        ("proposed by sink.In", 3, 3, 4)
    ]


def test_origins_through_a_tee_and_a_queue(graph: FilterGraph) -> None:
    """Tee branches share the tee input's allocator read-only; a queue passes it on."""
    pipeline = parse_launch(TEE_LINE, graph)
    f = pipeline.filters
    assert f["testsrc0"].output.allocator_origin == "provided by t.Input"
    assert f["t"].FindPin("Output1").allocator_origin == "shared read-only from t.Input"
    assert f["t"].FindPin("Output2").allocator_origin == "shared read-only from t.Input"
    assert f["queue0"].output.allocator_origin == "passed through from t.Output1"
    assert f["scribble0"].output.allocator_origin == "provided by testsink0.In"


# -- dot ---------------------------------------------------------------------------------------


def _dot_of(pipeline: Pipeline) -> str:
    return graph_to_dot(pipeline.graph)


def test_dot_names_every_filter_and_pin(graph: FilterGraph) -> None:
    """Every filter is a cluster labelled with its name and class, every pin a node."""
    pipeline = parse_launch(TEE_LINE, graph)
    dot = _dot_of(pipeline)
    assert dot.startswith("digraph dshow_alloc {\n")
    assert dot.endswith("}\n")
    for name, filter in pipeline.filters.items():
        assert f'label="{name}\\n{type(filter).__name__}";' in dot
        for pin in filter.EnumPins():
            assert f'[label="{pin.QueryId()}", ' in dot
    assert dot.count("subgraph cluster_") == 6
    assert dot.count(" -> ") == 5


def test_dot_edges_carry_caps_allocator_origin_and_access(graph: FilterGraph) -> None:
    """Each edge shows the connection's caps, its allocator's size and origin, and whether
    samples arrive read-only."""
    pipeline = parse_launch(TEE_LINE, graph)
    dot = _dot_of(pipeline)
    media_type = pipeline.filters["testsrc0"].output.ConnectionMediaType()
    caps = caps_of(media_type).replace(",", "\\n  ", 1)
    assert caps == "video/x-raw\\n  format=I420,width=64,height=48,framerate=30/1"
    edges = [line for line in dot.splitlines() if " -> " in line]
    assert all(caps in edge for edge in edges)
    shared = f"MemAllocator t.Input\\n16 x {FRAME} B, align 1, prefix 0"
    assert edges == [
        f'  f0p0 -> f1p0 [label="{caps}\\n{shared}\\nprovided by t.Input\\nwritable"];',
        f'  f1p1 -> f2p0 [label="{caps}\\n{shared}\\nshared read-only from t.Input\\nread-only"];',
        f'  f1p2 -> f5p0 [label="{caps}\\n{shared}\\nshared read-only from t.Input\\nread-only"];',
        f'  f2p1 -> f3p0 [label="{caps}\\n{shared}\\npassed through from t.Output1\\nread-only"];',
        f'  f3p1 -> f4p0 [label="{caps}\\nMemAllocator testsink0.In\\n1 x {FRAME} B, '
        'align 1, prefix 0\\nprovided by testsink0.In\\nwritable"];',
    ]


def test_dot_shows_made_by(graph: FilterGraph) -> None:
    """An allocator the output pin made says so on its edge."""
    _connect(graph, RefusesOwnAllocator(name="sink"))
    dot = graph_to_dot(graph)
    assert "MemAllocator src.Output\\n2 x 4608 B, align 1, prefix 0\\nmade by src.Output" in dot


def test_dot_title_and_quoting(graph: FilterGraph) -> None:
    """A title becomes the graph label; quotes and backslashes in names are escaped."""
    graph.AddFilter(TestSink(), 'say "hi" \\ bye')
    dot = graph_to_dot(graph, title='my "graph"')
    assert '  label="my \\"graph\\""; labelloc=t;' in dot
    assert 'label="say \\"hi\\" \\\\ bye\\nTestSink";' in dot
    assert " -> " not in dot


def test_render_dot_writes_the_text(tmp_path: Path) -> None:
    """A .dot or .gv path gets the DOT text as it is."""
    text = "digraph x { a -> b; }\n"
    assert render(text, tmp_path / "g.dot") == tmp_path / "g.dot"
    assert (tmp_path / "g.dot").read_text() == text
    render(text, str(tmp_path / "g.GV"))
    assert (tmp_path / "g.GV").read_text() == text


def test_render_needs_a_suffix(tmp_path: Path) -> None:
    """A path without a suffix is a ValueError."""
    with pytest.raises(ValueError, match="give a suffix"):
        render("digraph x {}", tmp_path / "graph")
    assert not (tmp_path / "graph").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_svg_of_a_graph(graph: FilterGraph, tmp_path: Path) -> None:
    """Graphviz turns a graph's DOT text into an SVG naming its filters."""
    pipeline = parse_launch(TEE_LINE, graph)
    path = render(_dot_of(pipeline), tmp_path / "graph.svg")
    svg = path.read_text()
    assert "<svg" in svg
    assert "scribble0" in svg
    assert "shared read&#45;only from t.Input" in svg


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_unknown_format_is_a_runtime_error(tmp_path: Path) -> None:
    """A suffix Graphviz does not know fails with dot's message."""
    with pytest.raises(RuntimeError, match="dot -Tnotaformat failed"):
        render("digraph x {}", tmp_path / "g.notaformat")


def test_render_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Graphviz's dot, an image is a FileNotFoundError that says what to install."""
    monkeypatch.setattr("dshow_alloc.dot.shutil.which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="apt-get install graphviz"):
        render("digraph x {}", tmp_path / "g.png")


def test_media_type_used_in_dot_is_the_connection_type(graph: FilterGraph) -> None:
    """The caps on an edge are those of the pin's connection media type."""
    _connect(graph, TestSink(name="sink"))
    mt: MediaType = graph.FindFilterByName("src").output.ConnectionMediaType()
    assert caps_of(mt).split(",", 1)[1] in graph_to_dot(graph)
