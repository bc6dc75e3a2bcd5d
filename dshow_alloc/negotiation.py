"""GStreamer's ALLOCATION query, carried alongside ``CBaseOutputPin::DecideAllocator``.

An input pin providing `IAllocationProposal` fills an `AllocationQuery`; the output pin reads
it with `decided_requirements` (the numbers, widening the DirectShow requirements) and
`proposed_config` (the GStreamer parts a pool takes: memory allocator, padding, growth and
metas). A tee merges its branches' answers with `merge_queries`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from dshow_alloc.mediatype import MediaType
from dshow_alloc.memory import AllocationParams
from dshow_alloc.pool import PoolConfig
from dshow_alloc.structs import AllocatorProperties
from dshow_alloc.validators import NON_NEGATIVE, optional_provider_of
from interfaces import IMemAllocator, IMemoryAllocator

__all__ = [
    "AllocationQuery",
    "MetaProposal",
    "ParamProposal",
    "PoolProposal",
    "decided_requirements",
    "merge_queries",
    "proposed_config",
]


_count = NON_NEGATIVE
_optional_pool = optional_provider_of(IMemAllocator, "IMemAllocator")


@attrs.frozen
class PoolProposal:
    """One ``pools`` entry: a pool to use (or None: bring your own) and its numbers."""

    pool: Any = attrs.field(validator=_optional_pool)
    """An ``IMemAllocator`` the proposer offers, or None."""
    size: int = attrs.field(validator=_count)
    """Bytes of data per sample the proposer needs (0: no need)."""
    min_buffers: int = attrs.field(default=0, validator=_count)
    """Samples the proposer may hold at once."""
    max_buffers: int = attrs.field(default=0, validator=_count)
    """The most samples worth making; 0 means no limit (the pool may grow)."""

    def __attrs_post_init__(self) -> None:
        if self.max_buffers and self.min_buffers > self.max_buffers:
            raise ValueError(f"min_buffers {self.min_buffers} > max_buffers {self.max_buffers}")


_optional_memory_allocator = optional_provider_of(IMemoryAllocator, "IMemoryAllocator")


@attrs.frozen
class ParamProposal:
    """One ``params`` entry: a memory allocator (None: the default) and its parameters."""

    allocator: Any = attrs.field(validator=_optional_memory_allocator)
    """An ``IMemoryAllocator`` whose memory the proposer can use best, or None."""
    params: AllocationParams = attrs.field(
        factory=AllocationParams, validator=attrs.validators.instance_of(AllocationParams)
    )
    """Alignment, prefix, padding and memory flags the proposer needs."""


def _frozen_params(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"meta params must be a mapping or None, not {type(value).__name__}")
    return dict(value)


@attrs.frozen
class MetaProposal:
    """One ``metas`` entry: a meta API the proposer understands, with optional parameters."""

    api: str = attrs.field(validator=attrs.validators.instance_of(str))
    """The meta's registered name, for example ``"video-meta"``."""
    params: Mapping[str, Any] | None = attrs.field(default=None, converter=_frozen_params)
    """API-specific parameters, or None."""


@attrs.define(eq=False)
class AllocationQuery:
    """``GST_QUERY_ALLOCATION``: asked by an output pin, answered by an input pin."""

    media_type: MediaType | None
    """The connection's media type (caps)."""
    need_pool: bool = True
    """Whether the asker can use a pool the answerer offers."""
    pools: list[PoolProposal] = attrs.field(factory=list)
    """Pool proposals, preferred first."""
    params: list[ParamProposal] = attrs.field(factory=list)
    """Memory allocator proposals, preferred first."""
    metas: list[MetaProposal] = attrs.field(factory=list)
    """Metas the answerer understands; the asker attaches no others."""

    def add_pool(self, pool: Any, size: int, min_buffers: int = 0, max_buffers: int = 0) -> None:
        """Append a `PoolProposal`."""
        self.pools.append(PoolProposal(pool, size, min_buffers, max_buffers))

    def add_param(self, allocator: Any, params: AllocationParams | None = None) -> None:
        """Append a `ParamProposal` (``params`` None: all defaults)."""
        self.params.append(ParamProposal(allocator, params or AllocationParams()))

    def add_meta(self, api: str, params: Mapping[str, Any] | None = None) -> None:
        """Append a `MetaProposal`, unless ``api`` is listed already."""
        if not self.has_meta(api):
            self.metas.append(MetaProposal(api, params))

    def has_meta(self, api: str) -> bool:
        """True when ``api`` is among the proposed metas."""
        return any(meta.api == api for meta in self.metas)

    def meta_apis(self) -> frozenset[str]:
        """The names of the proposed metas."""
        return frozenset(meta.api for meta in self.metas)

    def is_empty(self) -> bool:
        """True when nothing was proposed."""
        return not (self.pools or self.params or self.metas)


