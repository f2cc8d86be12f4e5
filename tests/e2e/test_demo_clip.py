"""End to end: a real backend process and a real edge process over loopback gRPC on the demo clip."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.config import EnforcementPolicy
from backend.enforcement.models import ReadRecord
from backend.permits.demo import DEMO_PLATES, DemoSeed, load_demo_seed
from backend.storage.engine import make_engine
from platepatrol.verdicts import lookalike_variants
from tests.conftest import REPO

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from platepatrol.cli import main; main()"]
LISTENING = re.compile(r"backend listening on [^:]+:(\d+)")


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        [*CLI, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[dict[str, str], str, str]]:
    """A seeded backend serving on a free port: (environment, address, device token)."""
    env = {**os.environ, "PLATEPATROL_DATABASE_URL": f"sqlite:///{tmp_path / 'office.db'}"}
    run(["backend", "seed-demo"], env)
    token = run(["backend", "add-device", "demo-car"], env).strip()
    server = subprocess.Popen(
        [*CLI, "backend", "serve", "--port", "0", "--web-port", "0"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    match = LISTENING.search(server.stdout.readline())
    assert match, "the backend did not say where it listens"
    yield env, f"127.0.0.1:{match.group(1)}", token
    server.terminate()
    assert server.wait(timeout=30) == 0  # a clean shutdown on SIGTERM


def expected_verdict(plate: str, confidence: float, alternatives: list[str], seed: DemoSeed) -> tuple[str, str]:
    """What the seeded permits say of a read: a doubtful read, or a misread that looks like a permitted plate,
    goes to review (the backend's default review_below_confidence is 0.5)."""
    if plate in seed.permitted:
        return "PERMITTED", "VALID_PERMIT"
    if confidence < EnforcementPolicy().review_below_confidence:
        return "NEEDS_REVIEW", "LOW_CONFIDENCE"
    if set(alternatives) & set(seed.permitted) or lookalike_variants(plate) & set(seed.permitted):
        return "NEEDS_REVIEW", "AMBIGUOUS_MATCH"
    if plate in seed.expired:
        return "VIOLATION", "EXPIRED"
    return "VIOLATION", "NO_PERMIT"


def test_the_demo_clip_gets_verdicts_that_match_the_seeded_permits(
    office: tuple[dict[str, str], str, str], tmp_path: Path
) -> None:
    env, address, token = office
    journal = tmp_path / "verdicts.jsonl"
    output = run(
        [
            "edge",
            "run",
            "--config",
            "demo/edge.yaml",
            "--backend",
            address,
            "--log",
            str(journal),
            "--outbox",
            str(tmp_path / "outbox.db"),
        ],
        {**env, "PLATEPATROL_DEVICE_TOKEN": token},
        timeout=900,
    )
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    seed = load_demo_seed(DEMO_PLATES)
    assert records, "no read came back"
    for record in records:
        assert (record["outcome"], record["reason"]) == expected_verdict(
            record["plate"], record["confidence"], record["alternatives"], seed
        )
    assert all(record["gps"] is not None for record in records), "the demo route covers the whole clip"
    outcomes = {record["outcome"] for record in records}
    assert {"PERMITTED", "VIOLATION"} <= outcomes
    # every verdict line was printed, and every read is stored once in the office
    *verdict_lines, summary = output.splitlines()
    assert len(verdict_lines) == len(records) and all(" ms" in line for line in verdict_lines)
    assert summary.startswith("108 frames (front 108)"), summary
    with make_engine(env["PLATEPATROL_DATABASE_URL"]).connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ReadRecord)) == len(records)
