"""Issue 14's defects, each pinned: graphs that could never finish are refused where they go
wrong, files that cannot be opened are named at their property, no header-only file is left
by a failed run, caps after a type-passing filter reach the source, and the messages say
what conflicts (caps values, GStreamer's element names).

``oops`` is an in-place filter that raises ValueError on its ``fail-at``-th sample, standing
for a user's transform with a bug.
"""

from __future__ import annotations

import logging
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from dshow_alloc import EC_COMPLETE, FilterGraph, TransInPlaceFilter
from dshow_alloc.caps import Caps, CapsError, IntRange
from dshow_alloc.cli import main
from dshow_alloc.filters import BaseFilter, reported_by
from dshow_alloc.hresult import AbortError
from dshow_alloc.launch import LaunchError, parse_launch
from dshow_alloc.pins import BaseInputPin
from dshow_alloc.plugins.testsrc import VideoTestSource
from dshow_alloc.plugins.wav import read_wav_info
from dshow_alloc.registry import (
    Element,
    PinTemplate,
    PropertyError,
    UnknownFilterError,
    filter_class,
    prop,
    register_filter,
    unregister_filter,
)
from dshow_alloc.report import run_graph
from dshow_alloc.structs import EC_ERRORABORT, PinDirection

_IN = PinDirection.PINDIR_INPUT

# -- helpers ----------------------------------------------------------------------------------


@attrs.define
class _OopsProperties:
    fail_at: int = prop(1, kind=int, minimum=0, doc="the sample that raises (0: none)")


class Oops(TransInPlaceFilter, Element):
    """``oops``: passes samples on, raising ValueError on the ``fail-at``-th."""

    Properties = _OopsProperties
    description = "A transform with a bug"
    pin_templates = (
        PinTemplate("Input", _IN, "ANY"),
        PinTemplate("Output", PinDirection.PINDIR_OUTPUT, "ANY"),
    )

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name, modifies_data=False)
        self.seen = 0

    def Transform(self, sample: Any) -> bool | None:
        """Count; raise on the ``fail-at``-th sample."""
        self.seen += 1
        if self.seen == self.props.fail_at:
            raise ValueError("oops in my filter")
        return None


class Dead(BaseFilter, Element):
    """``deadend``: one input and no output, and not a renderer (nothing reports its end)."""

    description = "Takes samples and never reports an end"
    pin_templates = (PinTemplate("In", _IN, "ANY"),)

    def __init__(self, *, name: str | None = None, **props: Any) -> None:
        self.init_properties(props)
        super().__init__(name=name)
        self.add_pin(BaseInputPin(self, "In"))


@pytest.fixture(autouse=True)
def test_filters() -> Iterator[None]:
    """``oops`` and ``deadend`` are registered for every test here."""
    register_filter("oops", Oops)
    register_filter("deadend", Dead)
    yield
    unregister_filter("oops")
    unregister_filter("deadend")


def launch_error(text: str) -> LaunchError:
    """The LaunchError ``text`` raises; the graph is left with no filter."""
    graph = FilterGraph(clock=None)
    with pytest.raises(LaunchError) as info:
        parse_launch(text, graph)
    assert graph.EnumFilters() == []
    return info.value


def run_line(text: str) -> Any:
    """Build ``text`` and run it to its end; the report."""
    pipeline = parse_launch(text, FilterGraph(clock=None))
    return run_graph(pipeline.graph, timeout=30)


_Y4M_HEADER = b"YUV4MPEG2 W32 H16 F30:1 Ip A1:1 C420jpeg\n"
_Y4M_FRAME = len(b"FRAME\n") + 32 * 16 * 3 // 2
_SMALL_VIDEO = "videotestsrc width=32 height=16"


