"""Writing the audit log: in the same transaction as the change it records, or (`audit_access`) on its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.storage.engine import begin_writing


def audit(
    session: Session,
    actor_id: str | None,
    action: str,
    target_type: str = "",
    target_id: str = "",
    **detail: Any,
) -> None:
    """Record that `actor_id` did `action` to the target; `detail` must be JSON-serialisable."""
    session.add(
        AuditEntry(actor_id=actor_id, action=action, target_type=target_type, target_id=target_id, detail=detail)
    )


def audit_access(
    session: Session,
    actor_id: str | None,
    action: str,
    target_type: str = "",
    target_id: str = "",
    **detail: Any,
) -> None:
    """Record that `actor_id` looked at personal data, and commit. For a request that only read until now: its
    reads' transaction is ended first and the record's takes SQLite's write lock up front, so another writer's
    commit in between (the cars' verdicts, every few milliseconds) cannot fail it."""
    begin_writing(session)
    audit(session, actor_id, action, target_type, target_id, **detail)
    session.commit()
