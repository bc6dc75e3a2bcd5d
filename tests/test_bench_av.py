"""The H.264 file rows of ``dshow-alloc bench`` (`dshow_alloc.bench.av`): the graph and the
plain PyAV loop on a tiny input, read back with PyAV. Structure only, no timing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

av = pytest.importorskip("av")
pytest.importorskip("numpy")

from dshow_alloc import bench  # noqa: E402
from dshow_alloc.bench import av as bench_av  # noqa: E402
from dshow_alloc.bench.av import (  # noqa: E402
    AVUnavailableError,
    make_input,
    pipeline_line,
    run_loop,
    run_pipeline,
)

FRAMES = 6
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is missing")


def _decoded(path: Path) -> list[tuple[int, int, str]]:
    """Width, height and pixel format of every frame PyAV decodes from ``path``."""
    with av.open(str(path)) as container:
        return [(f.width, f.height, f.format.name) for f in container.decode(video=0)]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """6 frames of 64x48 H.264 made by ffmpeg."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    return make_input(tmp_path, FRAMES, 64, 48)


def test_input_is_what_was_asked(tiny: Path) -> None:
    """``make_input`` writes the frames asked for, H.264 in yuv420p."""
    assert _decoded(tiny) == [(64, 48, "yuv420p")] * FRAMES
    with av.open(str(tiny)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_pipeline_and_loop_write_every_frame(tiny: Path, tmp_path: Path) -> None:
    """Both sides write every input frame, the loop with the graph's codec and pixel format,
    and report a positive rate."""
    graph = run_pipeline(tiny, tmp_path / "graph.mp4")
    loop = run_loop(tiny, tmp_path / "loop.mp4", graph.codec, graph.pix_fmt)
    for run, name in ((graph, "graph.mp4"), (loop, "loop.mp4")):
        assert run.frames == FRAMES
        assert run.seconds > 0 and run.rate > 0
        assert _decoded(tmp_path / name) == [(64, 48, run.pix_fmt)] * FRAMES
    assert (loop.codec, loop.pix_fmt) == (graph.codec, graph.pix_fmt)


def test_pipeline_and_loop_invert_alike(tiny: Path, tmp_path: Path) -> None:
    """The two outputs hold the same picture (both invert; lossy, so compared loosely)."""
    run_pipeline(tiny, tmp_path / "graph.mp4")
    graph = run_pipeline(tiny, tmp_path / "graph.mp4")  # a second run starts afresh
    run_loop(tiny, tmp_path / "loop.mp4", graph.codec, graph.pix_fmt)
    with (
        av.open(str(tmp_path / "graph.mp4")) as one,
        av.open(str(tmp_path / "loop.mp4")) as other,
        av.open(str(tiny)) as original,
    ):
        pairs = zip(
            one.decode(video=0), other.decode(video=0), original.decode(video=0), strict=True
        )
        for a, b, c in pairs:
            left, right, source = (f.to_ndarray().astype(int) for f in (a, b, c))
            assert abs(left - right).mean() < 8
            assert abs(left - (255 - source)).mean() < 8


@needs_ffmpeg
def test_bench_av_figures() -> None:
    """``bench_av`` returns the best run of each side, each with every frame."""
    measured = bench_av.bench_av(FRAMES, width=64, height=48, repeat=2)
    assert measured.frames == FRAMES
    assert measured.pipeline.frames == measured.loop.frames == measured.threaded.frames == FRAMES
    assert measured.pipeline.rate > 0 and measured.loop.rate > 0 and measured.threaded.rate > 0
    assert measured.ratio == pytest.approx(measured.pipeline.rate / measured.loop.rate)
    assert measured.threaded_ratio == pytest.approx(measured.pipeline.rate / measured.threaded.rate)


def test_bench_av_refuses_nonsense() -> None:
    """No frames or no repeat is a ValueError."""
    with pytest.raises(ValueError, match="frames and repeat"):
        bench_av.bench_av(0)
    with pytest.raises(ValueError, match="frames and repeat"):
        bench_av.bench_av(10, repeat=0)


def test_the_launch_line_quotes_paths(tmp_path: Path) -> None:
    """Paths with spaces survive the launch line's quoting."""
    from dshow_alloc.launch import tokenize

    line = pipeline_line(tmp_path / "in put.mp4", tmp_path / "out put.mp4")
    words = [token.text for token in tokenize(line)]
    assert f"location={tmp_path / 'in put.mp4'}" in words
    assert f"location={tmp_path / 'out put.mp4'}" in words


def test_rows_are_skipped_with_a_note_without_ffmpeg(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the ffmpeg program the rows are left out and stderr says why."""
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(AVUnavailableError, match="ffmpeg"):
        bench_av.bench_av(FRAMES, width=64, height=48)
    assert bench._av_file(quick=True) == []
    assert "skipped the H.264 file rows: the ffmpeg program is not installed" in (
        capsys.readouterr().err
    )
