"""The link to the backend: one long-lived bidirectional gRPC stream, fed from the outbox.

The stream sends every read waiting in the outbox, oldest first, as batches: whatever is waiting goes in one
message (one read on a quiet street, a backlog after a dropped link), and each verdict settles its read. When the
link drops, the uplink reconnects with backoff and sends again whatever is still waiting: the backend answers a
repeated read id with the verdict it already gave, so a resend is harmless.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from edge.link import Link
from edge.outbox import Outbox, Pending
from platepatrol.errors import UserError
from platepatrol.streams import ATTEMPT, refused_to_rebalance
from platepatrol.v1 import enforcement_pb2 as pb

log = logging.getLogger(__name__)

# Errors that more tries cannot fix: stop and say so, keeping the reads in the outbox.
FATAL_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
IDLE_POLL_S = 0.5
STREAM_READ_BATCHES = "/platepatrol.v1.Enforcement/StreamReadBatches"
# A batch holds at most this many reads and bytes (the office takes messages of up to 16 MiB, and refuses reads
# past 1,000 in a batch): a backlog goes out as several messages, so verdicts come back while it is being sent.
MAX_BATCH_READS = 64
MAX_BATCH_BYTES = 4 * 1024 * 1024


class LinkState(enum.StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class Answer:
    read: pb.PlateRead
    verdict: pb.Verdict
    round_trip_ms: float | None  # None for a read sent before this process started


@dataclass(frozen=True)
class Backoff:
    first_s: float = 0.5
    max_s: float = 15.0

    def delay(self, attempt: int) -> float:
        """Exponential, with jitter so a fleet does not reconnect in step."""
        return float(min(self.max_s, self.first_s * 2**attempt) * random.uniform(0.8, 1.2))


def describe_rpc_error(error: grpc.RpcError, target: str) -> str:
    code = error.code() if isinstance(error, grpc.Call) else None
    details = error.details() if isinstance(error, grpc.Call) else str(error)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return f"the backend at {target} refused the device token ({details})"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"the backend at {target} is unavailable ({details})"
    return f"the backend at {target} failed the stream: {code.name if code else 'error'} {details}"


class Uplink:
    """Sends the outbox's reads to the backend and hands each verdict, with its round trip, to `on_answer`."""

    def __init__(
        self,
        link: Link,
        outbox: Outbox,
        on_answer: Callable[[Answer], None],
        backoff: Backoff | None = None,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._link = link
        self._target = link.target
        self._outbox = outbox
        self._on_answer = on_answer
        self._backoff = backoff or Backoff()
        self._connect_timeout_s = connect_timeout_s
        self._state = LinkState.CONNECTING
        self._failure: str | None = None
        self._sent_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # a new read to send, a verdict settled, or stop
        self._stopping = threading.Event()
        self._call: grpc.RpcContext | None = None
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def failure(self) -> str | None:
        """Why the uplink gave up, or None while it keeps trying."""
        return self._failure

    def send(self, read: pb.PlateRead) -> None:
        """Queue `read`: it is in the outbox before this returns, and sent as soon as the link allows."""
        self._outbox.put(read.read_id, read.SerializeToString())
        with self._wake:
            self._wake.notify_all()

    def close(self, timeout_s: float) -> int:
        """Wait up to `timeout_s` for every read to be answered, then stop. Returns the reads still waiting
        (they stay in the outbox for the next run)."""
        deadline = time.monotonic() + timeout_s
        with self._wake:
            while self._outbox.depth() and self._state is not LinkState.FAILED and time.monotonic() < deadline:
                self._wake.wait(timeout=min(IDLE_POLL_S, max(0.0, deadline - time.monotonic())))
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
            call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout=10)
        if self._state is not LinkState.FAILED:
            self._state = LinkState.CLOSED
        return self._outbox.depth()

    def _run(self) -> None:
        attempt = 0
        refusals = 0  # in a row, by serving processes that had their share of cars (platepatrol/streams.py)
        while not self._stopping.is_set():
            channel = self._link.channel()
            try:
                grpc.channel_ready_future(channel).result(timeout=self._connect_timeout_s)
                delivered = self._stream(channel, refusals)
                attempt, refusals = (0, 0) if delivered else (attempt, refusals)
            except grpc.FutureTimeoutError:
                log.warning("backend %s unreachable; reads wait in the outbox", self._target)
            except grpc.RpcError as error:
                if error.code() in FATAL_CODES:
                    self._fail(describe_rpc_error(error, self._target))
                    return
                if _told_to_rebalance(error):
                    refusals += 1
                    log.info("backend %s asked for a new connection (another of its processes has room)", self._target)
                    continue  # at once: a new connection is hashed anew to one of the office's processes
                if not self._stopping.is_set():
                    log.warning("%s; reconnecting", describe_rpc_error(error, self._target))
            finally:
                channel.close()
            if self._stopping.is_set():
                return
            self._state = LinkState.OFFLINE
            self._stopping.wait(self._backoff.delay(attempt))
            attempt += 1

    def _stream(self, channel: grpc.Channel, refusals: int) -> bool:
        """Run one stream until it ends; True if it delivered at least one verdict."""
        # The outbox holds each read encoded: sent as it is (EncodedPlateReadBatch is PlateReadBatch on the wire).
        stream = channel.stream_stream(
            STREAM_READ_BATCHES,
            request_serializer=pb.EncodedPlateReadBatch.SerializeToString,
            response_deserializer=pb.VerdictBatch.FromString,
        )
        responses = stream(self._outgoing(), metadata=(*self._link.metadata, (ATTEMPT, str(refusals))))
        with self._lock:
            self._call = responses
        delivered = False
        for answer in responses:
            if not delivered:
                self._state = LinkState.ONLINE
            delivered = True
            for verdict in answer.verdicts:
                self._settle(verdict)
        return delivered

    def _outgoing(self) -> Iterator[pb.EncodedPlateReadBatch]:
        """Every read in the outbox, oldest first, then the new ones as they arrive, in batches, until stopped."""
        last_seq = 0
        while not self._stopping.is_set():
            batch = take_batch(self._outbox.pending(after_seq=last_seq, limit=MAX_BATCH_READS), MAX_BATCH_BYTES)
            if not batch:
                with self._wake:
                    self._wake.wait(timeout=IDLE_POLL_S)
                continue
            last_seq = batch[-1].seq
            now = time.monotonic()
            with self._lock:
                self._sent_at.update((pending.read_id, now) for pending in batch)
            yield pb.EncodedPlateReadBatch(reads=[pending.message for pending in batch])
            self._state = LinkState.ONLINE

    def _settle(self, verdict: pb.Verdict) -> None:
        read_bytes = self._outbox.settle(verdict.read_id, verdict.SerializeToString())
        with self._wake:
            sent_at = self._sent_at.pop(verdict.read_id, None)
            self._wake.notify_all()
        if read_bytes is None:
            return  # a second answer to a resent read: the first one settled it
        round_trip = (time.monotonic() - sent_at) * 1000.0 if sent_at is not None else None
        self._on_answer(Answer(pb.PlateRead.FromString(read_bytes), verdict, round_trip))

    def _fail(self, reason: str) -> None:
        log.error("%s", reason)
        self._failure = reason
        self._state = LinkState.FAILED
        with self._wake:
            self._wake.notify_all()


def _told_to_rebalance(error: grpc.RpcError) -> bool:
    """A serving process refused the stream for holding its share of the office's cars."""
    trailing: tuple[tuple[str, str | bytes], ...] = (
        tuple(error.trailing_metadata() or ()) if isinstance(error, grpc.Call) else ()
    )
    return refused_to_rebalance(error.code(), trailing)


def take_batch(waiting: list[Pending], max_bytes: int) -> list[Pending]:
    """The oldest reads that fit in `max_bytes` together; always the first one, whatever its size (the office
    says if it is too big, and the rest go on)."""
    size = 0
    for count, pending in enumerate(waiting):
        size += len(pending.message)
        if count and size > max_bytes:
            return waiting[:count]
    return waiting


def raise_if_failed(uplink: Uplink) -> None:
    if uplink.failure:
        raise UserError(uplink.failure)
