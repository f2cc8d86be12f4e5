"""Tables of the permit system. A permit covers one or more vehicles, optionally limited to one zone."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, Enum, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.storage.base import Base, UTCDateTime, new_id, utc_now


class PermitStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


permit_vehicles = Table(
    "permit_vehicles",
    Base.metadata,
    Column("permit_id", ForeignKey("permits.id", ondelete="CASCADE"), primary_key=True),
    Column("vehicle_id", ForeignKey("vehicles.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Vehicle(Base):
    __tablename__ = "vehicles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    plate: Mapped[str] = mapped_column(String(12), unique=True, comment="normalised: A-Z and 0-9 only")
    jurisdiction: Mapped[str] = mapped_column(String(16), default="")
    make: Mapped[str] = mapped_column(String(64), default="")
    colour: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    permits: Mapped[list[Permit]] = relationship(secondary=permit_vehicles, back_populates="vehicles")


class Zone(Base):
    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    geojson: Mapped[str] = mapped_column(Text, default="", comment="GeoJSON Polygon of the zone")


class Permit(Base):
    __tablename__ = "permits"
    __table_args__ = (Index("ix_permits_validity", "valid_from", "valid_until"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True, comment="printed on the permit")
    holder_name: Mapped[str] = mapped_column(String(128), default="")
    zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id"), comment="null: valid in every zone")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, comment="exclusive")
    status: Mapped[PermitStatus] = mapped_column(
        Enum(PermitStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PermitStatus.ACTIVE,
    )
    # Bumped on every change, and stored with each verdict the permit decided.
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    vehicles: Mapped[list[Vehicle]] = relationship(secondary=permit_vehicles, back_populates="permits")
    zone: Mapped[Zone | None] = relationship()


class PermitRevision(Base):
    """Every version of every permit, written in the same transaction as the change (see `revisions.py`).

    The auto-increment id orders all changes: edges watch it to keep their offline copy current, and
    "was this plate permitted at that moment, as known then?" is answered from these rows.
    """

    __tablename__ = "permit_revisions"
    __table_args__ = (Index("ix_permit_revisions_permit", "permit_id", "revision", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    permit_id: Mapped[str] = mapped_column(String(36))
    revision: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    code: Mapped[str] = mapped_column(String(32))
    plates: Mapped[list[str]] = mapped_column(JSON)
    zone_id: Mapped[str | None] = mapped_column(String(36))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[PermitStatus] = mapped_column(
        Enum(PermitStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
