"""Pool options are a registry (dshow_alloc.pool): the generic pool knows none of them, a
module registers what a config with the option needs and what each new sample gets, and
"video-meta" is registered by dshow_alloc.video."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dshow_alloc import (
    VIDEO_META,
    InvalidArgError,
    MemAllocator,
    PoolConfig,
    VfwNotCommittedError,
    video_layout,
    video_type,
)
from dshow_alloc.meta import register_meta
from dshow_alloc.pool import PoolOption, pool_option, register_pool_option
from dshow_alloc.video import OPTION_VIDEO_META

ROOT = Path(__file__).resolve().parent.parent
STAMP = register_meta("test-pool-option-stamp")
seen: list[PoolConfig] = []


def _check(config: PoolConfig) -> None:
    if config.buffer_size < 32:
        raise InvalidArgError(message="stamp needs 32 bytes")


def _preparer(config: PoolConfig) -> Callable[[Any], None]:
    seen.append(config)
    return lambda sample: sample.AddMeta(STAMP, size=config.buffer_size)


register_pool_option(PoolOption("test-stamp", check=_check, preparer=_preparer))


def _meta(sample: Any, api: Any) -> Any:
    meta = sample.GetMeta(api)
    assert meta is not None
    return meta


@pytest.fixture
def pool() -> Iterator[MemAllocator]:
    allocator = MemAllocator(name="options")
    yield allocator
    allocator.Decommit()


def test_a_registered_option_prepares_every_new_sample(pool: MemAllocator) -> None:
    """Each sample of a pool whose config lists the option carries the pooled meta its
    preparer adds; the preparer is made once per allocation."""
    seen.clear()
    pool.SetConfig(PoolConfig(64, 2, 2, options={"test-stamp"}))
    pool.Commit()
    first, second = pool.GetBuffer(), pool.GetBuffer()
    assert [_meta(s, STAMP).size for s in (first, second)] == [64, 64]
    assert len(seen) == 1
    first.Release()
    second.Release()


def test_the_option_check_refuses_a_config_and_changes_nothing(pool: MemAllocator) -> None:
    """SetConfig raises what the option's check raises, and the pool keeps its config."""
    before = pool.GetConfig()
    with pytest.raises(InvalidArgError, match="stamp needs 32 bytes"):
        pool.SetConfig(PoolConfig(16, 1, 1, options={"test-stamp"}))
    assert pool.GetConfig() == before
    with pytest.raises(VfwNotCommittedError):
        pool.GetBuffer()


def test_an_unregistered_option_is_kept_and_does_nothing(pool: MemAllocator) -> None:
    """An option nobody registered stays in the config (as GStreamer keeps what a pool does
    not support) and adds nothing to the samples."""
    pool.SetConfig(PoolConfig(64, 1, 1, options={"nobody-knows-me"}))
    assert pool.GetConfig().options == frozenset({"nobody-knows-me"})
    pool.Commit()
    with pool.GetBuffer() as sample:
        assert sample.GetMeta(VIDEO_META) is None
    assert pool_option("nobody-knows-me") is None


def test_video_meta_is_registered_by_the_video_module(pool: MemAllocator) -> None:
    """ "video-meta" comes from dshow_alloc.video and gives the config's layout."""
    media_type = video_type("NV12", 64, 48)
    layout = video_layout(media_type, stride_align=32)
    assert pool_option(OPTION_VIDEO_META) is not None
    pool.SetConfig(
        PoolConfig(layout.size, 1, 1, align=32, options={OPTION_VIDEO_META}, media_type=media_type)
    )
    pool.Commit()
    with pool.GetBuffer() as sample:
        assert _meta(sample, VIDEO_META).strides == layout.strides
    with pytest.raises(InvalidArgError, match="needs the config's media_type"):
        MemAllocator().SetConfig(PoolConfig(64, 1, 1, options={OPTION_VIDEO_META}))


def test_the_generic_pool_imports_nothing_of_video() -> None:
    """dshow_alloc.allocator and dshow_alloc.pool import neither dshow_alloc.video nor any
    name of it: video is a registered option, not the pool's business."""
    for module in ("allocator", "pool"):
        tree = ast.parse((ROOT / "dshow_alloc" / f"{module}.py").read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "dshow_alloc.video" not in imported, module


def test_register_pool_option_checks_its_argument() -> None:
    """Only a PoolOption can be registered."""
    with pytest.raises(TypeError):
        register_pool_option("video-meta")  # type: ignore[arg-type]
