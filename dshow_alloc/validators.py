"""The attrs validators the value types share, so every field applies one set of rules.

- An integer field takes an ``int`` and nothing else: not a ``bool`` (``True`` is not a
  count), not a ``float`` that happens to be whole, not a numpy integer; subclasses of ``int``
  that are not ``bool`` (an ``IntEnum``, an ``IntFlag``) are ints. The wrong type raises
  TypeError naming the field; an int out of range raises ValueError naming the field, the
  range (or the Windows type it must fit) and the value.
- A reference field (a media type, an allocator) takes an instance of its type, or None when
  it is optional; anything else raises TypeError naming the field and what it must be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = [
    "INT32",
    "NON_NEGATIVE",
    "REFERENCE_TIME",
    "UINT16",
    "UINT32",
    "check_int",
    "int_in",
    "optional_instance_of",
    "optional_provider_of",
    "power_of_two",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def check_int(name: str, value: object) -> int:
    """``value`` if it is an int (not a bool), else TypeError naming ``name``."""
    if value.__class__ is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def int_in(low: int | None = None, high: int | None = None, *, fits: str | None = None) -> Any:
    """A validator for an int in ``[low, high]`` (either end open when None). ``fits`` names
    the Windows type whose range it is (``"a DWORD"``), for the error message."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        number = check_int(attribute.name, value)
        if (low is not None and number < low) or (high is not None and number > high):
            if fits is not None:
                raise ValueError(f"{attribute.name} must fit {fits}, got {number}")
            if high is None:
                raise ValueError(f"{attribute.name} must be >= {low}, got {number}")
            raise ValueError(f"{attribute.name} must be in [{low}, {high}], got {number}")

    return check


NON_NEGATIVE = int_in(0)
"""A count or size: an int >= 0."""
UINT16 = int_in(0, 0xFFFF, fits="a WORD")
"""A WORD field."""
UINT32 = int_in(0, 0xFFFFFFFF, fits="a DWORD")
"""A DWORD (or ULONG) field."""
INT32 = int_in(-(2**31), 2**31 - 1, fits="a LONG")
"""A LONG field."""


def REFERENCE_TIME(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """A REFERENCE_TIME field: an int in 100 ns units that fits 64 bits (never a float)."""
    if value.__class__ is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(
            f"{attribute.name} is a REFERENCE_TIME: an int in 100 ns units, "
            f"not {type(value).__name__}"
        )
    if not -(2**63) <= value <= 2**63 - 1:
        raise ValueError(f"{attribute.name} {value} does not fit a 64-bit REFERENCE_TIME")


def power_of_two(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """An alignment: an int that is a power of two, >= 1."""
    number = check_int(attribute.name, value)
    if number < 1 or number & (number - 1):
        raise ValueError(f"{attribute.name} must be a power of two >= 1, got {number}")


def optional_instance_of(kind: type | Callable[[], type], what: str) -> Any:
    """A validator for an instance of ``kind`` or None. ``kind`` may be a function returning
    the class (for a class a lower module cannot import at import time); ``what`` names it."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        cls = kind if isinstance(kind, type) else kind()
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"{attribute.name} must be {what} or None, not {type(value).__name__}")

    return check


def optional_provider_of(iface: Any, what: str) -> Any:
    """A validator for an object providing the zope interface ``iface``, or None."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not iface.providedBy(value):
            raise TypeError(
                f"{attribute.name} must provide {what} or be None, not {type(value).__name__}"
            )

    return check
