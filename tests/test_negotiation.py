"""Allocator negotiation: ``CBaseOutputPin::DecideAllocator`` step for step, GStreamer's
allocation query on top of it, the tee's merge of its branches' proposals, and the allocator
rules of in-place transforms and tees (pass the downstream allocator upstream, copy only when
a read-only sample would be written, one read-only sample for every tee branch).

The sequence tests record every negotiation call, on the input pin (``ProposeAllocation``,
``GetAllocatorRequirements``, ``GetAllocator``, ``NotifyAllocator``) and on the output pin
(``InitAllocator``, ``DecideBufferSize``), into one shared log and compare it whole with
reference/directshow.md §4.2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from zope.interface import implementer_only

from dshow_alloc import (
    EC_COMPLETE,
    VIDEO_META,
    AllocationQuery,
    CollectingRenderer,
    FilterGraph,
    MemAllocator,
    NullRenderer,
    PoolProposal,
    SourceFilter,
    Tee,
    TransInPlaceFilter,
    find_allocator,
    merge_queries,
)
from dshow_alloc.filters import BaseFilter, size_allocator
from dshow_alloc.hresult import (
    HRESULT,
    AccessDeniedError,
    COMError,
    FailError,
    NotImplError,
    OutOfMemoryError,
    UnexpectedError,
    VfwNoAllocatorError,
    VfwNotCommittedError,
    VfwNotConnectedError,
    VfwSizeNotSetError,
)
from dshow_alloc.mediatype import FORMAT_None, MEDIASUBTYPE_None, MediaType, MEDIATYPE_Stream
from dshow_alloc.memory import AllocationParams
from dshow_alloc.negotiation import MetaProposal, ParamProposal
from dshow_alloc.pins import BaseInputPin, BaseOutputPin
from dshow_alloc.structs import AM_GBF_NOWAIT, AllocatorProperties, FilterState
from dshow_alloc.testing.checks import raises_hresult
from dshow_alloc.video import video_type
from interfaces import IAllocationProposal, IMemInputPin, IPin

#: A byte stream of 64-byte samples: fully specified, so Connect tries exactly this type.
STREAM = MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None, sample_size=64)
#: A 64x48 NV12 frame (4608 bytes), a type VIDEO_META can describe.
NV12 = video_type("NV12", 64, 48)
#: What the output pin asks for when the input pin states no requirements.
NO_REQUIREMENTS = AllocatorProperties(0, 0, 1, 0)
STOPPED = FilterState.State_Stopped
PAUSED = FilterState.State_Paused

Call = tuple[Any, ...]
Proposer = Callable[[AllocationQuery], None]


# -- recording pins and filters ----------------------------------------------------------------


class RecordingInputPin(BaseInputPin):
    """An input pin logging each negotiation call made on it, with injectable failures.

    ``own`` is the allocator ``GetAllocator`` offers; ``allocator_error`` makes
    ``GetAllocator`` raise; ``refuse(allocator)`` returns the error ``NotifyAllocator`` raises
    for ``allocator`` (None: accept); ``propose`` fills the allocation query and
    ``propose_error`` makes ``ProposeAllocation`` raise after it did.
    """

    def __init__(
        self,
        filter: BaseFilter,
        log: list[Call],
        *,
        requirements: AllocatorProperties | None = None,
    ) -> None:
        super().__init__(filter, "In", requirements=requirements)
        self.log = log
        self.own = MemAllocator(name="sink.In")
        self.allocator_error: COMError | None = None
        self.refuse: Callable[[Any], COMError | None] = lambda _allocator: None
        self.requirements_error: Exception | None = None
        self.propose: Proposer | None = None
        self.propose_error: Exception | None = None
        self.queries: list[AllocationQuery] = []

    def GetAllocatorRequirements(self) -> AllocatorProperties:
        self.log.append(("GetAllocatorRequirements",))
        if self.requirements_error is not None:
            raise self.requirements_error
        return super().GetAllocatorRequirements()

    def GetAllocator(self) -> Any:
        self.log.append(("GetAllocator",))
        if self.allocator_error is not None:
            raise self.allocator_error
        return self.own

    def NotifyAllocator(self, allocator: Any, read_only: bool) -> None:
        self.log.append(("NotifyAllocator", allocator, read_only))
        error = self.refuse(allocator)
        if error is not None:
            raise error
        super().NotifyAllocator(allocator, read_only)

    def ProposeAllocation(self, query: AllocationQuery) -> None:
        self.log.append(("ProposeAllocation",))
        self.queries.append(query)
        if self.propose is not None:
            self.propose(query)
        if self.propose_error is not None:
            raise self.propose_error


@implementer_only(IPin, IMemInputPin)
class DirectShowInputPin(RecordingInputPin):
    """A recording input pin without `IAllocationProposal`: a plain DirectShow pin."""


class RecordingOutputPin(BaseOutputPin):
    """An output pin logging ``InitAllocator`` and ``DecideBufferSize``; ``size_error(allocator)``
    returns the error ``DecideBufferSize`` raises for ``allocator`` (None: size it); ``sizer``
    replaces the filter's sizing when set."""

    def __init__(self, filter: BaseFilter, log: list[Call]) -> None:
        super().__init__(filter, "Out")
        self.log = log
        self.made: list[MemAllocator] = []
        self.size_error: Callable[[Any], COMError | None] = lambda _allocator: None
        self.sizer: Callable[[Any, AllocatorProperties], object] | None = None

    def InitAllocator(self) -> Any:
        allocator = super().InitAllocator()
        self.made.append(allocator)
        self.log.append(("InitAllocator",))
        return allocator

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        self.log.append(("DecideBufferSize", allocator, request))
        error = self.size_error(allocator)
        if error is not None:
            raise error
        if self.sizer is not None:
            self.sizer(allocator, request)
        else:
            super().DecideBufferSize(allocator, request)


class PushFilter(BaseFilter):
    """A source without a thread: one recording output pin whose samples tests take by hand.
    The default ``decide_buffer_size`` sizes samples by the connection type's sample size."""

    def __init__(self, log: list[Call] | None = None) -> None:
        super().__init__(name="push")
        self.output = self.add_pin(RecordingOutputPin(self, log if log is not None else []))


