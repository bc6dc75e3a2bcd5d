"""Conformance: every class provides every interface it claims, and every interface its IID.

`verifyClass`/`verifyObject` only check names and arities; the behaviour lives in the
per-interface contract suites. This module also pins the interface identities (API.md §2,
reference/directshow.md §1.1) and ``QueryInterface`` (API.md §1).
"""

from __future__ import annotations

import contextlib
import tempfile
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from zope.interface.interface import InterfaceClass
from zope.interface.verify import verifyClass, verifyObject

import dshow_alloc
import interfaces
from dshow_alloc import (
    HRESULT,
    AllocatorProperties,
    BaseFilter,
    BaseInputPin,
    BaseOutputPin,
    CollectingRenderer,
    ComObject,
    FilterGraph,
    ManualClock,
    MediaSample,
    MemAllocator,
    Memory,
    NoInterfaceError,
    NullRenderer,
    QueueFilter,
    RendererFilter,
    SharedMemoryAllocator,
    SharedMemoryBlock,
    SourceFilter,
    SourceStream,
    SystemClock,
    SystemMemoryAllocator,
    Tee,
    TransformFilter,
    TransInPlaceFilter,
)
from dshow_alloc.registry import (
    FilterUnavailableError,
    PinTemplate,
    filter_class,
    filter_names,
    make_filter,
)
from dshow_alloc.structs import PinDirection
from interfaces import (
    IAllocationProposal,
    IBaseFilter,
    IBufferPool,
    IBufferSample,
    IFilterGraph,
    IGraphBuilder,
    IMediaControl,
    IMediaEvent,
    IMediaEventSink,
    IMediaFilter,
    IMediaSample,
    IMediaSample2,
    IMemAllocator,
    IMemAllocatorCallbackTemp,
    IMemAllocatorNotifyCallbackTemp,
    IMemInputPin,
    IMemory,
    IMemoryAllocator,
    IPin,
    IQualityControl,
    IReferenceClock,
    IUnknown,
)

# -- factories: each yields a real instance and gives back whatever it took --------------------


@contextlib.contextmanager
def _mem_allocator() -> Iterator[MemAllocator]:
    yield MemAllocator()


@contextlib.contextmanager
def _media_sample() -> Iterator[MediaSample]:
    allocator = MemAllocator()
    allocator.SetProperties(AllocatorProperties(buffers=1, buffer_size=64, align=1))
    allocator.Commit()
    sample = allocator.GetBuffer()
    try:
        yield sample
    finally:
        sample.Release()
        allocator.Decommit()


@contextlib.contextmanager
def _system_memory() -> Iterator[Memory]:
    memory = SystemMemoryAllocator().Alloc(64)
    try:
        yield memory
    finally:
        memory.Release()


@contextlib.contextmanager
def _shared_memory() -> Iterator[SharedMemoryBlock]:
    memory = SharedMemoryAllocator().Alloc(64)
    try:
        yield memory
    finally:
        memory.Release()


@contextlib.contextmanager
def _system_allocator() -> Iterator[SystemMemoryAllocator]:
    yield SystemMemoryAllocator()


@contextlib.contextmanager
def _shared_allocator() -> Iterator[SharedMemoryAllocator]:
    yield SharedMemoryAllocator()


@contextlib.contextmanager
def _com_object() -> Iterator[ComObject]:
    yield ComObject()


@contextlib.contextmanager
def _made(cls: type) -> Iterator[Any]:
    yield cls()


def _factory(cls: type) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    return lambda: _made(cls)


@contextlib.contextmanager
def _input_pin() -> Iterator[BaseInputPin]:
    yield BaseInputPin(BaseFilter())


@contextlib.contextmanager
def _output_pin() -> Iterator[BaseOutputPin]:
    yield BaseOutputPin(BaseFilter())


@contextlib.contextmanager
def _source_stream() -> Iterator[SourceStream]:
    yield SourceFilter(buffer_size=8).output


@contextlib.contextmanager
def _queue_output_pin() -> Iterator[Any]:
    yield QueueFilter().output


@contextlib.contextmanager
def _graph() -> Iterator[FilterGraph]:
    with FilterGraph() as graph:
        yield graph


Factory = Callable[[], contextlib.AbstractContextManager[Any]]
FILTER = [IUnknown, IMediaFilter, IBaseFilter]
#: A renderer is also where quality messages start.
RENDERER = [*FILTER, IQualityControl]


