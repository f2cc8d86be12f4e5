from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.service import FormError
from backend.audit.models import AuditEntry
from backend.billing.models import OrderStatus, PaymentStatus, Refund
from backend.billing.service import refund_payment, refundable_minor
from tests.backend.billing.helpers import NOW, paid_order


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