def decided_requirements(
    requirements: AllocatorProperties, query: AllocationQuery | None
) -> AllocatorProperties:
    """``requirements`` widened by the first pool and first params of ``query``."""
    if query is None:
        return requirements
    buffers, size = requirements.buffers, requirements.buffer_size
    align, prefix = requirements.align, requirements.prefix
    if query.pools:
        first = query.pools[0]
        size = max(size, first.size)
        buffers = max(buffers, first.min_buffers)
    if query.params:
        params = query.params[0].params
        align = max(align, params.align)
        prefix = max(prefix, params.prefix)
    return AllocatorProperties(buffers, size, align, prefix)


def proposed_config(
    config: PoolConfig, query: AllocationQuery, options: Iterable[str]
) -> PoolConfig:
    """``config`` (as ``DecideBufferSize`` left it) with what the first pool and params of
    ``query`` add: padding, the memory allocator, growth up to ``max_buffers`` and the pool
    ``options`` (those whose metas the query lists), and the query's media type."""
    memory_allocator = config.memory_allocator
    padding = config.padding
    if query.params:
        first = query.params[0]
        padding = max(padding, first.params.padding)
        if first.allocator is not None:
            memory_allocator = first.allocator
    max_buffers = config.max_buffers
    if query.pools:
        proposed_max = query.pools[0].max_buffers
        max_buffers = 0 if proposed_max == 0 else max(proposed_max, config.min_buffers)
    return attrs.evolve(
        config,
        padding=padding,
        memory_allocator=memory_allocator,
        max_buffers=max_buffers,
        options=config.options | frozenset(options),
        media_type=query.media_type if query.media_type is not None else config.media_type,
    )


def merge_queries(
    media_type: MediaType | None, answers: Iterable[AllocationQuery]
) -> AllocationQuery:
    """A tee's answer from its branches' answers: one pool entry (None pool) with the largest
    size and the summed minimums, growth unlimited; the largest alignment, prefix and padding
    (with the memory allocator only if every branch named the same one); and only the metas
    every branch accepts (with the first branch's parameters)."""
    merged = AllocationQuery(media_type)
    answers = list(answers)
    if not answers:
        return merged
    size = sum_min = 0
    align, prefix, padding = 1, 0, 0
    allocators: set[int] = set()
    chosen_allocator: Any = None
    for answer in answers:
        if answer.pools:
            size = max(size, answer.pools[0].size)
            sum_min += answer.pools[0].min_buffers
        if answer.params:
            params = answer.params[0].params
            align = max(align, params.align)
            prefix = max(prefix, params.prefix)
            padding = max(padding, params.padding)
            allocators.add(id(answer.params[0].allocator))
            chosen_allocator = answer.params[0].allocator
        else:
            allocators.add(id(None))
    if size or sum_min:
        merged.add_pool(None, size, sum_min, 0)
    if align > 1 or prefix or padding or chosen_allocator is not None:
        allocator = chosen_allocator if len(allocators) == 1 else None
        merged.add_param(allocator, AllocationParams(align=align, prefix=prefix, padding=padding))
    common = set.intersection(*(set(answer.meta_apis()) for answer in answers))
    for meta in answers[0].metas:
        if meta.api in common:
            merged.add_meta(meta.api, meta.params)
    return merged
