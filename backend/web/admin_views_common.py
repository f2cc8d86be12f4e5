"""What the admin pages and the admin API share: finding a row or answering 404, and the audit log's actions."""

from __future__ import annotations

from typing import TypeVar

from fastapi import HTTPException
from sqlalchemy.orm import Session

T = TypeVar("T")


def found_or_404(session: Session, model: type[T], key: object) -> T:
    """The row with this key, or a 404 (pages and API alike)."""
    found = session.get(model, key)
    if found is None:
        raise HTTPException(status_code=404, detail="not found")
    return found


# Offered in the audit log's action filter; a prefix ending in "." matches a family ("permit.").
AUDIT_ACTIONS = (
    "account.",
    "account.create",
    "account.sign_in",
    "account.role",
    "account.disable",
    "account.enable",
    "account.password_reset",
    "zone.",
    "zone.create",
    "zone.update",
    "permit_type.",
    "permit.",
    "permit.issue",
    "permit.suspend",
    "permit.reinstate",
    "permit.revoke",
    "payment.refund",
    "device.",
    "hotlist.",
    "plate.lookup",
)
