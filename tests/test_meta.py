"""Metas on samples (GStreamer's GstMeta): registration, AddMeta/GetMeta/IterMeta/RemoveMeta,
survival across copies, pooled metas, and VIDEO_META with the video layouts it describes."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dshow_alloc import (
    HRESULT,
    MEDIASUBTYPE_I420,
    MEDIASUBTYPE_IYUV,
    MEDIASUBTYPE_NV12,
    MEDIASUBTYPE_RGB24,
    MEDIASUBTYPE_RGB32,
    MEDIASUBTYPE_YUY2,
    TAG_MEMORY,
    TAG_MEMORY_REFERENCE,
    VIDEO_FORMATS,
    VIDEO_META,
    AccessDeniedError,
    AllocatorProperties,
    FORMAT_VideoInfo,
    MapFlags,
    MediaSample,
    MediaType,
    MEDIATYPE_Audio,
    MEDIATYPE_Video,
    MemAllocator,
    Meta,
    MetaFlags,
    MetaInfo,
    UnexpectedError,
    VideoInfoHeader,
    VideoLayout,
    WaveFormatEx,
    find_allocator,
    fourcc_subtype,
    get_meta_info,
    register_meta,
    video_layout,
    video_type,
)
from dshow_alloc.pool import PoolConfig
from dshow_alloc.testing.checks import raises_hresult

TIMEOUT = 10.0


def unique(label: str) -> str:
    """A meta api name no other test registers (registration is process-wide)."""
    return f"test-{label}-{uuid.uuid4().hex}"


def keep(meta: Meta, dest: MediaSample, **context: Any) -> bool:
    """A transform that copies the meta as it is."""
    return True


def block(size: int) -> Any:
    return find_allocator(None).Alloc(size)


def two_block_sample() -> MediaSample:
    """A standalone sample of two 4-byte blocks holding b"abcdEFGH"."""
    sample = MediaSample.allocate(4)
    sample.GetPointer()[:] = b"abcd"
    tail = block(4)
    with tail.Map(MapFlags.WRITE) as info:
        info.data[:] = b"EFGH"
    sample.AppendMemory(tail)
    assert sample.GetMemoryCount() == 2
    return sample


@pytest.fixture
def sample() -> Iterator[MediaSample]:
    """A standalone, writable 8-byte sample, released at the end."""
    made = MediaSample.allocate(8)
    yield made
    while made._refs:
        made.Release()


# -- registration ------------------------------------------------------------------------------


def test_register_meta_returns_its_info() -> None:
    """register_meta gives a MetaInfo with the name, tags as a frozenset and the hooks."""

    def init(meta: Meta, sample: MediaSample) -> bool:
        return True

    def clear(meta: Meta, sample: MediaSample) -> None:
        pass

    name = unique("reg")
    info = register_meta(name, tags=["a", "b", "a"], init=init, transform=keep, clear=clear)
    assert isinstance(info, MetaInfo)
    assert info.api == name
    assert info.tags == frozenset({"a", "b"})
    assert (info.init, info.transform, info.clear) == (init, keep, clear)
    assert info.has_tag("a") and not info.has_tag("memory")
    assert get_meta_info(name) is info


def test_register_meta_defaults() -> None:
    """Without keywords an API has no tags and no hooks."""
    info = register_meta(unique("plain"))
    assert info.tags == frozenset()
    assert (info.init, info.transform, info.clear) == (None, None, None)


def test_second_registration_is_refused() -> None:
    """Registering a name twice raises ValueError naming it; the first registration stays."""
    name = unique("dup")
    first = register_meta(name, tags=("x",))
    with pytest.raises(ValueError, match="already registered") as caught:
        register_meta(name, tags=("y",), transform=keep)
    assert name in str(caught.value)
    assert get_meta_info(name) is first
    with pytest.raises(ValueError, match="already registered"):
        register_meta(name)


def test_video_meta_name_is_taken() -> None:
    """ "video-meta" is registered by the library: VIDEO_META, tagged video and memory."""
    assert get_meta_info("video-meta") is VIDEO_META
    assert VIDEO_META.api == "video-meta"
    assert VIDEO_META.tags == frozenset({"video", "memory", "colorspace", "size"})
    with pytest.raises(ValueError, match="already registered"):
        register_meta("video-meta")


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((5,), {}, TypeError),
        ((None,), {}, TypeError),
        ((b"name",), {}, TypeError),
        (("",), {}, ValueError),
        ((), {"tags": "memory"}, TypeError),
        ((), {"tags": 5}, TypeError),
        ((), {"tags": None}, TypeError),
        ((), {"tags": [1]}, TypeError),
        ((), {"tags": b"memory"}, TypeError),
        ((), {"init": 5}, TypeError),
        ((), {"transform": "keep"}, TypeError),
        ((), {"clear": object()}, TypeError),
    ],
)
def test_register_meta_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """Wrong types raise TypeError, an empty name ValueError; a refused name stays free."""
    name = unique("bad")
    with pytest.raises(error):
        register_meta(*(args or (name,)), **kwargs)
    assert get_meta_info(name) is None
    assert register_meta(name).api == name


def test_get_meta_info_unknown_and_bad_type() -> None:
    """get_meta_info is None for an unknown name and TypeError for a non-str."""
    assert get_meta_info(unique("unknown")) is None
    with pytest.raises(TypeError):
        get_meta_info(VIDEO_META)  # type: ignore[arg-type]


@pytest.mark.timeout(30)
def test_concurrent_registration_of_one_name() -> None:
    """Of eight threads registering one name at once, exactly one gets a MetaInfo."""
    name = unique("race")
    barrier = threading.Barrier(8)
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(TIMEOUT)
        try:
            outcome: Any = register_meta(name)
        except ValueError as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, name=f"register-{i}") for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    infos = [r for r in results if isinstance(r, MetaInfo)]
    assert len(results) == 8
    assert len(infos) == 1
    assert get_meta_info(name) is infos[0]


# -- AddMeta / GetMeta / IterMeta / RemoveMeta -------------------------------------------------


def test_add_meta_fields_are_attributes(sample: MediaSample) -> None:
    """AddMeta returns the Meta: fields read as attributes, unflagged, with its info and api."""
    info = register_meta(unique("roi"))
    meta = sample.AddMeta(info, x=1, y=2, label="face")
    assert isinstance(meta, Meta)
    assert (meta.x, meta.y, meta.label) == (1, 2, "face")
    assert meta.info is info
    assert meta.api == info.api
    assert meta.fields == {"x": 1, "y": 2, "label": "face"}
    assert meta.flags == MetaFlags(0)
    assert not meta.pooled and not meta.locked
    snapshot = meta.fields
    snapshot["x"] = 99
    assert meta.x == 1  # fields is a new dict each time
    meta.x = 5
    assert meta.fields["x"] == 5


def test_add_meta_without_fields(sample: MediaSample) -> None:
    """A meta may have no fields at all."""
    info = register_meta(unique("flag"))
    meta = sample.AddMeta(info)
    assert meta is not None
    assert meta.fields == {}
    assert sample.GetMeta(info) is meta


def test_seqnum_grows_with_each_meta(sample: MediaSample) -> None:
    """Each added meta has a larger seqnum than every earlier one."""
    info = register_meta(unique("seq"))
    metas = [sample.AddMeta(info, i=i) for i in range(4)]
    seqnums = [m.seqnum for m in metas if m is not None]
    assert seqnums == sorted(seqnums)
    assert len(set(seqnums)) == 4


def test_get_meta_by_name_and_by_info(sample: MediaSample) -> None:
    """GetMeta finds the first meta of an api by name or by MetaInfo; None when there is none."""
    first_info = register_meta(unique("a"))
    second_info = register_meta(unique("b"))
    a1 = sample.AddMeta(first_info, n=1)
    b1 = sample.AddMeta(second_info, n=2)
    sample.AddMeta(first_info, n=3)
    assert sample.GetMeta(first_info) is a1
    assert sample.GetMeta(first_info.api) is a1
    assert sample.GetMeta(second_info) is b1
    assert sample.GetMeta(second_info.api) is b1
    assert sample.GetMeta(VIDEO_META) is None
    assert sample.GetMeta(unique("never-registered")) is None


def test_iter_meta_order_and_filter(sample: MediaSample) -> None:
    """IterMeta gives every meta in insertion order, or those of one api (by name or info)."""
    red = register_meta(unique("red"))
    blue = register_meta(unique("blue"))
    added = [
        sample.AddMeta(red, n=0),
        sample.AddMeta(blue, n=1),
        sample.AddMeta(red, n=2),
        sample.AddMeta(blue, n=3),
        sample.AddMeta(red, n=4),
    ]
    assert list(sample.IterMeta()) == added
    assert [m.n for m in sample.IterMeta(red)] == [0, 2, 4]
    assert [m.n for m in sample.IterMeta(blue.api)] == [1, 3]
    assert list(sample.IterMeta(VIDEO_META)) == []
    assert list(sample.IterMeta(unique("none"))) == []


def test_iter_meta_is_a_snapshot(sample: MediaSample) -> None:
    """Removing metas while iterating IterMeta removes each one exactly."""
    info = register_meta(unique("snap"))
    for i in range(3):
        sample.AddMeta(info, i=i)
    seen = []
    for meta in sample.IterMeta(info):
        seen.append(meta.i)
        sample.RemoveMeta(meta)
    assert seen == [0, 1, 2]
    assert list(sample.IterMeta()) == []


def test_no_metas_on_a_new_sample(sample: MediaSample) -> None:
    """A new sample has no metas."""
    assert list(sample.IterMeta()) == []
    assert sample.GetMeta(VIDEO_META) is None


def test_remove_meta_removes_that_meta(sample: MediaSample) -> None:
    """RemoveMeta removes exactly the given meta object, not an equal-looking one."""
    info = register_meta(unique("rm"))
    first = sample.AddMeta(info, v=1)
    second = sample.AddMeta(info, v=1)
    third = sample.AddMeta(info, v=1)
    assert second is not None
    sample.RemoveMeta(second)
    assert list(sample.IterMeta()) == [first, third]
    assert sample.GetMeta(info) is first


def test_remove_meta_not_on_the_sample(sample: MediaSample) -> None:
    """RemoveMeta of a meta the sample does not hold (any more) is ValueError; nothing changes."""
    info = register_meta(unique("away"))
    other = MediaSample.allocate(4)
    try:
        foreign = other.AddMeta(info, where="other")
        mine = sample.AddMeta(info, where="mine")
        assert foreign is not None and mine is not None
        with pytest.raises(ValueError, match="not on this sample"):
            sample.RemoveMeta(foreign)
        assert list(sample.IterMeta()) == [mine]
        assert list(other.IterMeta()) == [foreign]
        sample.RemoveMeta(mine)
        with pytest.raises(ValueError, match="not on this sample"):
            sample.RemoveMeta(mine)
    finally:
        other.Release()


def test_remove_meta_type_error(sample: MediaSample) -> None:
    """RemoveMeta takes a Meta."""
    with pytest.raises(TypeError):
        sample.RemoveMeta("video-meta")  # type: ignore[arg-type]


def test_get_and_iter_meta_type_errors(sample: MediaSample) -> None:
    """GetMeta and IterMeta take a name or a MetaInfo."""
    with pytest.raises(TypeError):
        sample.GetMeta(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sample.IterMeta(5)  # type: ignore[arg-type]


def test_add_meta_needs_a_registered_info(sample: MediaSample) -> None:
    """AddMeta takes the MetaInfo register_meta returned: a name is TypeError, a look-alike
    MetaInfo (unregistered, or another object with a registered name) is ValueError."""
    name = unique("real")
    register_meta(name)
    with pytest.raises(TypeError):
        sample.AddMeta(name)  # type: ignore[arg-type]
    unregistered = MetaInfo(unique("fake"), frozenset(), None, None, None)
    with pytest.raises(ValueError, match="not registered"):
        sample.AddMeta(unregistered)
    impostor = MetaInfo(name, frozenset(), None, None, None)
    with pytest.raises(ValueError, match="not registered"):
        sample.AddMeta(impostor)
    assert list(sample.IterMeta()) == []


def test_metainfo_hooks_must_be_callable() -> None:
    """MetaInfo refuses hooks that are not callable."""
    with pytest.raises(TypeError):
        MetaInfo(unique("x"), frozenset(), 5, None, None)


@pytest.mark.parametrize(
    "field",
    [
        "info",
        "api",
        "flags",
        "seqnum",
        "fields",
        "pooled",
        "locked",
    ],
)
def test_reserved_field_names(sample: MediaSample, field: str) -> None:
    """Field names that clash with Meta's own attributes are ValueError; nothing is added."""
    info = register_meta(unique("reserved"))
    with pytest.raises(ValueError, match="reserved"):
        sample.AddMeta(info, **{field: 1})
    assert list(sample.IterMeta()) == []


