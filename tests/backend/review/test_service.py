from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.models import Account, Role
from backend.accounts.service import FormError
from backend.config import DEFAULT_REJECT_REASONS
from backend.devices.models import Device
from backend.devices.tokens import add_device, device_for_token
from backend.enforcement.models import ReadRecord
from backend.enforcement.reads import GpsPoint
from backend.enforcement.retention import purge_reads
from backend.enforcement.service import EnforcementService
from backend.permits.models import Zone
from backend.review.models import Citation, Decision, ReviewDecision
from backend.review.service import (
    AlreadyDecidedError,
    Camera,
    UnknownReadError,
    accept,
    next_citation_number,
    queue,
    queue_filters,
    reject,
    statistics,
)
from tests.backend.factories import add_permit, incoming_read, square

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OLD_TOWN, HARBOUR = (44.44, 26.10), (44.46, 26.14)
REASONS = dict(DEFAULT_REJECT_REASONS)
Office = tuple[EnforcementService, Device, dict[str, str]]


def supervisor(session: Session, email: str = "sup@example.org") -> str:
    account = Account(email=email, password_hash="x", full_name="Sue Pervisor", role=Role.SUPERVISOR)
    session.add(account)
    session.flush()
    return account.id


@pytest.fixture
def office(sessions: sessionmaker[Session], session: Session) -> Office:
    car = device_for_token(session, add_device(session, "car-1"))
    assert car is not None
    zones = {"old": Zone(code="OLD", name="Old Town", geojson=square(*OLD_TOWN, 300))}
    zones["harbour"] = Zone(code="HARB", name="Harbour", geojson=square(*HARBOUR, 300))
    session.add_all(zones.values())
    add_permit(session, "PERMIT1", valid_from=T0 - timedelta(days=30), valid_until=T0 + timedelta(days=30))
    session.commit()
    return EnforcementService(sessions), car, {key: zone.id for key, zone in zones.items()}


def flag(
    service: EnforcementService,
    car: Device,
    read_id: str,
    plate: str,
    minutes: float,
    where: tuple[float, float] | None = OLD_TOWN,
    camera: str = "front",
    confidence: float = 0.9,
) -> None:
    read = incoming_read(read_id, plate, T0 + timedelta(minutes=minutes), confidence)
    service.answer(replace(read, camera_id=camera, gps=GpsPoint(*where) if where else None), car)


def test_an_empty_queue(session: Session) -> None:
    page = queue(session)
    assert (page.items, page.total, page.pages) == ((), 0, 1)
    assert queue_filters(session) == ([], [])


def test_the_queue_is_oldest_first_paginated_and_filtered(office: Office, session: Session) -> None:
    service, car, zones = office
    flag(service, car, "late", "NOPE2", 30)
    flag(service, car, "early", "NOPE1", 10)
    flag(service, car, "harbour", "NOPE3", 20, where=HARBOUR, camera="left")
    flag(service, car, "doubt", "NOPE4", 40, confidence=0.2)  # NEEDS_REVIEW
    flag(service, car, "fine", "PERMIT1", 5)  # PERMITTED: not for review
    assert [item.read_id for item in queue(session).items] == ["early", "harbour", "late", "doubt"]
    first, second = queue(session, page=1, page_size=3), queue(session, page=2, page_size=3)
    assert (first.total, first.pages, [i.read_id for i in second.items]) == (4, 2, ["doubt"])
    assert queue(session, page=9).items == ()
    assert [i.read_id for i in queue(session, zone_id=zones["harbour"]).items] == ["harbour"]
    assert [i.read_id for i in queue(session, camera=Camera("car-1", "left")).items] == ["harbour"]
    assert queue(session, camera=Camera("car-2", "left")).total == 0
    zone_options, cameras = queue_filters(session)
    assert [name for _, name in zone_options] == ["Harbour", "Old Town"] and cameras == ["car-1/front", "car-1/left"]
    # a decided read leaves the queue
    reject(session, "early", supervisor(session), T0, "misread", REASONS)
    assert [i.read_id for i in queue(session).items] == ["harbour", "late", "doubt"]


@pytest.mark.parametrize(
    ("key", "parsed"),
    [("car-1/front", Camera("car-1", "front")), ("", None), ("car-1", None), ("/front", None), ("car-1/", None)],
)
def test_camera_keys(key: str, parsed: Camera | None) -> None:
    assert Camera.parse(key) == parsed


