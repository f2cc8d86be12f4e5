"""What the officer sees: each verdict as it arrives, violations loud (red, and a bell), the link state, the
outbox depth and each camera's frame rate; and a JSON-lines log of every read and verdict.

On a terminal this is a live screen; piped or logged, it is one line per verdict.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from edge.uplink import Answer
from platepatrol.v1 import enforcement_pb2 as pb

STYLES = {pb.PERMITTED: "green", pb.VIOLATION: "bold red", pb.NEEDS_REVIEW: "yellow", pb.ERROR: "magenta"}
RECENT = 15


@dataclass(frozen=True)
class RigStatus:
    link: str
    outbox_depth: int
    fps: dict[str, float]
    dropped: dict[str, int]

    def describe(self) -> str:
        cameras = "  ".join(f"{cam} {self.fps[cam]:.1f} fps ({self.dropped.get(cam, 0)} dropped)" for cam in self.fps)
        return f"link {self.link}  outbox {self.outbox_depth}  {cameras}"


def _captured_at(read: pb.PlateRead) -> datetime:
    return read.captured_at.ToDatetime(tzinfo=UTC).astimezone()


def _trip(answer: Answer) -> str:
    if answer.verdict.provisional:
        return "provisional"
    if answer.round_trip_ms is None:
        return "  resent"
    return f"{answer.round_trip_ms:6.1f} ms"


def verdict_line(answer: Answer) -> str:
    """time, camera, plate, confidence, outcome, reason, round-trip ms."""
    read, verdict = answer.read, answer.verdict
    return (
        f"{_captured_at(read).strftime('%H:%M:%S')}  {read.camera_id:<8} {read.plate_text:<12} "
        f"{read.confidence:4.2f}  {pb.Outcome.Name(verdict.outcome):<12} {pb.Reason.Name(verdict.reason):<16} "
        f"{_trip(answer)}"
    )


class OfficerView:
    def __init__(self, console: Console | None = None, beep: bool = True) -> None:
        self._console = console or Console(highlight=False, soft_wrap=True)
        self._beep = beep and self._console.is_terminal
        self._recent: deque[Answer] = deque(maxlen=RECENT)
        self._status: RigStatus | None = None
        self._live = Live(console=self._console, auto_refresh=False) if self._console.is_terminal else None
        if self._live is not None:
            self._live.start()

    def show(self, answer: Answer) -> None:
        if answer.verdict.outcome == pb.VIOLATION and self._beep:
            self._console.bell()
        if self._live is None:
            style = STYLES.get(answer.verdict.outcome, "")
            line = escape(verdict_line(answer))
            self._console.print(f"[{style}]{line}[/]" if style else line)
            return
        self._recent.appendleft(answer)
        self._refresh()

    def status(self, status: RigStatus) -> None:
        self._status = status
        if self._live is not None:
            self._refresh()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()

    def _refresh(self) -> None:
        assert self._live is not None
        table = Table("time", "camera", "plate", "conf", "outcome", "reason", "round trip", expand=True)
        for answer in self._recent:
            read, verdict = answer.read, answer.verdict
            table.add_row(
                _captured_at(read).strftime("%H:%M:%S"),
                read.camera_id,
                read.plate_text,
                f"{read.confidence:.2f}",
                pb.Outcome.Name(verdict.outcome),
                pb.Reason.Name(verdict.reason),
                _trip(answer),
                style=STYLES.get(verdict.outcome, ""),
            )
        header = Text(self._status.describe() if self._status else "starting", style="bold")
        self._live.update(Group(header, table), refresh=True)


def answer_record(answer: Answer) -> dict[str, object]:
    """One JSON-lines record of a read and its verdict."""
    read, verdict = answer.read, answer.verdict
    return {
        "read_id": read.read_id,
        "camera_id": read.camera_id,
        "captured_at": _captured_at(read).isoformat(),
        "plate": read.plate_text,
        "confidence": round(read.confidence, 4),
        "alternatives": [alt.text for alt in read.alternatives],
        "frames_voted": read.frames_voted,
        "gps": [read.gps.latitude, read.gps.longitude] if read.HasField("gps") else None,
        "outcome": pb.Outcome.Name(verdict.outcome),
        "reason": pb.Reason.Name(verdict.reason),
        "sentence": verdict.sentence,
        "permit_id": verdict.permit_id,
        "provisional": verdict.provisional,
        "round_trip_ms": None if answer.round_trip_ms is None else round(answer.round_trip_ms, 2),
    }


class JsonLinesLog:
    """Appends every read and its verdict to a file, one JSON object per line, flushed as it goes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def write(self, answer: Answer) -> None:
        self._file.write(json.dumps(answer_record(answer)) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
