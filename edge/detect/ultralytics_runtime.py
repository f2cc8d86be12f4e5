"""The detector run by ultralytics itself from the `.pt` checkpoint (needs the 'train' extra)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edge.config import DetectorConfig
from edge.types import Box, Detection, Image


class UltralyticsPlateDetector:
    def __init__(self, weights: Path, config: DetectorConfig) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        import torch
        from ultralytics import YOLO  # type: ignore[attr-defined]

        torch.set_num_threads(config.threads)
        self._model = YOLO(str(weights), task="detect")
        self._config = config

    def detect(self, image: Image) -> list[Detection]:
        result: Any
        (result,) = self._model.predict(
            image, conf=self._config.min_score, iou=self._config.nms_iou, verbose=False, device="cpu"
        )
        boxes = result.boxes
        detections = [
            Detection(Box(*map(float, xyxy)), float(score))
            for xyxy, score in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), strict=True)
        ]
        return sorted(detections, key=lambda d: d.score, reverse=True)


def load(weights: Path, config: DetectorConfig) -> UltralyticsPlateDetector:
    return UltralyticsPlateDetector(weights, config)