class SinkFilter(BaseFilter):
    """A sink with one recording input pin that takes any sample, and any type while
    ``accepts``."""

    def __init__(
        self,
        log: list[Call] | None = None,
        *,
        requirements: AllocatorProperties | None = None,
        plain: bool = False,
        name: str = "sink",
    ) -> None:
        super().__init__(name=name)
        pin_class = DirectShowInputPin if plain else RecordingInputPin
        self.input = self.add_pin(
            pin_class(self, log if log is not None else [], requirements=requirements)
        )
        self.accepts = True

    def check_media_type(self, pin: Any, media_type: MediaType) -> bool:
        return self.accepts

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        return True


def pair(
    *, requirements: AllocatorProperties | None = None, plain: bool = False
) -> tuple[list[Call], PushFilter, SinkFilter]:
    """A shared log, a push filter and a sink logging into it."""
    log: list[Call] = []
    return log, PushFilter(log), SinkFilter(log, requirements=requirements, plain=plain)


@contextmanager
def paused(*filters: BaseFilter) -> Iterator[None]:
    """Pause ``filters`` (last first, as a graph pauses downstream first), stop them after."""
    try:
        for filter in reversed(filters):
            filter.Pause()
        yield
    finally:
        for filter in reversed(filters):
            filter.Stop()


def proposing(
    pool: Any = None,
    size: int = 0,
    min_buffers: int = 0,
    max_buffers: int = 0,
    *,
    params: AllocationParams | None = None,
    memory_allocator: Any = None,
    metas: tuple[str, ...] = (),
) -> Proposer:
    """A ``propose`` hook adding one pool entry (when ``pool`` or a number is given), one
    params entry (when ``params`` or ``memory_allocator`` is given) and ``metas``."""

    def propose(query: AllocationQuery) -> None:
        if pool is not None or size or min_buffers or max_buffers:
            query.add_pool(pool, size, min_buffers, max_buffers)
        if params is not None or memory_allocator is not None:
            query.add_param(memory_allocator, params)
        for api in metas:
            query.add_meta(api)

    return propose


def take_and_release(pin: BaseOutputPin, count: int = 1) -> list[Any]:
    """Take ``count`` samples from ``pin``'s allocator at once, release them, return them."""
    samples = [pin.GetDeliveryBuffer() for _ in range(count)]
    for sample in samples:
        sample.Release()
    return samples


# -- CBaseOutputPin::DecideAllocator, call by call ----------------------------------------------


def test_plain_pin_sequence_is_directshows() -> None:
    """A pin without IAllocationProposal sees exactly DirectShow's sequence: requirements,
    GetAllocator, DecideBufferSize on its allocator, NotifyAllocator(it, False)."""
    log, push, sink = pair(plain=True)
    assert not IAllocationProposal.providedBy(sink.input)
    push.output.Connect(sink.input, STREAM)
    own = sink.input.own
    assert log == [
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("DecideBufferSize", own, NO_REQUIREMENTS),
        ("NotifyAllocator", own, False),
    ]
    assert push.output.allocator is own
    assert sink.input.peek_allocator() is own
    assert sink.input.read_only is False
    assert own.GetProperties() == AllocatorProperties(1, 64, 1, 0)


def test_success_with_input_allocator_sequence() -> None:
    """With the allocation proposal: ProposeAllocation, then DirectShow's sequence ending in
    NotifyAllocator(input's allocator, False)."""
    log, push, sink = pair()
    push.output.Connect(sink.input, STREAM)
    own = sink.input.own
    assert log == [
        ("ProposeAllocation",),
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("DecideBufferSize", own, NO_REQUIREMENTS),
        ("NotifyAllocator", own, False),
    ]
    assert push.output.allocator is own
    assert push.output.last_query is None
    assert push.output.metas == frozenset()
    (query,) = sink.input.queries
    assert query.media_type == STREAM
    assert query.need_pool is True


def test_no_allocator_falls_back_to_init_allocator() -> None:
    """GetAllocator raising VFW_E_NO_ALLOCATOR: InitAllocator, DecideBufferSize and
    NotifyAllocator on the new MemAllocator."""
    log, push, sink = pair(plain=True)
    sink.input.allocator_error = VfwNoAllocatorError()
    push.output.Connect(sink.input, STREAM)
    (made,) = push.output.made
    assert isinstance(made, MemAllocator)
    assert log == [
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("InitAllocator",),
        ("DecideBufferSize", made, NO_REQUIREMENTS),
        ("NotifyAllocator", made, False),
    ]
    assert push.output.allocator is made
    assert sink.input.peek_allocator() is made
    assert made.GetProperties() == AllocatorProperties(1, 64, 1, 0)


def test_decide_buffer_size_failure_falls_back() -> None:
    """DecideBufferSize failing on the input's allocator: no NotifyAllocator for it, then the
    pin's own allocator with the same request."""
    requirements = AllocatorProperties(2, 32, 0, 0)
    log, push, sink = pair(requirements=requirements, plain=True)
    own = sink.input.own
    push.output.size_error = lambda a: FailError() if a is own else None
    push.output.Connect(sink.input, STREAM)
    (made,) = push.output.made
    request = AllocatorProperties(2, 32, 1, 0)
    assert log == [
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("DecideBufferSize", own, request),
        ("InitAllocator",),
        ("DecideBufferSize", made, request),
        ("NotifyAllocator", made, False),
    ]
    assert push.output.allocator is made
    assert sink.input.peek_allocator() is made
    assert made.GetProperties() == AllocatorProperties(2, 64, 1, 0)


def test_notify_refusal_falls_back_to_own() -> None:
    """NotifyAllocator refusing (E_FAIL) the input's allocator: the output pin makes its own
    and notifies that."""
    log, push, sink = pair(plain=True)
    own = sink.input.own
    sink.input.refuse = lambda a: FailError() if a is own else None
    push.output.Connect(sink.input, STREAM)
    (made,) = push.output.made
    assert made is not own
    assert log == [
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("DecideBufferSize", own, NO_REQUIREMENTS),
        ("NotifyAllocator", own, False),
        ("InitAllocator",),
        ("DecideBufferSize", made, NO_REQUIREMENTS),
        ("NotifyAllocator", made, False),
    ]
    assert push.output.allocator is made
    assert sink.input.peek_allocator() is made


def test_both_failing_fails_connect_with_last_error() -> None:
    """When the input's allocator and the own one both fail, Connect raises the second failure
    and leaves both pins unconnected, without an allocator."""
    log, push, sink = pair(plain=True)
    sink.input.allocator_error = VfwNoAllocatorError()
    push.output.size_error = lambda _a: OutOfMemoryError()
    with raises_hresult(OutOfMemoryError, HRESULT.E_OUTOFMEMORY):
        push.output.Connect(sink.input, STREAM)
    (made,) = push.output.made
    assert log == [
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("InitAllocator",),
        ("DecideBufferSize", made, NO_REQUIREMENTS),
    ]
    for pin in (push.output, sink.input):
        assert not pin.is_connected()
        with raises_hresult(VfwNotConnectedError, HRESULT.VFW_E_NOT_CONNECTED):
            pin.ConnectedTo()
    assert push.output.allocator is None
    assert push.output.input_pin is None
    assert sink.input.peek_allocator() is None