def test_add_and_remove_need_a_writable_sample(sample: MediaSample) -> None:
    """With a count above 1, AddMeta and RemoveMeta are E_ACCESSDENIED; reading still works."""
    info = register_meta(unique("ro"))
    meta = sample.AddMeta(info, v=1)
    assert meta is not None
    assert sample.AddRef() == 2
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        sample.AddMeta(info, v=2)
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        sample.RemoveMeta(meta)
    assert list(sample.IterMeta()) == [meta]
    assert sample.GetMeta(info) is meta
    assert sample.Release() == 1
    sample.RemoveMeta(meta)
    assert list(sample.IterMeta()) == []


def test_meta_calls_on_a_released_sample() -> None:
    """Once released, every meta call on the sample is E_UNEXPECTED."""
    info = register_meta(unique("gone"))
    sample = MediaSample.allocate(4)
    meta = sample.AddMeta(info)
    assert meta is not None
    assert sample.Release() == 0
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sample.AddMeta(info)
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sample.GetMeta(info)
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sample.IterMeta()
    with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
        sample.RemoveMeta(meta)


# -- init --------------------------------------------------------------------------------------


def test_init_runs_once_with_the_fields_set(sample: MediaSample) -> None:
    """init(meta, sample) runs once per AddMeta, after the fields are set, and may change them."""
    calls: list[tuple[Meta, MediaSample, dict[str, Any]]] = []

    def init(meta: Meta, target: MediaSample) -> bool:
        calls.append((meta, target, meta.fields))
        meta.area = meta.w * meta.h
        return True

    info = register_meta(unique("init"), init=init)
    meta = sample.AddMeta(info, w=3, h=4)
    assert meta is not None
    assert calls == [(meta, sample, {"w": 3, "h": 4})]
    assert meta.area == 12


