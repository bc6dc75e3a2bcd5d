"""``PoolConfig``: GStreamer's buffer-pool configuration, for `MemAllocator.SetConfig`.

``IMemAllocator.SetProperties`` is the DirectShow view of the same pool (a fixed number of
samples); ``IBufferPool.SetConfig`` adds what GStreamer pools have on top: a pool that grows
from ``min_buffers`` to ``max_buffers`` on demand, padding after the data, a memory allocator,
options and a media type.
"""

from __future__ import annotations

from typing import Any

import attrs

from dshow_alloc.mediatype import MediaType
from dshow_alloc.validators import NON_NEGATIVE, optional_instance_of

__all__ = ["PoolConfig"]


_count = NON_NEGATIVE


def _memory_allocator(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    from interfaces import IMemoryAllocator

    if value is None or isinstance(value, str) or IMemoryAllocator.providedBy(value):
        return
    raise TypeError(
        f"{attribute.name} must be an IMemoryAllocator, a registered name or None, "
        f"not {type(value).__name__}"
    )


def _options(value: object) -> frozenset[str]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError("options is a set of option names (str)")
    options = frozenset(value)
    if not all(isinstance(option, str) for option in options):
        raise TypeError("options is a set of option names (str)")
    return options


_media_type = optional_instance_of(MediaType, "a MediaType")


@attrs.frozen
class PoolConfig:
    """``GstBufferPoolConfig``: how a pool lays out and counts its samples."""

    buffer_size: int = attrs.field(validator=_count)
    """size (cbBuffer): data bytes per sample, not counting prefix or padding."""
    min_buffers: int = attrs.field(default=0, validator=_count)
    """min-buffers: samples allocated by Commit, and never fewer."""
    max_buffers: int = attrs.field(default=0, validator=_count)
    """max-buffers: the most samples the pool makes; 0 means no limit."""
    align: int = attrs.field(default=1, validator=_count)
    """Alignment in bytes of each sample's prefix start (cbAlign); a power of two."""
    prefix: int = attrs.field(default=0, validator=_count)
    """Bytes reserved before each sample's data (cbPrefix)."""
    padding: int = attrs.field(default=0, validator=_count)
    """Bytes reserved after each sample's data."""
    memory_allocator: Any = attrs.field(default=None, validator=_memory_allocator)
    """Where sample memory comes from: an IMemoryAllocator, a registered name, or None for
    the allocator the pool was created with (by default the default memory allocator)."""
    options: frozenset[str] = attrs.field(default=frozenset(), converter=_options)
    """Option names the pool should honour (GStreamer's pool options)."""
    media_type: MediaType | None = attrs.field(default=None, validator=_media_type)
    """The media type of the samples (caps), when known."""