def test_both_notify_refusals_fail_connect_with_last_error() -> None:
    """NotifyAllocator refusing both allocators (E_FAIL, then E_ACCESSDENIED): Connect raises
    E_ACCESSDENIED and neither pin is connected."""
    log, push, sink = pair(plain=True)
    own = sink.input.own
    sink.input.refuse = lambda a: FailError() if a is own else AccessDeniedError()
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        push.output.Connect(sink.input, STREAM)
    (made,) = push.output.made
    assert [call[0] for call in log] == [
        "GetAllocatorRequirements",
        "GetAllocator",
        "DecideBufferSize",
        "NotifyAllocator",
        "InitAllocator",
        "DecideBufferSize",
        "NotifyAllocator",
    ]
    assert log[-1] == ("NotifyAllocator", made, False)
    assert not push.output.is_connected()
    assert not sink.input.is_connected()
    assert push.output.allocator is None
    assert sink.input.peek_allocator() is None
    assert not own.committed and not made.committed


def test_failed_negotiation_allows_a_new_connection() -> None:
    """After a connection failed in DecideAllocator, the same pins connect once the failure
    is gone."""
    _log, push, sink = pair(plain=True)
    sink.input.refuse = lambda _a: FailError()
    with raises_hresult(FailError, HRESULT.E_FAIL):
        push.output.Connect(sink.input, STREAM)
    sink.input.refuse = lambda _a: None
    push.output.Connect(sink.input, STREAM)
    assert push.output.ConnectedTo() is sink.input
    assert sink.input.ConnectedTo() is push.output
    assert push.output.allocator is sink.input.own


def test_align_zero_requirement_becomes_one() -> None:
    """Requirements with align 0 reach DecideBufferSize with align 1, other fields kept."""
    log, push, sink = pair(requirements=AllocatorProperties(3, 100, 0, 8), plain=True)
    push.output.Connect(sink.input, STREAM)
    sizes = [call for call in log if call[0] == "DecideBufferSize"]
    assert sizes == [("DecideBufferSize", sink.input.own, AllocatorProperties(3, 100, 1, 8))]
    assert sink.input.own.GetProperties() == AllocatorProperties(3, 100, 1, 8)


def test_requirements_kept_when_align_given() -> None:
    """Requirements with a non-zero align are passed on unchanged."""
    log, push, sink = pair(requirements=AllocatorProperties(2, 128, 16, 16), plain=True)
    push.output.Connect(sink.input, STREAM)
    (size_call,) = [call for call in log if call[0] == "DecideBufferSize"]
    assert size_call[2] == AllocatorProperties(2, 128, 16, 16)


@pytest.mark.parametrize(
    "error",
    [NotImplError(), FailError(), RuntimeError("broken")],
    ids=["E_NOTIMPL", "E_FAIL", "RuntimeError"],
)
def test_requirements_failure_means_none(error: Exception) -> None:
    """A failing GetAllocatorRequirements counts as no requirements: zeros with align 1."""
    log, push, sink = pair(requirements=AllocatorProperties(9, 999, 4, 4), plain=True)
    sink.input.requirements_error = error
    push.output.Connect(sink.input, STREAM)
    (size_call,) = [call for call in log if call[0] == "DecideBufferSize"]
    assert size_call[2] == NO_REQUIREMENTS


def test_default_requirements_are_e_notimpl() -> None:
    """A BaseInputPin without requirements answers GetAllocatorRequirements with E_NOTIMPL."""
    sink = SinkFilter()
    with raises_hresult(NotImplError, HRESULT.E_NOTIMPL):
        sink.input.GetAllocatorRequirements()


# -- connecting never commits -------------------------------------------------------------------


def test_connect_does_not_commit() -> None:
    """Right after Connect, GetBuffer on the negotiated allocator is VFW_E_NOT_COMMITTED."""
    _log, push, sink = pair()
    push.output.Connect(sink.input, STREAM)
    allocator = push.output.allocator
    assert allocator.committed is False
    with raises_hresult(VfwNotCommittedError, HRESULT.VFW_E_NOT_COMMITTED):
        allocator.GetBuffer()


def test_pause_commits_and_stop_decommits() -> None:
    """Pause commits the negotiated allocator (GetBuffer works), Stop decommits it."""
    _log, push, sink = pair()
    push.output.Connect(sink.input, STREAM)
    allocator = push.output.allocator
    with paused(push, sink):
        assert push.state is PAUSED
        assert allocator.committed is True
        sample = push.output.GetDeliveryBuffer()
        try:
            assert sample.GetSize() == 64
        finally:
            sample.Release()
    assert push.state is STOPPED
    assert allocator.committed is False
    with raises_hresult(VfwNotCommittedError, HRESULT.VFW_E_NOT_COMMITTED):
        allocator.GetBuffer()


def test_pause_fails_with_size_not_set() -> None:
    """A negotiated allocator of 0-byte samples makes Pause fail with VFW_E_SIZENOTSET and
    the filter stays Stopped."""
    zero = MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None, sample_size=0)
    push, sink = PushFilter(), SinkFilter()
    push.output.sizer = lambda a, _request: a.SetProperties(AllocatorProperties(1, 0, 1, 0))
    push.output.Connect(sink.input, zero)
    assert push.output.allocator.GetProperties().buffer_size == 0
    with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
        push.Pause()
    assert push.state is STOPPED
    assert push.GetState(0) is STOPPED
    assert push.output.allocator.committed is False


@pytest.mark.timeout(30)
def test_graph_pause_fails_with_size_not_set() -> None:
    """Through a graph, the failed commit fails Pause with VFW_E_SIZENOTSET and every filter
    is left Stopped."""
    zero = MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None, sample_size=0)
    push, sink = PushFilter(), SinkFilter()
    push.output.sizer = lambda a, _request: a.SetProperties(AllocatorProperties(1, 0, 1, 0))
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(push)
        graph.AddFilter(sink)
        graph.ConnectDirect(push.output, sink.input, zero)
        with raises_hresult(VfwSizeNotSetError, HRESULT.VFW_E_SIZENOTSET):
            graph.Pause()
        assert graph.GetState(0) is STOPPED
        assert push.state is STOPPED
        assert sink.state is STOPPED


