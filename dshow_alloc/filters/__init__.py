"""Filters: the state machine, and base classes a user subclasses in a few lines.

`BaseFilter` is ``CBaseFilter``: pins, name, graph, clock, and Stop/Pause/Run. Its pins ask
it what to do through a small protocol of PEP 8 methods (``check_media_type(pin, mt)``,
``receive(pin, sample)``, ``end_of_stream(pin)``, ``decide_buffer_size(pin, allocator,
request)`` and so on; every one has a sensible default here). The base classes below answer
that protocol with DirectShow's hooks, which keep their DirectShow names:

- `SourceFilter` (``CSource``/``CSourceStream``): ``FillBuffer(sample) -> bool`` on a streaming
  thread per output pin, ``GetMediaType(position)``, ``DecideBufferSize(allocator, request)``.
- `TransformFilter` (``CTransformFilter``): ``CheckInputType``, ``CheckTransform``,
  ``GetMediaType``, ``DecideBufferSize``, ``Transform(in_sample, out_sample)``.
- `TransInPlaceFilter` (``CTransInPlaceFilter``): ``CheckInputType``, ``Transform(sample)``;
  samples pass through on the downstream allocator, copied only when read-only.
- `RendererFilter` (``CBaseRenderer``): ``CheckMediaType``, ``DoRenderSample(sample)``,
  presented at stream time on the graph clock unless ``sync=False``.

Errors. An exception from a hook while streaming is reported once, by the filter whose hook
raised: the graph gets ``EC_ERRORABORT`` with the HRESULT and the exception, then end of
stream goes downstream, and the exception travels back up to the streaming thread, which
stops. Filters upstream see it come out of ``Deliver`` and stop without reporting it again.
The report logs the exception with its traceback (logger ``dshow_alloc.filters``, ERROR)
and marks it with the reporting filter's name, which `reported_by` reads.

The modules, by family: `dshow_alloc.filters.base` (`BaseFilter` and the helpers every
family shares), `.source` (`SourceStream`, `SourceFilter`, `LiveSource`), `.transform`
(`TransformFilter`, `TransInPlaceFilter` and the pass-through base), `.renderer`
(`RendererFilter`, `VIDEO_MAX_LATENESS`) and `.copying` (`size_allocator`, `copy_sample`
and the other sizing and copying helpers). Everything is importable from here.
"""

from __future__ import annotations

from dshow_alloc.filters.base import BaseFilter, join_streaming_thread, pass_quality, reported_by
from dshow_alloc.filters.copying import (
    copy_sample,
    copy_sample_properties,
    deliver_copy,
    size_allocator,
    size_like_upstream,
    upstream_buffer_size,
)
from dshow_alloc.filters.renderer import VIDEO_MAX_LATENESS, RendererFilter
from dshow_alloc.filters.source import (
    LiveSource,
    ReceivedPool,
    ReceivingStream,
    SourceFilter,
    SourceStream,
)
from dshow_alloc.filters.transform import TransformFilter, TransInPlaceFilter
from dshow_alloc.filters.transform import _PassThroughFilter as _PassThroughFilter
from dshow_alloc.filters.transform import _PassThroughOutputPin as _PassThroughOutputPin

__all__ = [
    "VIDEO_MAX_LATENESS",
    "BaseFilter",
    "LiveSource",
    "ReceivedPool",
    "ReceivingStream",
    "RendererFilter",
    "SourceFilter",
    "SourceStream",
    "TransInPlaceFilter",
    "TransformFilter",
    "copy_sample",
    "copy_sample_properties",
    "deliver_copy",
    "join_streaming_thread",
    "pass_quality",
    "reported_by",
    "size_allocator",
    "size_like_upstream",
    "upstream_buffer_size",
]
