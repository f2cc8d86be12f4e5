"""The uplink against a real backend over loopback gRPC."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from backend.config import BackendConfig
from backend.devices.tokens import add_device
from backend.server import build_server
from backend.storage.engine import make_engine, make_session_factory
from edge.pipeline import encode_evidence
from edge.types import Box, Candidate, VotedRead
from edge.uplink import Answer, Uplink
from platepatrol.errors import UserError
from platepatrol.v1 import enforcement_pb2 as pb
from tests.backend.factories import add_permit
from tests.edge.builders import T0, observation


@pytest.fixture
def backend(fresh_database_url: Callable[[], str]) -> Iterator[tuple[str, str]]:
    url = fresh_database_url()
    server, port = build_server(BackendConfig(database_url=url, port=0))
    server.start()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        token = add_device(session, "car-1")
        add_permit(session, "B123ABC")
    engine.dispose()
    yield f"127.0.0.1:{port}", token
    server.stop(grace=None)


def voted(text: str) -> VotedRead:
    from backend.storage.base import utc_now

    return VotedRead(
        read_id=str(uuid.uuid4()),
        camera_id="front",
        captured_at=utc_now(),
        text=text,
        confidence=0.9,
        char_confidences=(0.9,) * len(text),
        alternatives=(Candidate("8123ABC", 0.1),),
        frames_voted=3,
        crop_jpeg=encode_evidence(observation(text).crop),
        box=Box(0, 0, 10, 5),
    )


def test_every_read_gets_its_verdict(backend: tuple[str, str]) -> None:
    target, token = backend
    answers: list[Answer] = []
    lock = threading.Lock()

    def collect(answer: Answer) -> None:
        with lock:
            answers.append(answer)

    uplink = Uplink(target, token, "car-1", collect)
    reads = [voted("B123ABC"), voted("ZZ999"), replace(voted("X1"), captured_at=T0.replace(year=2001))]
    for read in reads:
        uplink.send(read)
    uplink.close(timeout_s=20)
    outcomes = {a.read.read_id: a.verdict.outcome for a in answers}
    assert outcomes == {reads[0].read_id: pb.PERMITTED, reads[1].read_id: pb.VIOLATION, reads[2].read_id: pb.ERROR}
    assert all(a.round_trip_ms > 0 for a in answers)


def test_a_refused_token_is_one_clear_error(backend: tuple[str, str]) -> None:
    target, _ = backend
    uplink = Uplink(target, "ppd_forged", "car-1", lambda _answer: None)
    with pytest.raises(UserError, match="refused the device token"):
        uplink.send(voted("B123ABC"))
        uplink.close(timeout_s=10)


def test_an_unreachable_backend() -> None:
    with pytest.raises(UserError, match="cannot reach the backend"):
        Uplink("127.0.0.1:9", "ppd_x", "car-1", lambda _answer: None, connect_timeout_s=0.5)