# -- the allocation query: value validation -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((None, -1), ValueError),
        ((None, 10, -1), ValueError),
        ((None, 10, 0, -1), ValueError),
        ((None, 10, 5, 2), ValueError),
        ((None, 1.5), TypeError),
        ((None, "10"), TypeError),
        ((None, True), TypeError),
        ((None, 10, 2.0), TypeError),
        ((object(), 10), TypeError),
        (("pool", 10), TypeError),
    ],
    ids=[
        "negative-size",
        "negative-min",
        "negative-max",
        "min-above-max",
        "float-size",
        "str-size",
        "bool-size",
        "float-min",
        "object-pool",
        "str-pool",
    ],
)
def test_pool_proposal_validation(args: tuple[Any, ...], error: type[Exception]) -> None:
    """PoolProposal refuses negative counts (ValueError), non-int counts and pools that are not
    IMemAllocator (TypeError), and min_buffers above a non-zero max_buffers (ValueError)."""
    with pytest.raises(error):
        PoolProposal(*args)


def test_pool_proposal_accepts_valid_values() -> None:
    """PoolProposal keeps a pool, size and counts as given; max 0 allows any minimum."""
    pool = MemAllocator()
    proposal = PoolProposal(pool, 100, 8, 0)
    assert (proposal.pool, proposal.size, proposal.min_buffers, proposal.max_buffers) == (
        pool,
        100,
        8,
        0,
    )
    assert PoolProposal(None, 0) == PoolProposal(None, 0, 0, 0)
    assert PoolProposal(None, 1, 3, 3).max_buffers == 3


def test_add_pool_validates() -> None:
    """AllocationQuery.add_pool validates like PoolProposal and appends nothing on failure."""
    query = AllocationQuery(STREAM)
    with pytest.raises(ValueError):
        query.add_pool(None, -5)
    with pytest.raises(ValueError):
        query.add_pool(None, 10, 4, 3)
    with pytest.raises(TypeError):
        query.add_pool(None, 10.0)  # type: ignore[arg-type]
    assert query.pools == []
    assert query.is_empty()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"align": 3}, ValueError),
        ({"align": 0}, ValueError),
        ({"prefix": -1}, ValueError),
        ({"padding": -8}, ValueError),
        ({"align": 16.0}, TypeError),
        ({"prefix": "8"}, TypeError),
    ],
    ids=["align-3", "align-0", "negative-prefix", "negative-padding", "float-align", "str-prefix"],
)
def test_allocation_params_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """AllocationParams refuses a non-power-of-two align and negative prefix or padding
    (ValueError) and non-int values (TypeError)."""
    with pytest.raises(error):
        AllocationParams(**kwargs)


def test_param_proposal_validation() -> None:
    """ParamProposal takes an IMemoryAllocator or None and AllocationParams, else TypeError."""
    with pytest.raises(TypeError):
        ParamProposal(object())
    with pytest.raises(TypeError):
        ParamProposal(MemAllocator())
    with pytest.raises(TypeError):
        ParamProposal(None, {"align": 16})  # type: ignore[arg-type]
    shared = find_allocator("SharedMemory")
    proposal = ParamProposal(shared, AllocationParams(align=16))
    assert proposal.allocator is shared
    assert proposal.params == AllocationParams(align=16)
    assert ParamProposal(None).params == AllocationParams()


