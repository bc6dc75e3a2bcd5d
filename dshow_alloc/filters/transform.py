"""Transforms: `TransformFilter` (``CTransformFilter``), `TransInPlaceFilter`
(``CTransInPlaceFilter``) and the pass-through base they share with the elements.

A `TransformFilter` makes a new output sample per input sample; a pass-through filter
(`_PassThroughFilter`, with its `_PassThroughOutputPin`) hands its input samples on, on the
downstream allocator, and `TransInPlaceFilter` changes them in place.
"""

from __future__ import annotations

import logging
from typing import Any

from dshow_alloc.filters.base import BaseFilter
from dshow_alloc.filters.copying import (
    copy_sample,
    copy_sample_properties,
    size_allocator,
    size_like_upstream,
    upstream_buffer_size,
)
from dshow_alloc.hresult import FailError, NotImplError, UnexpectedError, VfwNotConnectedError
from dshow_alloc.mediatype import MediaType
from dshow_alloc.negotiation import AllocationQuery
from dshow_alloc.pins import BaseInputPin, BaseOutputPin, BasePin, pin_label
from dshow_alloc.structs import AllocatorProperties

__all__ = ["TransInPlaceFilter", "TransformFilter"]

log = logging.getLogger("dshow_alloc.filters")  # one logger for the whole package


