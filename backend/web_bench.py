"""`platepatrol bench web`: how fast the permit office's pages answer with a full database.

Fills a database (once; reused when asked again) with a city's worth of data: accounts, 100,000 permits with
their vehicles, revisions, orders and payments, stored reads with verdicts (some flagged for review), and an
audit log. Then serves the real app on a loopback port and requests each main page many times, as its usual
visitor signed in over HTTP, and reports p50, p95 and max milliseconds per page. The client runs in the same
process, so the times include a little of its own work: they are an upper bound of the server's.
"""

from __future__ import annotations

import logging
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.models import Account, Role
from backend.accounts.passwords import hash_password
from backend.audit.models import AuditEntry
from backend.billing.models import Order, OrderKind, OrderStatus, Payment, PaymentStatus
from backend.config import WebConfig
from backend.devices.models import Device
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.permits.models import (
    Permit,
    PermitRevision,
    PermitStatus,
    PermitType,
    Proration,
    Validity,
    Vehicle,
    Zone,
    permit_vehicles,
)
from backend.storage.base import new_id
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from platepatrol.verdicts import Outcome, Reason

PASSWORD = "bench password 1"
BATCH = 5_000
TARGET_MS = 200.0
STAFF = {
    Role.ADMIN: "admin@bench.example",
    Role.SUPERVISOR: "supervisor@bench.example",
    Role.OFFICER: "officer@bench.example",
}
FIRST = ["Ana", "Ion", "Maria", "Andrei", "Elena", "Mihai", "Ioana", "Radu", "Sofia", "Dan", "Irina", "Paul"]
LAST = ["Popescu", "Ionescu", "Pop", "Stan", "Dumitru", "Marin", "Tudor", "Munteanu", "Constantin", "Matei"]
JPEG = b"\xff\xd8\xff\xe0" + bytes(1500)
Row = dict[str, Any]


@dataclass(frozen=True)
class PageTiming:
    page: str
    visitor: str
    requests: int
    status: int
    p50_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True)
class WebBenchResult:
    database: str
    permits: int
    accounts: int
    stored_reads: int
    audit_entries: int
    target_ms: float
    pages: list[PageTiming] = field(default_factory=list)

    @property
    def slowest_p95_ms(self) -> float:
        return max((page.p95_ms for page in self.pages), default=0.0)


def plate_of(number: int) -> str:
    return f"W{number:07d}"


def holder_email(number: int) -> str:
    return f"holder{number}@bench.example"


# ---- filling ----------------------------------------------------------------------------------------------


