"""Sizing allocators and copying samples: the helpers of filters that copy or size.

`size_allocator` is the usual ``DecideBufferSize``; `upstream_buffer_size` and
`size_like_upstream` size an output like its input; `copy_sample`, `copy_sample_properties`
and `deliver_copy` copy a sample's data and properties into another one.
"""

from __future__ import annotations

from typing import Any

from dshow_alloc.hresult import COMError, FailError, VfwSampleTimeNotSetError, VfwSizeNotSetError
from dshow_alloc.pins import BaseInputPin, BaseOutputPin
from dshow_alloc.sample import MediaSample
from dshow_alloc.structs import AllocatorProperties

__all__ = [
    "copy_sample",
    "copy_sample_properties",
    "deliver_copy",
    "size_allocator",
    "size_like_upstream",
    "upstream_buffer_size",
]


def size_allocator(
    allocator: Any, request: AllocatorProperties, *, buffers: int = 1, buffer_size: int = 0
) -> AllocatorProperties:
    """The usual ``DecideBufferSize``: ask ``allocator`` for at least ``request`` and at least
    ``buffers`` samples of ``buffer_size`` bytes, and check what it gave.

    Raises:
        COMError: VFW_E_SIZENOTSET when neither the request nor ``buffer_size`` gives a size.
        COMError: E_FAIL when the allocator gives fewer or smaller samples, or looser
            alignment, than asked (``CTransInPlaceFilter::DecideBufferSize``'s check).
    """
    wanted = AllocatorProperties(
        max(request.buffers, buffers),
        max(request.buffer_size, buffer_size),
        max(request.align, 1),
        request.prefix,
    )
    if wanted.buffer_size == 0:
        raise VfwSizeNotSetError(
            message="DecideBufferSize has no size: give the media type a sample_size, "
            "pass buffer_size, or override DecideBufferSize"
        )
    actual: AllocatorProperties = allocator.SetProperties(wanted)
    if (
        actual.buffers < wanted.buffers
        or actual.buffer_size < wanted.buffer_size
        or actual.align < wanted.align
    ):
        raise FailError(message=f"the allocator gave {actual}, less than {wanted}")
    return actual


def upstream_buffer_size(input_pin: BaseInputPin) -> int:
    """The sample size of the allocator ``input_pin`` was given (0 without one)."""
    upstream = input_pin.peek_allocator()
    return upstream.GetProperties().buffer_size if upstream is not None else 0


def size_like_upstream(
    input_pin: BaseInputPin, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
) -> None:
    """``DecideBufferSize`` for an output pin that copies ``input_pin``'s samples: as large as
    the upstream ones (else the connection type's sample size)."""
    size = upstream_buffer_size(input_pin) or pin.ConnectionMediaType().sample_size
    size_allocator(allocator, request, buffer_size=size)


def deliver_copy(output: BaseOutputPin, sample: Any) -> bool:
    """Deliver a copy of ``sample`` from ``output``'s own allocator (a branch or queue whose
    downstream would not take the upstream samples)."""
    copy = output.GetDeliveryBuffer()
    try:
        copy_sample(sample, copy)
        return output.Deliver(copy)
    finally:
        copy.Release()


def copy_sample_properties(source: Any, target: Any) -> None:
    """Carry times, media times and the sync point, preroll and discontinuity flags from
    ``source`` to ``target`` (``CTransformFilter::InitializeOutputSample``)."""
    if source.__class__ is MediaSample and target.__class__ is MediaSample:
        source._carry_to(target)
        return
    try:
        start, stop = source.GetTime()
        target.SetTime(start, stop)
    except VfwSampleTimeNotSetError:
        target.SetTime(None)
    try:
        target.SetMediaTime(*source.GetMediaTime())
    except COMError:
        target.SetMediaTime(None, None)
    target.SetSyncPoint(source.IsSyncPoint())
    target.SetPreroll(source.IsPreroll())
    target.SetDiscontinuity(source.IsDiscontinuity())


def copy_sample(source: Any, target: Any) -> None:
    """Copy ``source``'s data and properties into ``target`` (a writable sample at least as
    large as the data), and the media type it carries (a format change travels on with the
    copy: the copy is the same data of the same type)."""
    length = source.GetActualDataLength()
    data = source.GetPointer()
    target.GetPointer()[:length] = data[:length]
    target.SetActualDataLength(length)
    copy_sample_properties(source, target)
    media_type = source.GetMediaType()
    if media_type is not None:
        target.SetMediaType(media_type)
