"""Tables of the permit system. A permit of a type covers one or more vehicles in the type's zones and hours."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Computed, Date, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.storage.base import Base, UTCDateTime, new_id, string_enum, utc_now
from platepatrol.verdicts import LOOKALIKE_FOLDS


def lookalike_key_sql(column: str) -> str:
    """SQL for platepatrol.verdicts.lookalike_key of `column`, the same on SQLite and PostgreSQL."""
    sql = column
    for char, digit in sorted(LOOKALIKE_FOLDS.items()):
        if char != digit:
            sql = f"replace({sql}, '{char}', '{digit}')"
    return sql


class PermitStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Validity(enum.StrEnum):
    """How long a permit of a type runs: a fixed season, whole calendar months, or a number of days."""

    FIXED = "fixed"  # from fixed_start to fixed_end (the type's local dates), whenever bought
    MONTHS = "months"  # from the 1st of the month it is bought in, for `months` calendar months
    ROLLING = "rolling"  # from the moment it is bought, for `days` days


class Proration(enum.StrEnum):
    """What a permit bought part-way through its period costs."""

    NONE = "none"  # the full price
    DAILY = "daily"  # price x days left / days in the period
    MONTHLY = "monthly"  # price x months begun and left / months in the period


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


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
    # Kept by the database: the plates a misread may be of share it (one indexed lookup finds them all).
    plate_key: Mapped[str] = mapped_column(
        String(12),
        Computed(lookalike_key_sql("plate"), persisted=True),
        index=True,
        comment="look-alike characters folded",
    )
    jurisdiction: Mapped[str] = mapped_column(String(16), default="")
    make: Mapped[str] = mapped_column(String(64), default="")
    colour: Mapped[str] = mapped_column(String(32), default="")
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, comment="the holder who registered it"
    )
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
    description: Mapped[str] = mapped_column(Text, default="")
    # What it costs and how long it runs; money is in integer minor units (cents).
    price_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    validity: Mapped[Validity] = mapped_column(string_enum(Validity), default=Validity.MONTHS)
    months: Mapped[int | None] = mapped_column(comment="validity MONTHS: how many calendar months")
    days: Mapped[int | None] = mapped_column(comment="validity ROLLING: how many days")
    fixed_start: Mapped[date | None] = mapped_column(Date, comment="validity FIXED: first day, local")
    fixed_end: Mapped[date | None] = mapped_column(Date, comment="validity FIXED: last day, local, inclusive")
    proration: Mapped[Proration] = mapped_column(string_enum(Proration), default=Proration.NONE)
    # Who may buy it: these roles, and, when residents_only, only people whose address is in one of its zones.
    eligible_roles: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["holder"])
    residents_only: Mapped[bool] = mapped_column(default=False)
    cap_per_zone: Mapped[int | None] = mapped_column(comment="live permits per home zone; full: waitlist")
    max_vehicles: Mapped[int] = mapped_column(default=1)
    renew_days_before: Mapped[int] = mapped_column(default=30, comment="renewal opens (and is reminded) this early")
    on_sale: Mapped[bool] = mapped_column(default=True)

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
    __table_args__ = (
        Index("ix_permits_validity", "valid_from", "valid_until"),
        Index("ix_permits_holder_name", "holder_name"),  # the admin console's search by holder
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True, comment="printed on the permit")
    holder_name: Mapped[str] = mapped_column(String(128), default="")
    holder_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    home_zone_id: Mapped[str | None] = mapped_column(
        ForeignKey("zones.id", ondelete="SET NULL"), comment="the zone whose cap it counts against"
    )
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="renewal reminder mailed")
    type_id: Mapped[str | None] = mapped_column(ForeignKey("permit_types.id"), comment="null: every zone, always")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, comment="exclusive")
    status: Mapped[PermitStatus] = mapped_column(
        string_enum(PermitStatus),
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


class WaitlistEntry(Base):
    """A place in the queue for a sold-out type and zone; an offer holds a permit for a while, then lapses."""

    __tablename__ = "waitlist"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    type_id: Mapped[str] = mapped_column(ForeignKey("permit_types.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    status: Mapped[WaitlistStatus] = mapped_column(string_enum(WaitlistStatus), default=WaitlistStatus.WAITING)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    status: Mapped[PermitStatus] = mapped_column(string_enum(PermitStatus))


# The permit clock: one row whose version the database's own triggers advance in every transaction that changes what
# a verdict reads (the tables below, migration 0009), committed with the change. A serving process keeps the permit
# data in memory as of one version (backend.enforcement.permit_mirror) and uses it only while the clock still
# reads that version; triggers, not application code, so no way of writing (an admin tool, raw SQL) can skip it.
permit_clock = Table(
    "permit_clock",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    # The first version whose changed keys are all in permit_clock_keys (older ones predate the log or were pruned).
    Column("keys_from", BigInteger, nullable=False, server_default="0"),
)
# The look-alike keys each version changed, written by the same triggers (migration 0011): a mirror catches up by
# reading those keys' permits again. EVERY_KEY stands for all of them (a permit type or its zones changed).
permit_clock_keys = Table(
    "permit_clock_keys",
    Base.metadata,
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("plate_key", String(12), primary_key=True),
)
EVERY_KEY = ""
CLOCKED_TABLES = ("vehicles", "permits", "permit_vehicles", "permit_types", "permit_type_zones", "hotlist")
