"""Reading the audit log: newest first, filtered by actor, action and target, a page at a time by id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.accounts.service import normalise_email
from backend.audit.models import AuditEntry

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    actor_email: str  # "" for the system or a deleted account


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_before: int | None  # the id to continue from (older entries), or None at the end
    unknown_actor: bool = False


def search_audit(
    session: Session, actor: str = "", action: str = "", target: str = "", before: int | None = None
) -> AuditPage:
    """`actor` is an e-mail; `action` an exact action or a prefix ending in '.' ('permit.'); `target` an id.
    Keyset pages (`before` an id) cost the same on page 1 and page 1,000."""
    statement = select(AuditEntry, Account.email).outerjoin(Account, Account.id == AuditEntry.actor_id)
    if actor.strip():
        actor_id = session.scalar(select(Account.id).where(Account.email == normalise_email(actor)))
        if actor_id is None:
            return AuditPage([], None, unknown_actor=True)
        statement = statement.where(AuditEntry.actor_id == actor_id)
    action = action.strip()
    if action.endswith("."):
        statement = statement.where(AuditEntry.action >= action, AuditEntry.action < action[:-1] + "/")
    elif action:
        statement = statement.where(AuditEntry.action == action)
    if target.strip():
        statement = statement.where(AuditEntry.target_id == target.strip())
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    rows = session.execute(statement.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)).all()
    page = [AuditRow(entry, email or "") for entry, email in rows[:PAGE_SIZE]]
    return AuditPage(page, page[-1].entry.id if len(rows) > PAGE_SIZE else None)