def write_y4m(path: Path, width: int, height: int, frames: int) -> Path:
    """A 25 frames/s 4:2:0 YUV4MPEG2 file of mid-grey frames."""
    body = (b"FRAME\n" + bytes([128]) * (width * height * 3 // 2)) * frames
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode() + body)
    return path


def y4m_header(path: Path) -> bytes:
    """The stream header line of the YUV4MPEG2 file at ``path``."""
    return path.read_bytes().split(b"\n", 1)[0]


# -- 1. graphs that could never finish ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason", "word"),
    [
        (
            "y4msink location=x.y4m",
            "the line has no source: nothing makes the samples y4msink0 would take (start "
            "it with one, such as videotestsrc, audiotestsrc, y4msrc or avsrc)",
            "y4msink",
        ),
        (
            "invert ! nullsink",
            "the line has no source: nothing makes the samples invert0 would take (start "
            "it with one, such as videotestsrc, audiotestsrc, y4msrc or avsrc)",
            "invert",
        ),
        (
            "videotestsrc num-buffers=3 ! tee name=t",
            "nothing is linked to the output of t: its samples would reach no renderer, so "
            "the graph could never finish (end every branch in a renderer, such as nullsink)",
            "tee",
        ),
        (
            "videotestsrc num-buffers=3",
            "nothing is linked to the output of videotestsrc0: its samples would reach no "
            "renderer, so the graph could never finish (end every branch in a renderer, "
            "such as nullsink)",
            "videotestsrc",
        ),
        (
            "videotestsrc num-buffers=3 ! invert",
            "nothing is linked to the output of invert0: its samples would reach no "
            "renderer, so the graph could never finish (end every branch in a renderer, "
            "such as nullsink)",
            "invert",
        ),
        (
            "videotestsrc num-buffers=3 ! nullsink  invert ! nullsink",
            "nothing is linked to invert0: no sample would reach it, so the graph could "
            "never finish",
            "invert",
        ),
        (
            "videotestsrc num-buffers=3 ! deadend",
            "the line has no renderer: deadend0 does not end a stream, so nothing would "
            "report the end and the graph could never finish (end it in a renderer, such "
            "as nullsink, y4msink, wavsink or avsink)",
            "deadend",
        ),
    ],
)
def test_graphs_that_could_never_finish_are_refused(text: str, reason: str, word: str) -> None:
    """No source, an output linked to nothing, an input nothing feeds, or no renderer: a
    LaunchError with the caret under the filter to blame, and nothing left in the graph."""
    error = launch_error(text)
    assert error.reason == reason
    assert (error.offset, error.length) == (text.rindex(word), len(word))


def test_a_tee_with_a_branch_keeps_its_spare_pin_unlinked() -> None:
    """A tee with one branch linked (its spare request pin left free) builds and runs."""
    report = run_line("videotestsrc num-buffers=3 ! tee name=t t. ! queue ! nullsink")
    assert report.succeeded
    assert report.renderers == {"nullsink0": 3}


