"""Implement a memory allocator, register it, and have a pool and a graph use it.

This is GStreamer's "implementing an allocator" in this library's COM dress. A memory
allocator is any object providing `IMemoryAllocator`: a ``mem_type`` name, ``flags``,
``Alloc(size, params) -> IMemory`` and ``Free(memory)``. It makes `Memory` blocks over a
buffer of its choice (here a ``bytearray``; it could be an ``mmap``, a GPU staging buffer,
a buffer a camera driver hands you...). A pool (`MemAllocator`) then turns those blocks into
samples and reuses them; it calls ``Alloc`` only when it needs a new block.

``PatternMemoryAllocator`` below fills new memory with a recognisable byte (0xCD, as debug
heaps do, so reading memory nobody wrote shows up at once) and counts what it allocates and
frees. The program

1. registers it as ``"PatternMemory"`` (`register_allocator`);
2. configures a pool with ``PoolConfig(memory_allocator="PatternMemory")``, grows it, reuses
   its samples and decommits it, printing the counts;
3. runs a graph whose renderer proposes the allocator in its allocation proposal, so that the
   source's samples come from it, and shows the blocks are reused frame after frame.

Run it::

    python samples/custom_allocator.py
    python samples/custom_allocator.py --frames 500

To test your own allocator against the full `IMemory` contract, subclass
``dshow_alloc.testing.MemoryContract`` in a pytest file and return it from ``make_allocator``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from zope.interface import implementer
from zope.interface.verify import verifyObject

from dshow_alloc import (
    EC_COMPLETE,
    AllocationParams,
    AllocationQuery,
    AllocatorFlags,
    BaseInputPin,
    ComObject,
    FilterGraph,
    IMemoryAllocator,
    MemAllocator,
    Memory,
    MemoryFlags,
    OutOfMemoryError,
    PoolConfig,
    RendererFilter,
    SourceFilter,
    buffer_address,
    find_allocator,
    register_allocator,
)

PATTERN = 0xCD


@implementer(IMemoryAllocator)  # what find_allocator, pools and proposals check for
class PatternMemoryAllocator(ComObject):
    """``"PatternMemory"``: system memory filled with ``PATTERN`` when new, with counters.

    ``ComObject`` gives ``QueryInterface``/``AddRef``/``Release`` (`IMemoryAllocator`
    extends `IUnknown`). ``Alloc`` may be called from any thread, for example by a pool that
    grows on a streaming thread, so the counters are updated under a lock.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mem_type = "PatternMemory"  # the kind of memory; blocks compare by it
        self.flags = AllocatorFlags(0)  # NO_COPY would make copies come from the default
        self.allocated = 0
        """Blocks made by ``Alloc``."""
        self.freed = 0
        """Blocks given back by their final ``Release``."""
        self.bytes = 0
        """Bytes of storage allocated in all."""
        self._counter_lock = threading.Lock()

    def Alloc(self, size: int, params: AllocationParams | None = None) -> Memory:
        """A block of ``size`` data bytes laid out as ``params`` says. See
        `IMemoryAllocator.Alloc` for the contract every allocator keeps."""
        if type(size) is not int or size < 0:
            raise ValueError(f"size must be an int >= 0, got {size!r}")
        params = params if params is not None else AllocationParams()
        # The region holds prefix + data + padding, and must start at a multiple of
        # params.align: allocate align - 1 spare bytes and start at the first aligned one.
        total = params.prefix + size + params.padding
        try:
            storage = bytearray([PATTERN]) * (total + params.align - 1)
        except MemoryError as exc:
            raise OutOfMemoryError(message=f"cannot allocate {total} bytes") from exc
        start = -buffer_address(storage) % params.align  # bytes to skip to the alignment
        # The flags promise zeroed prefix or padding: keep those promises over the pattern.
        if params.flags & MemoryFlags.ZERO_PREFIXED:
            storage[start : start + params.prefix] = bytes(params.prefix)
        if params.flags & MemoryFlags.ZERO_PADDED:
            data_end = start + params.prefix + size
            storage[data_end:] = bytes(len(storage) - data_end)
        # Memory(allocator, buffer, ...) describes the block: the region starts at ``base``
        # in the buffer and is ``maxsize`` bytes; the data are ``size`` bytes at ``offset``.
        memory = Memory(
            self,
            storage,
            base=start,
            maxsize=len(storage) - start,
            offset=params.prefix,
            size=size,
            align=params.align,
            flags=params.flags,
        )
        with self._counter_lock:
            self.allocated += 1
            self.bytes += len(storage)
        return memory

    def Free(self, memory: Any) -> None:
        """Called once by each block's final ``Release``. The bytearray goes away with the
        last reference to it; a pool of your own could keep it for the next ``Alloc``."""
        if memory.parent is None:  # a sub-memory made by Share views its parent's bytes
            with self._counter_lock:
                self.freed += 1


