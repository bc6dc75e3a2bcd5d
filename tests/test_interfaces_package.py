"""The `interfaces` package: declarations only, importable on its own (STYLE.md, API.md §2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from zope.interface.interface import Attribute, InterfaceClass, Method

import interfaces

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "interfaces"
SOURCES = sorted(PACKAGE.glob("*.py"))

ALL_INTERFACES: list[InterfaceClass] = [getattr(interfaces, name) for name in interfaces.__all__]


def test_interfaces_resolves_to_this_repository() -> None:
    """`import interfaces` finds this repository's package, not another of the same name."""
    assert Path(interfaces.__file__).resolve().parent == PACKAGE.resolve()
    assert (PACKAGE / "__init__.py").is_file()


def test_import_interfaces_does_not_import_dshow_alloc() -> None:
    """A fresh interpreter importing `interfaces` loads no `dshow_alloc` module."""
    code = (
        "import sys, interfaces\n"
        "print(interfaces.__file__)\n"
        "print(sorted(m for m in sys.modules if m == 'dshow_alloc' "
        "or m.startswith('dshow_alloc.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    location, loaded = result.stdout.splitlines()
    assert Path(location).resolve().parent == PACKAGE.resolve()
    assert loaded == "[]"


def test_every_interface_is_exported() -> None:
    """`interfaces.__all__` names exactly the interface objects the package defines."""
    assert all(isinstance(iface, InterfaceClass) for iface in ALL_INTERFACES)
    defined = {
        name
        for name, value in vars(interfaces).items()
        if isinstance(value, InterfaceClass) and not name.startswith("_")
    }
    assert defined == set(interfaces.__all__)


def _members() -> list[tuple[str, str]]:
    return [
        (iface.__name__, name)
        for iface in ALL_INTERFACES
        for name in iface.names()  # direct members only; bases are listed on their own
    ]


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=lambda i: i.__name__)
def test_interface_has_docstring(iface: InterfaceClass) -> None:
    """Every interface documents its contract."""
    assert (iface.getDoc() or "").strip()


@pytest.mark.parametrize(("iface_name", "name"), _members())
def test_member_documented_without_self(iface_name: str, name: str) -> None:
    """Every method has a docstring and no `self`; every attribute has a description."""
    desc = getattr(interfaces, iface_name).getDescriptionFor(name)
    assert isinstance(desc, Attribute)
    assert (desc.getDoc() or "").strip(), f"{iface_name}.{name} has no docstring"
    if isinstance(desc, Method):
        info = desc.getSignatureInfo()
        assert "self" not in info["positional"], f"{iface_name}.{name} declares self"
        assert "self" not in info["required"]


def test_interfaces_declare_methods() -> None:
    """The member scan above is not vacuous: the main interfaces declare their methods."""
    members = set(_members())
    for expected in [
        ("IUnknown", "QueryInterface"),
        ("IUnknown", "AddRef"),
        ("IUnknown", "Release"),
        ("IMemAllocator", "GetBuffer"),
        ("IMemAllocatorCallbackTemp", "GetFreeCount"),
        ("IMediaSample", "SetTime"),
        ("IMediaSample2", "SetProperties"),
        ("IBufferSample", "AppendMemory"),
        ("IBufferSample", "MakeWritable"),
        ("IMemory", "Map"),
        ("IMemoryAllocator", "Alloc"),
    ]:
        assert expected in members


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.Module) -> list[tuple[str, bool, int]]:
    """(module, under TYPE_CHECKING, line) for every import statement in ``tree``."""
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, guarded, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "interfaces" if node.level else (node.module or "")
            found.append((module, guarded, node.lineno))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_module_imports_only_zope_and_stdlib(path: Path) -> None:
    """Runtime imports: zope.interface, the stdlib, this package; dshow_alloc for typing only."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for module, guarded, line in _imports(tree):
        top = module.split(".")[0]
        where = f"{path.name}:{line} imports {module}"
        if top == "dshow_alloc":
            assert guarded, f"{where} outside `if TYPE_CHECKING:`"
        elif top == "zope":
            assert module == "zope.interface" or module.startswith("zope.interface."), where
        else:
            assert top in ("interfaces", "__future__") or top in sys.stdlib_module_names, where


def test_import_scan_sees_type_checking_blocks() -> None:
    """The scan distinguishes guarded from runtime imports (it is not vacuous)."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import os\n"
        "if TYPE_CHECKING:\n"
        "    from dshow_alloc.structs import X\n"
        "from . import unknown\n"
    )
    assert _imports(tree) == [
        ("typing", False, 1),
        ("os", False, 2),
        ("dshow_alloc.structs", True, 4),
        ("interfaces", False, 5),
    ]
