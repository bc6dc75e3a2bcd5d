"""IPin and IMemInputPin: connecting filters, negotiating allocators, pushing samples."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dshow_alloc.mediatype import MediaType
    from dshow_alloc.negotiation import AllocationQuery
    from dshow_alloc.structs import AllocatorProperties, PinDirection, PinInfo
    from interfaces.allocator import IMemAllocator
    from interfaces.sample import IMediaSample

__all__ = ["IAllocationProposal", "IMemInputPin", "IPin"]


class IPin(IUnknown):
    """A connection point of a filter: an input pin receives data, an output pin sends it.

    Connection. The graph (or the application) calls ``Connect`` on an output pin, passing an
    input pin of another filter. The output pin agrees a media type with the input pin, calls
    the input pin's ``ReceiveConnection``, and completes the connection by negotiating an
    allocator with the input pin's `IMemInputPin` (see there). A connection is made and broken
    only while the filters are stopped. A connection that fails at any step leaves both pins as
    they were: unconnected, no type, no allocator.

    Streaming calls. ``EndOfStream``, ``BeginFlush``, ``EndFlush`` and ``NewSegment`` are
    made by the upstream output pin on the input pin it is connected to. ``EndOfStream`` and
    ``NewSegment`` travel in order with the samples, on the upstream streaming thread;
    ``BeginFlush`` and ``EndFlush`` come from another thread (the one seeking or stopping),
    possibly while a ``Receive`` is in progress. A filter that transforms data forwards each
    of them downstream through its output pins.

    Ownership: the objects these methods return (peer pins, filters in ``PinInfo``) are
    returned without ``AddRef`` (see `IUnknown`).

    The IID is the real one, IID_IPin.
    """

    taggedValue("iid", UUID("56a86891-0ad4-11ce-b03a-0020af0ba770"))

    def Connect(receive_pin: IPin, media_type: MediaType | None = None) -> None:
        """Connect this pin (normally an output pin) to ``receive_pin``, a pin of another filter.

        ``media_type`` chooses the type. A fully specified type is the only one tried. None,
        or a partial type (GUID_NULL in ``major_type``, ``subtype`` or ``format_type`` acts as
        a wildcard), means: try the types of ``receive_pin.EnumMediaTypes()`` and then this
        pin's own (a pin may prefer its own first), keeping those that match the partial type,
        and connect with the first one both pins accept.

        Each attempt: check the pair (opposite directions; an output pin needs the peer's
        `IMemInputPin`), check the type on this side, call
        ``receive_pin.ReceiveConnection(self, type)``, then complete the connection (an
        output pin negotiates its allocator, ``IMemInputPin``); a failure after
        ``ReceiveConnection`` succeeded disconnects ``receive_pin`` again. On success both pins
        report each other from ``ConnectedTo`` and the same type from ``ConnectionMediaType``;
        the allocator is negotiated but not committed.

        Raises:
            COMError: E_POINTER when ``receive_pin`` is None.
            COMError: VFW_E_ALREADY_CONNECTED when this pin is already connected.
            COMError: VFW_E_NOT_STOPPED when this pin's filter is not stopped.
            COMError: VFW_E_INVALID_DIRECTION when both pins have the same direction.
            COMError: E_NOINTERFACE when this pin is an output pin and ``receive_pin`` does
                not provide `IMemInputPin`.
            COMError: VFW_E_TYPE_NOT_ACCEPTED when a fully specified ``media_type`` is
                refused by either pin.
            COMError: VFW_E_NO_ACCEPTABLE_TYPES when no candidate type works with None or a
                partial type.
            COMError: any other error from ``ReceiveConnection`` or the allocator negotiation
                (for example VFW_E_BADALIGN from ``SetProperties``), unchanged.
        """

    def ReceiveConnection(connector: IPin, media_type: MediaType) -> None:
        """Accept a connection from ``connector``, the output pin whose ``Connect`` calls this.

        Called by the connecting pin (normally an output pin connecting to this input pin),
        never by applications. On success
        this pin is connected to ``connector`` with ``media_type``. A pin that accepts the type
        in ``QueryAccept`` accepts it here.

        Raises:
            COMError: E_POINTER when ``connector`` or ``media_type`` is None.
            COMError: VFW_E_ALREADY_CONNECTED when this pin is already connected.
            COMError: VFW_E_NOT_STOPPED when this pin's filter is not stopped.
            COMError: VFW_E_INVALID_DIRECTION when ``connector`` has this pin's direction.
            COMError: VFW_E_TYPE_NOT_ACCEPTED when this pin refuses ``media_type``.
        """

    def Disconnect() -> bool:
        """Break this pin's side of its connection.

        Returns True when the pin was connected and now is not, False when it was not
        connected (Windows' S_FALSE). Only this side is disconnected: the peer still reports
        this pin until its own ``Disconnect`` is called, so whoever disconnects calls it on
        both pins. An output pin decommits and drops its negotiated allocator; an input pin
        drops the allocator it was notified of.

        Raises:
            COMError: VFW_E_NOT_STOPPED when the pin's filter is not stopped; nothing changes.
        """

    def ConnectedTo() -> IPin:
        """Return the pin this one is connected to.

        Raises:
            COMError: VFW_E_NOT_CONNECTED when the pin is not connected.
        """

    def ConnectionMediaType() -> MediaType:
        """Return the media type of the connection (equal on both pins).

        Raises:
            COMError: VFW_E_NOT_CONNECTED when the pin is not connected.
        """

    def QueryPinInfo() -> PinInfo:
        """Return the pin's owning filter (None if it has none), direction and name."""

    def QueryDirection() -> PinDirection:
        """Return ``PinDirection.PINDIR_INPUT`` or ``PinDirection.PINDIR_OUTPUT``; fixed for
        the pin's life."""

    def QueryId() -> str:
        """Return the pin's identifier: unique among its filter's pins, stable for the pin's
        life, and accepted by ``IBaseFilter.FindPin``."""

    def QueryAccept(media_type: MediaType) -> bool:
        """Return True when the pin could accept a connection (or an in-band change) to
        ``media_type`` now, False otherwise (Windows' S_FALSE). Never raises for a refused
        type.

        Dynamic format change: a connected output pin asks its peer's input pin once before
        delivering samples of another type; on True, the first sample of the new type
        carries it (``IMediaSample.SetMediaType``) and the input pin takes it on when that
        sample arrives, in order with the samples; on False the stream ends (EC_ERRORABORT)
        rather than deliver a sample the input pin cannot take."""

    def EnumMediaTypes() -> list[MediaType]:
        """Return the pin's preferred media types, most preferred first, as a new list.

        The list may be empty (a pin that prefers nothing, or a transform's output pin while
        its input pin is unconnected). The types are candidates for ``Connect``, not promises:
        the connection still checks them.
        """

    def EndOfStream() -> None:
        """Tell an input pin that no more samples follow the ones already delivered.

        In-band: sent on the streaming thread after the last ``Receive``. A renderer signals
        the end to the graph once it has presented everything; a transform forwards it
        downstream. It may come more than once (each is forwarded). Ignored while the pin is
        flushing.

        Raises:
            COMError: E_UNEXPECTED when this pin is an output pin.
            COMError: VFW_E_WRONG_STATE when the pin's filter is stopped, and
                VFW_E_RUNTIME_ERROR after a streaming error, for pins that check their
                streaming state (transforms do).
        """

    def BeginFlush() -> None:
        """Start a flush on an input pin: discard data and refuse new data until ``EndFlush``.

        Afterwards ``Receive`` returns False without touching its sample, a ``Receive``
        blocked inside the pin returns promptly, samples the pin had queued are released, and
        the flush is forwarded downstream. Out of band: comes from another thread than the
        streaming one.

        Raises:
            COMError: E_UNEXPECTED when this pin is an output pin.
        """

    def EndFlush() -> None:
        """End a flush on an input pin.

        Ordering is exact: a ``Receive`` that was already past its flushing check when
        ``BeginFlush`` came (a filter in the middle of its work on a sample) returns before
        ``EndFlush`` goes on, so no sample from before the flush reaches the filter, or
        leaves it downstream, after the flush. Then it forwards ``EndFlush`` downstream,
        leaves the flushing state and clears any runtime error, so ``Receive`` accepts
        samples again. The next sample usually carries the discontinuity flag and follows a
        ``NewSegment``.

        Raises:
            COMError: E_UNEXPECTED when this pin is an output pin.
        """

    def NewSegment(start: int, stop: int, rate: float) -> None:
        """Announce that the samples that follow form a new segment.

        ``start`` and ``stop`` (REFERENCE_TIME, 100 ns units) are the segment's bounds in
        media time, and ``rate`` the playback rate (1.0 is normal speed). Sample times after
        this call are relative to ``start``. In-band: sent on the streaming thread, before the
        segment's first sample. The pin stores the values and, in a transform, forwards them
        downstream unchanged. Meant for input pins; an output pin just stores them.
        """


class IMemInputPin(IUnknown):
    """The transport of an input pin: allocator negotiation and sample delivery (push model).

    Two parties take part: the *producer*, an upstream output pin whose filter pushes samples
    from its streaming thread, and the *consumer*, the input pin providing this interface.

    Allocator negotiation (``CBaseOutputPin::DecideAllocator``). When the producer completes
    a connection it decides which allocator carries the samples, in exactly this order:

    1. ``requirements = consumer.GetAllocatorRequirements()``; any failure (the default
       E_NOTIMPL included) means "no requirements": all zeros. An ``align`` of 0 becomes 1.
    2. First choice, the consumer's allocator: ``allocator = consumer.GetAllocator()``. If
       that succeeds, the producer's ``DecideBufferSize(allocator, requirements)`` hook sizes
       it (it calls ``allocator.SetProperties`` and should check the actual values, failing
       when they are smaller than needed), then ``consumer.NotifyAllocator(allocator,
       read_only=False)`` confirms the choice. If all three succeed, negotiation is done.
    3. Otherwise (``GetAllocator`` raised, VFW_E_NO_ALLOCATOR or anything else, or sizing or
       notification failed) the producer drops that allocator and makes its own
       (``InitAllocator``: a new ``MemAllocator``), then ``DecideBufferSize`` with the same
       requirements and ``NotifyAllocator(allocator, read_only=False)`` again.
    4. If that fails too, the connection fails with the last error and the producer keeps no
       allocator.

    Negotiation never commits the allocator: ``GetBuffer`` on it raises VFW_E_NOT_COMMITTED
    until the producer's filter leaves Stopped, when the producer commits it (pausing fails
    with the ``Commit`` error, for example VFW_E_SIZENOTSET). Stopping decommits it (the
    consumer's side decommits the allocator it was notified of as well). Disconnecting
    decommits and drops it.

    The consumer's part: offer an allocator from ``GetAllocator`` (or raise
    VFW_E_NO_ALLOCATOR), state requirements from ``GetAllocatorRequirements`` if it has any,
    and remember the allocator and the ``read_only`` flag given to ``NotifyAllocator``.
    ``read_only=True`` means the samples' data must not be modified in place: a consumer that
    modifies data copies it first. A consumer may refuse an allocator by raising from
    ``NotifyAllocator``; the producer then falls back as above.

    Streaming and flow control (``Receive``). While its filter runs or is paused, the producer
    calls ``GetBuffer`` on the negotiated allocator, fills the sample, calls
    ``consumer.Receive(sample)``, and then releases its own reference. Calls to ``Receive``,
    ``ReceiveMultiple``, ``IPin.EndOfStream`` and ``IPin.NewSegment`` on one pin come from one
    streaming thread at a time, in order. The consumer slows the producer down in two ways:

    - by holding samples: a consumer that keeps samples (``AddRef`` in ``Receive``, queued
      for later) leaves fewer free samples in the pool, and the producer's ``GetBuffer``
      blocks when none is left until the consumer releases one. The pool's ``buffers`` bound
      how far the producer can run ahead.
    - by blocking in ``Receive``: a renderer, for example, blocks until a sample's
      presentation time, or while paused on its first sample. ``ReceiveCanBlock`` tells the
      producer whether this can happen, so that a producer that must not block (one feeding
      several consumers) can deliver through a queue on a thread of its own.

    The result of ``Receive`` tells the producer whether to go on: True means "accepted, send
    more" (whether the consumer used, dropped or queued the sample); False means the consumer
    is flushing and discarded it: the producer stops pushing until the flush is over
    (``EndFlush``, usually followed by ``NewSegment`` and a discontinuity). An exception means
    streaming failed: the producer stops pushing and does not send ``EndOfStream``; the
    consumer has already reported the error to the graph.

    Flushing and stopping interrupt streaming from another thread. ``IPin.BeginFlush`` makes
    the consumer release the samples it holds, wake a blocked ``Receive`` and return False
    from every ``Receive`` until ``IPin.EndFlush``. Stopping the consumer's filter does the same
    and decommits the allocator, so a producer blocked in ``GetBuffer`` wakes with
    VFW_E_NOT_COMMITTED; later ``Receive`` calls raise VFW_E_WRONG_STATE.

    Sample ownership across ``Receive``: the producer holds a reference for the whole call
    and releases it after the call returns, whatever the result. A consumer that keeps the
    sample beyond the call calls its ``AddRef`` before returning and its ``Release`` when
    done; a consumer that does not keep it must not touch it after returning. The producer must not
    write to or reuse a sample it has passed to ``Receive``: it takes a fresh one from
    ``GetBuffer``. The sample home-coming (``IMemAllocator.ReleaseBuffer``) happens on
    whichever thread drops the last reference.

    The IID is the real one, IID_IMemInputPin.
    """

    taggedValue("iid", UUID("56a8689d-0ad4-11ce-b03a-0020af0ba770"))

    def GetAllocator() -> IMemAllocator:
        """Return the allocator this input pin offers for the connection.

        The base input pin creates a ``MemAllocator`` on the first call and returns that same
        object afterwards; once ``NotifyAllocator(X, ...)`` was called it returns ``X``. The
        allocator is returned without ``AddRef``.

        Raises:
            COMError: VFW_E_NO_ALLOCATOR when the pin has no allocator to offer (the producer
                then makes its own).
        """

    def NotifyAllocator(allocator: IMemAllocator, read_only: bool) -> None:
        """Tell the input pin which allocator the connection uses, and whether its samples are
        read-only (True: the pin must copy data before modifying it).

        The pin keeps a reference to ``allocator``, replacing any earlier one, and remembers
        ``read_only``. A pin may refuse an allocator it cannot work with by raising (the base
        in-place transform refuses a read-only allocator that is its own output allocator,
        with E_FAIL); the producer then tries its own allocator.

        Raises:
            COMError: E_POINTER when ``allocator`` is None.
        """

    def GetAllocatorRequirements() -> AllocatorProperties:
        """Return the buffer properties the input pin needs: ``buffers``, ``buffer_size``,
        ``align`` and ``prefix`` (0 in a field means no requirement for it).

        Optional. Callers treat any failure as "no requirements" (all zeros).

        Raises:
            COMError: E_NOTIMPL (also a ``NotImplementedError``) when the pin has no
                requirements; this is the default.
        """

    def Receive(sample: IMediaSample) -> bool:
        """Deliver one sample to the input pin (see the class docstring for the protocol).

        Returns True when the sample was accepted: processed, queued, or deliberately dropped
        (a transform that skips a frame still returns True). Returns False when the pin is
        flushing: the sample was not looked at, and the producer should stop pushing until the
        flush ends (Windows' S_FALSE).

        If the sample carries a media type (``GetMediaType()`` not None) the pin switches to
        it from this sample on, provided it accepts it.

        The pin may block (see ``ReceiveCanBlock``). To keep the sample after returning it
        calls ``sample.AddRef()`` first; the caller releases its own reference after the call.

        Raises:
            COMError: VFW_E_WRONG_STATE when the pin's filter is stopped.
            COMError: VFW_E_RUNTIME_ERROR when an earlier streaming error has not been cleared
                (by ``EndFlush`` or stopping).
            COMError: VFW_E_INVALIDMEDIATYPE when the sample carries a media type the pin
                refuses; the pin then records a runtime error, sends ``EndOfStream``
                downstream and reports EC_ERRORABORT (VFW_E_TYPE_NOT_ACCEPTED) to the graph.
            COMError: any error raised while processing the sample; the pin has reported it
                to the graph.
        """

    def ReceiveMultiple(samples: Sequence[IMediaSample]) -> int:
        """Deliver several samples in order; return how many were accepted.

        Equivalent to calling ``Receive`` on each sample in turn, stopping at the first one
        that returns False: the result is the number of samples for which ``Receive`` returned
        True, so a result smaller than ``len(samples)`` means the pin is flushing. An exception
        from ``Receive`` propagates (the samples before it were accepted). Ownership is as for
        ``Receive``, sample by sample. An empty sequence returns 0.
        """

    def ReceiveCanBlock() -> bool:
        """Return True when ``Receive`` may block the calling thread, False when it never does
        (Windows' S_FALSE).

        A renderer that waits for presentation times returns True. A pin that passes samples
        on synchronously answers for its downstream: True when any of its filter's connected
        output pins leads to a pin that may block (or does not provide `IMemInputPin`), True
        when it has no connected output, False only when every downstream pin says False.
        """


class IAllocationProposal(IUnknown):
    """GStreamer's ALLOCATION query, answered by an input pin: what it proposes upstream use.

    When an output pin completes a connection it asks the input pin, before the
    ``IMemInputPin`` negotiation, to fill an ``AllocationQuery`` for the connection's media
    type: ``pools`` (``PoolProposal(pool, size, min_buffers, max_buffers)``, where a None pool
    means "these are my numbers, bring your own pool"), ``params`` (a memory allocator and
    its ``AllocationParams``) and ``metas`` (the metas it understands, with parameters). The
    output pin then decides: the first pool (a pool given there is its first-choice
    allocator), the first params, and only the metas listed. Numbers widen the
    ``GetAllocatorRequirements`` ones, never narrow them. A pin with nothing to propose leaves
    the query empty and the negotiation is DirectShow's alone.

    A filter that passes samples through unchanged (an in-place transform, a queue) forwards
    the query downstream; a tee merges its branches' answers.

    The IID is this project's own (the interface has no DirectShow counterpart).
    """

    taggedValue("iid", UUID("5b0f3a1e-7d2c-4c1e-9a61-70726f706f73"))

    def ProposeAllocation(query: AllocationQuery) -> None:
        """Add this pin's proposals to ``query`` (in place).

        Raises:
            COMError: when the pin cannot answer; the output pin then decides without a
                proposal, as with a failed ``GetAllocatorRequirements``.
        """
