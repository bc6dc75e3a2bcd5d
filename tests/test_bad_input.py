"""Bad input to every public entry point raises the specified error and changes nothing.

Wrong types raise ``TypeError``; bad values raise ``ValueError`` or the COMError the spec names
(API.md §3-5 and the interface docstrings). After each refusal the object's observable state
(properties, counts, free count, flags, times, bytes, reference counts) is what it was before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import attrs
import pytest

import dshow_alloc
from dshow_alloc import (
    AM_GBF_NOWAIT,
    AM_SAMPLE_PREROLL,
    AM_SAMPLE_SPLICEPOINT,
    AM_SAMPLE_TIMEVALID,
    AM_SAMPLE_TYPECHANGED,
    MEDIASUBTYPE_NV12,
    AccessDeniedError,
    AllocationParams,
    AllocatorProperties,
    COMError,
    ComObject,
    FORMAT_VideoInfo,
    InvalidArgError,
    MapFlags,
    MapInfo,
    MediaSample,
    MediaType,
    MEDIATYPE_Video,
    MemAllocator,
    Memory,
    MemoryFlags,
    NoInterfaceError,
    PointerError,
    SampleProperties,
    SharedMemoryAllocator,
    SystemMemoryAllocator,
    UnexpectedError,
    VfwAlreadyCommittedError,
    VfwBadAlignError,
    VfwBufferOverflowError,
    VfwBuffersOutstandingError,
    VfwMediaTimeNotSetError,
    VfwNotCommittedError,
    VfwSampleTimeNotSetError,
    VfwSizeNotSetError,
    VfwTimeoutError,
    VideoInfoHeader,
    WaveFormatEx,
    find_allocator,
    fourcc_subtype,
    register_allocator,
    set_default_allocator,
)
from interfaces import IMemAllocator, IMemory, IUnknown

SIZE = 64
REQUEST = AllocatorProperties(buffers=2, buffer_size=SIZE, align=16, prefix=0)
NV12 = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo)


# -- state snapshots -----------------------------------------------------------------------


def allocator_state(allocator: MemAllocator) -> tuple[Any, ...]:
    """What a user can observe of an allocator: properties, free count, count, open or not."""
    try:
        probe = allocator.GetBuffer(flags=AM_GBF_NOWAIT)
    except VfwNotCommittedError:
        opened = "not committed"
    except VfwTimeoutError:
        opened = "committed, none free"
    else:
        probe.Release()  # back on top of the LIFO stack: the order is unchanged
        opened = "committed"
    return (allocator.GetProperties(), allocator.GetFreeCount(), allocator.ref_count, opened)


def sample_state(sample: MediaSample) -> tuple[Any, ...]:
    """Everything IMediaSample2 reports, the media time and the bytes included."""
    try:
        time: Any = sample.GetTime()
    except VfwSampleTimeNotSetError:
        time = "no time"
    try:
        media_time: Any = sample.GetMediaTime()
    except VfwMediaTimeNotSetError:
        media_time = "no media time"
    with sample.GetPointer() as view:
        data = bytes(view)
    return (
        sample.GetProperties(),
        time,
        media_time,
        sample.ref_count,
        sample.GetSize(),
        sample.GetActualDataLength(),
        sample.IsSyncPoint(),
        sample.IsPreroll(),
        sample.IsDiscontinuity(),
        sample.GetMediaType(),
        data,
    )


def dress(sample: MediaSample) -> None:
    """Give a sample a state in which every field differs from its default."""
    sample.SetTime(100, 200)
    sample.SetMediaTime(1, 2)
    sample.SetSyncPoint(True)
    sample.SetPreroll(True)
    sample.SetMediaType(NV12)
    sample.SetActualDataLength(5)
    sample.SetProperties(attrs.evolve(sample.GetProperties(), type_specific_flags=7, stream_id=1))
    with sample.GetPointer() as view:
        view[:4] = b"abcd"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def allocator() -> Iterator[MemAllocator]:
    """A committed allocator of two 64-byte samples."""
    alloc = MemAllocator()
    alloc.SetProperties(REQUEST)
    alloc.Commit()
    yield alloc
    alloc.Decommit()


@pytest.fixture
def sample(allocator: MemAllocator) -> Iterator[MediaSample]:
    """A sample from `allocator` with every property set to a non-default value."""
    taken = allocator.GetBuffer()
    try:
        dress(taken)
        yield taken
    finally:
        if taken.ref_count > 0:
            taken.Release()


def call(func: Callable[..., Any], *args: Any) -> None:
    """Call ``func``; give back whatever an unexpected success handed out, then re-raise."""
    result = func(*args)
    if isinstance(result, MapInfo):
        if result.mapped:
            result.memory.Unmap(result)
    elif isinstance(result, MediaSample | Memory) and result.ref_count > 0:
        result.Release()


class Callback:
    """An IMemAllocatorNotifyCallbackTemp that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def NotifyRelease(self) -> None:
        self.calls += 1


# -- MediaSample ---------------------------------------------------------------------------