def test_init_returning_false_refuses(sample: MediaSample) -> None:
    """init returning False makes AddMeta return None and add nothing."""
    info = register_meta(unique("refuse"), init=lambda meta, target: meta.ok)
    assert sample.AddMeta(info, ok=False) is None
    assert list(sample.IterMeta()) == []
    assert sample.GetMeta(info) is None
    accepted = sample.AddMeta(info, ok=True)
    assert accepted is not None
    assert list(sample.IterMeta()) == [accepted]


def test_init_returning_none_accepts(sample: MediaSample) -> None:
    """Only False refuses: an init returning None (or 0) adds the meta."""
    info = register_meta(unique("none"), init=lambda meta, target: meta.result)
    none = sample.AddMeta(info, result=None)
    zero = sample.AddMeta(info, result=0)
    assert none is not None and zero is not None
    assert list(sample.IterMeta()) == [none, zero]


def test_init_exception_propagates(sample: MediaSample) -> None:
    """An exception from init propagates and adds nothing."""

    def init(meta: Meta, target: MediaSample) -> bool:
        raise RuntimeError("init failed")

    info = register_meta(unique("raise"), init=init)
    with pytest.raises(RuntimeError, match="init failed"):
        sample.AddMeta(info)
    assert list(sample.IterMeta()) == []


# -- copies ------------------------------------------------------------------------------------


class Spy:
    """A transform that records its calls and returns a fixed answer."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.calls: list[tuple[Meta, MediaSample, dict[str, Any]]] = []

    def __call__(self, meta: Meta, dest: MediaSample, **context: Any) -> bool:
        self.calls.append((meta, dest, context))
        return self.answer


def test_transform_true_copies_the_meta(sample: MediaSample) -> None:
    """A transform returning True puts a new, unflagged meta with the same fields on the copy."""
    spy = Spy(True)
    info = register_meta(unique("keep"), transform=spy)
    meta = sample.AddMeta(info, x=1, tags=["a"])
    assert meta is not None
    copy = sample.Copy()
    try:
        assert len(spy.calls) == 1
        called_meta, dest, context = spy.calls[0]
        assert called_meta is meta
        assert dest is copy
        assert context == {"region": False, "offset": 0, "size": 8, "deep": False, "merge": False}
        (copied,) = copy.IterMeta()
        assert copied is not meta
        assert copied.info is info
        assert copied.fields == {"x": 1, "tags": ["a"]}
        assert copied.flags == MetaFlags(0)
        assert copied.seqnum > meta.seqnum
        copied.x = 2
        copy.RemoveMeta(copied)
        assert list(sample.IterMeta()) == [meta]
        assert meta.x == 1
    finally:
        copy.Release()


def test_transform_false_leaves_it_off(sample: MediaSample) -> None:
    """A transform returning False is called but the copy has no such meta."""
    spy = Spy(False)
    info = register_meta(unique("drop"), transform=spy)
    sample.AddMeta(info)
    copy = sample.Copy()
    try:
        assert len(spy.calls) == 1
        assert list(copy.IterMeta()) == []
    finally:
        copy.Release()


@pytest.mark.parametrize("answer", [False, True])
def test_transform_may_add_its_own_meta(sample: MediaSample, answer: bool) -> None:
    """A transform may add a meta of its own to dest; True also adds the copy, after it."""
    derived = register_meta(unique("derived"))

    def transform(meta: Meta, dest: MediaSample, **context: Any) -> bool:
        dest.AddMeta(derived, source=meta.value * 10)
        return answer

    info = register_meta(unique("source"), transform=transform)
    sample.AddMeta(info, value=4)
    copy = sample.Copy()
    try:
        metas = list(copy.IterMeta())
        assert [m.info for m in metas] == ([derived, info] if answer else [derived])
        assert metas[0].source == 40
    finally:
        copy.Release()


def test_no_transform_not_copied(sample: MediaSample) -> None:
    """A meta whose API has no transform is not copied, by any kind of copy."""
    info = register_meta(unique("local"))
    sample.AddMeta(info)
    for kwargs in ({}, {"deep": True}, {"offset": 1}, {"merge": True}):
        copy = sample.Copy(**kwargs)
        try:
            assert list(copy.IterMeta()) == [], kwargs
        finally:
            copy.Release()
    assert len(list(sample.IterMeta())) == 1


def test_copy_keeps_meta_order(sample: MediaSample) -> None:
    """Copied metas keep the source's order; refused ones leave no gap."""
    kept = register_meta(unique("kept"), transform=keep)
    gone = register_meta(unique("gone"), transform=lambda m, d, **c: False)
    for i in range(5):
        sample.AddMeta(kept if i % 2 == 0 else gone, i=i)
    copy = sample.Copy()
    try:
        assert [m.i for m in copy.IterMeta()] == [0, 2, 4]
    finally:
        copy.Release()


@pytest.mark.parametrize(
    ("kwargs", "context"),
    [
        ({}, {"region": False, "offset": 0, "size": 8, "deep": False, "merge": False}),
        ({"deep": True}, {"region": False, "offset": 0, "size": 8, "deep": True, "merge": False}),
        ({"offset": 2}, {"region": True, "offset": 2, "size": 6, "deep": False, "merge": False}),
        (
            {"offset": 2, "size": 3},
            {"region": True, "offset": 2, "size": 3, "deep": False, "merge": False},
        ),
        ({"size": 5}, {"region": True, "offset": 0, "size": 5, "deep": False, "merge": False}),
        (
            {"offset": 0, "size": 8},
            {"region": False, "offset": 0, "size": 8, "deep": False, "merge": False},
        ),
        (
            {"deep": True, "offset": 1, "size": 2},
            {"region": True, "offset": 1, "size": 2, "deep": True, "merge": False},
        ),
    ],
)
def test_transform_context(
    sample: MediaSample, kwargs: dict[str, Any], context: dict[str, Any]
) -> None:
    """transform gets exactly region, offset, size, deep and merge describing the copy."""
    spy = Spy()
    info = register_meta(unique("ctx"), transform=spy)
    sample.AddMeta(info)
    copy = sample.Copy(**kwargs)
    try:
        assert [call[2] for call in spy.calls] == [context]
        assert copy.GetMeta(info) is not None
    finally:
        copy.Release()