def test_meta_proposal_validation() -> None:
    """MetaProposal needs a str api and a mapping or None for params (TypeError otherwise);
    add_meta lists each api once."""
    with pytest.raises(TypeError):
        MetaProposal(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MetaProposal("video-meta", ["width"])  # type: ignore[arg-type]
    assert MetaProposal("video-meta", {"a": 1}).params == {"a": 1}
    query = AllocationQuery(NV12)
    query.add_meta("video-meta")
    query.add_meta("video-meta", {"again": True})
    assert query.metas == [MetaProposal("video-meta")]
    assert query.has_meta("video-meta")
    assert query.meta_apis() == frozenset({"video-meta"})


# -- the allocation query in DecideAllocator ----------------------------------------------------


def test_proposed_pool_is_first_choice() -> None:
    """A MemAllocator proposed as pool is sized and notified instead of GetAllocator's."""
    log, push, sink = pair()
    pool = MemAllocator(name="proposed")
    sink.input.propose = proposing(pool, 64, 2)
    push.output.Connect(sink.input, STREAM)
    request = AllocatorProperties(2, 64, 1, 0)
    assert log == [
        ("ProposeAllocation",),
        ("GetAllocatorRequirements",),
        ("DecideBufferSize", pool, request),
        ("NotifyAllocator", pool, False),
    ]
    assert push.output.allocator is pool
    assert sink.input.peek_allocator() is pool
    assert push.output.last_query is sink.input.queries[0]


def test_proposed_pool_failing_falls_back_to_own() -> None:
    """A proposed pool that DecideBufferSize cannot size leads to InitAllocator, not to
    GetAllocator."""
    log, push, sink = pair()
    pool = MemAllocator(name="proposed")
    sink.input.propose = proposing(pool, 64, 2)
    push.output.size_error = lambda a: FailError() if a is pool else None
    push.output.Connect(sink.input, STREAM)
    (made,) = push.output.made
    assert [call[0] for call in log] == [
        "ProposeAllocation",
        "GetAllocatorRequirements",
        "DecideBufferSize",
        "InitAllocator",
        "DecideBufferSize",
        "NotifyAllocator",
    ]
    assert log[-1] == ("NotifyAllocator", made, False)
    assert push.output.allocator is made


def test_proposal_widens_request() -> None:
    """A proposed size, min_buffers, align and prefix above the requirements widen the
    request DecideBufferSize gets."""
    log, push, sink = pair(requirements=AllocatorProperties(2, 100, 0, 0))
    sink.input.propose = proposing(None, 256, 5, 0, params=AllocationParams(align=16, prefix=16))
    push.output.Connect(sink.input, STREAM)
    (size_call,) = [call for call in log if call[0] == "DecideBufferSize"]
    assert size_call == ("DecideBufferSize", sink.input.own, AllocatorProperties(5, 256, 16, 16))
    properties = push.output.allocator.GetProperties()
    assert (properties.buffer_size, properties.align, properties.prefix) == (256, 16, 16)


def test_smaller_proposal_keeps_requirements() -> None:
    """A proposal smaller than the requirements leaves the requirements' numbers."""
    log, push, sink = pair(requirements=AllocatorProperties(4, 300, 32, 8))
    sink.input.propose = proposing(None, 10, 1, 0, params=AllocationParams(align=2, prefix=0))
    push.output.Connect(sink.input, STREAM)
    (size_call,) = [call for call in log if call[0] == "DecideBufferSize"]
    assert size_call[2] == AllocatorProperties(4, 300, 32, 8)


def test_proposed_params_reach_pool_config() -> None:
    """The first params entry's memory allocator, padding and align end up in the pool's
    configuration, and the samples' memory comes from that allocator."""
    _log, push, sink = pair()
    shared = find_allocator("SharedMemory")
    sink.input.propose = proposing(
        None,
        64,
        2,
        2,
        params=AllocationParams(align=16, prefix=0, padding=32),
        memory_allocator=shared,
    )
    push.output.Connect(sink.input, STREAM)
    allocator = push.output.allocator
    config = allocator.GetConfig()
    assert config.memory_allocator is shared
    assert config.padding == 32
    assert config.align == 16
    assert (config.buffer_size, config.min_buffers, config.max_buffers) == (64, 2, 2)
    assert allocator.GetProperties() == AllocatorProperties(2, 64, 16, 0)
    with paused(push, sink):
        assert allocator.memory_allocator is shared
        take_and_release(push.output, 2)


def test_proposal_max_zero_lets_pool_grow() -> None:
    """A proposal with max_buffers 0 configures a pool that grows past its minimum."""
    _log, push, sink = pair()
    sink.input.propose = proposing(None, 64, 2, 0)
    push.output.Connect(sink.input, STREAM)
    allocator = push.output.allocator
    config = allocator.GetConfig()
    assert (config.min_buffers, config.max_buffers) == (2, 0)
    with paused(push, sink):
        assert allocator.allocated == 2
        samples = take_and_release(push.output, 5)
        assert len({id(sample) for sample in samples}) == 5
        assert allocator.allocated == 5


def test_proposal_max_limits_pool() -> None:
    """A proposal with max_buffers 3 configures a pool of at most 3 samples."""
    _log, push, sink = pair()
    sink.input.propose = proposing(None, 64, 2, 3)
    push.output.Connect(sink.input, STREAM)
    allocator = push.output.allocator
    assert (allocator.GetConfig().min_buffers, allocator.GetConfig().max_buffers) == (2, 3)
    with paused(push, sink):
        held = [push.output.GetDeliveryBuffer() for _ in range(3)]
        try:
            with pytest.raises(COMError) as info:
                push.output.GetDeliveryBuffer(flags=AM_GBF_NOWAIT)
            assert info.value.hresult == HRESULT.VFW_E_TIMEOUT
        finally:
            for sample in held:
                sample.Release()


def test_no_proposal_keeps_fixed_pool() -> None:
    """Without a proposal the pool is DirectShow's: a fixed number of samples."""
    _log, push, sink = pair(requirements=AllocatorProperties(3, 0, 0, 0))
    push.output.Connect(sink.input, STREAM)
    config = push.output.allocator.GetConfig()
    assert (config.min_buffers, config.max_buffers) == (3, 3)
    assert config.options == frozenset()


def test_listed_video_meta_is_attached() -> None:
    """A downstream listing "video-meta" for a video type makes the pool attach a VIDEO_META
    describing the frame to every sample, and the output pin's metas list it."""
    _log, push, sink = pair()
    sink.input.propose = proposing(None, NV12.sample_size, 2, 2, metas=(VIDEO_META.api,))
    push.output.Connect(sink.input, NV12)
    assert push.output.metas == frozenset({"video-meta"})
    assert VIDEO_META.api in push.output.allocator.GetConfig().options
    with paused(push, sink):
        samples = [push.output.GetDeliveryBuffer() for _ in range(2)]
        try:
            for sample in samples:
                meta = sample.GetMeta(VIDEO_META)
                assert meta is not None
                assert (meta.format, meta.width, meta.height) == ("NV12", 64, 48)
                assert meta.offsets == (0, 64 * 48)
                assert meta.strides == (64, 64)
        finally:
            for sample in samples:
                sample.Release()


def test_unlisted_video_meta_is_not_attached() -> None:
    """Without "video-meta" in the proposal the samples carry no VIDEO_META and metas is
    empty."""
    _log, push, sink = pair()
    sink.input.propose = proposing(None, NV12.sample_size, 2, 0, metas=("other-meta",))
    push.output.Connect(sink.input, NV12)
    assert push.output.metas == frozenset({"other-meta"})
    assert VIDEO_META.api not in push.output.allocator.GetConfig().options
    with paused(push, sink):
        sample = push.output.GetDeliveryBuffer()
        try:
            assert sample.GetMeta(VIDEO_META) is None
        finally:
            sample.Release()


def test_no_proposal_no_metas() -> None:
    """An input pin proposing nothing leaves metas empty and no VIDEO_META on samples."""
    _log, push, sink = pair()
    push.output.Connect(sink.input, NV12)
    assert push.output.metas == frozenset()
    assert push.output.last_query is None
    with paused(push, sink):
        sample = push.output.GetDeliveryBuffer()
        try:
            assert sample.GetMeta(VIDEO_META) is None
        finally:
            sample.Release()


@pytest.mark.parametrize(
    "error",
    [FailError(), RuntimeError("broken")],
    ids=["E_FAIL", "RuntimeError"],
)
def test_raising_proposal_is_no_proposal(error: Exception) -> None:
    """A ProposeAllocation that raises, even after filling the query, counts as no proposal:
    the input's allocator, the plain requirements, no metas."""
    log, push, sink = pair(requirements=AllocatorProperties(2, 32, 0, 0))
    pool = MemAllocator(name="proposed")
    sink.input.propose = proposing(pool, 999, 9, 0, metas=(VIDEO_META.api,))
    sink.input.propose_error = error
    push.output.Connect(sink.input, STREAM)
    own = sink.input.own
    assert log == [
        ("ProposeAllocation",),
        ("GetAllocatorRequirements",),
        ("GetAllocator",),
        ("DecideBufferSize", own, AllocatorProperties(2, 32, 1, 0)),
        ("NotifyAllocator", own, False),
    ]
    assert push.output.allocator is own
    assert push.output.metas == frozenset()
    assert push.output.last_query is None
    assert own.GetConfig().options == frozenset()


# -- the tee's merge ----------------------------------------------------------------------------


def _answer(
    size: int,
    min_buffers: int,
    max_buffers: int,
    *,
    params: AllocationParams | None = None,
    memory_allocator: Any = None,
    metas: tuple[str, ...] = (),
) -> AllocationQuery:
    query = AllocationQuery(STREAM)
    proposing(
        None,
        size,
        min_buffers,
        max_buffers,
        params=params,
        memory_allocator=memory_allocator,
        metas=metas,
    )(query)
    return query


def test_merge_queries_numbers_and_metas() -> None:
    """merge_queries: largest size, align, prefix and padding, summed minimums, max 0, and
    only the metas every branch lists (in the first branch's order)."""
    first = _answer(
        100, 2, 5, params=AllocationParams(align=16, padding=8), metas=("a", "video-meta", "b")
    )
    second = _answer(300, 3, 4, params=AllocationParams(align=4, prefix=32), metas=("b", "a"))
    third = _answer(50, 1, 0, metas=("a", "b", "c"))
    merged = merge_queries(STREAM, [first, second, third])
    assert merged.media_type == STREAM
    assert merged.pools == [PoolProposal(None, 300, 6, 0)]
    assert merged.params == [ParamProposal(None, AllocationParams(align=16, prefix=32, padding=8))]
    assert [meta.api for meta in merged.metas] == ["a", "b"]


def test_merge_queries_of_nothing_is_empty() -> None:
    """merge_queries of no answers, or of empty answers, proposes nothing."""
    assert merge_queries(STREAM, []).is_empty()
    assert merge_queries(STREAM, [AllocationQuery(STREAM), AllocationQuery(STREAM)]).is_empty()


def test_merge_queries_memory_allocator() -> None:
    """The merge keeps a memory allocator only when every branch named the same one."""
    shared = find_allocator("SharedMemory")
    system = find_allocator("SystemMemory")
    same = merge_queries(
        STREAM,
        [_answer(10, 1, 0, memory_allocator=shared), _answer(20, 1, 0, memory_allocator=shared)],
    )
    assert same.params[0].allocator is shared
    different = merge_queries(
        STREAM,
        [_answer(10, 1, 0, memory_allocator=shared), _answer(20, 1, 0, memory_allocator=system)],
    )
    assert different.params[0].allocator is None


def _tee_graph(
    first: Proposer | None,
    second: Proposer | None,
    *,
    media_type: MediaType = STREAM,
    second_requirements: AllocatorProperties | None = None,
) -> tuple[PushFilter, Tee, SinkFilter, SinkFilter]:
    """push -> tee -> two sinks (unconnected to each other), the sinks proposing as given."""
    push, tee = PushFilter(), Tee()
    sink_a = SinkFilter(name="a")
    sink_b = SinkFilter(name="b", requirements=second_requirements)
    sink_a.input.propose = first
    sink_b.input.propose = second
    push.output.Connect(tee.input, media_type)
    return push, tee, sink_a, sink_b


def test_tee_second_branch_renegotiates_upstream() -> None:
    """Connecting each tee branch renegotiates upstream: the upstream allocator's properties
    follow the merge of the connected branches (largest size, summed minimums)."""
    push, tee, sink_a, sink_b = _tee_graph(proposing(None, 100, 2, 0), proposing(None, 300, 3, 0))
    upstream = push.output.allocator
    assert upstream.GetProperties() == AllocatorProperties(1, 64, 1, 0)
    tee.FindPin("Output1").Connect(sink_a.input, None)
    assert push.output.allocator.GetProperties() == AllocatorProperties(2, 100, 1, 0)
    tee.FindPin("Output2").Connect(sink_b.input, None)
    allocator = push.output.allocator
    assert allocator.GetProperties() == AllocatorProperties(5, 300, 1, 0)
    assert allocator.GetConfig().max_buffers == 0
    assert push.output.last_query is not None
    assert push.output.last_query.pools == [PoolProposal(None, 300, 5, 0)]
    for sink in (sink_a, sink_b):
        assert sink.input.peek_allocator() is allocator
        assert sink.input.read_only is True


def test_tee_merges_params_through_real_tee() -> None:
    """Branch params merge into the upstream pool: largest align, prefix and padding."""
    push, tee, sink_a, sink_b = _tee_graph(
        proposing(None, 128, 1, 0, params=AllocationParams(align=16, padding=8)),
        proposing(None, 64, 1, 0, params=AllocationParams(align=4, prefix=32)),
    )
    tee.FindPin("Output1").Connect(sink_a.input, None)
    tee.FindPin("Output2").Connect(sink_b.input, None)
    config = push.output.allocator.GetConfig()
    assert (config.align, config.prefix, config.padding) == (16, 32, 8)
    assert config.min_buffers == 2
    assert config.buffer_size >= 128


def test_tee_counts_requirements_of_a_branch_without_proposal() -> None:
    """A tee branch proposing nothing contributes its GetAllocatorRequirements to the merge."""
    push, tee, sink_a, sink_b = _tee_graph(
        proposing(None, 100, 2, 0), None, second_requirements=AllocatorProperties(3, 500, 0, 0)
    )
    tee.FindPin("Output1").Connect(sink_a.input, None)
    tee.FindPin("Output2").Connect(sink_b.input, None)
    assert push.output.allocator.GetProperties() == AllocatorProperties(5, 500, 1, 0)


@pytest.mark.parametrize(
    ("second_metas", "expected"),
    [((VIDEO_META.api,), frozenset({"video-meta"})), ((), frozenset())],
    ids=["both-list", "one-lists"],
)
def test_tee_keeps_only_common_metas(
    second_metas: tuple[str, ...], expected: frozenset[str]
) -> None:
    """Upstream attaches only the metas every tee branch lists."""
    push, tee, sink_a, sink_b = _tee_graph(
        proposing(metas=(VIDEO_META.api,)),
        proposing(None, NV12.sample_size, 1, 0, metas=second_metas),
        media_type=NV12,
    )
    tee.FindPin("Output1").Connect(sink_a.input, None)
    tee.FindPin("Output2").Connect(sink_b.input, None)
    assert push.output.metas == expected
    with paused(push, tee, sink_a, sink_b):
        sample = push.output.GetDeliveryBuffer()
        try:
            assert (sample.GetMeta(VIDEO_META) is not None) == bool(expected)
        finally:
            sample.Release()


def test_tee_keeps_one_spare_output() -> None:
    """The tee always has exactly one unconnected output pin as branches connect."""
    _push, tee, sink_a, sink_b = _tee_graph(None, None)
    assert [pin.QueryId() for pin in tee.output_pins()] == ["Output1"]
    tee.FindPin("Output1").Connect(sink_a.input, None)
    assert [pin.QueryId() for pin in tee.output_pins()] == ["Output1", "Output2"]
    tee.FindPin("Output2").Connect(sink_b.input, None)
    assert [pin.QueryId() for pin in tee.output_pins()] == ["Output1", "Output2", "Output3"]
    assert [pin.is_connected() for pin in tee.output_pins()] == [True, True, False]
    assert tee.branches() == [tee.FindPin("Output1"), tee.FindPin("Output2")]


def _failing_renegotiation(push: PushFilter, sink: SinkFilter) -> None:
    """The upstream pin cannot size a pool for more than 200 bytes (E_OUTOFMEMORY)."""

    def sizer(allocator: Any, request: AllocatorProperties) -> None:
        if request.buffer_size > 200:
            raise OutOfMemoryError()
        size_allocator(allocator, request, buffer_size=64)

    push.output.sizer = sizer


def _refusing_types(_push: PushFilter, sink: SinkFilter) -> None:
    """The sink refuses every media type."""
    sink.accepts = False


@pytest.mark.parametrize(
    ("breaker", "error", "code"),
    [
        (_failing_renegotiation, OutOfMemoryError, HRESULT.E_OUTOFMEMORY),
        (_refusing_types, COMError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES),
    ],
    ids=["renegotiation-fails", "type-refused"],
)
def test_failed_branch_connection_keeps_tee_as_it_was(
    breaker: Callable[[PushFilter, SinkFilter], None], error: type[COMError], code: HRESULT
) -> None:
    """A branch connection that fails (upstream cannot renegotiate, or the type is refused)
    leaves the tee as it was: one branch on the old allocator and one spare output pin."""
    push, tee, sink_a, sink_b = _tee_graph(proposing(None, 100, 2, 0), proposing(None, 300, 3, 0))
    tee.FindPin("Output1").Connect(sink_a.input, None)
    allocator = push.output.allocator
    breaker(push, sink_b)
    with raises_hresult(error, code):
        tee.FindPin("Output2").Connect(sink_b.input, None)
    assert not sink_b.input.is_connected()
    assert push.output.allocator is allocator
    assert allocator.GetProperties() == AllocatorProperties(2, 100, 1, 0)
    assert sink_a.input.peek_allocator() is allocator
    assert tee.branches() == [tee.FindPin("Output1")]
    assert [(pin.QueryId(), pin.is_connected()) for pin in tee.output_pins()] == [
        ("Output1", True),
        ("Output2", False),
    ]


# -- streaming: in-place transforms and tees ----------------------------------------------------

SIZE = 16
COUNT = 6


class CountingSource(SourceFilter):
    """Fills ``COUNT`` samples, sample n with ``SIZE`` bytes of value n, recording each
    sample's identity."""

    def __init__(self) -> None:
        super().__init__(name="source", buffer_size=SIZE, buffers=2)
        self.filled: list[int] = []

    def FillBuffer(self, sample: Any) -> bool:
        n = len(self.filled)
        if n >= COUNT:
            return False
        sample.GetPointer()[:SIZE] = bytes([n]) * SIZE
        sample.SetActualDataLength(SIZE)
        self.filled.append(id(sample))
        return True


class AddOne(TransInPlaceFilter):
    """Adds 1 to every byte (when ``modifies_data``), recording each input sample's
    identity and read-only flag."""

    def __init__(self, *, modifies_data: bool = True) -> None:
        super().__init__(name="add-one", modifies_data=modifies_data)
        self.seen: list[tuple[int, bool]] = []
        self.transformed: list[int] = []

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        self.seen.append((id(sample), bool(sample.IsReadOnly())))
        return super().receive(pin, sample)

    def Transform(self, sample: Any) -> bool:
        self.transformed.append(id(sample))
        if self.modifies_data:
            data = sample.GetPointer()
            length = sample.GetActualDataLength()
            data[:length] = bytes((byte + 1) & 0xFF for byte in data[:length])
        return True


class IdentityRenderer(CollectingRenderer):
    """A collecting renderer that also records each sample's identity."""

    def __init__(self, name: str = "render") -> None:
        super().__init__(name=name)
        self.ids: list[int] = []

    def DoRenderSample(self, sample: Any) -> None:
        self.ids.append(id(sample))
        super().DoRenderSample(sample)


def run_to_completion(graph: FilterGraph) -> None:
    """Run ``graph`` and wait for EC_COMPLETE."""
    graph.Run()
    assert graph.WaitForCompletion(10_000) == EC_COMPLETE


def expected_data(offset: int) -> list[bytes]:
    """What a renderer gets from CountingSource through ``offset`` AddOne transforms."""
    return [bytes([n + offset]) * SIZE for n in range(COUNT)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("order", ["input-first", "input-reconnected"])
def test_in_place_passes_downstream_allocator_upstream(order: str) -> None:
    """source -> in-place -> renderer: the source delivers on the renderer's allocator,
    whether the transform's input connects before its output or after it (reconnected), and
    samples pass through without a copy."""
    source, transform, renderer = CountingSource(), AddOne(), IdentityRenderer()
    with FilterGraph(clock=None) as graph:
        for filter in (source, transform, renderer):
            graph.AddFilter(filter)
        graph.Connect(source.output, transform.input)
        graph.Connect(transform.output, renderer.input)
        if order == "input-reconnected":
            graph.Disconnect(source.output)
            graph.Disconnect(transform.input)
            graph.Connect(source.output, transform.input)
        allocator = renderer.input.peek_allocator()
        assert allocator is not None
        assert source.output.allocator is allocator
        assert transform.input.peek_allocator() is allocator
        assert transform.output.allocator is allocator
        assert transform.passes_through()
        assert transform.input.read_only is False
        assert renderer.input.read_only is False
        run_to_completion(graph)
        graph.Stop()
    assert transform.copies == 0
    assert renderer.ids == source.filled
    assert transform.transformed == source.filled
    assert renderer.data == expected_data(1)
    assert renderer.read_only == [False] * COUNT


@pytest.mark.timeout(30)
def test_tee_then_modifying_in_place_copies() -> None:
    """source -> tee -> modifying in-place -> renderer: the tee's samples arrive read-only,
    so each is copied into the transform's own output sample, and the data is right."""
    source, tee, transform, renderer = CountingSource(), Tee(), AddOne(), IdentityRenderer()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, tee, transform, renderer)
        assert transform.input.read_only is True
        assert transform.input.peek_allocator() is source.output.allocator
        assert transform.output.allocator is not source.output.allocator
        assert renderer.input.peek_allocator() is transform.output.allocator
        assert not transform.passes_through()
        run_to_completion(graph)
        graph.Stop()
    assert transform.copies == COUNT
    assert transform.seen == [(sample_id, True) for sample_id in source.filled]
    assert not set(renderer.ids) & set(source.filled)
    assert renderer.data == expected_data(1)
    assert renderer.read_only == [False] * COUNT


@pytest.mark.timeout(30)
def test_tee_then_non_modifying_in_place_passes_through() -> None:
    """source -> tee -> non-modifying in-place -> renderer: no copy; the renderer gets the
    tee's read-only samples themselves."""
    source, tee = CountingSource(), Tee()
    transform, renderer = AddOne(modifies_data=False), IdentityRenderer()
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, tee, transform, renderer)
        assert transform.output.allocator is source.output.allocator
        assert renderer.input.peek_allocator() is source.output.allocator
        assert renderer.input.read_only is True
        assert transform.passes_through()
        run_to_completion(graph)
        graph.Stop()
    assert transform.copies == 0
    assert renderer.ids == source.filled
    assert renderer.data == expected_data(0)
    assert renderer.read_only == [True] * COUNT


