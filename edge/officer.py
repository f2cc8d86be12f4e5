"""What the officer sees: one line per verdict, violations loud."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from edge.uplink import Answer
from platepatrol.v1 import enforcement_pb2 as pb

STYLES = {pb.PERMITTED: "green", pb.VIOLATION: "bold red", pb.NEEDS_REVIEW: "yellow", pb.ERROR: "magenta"}


def verdict_line(answer: Answer) -> str:
    """time, camera, plate, confidence, outcome, reason, round-trip ms."""
    read, verdict = answer.read, answer.verdict
    return (
        f"{read.captured_at.astimezone().strftime('%H:%M:%S')}  {read.camera_id:<8} {read.text:<12} "
        f"{read.confidence:4.2f}  {pb.Outcome.Name(verdict.outcome):<12} {pb.Reason.Name(verdict.reason):<16} "
        f"{answer.round_trip_ms:6.1f} ms"
    )


class OfficerView:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(highlight=False, soft_wrap=True)

    def show(self, answer: Answer) -> None:
        style = STYLES.get(answer.verdict.outcome, "")
        self._console.print(f"[{style}]{escape(verdict_line(answer))}[/]" if style else escape(verdict_line(answer)))


def answer_record(answer: Answer) -> dict[str, object]:
    """One JSON-lines record of a read and its verdict."""
    read, verdict = answer.read, answer.verdict
    return {
        "read_id": read.read_id,
        "camera_id": read.camera_id,
        "captured_at": read.captured_at.isoformat(),
        "plate": read.text,
        "confidence": round(read.confidence, 4),
        "alternatives": [alt.text for alt in read.alternatives],
        "frames_voted": read.frames_voted,
        "box": read.box.as_list(),
        "outcome": pb.Outcome.Name(verdict.outcome),
        "reason": pb.Reason.Name(verdict.reason),
        "sentence": verdict.sentence,
        "permit_id": verdict.permit_id,
        "round_trip_ms": round(answer.round_trip_ms, 2),
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
