"""A supervisor's decision on a flagged read, and the citation an accepted one becomes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.storage.base import Base, UTCDateTime, new_id, string_enum, utc_now


class Decision(enum.StrEnum):
    ACCEPTED = "accepted"  # a citation was issued
    REJECTED = "rejected"  # with a reason from the configured list


class ReviewDecision(Base):
    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Null once the read is purged (a rejection, after the retention time): the decision stays for statistics.
    read_id: Mapped[str | None] = mapped_column(ForeignKey("reads.id", ondelete="SET NULL"), unique=True)
    decision: Mapped[Decision] = mapped_column(string_enum(Decision))
    reason_code: Mapped[str] = mapped_column(String(32), default="", comment="rejections: from the configured list")
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    # Kept beside the decision so statistics survive the read's purge.
    camera_id: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[str | None] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))


class Citation(Base):
    __tablename__ = "citations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32), unique=True, comment="printed on the citation")
    read_id: Mapped[str | None] = mapped_column(ForeignKey("reads.id", ondelete="SET NULL"), unique=True)
    plate: Mapped[str] = mapped_column(String(12), index=True)
    zone_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(Text, comment="the verdict's sentence, as the supervisor confirmed it")
    amount_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    issued_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
