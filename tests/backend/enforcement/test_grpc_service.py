"""The Enforcement service over real gRPC on loopback, against a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import grpc
import pytest
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from backend.config import BackendConfig, ReadLimits
from backend.devices.tokens import add_device
from backend.enforcement.wire import datetime_to_timestamp
from backend.permits.models import Permit, PermitStatus
from backend.server import build_server
from backend.storage.base import utc_now
from backend.storage.engine import make_engine, make_session_factory
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.factories import JPEG, add_permit


class Office:
    def __init__(self, channel: grpc.Channel, token: str, database_url: str) -> None:
        self.stub = pb_grpc.EnforcementStub(channel)
        self.channel = channel
        self.auth = (("authorization", f"Bearer {token}"),)
        self.database_url = database_url


@contextmanager
def running_office(url: str, limits: ReadLimits) -> Iterator[Office]:
    """A server on `url` with device car-1 and a permit for B123ABC, and a channel to it."""
    server, port = build_server(BackendConfig(database_url=url, port=0, limits=limits))
    server.start()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        token = add_device(session, "car-1")
        add_permit(session, "B123ABC")
    engine.dispose()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Office(channel, token, url)
    finally:
        channel.close()
        server.stop(grace=None)


@pytest.fixture
def office(fresh_database_url: Callable[[], str]) -> Iterator[Office]:
    with running_office(fresh_database_url(), ReadLimits(max_crop_bytes=4096)) as running:
        yield running


def plate_read(read_id: str, plate: str, **changes: object) -> pb.PlateRead:
    message = pb.PlateRead(
        read_id=read_id,
        device_id="car-1",
        camera_id="front",
        captured_at=datetime_to_timestamp(utc_now() - timedelta(seconds=1)),
        plate_text=plate,
        confidence=0.9,
        frames_voted=2,
        evidence=pb.Evidence(crop_jpeg=JPEG),
    )
    for field, value in changes.items():
        if isinstance(value, Message):
            getattr(message, field).CopyFrom(value)
        else:
            setattr(message, field, value)
    return message


def test_stream_answers_every_read_and_survives_bad_ones(office: Office) -> None:
    reads = [
        plate_read("ok-1", "b 123 abc"),
        plate_read("bad-empty", ""),
        plate_read("bad-time", "X1", captured_at=datetime_to_timestamp(utc_now() + timedelta(days=2))),
        plate_read("bad-image", "X1", evidence=pb.Evidence(crop_jpeg=JPEG + b"\0" * 5000)),
        plate_read("ok-2", "ZZ999"),
    ]
    verdicts = {v.read_id: v for v in office.stub.StreamReads(iter(reads), metadata=office.auth, timeout=30)}
    assert set(verdicts) == {r.read_id for r in reads}
    assert verdicts["ok-1"].outcome == pb.PERMITTED and verdicts["ok-1"].plate_text == "B123ABC"
    assert verdicts["ok-1"].permit_revision == 1 and verdicts["ok-1"].permit_id
    assert (verdicts["ok-2"].outcome, verdicts["ok-2"].reason) == (pb.VIOLATION, pb.NO_PERMIT)
    for bad, words in [("bad-empty", "no letters"), ("bad-time", "future"), ("bad-image", "over the limit")]:
        assert (verdicts[bad].outcome, verdicts[bad].reason) == (pb.ERROR, pb.INVALID_READ)
        assert words in verdicts[bad].sentence


def test_a_resent_read_gets_the_same_verdict(office: Office) -> None:
    first = list(office.stub.StreamReads(iter([plate_read("r-1", "B123ABC")]), metadata=office.auth, timeout=30))
    again = list(office.stub.StreamReads(iter([plate_read("r-1", "B123ABC")]), metadata=office.auth, timeout=30))
    assert first == again and len(first) == 1


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer ppd_forged"),), (("authorization", "ppd_x"),)])
def test_calls_without_a_valid_token_are_unauthenticated(office: Office, metadata: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(grpc.RpcError) as stream_error:
        list(office.stub.StreamReads(iter([plate_read("r-1", "B123ABC")]), metadata=metadata, timeout=30))
    assert stream_error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as check_error:
        office.stub.CheckPlate(pb.PlateQuery(plate_text="B123ABC"), metadata=metadata, timeout=30)
    assert check_error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_check_plate(office: Office) -> None:
    verdict = office.stub.CheckPlate(pb.PlateQuery(plate_text="b123abc"), metadata=office.auth, timeout=30)
    assert verdict.outcome == pb.PERMITTED
    with pytest.raises(grpc.RpcError) as error:
        office.stub.CheckPlate(pb.PlateQuery(plate_text="--"), metadata=office.auth, timeout=30)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no letters or digits" in (error.value.details() or "")


def test_health_check_reports_serving(office: Office) -> None:
    health = health_pb2_grpc.HealthStub(office.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="platepatrol.v1.Enforcement"), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_watch_permits_sends_a_snapshot_then_changes(office: Office) -> None:
    stream = office.stub.WatchPermits(pb.WatchRequest(), metadata=office.auth, timeout=30)
    first = next(stream)
    assert first.snapshot and list(first.permit.plates) == ["B123ABC"] and first.permit.active
    marker = next(stream)
    assert marker.snapshot_complete
    engine = make_engine(office.database_url)
    with make_session_factory(engine)() as session:
        permit = session.get(Permit, first.permit.permit_id)
        assert permit is not None
        permit.status = PermitStatus.REVOKED
        session.commit()
    engine.dispose()
    change = next(stream)  # committed by another connection, seen by the watcher
    assert (change.permit.permit_id, change.permit.revision, change.permit.active) == (first.permit.permit_id, 2, False)
    assert change.change_id > marker.change_id
    stream.cancel()


def _batch(*reads: pb.PlateRead) -> pb.PlateReadBatch:
    return pb.PlateReadBatch(reads=list(reads))


def test_batched_stream_answers_each_batch_in_order(office: Office) -> None:
    batches = [
        _batch(plate_read("b-1", "ZZ999"), plate_read("b-bad", ""), plate_read("b-2", "b123abc")),
        _batch(plate_read("b-3", "B123ABC")),
        _batch(plate_read("b-1", "ZZ999"), plate_read("b-4", "ZZ999"), plate_read("b-4", "ZZ999")),  # resends
    ]
    answers = list(office.stub.StreamReadBatches(iter(batches), metadata=office.auth, timeout=30))
    assert [[v.read_id for v in a.verdicts] for a in answers] == [
        ["b-1", "b-bad", "b-2"],
        ["b-3"],
        ["b-1", "b-4", "b-4"],
    ]
    first, second, third = (list(a.verdicts) for a in answers)
    assert [v.outcome for v in first] == [pb.VIOLATION, pb.ERROR, pb.PERMITTED]
    assert "no letters" in first[1].sentence
    assert second[0].outcome == pb.PERMITTED and second[0].permit_revision == 1
    assert third[0] == first[0]  # a resent read gets the verdict stored for it
    assert third[1] == third[2] and third[1].reason == pb.NO_PERMIT  # the same read twice in one batch: one verdict


def test_batched_stream_refuses_reads_past_the_batch_limit(fresh_database_url: Callable[[], str]) -> None:
    with running_office(fresh_database_url(), ReadLimits(max_reads_per_batch=2)) as office:
        batch = _batch(*(plate_read(f"n-{i}", "ZZ999") for i in range(3)))
        (answer,) = office.stub.StreamReadBatches(iter([batch]), metadata=office.auth, timeout=30)
    assert [v.outcome for v in answer.verdicts] == [pb.VIOLATION, pb.VIOLATION, pb.ERROR]
    assert answer.verdicts[2].read_id == "n-2" and "at most 2 reads" in answer.verdicts[2].sentence


def test_batched_stream_needs_a_valid_token(office: Office) -> None:
    with pytest.raises(grpc.RpcError) as error:
        list(office.stub.StreamReadBatches(iter([_batch(plate_read("r-1", "B123ABC"))]), timeout=30))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