@pytest.mark.timeout(30)
def test_tee_delivers_same_read_only_sample_to_every_branch() -> None:
    """A tee hands the very sample the source filled to every branch, marked read-only."""
    source, tee = CountingSource(), Tee()
    first, second = IdentityRenderer("first"), IdentityRenderer("second")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, tee, first)
        graph.connect_chain(tee, second)
        allocator = source.output.allocator
        assert first.input.peek_allocator() is allocator
        assert second.input.peek_allocator() is allocator
        assert first.input.read_only is True and second.input.read_only is True
        run_to_completion(graph)
        graph.Stop()
    assert first.ids == source.filled
    assert second.ids == source.filled
    for renderer in (first, second):
        assert renderer.read_only == [True] * COUNT
        assert renderer.data == expected_data(0)


class RefusingReadOnly(IdentityRenderer):
    """A renderer refusing read-only allocators (it wants samples it may write)."""

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        if read_only:
            raise FailError()


@pytest.mark.timeout(30)
def test_tee_branch_refusing_read_only_gets_copies() -> None:
    """A tee branch refusing the shared read-only allocator gets copies from an allocator of
    its own, writable and with the right data; the other branch still gets the originals."""
    source, tee = CountingSource(), Tee()
    sharing, copying = IdentityRenderer("sharing"), RefusingReadOnly("copying")
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, tee, sharing)
        graph.connect_chain(tee, copying)
        assert [branch.shared for branch in tee.branches()] == [True, False]
        assert sharing.input.peek_allocator() is source.output.allocator
        assert copying.input.peek_allocator() is not source.output.allocator
        assert copying.input.read_only is False
        run_to_completion(graph)
        graph.Stop()
    assert sharing.ids == source.filled
    assert not set(copying.ids) & set(source.filled)
    assert copying.data == expected_data(0)
    assert copying.read_only == [False] * COUNT
    assert sharing.read_only == [True] * COUNT