def test_transform_context_of_a_merge() -> None:
    """Merging several blocks is reported as merge=True (not a region)."""
    spy = Spy()
    info = register_meta(unique("merge-ctx"), transform=spy)
    sample = two_block_sample()
    try:
        sample.AddMeta(info)
        copy = sample.Copy(merge=True)
        try:
            assert copy.GetMemoryCount() == 1
            assert [call[2] for call in spy.calls] == [
                {"region": False, "offset": 0, "size": 8, "deep": False, "merge": True}
            ]
        finally:
            copy.Release()
    finally:
        sample.Release()


def test_transform_exception_propagates(sample: MediaSample) -> None:
    """An exception from a transform propagates out of Copy; the source is unchanged."""

    def transform(meta: Meta, dest: MediaSample, **context: Any) -> bool:
        raise RuntimeError("transform failed")

    info = register_meta(unique("boom"), transform=transform)
    meta = sample.AddMeta(info)
    with pytest.raises(RuntimeError, match="transform failed"):
        sample.Copy()
    assert list(sample.IterMeta()) == [meta]
    assert sample.IsWritable()


def _check_tag_survival(sample: MediaSample, tag: str, kwargs: dict[str, Any], kept: bool) -> None:
    """Copy ``sample`` with ``kwargs``; a meta tagged ``tag`` is kept (its transform asked once)
    or dropped (its transform not asked)."""
    spy = Spy(True)
    info = register_meta(unique(tag), tags=(tag,), transform=spy)
    sample.AddMeta(info)
    copy = sample.Copy(**kwargs)
    try:
        assert (copy.GetMeta(info) is not None) is kept
        assert len(spy.calls) == (1 if kept else 0)
    finally:
        copy.Release()


@pytest.mark.parametrize(
    ("kwargs", "kept"),
    [
        ({}, True),
        ({"deep": True}, True),
        ({"offset": 0, "size": 8}, True),
        ({"offset": 1}, False),
        ({"size": 7}, False),
        ({"offset": 2, "size": 2}, False),
        ({"deep": True, "offset": 4}, False),
    ],
)
def test_memory_tag_on_a_single_block(
    sample: MediaSample, kwargs: dict[str, Any], kept: bool
) -> None:
    """A "memory" meta survives whole copies (shallow or deep) and is dropped by region copies
    without its transform even being asked."""
    _check_tag_survival(sample, TAG_MEMORY, kwargs, kept)


@pytest.mark.parametrize(
    ("kwargs", "kept", "blocks"),
    [
        ({}, True, 2),
        ({"deep": True}, True, 2),
        ({"merge": True}, False, 1),
        ({"merge": True, "deep": True}, False, 1),
        ({"offset": 4}, False, 1),
        ({"offset": 2, "size": 4}, False, 2),
    ],
)
def test_memory_tag_on_two_blocks(kwargs: dict[str, Any], kept: bool, blocks: int) -> None:
    """On a two-block sample a "memory" meta is dropped by merge and region copies, kept by
    whole copies; an untagged meta with the same transform survives all of them."""
    spy = Spy(True)
    mem = register_meta(unique("mem2"), tags=(TAG_MEMORY,), transform=spy)
    plain = register_meta(unique("plain2"), transform=keep)
    sample = two_block_sample()
    try:
        sample.AddMeta(mem)
        sample.AddMeta(plain)
        copy = sample.Copy(**kwargs)
        try:
            assert copy.GetMemoryCount() == blocks
            assert (copy.GetMeta(mem) is not None) is kept
            assert copy.GetMeta(plain) is not None
            assert len(spy.calls) == (1 if kept else 0)
        finally:
            copy.Release()
    finally:
        sample.Release()


def test_merged_copy_has_the_bytes() -> None:
    """The copy a merge makes holds the bytes of both blocks in one (sanity for the above)."""
    sample = two_block_sample()
    try:
        copy = sample.Copy(merge=True)
        try:
            assert bytes(copy.GetPointer()) == b"abcdEFGH"
        finally:
            copy.Release()
    finally:
        sample.Release()


@pytest.mark.parametrize(
    ("kwargs", "kept"),
    [
        ({}, True),
        ({"deep": True}, False),
        ({"deep": True, "offset": 1}, False),
        ({"offset": 1}, True),
        ({"merge": True}, True),
    ],
)
def test_memory_reference_tag(sample: MediaSample, kwargs: dict[str, Any], kept: bool) -> None:
    """A "memory-reference" meta is dropped by deep copies only (transform not asked)."""
    _check_tag_survival(sample, TAG_MEMORY_REFERENCE, kwargs, kept)


@pytest.mark.parametrize(
    ("kwargs", "kept"),
    [({}, True), ({"deep": True}, False), ({"offset": 1}, False)],
)
def test_both_tags(sample: MediaSample, kwargs: dict[str, Any], kept: bool) -> None:
    """A meta tagged "memory" and "memory-reference" survives only whole shallow copies."""
    info = register_meta(unique("both"), tags=(TAG_MEMORY, TAG_MEMORY_REFERENCE), transform=keep)
    sample.AddMeta(info)
    copy = sample.Copy(**kwargs)
    try:
        assert (copy.GetMeta(info) is not None) is kept
    finally:
        copy.Release()


def test_other_tags_do_not_drop(sample: MediaSample) -> None:
    """Tags other than the two standard ones do not affect copies."""
    info = register_meta(unique("custom"), tags=("video", "size", "mine"), transform=keep)
    sample.AddMeta(info)
    for kwargs in ({}, {"deep": True}, {"offset": 3}):
        copy = sample.Copy(**kwargs)
        try:
            assert copy.GetMeta(info) is not None, kwargs
        finally:
            copy.Release()


def test_make_writable_carries_metas_by_transform(sample: MediaSample) -> None:
    """MakeWritable on a shared sample copies: metas survive only through their transform, and
    the caller's reference to the original is dropped."""
    carried = register_meta(unique("carried"), transform=keep)
    refused = register_meta(unique("refused"), transform=lambda m, d, **c: False)
    local = register_meta(unique("local"))
    memory = register_meta(unique("memory"), tags=(TAG_MEMORY,), transform=keep)
    originals = [
        sample.AddMeta(carried, n=1),
        sample.AddMeta(refused, n=2),
        sample.AddMeta(local, n=3),
        sample.AddMeta(memory, n=4),
    ]
    assert sample.AddRef() == 2
    writable = sample.MakeWritable()
    try:
        assert writable is not sample
        assert writable.IsWritable()
        assert sample._refs == 1
        assert [(m.info, m.n) for m in writable.IterMeta()] == [(carried, 1), (memory, 4)]
        assert not any(m in originals for m in writable.IterMeta())
        assert list(sample.IterMeta()) == originals
    finally:
        writable.Release()


def test_make_writable_on_a_writable_sample_keeps_the_metas(sample: MediaSample) -> None:
    """MakeWritable with a count of 1 returns the sample itself with the very same metas."""
    local = register_meta(unique("mine"))
    meta = sample.AddMeta(local)
    assert sample.MakeWritable() is sample
    assert list(sample.IterMeta()) == [meta]


# -- pooled metas ------------------------------------------------------------------------------


class Recorder:
    """Collects clear() calls as (meta, sample) pairs."""

    def __init__(self) -> None:
        self.calls: list[tuple[Meta, MediaSample]] = []

    def __call__(self, meta: Meta, sample: MediaSample) -> None:
        self.calls.append((meta, sample))


