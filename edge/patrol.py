"""The patrol loop: a camera's frames through the pipeline, reads through the outbox and uplink, verdicts to
the officer."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.capture import open_source
from edge.config import EdgeConfig
from edge.detect import make_detector
from edge.officer import JsonLinesLog, OfficerView
from edge.offline import provisional_verdict
from edge.outbox import Outbox
from edge.permit_cache import PermitCache
from edge.permit_watch import PermitWatcher
from edge.pipeline import CameraPipeline
from edge.read import make_reader
from edge.types import VotedRead
from edge.uplink import Answer, LinkState, Uplink, raise_if_failed
from edge.wire import read_to_proto
from platepatrol.errors import UserError
from platepatrol.v1 import enforcement_pb2 as pb


@dataclass
class PatrolStats:
    frames: int = 0
    reads: int = 0
    seconds: float = 0.0
    round_trips_ms: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    provisional: int = 0  # answered from the car's permit copy while offline

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def count(self, answer: Answer) -> None:
        if answer.round_trip_ms is not None:
            self.round_trips_ms.append(answer.round_trip_ms)
        name = pb.Outcome.Name(answer.verdict.outcome)
        self.outcomes[name] = self.outcomes.get(name, 0) + 1

    def summary(self) -> str:
        trips = sorted(self.round_trips_ms)
        p95 = trips[min(len(trips) - 1, int(0.95 * len(trips)))] if trips else 0.0
        mean = statistics.fmean(trips) if trips else 0.0
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "none"
        if self.provisional:
            outcomes += f" ({self.provisional} answered provisionally while offline)"
        return (
            f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} fps), {self.reads} reads, "
            f"verdicts: {outcomes}; round trip mean {mean:.1f} ms, p95 {p95:.1f} ms"
        )


def run_patrol(
    config: EdgeConfig, source: str, token: str, max_frames: int | None = None, log_path: Path | None = None
) -> PatrolStats:
    """Run one camera until its source ends, then wait for the verdicts still due."""
    frames = open_source(source, config.camera_id)  # fails fast on a bad source, before models load
    pipeline = CameraPipeline(
        config.camera_id, make_detector(config.detector), make_reader(config.reader), config.tracker
    )
    view = OfficerView()
    journal = JsonLinesLog(log_path) if log_path else None
    stats = PatrolStats()

    def on_answer(answer: Answer) -> None:
        stats.count(answer)
        view.show(answer)
        if journal:
            journal.write(answer)

    outbox = Outbox(config.outbox)
    uplink = Uplink(config.backend, token, outbox, on_answer)
    permits = PermitCache()
    watcher = PermitWatcher(config.backend, token, permits)

    def send(read: VotedRead) -> None:
        message = read_to_proto(read, config.device_id)
        uplink.send(message)
        stats.reads += 1
        if uplink.state is LinkState.OFFLINE and (answer := provisional_verdict(message, permits)) is not None:
            view.show(Answer(message, answer, None))
            stats.provisional += 1

    started = time.monotonic()
    try:
        for frame in frames:
            for read in pipeline.process(frame):
                send(read)
            stats.frames += 1
            raise_if_failed(uplink)
            if max_frames is not None and stats.frames >= max_frames:
                break
        for read in pipeline.finish():
            send(read)
        stats.seconds = time.monotonic() - started
        waiting = uplink.close(config.verdict_timeout_s)
        raise_if_failed(uplink)
    finally:
        watcher.stop()
        uplink.close(0)
        outbox.close()
        if journal:
            journal.close()
    if waiting:
        raise UserError(
            f"{waiting} reads got no verdict within {config.verdict_timeout_s:g} s; "
            f"they are kept in {config.outbox} and sent on the next run"
        )
    return stats
