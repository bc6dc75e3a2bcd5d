"""One set of rules for the value types' fields (dshow_alloc.validators): an int is an int
and not a bool, ranges name the field, optional references take their type or None."""

from __future__ import annotations

import enum
from typing import Any

import attrs
import pytest

from dshow_alloc import AllocationParams, AllocatorProperties, MediaType, PoolConfig
from dshow_alloc.mediatype import GUID_NULL
from dshow_alloc.negotiation import PoolProposal
from dshow_alloc.validators import (
    INT32,
    NON_NEGATIVE,
    REFERENCE_TIME,
    UINT16,
    UINT32,
    int_in,
    optional_instance_of,
    power_of_two,
)


class _Four(enum.IntEnum):
    FOUR = 4


@attrs.frozen
class _Fields:
    count: Any = attrs.field(default=0, validator=NON_NEGATIVE)
    word: Any = attrs.field(default=0, validator=UINT16)
    dword: Any = attrs.field(default=0, validator=UINT32)
    long: Any = attrs.field(default=0, validator=INT32)
    time: Any = attrs.field(default=0, validator=REFERENCE_TIME)
    align: Any = attrs.field(default=1, validator=power_of_two)
    small: Any = attrs.field(default=1, validator=int_in(1, 8))
    text: Any = attrs.field(default=None, validator=optional_instance_of(str, "a str"))


@pytest.mark.parametrize("field", ["count", "word", "dword", "long", "time", "align", "small"])
@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_int_fields_refuse_what_is_not_an_int(field: str, value: object) -> None:
    """A bool, a whole float, a str or None in an int field is a TypeError naming the field."""
    with pytest.raises(TypeError, match=field):
        _Fields(**{field: value})


@pytest.mark.parametrize("field", ["count", "word", "dword", "long", "time", "align", "small"])
def test_int_fields_take_int_subclasses_that_are_not_bool(field: str) -> None:
    """An IntEnum member is an int."""
    assert getattr(_Fields(**{field: _Four.FOUR}), field) == 4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", -1, "count must be >= 0, got -1"),
        ("word", 0x10000, "word must fit a WORD, got 65536"),
        ("dword", -1, "dword must fit a DWORD, got -1"),
        ("long", 2**31, "long must fit a LONG, got 2147483648"),
        ("time", 2**63, "time 9223372036854775808 does not fit a 64-bit REFERENCE_TIME"),
        ("align", 3, "align must be a power of two >= 1, got 3"),
        ("small", 9, r"small must be in \[1, 8\], got 9"),
    ],
)
def test_out_of_range_names_field_range_and_value(field: str, value: int, message: str) -> None:
    """An int out of range is a ValueError that says the field, the range and the value."""
    with pytest.raises(ValueError, match=message):
        _Fields(**{field: value})


def test_optional_reference_takes_its_type_or_none() -> None:
    """An optional reference field takes None or its type, and names both otherwise."""
    assert _Fields(text=None).text is None
    assert _Fields(text="x").text == "x"
    with pytest.raises(TypeError, match="text must be a str or None, not int"):
        _Fields(text=1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: AllocatorProperties(True, 16, 1, 0),
        lambda: PoolConfig(True),
        lambda: AllocationParams(align=True),
        lambda: PoolProposal(None, True),
        lambda: MediaType(GUID_NULL, GUID_NULL, GUID_NULL, sample_size=True),
    ],
    ids=["AllocatorProperties", "PoolConfig", "AllocationParams", "PoolProposal", "MediaType"],
)
def test_every_value_type_refuses_a_bool_count(build: Any) -> None:
    """The value types apply the same rule: True is not a count."""
    with pytest.raises(TypeError, match="must be an int, not bool"):
        build()