class MetaPool(MemAllocator):
    """A pool whose samples get one meta of ``info`` each from prepare_sample."""

    def __init__(self, info: MetaInfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.info = info
        self.prepared: list[tuple[MediaSample, bool]] = []

    def prepare_sample(self, sample: MediaSample) -> None:
        self.prepared.append((sample, sample.IsWritable()))
        sample.AddMeta(self.info, serial=len(self.prepared))


def make_meta_pool(
    pools: list[MemAllocator], info: MetaInfo, buffers: int = 2, **kwargs: Any
) -> MetaPool:
    pool = MetaPool(info, **kwargs)
    pools.append(pool)
    pool.SetProperties(AllocatorProperties(buffers, 16, 1, 0))
    pool.Commit()
    return pool


def test_prepare_sample_runs_for_each_new_sample(pools: list[MemAllocator]) -> None:
    """prepare_sample runs once per sample made, on a writable sample, before GetBuffer."""
    info = register_meta(unique("prep"))
    pool = make_meta_pool(pools, info, buffers=3)
    assert len(pool.prepared) == 3
    assert all(writable for _, writable in pool.prepared)
    samples = [pool.GetBuffer() for _ in range(3)]
    try:
        assert {id(s) for s, _ in pool.prepared} == {id(s) for s in samples}
        assert sorted(s.GetMeta(info).serial for s in samples) == [1, 2, 3]
    finally:
        for s in samples:
            s.Release()
    assert len(pool.prepared) == 3  # reuse prepares nothing


def test_pooled_meta_is_locked(pools: list[MemAllocator]) -> None:
    """A meta added by prepare_sample is POOLED and LOCKED: RemoveMeta is E_ACCESSDENIED."""
    info = register_meta(unique("locked"))
    pool = make_meta_pool(pools, info)
    with pool.GetBuffer() as sample:
        meta = sample.GetMeta(info)
        assert meta is not None
        assert meta.flags == MetaFlags.POOLED | MetaFlags.LOCKED
        assert meta.pooled and meta.locked
        with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
            sample.RemoveMeta(meta)
        assert list(sample.IterMeta()) == [meta]


def test_pooled_meta_kept_others_removed_at_release(pools: list[MemAllocator]) -> None:
    """At release the pooled meta stays (the same object) and every other meta goes, including
    ones of the pooled API added later; the next GetBuffer sees only the pooled one."""
    info = register_meta(unique("pooled"))
    extra = register_meta(unique("extra"))
    pool = make_meta_pool(pools, info, buffers=1)
    sample = pool.GetBuffer()
    pooled = sample.GetMeta(info)
    later = sample.AddMeta(info, serial=99)
    other = sample.AddMeta(extra, v=1)
    assert list(sample.IterMeta()) == [pooled, later, other]
    assert later is not None and not later.pooled and not later.locked
    sample.RemoveMeta(later)  # unpooled metas stay removable
    sample.AddMeta(info, serial=100)
    sample.Release()
    again = pool.GetBuffer()
    try:
        assert again is sample
        assert list(again.IterMeta()) == [pooled]
        assert pooled is not None and pooled.serial == 1
    finally:
        again.Release()


def test_pooled_meta_field_changes_persist(pools: list[MemAllocator]) -> None:
    """A pooled meta is the same object across uses, so field changes not undone by clear stay."""
    info = register_meta(unique("persist"))
    pool = make_meta_pool(pools, info, buffers=1)
    with pool.GetBuffer() as sample:
        sample.GetMeta(info).uses = 1
    with pool.GetBuffer() as sample:
        meta = sample.GetMeta(info)
        assert meta.uses == 1
        meta.uses += 1
    with pool.GetBuffer() as sample:
        assert sample.GetMeta(info).uses == 2


def test_clear_runs_once_per_release(pools: list[MemAllocator]) -> None:
    """clear(meta, sample) runs exactly once per final release, with that sample, and not on
    AddRef/Release pairs that leave the sample out."""
    clear = Recorder()
    info = register_meta(unique("clear"), clear=clear)
    pool = make_meta_pool(pools, info, buffers=2)
    assert clear.calls == []  # not at creation
    first, second = pool.GetBuffer(), pool.GetBuffer()
    first_meta, second_meta = first.GetMeta(info), second.GetMeta(info)
    assert first.AddRef() == 2
    assert first.Release() == 1
    assert clear.calls == []
    second.Release()
    assert clear.calls == [(second_meta, second)]
    first.Release()
    assert clear.calls == [(second_meta, second), (first_meta, first)]
    with pool.GetBuffer() as again:
        assert again is first  # LIFO
    assert clear.calls[2:] == [(first_meta, first)]
    assert len(clear.calls) == 3


def test_clear_can_reset_fields(pools: list[MemAllocator]) -> None:
    """clear is where a pooled meta resets its fields for the next use."""

    def clear(meta: Meta, sample: MediaSample) -> None:
        meta.count = 0

    info = register_meta(unique("reset"), clear=clear)

    class Pool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            sample.AddMeta(info, count=0)

    pool = Pool()
    pools.append(pool)
    pool.SetProperties(AllocatorProperties(1, 8, 1, 0))
    pool.Commit()
    with pool.GetBuffer() as sample:
        sample.GetMeta(info).count = 7
    with pool.GetBuffer() as sample:
        assert sample.GetMeta(info).count == 0


def test_clear_not_called_for_unpooled_metas(pools: list[MemAllocator]) -> None:
    """An unpooled meta is removed at release without its clear being called."""
    clear = Recorder()
    info = register_meta(unique("unpooled-clear"), clear=clear)
    plain = register_meta(unique("plain-pool"))
    pool = make_meta_pool(pools, plain, buffers=1)
    with pool.GetBuffer() as sample:
        sample.AddMeta(info)
    assert clear.calls == []
    with pool.GetBuffer() as sample:
        assert sample.GetMeta(info) is None


def test_clear_not_called_on_standalone_samples() -> None:
    """A standalone sample's final release calls no clear (its metas are not pooled)."""
    clear = Recorder()
    info = register_meta(unique("standalone-clear"), clear=clear)
    sample = MediaSample.allocate(4)
    sample.AddMeta(info)
    sample.Release()
    assert clear.calls == []


def test_clear_that_raises_is_logged(
    pools: list[MemAllocator], caplog: pytest.LogCaptureFixture
) -> None:
    """A clear that raises is logged; the other pooled metas are still cleared, unpooled ones
    removed, and the sample goes home to be handed out again."""
    later_clear = Recorder()

    def bad_clear(meta: Meta, sample: MediaSample) -> None:
        raise RuntimeError("clear failed")

    bad = register_meta(unique("bad-clear"), clear=bad_clear)
    good = register_meta(unique("good-clear"), clear=later_clear)
    extra = register_meta(unique("extra"))

    class Pool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            sample.AddMeta(bad)
            sample.AddMeta(good)

    pool = Pool()
    pools.append(pool)
    pool.SetProperties(AllocatorProperties(1, 8, 1, 0))
    pool.Commit()
    sample = pool.GetBuffer()
    pooled = list(sample.IterMeta())
    sample.AddMeta(extra)
    with caplog.at_level(logging.ERROR, logger="dshow_alloc.sample"):
        assert sample.Release() == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "dshow_alloc.sample"
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is RuntimeError
    assert later_clear.calls == [(pooled[1], sample)]
    assert pool.GetFreeCount() == 1
    assert pool.outstanding() == []
    assert pool.discarded == 0
    with pool.GetBuffer() as again:
        assert again is sample
        assert list(again.IterMeta()) == pooled


def test_prepare_sample_for_grown_samples(pools: list[MemAllocator]) -> None:
    """A growing pool runs prepare_sample for every sample it makes on demand, and pools its
    metas like the preallocated ones."""
    info = register_meta(unique("grow"))
    pool = MetaPool(info)
    pools.append(pool)
    pool.SetConfig(PoolConfig(8, 1, 0))
    pool.Commit()
    assert len(pool.prepared) == 1
    samples = [pool.GetBuffer() for _ in range(3)]
    try:
        assert len(pool.prepared) == 3
        for s in samples:
            (meta,) = s.IterMeta()
            assert meta.flags == MetaFlags.POOLED | MetaFlags.LOCKED
    finally:
        for s in samples:
            s.Release()


def test_prepare_sample_sees_the_final_index(pools: list[MemAllocator]) -> None:
    """prepare_sample sees the index the sample keeps, also for samples made on demand."""
    seen: list[int] = []

    class Pool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            seen.append(sample.index)

    pool = Pool()
    pools.append(pool)
    pool.SetConfig(PoolConfig(8, 1, 4))
    pool.Commit()
    samples = [pool.GetBuffer() for _ in range(3)]
    try:
        assert [s.index for s in samples] == [0, 1, 2]
        assert seen == [0, 1, 2]
    finally:
        for s in samples:
            s.Release()


def test_prepare_sample_error_fails_commit(pools: list[MemAllocator]) -> None:
    """An exception from prepare_sample propagates out of Commit, which then changes nothing."""

    class Pool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            raise RuntimeError("cannot prepare")

    pool = Pool()
    pools.append(pool)
    pool.SetProperties(AllocatorProperties(2, 8, 1, 0))
    with pytest.raises(RuntimeError, match="cannot prepare"):
        pool.Commit()
    assert not pool.committed
    assert pool.allocated == 0


def test_copy_of_a_pooled_sample_has_unpooled_metas(pools: list[MemAllocator]) -> None:
    """Copying a pool sample copies its pooled metas as plain ones: unflagged and removable,
    with no clear at the copy's release."""
    clear = Recorder()
    info = register_meta(unique("pool-copy"), transform=keep, clear=clear)
    pool = make_meta_pool(pools, info, buffers=1)
    with pool.GetBuffer() as sample:
        copy = sample.Copy()
    try:
        assert len(clear.calls) == 1
        (meta,) = copy.IterMeta()
        assert meta.flags == MetaFlags(0)
        copy.RemoveMeta(meta)
    finally:
        copy.Release()
    assert len(clear.calls) == 1


def test_video_meta_option_pools_the_meta(pools: list[MemAllocator]) -> None:
    """With option "video-meta" each sample's VIDEO_META is pooled, locked and the same object
    across uses; metas added during a use are gone at the next."""
    media_type = video_type("NV12", 64, 48)
    extra = register_meta(unique("vm-extra"))
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(
        PoolConfig(64 * 48 * 3 // 2, 1, 1, options={"video-meta"}, media_type=media_type)
    )
    pool.Commit()
    sample = pool.GetBuffer()
    meta = sample.GetMeta(VIDEO_META)
    assert meta is not None
    assert meta.flags == MetaFlags.POOLED | MetaFlags.LOCKED
    with raises_hresult(AccessDeniedError, HRESULT.E_ACCESSDENIED):
        sample.RemoveMeta(meta)
    sample.AddMeta(extra)
    sample.AddMeta(VIDEO_META, **video_layout("NV12", 32, 24).meta_fields())
    sample.Release()
    with pool.GetBuffer() as again:
        assert again is sample
        assert list(again.IterMeta()) == [meta]
        assert (meta.width, meta.height) == (64, 48)


# -- VIDEO_META and video layouts --------------------------------------------------------------

# (format, width, height, stride_align, offsets, strides, heights, size), worked by hand.
LAYOUTS = [
    ("NV12", 640, 480, 1, (0, 307200), (640, 640), (480, 240), 460800),
    ("NV12", 640, 480, 64, (0, 307200), (640, 640), (480, 240), 460800),
    ("NV12", 33, 17, 1, (0, 561), (33, 34), (17, 9), 867),
    ("NV12", 33, 17, 16, (0, 816), (48, 48), (17, 9), 1248),
    ("NV12", 1, 1, 1, (0, 1), (1, 2), (1, 1), 3),
    ("NV12", 1, 1, 4, (0, 4), (4, 4), (1, 1), 8),
    ("I420", 33, 17, 1, (0, 561, 714), (33, 17, 17), (17, 9, 9), 867),
    ("I420", 33, 17, 16, (0, 816, 1104), (48, 32, 32), (17, 9, 9), 1392),
    ("I420", 64, 48, 32, (0, 3072, 3840), (64, 32, 32), (48, 24, 24), 4608),
    ("I420", 1, 1, 1, (0, 1, 2), (1, 1, 1), (1, 1, 1), 3),
    ("IYUV", 2, 2, 4, (0, 8, 12), (4, 4, 4), (2, 1, 1), 16),
    ("IYUV", 35, 3, 8, (0, 120, 168), (40, 24, 24), (3, 2, 2), 216),
    ("YUY2", 33, 17, 1, (0,), (68,), (17,), 1156),
    ("YUY2", 33, 17, 64, (0,), (128,), (17,), 2176),
    ("YUY2", 640, 480, 1, (0,), (1280,), (480,), 614400),
    ("YUY2", 1, 5, 2, (0,), (4,), (5,), 20),
    ("RGB24", 33, 17, 1, (0,), (100,), (17,), 1700),
    ("RGB24", 33, 17, 2, (0,), (100,), (17,), 1700),
    ("RGB24", 33, 17, 8, (0,), (104,), (17,), 1768),
    ("RGB24", 4, 3, 1, (0,), (12,), (3,), 36),
    ("RGB24", 1, 1, 1, (0,), (4,), (1,), 4),
    ("RGB24", 5, 2, 32, (0,), (32,), (2,), 64),
    ("RGB32", 33, 17, 1, (0,), (132,), (17,), 2244),
    ("RGB32", 33, 17, 64, (0,), (192,), (17,), 3264),
    ("RGB32", 1, 1, 16, (0,), (16,), (1,), 16),
]


@pytest.mark.parametrize(
    ("fmt", "width", "height", "align", "offsets", "strides", "heights", "size"), LAYOUTS
)
def test_video_layout(
    fmt: str,
    width: int,
    height: int,
    align: int,
    offsets: tuple[int, ...],
    strides: tuple[int, ...],
    heights: tuple[int, ...],
    size: int,
) -> None:
    """video_layout gives the hand-computed offsets, strides, plane heights and frame size,
    the same from a format name or from a video MediaType."""
    expected = VideoLayout(fmt, width, height, offsets, strides, heights, size)
    assert video_layout(fmt, width, height, stride_align=align) == expected
    assert video_layout(video_type(fmt, width, height), stride_align=align) == expected
    assert expected.n_planes == len(offsets)


@pytest.mark.parametrize(
    ("fmt", "width", "height", "align", "offsets", "strides", "heights", "size"), LAYOUTS
)
def test_video_meta_fields(
    fmt: str,
    width: int,
    height: int,
    align: int,
    offsets: tuple[int, ...],
    strides: tuple[int, ...],
    heights: tuple[int, ...],
    size: int,
) -> None:
    """A VIDEO_META from a layout carries format, width, height, n_planes, offsets, strides."""
    layout = video_layout(fmt, width, height, stride_align=align)
    fields = layout.meta_fields()
    assert fields == {
        "format": fmt,
        "width": width,
        "height": height,
        "n_planes": len(offsets),
        "offsets": offsets,
        "strides": strides,
    }
    sample = MediaSample.allocate(size)
    try:
        meta = sample.AddMeta(VIDEO_META, **fields)
        assert meta is not None
        assert sample.GetMeta("video-meta") is meta
        assert meta.fields == fields
    finally:
        sample.Release()


def test_video_layout_top_down_rgb() -> None:
    """A negative (top-down) DIB height gives the same layout with a positive height."""
    bottom_up = video_type("RGB24", 7, 5)
    top_down = MediaType(
        bottom_up.major_type,
        bottom_up.subtype,
        bottom_up.format_type,
        VideoInfoHeader(width=7, height=-5, bit_count=24),
    )
    assert video_layout(top_down) == video_layout(bottom_up)
    assert video_layout(top_down).height == 5
    assert video_layout(top_down).strides == (24,)


@pytest.mark.parametrize(
    ("fmt", "width", "height", "subtype", "bits", "compression", "size"),
    [
        ("NV12", 640, 480, MEDIASUBTYPE_NV12, 12, 0x3231564E, 460800),
        ("NV12", 33, 17, MEDIASUBTYPE_NV12, 12, 0x3231564E, 867),
        ("I420", 33, 17, MEDIASUBTYPE_I420, 12, 0x30323449, 867),
        ("IYUV", 2, 2, MEDIASUBTYPE_IYUV, 12, 0x56555949, 6),
        ("YUY2", 33, 17, MEDIASUBTYPE_YUY2, 16, 0x32595559, 1156),
        ("YUY2", 320, 240, MEDIASUBTYPE_YUY2, 16, 0x32595559, 153600),
        ("RGB24", 33, 17, MEDIASUBTYPE_RGB24, 24, 0, 1700),
        ("RGB24", 320, 240, MEDIASUBTYPE_RGB24, 24, 0, 230400),
        ("RGB32", 33, 17, MEDIASUBTYPE_RGB32, 32, 0, 2244),
    ],
)
def test_video_type(
    fmt: str, width: int, height: int, subtype: Any, bits: int, compression: int, size: int
) -> None:
    """video_type gives a fixed-size FORMAT_VideoInfo type sized for the unpadded frame."""
    media_type = video_type(fmt, width, height, avg_time_per_frame=333_667)
    assert media_type.major_type == MEDIATYPE_Video
    assert media_type.subtype == subtype
    assert media_type.format_type == FORMAT_VideoInfo
    assert media_type.fixed_size_samples is True
    assert media_type.sample_size == size
    header = media_type.format
    assert isinstance(header, VideoInfoHeader)
    assert (header.width, header.height) == (width, height)
    assert header.bit_count == bits
    assert header.compression == compression
    assert header.image_size == size
    assert header.avg_time_per_frame == 333_667
    if compression:
        assert fourcc_subtype(fmt) == subtype


def test_video_formats() -> None:
    """VIDEO_FORMATS names the six formats."""
    assert set(VIDEO_FORMATS) == {"NV12", "I420", "IYUV", "YUY2", "RGB24", "RGB32"}


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("NV13", 4, 4), {}, ValueError),
        (("NV12", 4), {}, TypeError),
        (("NV12", 4, 4.0), {}, TypeError),
        (("NV12", 0, 4), {}, ValueError),
        (("NV12", 4, -4), {}, ValueError),
        (("NV12", 4, 4), {"stride_align": 3}, ValueError),
        (("NV12", 4, 4), {"stride_align": 0}, ValueError),
        (("NV12", 4, 4), {"stride_align": True}, ValueError),
        (("NV12", 4, 4), {"stride_align": 4.0}, ValueError),
        ((42,), {}, TypeError),
    ],
)
def test_video_layout_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """video_layout refuses unknown formats, bad sizes and alignments that are not powers of 2."""
    with pytest.raises(error):
        video_layout(*args, **kwargs)


