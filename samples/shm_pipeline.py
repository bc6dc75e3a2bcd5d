"""Two processes, one pool: 1080p NV12 frames cross from a producer to a consumer without a copy.

The producer (this process) fills samples from a ``"SharedMemory"`` pool and sends them with a
`SampleSender`; the consumer (a child process) receives them with a `SampleReceiver`, reads
them and releases them, and each released sample goes back to the producer's pool. Only a
small header crosses the socket: the consumer maps the producer's frames. The sender's
greeting announces the stream's media type; the consumer reads it (``handshake``) before it
asks for frames (``start``), so a consumer that did not want this type could leave having
taken none.

Run it::

    python samples/shm_pipeline.py               # 300 frames
    python samples/shm_pipeline.py --frames 1000

Nothing is left behind: the socket lives at a Linux abstract address (no file), and the
frames are memfds that vanish with the last process using them, even after ``kill -9``.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import sys
import time

from dshow_alloc import (
    MEDIASUBTYPE_NV12,
    FORMAT_VideoInfo,
    MediaType,
    MEDIATYPE_Video,
    MemAllocator,
    PoolConfig,
    VideoInfoHeader,
)
from dshow_alloc.ipc import Listener, SampleReceiver, SampleSender, connect

WIDTH, HEIGHT = 1920, 1080
LUMA = WIDTH * HEIGHT  # the Y plane: one byte per pixel
FRAME = LUMA * 3 // 2  # then the interleaved UV plane at half resolution: 3,110,400 bytes
FRAME_TIME = 333_333  # 30 frames/s, in 100 ns units (REFERENCE_TIME)
NV12 = MediaType(
    MEDIATYPE_Video,
    MEDIASUBTYPE_NV12,
    FORMAT_VideoInfo,
    VideoInfoHeader(WIDTH, HEIGHT, bit_count=12, avg_time_per_frame=FRAME_TIME, image_size=FRAME),
    sample_size=FRAME,
)


def fill(data: memoryview, luma: int, chroma: int) -> None:
    """Paint a frame in one flat colour: ``luma`` in every Y byte, ``chroma`` in every U/V."""
    anchor = ctypes.c_char.from_buffer(data)  # the address of the sample's bytes
    try:
        address = ctypes.addressof(anchor)
        ctypes.memset(address, luma, LUMA)
        ctypes.memset(address + LUMA, chroma, FRAME - LUMA)
    finally:
        del anchor  # a live ctypes export would keep the view from being released


def consume(address: str) -> None:
    """The consumer process: receive until the producer ends the stream."""
    received = wrong = 0
    last_time = 0
    # connect() waits (up to its timeout) for the producer to listen. start=False: no frame
    # is sent before this consumer asks for them.
    with SampleReceiver(connect(address, timeout=10), start=False) as receiver:
        print(f"consumer: pid {os.getpid()} connected to producer pid {receiver.peer_pid}")
        media_type = receiver.handshake(timeout=10)  # the type the producer announced
        if media_type != NV12:
            print(f"consumer: not the NV12 stream expected: {media_type}")
            sys.exit(1)  # leaving now takes nothing from the producer
        print(f"consumer: media type NV12 {media_type.format.width}x{media_type.format.height}")
        receiver.start()  # now the producer sends
        # Iterating receives until end of stream: the producer closed (or died).
        for sample in receiver:
            with sample:  # leaving the block releases it: it goes home to the producer's pool
                data = sample.GetPointer()  # read-only: the producer's bytes, mapped here
                expected = received & 0xFF
                if data[0] != expected or data[LUMA - 1] != expected or data[LUMA] != 128:
                    wrong += 1
                data.release()
                last_time, _stop = sample.GetTime()
                received += 1
    print(
        f"consumer: received {received} frames, {wrong} with wrong bytes; "
        f"the last one starts at {last_time / 10_000_000:.3f} s"
    )
    sys.stdout.flush()


def produce(frames: int, buffers: int) -> int:
    """The producer: start the consumer, send ``frames`` frames, report. 0 when all went well."""
    pool = MemAllocator(name="nv12-pool")
    pool.SetConfig(
        PoolConfig(
            FRAME,
            min_buffers=buffers,
            max_buffers=buffers,
            align=4096,
            memory_allocator="SharedMemory",  # memfd blocks another process can map
        )
    )
    pool.Commit()
    print(
        f"producer: pid {os.getpid()}, pool of {buffers} samples of {FRAME:,} bytes "
        "in shared memory"
    )
    # "spawn" starts a fresh interpreter (no fork of this process's threads and locks).
    context = multiprocessing.get_context("spawn")
    with Listener() as listener:  # an abstract address: no file to clean up
        consumer = context.Process(target=consume, args=(listener.address,), name="consumer")
        consumer.start()
        # The greeting announces the stream's type; send() waits until the consumer asks.
        sender = SampleSender(listener.accept(timeout=10), name="nv12-sender", media_type=NV12)
    began = time.perf_counter()
    with sender:  # leaving it ends the stream and waits for the consumer to release everything
        for index in range(frames):
            # Blocks while every sample is with the consumer: the pool paces the producer.
            with pool.GetBuffer(timeout=10) as sample:
                data = sample.GetPointer()
                fill(data, luma=index & 0xFF, chroma=128)
                data.release()
                sample.SetTime(index * FRAME_TIME, (index + 1) * FRAME_TIME)
                sample.SetSyncPoint(True)
                sender.send(sample, timeout=10)  # the sender keeps its own reference
            # Our reference is released here; the sample comes home when the consumer's is.
        sender.wait_idle(timeout=10)
        elapsed = time.perf_counter() - began
    consumer.join(timeout=10)
    home = pool.GetFreeCount()
    print(
        f"producer: sent {sender.sent} frames in {elapsed:.3f} s "
        f"({frames / elapsed:,.0f} frames/s); {home} of {buffers} samples are home; "
        f"{sender.reclaimed} taken back unreleased"
    )
    pool.Decommit()
    return 0 if consumer.exitcode == 0 and home == buffers and sender.reclaimed == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the producer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames to send (300)")
    parser.add_argument("--buffers", type=int, default=4, help="samples in the pool (4)")
    args = parser.parse_args(argv)
    return produce(args.frames, args.buffers)


if __name__ == "__main__":  # required: the "spawn" child imports this file without running it
    sys.exit(main())
