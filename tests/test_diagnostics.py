"""Diagnostics: which samples are out and where they were taken, and starved GetBuffer calls.

The issue: "An allocator can say which samples are outstanding and where each was acquired
(opt-in tracing: stack of the GetBuffer call), and a GetBuffer that has been blocked longer
than a configurable time logs a warning naming the holders." `MemAllocator.outstanding`,
``MemAllocator(trace=True)`` (or ``DSHOW_ALLOC_TRACE=1``), ``starvation_warning`` and
`dshow_alloc.testing.check_no_outstanding_samples` answer it.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dshow_alloc import (
    AM_GBF_NOWAIT,
    AllocatorProperties,
    MediaSample,
    MemAllocator,
    OutstandingSample,
    VfwTimeoutError,
)
from dshow_alloc.testing import OutstandingSamplesError, check_no_outstanding_samples

LOGGER = "dshow_alloc.allocator"
THIS_FILE = os.path.basename(__file__)


def committed(buffers: int, **kwargs: Any) -> MemAllocator:
    """A committed pool of ``buffers`` small samples."""
    allocator = MemAllocator(**kwargs)
    allocator.SetProperties(AllocatorProperties(buffers, 32, 1, 0))
    allocator.Commit()
    return allocator


def here() -> int:
    """The caller's current line number."""
    return sys._getframe(1).f_lineno


class WarningSeen(logging.Handler):
    """Sets an event when the allocator logger emits a WARNING."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.set()


@pytest.fixture
def warning_seen() -> Iterator[WarningSeen]:
    """An event set by the first WARNING on the ``dshow_alloc.allocator`` logger."""
    handler = WarningSeen()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def no_trace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start with DSHOW_ALLOC_TRACE unset, whatever the caller's environment says."""
    monkeypatch.delenv("DSHOW_ALLOC_TRACE", raising=False)


def allocator_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


# -- outstanding() ---------------------------------------------------------------------------


def test_outstanding_lists_exactly_the_samples_out_with_their_counts():
    """outstanding() reports each sample away from home with its count, and nothing once
    every sample is back."""
    allocator = committed(3)
    assert allocator.outstanding() == []
    first = allocator.GetBuffer()
    second = allocator.GetBuffer()
    assert second.AddRef() == 2
    report = allocator.outstanding()
    assert all(isinstance(o, OutstandingSample) for o in report)
    assert {o.sample: o.refs for o in report} == {first: 1, second: 2}
    assert len(report) == 2
    assert [o.trace for o in report] == [None, None]

    assert second.Release() == 1
    assert {o.sample: o.refs for o in allocator.outstanding()} == {first: 1, second: 1}
    assert second.Release() == 0
    assert [(o.sample, o.refs) for o in allocator.outstanding()] == [(first, 1)]
    assert first.Release() == 0
    assert allocator.outstanding() == []
    allocator.Decommit()


def test_outstanding_during_a_pending_decommit():
    """A Decommit waiting for samples still reports them; a completed one reports none."""
    allocator = committed(2)
    sample = allocator.GetBuffer()
    allocator.Decommit()
    assert [(o.sample, o.refs) for o in allocator.outstanding()] == [(sample, 1)]
    assert sample.Release() == 0
    assert allocator.outstanding() == []
    assert allocator.allocated == 0


def test_describe_names_the_sample_number_and_count():
    """OutstandingSample.describe() names the sample's number and count, and says where it
    was acquired is unknown without tracing."""
    allocator = committed(2)
    allocator.GetBuffer().Release()  # sample #0 home again, on top of the stack
    first = allocator.GetBuffer()
    second = allocator.GetBuffer()
    first.AddRef()
    lines = sorted(o.describe() for o in allocator.outstanding())
    assert lines[0].startswith(f"sample #{first.index} (refs 2)")
    assert lines[1].startswith(f"sample #{second.index} (refs 1)")
    assert {first.index, second.index} == {0, 1}
    assert all("turn tracing on" in line for line in lines)
    first.Release()
    first.Release()
    second.Release()
    allocator.Decommit()


# -- tracing ---------------------------------------------------------------------------------


def test_trace_records_the_acquiring_thread_and_call_site():
    """With trace=True, each outstanding sample records the acquiring thread's name and a
    stack whose innermost frame is the line that called GetBuffer."""
    allocator = committed(2, trace=True)
    assert allocator.trace is True
    sample, line = allocator.GetBuffer(), here()
    (held,) = allocator.outstanding()
    assert held.sample is sample
    trace = held.trace
    assert trace is not None
    assert trace is sample.trace
    assert trace.thread == threading.current_thread().name
    innermost = trace.stack[-1]
    assert innermost.name == "test_trace_records_the_acquiring_thread_and_call_site"
    assert innermost.lineno == line
    assert os.path.basename(innermost.filename) == THIS_FILE
    assert trace.where().endswith(
        f"{THIS_FILE}:{line} in test_trace_records_the_acquiring_thread_and_call_site"
    )
    assert THIS_FILE in held.describe()
    assert repr(threading.current_thread().name) in held.describe()

    assert sample.Release() == 0
    assert sample.trace is None  # a sample at home has no holder
    allocator.Decommit()


