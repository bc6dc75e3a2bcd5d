"""dshow_alloc.ipc: shared-memory samples cross to real processes and come home."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dshow_alloc import (
    MEDIASUBTYPE_NV12,
    VIDEO_META,
    FailError,
    FORMAT_VideoInfo,
    InvalidArgError,
    MapFlags,
    MediaSample,
    MediaType,
    MEDIATYPE_Video,
    MemAllocator,
    NotImplError,
    PoolConfig,
    UnexpectedError,
    VfwNotConnectedError,
    VfwTimeoutError,
    VideoInfoHeader,
    find_allocator,
)
from dshow_alloc.ipc import (
    PROTOCOL_VERSION,
    Listener,
    ReceivedMemoryAllocator,
    SampleReceiver,
    SampleSender,
    connect,
    socket_pair,
    unique_address,
)
from dshow_alloc.meta import TAG_MEMORY_REFERENCE, register_meta
from dshow_alloc.video import video_layout

FRAME_1080P = 1920 * 1080 * 3 // 2
NV12 = MediaType(
    MEDIATYPE_Video,
    MEDIASUBTYPE_NV12,
    FORMAT_VideoInfo,
    VideoInfoHeader(1920, 1080, bit_count=12, image_size=FRAME_1080P),
)
NV12_LAYOUT = video_layout(NV12)
REPO = Path(__file__).resolve().parent.parent
WAIT = 10.0  # seconds a step may take before a test fails (well inside pytest-timeout)


PLAIN_META = register_meta("test-ipc-plain")
"""Plain-data fields: crosses."""
REFERENCE_META = register_meta("test-ipc-reference", tags=(TAG_MEMORY_REFERENCE,))
"""About the sender's memory itself: stays behind."""
# A child runs this file with runpy.run_path (module name "<run_path>"): it lacks this API.
PARENT_ONLY_META = None if __name__ == "<run_path>" else register_meta("test-ipc-parent-only")

# -- child processes ---------------------------------------------------------------------------
#
# A child runs one of the ``child_*`` functions below in a fresh interpreter
# (``python -c`` + runpy of this file), talks JSON lines on stdout and takes commands on stdin.


