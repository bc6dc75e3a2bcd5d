"""``PoolConfig``: GStreamer's buffer-pool configuration, for `MemAllocator.SetConfig`.

``IMemAllocator.SetProperties`` is the DirectShow view of the same pool (a fixed number of
samples); ``IBufferPool.SetConfig`` adds what GStreamer pools have on top: a pool that grows
from ``min_buffers`` to ``max_buffers`` on demand, padding after the data, a memory allocator,
options and a media type.

Pool options (``GstBufferPool``'s ``options``) are named features a pool adds to every
sample it makes. The generic pool knows none of them: a module that defines one registers a
`PoolOption` (`register_pool_option`) saying how to check a config that asks for it and how
to prepare each new sample, and the pool runs those for the options its config lists (an
option nobody registered is kept in the config and does nothing, as GStreamer ignores an
option a pool does not support). `dshow_alloc.video` registers ``"video-meta"``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from dshow_alloc.mediatype import MediaType
from dshow_alloc.validators import NON_NEGATIVE, optional_instance_of

__all__ = ["PoolConfig", "PoolOption", "pool_option", "register_pool_option"]


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


@attrs.frozen
class PoolOption:
    """A pool option a module defines (``"video-meta"``): what a pool does for it."""

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    """The option's name, as a config's ``options`` lists it."""
    check: Callable[[PoolConfig], None] = attrs.field()
    """Called by ``SetConfig`` with the config (its ``buffer_size`` already rounded): raises
    (an ``InvalidArgError``) when the config cannot have the option; nothing changes then."""
    preparer: Callable[[PoolConfig], Callable[[Any], None]] = attrs.field()
    """Called once per allocation with the config; returns what to run on each new sample
    (writable, before the pool keeps it: metas added then are pooled)."""


_options_lock = threading.Lock()
_registered: dict[str, PoolOption] = {}


def register_pool_option(option: PoolOption) -> None:
    """Make ``option`` known to every pool (registering a name again replaces it)."""
    if not isinstance(option, PoolOption):
        raise TypeError(f"register_pool_option takes a PoolOption, not {type(option).__name__}")
    with _options_lock:
        _registered[option.name] = option


def pool_option(name: str) -> PoolOption | None:
    """The registered option called ``name``, or None."""
    return _registered.get(name)
