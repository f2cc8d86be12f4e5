"""The admin JSON API under /api/v1/admin: the same services as the console's pages, with pydantic models.

Every call needs a signed-in admin; unsafe ones also the X-CSRF-Token header (GET /api/v1/me gives it).
Bad input answers 422 with {"detail": {field: message}}, and nothing is written.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.accounts.admin import change_role, search_accounts, set_disabled
from backend.accounts.models import Account
from backend.accounts.permissions import Permission
from backend.accounts.service import FormError
from backend.audit.search import search_audit
from backend.billing.service import refund_payment
from backend.devices.admin import issue_device, revoke_device
from backend.devices.models import Device
from backend.permits.admin import (
    PermitTypeForm,
    SearchBy,
    add_hotlist,
    audit_search,
    change_permit_status,
    create_permit_type,
    create_zone,
    issue_permit,
    minor_to_price,
    remove_hotlist,
    search_permits,
    update_permit_type,
    update_zone,
)
from backend.permits.models import HotlistEntry, Permit, PermitType, Zone
from backend.web.admin_views_common import found_or_404
from backend.web.security import Context, Db, Viewer, require_api

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses={422: {"description": "bad input, per field"}})

ZonesAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_ZONES_MANAGE))]
TypesAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_PERMIT_TYPES_MANAGE))]
PermitsAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_PERMITS_MANAGE))]
RefundsAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_PAYMENTS_REFUND))]
AccountsAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_ACCOUNTS_MANAGE))]
DevicesAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_DEVICES_MANAGE))]
HotlistAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_HOTLIST_MANAGE))]
AuditAdmin = Annotated[Viewer, Depends(require_api(Permission.ADMIN_AUDIT_VIEW))]


def _rejected(session: Session, problem: FormError) -> JSONResponse:
    session.rollback()
    return JSONResponse({"detail": problem.errors}, status_code=422)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


# ---- zones ------------------------------------------------------------------------------------------------


class ZoneIn(BaseModel):
    code: str = Field(max_length=32, examples=["OLD-TOWN"])
    name: str = Field(max_length=128)
    geojson: str = Field(description="a GeoJSON Polygon or MultiPolygon (or a Feature of one), lon/lat")
    time_limit_minutes: int | None = Field(default=None, description="anyone may park this long; null: permits only")


class ZoneOut(ZoneIn):
    id: str
    updated_at: datetime


def _zone_out(zone: Zone) -> ZoneOut:
    return ZoneOut(
        id=zone.id,
        code=zone.code,
        name=zone.name,
        geojson=zone.geojson,
        time_limit_minutes=zone.time_limit_minutes,
        updated_at=zone.updated_at,
    )


def _zone_fields(body: ZoneIn) -> dict[str, str]:
    return {name: _text(value) for name, value in body.model_dump().items()}


@router.get("/zones")
def list_zones(session: Db, _viewer: ZonesAdmin) -> list[ZoneOut]:
    return [_zone_out(zone) for zone in session.scalars(select(Zone).order_by(Zone.code))]


@router.post("/zones", status_code=201, response_model=ZoneOut)
def api_create_zone(body: ZoneIn, session: Db, context: Context, viewer: ZonesAdmin) -> ZoneOut | JSONResponse:
    try:
        zone = create_zone(session, _zone_fields(body), viewer.account.id, context.now())
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _zone_out(zone)


@router.put("/zones/{zone_id}", response_model=ZoneOut)
def api_update_zone(
    zone_id: str, body: ZoneIn, session: Db, context: Context, viewer: ZonesAdmin
) -> ZoneOut | JSONResponse:
    zone = found_or_404(session, Zone, zone_id)
    try:
        update_zone(session, zone, _zone_fields(body), viewer.account.id, context.now())
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _zone_out(zone)


# ---- permit types -----------------------------------------------------------------------------------------


class HoursWindow(BaseModel):
    days: list[int] = Field(description="0 = Monday ... 6 = Sunday")
    start: str = Field(examples=["08:00"])
    end: str = Field(examples=["18:00"])


class PermitTypeIn(BaseModel):
    code: str = Field(max_length=32)
    name: str = Field(max_length=128)
    description: str = ""
    zone_ids: list[str] = Field(default_factory=list, description="none: every zone")
    hours: list[HoursWindow] = Field(default_factory=list, description="none: at all hours")
    timezone: str = "UTC"
    price: str = Field(default="0", description="decimal, e.g. 12.50", examples=["25.00"])
    currency: str = "USD"
    validity: Literal["fixed", "months", "rolling"] = "months"
    months: int | None = 12
    days: int | None = None
    fixed_start: date | None = None
    fixed_end: date | None = None
    proration: Literal["none", "daily", "monthly"] = "none"
    eligible_roles: list[str] = Field(default_factory=lambda: ["holder"])
    residents_only: bool = False
    cap_per_zone: int | None = None
    max_vehicles: int = 1
    renew_days_before: int = 30
    on_sale: bool = True


class PermitTypeOut(PermitTypeIn):
    id: str
    price_minor: int


def _type_out(permit_type: PermitType) -> PermitTypeOut:
    return PermitTypeOut(
        id=permit_type.id,
        code=permit_type.code,
        name=permit_type.name,
        description=permit_type.description,
        zone_ids=sorted(zone.id for zone in permit_type.zones),
        hours=[HoursWindow(**window) for window in permit_type.hours],
        timezone=permit_type.timezone,
        price=minor_to_price(permit_type.price_minor),
        price_minor=permit_type.price_minor,
        currency=permit_type.currency,
        validity=permit_type.validity.value,
        months=permit_type.months,
        days=permit_type.days,
        fixed_start=permit_type.fixed_start,
        fixed_end=permit_type.fixed_end,
        proration=permit_type.proration.value,
        eligible_roles=list(permit_type.eligible_roles),
        residents_only=permit_type.residents_only,
        cap_per_zone=permit_type.cap_per_zone,
        max_vehicles=permit_type.max_vehicles,
        renew_days_before=permit_type.renew_days_before,
        on_sale=permit_type.on_sale,
    )


def _type_form(body: PermitTypeIn) -> PermitTypeForm:
    values = body.model_dump(exclude={"zone_ids", "eligible_roles", "hours"})
    fields = {name: _text(value) for name, value in values.items()}
    fields["hours"] = json.dumps([window.model_dump() for window in body.hours]) if body.hours else ""
    return PermitTypeForm(fields, list(body.zone_ids), list(body.eligible_roles))


@router.get("/permit-types")
def list_permit_types(session: Db, _viewer: TypesAdmin) -> list[PermitTypeOut]:
    types = session.scalars(select(PermitType).options(selectinload(PermitType.zones)).order_by(PermitType.code))
    return [_type_out(permit_type) for permit_type in types]


@router.post("/permit-types", status_code=201, response_model=PermitTypeOut)
def api_create_permit_type(body: PermitTypeIn, session: Db, viewer: TypesAdmin) -> PermitTypeOut | JSONResponse:
    try:
        permit_type = create_permit_type(session, _type_form(body), viewer.account.id)
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _type_out(permit_type)


@router.put("/permit-types/{type_id}", response_model=PermitTypeOut)
def api_update_permit_type(
    type_id: str, body: PermitTypeIn, session: Db, viewer: TypesAdmin
) -> PermitTypeOut | JSONResponse:
    permit_type = found_or_404(session, PermitType, type_id)
    try:
        update_permit_type(session, permit_type, _type_form(body), viewer.account.id)
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _type_out(permit_type)


# ---- permits ----------------------------------------------------------------------------------------------


class PermitOut(BaseModel):
    id: str
    code: str
    status: str
    revision: int
    plates: list[str]
    type_code: str | None
    holder_id: str | None
    holder_name: str
    valid_from: datetime
    valid_until: datetime = Field(description="exclusive")


class PermitList(BaseModel):
    permits: list[PermitOut]
    page: int
    has_next: bool


class PermitIssue(BaseModel):
    plates: list[str] = Field(min_length=1)
    type_id: str | None = None
    holder_email: str = ""
    holder_name: str = ""
    valid_from: date = Field(description="first day, the city's local date")
    valid_until: date = Field(description="last day, inclusive, the city's local date")


class StatusChange(BaseModel):
    action: Literal["suspend", "reinstate", "revoke"]
    reason: str = Field(max_length=500)


def _permit_out(permit: Permit) -> PermitOut:
    return PermitOut(
        id=permit.id,
        code=permit.code,
        status=permit.status.value,
        revision=permit.revision,
        plates=sorted(vehicle.plate for vehicle in permit.vehicles),
        type_code=permit.type.code if permit.type else None,
        holder_id=permit.holder_id,
        holder_name=permit.holder_name,
        valid_from=permit.valid_from,
        valid_until=permit.valid_until,
    )


@router.get("/permits")
def list_permits(
    session: Db, viewer: PermitsAdmin, q: str = "", by: Literal["plate", "code", "holder"] = "plate", page: int = 1
) -> PermitList:
    """Permits whose plate, code or holder (name or e-mail) starts with `q`, 50 a page (searches are audited)."""
    found = search_permits(session, q[:128], by if by in SearchBy.ALL else SearchBy.PLATE, max(1, min(page, 99_999)))
    audit_search(session, viewer.account.id, q, by)
    return PermitList(permits=[_permit_out(p) for p in found.permits], page=found.page, has_next=found.has_next)


@router.get("/permits/{permit_id}")
def get_permit(permit_id: str, session: Db, _viewer: PermitsAdmin) -> PermitOut:
    return _permit_out(found_or_404(session, Permit, permit_id))


@router.post("/permits", status_code=201, response_model=PermitOut)
def api_issue_permit(
    body: PermitIssue, session: Db, context: Context, viewer: PermitsAdmin
) -> PermitOut | JSONResponse:
    fields = {
        "plates": ",".join(body.plates),
        "type_id": body.type_id or "",
        "holder_email": body.holder_email,
        "holder_name": body.holder_name,
        "valid_from": body.valid_from.isoformat(),
        "valid_until": body.valid_until.isoformat(),
    }
    try:
        permit = issue_permit(session, fields, viewer.account.id, context.now(), context.config.timezone)
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _permit_out(permit)


@router.post("/permits/{permit_id}/status", response_model=PermitOut)
def api_permit_status(
    permit_id: str, body: StatusChange, session: Db, viewer: PermitsAdmin
) -> PermitOut | JSONResponse:
    """Suspend, reinstate or revoke: the next verdict for its plates sees the change."""
    permit = found_or_404(session, Permit, permit_id)
    try:
        change_permit_status(session, permit, body.action, body.reason, viewer.account.id)
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _permit_out(permit)


class RefundIn(BaseModel):
    amount_minor: int = Field(gt=0, description="minor units (cents)")
    reason: str = Field(max_length=500)
    idempotency_key: str = Field(min_length=8, max_length=64, description="the same key again refunds once")


class RefundOut(BaseModel):
    id: str
    payment_id: str
    amount_minor: int
    succeeded: bool
    in_flight: bool = Field(description="the provider has not answered yet; the schedule asks it again")


@router.post("/payments/{payment_id}/refunds", status_code=201, response_model=RefundOut)
def api_refund(
    payment_id: str, body: RefundIn, session: Db, context: Context, viewer: RefundsAdmin
) -> RefundOut | JSONResponse:
    try:
        refund = refund_payment(
            session, payment_id, body.amount_minor, body.reason, body.idempotency_key, viewer.account.id, context.now()
        )
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return RefundOut(
        id=refund.id,
        payment_id=refund.payment_id,
        amount_minor=refund.amount_minor,
        succeeded=refund.succeeded,
        in_flight=refund.in_flight,
    )


# ---- accounts ---------------------------------------------------------------------------------------------


class AccountOut(BaseModel):
    id: str
    email: str
    full_name: str
    role: str
    disabled: bool


class AccountList(BaseModel):
    accounts: list[AccountOut]
    page: int
    has_next: bool


class AccountChange(BaseModel):
    role: Literal["holder", "officer", "supervisor", "admin"] | None = None
    disabled: bool | None = None


def _account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        email=account.email,
        full_name=account.full_name,
        role=account.role.value,
        disabled=not account.active,
    )


@router.get("/accounts")
def list_accounts(session: Db, _viewer: AccountsAdmin, q: str = "", role: str = "", page: int = 1) -> AccountList:
    found = search_accounts(session, q[:128], role, max(1, min(page, 99_999)))
    return AccountList(accounts=[_account_out(a) for a in found.accounts], page=found.page, has_next=found.has_next)


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def api_change_account(
    account_id: str, body: AccountChange, session: Db, context: Context, viewer: AccountsAdmin
) -> AccountOut | JSONResponse:
    account = found_or_404(session, Account, account_id)
    try:
        if body.role is not None:
            change_role(session, account, body.role, viewer.account.id)
        if body.disabled is not None:
            set_disabled(session, account, body.disabled, viewer.account.id, context.now())
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _account_out(account)


# ---- devices ----------------------------------------------------------------------------------------------


class DeviceOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceIn(BaseModel):
    name: str = Field(max_length=64)


class NewDevice(BaseModel):
    device: DeviceOut
    token: str = Field(description="shown this once; only its hash is kept")


def _device_out(device: Device) -> DeviceOut:
    return DeviceOut(id=device.id, name=device.name, created_at=device.created_at, revoked_at=device.revoked_at)


@router.get("/devices")
def list_devices(session: Db, _viewer: DevicesAdmin) -> list[DeviceOut]:
    return [_device_out(device) for device in session.scalars(select(Device).order_by(Device.name))]


@router.post("/devices", status_code=201, response_model=NewDevice)
def api_issue_device(body: DeviceIn, session: Db, context: Context, viewer: DevicesAdmin) -> NewDevice | JSONResponse:
    try:
        device, token = issue_device(session, body.name, viewer.account.id, context.now())
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return NewDevice(device=_device_out(device), token=token)


@router.post("/devices/{device_id}/revoke", response_model=DeviceOut)
def api_revoke_device(device_id: str, session: Db, context: Context, viewer: DevicesAdmin) -> DeviceOut | JSONResponse:
    device = found_or_404(session, Device, device_id)
    try:
        revoke_device(session, device, viewer.account.id, context.now())
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _device_out(device)


# ---- hotlist ----------------------------------------------------------------------------------------------


class HotlistIn(BaseModel):
    plate: str = Field(max_length=32)
    reason: str = Field(max_length=256)
    expires_on: date | None = Field(default=None, description="last day on the list, the city's local date")


class HotlistOut(BaseModel):
    id: int
    plate: str
    reason: str
    added_at: datetime
    expires_at: datetime | None


def _hotlist_out(entry: HotlistEntry) -> HotlistOut:
    return HotlistOut(
        id=entry.id, plate=entry.plate, reason=entry.reason, added_at=entry.added_at, expires_at=entry.expires_at
    )


@router.get("/hotlist")
def list_hotlist(session: Db, _viewer: HotlistAdmin) -> list[HotlistOut]:
    return [_hotlist_out(e) for e in session.scalars(select(HotlistEntry).order_by(HotlistEntry.plate))]


@router.post("/hotlist", status_code=201, response_model=HotlistOut)
def api_add_hotlist(body: HotlistIn, session: Db, context: Context, viewer: HotlistAdmin) -> HotlistOut | JSONResponse:
    fields = {"plate": body.plate, "reason": body.reason, "expires_on": _text(body.expires_on)}
    try:
        entry = add_hotlist(session, fields, viewer.account.id, context.now(), context.config.timezone)
    except FormError as problem:
        return _rejected(session, problem)
    session.commit()
    return _hotlist_out(entry)


@router.delete("/hotlist/{entry_id}", status_code=204)
def api_remove_hotlist(entry_id: int, session: Db, viewer: HotlistAdmin) -> None:
    remove_hotlist(session, found_or_404(session, HotlistEntry, entry_id), viewer.account.id)
    session.commit()


# ---- audit log --------------------------------------------------------------------------------------------


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: str | None
    actor_email: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, object]


class AuditList(BaseModel):
    entries: list[AuditOut]
    next_before: int | None = Field(description="pass as `before` for the next (older) page")


@router.get("/audit")
def list_audit(
    session: Db,
    _viewer: AuditAdmin,
    actor: str = "",
    action: str = "",
    target: str = "",
    before: int | None = None,
) -> AuditList:
    """Newest first; `actor` an e-mail, `action` exact or a prefix ending in '.', `target` an id."""
    found = search_audit(session, actor, action, target, before)
    entries = [
        AuditOut(
            id=row.entry.id,
            at=row.entry.at,
            actor_id=row.entry.actor_id,
            actor_email=row.actor_email,
            action=row.entry.action,
            target_type=row.entry.target_type,
            target_id=row.entry.target_id,
            detail=row.entry.detail,
        )
        for row in found.rows
    ]
    return AuditList(entries=entries, next_before=found.next_before)
