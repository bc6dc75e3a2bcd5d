"""The ``dshow-alloc`` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dshow_alloc.cli import main

EXPECTED = [
    ("GetBuffer+SetTime+Release (uncontended)", "ns/op"),
    ("GetBuffer+Release (uncontended)", "ns/op"),
    ("bare list pool pop+append (floor)", "ns/op"),
    ("two-thread handoff, pool of 4", "samples/s"),
    ("bare SimpleQueue handoff (floor)", "items/s"),
    ("1080p NV12 to another process, dshow_alloc.ipc", "frames/s"),
    ("1080p NV12 to another process, mp.Queue", "frames/s"),
    ("ratio of the two above (ipc / mp.Queue)", "x"),
]


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
