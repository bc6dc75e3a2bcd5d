"""Helpers for testing filter graphs: waiting without timing assertions, samples all home."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["assert_all_home", "graph_allocators", "wait_until"]

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    """Poll ``predicate`` until it returns something true and return that; fail after
    ``timeout`` seconds (a guard against hangs, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"condition never became true: {predicate}"
        time.sleep(0.001)


def graph_allocators(graph: Any) -> list[Any]:
    """Every allocator a pin of the graph's filters holds, each once."""
    found: dict[int, Any] = {}
    for filter in graph.EnumFilters():
        for pin in filter.EnumPins():
            allocator = pin.allocator if hasattr(pin, "allocator") else pin.peek_allocator()
            if allocator is not None:
                found[id(allocator)] = allocator
    return list(found.values())


def assert_all_home(graph: Any) -> None:
    """Every allocator of the graph has no sample outstanding."""
    allocators = graph_allocators(graph)
    assert allocators, "the graph has no allocator"
    for allocator in allocators:
        assert allocator.outstanding() == [], allocator
