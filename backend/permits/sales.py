"""Selling permits to holders: who may buy what, caps per home zone and the waitlist, renewals and their
reminders, and the holder's vehicles (add, edit, remove, swap on a permit).

Every function takes the moment (`now`) explicitly, flushes, audits what a person changes, and leaves the
commit to its caller. Bad input raises FormError naming the field. Permits change only through the ORM, so
the revision hook records each change and the very next verdict sees it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.accounts.mailer import Mail, Mailer
from backend.accounts.models import Account
from backend.accounts.service import FormError
from backend.audit.log import audit
from backend.billing.models import Order, OrderKind, OrderStatus, Payment, PaymentStatus
from backend.enforcement.wire import InvalidReadError, plate_from_text
from backend.permits.models import Permit, PermitStatus, PermitType, Vehicle, WaitlistEntry, WaitlistStatus, Zone

LIVE_STATUSES = (PermitStatus.ACTIVE, PermitStatus.SUSPENDED)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I/1, O/0: read aloud over the phone


class SoldOutError(Exception):
    """The type's cap for this home zone is reached: the holder may join the waitlist."""

    def __init__(self, permit_type: PermitType, zone_id: str | None) -> None:
        super().__init__(f"{permit_type.name} is sold out in this zone")
        self.permit_type = permit_type
        self.zone_id = zone_id


def new_permit_code() -> str:
    return "PP-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def is_live(permit: Permit, now: datetime) -> bool:
    """Counts for caps and blocks removing its vehicles: active or suspended, and not yet ended."""
    return permit.status in LIVE_STATUSES and permit.valid_until > now


# ---- eligibility and caps ----------------------------------------------------------------------------------


def why_not_eligible(account: Account, permit_type: PermitType) -> str | None:
    """None when `account` may buy `permit_type`; else the reason, in words for the holder."""
    if not permit_type.on_sale:
        return "not on sale"
    if account.role.value not in (permit_type.eligible_roles or []):
        return "not sold to your kind of account"
    if permit_type.residents_only:
        zone_ids = {zone.id for zone in permit_type.zones}
        if account.address_zone_id is None:
            return "for residents only: add your address zone to your account"
        if zone_ids and account.address_zone_id not in zone_ids:
            return "for residents of its zones only"
    return None


def home_zone_choices(account: Account, permit_type: PermitType, all_zones: list[Zone]) -> list[Zone]:
    """The zones a holder may pick as the permit's home zone (the one whose cap it counts against)."""
    if permit_type.residents_only:
        return [zone for zone in all_zones if zone.id == account.address_zone_id]
    return list(permit_type.zones) or all_zones


def live_in_zone(session: Session, type_id: str, zone_id: str | None, now: datetime) -> int:
    query = (
        select(func.count())
        .select_from(Permit)
        .where(Permit.type_id == type_id, Permit.status.in_(LIVE_STATUSES), Permit.valid_until > now)
    )
    query = query.where(Permit.home_zone_id.is_(None) if zone_id is None else Permit.home_zone_id == zone_id)
    return session.scalar(query) or 0


def _open_offers(session: Session, type_id: str, zone_id: str | None, now: datetime) -> list[WaitlistEntry]:
    query = select(WaitlistEntry).where(
        WaitlistEntry.type_id == type_id,
        WaitlistEntry.status == WaitlistStatus.OFFERED,
        WaitlistEntry.offer_expires_at > now,
    )
    query = query.where(WaitlistEntry.zone_id.is_(None) if zone_id is None else WaitlistEntry.zone_id == zone_id)
    return list(session.scalars(query))


def being_paid(*columns: Any) -> Select[Any]:
    """`columns` of the open orders whose payment is in flight or being confirmed (a row per such payment)."""
    return (
        select(*columns)
        .select_from(Order)
        .join(Payment, Payment.order_id == Order.id)
        .where(Order.status == OrderStatus.PENDING, Payment.status == PaymentStatus.PENDING)
    )


