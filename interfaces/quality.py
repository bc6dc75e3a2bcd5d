"""IQualityControl: quality messages, from a renderer that falls behind to whoever can help."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

if TYPE_CHECKING:
    from dshow_alloc.structs import Quality
    from interfaces.filters import IBaseFilter

__all__ = ["IQualityControl"]


class IQualityControl(IUnknown):
    """Quality control: a stream that runs late tells the filters upstream, which may send less.

    The protocol between three parties. A *renderer* presenting samples against the clock
    finds one late (it reached the renderer, or the renderer woke for it, after its time) and
    builds a `Quality` message: ``Famine``, how late (``late``, 100 ns units), the sample's
    start (``timestamp``) and the proportion of the data it can take. It calls ``Notify`` on
    the quality sink set by ``SetSink``, else on the output pin feeding it. That pin (or,
    for a pin that does not provide this interface, its filter) hands the message to its
    filter, which either *handles* it (a source skips the frames that would be late too, a
    transform skips work) or *passes it on* upstream through its own input pins, with
    itself as the sender. A message that reaches the start of the stream unhandled is
    dropped. Messages travel against the data, on the thread of the renderer that sent them:
    an implementation never blocks in ``Notify`` and takes no lock a streaming thread may
    hold.

    The IID is the real one, IID_IQualityControl.
    """

    taggedValue("iid", UUID("56a868a5-0ad4-11ce-b03a-0020af0ba770"))

    def Notify(sender: IBaseFilter, quality: Quality) -> bool:
        """Receive a quality message from ``sender`` (the filter downstream that sends it).

        Returns True when it was handled here or further upstream (S_OK), False when no
        filter acted on it (DirectShow's failure to find a taker, S_FALSE here: nothing
        happened). The message is a frozen value: keep it if needed.

        Raises:
            TypeError: ``quality`` is not a ``Quality``.
        """

    def SetSink(sink: IQualityControl | None) -> None:
        """Send this object's own quality messages to ``sink`` instead of upstream (a quality
        manager's way to see them all); None sends them upstream again. The object keeps a
        reference to ``sink`` until it is replaced.

        Raises:
            TypeError: ``sink`` is neither None nor an ``IQualityControl``.
        """