def _emit(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _sample_report(sample: MediaSample) -> dict[str, Any]:
    data = bytes(sample.GetPointer())
    try:
        start, stop = sample.GetTime()
    except Exception:
        start, stop = None, None
    try:
        media_time: list[int] | None = list(sample.GetMediaTime())
    except Exception:
        media_time = None
    media_type = sample.GetMediaType()
    return {
        "event": "sample",
        "start": start,
        "stop": stop,
        "media_time": media_time,
        "sync": sample.IsSyncPoint(),
        "discontinuity": sample.IsDiscontinuity(),
        "preroll": sample.IsPreroll(),
        "actual": sample.GetActualDataLength(),
        "size": sample.GetSize(),
        "blocks": sample.GetMemoryCount(),
        "read_only": sample.IsReadOnly(),
        "first": data[0] if data else None,
        "last": data[-1] if data else None,
        "crc": zlib.crc32(data),
        "media_type": None if media_type is None else media_type.format.width,
        "metas": [[meta.api, meta.fields] for meta in sample.IterMeta()],
    }


def _child_socket(how: str, target: str) -> socket.socket:
    if how == "fd":
        return socket.socket(fileno=int(target))
    return connect(target, timeout=WAIT)


def child_receiver(how: str, target: str, hold: str) -> None:
    """Report every sample; hold the first ``hold`` until told to release them."""
    held: list[MediaSample] = []
    count = 0
    with SampleReceiver(_child_socket(how, target)) as receiver:
        _emit(event="connected", pid=os.getpid())
        while (sample := receiver.receive(timeout=WAIT)) is not None:
            count += 1
            _emit(**_sample_report(sample))
            if len(held) < int(hold):
                held.append(sample)
                if len(held) == int(hold):
                    _emit(event="holding", count=len(held))
                    if sys.stdin.readline().strip() == "release":
                        for kept in held:
                            kept.Release()
                        _emit(event="released")
            else:
                sample.Release()
        _emit(event="eos", count=count)


def child_sender(target: str, count: str, size: str) -> None:
    """Send ``count`` samples filled with 1, 2, ...; on "exit", close and leave."""
    pool = MemAllocator(name="child-pool")
    pool.SetConfig(PoolConfig(int(size), int(count), int(count), memory_allocator="SharedMemory"))
    pool.Commit()
    with SampleSender(connect(target, timeout=WAIT)) as sender:
        for index in range(int(count)):
            with pool.GetBuffer(timeout=WAIT) as sample:
                data = sample.GetPointer()
                data[:] = bytes([index + 1]) * len(data)
                data.release()
                sample.SetTime(index, index + 1)
                sender.send(sample, timeout=WAIT)
        _emit(event="sent", count=int(count), pid=os.getpid())
        sys.stdin.readline()
    pool.Decommit()
    _emit(event="done")


class Child:
    """A child process running one ``child_*`` function; killed if still alive at the end."""

    def __init__(self, function: str, *args: str, pass_fds: tuple[int, ...] = ()) -> None:
        boot = "import runpy, sys; runpy.run_path(sys.argv[1])[sys.argv[2]](*sys.argv[3:])"
        self.process = subprocess.Popen(
            [sys.executable, "-c", boot, __file__, function, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=pass_fds,
            cwd=REPO,
            bufsize=0,
        )
        self._pending = b""
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def expect(self, event: str, timeout: float = WAIT) -> dict[str, Any]:
        """The next ``event`` line (the lines before it are kept in ``events``)."""
        stdout = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                record: dict[str, Any] = json.loads(line)
                self.events.append(record)
                if record["event"] == event:
                    return record
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                raise AssertionError(f"no {event!r} from the child within {timeout} s")
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"the child exited ({self.process.wait()}) before {event!r}")
            self._pending += chunk

    def tell(self, command: str) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(command.encode() + b"\n")
        stdin.flush()

    def kill(self) -> None:
        """``kill -9`` and reap."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(WAIT)

    def wait(self) -> int:
        return self.process.wait(WAIT)


# -- fixtures and helpers ----------------------------------------------------------------------


def _pool(buffers: int, size: int = 65536, name: str = "ipc-pool") -> MemAllocator:
    pool = MemAllocator(name=name)
    pool.SetConfig(PoolConfig(size, buffers, buffers, memory_allocator="SharedMemory"))
    pool.Commit()
    return pool


@pytest.fixture
def pool() -> Iterator[MemAllocator]:
    """Four 64 KiB shared-memory samples, decommitted at the end."""
    allocator = _pool(4)
    yield allocator
    allocator.Decommit()


@pytest.fixture
def pair() -> Iterator[tuple[SampleSender, SampleReceiver]]:
    """A sender and a receiver in this process, on a socket pair."""
    first, second = socket_pair()
    with SampleSender(first, name="test-sender") as sender, SampleReceiver(second) as receiver:
        yield sender, receiver


def _wait_until(predicate: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _filled(pool: MemAllocator, value: int) -> MediaSample:
    sample = pool.GetBuffer(timeout=WAIT)
    data = sample.GetPointer()
    data[:] = bytes([value]) * len(data)
    data.release()
    return sample


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _memfd_mappings() -> int:
    return Path("/proc/self/maps").read_text().count("memfd:dshow-alloc")


def _abstract_sockets() -> set[str]:
    names = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("@"):
            names.add(fields[7][1:])
    return names


def _socket_files() -> set[str]:
    found = set()
    for folder in {tempfile.gettempdir(), str(REPO)}:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                        found.add(entry.path)
    return found


# -- crossing to a real process ----------------------------------------------------------------


def test_samples_cross_with_their_state_and_go_home(pool: MemAllocator) -> None:
    """Ten samples reach a child with their bytes, times, flags, type and metas (an API the
    child does not have is left off), and all come home."""
    ours, theirs = socket_pair()
    with Child(
        "child_receiver", "fd", str(theirs.fileno()), "0", pass_fds=(theirs.fileno(),)
    ) as child:
        theirs.close()
        with SampleSender(ours) as sender:
            child.expect("connected")
            for index in range(10):
                with _filled(pool, index + 1) as sample:
                    sample.SetTime(index * 1000, index * 1000 + 1000)
                    sample.SetMediaTime(index, index + 1)
                    sample.SetSyncPoint(index % 3 == 0)
                    sample.SetDiscontinuity(index == 5)
                    sample.SetPreroll(index == 9)
                    sample.SetActualDataLength(1000 + index)
                    if index == 2:
                        sample.SetMediaType(NV12)
                    if index == 4:
                        assert PARENT_ONLY_META is not None
                        sample.AddMeta(VIDEO_META, **NV12_LAYOUT.meta_fields())
                        sample.AddMeta(PARENT_ONLY_META, note="the child has no such API")
                    sender.send(sample, timeout=WAIT)
            sender.close(timeout=WAIT)
            assert (sender.sent, sender.reclaimed, sender.in_flight) == (10, 0, 0)
        assert child.expect("eos")["count"] == 10
        assert child.wait() == 0
    reports = [event for event in child.events if event["event"] == "sample"]
    assert [r["first"] for r in reports] == list(range(1, 11))
    assert [r["last"] for r in reports] == list(range(1, 11))
    assert [(r["start"], r["stop"]) for r in reports] == [
        (i * 1000, i * 1000 + 1000) for i in range(10)
    ]
    assert [r["media_time"] for r in reports] == [[i, i + 1] for i in range(10)]
    assert [r["sync"] for r in reports] == [i % 3 == 0 for i in range(10)]
    assert [r["discontinuity"] for r in reports] == [i == 5 for i in range(10)]
    assert [r["preroll"] for r in reports] == [i == 9 for i in range(10)]
    assert [r["actual"] for r in reports] == [1000 + i for i in range(10)]
    assert [r["media_type"] for r in reports] == [1920 if i == 2 else None for i in range(10)]
    video = json.loads(json.dumps(NV12_LAYOUT.meta_fields()))  # as the child reports it
    assert [r["metas"] for r in reports] == [
        [["video-meta", video]] if i == 4 else [] for i in range(10)
    ]
    assert {(r["size"], r["blocks"], r["read_only"]) for r in reports} == {(65536, 1, True)}
    assert pool.GetFreeCount() == 4


def test_1080p_frames_arrive_byte_for_byte() -> None:
    """Full NV12 frames with a different pattern each are byte-equal on the other side."""
    pool = _pool(3, FRAME_1080P, name="nv12")
    try:
        with (
            Listener() as listener,
            Child("child_receiver", "address", listener.address, "0") as child,
        ):
            with SampleSender(listener.accept(timeout=WAIT)) as sender:
                crcs = []
                for index in range(6):
                    with pool.GetBuffer(timeout=WAIT) as sample:
                        data = sample.GetPointer()
                        pattern = bytes((index * 7 + i) & 0xFF for i in range(256))
                        data[:] = pattern * (len(data) // 256) + pattern[: len(data) % 256]
                        crcs.append(zlib.crc32(data))
                        data.release()
                        sender.send(sample, timeout=WAIT)
                sender.close(timeout=WAIT)
            assert child.expect("eos")["count"] == 6
        reports = [event for event in child.events if event["event"] == "sample"]
        assert [r["crc"] for r in reports] == crcs
        assert {r["size"] for r in reports} == {FRAME_1080P}
        assert pool.GetFreeCount() == 3
    finally:
        pool.Decommit()


def test_a_held_sample_stays_out_until_the_child_releases_it(pool: MemAllocator) -> None:
    """The pool gets a sample back when the receiver releases it, not when the sender does."""
    with Listener() as listener, Child("child_receiver", "address", listener.address, "2") as child:
        with SampleSender(listener.accept(timeout=WAIT)) as sender:
            for value in (1, 2):
                with _filled(pool, value) as sample:
                    sender.send(sample, timeout=WAIT)
                    assert sample.ref_count == 2  # ours and the sender's
            child.expect("holding")
            assert (pool.GetFreeCount(), sender.in_flight) == (2, 2)
            assert not sender.wait_idle(0.1)
            child.tell("release")
            child.expect("released")
            assert sender.wait_idle(WAIT)
            assert pool.GetFreeCount() == 4
            assert sender.reclaimed == 0
        assert child.expect("eos")["count"] == 2


# -- failures: kill -9 and leftovers -----------------------------------------------------------


def test_receiver_killed_gives_every_sample_back() -> None:
    """kill -9 of the receiver: the sender notices and all four samples go home."""
    fds_before, maps_before = _fd_count(), _memfd_mappings()
    pool = _pool(4)
    with Listener() as listener, Child("child_receiver", "address", listener.address, "3") as child:
        sender = SampleSender(listener.accept(timeout=WAIT))
        try:
            for value in range(4):
                with _filled(pool, value) as sample:
                    sender.send(sample, timeout=WAIT)
            child.expect("holding")  # three held; the fourth waits unread in the socket
            assert (sender.in_flight, pool.GetFreeCount()) == (4, 0)
            child.kill()
            assert sender.wait_idle(WAIT)
            assert (pool.GetFreeCount(), sender.reclaimed, sender.connected) == (4, 4, False)
            with pool.GetBuffer() as sample, pytest.raises(VfwNotConnectedError):
                sender.send(sample)
            assert pool.GetFreeCount() == 4
        finally:
            sender.close()
    pool.Decommit()
    gc.collect()
    assert (_fd_count(), _memfd_mappings()) == (fds_before, maps_before)


def test_producer_blocked_in_get_buffer_wakes_when_the_receiver_dies() -> None:
    """A GetBuffer waiting for samples the dead receiver held returns once the sender sees it."""
    pool = _pool(2)
    try:
        with (
            Listener() as listener,
            Child("child_receiver", "address", listener.address, "2") as child,
            SampleSender(listener.accept(timeout=WAIT)) as sender,
        ):
            for value in (1, 2):
                with _filled(pool, value) as sample:
                    sender.send(sample, timeout=WAIT)
            child.expect("holding")
            killer = threading.Timer(0.2, child.kill)
            killer.start()
            began = time.monotonic()
            with pool.GetBuffer(timeout=WAIT) as sample:
                assert time.monotonic() - began < WAIT
            killer.join()
            assert sender.reclaimed == 2
        assert pool.GetFreeCount() == 2
    finally:
        pool.Decommit()


def test_sender_killed_leaves_the_receivers_mappings_valid() -> None:
    """kill -9 of the sender: received samples stay readable, then end of stream; no leak."""
    fds_before, maps_before = _fd_count(), _memfd_mappings()
    with Listener() as listener, Child("child_sender", listener.address, "3", "8192") as child:
        with SampleReceiver(listener.accept(timeout=WAIT)) as receiver:
            assert receiver.peer_pid == child.pid
            received = [receiver.receive(timeout=WAIT) for _ in range(3)]
            child.expect("sent")
            child.kill()
            assert receiver.receive(timeout=WAIT) is None
            assert receiver.ended and receiver.cached_mappings == 0
            for value, sample in enumerate(received, 1):
                assert sample is not None
                assert bytes(sample.GetPointer()) == bytes([value]) * 8192
                assert sample.GetTime() == (value - 1, value)
                assert sample.Release() == 0  # the release message goes nowhere: no error
            assert receiver.receive(timeout=0) is None
        del received, sample
    gc.collect()
    assert (_fd_count(), _memfd_mappings()) == (fds_before, maps_before)


def test_kill_both_leaves_no_shared_memory_or_socket_behind() -> None:
    """After kill -9 of both ends: no /dev/shm entry, no socket file, no abstract address."""
    shm_before, sockets_before = set(os.listdir("/dev/shm")), _socket_files()
    address = unique_address("dshow-alloc-test")
    # The sender listens this time: the receiver's connect() retries until it does.
    with (
        Child("child_receiver", "address", address, "2") as receiver_child,
        Child("child_sender_listening", address, "4", "65536") as sender_child,
    ):
        sender_child.expect("sent")
        receiver_child.expect("holding")
        assert address in _abstract_sockets()
        sender_child.kill()
        receiver_child.kill()
    assert address not in _abstract_sockets()
    assert set(os.listdir("/dev/shm")) == shm_before
    assert _socket_files() <= sockets_before


def child_sender_listening(address: str, count: str, size: str) -> None:
    """Like `child_sender`, but listening at ``address`` for the receiver."""
    pool = MemAllocator(name="child-pool")
    pool.SetConfig(PoolConfig(int(size), int(count), int(count), memory_allocator="SharedMemory"))
    pool.Commit()
    with Listener(address) as listener:
        sock = listener.accept(timeout=WAIT)
        with SampleSender(sock) as sender:
            for index in range(int(count)):
                with pool.GetBuffer(timeout=WAIT) as sample:
                    sample.GetPointer()[:1] = bytes([index + 1])
                    sender.send(sample, timeout=WAIT)
            _emit(event="sent", count=int(count))
            sys.stdin.readline()
    pool.Decommit()


# -- release semantics, in one process ---------------------------------------------------------


def test_release_message_counts(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """The receiver's AddRef/Release counts hold the sender's sample exactly as long."""
    sender, receiver = pair
    sample = _filled(pool, 9)
    sender.send(sample)
    assert sample.Release() == 1  # the sender's reference remains
    assert (pool.GetFreeCount(), sender.in_flight) == (3, 1)
    received = receiver.receive(timeout=WAIT)
    assert received is not None
    assert received.AddRef() == 2
    assert received.Release() == 1
    assert not sender.wait_idle(0.05)
    assert received.Release() == 0
    assert sender.wait_idle(WAIT)
    assert pool.GetFreeCount() == 4
    with pytest.raises(UnexpectedError):
        received.GetPointer()


def test_a_block_kept_beyond_its_sample_keeps_the_sample_out(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """A received block that is AddRef'd or shared holds the sender's sample until released."""
    sender, receiver = pair
    with _filled(pool, 5) as sample:
        sender.send(sample)
    received = receiver.receive(timeout=WAIT)
    assert received is not None
    block = received.PeekMemory(0)
    block.AddRef()
    part = block.Share(10, 20)
    assert received.Release() == 0
    block.Release()
    assert not sender.wait_idle(0.05)
    with part.Map() as info:
        assert bytes(info.data) == bytes([5]) * 20
    part.Release()
    assert sender.wait_idle(WAIT)
    assert pool.GetFreeCount() == 4


def test_received_samples_are_read_only(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """A received sample gives read-only views; a copy of it is writable and independent."""
    sender, receiver = pair
    with _filled(pool, 3) as sample:
        sender.send(sample)
    with receiver.receive(timeout=WAIT) as received:  # type: ignore[union-attr]
        assert received.IsReadOnly()
        view = received.GetPointer()
        assert view.readonly
        with pytest.raises(TypeError):
            view[0] = 1
        view.release()
        copy = received.Copy(deep=True)
        with copy.MakeWritable() as writable:
            writable.GetPointer()[0] = 77
    sender.wait_idle(WAIT)
    with pool.GetBuffer() as again:
        assert again.GetPointer()[0] == 3  # the producer's bytes were never written


def test_multi_block_and_block_less_samples_cross(
    pair: tuple[SampleSender, SampleReceiver],
) -> None:
    """Two shared blocks (one a sub-memory) arrive in order; a sample with no block has no hold."""
    sender, receiver = pair
    shared = find_allocator("SharedMemory")
    sample = MediaSample.allocate(100, allocator=shared)
    first = sample.GetPointer()
    first[:] = bytes(range(100))
    first.release()
    other = shared.Alloc(300)
    with other.Map(MapFlags.WRITE) as info:
        info.data[:] = bytes(i % 256 for i in range(300))
    sample.AppendMemory(other.Share(200, 50))
    other.Release()
    sample.SetTime(7, 8)
    sender.send(sample)
    sample.Release()
    received = receiver.receive(timeout=WAIT)
    assert received is not None
    assert (received.GetMemoryCount(), received.GetSize(), received.GetTime()) == (2, 150, (7, 8))
    with received.Map() as mapping:
        assert bytes(mapping.views[0]) == bytes(range(100))
        assert bytes(mapping.views[1]) == bytes(range(200, 250))
    assert received.Release() == 0
    assert sender.wait_idle(WAIT)
    empty = MediaSample()
    empty.SetTime(1, 2)
    sender.send(empty)
    assert sender.in_flight == 0  # nothing to hold on to
    assert empty.Release() == 0
    received = receiver.receive(timeout=WAIT)
    assert received is not None
    assert (received.GetMemoryCount(), received.GetTime()) == (0, (1, 2))
    assert received.Release() == 0


def test_freed_blocks_are_forgotten_by_the_receiver(
    pair: tuple[SampleSender, SampleReceiver],
) -> None:
    """Each memfd crosses once and is cached; when its pool frees it, the cache drops it."""
    sender, receiver = pair
    for generation in range(12):
        pool = _pool(2, 4096, name=f"generation-{generation}")
        for _ in range(3):  # the same two blocks, sent again: mapped once
            for sample in [pool.GetBuffer(), pool.GetBuffer()]:
                sender.send(sample)
                sample.Release()
            for _ in range(2):
                received = receiver.receive(timeout=WAIT)
                assert received is not None
                received.Release()
        assert receiver.cached_mappings == 2  # this pool's: the last pool's were forgotten
        assert sender.wait_idle(WAIT)
        pool.Decommit()  # frees both blocks: the sender tells the receiver to forget them
        del pool, sample, received
        gc.collect()
        assert sender.known_blocks == 0
    with pytest.raises(VfwTimeoutError):
        receiver.receive(timeout=0.05)  # reads the pending FORGET messages
    assert receiver.cached_mappings == 0


def test_close_waits_for_the_receiver_then_takes_back_the_rest(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """close() gives the receiver its timeout to release, then reclaims what is still held."""
    sender, receiver = pair
    for value in (1, 2):
        with _filled(pool, value) as sample:
            sender.send(sample)
    early = receiver.receive(timeout=WAIT)
    late = receiver.receive(timeout=WAIT)
    assert early is not None and late is not None
    releaser = threading.Timer(0.1, early.Release)
    releaser.start()
    began = time.monotonic()
    sender.close(timeout=0.5)
    releaser.join()
    assert 0.4 < time.monotonic() - began < WAIT
    assert (sender.reclaimed, pool.GetFreeCount()) == (1, 4)
    assert receiver.receive(timeout=WAIT) is None  # end of stream
    late.Release()  # no one to tell: fine
    with pytest.raises(VfwNotConnectedError), pool.GetBuffer() as sample:
        sender.send(sample)


def test_receive_times_out_and_close_wakes_a_waiting_receive(
    pair: tuple[SampleSender, SampleReceiver],
) -> None:
    """receive(timeout) raises VFW_E_TIMEOUT; close() from another thread ends a blocked one."""
    _sender, receiver = pair
    with pytest.raises(VfwTimeoutError) as caught:
        receiver.receive(timeout=0.05)
    assert caught.value.hresult == 0x8004022E
    results: list[object] = []
    waiter = threading.Thread(target=lambda: results.append(receiver.receive()))
    waiter.start()
    time.sleep(0.05)
    receiver.close()
    waiter.join(WAIT)
    assert results == [None] and receiver.ended


# -- the handshake -------------------------------------------------------------------------------


def test_a_receiver_that_does_not_start_is_sent_nothing(pool: MemAllocator) -> None:
    """A receiver made with start=False learns the announced type from the HELLO; until it
    asks, send waits (and times out sending nothing); closing without asking leaves every
    sample home and the sender disconnected."""
    first, second = socket_pair()
    with SampleSender(first, media_type=NV12) as sender:
        receiver = SampleReceiver(second, start=False)
        assert (receiver.started, receiver.media_type) == (False, None)
        assert receiver.handshake(timeout=WAIT) == NV12
        assert receiver.media_type == NV12
        assert not sender.ready
        assert not sender.wait_ready(0.05)
        with _filled(pool, 1) as sample:
            with pytest.raises(VfwTimeoutError, match="did not ask for samples"):
                sender.send(sample, timeout=0.05)
            assert sample.ref_count == 1
        receiver.close()
        assert not sender.wait_ready(WAIT)
        assert _wait_until(lambda: not sender.connected)
        with _filled(pool, 2) as sample, pytest.raises(VfwNotConnectedError):
            sender.send(sample, timeout=WAIT)
        assert (sender.sent, sender.in_flight, sender.reclaimed, pool.GetFreeCount()) == (
            0,
            0,
            0,
            4,
        )


def test_start_asks_for_samples_and_a_waiting_send_goes_out(pool: MemAllocator) -> None:
    """A send made before the receiver's READY waits for it, then goes out; receive starts a
    receiver that was not started."""
    first, second = socket_pair()
    with SampleSender(first) as sender, SampleReceiver(second, start=False) as receiver:
        assert receiver.handshake(timeout=WAIT) is None  # no type announced
        errors: list[BaseException] = []

        def send() -> None:
            try:
                with _filled(pool, 7) as sample:
                    sender.send(sample, timeout=WAIT)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=send)
        thread.start()
        received = receiver.receive(timeout=WAIT)  # sends READY, then gets the sample
        thread.join(WAIT)
        assert errors == [] and receiver.started and sender.ready
        assert received is not None
        assert received.GetPointer()[0] == 7
        received.Release()
        assert sender.wait_idle(WAIT)
        receiver.start()  # again: nothing more is sent
        assert sender.ready and sender.sent == 1


def test_the_sender_remembers_the_type_it_told(pool: MemAllocator) -> None:
    """SampleSender.media_type is the HELLO's type, then that of the last sample sent with
    one."""
    other = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, VideoInfoHeader(2, 2))
    first, second = socket_pair()
    with SampleSender(first, media_type=NV12) as sender, SampleReceiver(second) as receiver:
        assert sender.media_type == NV12
        with _filled(pool, 1) as sample:
            sender.send(sample, timeout=WAIT)
        assert sender.media_type == NV12
        with _filled(pool, 2) as sample:
            sample.SetMediaType(other)
            sender.send(sample, timeout=WAIT)
        assert sender.media_type == other
        for _ in range(2):
            received = receiver.receive(timeout=WAIT)
            assert received is not None
            received.Release()


def test_handshake_failures_are_clear() -> None:
    """handshake times out without a HELLO, reports a peer that closed before one, and
    refuses a version-1 HELLO and a HELLO whose media type does not unpickle (E_FAIL)."""
    first, second = socket_pair()
    with first, SampleReceiver(second, start=False) as receiver:
        with pytest.raises(VfwTimeoutError, match="no HELLO from the sender within"):
            receiver.handshake(timeout=0.05)
        first.shutdown(socket.SHUT_RDWR)
        with pytest.raises(VfwNotConnectedError, match="closed before its HELLO"):
            receiver.handshake(timeout=WAIT)
    assert PROTOCOL_VERSION == 2
    old = struct.pack("<B4sHB", 1, b"DSAI", 1, 1)
    bad_type = struct.pack("<B4sHB", 1, b"DSAI", PROTOCOL_VERSION, 1) + b"not a pickle"
    for hello in (old, bad_type):
        first, second = socket_pair()
        with first, SampleReceiver(second, start=False) as receiver:
            first.send(hello)
            with pytest.raises(FailError):
                receiver.handshake(timeout=WAIT)
            assert receiver.ended and receiver.receive(timeout=WAIT) is None


def test_a_version_1_receiver_is_disconnected(pool: MemAllocator) -> None:
    """A receiver greeting with protocol version 1 is refused: the sender disconnects."""
    first, second = socket_pair()
    with second, SampleSender(first) as sender:
        second.send(struct.pack("<B4sHB", 1, b"DSAI", 1, 2))
        assert _wait_until(lambda: not sender.connected)
        assert not sender.wait_ready(0)


def test_sender_media_type_checks() -> None:
    """A media_type that is not a MediaType raises TypeError, one that cannot cross
    InvalidArgError; the socket stays the caller's, open."""

    class Foreign:
        pass

    foreign = MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, Foreign())
    left, right = socket_pair()
    with left, right:
        with pytest.raises(TypeError):
            SampleSender(left, media_type="video/x-raw")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgError, match="cannot cross processes"):
            SampleSender(left, media_type=foreign)
        assert left.fileno() >= 0


