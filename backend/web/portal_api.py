"""The portal as a JSON API (/api/v1/portal/...): the same rules as the pages, for apps and scripts.

Every call needs a holder's session; unsafe ones also the X-CSRF-Token header (from GET /api/v1/me), and
those that create an order or a payment an Idempotency-Key header: the same key again answers the first
result without charging twice. Another holder's ids (and unknown ids) are answered 403. Bad input is 422
with `errors`, a message per field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.accounts.permissions import Permission
from backend.accounts.service import FormError
from backend.billing.models import Order, Payment
from backend.billing.provider import provider_named, read_card
from backend.billing.service import (
    create_order,
    create_renewal,
    order_by_key,
    pay_order,
    payment_by_key,
    refunded_minor,
)
from backend.permits.models import Permit, PermitType, Vehicle, WaitlistEntry, Zone
from backend.permits.sales import (
    SoldOutError,
    add_vehicle,
    edit_vehicle,
    is_live,
    join_waitlist,
    remove_vehicle,
    set_permit_vehicles,
    why_not_renewable,
)
from backend.web.ownership import own_order, own_permit, own_vehicle
from backend.web.security import Context, Db, Viewer, require_api

router = APIRouter(prefix="/api/v1/portal", tags=["portal"], include_in_schema=True)

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not a holder, a missing X-CSRF-Token, or not your record"},
    422: {"description": "bad input: `errors` names each field"},
}


Holder = Annotated[Viewer, Depends(require_api(Permission.HOLDER_PERMITS_VIEW))]
Driver = Annotated[Viewer, Depends(require_api(Permission.HOLDER_VEHICLES_MANAGE))]
Buyer = Annotated[Viewer, Depends(require_api(Permission.HOLDER_PERMITS_BUY))]
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=8, max_length=64, description="a fresh key per intended action")
]


def form_error(problem: FormError) -> JSONResponse:
    return JSONResponse({"detail": str(problem), "errors": problem.errors}, status_code=422)


def _account(session: Session, viewer: Viewer) -> Account:
    return session.get_one(Account, viewer.account.id)


# ---- models --------------------------------------------------------------------------------------------------


class VehicleIn(BaseModel):
    plate: str = Field(max_length=32)
    jurisdiction: str = Field(default="", max_length=64)
    make: str = Field(default="", max_length=128)
    colour: str = Field(default="", max_length=64)


class VehicleOut(BaseModel):
    id: str
    plate: str
    jurisdiction: str
    make: str
    colour: str

    @classmethod
    def of(cls, vehicle: Vehicle) -> VehicleOut:
        return cls(
            id=vehicle.id,
            plate=vehicle.plate,
            jurisdiction=vehicle.jurisdiction,
            make=vehicle.make,
            colour=vehicle.colour,
        )


class PermitOut(BaseModel):
    id: str
    code: str
    type: str | None
    plates: list[str]
    valid_from: datetime
    valid_until: datetime
    status: str
    live: bool
    revision: int
    renewable: bool

    @classmethod
    def of(cls, permit: Permit, now: datetime) -> PermitOut:
        return cls(
            id=permit.id,
            code=permit.code,
            type=permit.type.name if permit.type else None,
            plates=sorted(vehicle.plate for vehicle in permit.vehicles),
            valid_from=permit.valid_from,
            valid_until=permit.valid_until,
            status=permit.status.value,
            live=is_live(permit, now),
            revision=permit.revision,
            renewable=why_not_renewable(permit, now) is None,
        )


class Line(BaseModel):
    label: str
    amount_minor: int


class PaymentOut(BaseModel):
    id: str
    status: str
    amount_minor: int
    currency: str
    card_last4: str
    message: str
    refunded_minor: int
    created_at: datetime


class OrderOut(BaseModel):
    id: str
    kind: str
    status: str
    type_id: str
    home_zone_id: str | None
    vehicle_ids: list[str]
    permit_id: str | None
    period_start: datetime
    period_end: datetime
    lines: list[Line]
    amount_minor: int
    currency: str
    created_at: datetime
    paid_at: datetime | None
    payments: list[PaymentOut]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            kind=order.kind.value,
            status=order.status.value,
            type_id=order.type_id,
            home_zone_id=order.home_zone_id,
            vehicle_ids=list(order.vehicle_ids),
            permit_id=order.permit_id,
            period_start=order.period_start,
            period_end=order.period_end,
            lines=[Line(**line) for line in order.lines],
            amount_minor=order.amount_minor,
            currency=order.currency,
            created_at=order.created_at,
            paid_at=order.paid_at,
            payments=[_payment_out(payment) for payment in order.payments],
        )


def _payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        status=payment.status.value,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        card_last4=payment.card_last4,
        message=payment.message,
        refunded_minor=refunded_minor(payment),
        created_at=payment.created_at,
    )


class OrderIn(BaseModel):
    type_id: str = Field(max_length=36)
    home_zone_id: str | None = Field(default=None, max_length=36)
    vehicle_ids: list[str] = Field(max_length=20)


class CardIn(BaseModel):
    card_number: str = Field(default="", max_length=32)
    card_expiry: str = Field(default="", max_length=8, description="MM/YY")
    card_cvc: str = Field(default="", max_length=4)


class VehicleIdsIn(BaseModel):
    vehicle_ids: list[str] = Field(max_length=20)


class WaitlistIn(BaseModel):
    type_id: str = Field(max_length=36)
    home_zone_id: str | None = Field(default=None, max_length=36)


class WaitlistOut(BaseModel):
    id: int
    type_id: str
    home_zone_id: str | None
    status: str
    offer_expires_at: datetime | None

    @classmethod
    def of(cls, entry: WaitlistEntry) -> WaitlistOut:
        return cls(
            id=entry.id,
            type_id=entry.type_id,
            home_zone_id=entry.zone_id,
            status=entry.status.value,
            offer_expires_at=entry.offer_expires_at,
        )


class PermitTypeOut(BaseModel):
    id: str
    code: str
    name: str
    description: str
    price_minor: int
    currency: str
    validity: str
    proration: str
    zone_ids: list[str]
    max_vehicles: int
    residents_only: bool
    eligible: bool
    reason: str | None = Field(description="why you may not buy it, in words; null when you may")
    today_minor: int | None = Field(description="what it costs bought now (prorated); null when not on sale now")
    covers_from: datetime | None
    covers_until: datetime | None


# ---- vehicles ----------------------------------------------------------------------------------------------


@router.get("/vehicles", responses=ERRORS)
def list_vehicles(session: Db, viewer: Driver) -> list[VehicleOut]:
    """Your vehicles."""
    vehicles = session.scalars(select(Vehicle).where(Vehicle.owner_id == viewer.account.id).order_by(Vehicle.plate))
    return [VehicleOut.of(vehicle) for vehicle in vehicles]


@router.post("/vehicles", status_code=201, responses=ERRORS, response_model=VehicleOut)
def create_vehicle(body: VehicleIn, session: Db, context: Context, viewer: Driver) -> Any:
    """Add a vehicle; the plate is normalised (upper case, letters and digits only)."""
    try:
        vehicle = add_vehicle(
            session, _account(session, viewer), body.plate, body.jurisdiction, body.make, body.colour, context.now()
        )
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    session.commit()
    return VehicleOut.of(vehicle)


@router.put("/vehicles/{vehicle_id}", responses=ERRORS, response_model=VehicleOut)
def update_vehicle(vehicle_id: str, body: VehicleIn, session: Db, context: Context, viewer: Driver) -> Any:
    """Change a vehicle; its plate only while it is on no live permit."""
    vehicle = own_vehicle(session, viewer, vehicle_id)
    try:
        edit_vehicle(
            session,
            _account(session, viewer),
            vehicle,
            body.plate,
            body.jurisdiction,
            body.make,
            body.colour,
            context.now(),
        )
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    session.commit()
    return VehicleOut.of(vehicle)


@router.delete("/vehicles/{vehicle_id}", status_code=204, responses=ERRORS)
def delete_vehicle(vehicle_id: str, session: Db, context: Context, viewer: Driver) -> Response:
    """Remove a vehicle; one on a live permit must be swapped off it first."""
    vehicle = own_vehicle(session, viewer, vehicle_id)
    try:
        remove_vehicle(session, _account(session, viewer), vehicle, context.now())
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    session.commit()
    return Response(status_code=204)


# ---- permit types, permits, orders, payments ----


@router.get("/permit-types", responses=ERRORS)
def list_permit_types(session: Db, context: Context, viewer: Buyer) -> list[PermitTypeOut]:
    """The permit types on sale, each with whether you may buy it and what it costs if bought now."""
    from backend.web.portal_views import offers_for

    found = []
    for offer in offers_for(session, _account(session, viewer), context.now(), context.config.timezone):
        permit_type, priced = offer.type, offer.quote
        found.append(
            PermitTypeOut(
                id=permit_type.id,
                code=permit_type.code,
                name=permit_type.name,
                description=permit_type.description,
                price_minor=permit_type.price_minor,
                currency=permit_type.currency,
                validity=permit_type.validity.value,
                proration=permit_type.proration.value,
                zone_ids=permit_type_zone_ids(permit_type),
                max_vehicles=permit_type.max_vehicles,
                residents_only=permit_type.residents_only,
                eligible=offer.reason is None,
                reason=offer.reason,
                today_minor=priced.total_minor if priced else None,
                covers_from=priced.covers.start if priced else None,
                covers_until=priced.covers.end if priced else None,
            )
        )
    return found


def permit_type_zone_ids(permit_type: PermitType) -> list[str]:
    return sorted(zone.id for zone in permit_type.zones)


# ---- permits, orders, payments ---------------------------------------------------------------------------


@router.get("/permits", responses=ERRORS)
def list_permits(session: Db, context: Context, viewer: Holder) -> list[PermitOut]:
    """Your permits, latest ending first."""
    permits = session.scalars(
        select(Permit).where(Permit.holder_id == viewer.account.id).order_by(Permit.valid_until.desc())
    )
    return [PermitOut.of(permit, context.now()) for permit in permits]


@router.get("/permits/{permit_id}", responses=ERRORS)
def get_permit(permit_id: str, session: Db, context: Context, viewer: Holder) -> PermitOut:
    return PermitOut.of(own_permit(session, viewer, permit_id), context.now())


@router.put("/permits/{permit_id}/vehicles", responses=ERRORS, response_model=PermitOut)
def swap_vehicles(permit_id: str, body: VehicleIdsIn, session: Db, context: Context, viewer: Driver) -> Any:
    """Set the vehicles a live permit covers (1 to the type's maximum). The next verdict sees the change."""
    permit = own_permit(session, viewer, permit_id)
    try:
        set_permit_vehicles(session, _account(session, viewer), permit, body.vehicle_ids, context.now())
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    session.commit()
    return PermitOut.of(permit, context.now())


def _sold_out() -> JSONResponse:
    return JSONResponse(
        {"detail": "sold out in this zone: POST /api/v1/portal/waitlist to queue for an offer"}, status_code=409
    )


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses={**ERRORS, 409: {"description": "sold out in this zone"}},
)
def create_new_order(body: OrderIn, key: IdempotencyKey, session: Db, context: Context, viewer: Buyer) -> Any:
    """Quote a new permit: an unpaid order with its lines (proration included). Pay it within an hour."""
    permit_type = session.get(PermitType, body.type_id)
    if permit_type is None:
        return form_error(FormError({"type_id": "no such permit type"}))
    if body.home_zone_id is not None and session.get(Zone, body.home_zone_id) is None:
        return form_error(FormError({"home_zone_id": "no such zone"}))
    try:
        order = create_order(
            session,
            _account(session, viewer),
            permit_type,
            body.vehicle_ids,
            body.home_zone_id,
            key,
            context.now(),
            context.config.timezone,
        )
        session.commit()
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    except SoldOutError:
        session.rollback()
        return _sold_out()
    except IntegrityError:
        session.rollback()
        existing = order_by_key(session, key)
        if existing is None or existing.account_id != viewer.account.id:
            raise
        order = existing
    return OrderOut.of(order)


