"""The frozen values passed between the edge's stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]  # H x W x 3, BGR as OpenCV gives it


@dataclass(frozen=True)
class Frame:
    camera_id: str
    index: int  # position in the camera's stream, from 0
    captured_at: datetime  # aware, UTC
    image: Image
    media_s: float | None = None  # seconds into a recording (None for live cameras): replays keep in step with it


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels of the original frame: (x1, y1) top left, (x2, y2) bottom right."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    def intersection(self, other: Box) -> float:
        """The area the two boxes share."""
        inter_w = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        inter_h = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        return inter_w * inter_h

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def as_list(self) -> list[float]:
        return [round(self.x1, 1), round(self.y1, 1), round(self.x2, 1), round(self.y2, 1)]


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float


@dataclass(frozen=True)
class Candidate:
    text: str
    confidence: float


@dataclass(frozen=True)
class Reading:
    """The text read from one plate crop: letters and digits only, with the reader's next-best texts."""

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    alternatives: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class Observation:
    """One plate in one frame: where it was, what it said, and its crop as evidence."""

    frame_index: int
    captured_at: datetime
    detection: Detection
    reading: Reading | None  # None: a plate was seen but nothing could be read from it
    crop: Image
    sharpness: float  # variance of the Laplacian: higher is sharper
    media_s: float | None = None


@dataclass(frozen=True)
class Fix:
    latitude: float
    longitude: float
    fixed_at: datetime
    accuracy_m: float | None = None
    heading_deg: float | None = None
    speed_mps: float | None = None


@dataclass(frozen=True)
class VotedRead:
    """One vehicle pass on one camera, voted across its frames into one read."""

    read_id: str
    camera_id: str
    captured_at: datetime
    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    alternatives: tuple[Candidate, ...]
    frames_voted: int
    crop_jpeg: bytes
    box: Box
    gps: Fix | None  # where the car was at `captured_at`; None when there was no fix
    vehicle_position: tuple[float, float] | None  # (lat, lon) of the parked vehicle, when the mount is known
    last_seen_at: datetime  # capture time of the frame that completed this read (for latency)
