"""The admin console's pages: dashboard, zones, permit types, permits, accounts, devices, hotlist, audit log.

Views are thin: each checks its permission (a dependency declared before the form, so the role is checked
first), calls a service in backend/, commits, and redirects; bad input re-renders the form with a message
beside each field and nothing written. The JSON API is in admin_views_api.py; permits in admin_views_permits.py.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.admin import change_role, search_accounts, set_disabled
from backend.accounts.models import Account, Role
from backend.accounts.permissions import Permission
from backend.accounts.service import FormError
from backend.audit.search import search_audit
from backend.devices.admin import issue_device, revoke_device
from backend.devices.models import Device
from backend.permits.admin import (
    PermitTypeForm,
    add_hotlist,
    create_permit_type,
    create_zone,
    permit_type_form_values,
    remove_hotlist,
    update_permit_type,
    update_zone,
)
from backend.permits.models import HotlistEntry, Permit, PermitType, Proration, Validity, Zone
from backend.web import admin_views_api, admin_views_permits
from backend.web.admin_views_common import AUDIT_ACTIONS, found_or_404
from backend.web.pages import redirect, render
from backend.web.security import Context, Db, Form, Viewer, require

pages = APIRouter(tags=["pages: admin"], include_in_schema=False)
router = APIRouter()  # the pages, the permit pages and the API, included once by the app

Dashboard = Annotated[Viewer, Depends(require(Permission.ADMIN_AUDIT_VIEW))]
Zones = Annotated[Viewer, Depends(require(Permission.ADMIN_ZONES_MANAGE))]
Types = Annotated[Viewer, Depends(require(Permission.ADMIN_PERMIT_TYPES_MANAGE))]
Accounts = Annotated[Viewer, Depends(require(Permission.ADMIN_ACCOUNTS_MANAGE))]
Devices = Annotated[Viewer, Depends(require(Permission.ADMIN_DEVICES_MANAGE))]
Hotlist = Annotated[Viewer, Depends(require(Permission.ADMIN_HOTLIST_MANAGE))]
Audit = Annotated[Viewer, Depends(require(Permission.ADMIN_AUDIT_VIEW))]


# ---- dashboard --------------------------------------------------------------------------------------------


@pages.get("/admin", response_class=HTMLResponse)
def dashboard(request: Request, session: Db, _viewer: Dashboard) -> Response:
    def count(statement: object) -> int:
        return int(session.scalar(statement) or 0)  # type: ignore[call-overload]

    counts = {
        "zones": count(select(func.count()).select_from(Zone)),
        "permit types": count(select(func.count()).select_from(PermitType)),
        # All permits, not "valid now": counting those scans the table (200 ms at 100,000 permits on SQLite).
        "permits": count(select(func.count()).select_from(Permit)),
        "accounts": count(select(func.count()).select_from(Account)),
        "live devices": count(select(func.count()).select_from(Device).where(Device.revoked_at.is_(None))),
        "hotlisted plates": count(select(func.count()).select_from(HotlistEntry)),
    }
    recent = search_audit(session).rows[:10]
    return render(request, "admin/dashboard.html", counts=counts, recent=recent)


# ---- zones ------------------------------------------------------------------------------------------------


def zones_feature_collection(zones: list[Zone], highlight: str = "") -> str:
    """The zones as one GeoJSON FeatureCollection for the map (code and name in each feature's properties)."""
    features = []
    for zone in zones:
        if not zone.geojson:
            continue
        geometry = json.loads(zone.geojson)
        if geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"id": zone.id, "code": zone.code, "name": zone.name, "current": zone.id == highlight},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features})


def _all_zones(session: Session) -> list[Zone]:
    return list(session.scalars(select(Zone).order_by(Zone.code)))


@pages.get("/admin/zones", response_class=HTMLResponse)
def zones_page(request: Request, session: Db, _viewer: Zones) -> Response:
    zones = _all_zones(session)
    return render(request, "admin/zones.html", zones=zones, zones_json=zones_feature_collection(zones))