def being_paid_in_zone(
    session: Session, type_id: str, zone_id: str | None, offer_holders: frozenset[str] = frozenset()
) -> int:
    """New permits of the type and zone whose payment is in flight or being confirmed: each holds its place until
    the provider answers, so the last place is never charged for twice. The orders of `offer_holders` are left out:
    their waitlist offer holds their place already."""
    query = being_paid(func.count(func.distinct(Order.id))).where(Order.type_id == type_id, Order.kind == OrderKind.NEW)
    query = query.where(Order.home_zone_id.is_(None) if zone_id is None else Order.home_zone_id == zone_id)
    if offer_holders:
        query = query.where(Order.account_id.not_in(offer_holders))
    return session.scalar(query) or 0


def seats_left(session: Session, permit_type: PermitType, zone_id: str | None, now: datetime) -> int | None:
    """Free places for anyone without an offer (None: no cap). Open waitlist offers and permits being paid for
    hold their place."""
    if permit_type.cap_per_zone is None:
        return None
    offers = _open_offers(session, permit_type.id, zone_id, now)
    offer_holders = frozenset(entry.account_id for entry in offers)
    taken = (
        live_in_zone(session, permit_type.id, zone_id, now)
        + len(offers)
        + being_paid_in_zone(session, permit_type.id, zone_id, offer_holders)
    )
    return max(0, permit_type.cap_per_zone - taken)


def open_offer(
    session: Session, account_id: str, type_id: str, zone_id: str | None, now: datetime
) -> WaitlistEntry | None:
    for entry in _open_offers(session, type_id, zone_id, now):
        if entry.account_id == account_id:
            return entry
    return None


def check_can_buy(
    session: Session, account: Account, permit_type: PermitType, zone_id: str | None, now: datetime
) -> None:
    """Raises FormError when the holder may not buy this type for this zone, SoldOutError when it is full."""
    if reason := why_not_eligible(account, permit_type):
        raise FormError({"type_id": f"you cannot buy {permit_type.name}: {reason}"})
    if zone_id is not None and session.get(Zone, zone_id) is None:
        raise FormError({"home_zone_id": "choose a zone from the list"})
    if permit_type.residents_only and zone_id != account.address_zone_id:
        raise FormError({"home_zone_id": "a resident permit's home zone is the zone of your address"})
    if permit_type.zones and zone_id not in {zone.id for zone in permit_type.zones}:
        raise FormError({"home_zone_id": "choose one of this permit's zones"})
    if permit_type.cap_per_zone is None or open_offer(session, account.id, permit_type.id, zone_id, now):
        return
    left = seats_left(session, permit_type, zone_id, now)
    if left is not None and left <= 0:
        raise SoldOutError(permit_type, zone_id)


# ---- the waitlist ------------------------------------------------------------------------------------------


def join_waitlist(
    session: Session, account: Account, permit_type: PermitType, zone_id: str | None, now: datetime
) -> WaitlistEntry:
    """A place in the queue (the existing one if the holder is already waiting or holds an offer)."""
    if reason := why_not_eligible(account, permit_type):
        raise FormError({"type_id": f"you cannot buy {permit_type.name}: {reason}"})
    existing = session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.account_id == account.id,
            WaitlistEntry.type_id == permit_type.id,
            WaitlistEntry.zone_id.is_(None) if zone_id is None else WaitlistEntry.zone_id == zone_id,
            WaitlistEntry.status.in_((WaitlistStatus.WAITING, WaitlistStatus.OFFERED)),
        )
    )
    if existing is not None:
        return existing
    entry = WaitlistEntry(type_id=permit_type.id, zone_id=zone_id, account_id=account.id, joined_at=now)
    session.add(entry)
    session.flush()
    audit(session, account.id, "waitlist.join", "waitlist", str(entry.id), type_id=permit_type.id, zone_id=zone_id)
    return entry


def cancel_waitlist(session: Session, account: Account, entry: WaitlistEntry) -> None:
    if entry.account_id != account.id:
        raise PermissionError("not your waitlist entry")
    if entry.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
        entry.status = WaitlistStatus.CANCELLED
        audit(session, account.id, "waitlist.cancel", "waitlist", str(entry.id))


def accept_offer(session: Session, account_id: str, type_id: str, zone_id: str | None, now: datetime) -> None:
    """After a purchase: the buyer's open offer (if any) is used."""
    if entry := open_offer(session, account_id, type_id, zone_id, now):
        entry.status = WaitlistStatus.ACCEPTED


