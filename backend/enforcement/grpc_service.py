"""The thin gRPC servicer: authenticate the device, convert at the boundary, ask the service, answer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import ReadLimits
from backend.devices.models import Device
from backend.devices.tokens import device_for_token
from backend.enforcement.batching import ReadAhead
from backend.enforcement.decider import Decider
from backend.enforcement.reads import IncomingRead, VerdictOut
from backend.enforcement.service import EnforcementService
from backend.enforcement.spread import StreamSpread
from backend.enforcement.wire import (
    InvalidReadError,
    change_to_proto,
    error_verdict,
    plate_from_text,
    read_from_proto,
    timestamp_to_datetime,
    verdict_to_proto,
)
from backend.permits.watch import watch
from backend.storage.base import utc_now
from platepatrol.streams import ADMITTED, ATTEMPT, REBALANCE
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Enforcement"].full_name

# How many messages a stream reads ahead of the one whose verdicts it is waiting for: enough for a car's window
# of single reads, or a few batches (each up to ReadLimits.max_reads_per_batch reads).
READS_AHEAD = 256
BATCHES_AHEAD = 4

AUTH_METADATA_KEY = "authorization"
BEARER = "Bearer "


@dataclass(frozen=True)
class HandedOver:
    """A message's reads once handed over, in arrival order: each a refusal, already answered, or a read whose
    verdict `decided` will give (in the same order)."""

    answers: Sequence[pb.Verdict | IncomingRead]
    decided: Future[list[VerdictOut]]


@dataclass(frozen=True)
class Undecodable:
    """A message on the read stream that is not a PlateRead at all (bad bytes, bad UTF-8...)."""

    problem: str


def lenient_read(data: bytes) -> pb.PlateRead | Undecodable:
    """Deserialise one read without failing the stream: a broken message becomes an error for itself."""
    try:
        return pb.PlateRead.FromString(data)
    except DecodeError as error:
        return Undecodable(f"the message is not a valid PlateRead ({error})")


def lenient_batch(data: bytes) -> list[pb.PlateRead | Undecodable] | Undecodable:
    """Deserialise a batch of reads, each on its own: a broken read becomes an error for itself alone."""
    try:
        encoded = pb.EncodedPlateReadBatch.FromString(data)
    except DecodeError as error:
        return Undecodable(f"the message is not a valid PlateReadBatch ({error})")
    return [lenient_read(read) for read in encoded.reads]


def add_enforcement_service(servicer: EnforcementServicer, server: grpc.Server) -> None:
    """Register the service as the generated code does, but with a lenient read deserialiser: gRPC would
    otherwise end the whole stream on one undecodable message."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "StreamReads": grpc.stream_stream_rpc_method_handler(
            servicer.StreamReads, request_deserializer=lenient_read, response_serializer=pb.Verdict.SerializeToString
        ),
        "StreamReadBatches": grpc.stream_stream_rpc_method_handler(
            servicer.StreamReadBatches,
            request_deserializer=lenient_batch,
            response_serializer=pb.VerdictBatch.SerializeToString,
        ),
        "CheckPlate": grpc.unary_unary_rpc_method_handler(
            servicer.CheckPlate,
            request_deserializer=pb.PlateQuery.FromString,
            response_serializer=pb.Verdict.SerializeToString,
        ),
        "WatchPermits": grpc.unary_stream_rpc_method_handler(
            servicer.WatchPermits,
            request_deserializer=pb.WatchRequest.FromString,
            response_serializer=pb.PermitChange.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))


