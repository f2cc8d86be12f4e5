"""The permit holder's self-service portal: vehicles, buying and paying, renewals, swaps, receipts and history.

Views are thin: the rules are in `backend.permits.sales` and `backend.billing.service`. A holder sees and
touches only their own records: any other id (someone else's, or none at all) is answered 403, so ids
cannot be probed. Each submit of a form that creates something carries a fresh idempotency key, so a
double click or a reload makes one order and one payment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.accounts.permissions import Permission
from backend.accounts.service import FormError
from backend.billing.models import Order, OrderStatus, PaymentStatus
from backend.billing.pricing import NotOnSaleError, Quote, Terms, quote
from backend.billing.provider import provider_named, read_card
from backend.billing.service import (
    QUOTE_VALID,
    create_order,
    create_renewal,
    order_by_key,
    pay_order,
    payment_by_key,
    refunded_minor,
    settle_pending_payments,
)
from backend.permits.models import Permit, PermitRevision, PermitType, Vehicle, WaitlistEntry, WaitlistStatus, Zone
from backend.permits.sales import (
    SoldOutError,
    add_vehicle,
    cancel_waitlist,
    edit_vehicle,
    home_zone_choices,
    is_live,
    join_waitlist,
    live_permits_of,
    remove_vehicle,
    renewal_opens_at,
    seats_left,
    set_permit_vehicles,
    update_address,
    why_not_eligible,
    why_not_renewable,
)
from backend.web import portal_api
from backend.web.ownership import own_order, own_permit, own_vehicle, own_waitlist
from backend.web.pages import redirect, render
from backend.web.security import Context, Db, ForbiddenError, Form, RequestMail, Viewer, require

router = APIRouter()  # pages are left out of the OpenAPI description; the JSON API is in
Holder = Annotated[Viewer, Depends(require(Permission.HOLDER_PERMITS_VIEW))]
Driver = Annotated[Viewer, Depends(require(Permission.HOLDER_VEHICLES_MANAGE))]
Buyer = Annotated[Viewer, Depends(require(Permission.HOLDER_PERMITS_BUY))]


def new_key() -> str:
    return secrets.token_urlsafe(24)


def account_of(session: Session, viewer: Viewer) -> Account:
    """The viewer's account in this request's database session (the viewer's copy is from another)."""
    return session.get_one(Account, viewer.account.id)


def my_vehicles(session: Session, account_id: str) -> list[Vehicle]:
    return list(session.scalars(select(Vehicle).where(Vehicle.owner_id == account_id).order_by(Vehicle.plate)))


def my_permits(session: Session, account_id: str) -> list[Permit]:
    return list(
        session.scalars(select(Permit).where(Permit.holder_id == account_id).order_by(Permit.valid_until.desc()))
    )


def chosen_vehicle_ids(form: dict[str, str]) -> list[str]:
    """Checkboxes are named vehicle_<id> (one name each, so the form dependency keeps them all)."""
    return [name.removeprefix("vehicle_") for name, value in form.items() if name.startswith("vehicle_") and value]


# ---- home --------------------------------------------------------------------------------------------------


@router.get("/portal", response_class=HTMLResponse, include_in_schema=False)
def portal_home(request: Request, session: Db, context: Context, viewer: Holder) -> Response:
    now = context.now()
    permits = my_permits(session, viewer.account.id)
    entries = session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.account_id == viewer.account.id,
            WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)),
        )
        .order_by(WaitlistEntry.joined_at)
    ).all()
    return render(
        request,
        "portal/home.html",
        permits=permits,
        live={permit.id: is_live(permit, now) for permit in permits},
        renewable={permit.id: why_not_renewable(permit, now) is None for permit in permits},
        waitlist=[
            (entry, session.get(PermitType, entry.type_id), session.get(Zone, entry.zone_id or "")) for entry in entries
        ],
        vehicles=my_vehicles(session, viewer.account.id),
        now=now,
    )


# ---- the holder's address ---------------------------------------------------------------------------------


def _account_page(request: Request, session: Session, status: int = 200, **values: object) -> Response:
    zones = list(session.scalars(select(Zone).order_by(Zone.name)))
    return render(request, "portal/account.html", status, zones=zones, **values)