# -- metas -------------------------------------------------------------------------------------


def test_plain_metas_cross_and_others_stay_behind(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """VIDEO_META and a plain-data meta arrive with their fields, in order; a meta tagged
    memory-reference and one with a field that is not plain data are left off."""
    sender, receiver = pair
    with _filled(pool, 1) as sample:
        sample.AddMeta(PLAIN_META, n=1, ratio=0.5, name="x", raw=b"\x00", seq=[1, (2, 3)])
        sample.AddMeta(REFERENCE_META, n=2)
        sample.AddMeta(VIDEO_META, **NV12_LAYOUT.meta_fields())
        sample.AddMeta(PLAIN_META, n=3, thing=object())
        sample.AddMeta(PLAIN_META, n=4, nested={"a": {"b": None}})
        sender.send(sample, timeout=WAIT)
    with receiver.receive(timeout=WAIT) as received:  # type: ignore[union-attr]
        metas = [(meta.api, meta.fields) for meta in received.IterMeta()]
    assert metas == [
        ("test-ipc-plain", {"n": 1, "ratio": 0.5, "name": "x", "raw": b"\x00", "seq": [1, (2, 3)]}),
        ("video-meta", NV12_LAYOUT.meta_fields()),
        ("test-ipc-plain", {"n": 4, "nested": {"a": {"b": None}}}),
    ]


def test_a_sample_too_large_for_a_message_is_refused(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """Metas that do not fit one message raise InvalidArgError; nothing is sent."""
    sender, _receiver = pair
    with _filled(pool, 1) as sample:
        sample.AddMeta(PLAIN_META, blob=bytes(70_000))
        with pytest.raises(InvalidArgError, match="at most 65536 fit"):
            sender.send(sample, timeout=WAIT)
        assert sample.ref_count == 1
    assert (sender.sent, sender.in_flight, pool.GetFreeCount()) == (0, 0, 4)


# -- bad input: clear errors, nothing changed --------------------------------------------------


def test_send_refuses_what_cannot_cross(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """Non-samples, system memory, released samples and foreign media types are refused."""
    sender, _receiver = pair
    with pytest.raises(TypeError):
        sender.send(object())  # type: ignore[arg-type]
    system = MemAllocator(name="system-pool")
    system.SetConfig(PoolConfig(64, 1, 1))
    system.Commit()
    with system.GetBuffer() as sample:
        with pytest.raises(InvalidArgError) as caught:
            sender.send(sample)
        assert isinstance(caught.value, ValueError) and "SharedMemory" in str(caught.value)
        assert sample.ref_count == 1
    system.Decommit()

    class Foreign:
        pass

    with pool.GetBuffer() as sample:
        sample.SetMediaType(
            MediaType(MEDIATYPE_Video, MEDIASUBTYPE_NV12, FORMAT_VideoInfo, Foreign())
        )
        with pytest.raises(InvalidArgError):
            sender.send(sample)
        assert sample.ref_count == 1
        with pytest.raises((TypeError, ValueError)):
            sender.send(sample, timeout=-1)
    stale = pool.GetBuffer()
    stale.Release()
    with pytest.raises(UnexpectedError):
        sender.send(stale)
    assert (sender.sent, sender.in_flight, pool.GetFreeCount()) == (0, 0, 4)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: SampleSender(42), TypeError),  # type: ignore[arg-type]
        (lambda: SampleReceiver("socket"), TypeError),  # type: ignore[arg-type]
        (lambda: Listener(""), ValueError),
        (lambda: Listener(b"name"), TypeError),  # type: ignore[arg-type]
        (lambda: Listener("x" * 200), ValueError),
        (lambda: Listener(backlog=0), ValueError),
        (lambda: connect(unique_address(), timeout=0.05), VfwTimeoutError),
        (lambda: connect(unique_address(), timeout="soon"), TypeError),  # type: ignore[arg-type]
        (lambda: unique_address(7), TypeError),  # type: ignore[arg-type]
        (lambda: ReceivedMemoryAllocator().Alloc(10), NotImplError),
    ],
)
def test_bad_arguments_raise_clear_errors(call: Any, error: type[Exception]) -> None:
    """Wrong types and values raise TypeError, ValueError or the COM error that fits."""
    with pytest.raises(error):
        call()


