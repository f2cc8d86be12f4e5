"""Writing the audit log: called in the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry


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