def _zone_form(request: Request, session: Session, zone: Zone | None, status: int = 200, **values: object) -> Response:
    others = [other for other in _all_zones(session) if zone is None or other.id != zone.id]
    return render(
        request, "admin/zone_form.html", status, zone=zone, zones_json=zones_feature_collection(others), **values
    )


@pages.get("/admin/zones/new", response_class=HTMLResponse)
def zone_new_page(request: Request, session: Db, _viewer: Zones) -> Response:
    return _zone_form(request, session, None)


@pages.post("/admin/zones/new", response_class=HTMLResponse)
def zone_create(request: Request, session: Db, context: Context, viewer: Zones, form: Form) -> Response:
    try:
        zone = create_zone(session, form, viewer.account.id, context.now())
    except FormError as problem:
        session.rollback()
        return _zone_form(request, session, None, 422, form=form, errors=problem.errors)
    session.commit()
    return redirect("/admin/zones", flash=f"Zone {zone.code} is created; verdicts use it from now on.")


@pages.get("/admin/zones/{zone_id}", response_class=HTMLResponse)
def zone_edit_page(request: Request, zone_id: str, session: Db, _viewer: Zones) -> Response:
    zone = found_or_404(session, Zone, zone_id)
    values = {
        "code": zone.code,
        "name": zone.name,
        "geojson": zone.geojson,
        "time_limit_minutes": str(zone.time_limit_minutes or ""),
    }
    return _zone_form(request, session, zone, form=values)


@pages.post("/admin/zones/{zone_id}", response_class=HTMLResponse)
def zone_update(request: Request, zone_id: str, session: Db, context: Context, viewer: Zones, form: Form) -> Response:
    zone = found_or_404(session, Zone, zone_id)
    try:
        update_zone(session, zone, form, viewer.account.id, context.now())
    except FormError as problem:
        session.rollback()
        zone = found_or_404(session, Zone, zone_id)
        return _zone_form(request, session, zone, 422, form=form, errors=problem.errors)
    session.commit()
    return redirect("/admin/zones", flash=f"Zone {zone.code} is saved; verdicts use it from now on.")


# ---- permit types -----------------------------------------------------------------------------------------


def type_form_from(form: dict[str, str]) -> PermitTypeForm:
    """Ticked boxes arrive as zone_<id> and role_<role> fields (one value per name)."""
    zone_ids = [key.removeprefix("zone_") for key in form if key.startswith("zone_")]
    roles = [key.removeprefix("role_") for key in form if key.startswith("role_")]
    return PermitTypeForm(form, zone_ids, roles)


def _type_form(
    request: Request,
    session: Session,
    permit_type: PermitType | None,
    status: int = 200,
    chosen_zones: list[str] | None = None,
    chosen_roles: list[str] | None = None,
    **values: object,
) -> Response:
    return render(
        request,
        "admin/type_form.html",
        status,
        permit_type=permit_type,
        zones=_all_zones(session),
        roles=[role.value for role in Role],
        validities=[(v.value, label) for v, label in VALIDITY_LABELS.items()],
        prorations=[(p.value, label) for p, label in PRORATION_LABELS.items()],
        chosen_zones=chosen_zones or [],
        chosen_roles=chosen_roles or [],
        **values,
    )


VALIDITY_LABELS = {
    Validity.MONTHS: "calendar months (from the 1st)",
    Validity.ROLLING: "rolling days (from purchase)",
    Validity.FIXED: "fixed dates (a season)",
}
PRORATION_LABELS = {
    Proration.NONE: "none: full price",
    Proration.DAILY: "daily: days left / days in period",
    Proration.MONTHLY: "monthly: months begun and left",
}


@pages.get("/admin/types", response_class=HTMLResponse)
def types_page(request: Request, session: Db, _viewer: Types) -> Response:
    types = list(session.scalars(select(PermitType).order_by(PermitType.code)))
    return render(request, "admin/types.html", types=types)


