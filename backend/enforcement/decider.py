"""Group commit: one thread per serving process decides the reads of all its streams together.

Each stream hands over the reads it has waiting and waits for their verdicts; the decider takes everything
every stream has handed over while it was deciding the last round, and decides it in one transaction. Under
light load a round is one stream's reads (no added latency); under heavy load the database's cost per
transaction (begin, lookups, commit) is shared by all the streams instead of paid by each in turn.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from backend.devices.models import Device
from backend.enforcement.reads import IncomingRead, VerdictOut
from backend.enforcement.service import EnforcementService


@dataclass(frozen=True)
class _Handed:
    reads: Sequence[IncomingRead]
    device: Device
    verdicts: Future[list[VerdictOut]] = field(default_factory=Future)


class Decider:
    def __init__(self, service: EnforcementService, max_round: int = 256) -> None:
        if max_round < 1:
            raise ValueError("max_round must be at least 1")
        self._service = service
        self._max_round = max_round
        self._waiting: queue.SimpleQueue[_Handed] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def answer(self, reads: Sequence[IncomingRead], device: Device) -> list[VerdictOut]:
        """The verdicts of `reads`, in order, decided in the next round; raises what deciding raised."""
        return self.submit(reads, device).result()

    def submit(self, reads: Sequence[IncomingRead], device: Device) -> Future[list[VerdictOut]]:
        """Hand `reads` over for the next round without waiting: the future gives their verdicts, in order, or
        raises what deciding raised."""
        handed = _Handed(reads, device)
        if not reads:
            handed.verdicts.set_result([])
            return handed.verdicts
        self._ensure_running()
        self._waiting.put(handed)
        return handed.verdicts

    @property
    def waiting(self) -> int:
        """Hand-overs waiting for the next round."""
        return self._waiting.qsize()

    def _ensure_running(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="decider", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        self._service.keep_connections()
        while True:
            self._decide(self._next_round())

    def _next_round(self) -> list[_Handed]:
        """What the first stream to hand over brought, and whatever the others have waiting, up to max_round."""
        handed = [self._waiting.get()]
        count = len(handed[0].reads)
        while count < self._max_round:
            try:
                more = self._waiting.get_nowait()
            except queue.Empty:
                break
            handed.append(more)
            count += len(more.reads)
        return handed

    def _decide(self, handed: list[_Handed]) -> None:
        sent = [(read, one.device) for one in handed for read in one.reads]
        try:
            verdicts = self._service.answer_together(sent)
        except BaseException as error:  # the stream that waits for it says what went wrong
            for one in handed:
                one.verdicts.set_exception(error)
            return
        start = 0
        for one in handed:
            one.verdicts.set_result(verdicts[start : start + len(one.reads)])
            start += len(one.reads)