@pytest.mark.timeout(30)
def test_cli_refuses_a_tee_without_branches(capsys: pytest.CaptureFixture[str]) -> None:
    """``dshow-alloc launch "videotestsrc num-buffers=3 ! tee name=t"`` ends at once with
    exit status 2 and the caret under the tee (it used to run forever)."""
    assert main(["launch", "-q", "videotestsrc num-buffers=3 ! tee name=t"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: nothing is linked to the output of t:")
    assert err[1:] == ["  videotestsrc num-buffers=3 ! tee name=t", "  " + " " * 29 + "^^^"]


@pytest.mark.timeout(30)
def test_cli_refuses_a_sink_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """A sink-only line is refused at build time (no source), before its file is made."""
    assert main(["launch", "-q", "y4msink location=/nonexistent/dir/x.y4m"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: the line has no source:")
    assert err[2] == "  ^^^^^^^"


@pytest.mark.timeout(30)
def test_run_without_renderer_completes_at_once() -> None:
    """``FilterGraph.Run`` on a graph with no connected renderer reports EC_COMPLETE (param1
    S_OK, param2 0) at once: ``WaitForCompletion(0)`` returns instead of timing out."""
    with FilterGraph(clock=None) as graph:
        graph.AddFilter(VideoTestSource(name="src", num_buffers=3), "src")
        graph.Run()
        assert graph.WaitForCompletion(0) == EC_COMPLETE
        assert graph.events() == [(EC_COMPLETE, 0, 0)]
        graph.Stop()
        graph.Run()  # every run completes
        assert graph.events() == [(EC_COMPLETE, 0, 0)]


@pytest.mark.timeout(30)
def test_run_with_a_renderer_still_waits_for_it() -> None:
    """A graph whose renderer is connected to an endless source is not complete at Run."""
    pipeline = parse_launch("videotestsrc width=32 height=16 ! nullsink", FilterGraph(clock=None))
    with pipeline.graph as graph:
        graph.Run()
        with pytest.raises(AbortError):
            graph.WaitForCompletion(0)


# -- 2. files that cannot be opened, and no header-only leftovers ------------------------------


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (
            _SMALL_VIDEO + " num-buffers=2 ! video/x-raw,format=I420 ! y4msink location={}",
            "y4msink0",
        ),
        ("audiotestsrc num-buffers=2 ! wavsink name=w location={}", "w"),
    ],
)
def test_a_sink_that_cannot_write_names_filter_and_property(
    tmp_path: Path, line: str, name: str
) -> None:
    """Run raises a FileNotFoundError that names the filter and ``location=`` (no
    ``[Errno 2]``), carrying the filter, property and value; the pipeline puts the caret
    under the property."""
    target = tmp_path / "missing" / "out.file"
    text = line.format(target)
    pipeline = parse_launch(text, FilterGraph(clock=None))
    with pytest.raises(FileNotFoundError) as info:
        run_graph(pipeline.graph)
    exc = info.value
    assert str(exc) == f"{name}: cannot write location={target}: No such file or directory"
    assert isinstance(exc, PropertyError)
    assert (exc.filter_name, exc.property_name, exc.value) == (name, "location", target)
    assert (exc.errno, exc.filename) == (2, str(target))
    located = pipeline.error_for(exc)
    assert located is not None
    assert located.reason == str(exc)
    at = text.index("location=")
    assert (located.offset, located.length) == (at, len(text) - at)
    assert pipeline.error_for(ValueError("other")) is None
    assert not target.parent.exists()


def test_avsink_that_cannot_write_names_filter_and_property(tmp_path: Path) -> None:
    """avsink's bad location is the same FileNotFoundError naming filter and property."""
    pytest.importorskip("av")
    target = tmp_path / "missing" / "out.mp4"
    pipeline = parse_launch(
        f"{_SMALL_VIDEO} num-buffers=2 ! avsink location={target}", FilterGraph(clock=None)
    )
    with pytest.raises(FileNotFoundError) as info:
        run_graph(pipeline.graph)
    assert str(info.value) == (
        f"avsink0: cannot write location={target}: No such file or directory"
    )
    assert pipeline.error_for(info.value) is not None


@pytest.mark.timeout(30)
def test_cli_shows_a_sink_location_error_at_its_property(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``launch`` prints the sink's error with the caret under ``location=``; status 1."""
    target = tmp_path / "missing" / "x.y4m"
    text = f"{_SMALL_VIDEO} num-buffers=2 ! video/x-raw,format=I420 ! y4msink location={target}"
    assert main(["launch", "-q", text]) == 1
    err = capsys.readouterr().err
    assert "[Errno" not in err
    lines = err.splitlines()
    assert lines[0] == f"error: y4msink0: cannot write location={target}: No such file or directory"
    at = text.index("location=")
    assert lines[1:] == [f"  {text}", "  " + " " * at + "^" * (len(text) - at)]


@pytest.mark.parametrize(
    ("kind", "suffix"), [("y4msrc", "y4m"), ("wavsrc", "wav"), ("avsrc", "mp4")]
)
def test_a_source_that_cannot_read_names_filter_and_property(
    tmp_path: Path, kind: str, suffix: str
) -> None:
    """A missing file: the message names the filter once (no ``avsrc: avsrc:``) and the
    caret is under ``location=``."""
    if kind == "avsrc":
        pytest.importorskip("av")
    target = tmp_path / f"missing.{suffix}"
    text = f"{kind} location={target} ! nullsink"
    error = launch_error(text)
    assert error.reason == f"{kind}0: cannot read location={target}: No such file or directory"
    assert (error.offset, error.length) == (len(kind) + 1, len(f"location={target}"))


def test_a_source_file_gone_before_the_run_names_filter_and_property(tmp_path: Path) -> None:
    """y4msrc read its header when made; the file removed before Run makes Run raise a
    FileNotFoundError naming the filter and ``location=``."""
    path = write_y4m(tmp_path / "in.y4m", 32, 16, 2)
    pipeline = parse_launch(f"y4msrc location={path} ! nullsink", FilterGraph(clock=None))
    path.unlink()
    with pytest.raises(FileNotFoundError) as info:
        run_graph(pipeline.graph)
    assert str(info.value) == f"y4msrc0: cannot read location={path}: No such file or directory"
    assert pipeline.error_for(info.value) is not None


_VIDEO_TO_FILE = _SMALL_VIDEO + " num-buffers=3 ! video/x-raw,format=I420 ! oops fail-at={} ! "
_AUDIO_TO_FILE = "audiotestsrc num-buffers=3 samples-per-buffer=100 ! oops fail-at={} ! "


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("head", "sink", "suffix"),
    [(_VIDEO_TO_FILE, "y4msink", "y4m"), (_AUDIO_TO_FILE, "wavsink", "wav")],
)
def test_a_run_that_fails_before_any_sample_leaves_no_file(
    tmp_path: Path, head: str, sink: str, suffix: str
) -> None:
    """The transform raises on the first sample: EC_ERRORABORT, the graph stops without end
    of stream, and the file the sink created (its header only) is removed."""
    out = tmp_path / f"out.{suffix}"
    report = run_line(head.format(1) + f"{sink} location={out}")
    assert report.completion == "EC_ERRORABORT"
    assert report.renderers == {f"{sink}0": 0}
    assert not out.exists()


@pytest.mark.timeout(60)
def test_a_failed_run_with_frames_keeps_the_partial_y4m(tmp_path: Path) -> None:
    """The third frame raises: the file keeps its header and the two frames written."""
    out = tmp_path / "out.y4m"
    report = run_line(_VIDEO_TO_FILE.format(3) + f"y4msink location={out}")
    assert report.completion == "EC_ERRORABORT"
    assert out.stat().st_size == len(_Y4M_HEADER) + 2 * _Y4M_FRAME
    assert out.read_bytes().startswith(_Y4M_HEADER)


@pytest.mark.timeout(60)
def test_a_failed_run_with_samples_keeps_the_partial_wav(tmp_path: Path) -> None:
    """The third buffer raises: the WAV file is finished with the 200 frames written."""
    out = tmp_path / "out.wav"
    report = run_line(_AUDIO_TO_FILE.format(3) + f"wavsink location={out}")
    assert report.completion == "EC_ERRORABORT"
    with out.open("rb") as file:
        assert read_wav_info(file, out).frames == 200


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("line", "suffix", "size"),
    [
        (_SMALL_VIDEO + " num-buffers=0 ! video/x-raw,format=I420 ! y4msink", "y4m", None),
        ("audiotestsrc num-buffers=0 ! wavsink", "wav", 44),
    ],
)
def test_a_clean_run_of_no_samples_keeps_its_empty_file(
    tmp_path: Path, line: str, suffix: str, size: int | None
) -> None:
    """End of stream with no samples: the valid header-only file stays."""
    out = tmp_path / f"out.{suffix}"
    report = run_line(f"{line} location={out}")
    assert report.succeeded
    expected = len(_Y4M_HEADER) if size is None else size
    assert out.stat().st_size == expected


@pytest.mark.timeout(60)
def test_pause_then_stop_without_samples_leaves_no_file(tmp_path: Path) -> None:
    """Paused and stopped before anything was written (no end of stream): no file."""
    out = tmp_path / "out.y4m"
    line = f"{_SMALL_VIDEO} ! video/x-raw,format=I420 ! y4msink location={out}"
    pipeline = parse_launch(line, FilterGraph(clock=None))
    pipeline.graph.Pause()
    assert out.exists()
    pipeline.graph.Stop()
    assert not out.exists()


@pytest.mark.timeout(60)
def test_avsink_run_that_fails_before_any_sample_leaves_no_file(tmp_path: Path) -> None:
    """avsink follows the same rule: no frame encoded, no file."""
    pytest.importorskip("av")
    out = tmp_path / "out.mkv"
    report = run_line(_VIDEO_TO_FILE.format(1) + f"avsink location={out}")
    assert report.completion == "EC_ERRORABORT"
    assert not out.exists()


# -- 4. caps after a type-passing filter reach the source --------------------------------------


@pytest.mark.timeout(60)
def test_caps_after_invert_size_the_source(tmp_path: Path) -> None:
    """``videotestsrc ! invert ! video/x-raw,width=320,height=180 ! y4msink`` asks the source
    for 320x180: the file is 320x180 with 3 frames."""
    out = tmp_path / "o.y4m"
    line = (
        "videotestsrc num-buffers=3 ! invert ! video/x-raw,width=320,height=180 ! "
        f"y4msink location={out}"
    )
    pipeline = parse_launch(line, FilterGraph(clock=None))
    header = pipeline.links[0].input.ConnectionMediaType().format
    assert (header.width, header.height) == (320, 180)
    assert pipeline.links[0].caps is None  # the link keeps the caps written on it
    assert run_graph(pipeline.graph).renderers == {"y4msink0": 3}
    assert y4m_header(out) == b"YUV4MPEG2 W320 H180 F30:1 Ip A1:1 C420jpeg"
    assert out.stat().st_size == len(y4m_header(out)) + 1 + 3 * (6 + 320 * 180 * 3 // 2)


def test_caps_reach_through_queues_and_tee_branches() -> None:
    """Caps on two tee branches after a queue and invert combine: the source makes 64x32."""
    pipeline = parse_launch(
        "videotestsrc num-buffers=1 ! queue ! invert ! tee name=t "
        "t. ! video/x-raw,width=64 ! nullsink t. ! video/x-raw,height=32 ! nullsink",
        FilterGraph(clock=None),
    )
    header = pipeline.links[0].input.ConnectionMediaType().format
    assert (header.width, header.height) == (64, 32)


def test_caps_that_cannot_both_hold_are_refused_at_the_second() -> None:
    """Caps before and after invert with no type in common: the caret is under the later."""
    text = "videotestsrc ! video/x-raw,width=640 ! invert ! video/x-raw,width=320 ! nullsink"
    error = launch_error(text)
    assert error.reason == (
        "video/x-raw,width=320, wanted after invert0, and video/x-raw,width=640 before it "
        "have no type in common (invert0 passes types through unchanged)"
    )
    assert (error.offset, error.length) == (text.index("video/x-raw,width=320"), 21)


def test_a_source_that_cannot_scale_names_the_real_conflict(tmp_path: Path) -> None:
    """y4msrc offers only its file's size: the error says so and what the caps after invert
    want, on the link into invert (nothing about RGB24)."""
    path = write_y4m(tmp_path / "in.y4m", 64, 48, 1)
    error = launch_error(
        f"y4msrc location={path} ! invert ! video/x-raw,width=320,height=180 ! nullsink"
    )
    offered = "video/x-raw,format=I420,width=64,height=48,framerate=25/1"
    assert error.reason == (
        "cannot link y4msrc0 to invert0:\n"
        "    y4msrc0.Output -> invert0.Input through video/x-raw,width=320,height=180 "
        "(wanted after invert0, which passes types through unchanged): y4msrc0.Output "
        f"cannot make video/x-raw,width=320,height=180: it offers only {offered}\n"
        "      refused: video/x-raw,format=I420,width=320,height=180,framerate=25/1\n"
        "      invert0.Input accepts video/x-raw,format={NV12,I420,IYUV,YUY2,RGB24,RGB32}"
    )
    assert "RGB24," not in error.reason.split("accepts")[0]


@pytest.mark.timeout(60)
def test_avsrc_scales_for_caps_after_invert(tmp_path: Path) -> None:
    """avsrc converts to the size asked, so caps after invert give a 32x16 stream."""
    pytest.importorskip("av")
    source = write_y4m(tmp_path / "in.y4m", 64, 48, 2)
    out = tmp_path / "o.y4m"
    report = run_line(
        f"avsrc location={source} ! invert ! video/x-raw,width=32,height=16 ! "
        f"y4msink location={out}"
    )
    assert report.renderers == {"y4msink0": 2}
    assert y4m_header(out).startswith(b"YUV4MPEG2 W32 H16 ")


# -- 5. messages ------------------------------------------------------------------------------


def test_caps_of_another_kind_say_what_the_source_offers() -> None:
    """Audio caps after a video source: what it offers and what the caps want, not
    "(too many attempts)"."""
    error = launch_error("videotestsrc num-buffers=3 ! audio/x-raw ! nullsink")
    lines = error.reason.split("\n")
    assert lines[:2] == [
        "cannot link videotestsrc0 to nullsink0:",
        "    videotestsrc0.Output -> nullsink0.In through audio/x-raw: no type "
        "videotestsrc0.Output offers can be made to fit audio/x-raw",
    ]
    assert lines[2].startswith("      videotestsrc0.Output offers video/x-raw,format=NV12,")
    assert lines[3] == "      nullsink0.In accepts ANY"
    assert "attempts" not in error.reason


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ("video/x-raw,width=abc", "width must be an int, got 'abc'"),
        ("audio/x-raw,rate=fast", "rate must be an int, got 'fast'"),
        ("video/x-raw,framerate=x", "framerate must be a fraction (30 or 30000/1001), got 'x'"),
        ("video/x-raw,framerate=1/0", "framerate must be a fraction (30 or 30000/1001), got '1/0'"),
        (
            "video/x-raw,width=[1,2,3]",
            "width must be a range [low,high] of two ints, got '[1,2,3]'",
        ),
        ("video/x-raw,width={1,x}", "width must be an int, got 'x'"),
    ],
)
def test_caps_values_of_the_wrong_type_say_what_was_expected(caps: str, message: str) -> None:
    """A value that is not of its field's type: the field, the type, and the text, with the
    caret at the value."""
    text = f"videotestsrc ! {caps} ! nullsink"
    error = launch_error(text)
    assert error.reason == f"bad caps: {message}"
    assert error.offset == text.index("=", text.index(caps)) + 1
    with pytest.raises(CapsError, match="^" + re.escape(message)):
        Caps.parse(caps)


