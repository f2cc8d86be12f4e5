"""The permit clock: every committed change to what a verdict reads advances it, and nothing uncommitted does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from backend.enforcement.permit_mirror import clock_version
from backend.permits.models import (
    CLOCKED_TABLES,
    HotlistEntry,
    Permit,
    PermitStatus,
    PermitType,
    Vehicle,
    Zone,
    permit_type_zones,
    permit_vehicles,
)
from backend.storage.base import utc_now
from tests.backend.factories import add_permit


@pytest.fixture
def engine(fresh_engine: Engine) -> Engine:
    return fresh_engine


def now(engine: Engine) -> int:
    with engine.connect() as connection:
        return clock_version(connection)


CHANGES: dict[str, Callable[[Session, Permit], object]] = {
    "vehicles": lambda session, _: session.execute(update(Vehicle).values(plate="B2NEW")),
    "permits": lambda session, permit: session.execute(
        update(Permit).where(Permit.id == permit.id).values(status=PermitStatus.SUSPENDED)
    ),
    "permit_vehicles": lambda session, _: session.execute(delete(permit_vehicles)),
    "permit_types": lambda session, _: session.add(PermitType(code="RES", name="Residents", hours=[])),
    "permit_type_zones": lambda session, permit: session.execute(
        insert(permit_type_zones).values(permit_type_id=permit.type_id, zone_id=session.scalars(select(Zone.id)).one())
    ),
    "hotlist": lambda session, _: session.add(HotlistEntry(plate="B1OLD", reason="stolen", added_at=utc_now())),
}


@pytest.mark.parametrize("table", CLOCKED_TABLES)
def test_a_committed_change_advances_the_clock_and_an_open_one_does_not(engine: Engine, table: str) -> None:
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        kind = PermitType(code="ANY", name="Anywhere", hours=[])
        session.add_all([kind, Zone(code="Z1", name="Zone 1", geojson="")])
        session.commit()
        permit = add_permit(session, "B1OLD")
        permit.type_id = kind.id
        session.commit()
    before = now(engine)
    with sessions() as session:
        CHANGES[table](session, permit)
        session.flush()
        assert now(engine) == before  # seen from another connection, before the commit
        session.commit()
    assert now(engine) > before


def test_reads_and_verdicts_leave_the_clock_alone(engine: Engine) -> None:
    before = now(engine)
    with engine.begin() as connection:
        connection.execute(insert(Zone).values(id="z", code="Z", name="Z", geojson=""))  # zones have their own check
    assert now(engine) == before


def test_one_transaction_advances_it_at_least_once(engine: Engine) -> None:
    before = now(engine)
    with Session(engine) as session:
        for number in range(5):
            add_permit(session, f"B{number}MANY")
    assert now(engine) > before
    if engine.dialect.name == "postgresql":  # deferred to the commit, once however many rows changed
        start = now(engine)
        with engine.begin() as connection:
            connection.execute(update(Permit).values(revision=Permit.revision + 1))
            connection.execute(update(Vehicle).values(plate=Vehicle.plate + "X"))
        assert now(engine) == start + 1
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM permit_clock")).scalar() == 1