def test_accept_issues_a_numbered_citation_and_a_second_decision_is_refused(office: Office, session: Session) -> None:
    service, car, zones = office
    flag(service, car, "r1", "NOPE1", 10)
    flag(service, car, "r2", "NOPE2", 11)
    who = supervisor(session)
    citation = accept(session, "r1", who, T0, 5000, "USD", "Europe/Bucharest", note="clear")
    assert citation.number == "PP-2026-000001" and citation.plate == "NOPE1" and citation.zone_id == zones["old"]
    assert (citation.amount_minor, citation.latitude) == (5000, OLD_TOWN[0])
    assert accept(session, "r2", who, T0, 5000, "USD").number == "PP-2026-000002"
    with pytest.raises(AlreadyDecidedError, match="already accepted"):
        reject(session, "r1", who, T0, "misread", REASONS)
    with pytest.raises(AlreadyDecidedError):
        accept(session, "r1", who, T0, 5000, "USD")
    assert session.scalar(select(ReviewDecision.decision).where(ReviewDecision.read_id == "r1")) is Decision.ACCEPTED
    # a doubtful read's sentence is a question: the citation says what the supervisor confirmed
    flag(service, car, "doubt", "NOPE3", 12, confidence=0.2)
    assert "confirmed on review" in accept(session, "doubt", who, T0, 5000, "USD").reason


@pytest.mark.parametrize(
    ("moment", "zone", "number"),
    [
        (datetime(2026, 12, 31, 21, 59, tzinfo=UTC), "Europe/Bucharest", "PP-2026-000001"),
        (datetime(2026, 12, 31, 22, 0, tzinfo=UTC), "Europe/Bucharest", "PP-2027-000001"),  # midnight there
        (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), "America/New_York", "PP-2026-000001"),
    ],
)
def test_citation_numbers_follow_the_city_year(
    office: Office, session: Session, moment: datetime, zone: str, number: str
) -> None:
    service, car, _ = office
    flag(service, car, "r1", "NOPE1", 10)
    assert accept(session, "r1", supervisor(session), moment, 100, "USD", zone).number == number


def test_the_next_number_counts_on_from_the_highest(session: Session) -> None:
    assert next_citation_number(session, 2026) == "PP-2026-000001"
    for number in ("PP-2026-000009", "PP-2026-000123", "PP-2025-000500"):
        session.add(Citation(number=number, plate="X1", reason="", observed_at=T0))
    session.flush()
    assert next_citation_number(session, 2026) == "PP-2026-000124"
    assert next_citation_number(session, 2025) == "PP-2025-000501"
    assert next_citation_number(session, 2027) == "PP-2027-000001"


@pytest.mark.parametrize(
    ("reason", "note", "errors"),
    [
        ("nonsense", "", {"reason_code"}),
        ("", "", {"reason_code"}),
        ("misread", "x" * 2001, {"note"}),
        ("bad", "x" * 2001, {"reason_code", "note"}),
    ],
)
def test_a_bad_rejection_names_the_field(
    office: Office, session: Session, reason: str, note: str, errors: set[str]
) -> None:
    service, car, _ = office
    flag(service, car, "r1", "NOPE1", 10)
    with pytest.raises(FormError) as problem:
        reject(session, "r1", supervisor(session), T0, reason, REASONS, note)
    assert set(problem.value.errors) == errors
    assert queue(session).total == 1  # nothing half-written


def test_only_flagged_known_reads_are_decided(office: Office, session: Session) -> None:
    service, car, _ = office
    flag(service, car, "fine", "PERMIT1", 10)
    who = supervisor(session)
    with pytest.raises(FormError, match="not for review"):
        accept(session, "fine", who, T0, 100, "USD")
    with pytest.raises(UnknownReadError):
        reject(session, "nope", who, T0, "misread", REASONS)