T = TypeError
SAMPLE_TABLE: list[Any] = [
    # wrong types
    ("SetActualDataLength", ("1",), T),
    ("SetActualDataLength", (1.5,), T),
    ("SetActualDataLength", (None,), T),
    ("SetTime", (1.5,), T),
    ("SetTime", (100.0, 200.0), T),
    ("SetTime", ("0",), T),
    ("SetTime", (0, 1.5), T),
    ("SetTime", (0, "1"), T),
    ("SetMediaTime", (1.5, 2), T),
    ("SetMediaTime", (1, 2.5), T),
    ("SetMediaTime", ("1", "2"), T),
    ("SetSyncPoint", ("yes",), T),
    ("SetSyncPoint", (None,), T),
    ("SetPreroll", ("no",), T),
    ("SetPreroll", (1.0,), T),
    ("SetDiscontinuity", (None,), T),
    ("SetDiscontinuity", ([],), T),
    ("SetMediaType", ("video",), T),
    ("SetMediaType", (MEDIATYPE_Video,), T),
    ("SetMediaType", ({},), T),
    ("SetProperties", ({},), T),
    ("SetProperties", (AllocatorProperties(),), T),
    ("SetProperties", (None,), (TypeError, PointerError)),
    ("QueryInterface", ("IMediaSample",), T),
    ("QueryInterface", (None,), T),
    # wrong arity
    ("GetPointer", (1,), T),
    ("GetSize", (1,), T),
    ("GetActualDataLength", (1,), T),
    ("GetTime", (1,), T),
    ("GetMediaTime", (1,), T),
    ("IsSyncPoint", (1,), T),
    ("IsPreroll", (1,), T),
    ("IsDiscontinuity", (1,), T),
    ("GetMediaType", (1,), T),
    ("GetProperties", (1,), T),
    ("AddRef", (1,), T),
    ("Release", (1,), T),
    ("SetActualDataLength", (), T),
    ("SetSyncPoint", (), T),
    ("SetPreroll", (), T),
    ("SetDiscontinuity", (), T),
    ("SetMediaType", (), T),
    ("SetMediaTime", (1,), T),
    ("SetProperties", (), T),
    ("QueryInterface", (), T),
    # bad values
    ("SetTime", (2**63,), ValueError),
    ("SetTime", (0, -(2**63) - 1), ValueError),
    ("SetMediaTime", (2**63, 0), ValueError),
    ("SetMediaTime", (0, 2**63), ValueError),
    ("SetActualDataLength", (-1,), VfwBufferOverflowError),
    ("SetActualDataLength", (SIZE + 1,), VfwBufferOverflowError),
    ("SetMediaTime", (1, None), PointerError),
    ("SetProperties", (SampleProperties(sample_flags=0x20, size=SIZE),), InvalidArgError),
    ("SetProperties", (SampleProperties(sample_flags=0x31),), InvalidArgError),
    ("SetProperties", (SampleProperties(sample_flags=0x200),), InvalidArgError),
    ("SetProperties", (SampleProperties(sample_flags=0x400),), InvalidArgError),
    ("SetProperties", (SampleProperties(sample_flags=0x8000_0000),), InvalidArgError),
    ("SetProperties", (SampleProperties(size=SIZE - 1),), InvalidArgError),
    ("SetProperties", (SampleProperties(size=SIZE + 1),), InvalidArgError),
    ("SetProperties", (SampleProperties(actual=SIZE + 1),), InvalidArgError),
    ("SetProperties", (SampleProperties(actual=-1),), InvalidArgError),
    ("SetProperties", (SampleProperties(sample_flags=AM_SAMPLE_TYPECHANGED),), PointerError),
    ("QueryInterface", (IMemAllocator,), NoInterfaceError),
    ("QueryInterface", (UUID(int=1),), NoInterfaceError),
]


def _ids(row: Any) -> str:
    name, args, _ = getattr(row, "values", row)  # a plain row or a pytest.param
    return f"{name}({', '.join(_label(a) for a in args)})"


def _label(value: Any) -> str:
    """A stable id for an argument: no memory address, so that every pytest-xdist worker
    collects the same tests."""
    text = repr(value)[:24]
    return re.sub(r" at 0x[0-9a-f]*", "", text)