@pytest.mark.parametrize(
    ("name", "suggestions"),
    [
        ("fakesink", ["nullsink"]),
        ("autovideosink", ["nullsink"]),
        ("filesrc", ["avsrc", "y4msrc", "wavsrc"]),
        ("decodebin", ["avsrc"]),
        ("uridecodebin", ["avsrc"]),
        ("filesink", ["y4msink", "wavsink", "avsink"]),
        ("identity", ["queue"]),
        ("volume", ["gain"]),
        ("capsfilter", []),
    ],
)
def test_gstreamer_names_suggest_the_filters_doing_their_job(
    name: str, suggestions: list[str]
) -> None:
    """A GStreamer element's name suggests the filters that do its job here."""
    with pytest.raises(UnknownFilterError) as info:
        filter_class(name)
    assert info.value.suggestions == suggestions
    assert info.value.note


def test_fakesink_message() -> None:
    """``fakesink`` in a line says nullsink, and why, with the caret under it."""
    error = launch_error("videotestsrc ! fakesink")
    assert error.reason == (
        "no filter named 'fakesink'; did you mean nullsink? (GStreamer's fakesink is nullsink here)"
    )
    assert (error.offset, error.length) == (15, 8)


def test_other_names_still_get_spelling_neighbours() -> None:
    """A name GStreamer does not have either still gets the closest spellings."""
    assert launch_error("videotestsrc ! inverse ! nullsink").reason == (
        "no filter named 'inverse'; did you mean invert?"
    )