@pytest.mark.timeout(10)
def test_trace_names_the_thread_that_acquired_the_sample():
    """A sample taken on another thread is traced to that thread's name and function."""
    allocator = committed(2, trace=True)
    taken = threading.Event()
    release = threading.Event()
    lines: list[int] = []

    def grab_and_hold() -> None:
        sample, line = allocator.GetBuffer(), here()
        lines.append(line)
        taken.set()
        assert release.wait(5)
        sample.Release()

    grabber = threading.Thread(target=grab_and_hold, name="grabber-7", daemon=True)
    grabber.start()
    try:
        assert taken.wait(5)
        (held,) = allocator.outstanding()
        assert held.trace is not None
        assert held.trace.thread == "grabber-7"
        assert held.trace.where().endswith(f"{THIS_FILE}:{lines[0]} in grab_and_hold")
        assert "'grabber-7'" in held.describe()
    finally:
        release.set()
        grabber.join(5)
    assert not grabber.is_alive()
    assert allocator.outstanding() == []
    allocator.Decommit()


def test_without_tracing_trace_is_none():
    """Tracing is off by default: outstanding samples carry no trace."""
    allocator = committed(1)
    assert allocator.trace is False
    with allocator.GetBuffer() as sample:
        (held,) = allocator.outstanding()
        assert held.trace is None
        assert sample.trace is None
    allocator.Decommit()


def test_trace_env_var_turns_tracing_on_for_allocators_created_afterwards(monkeypatch):
    """DSHOW_ALLOC_TRACE=1 turns tracing on for allocators created after it is set; an
    explicit trace=False still wins, and an allocator made before stays untraced."""
    before = committed(1)
    monkeypatch.setenv("DSHOW_ALLOC_TRACE", "1")
    after = committed(1)
    explicit_off = committed(1, trace=False)
    assert (before.trace, after.trace, explicit_off.trace) == (False, True, False)
    samples = [before.GetBuffer(), after.GetBuffer(), explicit_off.GetBuffer()]
    traces = [a.outstanding()[0].trace for a in (before, after, explicit_off)]
    assert traces[0] is None
    assert traces[2] is None
    assert traces[1] is not None
    assert (
        traces[1]
        .where()
        .endswith("in test_trace_env_var_turns_tracing_on_for_allocators_created_afterwards")
    )
    for allocator, sample in zip((before, after, explicit_off), samples, strict=True):
        sample.Release()
        allocator.Decommit()


@pytest.mark.parametrize("value", ["0", ""])
def test_trace_env_var_off_values(monkeypatch, value):
    """DSHOW_ALLOC_TRACE set to 0 or empty leaves tracing off."""
    monkeypatch.setenv("DSHOW_ALLOC_TRACE", value)
    assert MemAllocator().trace is False


# -- starvation warning ----------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_starved_get_buffer_logs_one_warning_naming_the_holders(caplog, warning_seen):
    """A GetBuffer blocked past starvation_warning logs exactly one WARNING naming the
    allocator and each holder's sample number and acquisition place, keeps waiting, and
    returns the sample released afterwards."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    allocator = committed(2, name="video-pool", trace=True, starvation_warning=0.2)
    first, first_line = allocator.GetBuffer(), here()
    second, second_line = allocator.GetBuffer(), here()
    got: list[MediaSample] = []
    waiter = threading.Thread(
        target=lambda: got.append(allocator.GetBuffer()), name="starved", daemon=True
    )
    started = time.monotonic()
    waiter.start()
    try:
        assert warning_seen.seen.wait(5)
        assert time.monotonic() - started >= 0.2
        assert waiter.is_alive()
        time.sleep(0.3)  # past another starvation period: still one warning, still waiting
        assert waiter.is_alive()
        assert not got
    finally:
        assert second.Release() == 0
        waiter.join(5)
    assert not waiter.is_alive()
    assert got == [second]

    (record,) = allocator_warnings(caplog)
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "video-pool" in message
    assert "2 of 2 samples are outstanding" in message
    function = "test_starved_get_buffer_logs_one_warning_naming_the_holders"
    for sample, line in ((first, first_line), (second, second_line)):
        assert f"sample #{sample.index} (refs 1)" in message
        assert f"{THIS_FILE}:{line} in {function}" in message
    assert "'MainThread'" in message
    first.Release()
    got[0].Release()
    allocator.Decommit()


@pytest.mark.timeout(10)
def test_starvation_warning_without_tracing_still_names_the_holders(caplog):
    """Without tracing the warning names the holders' numbers and says how to see where they
    were acquired; a GetBuffer that times out after several periods warns only once."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    allocator = committed(1, name="audio-pool", starvation_warning=0.1)
    held = allocator.GetBuffer()
    with pytest.raises(VfwTimeoutError):
        allocator.GetBuffer(timeout=0.45)
    (record,) = allocator_warnings(caplog)
    message = record.getMessage()
    assert "audio-pool" in message
    assert f"sample #{held.index} (refs 1)" in message
    assert "turn tracing on" in message
    held.Release()
    allocator.Decommit()