@dataclass(frozen=True)
class WaitlistRun:
    expired: int
    offered: int


def advance_waitlists(
    session: Session, now: datetime, offer_hours: float, mailer: Mailer, base_url: str = ""
) -> WaitlistRun:
    """For the schedule: lapse old offers, then offer each free place to the next in line (and mail them)."""
    lapsed = list(
        session.scalars(
            select(WaitlistEntry).where(
                WaitlistEntry.status == WaitlistStatus.OFFERED, WaitlistEntry.offer_expires_at <= now
            )
        )
    )
    for entry in lapsed:
        entry.status = WaitlistStatus.EXPIRED
        audit(session, None, "waitlist.offer_expired", "waitlist", str(entry.id))
    session.flush()
    queues = session.execute(
        select(WaitlistEntry.type_id, WaitlistEntry.zone_id)
        .where(WaitlistEntry.status == WaitlistStatus.WAITING)
        .distinct()
    ).all()
    offered = 0
    for type_id, zone_id in queues:
        permit_type = session.get(PermitType, type_id)
        if permit_type is None:
            continue
        left = seats_left(session, permit_type, zone_id, now)
        waiting = session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.type_id == type_id,
                WaitlistEntry.zone_id.is_(None) if zone_id is None else WaitlistEntry.zone_id == zone_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
            .limit(left if left is not None else None)
        ).all()
        for entry in waiting:
            entry.status = WaitlistStatus.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = now + timedelta(hours=offer_hours)
            offered += 1
            audit(
                session,
                None,
                "waitlist.offer",
                "waitlist",
                str(entry.id),
                expires_at=entry.offer_expires_at.isoformat(),
            )
            account = session.get_one(Account, entry.account_id)
            mailer.send(
                Mail(
                    to=account.email,
                    subject=f"A {permit_type.name} permit is free for you",
                    body=(
                        f"Hello {account.full_name},\n\nA place for a {permit_type.name} permit is held for you for "
                        f"{offer_hours:g} hours. Buy it here before the offer lapses:\n\n"
                        f"{base_url.rstrip('/')}/portal/buy\n"
                    ),
                )
            )
        session.flush()
    return WaitlistRun(expired=len(lapsed), offered=offered)


# ---- renewals ----------------------------------------------------------------------------------------------


def renewal_opens_at(permit: Permit) -> datetime:
    days = permit.type.renew_days_before if permit.type else 30
    return permit.valid_until - timedelta(days=days)


def why_not_renewable(permit: Permit, now: datetime) -> str | None:
    """None when the holder may renew now; else why (in words)."""
    if permit.type is None:
        return "this permit has no type to renew"
    if permit.status is not PermitStatus.ACTIVE:
        return f"the permit is {permit.status.value}"
    if permit.valid_until <= now:
        return "the permit has ended: buy a new one"
    if not permit.type.on_sale:
        return "its type is no longer sold"
    if now < renewal_opens_at(permit):
        return f"renewal opens {permit.type.renew_days_before} days before the permit ends"
    return None


def send_renewal_reminders(
    session: Session,
    now: datetime,
    mailer: Mailer,
    base_url: str = "",
    timezone: str = "UTC",
    limit: int | None = None,
) -> int:
    """For the schedule: mail each holder whose permit's renewal window has opened, once per permit.

    At most `limit` mails per call (the schedule commits batch by batch); returns how many were sent."""
    # Type by type, so the database picks out only the permits inside each type's window (indexed on validity).
    candidates: list[Permit] = []
    for permit_type in session.scalars(select(PermitType).where(PermitType.on_sale.is_(True))):
        candidates.extend(
            session.scalars(
                select(Permit)
                .join(Account, Account.id == Permit.holder_id)
                .where(
                    Permit.type_id == permit_type.id,
                    Account.disabled_at.is_(None),
                    Permit.status == PermitStatus.ACTIVE,
                    Permit.reminder_sent_at.is_(None),
                    Permit.valid_until > now,
                    Permit.valid_until <= now + timedelta(days=permit_type.renew_days_before),
                )
                .order_by(Permit.valid_until)
                .limit(limit)
            )
        )
    sent = 0
    for permit in candidates:
        if limit is not None and sent >= limit:
            break
        if why_not_renewable(permit, now) is not None or permit.holder_id is None:
            continue
        holder = session.get(Account, permit.holder_id)
        if holder is None or not holder.active:
            continue
        assert permit.type is not None
        mailer.send(
            Mail(
                to=holder.email,
                subject=f"Renew your permit {permit.code}",
                body=(
                    f"Hello {holder.full_name},\n\nYour {permit.type.name} permit {permit.code} ends on "
                    f"{permit.valid_until.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} ({timezone}). "
                    "You can renew it now:\n\n"
                    f"{base_url.rstrip('/')}/portal/permits/{permit.id}\n"
                ),
            )
        )
        permit.reminder_sent_at = now
        sent += 1
    session.flush()
    return sent


