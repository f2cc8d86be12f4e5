"""Tables of the permit system. A permit of a type covers one or more vehicles in the type's zones and hours."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

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
    geojson: Mapped[str] = mapped_column(
        Text, default="", comment="GeoJSON Polygon of the zone"
    )  # or MultiPolygon; lon, lat
    time_limit_minutes: Mapped[int | None] = mapped_column(comment="anyone may park this long; null: permits only")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


permit_type_zones = Table(
    "permit_type_zones",
    Base.metadata,
    Column("permit_type_id", ForeignKey("permit_types.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
)


class PermitType(Base):
    """What a permit allows: the zones (none listed: every zone) and the days and hours (none: always)."""

    __tablename__ = "permit_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    hours: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment='[{"days": [0..6], "start": "08:00", "end": "18:00"}], 0 = Monday'
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", comment="the hours' time zone (IANA)")

    zones: Mapped[list[Zone]] = relationship(secondary=permit_type_zones)


class HotlistEntry(Base):
    """A plate to alert on (stolen, wanted, unpaid fines...), with the reason the officer is told."""

    __tablename__ = "hotlist"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    plate: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(String(256))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Permit(Base):
    __tablename__ = "permits"
    __table_args__ = (Index("ix_permits_validity", "valid_from", "valid_until"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True, comment="printed on the permit")
    holder_name: Mapped[str] = mapped_column(String(128), default="")
    type_id: Mapped[str | None] = mapped_column(ForeignKey("permit_types.id"), comment="null: every zone, always")
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
    type: Mapped[PermitType | None] = relationship()

    # The terms a permit holds through its type; a permit with no type is valid in every zone, at all hours.
    @property
    def zone_ids(self) -> list[str]:
        return sorted(zone.id for zone in self.type.zones) if self.type else []

    @property
    def hours(self) -> list[dict[str, Any]]:
        return list(self.type.hours) if self.type else []

    @property
    def timezone(self) -> str:
        return self.type.timezone if self.type else "UTC"


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
    # The type's terms as they were at this revision, so a later change to the type does not rewrite history.
    zone_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[PermitStatus] = mapped_column(
        Enum(PermitStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
