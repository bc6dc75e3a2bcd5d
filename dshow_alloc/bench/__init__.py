"""``dshow-alloc bench``: how fast the per-sample path, a whole graph, the cross-process
path and real pixel work are here, with the peers to compare against.

The measurements live in this package's modules, which neither the core layers nor the
registered plugins import:

* `dshow_alloc.bench.core`: the per-sample path (``GetBuffer``/``Release``), a two-thread
  handoff, a whole graph and a live graph behind a leaky queue;
* `dshow_alloc.bench.ipc`: 1080p frames to another process, `dshow_alloc.ipc` against
  ``multiprocessing.Queue`` (``python -m dshow_alloc.bench.ipc [--quick]``);
* `dshow_alloc.bench.ray`: 1080p frames between two Ray actors' graphs, the ``ray`` extra
  (``python -m dshow_alloc.bench.ray [--quick]``);
* `dshow_alloc.bench.pixel`: ``videotestsrc ! invert ! nullsink`` against a bare numpy loop,
  the ``media`` extra;
* `dshow_alloc.bench.av`: a real H.264 file through a graph against a plain PyAV loop, the
  ``av`` extra;
* `dshow_alloc.bench.gst`: the GStreamer ``appsrc`` peer, run under the system's Python;
* `dshow_alloc.bench.demo`: the graph ``dshow-alloc demo`` runs.

`run_benchmarks` runs them all (each optional part only where its extra is installed) and
`format_table` prints them. Each figure is the best of several repeats (the least disturbed
run), as ``timeit`` advises. The optional parts are imported only when they run, so importing
this package needs neither numpy nor PyAV nor Ray.
"""

from __future__ import annotations

import sys

from dshow_alloc.bench.core import (
    LIVE,
    BenchResult,
    LiveRun,
    bench_bare_handoff,
    bench_bare_pool,
    bench_cycle,
    bench_get_release,
    bench_graph_chain,
    bench_handoff,
    bench_live_leaky,
)

__all__ = [
    "GST_PEER",
    "LIVE",
    "PIXEL_BARE",
    "PIXEL_COST",
    "PIXEL_PIPELINE",
    "BenchResult",
    "LiveRun",
    "bench_bare_handoff",
    "bench_bare_pool",
    "bench_cycle",
    "bench_get_release",
    "bench_graph_chain",
    "bench_handoff",
    "bench_live_leaky",
    "format_table",
    "run_benchmarks",
]

#: The name of the GStreamer peer's row.
GST_PEER = "GStreamer appsrc ! identity ! fakesink, pooled 64 B, Python thread"


def _live_rows(quick: bool) -> list[BenchResult]:
    run = bench_live_leaky(100 if quick else 600)
    return [
        BenchResult(f"{LIVE}: source frames", run.frames, "frames"),
        BenchResult(f"{LIVE}: rendered", run.rendered, "frames"),
        BenchResult(f"{LIVE}: dropped by the queue", run.dropped, "frames", "frames - rendered"),
        BenchResult(f"{LIVE}: latency, mean", run.mean_latency, "ms"),
        BenchResult(f"{LIVE}: latency, max", run.max_latency, "ms", "<= 40"),
    ]


def run_benchmarks(quick: bool = False) -> list[BenchResult]:
    """Run every benchmark; ``quick`` trades precision for time (for tests)."""
    from dshow_alloc.bench.gst import gst_peer_rate
    from dshow_alloc.bench.ipc import bench_queue, bench_shared_memory

    number, repeat, handoffs = (20_000, 3, 20_000) if quick else (200_000, 7, 200_000)
    shared = bench_shared_memory(quick=quick)
    queued = bench_queue(quick=quick)
    graph = bench_graph_chain(handoffs, min(repeat, 3))
    results = [
        BenchResult(
            "GetBuffer+SetTime+Release (uncontended)",
            bench_cycle(number, repeat),
            "ns/op",
            "<= 900",
        ),
        BenchResult("GetBuffer+Release (uncontended)", bench_get_release(number, repeat), "ns/op"),
        BenchResult("bare list pool pop+append (floor)", bench_bare_pool(number, repeat), "ns/op"),
        BenchResult(
            "two-thread handoff, pool of 4", bench_handoff(handoffs, min(repeat, 3)), "samples/s"
        ),
        BenchResult(
            "bare SimpleQueue handoff (floor)",
            bench_bare_handoff(handoffs, min(repeat, 3)),
            "items/s",
        ),
        BenchResult(
            "graph: source -> in-place -> null renderer, 64 B",
            graph,
            "samples/s",
            ">= 150000",
        ),
        BenchResult("1080p NV12 to another process, dshow_alloc.ipc", shared, "frames/s"),
        BenchResult("1080p NV12 to another process, mp.Queue", queued, "frames/s"),
        BenchResult("ratio of the two above (ipc / mp.Queue)", shared / queued, "x", ">= 30"),
    ]
    results += _live_rows(quick)
    results += _ray_rows(quick, queued)
    results += _pixel_pipeline(quick)
    results += _av_file(quick)
    # The peer to beat, where Debian's GStreamer and PyGObject are installed (.ci/run does).
    peer = gst_peer_rate(handoffs)
    if peer is not None:
        results += [
            BenchResult(GST_PEER, peer, "buffers/s"),
            BenchResult("ratio graph / GStreamer peer", graph / peer, "x", ">= 1"),
        ]
    return results


