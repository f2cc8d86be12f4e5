"""Portal pages with 100,000 permits in the database: median and worst time of each page, JSON on stdout.

    PYTHONPATH=. .venv/bin/python -m tests.backend.web.bench_portal [DATABASE_URL] [--permits N]

A fresh database (a temporary SQLite file by default) gets N permits of 200 holders, bulk-inserted; then one
holder signs in, buys a permit with the sandbox card, and each portal page is fetched 20 times in-process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from backend.accounts.mailer import FolderMailer
from backend.accounts.service import register
from backend.config import WebConfig
from backend.permits.models import Permit, PermitStatus, Vehicle, permit_vehicles
from backend.permits.sales import send_renewal_reminders
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from backend.web.app import create_app
from tests.backend.web.conftest import PASSWORD, post_form, sign_in
from tests.backend.web.portal_helpers import CARD_OK, add_type, add_vehicle_form, add_zone, pay_fields, quote_order

HOLDERS = 200
TIMES = 20


def fill(engine: Engine, holder_ids: list[str], type_id: str, zone_id: str, count: int, now: datetime) -> None:
    with engine.begin() as connection:
        for chunk in range(0, count, 5000):
            permits, vehicles, links = [], [], []
            for i in range(chunk, min(count, chunk + 5000)):
                permit_id, vehicle_id = str(uuid.uuid4()), str(uuid.uuid4())
                start = now - timedelta(days=i % 300)
                holder = holder_ids[i % len(holder_ids)]
                permits.append(
                    {"id": permit_id, "code": f"B-{i:07d}", "holder_name": f"Holder {i % len(holder_ids)}",
                     "holder_id": holder, "home_zone_id": zone_id, "type_id": type_id, "valid_from": start,
                     "valid_until": start + timedelta(days=31), "status": PermitStatus.ACTIVE, "revision": 1,
                     "updated_at": now}
                )  # fmt: skip
                vehicles.append(
                    {"id": vehicle_id, "plate": f"BN{i:07d}", "jurisdiction": "", "make": "", "colour": "",
                     "owner_id": holder, "created_at": now}
                )  # fmt: skip
                links.append({"permit_id": permit_id, "vehicle_id": vehicle_id})
            connection.execute(insert(Permit), permits)
            connection.execute(insert(Vehicle), vehicles)
            connection.execute(insert(permit_vehicles), links)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--permits", type=int, default=100_000)
    args = parser.parse_args(argv)
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    zone_id = add_zone(sessions)
    type_id = add_type(sessions, [zone_id], renew_days_before=30)
    now = datetime.now(UTC)
    with sessions() as session:
        holder_ids = [register(session, f"h{i}@example.org", PASSWORD, f"Holder {i}").id for i in range(HOLDERS)]
        session.commit()
    started = time.monotonic()
    fill(engine, holder_ids, type_id, zone_id, args.permits, now)
    print(f"{args.permits} permits in {time.monotonic() - started:.0f} s", file=sys.stderr)

    app = create_app(WebConfig(mail_dir=Path(tempfile.mkdtemp()), timezone="America/New_York"), sessions)
    client = TestClient(app, base_url="http://permits.test", follow_redirects=False)
    with sessions() as session:
        register(session, "ada@example.org", PASSWORD, "Ada")
        session.commit()
    sign_in(client, "ada@example.org")
    add_vehicle_form(client, "ADA1")
    started = time.perf_counter()
    order_page = quote_order(client, type_id, zone_id)
    paid = post_form(client, order_page, f"{order_page}/pay", pay_fields(client, order_page, CARD_OK))
    buy_ms = (time.perf_counter() - started) * 1000
    with sessions() as session:
        permit_id = session.scalar(select(Permit.id).where(Permit.code.like("PP-%")))
    pages = {
        "home": "/portal",
        "vehicles": "/portal/vehicles",
        "buy": "/portal/buy",
        "buy type": f"/portal/buy/{type_id}",
        "receipts": "/portal/receipts",
        "receipt": paid.headers["location"],
        "permit": f"/portal/permits/{permit_id}",
        "api permits": "/api/v1/portal/permits",
        "api permit types": "/api/v1/portal/permit-types",
    }
    result: dict[str, Any] = {"permits": args.permits, "database": engine.dialect.name, "pages_ms": {}}
    for name, path in pages.items():
        times = []
        for _ in range(TIMES):
            begun = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - begun) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        result["pages_ms"][name] = {"median": round(statistics.median(times), 1), "max": round(max(times), 1)}
        print(f"{name}: median {statistics.median(times):.1f} ms", file=sys.stderr)
    result["quote_and_pay_ms"] = round(buy_ms, 1)
    with sessions() as session:
        begun = time.perf_counter()
        sent = send_renewal_reminders(session, now, FolderMailer(Path(tempfile.mkdtemp())))
        result["renewal_reminders"] = {"sent": sent, "seconds": round(time.perf_counter() - begun, 1)}
        session.rollback()
    engine.dispose()
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
