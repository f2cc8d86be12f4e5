"""Who may do what: the grants table, checked as a whole so a new permission cannot slip to the wrong role."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.accounts.permissions import GRANTS, Permission, allowed


def test_every_permission_names_its_role_resource_and_action() -> None:
    for permission in Permission:
        role, resource, action = permission.value.split(":")
        assert role in {r.value for r in Role} and resource and action


@pytest.mark.parametrize("role", list(Role))
def test_a_role_holds_no_permission_of_a_higher_role(role: Role) -> None:
    rank = {Role.HOLDER: 0, Role.OFFICER: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}
    for permission in GRANTS[role]:
        owner = Role(permission.value.split(":")[0])
        # Holders' self-service is theirs alone; staff permissions go up the ladder only.
        assert owner is role or (owner is not Role.HOLDER and rank[owner] <= rank[role])


def test_holders_may_not_look_up_plates_and_officers_may_not_review() -> None:
    assert not allowed(Role.HOLDER, Permission.OFFICER_PLATES_LOOKUP)
    assert not allowed(Role.OFFICER, Permission.SUPERVISOR_REVIEWS_DECIDE)
    assert not allowed(Role.SUPERVISOR, Permission.ADMIN_PERMITS_MANAGE)
    assert not allowed(Role.ADMIN, Permission.HOLDER_PERMITS_BUY)
    assert allowed(Role.ADMIN, Permission.SUPERVISOR_REVIEWS_DECIDE)