def _ray_rows(quick: bool, queued: float) -> list[BenchResult]:
    """1080p frames from one Ray actor's graph to another's (`dshow_alloc.bench.ray`; none
    without the ray extra)."""
    from dshow_alloc.bench.ray import ray_rows

    rows: list[BenchResult] = ray_rows(quick, queue_rate=queued)
    return rows


#: The names of the 1080p pixel-work rows.
PIXEL_PIPELINE = "1080p NV12 videotestsrc pattern=black ! invert ! nullsink"
PIXEL_BARE = "1080p NV12 bare numpy loop (fill black, invert in place)"
PIXEL_COST = "framework cost per 1080p frame (pipeline - bare loop)"


def _pixel_pipeline(quick: bool) -> list[BenchResult]:
    """The framework's cost on real pixel work, where numpy is installed (the media extra):
    the pipeline against a bare numpy loop doing the same work per frame."""
    try:
        from dshow_alloc.bench.pixel import bench_black_invert
    except ImportError:
        return []
    pipeline, bare = bench_black_invert(100 if quick else 1000, repeat=3 if quick else 5)
    return [
        BenchResult(PIXEL_PIPELINE, pipeline, "frames/s"),
        BenchResult(PIXEL_BARE, bare, "frames/s"),
        BenchResult("ratio of the two above (pipeline / bare)", pipeline / bare, "x", ">= 0.9"),
        # The time per frame the graph adds to the pixel work: samples, pins, the streaming
        # thread. A difference of two rates, so within the noise it may come out below 0
        # (videotestsrc copies a black frame made once where the loop fills one). The target
        # is the figure before the H.264 file rows were added: -14 to +12 us on the 2-core
        # build machine.
        BenchResult(PIXEL_COST, (1 / pipeline - 1 / bare) * 1e9, "ns/frame", "<= 15000"),
    ]


def _av_file(quick: bool) -> list[BenchResult]:
    """A real file through ``avsrc ! queue ! invert ! queue ! avsink`` against one plain
    PyAV loop doing the same work (`dshow_alloc.bench.av`); skipped, with a note on stderr,
    without Debian's ffmpeg (which makes the input) or PyAV."""
    from dshow_alloc.bench.av import (
        AV_LOOP,
        AV_LOOP_THREADED,
        AV_PIPELINE,
        AV_RATIO,
        AV_RATIO_THREADED,
        AVUnavailableError,
        bench_av,
    )

    try:
        measured = bench_av(60 if quick else 300, repeat=1 if quick else 3)
    except AVUnavailableError as exc:
        print(f"dshow-alloc bench: skipped the H.264 file rows: {exc}", file=sys.stderr)
        return []
    return [
        BenchResult(AV_PIPELINE, measured.pipeline.rate, "frames/s"),
        BenchResult(AV_LOOP, measured.loop.rate, "frames/s"),
        BenchResult(AV_RATIO, measured.ratio, "x", ">= 1.3"),
        BenchResult(AV_LOOP_THREADED, measured.threaded.rate, "frames/s"),
        BenchResult(AV_RATIO_THREADED, measured.threaded_ratio, "x"),
    ]


def format_table(results: list[BenchResult]) -> str:
    """The results as an aligned text table."""
    rows = [("benchmark", "result", "unit", "target")]
    for result in results:
        decimals = {"x": 2, "ms": 1}.get(result.unit, 0)
        figure = f"{result.value:,.{decimals}f}"
        rows.append((result.name, figure, result.unit, result.target))
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    lines = []
    for number, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.rjust(widths[col]) if col == 1 else cell.ljust(widths[col])
                for col, cell in enumerate(row)
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
