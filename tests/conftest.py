"""Every test must give back every sample it took and stop every thread it started."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

from dshow_alloc import MemAllocator
from dshow_alloc.testing import check_no_outstanding_samples
from dshow_alloc.testing.leaks import outstanding_samples


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves samples outstanding or threads running."""
    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("allow_leaks"):
        return
    # Collecting garbage after every one of thousands of tests cost most of the suite's
    # time: look first, and collect (which lets go of allocators only garbage still holds)
    # only when something seems outstanding.
    if outstanding_samples():
        gc.collect()
        check_no_outstanding_samples()
    deadline = time.monotonic() + 2.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not extra, f"threads left running: {[t.name for t in extra]}"


@pytest.fixture
def pools() -> Iterator[list[MemAllocator]]:
    """Allocators made by a test; decommitted at teardown so no waiter is left blocked."""
    made: list[MemAllocator] = []
    yield made
    for allocator in made:
        allocator.SetFlushing(False)
        allocator.Decommit()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_leaks: the test checks leak reporting itself")
