"""Orders, payments and refunds. Every function flushes and leaves the commit to its caller (one transaction).

Idempotency: each submit of a payment or refund form carries a fresh key; the same key twice (a double
click, a retry after a timeout) finds the first attempt and returns it, and the provider, asked with the
same key, answers the same charge. The keys are unique in the database, so even two racing requests
cannot both write one: the loser's transaction fails and it reads the winner's row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.service import FormError
from backend.audit.log import audit
from backend.billing.models import Order, OrderStatus, Payment, PaymentStatus, Refund
from backend.billing.provider import PaymentProvider, provider_named

MAX_KEY = 64
MAX_REASON = 500

ProviderLookup = Callable[[str], PaymentProvider]


def check_key(idempotency_key: str, field: str = "idempotency_key") -> str:
    key = idempotency_key.strip()
    if not 8 <= len(key) <= MAX_KEY:
        raise FormError({field: f"an idempotency key of 8 to {MAX_KEY} characters is required"})
    return key


# ---- refunds ---------------------------------------------------------------------------------------------


def refunded_minor(payment: Payment) -> int:
    return sum(refund.amount_minor for refund in payment.refunds if refund.succeeded)


def refundable_minor(payment: Payment) -> int:
    """What may still be given back of a payment: nothing unless it succeeded."""
    if payment.status is not PaymentStatus.SUCCEEDED:
        return 0
    return payment.amount_minor - refunded_minor(payment)


def refund_payment(
    session: Session,
    payment_id: str,
    amount_minor: int,
    reason: str,
    idempotency_key: str,
    actor_id: str | None,
    now: datetime,
    providers: ProviderLookup = provider_named,
) -> Refund:
    """Give back `amount_minor` (up to what is left) of a succeeded payment, through the provider it came by.

    The same `idempotency_key` again returns the first refund, whatever the other arguments. A refund that
    empties the payment marks its order REFUNDED. The permit is left as it is: revoking it is a separate act
    (the admin console offers both). Raises FormError (fields: amount_minor, reason, idempotency_key, payment).
    Audited as `payment.refund`. Flushes; the caller commits.
    """
    key = check_key(idempotency_key)
    existing = session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        if existing.payment_id != payment_id:
            raise FormError({"idempotency_key": "this key was already used for another payment's refund"})
        return existing
    payment = session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise FormError({"payment": "no such payment"})
    errors: dict[str, str] = {}
    left = refundable_minor(payment)
    if payment.status is not PaymentStatus.SUCCEEDED:
        errors["payment"] = f"only a succeeded payment can be refunded (this one {payment.status.value})"
    elif isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        errors["amount_minor"] = "enter a positive amount"
    elif amount_minor > left:
        errors["amount_minor"] = f"at most {left} (minor units) is left to refund"
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        errors["reason"] = f"say why (up to {MAX_REASON} characters)"
    if errors:
        raise FormError(errors)
    result = providers(payment.provider).refund(payment.provider_ref, amount_minor, payment.currency, key)
    refund = Refund(
        payment_id=payment.id,
        amount_minor=amount_minor,
        reason=reason,
        provider_ref=result.ref,
        succeeded=result.succeeded,
        idempotency_key=key,
        by_account_id=actor_id,
        created_at=now,
    )
    session.add(refund)
    payment.refunds.append(refund)
    if result.succeeded and refundable_minor(payment) == 0:
        payment.order.status = OrderStatus.REFUNDED
    session.flush()
    audit(
        session,
        actor_id,
        "payment.refund",
        "payment",
        payment.id,
        amount_minor=amount_minor,
        currency=payment.currency,
        succeeded=result.succeeded,
        refund_id=refund.id,
        reason=reason,
        message=result.message,
    )
    return refund


@dataclass(frozen=True)
class PaymentSummary:
    """A payment with its order, for receipts and the admin console."""

    payment: Payment
    order: Order
    refunded_minor: int


def payments_of_order(session: Session, order_id: str) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at)))
