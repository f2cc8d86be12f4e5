"""Serving processes take their share of the read streams: the rule, and a refused stream over real gRPC."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator

import grpc
import pytest

from backend.config import BackendConfig
from backend.devices.tokens import add_device
from backend.enforcement.spread import StreamSpread
from backend.server import build_server
from backend.storage.engine import make_engine, make_session_factory
from platepatrol.streams import ADMITTED, ATTEMPT, MAX_REFUSALS, REBALANCE
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.enforcement.test_grpc_service import plate_read


def _office_of(processes: int) -> list[StreamSpread]:
    counts = multiprocessing.get_context("spawn").Array("i", processes)
    return [StreamSpread(counts, index) for index in range(processes)]


def test_a_process_takes_streams_up_to_its_share() -> None:
    first, second = _office_of(2)
    assert first.admit(refusals=0)
    assert not first.admit(refusals=0)  # it would hold 2 of 2: more than its share
    assert second.admit(refusals=0)
    assert first.admit(refusals=0)  # 2 of 3: the share rounds up
    assert not first.admit(refusals=0)  # 3 of 4
    assert second.admit(refusals=0) and second.held == [2, 2]
    first.release()
    assert not second.admit(refusals=0) and first.admit(refusals=0)  # the freed place is taken where it was
    assert first.held == [2, 2]


def test_a_car_refused_often_enough_is_taken_anyway() -> None:
    first, _ = _office_of(2)
    assert first.admit(refusals=0)
    assert not first.admit(refusals=MAX_REFUSALS - 1)
    assert first.admit(refusals=MAX_REFUSALS) and first.held == [2, 0]


def test_a_slot_must_exist() -> None:
    with pytest.raises(ValueError, match="no slot"):
        StreamSpread(multiprocessing.get_context("spawn").Array("i", 2), 2)


@pytest.fixture
def office_process(
    fresh_database_url: Callable[[], str],
) -> Iterator[tuple[pb_grpc.EnforcementStub, str, StreamSpread]]:
    """A server as the first of two serving processes, and a token."""
    url = fresh_database_url()
    spread, _ = _office_of(2)
    server, port = build_server(BackendConfig(database_url=url, port=0), spread)
    server.start()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        token = add_device(session, "car-1")
        session.commit()
    engine.dispose()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield pb_grpc.EnforcementStub(channel), token, spread
    finally:
        channel.close()
        server.stop(grace=None)


def test_a_stream_over_the_share_is_refused_with_rebalance(
    office_process: tuple[pb_grpc.EnforcementStub, str, StreamSpread],
) -> None:
    stub, token, spread = office_process
    auth = (("authorization", f"Bearer {token}"),)
    release = threading.Event()

    def slow_reads() -> Iterator[pb.PlateRead]:
        yield plate_read("r-1", "B123ABC")
        release.wait(30)

    first = stub.StreamReads(slow_reads(), metadata=auth, timeout=30)
    assert (ADMITTED, "1") in first.initial_metadata()
    assert spread.held == [1, 0]
    with pytest.raises(grpc.RpcError) as refused:
        list(stub.StreamReads(iter([plate_read("r-2", "B123ABC")]), metadata=auth, timeout=30))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert any(item.key == REBALANCE for item in refused.value.trailing_metadata())
    assert spread.held == [1, 0]  # the refused stream was never counted
    again = list(stub.StreamReads(iter([plate_read("r-3", "B123ABC")]), metadata=(*auth, (ATTEMPT, str(MAX_REFUSALS)))))
    assert [verdict.read_id for verdict in again] == ["r-3"]  # refused often enough: taken here
    release.set()
    assert [verdict.read_id for verdict in first] == ["r-1"]
    # Every stream that ended gives its place back, once the server has seen its end (just after the car has).
    deadline = time.monotonic() + 10
    while spread.held != [0, 0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert spread.held == [0, 0]
