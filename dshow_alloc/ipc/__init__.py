"""Zero-copy sample transport between processes: memfds over a Unix socket.

A `SampleSender` hands samples whose memory comes from the ``"SharedMemory"`` allocator to a
`SampleReceiver` in another process. Only a small header crosses the socket; the frame bytes
stay where the producer wrote them, and the receiver maps the same pages. The sample stays out
of its pool until the receiver lets go of it::

    producer process                          consumer process
    ----------------                          ----------------
    sample = pool.GetBuffer()
    ...fill sample.GetPointer()...
    sender.send(sample)   # AddRefs it   ──►  sample = receiver.receive()
    sample.Release()                          ...read sample.GetPointer()...
                                              sample.Release()
    (the sender Releases its reference,  ◄──  (a release message)
     the sample goes home to the pool)

Connections
-----------
Both ends take over a connected ``AF_UNIX`` ``SOCK_SEQPACKET`` socket. Make one with
`socket_pair` (for a child process you start yourself: pass the child's end with
``subprocess.Popen(pass_fds=...)`` and rebuild it there with ``socket.socket(fileno=fd)``), or
with a `Listener` and `connect` on an address. An address is either

* a ``str``: a Linux *abstract* address, a name that lives in the kernel, not in the file
  system, and disappears with the listening socket, so nothing is left behind even after
  ``kill -9``; or
* a path (any ``os.PathLike``, such as `pathlib.Path`): a socket file, which is what two
  programs that know nothing of each other agree on (``shmsink socket-path=/tmp/video``).
  The `Listener` creates it (replacing a stale socket file nobody listens at any more) and
  removes it when closed; a listener killed with ``kill -9`` leaves the file, and the next
  `Listener` at that path replaces it.

Either side may listen. `Listener.accept` and `connect` refuse a peer running under another
user id (abstract addresses have no file permissions to do that; for socket files it keeps
the two kinds of address alike).

Handshake
---------
Each end greets the other with a HELLO. The sender's carries the media type of the stream
(`SampleSender` ``media_type``; none is allowed), so a receiver knows what it will get before
any sample is sent: `SampleReceiver.handshake` reads it. The sender sends no sample until the
receiver has asked for them with a READY message (`SampleReceiver.start`; ``receive`` sends it
if nobody did, and by default the constructor does). So a receiver that refuses the type, or
one that only wanted to know it (``start=False``, `handshake`, `close`), leaves before it was
sent anything: the sender's samples never left home, and the next receiver gets the stream
from its first sample. Until READY arrives, `SampleSender.send` waits (within its
``timeout``).

What the receiver gets
----------------------
`SampleReceiver.receive` returns a standalone `MediaSample` (count 1, owned by the caller)
whose memory blocks are read-only mappings of the sender's blocks (``PROT_READ``: the receiver
cannot scribble on the producer's pool). It carries the sender's times, media times, flags
(sync point, discontinuity, preroll, ...), actual data length, stream id, media type (when
the sample carries one: a type change) and metas (``VIDEO_META`` and any other: see below).
The final ``Release`` of that sample (more exactly: of the last of its memory blocks, which a
user may ``AddRef`` or ``Share`` beyond the sample's life) sends the release message. A
receiver cannot forward a received sample to a third process (its blocks are not
`SharedMemoryBlock`\\ s); copy it into a shared pool's sample first.

Metas cross by API name and fields: each meta whose fields are plain data (None, bool, int,
float, str, bytes, and tuples, lists and dicts of them) is added again on the received sample
with ``AddMeta``, so its API's ``init`` checks it there, provided the receiving process has an
API of that name registered (``VIDEO_META`` always is). A meta tagged ``"memory-reference"``
(it refers to the sender's memory itself), one whose fields are not plain data, and one the
receiver does not know or whose ``init`` refuses it are left off, as a copy leaves off a meta
without a transform.

Samples that are not shared memory
----------------------------------
`SampleSender.send` refuses a sample with a block that is not a `SharedMemoryBlock` with
``InvalidArgError`` (E_INVALIDARG, a ``ValueError``) rather than copying it silently: a hidden
3 MB copy per frame is the cost this module exists to avoid. Configure the pool with
``memory_allocator="SharedMemory"``.

Lifetime and failures
---------------------
* The sender keeps a reference (``AddRef``) on every sample in flight until its release message
  arrives. A reader thread, started by the constructor and stopped by `SampleSender.close`,
  handles release messages, so samples go home while the producer is blocked in ``GetBuffer``.
* If the receiver closes or dies, the sender's reader sees the socket close and releases every
  sample still in flight (`SampleSender.reclaimed` counts them): they go home to their pool.
* If the sender closes or dies, the receiver sees end of stream (``receive`` returns None).
  Mappings it holds stay valid until it releases them: the kernel keeps the memfd pages alive
  as long as one process maps them.
* Each memfd crosses the socket once; the receiver caches its mapping under an id. When the
  sender's block is freed (its pool decommitted), the sender tells the receiver to forget that
  id, so the cache only holds blocks that still exist.
* Memfds are anonymous and die with the last process holding them; abstract addresses die with
  their socket. Nothing is created under ``/dev/shm``, and nothing in the file system except
  the socket file of a `Listener` given a path.

Message protocol
----------------
Version 2. One ``SOCK_SEQPACKET`` message per record, little-endian, the first byte its kind.
Each end sends its HELLO first; the sender sends nothing else before the receiver's READY:

======= ============ ==============================================================
kind    direction    body
======= ============ ==============================================================
HELLO   both ways    magic ``b"DSAI"``, protocol version (u16), role (u8); from the
                     sender, then the pickled media type of the stream (nothing: no
                     type). A version or role that does not fit ends the connection
READY   ← receiver   nothing: send samples (once, after the receiver's HELLO)
SAMPLE  sender →     token (u64; 0 for a sample without blocks, which needs no
                     release), sample flags (the AM_SAMPLE_* bits, plus 0x20 when the
                     media time is set), type-specific flags, stream id (u32 each),
                     actual length, start, stop, media start, media stop (i64 each),
                     media-type length, metas length (u32 each), block count (u8);
                     then per block: memfd id, map size, region start, maxsize,
                     offset, size, align (u64 each), memory flags (u32), new (u8);
                     then the pickled media type, then the pickled metas (a list of
                     (API name, fields dict) pairs of plain data). The fds of the
                     blocks marked new ride along (SCM_RIGHTS), in block order.
FORGET  sender →     memfd ids (u64 each) whose mappings the receiver may drop
RELEASE ← receiver   tokens (u64 each) of samples the receiver has finished with
======= ============ ==============================================================

Pickles are read by unpicklers that accept only what the field holds: for media types the
``dshow_alloc.mediatype`` classes and ``uuid.UUID``, for metas no class at all. The end of the
stream is the end of the connection (``shutdown`` or process exit); no message says it.

Modules
-------
`dshow_alloc.ipc.transport` (addresses, sockets, `Listener`, `connect`, `socket_pair`),
`dshow_alloc.ipc.wire` (the message layouts above, pickling of media types and metas),
`dshow_alloc.ipc.sender` (`SampleSender`) and `dshow_alloc.ipc.receiver` (`SampleReceiver`,
`ReceivedMemory`, `ReceivedMemoryAllocator`). Every public name is importable from here.
"""

from __future__ import annotations

from dshow_alloc.ipc.receiver import ReceivedMemory, ReceivedMemoryAllocator, SampleReceiver
from dshow_alloc.ipc.sender import SampleSender
from dshow_alloc.ipc.transport import Address, Listener, connect, socket_pair, unique_address
from dshow_alloc.ipc.wire import PROTOCOL_VERSION

__all__ = [
    "PROTOCOL_VERSION",
    "Address",
    "Listener",
    "ReceivedMemory",
    "ReceivedMemoryAllocator",
    "SampleReceiver",
    "SampleSender",
    "connect",
    "socket_pair",
    "unique_address",
]
