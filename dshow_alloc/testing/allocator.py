"""`MemAllocatorContract`: the behaviour every `IMemAllocator` promises, as a pytest suite.

Subclass it and define ``make_allocator()`` (a fresh, unconfigured allocator); every test then
runs against your allocator::

    class TestMyAllocator(MemAllocatorContract):
        def make_allocator(self):
            return MyAllocator()

The rules are the `IMemAllocator` docstrings; the values are the ones native Windows gives in
Wine's conformance tests (``dlls/quartz/tests/memallocator.c``: ``test_properties``,
``test_commit``) and the DirectShow base classes' ``CMemAllocator``. Tests of ``GetFreeCount``
and ``SetNotify`` are skipped for an allocator that does not provide
`IMemAllocatorCallbackTemp`. Each test releases every sample it takes, and every allocator it
configured is decommitted at teardown.
"""

from __future__ import annotations

import ctypes
import itertools
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from zope.interface import implementer

from dshow_alloc.com import ComObject, iid_of
from dshow_alloc.hresult import (
    HRESULT,
    COMError,
    NoInterfaceError,
    UnexpectedError,
    VfwAlreadyCommittedError,
    VfwBadAlignError,
    VfwBuffersOutstandingError,
    VfwMediaTimeNotSetError,
    VfwNotCommittedError,
    VfwSampleTimeNotSetError,
    VfwSizeNotSetError,
    VfwTimeoutError,
)
from dshow_alloc.structs import (
    AM_GBF_NOTASYNCPOINT,
    AM_GBF_NOWAIT,
    AM_GBF_PREVFRAMESKIPPED,
    AllocatorProperties,
)
from dshow_alloc.testing.checks import assert_query_interface, raises_hresult
from interfaces import (
    IMediaSample,
    IMemAllocator,
    IMemAllocatorCallbackTemp,
    IMemAllocatorNotifyCallbackTemp,
    IUnknown,
)

__all__ = ["WINE_PROPERTY_VECTORS", "MemAllocatorContract", "NotifyRecorder", "data_address"]

#: How long a test waits for a helper thread before it calls the test failed.
THREAD_TIMEOUT = 10.0

#: Wine's test_properties vectors (buffers, buffer_size, align, prefix) with the actual
#: buffer_size of the DirectShow base classes: roundup(buffer_size + prefix, align) - prefix.
#: Commit refuses the ones with a buffer_size of 0 (VFW_E_SIZENOTSET).
WINE_PROPERTY_VECTORS = [
    ((0, 0, 1, 0), 0),
    ((1, 0, 1, 0), 0),
    ((1, 1, 1, 0), 1),
    ((1, 1, 4, 0), 4),
    ((2, 1, 1, 0), 1),
    ((1, 2, 4, 0), 4),
    ((1, 1, 16, 0), 16),
    ((1, 16, 16, 0), 16),
    ((1, 17, 16, 0), 32),
    ((1, 32, 16, 0), 32),
    ((1, 1, 16, 1), 15),
    ((1, 15, 16, 1), 15),
    ((1, 16, 16, 1), 31),
    ((1, 17, 16, 1), 31),
    ((1, 0, 16, 16), 0),
    ((1, 1, 16, 16), 16),
    ((1, 16, 16, 16), 16),
]

#: Alignments SetProperties refuses with VFW_E_BADALIGN: 0 and non-powers of two.
BAD_ALIGNMENTS = [0, 3, 6, 12, 24, 100]


def data_address(sample: Any) -> int:
    """The address of the first data byte of ``sample`` (``GetPointer()``), by ctypes."""
    view = sample.GetPointer()
    try:
        anchor = ctypes.c_char.from_buffer(view)
        try:
            return ctypes.addressof(anchor)
        finally:
            del anchor  # drop the buffer export so the view can be released
    finally:
        view.release()


@implementer(IMemAllocatorNotifyCallbackTemp)
class NotifyRecorder(ComObject):
    """A release callback that records, per call, the thread and the allocator's free count.

    ``on_notify`` (if set) runs inside ``NotifyRelease``; ``error`` (if set) is raised there.
    """

    __slots__ = ("allocator", "calls", "error", "on_notify")

    def __init__(self, allocator: Any) -> None:
        super().__init__()
        self.allocator = allocator
        self.calls: list[tuple[int, int]] = []
        self.error: BaseException | None = None
        self.on_notify: Any = None

    def NotifyRelease(self) -> None:
        """Record the call; see `IMemAllocatorNotifyCallbackTemp.NotifyRelease`."""
        self.calls.append((threading.get_ident(), self.allocator.GetFreeCount()))
        if self.on_notify is not None:
            self.on_notify()
        if self.error is not None:
            raise self.error


