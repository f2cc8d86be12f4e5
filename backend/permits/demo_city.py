"""The demo city: neighbourhoods around the demo route, permit types for sale, a few hundred residents with
vehicles and permits, the office's staff, and two months of past review decisions, so every page has
something believable to show.

Deterministic (a seeded random generator) and idempotent: running it again refreshes the staff passwords and
adds nothing twice. The demo clip's own plates (`demo.py`) are left exactly as they are, and no generated plate
is equal to, or a look-alike of, a plate of the clip: the clip's verdicts do not change.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.models import Account, Role
from backend.accounts.passwords import hash_password
from backend.devices.models import Device
from backend.devices.tokens import add_device
from backend.permits.demo import DEMO_TYPE_CODE, DEMO_ZONE_CODE, DemoSeed
from backend.permits.models import (
    Permit,
    PermitStatus,
    PermitType,
    Proration,
    Validity,
    Vehicle,
    WaitlistEntry,
    WaitlistStatus,
    Zone,
)
from backend.review.models import Citation, Decision, ReviewDecision
from backend.storage.base import new_id
from platepatrol.verdicts import lookalike_variants

CITY_TIMEZONE = "Europe/Bucharest"
DEMO_DOMAIN = "demo.platepatrol.test"
CURRENCY = "USD"


@dataclass(frozen=True)
class ZoneSpec:
    code: str
    name: str
    ring: tuple[tuple[float, float], ...]  # (lat, lon), not closed
    time_limit_minutes: int | None = None
    streets: tuple[str, ...] = ()
    residents: int = 0  # demo holders living there

    def geojson(self) -> str:
        coordinates = [[lon, lat] for lat, lon in self.ring]
        return json.dumps({"type": "Polygon", "coordinates": [[*coordinates, coordinates[0]]]})


# The centre is the demo route's square (`demo.py`); its neighbours share its edges and never overlap it.
ZONES: tuple[ZoneSpec, ...] = (
    ZoneSpec(
        DEMO_ZONE_CODE,
        "Old Town",
        ((44.434, 26.092), (44.434, 26.105), (44.447, 26.105), (44.447, 26.092)),
        streets=("Strada Lipscani", "Strada Covaci", "Strada Smârdan", "Strada Șelari", "Calea Victoriei"),
        residents=70,
    ),
    ZoneSpec(
        "UNIV",
        "Universitate",
        ((44.447, 26.088), (44.447, 26.109), (44.455, 26.107), (44.458, 26.098), (44.455, 26.090)),
        time_limit_minutes=120,
        streets=("Bulevardul Carol I", "Strada Academiei", "Strada Edgar Quinet", "Strada Batiștei"),
        residents=50,
    ),
    ZoneSpec(
        "UNIRII",
        "Unirii",
        ((44.434, 26.088), (44.426, 26.089), (44.423, 26.099), (44.426, 26.108), (44.434, 26.109)),
        time_limit_minutes=60,
        streets=("Bulevardul Unirii", "Strada Bibescu Vodă", "Strada Sfinții Apostoli", "Splaiul Independenței"),
        residents=45,
    ),
    ZoneSpec(
        "COTRO",
        "Cotroceni",
        ((44.434, 26.092), (44.434, 26.079), (44.441, 26.075), (44.447, 26.080), (44.447, 26.092)),
        streets=("Strada Dr. Lister", "Bulevardul Eroilor", "Strada Dr. Louis Pasteur", "Strada Leonida"),
        residents=45,
    ),
    ZoneSpec(
        "MOSI",
        "Moșilor",
        ((44.434, 26.105), (44.447, 26.105), (44.447, 26.118), (44.441, 26.122), (44.434, 26.117)),
        streets=("Calea Moșilor", "Strada Vasile Lascăr", "Strada Popa Nan", "Strada Traian"),
        residents=45,
    ),
    ZoneSpec(
        "DOROB",
        "Dorobanți",
        ((44.460, 26.092), (44.460, 26.106), (44.466, 26.108), (44.469, 26.099), (44.466, 26.091)),
        time_limit_minutes=180,
        streets=("Calea Dorobanților", "Strada Nicolae Iorga", "Strada Polonă", "Strada Londra"),
        residents=25,
    ),
    ZoneSpec(
        "TINER",
        "Tineretului",
        ((44.410, 26.098), (44.410, 26.112), (44.416, 26.114), (44.420, 26.105), (44.417, 26.097)),
        streets=("Bulevardul Tineretului", "Strada Dimitrie Cantemir", "Strada Văcărești", "Calea Șerban Vodă"),
        residents=20,
    ),
)

FIRST_NAMES = (
    "Andrei", "Ana", "Mihai", "Maria", "Alexandru", "Elena", "Ioan", "Ioana", "Cristian", "Andreea", "Gabriel",
    "Cristina", "Radu", "Alina", "Vlad", "Irina", "Bogdan", "Raluca", "Dan", "Monica", "Florin", "Simona",
    "George", "Diana", "Adrian", "Roxana", "Ștefan", "Laura", "Sorin", "Camelia", "Paul", "Oana",
)  # fmt: skip
LAST_NAMES = (
    "Popescu", "Ionescu", "Popa", "Pop", "Niculescu", "Stan", "Dumitru", "Stoica", "Gheorghe", "Matei",
    "Rusu", "Munteanu", "Constantin", "Marin", "Tudor", "Moldovan", "Ciobanu", "Florea", "Barbu", "Nistor",
    "Dobre", "Lazăr", "Ene", "Mocanu", "Vasile", "Iordache", "Cristea", "Toma", "Preda", "Sandu",
)  # fmt: skip
MAKES = ("Dacia", "Renault", "Volkswagen", "Skoda", "Ford", "Toyota", "Opel", "Hyundai", "BMW", "Kia", "Peugeot")
COLOURS = ("white", "black", "grey", "silver", "blue", "red", "green", "brown")
# County prefixes far from the clip's Bucharest plates: with two digits and three letters, seven characters.
COUNTIES = ("CJ", "IS", "TM", "BV", "CT", "AG", "MM", "SV", "NT", "HR", "VL", "GL", "AR", "HD")
LETTERS = "ABCDEFGHJKLMNPRTUVWXY"  # no I, O, Q (not on plates), no Z or S (look-alikes of 2 and 5)


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    zone_codes: tuple[str, ...]  # empty: every zone
    price_minor: int
    validity: Validity
    description: str
    months: int | None = None
    days: int | None = None
    fixed_months: tuple[int, int] | None = None  # a season: first month, last month (next year when smaller)
    proration: Proration = Proration.NONE
    residents_only: bool = False
    cap_per_zone: int | None = None
    max_vehicles: int = 1
    hours: tuple[tuple[tuple[int, ...], str, str], ...] = ()
    eligible_roles: tuple[str, ...] = ("holder",)


def _resident_type(spec: ZoneSpec, price: int) -> TypeSpec:
    code = DEMO_TYPE_CODE if spec.code == DEMO_ZONE_CODE else f"RES-{spec.code}"
    return TypeSpec(
        code,
        f"Resident: {spec.name}",
        (spec.code,),
        price,
        Validity.MONTHS,
        f"For people who live in {spec.name}: park in the zone at any hour, up to two vehicles. A year from the 1st "
        "of the month; bought part-way, you pay for the months left.",
        months=12,
        proration=Proration.MONTHLY,
        residents_only=True,
        cap_per_zone=spec.residents + 30,
        max_vehicles=2,
    )


RESIDENT_PRICES = {"DEMO-CENTRE": 12000, "UNIV": 10000, "UNIRII": 9000, "COTRO": 8000, "MOSI": 7000}
WORKDAYS = (0, 1, 2, 3, 4, 5)
TYPES: tuple[TypeSpec, ...] = (
    *(_resident_type(spec, RESIDENT_PRICES.get(spec.code, 6000)) for spec in ZONES),
    TypeSpec(
        "VISITOR-7",
        "Visitor, 7 days",
        (),
        1500,
        Validity.ROLLING,
        "For a guest's car: every zone, any hour, for seven days from the moment it is bought.",
        days=7,
    ),
    TypeSpec(
        "BUSINESS",
        "Business: central zones",
        ("DEMO-CENTRE", "UNIV", "UNIRII"),
        4500,
        Validity.MONTHS,
        "For shops and offices in the centre: Monday to Saturday, 08:00-20:00, up to three vans or cars.",
        months=1,
        proration=Proration.DAILY,
        max_vehicles=3,
        hours=((WORKDAYS, "08:00", "20:00"),),
    ),
    TypeSpec(
        "STUDENT",
        "Student season: Universitate",
        ("UNIV",),
        6000,
        Validity.FIXED,
        "The academic year, September to June, for students living in Universitate. Few places: when they are "
        "gone, join the waiting list.",
        fixed_months=(9, 6),
        residents_only=True,
        cap_per_zone=12,
    ),
    TypeSpec(
        "CARER",
        "Home carer",
        (),
        0,
        Validity.ROLLING,
        "Free, for carers visiting patients at home: every zone, 07:00-21:00, 90 days. Issued by the office.",
        days=90,
        hours=(((0, 1, 2, 3, 4, 5, 6), "07:00", "21:00"),),
        eligible_roles=("admin",),
    ),
)


@dataclass(frozen=True)
class StaffAccount:
    role: Role
    email: str
    full_name: str
    password: str


@dataclass
class CityReport:
    zones: int = 0
    types: int = 0
    holders: int = 0
    vehicles: int = 0
    permits: int = 0
    decisions: int = 0
    citations: int = 0
    staff: list[StaffAccount] = field(default_factory=list)


STAFF = (
    (Role.ADMIN, "admin", "Ana Administrator"),
    (Role.SUPERVISOR, "supervisor", "Sorin Supervisor"),
    (Role.OFFICER, "officer", "Oana Officer"),
    (Role.HOLDER, "holder", "Horia Holder"),
)


def seed_city(session: Session, now: datetime, clip: DemoSeed, rng_seed: int = 2026) -> CityReport:
    """Fill the database with the demo city around `now` (call after `seed_demo`). Commits."""
    rng = random.Random(rng_seed)
    report = CityReport()
    zones = _zones(session)
    types = _types(session, zones, now)
    report.zones, report.types = len(zones), len(types)
    report.staff = _staff(session, zones, clip)
    taken = set(session.scalars(select(Vehicle.plate)))
    forbidden = _clip_lookalikes(clip)
    if not session.scalar(select(func.count()).select_from(Account).where(Account.email.like(f"%.%@{DEMO_DOMAIN}"))):
        counts = _residents(session, rng, now, zones, types, taken | forbidden)
        report.holders, report.vehicles, report.permits = counts
    if not session.scalar(select(func.count()).select_from(ReviewDecision)):
        report.decisions, report.citations = _review_history(session, rng, now, zones, taken | forbidden)
    session.commit()
    return report


def _zones(session: Session) -> dict[str, Zone]:
    found = {zone.code: zone for zone in session.scalars(select(Zone).where(Zone.code.in_([z.code for z in ZONES])))}
    for spec in ZONES:
        zone = found.get(spec.code)
        if zone is None:
            zone = found[spec.code] = Zone(code=spec.code, name=spec.name)
            session.add(zone)
        zone.name, zone.time_limit_minutes = spec.name, spec.time_limit_minutes
        if spec.code != DEMO_ZONE_CODE:  # the route's square is `demo.py`'s, as the clip's tests expect
            zone.geojson = spec.geojson()
    session.flush()
    return found


def _season(now: datetime, first: int, last: int) -> tuple[date, date]:
    """The season running now or next: from the 1st of `first` to the end of `last` (the next year if earlier)."""
    year = now.year if now.month >= first else now.year - 1
    end_year = year + 1 if last < first else year
    end = date(end_year, last % 12 + 1, 1) - timedelta(days=1) if last < 12 else date(end_year, 12, 31)
    if end < now.date():
        return _season(now + timedelta(days=366), first, last)
    return date(year, first, 1), end


def _types(session: Session, zones: dict[str, Zone], now: datetime) -> dict[str, PermitType]:
    codes = [spec.code for spec in TYPES]
    found = {kind.code: kind for kind in session.scalars(select(PermitType).where(PermitType.code.in_(codes)))}
    for spec in TYPES:
        kind = found.get(spec.code)
        if kind is None:
            kind = found[spec.code] = PermitType(code=spec.code, name=spec.name)
            session.add(kind)
        kind.name, kind.description, kind.timezone = spec.name, spec.description, CITY_TIMEZONE
        kind.price_minor, kind.currency, kind.validity = spec.price_minor, CURRENCY, spec.validity
        kind.months, kind.days, kind.proration = spec.months, spec.days, spec.proration
        if spec.fixed_months:
            kind.fixed_start, kind.fixed_end = _season(now, *spec.fixed_months)
        kind.eligible_roles = list(spec.eligible_roles)
        kind.residents_only, kind.cap_per_zone, kind.max_vehicles = (
            spec.residents_only,
            spec.cap_per_zone,
            spec.max_vehicles,
        )
        kind.hours = [{"days": list(days), "start": start, "end": end} for days, start, end in spec.hours]
        kind.zones = [zones[code] for code in spec.zone_codes]
        kind.on_sale = True
    session.flush()
    return found


def _staff(session: Session, zones: dict[str, Zone], clip: DemoSeed) -> list[StaffAccount]:
    """The four demo accounts, with new random passwords on every run (printed; stored nowhere but hashed)."""
    staff = []
    for role, name, full_name in STAFF:
        email = f"{name}@{DEMO_DOMAIN}"
        password = f"{name}-{secrets.token_hex(4)}"
        account = session.scalar(select(Account).where(Account.email == email))
        if account is None:
            account = Account(email=email, role=role, full_name=full_name)
            session.add(account)
        account.password_hash = hash_password(password)
        account.role, account.full_name, account.disabled_at = role, full_name, None
        if role is Role.HOLDER:
            account.address = "Strada Lipscani 12, ap. 4"
            account.address_zone_id = zones[DEMO_ZONE_CODE].id
        staff.append(StaffAccount(role, email, full_name, password))
    session.flush()
    holder = session.scalar(select(Account).where(Account.email == f"holder@{DEMO_DOMAIN}"))
    assert holder is not None
    # The demo holder owns the first permitted car of the clip: their portal shows a permit the clip meets.
    if clip.permitted:
        permit = session.scalar(select(Permit).where(Permit.code == f"DEMO-{clip.permitted[0]}"))
        if permit is not None and permit.holder_id != holder.id:
            permit.holder_id, permit.holder_name = holder.id, holder.full_name
            permit.home_zone_id = zones[DEMO_ZONE_CODE].id
            for vehicle in permit.vehicles:
                vehicle.owner_id, vehicle.make, vehicle.colour = holder.id, "Dacia", "white"
    return staff


def _clip_lookalikes(clip: DemoSeed) -> set[str]:
    plates = {*clip.permitted, *clip.expired, *clip.unpermitted}
    return plates | {variant for plate in plates for variant in lookalike_variants(plate, 3)}


def _plate(rng: random.Random, taken: set[str]) -> str:
    while True:
        plate = f"{rng.choice(COUNTIES)}{rng.randint(1, 99):02d}{''.join(rng.choices(LETTERS, k=3))}"
        if plate not in taken:
            taken.add(plate)
            return plate


def _month_start(day: date, months_back: int) -> datetime:
    month = day.month - 1 - months_back
    year, month = day.year + month // 12, month % 12 + 1
    return datetime.combine(date(year, month, 1), time(0), ZoneInfo(CITY_TIMEZONE)).astimezone(UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    local = moment.astimezone(ZoneInfo(CITY_TIMEZONE))
    month = local.month - 1 + months
    shifted = local.replace(year=local.year + month // 12, month=month % 12 + 1)
    return shifted.astimezone(UTC)


def _residents(
    session: Session,
    rng: random.Random,
    now: datetime,
    zones: dict[str, Zone],
    types: dict[str, PermitType],
    taken: set[str],
) -> tuple[int, int, int]:
    """A few hundred holders living in the zones, their cars, and the permits they bought over the year."""
    shared_hash = hash_password(secrets.token_urlsafe(24))  # nobody knows it: they may use "forgot password"
    today = now.astimezone(ZoneInfo(CITY_TIMEZONE)).date()
    holders = vehicles = permits = 0
    student_places = types["STUDENT"].cap_per_zone or 0
    serial = 0
    waitlisted: list[Account] = []
    for spec in ZONES:
        zone = zones[spec.code]
        resident_type = types[DEMO_TYPE_CODE if spec.code == DEMO_ZONE_CODE else f"RES-{spec.code}"]
        for _ in range(spec.residents):
            serial += 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            account = Account(
                id=new_id(),
                email=f"{_ascii(first)}.{_ascii(last)}.{serial}@{DEMO_DOMAIN}".lower(),
                password_hash=shared_hash,
                full_name=f"{first} {last}",
                role=Role.HOLDER,
                address=f"{rng.choice(spec.streets)} {rng.randint(1, 180)}"
                + (f", ap. {rng.randint(1, 60)}" if rng.random() < 0.6 else ""),
                address_zone_id=zone.id,
                created_at=now - timedelta(days=rng.randint(20, 700)),
            )
            session.add(account)
            holders += 1
            cars = [
                Vehicle(
                    plate=_plate(rng, taken),
                    jurisdiction="RO",
                    make=rng.choice(MAKES),
                    colour=rng.choice(COLOURS),
                    owner_id=account.id,
                )
                for _ in range(2 if rng.random() < 0.3 else 1)
            ]
            session.add_all(cars)
            vehicles += len(cars)
            roll = rng.random()
            if roll < 0.78:  # a resident permit, bought some month of the past year; a few lapsed or stopped
                start = _month_start(today, rng.randint(0, 11) if roll < 0.70 else rng.randint(12, 20))
                status = PermitStatus.ACTIVE
                if rng.random() < 0.03:
                    status = rng.choice((PermitStatus.SUSPENDED, PermitStatus.REVOKED))
                session.add(_permit(account, resident_type, zone, cars, start, _add_months(start, 12), status, serial))
                permits += 1
            elif roll < 0.86:  # a visitor's week, recently
                start = now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
                session.add(_permit(account, types["VISITOR-7"], zone, cars[:1], start, start + timedelta(days=7),
                                    PermitStatus.ACTIVE, serial))  # fmt: skip
                permits += 1
            elif roll < 0.93 and spec.code in ("DEMO-CENTRE", "UNIV", "UNIRII"):  # a shop's monthly permit
                start = _month_start(today, 0)
                session.add(_permit(account, types["BUSINESS"], zone, cars, start, _add_months(start, 1),
                                    PermitStatus.ACTIVE, serial))  # fmt: skip
                permits += 1
            if spec.code == "UNIV" and rng.random() < 0.5:  # students: the season sells out, then a waitlist
                if student_places > 0:
                    student_places -= 1
                    season = types["STUDENT"]
                    assert season.fixed_start and season.fixed_end
                    start = datetime.combine(season.fixed_start, time(0), ZoneInfo(CITY_TIMEZONE)).astimezone(UTC)
                    end = datetime.combine(season.fixed_end + timedelta(days=1), time(0), ZoneInfo(CITY_TIMEZONE))
                    session.add(_permit(account, season, zone, cars[:1], start, end.astimezone(UTC),
                                        PermitStatus.ACTIVE, serial))  # fmt: skip
                    permits += 1
                elif len(waitlisted) < 4:
                    waitlisted.append(account)
    session.flush()
    for place, account in enumerate(waitlisted):
        session.add(
            WaitlistEntry(
                type_id=types["STUDENT"].id,
                zone_id=zones["UNIV"].id,
                account_id=account.id,
                joined_at=now - timedelta(days=10 - place),
                status=WaitlistStatus.WAITING,
            )
        )
    session.flush()
    return holders, vehicles, permits


def _permit(
    account: Account,
    kind: PermitType,
    zone: Zone,
    cars: Sequence[Vehicle],
    start: datetime,
    end: datetime,
    status: PermitStatus,
    serial: int,
) -> Permit:
    return Permit(
        code=f"{kind.code}-{serial:05d}",
        holder_id=account.id,
        holder_name=account.full_name,
        home_zone_id=zone.id,
        type=kind,
        valid_from=start,
        valid_until=end,
        status=status,
        vehicles=list(cars[: kind.max_vehicles]),
    )


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("ăâîșțĂÂÎȘȚ", "aaistAAIST"))


# Past decisions tell a story on the statistics page: the south car's left camera misreads (a dirty lens),
# and short-stay zones flag cars that were only loading.
CAMERAS = (("patrol-north", "front", 0.18), ("patrol-north", "left", 0.22), ("patrol-south", "front", 0.2),
           ("patrol-south", "left", 0.45))  # fmt: skip
REASON_WEIGHTS = {"misread": 5, "permit_shown": 3, "not_parked": 2, "exempt_vehicle": 1, "signage": 1, "other": 1}


def _review_history(
    session: Session, rng: random.Random, now: datetime, zones: dict[str, Zone], taken: set[str]
) -> tuple[int, int]:
    """About 240 decisions over the last 60 days, their reads long purged; accepted ones have citations."""
    from backend.review.service import next_citation_number

    devices = {}
    for name in {device for device, _, _ in CAMERAS}:
        device = session.scalar(select(Device).where(Device.name == name))
        if device is None:
            add_device(session, name)  # its token is thrown away: a history-only car
            device = session.scalar(select(Device).where(Device.name == name))
        assert device is not None
        devices[name] = device
    supervisor = session.scalar(select(Account).where(Account.email == f"supervisor@{DEMO_DOMAIN}"))
    supervisor_id = supervisor.id if supervisor else None
    zone_weights = [(zones[spec.code], 1 + spec.residents / 20) for spec in ZONES]
    moments = sorted(now - timedelta(days=60) + timedelta(seconds=rng.randint(0, 59 * 86400)) for _ in range(240))
    decisions = citations = 0
    numbers: dict[int, int] = {}
    for moment in moments:
        device_name, camera, misread_rate = rng.choice(CAMERAS)
        zone = rng.choices([z for z, _ in zone_weights], [w for _, w in zone_weights])[0]
        short_stay = zone.time_limit_minutes is not None
        rejected = rng.random() < misread_rate + (0.15 if short_stay else 0.0)
        reason = ""
        if rejected:
            weights = dict(REASON_WEIGHTS)
            weights["misread"] += int(misread_rate * 20)
            weights["not_parked"] += 6 if short_stay else 0
            reason = rng.choices(list(weights), list(weights.values()))[0]
        decided_at = moment + timedelta(minutes=rng.randint(5, 600))
        session.add(
            ReviewDecision(
                read_id=None,
                decision=Decision.REJECTED if rejected else Decision.ACCEPTED,
                reason_code=reason,
                note="",
                decided_by=supervisor_id,
                decided_at=decided_at,
                camera_id=camera,
                device_id=devices[device_name].id,
                zone_id=zone.id,
            )
        )
        decisions += 1
        if not rejected:
            year = decided_at.astimezone(ZoneInfo(CITY_TIMEZONE)).year
            if year not in numbers:
                numbers[year] = int(next_citation_number(session, year).rsplit("-", 1)[1])
            session.add(
                Citation(
                    number=f"PP-{year}-{numbers[year]:06d}",
                    read_id=None,
                    plate=_plate(rng, taken),
                    zone_id=zone.id,
                    reason=f"No permit for {zone.name} at this time.",
                    amount_minor=5000,
                    currency=CURRENCY,
                    issued_at=decided_at,
                    issued_by=supervisor_id,
                    observed_at=moment,
                )
            )
            numbers[year] += 1
            citations += 1
    session.flush()
    return decisions, citations


def describe(report: CityReport) -> Iterable[str]:
    """What the seed printed: the city's size and the demo accounts with their passwords."""
    yield (
        f"demo city: {report.zones} zones, {report.types} permit types, {report.holders} new holders with "
        f"{report.vehicles} vehicles and {report.permits} permits, {report.decisions} past review decisions "
        f"({report.citations} citations)"
    )
    yield "demo accounts (new passwords on every seed; for this demo database only):"
    for staff in report.staff:
        yield f"  {staff.role.value:<10} {staff.email:<32} {staff.password}"
