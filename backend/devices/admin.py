"""Admins' work on devices (patrol cars): issuing a token, shown once, and revoking it. Audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.service import FormError
from backend.audit.log import audit
from backend.devices.models import Device
from backend.devices.tokens import DEVICE_NAME, add_device


def issue_device(session: Session, name: str, actor_id: str, now: datetime) -> tuple[Device, str]:
    """A new device and its token: the only time the token is seen in clear (only its hash is kept)."""
    name = name.strip()
    if not DEVICE_NAME.match(name):
        raise FormError({"name": "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"})
    if session.scalar(select(Device.id).where(Device.name == name)) is not None:
        raise FormError({"name": f"a device named {name} already exists; revoke it or choose another name"})
    token = add_device(session, name)
    device = session.scalars(select(Device).where(Device.name == name)).one()
    device.created_at = now
    session.flush()
    audit(session, actor_id, "device.issue", "device", device.id, name=name)
    return device, token


def revoke_device(session: Session, device: Device, actor_id: str, now: datetime) -> Device:
    """From now on its token is refused; a revoked device stays revoked (issue a new one instead)."""
    if device.revoked_at is not None:
        raise FormError({"device": f"{device.name} is already revoked"})
    device.revoked_at = now
    session.flush()
    audit(session, actor_id, "device.revoke", "device", device.id, name=device.name)
    return device
