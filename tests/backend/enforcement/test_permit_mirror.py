"""The permit mirror: what it holds is what the tables hold at its clock version, and a verdict uses it only while
the clock still reads that version."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.devices.models import Device
from backend.devices.tokens import add_device, device_for_token
from backend.enforcement.lookups import hotlist_for_plates, permits_by_key
from backend.enforcement.permit_mirror import PermitMirror, clock_version, load_snapshot
from backend.enforcement.service import EnforcementService
from backend.permits.models import HotlistEntry, Permit, PermitStatus, PermitType, Vehicle, Zone
from backend.storage.base import utc_now
from platepatrol.verdicts import Outcome, Reason, lookalike_key
from tests.backend.factories import add_permit, incoming_read, square


@pytest.fixture
def engine(fresh_engine: Engine) -> Engine:
    return fresh_engine


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def car(sessions: sessionmaker[Session]) -> Device:
    with sessions() as session:
        found = device_for_token(session, add_device(session, "car-1"))
        session.commit()
    assert found is not None
    return found


def test_a_snapshot_holds_what_the_tables_hold(engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        zone = Zone(code="RES-1", name="Residents", geojson=square(44.43, 26.10, 200))
        kind = PermitType(code="RES-1", name="Residents", zones=[zone], hours=[], timezone="Europe/Bucharest")
        session.add_all([zone, kind])
        session.commit()
        for plate in ("B100ABC", "8I00A8C", "CJ12XYZ"):  # the first two fold to one look-alike key
            add_permit(session, plate).type_id = kind.id
        vehicle = session.scalars(select(Vehicle).where(Vehicle.plate == "CJ12XYZ")).one()
        now = utc_now()
        suspended = Permit(code="P-OLD", valid_from=now, valid_until=now, status=PermitStatus.SUSPENDED)
        suspended.vehicles = [vehicle]
        session.add(suspended)
        session.add(HotlistEntry(plate="CJ12XYZ", reason="stolen", added_at=utc_now()))
        session.commit()
    snapshot = load_snapshot(engine)
    keys = {lookalike_key(plate) for plate in ("B100ABC", "CJ12XYZ", "NOPE1")}
    with engine.connect() as connection:
        assert snapshot.version == clock_version(connection)
        assert snapshot.permits_by_key(keys) == permits_by_key(connection, keys)
        plates = ["CJ12XYZ", "B100ABC"]
        assert snapshot.hotlist_for_plates(plates) == hotlist_for_plates(connection, plates)
    assert len(snapshot.permits_by_key({lookalike_key("B100ABC")})[lookalike_key("B100ABC")]) == 2  # two plates
    assert len(snapshot.permits_by_key({"CJ12XY2"})["CJ12XY2"]["CJ12XYZ"]) == 2  # two permits
    assert snapshot.permits_by_key({lookalike_key("NOPE1")}) == {}


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the mirror was not loaded again"
        time.sleep(0.02)


def test_a_change_is_seen_by_the_next_verdict_and_then_mirrored(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        permit = add_permit(session, "B1GOOD")
    mirror = PermitMirror(engine, settle_s=0.05)
    mirror.start()
    service, device = EnforcementService(sessions, mirror=mirror), car(sessions)

    def current() -> bool:
        with engine.connect() as connection:
            return mirror.at(clock_version(connection)) is not None

    assert current()
    assert service.answer(incoming_read("r1", "B1GOOD"), device).outcome is Outcome.PERMITTED
    with sessions() as session:
        session.get_one(Permit, permit.id).status = PermitStatus.SUSPENDED
        session.commit()
    # The very next verdict: the mirror is behind the clock, so the round reads the tables.
    suspended = service.answer(incoming_read("r2", "B1GOOD"), device)
    assert (suspended.outcome, suspended.reason) == (Outcome.VIOLATION, Reason.SUSPENDED)
    wait_for(lambda: mirror.catch_ups >= 1 and current())
    assert mirror.loads == 1  # caught up from the log of changed keys, not loaded again
    mirrored = service.answer(incoming_read("r3", "B1GOOD"), device)
    assert (mirrored.outcome, mirrored.reason, mirrored.permit_revision) == (
        Outcome.VIOLATION,
        Reason.SUSPENDED,
        suspended.permit_revision,
    )
    with sessions() as session:  # a hotlist entry is permit data too
        session.add(HotlistEntry(plate="B1GOOD", reason="stolen car", added_at=utc_now()))
        session.commit()
    assert service.answer(incoming_read("r4", "B1GOOD"), device).outcome is Outcome.ALERT
    mirror.close()


def test_a_mirror_of_another_version_is_not_used(engine: Engine, sessions: sessionmaker[Session]) -> None:
    mirror = PermitMirror(engine, settle_s=60, catch_up=False)  # never loaded again within the test
    mirror.start()
    with sessions() as session:
        add_permit(session, "B1LATE")  # after the mirror was loaded
    service, device = EnforcementService(sessions, mirror=mirror), car(sessions)
    assert service.answer(incoming_read("r1", "B1LATE"), device).outcome is Outcome.PERMITTED
    assert service.check("B1LATE", utc_now()).outcome is Outcome.PERMITTED
    with engine.connect() as connection:
        assert mirror.at(clock_version(connection)) is None
        assert connection.execute(select(Permit.id)).first() is not None
    mirror.close()


def test_a_loaded_mirror_is_out_of_the_garbage_collectors_reach(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        add_permit(session, "B100ABC")
        session.commit()
    mirror = PermitMirror(engine)
    mirror.start()
    try:
        with engine.connect() as connection:
            snapshot = mirror.at(clock_version(connection))
        assert snapshot is not None
        # Frozen objects are left out of what the collector scans (gc.get_objects lists exactly those).
        scanned = {id(obj) for obj in gc.get_objects()}
        assert id(snapshot.permits) not in scanned
        assert id(snapshot.permits[lookalike_key("B100ABC")]) not in scanned
        assert gc.isenabled()  # the collector runs again once the load is done
    finally:
        mirror.close()


def test_a_failed_load_leaves_the_collector_running() -> None:
    broken = PermitMirror(create_engine("sqlite:///file:/nonexistent/dir/db.sqlite?mode=ro&uri=true"))
    with pytest.raises(OperationalError):
        broken.start()
    assert gc.isenabled()
