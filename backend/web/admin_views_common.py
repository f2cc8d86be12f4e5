"""What the admin pages and the admin API share: their permission checks and the audit log's actions."""

from __future__ import annotations

from collections.abc import Callable

from backend.accounts.permissions import Permission
from backend.web.security import Viewer, require, require_api


def admin(permission: Permission) -> Callable[..., Viewer]:
    """Pages: signed in, and the role holds `permission` (forms check their CSRF token separately)."""
    return require(permission)


def admin_api(permission: Permission) -> Callable[..., Viewer]:
    """API calls: signed in, the X-CSRF-Token header on unsafe methods, and the role holds `permission`."""
    return require_api(permission)


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
