"""Backend processes are stateless: several can serve one database, and every verdict sees the latest permits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from backend.config import BackendConfig
from backend.enforcement.wire import datetime_to_timestamp
from backend.permits.models import Permit, PermitStatus
from backend.server import build_server
from backend.storage.base import utc_now
from backend.storage.engine import WRITES, make_engine, make_session_factory
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.v1 import enforcement_pb2_grpc as pb_grpc
from tests.backend.factories import JPEG, prepared_database
from tests.conftest import REPO

LISTENING = re.compile(r"backend listening on [^:]+:(\d+)")


def prepared(url: str) -> tuple[str, str]:
    """A migrated database with one device and one permit: (token, permit id)."""
    token, (permit_id,) = prepared_database(url, ("B123ABC",))
    return token, permit_id


def set_status(url: str, permit_id: str, status: PermitStatus) -> int:
    """Change the permit as an admin tool would, straight in the shared database; returns the new revision."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        session.connection(execution_options=WRITES)
        permit = session.get(Permit, permit_id)
        assert permit is not None
        permit.status = status
        session.commit()
        revision = permit.revision
    engine.dispose()
    return revision


@pytest.fixture
def two_backends(fresh_database_url: Callable[[], str]) -> Iterator[tuple[str, str, str, list[str]]]:
    url = fresh_database_url()
    token, permit_id = prepared(url)
    env = {**os.environ, "PLATEPATROL_DATABASE_URL": url}
    processes, addresses = [], []
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-c", "from platepatrol.cli import main; main()", "backend", "serve", "--port", "0",
             "--web-port", "0"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        match = LISTENING.search(process.stdout.readline())
        assert match, "a backend did not start"
        processes.append(process)
        addresses.append(f"127.0.0.1:{match.group(1)}")
    yield url, token, permit_id, addresses
    for process in processes:
        process.terminate()
        assert process.wait(timeout=30) == 0


def check(address: str, token: str) -> pb.Verdict:
    with grpc.insecure_channel(address) as channel:
        return pb_grpc.EnforcementStub(channel).CheckPlate(
            pb.PlateQuery(plate_text="B123ABC"), metadata=(("authorization", f"Bearer {token}"),), timeout=30
        )


@pytest.mark.slow
def test_a_change_through_one_is_seen_by_the_next_verdict_of_the_other(
    two_backends: tuple[str, str, str, list[str]],
) -> None:
    url, token, permit_id, (first, second) = two_backends
    assert check(first, token).outcome == pb.PERMITTED and check(second, token).outcome == pb.PERMITTED
    revision = set_status(url, permit_id, PermitStatus.SUSPENDED)
    for address in (second, first):
        verdict = check(address, token)
        assert (verdict.outcome, verdict.reason, verdict.permit_revision) == (pb.VIOLATION, pb.SUSPENDED, revision)
    set_status(url, permit_id, PermitStatus.ACTIVE)
    assert check(second, token).outcome == pb.PERMITTED


def test_no_verdict_is_staler_than_the_permit_table(fresh_database_url: Callable[[], str]) -> None:
    """Reads hammered while the permit flips: each verdict reflects at least every change committed before
    the read was sent."""
    url = fresh_database_url()
    token, permit_id = prepared(url)
    server, port = build_server(BackendConfig(database_url=url, port=0))
    server.start()
    committed: list[tuple[float, int]] = []  # (monotonic time the commit returned, revision)
    stop = threading.Event()

    def flip() -> None:
        status = PermitStatus.SUSPENDED
        while not stop.is_set():
            revision = set_status(url, permit_id, status)
            committed.append((time.monotonic(), revision))
            status = PermitStatus.ACTIVE if status is PermitStatus.SUSPENDED else PermitStatus.SUSPENDED

    flipper = threading.Thread(target=flip)
    flipper.start()
    checked = 0
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.EnforcementStub(channel)
            auth = (("authorization", f"Bearer {token}"),)
            for number in range(200):
                read = pb.PlateRead(
                    read_id=f"r{number}", camera_id="front", plate_text="B123ABC", confidence=0.9,
                    captured_at=datetime_to_timestamp(utc_now() - timedelta(seconds=1)),
                    evidence=pb.Evidence(crop_jpeg=JPEG),
                )  # fmt: skip
                sent_at = time.monotonic()
                known = max((revision for at, revision in list(committed) if at <= sent_at), default=1)
                (verdict,) = stub.StreamReads(iter([read]), metadata=auth, timeout=30)
                assert verdict.permit_revision >= known, (
                    f"read {number} was judged on revision {verdict.permit_revision} < {known}"
                )
                # odd revisions are active (1, 3, ...): the outcome must agree with the revision it names
                assert (verdict.outcome == pb.PERMITTED) == (verdict.permit_revision % 2 == 1)
                checked += 1
    finally:
        stop.set()
        flipper.join()
        server.stop(grace=None)
    assert checked == 200 and len(committed) > 10, "the permit must have changed while reads were judged"


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_several_processes_serve_one_port(fresh_database_url: Callable[[], str]) -> None:
    url = fresh_database_url()
    token, _ = prepared(url)
    parent = subprocess.Popen(
        [sys.executable, "-c", "from platepatrol.cli import main; main()", "backend", "serve", "--port", "0",
         "--web-port", "0", "--processes", "2"],
        env={**os.environ, "PLATEPATROL_DATABASE_URL": url}, cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        ports: list[str] = []
        while len(ports) < 2:  # each serving process says where it listens (the web line is the primary's)
            line = parent.stdout.readline()
            assert line, "the backend stopped"
            if match := LISTENING.search(line):
                ports.append(match.group(1))
        (port,) = set(ports)  # one port, two processes
        for _ in range(8):  # new connections, spread by the kernel
            assert check(f"127.0.0.1:{port}", token).outcome == pb.PERMITTED
    finally:
        parent.terminate()
        assert parent.wait(timeout=60) == 0
    assert _children_of(parent.pid) == []  # none left behind
