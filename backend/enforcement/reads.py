"""Typed, frozen values passed through the enforcement path, free of gRPC and SQL types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from platepatrol.verdicts import Outcome, Reason


@dataclass(frozen=True)
class GpsPoint:
    latitude: float
    longitude: float
    accuracy_m: float | None = None
    heading_deg: float | None = None
    speed_mps: float | None = None


@dataclass(frozen=True)
class Alternative:
    text: str
    confidence: float


@dataclass(frozen=True)
class IncomingRead:
    """A read that passed validation: plate text normalised, times aware UTC, numbers in range."""

    read_id: str
    device_name: str
    camera_id: str
    captured_at: datetime
    plate: str
    confidence: float
    char_confidences: tuple[float, ...]
    alternatives: tuple[Alternative, ...]
    frames_voted: int
    gps: GpsPoint | None
    vehicle_position: tuple[float, float] | None  # (lat, lon) of the parked vehicle, when the car could tell
    crop_jpeg: bytes
    context_jpeg: bytes | None

    @property
    def position(self) -> tuple[float, float] | None:
        """Where the vehicle was: its placed position when the car could tell, else the car's fix."""
        if self.vehicle_position is not None:
            return self.vehicle_position
        return (self.gps.latitude, self.gps.longitude) if self.gps else None


@dataclass(frozen=True)
class VerdictOut:
    """A verdict as stored and as sent back: the decision plus what it answers and when."""

    read_id: str
    plate: str
    outcome: Outcome
    reason: Reason
    sentence: str
    permit_id: str | None
    permit_revision: int | None
    zone_id: str | None
    decided_at: datetime
    permit_data_age_s: float
    first_seen_read_id: str | None = None
    candidate_plate: str | None = None
