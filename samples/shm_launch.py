"""Two graphs in two processes, joined by shmsink and shmsrc: frames cross without a copy.

The producer (this process) runs ``FrameSource -> shmsink``; the consumer (a child process)
runs ``shmsrc -> FrameChecker``. shmsink makes the producer's pool allocate its frames in
shared memory (memfds); only a small header per frame crosses the Unix socket, and shmsrc
delivers the producer's own pages, mapped read-only, as its samples. Each frame goes back to
the producer's pool when the consumer's renderer has released it. The consumer types no caps:
shmsrc asks the producer for the stream's type when its graph is built.

The same two graphs from the command line (two terminals)::

    dshow-alloc launch "videotestsrc num-buffers=300 ! video/x-raw,format=I420 \\
        ! shmsink socket-path=/tmp/video"
    dshow-alloc launch "shmsrc socket-path=/tmp/video ! y4msink location=/tmp/out.y4m"

Run it::

    python samples/shm_launch.py                 # 60 frames of 320x240 I420
    python samples/shm_launch.py --frames 300
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from pathlib import Path
from typing import Any

from dshow_alloc import (
    EC_COMPLETE,
    AbortError,
    FilterGraph,
    RendererFilter,
    SourceFilter,
    caps_of,
    make_filter,
    video_type,
)
from dshow_alloc.ipc import ReceivedMemory

WIDTH, HEIGHT = 320, 240
LUMA = WIDTH * HEIGHT  # I420: the Y plane, then U and V at a quarter of its size each
FRAME = LUMA * 3 // 2  # 115,200 bytes
FRAME_TIME = 333_333  # 30 frames/s, in 100 ns units


class FrameSource(SourceFilter):
    """The producer's source: frame ``i`` has every Y byte ``i % 256`` and grey chroma."""

    def __init__(self, frames: int) -> None:
        media_type = video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME)
        super().__init__(name="frames", media_type=media_type, buffers=4)
        self.frames = frames
        self.index = 0

    def FillBuffer(self, sample: Any) -> bool:
        """Paint the next frame; False after the last one ends the stream."""
        if self.index == self.frames:
            return False
        data = sample.GetPointer()  # the sample's bytes: shared memory, thanks to shmsink
        data[:LUMA] = bytes([self.index % 256]) * LUMA
        data[LUMA:FRAME] = b"\x80" * (FRAME - LUMA)
        data.release()
        sample.SetActualDataLength(FRAME)
        sample.SetTime(self.index * FRAME_TIME, (self.index + 1) * FRAME_TIME)
        sample.SetSyncPoint(True)
        self.index += 1
        return True


class FrameChecker(RendererFilter):
    """The consumer's renderer: checks each frame's bytes and time, and where its memory is."""

    def __init__(self) -> None:
        super().__init__(name="checker", sync=False)  # as fast as frames come
        self.frames = self.wrong = self.copied = 0

    def CheckMediaType(self, media_type: Any) -> bool:
        """Only the producer's 320x240 I420 frames."""
        return bool(media_type == video_type("I420", WIDTH, HEIGHT, avg_time_per_frame=FRAME_TIME))

    def DoRenderSample(self, sample: Any) -> None:
        """Count the frame; note a wrong byte or time, or memory that is not the producer's."""
        data = sample.GetPointer()  # read-only: these are the producer's pages
        start, stop = sample.GetTime()
        index = self.frames
        if (
            data[0] != index % 256
            or data[LUMA - 1] != index % 256
            or data[LUMA] != 0x80
            or (start, stop) != (index * FRAME_TIME, (index + 1) * FRAME_TIME)
        ):
            self.wrong += 1
        data.release()
        if not isinstance(sample.PeekMemory(0), ReceivedMemory):
            self.copied += 1  # never happens: shmsrc delivers what it received
        self.frames += 1


def consume(socket_path: str) -> None:
    """The consumer process: shmsrc -> FrameChecker until the producer ends the stream."""
    with FilterGraph(clock=None) as graph:
        # No caps: connecting, shmsrc asks the producer for the type (waiting up to `timeout`
        # seconds for its socket to appear), and takes no frame doing so.
        source = make_filter("shmsrc", **{"socket-path": socket_path, "timeout": 10.0})
        checker = FrameChecker()
        graph.connect_chain(source, checker)
        print(f"consumer: the producer sends {caps_of(source.output.ConnectionMediaType())}")
        graph.Run()  # now shmsrc connects again, checks the type and asks for the frames
        completion = graph.WaitForCompletion(30_000)
    print(
        f"consumer: received {checker.frames} frames, {checker.wrong} wrong, "
        f"{checker.copied} not in the producer's memory"
    )
    sys.stdout.flush()
    ok = completion == EC_COMPLETE and checker.wrong == 0 and checker.copied == 0
    sys.exit(0 if ok else 1)


def produce(frames: int, socket_path: Path) -> int:
    """The producer: start the consumer, run FrameSource -> shmsink, report. 0 when all went
    well."""
    # "spawn" starts a fresh interpreter (no fork of this process's threads).
    context = multiprocessing.get_context("spawn")
    consumer = context.Process(target=consume, args=(str(socket_path),), name="consumer")
    consumer.start()
    with FilterGraph(clock=None) as graph:
        source = FrameSource(frames)
        # wait-for-connection (the default) holds the first frame until the consumer connects.
        sink = make_filter("shmsink", **{"socket-path": socket_path})
        graph.connect_chain(source, sink)
        pool = source.output.allocator  # shmsink's proposal made it allocate shared memory
        print(f"producer: {pool.memory_allocator.mem_type} pool of 4 frames; socket {socket_path}")
        graph.Run()
        completion = None
        while completion is None:
            try:
                completion = graph.WaitForCompletion(200)
            except AbortError:  # not finished yet
                if not consumer.is_alive():
                    break  # the consumer failed: no reader will come, stop waiting for one
        home = pool.GetFreeCount()
    # Stopping removed the socket file; the memfds vanish with the last process mapping them.
    consumer.join(timeout=30)
    print(
        f"producer: sent {sink.sent} frames, {sink.copies} copies made, "
        f"{home} of 4 samples home, socket removed: {not socket_path.exists()}"
    )
    ok = (
        completion == EC_COMPLETE
        and consumer.exitcode == 0
        and sink.sent == frames
        and sink.copies == 0
        and home == 4
    )
    print("check: OK" if ok else "check: FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the producer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames to send (60)")
    parser.add_argument("--socket", type=Path, help="socket path (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.socket is not None:
        return produce(args.frames, args.socket)
    with tempfile.TemporaryDirectory(prefix="shm-launch-") as directory:
        return produce(args.frames, Path(directory) / "video")


if __name__ == "__main__":  # required: the "spawn" child imports this file without running it
    sys.exit(main())
