"""Orders, payments and refunds. Every function flushes and leaves the commit to its caller (one transaction),
except those that ask the payment provider (`pay_order`, `settle_pending_payments`, `refund_payment`,
`settle_refunds_in_flight`): they commit what came before and ask with no write transaction open, so that on
SQLite a slow provider holds up no verdict.

Idempotency: each submit of a payment or refund form carries a fresh key; the same key twice (a double
click, a retry after a timeout) finds the first attempt and returns it, and the provider, asked with the
same key, answers the same charge. The keys are unique in the database, so even two racing requests
cannot both write one: the loser's transaction fails and it reads the winner's row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.mailer import Mail, Mailer
from backend.accounts.models import Account
from backend.accounts.service import FormError
from backend.audit.log import audit
from backend.billing.models import Order, OrderKind, OrderStatus, Payment, PaymentStatus, Refund
from backend.billing.pricing import NotOnSaleError, Quote, Terms, quote
from backend.billing.provider import Card, Charge, ChargeStatus, PaymentProvider, RefundResult, provider_named
from backend.permits.models import Permit, PermitStatus, PermitType
from backend.permits.sales import (
    accept_offer,
    being_paid,
    check_can_buy,
    check_vehicle_count,
    new_permit_code,
    owned_vehicles,
    why_not_renewable,
)
from backend.storage.engine import WRITES, begin_writing

MAX_KEY = 64
MAX_REASON = 500
QUOTE_VALID = timedelta(hours=1)  # a quote is honoured this long; then prices and places are checked anew
# A charge sent this long ago with no answer recorded lost its answer (the process stopped, the network failed):
# the schedule then asks the provider for it by its key. Far longer than any charge takes.
IN_FLIGHT_GRACE = timedelta(minutes=10)
# The same key asks the provider again only this soon after the first attempt, so that no ask can still be on
# its way when the schedule, after IN_FLIGHT_GRACE, takes a silent provider's word that it never arrived.
REPLAY_WINDOW = timedelta(minutes=5)

ProviderLookup = Callable[[str], PaymentProvider]

log = logging.getLogger(__name__)


def check_key(idempotency_key: str, field: str = "idempotency_key") -> str:
    key = idempotency_key.strip()
    if not 8 <= len(key) <= MAX_KEY:
        raise FormError({field: f"an idempotency key of 8 to {MAX_KEY} characters is required"})
    return key


# ---- orders ----------------------------------------------------------------------------------------------


def order_by_key(session: Session, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.idempotency_key == key))


def create_order(
    session: Session,
    account: Account,
    permit_type: PermitType,
    vehicle_ids: list[str],
    home_zone_id: str | None,
    idempotency_key: str,
    now: datetime,
    timezone: str,
) -> Order:
    """A quoted, unpaid order for a new permit. Raises FormError, or SoldOutError when the zone is full.

    The same key again returns the same order (a form posted twice makes one order).
    """
    key = check_key(idempotency_key)
    if (existing := order_by_key(session, key)) is not None:
        if existing.account_id != account.id:
            raise FormError({"idempotency_key": "this key is taken"})
        return existing
    check_can_buy(session, account, permit_type, home_zone_id, now)
    vehicles = owned_vehicles(session, account, vehicle_ids)
    check_vehicle_count(permit_type, vehicles)
    try:
        priced = quote(Terms.of(permit_type), now, timezone)
    except NotOnSaleError as problem:
        raise FormError({"type_id": str(problem)}) from None
    return _add_order(session, account, OrderKind.NEW, permit_type, home_zone_id, vehicle_ids, None, priced, key, now)


def create_renewal(
    session: Session, account: Account, permit: Permit, idempotency_key: str, now: datetime, timezone: str
) -> Order:
    """A quoted, unpaid order extending `permit` from where it ends. Renewals keep their place: no cap check."""
    key = check_key(idempotency_key)
    if (existing := order_by_key(session, key)) is not None:
        if existing.account_id != account.id:
            raise FormError({"idempotency_key": "this key is taken"})
        return existing
    if permit.holder_id != account.id:
        raise PermissionError("not your permit")
    if reason := why_not_renewable(permit, now):
        raise FormError({"permit": f"cannot renew: {reason}"})
    assert permit.type is not None
    try:
        priced = quote(Terms.of(permit.type), now, timezone, renew_from=permit.valid_until)
    except NotOnSaleError as problem:
        raise FormError({"permit": str(problem)}) from None
    vehicle_ids = [vehicle.id for vehicle in permit.vehicles]
    return _add_order(
        session, account, OrderKind.RENEWAL, permit.type, permit.home_zone_id, vehicle_ids, permit, priced, key, now
    )


def _add_order(
    session: Session,
    account: Account,
    kind: OrderKind,
    permit_type: PermitType,
    home_zone_id: str | None,
    vehicle_ids: list[str],
    permit: Permit | None,
    priced: Quote,
    key: str,
    now: datetime,
) -> Order:
    order = Order(
        account_id=account.id,
        kind=kind,
        type_id=permit_type.id,
        home_zone_id=home_zone_id,
        vehicle_ids=list(vehicle_ids),
        permit_id=permit.id if permit else None,
        period_start=priced.covers.start,
        period_end=priced.covers.end,
        lines=[line.as_json() for line in priced.lines],
        amount_minor=priced.total_minor,
        currency=priced.currency,
        status=OrderStatus.PENDING,
        idempotency_key=key,
        created_at=now,
    )
    session.add(order)
    session.flush()
    audit(session, account.id, "order.create", "order", order.id, kind=kind.value, amount_minor=order.amount_minor)
    return order


# ---- paying ----------------------------------------------------------------------------------------------

_STATUS = {
    ChargeStatus.SUCCEEDED: PaymentStatus.SUCCEEDED,
    ChargeStatus.DECLINED: PaymentStatus.DECLINED,
    ChargeStatus.PENDING: PaymentStatus.PENDING,
    ChargeStatus.FAILED: PaymentStatus.FAILED,
}


def payment_by_key(session: Session, key: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.idempotency_key == key))


@dataclass(frozen=True)
class PayResult:
    """The order after paying, and the payment made (None for a free order)."""

    order: Order
    payment: Payment | None

    @property
    def paid(self) -> bool:
        return self.order.status is OrderStatus.PAID

    @property
    def declined(self) -> bool:
        return self.payment is not None and self.payment.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED)


def in_flight(payment: Payment) -> bool:
    """Whether the payment was reserved and its charge sent, with no answer recorded yet (no provider reference)."""
    return payment.status is PaymentStatus.PENDING and not payment.provider_ref


@dataclass(frozen=True)
class Reservation:
    """A payment written in flight: what to ask the provider for, with the key that makes asking twice safe."""

    payment_id: str
    amount_minor: int
    currency: str
    idempotency_key: str


def pay_order(
    session: Session,
    account: Account,
    order_id: str,
    card: Card | None,
    idempotency_key: str,
    now: datetime,
    provider: PaymentProvider,
) -> PayResult:
    """Charge the card for the order; on success issue (or extend) the permit.

    The provider is never asked inside a write transaction: on SQLite that would hold up every verdict for as long
    as the card processor takes. So paying is three steps. `reserve_payment` checks the order and writes its
    payment in flight, which holds the order (no second payment) and its place in a capped zone; that commits. The
    provider is asked with no transaction open. `record_charge` writes the answer and, on success, the permit; the
    caller commits it. If the provider cannot be reached the payment stays in flight: the same key again asks again
    (the provider answers the same charge), and the schedule asks by key once IN_FLIGHT_GRACE has passed.

    The same key again returns the first attempt without charging. A decline records the declined payment and
    leaves the order open (another card may be tried with a new key); a pending charge issues nothing until it
    settles. Raises FormError (fields: order, card_number, idempotency_key, vehicle_ids...), PermissionError for
    someone else's order, SoldOutError if the zone filled up since the quote.
    """
    reserved = reserve_payment(session, account, order_id, card, idempotency_key, now, provider.name)
    if isinstance(reserved, PayResult):
        return reserved
    assert card is not None  # reserve_payment asks for one whenever there is something to charge
    session.commit()  # the reservation stands; SQLite's write lock is let go while the provider is asked
    try:
        charge = provider.charge(card, reserved.amount_minor, reserved.currency, reserved.idempotency_key)
    except Exception:
        log.exception("payment %s: the provider did not answer; it stays in flight", reserved.payment_id)
        payment = session.get_one(Payment, reserved.payment_id)
        return PayResult(session.get_one(Order, payment.order_id), payment)
    begin_writing(session)
    return record_charge(session, account, reserved.payment_id, charge, now)


def reserve_payment(
    session: Session,
    account: Account,
    order_id: str,
    card: Card | None,
    idempotency_key: str,
    now: datetime,
    provider_name: str,
) -> PayResult | Reservation:
    """Check the order can be paid and write its payment in flight (flushed; the caller commits), or the result
    when there is nothing to charge: a free order (issued here), or a key already answered."""
    key = check_key(idempotency_key)
    if not session.in_transaction():
        session.connection(execution_options=WRITES)  # this transaction writes: lock early on SQLite
    # The order's row lock comes first: a second submit racing this one waits here, then finds the payment.
    order = session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None:
        raise FormError({"order": "no such order"})
    if order.account_id != account.id:
        raise PermissionError("not your order")
    if (existing := payment_by_key(session, key)) is not None:
        if existing.order_id != order_id:
            raise FormError({"idempotency_key": "this key was already used for another order"})
        if in_flight(existing) and card is not None and now < existing.created_at + REPLAY_WINDOW:
            return Reservation(existing.id, existing.amount_minor, existing.currency, key)  # ask again, same key
        return PayResult(order, existing)
    if order.status is not OrderStatus.PENDING:
        raise FormError({"order": f"this order is {order.status.value}"})
    if any(payment.status is PaymentStatus.PENDING for payment in order.payments):
        raise FormError({"order": "a payment for this order is still being confirmed"})
    if now > order.created_at + QUOTE_VALID:
        raise FormError({"order": "this quote has expired: ask for a new one"})
    # One buyer at a time per type: the last place in a zone cannot be sold twice.
    permit_type = session.get_one(PermitType, order.type_id, with_for_update=True)
    _check_still_valid(session, account, order, permit_type, now)
    if order.amount_minor == 0:
        _fulfil(session, order, account, now)
        return PayResult(order, None)
    if card is None:
        raise FormError({"card_number": "enter a card"})
    payment = Payment(
        order_id=order.id,
        provider=provider_name,
        provider_ref="",
        amount_minor=order.amount_minor,
        currency=order.currency,
        status=PaymentStatus.PENDING,
        card_last4=card.last4,
        idempotency_key=key,
        created_at=now,
    )
    session.add(payment)
    order.payments.append(payment)
    session.flush()
    return Reservation(payment.id, payment.amount_minor, payment.currency, key)


def record_charge(session: Session, account: Account, payment_id: str, charge: Charge, now: datetime) -> PayResult:
    """Write the provider's answer to a payment in flight and, on success, issue the permit (flushed; the caller
    commits). A payment answered meanwhile (a replay of its key, or the schedule) is left as it is."""
    locked = _lock_order_and_payment(session, payment_id)
    if locked is None:
        raise FormError({"payment": "no such payment"})
    order, payment = locked
    if not in_flight(payment):
        if charge.status is ChargeStatus.SUCCEEDED and payment.status is not PaymentStatus.SUCCEEDED:
            log.error(
                "payment %s: the provider took the money after it was recorded %s: refund it",
                payment.id,
                payment.status.value,
            )
        return PayResult(order, payment)
    payment.provider_ref = charge.ref
    payment.status = _STATUS[charge.status]
    payment.message = charge.message
    session.flush()
    audit(
        session,
        account.id,
        "payment.create",
        "payment",
        payment.id,
        order_id=order.id,
        amount_minor=payment.amount_minor,
        status=payment.status.value,
    )
    if payment.status is PaymentStatus.SUCCEEDED and order.status is OrderStatus.PENDING:
        _fulfil(session, order, account, now)
    return PayResult(order, payment)


def _lock_order_and_payment(session: Session, payment_id: str) -> tuple[Order, Payment] | None:
    """The payment and its order, both locked and read afresh (None: no such payment). Every writer of payments
    locks in this order (the order, its payment, then a refund), as reserve_payment does: none waits on another in
    turn (a deadlock on PostgreSQL)."""
    order_id = session.scalar(select(Payment.order_id).where(Payment.id == payment_id))
    if order_id is None:
        return None
    order = session.get_one(Order, order_id, with_for_update=True, populate_existing=True)
    return order, session.get_one(Payment, payment_id, with_for_update=True, populate_existing=True)


def _check_still_valid(
    session: Session, account: Account, order: Order, permit_type: PermitType, now: datetime
) -> None:
    if order.kind is OrderKind.NEW:
        check_can_buy(session, account, permit_type, order.home_zone_id, now)
        vehicles = owned_vehicles(session, account, list(order.vehicle_ids))
        check_vehicle_count(permit_type, vehicles)
        return
    permit = session.get(Permit, order.permit_id) if order.permit_id else None
    if permit is None or permit.holder_id != account.id:
        raise FormError({"order": "the permit to renew is gone"})
    if permit.valid_until != order.period_start:
        raise FormError({"order": "this permit was renewed already: ask for a new quote"})
    if _renewal_being_paid(session, permit.id):
        raise FormError({"order": "another renewal of this permit is being paid: wait for its answer"})
    if reason := why_not_renewable(permit, now):
        raise FormError({"order": f"cannot renew: {reason}"})


def _renewal_being_paid(session: Session, permit_id: str) -> bool:
    """Whether a renewal order of the permit has a payment in flight or being confirmed (it would extend the
    permit over the same period: paying a second one would charge twice for it)."""
    query = being_paid(Payment.id).where(Order.permit_id == permit_id, Order.kind == OrderKind.RENEWAL).limit(1)
    return session.scalar(query) is not None


def _fulfil(session: Session, order: Order, account: Account, now: datetime) -> Permit:
    """The order is paid: issue the permit, or extend the one renewed (through the ORM: a new revision)."""
    order.status = OrderStatus.PAID
    order.paid_at = now
    if order.kind is OrderKind.RENEWAL:
        permit = session.get_one(Permit, order.permit_id)
        permit.valid_until = order.period_end
        permit.reminder_sent_at = None
        session.flush()
        audit(session, account.id, "permit.renew", "permit", permit.id, order_id=order.id)
        return permit
    vehicles = owned_vehicles(session, account, list(order.vehicle_ids))
    permit = Permit(
        code=new_permit_code(),
        holder_name=account.full_name,
        holder_id=account.id,
        home_zone_id=order.home_zone_id,
        type=session.get_one(PermitType, order.type_id),  # the object, so the revision records its terms
        valid_from=order.period_start,
        valid_until=order.period_end,
        status=PermitStatus.ACTIVE,
        vehicles=vehicles,
    )
    session.add(permit)
    session.flush()
    order.permit_id = permit.id
    accept_offer(session, account.id, order.type_id, order.home_zone_id, now)
    audit(session, account.id, "permit.issue", "permit", permit.id, order_id=order.id, code=permit.code)
    session.flush()
    return permit


@dataclass(frozen=True)
class Settlement:
    """What the provider answered about a pending payment: its final state."""

    payment_id: str
    charge: Charge


# The answer for a payment in flight whose charge the provider, asked by its key, never received.
NEVER_RECEIVED = Charge("", ChargeStatus.FAILED, "the charge never reached the card processor")


def ask_about_pending_payments(
    session: Session, now: datetime, providers: ProviderLookup = provider_named, order_id: str | None = None
) -> tuple[int, list[Settlement]]:
    """Ask the provider about the payments still pending (or one order's); returns how many were asked and the
    answers that are final. Writes nothing, so on SQLite it needs no write lock: a slow provider holds up no
    verdict. A payment the provider cannot answer for is logged and asked again next time. A payment in flight is
    asked for by its key once IN_FLIGHT_GRACE has passed (before that its charge may still be on its way); one the
    provider never received has failed."""
    query = select(
        Payment.id, Payment.provider, Payment.provider_ref, Payment.idempotency_key, Payment.created_at
    ).where(Payment.status == PaymentStatus.PENDING)
    if order_id is not None:
        query = query.where(Payment.order_id == order_id)
    asked = 0
    final = []
    for payment_id, provider, ref, key, created_at in session.execute(query).all():
        if not ref and now < created_at + IN_FLIGHT_GRACE:
            continue
        asked += 1
        try:
            charge = providers(provider).settle(ref) if ref else providers(provider).find(key) or NEVER_RECEIVED
        except Exception:
            log.exception("payment %s could not be asked about; it stays pending and is asked again", payment_id)
            continue
        if charge.status is not ChargeStatus.PENDING:
            final.append(Settlement(payment_id, charge))
    return asked, final


def record_settlements(session: Session, settlements: Sequence[Settlement], now: datetime, mailer: Mailer) -> None:
    """Write what the provider answered: issue the permit on success, mark the order failed and mail the holder on
    failure. A payment settled meanwhile (by another process, or the holder's receipt page) is left as it is."""
    for settlement in settlements:
        locked = _lock_order_and_payment(session, settlement.payment_id)
        if locked is None or locked[1].status is not PaymentStatus.PENDING:
            continue
        payment = locked[1]
        try:
            with session.begin_nested():  # one payment that cannot be settled does not hold up the others
                _settle(session, payment, settlement.charge, now, mailer)
        except Exception:
            log.exception("payment %s could not be settled; it stays pending and is tried again", payment.id)
    session.flush()


def settle_pending_payments(
    session: Session,
    now: datetime,
    mailer: Mailer,
    providers: ProviderLookup = provider_named,
    order_id: str | None = None,
) -> int:
    """Ask about the pending payments (or one order's) and record the final answers (`ask_about_pending_payments`,
    then `record_settlements`). Commits what came before: the provider is asked with no write transaction open, the
    answers are written in a new one that the caller commits. Returns how many were asked."""
    session.commit()  # what came before; no write transaction stays open while the provider is asked
    asked, settlements = ask_about_pending_payments(session, now, providers, order_id)
    begin_writing(session)
    record_settlements(session, settlements, now, mailer)
    return asked


def _settle(session: Session, payment: Payment, charge: Charge, now: datetime, mailer: Mailer) -> None:
    payment.provider_ref = charge.ref or payment.provider_ref
    payment.status = _STATUS[charge.status]
    payment.message = charge.message
    order = payment.order
    account = session.get_one(Account, order.account_id)
    audit(session, None, "payment.settle", "payment", payment.id, status=payment.status.value)
    if payment.status is PaymentStatus.SUCCEEDED and order.status is OrderStatus.PENDING:
        _fulfil(session, order, account, now)
    elif payment.status is not PaymentStatus.SUCCEEDED:
        order.status = OrderStatus.FAILED
        what = "could not be confirmed" if charge is NEVER_RECEIVED else "failed after the card was accepted"
        mailer.send(
            Mail(
                to=account.email,
                subject="Your permit payment failed",
                body=(
                    f"Hello {account.full_name},\n\nThe payment of your order {order.id[:8]} {what} "
                    f"({charge.message}). No permit was issued. Please buy again.\n"
                ),
            )
        )


# ---- refunds ---------------------------------------------------------------------------------------------


def refunded_minor(payment: Payment) -> int:
    return sum(refund.amount_minor for refund in payment.refunds if refund.succeeded)


def refundable_minor(payment: Payment) -> int:
    """What may still be given back of a payment: nothing unless it succeeded; refunds in flight count as given."""
    if payment.status is not PaymentStatus.SUCCEEDED:
        return 0
    in_flight_minor = sum(refund.amount_minor for refund in payment.refunds if refund.in_flight)
    return payment.amount_minor - refunded_minor(payment) - in_flight_minor


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

    As paying, in three steps so that the provider is never asked inside a write transaction: `reserve_refund`
    writes the refund in flight (its amount is then no longer refundable) and that commits; the provider is asked
    with no transaction open; `record_refund` writes its answer, which the caller commits. If the provider cannot
    be reached the refund stays in flight: the same key again asks again, and the schedule asks by key once
    IN_FLIGHT_GRACE has passed.

    The same `idempotency_key` again returns the first refund, whatever the other arguments. A refund that
    empties the payment marks its order REFUNDED. The permit is left as it is: revoking it is a separate act
    (the admin console offers both). Raises FormError (fields: amount_minor, reason, idempotency_key, payment).
    Audited as `payment.refund`.
    """
    refund = reserve_refund(session, payment_id, amount_minor, reason, idempotency_key, actor_id, now)
    if not refund.in_flight or now >= refund.created_at + REPLAY_WINDOW:  # answered, or left to the schedule
        return refund
    payment = refund.payment
    session.commit()  # the refund in flight stands; SQLite's write lock is let go while the provider is asked
    try:
        result = providers(payment.provider).refund(
            payment.provider_ref, refund.amount_minor, payment.currency, refund.idempotency_key
        )
    except Exception:
        log.exception("refund %s: the provider did not answer; it stays in flight", refund.id)
        return refund
    begin_writing(session)
    return record_refund(session, refund.id, result, now)


def reserve_refund(
    session: Session,
    payment_id: str,
    amount_minor: int,
    reason: str,
    idempotency_key: str,
    actor_id: str | None,
    now: datetime,
) -> Refund:
    """Check the refund and write it in flight (flushed; the caller commits), or the refund the key already made."""
    key = check_key(idempotency_key)
    if not session.in_transaction():
        session.connection(execution_options=WRITES)  # this transaction writes: lock early on SQLite
    payment = session.get(Payment, payment_id, with_for_update=True)  # refunds of one payment, one at a time
    existing = session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        if existing.payment_id != payment_id:
            raise FormError({"idempotency_key": "this key was already used for another payment's refund"})
        return existing
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
    refund = Refund(
        payment_id=payment.id,
        amount_minor=amount_minor,
        reason=reason,
        provider_ref="",
        succeeded=False,
        idempotency_key=key,
        by_account_id=actor_id,
        created_at=now,
        answered_at=None,
    )
    session.add(refund)
    payment.refunds.append(refund)
    session.flush()
    return refund


def record_refund(session: Session, refund_id: str, result: RefundResult, now: datetime) -> Refund:
    """Write the provider's answer to a refund in flight (flushed; the caller commits); a refund answered
    meanwhile (a replay of its key, or the schedule) is left as it is."""
    payment_id = session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    if payment_id is None:
        raise FormError({"refund": "no such refund"})
    locked = _lock_order_and_payment(session, payment_id)
    assert locked is not None  # a refund's payment is never deleted (foreign key)
    order, payment = locked
    refund = session.get_one(Refund, refund_id, with_for_update=True, populate_existing=True)
    if not refund.in_flight:
        if result.succeeded and not refund.succeeded:
            log.error("refund %s: the provider gave the money back after it was recorded failed", refund.id)
        return refund
    refund.provider_ref = result.ref
    refund.succeeded = result.succeeded
    refund.answered_at = now
    if result.succeeded and refunded_minor(payment) == payment.amount_minor:  # given back, not merely in flight
        order.status = OrderStatus.REFUNDED
    session.flush()
    audit(
        session,
        refund.by_account_id,
        "payment.refund",
        "payment",
        payment.id,
        amount_minor=refund.amount_minor,
        currency=payment.currency,
        succeeded=result.succeeded,
        refund_id=refund.id,
        reason=refund.reason,
        message=result.message,
    )
    return refund


# The answer for a refund in flight that the provider, asked by its key, never received.
REFUND_NEVER_RECEIVED = RefundResult("", False, "the refund never reached the card processor")


def ask_about_refunds_in_flight(
    session: Session, now: datetime, providers: ProviderLookup = provider_named
) -> list[tuple[str, RefundResult]]:
    """Ask the provider, by key, about the refunds in flight for longer than IN_FLIGHT_GRACE (their answer was
    lost): (refund id, answer) for each it answered. Writes nothing: it needs no write lock."""
    query = (
        select(Refund.id, Payment.provider, Refund.idempotency_key)
        .join(Payment, Refund.payment_id == Payment.id)
        .where(Refund.answered_at.is_(None), Refund.created_at <= now - IN_FLIGHT_GRACE)
    )
    answers = []
    for refund_id, provider, key in session.execute(query).all():
        try:
            answers.append((refund_id, providers(provider).find_refund(key) or REFUND_NEVER_RECEIVED))
        except Exception:
            log.exception("refund %s could not be asked about; it stays in flight and is asked again", refund_id)
    return answers


def settle_refunds_in_flight(session: Session, now: datetime, providers: ProviderLookup = provider_named) -> int:
    """Ask about the refunds whose answer was lost and record the answers (`ask_about_refunds_in_flight`, then
    `record_refund`); commits what came before, as `settle_pending_payments`. Returns how many were answered."""
    session.commit()
    answers = ask_about_refunds_in_flight(session, now, providers)
    begin_writing(session)
    for refund_id, result in answers:
        record_refund(session, refund_id, result, now)
    return len(answers)


@dataclass(frozen=True)
class PaymentSummary:
    """A payment with its order, for receipts and the admin console."""

    payment: Payment
    order: Order
    refunded_minor: int


def payments_of_order(session: Session, order_id: str) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at)))
