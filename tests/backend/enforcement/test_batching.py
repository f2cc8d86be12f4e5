"""Micro-batching a stream: order kept, nothing lost, batches bounded, a broken stream ends the batches."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from backend.enforcement.batching import StreamBatches


def flatten(batches: StreamBatches[int]) -> list[int]:
    return [item for batch in batches for item in batch]


def test_an_empty_stream_gives_no_batches() -> None:
    assert list(StreamBatches(iter([]), 8, lambda: True)) == []


def test_every_item_once_in_order_and_batches_bounded() -> None:
    items = list(range(1000))
    batches = list(StreamBatches(iter(items), 16, lambda: True))
    assert [item for batch in batches for item in batch] == items
    assert all(1 <= len(batch) <= 16 for batch in batches)


def test_waiting_items_are_answered_together() -> None:
    release = threading.Event()

    def source() -> Iterator[int]:
        yield 0
        release.wait(5)  # the rest arrive while the first batch is being answered
        yield from range(1, 6)

    sizes = []
    for batch in StreamBatches(source(), 64, lambda: True):
        sizes.append(len(batch))
        if len(sizes) == 1:
            release.set()
            threading.Event().wait(0.2)
    assert sizes[0] == 1 and sum(sizes) == 6 and len(sizes) <= 3


def test_a_broken_stream_ends_after_what_arrived() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("client hung up")

    assert flatten(StreamBatches(source(), 8, lambda: True)) == [1, 2]


def test_a_hung_up_consumer_stops_the_reader() -> None:
    batches = StreamBatches(iter(range(10_000)), 2, lambda: False)
    assert flatten(batches) == []  # nothing is queued for a call that is no longer active