@pytest.mark.timeout(10)
def test_starvation_warning_none_never_logs(caplog):
    """starvation_warning=None: a blocked GetBuffer never logs."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    allocator = committed(1, starvation_warning=None)
    assert allocator.starvation_warning is None
    held = allocator.GetBuffer()
    with pytest.raises(VfwTimeoutError):
        allocator.GetBuffer(timeout=0.3)
    assert [r for r in caplog.records if r.name == LOGGER] == []
    held.Release()
    allocator.Decommit()


def test_get_buffer_that_does_not_block_never_logs(caplog):
    """An unblocked GetBuffer, and a NOWAIT refusal, log nothing even with a tiny threshold."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    allocator = committed(1, starvation_warning=1e-9)
    held = allocator.GetBuffer()
    with pytest.raises(VfwTimeoutError):
        allocator.GetBuffer(flags=AM_GBF_NOWAIT)
    held.Release()
    allocator.Decommit()
    assert [r for r in caplog.records if r.name == LOGGER] == []


@pytest.mark.parametrize("bad", [0, -1, 0.0, -0.5, math.nan])
def test_invalid_starvation_warning_is_refused(bad):
    """starvation_warning must be a positive number of seconds (or None)."""
    with pytest.raises(ValueError, match="starvation_warning"):
        MemAllocator(starvation_warning=bad)


def test_starvation_warning_keeps_a_valid_value():
    """A positive starvation_warning is kept as given; the default is positive."""
    assert MemAllocator(starvation_warning=0.25).starvation_warning == 0.25
    default = MemAllocator().starvation_warning
    assert default is not None
    assert default > 0


# -- leak checks -----------------------------------------------------------------------------


@pytest.mark.allow_leaks
def test_check_no_outstanding_samples_reports_and_reclaims_a_leak():
    """check_no_outstanding_samples() raises OutstandingSamplesError naming the allocator and
    each leaked sample with where it was taken, then releases it; the next check passes."""
    check_no_outstanding_samples()  # nothing is out yet
    allocator = committed(2, name="leaky-pool", trace=True)
    leaked, line = allocator.GetBuffer(), here()
    leaked.AddRef()  # count 2: the reclaim must release it all the way
    other = committed(1, name="pending-pool")
    pending = other.GetBuffer()
    other.Decommit()  # waits for `pending`

    with pytest.raises(OutstandingSamplesError) as info:
        check_no_outstanding_samples()
    assert isinstance(info.value, AssertionError)
    message = str(info.value)
    assert "2 samples left outstanding" in message
    assert f"leaky-pool: sample #{leaked.index} (refs 2)" in message
    function = "test_check_no_outstanding_samples_reports_and_reclaims_a_leak"
    assert f"{THIS_FILE}:{line} in {function}" in message
    assert f"pending-pool: sample #{pending.index} (refs 1)" in message

    assert leaked.ref_count == 0
    assert allocator.GetFreeCount() == 2
    assert allocator.outstanding() == []
    assert pending.ref_count == 0
    assert other.allocated == 0  # the reclaim completed the pending decommit
    check_no_outstanding_samples()
    allocator.Decommit()


@pytest.mark.allow_leaks
def test_check_no_outstanding_samples_without_reclaim_leaves_the_leak():
    """reclaim=False only reports: the leaked sample stays out."""
    allocator = committed(1, name="kept-pool")
    sample = allocator.GetBuffer()
    with pytest.raises(OutstandingSamplesError, match=r"kept-pool: sample #0 \(refs 1\)"):
        check_no_outstanding_samples(reclaim=False)
    assert sample.ref_count == 1
    assert sample.Release() == 0
    check_no_outstanding_samples()
    allocator.Decommit()