class OfferingRenderer(IdentityRenderer):
    """A renderer whose input pin offers an allocator of its own and proposes a pool of at
    least 3 samples and VIDEO_META."""

    def __init__(self) -> None:
        super().__init__()
        self.mine = MemAllocator(name="renderer-own")

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        return self.mine

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        query.add_pool(None, NV12.sample_size, 3, 0)
        query.add_meta(VIDEO_META.api)


@pytest.mark.parametrize("order", ["input-first", "input-reconnected"])
def test_in_place_forwards_renderer_allocator_and_proposal(order: str) -> None:
    """Through an in-place transform the source gets the renderer's own allocator and the
    renderer's allocation proposal (pool numbers and VIDEO_META)."""
    source = SourceFilter(name="source", media_type=NV12, buffers=2)
    transform, renderer = AddOne(), OfferingRenderer()
    source.output.Connect(transform.input, None)
    transform.output.Connect(renderer.input, None)
    if order == "input-reconnected":
        source.output.Disconnect()
        transform.input.Disconnect()
        source.output.Connect(transform.input, None)
    assert source.output.allocator is renderer.mine
    assert transform.output.allocator is renderer.mine
    assert renderer.input.peek_allocator() is renderer.mine
    assert source.output.metas == frozenset({"video-meta"})
    config = renderer.mine.GetConfig()
    assert (config.buffer_size, config.min_buffers, config.max_buffers) == (4608, 3, 0)
    assert VIDEO_META.api in config.options


