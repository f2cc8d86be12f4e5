"""Device tokens: 256 random bits shown once, stored as SHA-256.

A slow password hash buys nothing for a token this random; a fast hash keeps the check cheap on every call.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.devices.models import Device
from platepatrol.errors import UserError

TOKEN_PREFIX = "ppd_"
DEVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_device(session: Session, name: str) -> str:
    """Register device `name` and return its new token (the only time it is ever seen in clear)."""
    if not DEVICE_NAME.match(name):
        raise UserError(f"device name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Device(name=name, token_sha256=hash_token(token)))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise UserError(f"a device named {name!r} already exists") from None
    return token


def device_for_token(session: Session, token: str) -> Device | None:
    """The live device that owns `token`, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    device = session.scalar(select(Device).where(Device.token_sha256 == digest))
    if device is None or device.revoked_at is not None:
        return None
    return device