class MemAllocatorContract:
    """Tests every `IMemAllocator` implementation must pass.

    Define `make_allocator`. The helpers (`fresh`, `configured`, `committed`, `take`) keep the
    tests short and decommit every allocator they made when the test ends.
    """

    def make_allocator(self) -> IMemAllocator:
        """A fresh, unconfigured allocator."""
        raise NotImplementedError("subclasses of MemAllocatorContract define make_allocator")

    # -- helpers ---------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _decommit_allocators(self) -> Iterator[None]:
        self._allocators: list[Any] = []
        yield
        for allocator in self._allocators:
            allocator.Decommit()

    def fresh(self) -> Any:
        """A fresh allocator from `make_allocator`, decommitted when the test ends."""
        allocator = self.make_allocator()
        self._allocators.append(allocator)
        return allocator

    def configured(self, buffers: int, size: int, align: int = 1, prefix: int = 0) -> Any:
        """A fresh allocator after a successful ``SetProperties``, not committed."""
        allocator = self.fresh()
        allocator.SetProperties(AllocatorProperties(buffers, size, align, prefix))
        return allocator

    def committed(self, buffers: int, size: int, align: int = 1, prefix: int = 0) -> Any:
        """A fresh allocator, configured and committed."""
        allocator = self.configured(buffers, size, align, prefix)
        allocator.Commit()
        return allocator

    def take(self, allocator: Any, count: int) -> list[Any]:
        """``count`` samples from ``allocator``, none of them waited for."""
        return [allocator.GetBuffer(flags=AM_GBF_NOWAIT) for _ in range(count)]

    def callback_temp(self, allocator: Any) -> Any:
        """``allocator`` as `IMemAllocatorCallbackTemp`; skips the test when it is not one."""
        try:
            return allocator.QueryInterface(IMemAllocatorCallbackTemp)
        except NoInterfaceError:
            pytest.skip("the allocator does not provide IMemAllocatorCallbackTemp")

    def assert_empty(self, allocator: Any) -> None:
        """``allocator`` is committed and has no free sample."""
        with raises_hresult(VfwTimeoutError, HRESULT.VFW_E_TIMEOUT):
            allocator.GetBuffer(flags=AM_GBF_NOWAIT)

    def assert_not_committed(self, allocator: Any) -> None:
        """GetBuffer on ``allocator`` raises VFW_E_NOT_COMMITTED."""
        with raises_hresult(VfwNotCommittedError, HRESULT.VFW_E_NOT_COMMITTED):
            allocator.GetBuffer(flags=AM_GBF_NOWAIT)

    @staticmethod
    def release(samples: list[Any]) -> None:
        """Release each sample once; each must go home (Release returns 0)."""
        for sample in samples:
            assert sample.Release() == 0

    # -- fresh state and QueryInterface ----------------------------------------------------

    def start_waiters(
        self, allocator: IMemAllocator, results: queue.Queue[Any], count: int
    ) -> list[threading.Thread]:
        """Start ``count`` threads that each put a GetBuffer result (or its COMError) in
        ``results``, and give them time to block (the outcome is the same if they have not)."""

        def wait() -> None:
            try:
                results.put(allocator.GetBuffer(timeout=THREAD_TIMEOUT))
            except COMError as exc:
                results.put(exc)

        threads = [
            threading.Thread(target=wait, name=f"contract-waiter-{index}") for index in range(count)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        return threads

    def test_fresh_properties_are_zero(self) -> None:
        """A fresh allocator's GetProperties is all zeros."""
        assert self.fresh().GetProperties() == AllocatorProperties(0, 0, 0, 0)

    def test_fresh_allocator_is_not_committed(self) -> None:
        """GetBuffer on a fresh allocator is VFW_E_NOT_COMMITTED."""
        allocator = self.fresh()
        self.assert_not_committed(allocator)
        with raises_hresult(VfwNotCommittedError, HRESULT.VFW_E_NOT_COMMITTED):
            allocator.GetBuffer()

    @pytest.mark.parametrize("iface", [IUnknown, IMemAllocator])
    def test_query_interface(self, iface: Any) -> None:
        """QueryInterface for IUnknown/IMemAllocator (or its IID) returns the allocator itself
        and leaves the count alone."""
        assert_query_interface(self.fresh(), iface)

    def test_query_interface_unrelated(self) -> None:
        """QueryInterface for IMediaSample is E_NOINTERFACE (also a TypeError)."""
        allocator = self.fresh()
        with raises_hresult(NoInterfaceError, HRESULT.E_NOINTERFACE):
            allocator.QueryInterface(IMediaSample)
        with pytest.raises(TypeError):
            allocator.QueryInterface(iid_of(IMediaSample))

    # -- SetProperties ---------------------------------------------------------------------

    @pytest.mark.parametrize(("request_", "actual_size"), WINE_PROPERTY_VECTORS)
    def test_set_properties_actual(
        self, request_: tuple[int, int, int, int], actual_size: int
    ) -> None:
        """SetProperties returns buffers, align, prefix as asked and buffer_size rounded to
        roundup(size + prefix, align) - prefix; GetProperties then returns the same."""
        buffers, _size, align, prefix = request_
        allocator = self.fresh()
        request = AllocatorProperties(*request_)
        actual = allocator.SetProperties(request)
        assert actual == AllocatorProperties(buffers, actual_size, align, prefix)
        assert request == AllocatorProperties(*request_)
        assert allocator.GetProperties() == actual

    @pytest.mark.parametrize(("request_", "actual_size"), WINE_PROPERTY_VECTORS)
    def test_commit_after_set_properties(
        self, request_: tuple[int, int, int, int], actual_size: int
    ) -> None:
        """Commit accepts the Wine vectors with a buffer_size, refuses the others with
        VFW_E_SIZENOTSET (staying uncommitted), and every sample's GetSize is the actual size."""
        buffers = request_[0]
        allocator = self.fresh()
        allocator.SetProperties(AllocatorProperties(*request_))
        if actual_size == 0 or buffers == 0:
            with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
                allocator.Commit()
            self.assert_not_committed(allocator)
            allocator.SetProperties(AllocatorProperties(1, 1, 1, 0))  # not committed: accepted
            return
        allocator.Commit()
        samples = self.take(allocator, buffers)
        try:
            assert [s.GetSize() for s in samples] == [actual_size] * buffers
            self.assert_empty(allocator)
        finally:
            self.release(samples)

    @pytest.mark.parametrize(
        "request_",
        [(1, 1, 1, 1), (3, 100, 8, 3), (2, 4096, 4096, 0), (1, 1000, 32, 31), (5, 7, 2, 1)],
    )
    def test_set_properties_rounding_rule(self, request_: tuple[int, int, int, int]) -> None:
        """The actual buffer_size is roundup(buffer_size + prefix, align) - prefix."""
        buffers, size, align, prefix = request_
        expected = -(-(size + prefix) // align) * align - prefix
        actual = self.fresh().SetProperties(AllocatorProperties(*request_))
        assert actual == AllocatorProperties(buffers, expected, align, prefix)

    @pytest.mark.parametrize("align", BAD_ALIGNMENTS)
    def test_set_properties_bad_align(self, align: int) -> None:
        """An alignment of 0 or not a power of two is VFW_E_BADALIGN and changes nothing."""
        allocator = self.fresh()
        with raises_hresult(VfwBadAlignError, HRESULT.VFW_E_BADALIGN):
            allocator.SetProperties(AllocatorProperties(1, 16, align, 0))
        assert allocator.GetProperties() == AllocatorProperties(0, 0, 0, 0)
        good = allocator.SetProperties(AllocatorProperties(2, 16, 4, 0))
        with raises_hresult(VfwBadAlignError, HRESULT.VFW_E_BADALIGN):
            allocator.SetProperties(AllocatorProperties(1, 16, align, 0))
        assert allocator.GetProperties() == good

    def test_set_properties_all_zero_is_bad_align(self) -> None:
        """SetProperties({0, 0, 0, 0}) is VFW_E_BADALIGN (native Windows)."""
        with raises_hresult(VfwBadAlignError, HRESULT.VFW_E_BADALIGN):
            self.fresh().SetProperties(AllocatorProperties(0, 0, 0, 0))

    @pytest.mark.parametrize("align", BAD_ALIGNMENTS)
    def test_bad_align_checked_before_committed(self, align: int) -> None:
        """A bad alignment is VFW_E_BADALIGN even on a committed allocator, which stays
        committed with its properties."""
        allocator = self.committed(2, 16)
        with raises_hresult(VfwBadAlignError, HRESULT.VFW_E_BADALIGN):
            allocator.SetProperties(AllocatorProperties(1, 16, align, 0))
        assert allocator.GetProperties() == AllocatorProperties(2, 16, 1, 0)
        self.release(self.take(allocator, 2))

    def test_bad_align_checked_before_outstanding(self) -> None:
        """A bad alignment is VFW_E_BADALIGN even with a sample out after Decommit."""
        allocator = self.committed(1, 16)
        (sample,) = self.take(allocator, 1)
        allocator.Decommit()
        try:
            with raises_hresult(VfwBadAlignError, HRESULT.VFW_E_BADALIGN):
                allocator.SetProperties(AllocatorProperties(1, 16, 0, 0))
        finally:
            self.release([sample])

    def test_set_properties_committed(self) -> None:
        """SetProperties on a committed allocator is VFW_E_ALREADY_COMMITTED and changes
        nothing."""
        allocator = self.committed(2, 16, 4, 0)
        with raises_hresult(VfwAlreadyCommittedError, HRESULT.VFW_E_ALREADY_COMMITTED):
            allocator.SetProperties(AllocatorProperties(3, 32, 1, 0))
        assert allocator.GetProperties() == AllocatorProperties(2, 16, 4, 0)
        samples = self.take(allocator, 2)
        try:
            assert [s.GetSize() for s in samples] == [16, 16]
            self.assert_empty(allocator)
        finally:
            self.release(samples)

    def test_set_properties_committed_with_sample_out(self) -> None:
        """Committed with a sample out, SetProperties is VFW_E_ALREADY_COMMITTED (the
        committed check comes first)."""
        allocator = self.committed(2, 16)
        samples = self.take(allocator, 1)
        try:
            with raises_hresult(VfwAlreadyCommittedError, HRESULT.VFW_E_ALREADY_COMMITTED):
                allocator.SetProperties(AllocatorProperties(3, 32, 1, 0))
        finally:
            self.release(samples)

    def test_set_properties_decommitted_with_sample_out(self) -> None:
        """Decommitted with a sample still out, SetProperties is VFW_E_BUFFERS_OUTSTANDING and
        changes nothing; once the sample is home it succeeds."""
        allocator = self.committed(1, 16)
        (sample,) = self.take(allocator, 1)
        allocator.Decommit()
        try:
            with raises_hresult(VfwBuffersOutstandingError, HRESULT.VFW_E_BUFFERS_OUTSTANDING):
                allocator.SetProperties(AllocatorProperties(2, 32, 1, 0))
            assert allocator.GetProperties() == AllocatorProperties(1, 16, 1, 0)
        finally:
            self.release([sample])
        actual = allocator.SetProperties(AllocatorProperties(2, 32, 1, 0))
        assert actual == AllocatorProperties(2, 32, 1, 0)

    def test_set_properties_after_decommit(self) -> None:
        """After Decommit with every sample home, SetProperties works and the next Commit
        uses the new properties."""
        allocator = self.committed(1, 16)
        allocator.Decommit()
        allocator.SetProperties(AllocatorProperties(2, 64, 1, 0))
        allocator.Commit()
        samples = self.take(allocator, 2)
        try:
            assert [s.GetSize() for s in samples] == [64, 64]
            self.assert_empty(allocator)
        finally:
            self.release(samples)

    def test_set_properties_last_call_wins(self) -> None:
        """Of several SetProperties calls before Commit, the last one decides."""
        allocator = self.fresh()
        allocator.SetProperties(AllocatorProperties(2, 30000, 32, 0))
        allocator.SetProperties(AllocatorProperties(3, 100, 1, 0))
        assert allocator.GetProperties() == AllocatorProperties(3, 100, 1, 0)
        allocator.Commit()
        samples = self.take(allocator, 3)
        try:
            assert [s.GetSize() for s in samples] == [100] * 3
            self.assert_empty(allocator)
        finally:
            self.release(samples)

    @pytest.mark.parametrize(("buffers", "size"), [(0, 0), (0, 16), (1, 0), (4, 0)])
    def test_zero_buffers_or_size_accepted_then_commit_refuses(
        self, buffers: int, size: int
    ) -> None:
        """buffers or buffer_size 0 is accepted by SetProperties and refused by Commit with
        VFW_E_SIZENOTSET; the allocator stays uncommitted."""
        allocator = self.fresh()
        actual = allocator.SetProperties(AllocatorProperties(buffers, size, 1, 0))
        assert actual == AllocatorProperties(buffers, size, 1, 0)
        with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
            allocator.Commit()
        self.assert_not_committed(allocator)
        assert allocator.GetProperties() == actual
        assert allocator.SetProperties(AllocatorProperties(1, 8, 1, 0)).buffer_size == 8

    # -- Commit / Decommit -----------------------------------------------------------------

    def test_commit_before_set_properties(self) -> None:
        """Commit on a never-configured allocator is VFW_E_SIZENOTSET; it stays uncommitted."""
        allocator = self.fresh()
        with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
            allocator.Commit()
        self.assert_not_committed(allocator)
        assert allocator.GetProperties() == AllocatorProperties(0, 0, 0, 0)

    def test_commit_is_idempotent(self) -> None:
        """A second Commit succeeds and changes nothing: still exactly buffers samples."""
        allocator = self.committed(2, 16)
        first = self.take(allocator, 1)
        allocator.Commit()
        second = self.take(allocator, 1)
        try:
            self.assert_empty(allocator)
            assert first[0] is not second[0]
        finally:
            self.release(first + second)

    def test_get_buffer_after_decommit(self) -> None:
        """GetBuffer after Decommit is VFW_E_NOT_COMMITTED, with or without AM_GBF_NOWAIT."""
        allocator = self.committed(2, 16)
        allocator.Decommit()
        self.assert_not_committed(allocator)
        with raises_hresult(VfwNotCommittedError, HRESULT.VFW_E_NOT_COMMITTED):
            allocator.GetBuffer()

    def test_decommit_is_idempotent(self) -> None:
        """Decommit on a fresh allocator and a second Decommit both succeed."""
        allocator = self.fresh()
        allocator.Decommit()
        allocator.Decommit()
        allocator.SetProperties(AllocatorProperties(1, 16, 1, 0))
        allocator.Commit()
        allocator.Decommit()
        allocator.Decommit()
        self.assert_not_committed(allocator)

    def test_commit_after_decommit(self) -> None:
        """Commit after a completed Decommit opens the pool again with the same properties."""
        allocator = self.committed(2, 16)
        allocator.Decommit()
        allocator.Commit()
        samples = self.take(allocator, 2)
        try:
            assert [s.GetSize() for s in samples] == [16, 16]
            self.assert_empty(allocator)
        finally:
            self.release(samples)

    def test_samples_stay_valid_after_decommit(self) -> None:
        """A sample out at Decommit stays valid and writable until its final Release."""
        allocator = self.committed(1, 65536)
        (sample,) = self.take(allocator, 1)
        allocator.Decommit()
        try:
            view = sample.GetPointer()
            view[:] = b"\xa5" * 65536
            view.release()
            view = sample.GetPointer()
            assert view.tobytes() == b"\xa5" * 65536
            view.release()
            sample.SetActualDataLength(100)
            sample.SetTime(1, 2)
            assert sample.GetActualDataLength() == 100
            assert sample.GetTime() == (1, 2)
            assert sample.AddRef() == 2
            assert sample.Release() == 1
        finally:
            self.release([sample])
        self.assert_not_committed(allocator)

    def test_commit_cancels_pending_decommit(self) -> None:
        """Commit while a Decommit waits for samples cancels it and keeps the same sample
        objects: no new ones are allocated."""
        allocator = self.committed(2, 16)
        a, b = self.take(allocator, 2)
        allocator.Decommit()
        allocator.Commit()
        try:
            self.assert_empty(allocator)  # committed, and no new samples appeared
        finally:
            self.release([a, b])
        again = self.take(allocator, 2)
        try:
            assert again[0] is b
            assert again[1] is a
            self.assert_empty(allocator)
        finally:
            self.release(again)

    # -- GetBuffer -------------------------------------------------------------------------

    def test_sample_comes_out_with_count_one(self) -> None:
        """GetBuffer hands out a sample with count 1: AddRef returns 2, Releases 1 then 0."""
        allocator = self.committed(1, 16)
        sample = allocator.GetBuffer()
        assert sample.AddRef() == 2
        assert sample.Release() == 1
        assert sample.Release() == 0

    def test_sample_size_is_actual_buffer_size(self) -> None:
        """Every sample's GetSize and initial GetActualDataLength are the actual buffer_size."""
        allocator = self.fresh()
        actual = allocator.SetProperties(AllocatorProperties(3, 17, 16, 0))
        allocator.Commit()
        samples = self.take(allocator, 3)
        try:
            for sample in samples:
                assert sample.GetSize() == actual.buffer_size == 32
                assert sample.GetActualDataLength() == 32
        finally:
            self.release(samples)

    def test_nowait_when_empty(self) -> None:
        """With no sample free, GetBuffer(AM_GBF_NOWAIT) is VFW_E_TIMEOUT (a TimeoutError)."""
        allocator = self.committed(1, 16)
        samples = self.take(allocator, 1)
        try:
            with raises_hresult(VfwTimeoutError, HRESULT.VFW_E_TIMEOUT):
                allocator.GetBuffer(None, None, AM_GBF_NOWAIT)
            with pytest.raises(TimeoutError):
                allocator.GetBuffer(flags=AM_GBF_NOWAIT)
        finally:
            self.release(samples)

    @pytest.mark.parametrize("timeout", [0, 0.01])
    def test_timeout_when_empty(self, timeout: float) -> None:
        """With no sample free, GetBuffer(timeout=t) is VFW_E_TIMEOUT (0 does not wait)."""
        allocator = self.committed(1, 16)
        samples = self.take(allocator, 1)
        try:
            with raises_hresult(VfwTimeoutError, HRESULT.VFW_E_TIMEOUT):
                allocator.GetBuffer(timeout=timeout)
            assert allocator.GetProperties() == AllocatorProperties(1, 16, 1, 0)
        finally:
            self.release(samples)

    def test_timeout_with_free_sample(self) -> None:
        """GetBuffer(timeout=0) with a free sample returns it at once."""
        allocator = self.committed(1, 16)
        sample = allocator.GetBuffer(timeout=0)
        self.release([sample])

    def test_start_stop_and_hint_flags_ignored(self) -> None:
        """GetBuffer's start, stop and hint flags are not applied to the sample."""
        allocator = self.committed(1, 16)
        sample = allocator.GetBuffer(0x123, 0x321, AM_GBF_PREVFRAMESKIPPED | AM_GBF_NOTASYNCPOINT)
        try:
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                sample.GetTime()
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                sample.GetMediaTime()
            assert sample.IsSyncPoint() is False
            assert sample.IsDiscontinuity() is False
        finally:
            self.release([sample])

    def test_free_list_is_lifo(self) -> None:
        """The sample released last is the one GetBuffer hands out next."""
        allocator = self.committed(3, 16)
        a, b, c = self.take(allocator, 3)
        assert len({id(a), id(b), id(c)}) == 3
        self.release([b, c, a])
        first = allocator.GetBuffer(flags=AM_GBF_NOWAIT)
        assert first is a
        self.release([first])
        again = self.take(allocator, 3)
        try:
            assert again[0] is a
            assert again[1] is c
            assert again[2] is b
        finally:
            self.release(again)

    def test_with_statement_releases_at_exit(self) -> None:
        """``with allocator.GetBuffer() as s`` releases the sample at the end of the block."""
        allocator = self.committed(1, 16)
        with allocator.GetBuffer() as sample:
            self.assert_empty(allocator)
        again = allocator.GetBuffer(flags=AM_GBF_NOWAIT)
        assert again is sample
        self.release([again])

    def test_get_buffer_blocks_until_release(self) -> None:
        """A GetBuffer that finds no sample free waits and gets the next one released."""
        allocator = self.committed(1, 16)
        (held,) = self.take(allocator, 1)
        results: queue.Queue[Any] = queue.Queue()
        (thread,) = self.start_waiters(allocator, results, 1)
        self.release([held])
        thread.join(THREAD_TIMEOUT)
        got = results.get_nowait()
        assert got is held
        self.release([got])

    def test_decommit_wakes_blocked_get_buffer(self) -> None:
        """Decommit wakes a thread blocked in GetBuffer with VFW_E_NOT_COMMITTED."""
        allocator = self.committed(1, 16)
        (held,) = self.take(allocator, 1)
        results: queue.Queue[Any] = queue.Queue()
        (thread,) = self.start_waiters(allocator, results, 1)
        allocator.Decommit()
        thread.join(THREAD_TIMEOUT)
        try:
            got = results.get_nowait()
            assert isinstance(got, VfwNotCommittedError)
            assert got.hresult == HRESULT.VFW_E_NOT_COMMITTED
        finally:
            self.release([held])

    def test_one_release_wakes_one_waiter(self) -> None:
        """With two threads waiting, one released sample goes to exactly one of them."""
        allocator = self.committed(1, 16)
        (held,) = self.take(allocator, 1)
        results: queue.Queue[Any] = queue.Queue()
        threads = self.start_waiters(allocator, results, 2)
        self.release([held])
        first = results.get(timeout=THREAD_TIMEOUT)
        time.sleep(0.05)  # a second winner would show up now
        assert results.empty()
        allocator.Decommit()
        for thread in threads:
            thread.join(THREAD_TIMEOUT)
        second = results.get_nowait()
        assert first is held
        assert isinstance(second, VfwNotCommittedError)
        self.release([first])

    # -- memory layout ---------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("align", "prefix", "size"),
        [
            (1, 0, 1),
            (4, 0, 3),
            (16, 0, 17),
            (16, 1, 1),
            (16, 16, 16),
            (64, 8, 100),
            (32, 5, 33),
            (4096, 0, 10),
            (256, 300, 1000),
        ],
    )
    def test_memory_layout(self, align: int, prefix: int, size: int) -> None:
        """Each sample's prefix start (data address - prefix) is a multiple of align, and no
        two samples' [prefix start, data end) regions overlap."""
        allocator = self.committed(4, size, align, prefix)
        actual = allocator.GetProperties().buffer_size
        samples = self.take(allocator, 4)
        try:
            regions = []
            for sample in samples:
                address = data_address(sample)
                assert (address - prefix) % align == 0, (hex(address), align, prefix)
                regions.append((address - prefix, address + actual))
            regions.sort()
            for (_, end), (start, _) in itertools.pairwise(regions):
                assert end <= start
        finally:
            self.release(samples)

    def test_sample_data_are_separate(self) -> None:
        """Bytes written to one sample's data never show in another's."""
        allocator = self.committed(3, 56, 16, 8)  # 56 + 8 fills whole 16-byte units
        samples = self.take(allocator, 3)
        try:
            for index, sample in enumerate(samples):
                view = sample.GetPointer()
                view[:] = bytes([index + 1]) * 56
                view.release()
            for index, sample in enumerate(samples):
                view = sample.GetPointer()
                assert view.tobytes() == bytes([index + 1]) * 56
                view.release()
        finally:
            self.release(samples)

    # -- IMemAllocatorCallbackTemp: GetFreeCount -------------------------------------------

    def test_free_count_fresh(self) -> None:
        """A fresh allocator's GetFreeCount is 0 (no buffers configured)."""
        assert self.callback_temp(self.fresh()).GetFreeCount() == 0

    def test_free_count_before_commit(self) -> None:
        """Before the first Commit GetFreeCount equals the configured buffers."""
        allocator = self.callback_temp(self.configured(3, 16))
        assert allocator.GetFreeCount() == 3

    def test_free_count_tracks_samples_held(self) -> None:
        """GetFreeCount drops by one per sample held and is back to buffers when all are
        home."""
        allocator = self.callback_temp(self.committed(3, 16))
        assert allocator.GetFreeCount() == 3
        samples = []
        for expected in (2, 1, 0):
            samples.append(allocator.GetBuffer(flags=AM_GBF_NOWAIT))
            assert allocator.GetFreeCount() == expected
        extra = samples[0]
        assert extra.AddRef() == 2
        assert extra.Release() == 1
        assert allocator.GetFreeCount() == 0
        for expected, sample in zip((1, 2, 3), samples, strict=True):
            assert sample.Release() == 0
            assert allocator.GetFreeCount() == expected

    def test_free_count_across_decommit(self) -> None:
        """A sample out after Decommit still counts as held; when it comes home
        GetFreeCount is buffers again."""
        allocator = self.callback_temp(self.committed(2, 16))
        (sample,) = self.take(allocator, 1)
        allocator.Decommit()
        assert allocator.GetFreeCount() == 1
        self.release([sample])
        assert allocator.GetFreeCount() == 2

    # -- IMemAllocatorCallbackTemp: SetNotify ----------------------------------------------

    def test_notify_once_per_final_release(self) -> None:
        """NotifyRelease runs once per final Release and never for a non-final one."""
        allocator = self.callback_temp(self.committed(2, 16))
        recorder = NotifyRecorder(allocator)
        allocator.SetNotify(recorder)
        a, b = self.take(allocator, 2)
        assert a.AddRef() == 2
        assert a.Release() == 1
        assert recorder.calls == []
        assert a.Release() == 0
        assert len(recorder.calls) == 1
        assert b.Release() == 0
        assert len(recorder.calls) == 2
        allocator.SetNotify(None)

    def test_notify_after_sample_is_home(self) -> None:
        """Inside NotifyRelease the sample is already back: GetFreeCount counts it and
        GetBuffer can take it (no allocator lock is held)."""
        allocator = self.callback_temp(self.committed(2, 16))
        recorder = NotifyRecorder(allocator)
        taken: list[Any] = []

        def take_it_back() -> None:
            if not taken:
                taken.append(allocator.GetBuffer(flags=AM_GBF_NOWAIT))

        recorder.on_notify = take_it_back
        allocator.SetNotify(recorder)
        a, b = self.take(allocator, 2)
        assert a.Release() == 0
        assert [free for _, free in recorder.calls] == [1]
        assert taken == [a]
        recorder.on_notify = None
        self.release([b, a])
        assert [free for _, free in recorder.calls] == [1, 1, 2]
        allocator.SetNotify(None)

    def test_notify_on_releasing_thread(self) -> None:
        """NotifyRelease runs on the thread whose Release sent the sample home."""
        allocator = self.callback_temp(self.committed(1, 16))
        recorder = NotifyRecorder(allocator)
        allocator.SetNotify(recorder)
        (sample,) = self.take(allocator, 1)
        idents: list[int] = []

        def release() -> None:
            idents.append(threading.get_ident())
            sample.Release()

        thread = threading.Thread(target=release, name="contract-release")
        thread.start()
        thread.join(THREAD_TIMEOUT)
        assert [ident for ident, _ in recorder.calls] == idents
        assert idents != [threading.get_ident()]
        allocator.SetNotify(None)

    def test_set_notify_none_stops_callbacks(self) -> None:
        """After SetNotify(None) no NotifyRelease runs."""
        allocator = self.callback_temp(self.committed(1, 16))
        recorder = NotifyRecorder(allocator)
        allocator.SetNotify(recorder)
        allocator.SetNotify(None)
        self.release(self.take(allocator, 1))
        assert recorder.calls == []

    def test_set_notify_replaces(self) -> None:
        """A second SetNotify replaces the first callback."""
        allocator = self.callback_temp(self.committed(1, 16))
        first, second = NotifyRecorder(allocator), NotifyRecorder(allocator)
        allocator.SetNotify(first)
        allocator.SetNotify(second)
        self.release(self.take(allocator, 1))
        assert (len(first.calls), len(second.calls)) == (0, 1)
        allocator.SetNotify(None)

    def test_notify_that_raises_does_not_break_release(self) -> None:
        """A NotifyRelease that raises does not reach the releaser: Release returns 0 and the
        sample is home."""
        allocator = self.callback_temp(self.committed(1, 16))
        recorder = NotifyRecorder(allocator)
        recorder.error = RuntimeError("callback failure")
        allocator.SetNotify(recorder)
        (sample,) = self.take(allocator, 1)
        assert sample.Release() == 0
        assert len(recorder.calls) == 1
        assert allocator.GetFreeCount() == 1
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            sample.GetSize()
        again = allocator.GetBuffer(flags=AM_GBF_NOWAIT)
        assert again is sample
        allocator.SetNotify(None)
        self.release([again])

    def test_notify_when_decommit_completes(self) -> None:
        """The last sample coming home after Decommit still notifies, with GetFreeCount back
        at buffers."""
        allocator = self.callback_temp(self.committed(2, 16))
        recorder = NotifyRecorder(allocator)
        allocator.SetNotify(recorder)
        a, b = self.take(allocator, 2)
        allocator.Decommit()
        self.release([a, b])
        assert [free for _, free in recorder.calls] == [1, 2]
        allocator.SetNotify(None)