@router.get("/portal/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, session: Db, viewer: Holder) -> Response:
    account = account_of(session, viewer)
    form = {
        "full_name": account.full_name,
        "address": account.address,
        "address_zone_id": account.address_zone_id or "",
    }
    return _account_page(request, session, form=form)


@router.post("/portal/account", response_class=HTMLResponse, include_in_schema=False)
def account_save(request: Request, session: Db, viewer: Holder, form: Form) -> Response:
    try:
        update_address(
            session,
            account_of(session, viewer),
            form.get("full_name", ""),
            form.get("address", ""),
            form.get("address_zone_id") or None,
        )
    except FormError as problem:
        session.rollback()
        return _account_page(request, session, 422, form=form, errors=problem.errors)
    session.commit()
    return redirect("/portal/account", flash="Your details are saved.")


# ---- vehicles ----------------------------------------------------------------------------------------------


def _vehicles_page(
    request: Request, session: Session, viewer: Viewer, now: datetime, status: int = 200, **values: object
) -> Response:
    vehicles = my_vehicles(session, viewer.account.id)
    on_permits = {vehicle.id: [p.code for p in live_permits_of(vehicle, now)] for vehicle in vehicles}
    return render(request, "portal/vehicles.html", status, vehicles=vehicles, on_permits=on_permits, **values)


@router.get("/portal/vehicles", response_class=HTMLResponse, include_in_schema=False)
def vehicles_page(request: Request, session: Db, context: Context, viewer: Driver) -> Response:
    return _vehicles_page(request, session, viewer, context.now())


@router.post("/portal/vehicles", response_class=HTMLResponse, include_in_schema=False)
def vehicle_add(request: Request, session: Db, context: Context, viewer: Driver, form: Form) -> Response:
    try:
        vehicle = add_vehicle(
            session,
            account_of(session, viewer),
            form.get("plate", ""),
            form.get("jurisdiction", ""),
            form.get("make", ""),
            form.get("colour", ""),
            context.now(),
        )
    except FormError as problem:
        session.rollback()
        return _vehicles_page(request, session, viewer, context.now(), 422, form=form, errors=problem.errors)
    session.commit()
    return redirect("/portal/vehicles", flash=f"{vehicle.plate} is on your list.")


@router.get("/portal/vehicles/{vehicle_id}", response_class=HTMLResponse, include_in_schema=False)
def vehicle_page(request: Request, vehicle_id: str, session: Db, context: Context, viewer: Driver) -> Response:
    vehicle = own_vehicle(session, viewer, vehicle_id)
    return render(
        request,
        "portal/vehicle.html",
        vehicle=vehicle,
        on_permits=live_permits_of(vehicle, context.now()),
        form={
            "plate": vehicle.plate,
            "jurisdiction": vehicle.jurisdiction,
            "make": vehicle.make,
            "colour": vehicle.colour,
        },
    )


@router.post("/portal/vehicles/{vehicle_id}", response_class=HTMLResponse, include_in_schema=False)
def vehicle_save(
    request: Request, vehicle_id: str, session: Db, context: Context, viewer: Driver, form: Form
) -> Response:
    vehicle = own_vehicle(session, viewer, vehicle_id)
    try:
        edit_vehicle(
            session,
            account_of(session, viewer),
            vehicle,
            form.get("plate", ""),
            form.get("jurisdiction", ""),
            form.get("make", ""),
            form.get("colour", ""),
            context.now(),
        )
    except FormError as problem:
        session.rollback()
        vehicle = own_vehicle(session, viewer, vehicle_id)
        on_permits = live_permits_of(vehicle, context.now())
        return render(
            request,
            "portal/vehicle.html",
            422,
            vehicle=vehicle,
            on_permits=on_permits,
            form=form,
            errors=problem.errors,
        )
    session.commit()
    return redirect("/portal/vehicles", flash=f"{vehicle.plate} is saved.")


@router.post("/portal/vehicles/{vehicle_id}/remove", response_class=HTMLResponse, include_in_schema=False)
def vehicle_remove(
    request: Request, vehicle_id: str, session: Db, context: Context, viewer: Driver, _form: Form
) -> Response:
    vehicle = own_vehicle(session, viewer, vehicle_id)
    plate = vehicle.plate
    try:
        remove_vehicle(session, account_of(session, viewer), vehicle, context.now())
    except FormError as problem:
        session.rollback()
        errors = {f"vehicle-{vehicle_id}": problem.errors.get("vehicle", str(problem))}
        return _vehicles_page(request, session, viewer, context.now(), 409, errors=errors)
    session.commit()
    return redirect("/portal/vehicles", flash=f"{plate} is off your list.")


# ---- buying ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A permit type as one holder sees it today."""

    type: PermitType
    reason: str | None  # why they may not buy it; None: they may
    quote: Quote | None
    seats: int | None  # places left in the holder's zone (residents) or None (not capped / zone not known)


def offers_for(session: Session, account: Account, now: datetime, timezone: str) -> list[Offer]:
    offers = []
    for permit_type in session.scalars(
        select(PermitType).where(PermitType.on_sale.is_(True)).order_by(PermitType.name)
    ):
        reason = why_not_eligible(account, permit_type)
        priced = None
        try:
            priced = quote(Terms.of(permit_type), now, timezone)
        except NotOnSaleError as problem:
            reason = reason or str(problem)
        seats = None
        if permit_type.residents_only and account.address_zone_id and reason is None:
            seats = seats_left(session, permit_type, account.address_zone_id, now)
        offers.append(Offer(permit_type, reason, priced, seats))
    return offers


@router.get("/portal/buy", response_class=HTMLResponse, include_in_schema=False)
def buy_page(request: Request, session: Db, context: Context, viewer: Buyer) -> Response:
    offers = offers_for(session, account_of(session, viewer), context.now(), context.config.timezone)
    return render(request, "portal/buy.html", offers=offers)


def _buy_type_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    permit_type: PermitType,
    now: datetime,
    timezone: str,
    status: int = 200,
    **values: object,
) -> Response:
    account = account_of(session, viewer)
    zones = list(session.scalars(select(Zone).order_by(Zone.name)))
    choices = home_zone_choices(account, permit_type, zones)
    try:
        priced: Quote | None = quote(Terms.of(permit_type), now, timezone)
    except NotOnSaleError:
        priced = None
    values.setdefault("key", new_key())
    return render(
        request,
        "portal/buy_type.html",
        status,
        permit_type=permit_type,
        reason=why_not_eligible(account, permit_type),
        quote=priced,
        zones=choices,
        vehicles=my_vehicles(session, account.id),
        **values,
    )


