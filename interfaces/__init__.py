"""The COM interfaces of dshow_alloc: declarations only.

Each interface is a ``zope.interface.Interface`` whose docstrings are the contract: what every
method does and returns, each HRESULT it raises (as ``dshow_alloc.COMError`` carrying that
code) and who owns what. Each carries its IID as the tagged value ``"iid"`` (a ``uuid.UUID``;
read it with ``getDirectTaggedValue("iid")`` so that a sub-interface never reports its base's).

This package imports only zope.interface and the standard library at runtime; the value types
named in annotations (``MediaType``, ``AllocatorProperties``, ``MapInfo``, ...) live in
``dshow_alloc`` and are imported for type checking only.

Python mapping (see the README): methods keep their COM names; a failure HRESULT is raised as
``COMError``; S_OK is a normal return; S_FALSE is ``False`` from a predicate or ``None`` for
"nothing there"; out-parameters are return values; NULL is ``None``; REFERENCE_TIME is an
``int`` in 100 ns units.
"""

from interfaces.allocator import (
    IBufferPool,
    IMemAllocator,
    IMemAllocatorCallbackTemp,
    IMemAllocatorNotifyCallbackTemp,
)
from interfaces.clock import IReferenceClock
from interfaces.filters import IBaseFilter, IMediaFilter
from interfaces.graph import (
    IFilterGraph,
    IGraphBuilder,
    IMediaControl,
    IMediaEvent,
    IMediaEventSink,
)
from interfaces.memory import IMemory, IMemoryAllocator
from interfaces.pins import IAllocationProposal, IMemInputPin, IPin
from interfaces.quality import IQualityControl
from interfaces.sample import IBufferSample, IMediaSample, IMediaSample2
from interfaces.seeking import IMediaSeeking
from interfaces.unknown import IUnknown

__all__ = [
    "IAllocationProposal",
    "IBaseFilter",
    "IBufferPool",
    "IBufferSample",
    "IFilterGraph",
    "IGraphBuilder",
    "IMediaControl",
    "IMediaEvent",
    "IMediaEventSink",
    "IMediaFilter",
    "IMediaSample",
    "IMediaSample2",
    "IMediaSeeking",
    "IMemAllocator",
    "IMemAllocatorCallbackTemp",
    "IMemAllocatorNotifyCallbackTemp",
    "IMemInputPin",
    "IMemory",
    "IMemoryAllocator",
    "IPin",
    "IQualityControl",
    "IReferenceClock",
    "IUnknown",
]
