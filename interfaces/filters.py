"""IMediaFilter and IBaseFilter: a filter's state machine, clock and pins."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from dshow_alloc.structs import FilterInfo, FilterState
    from interfaces.clock import IReferenceClock
    from interfaces.pins import IPin

__all__ = ["IBaseFilter", "IMediaFilter"]


class IMediaFilter(IUnknown):
    """A component with a streaming state (Stopped, Paused, Running) and a reference clock.

    The graph drives every filter through the same transitions, downstream filters first:
    ``Pause`` from Stopped activates the filter's connected pins (output pins commit their
    allocators, streaming threads start, renderers wait for their first sample), ``Run``
    starts presenting against the clock, ``Stop`` deactivates the pins (allocators are
    decommitted, so blocked ``GetBuffer`` calls wake with VFW_E_NOT_COMMITTED, and held samples
    are released). Unconnected pins are never activated. A new filter is Stopped.

    Times: REFERENCE_TIME ``int`` values in 100 ns units. Stream time is the clock's time minus
    the ``start`` given to ``Run``.

    The IID is the real one, IID_IMediaFilter.
    """

    taggedValue("iid", UUID("56a86899-0ad4-11ce-b03a-0020af0ba770"))

    def GetClassID() -> UUID:
        """Return the filter's class identifier (IPersist::GetClassID), the CLSID naming its
        implementation; the same for every instance of a filter class."""

    def Stop() -> None:
        """Go to Stopped from any state.

        Calls the deactivation of every connected pin (each one, even after a failure):
        streaming threads stop, allocators are decommitted, flushing and runtime-error state
        are cleared. Stopping a stopped filter does nothing. The filter is Stopped afterwards
        even when a pin failed.

        Raises:
            COMError: the first error a pin's deactivation raised (for example
                VFW_E_NO_ALLOCATOR from an input pin that never got an allocator).
        """

    def Pause() -> None:
        """Go to Paused.

        From Stopped, activates every connected pin first: an output pin commits its
        allocator; the first failure stops the activation and is raised, and the filter stays
        Stopped. From Running, presentation stops but data keep flowing until the pipeline
        fills. A paused renderer blocks on its first sample (see ``GetState``). A live source
        (one that captures at the clock's pace) produces nothing while paused: its
        ``GetState`` code is VFW_S_CANT_CUE.

        Raises:
            COMError: VFW_E_NO_ALLOCATOR when a connected output pin has no allocator.
            COMError: the allocator's ``Commit`` error, for example VFW_E_SIZENOTSET.
            COMError: any other error from a pin's activation.
        """

    def Run(start: int) -> None:
        """Go to Running: present samples against the clock.

        ``start`` is the reference-clock time that corresponds to stream time 0, so a sample
        with start time t is due when the clock reads ``start + t``. From Stopped the filter
        pauses first (and raises what ``Pause`` raises, staying Stopped).

        Raises:
            COMError: whatever ``Pause`` raises when called from Stopped.
        """

    def GetState(timeout_ms: int) -> FilterState:
        """Return the filter's state: ``State_Stopped``, ``State_Paused`` or ``State_Running``.

        A filter whose transitions complete synchronously returns at once and ignores
        ``timeout_ms``. A filter that completes a transition asynchronously (a renderer
        pausing, which waits for its first sample) waits up to ``timeout_ms`` milliseconds for
        it (0: do not wait) and then returns the state it was asked to go to, finished or not.

        Success codes. Windows returns a success code beside the state: S_OK,
        VFW_S_STATE_INTERMEDIATE (0x00040237: the transition has not finished within
        ``timeout_ms``) or VFW_S_CANT_CUE (0x00040268: a live source is paused; it produces
        nothing until it runs, so the renderers downstream cannot finish pausing and nobody
        should wait for them). ``GetState`` returns the state only, so existing callers keep
        working; a filter that has such codes (renderers, live sources) and the filter graph
        also answer ``get_state_code(timeout_ms) -> (state, code)`` with the code as an
        ``HRESULT``. The graph reports VFW_S_CANT_CUE when any of its filters does, at once:
        it does not wait for the renderers then.
        """

    def SetSyncSource(clock: IReferenceClock | None) -> None:
        """Set the reference clock the filter times samples against, or None for no clock
        (samples are presented as soon as they arrive). The graph gives all its filters the
        same clock while they are stopped. The filter keeps a reference to ``clock`` until it
        is replaced."""

    def GetSyncSource() -> IReferenceClock | None:
        """Return the clock set by ``SetSyncSource`` (without ``AddRef``), or None."""


class IBaseFilter(IMediaFilter):
    """A filter: a media filter with pins, a name and a place in a filter graph.

    The IID is the real one, IID_IBaseFilter.
    """

    taggedValue("iid", UUID("56a86895-0ad4-11ce-b03a-0020af0ba770"))

    def EnumPins() -> list[IPin]:
        """Return the filter's pins as a new list, in an order that stays the same while the
        filter's pins do; changing the list does not change the filter."""

    def FindPin(pin_id: str) -> IPin:
        """Return the pin whose ``IPin.QueryId()`` is ``pin_id``.

        Raises:
            COMError: VFW_E_NOT_FOUND when no pin has that identifier.
        """

    def QueryFilterInfo() -> FilterInfo:
        """Return the name the filter was given by ``JoinFilterGraph`` ("" if none) and the
        graph it belongs to (None outside a graph)."""

    def JoinFilterGraph(graph: object | None, name: str | None) -> None:
        """Tell the filter it was added to ``graph`` under ``name``, or removed (None, None).

        Called by the graph only. The filter remembers both for ``QueryFilterInfo`` and uses
        the graph to report events (end of stream, errors). The graph owns its filters, so a
        filter must not keep its graph alive: it holds it without ``AddRef`` (a weak reference
        in spirit). A None ``name`` is stored as "".
        """

    def QueryVendorInfo() -> str:
        """Return a free-form description of the filter's vendor.

        Raises:
            COMError: E_NOTIMPL (also a ``NotImplementedError``) when the filter has none; the
                default.
        """
