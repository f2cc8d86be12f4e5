"""`bench detector` measures what it says: the frames asked for, at the size asked for, through the car's plugin."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.detect.bench import bench_detector, read_frames, result_json
from platepatrol.errors import UserError
from tests.conftest import REPO


def two_frame_clip(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 5, (64, 48))
    for shade in (40, 200):
        writer.write(np.full((48, 64, 3), shade, np.uint8))
    writer.release()
    return path


def test_a_short_clip_is_looped_and_resized(tmp_path: Path) -> None:
    frames = read_frames(two_frame_clip(tmp_path / "clip.avi"), 32, 24, 5)
    assert len(frames) == 5 and all(f.shape == (24, 32, 3) for f in frames)
    assert [int(f.mean()) > 120 for f in frames] == [False, True, False, True, False]


def test_a_clip_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot open"):
        read_frames(tmp_path / "missing.mp4", 64, 48, 2)


def test_the_bench_times_each_frame_of_the_demo_clip() -> None:
    result = bench_detector(REPO / "demo" / "patrol.mp4", DetectorConfig(), 1280, 720, frames=3, warmup=1)
    assert (result.runtime, result.frames, result.width, result.height) == ("onnx", 3, 1280, 720)
    assert result.input_hw == [384, 640]  # the car's fixed input
    assert 0 < result.ms_min <= result.ms_median <= result.ms_p90
    assert result.detections_per_frame >= 0 and result.cpus >= 1
    assert str(result_json(result)["weights"]).endswith("plate_yolo.onnx")
