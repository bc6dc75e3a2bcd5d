"""A queue's flush is exact: nothing the queue took before a flush reaches downstream after
it (a seek flushes, and a sample from before it must not follow the new segment)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dshow_alloc.elements import CollectingRenderer, QueueFilter
from dshow_alloc.filters import SourceFilter
from dshow_alloc.graph import FilterGraph


class _Numbered(SourceFilter):
    """Samples of 4 bytes, stamped with their number as the start time."""

    def __init__(self) -> None:
        super().__init__(buffer_size=4, buffers=8)
        self.sent = 0

    def FillBuffer(self, sample: Any) -> bool:
        if self.sent == 3:
            return False
        sample.SetActualDataLength(4)
        sample.SetTime(self.sent, self.sent + 1)
        self.sent += 1
        return True


@pytest.mark.timeout(30)
def test_a_sample_taken_before_a_flush_is_not_delivered_after_it() -> None:
    """The queue's thread takes sample 0 and is held before delivering it; a flush begins
    and its EndFlush waits until the thread is done with sample 0, which it drops (the
    input is still flushing): the renderer never sees it, before or after the flush."""
    source, queue, sink = _Numbered(), QueueFilter(max_size=4), CollectingRenderer()
    taken, go = threading.Event(), threading.Event()
    deliver = queue._deliver

    def held(output: Any, sample: Any) -> None:
        if not taken.is_set():
            taken.set()
            assert go.wait(10)
        deliver(output, sample)

    queue._deliver = held  # type: ignore[method-assign]
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, queue, sink)
        graph.Run()
        assert taken.wait(10)
        queue.input.BeginFlush()
        ended = threading.Event()
        end_flush = threading.Thread(target=lambda: (queue.input.EndFlush(), ended.set()))
        end_flush.start()
        assert not ended.wait(0.2)  # EndFlush waits for the thread's sample
        go.set()
        end_flush.join(10)
        assert ended.is_set()
        assert sink.times == []  # sample 0 was dropped, not delivered after the flush
        assert queue.input.flushing is False