def _type_on_sale(session: Session, type_id: str) -> PermitType:
    permit_type = session.get(PermitType, type_id)
    if permit_type is None or not permit_type.on_sale:
        raise ForbiddenError
    return permit_type


@router.get("/portal/buy/{type_id}", response_class=HTMLResponse, include_in_schema=False)
def buy_type_page(request: Request, type_id: str, session: Db, context: Context, viewer: Buyer) -> Response:
    permit_type = _type_on_sale(session, type_id)
    return _buy_type_page(request, session, viewer, permit_type, context.now(), context.config.timezone)


@router.post("/portal/buy/{type_id}", response_class=HTMLResponse, include_in_schema=False)
def buy_submit(request: Request, type_id: str, session: Db, context: Context, viewer: Buyer, form: Form) -> Response:
    permit_type = _type_on_sale(session, type_id)
    now, timezone = context.now(), context.config.timezone
    zone_id = form.get("home_zone_id") or None
    key = form.get("idempotency_key", "")
    chosen = chosen_vehicle_ids(form)
    try:
        order = create_order(session, account_of(session, viewer), permit_type, chosen, zone_id, key, now, timezone)
        session.commit()
    except FormError as problem:
        session.rollback()
        return _buy_type_page(
            request, session, viewer, permit_type, now, timezone, 422, form=form, chosen=chosen, errors=problem.errors
        )
    except SoldOutError:
        session.rollback()
        return _buy_type_page(
            request, session, viewer, permit_type, now, timezone, 409, form=form, chosen=chosen, sold_out_zone=zone_id
        )
    except IntegrityError:  # the same form posted twice at once: the other request made the order
        session.rollback()
        if (existing := order_by_key(session, key)) is None or existing.account_id != viewer.account.id:
            raise
        order = existing
    return redirect(f"/portal/orders/{order.id}")


@router.post("/portal/waitlist", response_class=HTMLResponse, include_in_schema=False)
def waitlist_join(request: Request, session: Db, context: Context, viewer: Buyer, form: Form) -> Response:
    permit_type = _type_on_sale(session, form.get("type_id", ""))
    zone_id = form.get("home_zone_id") or None
    if zone_id is not None and session.get(Zone, zone_id) is None:
        raise ForbiddenError
    try:
        join_waitlist(session, account_of(session, viewer), permit_type, zone_id, context.now())
    except FormError as problem:
        session.rollback()
        return _buy_type_page(
            request, session, viewer, permit_type, context.now(), context.config.timezone, 422, errors=problem.errors
        )
    session.commit()
    return redirect("/portal", flash=f"You are on the waitlist for {permit_type.name}. We will mail you an offer.")


