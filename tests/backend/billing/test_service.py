"""Orders and payments against a real database: idempotency, declines that leave nothing, renewals, caps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.mailer import FolderMailer
from backend.accounts.models import Account
from backend.accounts.service import FormError
from backend.billing.models import Order, OrderStatus, Payment, PaymentStatus
from backend.billing.provider import DECLINES, FAILS_LATER, SUCCEEDS, Card, Charge, SandboxProvider
from backend.billing.service import (
    IN_FLIGHT_GRACE,
    REPLAY_WINDOW,
    create_order,
    create_renewal,
    in_flight,
    pay_order,
    settle_pending_payments,
)
from backend.permits.models import Permit, PermitRevision, Vehicle, WaitlistEntry, WaitlistStatus
from backend.permits.sales import SoldOutError, remove_vehicle, seats_left
from backend.storage.engine import begin_writing
from tests.backend.billing.helpers import (
    NOW,
    holder_with_vehicle,
    permit_type,
    vehicle_ids,
    write_from_another_connection,
    zone,
)

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


def bought_renewable_permit(session: Session) -> tuple[Account, Permit]:
    """A holder who bought, at NOW, a permit whose renewal opens 3 days before it ends."""
    account = holder_with_vehicle(session)
    kind = permit_type(session, renew_days_before=3)
    order = create_order(session, account, kind, vehicle_ids(session, account), None, "k-order-1", NOW, NY)
    pay_order(session, account, order.id, card(), "pay-key-001", NOW, SANDBOX)
    return account, session.get_one(Permit, order.permit_id)


def test_renewal_extends_the_same_permit_from_its_end(session: Session) -> None:
    account, permit = bought_renewable_permit(session)
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


# ---- the provider is asked outside any write transaction ------------------------------------------------------


class _Unreachable(SandboxProvider):
    """The sandbox behind a network that loses the first `lost` answers (the charge may or may not have been
    made), and that can tell, by key, the charges it made (`made`)."""

    def __init__(self, lost: int = 1, made: dict[str, Charge] | None = None) -> None:
        self.lost = lost
        self.keys: list[str] = []
        self.made = made or {}

    def charge(self, card: Card, amount_minor: int, currency: str, idempotency_key: str) -> Charge:
        self.keys.append(idempotency_key)
        if self.lost > 0:
            self.lost -= 1
            raise TimeoutError("no answer from the card processor")
        return super().charge(card, amount_minor, currency, idempotency_key)

    def find(self, idempotency_key: str) -> Charge | None:
        return self.made.get(idempotency_key)


def test_a_lost_answer_leaves_the_payment_in_flight_and_the_same_key_asks_again(session: Session) -> None:
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    provider = _Unreachable(lost=1)
    first = pay_order(session, account, order.id, card(), "pay-key-001", NOW, provider)
    assert first.payment is not None and in_flight(first.payment) and not first.paid and not first.declined
    assert count(session, Permit) == 0
    with pytest.raises(FormError, match="being confirmed"):  # a new key cannot charge a second time meanwhile
        pay_order(session, account, order.id, card(), "pay-key-002", NOW, provider)
    again = pay_order(session, account, order.id, card(), "pay-key-001", NOW, provider)
    assert again.paid and again.payment is not None and again.payment.id == first.payment.id
    assert provider.keys == ["pay-key-001", "pay-key-001"]  # asked twice, with the one key: charged once
    assert (count(session, Payment), count(session, Permit)) == (1, 1)


def test_a_charge_whose_answer_was_lost_is_asked_for_by_its_key_after_the_grace(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    kind = permit_type(session)
    ada, bob = holder_with_vehicle(session), holder_with_vehicle(session, "BOB1", "bob@example.org")
    made = {"pay-key-ada": SANDBOX.charge(card(), 620, "USD", "pay-key-ada")}  # Ada's went through, Bob's did not
    provider = _Unreachable(lost=2, made=made)
    results = {}
    for account, name in ((ada, "ada"), (bob, "bob")):
        order = create_order(session, account, kind, vehicle_ids(session, account), None, f"k-order-{name}", NOW, NY)
        results[name] = pay_order(session, account, order.id, card(), f"pay-key-{name}", NOW, provider)
    mailer = FolderMailer(tmp_path)
    soon = NOW + IN_FLIGHT_GRACE - timedelta(seconds=1)  # the charges may still be on their way: not asked
    assert settle_pending_payments(session, soon, mailer, providers=lambda _name: provider) == 0
    assert settle_pending_payments(session, NOW + IN_FLIGHT_GRACE, mailer, providers=lambda _name: provider) == 2
    ada_paid, bob_paid = results["ada"], results["bob"]
    assert ada_paid.paid and ada_paid.payment is not None and ada_paid.payment.provider_ref == made["pay-key-ada"].ref
    assert bob_paid.payment is not None and bob_paid.payment.status is PaymentStatus.FAILED
    assert "never reached" in bob_paid.payment.message and bob_paid.order.status is OrderStatus.FAILED
    assert count(session, Permit) == 1 and "failed" in str(mailer.messages_to("bob@example.org")[0]["Subject"])


def test_a_renewal_being_paid_holds_off_a_second_renewal_of_the_same_permit(session: Session) -> None:
    account, permit = bought_renewable_permit(session)
    later = NOW + timedelta(days=3)
    renewal = create_renewal(session, account, permit, "k-renew-1", later, NY)
    twin = create_renewal(session, account, permit, "k-renew-2", later, NY)  # a second tab, same quote
    assert in_flight(pay_order(session, account, renewal.id, card(), "pay-key-002", later, _Unreachable()).payment)  # type: ignore[arg-type]
    with pytest.raises(FormError, match="another renewal"):
        pay_order(session, account, twin.id, card(), "pay-key-003", later, SANDBOX)
    assert count(session, Payment) == 2 and permit.valid_until == renewal.period_start


class _ChargesWhileOthersWrite(SandboxProvider):
    """The sandbox, but while it charges, another connection writes the paid type's row (as a verdict or another
    buyer would write) and fails fast if the payment held a write lock: SQLite's, or PostgreSQL's row lock."""

    def __init__(self, engine: Engine, during: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.during = during
        self.charged = 0

    def charge(self, card: Card, amount_minor: int, currency: str, idempotency_key: str) -> Charge:
        write_from_another_connection(self.engine, "UPDATE permit_types SET name = name")
        if self.during is not None:
            self.during()
        self.charged += 1
        return super().charge(card, amount_minor, currency, idempotency_key)


def test_the_card_is_charged_with_no_write_lock_held(fresh_engine: Engine) -> None:
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    with sessions() as session:
        account = holder_with_vehicle(session)
        order = create_order(
            session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
        )
        session.commit()
        provider = _ChargesWhileOthersWrite(fresh_engine)
        begin_writing(session)  # as a web request holds it once its form is checked
        result = pay_order(session, account, order.id, card(), "pay-key-001", NOW, provider)
        session.commit()
    assert result.paid and provider.charged == 1
    with sessions() as session:
        assert count(session, Permit) == 1 and session.get_one(Payment, result.payment.id).provider_ref  # type: ignore[union-attr]


def test_a_payment_in_flight_holds_the_last_place(fresh_engine: Engine) -> None:
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    with sessions() as session:
        home = zone(session)
        kind = permit_type(session, zones=[home], cap_per_zone=1)
        ada = holder_with_vehicle(session)
        bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
        ada_order = create_order(session, ada, kind, vehicle_ids(session, ada), home.id, "k-order-1", NOW, NY)
        bob_order = create_order(session, bob, kind, vehicle_ids(session, bob), home.id, "k-order-2", NOW, NY)
        session.commit()
    refused: list[Exception] = []

    def bob_pays_meanwhile() -> None:
        with sessions() as other:
            begin_writing(other)
            try:
                pay_order(other, bob, bob_order.id, card(), "pay-key-bob", NOW, SANDBOX)
            except SoldOutError as problem:
                refused.append(problem)
            other.rollback()

    with sessions() as session:
        begin_writing(session)
        paid = pay_order(
            session,
            ada,
            ada_order.id,
            card(),
            "pay-key-ada",
            NOW,
            _ChargesWhileOthersWrite(fresh_engine, bob_pays_meanwhile),
        )
        session.commit()
    assert paid.paid and len(refused) == 1  # Ada's place was held while her card was charged
    with sessions() as session:
        assert (count(session, Permit), count(session, Payment)) == (1, 1)


def test_a_vehicle_on_an_order_being_paid_cannot_be_removed(session: Session) -> None:
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    pay_order(session, account, order.id, card(), "pay-key-001", NOW, _Unreachable())
    [vehicle] = session.scalars(select(Vehicle).where(Vehicle.owner_id == account.id)).all()
    with pytest.raises(FormError, match="being confirmed"):  # else the charge could succeed with no permit to issue
        remove_vehicle(session, account, vehicle, NOW)
    assert pay_order(session, account, order.id, card(), "pay-key-001", NOW, SANDBOX).paid


def test_the_same_key_asks_again_only_soon_after_the_first_attempt(session: Session) -> None:
    account = holder_with_vehicle(session)
    order = create_order(
        session, account, permit_type(session), vehicle_ids(session, account), None, "k-order-1", NOW, NY
    )
    provider = _Unreachable(lost=1)
    pay_order(session, account, order.id, card(), "pay-key-001", NOW, provider)
    late = pay_order(session, account, order.id, card(), "pay-key-001", NOW + REPLAY_WINDOW, provider)
    assert late.payment is not None and in_flight(late.payment)  # left to the schedule, which asks by key
    assert provider.keys == ["pay-key-001"]


def test_an_offer_holders_payment_does_not_take_a_second_place(session: Session) -> None:
    home = zone(session)
    kind = permit_type(session, zones=[home], cap_per_zone=2)
    ada = holder_with_vehicle(session)
    bob = holder_with_vehicle(session, "BOB1", "bob@example.org")
    session.add(
        WaitlistEntry(
            type_id=kind.id,
            zone_id=home.id,
            account_id=ada.id,
            joined_at=NOW,
            status=WaitlistStatus.OFFERED,
            offer_expires_at=NOW + timedelta(days=2),
        )
    )
    ada_order = create_order(session, ada, kind, vehicle_ids(session, ada), home.id, "k-order-1", NOW, NY)
    pay_order(session, ada, ada_order.id, card(FAILS_LATER), "pay-key-001", NOW, SANDBOX)  # being confirmed
    assert seats_left(session, kind, home.id, NOW) == 1  # Ada's offer holds one place, not two
    bob_order = create_order(session, bob, kind, vehicle_ids(session, bob), home.id, "k-order-2", NOW, NY)
    assert pay_order(session, bob, bob_order.id, card(), "pay-key-002", NOW, SANDBOX).paid
