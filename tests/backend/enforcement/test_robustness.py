"""10,000 random and malformed messages on one stream: each gets a clear error, nothing crashes, no row is written."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import grpc
import pytest
from sqlalchemy import func, select

from backend.config import BackendConfig
from backend.enforcement.models import ReadRecord
from backend.enforcement.wire import datetime_to_timestamp
from backend.server import build_server
from backend.storage.base import utc_now
from backend.storage.engine import make_engine
from platepatrol.v1 import enforcement_pb2 as pb
from tests.backend.factories import JPEG, prepared_database

T = TypeVar("T")

MESSAGES = 10_000


def valid() -> pb.PlateRead:
    return pb.PlateRead(
        read_id="r",
        device_id="car-1",
        camera_id="front",
        captured_at=datetime_to_timestamp(utc_now() - timedelta(seconds=5)),
        plate_text="B123ABC",
        confidence=0.9,
        evidence=pb.Evidence(crop_jpeg=JPEG),
    )


def broken(rng: random.Random, number: int) -> bytes:
    """One malformed read, as bytes on the wire: each kind breaks exactly one rule."""
    message = valid()
    message.read_id = f"bad-{number}"
    kind = number % 12
    if kind == 0:
        message.plate_text = rng.choice(["", "---", " ", "\u00e4\u00f6\u00fc"])
    elif kind == 1:
        message.plate_text = "A" * rng.randint(13, 5000)
    elif kind == 2:
        message.confidence = rng.choice([float("nan"), float("inf"), -0.1, 1.5, 1e30])
    elif kind == 3:
        message.captured_at.CopyFrom(datetime_to_timestamp(utc_now() + timedelta(days=rng.randint(1, 900))))
    elif kind == 4:
        message.captured_at.seconds = rng.randint(-(10**10), 10**9)
    elif kind == 5:
        message.gps.CopyFrom(pb.GpsFix(latitude=rng.uniform(90.01, 1e6), longitude=rng.uniform(-1e6, 1e6)))
    elif kind == 6:
        message.evidence.crop_jpeg = rng.randbytes(rng.randint(1, 64))
    elif kind == 7:
        message.read_id = rng.choice(["", "x" * 65, "has space", "\u00e9t\u00e9"])
    elif kind == 8:
        message.device_id = "someone-else"
    elif kind == 9:
        message.char_confidences.extend([rng.random()] * rng.randint(1, 6))
    elif kind == 10:
        # bad UTF-8 in a string field: only raw bytes can carry it
        payload = bytearray(message.SerializeToString())
        at = payload.index(b"B123ABC")
        payload[at : at + 2] = b"\xff\xfe"
        return bytes(payload)
    else:
        return rng.randbytes(rng.randint(1, 300))  # not a message at all
    return message.SerializeToString()


@pytest.fixture
def office(fresh_database_url: Callable[[], str]) -> Iterator[tuple[str, str, str]]:
    url = fresh_database_url()
    token, _ = prepared_database(url)
    server, port = build_server(BackendConfig(database_url=url, port=0))
    server.start()
    yield url, f"127.0.0.1:{port}", token
    server.stop(grace=None)


def send_raw(target: str, token: str, method: str, payloads: list[bytes], decode: Callable[[bytes], T]) -> list[T]:
    """Bytes sent as they are, as no well-behaved client could send them; every answer, decoded."""
    with grpc.insecure_channel(target) as channel:
        stream = channel.stream_stream(
            f"/platepatrol.v1.Enforcement/{method}", request_serializer=lambda raw: raw, response_deserializer=decode
        )
        return list(stream(iter(payloads), metadata=(("authorization", f"Bearer {token}"),), timeout=600))


def test_ten_thousand_bad_messages(office: tuple[str, str, str]) -> None:
    url, target, token = office
    rng = random.Random(20261125)
    payloads = [broken(rng, i) for i in range(MESSAGES)]
    good = valid()
    good.read_id = "good-after-all-that"
    payloads.append(good.SerializeToString())
    verdicts = send_raw(target, token, "StreamReads", payloads, pb.Verdict.FromString)
    assert len(verdicts) == MESSAGES + 1
    errors, last = verdicts[:-1], verdicts[-1]
    assert all(v.outcome == pb.ERROR and v.reason == pb.INVALID_READ for v in errors)
    assert all(v.sentence.startswith("read refused: ") and len(v.sentence) > 20 for v in errors)
    assert last.read_id == "good-after-all-that" and last.outcome == pb.VIOLATION
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ReadRecord)) == 1  # only the good read
    engine.dispose()


def test_ten_thousand_bad_reads_in_batches(office: tuple[str, str, str]) -> None:
    """The car's batched stream: each broken read is refused at its place in its batch, the batch's good read is
    answered, and a message that is no batch at all gets one error; nothing is stored for any of them."""
    url, target, token = office
    rng = random.Random(20261202)
    batches: list[bytes] = []
    for number in range(MESSAGES // 100):
        good = valid()
        good.read_id = f"good-{number}"
        reads = [broken(rng, number * 100 + i) for i in range(99)] + [good.SerializeToString()]
        batches.append(pb.EncodedPlateReadBatch(reads=reads).SerializeToString())
    batches.append(b"\x0a\xff\xff\xff\xff\x0f")  # field 1 claims more bytes than the message has
    answers = send_raw(target, token, "StreamReadBatches", batches, pb.VerdictBatch.FromString)
    assert len(answers) == len(batches)
    for number, answer in enumerate(answers[:-1]):
        assert len(answer.verdicts) == 100
        assert all(v.outcome == pb.ERROR and v.sentence.startswith("read refused: ") for v in answer.verdicts[:-1])
        assert answer.verdicts[-1].read_id == f"good-{number}" and answer.verdicts[-1].outcome == pb.VIOLATION
    (refused,) = answers[-1].verdicts
    assert refused.outcome == pb.ERROR and "not a valid PlateReadBatch" in refused.sentence
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ReadRecord)) == MESSAGES // 100
    engine.dispose()
