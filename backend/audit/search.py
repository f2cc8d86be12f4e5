"""Reading the audit log: newest first, filtered by actor, action and target, a page at a time by id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
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
    if target.strip():
        statement = statement.where(AuditEntry.target_id == target.strip())
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    action = action.strip()
    # One exact action: the (action, id) index gives its newest entries in order. A family ("permit.") as a
    # range would sort every match (40 ms at 25,000), so it is one indexed query per action, merged.
    actions = _family(session, action) if action.endswith(".") else [action] if action else [None]
    rows: list[tuple[AuditEntry, str | None]] = []
    for one in actions:
        chosen = statement if one is None else statement.where(AuditEntry.action == one)
        found = session.execute(chosen.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)).all()
        rows.extend((entry, email) for entry, email in found)
    rows.sort(key=lambda row: row[0].id, reverse=True)
    page = [AuditRow(entry, email or "") for entry, email in rows[:PAGE_SIZE]]
    return AuditPage(page, page[-1].entry.id if len(rows) > PAGE_SIZE else None)


def _family(session: Session, prefix: str) -> list[str | None]:
    """The distinct actions starting with `prefix`, one index seek each (a loose index scan)."""
    actions: list[str | None] = []
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    found = session.scalar(
        select(func.min(AuditEntry.action)).where(AuditEntry.action >= prefix, AuditEntry.action < upper)
    )
    while found is not None and len(actions) < 100:
        actions.append(found)
        found = session.scalar(
            select(func.min(AuditEntry.action)).where(AuditEntry.action > found, AuditEntry.action < upper)
        )
    return actions