@pytest.mark.parametrize(
    ("first", "second", "both"),
    [
        (
            "video/x-raw,format={I420,NV12}",
            "video/x-raw,format=I420,width=320",
            "video/x-raw,format=I420,width=320",
        ),
        ("video/x-raw,width=[1,100]", "video/x-raw,width=[50,200]", "video/x-raw,width=[50,100]"),
        ("video/x-raw,width=[1,100]", "video/x-raw,width=[100,200]", "video/x-raw,width=100"),
        (
            "video/x-raw,width={10,20,300}",
            "video/x-raw,width=[15,400]",
            "video/x-raw,width={20,300}",
        ),
        ("video/x-raw", "video/x-raw,framerate=30/1", "video/x-raw,framerate=30/1"),
    ],
)
def test_caps_intersect(first: str, second: str, both: str) -> None:
    """``intersect`` keeps what both caps allow, field by field, either way round."""
    a, b = Caps.parse(first), Caps.parse(second)
    forward, backward = a.intersect(b), b.intersect(a)
    assert str(forward) == both
    assert forward is not None and backward is not None
    assert dict(backward.fields) == dict(forward.fields)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("video/x-raw,format=I420", "video/x-raw,format=NV12"),
        ("video/x-raw,width=[1,10]", "video/x-raw,width=[11,20]"),
        ("video/x-raw,width={1,2}", "video/x-raw,width=[3,20]"),
        ("video/x-raw", "audio/x-raw"),
    ],
)
def test_caps_with_nothing_in_common_intersect_to_none(first: str, second: str) -> None:
    """Caps no type can match both of intersect to None."""
    assert Caps.parse(first).intersect(Caps.parse(second)) is None


