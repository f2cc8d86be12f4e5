"""One row per change made by a person and per plate a person looked up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.storage.base import Base, UTCDateTime, utc_now


class AuditEntry(Base):
    __tablename__ = "audit_log"
    # The admin console filters by action, newest first.
    __table_args__ = (Index("ix_audit_log_action", "action", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, comment="null: the system"
    )
    action: Mapped[str] = mapped_column(String(64), comment="e.g. permit.revoke, plate.lookup")
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