def pool_demo(allocator: PatternMemoryAllocator) -> list[str]:
    """A pool drawing from ``"PatternMemory"``: grow, reuse, decommit. Returns problems."""
    problems = []
    before = allocator.allocated
    pool = MemAllocator(name="pattern-pool")
    # A GStreamer-style pool: 2 samples made at Commit, growing to 4 on demand; each
    # sample's block 64-byte aligned, from the allocator registered as "PatternMemory".
    # (MemAllocator(memory_allocator="PatternMemory") sets the same for every config.)
    pool.SetConfig(
        PoolConfig(1024, min_buffers=2, max_buffers=4, align=64, memory_allocator="PatternMemory")
    )
    pool.Commit()
    print(f"pool: Commit made {allocator.allocated - before} blocks")
    held = [pool.GetBuffer() for _ in range(3)]  # one more than min_buffers: the pool grows
    fresh = held[2].GetPointer()
    print(
        f"pool: 3 samples out, {allocator.allocated - before} blocks made; "
        f"a new block reads 0x{fresh[0]:02X}..0x{fresh[-1]:02X} (the pattern)"
    )
    if set(bytes(fresh)) != {PATTERN}:
        problems.append("new memory does not hold the pattern")
    block = held[2].memory  # a pool sample holds one block
    if block is None or block.allocator is not allocator or block.address % 64:
        problems.append("the block is not ours, or not 64-byte aligned")
    del fresh, block  # views of a sample's memory must not outlive the sample
    for sample in held:
        sample.Release()  # home to the pool, ready for reuse
    for _ in range(100):  # the pool hands out blocks it already has
        with pool.GetBuffer() as sample:
            sample.GetPointer()[:4] = b"used"
    made = allocator.allocated - before
    print(f"pool: after 100 more GetBuffer calls, still {made} blocks made")
    pool.Decommit()  # every sample is home, so the blocks are freed now
    print(f"pool: Decommit freed {allocator.freed} blocks")
    if made != 3 or allocator.freed != made:
        problems.append(f"the pool made {made} blocks and freed {allocator.freed}")
    return problems


class CounterSource(SourceFilter):
    """A byte stream of 4 KiB samples, each starting with its number."""

    def __init__(self, frames: int) -> None:
        super().__init__(name="counter", buffer_size=4096, buffers=4)
        self.frames = frames
        self.made = 0

    def FillBuffer(self, sample: Any) -> bool:
        """Number the sample; False after ``frames``."""
        if self.made == self.frames:
            return False
        sample.GetPointer()[:4] = self.made.to_bytes(4, "little")
        sample.SetActualDataLength(4)
        sample.SetTime(self.made * 10_000, (self.made + 1) * 10_000)
        self.made += 1
        return True


class ProposingRenderer(RendererFilter):
    """Proposes a memory allocator upstream, as a sink that can use some memory best (video
    memory, shared memory) does, and notes which blocks its samples live in."""

    def __init__(self, memory_allocator: Any) -> None:
        super().__init__(name="renderer", sync=False)
        self.memory_allocator = memory_allocator
        self.blocks: set[int] = set()
        self.foreign = 0  # samples whose memory came from another allocator
        self.numbers: list[int] = []

    def propose_allocation(self, pin: BaseInputPin, query: AllocationQuery) -> None:
        """The first ``params`` entry names the memory allocator the upstream pool uses."""
        query.add_param(self.memory_allocator, AllocationParams(align=64))

    def DoRenderSample(self, sample: Any) -> None:
        """Check where the sample's memory comes from and read its number."""
        memory = sample.memory  # the sample's (first) block
        if memory.allocator is not self.memory_allocator:
            self.foreign += 1
        self.blocks.add(memory.address)
        self.numbers.append(int.from_bytes(sample.GetPointer()[:4], "little"))


def graph_demo(allocator: PatternMemoryAllocator, frames: int) -> list[str]:
    """A graph whose source fills blocks from ``allocator``. Returns problems."""
    made_before, freed_before = allocator.allocated, allocator.freed
    source = CounterSource(frames)
    renderer = ProposingRenderer(find_allocator("PatternMemory"))
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, renderer)
        pool = source.output.allocator
        print(f"graph: the source's pool draws from {pool.memory_allocator.mem_type!r}")
        graph.Run()
        completed = graph.WaitForCompletion(10_000) == EC_COMPLETE
    made = allocator.allocated - made_before
    freed = allocator.freed - freed_before
    # The source takes a sample, the renderer presents it and releases it, and the pool
    # hands that same sample out next (its free list is a LIFO): one block serves them all.
    print(f"graph: rendered {len(renderer.numbers)} samples from {made} blocks allocated")
    print(f"graph: the samples used {len(renderer.blocks)} of those blocks, over and over")
    print(f"graph: after Stop {freed} of {made} blocks freed")
    problems = []
    if not completed or renderer.numbers != list(range(frames)):
        problems.append("the graph did not deliver every sample in order")
    if renderer.foreign or made != source.buffers or freed != made:
        problems.append(f"blocks: {renderer.foreign} foreign, {made} made, {freed} freed")
    if len(renderer.blocks) > made:
        problems.append("more blocks were seen than allocated")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Register the allocator, run both demonstrations, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50, help="samples through the graph (50)")
    args = parser.parse_args(argv)

    allocator = PatternMemoryAllocator()
    verifyObject(IMemoryAllocator, allocator)  # names and signatures; not the behaviour
    register_allocator("PatternMemory", allocator)  # now findable by name
    assert find_allocator("PatternMemory") is allocator

    problems = pool_demo(allocator) + graph_demo(allocator, args.frames)
    print(
        f"total: {allocator.allocated} blocks allocated, {allocator.freed} freed, "
        f"{allocator.bytes} bytes"
    )
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print("check: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