@pytest.mark.parametrize(("method", "args", "error"), SAMPLE_TABLE, ids=map(_ids, SAMPLE_TABLE))
def test_sample_bad_input_changes_nothing(
    sample: MediaSample,
    allocator: MemAllocator,
    method: str,
    args: tuple[Any, ...],
    error: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """Each bad call on a held sample raises the named error; sample and pool are unchanged."""
    before = sample_state(sample)
    pool_before = allocator_state(allocator)
    with pytest.raises(error):
        call(getattr(sample, method), *args)
    assert sample_state(sample) == before
    assert allocator_state(allocator) == pool_before


def test_sample_com_errors_carry_exact_codes(sample: MediaSample) -> None:
    """The refusals above carry the Windows codes themselves, not just the classes."""
    with pytest.raises(COMError) as info:
        sample.SetActualDataLength(SIZE + 1)
    assert info.value.hresult == 0x8004020D  # VFW_E_BUFFER_OVERFLOW
    with pytest.raises(COMError) as info:
        sample.SetMediaTime(1, None)
    assert info.value.hresult == 0x80004003  # E_POINTER
    with pytest.raises(COMError) as info:
        sample.SetProperties(SampleProperties(sample_flags=0x20))
    assert info.value.hresult == 0x80070057  # E_INVALIDARG
    assert isinstance(info.value, ValueError)


def test_unset_times_raise_and_change_nothing(allocator: MemAllocator) -> None:
    """GetTime/GetMediaTime on a fresh sample raise their NOT_SET codes; nothing changes."""
    with allocator.GetBuffer() as fresh:
        before = sample_state(fresh)
        assert before[1:3] == ("no time", "no media time")
        with pytest.raises(VfwSampleTimeNotSetError) as info:
            fresh.GetTime()
        assert info.value.hresult == 0x80040249
        with pytest.raises(VfwMediaTimeNotSetError) as info:
            fresh.GetMediaTime()
        assert info.value.hresult == 0x80040251
        fresh.SetTime(None, 5)  # a stop without a start sets nothing
        with pytest.raises(VfwSampleTimeNotSetError):
            fresh.GetTime()
        assert sample_state(fresh) == before


def test_refused_set_properties_keeps_time_flags(sample: MediaSample) -> None:
    """A SetProperties refused for its size leaves every flag of a dressed sample in place."""
    props = sample.GetProperties()
    assert props.sample_flags & (AM_SAMPLE_TIMEVALID | AM_SAMPLE_SPLICEPOINT | AM_SAMPLE_PREROLL)
    with pytest.raises(InvalidArgError):
        sample.SetProperties(attrs.evolve(props, sample_flags=0, size=SIZE * 2))
    assert sample.GetProperties() == props
    assert sample.GetTime() == (100, 200)


#: Valid calls, each refused on a sample that went back to its pool.
RELEASED_CALLS: list[Any] = [
    ("GetPointer", ()),
    ("GetSize", ()),
    ("GetActualDataLength", ()),
    ("SetActualDataLength", (1,)),
    ("GetTime", ()),
    ("SetTime", (1, 2)),
    ("SetTime", ()),
    ("GetMediaTime", ()),
    ("SetMediaTime", (1, 2)),
    ("SetMediaTime", (None, None)),
    ("IsSyncPoint", ()),
    ("SetSyncPoint", (True,)),
    ("IsPreroll", ()),
    ("SetPreroll", (True,)),
    ("IsDiscontinuity", ()),
    ("SetDiscontinuity", (True,)),
    ("GetMediaType", ()),
    ("SetMediaType", (NV12,)),
    ("SetMediaType", (None,)),
    ("GetProperties", ()),
    ("SetProperties", (SampleProperties(actual=1),)),
    ("AddRef", ()),
    ("Release", ()),
    ("QueryInterface", (IUnknown,)),
]


@pytest.mark.parametrize(("method", "args"), RELEASED_CALLS)
def test_call_on_released_sample(
    allocator: MemAllocator, method: str, args: tuple[Any, ...]
) -> None:
    """Any call on a sample that went home raises E_UNEXPECTED and changes nothing."""
    taken = allocator.GetBuffer()
    dress(taken)
    assert taken.Release() == 0
    pool_before = allocator_state(allocator)
    with pytest.raises(UnexpectedError) as info:
        getattr(taken, method)(*args)
    assert info.value.hresult == 0x8000FFFF
    assert taken.ref_count == 0
    assert allocator_state(allocator) == pool_before
    again = allocator.GetBuffer()  # LIFO: the same sample, reset by its final Release
    try:
        assert again is taken
        props = again.GetProperties()
        assert (props.sample_flags, props.type_specific_flags, props.stream_id) == (0, 0, 0)
        assert props.media_type is None
        assert props.actual == 5  # the actual data length survives a release
        with pytest.raises(VfwMediaTimeNotSetError):
            again.GetMediaTime()
    finally:
        again.Release()


def test_release_below_zero(allocator: MemAllocator) -> None:
    """A second final Release raises E_UNEXPECTED and does not put the sample home twice."""
    taken = allocator.GetBuffer()
    assert taken.Release() == 0
    assert allocator.GetFreeCount() == 2
    with pytest.raises(UnexpectedError):
        taken.Release()
    assert taken.ref_count == 0
    assert allocator.GetFreeCount() == 2
    first = allocator.GetBuffer()
    second = allocator.GetBuffer()
    try:
        assert first is not second
        assert allocator.GetFreeCount() == 0
        with pytest.raises(VfwTimeoutError):
            allocator.GetBuffer(flags=AM_GBF_NOWAIT)
    finally:
        first.Release()
        second.Release()
    assert allocator.GetFreeCount() == 2


# -- MemAllocator --------------------------------------------------------------------------

ALLOCATOR_TABLE: list[Any] = [
    ("SetProperties", (None,), (TypeError, PointerError)),
    ("SetProperties", ({"buffers": 1},), T),
    ("SetProperties", ((2, 64, 16, 0),), T),
    ("SetProperties", (AllocatorProperties,), T),
    ("SetProperties", (SampleProperties(),), T),
    ("SetProperties", (), T),
    ("GetProperties", (1,), T),
    ("Commit", (1,), T),
    ("Decommit", (1,), T),
    ("GetFreeCount", (1,), T),
    ("outstanding", (1,), T),
    ("GetBuffer", (None, None, "4"), T),
    ("GetBuffer", (None, None, 4.0), T),
    ("GetBuffer", (None, None, None), T),
    pytest.param(
        "GetBuffer",
        (None, None, -1),
        ValueError,
    ),
    ("SetNotify", (42,), T),
    ("SetNotify", ("NotifyRelease",), T),
    ("SetNotify", (object(),), T),
    ("SetNotify", (), T),
    ("ReleaseBuffer", (None,), T),
    ("ReleaseBuffer", (42,), T),
    ("QueryInterface", ("IMemAllocator",), T),
    ("QueryInterface", (IMemory,), NoInterfaceError),
    ("AddRef", (1,), T),
    ("Release", (1,), T),
]


@pytest.mark.parametrize(
    ("method", "args", "error"), ALLOCATOR_TABLE, ids=map(_ids, ALLOCATOR_TABLE)
)
def test_allocator_bad_input_changes_nothing(
    allocator: MemAllocator,
    method: str,
    args: tuple[Any, ...],
    error: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """Each bad call on a committed allocator raises the named error; the pool is unchanged."""
    callback = Callback()
    allocator.SetNotify(callback)
    before = allocator_state(allocator)
    calls = callback.calls
    with pytest.raises(error):
        call(getattr(allocator, method), *args)
    assert callback.calls == calls
    assert allocator_state(allocator) == before
    with allocator.GetBuffer():
        pass
    assert callback.calls == calls + 2  # the old callback is still the one set (probe + this)
    allocator.SetNotify(None)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": "1"}, {"timeout": [1]}, {"timeout": -1}, {"timeout": -0.5}],
    ids=["timeout-str", "timeout-list", "timeout-negative", "timeout-negative-float"],
)
def test_get_buffer_bad_timeout(allocator: MemAllocator, kwargs: dict[str, Any]) -> None:
    """A timeout that is not a number raises TypeError, a negative one ValueError."""
    before = allocator_state(allocator)
    error = ValueError if isinstance(kwargs["timeout"], int | float) else TypeError
    with pytest.raises(error):
        allocator.GetBuffer(**kwargs)
    assert allocator_state(allocator) == before


@pytest.mark.parametrize(
    "request_",
    [
        AllocatorProperties(2, 64, 0, 0),
        AllocatorProperties(2, 64, 3, 0),
        AllocatorProperties(2, 64, 6, 0),
        AllocatorProperties(2, 64, 24, 8),
    ],
    ids=["align0", "align3", "align6", "align24"],
)
@pytest.mark.parametrize("state", ["fresh", "configured", "committed", "outstanding"])
def test_set_properties_bad_align(request_: AllocatorProperties, state: str) -> None:
    """An alignment that is not a power of two raises VFW_E_BADALIGN first, in every state."""
    alloc = MemAllocator()
    held: list[MediaSample] = []
    if state != "fresh":
        alloc.SetProperties(REQUEST)
    if state in ("committed", "outstanding"):
        alloc.Commit()
    if state == "outstanding":
        held.append(alloc.GetBuffer())
        alloc.Decommit()
    try:
        before = allocator_state(alloc)
        with pytest.raises(VfwBadAlignError) as info:
            alloc.SetProperties(request_)
        assert info.value.hresult == 0x8004020E
        assert allocator_state(alloc) == before
    finally:
        for s in held:
            s.Release()
        alloc.Decommit()


def test_set_properties_while_committed(allocator: MemAllocator) -> None:
    """SetProperties on a committed allocator raises VFW_E_ALREADY_COMMITTED; nothing changes."""
    with allocator.GetBuffer() as held:
        dress(held)
        before = allocator_state(allocator)
        held_before = sample_state(held)
        with pytest.raises(VfwAlreadyCommittedError) as info:
            allocator.SetProperties(AllocatorProperties(4, 128, 1, 0))
        assert info.value.hresult == 0x8004020F
        assert allocator_state(allocator) == before
        assert sample_state(held) == held_before


def test_set_properties_with_samples_outstanding(allocator: MemAllocator) -> None:
    """After Decommit with a sample out, SetProperties raises VFW_E_BUFFERS_OUTSTANDING."""
    held = allocator.GetBuffer()
    try:
        dress(held)
        allocator.Decommit()
        before = allocator_state(allocator)
        held_before = sample_state(held)
        with pytest.raises(VfwBuffersOutstandingError) as info:
            allocator.SetProperties(AllocatorProperties(4, 128, 1, 0))
        assert info.value.hresult == 0x80040210
        assert allocator_state(allocator) == before
        assert before[0] == REQUEST
        assert sample_state(held) == held_before
        with held.GetPointer() as view:
            view[:] = b"\xff" * SIZE  # still writable
    finally:
        held.Release()
    assert allocator.GetFreeCount() == 2


@pytest.mark.parametrize(
    "request_",
    [
        None,
        AllocatorProperties(0, 0, 1, 0),
        AllocatorProperties(1, 0, 1, 0),
        AllocatorProperties(0, 64, 16, 0),
        AllocatorProperties(1, 0, 16, 16),
    ],
    ids=["never-configured", "zeros", "size0", "buffers0", "size0-prefix16"],
)
def test_commit_size_not_set(request_: AllocatorProperties | None) -> None:
    """Commit without buffers or size raises VFW_E_SIZENOTSET and stays uncommitted."""
    alloc = MemAllocator()
    if request_ is not None:
        alloc.SetProperties(request_)
    before = allocator_state(alloc)
    assert before[3] == "not committed"
    with pytest.raises(VfwSizeNotSetError) as info:
        alloc.Commit()
    assert info.value.hresult == 0x80040212
    assert allocator_state(alloc) == before
    with pytest.raises(VfwNotCommittedError):
        alloc.GetBuffer()
    # Still configurable: the failed Commit left nothing behind.
    alloc.SetProperties(REQUEST)
    alloc.Commit()
    alloc.Decommit()


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"flags": AM_GBF_NOWAIT}, {"timeout": 0}, {"timeout": 0.01}],
    ids=["blocking", "nowait", "timeout0", "timeout"],
)
def test_get_buffer_not_committed(kwargs: dict[str, Any]) -> None:
    """GetBuffer before Commit or after Decommit raises VFW_E_NOT_COMMITTED at once."""
    alloc = MemAllocator()
    with pytest.raises(VfwNotCommittedError) as info:
        alloc.GetBuffer(**kwargs)
    assert info.value.hresult == 0x80040211
    alloc.SetProperties(REQUEST)
    alloc.Commit()
    alloc.Decommit()
    before = allocator_state(alloc)
    with pytest.raises(VfwNotCommittedError):
        alloc.GetBuffer(**kwargs)
    assert allocator_state(alloc) == before