def test_in_place_forwards_downstream_requirements() -> None:
    """An in-place transform's input answers GetAllocatorRequirements with its downstream
    peer's (CTransInPlaceInputPin), so the shared allocator meets the renderer's needs."""
    push, transform, renderer = PushFilter(), AddOne(), NullRenderer()
    renderer.input.requirements = AllocatorProperties(5, 256, 0, 0)
    push.output.Connect(transform.input, STREAM)
    transform.output.Connect(renderer.input, None)
    assert transform.input.GetAllocatorRequirements() == AllocatorProperties(5, 256, 0, 0)
    assert push.output.allocator is renderer.input.peek_allocator()
    assert push.output.allocator.GetProperties() == AllocatorProperties(5, 256, 1, 0)


def test_in_place_output_without_input_offers_no_type() -> None:
    """An in-place transform's output enumerates no type before its input connects, so
    connecting it with no type fails with VFW_E_NO_ACCEPTABLE_TYPES."""
    transform, renderer = AddOne(), NullRenderer()
    assert transform.output.EnumMediaTypes() == []
    with raises_hresult(COMError, HRESULT.VFW_E_NO_ACCEPTABLE_TYPES):
        transform.output.Connect(renderer.input, None)
    assert not transform.output.is_connected()
    assert not renderer.input.is_connected()


def test_in_place_output_before_input_is_unexpected() -> None:
    """Connecting an in-place transform's output with a full type before its input fails with
    E_UNEXPECTED (CTransformOutputPin::CheckConnect, reference table of HRESULTs)."""
    transform, renderer = AddOne(), NullRenderer()
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        transform.output.Connect(renderer.input, STREAM)
    assert not transform.output.is_connected()
    assert not renderer.input.is_connected()