@router.post("/portal/waitlist/{entry_id}/cancel", include_in_schema=False)
def waitlist_cancel(entry_id: int, session: Db, viewer: Buyer, _form: Form) -> Response:
    entry = own_waitlist(session, viewer, entry_id)
    cancel_waitlist(session, account_of(session, viewer), entry)
    session.commit()
    return redirect("/portal", flash="You left the waitlist.")


# ---- the quote and paying ----------------------------------------------------------------------------------


def _order_page(
    request: Request, session: Session, order: Order, now: datetime, status: int = 200, **values: object
) -> Response:
    values.setdefault("key", new_key())
    pending = [payment for payment in order.payments if payment.status is PaymentStatus.PENDING]
    return render(
        request,
        "portal/order.html",
        status,
        order=order,
        permit_type=session.get(PermitType, order.type_id),
        vehicles=[session.get(Vehicle, vehicle_id) for vehicle_id in order.vehicle_ids],
        zone=session.get(Zone, order.home_zone_id) if order.home_zone_id else None,
        quote_until=order.created_at + QUOTE_VALID,
        expired=now > order.created_at + QUOTE_VALID,
        pending=pending,
        **values,
    )


@router.get("/portal/orders/{order_id}", response_class=HTMLResponse, include_in_schema=False)
def order_page(request: Request, order_id: str, session: Db, context: Context, viewer: Buyer) -> Response:
    order = own_order(session, viewer, order_id)
    if order.status is not OrderStatus.PENDING:
        return redirect(f"/portal/receipts/{order.id}")
    return _order_page(request, session, order, context.now())


PAY_FIELDS = ("card_number", "card_expiry", "card_cvc", "idempotency_key", "order")


def _on_pay_page(problem: FormError) -> dict[str, str]:
    """The pay page shows the card's fields and the order: anything else (a vehicle gone...) goes with the order."""
    shown = {field: message for field, message in problem.errors.items() if field in PAY_FIELDS}
    rest = [message for field, message in problem.errors.items() if field not in PAY_FIELDS]
    if rest:
        shown["order"] = "; ".join([shown.get("order", ""), *rest]).strip("; ")
    return shown


@router.post("/portal/orders/{order_id}/pay", response_class=HTMLResponse, include_in_schema=False)
def order_pay(request: Request, order_id: str, session: Db, context: Context, viewer: Buyer, form: Form) -> Response:
    order = own_order(session, viewer, order_id)
    now = context.now()
    key = form.get("idempotency_key", "")
    kept = {"card_expiry": form.get("card_expiry", "")}  # never send the card number or CVC back
    card = None
    if order.amount_minor > 0:
        card, problems = read_card(
            form.get("card_number", ""),
            form.get("card_expiry", ""),
            form.get("card_cvc", ""),
            now,
            context.config.timezone,
        )
        if card is None:
            return _order_page(request, session, order, now, 422, form=kept, errors=problems)
    try:
        result = pay_order(
            session,
            account_of(session, viewer),
            order.id,
            card,
            key,
            now,
            provider_named(context.config.payment_provider),
        )
        session.commit()
    except FormError as problem:
        session.rollback()
        return _order_page(
            request, session, own_order(session, viewer, order_id), now, 422, form=kept, errors=_on_pay_page(problem)
        )
    except SoldOutError:
        session.rollback()
        errors = {"order": "the last place in this zone was just sold: join the waitlist from the permit's page"}
        return _order_page(request, session, own_order(session, viewer, order_id), now, 409, form=kept, errors=errors)
    except IntegrityError:  # a double click raced this request and wrote the payment first
        session.rollback()
        if payment_by_key(session, key) is None:
            raise
        return redirect(f"/portal/receipts/{order_id}")
    if result.declined:
        assert result.payment is not None
        errors = {"card_number": f"{result.payment.message}: no money was taken; try another card"}
        return _order_page(request, session, result.order, now, 402, form=kept, errors=errors)
    flash = "Paid: your permit is valid now." if result.paid else "Your bank is confirming the payment."
    return redirect(f"/portal/receipts/{order_id}", flash=flash)


# ---- receipts, permits and their history --------------------------------------------------------------------


