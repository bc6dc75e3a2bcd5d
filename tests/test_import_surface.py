"""One import surface: what the README and the samples use comes from ``dshow_alloc``, whose
``__all__`` is sorted and complete; ``dshow_alloc.ipc`` and ``dshow_alloc.testing`` are the
two namespaces of their own (the bare cross-process API and the contract suites)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import dshow_alloc

ROOT = Path(__file__).resolve().parent.parent
OWN_NAMESPACES = {"dshow_alloc.ipc", "dshow_alloc.testing", "dshow_alloc.distributed"}


def _imports_from_submodules(source: str) -> list[str]:
    """``from dshow_alloc.X import ...`` statements of ``source`` outside the namespaces
    that stand on their own."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("dshow_alloc.")
            and node.module not in OWN_NAMESPACES
        ):
            found.append(f"{node.module}: {', '.join(a.name for a in node.names)}")
    return found


def test_all_is_sorted_without_duplicates() -> None:
    """``dshow_alloc.__all__`` is in isort order (constants, classes, functions) and lists
    each name once."""
    names = list(dshow_alloc.__all__)

    def key(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
        return kind, name

    assert names == sorted(names, key=key)
    assert len(names) == len(set(names))


def test_every_name_in_all_resolves() -> None:
    """Every name ``__all__`` lists can be taken from the package (numpy's lazily)."""
    assert [name for name in dshow_alloc.__all__ if getattr(dshow_alloc, name, None) is None] == []


def test_the_graph_building_api_is_at_the_top() -> None:
    """The names the README's walk-through and the samples build graphs with are exported."""
    for name in (
        "make_filter",
        "register_filter",
        "unregister_filter",
        "parse_launch",
        "run_graph",
        "Element",
        "PinTemplate",
        "prop",
        "set_merit",
        "FilterGraph",
        "video_frame",
    ):
        assert name in dshow_alloc.__all__, name


def test_samples_import_from_the_package() -> None:
    """No sample reaches into a submodule for a name the package exports."""
    offenders = {
        path.name: found
        for path in sorted((ROOT / "samples").glob("*.py"))
        if (found := _imports_from_submodules(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_readme_python_imports_from_the_package() -> None:
    """The README's Python blocks import from ``dshow_alloc`` (or its own namespaces)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    assert [found for block in blocks if (found := _imports_from_submodules(block))] == []


def test_importing_the_package_needs_no_numpy() -> None:
    """The top-level names come without importing numpy or PyAV (the extras)."""
    code = "import sys, dshow_alloc; print('numpy' in sys.modules, 'av' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False"]
