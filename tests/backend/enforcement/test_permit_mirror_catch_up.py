"""Catching the permit mirror up from the log of changed keys (migration 0011) gives exactly what loading it in full
gives, after every kind of change, however it was written; and it says so when the log cannot tell."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.enforcement import permit_mirror
from backend.enforcement.lookups import HotlistHit, PermitsByKey
from backend.enforcement.permit_mirror import MirrorSnapshot, catch_up, load_snapshot, prune_clock_keys
from backend.permits.models import (
    HotlistEntry,
    Permit,
    PermitStatus,
    PermitType,
    Vehicle,
    Zone,
    permit_clock,
    permit_clock_keys,
)
from backend.storage.base import utc_now
from tests.backend.factories import add_permit, square

Change = Callable[[Session], None]


@pytest.fixture
def sessions(fresh_engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=fresh_engine, expire_on_commit=False)


def comparable(snapshot: MirrorSnapshot) -> tuple[int, PermitsByKey, dict[str, list[HotlistHit]]]:
    """The snapshot with each plate's permits in one order (the tables give rows in no particular order)."""
    permits = {
        key: {plate: sorted(views, key=lambda view: view.id) for plate, views in plates.items()}
        for key, plates in snapshot.permits.items()
    }
    return snapshot.version, permits, dict(snapshot.hotlist)


def caught_up(engine: Engine, mirrored: MirrorSnapshot, what: str = "") -> MirrorSnapshot:
    """The mirror caught up from the log, checked against a full load of the database as it is now."""
    caught = catch_up(engine, mirrored)
    assert caught is not None, what
    assert comparable(caught) == comparable(load_snapshot(engine)), what
    return caught


def vehicle(session: Session, plate: str) -> Vehicle:
    return session.scalars(select(Vehicle).where(Vehicle.plate == plate)).one()


def permit_of(session: Session, plate: str) -> Permit:
    return session.scalars(select(Permit).where(Permit.code == f"P-{plate}")).one()


def suspend(session: Session) -> None:
    permit_of(session, "B100ABC").status = PermitStatus.SUSPENDED


def change_a_plate(session: Session) -> None:
    vehicle(session, "CJ12XYZ").plate = "CJ99XYZ"  # leaves one look-alike key for another


def move_a_permit_to_another_vehicle(session: Session) -> None:
    permit = permit_of(session, "8I00A8C")
    permit.vehicles = [vehicle(session, "IF77QQQ")]
    session.flush()


def share_a_permit(session: Session) -> None:
    permit = permit_of(session, "IF77QQQ")
    permit.vehicles.append(Vehicle(plate="NEW1234"))
    session.flush()


def delete_a_permit(session: Session) -> None:
    session.delete(permit_of(session, "B100ABC"))


def delete_a_vehicle(session: Session) -> None:
    session.delete(vehicle(session, "IF77QQQ"))


def extend_in_raw_sql(session: Session) -> None:
    # Not through the ORM: the triggers, not application code, log what changed.
    session.execute(text("UPDATE permits SET revision = revision + 1 WHERE code = 'P-IF77QQQ'"))


def add_to_the_hotlist(session: Session) -> None:
    session.add(HotlistEntry(plate="CJ99XYZ", reason="stolen", added_at=utc_now()))


def add_a_permit(session: Session) -> None:
    add_permit(session, "B1OOABC")  # the key of B100ABC's look-alikes again


CHANGES: list[Change] = [
    suspend,
    change_a_plate,
    move_a_permit_to_another_vehicle,
    share_a_permit,
    extend_in_raw_sql,
    delete_a_permit,
    delete_a_vehicle,
    add_to_the_hotlist,
    add_a_permit,
]


