"""HRESULT values and COMError classes (API.md §1-2, reference/directshow.md §1)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import dshow_alloc
from dshow_alloc import hresult
from dshow_alloc.hresult import FAILED, HRESULT, SUCCEEDED, COMError

#: The Windows values (vfwmsgs.h, winerror.h), as reference/directshow.md §1 records them.
WINDOWS: dict[str, int] = {
    "S_OK": 0x00000000,
    "S_FALSE": 0x00000001,
    "E_NOTIMPL": 0x80004001,
    "E_NOINTERFACE": 0x80004002,
    "E_POINTER": 0x80004003,
    "E_ABORT": 0x80004004,
    "E_FAIL": 0x80004005,
    "E_UNEXPECTED": 0x8000FFFF,
    "E_ACCESSDENIED": 0x80070005,
    "E_OUTOFMEMORY": 0x8007000E,
    "E_INVALIDARG": 0x80070057,
    "VFW_S_NO_MORE_ITEMS": 0x00040103,
    "VFW_S_STATE_INTERMEDIATE": 0x00040237,
    "VFW_S_CANT_CUE": 0x00040268,
    "VFW_S_NO_STOP_TIME": 0x00040270,
    "VFW_E_INVALIDMEDIATYPE": 0x80040200,
    "VFW_E_ENUM_OUT_OF_SYNC": 0x80040203,
    "VFW_E_ALREADY_CONNECTED": 0x80040204,
    "VFW_E_NO_ACCEPTABLE_TYPES": 0x80040207,
    "VFW_E_INVALID_DIRECTION": 0x80040208,
    "VFW_E_NOT_CONNECTED": 0x80040209,
    "VFW_E_NO_ALLOCATOR": 0x8004020A,
    "VFW_E_RUNTIME_ERROR": 0x8004020B,
    "VFW_E_BUFFER_NOTSET": 0x8004020C,
    "VFW_E_BUFFER_OVERFLOW": 0x8004020D,
    "VFW_E_BADALIGN": 0x8004020E,
    "VFW_E_ALREADY_COMMITTED": 0x8004020F,
    "VFW_E_BUFFERS_OUTSTANDING": 0x80040210,
    "VFW_E_NOT_COMMITTED": 0x80040211,
    "VFW_E_SIZENOTSET": 0x80040212,
    "VFW_E_NO_CLOCK": 0x80040213,
    "VFW_E_NOT_FOUND": 0x80040216,
    "VFW_E_CANNOT_CONNECT": 0x80040217,
    "VFW_E_CANNOT_RENDER": 0x80040218,
    "VFW_E_NOT_STOPPED": 0x80040224,
    "VFW_E_WRONG_STATE": 0x80040227,
    "VFW_E_TYPE_NOT_ACCEPTED": 0x8004022A,
    "VFW_E_TIMEOUT": 0x8004022E,
    "VFW_E_SAMPLE_TIME_NOT_SET": 0x80040249,
    "VFW_E_MEDIA_TIME_NOT_SET": 0x80040251,
    "VFW_E_NOT_IN_GRAPH": 0x8004025F,
    "VFW_E_NO_TRANSPORT": 0x80040266,
}

#: The members API.md §2 requires at least.
REQUIRED = [
    "S_OK",
    "S_FALSE",
    "E_NOTIMPL",
    "E_NOINTERFACE",
    "E_POINTER",
    "E_ABORT",
    "E_FAIL",
    "E_UNEXPECTED",
    "E_ACCESSDENIED",
    "E_OUTOFMEMORY",
    "E_INVALIDARG",
    "VFW_S_NO_STOP_TIME",
    *(
        "VFW_E_" + suffix
        for suffix in [
            "NOT_COMMITTED",
            "ALREADY_COMMITTED",
            "BADALIGN",
            "SIZENOTSET",
            "BUFFERS_OUTSTANDING",
            "TIMEOUT",
            "BUFFER_OVERFLOW",
            "SAMPLE_TIME_NOT_SET",
            "MEDIA_TIME_NOT_SET",
            "NO_ALLOCATOR",
            "NOT_CONNECTED",
            "ALREADY_CONNECTED",
            "TYPE_NOT_ACCEPTED",
            "NO_ACCEPTABLE_TYPES",
            "INVALID_DIRECTION",
            "WRONG_STATE",
            "NOT_STOPPED",
            "RUNTIME_ERROR",
            "INVALIDMEDIATYPE",
            "NOT_FOUND",
        ]
    ),
]

FAILURES = sorted(name for name, value in WINDOWS.items() if value & 0x80000000)

#: Every COMError subclass the module exports.
SUBCLASSES: list[type[COMError]] = [
    obj
    for name in hresult.__all__
    if isinstance(obj := getattr(hresult, name), type)
    and issubclass(obj, COMError)
    and obj is not COMError
]


def test_hresult_is_an_int_enum() -> None:
    """HRESULT is an IntEnum of unsigned 32-bit values."""
    import enum

    assert issubclass(HRESULT, enum.IntEnum)
    assert all(0 <= member <= 0xFFFFFFFF for member in HRESULT)


@pytest.mark.parametrize("name", REQUIRED)
def test_required_member_exists(name: str) -> None:
    """Every code API.md §2 names is a member of HRESULT."""
    assert name in HRESULT.__members__


@pytest.mark.parametrize(("name", "value"), sorted(WINDOWS.items()))
def test_value_is_windows_value(name: str, value: int) -> None:
    """Each code has exactly its Windows value (e.g. VFW_E_NOT_COMMITTED 0x80040211)."""
    assert HRESULT[name] == value
    assert HRESULT[name].value == value
    assert HRESULT(value).name == name


def test_every_member_is_checked() -> None:
    """No member of HRESULT escapes the table of Windows values."""
    assert set(HRESULT.__members__) <= set(WINDOWS)


def test_spot_values() -> None:
    """A few values a reader can check against vfwmsgs.h and winerror.h by eye."""
    assert HRESULT.VFW_E_NOT_COMMITTED == 0x80040211
    assert HRESULT.E_ACCESSDENIED == 0x80070005
    assert HRESULT.VFW_S_NO_STOP_TIME == 0x00040270
    assert HRESULT.E_NOINTERFACE == 0x80004002
    assert dshow_alloc.HRESULT is HRESULT


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_subclass_carries_its_code(cls: type[COMError]) -> None:
    """An instance's hresult is its class's code, and str() names the code and its hex value."""
    error = cls()
    code = cls.code
    assert code is not None
    assert isinstance(code, HRESULT)
    assert code.name in WINDOWS
    assert error.hresult == code == WINDOWS[code.name]
    assert FAILED(error.hresult)
    text = str(error)
    assert code.name in text
    assert f"0x{code:08X}" in text
    assert isinstance(error, COMError)
    assert isinstance(error, Exception)
    assert COMError in cls.__mro__
    assert getattr(dshow_alloc, cls.__name__) is cls


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_subclass_keeps_a_message(cls: type[COMError]) -> None:
    """A message given at construction appears in str() alongside the code."""
    error = cls(message="while testing")
    assert "while testing" in str(error)
    assert error.hresult == cls.code


def test_one_subclass_per_failure_code() -> None:
    """Each failure code has exactly one statically written subclass."""
    codes = [cls.code for cls in SUBCLASSES]
    assert len(codes) == len(set(codes))
    assert {code.name for code in codes if code is not None} == set(FAILURES)


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("E_INVALIDARG", ValueError),
        ("E_NOINTERFACE", TypeError),
        ("E_ACCESSDENIED", PermissionError),
        ("VFW_E_TIMEOUT", TimeoutError),
        ("E_OUTOFMEMORY", MemoryError),
        ("E_NOTIMPL", NotImplementedError),
    ],
)
def test_builtin_base(name: str, builtin: type[Exception]) -> None:
    """Codes with a natural builtin exception inherit it as well as COMError."""
    error = COMError.from_hresult(WINDOWS[name])
    assert type(error) is not COMError
    assert isinstance(error, COMError)
    assert isinstance(error, builtin)
    assert builtin in type(error).__mro__
    with pytest.raises(builtin):
        raise error


@pytest.mark.parametrize("name", FAILURES)
def test_from_hresult(name: str) -> None:
    """from_hresult gives the subclass for the code, carrying exactly that code."""
    value = WINDOWS[name]
    error = COMError.from_hresult(value)
    assert type(error) is not COMError
    assert type(error).code == value
    assert error.hresult == value
    assert type(error) is hresult.hresult_error_class(value)
    assert type(COMError.from_hresult(value - 2**32)) is type(error)  # signed form of the code


def test_from_hresult_unknown_failure() -> None:
    """An unknown failure code becomes a plain COMError carrying it."""
    error = COMError.from_hresult(0x80041234)
    assert type(error) is COMError
    assert error.hresult == 0x80041234
    assert "0x80041234" in str(error)
    assert hresult.hresult_error_class(0x80041234) is COMError


def test_com_error_with_explicit_code() -> None:
    """COMError(code) carries the unsigned code."""
    error = COMError(0x80041234)
    assert error.hresult == 0x80041234
    assert COMError(HRESULT.E_FAIL).hresult == 0x80004005


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_subclass_refuses_another_code(cls: type[COMError]) -> None:
    """A subclass built with a code other than its own raises ValueError."""
    other = HRESULT.E_FAIL if cls.code != HRESULT.E_FAIL else HRESULT.E_POINTER
    with pytest.raises(ValueError):
        cls(other)
    assert cls(cls.code).hresult == cls.code


@pytest.mark.parametrize(("name", "value"), sorted(WINDOWS.items()))
def test_failed_succeeded(name: str, value: int) -> None:
    """FAILED is bit 31; SUCCEEDED is its negation (VFW_S_* and S_FALSE succeed)."""
    failed = name.startswith("E_") or name.startswith("VFW_E_")
    assert FAILED(value) is failed
    assert SUCCEEDED(value) is (not failed)
    assert FAILED(HRESULT[name]) is failed


def test_failed_accepts_signed_values() -> None:
    """A signed 32-bit HRESULT (as C would print it) is classified the same way."""
    assert FAILED(-2147467259)  # E_FAIL
    assert not SUCCEEDED(-2147467259)
    assert SUCCEEDED(1)
    assert dshow_alloc.FAILED is FAILED
    assert dshow_alloc.SUCCEEDED is SUCCEEDED


def _module_tree() -> ast.Module:
    return ast.parse(Path(inspect.getfile(hresult)).read_text())


def test_all_is_a_literal_list() -> None:
    """`__all__` is written out as a literal list of strings, so static tools can read it."""
    assignments = [
        node
        for node in _module_tree().body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(target, ast.Name) and target.id == "__all__"
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert len(assignments) == 1
    value = assignments[0].value
    assert isinstance(value, ast.List)
    assert all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)
    names = [e.value for e in value.elts if isinstance(e, ast.Constant)]
    assert names == list(hresult.__all__)
    assert len(names) == len(set(names))


def test_every_class_is_exported() -> None:
    """Every class the module defines (statically, at top level) is in `__all__`."""
    classes = [node.name for node in _module_tree().body if isinstance(node, ast.ClassDef)]
    assert classes
    assert set(classes) <= set(hresult.__all__)
    runtime = {
        name
        for name, obj in vars(hresult).items()
        if isinstance(obj, type) and obj.__module__ == hresult.__name__
    }
    assert runtime == set(classes)
    for name in hresult.__all__:
        assert hasattr(hresult, name)
