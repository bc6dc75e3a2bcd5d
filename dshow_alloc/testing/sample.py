"""`MediaSampleContract`: the behaviour every `IMediaSample2` promises, as a pytest suite.

Subclass it and define ``make_sample(size)``; every test then runs against your samples::

    class TestMySample(MediaSampleContract):
        def make_sample(self, size):
            return my_pool_of(size).GetBuffer()

        def reacquire(self, sample):  # optional: only for samples that live in a pool
            return my_pool_of(sample).GetBuffer()

The rules are the `IMediaSample`/`IMediaSample2` docstrings; the values are the ones native
Windows gives in Wine's conformance tests (``dlls/quartz/tests/memallocator.c``:
``test_sample_properties``, ``test_sample_time``, ``test_media_time``). Each test releases every
sample it takes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import attrs
import pytest

from dshow_alloc.hresult import (
    HRESULT,
    COMError,
    InvalidArgError,
    NoInterfaceError,
    PointerError,
    UnexpectedError,
    VfwBufferOverflowError,
    VfwMediaTimeNotSetError,
    VfwSampleTimeNotSetError,
)
from dshow_alloc.mediatype import (
    MEDIASUBTYPE_NV12,
    FORMAT_VideoInfo,
    MediaType,
    MEDIATYPE_Video,
    VideoInfoHeader,
)
from dshow_alloc.structs import (
    AM_SAMPLE_DATADISCONTINUITY,
    AM_SAMPLE_ENDOFSTREAM,
    AM_SAMPLE_PREROLL,
    AM_SAMPLE_SPLICEPOINT,
    AM_SAMPLE_STOPVALID,
    AM_SAMPLE_TIMEVALID,
    AM_SAMPLE_TYPECHANGED,
    AM_STREAM_CONTROL,
    AM_STREAM_MEDIA,
    SampleProperties,
)
from dshow_alloc.testing.checks import assert_query_interface, raises_hresult
from interfaces import IMediaSample, IMediaSample2, IMemAllocator, IUnknown

__all__ = ["MediaSampleContract"]


#: A media type for in-band type changes (NV12 640x480).
VIDEO_TYPE = MediaType(
    major_type=MEDIATYPE_Video,
    subtype=MEDIASUBTYPE_NV12,
    format_type=FORMAT_VideoInfo,
    format=VideoInfoHeader(width=640, height=480, bit_count=12, image_size=640 * 480 * 3 // 2),
    sample_size=640 * 480 * 3 // 2,
)

#: Wine's test_sample_properties allocator: one sample of 65536 bytes.
WINE_SIZE = 65536
#: The size most tests use.
SIZE = 256


class MediaSampleContract:
    """Tests every `IMediaSample2` implementation must pass.

    Define `make_sample`; define `reacquire` too when the samples live in a pool, so the
    tests of what a final ``Release`` resets can get the same sample back.
    """

    def make_sample(self, size: int) -> IMediaSample2:
        """A sample of ``size`` data bytes, with count 1, whose final Release sends it home."""
        raise NotImplementedError("subclasses of MediaSampleContract define make_sample")

    def reacquire(self, sample: IMediaSample2) -> IMediaSample2 | None:
        """After ``sample``'s final Release, hand the same sample object out again (count 1);
        None when the implementation has no pool (the tests that need it are skipped)."""
        return None

    # -- helpers ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def sample(self, size: int = SIZE) -> Iterator[Any]:
        """A fresh sample of ``size`` bytes; its one Release at the end must return 0."""
        sample = self.make_sample(size)
        try:
            yield sample
        except BaseException:
            release_all(sample)
            raise
        assert sample.Release() == 0, "the test left a reference on the sample"

    def again(self, sample: IMediaSample2) -> Any:
        """The same sample, reacquired after its final Release; skips without a pool."""
        again = self.reacquire(sample)
        if again is None:
            pytest.skip("the implementation has no pool to hand the same sample out again")
        assert again is sample, "reacquire must return the same sample object"
        return again

    # -- fresh state -----------------------------------------------------------------------

    def test_fresh_properties(self) -> None:
        """A fresh sample reports flags 0, actual == size, start 0, stream 0, no type."""
        with self.sample(WINE_SIZE) as sample:
            props = sample.GetProperties()
            assert props == SampleProperties(
                type_specific_flags=0,
                sample_flags=0,
                actual=WINE_SIZE,
                start=0,
                stop=0,
                stream_id=AM_STREAM_MEDIA,
                media_type=None,
                size=WINE_SIZE,
            )

    def test_fresh_state_through_getters(self) -> None:
        """A fresh sample has no time, no media time, no type and no flag set."""
        with self.sample() as sample:
            assert sample.GetSize() == SIZE
            assert sample.GetActualDataLength() == SIZE
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                sample.GetTime()
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                sample.GetMediaTime()
            assert sample.GetMediaType() is None
            assert sample.IsSyncPoint() is False
            assert sample.IsPreroll() is False
            assert sample.IsDiscontinuity() is False

    # -- data --------------------------------------------------------------------------------

    def test_get_pointer_is_size_writable_bytes(self) -> None:
        """GetPointer is a writable one-dimensional byte view of exactly GetSize() bytes."""
        with self.sample() as sample:
            view = sample.GetPointer()
            try:
                assert isinstance(view, memoryview)
                assert view.nbytes == len(view) == SIZE
                assert view.ndim == 1
                assert view.format == "B"
                assert view.readonly is False
            finally:
                view.release()

    def test_writes_through_get_pointer_are_visible_later(self) -> None:
        """Bytes written through one GetPointer view are read back through a new one."""
        pattern = bytes(i % 251 for i in range(SIZE))
        with self.sample() as sample:
            view = sample.GetPointer()
            view[:] = pattern
            view.release()
            again = sample.GetPointer()
            try:
                assert again.tobytes() == pattern
            finally:
                again.release()

    @pytest.mark.parametrize("length", [SIZE, 0, 1, SIZE - 1])
    def test_set_actual_data_length_in_range(self, length: int) -> None:
        """SetActualDataLength accepts 0..GetSize() and GetActualDataLength returns it."""
        with self.sample() as sample:
            sample.SetActualDataLength(length)
            assert sample.GetActualDataLength() == length

    @pytest.mark.parametrize("length", [SIZE + 1, -1, 2 * SIZE])
    def test_set_actual_data_length_overflow(self, length: int) -> None:
        """A length above GetSize() or below 0 is VFW_E_BUFFER_OVERFLOW and changes nothing."""
        with self.sample() as sample:
            sample.SetActualDataLength(7)
            with raises_hresult(VfwBufferOverflowError, HRESULT.VFW_E_BUFFER_OVERFLOW):
                sample.SetActualDataLength(length)
            assert sample.GetActualDataLength() == 7

    # -- sample time ---------------------------------------------------------------------

    def test_get_time_unset(self) -> None:
        """GetTime without a start time is VFW_E_SAMPLE_TIME_NOT_SET."""
        with (
            self.sample() as sample,
            raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET),
        ):
            sample.GetTime()

    def test_set_time_start_only(self) -> None:
        """SetTime(s) gives GetTime (s, None) and sets TIMEVALID alone (flags 0x10)."""
        with self.sample() as sample:
            sample.SetTime(0x123)
            assert sample.GetTime() == (0x123, None)
            props = sample.GetProperties()
            assert props.sample_flags == AM_SAMPLE_TIMEVALID == 0x10
            assert props.start == 0x123

    def test_set_time_start_and_stop(self) -> None:
        """SetTime(s, e) gives GetTime (s, e) and flags TIMEVALID | STOPVALID (0x110)."""
        with self.sample() as sample:
            sample.SetTime(0x123, 0x321)
            assert sample.GetTime() == (0x123, 0x321)
            props = sample.GetProperties()
            assert props.sample_flags == AM_SAMPLE_TIMEVALID | AM_SAMPLE_STOPVALID == 0x110
            assert (props.start, props.stop) == (0x123, 0x321)

    def test_set_time_start_only_clears_stop(self) -> None:
        """SetTime(s) after SetTime(s, e) drops the stop time (STOPVALID cleared)."""
        with self.sample() as sample:
            sample.SetTime(10, 20)
            sample.SetTime(30)
            assert sample.GetTime() == (30, None)
            assert sample.GetProperties().sample_flags == AM_SAMPLE_TIMEVALID

    def test_set_time_none_clears_both(self) -> None:
        """SetTime(None, e) clears start and stop: GetTime is unset again, flags 0."""
        with self.sample() as sample:
            sample.SetTime(0x123, 0x321)
            sample.SetTime(None, 0x321)
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                sample.GetTime()
            assert sample.GetProperties().sample_flags == 0

    def test_negative_times_are_kept(self) -> None:
        """REFERENCE_TIME is signed: negative start and stop round-trip exactly."""
        with self.sample() as sample:
            sample.SetTime(-20_000_000, -10_000_000)
            assert sample.GetTime() == (-20_000_000, -10_000_000)

    # -- media time ----------------------------------------------------------------------

    def test_get_media_time_unset(self) -> None:
        """GetMediaTime without a media time is VFW_E_MEDIA_TIME_NOT_SET."""
        with (
            self.sample() as sample,
            raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET),
        ):
            sample.GetMediaTime()

    def test_set_media_time(self) -> None:
        """SetMediaTime(s, e) gives GetMediaTime (s, e) and never shows in sample_flags."""
        with self.sample() as sample:
            sample.SetMediaTime(0x123, 0x321)
            assert sample.GetMediaTime() == (0x123, 0x321)
            assert sample.GetProperties().sample_flags == 0

    def test_set_media_time_start_without_stop(self) -> None:
        """SetMediaTime(s, None) is E_POINTER and changes nothing."""
        with self.sample() as sample:
            with raises_hresult(PointerError, HRESULT.E_POINTER):
                sample.SetMediaTime(0x123, None)
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                sample.GetMediaTime()
            sample.SetMediaTime(1, 2)
            with raises_hresult(PointerError, HRESULT.E_POINTER):
                sample.SetMediaTime(5, None)
            assert sample.GetMediaTime() == (1, 2)

    def test_set_media_time_none_clears(self) -> None:
        """SetMediaTime(None, x) clears the media time, whatever x is."""
        with self.sample() as sample:
            sample.SetMediaTime(0x123, 0x321)
            sample.SetMediaTime(None, 0x321)
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                sample.GetMediaTime()

    def test_media_time_does_not_set_sample_time(self) -> None:
        """Setting the media time leaves the sample time unset, and the reverse."""
        with self.sample() as sample:
            sample.SetMediaTime(1, 2)
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                sample.GetTime()
        with self.sample() as sample:
            sample.SetTime(1, 2)
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                sample.GetMediaTime()

    def test_media_time_survives_clearing_sample_time(self) -> None:
        """Clearing the sample time keeps the media time, and clearing the media time keeps
        the sample time."""
        with self.sample() as sample:
            sample.SetTime(10, 20)
            sample.SetMediaTime(3, 4)
            sample.SetTime(None)
            assert sample.GetMediaTime() == (3, 4)
            sample.SetTime(10, 20)
            sample.SetMediaTime(None, None)
            assert sample.GetTime() == (10, 20)
            assert sample.GetProperties().sample_flags == 0x110

    # -- flags ---------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("name", "bit"),
        [
            ("SyncPoint", AM_SAMPLE_SPLICEPOINT),
            ("Preroll", AM_SAMPLE_PREROLL),
            ("Discontinuity", AM_SAMPLE_DATADISCONTINUITY),
        ],
    )
    def test_boolean_flags_map_to_bits(self, name: str, bit: int) -> None:
        """Set<name>(True) sets exactly its AM_SAMPLE bit, Set<name>(False) clears it."""
        with self.sample() as sample:
            is_set: Callable[[], bool] = getattr(sample, f"Is{name}")
            setter: Callable[[bool], None] = getattr(sample, f"Set{name}")
            assert is_set() is False
            setter(True)
            assert is_set() is True
            assert sample.GetProperties().sample_flags == bit
            setter(False)
            assert is_set() is False
            assert sample.GetProperties().sample_flags == 0

    def test_boolean_flags_are_independent(self) -> None:
        """The three boolean flags combine bitwise: all three set gives flags 0x7."""
        with self.sample() as sample:
            sample.SetSyncPoint(True)
            sample.SetPreroll(True)
            sample.SetDiscontinuity(True)
            assert sample.GetProperties().sample_flags == 0x7
            sample.SetPreroll(False)
            assert sample.GetProperties().sample_flags == 0x5
            assert (sample.IsSyncPoint(), sample.IsPreroll(), sample.IsDiscontinuity()) == (
                True,
                False,
                True,
            )

    # -- media type ----------------------------------------------------------------------

    def test_get_media_type_unset(self) -> None:
        """GetMediaType is None when no type is attached (Windows' S_FALSE)."""
        with self.sample() as sample:
            assert sample.GetMediaType() is None
            assert sample.GetProperties().media_type is None

    def test_set_media_type(self) -> None:
        """SetMediaType sets TYPECHANGED (0x8) and both getters return an equal type."""
        with self.sample() as sample:
            sample.SetMediaType(VIDEO_TYPE)
            assert sample.GetMediaType() == VIDEO_TYPE
            props = sample.GetProperties()
            assert props.sample_flags == AM_SAMPLE_TYPECHANGED == 0x8
            assert props.media_type == VIDEO_TYPE

    def test_set_media_type_none_clears(self) -> None:
        """SetMediaType(None) removes the type and clears TYPECHANGED."""
        with self.sample() as sample:
            sample.SetMediaType(VIDEO_TYPE)
            sample.SetMediaType(None)
            assert sample.GetMediaType() is None
            props = sample.GetProperties()
            assert props.sample_flags == 0
            assert props.media_type is None

    # -- IMediaSample2.SetProperties -------------------------------------------------------

    def test_set_properties_flags_zero_unsets_time(self) -> None:
        """SetProperties with flags 0 replaces set flags: the time is unset afterwards."""
        with self.sample() as sample:
            sample.SetTime(1, 2)
            sample.SetSyncPoint(True)
            sample.SetProperties(attrs.evolve(sample.GetProperties(), sample_flags=0))
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                sample.GetTime()
            assert sample.IsSyncPoint() is False
            assert sample.GetProperties().sample_flags == 0

    def test_set_properties_time_valid_start(self) -> None:
        """SetProperties with TIMEVALID and a start gives GetTime (start, None)."""
        with self.sample() as sample:
            props = sample.GetProperties()
            sample.SetProperties(attrs.evolve(props, sample_flags=AM_SAMPLE_TIMEVALID, start=123))
            assert sample.GetTime() == (123, None)
            assert sample.GetProperties().sample_flags == AM_SAMPLE_TIMEVALID

    def test_set_properties_time_and_stop_valid(self) -> None:
        """SetProperties with TIMEVALID | STOPVALID gives GetTime (start, stop)."""
        with self.sample() as sample:
            sample.SetProperties(
                SampleProperties(
                    sample_flags=AM_SAMPLE_TIMEVALID | AM_SAMPLE_STOPVALID,
                    actual=SIZE,
                    start=100,
                    stop=200,
                )
            )
            assert sample.GetTime() == (100, 200)

    def test_set_properties_stop_valid_alone_is_no_time(self) -> None:
        """STOPVALID without TIMEVALID still means no sample time."""
        with self.sample() as sample:
            sample.SetProperties(
                SampleProperties(sample_flags=AM_SAMPLE_STOPVALID, actual=SIZE, start=1, stop=2)
            )
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                sample.GetTime()
            assert sample.GetProperties().sample_flags == AM_SAMPLE_STOPVALID

    def test_set_properties_boolean_flags(self) -> None:
        """PREROLL | DATADISCONTINUITY | SPLICEPOINT make all three Is* True, flags 0x7."""
        with self.sample() as sample:
            flags = AM_SAMPLE_PREROLL | AM_SAMPLE_DATADISCONTINUITY | AM_SAMPLE_SPLICEPOINT
            sample.SetProperties(attrs.evolve(sample.GetProperties(), sample_flags=flags))
            assert sample.IsPreroll() is True
            assert sample.IsDiscontinuity() is True
            assert sample.IsSyncPoint() is True
            assert sample.GetProperties().sample_flags == 0x7

    def test_set_properties_replaces_flags(self) -> None:
        """SetProperties replaces the flags verbatim instead of OR-ing them in."""
        with self.sample() as sample:
            sample.SetSyncPoint(True)
            sample.SetDiscontinuity(True)
            sample.SetProperties(
                attrs.evolve(sample.GetProperties(), sample_flags=AM_SAMPLE_PREROLL)
            )
            assert (sample.IsSyncPoint(), sample.IsPreroll(), sample.IsDiscontinuity()) == (
                False,
                True,
                False,
            )
            assert sample.GetProperties().sample_flags == AM_SAMPLE_PREROLL

    def test_set_properties_writes_actual(self) -> None:
        """SetProperties writes the actual data length (123 gives 123)."""
        with self.sample(WINE_SIZE) as sample:
            sample.SetProperties(attrs.evolve(sample.GetProperties(), actual=123))
            assert sample.GetActualDataLength() == 123
            assert sample.GetProperties().actual == 123

    def test_set_properties_writes_every_field(self) -> None:
        """SetProperties stores type-specific flags, flags, actual, times, stream id and type."""
        with self.sample() as sample:
            props = SampleProperties(
                type_specific_flags=0xABC,
                sample_flags=AM_SAMPLE_TIMEVALID
                | AM_SAMPLE_STOPVALID
                | AM_SAMPLE_TYPECHANGED
                | AM_SAMPLE_SPLICEPOINT,
                actual=17,
                start=1000,
                stop=2000,
                stream_id=AM_STREAM_CONTROL,
                media_type=VIDEO_TYPE,
                size=SIZE,
            )
            sample.SetProperties(props)
            assert sample.GetProperties() == props
            assert sample.GetTime() == (1000, 2000)
            assert sample.GetMediaType() == VIDEO_TYPE
            assert sample.IsSyncPoint() is True
            assert sample.GetActualDataLength() == 17

    def test_set_properties_without_typechanged_drops_type(self) -> None:
        """Without TYPECHANGED the sample has no media type afterwards, even if one is given."""
        with self.sample() as sample:
            sample.SetMediaType(VIDEO_TYPE)
            sample.SetProperties(
                SampleProperties(sample_flags=0, actual=SIZE, media_type=VIDEO_TYPE)
            )
            assert sample.GetMediaType() is None
            assert sample.GetProperties().media_type is None

    def test_set_properties_keeps_media_time(self) -> None:
        """SetProperties leaves the media time alone (its validity is not a public flag)."""
        with self.sample() as sample:
            sample.SetMediaTime(5, 6)
            sample.SetProperties(SampleProperties(sample_flags=0, actual=SIZE))
            assert sample.GetMediaTime() == (5, 6)

    @pytest.mark.parametrize("size", [0, SIZE])
    def test_set_properties_size_zero_or_real(self, size: int) -> None:
        """A size of 0 (not given) or the sample's real size is accepted."""
        with self.sample() as sample:
            sample.SetProperties(SampleProperties(sample_flags=0, actual=5, size=size))
            assert sample.GetActualDataLength() == 5
            assert sample.GetSize() == SIZE

    def _assert_refused(
        self, error: type[COMError], code: HRESULT, change: Callable[[SampleProperties], Any]
    ) -> None:
        """SetProperties(change(current)) raises ``error``/``code`` and changes nothing."""
        with self.sample() as sample:
            sample.SetTime(10, 20)
            sample.SetMediaTime(1, 2)
            sample.SetSyncPoint(True)
            sample.SetActualDataLength(50)
            before = sample.GetProperties()
            with raises_hresult(error, code):
                sample.SetProperties(change(before))
            assert sample.GetProperties() == before
            assert sample.GetTime() == (10, 20)
            assert sample.GetMediaTime() == (1, 2)
            assert sample.GetMediaType() is None

    @pytest.mark.parametrize("size", [1, SIZE - 1, SIZE + 1])
    def test_set_properties_wrong_size(self, size: int) -> None:
        """A size other than 0 or the real size is E_INVALIDARG and changes nothing."""
        self._assert_refused(
            InvalidArgError,
            HRESULT.E_INVALIDARG,
            lambda p: attrs.evolve(p, size=size, sample_flags=0, actual=1),
        )

    @pytest.mark.parametrize(
        "flags",
        [0x20, 0x20 | AM_SAMPLE_TIMEVALID, AM_SAMPLE_ENDOFSTREAM, 0x400, 0x1FF, 0xFFFFFFFF],
    )
    def test_set_properties_invalid_flags(self, flags: int) -> None:
        """Flags outside 0x1FF or containing 0x20 are E_INVALIDARG and change nothing."""
        self._assert_refused(
            InvalidArgError,
            HRESULT.E_INVALIDARG,
            lambda p: attrs.evolve(p, sample_flags=flags, media_type=VIDEO_TYPE, actual=1),
        )

    @pytest.mark.parametrize("actual", [-1, SIZE + 1])
    def test_set_properties_actual_out_of_range(self, actual: int) -> None:
        """An actual below 0 or above GetSize() is E_INVALIDARG and changes nothing."""
        self._assert_refused(
            InvalidArgError,
            HRESULT.E_INVALIDARG,
            lambda p: attrs.evolve(p, actual=actual, sample_flags=0),
        )

    def test_set_properties_typechanged_without_type(self) -> None:
        """TYPECHANGED without a media_type is E_POINTER and changes nothing."""
        self._assert_refused(
            PointerError,
            HRESULT.E_POINTER,
            lambda p: attrs.evolve(p, sample_flags=AM_SAMPLE_TYPECHANGED, actual=1),
        )

    def test_invalid_arg_is_a_value_error(self) -> None:
        """The E_INVALIDARG of SetProperties is also a ValueError."""
        with self.sample() as sample, pytest.raises(ValueError):
            sample.SetProperties(SampleProperties(sample_flags=0x20))

    # -- reference counting ----------------------------------------------------------------

    def test_add_ref_release_counts(self) -> None:
        """A new sample has count 1; AddRef/Release return 2, 3, then 2, 1, 0."""
        sample = self.make_sample(SIZE)
        assert sample.AddRef() == 2
        assert sample.AddRef() == 3
        assert sample.Release() == 2
        assert sample.Release() == 1
        assert sample.Release() == 0

    def test_non_final_release_keeps_sample_alive(self) -> None:
        """After a Release that leaves the count above 0 the sample works as before."""
        with self.sample() as sample:
            sample.SetTime(1, 2)
            assert sample.AddRef() == 2
            assert sample.Release() == 1
            assert sample.GetTime() == (1, 2)
            assert sample.GetSize() == SIZE

    def test_release_below_zero(self) -> None:
        """A Release below 0 is E_UNEXPECTED."""
        sample = self.make_sample(SIZE)
        assert sample.Release() == 0
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            sample.Release()

    def test_release_below_zero_changes_nothing(self) -> None:
        """A refused Release leaves the sample home: the pool hands it out with count 1."""
        sample = self.make_sample(SIZE)
        assert sample.Release() == 0
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            sample.Release()
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            sample.AddRef()
        again = self.again(sample)
        assert again.AddRef() == 2
        assert again.Release() == 1
        assert again.Release() == 0

    @pytest.mark.parametrize(
        ("method", "args"),
        [
            ("AddRef", ()),
            ("Release", ()),
            ("GetPointer", ()),
            ("GetSize", ()),
            ("GetTime", ()),
            ("SetTime", (1, 2)),
            ("SetTime", (None,)),
            ("IsSyncPoint", ()),
            ("SetSyncPoint", (True,)),
            ("IsPreroll", ()),
            ("SetPreroll", (True,)),
            ("GetActualDataLength", ()),
            ("SetActualDataLength", (1,)),
            ("GetMediaType", ()),
            ("SetMediaType", (VIDEO_TYPE,)),
            ("SetMediaType", (None,)),
            ("IsDiscontinuity", ()),
            ("SetDiscontinuity", (True,)),
            ("GetMediaTime", ()),
            ("SetMediaTime", (1, 2)),
            ("SetMediaTime", (None, None)),
            ("GetProperties", ()),
            ("SetProperties", (SampleProperties(),)),
        ],
    )
    def test_call_after_final_release(self, method: str, args: tuple[Any, ...]) -> None:
        """Every method of a sample that went home raises E_UNEXPECTED."""
        sample = self.make_sample(SIZE)
        assert sample.Release() == 0
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            getattr(sample, method)(*args)

    def test_query_interface_after_final_release(self) -> None:
        """QueryInterface on a sample that went home raises E_UNEXPECTED too."""
        sample = self.make_sample(SIZE)
        assert sample.Release() == 0
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            sample.QueryInterface(IMediaSample)

    def test_call_after_final_release_changes_nothing(self) -> None:
        """Refused setters on a sample that went home leave nothing behind for its next
        holder."""
        sample = self.make_sample(SIZE)
        sample.SetActualDataLength(9)
        assert sample.Release() == 0
        calls: list[Callable[[], object]] = [
            lambda: sample.SetTime(1, 2),
            lambda: sample.SetMediaTime(1, 2),
            lambda: sample.SetSyncPoint(True),
            lambda: sample.SetMediaType(VIDEO_TYPE),
            lambda: sample.SetActualDataLength(3),
        ]
        for call in calls:
            with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
                call()
        again = self.again(sample)
        try:
            assert again.GetProperties().sample_flags == 0
            assert again.GetActualDataLength() == 9
            assert again.GetMediaType() is None
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                again.GetMediaTime()
        finally:
            again.Release()

    def test_with_statement_releases_once(self) -> None:
        """``with sample as s`` gives the sample itself without AddRef and releases it at the
        end."""
        sample: Any = self.make_sample(SIZE)  # the with protocol is not part of IMediaSample2
        with sample as entered:
            assert entered is sample
            assert sample.AddRef() == 2
            assert sample.Release() == 1
        with raises_hresult(UnexpectedError, HRESULT.E_UNEXPECTED):
            sample.GetSize()

    # -- what the final Release resets -----------------------------------------------------

    def test_final_release_resets_state_but_not_actual(self) -> None:
        """The final Release clears flags, times, media time, type, type-specific flags and
        stream id, and keeps the actual data length (123 survives)."""
        sample = self.make_sample(WINE_SIZE)
        sample.SetProperties(
            SampleProperties(
                type_specific_flags=0x55,
                sample_flags=AM_SAMPLE_TIMEVALID
                | AM_SAMPLE_STOPVALID
                | AM_SAMPLE_TYPECHANGED
                | AM_SAMPLE_SPLICEPOINT
                | AM_SAMPLE_PREROLL
                | AM_SAMPLE_DATADISCONTINUITY,
                actual=123,
                start=10,
                stop=20,
                stream_id=AM_STREAM_CONTROL,
                media_type=VIDEO_TYPE,
            )
        )
        sample.SetMediaTime(1, 2)
        assert sample.Release() == 0
        again = self.again(sample)
        try:
            props = again.GetProperties()
            assert props.type_specific_flags == 0
            assert props.sample_flags == 0
            assert props.stream_id == AM_STREAM_MEDIA
            assert props.media_type is None
            assert props.actual == 123
            assert props.size == WINE_SIZE
            assert again.GetActualDataLength() == 123
            assert again.GetMediaType() is None
            assert (again.IsSyncPoint(), again.IsPreroll(), again.IsDiscontinuity()) == (
                False,
                False,
                False,
            )
            with raises_hresult(VfwSampleTimeNotSetError, HRESULT.VFW_E_SAMPLE_TIME_NOT_SET):
                again.GetTime()
            with raises_hresult(VfwMediaTimeNotSetError, HRESULT.VFW_E_MEDIA_TIME_NOT_SET):
                again.GetMediaTime()
        finally:
            assert again.Release() == 0

    def test_reacquired_sample_has_count_one(self) -> None:
        """A sample handed out again after its final Release starts over at count 1."""
        sample = self.make_sample(SIZE)
        assert sample.AddRef() == 2
        assert sample.Release() == 1
        assert sample.Release() == 0
        again = self.again(sample)
        assert again.AddRef() == 2
        assert again.Release() == 1
        assert again.Release() == 0

    # -- QueryInterface --------------------------------------------------------------------

    @pytest.mark.parametrize("iface", [IUnknown, IMediaSample, IMediaSample2])
    def test_query_interface(self, iface: Any) -> None:
        """QueryInterface for IUnknown/IMediaSample/IMediaSample2 (or its IID) returns the
        same object and leaves the count alone."""
        with self.sample() as sample:
            assert_query_interface(sample, iface)

    @pytest.mark.parametrize(
        "iface",
        [IMemAllocator, UUID("56a8689c-0ad4-11ce-b03a-0020af0ba770"), UUID(int=12345)],
    )
    def test_query_interface_unrelated(self, iface: Any) -> None:
        """QueryInterface for an interface the sample lacks is E_NOINTERFACE, a TypeError,
        and leaves the count alone."""
        with self.sample() as sample:
            with raises_hresult(NoInterfaceError, HRESULT.E_NOINTERFACE):
                sample.QueryInterface(iface)
            with pytest.raises(TypeError):
                sample.QueryInterface(iface)
            assert sample.AddRef() == 2
            assert sample.Release() == 1


def release_all(sample: Any) -> None:
    """Release ``sample`` down to 0 (nothing when it is home already)."""
    while True:
        try:
            if sample.Release() == 0:
                return
        except UnexpectedError:
            return