@router.post("/permits/{permit_id}/renewal", status_code=201, response_model=OrderOut, responses=ERRORS)
def renew_permit(permit_id: str, key: IdempotencyKey, session: Db, context: Context, viewer: Buyer) -> Any:
    """Quote the renewal of your permit: it continues from where the permit ends."""
    permit = own_permit(session, viewer, permit_id)
    try:
        order = create_renewal(session, _account(session, viewer), permit, key, context.now(), context.config.timezone)
        session.commit()
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    except IntegrityError:
        session.rollback()
        existing = order_by_key(session, key)
        if existing is None or existing.account_id != viewer.account.id:
            raise
        order = existing
    return OrderOut.of(order)


@router.get("/orders", responses=ERRORS)
def list_orders(session: Db, viewer: Holder) -> list[OrderOut]:
    """Your orders with their payments and refunds: receipts and history."""
    orders = session.scalars(
        select(Order).where(Order.account_id == viewer.account.id).order_by(Order.created_at.desc())
    )
    return [OrderOut.of(order) for order in orders]


@router.get("/orders/{order_id}", responses=ERRORS)
def get_order(order_id: str, session: Db, viewer: Holder) -> OrderOut:
    return OrderOut.of(own_order(session, viewer, order_id))


@router.post(
    "/orders/{order_id}/payments",
    response_model=OrderOut,
    responses={**ERRORS, 402: {"description": "declined: nothing was taken"}, 409: {"description": "sold out"}},
)
def pay(order_id: str, body: CardIn, key: IdempotencyKey, session: Db, context: Context, viewer: Buyer) -> Any:
    """Pay an order by card (sandbox: 4242 4242 4242 4242 succeeds). On success the order holds its permit id."""
    order = own_order(session, viewer, order_id)
    now = context.now()
    card = None
    if order.amount_minor > 0:
        card, problems = read_card(body.card_number, body.card_expiry, body.card_cvc, now, context.config.timezone)
        if card is None:
            return form_error(FormError(problems))
    try:
        result = pay_order(
            session,
            _account(session, viewer),
            order.id,
            card,
            key,
            now,
            provider_named(context.config.payment_provider),
        )
        session.commit()
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    except SoldOutError:
        session.rollback()
        return _sold_out()
    except IntegrityError:
        session.rollback()
        if payment_by_key(session, key) is None:
            raise
        return OrderOut.of(session.get_one(Order, order_id))
    out = OrderOut.of(result.order)
    if result.declined:
        return JSONResponse(out.model_dump(mode="json"), status_code=402)
    return out


@router.post("/waitlist", status_code=201, responses=ERRORS)
def waitlist(body: WaitlistIn, session: Db, context: Context, viewer: Buyer) -> Any:
    """Queue for a sold-out type and zone; an offer is mailed when a place frees up."""
    permit_type = session.get(PermitType, body.type_id)
    if permit_type is None:
        return form_error(FormError({"type_id": "no such permit type"}))
    if body.home_zone_id is not None and session.get(Zone, body.home_zone_id) is None:
        return form_error(FormError({"home_zone_id": "no such zone"}))
    try:
        entry = join_waitlist(session, _account(session, viewer), permit_type, body.home_zone_id, context.now())
    except FormError as problem:
        session.rollback()
        return form_error(problem)
    session.commit()
    return WaitlistOut.of(entry)
