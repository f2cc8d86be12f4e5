"""`platepatrol bench detector`: milliseconds per frame of the plate detector alone (letterbox, network, NMS).

Frames come from a clip (the demo's 1280x720 patrol by default), resized to the size asked for, and are all read
into memory first so that decoding is not timed. The load on the machine is reported beside the numbers: on a
shared CPU they mean little without it.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.config import DetectorConfig
from edge.types import Image
from platepatrol.errors import UserError


@dataclass(frozen=True)
class DetectorBenchResult:
    runtime: str
    weights: str
    input_hw: list[int] | None  # the network's fixed input, for ONNX
    width: int
    height: int
    threads: int
    frames: int
    ms_median: float
    ms_p90: float
    ms_mean: float
    ms_min: float
    detections_per_frame: float
    load_average_1min: float  # the machine's load while we measured (other jobs share its cores)
    cpus: int


def read_frames(source: Path, width: int, height: int, count: int) -> list[Image]:
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise UserError(f"cannot open {source}")
    frames: list[Image] = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            if not frames:
                raise UserError(f"{source} has no frames")
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop a short clip
            continue
        if frame.shape[:2] != (height, width):
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        frames.append(np.asarray(frame, dtype=np.uint8))
    capture.release()
    return frames


def bench_detector(
    source: Path, config: DetectorConfig, width: int, height: int, frames: int, warmup: int = 5
) -> DetectorBenchResult:
    from edge.detect import DEFAULT_WEIGHTS, make_detector
    from edge.detect.close_ups import CloseUpDetector

    detector = make_detector(config)
    images = read_frames(source, width, height, frames)
    for image in images[:warmup]:
        detector.detect(image)
    times, found = [], 0
    for image in images:
        start = time.perf_counter()
        found += len(detector.detect(image))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    network = detector.inner if isinstance(detector, CloseUpDetector) else detector
    fixed = getattr(network, "input_hw", None)  # ONNX only: ultralytics letterboxes to each image's own size
    return DetectorBenchResult(
        runtime=config.runtime,
        weights=str(config.weights or DEFAULT_WEIGHTS[config.runtime]),
        input_hw=list(fixed) if fixed is not None else None,
        width=width,
        height=height,
        threads=config.threads,
        frames=len(times),
        ms_median=round(statistics.median(times), 2),
        ms_p90=round(times[min(len(times) - 1, int(0.9 * len(times)))], 2),
        ms_mean=round(statistics.fmean(times), 2),
        ms_min=round(times[0], 2),
        detections_per_frame=round(found / len(times), 2),
        load_average_1min=round(os.getloadavg()[0], 2),
        cpus=os.cpu_count() or 0,
    )


def result_json(result: DetectorBenchResult) -> dict[str, object]:
    return asdict(result)