@pages.get("/admin/types/new", response_class=HTMLResponse)
def type_new_page(request: Request, session: Db, context: Context, _viewer: Types) -> Response:
    defaults = {"validity": "months", "months": "12", "max_vehicles": "1", "renew_days_before": "30", "on_sale": "on"}
    defaults |= {"currency": context.config.currency, "timezone": context.config.timezone, "proration": "none"}
    return _type_form(request, session, None, form=defaults, chosen_roles=["holder"])


@pages.post("/admin/types/new", response_class=HTMLResponse)
def type_create(request: Request, session: Db, viewer: Types, form: Form) -> Response:
    typed = type_form_from(form)
    try:
        created = create_permit_type(session, typed, viewer.account.id)
    except FormError as problem:
        session.rollback()
        return _type_form(
            request,
            session,
            None,
            422,
            chosen_zones=typed.zone_ids,
            chosen_roles=typed.eligible_roles,
            form=form,
            errors=problem.errors,
        )
    session.commit()
    return redirect("/admin/types", flash=f"Permit type {created.code} is created.")


@pages.get("/admin/types/{type_id}", response_class=HTMLResponse)
def type_edit_page(request: Request, type_id: str, session: Db, _viewer: Types) -> Response:
    permit_type = found_or_404(session, PermitType, type_id)
    return _type_form(
        request,
        session,
        permit_type,
        form=permit_type_form_values(permit_type),
        chosen_zones=[zone.id for zone in permit_type.zones],
        chosen_roles=list(permit_type.eligible_roles),
    )


@pages.post("/admin/types/{type_id}", response_class=HTMLResponse)
def type_update(request: Request, type_id: str, session: Db, viewer: Types, form: Form) -> Response:
    permit_type = found_or_404(session, PermitType, type_id)
    typed = type_form_from(form)
    try:
        update_permit_type(session, permit_type, typed, viewer.account.id)
    except FormError as problem:
        session.rollback()
        return _type_form(
            request,
            session,
            found_or_404(session, PermitType, type_id),
            422,
            chosen_zones=typed.zone_ids,
            chosen_roles=typed.eligible_roles,
            form=form,
            errors=problem.errors,
        )
    session.commit()
    return redirect("/admin/types", flash=f"Permit type {permit_type.code} is saved.")


# ---- accounts ---------------------------------------------------------------------------------------------


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


@pages.get("/admin/accounts", response_class=HTMLResponse)
def accounts_page(
    request: Request, session: Db, _viewer: Accounts, q: str = "", role: str = "", page: str = "1"
) -> Response:
    found = search_accounts(session, q, role, _page_number(page))
    return render(
        request,
        "admin/accounts.html",
        found=found,
        q=q,
        role=role,
        roles=[r.value for r in Role],
    )


@pages.post("/admin/accounts/{account_id}/role", response_class=HTMLResponse)
def account_role(request: Request, account_id: str, session: Db, viewer: Accounts, form: Form) -> Response:
    account = found_or_404(session, Account, account_id)
    try:
        change_role(session, account, form.get("role", ""), viewer.account.id)
    except FormError as problem:
        session.rollback()
        return redirect("/admin/accounts", flash=f"Not changed: {next(iter(problem.errors.values()))}")
    session.commit()
    return redirect("/admin/accounts", flash=f"{account.email} is now {account.role.value}.")


@pages.post("/admin/accounts/{account_id}/disable", response_class=HTMLResponse)
def account_disable(
    request: Request, account_id: str, session: Db, context: Context, viewer: Accounts, form: Form
) -> Response:
    account = found_or_404(session, Account, account_id)
    disable = form.get("disabled", "1") == "1"
    try:
        set_disabled(session, account, disable, viewer.account.id, context.now())
    except FormError as problem:
        session.rollback()
        return redirect("/admin/accounts", flash=f"Not changed: {next(iter(problem.errors.values()))}")
    session.commit()
    word = "disabled and signed out" if disable else "enabled"
    return redirect("/admin/accounts", flash=f"{account.email} is {word}.")