def test_sockets_of_the_wrong_kind_are_refused() -> None:
    """A stream socket or a closed one is refused, and left as it was."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        with pytest.raises(ValueError):
            SampleSender(left)
        with pytest.raises(ValueError):
            SampleReceiver(right)
        assert left.fileno() >= 0
    with pytest.raises(ValueError):
        SampleReceiver(left)


def test_receive_argument_checks(pair: tuple[SampleSender, SampleReceiver]) -> None:
    """receive() refuses a negative or non-numeric timeout before waiting."""
    _sender, receiver = pair
    with pytest.raises(ValueError):
        receiver.receive(timeout=-1)
    with pytest.raises(TypeError):
        receiver.receive(timeout="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        receiver.receive(timeout=True)
    assert receiver.received == 0 and not receiver.ended


def test_listener_accept_times_out_and_refuses_after_close() -> None:
    """accept(timeout) raises VFW_E_TIMEOUT; after close it raises VFW_E_NOT_CONNECTED."""
    listener = Listener()
    with pytest.raises(VfwTimeoutError):
        listener.accept(timeout=0.05)
    assert listener.address in _abstract_sockets()
    listener.close()
    assert listener.address not in _abstract_sockets()
    with pytest.raises(VfwNotConnectedError):
        listener.accept(timeout=0.05)


def test_peers_with_the_same_role_disconnect(pool: MemAllocator) -> None:
    """Two senders on one connection: each sees a protocol error and stops."""
    first, second = socket_pair()
    with SampleSender(first) as one, SampleSender(second) as two:
        assert _wait_until(lambda: not one.connected and not two.connected)
        with pool.GetBuffer() as sample, pytest.raises(VfwNotConnectedError):
            one.send(sample)


def test_a_receiver_fed_garbage_fails_and_ends() -> None:
    """Bytes that are not the protocol raise E_FAIL once; then the stream has ended."""
    first, second = socket_pair()
    with first, SampleReceiver(second) as receiver:
        first.send(b"not a hello at all")
        with pytest.raises(FailError) as caught:
            receiver.receive(timeout=WAIT)
        assert caught.value.hresult == 0x80004005
        assert receiver.receive(timeout=WAIT) is None


# -- the sample program ------------------------------------------------------------------------


def test_sample_program_runs() -> None:
    """samples/shm_pipeline.py sends its frames, the consumer checks them, all come home."""
    result = subprocess.run(
        [sys.executable, str(REPO / "samples" / "shm_pipeline.py"), "--frames", "40"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "consumer: media type NV12 1920x1080" in result.stdout
    assert "consumer: received 40 frames, 0 with wrong bytes" in result.stdout
    assert "4 of 4 samples are home; 0 taken back unreleased" in result.stdout


# -- found in core -----------------------------------------------------------------------------


def test_address_of_a_read_only_mapping(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """Memory.address of a received (read-only) block is the address of its first byte."""
    sender, receiver = pair
    with _filled(pool, 1) as sample:
        sender.send(sample)
    with receiver.receive(timeout=WAIT) as received:  # type: ignore[union-attr]
        memory = received.PeekMemory(0)
        assert memory.address > 0


# -- the benchmark -----------------------------------------------------------------------------


def test_benchmarks_run_in_quick_mode() -> None:
    """Both benchmarks of dshow_alloc.bench.ipc run a short round and report a rate."""
    from dshow_alloc.bench.ipc import bench_queue, bench_shared_memory

    assert bench_shared_memory(frames=20, repeat=1) > 0
    assert bench_queue(frames=3, repeat=1) > 0


def test_received_memory_conforms(
    pool: MemAllocator, pair: tuple[SampleSender, SampleReceiver]
) -> None:
    """ReceivedMemoryAllocator provides IMemoryAllocator and its memories provide IMemory."""
    from zope.interface.verify import verifyClass, verifyObject

    from interfaces import IMemory, IMemoryAllocator

    assert verifyClass(IMemoryAllocator, ReceivedMemoryAllocator)
    assert verifyObject(IMemoryAllocator, ReceivedMemoryAllocator())
    sender, receiver = pair
    with _filled(pool, 1) as sample:
        sender.send(sample)
    with receiver.receive(timeout=WAIT) as received:  # type: ignore[union-attr]
        memory = received.PeekMemory(0)
        assert verifyObject(IMemory, memory)
        assert memory.allocator.mem_type == "ReceivedSharedMemory"
        assert not memory.IsWritable()