def test_caps_intersect_refuses_other_types() -> None:
    """``intersect`` takes Caps only."""
    with pytest.raises(TypeError, match="intersect takes Caps, not str"):
        Caps.parse("video/x-raw").intersect("video/x-raw")  # type: ignore[arg-type]


def test_caps_range_of_one_value_is_that_value() -> None:
    """Two ranges meeting at one value intersect to the value itself, not a range."""
    both = Caps.parse("audio/x-raw,rate=[1,8000]").intersect(
        Caps.parse("audio/x-raw,rate=[8000,9000]")
    )
    assert both is not None
    assert both.get("rate") == 8000
    assert not isinstance(both.get("rate"), IntRange)


# -- 3. an exception in a user's Transform --------------------------------------------------------

_FAILING = _SMALL_VIDEO + " num-buffers=3 ! oops ! nullsink"


@pytest.mark.timeout(60)
def test_run_report_keeps_the_exception_and_its_filter() -> None:
    """The report's error event keeps the exception (type, message, traceback) and the
    filter whose Transform raised; its text is still the event's."""
    report = run_line(_FAILING)
    assert report.completion == "EC_ERRORABORT"
    (event,) = report.errors
    assert event == "EC_ERRORABORT (oops in my filter)"
    assert event.code == EC_ERRORABORT
    assert type(event.error) is ValueError
    assert event.error is event.param2
    assert event.filter_name == "oops0"
    assert event.describe() == "oops0: ValueError: oops in my filter"
    text = event.format_traceback()
    assert text.startswith("Traceback (most recent call last):\n")
    assert "in Transform\n" in text
    assert text.endswith("ValueError: oops in my filter\n")
    assert report.events[0] is event
    assert [e.error for e in report.events[1:]] == [None] * (len(report.events) - 1)


