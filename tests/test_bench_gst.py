"""`dshow_alloc.bench.gst`: the GStreamer appsrc peer, run under the system's Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dshow_alloc.bench.gst import SYSTEM_PYTHON, gst_peer_rate, gst_peer_report


def _system_gst() -> bool:
    """Whether the system's Python can load Gst and GstApp."""
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstApp', '1.0');"
        " from gi.repository import Gst, GstApp"
    )
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-I", "-c", probe], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


needs_gst = pytest.mark.skipif(not _system_gst(), reason=f"{SYSTEM_PYTHON} cannot load Gst")


def test_missing_interpreter_gives_none(tmp_path: Path) -> None:
    """A python path that does not exist gives None, not an exception."""
    assert gst_peer_rate(100, python=str(tmp_path / "no-such-python")) is None


def test_interpreter_without_gi_gives_none() -> None:
    """The venv's own python, which has no gi, gives None and a report saying it is unavailable."""
    assert gst_peer_rate(100, python=sys.executable) is None
    report = gst_peer_report(100, python=sys.executable)
    assert report["unavailable"] is True
    assert "gi" in report["error"]


@pytest.mark.parametrize("count", [0, -1, True, 1.5])
def test_bad_count_raises(count: object) -> None:
    """A count that is not a positive int is the caller's mistake and raises."""
    with pytest.raises((TypeError, ValueError)):
        gst_peer_rate(count, python=sys.executable)  # type: ignore[arg-type]


@needs_gst
@pytest.mark.timeout(120)
def test_small_run_gives_positive_rate() -> None:
    """A 2000-buffer run under the system's Python gives a positive float."""
    rate = gst_peer_rate(2000)
    assert isinstance(rate, float)
    assert rate > 0


@needs_gst
@pytest.mark.timeout(120)
def test_report_of_emit_run() -> None:
    """The report of a run through the push-buffer signal names its method and GStreamer."""
    report = gst_peer_report(2000, method="emit")
    assert "error" not in report, report
    assert report["method"] == "emit"
    assert report["count"] == 2000
    assert report["gst_version"].startswith("1.")
