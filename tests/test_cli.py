"""The ``dshow-alloc`` command."""

from __future__ import annotations

import html
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dshow_alloc.bench import GST_PEER, LIVE, PIXEL_BARE, PIXEL_COST, PIXEL_PIPELINE
from dshow_alloc.bench.av import AV_LOOP, AV_LOOP_THREADED, AV_PIPELINE, AV_RATIO, AV_RATIO_THREADED
from dshow_alloc.bench.demo import DEFAULT_OUTPUT
from dshow_alloc.bench.gst import gst_peer_report
from dshow_alloc.bench.ray import CALL_ROW, FRAME_ROW, PUT_ROW, RATIO_ROW, RAY_ROW, SHM_ROW
from dshow_alloc.cli import main

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
    (f"{LIVE}: source frames", "frames"),
    (f"{LIVE}: rendered", "frames"),
    (f"{LIVE}: dropped by the queue", "frames"),
    (f"{LIVE}: latency, mean", "ms"),
    (f"{LIVE}: latency, max", "ms"),
    (RAY_ROW, "frames/s"),
    (SHM_ROW, "frames/s"),
    (RATIO_ROW, "x"),
    (PUT_ROW, "us"),
    (CALL_ROW, "us"),
    (FRAME_ROW, "us"),
    (PIXEL_PIPELINE, "frames/s"),
    (PIXEL_BARE, "frames/s"),
    ("ratio of the two above (pipeline / bare)", "x"),
    (PIXEL_COST, "ns/frame"),
]
if shutil.which("ffmpeg") is not None:
    EXPECTED += [
        (AV_PIPELINE, "frames/s"),
        (AV_LOOP, "frames/s"),
        (AV_RATIO, "x"),
        (AV_LOOP_THREADED, "frames/s"),
        (AV_RATIO_THREADED, "x"),
    ]
if gst_peer_report(100).get("error") is None:  # Debian's GStreamer is there (.ci/run installs it)
    EXPECTED += [(GST_PEER, "buffers/s"), ("ratio graph / GStreamer peer", "x")]


@pytest.mark.timeout(120)
def test_bench_json_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench --quick --json`` prints each benchmark once with a positive figure."""
    assert main(["bench", "--quick", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["unit"]) for r in results] == EXPECTED
    assert all(r["value"] > 0 for r in results if r["name"] != PIXEL_COST)


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


_FFPROBE = shutil.which("ffprobe")


def _probe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            _FFPROBE or "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=width,height,pix_fmt,nb_read_frames,r_frame_rate",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    stream: dict[str, Any] = json.loads(done.stdout)["streams"][0]
    return stream


@pytest.mark.timeout(120)
def test_demo_writes_a_video_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo -o`` writes the frames as a Y4M file and prints the run table."""
    out = tmp_path / "demo.y4m"
    argv = ["demo", "-q", "--frames", "12", "--width", "64", "--height", "48", "-o", str(out)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dshow-alloc launch 'videotestsrc pattern=ball num-buffers=12 ")
    assert lines[1].startswith("EC_COMPLETE after ")
    assert " 12 samples from 1 source(s), " in lines[1]
    table = "\n".join(lines)
    assert re.search(r"videotestsrc0 \(source\)\s+12\s+0", table)
    assert re.search(r"y4msink0 \(renderer\)\s+12\s+0", table)
    assert re.search(r"nullsink0 \(renderer\)\s+12\s+0", table)
    assert re.search(r"^  invert0\s+12$", table, re.MULTILINE)  # read-only tee samples copied
    assert lines[-2] == "events: EC_COMPLETE"
    assert lines[-1] == (
        f"wrote {out} (12 frames, video/x-raw,format=I420,width=64,height=48,framerate=30/1)"
        " - play it with ffplay, mpv or VLC"
    )
    frame = 64 * 48 * 3 // 2
    header = b"YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n"
    assert out.stat().st_size == len(header) + 12 * (len(b"FRAME\n") + frame)
    if _FFPROBE:
        stream = _probe(out)
        assert (stream["width"], stream["height"], stream["nb_read_frames"]) == (64, 48, "12")
        assert stream["r_frame_rate"] == "30/1"


def test_demo_default_output_is_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``-o`` the demo writes dshow-alloc-demo.y4m where it runs."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q", "--frames", "3", "--width", "32", "--height", "16"]) == 0
    assert (tmp_path / DEFAULT_OUTPUT).stat().st_size > 3 * 32 * 16 * 3 // 2


