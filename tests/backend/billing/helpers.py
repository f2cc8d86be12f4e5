"""Rows for billing tests: a holder, a permit type and a paid order, written straight to the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.accounts.models import Account
from backend.billing.models import Order, OrderKind, OrderStatus, Payment, PaymentStatus
from backend.billing.provider import SandboxProvider
from backend.permits.models import PermitType, Proration, Validity, Vehicle, Zone

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def holder(session: Session, email: str = "ada@example.org") -> Account:
    account = Account(email=email, password_hash="x", full_name="Ada Holder")
    session.add(account)
    session.flush()
    return account


def paid_order(session: Session, amount_minor: int = 12000, key: str = "order-key-1") -> Payment:
    """An order paid with the sandbox's good card (a real sandbox reference, so refunds go through)."""
    account = holder(session, f"{key}@example.org")
    permit_type = PermitType(code=f"T-{key}"[:32], name="Resident", price_minor=amount_minor)
    session.add(permit_type)
    session.flush()
    order = Order(
        account_id=account.id,
        kind=OrderKind.NEW,
        type_id=permit_type.id,
        period_start=NOW,
        period_end=NOW + timedelta(days=30),
        amount_minor=amount_minor,
        currency="USD",
        status=OrderStatus.PAID,
        idempotency_key=key,
        paid_at=NOW,
    )
    session.add(order)
    session.flush()
    from backend.billing.provider import SUCCEEDS, Card

    charge = SandboxProvider().charge(Card(SUCCEEDS, 12, 2030, "123"), amount_minor, "USD", f"pay-{key}")
    payment = Payment(
        order_id=order.id,
        provider="sandbox",
        provider_ref=charge.ref,
        amount_minor=amount_minor,
        currency="USD",
        status=PaymentStatus.SUCCEEDED,
        card_last4="4242",
        idempotency_key=f"pay-{key}",
        created_at=NOW,
    )
    session.add(payment)
    session.flush()
    return payment


def zone(session: Session, code: str = "Z1") -> Zone:
    found = Zone(code=code, name=f"Zone {code}", geojson="")
    session.add(found)
    session.flush()
    return found


def permit_type(session: Session, zones: list[Zone] | None = None, **terms: Any) -> PermitType:
    values: dict[str, Any] = {
        "code": "RES",
        "name": "Resident",
        "price_minor": 3100,
        "validity": Validity.MONTHS,
        "months": 1,
        "proration": Proration.DAILY,
        "timezone": "America/New_York",
    }
    values.update(terms)
    found = PermitType(**values)
    found.zones = list(zones or [])
    session.add(found)
    session.flush()
    return found


def holder_with_vehicle(session: Session, plate: str = "ABC123", email: str = "ada@example.org") -> Account:
    account = holder(session, email)
    session.add(Vehicle(plate=plate, owner_id=account.id))
    session.flush()
    return account


def vehicle_ids(session: Session, account: Account) -> list[str]:
    return list(session.scalars(select(Vehicle.id).where(Vehicle.owner_id == account.id).order_by(Vehicle.plate)))


def write_from_another_connection(engine: Engine, statement: str) -> None:
    """Commit `statement` from a connection of its own that gives up after 100 ms waiting for a lock (SQLite's
    write lock, or a PostgreSQL row lock): it fails fast if the caller holds one, as a verdict would wait."""
    with engine.connect() as other:
        if other.dialect.name == "sqlite":
            other.exec_driver_sql("PRAGMA busy_timeout = 100")
        else:
            other.exec_driver_sql("SET lock_timeout = '100ms'")
        other.execute(text(statement))
        other.commit()
