from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.devices.models import Device
from backend.devices.tokens import add_device
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.service import EnforcementService
from backend.permits.models import PermitStatus
from backend.storage.base import utc_now
from backend.storage.engine import make_engine, make_session_factory
from backend.storage.migrate import upgrade_to_head
from platepatrol.verdicts import Outcome, Reason
from tests.backend.factories import JPEG, add_permit, incoming_read
from tests.conftest import DatabaseFactory


def device(session: Session) -> Device:
    add_device(session, "car-1")
    session.commit()
    found = session.scalar(select(Device).where(Device.name == "car-1"))
    assert found is not None
    return found


def test_a_permitted_plate(sessions: sessionmaker[Session], session: Session) -> None:
    permit = add_permit(session, "B123ABC")
    verdict = EnforcementService(sessions).answer(incoming_read("r1", "B123ABC"), device(session))
    assert (verdict.outcome, verdict.reason) == (Outcome.PERMITTED, Reason.VALID_PERMIT)
    assert (verdict.permit_id, verdict.permit_revision) == (permit.id, 1)


def test_read_and_verdict_are_stored(sessions: sessionmaker[Session], session: Session) -> None:
    EnforcementService(sessions).answer(incoming_read("r1", "NOPE1"), device(session))
    read = session.get(ReadRecord, "r1")
    assert read is not None and read.plate == "NOPE1" and read.crop_jpeg == JPEG
    assert read.verdict.outcome is Outcome.VIOLATION and read.verdict.reason is Reason.NO_PERMIT


def test_a_repeated_read_id_gets_the_stored_verdict(sessions: sessionmaker[Session], session: Session) -> None:
    service = EnforcementService(sessions)
    car = device(session)
    first = service.answer(incoming_read("r1", "B123ABC"), car)
    add_permit(session, "B123ABC")  # the table changes, but a resend is the same read
    again = service.answer(incoming_read("r1", "B123ABC"), car)
    assert again == first and again.outcome is Outcome.VIOLATION
    assert session.scalar(select(func.count()).select_from(VerdictRecord)) == 1


def test_a_permit_change_is_seen_by_the_next_verdict(sessions: sessionmaker[Session], session: Session) -> None:
    service = EnforcementService(sessions)
    car = device(session)
    permit = add_permit(session, "B123ABC")
    assert service.answer(incoming_read("r1", "B123ABC"), car).outcome is Outcome.PERMITTED
    permit.status = PermitStatus.SUSPENDED
    session.commit()
    verdict = service.answer(incoming_read("r2", "B123ABC"), car)
    assert (verdict.outcome, verdict.reason, verdict.permit_revision) == (Outcome.VIOLATION, Reason.SUSPENDED, 2)


def test_the_capture_time_decides_not_the_arrival(sessions: sessionmaker[Session], session: Session) -> None:
    now = utc_now()
    add_permit(session, "B123ABC", valid_from=now - timedelta(days=10), valid_until=now - timedelta(hours=1))
    service = EnforcementService(sessions)
    car = device(session)
    earlier = service.answer(incoming_read("r1", "B123ABC", captured_at=now - timedelta(hours=2)), car)
    later = service.answer(incoming_read("r2", "B123ABC", captured_at=now), car)
    assert earlier.outcome is Outcome.PERMITTED
    assert (later.outcome, later.reason) == (Outcome.VIOLATION, Reason.EXPIRED)


def test_check_stores_nothing(sessions: sessionmaker[Session], session: Session) -> None:
    add_permit(session, "B123ABC")
    verdict = EnforcementService(sessions).check("B123ABC", utc_now())
    assert verdict.outcome is Outcome.PERMITTED
    assert session.scalar(select(func.count()).select_from(ReadRecord)) == 0


@pytest.mark.parametrize("kept", [False, True], ids=["borrowed", "kept"])
def test_a_connection_the_database_dropped_fails_one_batch_only(
    databases: DatabaseFactory, fresh_database_url: Callable[[], str], kept: bool
) -> None:
    """The serving engine does not ping PostgreSQL before each transaction: a dropped connection fails the batch
    that meets it (its car sends it again) and the next batch gets a new connection."""
    if databases.kind != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    url = fresh_database_url()
    engine = make_engine(url, serving=True)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    service = EnforcementService(sessions)
    if kept:
        service.keep_connections()  # as the decider's thread does: the dropped connection is the kept one
    with sessions() as session:
        car = device(session)
    assert service.answer(incoming_read("r1", "NOPE1"), car).outcome is Outcome.VIOLATION
    admin_engine = make_engine(url)
    with admin_engine.connect() as admin:  # end every other connection to this database, as a restart would
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin_engine.dispose()
    with pytest.raises(OperationalError):
        service.answer(incoming_read("r2", "NOPE2"), car)
    assert service.answer(incoming_read("r2", "NOPE2"), car).outcome is Outcome.VIOLATION
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadRecord)) == 2
    engine.dispose()


def test_a_thread_that_keeps_its_connections_borrows_none_per_round(fresh_engine: Engine) -> None:
    checkouts = []
    event.listen(fresh_engine, "checkout", lambda *_: checkouts.append(1))
    sessions = make_session_factory(fresh_engine)
    with sessions() as session:
        car = device(session)
    borrowing, keeping = EnforcementService(sessions), EnforcementService(sessions)
    keeping.keep_connections()
    checkouts.clear()
    for n in range(4):
        borrowing.answer(incoming_read(f"borrowed-{n}", "NOPE1"), car)
    borrowed = len(checkouts)
    checkouts.clear()
    for n in range(4):
        keeping.answer(incoming_read(f"kept-{n}", "NOPE1"), car)
    assert borrowed >= 4
    assert len(checkouts) <= 2  # SQLite keeps one to read and one to write; PostgreSQL one


def test_a_kept_connection_survives_a_resent_read(fresh_engine: Engine) -> None:
    # The resend's insert fails (a repeated read id) inside the kept connection's transaction: the next rounds
    # must neither fail nor find that transaction still open.
    sessions = make_session_factory(fresh_engine)
    with sessions() as session:
        car = device(session)
    service = EnforcementService(sessions)
    service.keep_connections()
    first = service.answer(incoming_read("once", "NOPE1"), car)
    assert service.answer(incoming_read("once", "NOPE1"), car) == first
    assert service.answer(incoming_read("after", "NOPE2"), car).outcome is Outcome.VIOLATION
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadRecord)) == 2