def city(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        zone = Zone(code="RES-1", name="Residents", geojson=square(44.43, 26.10, 200))
        kind = PermitType(code="RES-1", name="Residents", zones=[zone], hours=[], timezone="Europe/Bucharest")
        session.add_all([zone, kind])
        session.commit()
        for plate in ("B100ABC", "8I00A8C", "CJ12XYZ", "IF77QQQ"):  # the first two fold to one look-alike key
            add_permit(session, plate).type_id = kind.id
        session.commit()


def test_catching_up_after_each_change_gives_what_a_full_load_gives(
    fresh_engine: Engine, sessions: sessionmaker[Session]
) -> None:
    city(sessions)
    mirrored = load_snapshot(fresh_engine)
    for change in CHANGES:
        with sessions() as session:
            change(session)
            session.commit()
        caught = caught_up(fresh_engine, mirrored, change.__name__)
        assert caught.version > mirrored.version
        mirrored = caught
    assert catch_up(fresh_engine, mirrored) is mirrored  # nothing changed since


def test_catching_up_over_many_changes_at_once(fresh_engine: Engine, sessions: sessionmaker[Session]) -> None:
    city(sessions)
    mirrored = load_snapshot(fresh_engine)
    with sessions() as session:  # all in one transaction
        for change in CHANGES[:4]:
            change(session)
            session.flush()
        session.commit()
    for change in CHANGES[4:]:  # and one by one
        with sessions() as session:
            change(session)
            session.commit()
    assert comparable(caught_up(fresh_engine, mirrored)) != comparable(mirrored)


def test_a_permit_type_change_is_loaded_in_full(fresh_engine: Engine, sessions: sessionmaker[Session]) -> None:
    city(sessions)
    mirrored = load_snapshot(fresh_engine)
    with sessions() as session:
        session.scalars(select(PermitType)).one().hours = [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]
        session.commit()
    assert catch_up(fresh_engine, mirrored) is None  # every permit of the type changed: the log says "every key"


def test_a_mirror_older_than_the_log_is_loaded_in_full(fresh_engine: Engine, sessions: sessionmaker[Session]) -> None:
    city(sessions)
    old = load_snapshot(fresh_engine)
    for change in CHANGES[:3]:
        with sessions() as session:
            change(session)
            session.commit()
    recent = load_snapshot(fresh_engine)
    with sessions() as session:
        assert prune_clock_keys(session, keep_versions=1) > 0
        session.commit()
    with sessions() as session:
        CHANGES[3](session)
        session.commit()
    assert catch_up(fresh_engine, old) is None  # the keys of its versions are gone
    caught_up(fresh_engine, recent)


def city_with_every_change(sessions: sessionmaker[Session]) -> None:
    """The city, then each of CHANGES committed on its own: a version and logged keys each."""
    city(sessions)
    for change in CHANGES:
        with sessions() as session:
            change(session)
            session.commit()


def test_pruning_keeps_the_recent_versions_keys(fresh_engine: Engine, sessions: sessionmaker[Session]) -> None:
    city_with_every_change(sessions)
    with sessions() as session:
        ((version, keys_from),) = session.execute(select(permit_clock.c.version, permit_clock.c.keys_from)).all()
        assert prune_clock_keys(session, keep_versions=3) > 0
        session.commit()
        assert session.scalar(select(permit_clock.c.keys_from)) == version - 2 > keys_from
        kept = session.scalars(select(permit_clock_keys.c.version)).all()
        assert kept and min(kept) >= version - 2
        assert prune_clock_keys(session, keep_versions=3) == 0  # nothing more to prune


def test_a_mirror_just_before_the_logs_start_catches_up(fresh_engine: Engine, sessions: sessionmaker[Session]) -> None:
    """As on a database migrated to 0011 with permits in it: versions up to the migration's have no keys."""
    city(sessions)
    mirrored = load_snapshot(fresh_engine)
    with sessions() as session:
        session.execute(delete(permit_clock_keys))
        session.execute(permit_clock.update().values(keys_from=mirrored.version + 1))
        session.commit()
    with sessions() as session:
        suspend(session)
        session.commit()
    caught_up(fresh_engine, mirrored)


def test_a_prune_that_read_an_older_version_never_moves_the_logs_start_back(
    fresh_engine: Engine, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two prunes at once (the schedule and `backend purge`): the one that read the clock first commits last."""
    city_with_every_change(sessions)
    with sessions() as session:
        ((version, keys_from),) = session.execute(select(permit_clock.c.version, permit_clock.c.keys_from)).all()
        assert prune_clock_keys(session, keep_versions=2) > 0  # the prune that commits first
        session.commit()
        start = session.scalar(select(permit_clock.c.keys_from))
        assert start == version - 1
        # the other read the clock before: three versions back, and the log's start as it was
        monkeypatch.setattr(permit_mirror, "_CLOCK_AND_LOG", lambda _connection: [(version - 3, keys_from)])
        prune_clock_keys(session, keep_versions=2)
        session.commit()
        assert session.scalar(select(permit_clock.c.keys_from)) == start


def test_a_clock_behind_the_mirror_means_a_full_load(fresh_engine: Engine, sessions: sessionmaker[Session]) -> None:
    """A database restored from before the mirror's version: its keys say nothing about what the mirror holds."""
    city(sessions)
    mirrored = load_snapshot(fresh_engine)
    ahead = MirrorSnapshot(mirrored.version + 5, mirrored.permits, mirrored.hotlist)
    assert catch_up(fresh_engine, ahead) is None
