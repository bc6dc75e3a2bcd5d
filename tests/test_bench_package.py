"""`dshow_alloc.bench`: the benchmarks live in their own package, apart from the core layers
and the registered plugins."""

from __future__ import annotations

import subprocess
import sys

import pytest

import dshow_alloc.plugins.effects as effects


def test_effects_plugin_carries_no_benchmark_code() -> None:
    """The registered ``effects`` plugin exports only its two filters."""
    assert effects.__all__ == ["Gain", "Invert"]
    assert not hasattr(effects, "bench_black_invert")
    assert not hasattr(effects, "_TimedNullSink")


@pytest.mark.timeout(60)
def test_importing_the_package_loads_no_extra() -> None:
    """Importing `dshow_alloc.bench` (and its core and demo modules) imports none of numpy,
    PyAV, Ray or the GStreamer bindings, nor the optional benchmark modules."""
    probe = (
        "import sys, dshow_alloc.bench, dshow_alloc.bench.core, dshow_alloc.bench.demo;"
        " print(sorted(m for m in ('numpy', 'av', 'ray', 'gi', 'dshow_alloc.bench.pixel',"
        " 'dshow_alloc.bench.av', 'dshow_alloc.bench.ray', 'dshow_alloc.bench.gst')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=50, check=True
    )
    assert done.stdout.strip() == "[]"


def test_bench_black_invert_runs() -> None:
    """The pixel benchmark runs both loops on small frames and returns two positive rates
    (no speed is asserted); fewer than two frames is a ValueError."""
    pytest.importorskip("numpy")
    from dshow_alloc.bench.pixel import bench_black_invert

    pipeline, bare = bench_black_invert(4, 16, 8, repeat=1)
    assert pipeline > 0 and bare > 0
    with pytest.raises(ValueError):
        bench_black_invert(1)
    with pytest.raises(ValueError):
        bench_black_invert(4, repeat=0)


def test_old_module_names_are_gone() -> None:
    """The benchmark modules and the demo live only in the package: the flat
    ``dshow_alloc.bench_*`` and ``dshow_alloc.demo`` modules no longer exist."""
    import importlib.util

    for name in ("bench_av", "bench_gst", "bench_ipc", "bench_ray", "demo"):
        assert importlib.util.find_spec(f"dshow_alloc.{name}") is None, name
