"""`platepatrol bench edge`: frames per second and capture-to-verdict latency of the whole car, measured
against a real backend on loopback (started in this process on a scratch SQLite file)."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
from rich.console import Console

from edge.config import CameraConfig, EdgeConfig
from edge.patrol import Patrol, percentile
from platepatrol.errors import UserError


@dataclass(frozen=True)
class EdgeBenchResult:
    streams: int
    width: int
    height: int
    frames: int
    seconds: float
    fps_total: float
    fps_per_stream: float
    reads: int
    latency_p50_ms: float
    latency_p95_ms: float
    round_trip_p95_ms: float


def resized_clip(source: Path, width: int, height: int, out: Path, max_frames: int) -> Path:
    """The first `max_frames` frames of `source` at `width` x `height`, written as a new clip."""
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise UserError(f"cannot open {source}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    written = 0
    while written < max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR))
        written += 1
    capture.release()
    writer.release()
    return out


def bench_edge(
    source: Path, streams: int, width: int, height: int, max_frames: int, base: EdgeConfig
) -> EdgeBenchResult:
    from backend.devices.tokens import add_device
    from backend.permits.demo import DEMO_PLATES, load_demo_seed, seed_demo
    from backend.processes import start_backend_process
    from backend.storage.base import utc_now
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    with tempfile.TemporaryDirectory(prefix="platepatrol-bench-") as scratch:
        folder = Path(scratch)
        url = f"sqlite:///{folder / 'office.db'}"
        engine = make_engine(url)
        upgrade_to_head(engine)
        with make_session_factory(engine)() as session:
            seed_demo(session, utc_now(), load_demo_seed(DEMO_PLATES))
            token = add_device(session, base.device_id)
            session.commit()
        engine.dispose()
        # The office runs in a process of its own, as it does on its own machine: it does not take the car's GIL.
        office, port = start_backend_process(url)
        try:
            clip = resized_clip(source, width, height, folder / "clip.mp4", max_frames)
            cameras = tuple(CameraConfig(id=f"cam{i + 1}", source=str(clip)) for i in range(streams))
            config = base.model_copy(
                update={"cameras": cameras, "backend": f"127.0.0.1:{port}", "outbox": folder / "outbox.db"}
            )
            # Verdict lines go to stderr: stdout carries only the JSON result.
            patrol = Patrol(config, token, console=Console(stderr=True, highlight=False))
            started = time.monotonic()
            stats = patrol.run()
            seconds = time.monotonic() - started
        finally:
            office.terminate()
            office.wait(timeout=60)
    frames = sum(stats.frames.values())
    return EdgeBenchResult(
        streams=streams,
        width=width,
        height=height,
        frames=frames,
        seconds=round(seconds, 2),
        fps_total=round(frames / stats.seconds, 2) if stats.seconds else 0.0,
        fps_per_stream=round(frames / stats.seconds / streams, 2) if stats.seconds else 0.0,
        reads=stats.reads,
        latency_p50_ms=round(percentile(stats.latencies_ms, 0.5), 1),
        latency_p95_ms=round(percentile(stats.latencies_ms, 0.95), 1),
        round_trip_p95_ms=round(percentile(stats.round_trips_ms, 0.95), 1),
    )


def print_result(result: EdgeBenchResult) -> None:
    print(json.dumps(result.__dict__), flush=True)


SUMMARISED = ("fps_total", "fps_per_stream", "latency_p50_ms", "latency_p95_ms", "round_trip_p95_ms")


def summary(runs: Sequence[EdgeBenchResult]) -> dict[str, object]:
    """Repeated runs of one rig: the median, min and max of each figure (this machine's runs vary)."""
    first = runs[0]
    if any((run.streams, run.width, run.height) != (first.streams, first.width, first.height) for run in runs):
        raise ValueError("a summary is of repeated runs of one rig")
    figures: dict[str, object] = {"streams": first.streams, "width": first.width, "height": first.height}
    figures["runs"] = len(runs)
    for name in SUMMARISED:
        values = [getattr(run, name) for run in runs]
        figures[name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return figures
