"""The README's code runs as written, and its two fresh-machine commands stay first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```python\n(.*?)```", re.DOTALL)


def _blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text[: match.start()].count("\n") + 1, match.group(2))
        for match in _BLOCK.finditer(text)
        if not match.group(1)
    ]


def test_readme_has_runnable_blocks() -> None:
    """The tour has code to run (guards the extraction regex)."""
    assert len(_blocks()) >= 5


@pytest.mark.parametrize(("line", "code"), _blocks(), ids=lambda v: str(v)[:20])
def test_readme_block_runs(line: int, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every Python block of the README runs without error in a fresh namespace."""
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "readme"})


def test_readme_opens_with_the_two_commands() -> None:
    """The first lines are the install-and-run and install-and-test commands."""
    lines = README.read_text().splitlines()
    commands = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert commands[0].endswith(".venv/bin/dshow-alloc demo")
    assert commands[1].endswith(".venv/bin/python -m pytest")
    assert lines.index("```sh") < 4
