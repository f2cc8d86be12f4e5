"""The edge's one strict config: YAML file, then command-line flags on top; unknown keys are errors.

The device token is a secret: it comes from `--token` or the PLATEPATROL_DEVICE_TOKEN environment variable,
never from this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from platepatrol.config import StrictModel, load_config

TOKEN_ENV = "PLATEPATROL_DEVICE_TOKEN"
# Regions whose plate formats the reader can decode to (edge/read/plate_formats.py holds each region's formats).
PlateRegion = Literal["br", "ar"]


class DetectorConfig(StrictModel):
    runtime: Literal["onnx", "ultralytics"] = "onnx"
    weights: Path | None = Field(default=None, description="default: the shipped model for the runtime")
    # 0.45 for detector v3 (stage 9, models/detector/card.yaml): the lowest score at which its precision on the
    # real validation block (audited labels) is >= 0.95 (v2 used 0.35); a false violation is the worse failure.
    min_score: float = Field(default=0.45, gt=0.0, lt=1.0)
    nms_iou: float = Field(default=0.5, gt=0.0, lt=1.0)
    # One per model: the car's capture, reading and sending threads share the cores with it, and intra-op
    # threads that wait for each other cost more than they give (bench edge, 720p: 20.8 -> 25.7 fps).
    threads: int = Field(default=1, ge=1, le=64)
    close_up_width: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="a detection wider than this share of the image is a close-up: the image is detected again "
        "inside grey padding, where the detector boxes the whole plate (edge/detect/close_ups.py); 1: never",
    )


class ReaderConfig(StrictModel):
    # plate_onnx: our plate-tuned recognizer (models/reader) in ONNX Runtime, int8, ~4x faster, the car's default;
    # plate_ocr: the same network in torch; easyocr: easyocr's English model with its text detector
    runtime: Literal["plate_ocr", "plate_onnx", "easyocr"] = "plate_onnx"
    min_confidence: float = Field(default=0.05, ge=0.0, le=1.0, description="readings below are dropped")
    min_chars: int = Field(
        default=4,
        ge=1,
        le=12,
        description="readings with fewer characters are dropped: lettering, badges, a piece of a plate at the "
        "image's edge; lower it where plates this short are issued",
    )
    crop_height: int = Field(default=96, ge=16, le=512, description="plate crops are scaled to this height")
    threads: int = Field(default=1, ge=1, le=64, description="see DetectorConfig.threads")
    # Regional plate formats (edge/read/plate_formats.py): br = Brazil (LLLNNNN, Mercosul LLLNLNN), ar = Argentina
    # (LLLNNN, Mercosur LLNNNLL). Empty (the default): any text, as where plates follow no few fixed shapes.
    plate_formats: tuple[PlateRegion, ...] = Field(
        default=(),
        max_length=8,
        description="regions whose plate formats the reading should fit (CTC plugins plate_onnx and plate_ocr): "
        "the most probable text that fits a format is read, unless it is less than format_ratio times as probable "
        "as the network's best (a car from elsewhere, a vanity plate); the network's best stays an alternative",
    )
    format_ratio: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        description="with plate_formats: how probable the best fitting text must be, relative to the network's "
        "best, to be read instead (0.05: chosen on rendered plates never trained on, models/reader/card.yaml)",
    )

    @field_validator("plate_formats")
    @classmethod
    def _distinct_regions(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(regions)) != len(regions):
            raise ValueError(f"each region once, got {list(regions)}")
        return regions

    @model_validator(mode="after")
    def _formats_need_ctc(self) -> ReaderConfig:
        if self.plate_formats and self.runtime == "easyocr":
            raise ValueError("plate_formats needs a CTC reader (plate_onnx or plate_ocr), not easyocr")
        return self

    def keeps(self, text: str, confidence: float) -> bool:
        """Whether a reading is kept: every reader plugin asks this of its result."""
        return confidence >= self.min_confidence and len(text) >= self.min_chars

    @classmethod
    def raw(cls, **settings: Any) -> ReaderConfig:
        """Every reading the network makes, none dropped: for evaluation, calibration and benchmarks."""
        return cls.model_validate({**settings, "min_confidence": 0.0, "min_chars": 1})


class TrackerConfig(StrictModel):
    min_iou: float = Field(default=0.1, ge=0.0, le=1.0)
    max_centre_shift: float = Field(default=2.5, gt=0.0, description="in plate widths, between matched frames")
    max_missed_frames: int = Field(default=4, ge=0, description="a track unseen this long is a finished pass")
    border_margin: float = Field(
        default=0.08, ge=0.0, lt=0.5, description="a plate last seen this close to the image's edge (share of size)..."
    )
    border_missed_frames: int = Field(default=2, ge=0, description="...and unseen this long has left the picture")
    min_frames: int = Field(default=1, ge=1, description="shorter tracks are dropped as noise")
    emit_after_frames: int = Field(default=3, ge=1, description="a pass read this often may be sent before it ends")
    emit_confidence: float = Field(default=0.6, ge=0.0, le=1.0, description="...if its vote is this confident")
    max_reads_per_pass: int = Field(default=12, ge=1, description="frames of a pass read at most; the rest only track")
    recheck_every_frames: int = Field(default=3, ge=1, description="a pass read enough is re-read this often...")
    split_confidence: float = Field(default=0.3, ge=0.0, le=1.0, description="...and a reading this confident...")
    split_similarity: float = Field(
        default=0.5, ge=0.0, le=1.0, description="...and less similar than this to its text is a new vehicle"
    )
    dedupe_within_frames: int = Field(default=30, ge=0, description="a read this soon after a similar one...")
    dedupe_similarity: float = Field(
        default=0.75, ge=0.0, le=1.0, description="...this similar is the same vehicle's pass: not sent twice"
    )


class GpsConfig(StrictModel):
    kind: Literal["none", "gpx", "nmea", "gpsd"] = "none"
    path: Path | None = Field(default=None, description="GPX route, NMEA file, or serial device / pipe of NMEA")
    host: str = Field(default="127.0.0.1", description="gpsd host")
    port: int = Field(default=2947, ge=1, le=65535, description="gpsd port")
    max_fix_age_s: float = Field(default=2.0, gt=0, description="a live fix older than this is no fix")


class CameraConfig(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="names this camera in every read")
    source: str = Field(min_length=1, description="video file, RTSP/HTTP URL, USB device number or image folder")
    side: Literal["front", "rear", "left", "right"] = "front"
    calibration: Path | None = Field(default=None, description="camera.yaml from `platepatrol calibrate intrinsics`")
    mount: Path | None = Field(default=None, description="mount.yaml from `platepatrol calibrate mount`")
    max_fps: float | None = Field(default=None, gt=0, description="process at most this many frames per second")
    queue_size: int = Field(
        default=2, ge=1, le=256, description="frames waiting; a live camera drops the oldest (few: fresh frames)"
    )
    live: bool | None = Field(
        default=None, description="drop frames when behind; default: yes for URLs and devices, no for files"
    )

    @model_validator(mode="after")
    def _mount_needs_lens(self) -> CameraConfig:
        if self.mount is not None and self.calibration is None:
            raise ValueError(f"camera {self.id}: a mount file needs the camera's calibration file too")
        return self


class EdgeConfig(StrictModel):
    device_id: str = Field(default="car-1", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    cameras: tuple[CameraConfig, ...] = Field(default=(), max_length=4, description="the rig: 1 to 4 cameras")
    backend: str = Field(default="127.0.0.1:50051", pattern=r"^[^\s:]+:\d{1,5}$", description="HOST:PORT")
    tls_ca: Path | None = Field(default=None, description="PEM CA of the backend's certificate: connect with TLS")
    verdict_timeout_s: float = Field(default=30.0, gt=0, description="how long to wait for the last verdicts")
    outbox: Path = Field(default=Path("var/edge/outbox.db"), description="SQLite file of reads not yet answered")
    keep_verdicts_hours: float = Field(
        default=12.0, gt=0, le=24 * 7, description="answered reads are forgotten after this long (personal data)"
    )
    detector: DetectorConfig = DetectorConfig()
    reader: ReaderConfig = ReaderConfig()
    tracker: TrackerConfig = TrackerConfig()
    gps: GpsConfig = GpsConfig()
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="serve Prometheus metrics here")
    beep_on_violation: bool = Field(default=True, description="a sound cue (terminal bell) for each violation")

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: tuple[CameraConfig, ...]) -> tuple[CameraConfig, ...]:
        ids = [camera.id for camera in cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids must be unique, got {ids}")
        return cameras


def load_edge_config(
    path: Path | None = None, source: str | None = None, camera_id: str | None = None, **overrides: Any
) -> EdgeConfig:
    """The config file with flags on top; `source` (with `camera_id`) replaces the rig with one camera."""
    if source is not None:
        overrides["cameras"] = [{"id": camera_id or "front", "source": source}]
    return load_config(EdgeConfig, path, overrides)
