"""Who may buy what, caps and the waitlist, renewal reminders, and a holder's vehicles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.mailer import FolderMailer
from backend.accounts.models import Account, Role
from backend.accounts.service import FormError
from backend.billing.provider import SUCCEEDS, Card, SandboxProvider
from backend.billing.service import create_order, pay_order
from backend.permits.models import Permit, PermitStatus, PermitType, Vehicle, WaitlistStatus
from backend.permits.sales import (
    SoldOutError,
    add_vehicle,
    advance_waitlists,
    check_can_buy,
    edit_vehicle,
    join_waitlist,
    remove_vehicle,
    send_renewal_reminders,
    set_permit_vehicles,
    why_not_eligible,
    why_not_renewable,
)
from tests.backend.billing.helpers import NOW, holder, holder_with_vehicle, permit_type, vehicle_ids, zone

NY = "America/New_York"


def buy(session: Session, account: Account, kind: PermitType, zone_id: str | None, key: str) -> Permit:
    order = create_order(session, account, kind, vehicle_ids(session, account), zone_id, f"order-key-{key}", NOW, NY)
    pay_order(session, account, order.id, Card(SUCCEEDS, 12, 2030, "123"), f"pay-key-{key}", NOW, SandboxProvider())
    return session.get_one(Permit, order.permit_id)


@pytest.mark.parametrize(
    ("terms", "role", "lives_in_zone", "reason"),
    [
        ({}, Role.HOLDER, False, None),
        ({"on_sale": False}, Role.HOLDER, False, "not on sale"),
        ({"eligible_roles": ["officer"]}, Role.HOLDER, False, "not sold to your kind of account"),
        ({"eligible_roles": []}, Role.HOLDER, False, "not sold to your kind of account"),
        ({"residents_only": True}, Role.HOLDER, True, None),
        ({"residents_only": True}, Role.HOLDER, False, "for residents of its zones only"),
        ({"residents_only": True}, Role.HOLDER, None, "for residents only: add your address zone to your account"),
    ],
)
def test_eligibility(
    session: Session, terms: dict[str, object], role: Role, lives_in_zone: bool | None, reason: str | None
) -> None:
    home, elsewhere = zone(session, "Z1"), zone(session, "Z2")
    kind = permit_type(session, zones=[home], **terms)
    account = holder(session)
    account.role = role
    account.address_zone_id = None if lives_in_zone is None else (home.id if lives_in_zone else elsewhere.id)
    assert why_not_eligible(account, kind) == reason


def test_a_resident_type_counts_against_the_address_zone(session: Session) -> None:
    home, other = zone(session, "Z1"), zone(session, "Z2")
    kind = permit_type(session, zones=[home, other], residents_only=True)
    account = holder(session)
    account.address_zone_id = home.id
    check_can_buy(session, account, kind, home.id, NOW)
    with pytest.raises(FormError) as raised:
        check_can_buy(session, account, kind, other.id, NOW)
    assert "home_zone_id" in raised.value.errors


def test_sold_out_waitlist_offer_then_the_next_in_line(session: Session, tmp_path: Path) -> None:
    home = zone(session)
    kind = permit_type(session, zones=[home], cap_per_zone=1)
    ada = holder_with_vehicle(session, "ADA1", "ada@example.org")
    bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
    cy = holder_with_vehicle(session, "CY1", "cy@example.org")
    permit = buy(session, ada, kind, home.id, "ada")
    with pytest.raises(SoldOutError):
        check_can_buy(session, bob, kind, home.id, NOW)
    bob_entry = join_waitlist(session, bob, kind, home.id, NOW)
    assert join_waitlist(session, bob, kind, home.id, NOW).id == bob_entry.id  # once in the queue
    cy_entry = join_waitlist(session, cy, kind, home.id, NOW + timedelta(minutes=1))
    mailer = FolderMailer(tmp_path)
    assert advance_waitlists(session, NOW, 48, mailer).offered == 0  # still full

    permit.status = PermitStatus.REVOKED  # a place frees up
    session.flush()
    run = advance_waitlists(session, NOW + timedelta(hours=1), 48, mailer)
    assert (run.offered, bob_entry.status, cy_entry.status) == (1, WaitlistStatus.OFFERED, WaitlistStatus.WAITING)
    assert len(mailer.messages_to("bob@example.org")) == 1
    with pytest.raises(SoldOutError):  # the offer holds the place for Bob, not for Cy
        check_can_buy(session, cy, kind, home.id, NOW + timedelta(hours=2))

    # Bob lets the offer lapse: Cy gets it.
    run = advance_waitlists(session, NOW + timedelta(hours=50), 48, mailer)
    assert (run.expired, run.offered) == (1, 1)
    assert (bob_entry.status, cy_entry.status) == (WaitlistStatus.EXPIRED, WaitlistStatus.OFFERED)
    check_can_buy(session, cy, kind, home.id, NOW + timedelta(hours=51))


def test_buying_with_an_offer_accepts_it(session: Session, tmp_path: Path) -> None:
    home = zone(session)
    kind = permit_type(session, zones=[home], cap_per_zone=1)
    bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
    entry = join_waitlist(session, bob, kind, home.id, NOW - timedelta(hours=1))
    advance_waitlists(session, NOW - timedelta(minutes=30), 48, FolderMailer(tmp_path))
    buy(session, bob, kind, home.id, "bob")
    assert entry.status is WaitlistStatus.ACCEPTED


def test_renewal_reminders_go_once_when_the_window_opens(session: Session, tmp_path: Path) -> None:
    account = holder_with_vehicle(session)
    kind = permit_type(session, renew_days_before=3)  # the permit ends Dec 1 05:00 UTC; the window opens Nov 28
    permit = buy(session, account, kind, None, "ada")
    mailer = FolderMailer(tmp_path)
    assert why_not_renewable(permit, NOW) is not None
    assert send_renewal_reminders(session, NOW, mailer) == 0
    opens = permit.valid_until - timedelta(days=3)
    assert send_renewal_reminders(session, opens, mailer) == 1
    assert send_renewal_reminders(session, opens + timedelta(hours=1), mailer) == 0
    assert permit.reminder_sent_at == opens
    [message] = mailer.messages_to(account.email)
    assert permit.code in str(message["Subject"]) and f"/portal/permits/{permit.id}" in message.get_content()


def test_reminders_go_in_batches(session: Session, tmp_path: Path) -> None:
    kind = permit_type(session, renew_days_before=10)
    for name in ("ada", "bob", "cy"):
        buy(session, holder_with_vehicle(session, name.upper() + "1", f"{name}@example.org"), kind, None, name)
    mailer = FolderMailer(tmp_path)
    assert [send_renewal_reminders(session, NOW, mailer, limit=2) for _ in range(3)] == [2, 1, 0]


def test_no_reminder_for_a_revoked_or_ended_permit(session: Session, tmp_path: Path) -> None:
    account = holder_with_vehicle(session)
    permit = buy(session, account, permit_type(session, renew_days_before=3), None, "ada")
    permit.status = PermitStatus.REVOKED
    session.flush()
    mailer = FolderMailer(tmp_path)
    assert send_renewal_reminders(session, permit.valid_until - timedelta(days=1), mailer) == 0
    assert why_not_renewable(permit, NOW) == "the permit is revoked"


@pytest.mark.parametrize(
    ("plate", "field"),
    [("", "plate"), ("---", "plate"), ("A" * 13, "plate")],
)
def test_vehicle_plates_are_checked(session: Session, plate: str, field: str) -> None:
    with pytest.raises(FormError) as raised:
        add_vehicle(session, holder(session), plate, "NY", "Ford", "red", NOW)
    assert field in raised.value.errors


def test_plates_are_normalised_and_unique(session: Session) -> None:
    ada, bob = holder(session, "ada@example.org"), holder(session, "bob@example.org")
    vehicle = add_vehicle(session, ada, " abc-123 ", "ny", "Ford", "red", NOW)
    assert (vehicle.plate, vehicle.jurisdiction) == ("ABC123", "NY")
    with pytest.raises(FormError, match="already on your list"):
        add_vehicle(session, ada, "ABC 123", "", "", "", NOW)
    with pytest.raises(FormError, match="another account"):
        add_vehicle(session, bob, "abc123", "", "", "", NOW)
    with pytest.raises(FormError) as raised:
        add_vehicle(session, ada, "XYZ9", "", "M" * 65, "", NOW)
    assert "make" in raised.value.errors


def test_a_plate_on_a_live_permit_cannot_be_removed_or_renamed_only_swapped(session: Session) -> None:
    account = holder_with_vehicle(session, "OLD1")
    kind = permit_type(session, max_vehicles=2)
    permit = buy(session, account, kind, None, "ada")
    old = session.scalar(select(Vehicle).where(Vehicle.plate == "OLD1"))
    assert old is not None
    with pytest.raises(FormError, match="swap another vehicle in first"):
        remove_vehicle(session, account, old, NOW)
    with pytest.raises(FormError, match="live permit"):
        edit_vehicle(session, account, old, "NEW9", "", "", "", NOW)
    edit_vehicle(session, account, old, "OLD1", "NY", "Volvo", "blue", NOW)  # details may change
    new = add_vehicle(session, account, "NEW1", "", "", "", NOW)
    third = add_vehicle(session, account, "NEW2", "", "", "", NOW)
    with pytest.raises(FormError, match="at most 2 vehicles"):
        set_permit_vehicles(session, account, permit, [old.id, new.id, third.id], NOW)
    with pytest.raises(FormError, match="at least one"):
        set_permit_vehicles(session, account, permit, [], NOW)
    revision = permit.revision
    set_permit_vehicles(session, account, permit, [new.id], NOW)
    assert [v.plate for v in permit.vehicles] == ["NEW1"] and permit.revision == revision + 1
    remove_vehicle(session, account, old, NOW)  # off the permit now: it may go
    # On no permit any more, it is deleted; the permit's revisions still name the plate it had.
    assert session.scalar(select(func.count()).select_from(Vehicle).where(Vehicle.plate == "OLD1")) == 0


def test_a_vehicle_of_an_ended_permit_is_let_go_not_deleted(session: Session) -> None:
    account = holder_with_vehicle(session, "OLD1")
    permit = buy(session, account, permit_type(session), None, "ada")
    [vehicle] = permit.vehicles
    remove_vehicle(session, account, vehicle, permit.valid_until)
    assert vehicle.owner_id is None and [v.plate for v in permit.vehicles] == ["OLD1"]
    again = add_vehicle(session, holder(session, "new@example.org"), "OLD1", "", "", "", permit.valid_until)
    assert again.id == vehicle.id  # nobody's, on no live permit: a new owner may register it


def test_a_holder_cannot_touch_another_holders_vehicle_or_permit(session: Session) -> None:
    ada = holder_with_vehicle(session, "ADA1", "ada@example.org")
    bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
    permit = buy(session, ada, permit_type(session), None, "ada")
    bobs = session.scalar(select(Vehicle).where(Vehicle.plate == "BOB1"))
    adas = session.scalar(select(Vehicle).where(Vehicle.plate == "ADA1"))
    assert bobs is not None and adas is not None
    with pytest.raises(PermissionError):
        set_permit_vehicles(session, bob, permit, [bobs.id], NOW)
    with pytest.raises(FormError, match="your own vehicles"):
        set_permit_vehicles(session, ada, permit, [bobs.id], NOW)
    with pytest.raises(PermissionError):
        remove_vehicle(session, bob, adas, NOW)
    with pytest.raises(PermissionError):
        edit_vehicle(session, bob, adas, "ADA1", "", "", "", NOW)