# ---- vehicles ----------------------------------------------------------------------------------------------

MAX_TEXT = {"jurisdiction": 16, "make": 64, "colour": 32}


def _vehicle_fields(jurisdiction: str, make: str, colour: str) -> dict[str, str]:
    values = {"jurisdiction": jurisdiction.strip().upper(), "make": make.strip(), "colour": colour.strip()}
    errors = {
        name: f"up to {MAX_TEXT[name]} characters" for name, value in values.items() if len(value) > MAX_TEXT[name]
    }
    if errors:
        raise FormError(errors)
    return values


def _plate(raw: str) -> str:
    try:
        return plate_from_text(raw, "plate")
    except InvalidReadError:
        raise FormError({"plate": "enter the plate: letters and digits, up to 12"}) from None


def live_permits_of(vehicle: Vehicle, now: datetime) -> list[Permit]:
    return [permit for permit in vehicle.permits if is_live(permit, now)]


def add_vehicle(
    session: Session, account: Account, plate: str, jurisdiction: str, make: str, colour: str, now: datetime
) -> Vehicle:
    """Register a vehicle to the holder. A plate registered to nobody and on no live permit is taken over."""
    normalised = _plate(plate)
    values = _vehicle_fields(jurisdiction, make, colour)
    existing = session.scalar(select(Vehicle).where(Vehicle.plate == normalised))
    if existing is not None:
        if existing.owner_id == account.id:
            raise FormError({"plate": "this vehicle is already on your list"})
        if existing.owner_id is not None or live_permits_of(existing, now):
            raise FormError({"plate": "this plate is registered to another account: ask the permit office"})
        vehicle = existing
        vehicle.owner_id = account.id
        for name, value in values.items():
            setattr(vehicle, name, value)
    else:
        vehicle = Vehicle(plate=normalised, owner_id=account.id, created_at=now, **values)
        session.add(vehicle)
    session.flush()
    audit(session, account.id, "vehicle.add", "vehicle", vehicle.id, plate=normalised)
    return vehicle


def edit_vehicle(
    session: Session,
    account: Account,
    vehicle: Vehicle,
    plate: str,
    jurisdiction: str,
    make: str,
    colour: str,
    now: datetime,
) -> Vehicle:
    """Change a vehicle's details; its plate only while it is on no live permit (swap it off first)."""
    if vehicle.owner_id != account.id:
        raise PermissionError("not your vehicle")
    normalised = _plate(plate)
    values = _vehicle_fields(jurisdiction, make, colour)
    if normalised != vehicle.plate:
        if live_permits_of(vehicle, now):
            raise FormError({"plate": "this vehicle is on a live permit: add the new plate and swap it instead"})
        if session.scalar(select(Vehicle.id).where(Vehicle.plate == normalised, Vehicle.id != vehicle.id)):
            raise FormError({"plate": "this plate is registered to another vehicle"})
        vehicle.plate = normalised
    for name, value in values.items():
        setattr(vehicle, name, value)
    session.flush()
    audit(session, account.id, "vehicle.edit", "vehicle", vehicle.id, plate=vehicle.plate)
    return vehicle


