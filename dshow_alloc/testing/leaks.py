"""Leak checks: samples still away from their pools when a test ends."""

from __future__ import annotations

from dshow_alloc.allocator import OutstandingSample, live_allocators

__all__ = ["OutstandingSamplesError", "check_no_outstanding_samples", "outstanding_samples"]


class OutstandingSamplesError(AssertionError):
    """Samples were left outstanding: a missing ``Release`` somewhere."""


def outstanding_samples() -> list[tuple[str, OutstandingSample]]:
    """Every sample away from home in every live allocator, with its allocator's name."""
    return [
        (allocator.name, held)
        for allocator in live_allocators()
        for held in allocator.outstanding()
    ]


def check_no_outstanding_samples(*, reclaim: bool = True) -> None:
    """Raise `OutstandingSamplesError` naming each sample still held by someone.

    With ``reclaim`` the leaked samples are released (so one leaking test does not starve
    the next) after the report is built.
    """
    leaked = outstanding_samples()
    if not leaked:
        return
    report = "\n".join(f"  {name}: {held.describe()}" for name, held in leaked)
    if reclaim:
        for _name, held in leaked:
            while held.sample.ref_count > 0:
                held.sample.Release()
    raise OutstandingSamplesError(f"{len(leaked)} samples left outstanding:\n{report}")
