"""The filters package by family, the pin-filter protocol and the samples' property carry."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import dshow_alloc.filters as filters
from dshow_alloc import MediaSample, find_allocator
from dshow_alloc.filters import (
    BaseFilter,
    base,
    copy_sample_properties,
    copying,
    renderer,
    source,
    transform,
)
from dshow_alloc.hresult import VfwMediaTimeNotSetError, VfwSampleTimeNotSetError
from dshow_alloc.pins import BaseInputPin, PinOwner
from dshow_alloc.structs import FilterState

FAMILIES = (base, copying, renderer, source, transform)


def test_every_family_name_is_reexported() -> None:
    """Each family module's public names are the very objects ``dshow_alloc.filters`` gives."""
    names = sorted(name for module in FAMILIES for name in module.__all__)
    assert names == sorted(filters.__all__)
    for module in FAMILIES:
        for name in module.__all__:
            assert getattr(filters, name) is getattr(module, name)
    assert filters._PassThroughFilter is transform._PassThroughFilter
    assert filters._PassThroughOutputPin is transform._PassThroughOutputPin


class _Locked(BaseFilter):
    """Records, from another thread, whether the filter lock is free during state_changed."""

    def __init__(self) -> None:
        super().__init__(name="locked")
        self.pin = self.add_pin(BaseInputPin(self))
        self.free_elsewhere: list[bool] = []

    def state_changed(self, old: FilterState, new: FilterState) -> None:
        result: list[bool] = []

        def probe() -> None:
            took = self.lock.acquire(blocking=False)
            if took:
                self.lock.release()
            result.append(took)

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join(5)
        self.free_elsewhere.extend(result)


@pytest.mark.timeout(20)
def test_lock_is_the_lock_state_changes_hold() -> None:
    """``BaseFilter.lock`` is held by Pause and Stop, and is what the filter's pins see."""
    owner: PinOwner = _Locked()
    assert isinstance(owner, _Locked)
    assert owner.pin.filter is owner
    assert owner.pin.filter.lock is owner.lock
    owner.Pause()
    owner.Stop()
    assert owner.free_elsewhere == [False, False]
    assert owner.state is FilterState.State_Stopped
    assert owner._state is owner.state


class _Plain(MediaSample):
    """A MediaSample subclass: copy_sample_properties takes its generic path for it."""


def _sample(cls: type[MediaSample]) -> MediaSample:
    return cls(None, find_allocator(None).Alloc(16))


def _properties(sample: Any) -> tuple[object, ...]:
    try:
        times: object = sample.GetTime()
    except VfwSampleTimeNotSetError:
        times = None
    try:
        media: object = sample.GetMediaTime()
    except VfwMediaTimeNotSetError:
        media = None
    return times, media, sample.IsSyncPoint(), sample.IsPreroll(), sample.IsDiscontinuity()


@pytest.mark.parametrize(
    ("times", "media", "flags"),
    [
        ((10, 20), (3, 4), (True, True, True)),
        ((10, None), None, (False, True, False)),
        (None, (5, 6), (True, False, True)),
        (None, None, (False, False, False)),
    ],
)
def test_carry_matches_the_generic_path(
    times: tuple[int, int | None] | None,
    media: tuple[int, int] | None,
    flags: tuple[bool, bool, bool],
) -> None:
    """``_carry_to`` (two plain samples) leaves the target as the per-property calls do."""
    results = []
    for cls in (MediaSample, _Plain):
        src, target = _sample(cls), _sample(cls)
        try:
            target.SetTime(1, 2)
            target.SetMediaTime(7, 8)
            target.SetSyncPoint(not flags[0])
            target.SetPreroll(not flags[1])
            target.SetDiscontinuity(not flags[2])
            if times is None:
                src.SetTime(None)
            else:
                src.SetTime(*times)
            src.SetMediaTime(*(media if media is not None else (None, None)))
            src.SetSyncPoint(flags[0])
            src.SetPreroll(flags[1])
            src.SetDiscontinuity(flags[2])
            copy_sample_properties(src, target)
            results.append(_properties(target))
        finally:
            src.Release()
            target.Release()
    expected = (times, media, *flags)
    assert results == [expected, expected]
