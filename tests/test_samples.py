"""Every program in ``samples/`` runs, exits 0 and prints what it promises.

Each sample found by the glob is run in a subprocess (so a new sample is run too, with no
arguments, and cannot rot); ``ARGS`` keeps the known ones small and ``EXPECTED`` lists lines
their output must contain: a ``str`` is one exact line, a compiled pattern must match a whole
line. A sample that needs PyAV is skipped only when ``av`` is not importable.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SAMPLES = sorted(SAMPLES_DIR.glob("*.py"))
NEEDS_AV = {"process_file.py", "av_remux.py", "intelligent_connect.py"}
HAVE_AV = importlib.util.find_spec("av") is not None

ARGS: dict[str, list[str]] = {
    "custom_filters.py": ["--frames", "12", "--width", "64", "--height", "48"],
    "connect_by_hand.py": ["--frames", "6"],
    "custom_allocator.py": ["--frames", "20"],
    "video_meta.py": ["--frames", "4"],
    "process_file.py": ["--frames", "12", "--width", "64", "--height", "48"],
    "av_remux.py": ["--start", "0.5", "--stop", "1.5"],
    "shm_pipeline.py": ["--frames", "20"],
    "shm_launch.py": ["--frames", "20"],
    "ray_pipeline.py": ["--frames", "12", "--files", "3"],
}

EXPECTED: dict[str, list[str | re.Pattern[str]]] = {
    "custom_filters.py": [
        "connected: 64x48 I420, 4608 bytes a frame",
        "completion event: EC_COMPLETE",
        "rendered 12 frames",
        "checksum 0x5ee9b51a",
        "mirror: 12 frames flipped in place, 0 copied first",
        "average luma 164.30",
        "last frame ends at 4000000 (100 ns units)",
        "check: OK (every frame and time as computed)",
    ],
    "connect_by_hand.py": [
        "  ConnectDirect -> VFW_E_TYPE_NOT_ACCEPTED (0x8004022A); connected: False",
        "  ConnectDirect -> S_OK",
        "  agreed type: I420 64x48, 4608 bytes a sample",
        "  allocator: 'renderer.In', the renderer input pin's own allocator (GetAllocator)",
        '  allocator: "pooled renderer\'s pool", the pool the renderer proposed',
        "  GetProperties: buffers=3 buffer_size=4608 align=32 prefix=0",
        "  pool config: min_buffers=3 max_buffers=0 padding=64 memory=SystemMemory",
        "  proposal pool: None (bring your own), size=4608 min=3 max=0",
        "  proposal pool: pooled renderer's pool, size=4608 min=3 max=0",
        "  proposal params: memory=default align=32 prefix=0 padding=64",
        "  proposal metas: none",
        "  ran: 6 frames rendered from a pool of 3 samples; 0 outstanding after Stop",
        "check: OK",
    ],
    "custom_allocator.py": [
        "pool: Commit made 2 blocks",
        "pool: 3 samples out, 3 blocks made; a new block reads 0xCD..0xCD (the pattern)",
        "pool: after 100 more GetBuffer calls, still 3 blocks made",
        "pool: Decommit freed 3 blocks",
        "graph: the source's pool draws from 'PatternMemory'",
        "graph: rendered 20 samples from 4 blocks allocated",
        "graph: the samples used 1 of those blocks, over and over",
        "graph: after Stop 4 of 4 blocks freed",
        "total: 7 blocks allocated, 7 freed, 19897 bytes",
        "check: OK",
    ],
    "video_meta.py": [
        "  metas the source may attach: ['video-meta']",
        "  rendered 4 frames, 4 with VIDEO_META",
        "  strides Y/U/V: 128/64/64 for a width of 100",
        "  meta: I420 100x50, offsets (0, 6400, 8000), strides (128, 64, 64)",
        "  metas the source may attach: none",
        "  rendered 4 frames, 0 with VIDEO_META",
        "  strides Y/U/V: 100/50/50 for a width of 100",
        "  frames with wrong pixels: 0",
        "check: OK",
    ],
    "ray_pipeline.py": [
        "pipeline: 12 frames read, inverted and written by 3 actors",
        "many: 3 of 3 files inverted, one Ray task each",
        "check: OK",
    ],
    "format_change.py": [
        "  frames 1-4: 32x24 (1152 bytes)",
        "  frames 5-12: 64x48 (4608 bytes)",
        "  frame 5 carried the new type (AM_SAMPLE_TYPECHANGED); QueryAccept asked 1x",
        "  pool: 3 x 1152 bytes before, 3 x 4608 after; renegotiated 1x",
        "  frames 1-12: 80x60 (7200 bytes)",
        re.compile(r"  EC_ERRORABORT VFW_E_TYPE_NOT_ACCEPTED: renderer\.In refuses to change .*"),
        "check: OK",
    ],
    "intelligent_connect.py": [
        "  added by Connect: ['videoconvert']",
        "  wrote connect.y4m: 5 frames, luma as sent: True",
        re.compile(r"  level meter: 22050 samples, RMS 0\.353\d \(expected 0\.3536\)"),
        "Connect audio to y4msink: VFW_E_CANNOT_CONNECT (0x80040217)",
        "  wrote small.y4m: 5 frames of 160x120",
        "check: OK (converters inserted where needed, files and levels as sent)",
    ],
    "av_remux.py": [
        "wrote a test clip: 2 s, 160x120 mpeg4 at 25 frames/s, 48 kHz aac",
        re.compile(r"graph: avsrc location='.*clip\.mp4' name=d d\.video_0 ! invert ! m\. .*"),
        "completion: EC_COMPLETE",
        "streams: video, audio",
        "video: 26 frames (expected 26)",
        re.compile(r"audio: \d+ samples \(expected 48000, within 2048\)"),
        re.compile(r"picture inverted: mean luma \d+ -> \d+"),
        re.compile(r"sound halved: rms 0\.28\d -> 0\.14\d"),
        "check: OK",
    ],
    "process_file.py": [
        "wrote a test clip: 12 frames, 64x48, mpeg4",
        "file: gradient.mp4",
        "type: I420 64x48 at 30.000 frames/s",
        "frames: 12",
        "duration: 0.400 s",
        "check: OK (the same frames and luma as a plain PyAV decode)",
    ],
    "shm_pipeline.py": [
        "consumer: media type NV12 1920x1080",
        re.compile(
            r"consumer: received 20 frames, 0 with wrong bytes; the last one starts at 0\.633 s"
        ),
        re.compile(
            r"producer: sent 20 frames in .*; 4 of 4 samples are home; 0 taken back unreleased"
        ),
    ],
    "shm_launch.py": [
        "consumer: received 20 frames, 0 wrong, 0 not in the producer's memory",
        re.compile(r"producer: sent 20 frames, 0 copies made, 4 of 4 samples home.*"),
        "check: OK",
    ],
}


def run_sample(path: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one sample the way a user would, in ``cwd``."""
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def missing_lines(stdout: str, expected: list[str | re.Pattern[str]]) -> list[str]:
    """The expected lines (or patterns) that no line of ``stdout`` gives."""
    lines = stdout.splitlines()
    missing = []
    for want in expected:
        if isinstance(want, str):
            found = want in lines
        else:
            found = any(want.fullmatch(line) for line in lines)
        if not found:
            missing.append(want if isinstance(want, str) else want.pattern)
    return missing


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_runs(path: Path, tmp_path: Path) -> None:
    """The sample exits 0 and prints every line its table entry expects."""
    if path.name in NEEDS_AV and not HAVE_AV:
        pytest.skip("needs PyAV (the av extra)")
    result = run_sample(path, ARGS.get(path.name, []), tmp_path)
    report = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, report
    assert result.stdout.strip(), report
    assert missing_lines(result.stdout, EXPECTED.get(path.name, [])) == [], report


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_documents_itself(path: Path) -> None:
    """The sample has a module docstring saying how to run it and a ``__main__`` guard."""
    source = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring is not None
    assert f"python samples/{path.name}" in docstring
    assert 'if __name__ == "__main__":' in source


