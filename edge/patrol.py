"""The patrol: the rig's frames through each camera's pipeline, reads through the outbox and the uplink,
verdicts to the officer; metrics and a permit copy alongside."""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from calibration.mount import GroundMapper
from edge.config import CameraConfig, EdgeConfig
from edge.detect import make_detector
from edge.gps import open_gps
from edge.link import Link
from edge.metrics import EdgeMetrics
from edge.officer import JsonLinesLog, OfficerView, RigStatus
from edge.offline import provisional_verdict
from edge.outbox import Outbox
from edge.permit_cache import PermitCache
from edge.permit_watch import PermitWatcher
from edge.pipeline import CameraPipeline, Locator, mount_locator
from edge.read import make_reader
from edge.rig import Rig
from edge.types import VotedRead
from edge.uplink import Answer, LinkState, Uplink, raise_if_failed
from edge.wire import read_to_proto
from platepatrol.errors import UserError
from platepatrol.v1 import enforcement_pb2 as pb

STATUS_EVERY_S = 0.5


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass
class PatrolStats:
    frames: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reads: int = 0
    seconds: float = 0.0
    round_trips_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # capture of the completing frame -> verdict shown
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    provisional: int = 0  # answered from the car's permit copy while offline
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return sum(self.frames.values()) / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "none"
        if self.provisional:
            outcomes += f" ({self.provisional} answered provisionally while offline)"
        per_camera = ", ".join(f"{cam} {count}" for cam, count in self.frames.items())
        trip = statistics.fmean(self.round_trips_ms) if self.round_trips_ms else 0.0
        return (
            f"{sum(self.frames.values())} frames ({per_camera}) in {self.seconds:.1f} s ({self.fps:.1f} fps), "
            f"{self.reads} reads, verdicts: {outcomes}; round trip mean {trip:.1f} ms, "
            f"p95 {percentile(self.round_trips_ms, 0.95):.1f} ms; "
            f"capture to verdict p95 {percentile(self.latencies_ms, 0.95):.0f} ms"
        )


def locator_for(camera: CameraConfig) -> Locator | None:
    if camera.mount is None or camera.calibration is None:
        return None
    return mount_locator(GroundMapper.from_files(camera.calibration, camera.mount))


class Patrol:
    """Owns the rig's parts for one run and wires them together."""

    def __init__(
        self, config: EdgeConfig, token: str, log_path: Path | None = None, console: Console | None = None
    ) -> None:
        self.config = config
        self.stats = PatrolStats()
        self._rig = Rig(config.cameras)  # fails fast on a bad source, before the models load
        detector, reader = make_detector(config.detector), make_reader(config.reader)
        gps = open_gps(
            config.gps.kind,
            config.gps.path,
            config.gps.host,
            config.gps.port,
            config.gps.max_fix_age_s,
            start=datetime.now(UTC),
        )
        self._gps = gps
        self._pipelines = {
            camera.id: CameraPipeline(camera.id, detector, reader, config.tracker, gps, locator_for(camera))
            for camera in config.cameras
        }
        self.metrics = EdgeMetrics()
        if config.metrics_port is not None:
            self.metrics.serve(config.metrics_port)
        self._view = OfficerView(console, beep=config.beep_on_violation)
        self._journal = JsonLinesLog(log_path) if log_path else None
        self._completed_at: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._outbox = Outbox(config.outbox, keep_verdicts=timedelta(hours=config.keep_verdicts_hours))
        link = Link.to(config.backend, token, config.tls_ca)
        self._uplink = Uplink(link, self._outbox, self._on_answer)
        self._permits = PermitCache()
        self._watcher = PermitWatcher(link, self._permits)
        self._recent_frames: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=30))

    def run(self, max_frames: int | None = None) -> PatrolStats:
        """Until every camera's source ends (or `max_frames`), then wait for the verdicts still due."""
        started = last_status = time.monotonic()
        try:
            for frame in self._rig.frames():
                for read in self._pipelines[frame.camera_id].process(frame):
                    self._send(read)
                self._count_frame(frame.camera_id)
                raise_if_failed(self._uplink)
                if time.monotonic() - last_status >= STATUS_EVERY_S:
                    self._show_status()
                    last_status = time.monotonic()
                if max_frames is not None and sum(self.stats.frames.values()) >= max_frames:
                    break
            for pipeline in self._pipelines.values():
                for read in pipeline.finish():
                    self._send(read)
            self.stats.seconds = time.monotonic() - started
            waiting = self._uplink.close(self.config.verdict_timeout_s)
            raise_if_failed(self._uplink)
        finally:
            self._close()
        if waiting:
            raise UserError(
                f"{waiting} reads got no verdict within {self.config.verdict_timeout_s:g} s; "
                f"they are kept in {self.config.outbox} and sent on the next run"
            )
        return self.stats

    def _send(self, read: VotedRead) -> None:
        message = read_to_proto(read, self.config.device_id)
        with self._lock:
            self._completed_at[read.read_id] = read.last_seen_at
        self._uplink.send(message)
        self.stats.reads += 1
        self.metrics.reads.labels(read.camera_id).inc()
        if self._uplink.state is LinkState.OFFLINE:
            verdict = provisional_verdict(message, self._permits)
            if verdict is not None:
                self.stats.provisional += 1
                self._present(Answer(message, verdict, None))

    def _on_answer(self, answer: Answer) -> None:
        """Runs on the uplink's thread for every verdict the backend returns."""
        with self._lock:
            completed_at = self._completed_at.pop(answer.read.read_id, None)
            if answer.round_trip_ms is not None:
                self.stats.round_trips_ms.append(answer.round_trip_ms)
            self.stats.outcomes[pb.Outcome.Name(answer.verdict.outcome)] += 1
            if completed_at is not None:
                latency = (datetime.now(UTC) - completed_at).total_seconds()
                self.stats.latencies_ms.append(latency * 1000.0)
                self.metrics.latency.observe(latency)
        self._present(answer)
        if self._journal:
            self._journal.write(answer)

    def _present(self, answer: Answer) -> None:
        self.metrics.verdicts.labels(pb.Outcome.Name(answer.verdict.outcome), str(answer.verdict.provisional)).inc()
        self._view.show(answer)

    def _count_frame(self, camera_id: str) -> None:
        self.stats.frames[camera_id] += 1
        self.metrics.frames.labels(camera_id).inc()
        self._recent_frames[camera_id].append(time.monotonic())

    def _show_status(self) -> None:
        fps = {}
        for camera_id, times in self._recent_frames.items():
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            fps[camera_id] = (len(times) - 1) / span if span > 0 else 0.0
            self.metrics.fps.labels(camera_id).set(fps[camera_id])
        dropped = {camera.camera_id: camera.dropped for camera in self._rig.stats()}
        for camera_id, count in dropped.items():
            self.metrics.dropped.labels(camera_id).set(count)
        depth = self._outbox.depth()
        self.metrics.outbox_depth.set(depth)
        self.metrics.link_up.set(1 if self._uplink.state is LinkState.ONLINE else 0)
        self._view.status(RigStatus(self._uplink.state.value, depth, fps, dropped))

    def _close(self) -> None:
        self.stats.dropped = {camera.camera_id: camera.dropped for camera in self._rig.stats()}
        self._rig.stop()
        self._watcher.stop()
        self._uplink.close(0)
        self._outbox.close()
        self._gps.close()
        self._view.close()
        if self._journal:
            self._journal.close()


def run_patrol(
    config: EdgeConfig, token: str, max_frames: int | None = None, log_path: Path | None = None
) -> PatrolStats:
    return Patrol(config, token, log_path).run(max_frames)
