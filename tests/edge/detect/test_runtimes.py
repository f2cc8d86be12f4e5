"""Both detector plugins, run on the shipped weights: each finds a plate in a real frame, and they agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import DetectorConfig
from edge.detect import make_detector
from edge.types import Box, Image
from platepatrol.errors import UserError
from tests.scenes import demo_frame, with_plate

PLATE = Box(300, 560, 480, 600)  # where the plate is pasted into the demo clip's first frame


@pytest.fixture(scope="module")
def scene() -> Image:
    return with_plate(demo_frame(), "KL 482 TX", 300, 560, 180, 40)


@pytest.mark.parametrize("runtime", ["onnx", "ultralytics"])
def test_each_runtime_finds_the_plate(runtime: str, scene: Image) -> None:
    detections = make_detector(DetectorConfig(runtime=runtime, close_up_width=1.0)).detect(scene)
    assert detections, f"{runtime} found nothing"
    assert [d.score for d in detections] == sorted((d.score for d in detections), reverse=True)  # best first
    assert all(d.score >= DetectorConfig().min_score for d in detections)
    assert max(d.box.iou(PLATE) for d in detections) >= 0.5


def test_the_onnx_export_boxes_what_the_checkpoint_boxes(scene: Image) -> None:
    """The car runs the ONNX export; the ultralytics plugin runs the checkpoint it was exported from."""
    onnx = make_detector(DetectorConfig(runtime="onnx", close_up_width=1.0)).detect(scene)
    torch = make_detector(DetectorConfig(runtime="ultralytics", close_up_width=1.0)).detect(scene)
    best = max(onnx, key=lambda d: d.box.iou(PLATE))
    twin = max(torch, key=lambda d: d.box.iou(best.box))
    assert twin.box.iou(best.box) >= 0.9
    assert twin.score == pytest.approx(best.score, abs=0.05)


@pytest.mark.parametrize("runtime", ["onnx", "ultralytics"])
def test_missing_weights_are_named(runtime: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        make_detector(DetectorConfig(runtime=runtime, weights=tmp_path / "nothing.pt"))
