"""``tee``, ``queue`` and ``nullsink``: the graph elements of `dshow_alloc.elements`, by name."""

from __future__ import annotations

from typing import Any

import attrs

from dshow_alloc.elements import LEAKS, NullRenderer, QueueFilter, Tee
from dshow_alloc.registry import Element, PinTemplate, prop
from dshow_alloc.structs import PinDirection

__all__ = ["NullSink", "QueueElement", "TeeElement"]

_IN, _OUT = PinDirection.PINDIR_INPUT, PinDirection.PINDIR_OUTPUT


class TeeElement(Tee, Element):
    """``tee``: every sample to every branch (read-only, shared; copied for a branch that
    will not take it). Link branches with ``name=t ... t. ! ...``."""

    description = "Sends each sample to every branch, shared read-only"
    pin_templates = (PinTemplate("Input", _IN, "ANY"), PinTemplate("Output%u", _OUT, "ANY"))

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.init_properties({})


@attrs.define
class _QueueProperties:
    max_size_buffers: int = prop(
        16, kind=int, minimum=0, doc="samples the queue holds when full (0: no limit)"
    )
    max_size_bytes: int = prop(
        0, kind=int, minimum=0, doc="bytes of sample data the queue holds when full (0: no limit)"
    )
    max_size_time: int = prop(
        0,
        kind=int,
        minimum=0,
        doc="stream time the queue holds when full, in 100 ns units (0: no limit)",
    )
    leaky: str = prop(
        "no",
        kind=str,
        choices=LEAKS,
        doc="when full: wait (no), drop the new sample (upstream) or the oldest (downstream)",
    )
    max_size: int | None = prop(
        None, kind=int, minimum=1, doc="the older name of max-size-buffers (unset: not given)"
    )


class QueueElement(QueueFilter, Element):
    """``queue``: a thread boundary holding up to ``max-size-buffers`` samples (and at most
    ``max-size-bytes`` and ``max-size-time`` of data when set), which waits, or with
    ``leaky`` drops, when full; ``dropped`` counts what it dropped. ``max-size`` is the older
    name of ``max-size-buffers``."""

    Properties = _QueueProperties
    description = "A bounded queue with its own streaming thread"
    pin_templates = (PinTemplate("Input", _IN, "ANY"), PinTemplate("Output", _OUT, "ANY"))

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        values = self.props
        buffers: int | None = values.max_size_buffers or None
        if values.max_size is not None:
            if "max_size_buffers" in props and values.max_size != values.max_size_buffers:
                raise ValueError(
                    f"max-size {values.max_size} and max-size-buffers "
                    f"{values.max_size_buffers} disagree: give one of them"
                )
            buffers = values.max_size
        super().__init__(
            name=name,
            max_size=buffers,
            max_size_bytes=values.max_size_bytes,
            max_size_time=values.max_size_time,
            leaky=values.leaky,
        )


@attrs.define
class _SinkProperties:
    sync: bool = prop(False, kind=bool, doc="present samples at their times on the clock")
    max_lateness: int | None = prop(
        None,
        kind=int,
        minimum=-1,
        doc="with sync, drop samples later than this, in 100 ns units (-1: never; "
        "unset: 20 ms for video, never for other types)",
    )


class NullSink(NullRenderer, Element):
    """``nullsink``: takes any type and drops every sample (GStreamer's fakesink); with
    ``sync`` it presents them on the clock, dropping those later than ``max-lateness``."""

    Properties = _SinkProperties
    description = "Takes anything and throws it away"
    pin_templates = (PinTemplate("In", _IN, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=self.props.sync, max_lateness=self.props.max_lateness)
