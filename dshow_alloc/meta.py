"""Metas: typed metadata attached to samples, GStreamer's GstMeta.

An API is registered once by name (`register_meta`) and gives a `MetaInfo`; a sample carries
any number of `Meta` values of registered APIs, in insertion order (``AddMeta``, ``GetMeta``,
``IterMeta``, ``RemoveMeta`` on `dshow_alloc.MediaSample`). A meta's fields are its keyword
arguments at ``AddMeta`` and read as attributes: ``sample.GetMeta("video-meta").width``.

The hooks an API may give (GStreamer's ``GstMetaInfo`` init, free and transform functions):

* ``init(meta, sample) -> bool | None``: runs when the meta is added, after its fields are set;
  ``False`` refuses it (``AddMeta`` returns ``None``), an exception propagates.
* ``transform(meta, dest, **context) -> bool``: runs when the sample is copied; ``True`` puts a
  copy of the meta on ``dest``, ``False`` leaves it off (the transform may have added a meta of
  its own to ``dest``). ``context`` holds ``region`` (the copy is a byte range of the source),
  ``offset``, ``size``, ``deep`` and ``merge``. An API without a transform is not copied.
* ``clear(meta, sample)``: runs at the final release for a pooled meta (one that was on the
  sample when its pool made it), which stays on the sample for its next use.

Tags describe what a meta depends on: metas tagged ``"memory"`` describe the memory layout and
are dropped on a copy that is a region or that merges the blocks; ``"memory-reference"`` metas
are dropped by a deep copy.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import attrs

__all__ = [
    "TAG_MEMORY",
    "TAG_MEMORY_REFERENCE",
    "Meta",
    "MetaFlags",
    "MetaInfo",
    "add_portable_metas",
    "get_meta_info",
    "portable_metas",
    "register_meta",
]

TAG_MEMORY = "memory"
"""The meta describes the memory layout (offsets, strides): dropped by region and merge copies."""
TAG_MEMORY_REFERENCE = "memory-reference"
"""The meta refers to the memory itself: dropped by deep copies."""


class MetaFlags(enum.IntFlag):
    """``GstMetaFlags`` (same values)."""

    READONLY = 1
    """The fields should not be changed."""
    POOLED = 2
    """The meta belongs to a pooled sample and stays on it across uses."""
    LOCKED = 4
    """The meta cannot be removed (``RemoveMeta`` raises E_ACCESSDENIED)."""


def _optional_callable(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{attribute.name} must be callable or None, not {type(value).__name__}")


@attrs.frozen
class MetaInfo:
    """A registered meta API. Made by `register_meta`, never directly."""

    api: str
    """The API name, unique in the process (``"video-meta"``)."""
    tags: frozenset[str]
    """What the meta depends on (``"memory"``, ``"memory-reference"``, or your own)."""
    init: Callable[..., Any] | None = attrs.field(validator=_optional_callable)
    transform: Callable[..., Any] | None = attrs.field(validator=_optional_callable)
    clear: Callable[..., Any] | None = attrs.field(validator=_optional_callable)

    def has_tag(self, tag: str) -> bool:
        """True when the API carries ``tag``."""
        return tag in self.tags


_RESERVED = frozenset({"info", "api", "flags", "seqnum", "fields", "pooled", "locked"})
_seqnums = itertools.count(1)


class Meta:
    """One meta on one sample: its `MetaInfo`, flags, a sequence number and its fields.

    Fields are attributes (``meta.width``); ``meta.fields`` is a dict snapshot of them.
    ``seqnum`` grows with every meta added in the process, so it orders metas by age.
    """

    __slots__ = ("__dict__", "flags", "info", "seqnum")

    info: MetaInfo
    flags: MetaFlags
    seqnum: int

    def __init__(self, info: MetaInfo, fields: dict[str, Any]) -> None:
        clash = _RESERVED.intersection(fields)
        if clash:
            raise ValueError(f"meta field names {sorted(clash)} are reserved")
        self.info = info
        self.flags = MetaFlags(0)
        self.seqnum = next(_seqnums)
        self.__dict__.update(fields)

    @property
    def api(self) -> str:
        """The API name."""
        return self.info.api

    @property
    def fields(self) -> dict[str, Any]:
        """The fields given at ``AddMeta`` (and any set since), as a new dict."""
        return dict(self.__dict__)

    @property
    def pooled(self) -> bool:
        """True when the meta belongs to a pooled sample (kept across uses)."""
        return bool(self.flags & MetaFlags.POOLED)

    @property
    def locked(self) -> bool:
        """True when the meta cannot be removed."""
        return bool(self.flags & MetaFlags.LOCKED)

    def copy(self) -> Meta:
        """A fresh, unpooled meta of the same API with the same (shallow-copied) fields."""
        return Meta(self.info, self.fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"<Meta {self.info.api} #{self.seqnum} {fields}>"


_registry: dict[str, MetaInfo] = {}
_registry_lock = threading.Lock()


def register_meta(
    api: str,
    *,
    tags: Iterable[str] = (),
    init: Callable[..., Any] | None = None,
    transform: Callable[..., Any] | None = None,
    clear: Callable[..., Any] | None = None,
) -> MetaInfo:
    """Register a meta API named ``api`` and return its `MetaInfo`.

    A second registration of the same name raises ValueError: names are unique in a process,
    so pick one with a prefix of your own (``"myorg-roi"``).
    """
    if not isinstance(api, str):
        raise TypeError(f"a meta api is a str name, not {type(api).__name__}")
    if not api:
        raise ValueError("a meta api name must not be empty")
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise TypeError("tags is an iterable of str, e.g. ('memory',)")
    tag_set = frozenset(tags)
    if not all(isinstance(tag, str) for tag in tag_set):
        raise TypeError("tags is an iterable of str, e.g. ('memory',)")
    info = MetaInfo(api, tag_set, init, transform, clear)
    with _registry_lock:
        if api in _registry:
            raise ValueError(f"a meta api named {api!r} is already registered")
        _registry[api] = info
    return info


def get_meta_info(api: str) -> MetaInfo | None:
    """The `MetaInfo` registered as ``api``, or None."""
    if not isinstance(api, str):
        raise TypeError(f"a meta api is a str name, not {type(api).__name__}")
    return _registry.get(api)


def is_registered(info: object) -> bool:
    """True when ``info`` is the `MetaInfo` its api name is registered with."""
    return isinstance(info, MetaInfo) and _registry.get(info.api) is info


# -- metas that cross to another process (ipc, distributed) --------------------------------

_PLAIN_SCALARS = (type(None), bool, int, float, str, bytes)

_log = logging.getLogger(__name__)


def _plain(value: object, depth: int = 0) -> bool:
    """True when ``value`` is plain data, which crosses without naming any class: None,
    bools, numbers, strings, bytes, and tuples, lists and str-keyed dicts of them, nested at
    most 8 deep."""
    if type(value) in _PLAIN_SCALARS:
        return True
    if depth >= 8:
        return False
    if isinstance(value, tuple | list) and type(value) in (tuple, list):
        return all(_plain(item, depth + 1) for item in value)
    if isinstance(value, dict) and type(value) is dict:
        return all(type(key) is str and _plain(item, depth + 1) for key, item in value.items())
    return False


def portable_metas(metas: Iterable[Meta]) -> list[tuple[str, dict[str, Any]]]:
    """The ``(API name, fields)`` of the ``metas`` that can travel to another process: not
    tagged ``"memory-reference"`` (the memory does not travel with them) and with fields of
    plain data only. The others are left off (logged at debug level)."""
    crossing = []
    for meta in metas:
        if TAG_MEMORY_REFERENCE in meta.info.tags:
            continue
        fields = meta.fields
        if _plain(fields):
            crossing.append((meta.info.api, fields))
        else:
            _log.debug("%s is not plain data: it does not cross processes", meta)
    return crossing


def add_portable_metas(sample: Any, metas: Iterable[tuple[str, dict[str, Any]]], who: str) -> None:
    """Add ``metas`` received from another process (`portable_metas` there) to ``sample``,
    still writable; those whose API this process has not registered, or whose ``init``
    refuses them, are left off (logged at debug level, naming ``who``)."""
    for api, fields in metas:
        info = get_meta_info(api)
        if info is None:
            _log.debug("%s: meta %r is not registered here; left off", who, api)
            continue
        try:
            sample.AddMeta(info, **fields)
        except Exception as exc:
            _log.debug("%s: meta %r refused here (%s); left off", who, api, exc)