def bearer_token(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata():
        if key == AUTH_METADATA_KEY and isinstance(value, str) and value.startswith(BEARER):
            return value[len(BEARER) :].strip()
    return ""


class EnforcementServicer(pb_grpc.EnforcementServicer):
    def __init__(
        self,
        service: EnforcementService,
        sessions: sessionmaker[Session],
        limits: ReadLimits,
        watch_poll_s: float = 0.5,
        spread: StreamSpread | None = None,
    ) -> None:
        self._service = service
        self._decider = Decider(service)  # the reads of all this process's streams, decided together
        self._sessions = sessions
        self._limits = limits
        self._watch_poll_s = watch_poll_s
        self._spread = spread  # this process's share of the office's read streams, when it has several processes

    def _authenticate(self, context: grpc.ServicerContext) -> Device:
        token = bearer_token(context)
        with self._sessions() as session:
            device = device_for_token(session, token) if token else None
        if device is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing, unknown or revoked device token")
        return device

    def _take_stream(self, context: grpc.ServicerContext) -> None:
        """Take a read stream, or refuse it when this process holds more than its share of the office's (the car
        reconnects at once: platepatrol/streams.py)."""
        if self._spread is not None:
            if not self._spread.admit(_refusals(context)):
                context.set_trailing_metadata(((REBALANCE, "1"),))
                context.abort(grpc.StatusCode.UNAVAILABLE, "this serving process has its share of cars; reconnect")
            if not context.add_callback(self._spread.release):
                self._spread.release()  # the call ended already
        context.send_initial_metadata(((ADMITTED, "1"),))

    def StreamReads(  # noqa: N802 (gRPC method name)
        self, request_iterator: Iterator[pb.PlateRead | Undecodable], context: grpc.ServicerContext
    ) -> Iterator[pb.Verdict]:
        device = self._authenticate(context)
        self._take_stream(context)
        ahead = ReadAhead(
            request_iterator, lambda read: self._hand_over([read], device), READS_AHEAD, context.is_active
        )
        for handed in ahead:
            yield from self._verdicts(handed, device, context)

    # lenient_batch, not PlateReadBatch.FromString, decodes its messages: the override takes what it hands over.
    def StreamReadBatches(  # type: ignore[override]  # noqa: N802
        self,
        request_iterator: Iterator[list[pb.PlateRead | Undecodable] | Undecodable],
        context: grpc.ServicerContext,
    ) -> Iterator[pb.VerdictBatch]:
        device = self._authenticate(context)
        self._take_stream(context)

        def hand_over(batch: list[pb.PlateRead | Undecodable] | Undecodable) -> HandedOver:
            # Not even a list of reads: its one error answers it (there is no read to name).
            return self._hand_over([batch] if isinstance(batch, Undecodable) else batch, device)

        for handed in ReadAhead(request_iterator, hand_over, BATCHES_AHEAD, context.is_active):
            yield pb.VerdictBatch(verdicts=self._verdicts(handed, device, context))

    def _hand_over(self, messages: list[pb.PlateRead | Undecodable], device: Device) -> HandedOver:
        """Refuse the bad reads of a message and hand the good ones to the decider, without waiting for it."""
        now = utc_now()
        limit = self._limits.max_reads_per_batch
        answers: list[pb.Verdict | IncomingRead] = [
            self._validated(message, device, now) if index < limit else self._too_many(message, now)
            for index, message in enumerate(messages)
        ]
        reads = [answer for answer in answers if isinstance(answer, IncomingRead)]
        return HandedOver(answers, self._decider.submit(reads, device))

    def _verdicts(self, handed: HandedOver, device: Device, context: grpc.ServicerContext) -> list[pb.Verdict]:
        """The verdicts of a handed-over message, in the order its reads came, once they are decided."""
        try:
            decided = iter(handed.decided.result())
        except SQLAlchemyError:
            reads = sum(isinstance(answer, IncomingRead) for answer in handed.answers)
            log.exception("database error answering %d reads from %s", reads, device.name)
            # The edge keeps the reads in its outbox and resends them when the stream is back.
            context.abort(grpc.StatusCode.UNAVAILABLE, "the permit database is unavailable; resend later")
        return [
            verdict_to_proto(next(decided)) if isinstance(answer, IncomingRead) else answer for answer in handed.answers
        ]

    def _too_many(self, message: pb.PlateRead | Undecodable, now: datetime) -> pb.Verdict:
        read_id = message.read_id if isinstance(message, pb.PlateRead) else ""
        limit = self._limits.max_reads_per_batch
        return error_verdict(read_id, f"a batch may carry at most {limit} reads: send this read again in another", now)

    def _validated(
        self, message: pb.PlateRead | Undecodable, device: Device, now: datetime
    ) -> pb.Verdict | IncomingRead:
        if isinstance(message, Undecodable):
            log.info("refused an undecodable read from %s: %s", device.name, message.problem)
            return error_verdict("", message.problem, now)
        try:
            return read_from_proto(message, device.name, self._limits, now)
        except InvalidReadError as problem:
            log.info("refused read %r from %s: %s", message.read_id, device.name, problem)
            return error_verdict(message.read_id, str(problem), now)

    def WatchPermits(  # noqa: N802
        self, request: pb.WatchRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.PermitChange]:
        self._authenticate(context)
        ended = threading.Event()
        context.add_callback(ended.set)  # the car hung up or the server is stopping
        for change in watch(self._sessions, request.after_change_id, self._watch_poll_s, ended):
            yield change_to_proto(change)

    def CheckPlate(self, request: pb.PlateQuery, context: grpc.ServicerContext) -> pb.Verdict:  # noqa: N802
        self._authenticate(context)
        try:
            plate = plate_from_text(request.plate_text)
        except InvalidReadError as problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(problem))
        at = timestamp_to_datetime(request.at) if request.HasField("at") else utc_now()
        return verdict_to_proto(self._service.check(plate, at))


def _refusals(context: grpc.ServicerContext) -> int:
    """How many times in a row the car says its stream was refused (0 when it does not say, or says nonsense)."""
    for key, value in context.invocation_metadata():
        if key == ATTEMPT:
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            return int(text) if text.isdigit() and len(text) < 4 else 0
    return 0
