"""IMediaSeeking: where a stream starts and stops, how long it is, and how fast it plays."""

from __future__ import annotations

from uuid import UUID

from zope.interface import taggedValue

from interfaces.unknown import IUnknown

__all__ = ["IMediaSeeking"]


class IMediaSeeking(IUnknown):
    """Positions in a stream, in REFERENCE_TIME (``int``, 100 ns units) of media time.

    Provided by a source that can seek (a file reader, a test source with a known length)
    and by the filter graph, which answers for the whole graph: it asks the seekable source
    upstream of every renderer, reports the longest duration, and seeks them all at once.

    Protocol between the caller and the source. ``SetPositions`` while paused or running
    flushes every path downstream of the source: ``BeginFlush`` on each connected output
    pin, the streaming threads stop (every sample they held goes home), the source moves,
    ``EndFlush``, then each thread starts again and sends ``NewSegment(start, stop, rate)``
    before its first sample, which carries the discontinuity flag. Sample times restart at
    the segment: a sample at media position ``p`` is stamped ``(p - start) / rate``. A stop
    position ends the stream there with end of stream (and so EC_COMPLETE at the
    renderers). While stopped, ``SetPositions`` only records the segment: the next run
    starts there.

    Accuracy: by default the first sample after ``SetPositions(t)`` is the one that contains
    ``t`` (a decoder seeks to the key frame before ``t`` and decodes forward, dropping what
    ends before ``t``); ``AM_SEEKING_SeekToKeyFrame`` starts at that key frame instead and
    the segment starts there.

    The IID is the real one, IID_IMediaSeeking.
    """

    taggedValue("iid", UUID("36B73880-C2C8-11CF-8B46-00805F6CEF60"))

    def GetCapabilities() -> int:
        """Return the ``AM_SEEKING_Can*`` bits of what this object can do.

        A source that cannot seek returns 0 (and its ``SetPositions`` raises E_NOTIMPL).
        """

    def CheckCapabilities(capabilities: int) -> int:
        """Return the bits of ``capabilities`` that are supported (S_FALSE's partial answer
        is the same int with fewer bits).

        Raises:
            COMError: E_FAIL when none of the bits asked for is supported.
            COMError: E_INVALIDARG when ``capabilities`` is not an int >= 0.
        """

    def IsFormatSupported(time_format: object) -> bool:
        """True for ``TIME_FORMAT_MEDIA_TIME`` (the only time format supported)."""

    def QueryPreferredFormat() -> object:
        """Return ``TIME_FORMAT_MEDIA_TIME``."""

    def GetTimeFormat() -> object:
        """Return ``TIME_FORMAT_MEDIA_TIME``."""

    def IsUsingTimeFormat(time_format: object) -> bool:
        """True when ``time_format`` is ``TIME_FORMAT_MEDIA_TIME``."""

    def SetTimeFormat(time_format: object) -> None:
        """Accept ``TIME_FORMAT_MEDIA_TIME`` only.

        Raises:
            COMError: E_INVALIDARG for any other format.
        """

    def GetDuration() -> int:
        """Return the stream's duration.

        Raises:
            COMError: E_NOTIMPL when the duration is not known (``AM_SEEKING_CanGetDuration``
                not set).
        """

    def GetStopPosition() -> int:
        """Return the stop position: the one set, else the duration.

        Raises:
            COMError: E_NOTIMPL when neither is known.
        """

    def GetCurrentPosition() -> int:
        """Return the position being played now: the segment start plus the stream time
        played (times the rate), never past the stop position."""

    def GetPositions() -> tuple[int, int]:
        """Return ``(current, stop)``: `GetCurrentPosition` and `GetStopPosition`."""

    def GetAvailable() -> tuple[int, int]:
        """Return ``(earliest, latest)``, the range that can be sought to: ``(0, duration)``
        for a file.

        Raises:
            COMError: E_NOTIMPL when the duration is not known.
        """

    def SetPositions(
        current: int | None, current_flags: int, stop: int | None, stop_flags: int
    ) -> tuple[int, int]:
        """Move the start and/or the stop position and return the new ``(current, stop)``.

        Each flags value holds one positioning mode in its low bits
        (``AM_SEEKING_NoPositioning``: leave it, ``AM_SEEKING_AbsolutePositioning``: the
        value is a position, ``AM_SEEKING_RelativePositioning``: added to the current one,
        ``AM_SEEKING_IncrementalPositioning``, stop only: added to the new start), plus
        ``AM_SEEKING_SeekToKeyFrame`` (start at the key frame before) and the
        ``AM_SEEKING_ReturnTime`` family, which only ask for the positions back. Moving the
        start flushes and restarts the stream as the class docstring says; moving only the
        stop takes effect on the running stream without a flush.

        Raises:
            COMError: E_INVALIDARG for a negative position, a start past the end (the
                duration), a stop before the start, or unknown positioning bits. Nothing
                changes.
            COMError: E_NOTIMPL when the source (or, for the graph, a source upstream of a
                renderer) cannot seek. Nothing changes.
        """

    def GetRate() -> float:
        """Return the playback rate (1.0 by default)."""

    def SetRate(rate: float) -> None:
        """Set the playback rate: sample times are divided by it from the next segment on.

        Raises:
            COMError: E_INVALIDARG for a rate that is not > 0 (playing backwards is not
                supported).
        """

    def GetPreroll() -> int:
        """Return how much is decoded before the start position to reach it exactly
        (0: not known)."""