@pytest.mark.parametrize(
    "kwargs",
    [{"flags": AM_GBF_NOWAIT}, {"flags": AM_GBF_NOWAIT | 3}, {"timeout": 0}, {"timeout": 0.01}],
    ids=["nowait", "nowait+hints", "timeout0", "timeout"],
)
def test_get_buffer_none_free(allocator: MemAllocator, kwargs: dict[str, Any]) -> None:
    """With every sample out, NOWAIT or a timeout raises VFW_E_TIMEOUT; holders keep theirs."""
    first = allocator.GetBuffer()
    second = allocator.GetBuffer()
    try:
        dress(first)
        states = (sample_state(first), sample_state(second))
        before = allocator_state(allocator)
        assert before[1:] == (0, 1, "committed, none free")
        with pytest.raises(VfwTimeoutError) as info:
            allocator.GetBuffer(**kwargs)
        assert info.value.hresult == 0x8004022E
        assert isinstance(info.value, TimeoutError)
        assert (sample_state(first), sample_state(second)) == states
        assert allocator_state(allocator) == before
    finally:
        first.Release()
        second.Release()


def test_release_buffer_of_held_sample(allocator: MemAllocator, sample: MediaSample) -> None:
    """ReleaseBuffer of a sample whose count is not 0 raises E_UNEXPECTED; nothing changes."""
    before = allocator_state(allocator)
    held_before = sample_state(sample)
    with pytest.raises(UnexpectedError):
        allocator.ReleaseBuffer(sample)
    assert allocator_state(allocator) == before
    assert sample_state(sample) == held_before


