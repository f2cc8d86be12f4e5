"""Plate detection: a `PlateDetector` plugin per runtime, chosen by `detector.runtime` in the config."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from edge.config import DetectorConfig
from edge.types import Detection, Image
from platepatrol.errors import UserError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "detector"
DEFAULT_WEIGHTS = {"onnx": MODELS_DIR / "plate_yolo.onnx", "ultralytics": MODELS_DIR / "plate_yolo.pt"}
PLUGINS = {"onnx": "edge.detect.onnx_runtime", "ultralytics": "edge.detect.ultralytics_runtime"}


class PlateDetector(Protocol):
    def detect(self, image: Image) -> list[Detection]:
        """Plate boxes in pixels of `image`, best first."""
        ...


def make_detector(config: DetectorConfig) -> PlateDetector:
    weights = config.weights or DEFAULT_WEIGHTS[config.runtime]
    if not weights.is_file():
        raise UserError(f"detector weights {weights} not found")
    try:
        plugin = importlib.import_module(PLUGINS[config.runtime])
    except ModuleNotFoundError as missing:
        raise UserError(
            f"detector runtime {config.runtime!r} needs the Python package {missing.name!r} "
            "(install the 'edge' extra, or 'train' for ultralytics)"
        ) from None
    detector: PlateDetector = plugin.load(weights, config)
    if config.close_up_width < 1.0:
        from edge.detect.close_ups import CloseUpDetector

        return CloseUpDetector(detector, config.close_up_width)
    return detector
