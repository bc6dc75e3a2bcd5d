"""A queue's flush is exact: nothing the queue took before a flush reaches downstream after
it (a seek flushes, and a sample from before it must not follow the new segment)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dshow_alloc.elements import CollectingRenderer, QueueFilter
from dshow_alloc.filters import SourceFilter
from dshow_alloc.graph import FilterGraph
from dshow_alloc.structs import EC_COMPLETE


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


def _end_flush(pin: Any, ended: threading.Event) -> None:
    pin.EndFlush()
    ended.set()


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
        end_flush = threading.Thread(target=_end_flush, args=(queue.input, ended))
        end_flush.start()
        assert not ended.wait(0.2)  # EndFlush waits for the thread's sample
        go.set()
        end_flush.join(10)
        assert ended.is_set()
        assert sink.times == []  # sample 0 was dropped, not delivered after the flush
        assert queue.input.flushing is False


class _SlowRenderer(CollectingRenderer):
    """A renderer whose first sample's work is held until ``go`` is set, as a long
    computation would be: it does not look at the flush."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.go = threading.Event(), threading.Event()
        self.log: list[str] = []

    def receive(self, pin: Any, sample: Any) -> bool:
        if not self.started.is_set():
            self.started.set()
            assert self.go.wait(10)
            self.log.append("first sample done")
        return bool(super().receive(pin, sample))

    def end_flush(self, pin: Any) -> None:
        self.log.append("end_flush")
        super().end_flush(pin)


@pytest.mark.timeout(30)
def test_end_flush_waits_for_a_receive_already_past_the_flushing_check() -> None:
    """A Receive in progress when BeginFlush comes finishes before EndFlush reaches the
    filter and returns: the filter sees the flush's end after the last sample from before
    it, never in the middle of its work on that sample."""
    source, sink = _Numbered(), _SlowRenderer()
    sink.sync = False
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        graph.Run()
        assert sink.started.wait(10)
        sink.input.BeginFlush()
        ended = threading.Event()
        end_flush = threading.Thread(target=_end_flush, args=(sink.input, ended))
        end_flush.start()
        assert not ended.wait(0.2)  # held by the Receive under way
        sink.go.set()
        end_flush.join(10)
        assert ended.is_set()
        assert sink.log == ["first sample done", "end_flush"]


@pytest.mark.timeout(30)
def test_end_flush_from_inside_the_pins_own_receive_does_not_wait_for_itself() -> None:
    """A filter that ends a flush on its own streaming thread, inside Receive, is not held
    by its own Receive: the flush ends at once."""
    source, sink = _Numbered(), _SlowRenderer()
    sink.sync = False
    sink.go.set()
    ended: list[bool] = []
    receive = sink.receive

    def flushing_receive(pin: Any, sample: Any) -> bool:
        if not ended:
            pin.BeginFlush()
            pin.EndFlush()
            ended.append(True)
        return receive(pin, sample)

    sink.receive = flushing_receive  # type: ignore[method-assign]
    with FilterGraph(clock=None) as graph:
        graph.connect_chain(source, sink)
        graph.Run()
        assert graph.WaitForCompletion(10_000) == EC_COMPLETE
    assert ended == [True]
    assert sink.log[:1] == ["end_flush"]