def test_video_layout_of_types_it_does_not_know() -> None:
    """A MediaType that is not a raw video type it knows is ValueError; extra args TypeError."""
    audio = MediaType(
        MEDIATYPE_Audio, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, VideoInfoHeader(width=4, height=4)
    )
    unknown_subtype = MediaType(
        MEDIATYPE_Video, fourcc_subtype("MJPG"), FORMAT_VideoInfo, VideoInfoHeader(4, 4)
    )
    no_header = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, None)
    wave = MediaType(
        MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, WaveFormatEx(1, 2, 8000, 16)
    )
    for media_type in (audio, unknown_subtype, no_header, wave):
        with pytest.raises(ValueError):
            video_layout(media_type)
    with pytest.raises(TypeError):
        video_layout(video_type("NV12", 4, 4), 4, 4)
    with pytest.raises(ValueError):
        video_type("MJPG", 4, 4)


def test_video_meta_init_checks_fields() -> None:
    """VIDEO_META's init needs every field, 1..4 planes and one int >= 0 per plane; offsets and
    strides given as lists become tuples."""
    fields = video_layout("I420", 8, 8).meta_fields()
    sample = MediaSample.allocate(96)
    try:
        for missing in ("format", "width", "height", "n_planes", "offsets", "strides"):
            partial = {k: v for k, v in fields.items() if k != missing}
            with pytest.raises(TypeError, match=missing):
                sample.AddMeta(VIDEO_META, **partial)
        for bad in (
            {"n_planes": 0},
            {"n_planes": 5},
            {"n_planes": "3"},
            {"offsets": (0, 64)},
            {"strides": (8, 4, 4, 4)},
            {"strides": (8, -4, 4)},
            {"offsets": (0, 64.0, 80)},
        ):
            with pytest.raises(ValueError):
                sample.AddMeta(VIDEO_META, **{**fields, **bad})
        assert list(sample.IterMeta()) == []
        meta = sample.AddMeta(
            VIDEO_META, **{**fields, "offsets": [0, 64, 80], "strides": [8, 4, 4]}
        )
        assert meta is not None
        assert meta.offsets == (0, 64, 80)
        assert meta.strides == (8, 4, 4)
    finally:
        sample.Release()


