"""Reading a stream ahead: each message is handed over to be answered the moment it arrives, not when the answer
to the one before it has been sent. A car keeps several messages in flight; were they taken one at a time, each
would wait for its predecessor's round to end before even joining a round, and so for up to a whole round more
(the decider takes whatever every stream has handed over while it decided the last round)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

Message = TypeVar("Message")
Handed = TypeVar("Handed")


class _End:
    """The stream ended: the client finished, hung up or the stream broke (what arrived is still answered), or
    handing a message over failed with `error` (raised to whoever iterates)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error


class ReadAhead(Generic[Message, Handed]):
    """Reads `source` on a thread of its own, calls `hand_over` on each message as it arrives, and gives what
    `hand_over` returned, in arrival order, to whoever iterates. At most `ahead` handed-over messages wait to be
    taken: a car that sends faster than it is answered is then slowed by gRPC's flow control, not by our memory.
    The reading stops when `still_wanted` says the call is over."""

    def __init__(
        self,
        source: Iterator[Message],
        hand_over: Callable[[Message], Handed],
        ahead: int,
        still_wanted: Callable[[], bool],
    ) -> None:
        if ahead < 1:
            raise ValueError("ahead must be at least 1")
        self._source = source
        self._hand_over = hand_over
        self._still_wanted = still_wanted
        self._waiting: queue.Queue[Handed | _End] = queue.Queue(maxsize=ahead)
        self._reader = threading.Thread(target=self._read, name="read-ahead", daemon=True)

    def _read(self) -> None:
        while True:
            try:
                message = next(self._source)
            except Exception:  # StopIteration, or the client hung up or the stream broke
                break
            try:
                handed = self._hand_over(message)
            except Exception as error:
                self._put(_End(error))
                return
            if not self._put(handed):
                return
        self._put(_End())

    def _put(self, item: Handed | _End) -> bool:
        while self._still_wanted():
            try:
                self._waiting.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Handed]:
        self._reader.start()
        while True:
            try:
                item = self._waiting.get(timeout=0.2)
            except queue.Empty:
                if not self._still_wanted():
                    return
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
