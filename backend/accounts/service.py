"""Registering, signing in and out, and resetting passwords. Pure database work; the web layer calls it."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.accounts.mailer import Mail, Mailer
from backend.accounts.models import Account, PasswordReset, Role, WebSession
from backend.accounts.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from backend.audit.log import audit
from backend.storage.engine import begin_writing

# Deliberately simple: one @, something on each side, a dot in the domain. Real proof is the reset mail.
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class FormError(ValueError):
    """Bad input, with a message per field, shown beside each field on the page (and in API errors)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def register(
    session: Session,
    email: str,
    password: str,
    full_name: str,
    address: str = "",
    address_zone_id: str | None = None,
    role: Role = Role.HOLDER,
    actor_id: str | None = None,
) -> Account:
    """A new account; raises FormError naming each bad field. Flushes, does not commit."""
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = "enter an e-mail address like name@example.org"
    elif session.scalar(select(func.count()).select_from(Account).where(Account.email == email)):
        errors["email"] = "an account with this e-mail already exists; sign in or reset the password"
    if problem := password_problem(password):
        errors["password"] = problem
    full_name = full_name.strip()
    if not full_name or len(full_name) > 128:
        errors["full_name"] = "enter your name (up to 128 characters)"
    if len(address) > 1000:
        errors["address"] = "the address is too long (up to 1000 characters)"
    if errors:
        raise FormError(errors)
    account = Account(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name,
        address=address.strip(),
        address_zone_id=address_zone_id,
        role=role,
    )
    session.add(account)
    session.flush()
    audit(session, actor_id or account.id, "account.create", "account", account.id, role=role.value)
    return account


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The account for these credentials, or None; as slow for an unknown e-mail as for a wrong password."""
    account = session.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(account.password_hash, password) or not account.active:
        return None
    return account


def open_signed_in_session(
    session: Session, account: Account, password: str, now: datetime, lifetime: timedelta
) -> NewSession:
    """Start a session for the account `authenticate` returned, in a transaction of its own that holds SQLite's
    write lock from its start: taken only now, so the password check before it (slow by design) holds up no
    writer, the cars' verdicts least of all. A hash with old parameters is upgraded on the way. Does not commit."""
    begin_writing(session)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return start_session(session, account, now, lifetime)


@dataclass(frozen=True)
class NewSession:
    token: str  # goes in the cookie, never stored
    csrf_token: str
    expires_at: datetime


def start_session(session: Session, account: Account, now: datetime, lifetime: timedelta) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + lifetime
    session.add(
        WebSession(
            token_sha256=token_digest(token), account_id=account.id, csrf_token=csrf, created_at=now, expires_at=expires
        )
    )
    session.execute(delete(WebSession).where(WebSession.expires_at < now))  # tidy up as we go
    audit(session, account.id, "account.sign_in", "account", account.id)
    return NewSession(token, csrf, expires)


def find_session(session: Session, token: str, now: datetime) -> WebSession | None:
    """The live session for a cookie token, with its active account, or None."""
    found = session.get(WebSession, token_digest(token))
    if found is None or found.expires_at <= now or not found.account.active:
        return None
    return found


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == token_digest(token)))


def request_password_reset(
    session: Session, email: str, now: datetime, lifetime: timedelta, mailer: Mailer, link_base: str
) -> None:
    """Mail a one-time reset link if the account exists. Says nothing either way, so accounts cannot be probed."""
    account = session.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None or not account.active:
        return
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            token_sha256=token_digest(token), account_id=account.id, created_at=now, expires_at=now + lifetime
        )
    )
    audit(session, account.id, "account.reset_requested", "account", account.id)
    minutes = int(lifetime.total_seconds() // 60)
    mailer.send(
        Mail(
            to=account.email,
            subject="Reset your PlatePatrol password",
            body=(
                f"Hello {account.full_name},\n\nSomeone (we hope you) asked to reset the password of this account.\n"
                f"Open this link within {minutes} minutes to choose a new one; it works once:\n\n"
                f"{link_base.rstrip('/')}/reset/{token}\n\nIf it was not you, ignore this message.\n"
            ),
        )
    )


def reset_password(session: Session, token: str, new_password: str, now: datetime) -> Account:
    """Set a new password with a reset token; the token is spent and every session of the account ends."""
    reset = session.get(PasswordReset, token_digest(token))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise FormError({"token": "this reset link is unknown, used or expired: ask for a new one"})
    if problem := password_problem(new_password):
        raise FormError({"password": problem})
    account = session.get_one(Account, reset.account_id)
    account.password_hash = hash_password(new_password)
    reset.used_at = now
    session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    audit(session, account.id, "account.password_reset", "account", account.id)
    return account