def test_release_buffer_of_sample_already_home(allocator: MemAllocator) -> None:
    """ReleaseBuffer of a sample already on the free list raises E_UNEXPECTED."""
    taken = allocator.GetBuffer()
    taken.Release()
    before = allocator_state(allocator)
    with pytest.raises(UnexpectedError):
        allocator.ReleaseBuffer(taken)
    assert allocator_state(allocator) == before


def test_release_buffer_of_foreign_sample(allocator: MemAllocator) -> None:
    """ReleaseBuffer of another allocator's sample raises E_UNEXPECTED in both pools' favour."""
    other = MemAllocator()
    other.SetProperties(REQUEST)
    other.Commit()
    try:
        foreign = other.GetBuffer()
        try:
            before = (allocator_state(allocator), allocator_state(other), sample_state(foreign))
            with pytest.raises(UnexpectedError):
                allocator.ReleaseBuffer(foreign)
            after = (allocator_state(allocator), allocator_state(other), sample_state(foreign))
            assert after == before
        finally:
            foreign.Release()
        before_home = (allocator_state(allocator), allocator_state(other))
        with pytest.raises(UnexpectedError):
            allocator.ReleaseBuffer(foreign)
        assert (allocator_state(allocator), allocator_state(other)) == before_home
    finally:
        other.Decommit()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"memory_allocator": 42}, TypeError, id="memory_allocator-int"),
        pytest.param({"memory_allocator": object()}, TypeError, id="memory_allocator-object"),
        pytest.param({"memory_allocator": MemAllocator}, TypeError, id="memory_allocator-class"),
        pytest.param(
            {"memory_allocator": "NoSuchMemory"}, ValueError, id="memory_allocator-unknown"
        ),
        pytest.param({"starvation_warning": -1}, ValueError, id="starvation-negative"),
        pytest.param({"starvation_warning": 0}, ValueError, id="starvation-zero"),
        pytest.param({"starvation_warning": "5"}, TypeError, id="starvation-str"),
        pytest.param(
            {"name": 42},
            TypeError,
            id="name-int",
        ),
        pytest.param({"unknown": 1}, TypeError, id="unknown-keyword"),
    ],
)
def test_mem_allocator_constructor(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """MemAllocator refuses a memory allocator that is neither an IMemoryAllocator nor a name."""
    with pytest.raises(error):
        MemAllocator(**kwargs)


def test_mem_allocator_positional_arguments_refused() -> None:
    """MemAllocator() takes keywords only (it is CLSID_MemoryAllocator: no required state)."""
    with pytest.raises(TypeError):
        MemAllocator(SystemMemoryAllocator())  # type: ignore[misc]


# -- reference counts of plain COM objects -------------------------------------------------


@pytest.mark.parametrize(
    "factory",
    [ComObject, MemAllocator, SystemMemoryAllocator, SharedMemoryAllocator],
    ids=lambda f: f.__name__,
)
def test_release_below_zero_on_com_objects(factory: Callable[[], Any]) -> None:
    """Release at count 0, or AddRef after the final Release, raises E_UNEXPECTED."""
    obj = factory()
    assert obj.ref_count == 1
    assert obj.Release() == 0
    for call in (obj.Release, obj.AddRef):
        with pytest.raises(UnexpectedError) as info:
            call()
        assert info.value.hresult == 0x8000FFFF
        assert obj.ref_count == 0


# -- Memory --------------------------------------------------------------------------------

MEMORY_ALLOCATORS = [
    pytest.param(lambda: find_allocator("SystemMemory"), id="SystemMemory"),
    pytest.param(lambda: find_allocator("SharedMemory"), id="SharedMemory"),
]


def open_fds() -> int:
    """How many file descriptors this process has open (memfds included)."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(params=MEMORY_ALLOCATORS)
def mem_allocator(request: pytest.FixtureRequest) -> Any:
    """Each built-in memory allocator in turn."""
    return request.param()


@pytest.fixture
def memory(mem_allocator: Any) -> Iterator[Memory]:
    """32 bytes with an 8-byte prefix and padding, filled with 0..31."""
    mem = mem_allocator.Alloc(32, AllocationParams(align=16, prefix=8, padding=8))
    with mem.Map(MapFlags.WRITE) as info:
        info.data[:] = bytes(range(32))
    try:
        yield mem
    finally:
        if mem.ref_count > 0:
            mem.Release()


def memory_state(mem: Memory) -> tuple[Any, ...]:
    """The IMemory attributes, the count and the writability."""
    return (
        mem.maxsize,
        mem.offset,
        mem.size,
        mem.align,
        mem.flags,
        mem.allocator,
        mem.parent,
        mem.ref_count,
        mem.IsWritable(),
    )


def memory_bytes(mem: Memory) -> bytes:
    """The valid bytes, read through a READ mapping."""
    with mem.Map(MapFlags.READ) as info:
        return bytes(info.data)


MEMORY_TABLE: list[Any] = [
    ("Map", ("r",), T),
    ("Map", (None,), T),
    ("Map", (1.0,), T),
    ("Map", (0,), ValueError),
    ("Map", (8,), ValueError),
    ("Map", (MapFlags.READ | 4,), ValueError),
    ("Map", (7,), ValueError),
    ("Map", (MapFlags.READWRITE | 8,), ValueError),
    ("Unmap", (None,), T),
    ("Unmap", ("info",), T),
    ("Resize", ("1", 1), T),
    ("Resize", (0, 1.5), T),
    ("Resize", (0, None), T),
    ("Resize", (0,), T),
    ("Resize", (0, -1), ValueError),
    ("Resize", (-9, 8), ValueError),
    ("Resize", (0, 10**9), ValueError),
    ("Share", ("0",), T),
    ("Share", (0, 1.5), T),
    ("Share", (0, -1), ValueError),
    ("Share", (-9,), ValueError),
    ("Share", (0, 10**9), ValueError),
    ("Copy", (None,), T),
    ("Copy", (0, "8"), T),
    ("Copy", (0, -1), ValueError),
    ("Copy", (-9,), ValueError),
    ("Copy", (0, 10**9), ValueError),
    ("IsSpan", (None,), T),
    ("IsSpan", (42,), T),
    ("IsSpan", (), T),
    ("IsWritable", (1,), T),
    ("QueryInterface", ("IMemory",), T),
    ("QueryInterface", (IMemAllocator,), NoInterfaceError),
    ("AddRef", (1,), T),
    ("Release", (1,), T),
]


@pytest.mark.parametrize(("method", "args", "error"), MEMORY_TABLE, ids=map(_ids, MEMORY_TABLE))
def test_memory_bad_input_changes_nothing(
    memory: Memory,
    method: str,
    args: tuple[Any, ...],
    error: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """Each bad call on a memory raises the named error; attributes, locks and bytes stay."""
    before = memory_state(memory)
    fds = open_fds()
    with pytest.raises(error):
        call(getattr(memory, method), *args)
    assert memory_state(memory) == before
    assert memory_bytes(memory) == bytes(range(32))
    assert open_fds() == fds
    with memory.Map(MapFlags.WRITE):  # no lock was left behind
        pass
    child = memory.Share()  # nor an exclusive claim: one more holder still leaves it writable
    assert memory.IsWritable()
    child.Release()


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        (MapFlags.READ, MapFlags.WRITE),
        (MapFlags.READ, MapFlags.READWRITE),
        (MapFlags.WRITE, MapFlags.READ),
        (MapFlags.WRITE, MapFlags.READWRITE),
    ],
    ids=["READ-then-WRITE", "READ-then-READWRITE", "WRITE-then-READ", "WRITE-then-READWRITE"],
)
def test_nested_map_refused(memory: Memory, outer: MapFlags, inner: MapFlags) -> None:
    """A nested mapping asking for a wider mode raises E_ACCESSDENIED and takes no lock."""
    before = memory_state(memory)
    with memory.Map(outer) as info:
        with pytest.raises(AccessDeniedError) as refusal:
            memory.Map(inner)
        assert refusal.value.hresult == 0x80070005
        assert isinstance(refusal.value, PermissionError)
        assert info.mapped
        assert bytes(info.data) == bytes(range(32))
    assert memory_state(memory) == before
    with memory.Map(inner):  # the refused request left no access mode behind
        pass


def test_write_map_of_readonly_memory(mem_allocator: Any) -> None:
    """Map(WRITE) and Resize of READONLY memory raise E_ACCESSDENIED; READ still works."""
    mem = mem_allocator.Alloc(16, AllocationParams(flags=MemoryFlags.READONLY))
    try:
        before = memory_state(mem)
        for flags in (MapFlags.WRITE, MapFlags.READWRITE):
            with pytest.raises(AccessDeniedError):
                mem.Map(flags)
        with pytest.raises(AccessDeniedError):
            mem.Resize(0, 8)
        assert memory_state(mem) == before
        assert memory_bytes(mem) == bytes(16)
    finally:
        mem.Release()


def test_share_refused(mem_allocator: Any) -> None:
    """Share of NO_SHARE memory, or of memory mapped WRITE, raises E_ACCESSDENIED; no ref taken."""
    mem = mem_allocator.Alloc(16, AllocationParams(flags=MemoryFlags.NO_SHARE))
    try:
        before = memory_state(mem)
        with pytest.raises(AccessDeniedError):
            mem.Share()
        assert memory_state(mem) == before
    finally:
        mem.Release()
    mem = mem_allocator.Alloc(16)
    try:
        before = memory_state(mem)
        with mem.Map(MapFlags.WRITE) as info:
            with pytest.raises(AccessDeniedError):
                mem.Share(0, 8)
            info.data[:2] = b"ok"
        assert memory_state(mem) == before
        assert memory_bytes(mem)[:2] == b"ok"
    finally:
        mem.Release()


def test_resize_of_sub_memory_refused(memory: Memory) -> None:
    """A sub-memory is read-only: Resize and Map(WRITE) raise E_ACCESSDENIED."""
    child = memory.Share(4, 8)
    try:
        parent_before, child_before = memory_state(memory), memory_state(child)
        with pytest.raises(AccessDeniedError):
            child.Resize(0, 4)
        with pytest.raises(AccessDeniedError):
            child.Map(MapFlags.WRITE)
        assert (memory_state(memory), memory_state(child)) == (parent_before, child_before)
        assert memory_bytes(child) == bytes(range(4, 12))
    finally:
        child.Release()


def test_unmap_foreign_or_twice(mem_allocator: Any, memory: Memory) -> None:
    """Unmap of another memory's mapping, or of a closed one, raises ValueError."""
    other = mem_allocator.Alloc(8)
    try:
        info = other.Map(MapFlags.READ)
        before = (memory_state(memory), memory_state(other))
        with pytest.raises(ValueError):
            memory.Unmap(info)
        assert info.mapped
        assert bytes(info.data) == bytes(8)
        assert (memory_state(memory), memory_state(other)) == before
        other.Unmap(info)
        with pytest.raises(ValueError):
            other.Unmap(info)
        with pytest.raises(ValueError):
            info.data.tobytes()  # the view was released by the first Unmap
        with other.Map(MapFlags.WRITE):  # the failed second Unmap took no lock away
            pass
    finally:
        other.Release()


#: Valid calls, each refused on a memory after its final Release.
RELEASED_MEMORY_CALLS: list[Any] = [
    ("Map", ()),
    ("Map", (MapFlags.WRITE,)),
    ("Resize", (0, 4)),
    ("Share", ()),
    ("Copy", ()),
    ("AddRef", ()),
    ("Release", ()),
    ("IsWritable", ()),
    ("IsSpan", ("self",)),
    ("QueryInterface", (IMemory,)),
]


@pytest.mark.parametrize(("method", "args"), RELEASED_MEMORY_CALLS)
def test_call_on_released_memory(mem_allocator: Any, method: str, args: tuple[Any, ...]) -> None:
    """Every method of a finally released memory raises E_UNEXPECTED (IMemory docstring)."""
    mem = mem_allocator.Alloc(16)
    mem.Release()
    args = tuple(mem if a == "self" else a for a in args)
    fds = open_fds()
    with pytest.raises(UnexpectedError) as info:
        getattr(mem, method)(*args)
    assert info.value.hresult == 0x8000FFFF
    assert mem.ref_count == 0
    assert open_fds() == fds


# -- memory allocators ---------------------------------------------------------------------

ALLOC_TABLE: list[Any] = [
    ("Alloc", ("16",), T),
    ("Alloc", (16.0,), T),
    ("Alloc", (None,), T),
    ("Alloc", (), T),
    ("Alloc", (16, {}), T),
    ("Alloc", (16, AllocationParams), T),
    ("Alloc", (16, 16), T),
    ("Alloc", (-1,), ValueError),
    ("QueryInterface", ("IMemoryAllocator",), T),
    ("QueryInterface", (IMemory,), NoInterfaceError),
    ("AddRef", (1,), T),
    ("Release", (1,), T),
    pytest.param(
        "Free",
        (42,),
        T,
    ),
    ("Free", (), T),
]


@pytest.mark.parametrize(("method", "args", "error"), ALLOC_TABLE, ids=map(_ids, ALLOC_TABLE))
def test_memory_allocator_bad_input(
    mem_allocator: Any,
    method: str,
    args: tuple[Any, ...],
    error: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """Bad arguments raise the named error; no memory is made and no descriptor leaks."""
    before = (mem_allocator.mem_type, mem_allocator.flags, mem_allocator.ref_count)
    fds = open_fds()
    with pytest.raises(error):
        call(getattr(mem_allocator, method), *args)
    assert (mem_allocator.mem_type, mem_allocator.flags, mem_allocator.ref_count) == before
    assert open_fds() == fds
    assert find_allocator(before[0]) is mem_allocator


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"align": 0}, ValueError, id="align-0"),
        pytest.param({"align": 3}, ValueError, id="align-3"),
        pytest.param({"align": -16}, ValueError, id="align-negative"),
        pytest.param({"align": 16.0}, TypeError, id="align-float"),
        pytest.param({"align": "16"}, TypeError, id="align-str"),
        pytest.param({"prefix": -1}, ValueError, id="prefix-negative"),
        pytest.param({"prefix": 1.5}, TypeError, id="prefix-float"),
        pytest.param({"padding": -1}, ValueError, id="padding-negative"),
        pytest.param({"padding": None}, TypeError, id="padding-None"),
        pytest.param(
            {"flags": "READONLY"},
            TypeError,
            id="flags-str",
        ),
        pytest.param(
            {"flags": None},
            TypeError,
            id="flags-None",
        ),
    ],
)
def test_allocation_params_constructor(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """AllocationParams checks align (a power of two), prefix, padding and flags."""
    with pytest.raises(error):
        AllocationParams(**kwargs)


# -- the registry --------------------------------------------------------------------------


def registry_state() -> tuple[Any, ...]:
    """The default allocator and the two built-in registrations."""
    return (
        find_allocator(None),
        find_allocator("SystemMemory"),
        find_allocator("SharedMemory"),
        find_allocator("TestBadInput"),
    )


REGISTRY_TABLE: list[Any] = [
    pytest.param(register_allocator, (42, SystemMemoryAllocator()), T, id="register-int-name"),
    pytest.param(register_allocator, (None, SystemMemoryAllocator()), T, id="register-None-name"),
    pytest.param(
        register_allocator, (b"TestBadInput", SystemMemoryAllocator()), T, id="register-bytes-name"
    ),
    pytest.param(register_allocator, ("TestBadInput", object()), T, id="register-object"),
    pytest.param(register_allocator, ("TestBadInput", None), T, id="register-None"),
    pytest.param(
        register_allocator, ("TestBadInput", MemAllocator()), T, id="register-MemAllocator"
    ),
    pytest.param(
        register_allocator, ("TestBadInput", SystemMemoryAllocator), T, id="register-class"
    ),
    pytest.param(register_allocator, ("TestBadInput",), T, id="register-arity"),
    pytest.param(
        register_allocator,
        ("", SystemMemoryAllocator()),
        ValueError,
        id="register-empty-name",
    ),
    pytest.param(find_allocator, (42,), T, id="find-int"),
    pytest.param(find_allocator, (b"SystemMemory",), T, id="find-bytes"),
    pytest.param(find_allocator, ("SystemMemory", 1), T, id="find-arity"),
    pytest.param(set_default_allocator, (None,), T, id="default-None"),
    pytest.param(set_default_allocator, ("SharedMemory",), T, id="default-name"),
    pytest.param(set_default_allocator, (object(),), T, id="default-object"),
    pytest.param(set_default_allocator, (MemAllocator(),), T, id="default-MemAllocator"),
    pytest.param(set_default_allocator, (), T, id="default-arity"),
]


@pytest.mark.parametrize(("func", "args", "error"), REGISTRY_TABLE)
def test_registry_bad_input(
    func: Callable[..., Any], args: tuple[Any, ...], error: type[Exception]
) -> None:
    """Bad names or non-allocators are refused; registrations and the default stay."""
    before = registry_state()
    assert before[3] is None
    with pytest.raises(error):
        func(*args)
    assert registry_state() == before


def test_unknown_name_is_not_an_error() -> None:
    """find_allocator of an unregistered name returns None (no exception, nothing registered)."""
    before = registry_state()
    assert find_allocator("NoSuchAllocator") is None
    assert registry_state() == before


# -- value types and helper functions ------------------------------------------------------

VALUE_TABLE: list[Any] = [
    pytest.param(AllocatorProperties, (-1,), {}, ValueError, id="AllocatorProperties-negative"),
    pytest.param(AllocatorProperties, (1.0,), {}, T, id="AllocatorProperties-float"),
    pytest.param(AllocatorProperties, (), {"cbBuffer": 1}, T, id="AllocatorProperties-alias-kw"),
    pytest.param(AllocatorProperties, (1, 2, 3, 4, 5), {}, T, id="AllocatorProperties-arity"),
    pytest.param(SampleProperties, (), {"start": 1.5}, T, id="SampleProperties-float-time"),
    pytest.param(SampleProperties, (), {"media_type": "x"}, T, id="SampleProperties-media_type"),
    pytest.param(SampleProperties, (), {"size": -1}, ValueError, id="SampleProperties-size"),
    pytest.param(SampleProperties, (), {"start": 2**63}, ValueError, id="SampleProperties-start"),
    pytest.param(MediaType, (), {}, T, id="MediaType-missing"),
    pytest.param(
        MediaType,
        (str(MEDIATYPE_Video), MEDIASUBTYPE_NV12, FORMAT_VideoInfo),
        {},
        T,
        id="MediaType-str-guid",
    ),
    pytest.param(
        MediaType,
        (MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo),
        {"sample_size": -1},
        ValueError,
        id="MediaType-sample_size",
    ),
    pytest.param(VideoInfoHeader, (640.0, 480), {}, T, id="VideoInfoHeader-float"),
    pytest.param(
        VideoInfoHeader, (640, 480), {"bit_rate": -1}, ValueError, id="VideoInfoHeader-rate"
    ),
    pytest.param(WaveFormatEx, (1, 2, 48000.0, 16), {}, T, id="WaveFormatEx-float"),
    pytest.param(WaveFormatEx, (1, -2, 48000, 16), {}, ValueError, id="WaveFormatEx-channels"),
    pytest.param(WaveFormatEx, (1, 2, 48000, 16), {"extra": "x"}, T, id="WaveFormatEx-extra"),
    pytest.param(fourcc_subtype, ("NV1",), {}, ValueError, id="fourcc-short"),
    pytest.param(fourcc_subtype, ("NV123",), {}, ValueError, id="fourcc-long"),
    pytest.param(fourcc_subtype, ("NV\u00e92",), {}, ValueError, id="fourcc-non-ascii"),
    pytest.param(
        fourcc_subtype,
        (42,),
        {},
        T,
        id="fourcc-int",
    ),
    pytest.param(
        fourcc_subtype,
        (b"NV12",),
        {},
        T,
        id="fourcc-bytes",
    ),
    pytest.param(
        dshow_alloc.query_interface, (object(), "IUnknown"), {}, T, id="query_interface-str"
    ),
    pytest.param(
        dshow_alloc.iid_of,
        (42,),
        {},
        T,
        id="iid_of-int",
    ),
    pytest.param(dshow_alloc.FAILED, ("0x80004005",), {}, T, id="FAILED-str"),
    pytest.param(dshow_alloc.SUCCEEDED, (None,), {}, T, id="SUCCEEDED-None"),
    pytest.param(COMError.from_hresult, ("E_FAIL",), {}, T, id="from_hresult-str"),
    pytest.param(dshow_alloc.hresult_error_class, (1.5,), {}, T, id="hresult_error_class-float"),
    pytest.param(COMError, ("E_FAIL",), {}, T, id="COMError-str"),
    pytest.param(VfwTimeoutError, (0x80004005,), {}, ValueError, id="subclass-other-code"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "error"), VALUE_TABLE)
def test_value_constructors_and_helpers(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """Value types and helper functions refuse wrong types and bad values."""
    with pytest.raises(error):
        func(*args, **kwargs)


def test_frozen_values_cannot_be_changed_by_bad_assignment() -> None:
    """Assigning to a frozen value raises and leaves it as it was."""
    props = AllocatorProperties(1, 2, 4, 0)
    for value in (-1, "x"):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            props.buffers = value  # type: ignore[misc]
    assert props == AllocatorProperties(1, 2, 4, 0)
    params = AllocationParams(align=16)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        params.align = 3  # type: ignore[misc]
    assert params.align == 16
