"""What the officer sees: one line per verdict, violations loud."""

from __future__ import annotations

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