@pytest.mark.parametrize(
    ("kwargs", "kept"),
    [
        ({}, True),
        ({"deep": True}, True),
        ({"offset": 1}, False),
        ({"size": 100}, False),
    ],
)
def test_video_meta_survives_whole_copies_only(kwargs: dict[str, Any], kept: bool) -> None:
    """VIDEO_META is copied by whole copies, shallow or deep, and dropped by region copies."""
    layout = video_layout("RGB32", 10, 10)
    sample = MediaSample.allocate(layout.size)
    try:
        sample.AddMeta(VIDEO_META, **layout.meta_fields())
        copy = sample.Copy(**kwargs)
        try:
            meta = copy.GetMeta(VIDEO_META)
            assert (meta is not None) is kept
            if meta is not None:
                assert meta.fields == layout.meta_fields()
        finally:
            copy.Release()
    finally:
        sample.Release()


def test_video_meta_transform_refuses_regions() -> None:
    """VIDEO_META's own transform keeps the meta for a whole copy and refuses a region (the
    offsets and strides describe the whole frame), independently of its "memory" tag."""
    transform = VIDEO_META.transform
    assert transform is not None
    layout = video_layout("RGB32", 2, 2)
    sample = MediaSample.allocate(layout.size)
    dest = MediaSample.allocate(layout.size)
    try:
        meta = sample.AddMeta(VIDEO_META, **layout.meta_fields())
        whole = {"region": False, "offset": 0, "size": 16, "deep": False, "merge": False}
        assert transform(meta, dest, **whole) is True
        assert transform(meta, dest, **{**whole, "deep": True}) is True
        assert transform(meta, dest, **{**whole, "region": True, "offset": 4, "size": 8}) is False
        assert list(dest.IterMeta()) == []  # the transform adds nothing itself
    finally:
        sample.Release()
        dest.Release()


