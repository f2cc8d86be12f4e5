"""The permit office's admin work: zones, permit types, permits and the hotlist.

Each change checks all its input first and raises `FormError` (a message per field) before writing anything,
then writes the change and its audit entry in the caller's transaction; the caller commits. Times are explicit
(`now`), dates typed by a person are the city's local dates.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from backend.accounts.models import Account, Role
from backend.accounts.service import FormError, normalise_email
from backend.audit.log import audit, audit_access
from backend.permits.geometry import zone_geojson_problems
from backend.permits.models import (
    HotlistEntry,
    Permit,
    PermitStatus,
    PermitType,
    Proration,
    Validity,
    Vehicle,
    Zone,
)
from platepatrol.plates import normalise_plate

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_PLATE = 12
PAGE_SIZE = 50


# ---- reading typed fields ---------------------------------------------------------------------------------


def _text(fields: Mapping[str, str], name: str) -> str:
    return (fields.get(name) or "").strip()


def _int(
    fields: Mapping[str, str], name: str, errors: dict[str, str], low: int, high: int, required: bool = False
) -> int | None:
    raw = _text(fields, name)
    if not raw:
        if required:
            errors[name] = f"enter a whole number from {low} to {high}"
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"enter a whole number from {low} to {high}"
        return None
    if not low <= value <= high:
        errors[name] = f"enter a whole number from {low} to {high}"
        return None
    return value


def _date(fields: Mapping[str, str], name: str, errors: dict[str, str], required: bool = False) -> date | None:
    raw = _text(fields, name)
    if not raw:
        if required:
            errors[name] = "enter a date (YYYY-MM-DD)"
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "enter a date as YYYY-MM-DD"
        return None


def _flag(fields: Mapping[str, str], name: str) -> bool:
    return _text(fields, name).lower() in ("on", "true", "1", "yes")


def price_to_minor(raw: str) -> int:
    """'12.50' or '12' -> 1250; raises ValueError for anything else (negative, three decimals, words)."""
    try:
        amount = Decimal(raw.strip())
        if not amount.is_finite() or amount < 0 or amount > 10**12 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    return int(amount * 100)


def minor_to_price(amount_minor: int) -> str:
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def local_day_start(day: date, timezone: str) -> datetime:
    """The moment a local date begins in the city, as aware UTC."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


# ---- zones ------------------------------------------------------------------------------------------------


def _zone_fields(session: Session, fields: Mapping[str, str], zone: Zone | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    code = _text(fields, "code").upper()
    if not CODE.match(code):
        errors["code"] = "1-32 capital letters, digits, '-' or '_', e.g. OLD-TOWN"
    else:
        taken = session.scalar(select(Zone.id).where(Zone.code == code))
        if taken is not None and (zone is None or taken != zone.id):
            errors["code"] = f"zone {code} already exists"
    name = _text(fields, "name")
    if not name or len(name) > 128:
        errors["name"] = "enter a name (up to 128 characters)"
    geojson = _text(fields, "geojson")
    if problems := zone_geojson_problems(geojson):
        errors["geojson"] = "; ".join(problems)
    limit = _int(fields, "time_limit_minutes", errors, 1, 24 * 60)
    if errors:
        raise FormError(errors)
    return {"code": code, "name": name, "geojson": geojson, "time_limit_minutes": limit}


def create_zone(session: Session, fields: Mapping[str, str], actor_id: str, now: datetime) -> Zone:
    values = _zone_fields(session, fields, None)
    zone = Zone(**values, updated_at=now)
    session.add(zone)
    session.flush()
    audit(session, actor_id, "zone.create", "zone", zone.id, code=zone.code, time_limit=zone.time_limit_minutes)
    return zone


def update_zone(session: Session, zone: Zone, fields: Mapping[str, str], actor_id: str, now: datetime) -> Zone:
    values = _zone_fields(session, fields, zone)
    changed = sorted(name for name, value in values.items() if getattr(zone, name) != value)
    for name, value in values.items():
        setattr(zone, name, value)
    zone.updated_at = now  # the zone map reloads when this moves
    session.flush()
    audit(session, actor_id, "zone.update", "zone", zone.id, code=zone.code, changed=changed)
    return zone


# ---- permit types -----------------------------------------------------------------------------------------


HOURS_EXAMPLE = 'a list like [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}] (0 = Monday)'


def _hours(raw: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    """Permitted hours from JSON; a problem is put in errors["hours"] and nothing is returned."""
    if not raw:
        return []
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        errors["hours"] = f"not JSON: {error.msg} at column {error.colno}"
        return []
    if not isinstance(document, list):
        errors["hours"] = f"must be {HOURS_EXAMPLE}"
        return []
    hours = []
    for i, window in enumerate(document, start=1):
        problem = _window_problem(window)
        if problem:
            errors["hours"] = f"window {i}: {problem}"
            return []
        hours.append({"days": sorted(set(window["days"])), "start": window["start"], "end": window["end"]})
    return hours


def _window_problem(window: Any) -> str:
    if not isinstance(window, dict) or set(window) != {"days", "start", "end"}:
        return f"must have exactly days, start and end: {HOURS_EXAMPLE}"
    days, start, end = window["days"], window["start"], window["end"]
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6 for day in days)
    ):
        return "days must be a non-empty list of 0 (Monday) to 6 (Sunday)"
    if not (isinstance(start, str) and HHMM.match(start) and isinstance(end, str) and HHMM.match(end)):
        return "start and end must be HH:MM times, e.g. 08:00 and 18:00"
    if start == end:
        return "start and end are the same time"
    return ""