def test_every_table_entry_names_a_sample() -> None:
    """No argument or output table entry outlives its sample."""
    names = {path.name for path in SAMPLES}
    assert set(ARGS) - names == set()
    assert set(EXPECTED) - names == set()


# -- the samples' own checks catch wrong results --------------------------------------------


@pytest.fixture
def load_sample() -> Iterator[Any]:
    """Import a sample as a module (its ``main`` then runs in this process)."""
    loaded: list[str] = []

    def load(name: str) -> ModuleType:
        module_name = f"_sample_{name.removesuffix('.py')}"
        spec = importlib.util.spec_from_file_location(module_name, SAMPLES_DIR / name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        loaded.append(module_name)
        spec.loader.exec_module(module)
        return module

    yield load
    for module_name in loaded:
        sys.modules.pop(module_name, None)


def test_custom_filters_detects_a_broken_transform(
    load_sample: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the mirror transform doing nothing, custom_filters reports the checksum and
    returns 1."""
    sample = load_sample("custom_filters.py")
    monkeypatch.setattr(sample.Mirror, "Transform", lambda self, s: True)
    assert sample.main(["--frames", "3", "--width", "16", "--height", "8"]) == 1
    assert "FAILED: the checksum differs from the recomputed frames" in capsys.readouterr().out


def test_video_meta_detects_a_pool_too_small_for_padding(
    load_sample: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source sizing its pool for the tight layout gets no VIDEO_META (the padded frame
    does not fit), and video_meta reports that and returns 1."""
    sample = load_sample("video_meta.py")

    def tight(self: Any, allocator: Any, request: Any) -> None:
        size = self.output.ConnectionMediaType().sample_size
        sample.size_allocator(allocator, request, buffers=self.buffers, buffer_size=size)

    monkeypatch.setattr(sample.PatternSource, "DecideBufferSize", tight)
    assert sample.main(["--frames", "2"]) == 1
    out = capsys.readouterr().out
    assert "  rendered 2 frames, 0 with VIDEO_META" in out.splitlines()
    assert out.splitlines()[-1] == "check: FAILED"


def test_custom_allocator_counts_blocks_in_process(
    load_sample: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run in this process, the custom allocator's graph leaves every block freed and the
    registry answers with it by name."""
    from dshow_alloc import find_allocator

    sample = load_sample("custom_allocator.py")
    assert sample.main(["--frames", "5"]) == 0
    allocator = find_allocator("PatternMemory")
    assert isinstance(allocator, sample.PatternMemoryAllocator)
    assert (allocator.allocated, allocator.freed) == (7, 7)
    assert "graph: rendered 5 samples from 4 blocks allocated" in capsys.readouterr().out


@pytest.mark.skipif(not HAVE_AV, reason="needs PyAV (the av extra)")
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command")
def test_process_file_takes_a_path(tmp_path: Path) -> None:
    """Given a file with a 4:4:4 video stream and an audio stream, process_file decodes all
    25 frames into I420 and agrees with PyAV."""
    clip = tmp_path / "mixed.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=25:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:v",
            "ffv1",
            "-pix_fmt",
            "yuv444p",
            "-c:a",
            "pcm_s16le",
            str(clip),
        ],
        check=True,
        timeout=30,
    )
    result = run_sample(SAMPLES_DIR / "process_file.py", [str(clip)], tmp_path)
    report = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, report
    expected: list[str | re.Pattern[str]] = [
        "file: mixed.mkv",
        "type: I420 96x64 at 25.000 frames/s",
        "frames: 25",
        "duration: 1.000 s",
        "check: OK (the same frames and luma as a plain PyAV decode)",
    ]
    assert missing_lines(result.stdout, expected) == [], report