def test_video_meta_dropped_by_merge() -> None:
    """VIDEO_META ("memory") does not survive a copy that merges two blocks."""
    sample = two_block_sample()
    try:
        sample.AddMeta(VIDEO_META, **video_layout("RGB32", 1, 2).meta_fields())
        kept = sample.Copy()
        merged = sample.Copy(merge=True)
        try:
            assert kept.GetMeta(VIDEO_META) is not None
            assert merged.GetMeta(VIDEO_META) is None
        finally:
            kept.Release()
            merged.Release()
    finally:
        sample.Release()


def test_plane_views() -> None:
    """plane(data, i) is a 2-D rows x stride view into data at the plane's offset, sharing its
    memory; each plane's bytes land at offset + row * stride + column."""
    layout = video_layout("I420", 6, 4, stride_align=8)
    assert (layout.offsets, layout.strides, layout.heights) == ((0, 32, 48), (8, 8, 8), (4, 2, 2))
    data = bytearray(layout.size)
    view = memoryview(data)
    for index in range(3):
        plane = layout.plane(view, index)
        assert plane.ndim == 2
        assert plane.shape == (layout.heights[index], layout.strides[index])
        assert not plane.readonly
        for row in range(plane.shape[0]):
            for column in range(plane.shape[1]):
                plane[row, column] = (index * 50 + row * 10 + column) & 0xFF
    for index in range(3):
        for row in range(layout.heights[index]):
            start = layout.offsets[index] + row * layout.strides[index]
            assert list(data[start : start + 8]) == [index * 50 + row * 10 + c for c in range(8)]
    readonly = layout.plane(memoryview(bytes(data)), 1)
    assert readonly.readonly
    assert readonly.tolist()[1] == [60 + c for c in range(8)]


def test_plane_errors() -> None:
    """plane refuses an index outside the planes (IndexError) and data too short (ValueError)."""
    layout = video_layout("NV12", 4, 4)
    data = memoryview(bytearray(layout.size))
    with pytest.raises(IndexError):
        layout.plane(data, 2)
    with pytest.raises(IndexError):
        layout.plane(data, -1)
    with pytest.raises(ValueError):
        layout.plane(data[:-1], 1)
    assert layout.plane(data[:16], 0).shape == (4, 4)


def _row_bytes(fmt: str, width: int) -> list[int]:
    """Visible bytes per row of each plane, as a reader knows them from the format."""
    half = (width + 1) // 2
    return {
        "NV12": [width, half * 2],
        "I420": [width, half, half],
        "IYUV": [width, half, half],
        "YUY2": [half * 4],
        "RGB24": [width * 3],
        "RGB32": [width * 4],
    }[fmt]


def _pattern(plane: int, row: int, length: int) -> bytes:
    return bytes((plane * 71 + row * 13 + column) & 0xFF for column in range(length))


@pytest.mark.parametrize(
    ("fmt", "width", "height", "align"),
    [("I420", 33, 17, 16), ("NV12", 35, 9, 32), ("YUY2", 9, 5, 16), ("RGB24", 5, 3, 32)],
)
def test_downstream_reads_padded_frame_through_meta(
    pools: list[MemAllocator], fmt: str, width: int, height: int, align: int
) -> None:
    """A producer fills padded rows from a "video-meta" pool; a reader given a copy of the sample
    finds every row by the meta's offsets and strides, where a reader assuming tightly packed
    rows would not."""
    media_type = video_type(fmt, width, height)
    padded = video_layout(media_type, stride_align=align)
    packed = video_layout(media_type)
    assert padded.strides != packed.strides
    pool = MemAllocator()
    pools.append(pool)
    pool.SetConfig(
        PoolConfig(padded.size, 1, 1, align=align, options={"video-meta"}, media_type=media_type)
    )
    pool.Commit()
    rows = _row_bytes(fmt, width)
    with pool.GetBuffer() as sample:
        data = sample.GetPointer()
        data[:] = b"\xee" * len(data)  # padding bytes a reader must skip
        for plane in range(padded.n_planes):
            for row in range(padded.heights[plane]):
                start = padded.offsets[plane] + row * padded.strides[plane]
                data[start : start + rows[plane]] = _pattern(plane, row, rows[plane])
        delivered = sample.Copy()
    try:
        meta = delivered.GetMeta(VIDEO_META)
        assert meta is not None
        assert (meta.format, meta.width, meta.height) == (fmt, width, height)
        assert meta.strides == padded.strides
        frame = bytes(delivered.GetPointer())
        heights = padded.heights
        for plane in range(meta.n_planes):
            for row in range(heights[plane]):
                start = meta.offsets[plane] + row * meta.strides[plane]
                assert frame[start : start + rows[plane]] == _pattern(plane, row, rows[plane])
        naive = [
            frame[
                packed.offsets[p] + r * packed.strides[p] : packed.offsets[p]
                + r * packed.strides[p]
                + rows[p]
            ]
            for p in range(packed.n_planes)
            for r in range(packed.heights[p])
        ]
        expected = [
            _pattern(p, r, rows[p]) for p in range(packed.n_planes) for r in range(heights[p])
        ]
        assert naive != expected
    finally:
        delivered.Release()
