"""The ``dshow-alloc`` command."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

import pytest

from dshow_alloc.bench import GST_PEER
from dshow_alloc.bench_gst import gst_peer_report
from dshow_alloc.cli import main
from dshow_alloc.demo import run_demo

EXPECTED = [
    ("GetBuffer+SetTime+Release (uncontended)", "ns/op"),
    ("GetBuffer+Release (uncontended)", "ns/op"),
    ("bare list pool pop+append (floor)", "ns/op"),
    ("two-thread handoff, pool of 4", "samples/s"),
    ("bare SimpleQueue handoff (floor)", "items/s"),
    ("graph: source -> in-place -> null renderer, 64 B", "samples/s"),
    ("1080p NV12 to another process, dshow_alloc.ipc", "frames/s"),
    ("1080p NV12 to another process, mp.Queue", "frames/s"),
    ("ratio of the two above (ipc / mp.Queue)", "x"),
]
if gst_peer_report(100).get("error") is None:  # Debian's GStreamer is there (.ci/run installs it)
    EXPECTED += [(GST_PEER, "buffers/s"), ("ratio graph / GStreamer peer", "x")]


@pytest.mark.timeout(120)
def test_bench_json_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench --quick --json`` prints each benchmark once with a positive figure."""
    assert main(["bench", "--quick", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["unit"]) for r in results] == EXPECTED
    assert all(r["value"] > 0 for r in results)


@pytest.mark.timeout(120)
def test_bench_table(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench --quick`` prints a header, a rule and one row per benchmark."""
    assert main(["bench", "--quick"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["benchmark", "result", "unit", "target"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + len(EXPECTED)
    for line, (name, unit) in zip(lines[2:], EXPECTED, strict=True):
        assert line.startswith(name)
        assert unit in line.split()


def test_no_command_is_a_usage_error() -> None:
    """Without a sub-command the tool prints usage and exits with status 2."""
    done = subprocess.run(
        [sys.executable, "-m", "dshow_alloc.cli"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "usage: dshow-alloc" in done.stderr


def test_version() -> None:
    """``--version`` prints the package version."""
    done = subprocess.run(
        [sys.executable, "-m", "dshow_alloc.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == "dshow-alloc 0.1.0"


@pytest.mark.timeout(120)
def test_demo_runs_a_graph_to_completion(capsys: pytest.CaptureFixture[str]) -> None:
    """``demo`` runs the built-in graph to EC_COMPLETE with every frame on both branches."""
    assert main(["demo", "--frames", "40", "--width", "64", "--height", "48"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("completion: EC_COMPLETE in ")
    assert out[2] == "rendered: checksum 40, null 40"
    assert out[4] == "copies made by in-place filters: 0"
    assert out[-1] == "events: EC_COMPLETE"


def test_demo_checksum_is_the_frames_checksum() -> None:
    """The demo's checksum is the CRC-32 of the frames computed here without a graph."""
    width, height, frames = 16, 8, 5
    report = run_demo(frames=frames, width=width, height=height)
    row = bytes((x * 2) & 0xFF for x in range(width + height))
    luma = b"".join(row[y : y + width] for y in range(height))
    crc = 0
    for frame in range(frames):
        shift = frame % width
        y_plane = bytearray(luma[shift:] + luma[:shift])
        column = (frame * 4) % (width - 8)
        for y in range(0, height * width, width):
            y_plane[y + column : y + column + 8] = b"\xff" * 8
        crc = zlib.crc32(bytes(y_plane) + b"\x80" * (width * height // 2), crc)
    assert report.crc == crc
    assert report.rendered == {"checksum": frames, "null": frames}


def test_demo_rejects_odd_sizes() -> None:
    """An odd width is a usage error (status 2), not a crash."""
    with pytest.raises(SystemExit) as info:
        main(["demo", "--width", "33"])
    assert info.value.code == 2
