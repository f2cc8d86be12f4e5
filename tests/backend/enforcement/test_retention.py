import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Connection, Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.devices.tokens import add_device, device_for_token
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.reads import GpsPoint
from backend.enforcement.retention import purge_expired, purge_reads, retention_schedule
from backend.enforcement.service import EnforcementService
from backend.permits.models import Zone, permit_clock, permit_clock_keys
from backend.storage.base import utc_now
from platepatrol.verdicts import Outcome
from tests.backend.factories import a_verdict_after_every_read, add_permit, incoming_read, square


def test_only_old_reads_that_need_nothing_more_are_purged(sessions: sessionmaker[Session], session: Session) -> None:
    car = device_for_token(session, add_device(session, "car-1"))
    assert car is not None
    add_permit(session, "PERMITTED1", valid_from=utc_now() - timedelta(days=10))
    shops = (44.45, 26.10)
    session.add(Zone(code="SHOPS", name="Shops", geojson=square(*shops, 200), time_limit_minutes=60))
    session.commit()
    service = EnforcementService(sessions)
    old = utc_now() - timedelta(hours=100)
    service.answer(incoming_read("old-permitted", "PERMITTED1", old), car)
    service.answer(incoming_read("old-violation", "NOPE1", old), car)
    service.answer(incoming_read("new-permitted", "PERMITTED1"), car)
    # an overtime verdict keeps the first read of the stay as evidence, however old
    first = replace(incoming_read("old-first-sighting", "LONG1", utc_now() - timedelta(hours=3)), gps=GpsPoint(*shops))
    service.answer(first, car)
    overtime = replace(incoming_read("overtime", "LONG1"), gps=GpsPoint(*shops))
    assert service.answer(overtime, car).first_seen_read_id == "old-first-sighting"

    assert purge_reads(session, utc_now(), keep_for=timedelta(hours=2)) == 1
    remaining = set(session.scalars(select(ReadRecord.id)))
    assert remaining == {"old-violation", "new-permitted", "old-first-sighting", "overtime"}
    assert set(session.scalars(select(VerdictRecord.read_id))) == remaining
    assert purge_reads(session, utc_now(), keep_for=timedelta(hours=2)) == 0


def test_the_purge_also_prunes_the_permit_clocks_log(fresh_engine: Engine) -> None:
    sessions = sessionmaker(bind=fresh_engine)  # committed for real: PostgreSQL logs keys when a change commits
    with sessions() as session:
        for plate in ("B1", "B2", "B3"):
            add_permit(session, plate)
        logged = session.scalar(select(func.count()).select_from(permit_clock_keys))
        assert logged
        assert purge_expired(session, utc_now(), timedelta(hours=2), keep_key_versions=1) == 0  # no reads
        version, keys_from = session.execute(select(permit_clock.c.version, permit_clock.c.keys_from)).one()
        assert keys_from == version
        kept = session.scalars(select(permit_clock_keys.c.version)).all()
        assert len(kept) < logged and set(kept) <= {version}


def _old_reads(engine: Engine, plates: list[str]) -> sessionmaker[Session]:
    """Reads of `plates` (ids old-0, old-1, ...) captured 100 hours ago, answered and stored for real; returns the
    database's sessions."""
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        car = device_for_token(session, add_device(session, "car-1"))
        session.commit()
        assert car is not None
    service = EnforcementService(sessions)
    old = utc_now() - timedelta(hours=100)
    for n, plate in enumerate(plates):
        service.answer(incoming_read(f"old-{n}", plate, old), car)
    return sessions


def test_the_purge_runs_while_the_cars_verdicts_are_written(fresh_engine: Engine) -> None:
    """The scheduled purge reads, then deletes, batch after batch, in the serving process beside the cars' verdicts:
    on SQLite a batch that did not lock up front would fail, and old reads would outlive the policy."""
    sessions = _old_reads(fresh_engine, [f"NOPERMIT{n}" for n in range(5)])
    with a_verdict_after_every_read(fresh_engine), sessions() as session:
        assert purge_reads(session, utc_now(), keep_for=timedelta(hours=2), batch=2) == 0  # violations stay
        session.execute(update(VerdictRecord).values(outcome=Outcome.PERMITTED))
        session.commit()
        assert purge_reads(session, utc_now(), keep_for=timedelta(hours=2), batch=2) == 5
        assert purge_expired(session, utc_now(), keep_for=timedelta(hours=2)) == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadRecord)) == 0


def test_a_read_that_needs_follow_up_after_the_search_is_kept(fresh_engine: Engine) -> None:
    """The batch is searched for without the lock; a read that a verdict's review (here: its outcome changed by
    another connection) made evidence between the search and the deletes is checked again and kept."""
    sessions = _old_reads(fresh_engine, [f"PERMITTEDX{n}" for n in range(3)])
    with sessions() as session:
        session.execute(update(VerdictRecord).values(outcome=Outcome.PERMITTED))
        session.commit()
    other = fresh_engine.connect()
    flagged: list[bool] = []

    def flag_one_after_the_search(_conn: Connection, _cursor: object, statement: str, *_: object) -> None:
        if not flagged and statement.lstrip().startswith("SELECT reads.id") and "LIMIT" in statement.upper():
            flagged.append(True)
            other.execute(
                update(VerdictRecord).where(VerdictRecord.read_id == "old-1").values(outcome=Outcome.VIOLATION)
            )
            other.commit()

    event.listen(fresh_engine, "after_cursor_execute", flag_one_after_the_search)
    try:
        with sessions() as session:
            assert purge_reads(session, utc_now(), keep_for=timedelta(hours=2)) == 2
            assert session.scalars(select(ReadRecord.id)).all() == ["old-1"]
    finally:
        event.remove(fresh_engine, "after_cursor_execute", flag_one_after_the_search)
        other.close()
    assert flagged


def test_the_schedule_the_backend_starts_purges_on_its_own(fresh_engine: Engine) -> None:
    """What `backend serve` runs in the background: the policy's purge every `every`, with no one asking."""
    sessions = _old_reads(fresh_engine, ["PERMITTEDS0", "PERMITTEDS1"])
    with sessions() as session:
        session.execute(update(VerdictRecord).values(outcome=Outcome.PERMITTED))
        session.commit()
    schedule = retention_schedule(sessions, keep_for=timedelta(hours=2), every=timedelta(milliseconds=20))
    schedule.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sessions() as session:
                if not session.scalar(select(func.count()).select_from(ReadRecord)):
                    break
            time.sleep(0.02)
    finally:
        schedule.stop()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadRecord)) == 0