class TransformFilter(BaseFilter):
    """``CTransformFilter``: one input pin, one output pin, a new output sample per input.

    Override ``Transform(in_sample, out_sample)`` (return False to drop the sample), and as
    needed ``CheckInputType``, ``CheckTransform``, ``GetMediaType`` and ``DecideBufferSize``.
    The output sample comes from the output pin's allocator with the input's times and flags
    already carried over.

    Format changes: when a sample arrives with a new input type while the output is
    connected, the filter keeps its output type if ``CheckTransform(new input, output)``
    holds (a converter with a fixed output); otherwise its output follows with the type
    ``output_type_for`` gives (by default the new input type, when the output carried the
    input's type), changed by `BaseOutputPin.change_media_type` before that sample's output
    sample is made, so downstream sees the change in order with the samples. An input type
    neither way allows is refused (``QueryAccept`` says False).
    """

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self.output = self.add_pin(BaseOutputPin(self, "Output"))
        self._output_change: MediaType | None = None  # the output type to change to, at the
        # next sample (set by media_type_changed)

    # DirectShow's hooks --------------------------------------------------------------------

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Whether the input pin accepts ``media_type``. Default: any."""
        return True

    def CheckTransform(self, media_type_in: MediaType, media_type_out: MediaType) -> bool:
        """Whether the filter turns ``media_type_in`` into ``media_type_out``. Default: only
        into a type that matches the input type."""
        return media_type_in.matches(media_type_out)

    def GetMediaType(self, position: int) -> MediaType | None:
        """The output type offered at ``position`` (the input is connected). Default: the
        input's type at 0."""
        return self.input.ConnectionMediaType() if position == 0 else None

    def DecideBufferSize(self, allocator: Any, request: AllocatorProperties) -> None:
        """Size the output allocator. Default: ``request``, with samples as large as the
        output type's sample size or the input allocator's samples."""
        size = self.output.ConnectionMediaType().sample_size or upstream_buffer_size(self.input)
        size_allocator(allocator, request, buffer_size=size)

    def Transform(self, in_sample: Any, out_sample: Any) -> bool | None:
        """Fill ``out_sample`` from ``in_sample``; return False to drop it."""
        raise NotImplError(message=f"{type(self).__name__} must override Transform")

    def output_type_for(self, input_type: MediaType, previous: MediaType) -> MediaType | None:
        """The output type to change to when the connected input's type changes from
        ``previous`` to ``input_type`` and ``CheckTransform(input_type, output type)`` does
        not hold; None refuses the change. Default: ``input_type`` when the output type is
        ``previous`` (the filter passes its input's type on, as the default
        ``GetMediaType`` offers) and ``CheckTransform(input_type, input_type)`` holds."""
        if self.output.ConnectionMediaType() == previous and self.CheckTransform(
            input_type, input_type
        ):
            return input_type
        return None

    # the pin protocol ----------------------------------------------------------------------

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Input: ``CheckInputType`` (and ``CheckTransform`` once the output is connected;
        for a change of the connected input's type, an ``output_type_for`` it will do);
        output: the input must be connected, then ``CheckTransform``."""
        if pin is self.input:
            if not self.CheckInputType(media_type):
                return False
            if self.output.is_connected():
                output_type = self.output.ConnectionMediaType()
                if self.CheckTransform(media_type, output_type):
                    return True
                if not pin.is_connected():
                    return False
                follow = self.output_type_for(media_type, pin.ConnectionMediaType())
                return follow is not None and bool(self.CheckTransform(media_type, follow))
            return True
        if not self.input.is_connected():
            raise VfwNotConnectedError(message="connect the transform's input pin first")
        return bool(self.CheckTransform(self.input.ConnectionMediaType(), media_type))

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """The output connects only once the input is (``CTransformOutputPin::CheckConnect``:
        E_UNEXPECTED)."""
        if pin is self.output and not self.input.is_connected():
            raise UnexpectedError(message="connect the transform's input pin first")

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """The output pin offers ``GetMediaType`` while the input is connected."""
        if pin is self.output and self.input.is_connected():
            return self.GetMediaType(position)
        return None

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """``DecideBufferSize``."""
        self.DecideBufferSize(allocator, request)

    def end_of_stream(self, pin: BaseInputPin) -> None:
        """Forward it; VFW_E_NOT_CONNECTED without a connected output (``CheckStreaming``)."""
        if not self.output.is_connected():
            raise VfwNotConnectedError(message=f"{self.output!r} is not connected")
        self.output.DeliverEndOfStream()

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """The input's type changed: keep the output type if ``CheckTransform`` allows it,
        else change the output to ``output_type_for``'s at the next sample (None: a subclass
        whose own ``check_media_type`` accepted the type makes its output itself)."""
        if pin is not self.input or previous is None or not self.output.is_connected():
            return
        input_type = self.input.ConnectionMediaType()
        if self.CheckTransform(input_type, self.output.ConnectionMediaType()):
            self._output_change = None
            return
        self._output_change = self.output_type_for(input_type, previous)

    def break_connect(self, pin: BasePin) -> None:
        """A change the output had still to make is forgotten."""
        self._output_change = None

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """``CTransformFilter::Receive``: a new output sample, ``Transform``, deliver (after
        changing the output type first when the input's changed)."""
        output = self.output
        if output._connected is None:
            raise VfwNotConnectedError(message=f"{output!r} is not connected")
        follow = self._output_change
        if follow is not None:
            try:
                changed = output.change_media_type(follow)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            if not changed:
                return False  # stopping or flushing: this sample goes; the change waits
            self._output_change = None
        out_sample = output.GetDeliveryBuffer()
        try:
            copy_sample_properties(sample, out_sample)
            try:
                keep = self.Transform(sample, out_sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            if keep is False:
                return True
            return output.Deliver(out_sample)
        finally:
            out_sample.Release()


class _PassThroughOutputPin(BaseOutputPin):
    """An output pin that hands on its filter's input allocator when downstream takes it."""

    _filter: _PassThroughFilter

    def DecideAllocator(self, input_pin: Any) -> Any:
        """The upstream allocator when there is one we may pass on and downstream accepts it
        (with the upstream ``read_only`` flag); otherwise ``CBaseOutputPin``'s negotiation."""
        upstream_pin = self._filter.input
        upstream = upstream_pin.peek_allocator()
        if upstream is not None and upstream_pin.is_connected() and self._filter.can_share():
            self._ask_proposal(input_pin)
            try:
                input_pin.NotifyAllocator(upstream, upstream_pin.read_only)
                self.allocator_origin = f"passed through from {pin_label(upstream_pin._connected)}"
                return upstream
            except Exception as exc:
                log.debug("%r: downstream refused the upstream allocator (%s)", self, exc)
        return super().DecideAllocator(input_pin)


class _PassThroughFilter(BaseFilter):
    """What an in-place transform and a queue share: samples pass through unchanged, on the
    downstream allocator (``CTransInPlaceFilter``'s allocator rules, and GStreamer's
    forwarding of the allocation query)."""

    modifies_data: bool = False

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.input = self.add_pin(BaseInputPin(self, "Input"))
        self.output = self.add_pin(_PassThroughOutputPin(self, "Output"))

    def media_type_changed(self, pin: BasePin, previous: MediaType | None) -> None:
        """The input's type changed (the sample that carries it is arriving): that sample
        takes the type on downstream itself, passed through or copied (`copy_sample`), and
        the output pin's connection type follows it."""
        if pin is self.input and self.output.is_connected():
            self.output.SetMediaType(pin.ConnectionMediaType())

    def can_share(self) -> bool:
        """Whether samples can pass through unchanged: not when they are read-only and the
        filter writes to them."""
        return not (self.input.read_only and self.modifies_data)

    def passes_through(self) -> bool:
        """True when input samples go downstream as they are (same allocator, writable or
        not written to); False means each is copied into an output sample first."""
        return self.output._allocator is self.input._allocator and self.can_share()

    def check_connect(self, pin: BasePin, peer: Any) -> None:
        """The output connects only once the input is (E_UNEXPECTED, as a transform's)."""
        if pin is self.output and not self.input.is_connected():
            raise UnexpectedError(message="connect the input pin first")

    def allocator_requirements(self, pin: BaseInputPin) -> AllocatorProperties | None:
        """Downstream's requirements once the output is connected
        (``CTransInPlaceInputPin::GetAllocatorRequirements``)."""
        if pin is self.input and self.output.is_connected():
            return self.output.input_pin.GetAllocatorRequirements()  # type: ignore[no-any-return]
        return pin.requirements

    def offer_allocator(self, pin: BaseInputPin) -> Any:
        """The downstream pin's allocator, once the output is connected."""
        if pin is self.input and self.output.is_connected():
            return self.output.input_pin.GetAllocator()
        return None

    def accept_allocator(self, pin: BaseInputPin, allocator: Any, read_only: bool) -> None:
        """Pass the upstream allocator on downstream when the output is connected; a
        read-only allocator that is the output's own cannot be written in place (E_FAIL)."""
        if pin is not self.input or not self.output.is_connected():
            return
        output = self.output
        if read_only and self.modifies_data:
            if allocator is output._allocator:
                raise FailError(message="a read-only allocator cannot be modified in place")
            return  # samples get copied into the output allocator's
        try:
            output.input_pin.NotifyAllocator(allocator, read_only)
        except Exception as exc:
            log.debug("%r: downstream refused the allocator (%s); copying", self, exc)
            return
        old, output._allocator = output._allocator, allocator
        output.allocator_origin = f"passed through from {pin_label(pin._connected)}"
        if old is not None and old is not allocator:
            old.Decommit()

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """Forward the proposal downstream (passthrough)."""
        if pin is self.input and self.output.is_connected():
            downstream = self.output.input_pin
            if hasattr(downstream, "ProposeAllocation"):
                downstream.ProposeAllocation(query)

    def complete_connect(self, pin: BasePin, peer: Any) -> None:
        """When the output connects after the input, let upstream renegotiate so that the
        downstream allocator and needs reach it."""
        if pin is self.output and self.input.is_connected():
            upstream = self.input.ConnectedTo()
            if isinstance(upstream, BaseOutputPin):
                upstream.reconfigure()

    def reconfigure_upstream(self, pin: BaseOutputPin) -> None:
        """Renegotiate upstream first, so the allocator passed through is the new one."""
        if pin is self.output and self.input.is_connected():
            upstream = self.input.ConnectedTo()
            if isinstance(upstream, BaseOutputPin):
                upstream.reconfigure()

    def check_media_type(self, pin: BasePin, media_type: MediaType) -> bool:
        """Input: ``check_input_type``; output: the input's type."""
        if pin is self.input:
            return self.check_input_type(media_type)
        if not self.input.is_connected():
            raise VfwNotConnectedError(message="connect the input pin first")
        return self.input.ConnectionMediaType().matches(media_type)

    def check_input_type(self, media_type: MediaType) -> bool:
        """Whether the input accepts ``media_type``. Default: any."""
        return True

    def get_media_type(self, pin: BasePin, position: int) -> MediaType | None:
        """The output offers the input's type."""
        if pin is self.output and position == 0 and self.input.is_connected():
            return self.input.ConnectionMediaType()
        return None

    def decide_buffer_size(
        self, pin: BaseOutputPin, allocator: Any, request: AllocatorProperties
    ) -> None:
        """Samples as large as the input allocator's (for the copy path)."""
        size_like_upstream(self.input, pin, allocator, request)


class TransInPlaceFilter(_PassThroughFilter):
    """``CTransInPlaceFilter``: ``Transform(sample)`` changes the sample it receives, and the
    same sample goes downstream on the downstream allocator.

    When the input allocator is read-only (a tee upstream) and ``modifies_data`` is True,
    each sample is first copied into one from the output allocator. Override
    ``Transform(sample)`` (return False to drop it) and ``CheckInputType``.
    """

    def __init__(self, *, name: str | None = None, modifies_data: bool = True) -> None:
        super().__init__(name=name)
        self.modifies_data = bool(modifies_data)
        self.copies = 0
        """Samples copied because they could not be changed in place."""

    def CheckInputType(self, media_type: MediaType) -> bool:
        """Whether the input pin accepts ``media_type``. Default: any."""
        return True

    def Transform(self, sample: Any) -> bool | None:
        """Change ``sample`` in place; return False to drop it."""
        raise NotImplError(message=f"{type(self).__name__} must override Transform")

    def check_input_type(self, media_type: MediaType) -> bool:
        """``CheckInputType``."""
        return bool(self.CheckInputType(media_type))

    def receive(self, pin: BaseInputPin, sample: Any) -> bool:
        """Transform in place and deliver, or copy first when the sample is read-only."""
        output = self.output
        if output._connected is None:
            raise VfwNotConnectedError(message=f"{output!r} is not connected")
        # Hot path: passes_through(), inlined.
        if output._allocator is pin._allocator and not (pin._read_only and self.modifies_data):
            try:
                keep = self.Transform(sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            return True if keep is False else output.Deliver(sample)
        out_sample = output.GetDeliveryBuffer()
        try:
            copy_sample(sample, out_sample)
            self.copies += 1
            try:
                keep = self.Transform(out_sample)
            except Exception as exc:
                pin.stream_error(exc)
                raise
            return True if keep is False else output.Deliver(out_sample)
        finally:
            out_sample.Release()
