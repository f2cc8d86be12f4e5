"""The edge's one strict config: YAML file, then command-line flags on top; unknown keys are errors.

The device token is a secret: it comes from `--token` or the PLATEPATROL_DEVICE_TOKEN environment variable,
never from this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from platepatrol.config import StrictModel, load_config

TOKEN_ENV = "PLATEPATROL_DEVICE_TOKEN"


class DetectorConfig(StrictModel):
    runtime: Literal["onnx", "ultralytics"] = "onnx"
    weights: Path | None = Field(default=None, description="default: the shipped model for the runtime")
    min_score: float = Field(default=0.35, gt=0.0, lt=1.0)
    nms_iou: float = Field(default=0.5, gt=0.0, lt=1.0)
    threads: int = Field(default=2, ge=1, le=64)


class ReaderConfig(StrictModel):
    runtime: Literal["easyocr"] = "easyocr"
    min_confidence: float = Field(default=0.05, ge=0.0, le=1.0, description="readings below are dropped")
    crop_height: int = Field(default=96, ge=16, le=512, description="plate crops are scaled to this height")
    threads: int = Field(default=2, ge=1, le=64)


class TrackerConfig(StrictModel):
    min_iou: float = Field(default=0.1, ge=0.0, le=1.0)
    max_centre_shift: float = Field(default=2.5, gt=0.0, description="in plate widths, between matched frames")
    max_missed_frames: int = Field(default=8, ge=0, description="a track unseen this long is a finished pass")
    min_frames: int = Field(default=1, ge=1, description="shorter tracks are dropped as noise")


class EdgeConfig(StrictModel):
    device_id: str = Field(default="car-1", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    camera_id: str = Field(default="front", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    backend: str = Field(default="127.0.0.1:50051", pattern=r"^[^\s:]+:\d{1,5}$", description="HOST:PORT")
    verdict_timeout_s: float = Field(default=30.0, gt=0, description="how long to wait for the last verdicts")
    outbox: Path = Field(default=Path("var/edge/outbox.db"), description="SQLite file of reads not yet answered")
    detector: DetectorConfig = DetectorConfig()
    reader: ReaderConfig = ReaderConfig()
    tracker: TrackerConfig = TrackerConfig()


def load_edge_config(path: Path | None = None, **overrides: Any) -> EdgeConfig:
    return load_config(EdgeConfig, path, overrides)