def _write_inputs(folder: Path) -> dict[str, Path]:
    """A one-frame Y4M file and a short WAV file, for the file sources."""
    y4m = folder / "in.y4m"
    y4m.write_bytes(b"YUV4MPEG2 W16 H8 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(16 * 8 * 3 // 2))
    wav = folder / "in.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(200))
    return {"y4m": y4m, "wav": wav}


#: Properties each registered filter needs to be made (files it reads, paths it writes).
_NEEDS: dict[str, Callable[[dict[str, Path], Path], dict[str, Any]]] = {
    "y4msrc": lambda inputs, _tmp: {"location": inputs["y4m"]},
    "wavsrc": lambda inputs, _tmp: {"location": inputs["wav"]},
    "avsrc": lambda inputs, _tmp: {"location": inputs["y4m"]},
    "y4msink": lambda _inputs, tmp: {"location": tmp / "out.y4m"},
    "wavsink": lambda _inputs, tmp: {"location": tmp / "out.wav"},
    "avsink": lambda _inputs, tmp: {"location": tmp / "out.mkv"},
}


def _registered(name: str) -> Factory:
    @contextlib.contextmanager
    def make() -> Iterator[Any]:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            props = _NEEDS.get(name, lambda _i, _t: {})(_write_inputs(tmp), tmp)
            yield make_filter(name, **props)

    return make


def _registered_rows() -> list[tuple[type, Factory, list[InterfaceClass]]]:
    rows = []
    for name in filter_names():
        try:
            cls = filter_class(name)
        except FilterUnavailableError:  # an extra not installed: nothing to check
            continue
        rows.append((cls, _registered(name), FILTER))
    return rows


#: (class, a factory of real instances, every interface the class claims).
CLASSES: list[tuple[type, Factory, list[InterfaceClass]]] = [
    (
        MemAllocator,
        _mem_allocator,
        [IUnknown, IMemAllocator, IMemAllocatorCallbackTemp, IBufferPool],
    ),
    (MediaSample, _media_sample, [IUnknown, IMediaSample, IMediaSample2, IBufferSample]),
    (Memory, _system_memory, [IUnknown, IMemory]),
    (SharedMemoryBlock, _shared_memory, [IUnknown, IMemory]),
    (SystemMemoryAllocator, _system_allocator, [IUnknown, IMemoryAllocator]),
    (SharedMemoryAllocator, _shared_allocator, [IUnknown, IMemoryAllocator]),
    (ComObject, _com_object, [IUnknown]),
    (BaseInputPin, _input_pin, [IUnknown, IPin, IMemInputPin, IAllocationProposal]),
    (BaseOutputPin, _output_pin, [IUnknown, IPin, IQualityControl]),
    (SourceStream, _source_stream, [IUnknown, IPin]),
    (type(QueueFilter().output), _queue_output_pin, [IUnknown, IPin, IQualityControl]),
    (BaseFilter, _factory(BaseFilter), FILTER),
    (SourceFilter, _factory(SourceFilter), FILTER),
    (TransformFilter, _factory(TransformFilter), FILTER),
    (TransInPlaceFilter, _factory(TransInPlaceFilter), FILTER),
    (RendererFilter, _factory(RendererFilter), RENDERER),
    (NullRenderer, _factory(NullRenderer), RENDERER),
    (CollectingRenderer, _factory(CollectingRenderer), RENDERER),
    (Tee, _factory(Tee), FILTER),
    (QueueFilter, _factory(QueueFilter), FILTER),
    (
        FilterGraph,
        _graph,
        [IUnknown, IFilterGraph, IGraphBuilder, IMediaControl, IMediaEvent, IMediaEventSink],
    ),
    (SystemClock, _factory(SystemClock), [IUnknown, IReferenceClock]),
    (ManualClock, _factory(ManualClock), [IUnknown, IReferenceClock]),
    *_registered_rows(),
]

TABLE = [
    pytest.param(cls, factory, iface, id=f"{cls.__name__}-{iface.__name__}")
    for cls, factory, ifaces in CLASSES
    for iface in ifaces
]


@pytest.mark.parametrize(("cls", "factory", "iface"), TABLE)
def test_verify_class(cls: type, factory: Factory, iface: InterfaceClass) -> None:
    """The class declares the interface and has every method with a compatible signature."""
    assert iface.implementedBy(cls)
    assert verifyClass(iface, cls)


@pytest.mark.parametrize(("cls", "factory", "iface"), TABLE)
def test_verify_object(cls: type, factory: Factory, iface: InterfaceClass) -> None:
    """A real instance provides the interface, its methods and its attributes."""
    with factory() as obj:
        assert type(obj) is cls
        assert verifyObject(iface, obj)


@pytest.mark.parametrize(("cls", "factory", "iface"), TABLE)
def test_query_interface_returns_same_object(
    cls: type, factory: Factory, iface: InterfaceClass
) -> None:
    """QueryInterface by interface and by IID returns the object itself, count unchanged."""
    with factory() as obj:
        before = obj.ref_count
        assert obj.QueryInterface(iface) is obj
        assert obj.ref_count == before
        iid = iface.getDirectTaggedValue("iid")
        assert obj.QueryInterface(iid) is obj
        assert obj.ref_count == before


#: For each class, interfaces it must not answer for.
MISSES: list[tuple[type, Factory, InterfaceClass]] = [
    (MemAllocator, _mem_allocator, IMediaSample),
    (MemAllocator, _mem_allocator, IMemAllocatorNotifyCallbackTemp),
    (MediaSample, _media_sample, IMemAllocator),
    (MediaSample, _media_sample, IMemory),
    (Memory, _system_memory, IMediaSample),
    (SharedMemoryBlock, _shared_memory, IMemoryAllocator),
    (SystemMemoryAllocator, _system_allocator, IMemAllocator),
    (SharedMemoryAllocator, _shared_allocator, IMemory),
    (ComObject, _com_object, IPin),
    (BaseOutputPin, _output_pin, IMemInputPin),
    (Tee, _factory(Tee), IPin),
    (FilterGraph, _graph, IBaseFilter),
    (SystemClock, _factory(SystemClock), IMemAllocator),
    (ManualClock, _factory(ManualClock), IMediaSample),
]


@pytest.mark.parametrize(
    ("cls", "factory", "iface"),
    [pytest.param(*row, id=f"{row[0].__name__}-{row[2].__name__}") for row in MISSES],
)
def test_query_interface_miss(cls: type, factory: Factory, iface: InterfaceClass) -> None:
    """Asking for an interface the object lacks, by interface or IID, raises E_NOINTERFACE."""
    with factory() as obj:
        before = obj.ref_count
        for key in (iface, iface.getDirectTaggedValue("iid")):
            with pytest.raises(NoInterfaceError) as info:
                obj.QueryInterface(key)
            assert info.value.hresult == HRESULT.E_NOINTERFACE == 0x80004002
            assert isinstance(info.value, TypeError)
            assert obj.ref_count == before


@pytest.mark.parametrize(
    ("cls", "factory", "ifaces"), [pytest.param(*row, id=row[0].__name__) for row in CLASSES]
)
def test_query_interface_unknown_iid(cls: type, factory: Factory, ifaces: list[Any]) -> None:
    """An IID that no interface carries raises E_NOINTERFACE."""
    with factory() as obj:
        with pytest.raises(NoInterfaceError) as info:
            obj.QueryInterface(UUID("12345678-1234-5678-1234-567812345678"))
        assert info.value.hresult == 0x80004002


@pytest.mark.parametrize(
    "bad",
    ["IUnknown", "00000000-0000-0000-c000-000000000046", 0, None, object, IUnknown.names],
    ids=["name", "iid-string", "int", "None", "class", "method"],
)
@pytest.mark.parametrize(
    ("cls", "factory", "ifaces"), [pytest.param(*row, id=row[0].__name__) for row in CLASSES]
)
def test_query_interface_non_interface(
    cls: type, factory: Factory, ifaces: list[Any], bad: object
) -> None:
    """QueryInterface with something that is neither an interface nor a UUID raises TypeError."""
    with factory() as obj:
        before = obj.ref_count
        with pytest.raises(TypeError):
            obj.QueryInterface(bad)
        assert obj.ref_count == before


# -- interface identities ------------------------------------------------------------------

#: Every interface of API.md §2 with its IID (None: project-defined, checked separately).
IIDS: dict[str, str | None] = {
    "IUnknown": "00000000-0000-0000-c000-000000000046",
    "IMediaSample": "56a8689a-0ad4-11ce-b03a-0020af0ba770",
    "IMediaSample2": "36b73884-c2c8-11cf-8b46-00805f6cef60",
    "IMemAllocator": "56a8689c-0ad4-11ce-b03a-0020af0ba770",
    "IMemAllocatorCallbackTemp": "379a0cf0-c1de-11d2-abf5-00a0c905f375",
    "IMemAllocatorNotifyCallbackTemp": "92980b30-c1de-11d2-abf5-00a0c905f375",
    "IMemInputPin": "56a8689d-0ad4-11ce-b03a-0020af0ba770",
    "IPin": "56a86891-0ad4-11ce-b03a-0020af0ba770",
    "IBaseFilter": "56a86895-0ad4-11ce-b03a-0020af0ba770",
    "IMediaFilter": "56a86899-0ad4-11ce-b03a-0020af0ba770",
    "IReferenceClock": "56a86897-0ad4-11ce-b03a-0020af0ba770",
    "IMemory": None,
    "IMemoryAllocator": None,
    "IBufferPool": None,
    "IBufferSample": None,
    "IAllocationProposal": None,
    "IFilterGraph": "56a8689f-0ad4-11ce-b03a-0020af0ba770",
    "IGraphBuilder": "56a868a9-0ad4-11ce-b03a-0020af0ba770",
    "IMediaControl": "56a868b1-0ad4-11ce-b03a-0020af0ba770",
    "IMediaEvent": "56a868b6-0ad4-11ce-b03a-0020af0ba770",
    "IMediaEventSink": "56a868a2-0ad4-11ce-b03a-0020af0ba770",
    "IQualityControl": "56a868a5-0ad4-11ce-b03a-0020af0ba770",
}


@pytest.mark.parametrize("name", sorted(IIDS))
def test_interface_exported_from_both_packages(name: str) -> None:
    """Each interface is importable from `interfaces` and `dshow_alloc`, as the same object."""
    from_interfaces = getattr(interfaces, name)
    assert isinstance(from_interfaces, InterfaceClass)
    assert getattr(dshow_alloc, name) is from_interfaces
    assert name in interfaces.__all__
    assert name in dshow_alloc.__all__


@pytest.mark.parametrize("name", sorted(IIDS))
def test_interface_carries_its_own_iid(name: str) -> None:
    """The direct tagged value "iid" is a UUID, the real one where DirectShow has one."""
    iface = getattr(interfaces, name)
    iid = iface.getDirectTaggedValue("iid")
    assert isinstance(iid, UUID)
    expected = IIDS[name]
    if expected is not None:
        assert iid == UUID(expected)
    assert dshow_alloc.iid_of(iface) == iid


@pytest.mark.parametrize("name", sorted(IIDS))
def test_sub_interface_does_not_inherit_iid(name: str) -> None:
    """No interface reports the IID of any interface it extends."""
    iface = getattr(interfaces, name)
    iid = iface.getDirectTaggedValue("iid")
    for base in iface.__iro__[1:]:
        if isinstance(base, InterfaceClass) and base.queryDirectTaggedValue("iid") is not None:
            assert base.getDirectTaggedValue("iid") != iid


def test_imediasample2_iid_differs_from_imediasample() -> None:
    """IMediaSample2 extends IMediaSample yet has its own IID."""
    assert IMediaSample2.extends(IMediaSample)
    assert IMediaSample2.getDirectTaggedValue("iid") != IMediaSample.getDirectTaggedValue("iid")
    assert IMediaSample2.getDirectTaggedValue("iid") == UUID(IIDS["IMediaSample2"] or "")
    assert IMemAllocatorCallbackTemp.getDirectTaggedValue("iid") != (
        IMemAllocator.getDirectTaggedValue("iid")
    )
    assert IBaseFilter.getDirectTaggedValue("iid") != IMediaFilter.getDirectTaggedValue("iid")


def test_iids_are_unique() -> None:
    """No two interfaces share an IID, project-defined ones included."""
    iids = [getattr(interfaces, name).getDirectTaggedValue("iid") for name in IIDS]
    assert len(set(iids)) == len(iids)


def test_every_interface_extends_iunknown() -> None:
    """Every interface of the framework is an IUnknown."""
    for name in IIDS:
        assert getattr(interfaces, name).isOrExtends(IUnknown)
    for iface in (IMemInputPin, IPin, IReferenceClock):
        assert iface.extends(IUnknown)


@pytest.mark.parametrize("name", filter_names())
def test_registered_filter_declares_its_pins(name: str) -> None:
    """A registered filter has a description, and its pins are the ones its templates name,
    in direction and order: one pin for a plain template, and for a ``%u`` template the pins
    made on demand or per stream (a muxer's spare ``sink_0``; a demuxer's ``video_0`` for a
    file with one video stream and no audio)."""
    try:
        cls = filter_class(name)
    except FilterUnavailableError as exc:
        pytest.skip(str(exc))
    assert cls.description
    templates: tuple[PinTemplate, ...] = cls.pin_templates
    with _registered(name)() as filter:
        pins = list(filter.EnumPins())
        for template in templates:
            assert isinstance(template.direction, PinDirection)
            if template.name.endswith("%u"):
                prefix = template.name[:-2]
                while pins and pins[0].QueryId().startswith(prefix):
                    assert pins.pop(0).QueryDirection() is template.direction
            else:
                assert pins, f"no pin for the template {template.name!r}"
                pin = pins.pop(0)
                assert pin.QueryId() == template.name
                assert pin.QueryDirection() is template.direction
        assert pins == [], "pins no template names"
        assert filter.EnumPins(), "a filter without pins"