def test_demo_rejects_odd_sizes() -> None:
    """An odd width is a usage error (status 2), not a crash."""
    with pytest.raises(SystemExit) as info:
        main(["demo", "--width", "33"])
    assert info.value.code == 2


def test_demo_to_a_missing_directory_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A location that cannot be written is exit status 1 with the reason, and no file."""
    out = tmp_path / "no such dir" / "demo.y4m"
    argv = ["demo", "-q", "--frames", "3", "--width", "32", "--height", "16", "-o", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "no such dir" in err
    assert not out.exists()


def test_launch_runs_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    """``launch`` runs the line to completion and prints the table (exit status 0)."""
    line = "videotestsrc num-buffers=5 width=64 height=48 ! invert ! nullsink"
    assert main(["launch", "-q", "-v", line]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "videotestsrc0.Output -> invert0.Input: "
        "video/x-raw,format=NV12,width=64,height=48,framerate=30/1"
    )
    assert out[2].startswith("EC_COMPLETE after ")
    assert " 5 samples from 1 source(s)" in out[2]
    assert "copies" in out[3]


def test_launch_error_points_at_the_place(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad line is exit status 2 with the reason and a caret under the word."""
    assert main(["launch", "videotestsrc ! inverse ! nullsink"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: no filter named 'inverse'; did you mean invert?"
    assert err[1] == "  videotestsrc ! inverse ! nullsink"
    assert err[2] == "                 ^^^^^^^"


@pytest.mark.timeout(60)
def test_launch_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """SIGINT stops an endless graph: the table is printed and the exit status is 130."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dshow_alloc.cli",
            "launch",
            "-q",
            "videotestsrc width=64 height=48 ! queue ! nullsink",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # let it start streaming (not a timing assertion)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert out.startswith("interrupted after ")
    assert "Traceback" not in err
    assert "events: EC_USERABORT" in out


def test_inspect_lists_every_filter(capsys: pytest.CaptureFixture[str]) -> None:
    """``inspect`` prints one line per registered filter, sorted."""
    assert main(["inspect"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == sorted(names)
    for name in (
        "videotestsrc",
        "audiotestsrc",
        "y4msrc",
        "y4msink",
        "wavsrc",
        "wavsink",
        "avsrc",
        "avsink",
        "invert",
        "gain",
        "tee",
        "queue",
        "nullsink",
        "shmsink",
        "shmsrc",
    ):
        assert name in names


def test_inspect_one_filter(capsys: pytest.CaptureFixture[str]) -> None:
    """``inspect NAME`` shows the pins with their types and every property."""
    assert main(["inspect", "queue"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "queue: A bounded queue with its own streaming thread"
    assert out[2:5] == ["pins:", "  input  Input      ANY", "  output Output     ANY"]
    assert out[5] == "properties:"
    assert out[6].split() == ["max-size-buffers", "int", "default", "16", "in", "[0,", "]"]


def test_inspect_tells_required_from_optional_unset_properties(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A location with no default is "(required)"; an optional property left unset (a
    renderer's max-lateness) is "(not set)"."""
    assert main(["inspect", "y4msink"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["location", "path", "(required)"] for line in lines)
    assert main(["inspect", "nullsink"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:4] == ["max-lateness", "int", "(not", "set)"] for line in lines)


def test_inspect_unknown_filter(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown name is exit status 2 with the closest names."""
    assert main(["inspect", "nulsink"]) == 2
    assert "did you mean nullsink" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_dot_draws_an_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``dot -o graph.svg`` draws the filters, pins, types and allocators."""
    out = tmp_path / "graph.svg"
    line = "videotestsrc ! tee name=t t. ! queue ! nullsink t. ! invert ! nullsink"
    assert main(["dot", line, "-o", str(out)]) == 0
    svg = html.unescape(out.read_text())
    assert svg.lstrip().startswith("<?xml")
    for text in (
        "videotestsrc0",
        "t",
        "queue0",
        "invert0",
        "nullsink1",
        "Output1",
        "format=NV12",
        "shared read-only from t.Input",
    ):
        assert text in svg


def test_dot_prints_dot_text(capsys: pytest.CaptureFixture[str]) -> None:
    """Without ``-o`` the DOT text goes to stdout."""
    assert main(["dot", "videotestsrc ! nullsink"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph dshow_alloc {")
    assert "videotestsrc0" in out and "nullsink0" in out
