from __future__ import annotations

import itertools
import re
import time
from datetime import timedelta

from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.models import Account, Role
from backend.accounts.service import authenticate
from backend.config import DEFAULT_REJECT_REASONS
from backend.enforcement.service import EnforcementService
from backend.permits.demo import DEMO_PLATES, DEMO_ZONE_CODE, load_demo_seed, seed_demo
from backend.permits.demo_city import DEMO_DOMAIN, ZONES, describe, seed_city
from backend.permits.models import Permit, PermitStatus, PermitType, Vehicle, WaitlistEntry, Zone
from backend.permits.zones import parse_zone_geometry
from backend.review.service import statistics
from backend.storage.base import utc_now
from platepatrol.verdicts import Outcome, Reason, lookalike_variants
from tests.conftest import REPO

ROUTE = REPO / "demo" / "route.gpx"


def _route() -> list[tuple[float, float]]:
    text = ROUTE.read_text()
    return [(float(lat), float(lon)) for lat, lon in re.findall(r'lat="([-\d.]+)" lon="([-\d.]+)"', text)]


def _seeded(session: Session) -> None:
    clip = load_demo_seed(DEMO_PLATES)
    now = utc_now()
    seed_demo(session, now, clip)
    seed_city(session, now, clip)


def test_the_city_is_full_quick_and_seeding_again_adds_nothing(session: Session) -> None:
    clip = load_demo_seed(DEMO_PLATES)
    now = utc_now()
    started = time.monotonic()
    seed_demo(session, now, clip)
    first = seed_city(session, now, clip)
    elapsed = time.monotonic() - started
    assert elapsed < 20, elapsed  # a few seconds on a quiet machine
    assert first.holders >= 300 and first.permits >= 250 and first.decisions >= 200 and first.zones == len(ZONES)
    counts = [session.scalar(select(func.count()).select_from(table)) for table in (Account, Vehicle, Permit)]
    again = seed_city(session, now, clip)
    assert (again.holders, again.permits, again.decisions) == (0, 0, 0)
    assert [session.scalar(select(func.count()).select_from(t)) for t in (Account, Vehicle, Permit)] == counts
    # new passwords each time, and they work; the accounts have their roles
    assert {s.email: s.password for s in first.staff} != {s.email: s.password for s in again.staff}
    for staff in again.staff:
        account = authenticate(session, staff.email, staff.password)
        assert account is not None and account.role is staff.role
    assert [s.role for s in again.staff] == [Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.HOLDER]
    lines = list(describe(again))
    assert all(s.password in "\n".join(lines) for s in again.staff)


def test_every_holder_lives_in_a_zone_and_types_are_for_sale(session: Session) -> None:
    _seeded(session)
    holders = session.scalars(select(Account).where(Account.role == Role.HOLDER)).all()
    assert all(h.address_zone_id and h.address for h in holders)
    types = {t.code: t for t in session.scalars(select(PermitType))}
    assert types["STUDENT"].cap_per_zone and types["STUDENT"].fixed_start and types["STUDENT"].fixed_end
    assert all(t.price_minor >= 0 and t.timezone == "Europe/Bucharest" for t in types.values())
    live_students = session.scalar(
        select(func.count()).select_from(Permit).join(PermitType).where(PermitType.code == "STUDENT")
    )
    assert live_students == types["STUDENT"].cap_per_zone  # sold out...
    assert session.scalar(select(func.count()).select_from(WaitlistEntry))  # ...so people wait
    for permit in session.scalars(select(Permit).where(Permit.holder_id.is_not(None))):
        assert permit.type is not None and 1 <= len(permit.vehicles) <= permit.type.max_vehicles
    demo_holder = session.scalar(select(Account).where(Account.email == f"holder@{DEMO_DOMAIN}"))
    assert demo_holder is not None
    assert session.scalar(select(Permit).where(Permit.holder_id == demo_holder.id)) is not None


def test_zones_do_not_overlap_and_the_route_stays_in_the_centre(session: Session) -> None:
    _seeded(session)
    zones = {z.code: parse_zone_geometry(z.geojson) for z in session.scalars(select(Zone))}
    for (a, shape_a), (b, shape_b) in itertools.combinations(zones.items(), 2):
        assert shape_a.intersection(shape_b).area < 1e-9, (a, b)
    centre = zones[DEMO_ZONE_CODE]
    assert all(centre.contains(Point(lon, lat)) for lat, lon in _route())
    assert not any(shape.contains(Point(26.2, 44.5)) for shape in zones.values())


def test_the_clip_gets_the_same_verdicts_in_the_city(sessions: sessionmaker[Session], session: Session) -> None:
    _seeded(session)
    clip = load_demo_seed(DEMO_PLATES)
    service = EnforcementService(sessions)
    now, on_route = utc_now(), (44.4400, 26.0980)
    assert all(service.check(p, now, on_route).outcome is Outcome.PERMITTED for p in clip.permitted)
    assert all(service.check(p, now, on_route).reason is Reason.EXPIRED for p in clip.expired)
    assert all(service.check(p, now, on_route).reason is Reason.NO_PERMIT for p in clip.unpermitted)
    assert service.check(clip.unpermitted[0], now, (44.5, 26.2)).reason is Reason.OUTSIDE_ZONES
    # no plate of the city looks like a plate of the clip
    clip_plates = {*clip.permitted, *clip.expired, *clip.unpermitted}
    city_plates = set(session.scalars(select(Vehicle.plate))) - clip_plates
    assert len(city_plates) >= 300
    for plate in city_plates:
        assert not lookalike_variants(plate, 3) & clip_plates, plate


def test_past_decisions_fill_the_statistics(session: Session) -> None:
    _seeded(session)
    now = utc_now()
    stats = statistics(session, now - timedelta(days=61), now + timedelta(days=1), DEFAULT_REJECT_REASONS)
    assert stats.total.decided >= 200 and 0.15 < stats.total.false_positive_rate < 0.5
    assert len(stats.by_camera) == 4 and len(stats.by_zone) == len(ZONES)
    worst = max(stats.by_camera, key=lambda tally: tally.false_positive_rate)
    assert worst.key == "patrol-south/left"  # the dirty lens
    assert session.scalar(select(Permit.status).where(Permit.status == PermitStatus.ACTIVE)) is not None