@dataclass(frozen=True)
class PermitTypeForm:
    """A permit type's fields as typed: text fields, plus the ticked zones and roles."""

    fields: Mapping[str, str]
    zone_ids: list[str] = field(default_factory=list)
    eligible_roles: list[str] = field(default_factory=list)


def _type_identity(
    session: Session, form: PermitTypeForm, current: PermitType | None, errors: dict[str, str]
) -> dict[str, Any]:
    fields = form.fields
    code = _text(fields, "code").upper()
    if not CODE.match(code):
        errors["code"] = "1-32 capital letters, digits, '-' or '_', e.g. RES-A"
    else:
        taken = session.scalar(select(PermitType.id).where(PermitType.code == code))
        if taken is not None and (current is None or taken != current.id):
            errors["code"] = f"permit type {code} already exists"
    name = _text(fields, "name")
    if not name or len(name) > 128:
        errors["name"] = "enter a name (up to 128 characters)"
    description = _text(fields, "description")
    if len(description) > 4000:
        errors["description"] = "up to 4000 characters"
    zones = list(session.scalars(select(Zone).where(Zone.id.in_(form.zone_ids)))) if form.zone_ids else []
    if len(zones) != len(set(form.zone_ids)):
        errors["zones"] = "one of the chosen zones no longer exists; reload the page"
    timezone = _text(fields, "timezone") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "an IANA time zone such as Europe/Bucharest or America/New_York"
    return {
        "code": code,
        "name": name,
        "description": description,
        "zones": zones,
        "hours": _hours(_text(fields, "hours"), errors),
        "timezone": timezone,
    }


