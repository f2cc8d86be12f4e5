"""How long undistorting a frame takes: the edge pays this once per captured frame."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from calibration.camera_model import CameraCalibration
from calibration.synthetic import example_camera
from calibration.undistort import Undistorter

BENCH_SIZE = (1280, 720)


@dataclass(frozen=True)
class UndistortBench:
    frame: str  # WIDTHxHEIGHT
    frames: int
    median_ms: float
    p90_ms: float
    build_ms: float  # building the maps, once per camera
    threads: int  # OpenCV's worker threads
    camera: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bench_undistort(
    calibration: CameraCalibration | None = None, frames: int = 200, threads: int | None = None
) -> UndistortBench:
    """Time `Undistorter.undistort` on `frames` frames (after 10 unmeasured), by default a 1280x720 wide lens.

    `threads` sets OpenCV's thread count for the run (and leaves it changed); None keeps OpenCV's choice."""
    camera = calibration or example_camera(BENCH_SIZE)
    if threads is not None:
        cv2.setNumThreads(threads)
    started = time.perf_counter()
    undistorter = Undistorter(camera)
    build_ms = (time.perf_counter() - started) * 1000
    width, height = camera.image_size
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for _ in range(10):
        undistorter.undistort(frame)
    times = []
    for _ in range(frames):
        started = time.perf_counter()
        undistorter.undistort(frame)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return UndistortBench(
        frame=f"{width}x{height}",
        frames=frames,
        median_ms=round(statistics.median(times), 3),
        p90_ms=round(times[min(len(times) - 1, int(0.9 * len(times)))], 3),
        build_ms=round(build_ms, 1),
        threads=cv2.getNumThreads(),
        camera="example wide lens" if calibration is None else "given",
    )
