"""Orders and payments against a real database: idempotency, declines that leave nothing, renewals, caps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.mailer import FolderMailer
from backend.accounts.service import FormError
from backend.billing.models import Order, OrderStatus, Payment, PaymentStatus
from backend.billing.provider import DECLINES, FAILS_LATER, SUCCEEDS, Card, Charge, SandboxProvider
from backend.billing.service import (
    create_order,
    create_renewal,
    pay_order,
    settle_pending_payments,
)
from backend.permits.models import Permit, PermitRevision
from backend.permits.sales import SoldOutError
from tests.backend.billing.helpers import NOW, holder_with_vehicle, permit_type, vehicle_ids, zone

NY = "America/New_York"
SANDBOX = SandboxProvider()


def card(number: str = SUCCEEDS) -> Card:
    return Card(number, 12, 2030, "123")


def count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def test_buy_then_pay_issues_the_permit_for_the_quoted_period(session: Session) -> None:
    account = holder_with_vehicle(session)
    kind = permit_type(session)
    order = create_order(session, account, kind, vehicle_ids(session, account), None, "order-key-1", NOW, NY)
    # Nov 25 in New York: 6 of 30 days left, 3100 x 6 / 30 = 620.
    assert order.amount_minor == 620 and [line["amount_minor"] for line in order.lines] == [3100, -2480]
    result = pay_order(session, account, order.id, card(), "pay-key-001", NOW, SANDBOX)
    assert result.paid and result.payment is not None and result.payment.card_last4 == "4242"
    permit = session.get_one(Permit, order.permit_id)
    assert (permit.valid_from, permit.valid_until) == (NOW, order.period_end)
    assert [v.plate for v in permit.vehicles] == ["ABC123"] and permit.holder_id == account.id
    assert session.scalar(select(PermitRevision.revision).where(PermitRevision.permit_id == permit.id)) == 1


def test_the_same_payment_key_twice_charges_once(session: Session) -> None:
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    first = pay_order(session, account, order.id, card(), "pay-key-001", NOW, SANDBOX)
    again = pay_order(session, account, order.id, card(), "pay-key-001", NOW, SANDBOX)
    assert first.payment is not None and again.payment is not None and first.payment.id == again.payment.id
    assert (count(session, Payment), count(session, Permit)) == (1, 1)
    with pytest.raises(FormError, match="paid"):  # a new key for a paid order: refused, not charged
        pay_order(session, account, order.id, card(), "pay-key-002", NOW, SANDBOX)
    assert count(session, Payment) == 1


def test_the_same_order_key_twice_makes_one_order(session: Session) -> None:
    account = holder_with_vehicle(session)
    kind = permit_type(session)
    one = create_order(session, account, kind, vehicle_ids(session, account), None, "k-order-1", NOW, NY)
    two = create_order(session, account, kind, vehicle_ids(session, account), None, "k-order-1", NOW, NY)
    assert one.id == two.id and count(session, Order) == 1


def test_a_decline_leaves_no_permit_and_the_order_open(session: Session) -> None:
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    result = pay_order(session, account, order.id, card(DECLINES), "pay-key-001", NOW, SANDBOX)
    assert result.declined and not result.paid and order.status is OrderStatus.PENDING
    assert (count(session, Permit), count(session, PermitRevision)) == (0, 0)
    # Another card, another key: paid.
    assert pay_order(session, account, order.id, card(), "pay-key-002", NOW, SANDBOX).paid
    assert count(session, Permit) == 1


def test_a_charge_that_fails_later_issues_nothing_and_mails(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    result = pay_order(session, account, order.id, card(FAILS_LATER), "pay-key-001", NOW, SANDBOX)
    assert result.payment is not None and result.payment.status is PaymentStatus.PENDING
    with pytest.raises(FormError, match="being confirmed"):
        pay_order(session, account, order.id, card(), "pay-key-002", NOW, SANDBOX)
    mailer = FolderMailer(tmp_path)
    assert settle_pending_payments(session, NOW + timedelta(minutes=5), mailer) == 1
    assert (result.payment.status.value, order.status.value) == ("failed", "failed")
    assert count(session, Permit) == 0
    assert "failed" in str(mailer.messages_to(account.email)[0]["Subject"])


def test_a_stale_quote_must_be_asked_again(session: Session) -> None:
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    with pytest.raises(FormError, match="expired"):
        pay_order(session, account, order.id, card(), "pay-key-001", NOW + timedelta(hours=2), SANDBOX)
    assert count(session, Payment) == 0


def test_someone_elses_order_cannot_be_paid(session: Session) -> None:
    ada = holder_with_vehicle(session)
    bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
    order = create_order(session, ada, permit_type(session), vehicle_ids(session, ada), None, "k-order-1", NOW, NY)
    with pytest.raises(PermissionError):
        pay_order(session, bob, order.id, card(), "pay-key-001", NOW, SANDBOX)
    with pytest.raises(FormError):
        create_order(
            session, bob, permit_type(session, code="X"), vehicle_ids(session, ada), None, "k-order-2", NOW, NY
        )


def test_the_cap_is_checked_again_at_payment(session: Session) -> None:
    home = zone(session)
    kind = permit_type(session, zones=[home], cap_per_zone=1)
    ada = holder_with_vehicle(session)
    bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
    ada_order = create_order(session, ada, kind, vehicle_ids(session, ada), home.id, "k-order-1", NOW, NY)
    bob_order = create_order(session, bob, kind, vehicle_ids(session, bob), home.id, "k-order-2", NOW, NY)
    assert pay_order(session, ada, ada_order.id, card(), "pay-key-001", NOW, SANDBOX).paid
    with pytest.raises(SoldOutError):
        pay_order(session, bob, bob_order.id, card(), "pay-key-002", NOW, SANDBOX)
    assert count(session, Payment) == 1


def test_renewal_extends_the_same_permit_from_its_end(session: Session) -> None:
    account = holder_with_vehicle(session)
    kind = permit_type(session, renew_days_before=3)
    order = create_order(session, account, kind, vehicle_ids(session, account), None, "k-order-1", NOW, NY)
    pay_order(session, account, order.id, card(), "pay-key-001", NOW, SANDBOX)
    permit = session.get_one(Permit, order.permit_id)
    with pytest.raises(FormError, match="renewal opens"):
        create_renewal(session, account, permit, "k-renew-1", NOW, NY)
    later = NOW + timedelta(days=3)  # Nov 28: the permit ends Dec 1, the window (3 days) is open
    renewal = create_renewal(session, account, permit, "k-renew-1", later, NY)
    twin = create_renewal(session, account, permit, "k-renew-2", later, NY)  # a second tab, same quote
    assert renewal.period_start == permit.valid_until and renewal.amount_minor == 3100  # all of December
    assert pay_order(session, account, renewal.id, card(), "pay-key-002", later, SANDBOX).paid
    assert permit.valid_until == renewal.period_end and count(session, Permit) == 1 and permit.revision == 2
    with pytest.raises(FormError, match="renewed already"):
        pay_order(session, account, twin.id, card(), "pay-key-003", later, SANDBOX)
    assert count(session, Payment) == 2


def test_a_free_type_needs_no_card(session: Session) -> None:
    account = holder_with_vehicle(session)
    kind = permit_type(session, price_minor=0)
    order = create_order(session, account, kind, vehicle_ids(session, account), None, "k-order-1", NOW, NY)
    result = pay_order(session, account, order.id, None, "pay-key-001", NOW, SANDBOX)
    assert result.paid and result.payment is None and count(session, Permit) == 1


class _BrokenFor(SandboxProvider):
    """The sandbox, but asking about one charge fails (a provider outage for that charge, a bug)."""

    def __init__(self, broken_ref: str) -> None:
        self.broken_ref = broken_ref

    def settle(self, ref: str) -> Charge:
        if ref == self.broken_ref:
            raise RuntimeError("provider error")
        return super().settle(ref)


def test_one_payment_that_cannot_be_settled_does_not_hold_up_the_others(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    kind = permit_type(session)
    payments = []
    for number, email in enumerate(("ada@example.org", "bob@example.org")):
        account = holder_with_vehicle(session, f"ABC12{number}", email)
        order = create_order(
            session, account, kind, vehicle_ids(session, account), None, f"order-key-{number}", NOW, NY
        )
        result = pay_order(session, account, order.id, card(FAILS_LATER), f"pay-key-00{number}", NOW, SANDBOX)
        assert result.payment is not None
        payments.append(result.payment)
    broken = _BrokenFor(payments[0].provider_ref)
    assert settle_pending_payments(session, NOW, FolderMailer(tmp_path), providers=lambda _name: broken) == 2
    assert [payment.status for payment in payments] == [PaymentStatus.PENDING, PaymentStatus.FAILED]
