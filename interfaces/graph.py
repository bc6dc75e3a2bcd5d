"""The filter graph manager's interfaces: building a graph, running it, hearing its events."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    import os

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
    """Graph building with intelligence: filters from the registry go in where needed.

    *Intelligent connect* inserts registered filters of merit above ``MERIT_DO_NOT_USE``
    only: *converters* (one input and one output pin) between two pins, *renderers* (one
    input pin, no output) at the end of a stream, *file sources* (chosen by the file's
    suffix) at its start; the highest merit first, then by registered name. Every filter it
    adds joins the graph under its registered name (`` 0001`` appended when taken) and is
    the graph's like any other (``RemoveFilter`` takes it out); the graph remembers which
    it added. Each method builds only while the graph is stopped, and one that raises leaves
    the graph exactly as it was: the filters it added are removed, the pins it connected
    disconnected.

    The IID is the real one, IID_IGraphBuilder.
    """

    taggedValue("iid", UUID("56a868a9-0ad4-11ce-b03a-0020af0ba770"))

    def Connect(out_pin: IPin, in_pin: IPin) -> None:
        """Connect ``out_pin`` (an output pin) to ``in_pin`` (an input pin), directly when
        they agree on a type, else through a chain of converters.

        Directly: ``ConnectDirect(out_pin, in_pin)`` with no type. When that is refused
        because no type fits (VFW_E_TYPE_NOT_ACCEPTED, VFW_E_NO_ACCEPTABLE_TYPES,
        VFW_E_INVALIDMEDIATYPE, E_FAIL or E_INVALIDARG), chains of one, then two, then
        three converters are tried (a converter at most once in a chain); chains of one
        length in the lexicographic order of their converters' ranks (merit, highest first,
        then name), so the shortest chain wins, and among chains of one length the one whose
        first converter ranks highest, then its second. Each link of a chain takes the
        first type its two pins agree on; when it or a later link fails, the link's other
        candidate types are tried in turn: the upstream pin's types fixed by the
        downstream pin's template caps, before the last link those types moved towards what
        ``in_pin`` wants (its template caps and offered types), then every type either pin
        offers. At most 1000 pin connections are tried in one call. The first chain that
        connects end to end stays in the graph.

        Raises:
            COMError: E_POINTER when a pin is None.
            COMError: VFW_E_NOT_IN_GRAPH when a pin's filter is not in this graph.
            COMError: VFW_E_INVALID_DIRECTION when ``out_pin`` is not an output pin or
                ``in_pin`` not an input pin.
            COMError: VFW_E_ALREADY_CONNECTED when either pin is connected.
            COMError: VFW_E_NOT_STOPPED when the graph is not stopped.
            COMError: VFW_E_CANNOT_CONNECT (0x80040217) when no chain connects them.
            Exception: the direct connection's own error when it failed for another reason
                than the type (a filter's hook raising, an allocator that cannot be sized):
                no converter would mend it.
        """

    def Render(out_pin: IPin) -> None:
        """Connect ``out_pin`` (an unconnected output pin) to a new renderer, through
        converters as ``Connect`` inserts them: the renderers are tried highest merit
        first, each added and connected with ``Connect``, until one connects. The built-in
        fallback is ``nullsink`` (MERIT_UNLIKELY), which takes any type.

        Raises:
            COMError: E_POINTER, VFW_E_NOT_IN_GRAPH, VFW_E_INVALID_DIRECTION,
                VFW_E_ALREADY_CONNECTED and VFW_E_NOT_STOPPED as ``Connect``.
            COMError: VFW_E_CANNOT_RENDER (0x80040218) when no renderer takes the stream.
        """

    def RenderFile(file: str | os.PathLike[str], playlist: None = None) -> None:
        """Build the graph that plays the file ``file``: add a source that reads it (the
        registered file sources whose extensions name its suffix or ``*``, highest merit
        first, a source naming the suffix before one taking any file; one that cannot
        read the file is passed over), then ``Render`` every one of its output pins.
        ``playlist`` is reserved and must be None.

        Raises:
            TypeError: ``file`` is not a str or path.
            COMError: E_INVALIDARG (also a ``ValueError``) when ``playlist`` is not None.
            COMError: VFW_E_NOT_STOPPED when the graph is not stopped.
            COMError: VFW_E_NOT_FOUND when there is no file at ``file``.
            COMError: VFW_E_CANNOT_RENDER when no source reads it or a stream of it
                cannot be rendered.
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
        still completing a transition (a renderer pausing waits for its first sample).

        The success code Windows returns beside the state (VFW_S_STATE_INTERMEDIATE when the
        wait ended first, VFW_S_CANT_CUE for a paused live graph, which does not wait for
        its renderers: a live source makes nothing while paused) is what the graph's
        ``get_state_code(timeout_ms)`` returns, as ``(state, hresult)``.
        """


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
