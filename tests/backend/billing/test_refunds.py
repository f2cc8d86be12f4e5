from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.service import FormError
from backend.audit.models import AuditEntry
from backend.billing.models import OrderStatus, Payment, PaymentStatus, Refund
from backend.billing.provider import RefundResult, SandboxProvider
from backend.billing.service import IN_FLIGHT_GRACE, refund_payment, refundable_minor, settle_refunds_in_flight
from backend.storage.engine import begin_writing
from tests.backend.billing.helpers import NOW, paid_order, write_from_another_connection


def test_a_partial_then_the_rest_marks_the_order_refunded(session: Session) -> None:
    payment = paid_order(session, 12000)
    first = refund_payment(session, payment.id, 2000, "moved away", "refund-key-1", None, NOW)
    assert first.succeeded and refundable_minor(payment) == 10000
    assert payment.order.status.value == "paid"
    refund_payment(session, payment.id, 10000, "moved away", "refund-key-2", None, NOW)
    assert refundable_minor(payment) == 0 and payment.order.status is OrderStatus.REFUNDED
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == payment.id)).all()
    assert actions == ["payment.refund", "payment.refund"]


def test_the_same_key_twice_refunds_once(session: Session) -> None:
    payment = paid_order(session, 5000)
    first = refund_payment(session, payment.id, 1000, "duplicate", "same-key-123", None, NOW)
    again = refund_payment(session, payment.id, 1000, "duplicate", "same-key-123", None, NOW)
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Refund)) == 1
    assert refundable_minor(payment) == 4000


@pytest.mark.parametrize(
    ("amount", "reason", "key", "field"),
    [
        (0, "why", "key-12345", "amount_minor"),
        (-5, "why", "key-12345", "amount_minor"),
        (5001, "why", "key-12345", "amount_minor"),
        (100, "  ", "key-12345", "reason"),
        (100, "why", "short", "idempotency_key"),
    ],
)
def test_bad_refunds_are_refused_beside_the_field(
    session: Session, amount: int, reason: str, key: str, field: str
) -> None:
    payment = paid_order(session, 5000)
    with pytest.raises(FormError) as raised:
        refund_payment(session, payment.id, amount, reason, key, None, NOW)
    assert field in raised.value.errors
    assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_a_declined_payment_cannot_be_refunded(session: Session) -> None:
    payment = paid_order(session, 5000)
    payment.status = PaymentStatus.DECLINED
    with pytest.raises(FormError) as raised:
        refund_payment(session, payment.id, 100, "why", "key-12345", None, NOW)
    assert "payment" in raised.value.errors


def test_a_key_reused_for_another_payment_is_refused(session: Session) -> None:
    one = paid_order(session, 5000, key="order-a")
    other = paid_order(session, 5000, key="order-b")
    refund_payment(session, one.id, 100, "why", "key-12345", None, NOW)
    with pytest.raises(FormError):
        refund_payment(session, other.id, 100, "why", "key-12345", None, NOW)


class _LosesAnswers(SandboxProvider):
    """The sandbox behind a network that loses the first `lost` refund answers, and that can tell, by key, the
    refunds it made (`made`)."""

    def __init__(self, lost: int = 1, made: dict[str, RefundResult] | None = None) -> None:
        self.lost = lost
        self.keys: list[str] = []
        self.made = made or {}

    def refund(self, charge_ref: str, amount_minor: int, currency: str, idempotency_key: str) -> RefundResult:
        self.keys.append(idempotency_key)
        if self.lost > 0:
            self.lost -= 1
            raise TimeoutError("no answer from the card processor")
        return super().refund(charge_ref, amount_minor, currency, idempotency_key)

    def find_refund(self, idempotency_key: str) -> RefundResult | None:
        return self.made.get(idempotency_key)


