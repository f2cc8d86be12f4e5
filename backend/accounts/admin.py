"""Admins' work on accounts: finding them, changing a role, disabling and enabling. Audited; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from backend.accounts.models import Account, Role, WebSession
from backend.accounts.service import FormError, normalise_email
from backend.audit.log import audit
from backend.permits.admin import prefix_range

PAGE_SIZE = 50


@dataclass(frozen=True)
class AccountPage:
    accounts: list[Account]
    page: int
    has_next: bool


def search_accounts(session: Session, query: str = "", role: str = "", page: int = 1) -> AccountPage:
    """Accounts whose e-mail or name starts with `query` (indexed prefixes), optionally of one role."""
    page = max(1, page)
    statement = select(Account)
    text = query.strip()
    if text:
        names = {text, text.title()}
        statement = statement.where(
            or_(
                prefix_range(Account.email, normalise_email(text)), *(prefix_range(Account.full_name, n) for n in names)
            )
        )
    if role in set(Role):
        statement = statement.where(Account.role == Role(role))
    rows = list(session.scalars(statement.order_by(Account.email).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return AccountPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def change_role(session: Session, account: Account, role: str, actor_id: str) -> Account:
    if role not in set(Role):
        raise FormError({"role": "choose holder, officer, supervisor or admin"})
    if account.id == actor_id:
        raise FormError({"role": "you cannot change your own role; ask another admin"})
    before = account.role
    account.role = Role(role)
    session.flush()
    audit(session, actor_id, "account.role", "account", account.id, before=before.value, after=role)
    return account


def set_disabled(session: Session, account: Account, disabled: bool, actor_id: str, now: datetime) -> Account:
    """Disable (signs the account out everywhere at once) or enable an account."""
    if account.id == actor_id:
        raise FormError({"account": "you cannot disable your own account"})
    if disabled and account.disabled_at is None:
        account.disabled_at = now
        session.execute(delete(WebSession).where(WebSession.account_id == account.id))
        audit(session, actor_id, "account.disable", "account", account.id, email=account.email)
    elif not disabled and account.disabled_at is not None:
        account.disabled_at = None
        audit(session, actor_id, "account.enable", "account", account.id, email=account.email)
    session.flush()
    return account