@router.get("/portal/receipts", response_class=HTMLResponse, include_in_schema=False)
def receipts_page(request: Request, session: Db, viewer: Holder) -> Response:
    orders = session.scalars(
        select(Order).where(Order.account_id == viewer.account.id).order_by(Order.created_at.desc())
    ).all()
    types = {t.id: t for t in session.scalars(select(PermitType).where(PermitType.id.in_({o.type_id for o in orders})))}
    return render(request, "portal/receipts.html", orders=orders, types=types)


@router.get("/portal/receipts/{order_id}", response_class=HTMLResponse, include_in_schema=False)
def receipt_page(request: Request, order_id: str, session: Db, viewer: Holder) -> Response:
    order = own_order(session, viewer, order_id)
    permit = session.get(Permit, order.permit_id) if order.permit_id else None
    return render(
        request,
        "portal/receipt.html",
        order=order,
        permit=permit,
        permit_type=session.get(PermitType, order.type_id),
        account=viewer.account,
        vehicles=[v for v in (session.get(Vehicle, vehicle_id) for vehicle_id in order.vehicle_ids) if v is not None],
        refunded={payment.id: refunded_minor(payment) for payment in order.payments},
        pending=any(payment.status is PaymentStatus.PENDING for payment in order.payments),
    )


@router.post("/portal/receipts/{order_id}/check", include_in_schema=False)
def receipt_check(
    order_id: str, session: Db, context: Context, viewer: Holder, _form: Form, mail: RequestMail
) -> Response:
    """Ask the provider again about a payment still being confirmed (the schedule also does)."""
    order = own_order(session, viewer, order_id)
    settle_pending_payments(session, context.now(), mail, order_id=order.id)
    session.commit()
    return redirect(f"/portal/receipts/{order_id}")


def _permit_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    permit: Permit,
    now: datetime,
    status: int = 200,
    **values: object,
) -> Response:
    revisions = session.scalars(
        select(PermitRevision).where(PermitRevision.permit_id == permit.id).order_by(PermitRevision.revision.desc())
    ).all()
    orders = session.scalars(select(Order).where(Order.permit_id == permit.id).order_by(Order.created_at.desc())).all()
    values.setdefault("chosen", [vehicle.id for vehicle in permit.vehicles])
    return render(
        request,
        "portal/permit.html",
        status,
        permit=permit,
        live=is_live(permit, now),
        renew_reason=why_not_renewable(permit, now),
        renew_opens=renewal_opens_at(permit),
        vehicles=my_vehicles(session, viewer.account.id),
        revisions=revisions,
        orders=orders,
        key=new_key(),
        **values,
    )


@router.get("/portal/permits/{permit_id}", response_class=HTMLResponse, include_in_schema=False)
def permit_page(request: Request, permit_id: str, session: Db, context: Context, viewer: Holder) -> Response:
    permit = own_permit(session, viewer, permit_id)
    return _permit_page(request, session, viewer, permit, context.now())


@router.post("/portal/permits/{permit_id}/vehicles", response_class=HTMLResponse, include_in_schema=False)
def permit_swap(
    request: Request, permit_id: str, session: Db, context: Context, viewer: Driver, form: Form
) -> Response:
    permit = own_permit(session, viewer, permit_id)
    chosen = chosen_vehicle_ids(form)
    try:
        set_permit_vehicles(session, account_of(session, viewer), permit, chosen, context.now())
    except FormError as problem:
        session.rollback()
        permit = own_permit(session, viewer, permit_id)
        return _permit_page(request, session, viewer, permit, context.now(), 422, chosen=chosen, errors=problem.errors)
    session.commit()
    plates = ", ".join(vehicle.plate for vehicle in permit.vehicles)
    return redirect(f"/portal/permits/{permit_id}", flash=f"The permit now covers {plates}.")


@router.post("/portal/permits/{permit_id}/renew", response_class=HTMLResponse, include_in_schema=False)
def permit_renew(
    request: Request, permit_id: str, session: Db, context: Context, viewer: Buyer, form: Form
) -> Response:
    permit = own_permit(session, viewer, permit_id)
    key = form.get("idempotency_key", "")
    try:
        order = create_renewal(
            session, account_of(session, viewer), permit, key, context.now(), context.config.timezone
        )
        session.commit()
    except FormError as problem:
        session.rollback()
        permit = own_permit(session, viewer, permit_id)
        return _permit_page(request, session, viewer, permit, context.now(), 422, errors=problem.errors)
    except IntegrityError:
        session.rollback()
        if (existing := order_by_key(session, key)) is None or existing.account_id != viewer.account.id:
            raise
        order = existing
    return redirect(f"/portal/orders/{order.id}")


router.include_router(portal_api.router)