def _zone_square(index: int) -> str:
    lat, lon, half = 44.40 + 0.02 * (index // 3), 26.05 + 0.03 * (index % 3), 0.008
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return '{"type": "Polygon", "coordinates": [' + str([*ring, ring[0]]) + "]}"


def _city(session: Session, now: datetime) -> tuple[list[str], list[str]]:
    """Zones and permit types; returns their ids."""
    zones = [
        Zone(code=f"BZ-{i}", name=f"Bench zone {i}", geojson=_zone_square(i), time_limit_minutes=120 if i % 2 else None)
        for i in range(6)
    ]
    session.add_all(zones)
    session.flush()
    types = [
        PermitType(
            code="B-RES",
            name="Bench residents",
            zones=zones[:3],
            price_minor=12000,
            validity=Validity.MONTHS,
            months=12,
            proration=Proration.MONTHLY,
            residents_only=True,
            cap_per_zone=50_000,
            max_vehicles=2,
        ),
        PermitType(
            code="B-COM",
            name="Bench commuters",
            zones=zones[3:],
            price_minor=4500,
            validity=Validity.MONTHS,
            months=1,
            proration=Proration.DAILY,
            max_vehicles=1,
        ),
        PermitType(code="B-DAY", name="Bench day pass", price_minor=500, validity=Validity.ROLLING, days=1),
    ]
    session.add_all(types)
    session.flush()
    device = Device(name="bench-web", token_sha256=new_id().replace("-", "") * 2, created_at=now)
    session.add(device)
    session.commit()
    return [zone.id for zone in zones], [t.id for t in types]


def _accounts(session: Session, count: int, zone_ids: list[str], now: datetime) -> None:
    """Staff and `count` holders, all with one password (hashed once: argon2 is slow on purpose)."""
    password_hash = hash_password(PASSWORD)
    rng = random.Random(1)
    rows: list[Row] = [
        {
            "id": new_id(),
            "email": email,
            "password_hash": password_hash,
            "role": role,
            "full_name": f"Bench {role.value}",
            "address": "",
            "address_zone_id": None,
            "created_at": now,
        }
        for role, email in STAFF.items()
    ]
    for n in range(count):
        rows.append(
            {
                "id": new_id(),
                "email": holder_email(n),
                "password_hash": password_hash,
                "role": Role.HOLDER,
                "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "address": f"Strada {n % 300} nr. {n % 97}",
                "address_zone_id": zone_ids[n % 3],
                "created_at": now - timedelta(days=rng.randint(0, 900)),
            }
        )
    for start in range(0, len(rows), BATCH):
        session.execute(insert(Account), rows[start : start + BATCH])
    session.commit()


def _permit_rows(
    numbers: range,
    holders: list[tuple[str, str]],
    type_ids: list[str],
    zone_ids: list[str],
    now: datetime,
    rng: random.Random,
) -> dict[Any, list[Row]]:
    """One batch: vehicles, permits, their links and first revisions, and an order and payment for each."""
    tables: dict[Any, list[Row]] = {t: [] for t in (Vehicle, Permit, permit_vehicles, PermitRevision, Order, Payment)}
    for n in range(numbers.start, numbers.stop):
        holder_id, holder_name = holders[n % len(holders)]
        kind = n % 10
        type_id = type_ids[0] if kind < 6 else type_ids[1] if kind < 9 else type_ids[2]
        start = now - timedelta(days=rng.randint(0, 330))
        terms = {"valid_from": start, "valid_until": start + timedelta(days=365 if kind < 6 else 30)}
        status = PermitStatus.ACTIVE if n % 50 else PermitStatus.SUSPENDED if n % 100 else PermitStatus.REVOKED
        vehicle = {
            "id": new_id(),
            "plate": plate_of(n),
            "jurisdiction": "RO",
            "make": rng.choice(["Dacia", "VW", "Ford"]),
            "colour": rng.choice(["white", "grey", "black", "red"]),
            "owner_id": holder_id,
            "created_at": start,
        }
        permit = {
            "id": new_id(),
            "code": f"W-{n:07d}",
            "holder_name": holder_name,
            "holder_id": holder_id,
            "home_zone_id": zone_ids[n % 3] if kind < 6 else None,
            "type_id": type_id,
            "status": status,
            "revision": 1,
            "updated_at": start,
            **terms,
        }
        order_id = new_id()
        tables[Vehicle].append(vehicle)
        tables[Permit].append(permit)
        tables[permit_vehicles].append({"permit_id": permit["id"], "vehicle_id": vehicle["id"]})
        tables[PermitRevision].append(
            {
                "permit_id": permit["id"],
                "revision": 1,
                "recorded_at": start,
                "code": permit["code"],
                "plates": [vehicle["plate"]],
                "zone_ids": [],
                "hours": [],
                "timezone": "UTC",
                "status": status,
                **terms,
            }
        )
        amount = 12000 if kind < 6 else 4500 if kind < 9 else 500
        tables[Order].append(
            {
                "id": order_id,
                "account_id": holder_id,
                "kind": OrderKind.NEW,
                "type_id": type_id,
                "home_zone_id": None,
                "vehicle_ids": [vehicle["id"]],
                "permit_id": permit["id"],
                "period_start": terms["valid_from"],
                "period_end": terms["valid_until"],
                "lines": [{"label": "permit", "amount_minor": amount}],
                "amount_minor": amount,
                "currency": "USD",
                "status": OrderStatus.PAID,
                "idempotency_key": f"bo-{n}",
                "created_at": start,
                "paid_at": start,
            }
        )
        tables[Payment].append(
            {
                "id": new_id(),
                "order_id": order_id,
                "provider": "sandbox",
                "provider_ref": f"sbx_bench_{n}",
                "amount_minor": amount,
                "currency": "USD",
                "status": PaymentStatus.SUCCEEDED,
                "card_last4": "4242",
                "message": "",
                "idempotency_key": f"bp-{n}",
                "created_at": start,
            }
        )
    return tables


def _reads(session: Session, count: int, permits: int, device_id: str, zone_ids: list[str], now: datetime) -> None:
    rng = random.Random(3)
    for start in range(0, count, BATCH):
        reads: list[Row] = []
        verdicts: list[Row] = []
        for n in range(start, min(start + BATCH, count)):
            captured = now - timedelta(minutes=rng.randint(1, 60 * 72))
            flagged = n % 20 == 0
            read_id = f"web-bench-{n}"
            reads.append(
                {
                    "id": read_id,
                    "device_id": device_id,
                    "camera_id": "front",
                    "captured_at": captured,
                    "received_at": captured,
                    "plate": plate_of(rng.randrange(permits * 2)),
                    "confidence": 0.42 if flagged else 0.93,
                    "char_confidences": [],
                    "frames_voted": 3,
                    "alternatives": [{"plate": "W0000001", "confidence": 0.3}] if flagged else [],
                    "latitude": 44.40 + rng.random() * 0.04,
                    "longitude": 26.05 + rng.random() * 0.08,
                    "crop_jpeg": JPEG,
                }
            )
            outcome = Outcome.NEEDS_REVIEW if flagged else Outcome.PERMITTED
            reason = Reason.LOW_CONFIDENCE if flagged else Reason.VALID_PERMIT
            verdicts.append(
                {
                    "read_id": read_id,
                    "outcome": outcome,
                    "reason": reason,
                    "sentence": "",
                    "decided_at": captured,
                    "zone_id": zone_ids[n % len(zone_ids)],
                    "permit_data_age_s": 0.0,
                }
            )
        session.execute(insert(ReadRecord), reads)
        session.execute(insert(VerdictRecord), verdicts)
        session.commit()


def _audit(session: Session, count: int, permits: int, staff: dict[Role, str], now: datetime) -> None:
    rng = random.Random(4)
    for start in range(0, count, BATCH):
        rows: list[Row] = []
        for n in range(start, min(start + BATCH, count)):
            at = now - timedelta(seconds=(count - n) * 30)
            if n % 4:
                plate = plate_of(rng.randrange(permits))
                rows.append(
                    {
                        "at": at,
                        "actor_id": staff[Role.OFFICER],
                        "action": "plate.lookup",
                        "target_type": "plate",
                        "target_id": plate,
                        "detail": {"outcome": "permitted"},
                    }
                )
            else:
                action = rng.choice(["permit.suspend", "permit.reinstate", "zone.update", "account.role"])
                rows.append(
                    {
                        "at": at,
                        "actor_id": staff[Role.ADMIN],
                        "action": action,
                        "target_type": "permit",
                        "target_id": new_id(),
                        "detail": {"reason": "bench"},
                    }
                )
        session.execute(insert(AuditEntry), rows)
        session.commit()


def fill(sessions: sessionmaker[Session], permits: int, accounts: int, reads: int, audit: int) -> None:
    """Fill an empty database; a database this command filled before is used as it is."""
    now = datetime.now(UTC)
    with sessions() as session:
        if session.scalar(select(Account.id).where(Account.email == STAFF[Role.ADMIN])) is not None:
            return
        zone_ids, type_ids = _city(session, now)
        _accounts(session, accounts, zone_ids, now)
        holders = [
            (account_id, name)
            for account_id, name in session.execute(
                select(Account.id, Account.full_name).where(Account.role == Role.HOLDER).order_by(Account.email)
            ).all()
        ]
        rng = random.Random(2)
        with Progress(console=Console(stderr=True)) as progress:  # stdout carries only the JSON result
            task = progress.add_task("permits", total=permits)
            for start in range(0, permits, BATCH):
                tables = _permit_rows(range(start, min(start + BATCH, permits)), holders, type_ids, zone_ids, now, rng)
                for table, rows in tables.items():
                    session.execute(insert(table), rows)
                session.commit()
                progress.update(task, advance=min(BATCH, permits - start))
        device_id = session.scalars(select(Device.id).where(Device.name == "bench-web")).one()
        _reads(session, reads, permits, device_id, zone_ids, now)
        staff_rows = session.execute(select(Account.role, Account.id).where(Account.email.in_(STAFF.values()))).all()
        staff = dict(staff_rows)
        _audit(session, audit, permits, staff, now)


# ---- measuring --------------------------------------------------------------------------------------------


def _signed_in(base_url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the sign-in page has no CSRF field"
    answer = client.post("/sign-in", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD})
    if answer.status_code != 303:
        raise RuntimeError(f"signing in as {email} failed: {answer.status_code}")
    return client


def _time(client: httpx.Client, paths: Callable[[int], str], requests: int, warmup: int) -> tuple[list[float], int]:
    status = 200
    for i in range(warmup):
        client.get(paths(i))
    times: list[float] = []
    for i in range(requests):
        started = time.perf_counter()
        response = client.get(paths(i + warmup))
        times.append((time.perf_counter() - started) * 1000.0)
        if response.status_code != 200:
            status = response.status_code
    return times, status


def _pages(
    session: Session, permits: int, accounts: int, rng: random.Random
) -> list[tuple[str, Role, Callable[[int], str]]]:
    """(name, visitor, path for the i-th request): what each audience opens most."""
    sample_ids = list(
        session.scalars(
            select(Permit.id).where(Permit.code.in_([f"W-{rng.randrange(permits):07d}" for _ in range(200)]))
        )
    )
    plates = [plate_of(rng.randrange(permits)) for _ in range(200)]
    deep = max(1, permits // 50 // 2)
    return [
        ("a static file (the floor: HTTP and the client)", Role.HOLDER, lambda i: "/static/app.css"),
        ("portal home", Role.HOLDER, lambda i: "/portal"),
        ("admin dashboard", Role.ADMIN, lambda i: "/admin"),
        ("admin permits list", Role.ADMIN, lambda i: "/admin/permits"),
        ("admin permits list, page in the middle", Role.ADMIN, lambda i: f"/admin/permits?by=code&page={deep}"),
        ("admin permits search by plate", Role.ADMIN, lambda i: f"/admin/permits?by=plate&q={plates[i % 200][:6]}"),
        ("admin permits search by code", Role.ADMIN, lambda i: f"/admin/permits?by=code&q=W-{plates[i % 200][1:6]}"),
        (
            "admin permits search by holder e-mail",
            Role.ADMIN,
            lambda i: f"/admin/permits?by=holder&q={holder_email(i * 7919 % accounts)}",
        ),
        (
            "admin permits search by holder name",
            Role.ADMIN,
            lambda i: f"/admin/permits?by=holder&q={FIRST[i % len(FIRST)]}",
        ),
        ("admin permit page", Role.ADMIN, lambda i: f"/admin/permits/{sample_ids[i % len(sample_ids)]}"),
        ("admin audit log", Role.ADMIN, lambda i: "/admin/audit"),
        ("admin audit log, filtered by action", Role.ADMIN, lambda i: "/admin/audit?action=permit."),
        ("admin accounts", Role.ADMIN, lambda i: f"/admin/accounts?q={FIRST[i % len(FIRST)]}"),
        ("review queue", Role.SUPERVISOR, lambda i: "/review"),
        ("plate look-up", Role.OFFICER, lambda i: f"/lookup?plate={plates[i % 200]}"),
    ]


def _quiet() -> None:
    """Each request is not news: keep stderr for progress."""
    logging.getLogger("httpx").setLevel(logging.WARNING)


def bench_web(
    database_url: str, permits: int, accounts: int, reads: int, audit: int, requests: int, warmup: int = 5
) -> WebBenchResult:
    from backend.web.app import create_app
    from backend.web.server import WebServer

    _quiet()
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    fill(sessions, permits, accounts, reads, audit)
    with sessions() as session:
        counts = {
            model: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Permit, Account, ReadRecord, AuditEntry)
        }
        holder = session.scalars(
            select(Account.email)
            .join(Permit, Permit.holder_id == Account.id)
            .where(Account.role == Role.HOLDER)
            .limit(1)
        ).one()
        pages = _pages(session, counts[Permit], max(1, counts[Account] - len(STAFF)), random.Random(5))
    with tempfile.TemporaryDirectory() as mail:
        app = create_app(WebConfig(mail_dir=Path(mail), port=0), sessions)
        server = WebServer("127.0.0.1", 0)
        server.start(app)
        try:
            visitors = {role: _signed_in(server.url, email) for role, email in STAFF.items()}
            visitors[Role.HOLDER] = _signed_in(server.url, holder)
            timings = []
            for name, role, paths in pages:
                times, status = _time(visitors[role], paths, requests, warmup)
                ordered = sorted(times)
                timings.append(
                    PageTiming(
                        page=name,
                        visitor=role.value,
                        requests=len(ordered),
                        status=status,
                        p50_ms=round(statistics.median(ordered), 1),
                        p95_ms=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
                        max_ms=round(ordered[-1], 1),
                    )
                )
            for client in visitors.values():
                client.close()
        finally:
            server.stop()
    engine.dispose()
    return WebBenchResult(
        database=engine.dialect.name,
        permits=counts[Permit],
        accounts=counts[Account],
        stored_reads=counts[ReadRecord],
        audit_entries=counts[AuditEntry],
        target_ms=TARGET_MS,
        pages=timings,
    )


def result_json(result: WebBenchResult) -> dict[str, object]:
    return {
        **asdict(result),
        "slowest_p95_ms": result.slowest_p95_ms,
        "within_target": result.slowest_p95_ms <= TARGET_MS,
    }