def test_two_supervisors_deciding_at_once_get_one_decision(fresh_database_url: Callable[[], str]) -> None:
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    engine = make_engine(fresh_database_url())
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        car = device_for_token(session, add_device(session, "car-1"))
        session.commit()
        assert car is not None
        service = EnforcementService(sessions)
        for index in range(6):
            flag(service, car, f"r{index}", f"NOPE{index}", index, where=None)  # no zones: a violation
        ids = [supervisor(session, f"s{n}@example.org") for n in range(2)]
        session.commit()
    outcomes: list[str] = []

    def decide(who: str) -> None:
        for index in range(6):
            with sessions() as mine:
                try:
                    accept(mine, f"r{index}", who, T0, 100, "USD")
                    mine.commit()
                    outcomes.append("accepted")
                except AlreadyDecidedError:
                    mine.rollback()
                    outcomes.append("refused")
                except Exception as error:  # reported below, not lost in the thread
                    outcomes.append(repr(error))

    threads = [threading.Thread(target=decide, args=(who,)) for who in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as session:
        numbers = sorted(session.scalars(select(Citation.number)))
    engine.dispose()
    assert sorted(outcomes) == ["accepted"] * 6 + ["refused"] * 6
    assert numbers == [f"PP-2026-{n:06d}" for n in range(1, 7)]


def test_statistics_count_rejections_by_reason_camera_and_zone(office: Office, session: Session) -> None:
    service, car, _ = office
    who = supervisor(session)
    plan = [  # read, zone, camera, decision (reason or accept), decided at (minutes after T0)
        ("a", OLD_TOWN, "front", "misread", 0),
        ("b", OLD_TOWN, "front", "accept", 10),
        ("c", OLD_TOWN, "left", "permit_shown", 20),
        ("d", HARBOUR, "front", "misread", 30),
        ("e", HARBOUR, "front", "accept", 59),
        ("f", HARBOUR, "front", "misread", 60),  # at the range's end: not counted
        ("g", OLD_TOWN, "front", "misread", -1),  # before it: not counted
    ]
    for index, (read_id, where, camera, decision, minutes) in enumerate(plan):
        flag(service, car, read_id, f"NOPE{index}", index, where=where, camera=camera)
        at = T0 + timedelta(minutes=minutes)
        if decision == "accept":
            accept(session, read_id, who, at, 100, "USD")
        else:
            reject(session, read_id, who, at, decision, REASONS)
    stats = statistics(session, T0, T0 + timedelta(hours=1), REASONS)
    assert (stats.total.decided, stats.total.rejected, stats.total.false_positive_rate) == (5, 3, 0.6)
    counts = {reason.code: reason.count for reason in stats.by_reason}
    assert list(counts) == list(REASONS) and counts["misread"] == 2 and counts["permit_shown"] == 1
    assert counts["other"] == 0
    cameras = {t.key: (t.decided, t.rejected) for t in stats.by_camera}
    assert cameras == {"car-1/front": (4, 2), "car-1/left": (1, 1)}
    by_zone = {t.label: (t.decided, t.rejected, t.false_positive_rate) for t in stats.by_zone}
    assert by_zone == {"Harbour": (2, 1, 0.5), "Old Town": (3, 2, 2 / 3)}
    # an empty range, and a reason no longer configured
    empty = statistics(session, T0 - timedelta(days=9), T0 - timedelta(days=8), REASONS)
    assert empty.total.decided == 0 and empty.total.false_positive_rate == 0.0 and empty.by_zone == ()
    fewer = statistics(session, T0, T0 + timedelta(hours=1), {"other": "Other"})
    assert [(r.code, r.count) for r in fewer.by_reason] == [("other", 0), ("misread", 2), ("permit_shown", 1)]


def test_a_rejected_read_is_purged_an_accepted_one_kept_and_the_statistics_stay(
    office: Office, session: Session
) -> None:
    service, car, _ = office
    old = -10 * 24 * 60
    flag(service, car, "rejected", "NOPE1", old)
    flag(service, car, "accepted", "NOPE2", old)
    flag(service, car, "undecided", "NOPE3", old)
    flag(service, car, "recent-rejected", "NOPE4", 0)
    who = supervisor(session)
    reject(session, "rejected", who, T0, "misread", REASONS)
    reject(session, "recent-rejected", who, T0, "misread", REASONS)
    accept(session, "accepted", who, T0, 100, "USD")
    session.commit()
    assert purge_reads(session, T0 + timedelta(days=1), keep_for=timedelta(days=2)) == 1
    assert set(session.scalars(select(ReadRecord.id))) == {"accepted", "undecided", "recent-rejected"}
    stats = statistics(session, T0, T0 + timedelta(minutes=1), REASONS)
    assert (stats.total.decided, stats.total.rejected) == (3, 2)
    # once the citation is gone (voided), its read is no longer evidence
    session.delete(session.scalars(select(Citation)).one())
    session.commit()
    assert purge_reads(session, T0 + timedelta(days=1), keep_for=timedelta(days=2)) == 1
    assert set(session.scalars(select(ReadRecord.id))) == {"undecided", "recent-rejected"}
