"""Graphs on Ray: one stream through three actors, then one launch line over many files.

1. A three-stage pipeline across Ray actors (`dshow_alloc.distributed.RayPipeline`): a file
   is read in one actor (``y4msrc ! raysink``), inverted in a second (``raysrc ! invert !
   raysink``) and written in a third (``raysrc ! y4msink``). The stages know each other only
   by the channels the pipeline names; each sample crosses through Ray's object store, and
   the producer never has more samples in flight than the consumer's pool holds.
2. The same inversion over many files (`dshow_alloc.distributed.run_many`): one Ray task per
   file, as many at once as the cluster has CPUs, with a progress bar.

Each part checks its own output: every written frame must be the input frame inverted.
The input files are made first with the project's own ``videotestsrc ! y4msink``.

Run it as it is (it starts a local Ray with this machine's CPUs), or on a cluster: ``ray
start --head`` on one machine, ``ray start --address=HEAD:6379`` on the others, then
``RAY_ADDRESS=auto python samples/ray_pipeline.py`` on the head (the files must then be on a
path every node sees, such as a shared file system: give ``--folder``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import ray

from dshow_alloc import parse_launch, run_graph
from dshow_alloc.distributed import RayPipeline, run_many


def make_input(path: Path, frames: int, width: int, height: int, pattern: str) -> None:
    """Write ``frames`` test frames to ``path`` with the project's own filters."""
    line = (
        f"videotestsrc pattern={pattern} num-buffers={frames} "
        f"! video/x-raw,format=I420,width={width},height={height},framerate=25/1 "
        f"! y4msink location={path}"
    )
    report = run_graph(parse_launch(line).graph)
    if not report.succeeded:
        raise SystemExit(f"could not make {path}: {report.completion}")


def frames_of(path: Path) -> list[bytes]:
    """The frames of a YUV4MPEG2 file (4:2:0), as bytes."""
    data = path.read_bytes()
    start = data.index(b"\n") + 1
    tags = {tag[:1]: tag[1:] for tag in data[:start].split()[1:]}
    size = int(tags[b"W"]) * int(tags[b"H"]) * 3 // 2
    frames = []
    offset = start
    while offset < len(data):
        offset = data.index(b"\n", offset) + 1  # the FRAME line
        frames.append(data[offset : offset + size])
        offset += size
    return frames


def inverted(frames: list[bytes]) -> list[bytes]:
    """Every byte of every frame as ``255 - byte``."""
    table = bytes(255 - value for value in range(256))
    return [frame.translate(table) for frame in frames]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames in each input file")
    parser.add_argument("--files", type=int, default=4, help="files for the many-files part")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--folder", type=Path, help="where to write (default: a temporary one)")
    args = parser.parse_args()

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init()  # joins the cluster RAY_ADDRESS names
        else:
            ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False)
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)

        # 1. One stream through three actors.
        source, out = folder / "clip.y4m", folder / "clip.inverted.y4m"
        make_input(source, args.frames, args.width, args.height, "ball")
        with RayPipeline(
            [
                f"y4msrc location={source} ! raysink",
                "raysrc ! invert ! raysink",
                f"raysrc ! y4msink location={out}",
            ]
        ) as pipeline:
            reports = pipeline.run(timeout=120)
        for index, report in enumerate(reports):
            assert report is not None
            print(f"stage {index}: {report.completion}, {report.samples} samples, {report.copies}")
        written = frames_of(out)
        if written != inverted(frames_of(source)):
            print(f"pipeline: WRONG: {len(written)} frames written, not the inverted input")
            ok = False
        else:
            print(f"pipeline: {len(written)} frames read, inverted and written by 3 actors")

        # 2. One launch line over many files, as Ray tasks.
        inputs = []
        for index in range(args.files):
            path = folder / f"input{index}.y4m"
            make_input(path, args.frames // 2 + index, args.width, args.height, "smpte")
            inputs.append(path)
        results = run_many(
            f"y4msrc location={{input}} ! invert ! y4msink location={folder}/{{stem}}.out.y4m",
            inputs,
            num_cpus=0.5,
        )
        good = 0
        for result, path in zip(results, inputs, strict=True):
            expected = inverted(frames_of(path))
            got = frames_of(folder / f"{path.stem}.out.y4m") if result.succeeded else None
            if got == expected:
                good += 1
            else:
                print(f"many: WRONG: {path.name}: {result.error or 'frames differ'}")
        print(f"many: {good} of {len(inputs)} files inverted, one Ray task each")
        ok = ok and good == len(inputs)
    ray.shutdown()
    print("check: OK" if ok else "check: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
