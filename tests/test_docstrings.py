"""The packages' docstrings state their rules themselves: the project documents they could
cite (API.md, reference/*.md) are not shipped with the package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    path for package in ("dshow_alloc", "interfaces") for path in (ROOT / package).rglob("*.py")
)
CITATION = re.compile(r"API\.md|reference/|directshow\.md|gstreamer\.md")


def test_no_source_cites_unshipped_documents() -> None:
    """No module of the packages refers a reader to API.md or reference/*.md."""
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SOURCES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CITATION.search(line)
    ]
    assert cited == []
