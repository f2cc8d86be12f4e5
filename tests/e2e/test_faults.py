"""The fault test: the office dies for 30 s in the middle of a patrol and the car is killed once (SIGKILL);
at the end every read the car made has exactly one stored verdict in the office: none lost, none twice."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.storage.engine import make_engine
from tests.conftest import REPO
from tests.e2e.test_demo_clip import CLI, LISTENING, run

pytestmark = pytest.mark.slow

OFFICE_DOWN_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_office(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    office = subprocess.Popen(
        [*CLI, "backend", "serve", "--port", str(port), "--web-port", "0"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert office.stdout is not None and LISTENING.search(office.stdout.readline()), "the office did not start"
    return office


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def settled(outbox: Path) -> int:
    if not outbox.exists():
        return 0
    with sqlite3.connect(outbox) as db:
        try:
            (count,) = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(count)


def test_a_dead_office_and_a_killed_car_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PLATEPATROL_DATABASE_URL": f"sqlite:///{tmp_path / 'office.db'}"}
    run(["backend", "seed-demo"], env)
    token = run(["backend", "add-device", "demo-car"], env).strip()
    port = free_port()
    rig = yaml.safe_load((REPO / "demo" / "edge.yaml").read_text())
    rig.update(outbox=str(tmp_path / "outbox.db"), verdict_timeout_s=300)  # the last verdicts wait out the outage
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(rig))
    car_command = [*CLI, "edge", "run", "--config", str(config), "--backend", f"127.0.0.1:{port}"]
    car_env = {**env, "PLATEPATROL_DEVICE_TOKEN": token}
    outbox = Path(rig["outbox"])

    office = start_office(env, port)
    with (tmp_path / "car-1.log").open("w") as log:
        car = subprocess.Popen(car_command, env=car_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: settled(outbox) >= 2, 300, "the first verdicts")
        car.send_signal(signal.SIGKILL)  # mid-patrol, reads in flight
        car.wait(timeout=30)

    office.send_signal(signal.SIGKILL)  # the office dies too...
    office.wait(timeout=30)
    with (tmp_path / "car-2.log").open("w") as log:
        car = subprocess.Popen(car_command, env=car_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(OFFICE_DOWN_S)  # ...for 30 s, while the car patrols on
        office = start_office(env, port)
        try:
            assert car.wait(timeout=600) == 0, (tmp_path / "car-2.log").read_text()[-2000:]
        finally:
            office.terminate()
            office.wait(timeout=30)

    with sqlite3.connect(outbox) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)  # nothing left unanswered
        answered = {read_id for (read_id,) in db.execute("SELECT read_id FROM verdicts")}
    with make_engine(env["PLATEPATROL_DATABASE_URL"]).connect() as connection:
        stored = set(connection.scalars(select(ReadRecord.id)))
        verdicts = connection.scalar(select(func.count()).select_from(VerdictRecord))
    assert len(answered) > 2  # both runs read plates
    assert answered == stored  # none lost, none unknown to the car
    assert verdicts == len(stored)  # one verdict per read
