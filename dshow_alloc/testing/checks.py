"""Assertion helpers shared by the contract suites."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from zope.interface.interface import InterfaceClass

from dshow_alloc.com import iid_of
from dshow_alloc.hresult import HRESULT, COMError

__all__ = ["assert_query_interface", "raises_hresult"]


@contextlib.contextmanager
def raises_hresult(error: type[COMError], code: HRESULT) -> Iterator[None]:
    """Assert that the block raises ``error`` carrying exactly ``code`` as its ``hresult``."""
    with pytest.raises(COMError) as info:
        yield
    assert info.value.hresult == code, f"{info.value.name}, not {code.name}"
    assert isinstance(info.value, error), f"{type(info.value).__name__}, not {error.__name__}"


def assert_query_interface(obj: Any, iface: InterfaceClass) -> None:
    """QueryInterface by ``iface`` and by its IID returns ``obj`` without counting a reference."""
    iid = iid_of(iface)
    assert isinstance(iid, UUID)
    refs = obj.AddRef() - 1
    assert obj.QueryInterface(iface) is obj
    assert obj.QueryInterface(iid) is obj
    assert obj.Release() == refs
