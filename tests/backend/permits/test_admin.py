"""The admin services, by tables: zone outlines, prices, permit-type rules, status moves and permit search."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.accounts.admin import change_role, search_accounts, set_disabled
from backend.accounts.models import Account, Role
from backend.accounts.service import FormError
from backend.audit.models import AuditEntry
from backend.audit.search import search_audit
from backend.devices.admin import issue_device, revoke_device
from backend.permits.admin import (
    PAGE_SIZE,
    PermitTypeForm,
    SearchBy,
    add_hotlist,
    change_permit_status,
    create_permit_type,
    create_zone,
    issue_permit,
    local_day_start,
    permit_search,
    price_to_minor,
    search_permits,
)
from backend.permits.geometry import zone_geojson_problems
from backend.permits.models import Permit, PermitStatus, PermitType, Vehicle, Zone
from tests.backend.factories import square

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _polygon(*ring: Sequence[object]) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [list(ring)]})


SQUARE = [[26, 44], [26.01, 44], [26.01, 44.01], [26, 44.01], [26, 44]]
CIRCLE = [
    [26 + 0.01 * math.cos(i * math.tau / 10_001), 44 + 0.01 * math.sin(i * math.tau / 10_001)] for i in range(10_001)
]
CIRCLE.append(CIRCLE[0])  # closed: 10,002 points


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "paste a GeoJSON Polygon"),
        ("   ", "paste a GeoJSON Polygon"),
        ("{", "not JSON"),
        ('{"type": "FeatureCollection", "features": []}', "not a FeatureCollection"),
        ('{"type": "LineString", "coordinates": []}', 'not "LineString"'),
        ('{"type": "Polygon"}', '"coordinates" must be a list of rings'),
        ('{"type": "Polygon", "coordinates": []}', "no rings"),
        (_polygon([0, 0], [1, 0], [0, 0]), "has 3 points"),
        (_polygon([0, 0], [1, 0], [1, 1], [0, 1]), "is not closed"),
        (_polygon([0, 0], [1, "x"], [1, 1], [0, 0]), 'point 2: [1, "x"] is not a [longitude, latitude]'),
        (_polygon([44, 100], [45, 100], [45, 101], [44, 100]), "swapped"),
        (_polygon([200, 10], [201, 10], [201, 11], [200, 10]), "off the globe"),
        (_polygon([0, 0], [1, 1], [1, 0], [0, 1], [0, 0]), "crosses itself near latitude 0.5"),
        (_polygon([0, 0], [1, 0], [2, 0], [0, 0]), "crosses itself"),
        ('{"type": "Polygon", "coordinates": [5]}', "outline: a ring must be a list of [longitude, latitude] points"),
        (_polygon([26, 44], [26.01, 44], [26.01, 44], [26, 44]), "repeats points so it has too few corners near"),
        (
            json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [SQUARE, [[26.02, 44.02], [26.03, 44.02], [26.03, 44.03], [26.02, 44.02]]],
                }
            ),
            "a hole lies outside the outline near latitude 44.020000, longitude 26.020000",
        ),
        (
            json.dumps(
                {
                    "type": "MultiPolygon",
                    "coordinates": [
                        [SQUARE],
                        [[[26.002, 44.002], [26.008, 44.002], [26.008, 44.008], [26.002, 44.002]]],
                    ],
                }
            ),
            "rings are nested inside each other",
        ),
        (_polygon(*CIRCLE), f"too many points ({len(CIRCLE)}); simplify the outline to at most 10000"),
    ],
)
def test_zone_outline_problems(text: str, expected: str) -> None:
    problems = zone_geojson_problems(text)
    assert len(problems) >= 1 and expected in problems[0], problems


def test_every_bad_point_is_named_and_good_shapes_pass() -> None:
    many = _polygon([0, 0], [0, 100], [0, 200], [0, 0])
    assert [p.split(":")[0] for p in zone_geojson_problems(many)] == ["outline, point 2", "outline, point 3"]
    assert zone_geojson_problems(square(44.4, 26.1, 100)) == []
    feature = json.dumps({"type": "Feature", "properties": {}, "geometry": json.loads(square(44.4, 26.1, 100))})
    assert zone_geojson_problems(feature) == []
    multi = {"type": "MultiPolygon", "coordinates": [json.loads(square(44.4, 26.1, 100))["coordinates"]]}
    assert zone_geojson_problems(json.dumps(multi)) == []


@pytest.mark.parametrize(
    ("raw", "minor"),
    [("0", 0), ("12", 1200), ("12.5", 1250), ("12.50", 1250), (" 0.01 ", 1), ("1000000", 100_000_000)],
)
def test_prices(raw: str, minor: int) -> None:
    assert price_to_minor(raw) == minor


@pytest.mark.parametrize("raw", ["", "-1", "1.234", "abc", "NaN", "Infinity", "1e400"])
def test_bad_prices(raw: str) -> None:
    with pytest.raises(ValueError):
        price_to_minor(raw)


@pytest.mark.parametrize(
    ("day", "timezone", "moment"),
    [
        (date(2026, 11, 25), "America/New_York", datetime(2026, 11, 25, 5, tzinfo=UTC)),
        (date(2026, 7, 1), "America/New_York", datetime(2026, 7, 1, 4, tzinfo=UTC)),  # summer time
        (date(2028, 2, 29), "Europe/Bucharest", datetime(2028, 2, 28, 22, tzinfo=UTC)),  # a leap day
        (date(2026, 1, 1), "UTC", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_local_days_begin_at_the_citys_midnight(day: date, timezone: str, moment: datetime) -> None:
    assert local_day_start(day, timezone) == moment


@pytest.fixture
def actor(session: Session) -> str:
    """The admin making the changes (audit entries name a real account)."""
    account = Account(email="admin@example.org", password_hash="x", full_name="Admin", role=Role.ADMIN)
    session.add(account)
    session.flush()
    return account.id


BASE_TYPE = {
    "code": "RES",
    "name": "Residents",
    "price": "10",
    "validity": "months",
    "months": "1",
    "max_vehicles": "1",
    "renew_days_before": "7",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "a b"}, "code"),
        ({"name": ""}, "name"),
        ({"price": "-5"}, "price"),
        ({"currency": "dollars"}, "currency"),
        ({"validity": "forever"}, "validity"),
        ({"months": ""}, "months"),
        ({"months": "37"}, "months"),
        ({"validity": "rolling", "days": "0"}, "days"),
        ({"validity": "rolling", "days": "30", "proration": "daily"}, "proration"),
        ({"validity": "fixed", "fixed_start": "2026-06-01", "fixed_end": "2026-05-01"}, "fixed_end"),
        ({"validity": "fixed", "fixed_start": "June", "fixed_end": "2026-05-01"}, "fixed_start"),
        (
            {"validity": "fixed", "fixed_start": "2026-01-01", "fixed_end": "2026-12-31", "proration": "monthly"},
            "proration",
        ),
        ({"proration": "weekly"}, "proration"),
        ({"max_vehicles": "0"}, "max_vehicles"),
        ({"renew_days_before": "366"}, "renew_days_before"),
        ({"cap_per_zone": "0"}, "cap_per_zone"),
        ({"residents_only": "on"}, "residents_only"),
        ({"hours": "[{}]"}, "hours"),
        ({"hours": '[{"days": [], "start": "08:00", "end": "18:00"}]'}, "hours"),
        ({"hours": '[{"days": [1], "start": "25:00", "end": "18:00"}]'}, "hours"),
        ({"hours": '[{"days": [1], "start": "08:00", "end": "08:00"}]'}, "hours"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
    ],
)
def test_permit_type_rules(changes: dict[str, str], field: str, session: Session, actor: str) -> None:
    with pytest.raises(FormError) as problem:
        create_permit_type(session, PermitTypeForm({**BASE_TYPE, **changes}, [], ["holder"]), actor)
    assert field in problem.value.errors, problem.value.errors
    assert session.scalar(select(func.count()).select_from(PermitType)) == 0


def test_permit_type_roles_and_zones(session: Session, actor: str) -> None:
    with pytest.raises(FormError) as no_roles:
        create_permit_type(session, PermitTypeForm(BASE_TYPE, [], []), actor)
    assert "eligible_roles" in no_roles.value.errors
    with pytest.raises(FormError) as gone:
        create_permit_type(session, PermitTypeForm(BASE_TYPE, ["no-such-zone"], ["holder"]), actor)
    assert "zones" in gone.value.errors
    created = create_permit_type(
        session, PermitTypeForm({**BASE_TYPE, "code": "res"}, [], ["officer", "holder"]), actor
    )
    assert (created.code, created.eligible_roles, created.price_minor) == ("RES", ["holder", "officer"], 1000)
    with pytest.raises(FormError) as taken:
        create_permit_type(session, PermitTypeForm(BASE_TYPE, [], ["holder"]), actor)
    assert "already exists" in taken.value.errors["code"]


def test_zone_codes_are_unique_and_upper_case(session: Session, actor: str) -> None:
    fields = {"code": "north", "name": "North", "geojson": square(44.4, 26.1, 100)}
    zone = create_zone(session, fields, actor, NOW)
    assert (zone.code, zone.updated_at) == ("NORTH", NOW)
    with pytest.raises(FormError) as taken:
        create_zone(session, fields, actor, NOW)
    assert "already exists" in taken.value.errors["code"]
    assert session.scalar(select(func.count()).select_from(Zone)) == 1


def _permit(session: Session, status: PermitStatus) -> Permit:
    permit = Permit(
        code=f"P-{status.value}",
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
        status=status,
        vehicles=[Vehicle(plate=f"S{status.value[:3].upper()}")],
    )
    session.add(permit)
    session.flush()
    return permit


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (PermitStatus.ACTIVE, "suspend", PermitStatus.SUSPENDED),
        (PermitStatus.ACTIVE, "revoke", PermitStatus.REVOKED),
        (PermitStatus.SUSPENDED, "reinstate", PermitStatus.ACTIVE),
        (PermitStatus.SUSPENDED, "revoke", PermitStatus.REVOKED),
        (PermitStatus.ACTIVE, "reinstate", None),
        (PermitStatus.SUSPENDED, "suspend", None),
        (PermitStatus.REVOKED, "reinstate", None),
        (PermitStatus.REVOKED, "suspend", None),
        (PermitStatus.REVOKED, "revoke", None),
        (PermitStatus.ACTIVE, "delete", None),
    ],
)
def test_status_moves(start: PermitStatus, action: str, end: PermitStatus | None, session: Session, actor: str) -> None:
    permit = _permit(session, start)
    if end is None:
        with pytest.raises(FormError):
            change_permit_status(session, permit, action, "because", actor)
        assert (permit.status, permit.revision) == (start, 1)
        return
    change_permit_status(session, permit, action, "because", actor)
    assert (permit.status, permit.revision) == (end, 2)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.target_id == permit.id)).one()
    assert entry.action == f"permit.{action}" and entry.detail["reason"] == "because"


def test_issue_reuses_a_known_vehicle_and_caps_vehicles(session: Session, actor: str) -> None:
    session.add(Vehicle(plate="KNOWN1"))
    one = PermitType(code="ONE", name="One car", max_vehicles=1)
    session.add(one)
    session.flush()
    fields = {"plates": "known1", "valid_from": "2026-11-25", "valid_until": "2026-11-25", "type_id": one.id}
    permit = issue_permit(session, fields, actor, NOW, "UTC")
    assert [v.plate for v in permit.vehicles] == ["KNOWN1"]
    assert permit.valid_until - permit.valid_from == timedelta(days=1)
    assert session.scalar(select(func.count()).select_from(Vehicle)) == 1
    with pytest.raises(FormError) as too_many:
        issue_permit(session, {**fields, "plates": "A1, A2"}, actor, NOW, "UTC")
    assert "at most 1" in too_many.value.errors["plates"]


def test_search_pages_and_prefixes(session: Session) -> None:
    for n in range(PAGE_SIZE + 5):
        session.add(
            Permit(
                code=f"K-{n:03d}",
                holder_name="Maria Pop" if n % 2 else "ion Ionescu",
                valid_from=NOW,
                valid_until=NOW + timedelta(days=1),
                status=PermitStatus.ACTIVE,
                vehicles=[Vehicle(plate=f"B{n:03d}XYZ")],
            )
        )
    session.flush()
    first = search_permits(session, "", SearchBy.CODE)
    assert len(first.permits) == PAGE_SIZE and first.has_next
    last = search_permits(session, "", SearchBy.CODE, page=2)
    assert [p.code for p in last.permits] == [f"K-{n:03d}" for n in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert not last.has_next
    assert [p.code for p in search_permits(session, "b 00", SearchBy.PLATE).permits] == [f"K-00{n}" for n in range(10)]
    assert [p.code for p in search_permits(session, "k-05", SearchBy.CODE).permits] == [
        "K-050",
        "K-051",
        "K-052",
        "K-053",
        "K-054",
    ]
    assert len(search_permits(session, "maria", SearchBy.HOLDER).permits) == (PAGE_SIZE + 5) // 2
    assert len(search_permits(session, "ion", SearchBy.HOLDER).permits) == PAGE_SIZE + 5 - (PAGE_SIZE + 5) // 2
    assert search_permits(session, "zzz", SearchBy.PLATE).permits == []


def _account(session: Session, email: str, role: Role = Role.HOLDER) -> Account:
    account = Account(email=email, password_hash="x", full_name=email.split("@", maxsplit=1)[0].title(), role=role)
    session.add(account)
    session.flush()
    return account


def test_accounts_roles_and_disabling(session: Session) -> None:
    admin = _account(session, "boss@example.org", Role.ADMIN)
    other = _account(session, "olga@example.org")
    assert [a.email for a in search_accounts(session, "OLG").accounts] == ["olga@example.org"]
    assert [a.email for a in search_accounts(session, "", "admin").accounts] == ["boss@example.org"]
    change_role(session, other, "supervisor", admin.id)
    assert other.role is Role.SUPERVISOR
    with pytest.raises(FormError):
        change_role(session, other, "king", admin.id)
    with pytest.raises(FormError):
        change_role(session, admin, "holder", admin.id)
    set_disabled(session, other, True, admin.id, NOW)
    set_disabled(session, other, True, admin.id, NOW)  # twice: one audit entry
    assert other.disabled_at == NOW
    set_disabled(session, other, False, admin.id, NOW)
    assert other.active
    actions = [row.entry.action for row in search_audit(session, actor="boss@example.org").rows]
    assert actions == ["account.enable", "account.disable", "account.role"]


def test_devices_and_hotlist(session: Session, actor: str) -> None:
    device, token = issue_device(session, "car-7", actor, NOW)
    assert token.startswith("ppd_") and device.created_at == NOW
    for name in ("car-7", "", "bad name!"):
        with pytest.raises(FormError):
            issue_device(session, name, actor, NOW)
    revoke_device(session, device, actor, NOW)
    with pytest.raises(FormError):
        revoke_device(session, device, actor, NOW)
    entry = add_hotlist(session, {"plate": "ab-12", "reason": "wanted", "expires_on": "2026-11-25"}, actor, NOW, "UTC")
    assert (entry.plate, entry.expires_at) == ("AB12", datetime(2026, 11, 26, tzinfo=UTC))
    with pytest.raises(FormError) as past:
        add_hotlist(session, {"plate": "ab-12", "reason": "wanted", "expires_on": "2026-11-24"}, actor, NOW, "UTC")
    assert "already over" in past.value.errors["expires_on"]


def test_audit_families_merge_newest_first_across_actions(session: Session, actor: str) -> None:
    actions = ["permit.suspend", "permit.revoke", "zone.update", "permit.issue"]
    for n in range(120):
        session.add(AuditEntry(actor_id=actor, action=actions[n % 4], target_type="permit", target_id=str(n)))
    session.flush()
    first = search_audit(session, action="permit.")
    targets = [int(row.entry.target_id) for row in first.rows]
    expected = [n for n in range(119, -1, -1) if n % 4 != 2]
    assert targets == expected[:50] and first.next_before is not None
    second = search_audit(session, action="permit.", before=first.next_before)
    assert [int(row.entry.target_id) for row in second.rows] == expected[50:] and second.next_before is None
    assert search_audit(session, action="device.").rows == []
    assert [row.entry.action for row in search_audit(session, action="zone.update").rows][:1] == ["zone.update"]


@pytest.mark.parametrize(
    ("query", "by", "sorts"),
    [
        ("", SearchBy.CODE, False),
        ("b12", SearchBy.PLATE, False),
        ("W-000", SearchBy.CODE, False),
        ("hal@ex", SearchBy.HOLDER, False),
        ("maria", SearchBy.HOLDER, True),  # two spellings: only their matches are sorted
    ],
)
def test_permit_search_reads_indexes_not_tables(query: str, by: str, sorts: bool, session: Session) -> None:
    """The permit search must stay fast at 100,000 permits: no table scan, and no sort of the whole table.
    (SQLite's plans are stable on an empty database; PostgreSQL's depend on statistics, so it is timed by
    `platepatrol bench web` instead.)"""
    if session.bind is None or session.get_bind().dialect.name != "sqlite":
        pytest.skip("query plans checked on SQLite")
    statement = permit_search(query, by).offset(50).limit(51)
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
    scans = [step for step in plan if step.startswith("SCAN") and "USING" not in step]
    assert scans == [], plan
    # "FOR RIGHT PART OF ORDER BY" sorts only rows of one plate or e-mail; a full sort would read every match.
    assert any("TEMP B-TREE FOR ORDER BY" in step for step in plan) == sorts, plan
