"""The filter graph manager's interfaces: building a graph, running it, hearing its events."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from dshow_alloc.mediatype import MediaType
    from dshow_alloc.structs import FilterState
    from interfaces.filters import IBaseFilter
    from interfaces.pins import IPin

__all__ = ["IFilterGraph", "IGraphBuilder", "IMediaControl", "IMediaEvent", "IMediaEventSink"]


class IFilterGraph(IUnknown):
    """A set of filters and the connections between them.

    The graph owns its filters: it tells each one its name and graph with
    ``IBaseFilter.JoinFilterGraph``, gives it the graph clock, and takes it out again on
    ``RemoveFilter``. Filters are added, removed, connected and disconnected only while the
    graph is stopped.

    The IID is the real one, IID_IFilterGraph.
    """

    taggedValue("iid", UUID("56a8689f-0ad4-11ce-b03a-0020af0ba770"))

    def AddFilter(filter: IBaseFilter, name: str | None = None) -> str:
        """Add ``filter`` under ``name`` (None: a name from its class) and return the name it
        got: ``name`` itself, or ``name`` with `` 0001``, `` 0002``, ... appended when taken.

        Raises:
            COMError: E_POINTER when ``filter`` is None.
            COMError: E_INVALIDARG (also a ``ValueError``) when it is already in this graph.
            COMError: VFW_E_NOT_STOPPED when the graph is not stopped.
        """

    def RemoveFilter(filter: IBaseFilter) -> None:
        """Disconnect every connected pin of ``filter`` (both ends) and take it out.

        Raises:
            COMError: VFW_E_NOT_FOUND when ``filter`` is not in this graph.
            COMError: VFW_E_NOT_STOPPED when the graph is not stopped.
        """

    def EnumFilters() -> list[IBaseFilter]:
        """Return the graph's filters in the order they were added, as a new list."""

    def FindFilterByName(name: str) -> IBaseFilter:
        """Return the filter added under ``name``.

        Raises:
            COMError: VFW_E_NOT_FOUND when no filter has that name.
        """

    def ConnectDirect(out_pin: IPin, in_pin: IPin, media_type: MediaType | None = None) -> None:
        """Connect ``out_pin`` to ``in_pin`` directly (``out_pin.Connect(in_pin, media_type)``).

        Raises:
            COMError: VFW_E_NOT_IN_GRAPH when either pin's filter is not in this graph.
            COMError: whatever ``IPin.Connect`` raises.
        """

    def Disconnect(pin: IPin) -> bool:
        """Disconnect one side of a connection: ``pin.Disconnect()``. Call it for both pins.

        Returns what ``IPin.Disconnect`` returns (False: the pin was not connected).
        """

    def SetDefaultSyncSource() -> None:
        """Give the graph a new ``SystemClock`` as its reference clock."""


class IGraphBuilder(IFilterGraph):
    """Graph building with intelligence: here, ``Connect`` tries the pins' types directly.

    The IID is the real one, IID_IGraphBuilder.
    """

    taggedValue("iid", UUID("56a868a9-0ad4-11ce-b03a-0020af0ba770"))

    def Connect(out_pin: IPin, in_pin: IPin) -> None:
        """Connect the pins with any type they agree on (``ConnectDirect`` with no type).

        DirectShow would insert intermediate filters from the registry when no type
        agrees; this framework has no filter registry, so it raises instead.

        Raises:
            COMError: what ``ConnectDirect`` raises.
        """


class IMediaControl(IUnknown):
    """Running, pausing and stopping the whole graph.

    State changes go to every filter, downstream filters (renderers) first, so that a filter
    never pushes into one that is not ready. Pausing from Stopped commits the allocators and
    starts the streaming threads; stopping decommits them, joins the threads and brings every
    sample home.

    The IID is the real one, IID_IMediaControl.
    """

    taggedValue("iid", UUID("56a868b1-0ad4-11ce-b03a-0020af0ba770"))

    def Run() -> None:
        """Run the graph: pause it first when stopped, then run every filter with one start
        time (the clock's time now plus a short latency; 0 without a clock).

        Raises:
            COMError: the first error a filter raised; every filter is stopped again.
        """

    def Pause() -> None:
        """Pause every filter (data flows until renderers hold their first sample).

        Raises:
            COMError: the first error a filter raised; every filter is stopped again.
        """

    def Stop() -> None:
        """Stop every filter, from any state. Returns when every streaming thread has ended
        and every sample is home.

        Raises:
            COMError: the first error a filter's ``Stop`` raised; the other filters are still
                stopped.
        """

    def GetState(timeout_ms: int) -> FilterState:
        """Return the graph's state, waiting up to ``timeout_ms`` ms for filters that are
        still completing a transition (a renderer pausing waits for its first sample)."""


class IMediaEvent(IUnknown):
    """The events filters report (end of stream, errors), as the application sees them.

    The IID is the real one, IID_IMediaEvent.
    """

    taggedValue("iid", UUID("56a868b6-0ad4-11ce-b03a-0020af0ba770"))

    def GetEvent(timeout_ms: int) -> tuple[int, object, object]:
        """Remove and return the oldest event as ``(code, param1, param2)``, waiting up to
        ``timeout_ms`` ms for one (-1: forever).

        Raises:
            COMError: E_ABORT when none arrives in time.
        """

    def WaitForCompletion(timeout_ms: int) -> int:
        """Wait up to ``timeout_ms`` ms (-1: forever) for the stream to end, and return how:
        ``EC_COMPLETE`` (every renderer saw end of stream), ``EC_ERRORABORT`` or
        ``EC_USERABORT``, whichever came first since the graph last left Stopped. The events
        stay in the queue for ``GetEvent``.

        Raises:
            COMError: E_ABORT when the stream has not ended in time.
        """


class IMediaEventSink(IUnknown):
    """Where filters report events: the graph they joined.

    The IID is the real one, IID_IMediaEventSink.
    """

    taggedValue("iid", UUID("56a868a2-0ad4-11ce-b03a-0020af0ba770"))

    def Notify(code: int, param1: object, param2: object) -> None:
        """Report event ``code`` with its two parameters. Safe from any thread, never blocks
        on the graph's state, and never raises for a well-formed event."""
