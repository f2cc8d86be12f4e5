"""What the officer sees: one line per verdict, violations loud; and a JSON-lines log of every verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from edge.uplink import Answer
from platepatrol.v1 import enforcement_pb2 as pb

STYLES = {pb.PERMITTED: "green", pb.VIOLATION: "bold red", pb.NEEDS_REVIEW: "yellow", pb.ERROR: "magenta"}


def _captured_at(read: pb.PlateRead) -> datetime:
    return read.captured_at.ToDatetime(tzinfo=UTC).astimezone()


def verdict_line(answer: Answer) -> str:
    """time, camera, plate, confidence, outcome, reason, round-trip ms."""
    read, verdict = answer.read, answer.verdict
    if verdict.provisional:
        trip = "provisional"
    elif answer.round_trip_ms is None:
        trip = "  resent"
    else:
        trip = f"{answer.round_trip_ms:6.1f} ms"
    return (
        f"{_captured_at(read).strftime('%H:%M:%S')}  {read.camera_id:<8} {read.plate_text:<12} "
        f"{read.confidence:4.2f}  {pb.Outcome.Name(verdict.outcome):<12} {pb.Reason.Name(verdict.reason):<16} {trip}"
    )


class OfficerView:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(highlight=False, soft_wrap=True)

    def show(self, answer: Answer) -> None:
        style = STYLES.get(answer.verdict.outcome, "")
        line = escape(verdict_line(answer))
        self._console.print(f"[{style}]{line}[/]" if style else line)


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
