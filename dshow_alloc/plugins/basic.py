"""``tee``, ``queue`` and ``nullsink``: the graph elements of `dshow_alloc.elements`, by name."""

from __future__ import annotations

from typing import Any

import attrs

from dshow_alloc.elements import NullRenderer, QueueFilter, Tee
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
    max_size: int = prop(16, kind=int, minimum=1, doc="samples the queue holds before it blocks")


class QueueElement(QueueFilter, Element):
    """``queue``: a thread boundary holding up to ``max-size`` samples."""

    Properties = _QueueProperties
    description = "A bounded queue with its own streaming thread"
    pin_templates = (PinTemplate("Input", _IN, "ANY"), PinTemplate("Output", _OUT, "ANY"))

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, max_size=self.props.max_size)


@attrs.define
class _SinkProperties:
    sync: bool = prop(False, kind=bool, doc="present samples at their times on the clock")


class NullSink(NullRenderer, Element):
    """``nullsink``: takes any type and drops every sample (GStreamer's fakesink)."""

    Properties = _SinkProperties
    description = "Takes anything and throws it away"
    pin_templates = (PinTemplate("In", _IN, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, sync=self.props.sync)
