"""Micro-batching a read stream: whatever has arrived while the last batch was being answered is answered
together, in one database transaction. Under light load every batch is one read (no added latency); under
heavy load batches grow, and the database's per-transaction cost is shared."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _End:
    """The stream ended; `error` is what ended it, if it broke."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class StreamBatches(Generic[T]):
    """Reads `source` on a thread of its own (so reading never waits for answering) and hands out lists of
    the items that are waiting, in arrival order, at most `max_batch` at a time."""

    def __init__(self, source: Iterator[T], max_batch: int, still_wanted: Callable[[], bool]) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._source = source
        self._max_batch = max_batch
        self._still_wanted = still_wanted
        # Bounded: a car that sends faster than we answer is slowed by gRPC's flow control, not by our memory.
        self._waiting: queue.Queue[T | _End] = queue.Queue(maxsize=max_batch * 4)
        self._reader = threading.Thread(target=self._read, name="read-stream", daemon=True)

    def _read(self) -> None:
        end = _End()
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as error:  # the client hung up or the stream broke: end the batches with it
            end = _End(error)
        self._put(end)

    def _put(self, item: T | _End) -> bool:
        while self._still_wanted():
            try:
                self._waiting.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _next(self) -> T | _End:
        """The next item, waiting for it as long as the call is wanted."""
        while True:
            try:
                return self._waiting.get(timeout=0.2)
            except queue.Empty:
                if not self._still_wanted():
                    return _End()

    def __iter__(self) -> Iterator[list[T]]:
        self._reader.start()
        while True:
            first = self._next()
            if isinstance(first, _End):
                return
            batch = [first]
            end: _End | None = None
            while len(batch) < self._max_batch:
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _End):
                    end = item
                    break
                batch.append(item)
            yield batch
            if end is not None:
                return
