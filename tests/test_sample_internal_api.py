"""MediaSample's internal API: the pool and the receivers change a sample only through it,
and a receiver's ``_set_carried`` checks exactly what ``SetProperties`` checks."""

from __future__ import annotations

import struct

import pytest

from dshow_alloc import (
    AM_SAMPLE_SPLICEPOINT,
    AM_SAMPLE_STOPVALID,
    AM_SAMPLE_TIMEVALID,
    AM_SAMPLE_TYPECHANGED,
    AllocatorProperties,
    COMError,
    FailError,
    FORMAT_None,
    MediaSample,
    MEDIASUBTYPE_None,
    MediaType,
    MEDIATYPE_Stream,
    MemAllocator,
    SampleProperties,
    UnexpectedError,
)
from dshow_alloc.ipc import PROTOCOL_VERSION, SampleReceiver, socket_pair
from dshow_alloc.meta import MetaFlags, register_meta
from dshow_alloc.structs import SAMPLE_MEDIA_TIME_VALID

WAIT = 10.0
POOL_META = register_meta("test-sample-internal-pool")

BAD_PROPERTIES = [
    pytest.param(dict(sample_flags=0x200), id="flag-outside-0x1FF"),
    pytest.param(dict(sample_flags=0x20), id="media-time-bit"),
    pytest.param(dict(actual=17), id="actual-beyond-size"),
    pytest.param(dict(size=15), id="wrong-size"),
    pytest.param(dict(sample_flags=AM_SAMPLE_TYPECHANGED), id="type-changed-without-type"),
]


def _refusal(call: object) -> tuple[type, int, str]:
    with pytest.raises(COMError) as caught:
        call()  # type: ignore[operator]
    return type(caught.value), caught.value.hresult, str(caught.value)


@pytest.mark.parametrize("bad", BAD_PROPERTIES)
def test_set_carried_refuses_as_set_properties_does(bad: dict[str, int]) -> None:
    """Each bad property raises the same error class, HRESULT and message through
    ``_set_carried`` as through ``SetProperties``, and neither changes the sample."""
    props = SampleProperties(**bad)
    with MediaSample.allocate(16) as first, MediaSample.allocate(16) as second:
        first.SetTime(5, 9)
        second.SetTime(5, 9)
        before = first.GetProperties()
        by_set_properties = _refusal(lambda: first.SetProperties(props))
        by_set_carried = _refusal(
            lambda: second._set_carried(
                props.sample_flags,
                props.type_specific_flags,
                props.stream_id,
                props.actual,
                props.start,
                props.stop,
                props.media_type,
                size=props.size,
            )
        )
        assert by_set_carried == by_set_properties
        assert first.GetProperties() == before
        assert second.GetProperties() == before


def test_set_carried_sets_media_time_and_read_only() -> None:
    """``media_time`` sets the media time (and its bit), ``read_only=True`` makes the sample
    read-only, and the other properties read back as given."""
    media_type = MediaType(MEDIATYPE_Stream, MEDIASUBTYPE_None, FORMAT_None)
    with MediaSample.allocate(16) as sample:
        sample._set_carried(
            AM_SAMPLE_TIMEVALID | AM_SAMPLE_SPLICEPOINT | AM_SAMPLE_TYPECHANGED,
            7,
            1,
            12,
            100,
            200,
            media_type,
            media_time=(3, 4),
            read_only=True,
        )
        assert sample.GetMediaTime() == (3, 4)
        assert sample.IsReadOnly() is True
        assert sample.GetProperties() == SampleProperties(
            type_specific_flags=7,
            sample_flags=AM_SAMPLE_TIMEVALID | AM_SAMPLE_SPLICEPOINT | AM_SAMPLE_TYPECHANGED,
            actual=12,
            start=100,
            stop=200,
            stream_id=1,
            media_type=media_type,
            size=16,
        )