@pytest.mark.timeout(60)
def test_the_error_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """The filter's report logs the error once, at ERROR, naming the filter and the type,
    with the exception (and so its traceback) attached."""
    caplog.set_level(logging.ERROR, logger="dshow_alloc.filters")
    report = run_line(_FAILING)
    records = [r for r in caplog.records if r.name == "dshow_alloc.filters"]
    assert [r.getMessage() for r in records] == ["oops0: ValueError: oops in my filter"]
    assert records[0].exc_info is not None
    assert records[0].exc_info[1] is report.errors[0].error
    assert reported_by(report.errors[0].error) == "oops0"


@pytest.mark.timeout(60)
def test_cli_prints_the_error_short_without_v(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Without ``-v``: ``error: oops0: ValueError: oops in my filter``, no traceback, and
    the log record is left to the command (printed once); exit status 1."""
    caplog.set_level(logging.ERROR, logger="dshow_alloc.filters")
    assert main(["launch", "-q", _FAILING]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: oops0: ValueError: oops in my filter"]
    assert [r for r in caplog.records if r.name == "dshow_alloc.filters"] == []


@pytest.mark.timeout(60)
def test_cli_prints_the_traceback_with_v(capsys: pytest.CaptureFixture[str]) -> None:
    """With ``-v`` the traceback follows, down to the user's Transform."""
    assert main(["launch", "-q", "-v", _FAILING]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "error: oops0: ValueError: oops in my filter"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: oops in my filter"
    assert 'raise ValueError("oops in my filter")' in err


def test_errors_survive_pickling(tmp_path: Path) -> None:
    """A sink's location error and a run's error event pickle and come back whole (another
    process, a Ray worker, may receive them)."""
    target = tmp_path / "missing" / "x.y4m"
    pipeline = parse_launch(
        f"{_SMALL_VIDEO} num-buffers=1 ! video/x-raw,format=I420 ! y4msink location={target}",
        FilterGraph(clock=None),
    )
    with pytest.raises(FileNotFoundError) as info:
        run_graph(pipeline.graph)
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is type(info.value)
    assert str(again) == str(info.value)
    assert (again.errno, again.filename, again.filter_name, again.value) == (
        2,
        str(target),
        "y4msink0",
        target,
    )
    event = run_line(_FAILING).errors[0]
    copied = pickle.loads(pickle.dumps(event))
    assert copied == event
    assert (copied.code, copied.param1, str(copied.error)) == (
        event.code,
        event.param1,
        "oops in my filter",
    )
