"""The link to the backend: one long-lived bidirectional gRPC stream of reads out and verdicts back."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from edge.types import VotedRead
from edge.wire import read_to_proto
from platepatrol.errors import UserError
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

_END = None  # put on the request queue to close the stream


@dataclass(frozen=True)
class Answer:
    read: VotedRead
    verdict: pb.Verdict
    round_trip_ms: float


def describe_rpc_error(error: grpc.RpcError, target: str) -> str:
    code = error.code() if isinstance(error, grpc.Call) else None
    details = error.details() if isinstance(error, grpc.Call) else str(error)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return f"the backend at {target} refused the device token ({details})"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"the backend at {target} is unavailable ({details})"
    return f"the backend at {target} failed the stream: {code.name if code else 'error'} {details}"


class Uplink:
    """Sends reads as they are voted and hands each verdict, with its round trip, to `on_answer`."""

    def __init__(
        self,
        target: str,
        token: str,
        device_id: str,
        on_answer: Callable[[Answer], None],
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._target = target
        self._device_id = device_id
        self._on_answer = on_answer
        self._channel = grpc.insecure_channel(target)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=connect_timeout_s)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise UserError(f"cannot reach the backend at {target} within {connect_timeout_s:g} s") from None
        self._requests: queue.Queue[pb.PlateRead | None] = queue.Queue()
        self._pending: dict[str, tuple[VotedRead, float]] = {}
        self._lock = threading.Lock()
        self._all_answered = threading.Condition(self._lock)
        self._failure: str | None = None
        stub = pb_grpc.EnforcementStub(self._channel)
        responses = stub.StreamReads(self._outgoing(), metadata=(("authorization", f"Bearer {token}"),))
        self._receiver = threading.Thread(target=self._receive, args=(responses,), name="uplink", daemon=True)
        self._receiver.start()

    @property
    def failure(self) -> str | None:
        """Why the stream died, or None while it is healthy."""
        return self._failure

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def send(self, read: VotedRead) -> None:
        if self._failure:
            raise UserError(self._failure)
        with self._lock:
            self._pending[read.read_id] = (read, time.monotonic())
        self._requests.put(read_to_proto(read, self._device_id))

    def close(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the verdicts still due, then end the stream."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._pending and not self._failure and time.monotonic() < deadline:
                self._all_answered.wait(timeout=max(0.0, deadline - time.monotonic()))
            unanswered = len(self._pending)
        self._requests.put(_END)
        self._receiver.join(timeout=5)
        self._channel.close()
        if self._failure:
            raise UserError(self._failure)
        if unanswered:
            raise UserError(f"{unanswered} reads got no verdict within {timeout_s:g} s")

    def _outgoing(self) -> Iterator[pb.PlateRead]:
        while (message := self._requests.get()) is not _END:
            assert message is not None
            yield message

    def _receive(self, responses: Iterator[pb.Verdict]) -> None:
        try:
            for verdict in responses:
                self._deliver(verdict)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self._failure = describe_rpc_error(error, self._target)
                log.error("%s", self._failure)
        finally:
            with self._lock:
                self._all_answered.notify_all()

    def _deliver(self, verdict: pb.Verdict) -> None:
        with self._lock:
            sent = self._pending.pop(verdict.read_id, None)
            self._all_answered.notify_all()
        if sent is None:
            log.warning("verdict for unknown read %r ignored", verdict.read_id)
            return
        read, sent_at = sent
        self._on_answer(Answer(read, verdict, (time.monotonic() - sent_at) * 1000.0))