def test_carried_feeds_set_carried() -> None:
    """What ``_carried`` reads (media-time bit included) rebuilds the same properties on
    another sample through ``_set_carried``."""
    with MediaSample.allocate(8) as source, MediaSample.allocate(8) as target:
        source.SetTime(10, 20)
        source.SetMediaTime(1, 2)
        source.SetSyncPoint(True)
        source.SetActualDataLength(5)
        blocks, media_type, metas, carried = source._carried()
        assert (len(blocks), media_type, metas) == (1, None, [])
        flags, type_flags, stream_id, actual, start, stop, media_start, media_stop = carried
        assert flags == (
            AM_SAMPLE_TIMEVALID
            | AM_SAMPLE_STOPVALID
            | AM_SAMPLE_SPLICEPOINT
            | SAMPLE_MEDIA_TIME_VALID
        )
        target._set_carried(
            flags & ~SAMPLE_MEDIA_TIME_VALID,
            type_flags,
            stream_id,
            actual,
            start,
            stop,
            media_type,
            media_time=(media_start, media_stop),
        )
        assert target.GetProperties() == source.GetProperties()
        assert target.GetMediaTime() == (1, 2)


def test_carried_refuses_a_sample_at_home() -> None:
    """``_carried`` and ``_set_carried`` of a sample that went home raise E_UNEXPECTED."""
    pool = MemAllocator()
    pool.SetProperties(AllocatorProperties(1, 8, 1, 0))
    pool.Commit()
    sample = pool.GetBuffer()
    sample.Release()
    with pytest.raises(UnexpectedError):
        sample._carried()
    with pytest.raises(UnexpectedError):
        sample._set_carried(0, 0, 0, 0, 0, 0, None)
    pool.Decommit()


def test_pool_uses_the_home_api() -> None:
    """A pool sample is home (``_away`` None) until GetBuffer, counted 1 while out, its
    prepare_sample meta pooled and locked, and ``_come_home`` refuses a second homecoming."""

    class Pool(MemAllocator):
        def prepare_sample(self, sample: MediaSample) -> None:
            sample.AddMeta(POOL_META)

    pool = Pool()
    pool.SetProperties(AllocatorProperties(1, 8, 1, 0))
    pool.Commit()
    sample = pool.GetBuffer()
    assert sample._away() == 1
    (meta,) = sample.IterMeta()
    assert meta.flags & (MetaFlags.POOLED | MetaFlags.LOCKED) == (
        MetaFlags.POOLED | MetaFlags.LOCKED
    )
    sample.Release()
    assert sample._away() is None
    with pytest.raises(UnexpectedError, match="not due home"):
        sample._come_home(pool)
    pool.Decommit()
    assert pool.allocated == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("flags", "actual", "refusal"),
    [
        (0x200, 0, SampleProperties(sample_flags=0x200)),
        (0, 3, SampleProperties(actual=3)),
    ],
    ids=["flag-outside-0x1FF", "actual-beyond-size"],
)
def test_receiver_refuses_a_bad_property_as_set_properties_does(
    flags: int, actual: int, refusal: SampleProperties
) -> None:
    """A SAMPLE message with a property SetProperties refuses ends the stream with E_FAIL
    whose message carries SetProperties' own refusal."""
    with MediaSample() as empty:
        _kind, _hresult, expected = _refusal(lambda: empty.SetProperties(refusal))
    hello = struct.pack("<B4sHB", 1, b"DSAI", PROTOCOL_VERSION, 1)
    message = struct.pack("<BQIIIqqqqqIIB", 2, 0, flags, 0, 0, actual, 0, 0, 0, 0, 0, 0, 0)
    first, second = socket_pair()
    with first, SampleReceiver(second) as receiver:
        first.send(hello)
        first.send(message)
        with pytest.raises(FailError) as caught:
            receiver.receive(timeout=WAIT)
        assert caught.value.hresult == 0x80004005
        assert f"malformed SAMPLE message ({expected})" in str(caught.value)
        assert receiver.receive(timeout=WAIT) is None