def test_a_refund_whose_answer_was_lost_stays_in_flight_and_the_same_key_asks_again(session: Session) -> None:
    payment = paid_order(session, 5000)
    provider = _LosesAnswers(lost=1)
    first = refund_payment(session, payment.id, 3000, "moved", "refund-key-1", None, NOW, lambda _name: provider)
    assert first.in_flight and not first.succeeded
    assert refundable_minor(payment) == 2000  # what is in flight cannot be given back twice
    with pytest.raises(FormError, match="at most 2000"):
        refund_payment(session, payment.id, 3000, "moved", "refund-key-2", None, NOW, lambda _name: provider)
    again = refund_payment(session, payment.id, 3000, "moved", "refund-key-1", None, NOW, lambda _name: provider)
    assert again.id == first.id and again.succeeded and not again.in_flight
    assert provider.keys == ["refund-key-1", "refund-key-1"]
    assert session.scalar(select(func.count()).select_from(Refund)) == 1 and refundable_minor(payment) == 2000


def test_the_schedule_asks_for_a_lost_refund_by_its_key_after_the_grace(session: Session) -> None:
    made = {"refund-key-a": SandboxProvider().refund("sbx_ok_x", 1000, "USD", "refund-key-a")}
    provider = _LosesAnswers(lost=2, made=made)  # the first went through, the second never arrived
    one = paid_order(session, 5000, key="order-a")
    other = paid_order(session, 5000, key="order-b")
    refund_payment(session, one.id, 1000, "moved", "refund-key-a", None, NOW, lambda _name: provider)
    refund_payment(session, other.id, 1000, "moved", "refund-key-b", None, NOW, lambda _name: provider)
    soon = NOW + IN_FLIGHT_GRACE - timedelta(seconds=1)
    assert settle_refunds_in_flight(session, soon, lambda _name: provider) == 0
    assert settle_refunds_in_flight(session, NOW + IN_FLIGHT_GRACE, lambda _name: provider) == 2
    assert [(r.succeeded, r.in_flight) for r in (one.refunds[0], other.refunds[0])] == [(True, False), (False, False)]
    assert (refundable_minor(one), refundable_minor(other)) == (4000, 5000)  # the failed one can be tried again


class _RefundsWhileOthersWrite(SandboxProvider):
    """The sandbox, but while it refunds another connection writes the payment's row and fails fast if the refund
    held a write lock (SQLite's, or PostgreSQL's row lock)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def refund(self, charge_ref: str, amount_minor: int, currency: str, idempotency_key: str) -> RefundResult:
        write_from_another_connection(self.engine, "UPDATE payments SET card_last4 = card_last4")
        return super().refund(charge_ref, amount_minor, currency, idempotency_key)


def test_the_provider_is_asked_for_a_refund_with_no_write_lock_held(fresh_engine: Engine) -> None:
    sessions = sessionmaker(bind=fresh_engine, expire_on_commit=False)
    with sessions() as session:
        payment = paid_order(session, 5000)
        session.commit()
        begin_writing(session)  # as an admin's request holds it once its form is checked
        provider = _RefundsWhileOthersWrite(fresh_engine)
        refund = refund_payment(session, payment.id, 5000, "moved", "refund-key-1", None, NOW, lambda _name: provider)
        session.commit()
    assert refund.succeeded
    with sessions() as session:
        assert session.get_one(Payment, payment.id).order.status is OrderStatus.REFUNDED


def test_the_order_is_refunded_only_once_the_money_is_given_back(session: Session) -> None:
    payment = paid_order(session, 100)
    provider = _LosesAnswers(lost=1)  # the first refund's answer is lost; it never reached the provider
    lost = refund_payment(session, payment.id, 60, "moved", "refund-key-a", None, NOW, lambda _name: provider)
    refund_payment(session, payment.id, 40, "moved", "refund-key-b", None, NOW, lambda _name: provider)
    assert lost.in_flight and refundable_minor(payment) == 0
    assert payment.order.status is OrderStatus.PAID  # 40 given back, 60 not known to be
    assert settle_refunds_in_flight(session, NOW + IN_FLIGHT_GRACE, lambda _name: provider) == 1
    assert not lost.succeeded and refundable_minor(payment) == 60 and payment.order.status is OrderStatus.PAID
