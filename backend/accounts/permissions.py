"""What each role may do: permissions are `role:resource:action` values, granted per role in one table."""

from __future__ import annotations

import enum

from backend.accounts.models import Role


class Permission(enum.StrEnum):
    # Permit holders, on their own records only.
    HOLDER_VEHICLES_MANAGE = "holder:vehicles:manage"
    HOLDER_PERMITS_BUY = "holder:permits:buy"
    HOLDER_PERMITS_VIEW = "holder:permits:view"
    # Officers: look a plate up (each look-up is audited).
    OFFICER_PLATES_LOOKUP = "officer:plates:lookup"
    # Supervisors: the review queue.
    SUPERVISOR_REVIEWS_VIEW = "supervisor:reviews:view"
    SUPERVISOR_REVIEWS_DECIDE = "supervisor:reviews:decide"
    SUPERVISOR_STATISTICS_VIEW = "supervisor:statistics:view"
    # Admins: the permit office.
    ADMIN_ZONES_MANAGE = "admin:zones:manage"
    ADMIN_PERMIT_TYPES_MANAGE = "admin:permit-types:manage"
    ADMIN_PERMITS_MANAGE = "admin:permits:manage"
    ADMIN_PAYMENTS_REFUND = "admin:payments:refund"
    ADMIN_ACCOUNTS_MANAGE = "admin:accounts:manage"
    ADMIN_DEVICES_MANAGE = "admin:devices:manage"
    ADMIN_HOTLIST_MANAGE = "admin:hotlist:manage"
    ADMIN_AUDIT_VIEW = "admin:audit:view"


_SUPERVISOR = {
    Permission.OFFICER_PLATES_LOOKUP,
    Permission.SUPERVISOR_REVIEWS_VIEW,
    Permission.SUPERVISOR_REVIEWS_DECIDE,
    Permission.SUPERVISOR_STATISTICS_VIEW,
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.HOLDER: frozenset(
        {Permission.HOLDER_VEHICLES_MANAGE, Permission.HOLDER_PERMITS_BUY, Permission.HOLDER_PERMITS_VIEW}
    ),
    Role.OFFICER: frozenset({Permission.OFFICER_PLATES_LOOKUP}),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    # Admins run the office and may stand in for a supervisor; they do not buy permits as admins.
    Role.ADMIN: frozenset(_SUPERVISOR | {p for p in Permission if p.value.startswith("admin:")}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]