# ---- devices ----------------------------------------------------------------------------------------------


def _devices_page(request: Request, session: Session, status: int = 200, **values: object) -> Response:
    devices = list(session.scalars(select(Device).order_by(Device.revoked_at.is_not(None), Device.name)))
    return render(request, "admin/devices.html", status, devices=devices, **values)


@pages.get("/admin/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: Db, _viewer: Devices) -> Response:
    return _devices_page(request, session)


@pages.post("/admin/devices", response_class=HTMLResponse)
def device_issue(request: Request, session: Db, context: Context, viewer: Devices, form: Form) -> Response:
    try:
        device, token = issue_device(session, form.get("name", ""), viewer.account.id, context.now())
    except FormError as problem:
        session.rollback()
        return _devices_page(request, session, 422, form=form, errors=problem.errors)
    session.commit()
    # Shown on this answer only: it is not stored, so a reload or a redirect would lose it.
    return _devices_page(request, session, new_device=device.name, new_token=token)


@pages.post("/admin/devices/{device_id}/revoke", response_class=HTMLResponse)
def device_revoke(
    request: Request, device_id: str, session: Db, context: Context, viewer: Devices, _form: Form
) -> Response:
    device = found_or_404(session, Device, device_id)
    try:
        revoke_device(session, device, viewer.account.id, context.now())
    except FormError as problem:
        session.rollback()
        return redirect("/admin/devices", flash=next(iter(problem.errors.values())))
    session.commit()
    return redirect("/admin/devices", flash=f"{device.name} is revoked: its token is refused from now on.")


# ---- hotlist ----------------------------------------------------------------------------------------------


def _hotlist_page(request: Request, session: Session, status: int = 200, **values: object) -> Response:
    entries = list(session.scalars(select(HotlistEntry).order_by(HotlistEntry.plate, HotlistEntry.id)))
    return render(request, "admin/hotlist.html", status, entries=entries, **values)


@pages.get("/admin/hotlist", response_class=HTMLResponse)
def hotlist_page(request: Request, session: Db, _viewer: Hotlist) -> Response:
    return _hotlist_page(request, session)


@pages.post("/admin/hotlist", response_class=HTMLResponse)
def hotlist_add(request: Request, session: Db, context: Context, viewer: Hotlist, form: Form) -> Response:
    try:
        entry = add_hotlist(session, form, viewer.account.id, context.now(), context.config.timezone)
    except FormError as problem:
        session.rollback()
        return _hotlist_page(request, session, 422, form=form, errors=problem.errors)
    session.commit()
    return redirect("/admin/hotlist", flash=f"{entry.plate} is on the hotlist: officers are alerted from now on.")


@pages.post("/admin/hotlist/{entry_id}/remove", response_class=HTMLResponse)
def hotlist_remove(request: Request, entry_id: int, session: Db, viewer: Hotlist, _form: Form) -> Response:
    entry = found_or_404(session, HotlistEntry, entry_id)
    plate = entry.plate
    remove_hotlist(session, entry, viewer.account.id)
    session.commit()
    return redirect("/admin/hotlist", flash=f"{plate} is off the hotlist.")


# ---- audit log --------------------------------------------------------------------------------------------


@pages.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: Db,
    _viewer: Audit,
    actor: str = "",
    action: str = "",
    target: str = "",
    before: str = "",
) -> Response:
    found = search_audit(session, actor, action, target, int(before) if before.isdigit() else None)
    filters = {"actor": actor, "action": action, "target": target}
    errors = {"actor": "no account has this e-mail"} if found.unknown_actor else {}
    return render(
        request, "admin/audit.html", found=found, form=filters, errors=errors, actions=AUDIT_ACTIONS, filters=filters
    )


router.include_router(pages)
router.include_router(admin_views_permits.router)
router.include_router(admin_views_api.router)