def _type_price(fields: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    price_minor = 0
    try:
        price_minor = price_to_minor(_text(fields, "price") or "0")
        if price_minor > 100_000_000:
            errors["price"] = "at most 1,000,000.00"
    except ValueError:
        errors["price"] = "an amount like 25 or 12.50 (not negative, at most two decimals)"
    currency = _text(fields, "currency").upper() or "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = "a three-letter currency code, e.g. USD"
    return {"price_minor": price_minor, "currency": currency}


def _type_validity(fields: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    validity_raw = _text(fields, "validity")
    validity = Validity(validity_raw) if validity_raw in set(Validity) else None
    values: dict[str, Any] = {
        "validity": validity,
        "months": None,
        "days": None,
        "fixed_start": None,
        "fixed_end": None,
    }
    if validity is None:
        errors["validity"] = "choose fixed dates, calendar months or rolling days"
    elif validity is Validity.MONTHS:
        values["months"] = _int(fields, "months", errors, 1, 36, required=True)
    elif validity is Validity.ROLLING:
        values["days"] = _int(fields, "days", errors, 1, 3660, required=True)
    else:
        first = values["fixed_start"] = _date(fields, "fixed_start", errors, required=True)
        last = values["fixed_end"] = _date(fields, "fixed_end", errors, required=True)
        if first and last and last < first:
            errors["fixed_end"] = "the last day is before the first"
    proration_raw = _text(fields, "proration") or Proration.NONE.value
    proration = values["proration"] = Proration(proration_raw) if proration_raw in set(Proration) else None
    if proration is None:
        errors["proration"] = "choose none, daily or monthly"
    elif proration is not Proration.NONE and validity is Validity.ROLLING:
        errors["proration"] = "a rolling permit starts when bought, so there is nothing to prorate: choose none"
    elif proration is Proration.MONTHLY and validity is Validity.FIXED:
        errors["proration"] = "monthly proration needs calendar-month validity; use daily for fixed dates"
    return values


def _type_eligibility(form: PermitTypeForm, has_zones: bool, errors: dict[str, str]) -> dict[str, Any]:
    fields = form.fields
    roles = sorted(set(form.eligible_roles))
    if not roles or any(role not in set(Role) for role in roles):
        errors["eligible_roles"] = "tick at least one role that may buy it"
    residents_only = _flag(fields, "residents_only")
    if residents_only and not has_zones:
        errors["residents_only"] = "a residents-only type needs at least one zone (residents of which zone?)"
    return {
        "eligible_roles": roles,
        "residents_only": residents_only,
        "cap_per_zone": _int(fields, "cap_per_zone", errors, 1, 1_000_000),
        "max_vehicles": _int(fields, "max_vehicles", errors, 1, 10, required=True),
        "renew_days_before": _int(fields, "renew_days_before", errors, 0, 365, required=True),
        "on_sale": _flag(fields, "on_sale"),
    }


def _permit_type_fields(session: Session, form: PermitTypeForm, current: PermitType | None) -> dict[str, Any]:
    """Every field checked (all problems reported together), or FormError."""
    errors: dict[str, str] = {}
    values = _type_identity(session, form, current, errors)
    values |= _type_price(form.fields, errors)
    values |= _type_validity(form.fields, errors)
    values |= _type_eligibility(form, bool(values["zones"]), errors)
    if errors:
        raise FormError(errors)
    return values


def create_permit_type(session: Session, form: PermitTypeForm, actor_id: str) -> PermitType:
    values = _permit_type_fields(session, form, None)
    permit_type = PermitType(**values)
    session.add(permit_type)
    session.flush()
    audit(session, actor_id, "permit_type.create", "permit_type", permit_type.id, code=permit_type.code)
    return permit_type


def update_permit_type(session: Session, permit_type: PermitType, form: PermitTypeForm, actor_id: str) -> PermitType:
    values = _permit_type_fields(session, form, permit_type)
    changed = []
    for name, value in values.items():
        old = [zone.id for zone in permit_type.zones] if name == "zones" else getattr(permit_type, name)
        new = [zone.id for zone in value] if name == "zones" else value
        if (sorted(old) if name == "zones" else old) != (sorted(new) if name == "zones" else new):
            changed.append(name)
        setattr(permit_type, name, value)
    session.flush()
    audit(
        session, actor_id, "permit_type.update", "permit_type", permit_type.id, code=permit_type.code, changed=changed
    )
    return permit_type


def permit_type_form_values(permit_type: PermitType) -> dict[str, str]:
    """A type's fields as the edit form shows them."""
    return {
        "code": permit_type.code,
        "name": permit_type.name,
        "description": permit_type.description,
        "hours": json.dumps(permit_type.hours) if permit_type.hours else "",
        "timezone": permit_type.timezone,
        "price": minor_to_price(permit_type.price_minor),
        "currency": permit_type.currency,
        "validity": permit_type.validity.value,
        "months": str(permit_type.months or ""),
        "days": str(permit_type.days or ""),
        "fixed_start": permit_type.fixed_start.isoformat() if permit_type.fixed_start else "",
        "fixed_end": permit_type.fixed_end.isoformat() if permit_type.fixed_end else "",
        "proration": permit_type.proration.value,
        "residents_only": "on" if permit_type.residents_only else "",
        "cap_per_zone": str(permit_type.cap_per_zone or ""),
        "max_vehicles": str(permit_type.max_vehicles),
        "renew_days_before": str(permit_type.renew_days_before),
        "on_sale": "on" if permit_type.on_sale else "",
    }


# ---- permits ----------------------------------------------------------------------------------------------


class SearchBy:
    PLATE = "plate"
    CODE = "code"
    HOLDER = "holder"
    ALL = (PLATE, CODE, HOLDER)


def prefix_range(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as a range an ordinary B-tree index answers (LIKE may not use one)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)


@dataclass(frozen=True)
class PermitPage:
    permits: list[Permit]
    page: int
    has_next: bool


def audit_search(session: Session, actor_id: str, query: str, by: str) -> None:
    """A person looking plates or holders up is personal-data access: the search is written to the audit log."""
    if query.strip():
        audit_access(session, actor_id, "permit.search", "query", query.strip()[:64], by=by)


def search_permits(session: Session, query: str, by: str = SearchBy.PLATE, page: int = 1) -> PermitPage:
    """A page of permits whose plate, code or holder (name or e-mail) starts with `query`; every filter and
    order is answered from an index, so it stays fast with hundreds of thousands of permits."""
    page = max(1, page)
    statement = permit_search(query, by).options(selectinload(Permit.vehicles), selectinload(Permit.type))
    rows = list(session.scalars(statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).unique())
    return PermitPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def permit_search(query: str, by: str = SearchBy.PLATE) -> Select[Permit]:
    """The search as one statement, filtered and ordered by indexed columns (tests check its query plan)."""
    statement = select(Permit)
    text = query.strip()
    if by == SearchBy.PLATE and normalise_plate(text):
        plate = normalise_plate(text)[:MAX_PLATE]
        return (
            statement.join(Permit.vehicles)
            .where(prefix_range(Vehicle.plate, plate))
            .order_by(Vehicle.plate, Permit.code)
        )
    if by == SearchBy.CODE and text:
        return statement.where(prefix_range(Permit.code, text.upper())).order_by(Permit.code)
    if by == SearchBy.HOLDER and "@" in text:
        return (
            statement.join(Account, Account.id == Permit.holder_id)
            .where(prefix_range(Account.email, normalise_email(text)))
            .order_by(Account.email, Permit.code)
        )
    if by == SearchBy.HOLDER and text:
        spellings = {text, text.title()}
        return statement.where(or_(*(prefix_range(Permit.holder_name, s) for s in spellings))).order_by(
            Permit.holder_name, Permit.code
        )
    return statement.order_by(Permit.code)


def _plates(raw: str, errors: dict[str, str]) -> list[str]:
    plates: list[str] = []
    for part in re.split(r"[,;\n]+", raw.strip()):
        if not part:
            continue
        plate = normalise_plate(part)
        if not plate or len(plate) > MAX_PLATE:
            errors["plates"] = f"{part!r} is not a plate (letters and digits, up to {MAX_PLATE})"
            return []
        if plate not in plates:
            plates.append(plate)
    if not plates and "plates" not in errors:
        errors["plates"] = "enter at least one plate"
    return plates


def issue_permit(session: Session, fields: Mapping[str, str], actor_id: str, now: datetime, timezone: str) -> Permit:
    """A permit issued by the office (no payment): plates, an optional type and holder, and local dates."""
    errors: dict[str, str] = {}
    plates = _plates(_text(fields, "plates"), errors)
    type_id = _text(fields, "type_id")
    permit_type = session.get(PermitType, type_id) if type_id else None
    if type_id and permit_type is None:
        errors["type_id"] = "choose a permit type from the list"
    if permit_type is not None and len(plates) > permit_type.max_vehicles:
        errors["plates"] = f"a {permit_type.name} permit covers at most {permit_type.max_vehicles} vehicle(s)"
    holder: Account | None = None
    email = normalise_email(_text(fields, "holder_email"))
    if email:
        holder = session.scalar(select(Account).where(Account.email == email))
        if holder is None:
            errors["holder_email"] = "no account has this e-mail; leave it empty for a permit without an account"
    holder_name = _text(fields, "holder_name") or (holder.full_name if holder else "")
    if len(holder_name) > 128:
        errors["holder_name"] = "up to 128 characters"
    first = _date(fields, "valid_from", errors, required=True)
    last = _date(fields, "valid_until", errors, required=True)
    if first and last and last < first:
        errors["valid_until"] = "the last day is before the first"
    if errors:
        raise FormError(errors)
    assert first is not None and last is not None
    vehicles = []
    for plate in plates:
        vehicle = session.scalar(select(Vehicle).where(Vehicle.plate == plate))
        if vehicle is None:
            vehicle = Vehicle(plate=plate, owner_id=holder.id if holder else None, created_at=now)
            session.add(vehicle)
        vehicles.append(vehicle)
    permit = Permit(
        code=_new_code(session),
        holder_name=holder_name,
        holder_id=holder.id if holder else None,
        type=permit_type,
        valid_from=local_day_start(first, timezone),
        valid_until=local_day_start(last + timedelta(days=1), timezone),
        status=PermitStatus.ACTIVE,
        vehicles=vehicles,
        updated_at=now,
    )
    session.add(permit)
    session.flush()
    audit(session, actor_id, "permit.issue", "permit", permit.id, code=permit.code, plates=plates)
    return permit


def _new_code(session: Session) -> str:
    while True:
        code = f"ADM-{secrets.token_hex(4).upper()}"
        if session.scalar(select(Permit.id).where(Permit.code == code)) is None:
            return code


# Which status each action moves a permit to, and from which statuses it may.
_MOVES: dict[str, tuple[PermitStatus, frozenset[PermitStatus]]] = {
    "suspend": (PermitStatus.SUSPENDED, frozenset({PermitStatus.ACTIVE})),
    "reinstate": (PermitStatus.ACTIVE, frozenset({PermitStatus.SUSPENDED})),
    "revoke": (PermitStatus.REVOKED, frozenset({PermitStatus.ACTIVE, PermitStatus.SUSPENDED})),
}
PERMIT_ACTIONS = tuple(_MOVES)


def change_permit_status(session: Session, permit: Permit, action: str, reason: str, actor_id: str) -> Permit:
    """Suspend, reinstate or revoke; the next verdict for its plates sees it (verdicts read the live table).
    A revoked permit stays revoked."""
    if action not in _MOVES:
        raise FormError({"action": f"unknown action {action!r}"})
    target, allowed_from = _MOVES[action]
    reason = reason.strip()
    if permit.status not in allowed_from:
        raise FormError({"action": f"a {permit.status.value} permit cannot be {target.value}"})
    if not reason or len(reason) > 500:
        raise FormError({"reason": "say why (up to 500 characters); the holder and the audit log see it"})
    before = permit.status
    permit.status = target
    session.flush()  # the revision hook records the new version
    audit(
        session,
        actor_id,
        f"permit.{action}",
        "permit",
        permit.id,
        code=permit.code,
        reason=reason,
        status_before=before.value,
        revision=permit.revision,
    )
    return permit


# ---- hotlist ----------------------------------------------------------------------------------------------


def add_hotlist(
    session: Session, fields: Mapping[str, str], actor_id: str, now: datetime, timezone: str
) -> HotlistEntry:
    errors: dict[str, str] = {}
    raw_plate = _text(fields, "plate")
    plate = normalise_plate(raw_plate)
    if not plate or len(plate) > MAX_PLATE:
        errors["plate"] = f"enter a plate (letters and digits, up to {MAX_PLATE})"
    reason = _text(fields, "reason")
    if not reason or len(reason) > 256:
        errors["reason"] = "say why officers should be alerted (up to 256 characters)"
    expires_day = _date(fields, "expires_on", errors)
    expires_at = local_day_start(expires_day + timedelta(days=1), timezone) if expires_day else None
    if expires_at is not None and expires_at <= now:
        errors["expires_on"] = "this day is already over; leave it empty for no expiry"
    if errors:
        raise FormError(errors)
    entry = HotlistEntry(plate=plate, reason=reason, added_at=now, expires_at=expires_at)
    session.add(entry)
    session.flush()
    audit(session, actor_id, "hotlist.add", "hotlist", str(entry.id), plate=plate, reason=reason)
    return entry


def remove_hotlist(session: Session, entry: HotlistEntry, actor_id: str) -> None:
    audit(session, actor_id, "hotlist.remove", "hotlist", str(entry.id), plate=entry.plate, reason=entry.reason)
    session.delete(entry)
    session.flush()
