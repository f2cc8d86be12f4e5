"""The uplink against a real backend over loopback gRPC, including the link going down and coming back."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from backend.config import BackendConfig
from backend.enforcement.spread import StreamSpread
from backend.enforcement.wire import datetime_to_timestamp
from backend.server import build_server
from backend.storage.base import utc_now
from backend.storage.engine import make_engine, make_session_factory
from edge.link import Link
from edge.outbox import Outbox, Pending
from edge.uplink import MAX_BATCH_READS, Answer, Backoff, LinkState, Uplink, take_batch
from platepatrol.v1 import enforcement_pb2 as pb
from tests.backend.factories import JPEG, prepared_database

FAST = Backoff(first_s=0.05, max_s=0.2)


@dataclass
class Office:
    url: str
    token: str
    port: int = 0
    server: grpc.Server | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server, self.port = build_server(BackendConfig(database_url=self.url, port=self.port))
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=None).wait()
            self.server = None


@pytest.fixture
def office(fresh_database_url: Callable[[], str]) -> Iterator[Office]:
    url = fresh_database_url()
    token, _ = prepared_database(url, ("B123ABC",))
    running = Office(url, token)
    running.start()
    yield running
    running.stop()


@dataclass
class Collected:
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def outcomes(self) -> dict[str, int]:
        with self.lock:
            return {a.read.read_id: a.verdict.outcome for a in self.answers}


def plate_read(text: str, captured_days_ago: float = 0.0) -> pb.PlateRead:
    return pb.PlateRead(
        read_id=str(uuid.uuid4()),
        device_id="car-1",
        camera_id="front",
        captured_at=datetime_to_timestamp(utc_now() - timedelta(days=captured_days_ago, seconds=1)),
        plate_text=text,
        confidence=0.9,
        frames_voted=2,
        evidence=pb.Evidence(crop_jpeg=JPEG),
    )


def test_every_read_gets_its_verdict(office: Office, tmp_path: Path) -> None:
    collected, outbox = Collected(), Outbox(tmp_path / "outbox.db")
    uplink = Uplink(Link(office.target, office.token), outbox, collected, FAST)
    reads = [plate_read("B123ABC"), plate_read("ZZ999"), plate_read("X1", captured_days_ago=9000)]
    for read in reads:
        uplink.send(read)
    assert uplink.close(timeout_s=20) == 0
    assert collected.outcomes() == {
        reads[0].read_id: pb.PERMITTED,
        reads[1].read_id: pb.VIOLATION,
        reads[2].read_id: pb.ERROR,
    }
    assert all(a.round_trip_ms is not None and a.round_trip_ms > 0 for a in collected.answers)
    assert outbox.depth() == 0 and outbox.verdict(reads[0].read_id) is not None


def test_reads_wait_out_a_dead_link_and_none_is_lost(office: Office, tmp_path: Path) -> None:
    office.stop()
    collected, outbox = Collected(), Outbox(tmp_path / "outbox.db")
    uplink = Uplink(Link(office.target, office.token), outbox, collected, FAST, connect_timeout_s=0.2)
    reads = [plate_read("B123ABC") for _ in range(MAX_BATCH_READS * 2 + 5)]  # a backlog of three batches
    for read in reads:
        uplink.send(read)
    assert outbox.depth() == len(reads) and uplink.state is not LinkState.ONLINE
    office.start()  # the link comes back on the same address
    assert uplink.close(timeout_s=30) == 0
    assert collected.outcomes() == {r.read_id: pb.PERMITTED for r in reads}


def _waiting(*sizes: int) -> list[Pending]:
    return [Pending(seq, f"r-{seq}", bytes(size)) for seq, size in enumerate(sizes, start=1)]


@pytest.mark.parametrize(
    ("sizes", "max_bytes", "taken"),
    [
        ((), 100, 0),
        ((10, 20, 30), 100, 3),
        ((40, 40, 40), 100, 2),
        ((40, 60, 1), 100, 2),  # exactly full
        ((500, 1), 100, 1),  # a read bigger than a batch still goes, alone
    ],
)
def test_a_batch_takes_the_oldest_reads_that_fit(sizes: tuple[int, ...], max_bytes: int, taken: int) -> None:
    waiting = _waiting(*sizes)
    assert take_batch(waiting, max_bytes) == waiting[:taken]


def test_reads_left_by_a_stopped_run_are_sent_by_the_next(office: Office, tmp_path: Path) -> None:
    office.stop()
    first = Uplink(Link(office.target, office.token), Outbox(tmp_path / "outbox.db"), Collected(), FAST, 0.2)
    read = plate_read("B123ABC")
    first.send(read)
    assert first.close(timeout_s=0.5) == 1  # gave up: the read stays in the outbox
    office.start()
    collected = Collected()
    second = Uplink(Link(office.target, office.token), Outbox(tmp_path / "outbox.db"), collected, FAST)
    assert second.close(timeout_s=20) == 0
    assert collected.outcomes() == {read.read_id: pb.PERMITTED}


def test_a_refused_token_fails_and_keeps_the_reads(office: Office, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    uplink = Uplink(Link(office.target, "ppd_forged"), outbox, Collected(), FAST)
    uplink.send(plate_read("B123ABC"))
    assert uplink.close(timeout_s=10) == 1
    assert uplink.state is LinkState.FAILED
    assert uplink.failure is not None and "refused the device token" in uplink.failure


def test_the_permit_copy_follows_the_office(office: Office) -> None:
    import time

    from backend.permits.models import Permit, PermitStatus
    from edge.permit_cache import PermitCache
    from edge.permit_watch import PermitWatcher
    from platepatrol.verdicts import Outcome, Reason

    cache = PermitCache()
    watcher = PermitWatcher(Link(office.target, office.token), cache, FAST)
    deadline = time.monotonic() + 20
    while not cache.ready and time.monotonic() < deadline:
        time.sleep(0.05)
    decision = cache.decide("B123ABC", utc_now())
    assert decision is not None and decision.outcome is Outcome.PERMITTED
    engine = make_engine(office.url)
    with make_session_factory(engine)() as session:
        permit = session.get(Permit, decision.permit.id if decision.permit else "")
        assert permit is not None
        permit.status = PermitStatus.REVOKED
        session.commit()
    engine.dispose()
    while (d := cache.decide("B123ABC", utc_now())) is not None and d.outcome is Outcome.PERMITTED:
        assert time.monotonic() < deadline, "the change never reached the copy"
        time.sleep(0.05)
    watcher.stop()
    assert d is not None and d.reason is Reason.SUSPENDED


def test_a_stream_refused_to_spread_the_cars_reconnects_at_once(
    fresh_database_url: Callable[[], str], tmp_path: Path
) -> None:
    # This serving process already holds its share of the office's streams (one of two processes, one car): it
    # refuses the uplink's stream until the car says it was refused MAX_REFUSALS times, which it must do at once,
    # not after a backoff of 5 s each.
    url = fresh_database_url()
    token, _ = prepared_database(url, ("B123ABC",))
    spread = StreamSpread(multiprocessing.get_context("spawn").Array("i", 2), 0)
    assert spread.admit(refusals=0)
    server, port = build_server(BackendConfig(database_url=url, port=0), spread)
    server.start()
    try:
        collected, outbox = Collected(), Outbox(tmp_path / "outbox.db")
        uplink = Uplink(Link(f"127.0.0.1:{port}", token), outbox, collected, Backoff(first_s=5.0, max_s=5.0))
        read = plate_read("B123ABC")
        uplink.send(read)
        assert uplink.close(timeout_s=20) == 0
        assert collected.outcomes() == {read.read_id: pb.PERMITTED}
    finally:
        server.stop(grace=None)