def remove_vehicle(session: Session, account: Account, vehicle: Vehicle, now: datetime) -> None:
    """Take a vehicle off the holder's list. Past permits keep it in their history (it is only let go)."""
    if vehicle.owner_id != account.id:
        raise PermissionError("not your vehicle")
    if live := live_permits_of(vehicle, now):
        codes = ", ".join(permit.code for permit in live)
        raise FormError({"vehicle": f"{vehicle.plate} is on permit {codes}: swap another vehicle in first"})
    if _on_an_order_being_paid(session, account.id, vehicle.id):  # its permit is issued once the payment answers
        raise FormError({"vehicle": f"{vehicle.plate} is on an order whose payment is being confirmed: wait for it"})
    if vehicle.permits:
        vehicle.owner_id = None
    else:
        session.delete(vehicle)
    session.flush()
    audit(session, account.id, "vehicle.remove", "vehicle", vehicle.id, plate=vehicle.plate)


def _on_an_order_being_paid(session: Session, account_id: str, vehicle_id: str) -> bool:
    orders = session.scalars(being_paid(Order.vehicle_ids).where(Order.account_id == account_id))
    return any(vehicle_id in (vehicle_ids or []) for vehicle_ids in orders)


def owned_vehicles(
    session: Session, account: Account, vehicle_ids: list[str], field: str = "vehicle_ids"
) -> list[Vehicle]:
    """The holder's vehicles by id, in the order given; anything else is a FormError on `field`."""
    if not vehicle_ids:
        raise FormError({field: "choose at least one vehicle"})
    if len(set(vehicle_ids)) != len(vehicle_ids):
        raise FormError({field: "each vehicle once"})
    found = {v.id: v for v in session.scalars(select(Vehicle).where(Vehicle.id.in_(vehicle_ids)))}
    if any(found.get(vehicle_id) is None or found[vehicle_id].owner_id != account.id for vehicle_id in vehicle_ids):
        raise FormError({field: "choose among your own vehicles"})
    return [found[vehicle_id] for vehicle_id in vehicle_ids]


def check_vehicle_count(permit_type: PermitType, vehicles: list[Vehicle], field: str = "vehicle_ids") -> None:
    if len(vehicles) > permit_type.max_vehicles:
        limit = permit_type.max_vehicles
        raise FormError({field: f"this permit covers at most {limit} vehicle{'s' if limit != 1 else ''}"})


def set_permit_vehicles(
    session: Session, account: Account, permit: Permit, vehicle_ids: list[str], now: datetime
) -> Permit:
    """Swap the vehicles on a holder's live permit (1 to the type's maximum). The next verdict sees it."""
    if permit.holder_id != account.id:
        raise PermissionError("not your permit")
    if permit.status is not PermitStatus.ACTIVE or permit.valid_until <= now:
        raise FormError({"vehicle_ids": f"the permit is {permit.status.value if permit.valid_until > now else 'over'}"})
    vehicles = owned_vehicles(session, account, vehicle_ids)
    if permit.type is not None:
        check_vehicle_count(permit.type, vehicles)
    before = sorted(v.plate for v in permit.vehicles)
    after = sorted(v.plate for v in vehicles)
    if before != after:
        permit.vehicles = vehicles
        session.flush()
        audit(session, account.id, "permit.vehicles", "permit", permit.id, before=before, after=after)
    return permit


# ---- the holder's address ---------------------------------------------------------------------------------


def update_address(session: Session, account: Account, full_name: str, address: str, zone_id: str | None) -> Account:
    """The holder's name, address and address zone (what resident permit types are sold by).

    Permits already bought keep their home zone; the new zone counts for the next purchase."""
    errors: dict[str, str] = {}
    full_name = full_name.strip()
    if not full_name or len(full_name) > 128:
        errors["full_name"] = "enter your name (up to 128 characters)"
    if len(address) > 1000:
        errors["address"] = "the address is too long (up to 1000 characters)"
    if zone_id is not None and session.get(Zone, zone_id) is None:
        errors["address_zone_id"] = "choose a zone from the list"
    if errors:
        raise FormError(errors)
    before = account.address_zone_id
    account.full_name, account.address, account.address_zone_id = full_name, address.strip(), zone_id
    session.flush()
    audit(session, account.id, "account.address", "account", account.id, zone_before=before, zone_after=zone_id)
    return account
