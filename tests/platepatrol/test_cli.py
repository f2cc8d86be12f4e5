"""The command line as a person meets it: bad input exits non-zero with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def platepatrol(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from platepatrol.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env=env,
        check=False,
    )


def test_help_lists_the_parts() -> None:
    result = platepatrol("--help")
    assert result.returncode == 0
    for part in ("backend", "edge", "models", "read"):
        assert part in result.stdout


def test_a_bad_edge_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text("detector:\n  runtime: tensorflow\n")
    result = platepatrol("edge", "run", "--source", "x.mp4", "--token", "t", "--config", str(config))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad config") and "detector.runtime" in lines[0]


def test_an_unreadable_source_is_one_line(tmp_path: Path) -> None:
    result = platepatrol("edge", "run", "--source", str(tmp_path / "absent.mp4"), "--token", "t")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"error: source {tmp_path / 'absent.mp4'}: no such file or folder"]


def test_add_device_prints_the_token_once(tmp_path: Path) -> None:
    env = {"PLATEPATROL_DATABASE_URL": f"sqlite:///{tmp_path / 'pp.db'}", "PATH": "/usr/bin:/bin"}
    first = platepatrol("backend", "add-device", "car-9", env=env)
    assert first.returncode == 0 and first.stdout.startswith("ppd_") and len(first.stdout.split()) == 1
    again = platepatrol("backend", "add-device", "car-9", env=env)
    assert again.returncode != 0 and "already exists" in again.stderr
