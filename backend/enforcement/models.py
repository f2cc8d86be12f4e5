"""Reads received from the cars and the verdicts given for them: the record of what was decided and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.storage.base import Base, UTCDateTime, utc_now
from platepatrol.verdicts import Outcome, Reason


def _string_enum(enum_type: type[Outcome] | type[Reason]) -> Enum:
    return Enum(enum_type, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


def stored_position(
    vehicle_latitude: float | None, vehicle_longitude: float | None, latitude: float | None, longitude: float | None
) -> tuple[float, float] | None:
    """Where a stored read's vehicle was: its placed position when the car could tell, else the car's fix."""
    if vehicle_latitude is not None and vehicle_longitude is not None:
        return vehicle_latitude, vehicle_longitude
    if latitude is not None and longitude is not None:
        return latitude, longitude
    return None


class ReadRecord(Base):
    __tablename__ = "reads"
    # A plate's reads in a time window (the overtime rule's sightings) from the index alone; also by plate.
    __table_args__ = (Index("ix_reads_plate_captured_at", "plate", "captured_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="chosen by the edge; unique")
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    plate: Mapped[str] = mapped_column(String(12), comment="normalised")
    confidence: Mapped[float] = mapped_column(Float)
    char_confidences: Mapped[list[float]] = mapped_column(JSON, default=list)
    alternatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    frames_voted: Mapped[int] = mapped_column(Integer, default=1)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    gps_accuracy_m: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    vehicle_latitude: Mapped[float | None] = mapped_column(Float, comment="the parked vehicle, from the mount")
    vehicle_longitude: Mapped[float | None] = mapped_column(Float)
    crop_jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    context_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)

    verdict: Mapped[VerdictRecord] = relationship(back_populates="read")

    @property
    def position(self) -> tuple[float, float] | None:
        return stored_position(self.vehicle_latitude, self.vehicle_longitude, self.latitude, self.longitude)


class VerdictRecord(Base):
    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    read_id: Mapped[str] = mapped_column(ForeignKey("reads.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[Outcome] = mapped_column(_string_enum(Outcome), index=True)
    reason: Mapped[Reason] = mapped_column(_string_enum(Reason))
    sentence: Mapped[str] = mapped_column(Text)
    permit_id: Mapped[str | None] = mapped_column(String(36))
    permit_revision: Mapped[int | None] = mapped_column(Integer)
    zone_id: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    permit_data_age_s: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen_read_id: Mapped[str | None] = mapped_column(String(64), comment="overtime: the earlier read")
    candidate_plate: Mapped[str | None] = mapped_column(String(12), comment="look-alike: the permitted plate")

    read: Mapped[ReadRecord] = relationship(back_populates="verdict")
