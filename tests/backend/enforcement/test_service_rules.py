"""The rules against a real database: zones, permit types, hotlist, overtime and look-alikes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import EnforcementPolicy
from backend.devices.models import Device
from backend.devices.tokens import add_device, device_for_token
from backend.enforcement.models import VerdictRecord
from backend.enforcement.reads import GpsPoint, IncomingRead
from backend.enforcement.service import EnforcementService
from backend.permits.models import HotlistEntry, PermitType, Vehicle, Zone
from backend.storage.base import utc_now
from platepatrol.verdicts import Outcome, Reason, lookalike_key
from tests.backend.factories import add_permit, incoming_read, square

HOME = (44.4300, 26.1000)
SHOPS = (44.4500, 26.1000)
FAR = (46.0, 24.0)


def device(session: Session) -> Device:
    found = device_for_token(session, add_device(session, "car-1"))
    session.commit()
    assert found is not None
    return found


def city(session: Session) -> tuple[Zone, Zone]:
    residents = Zone(code="RES-1", name="Residents", geojson=square(*HOME, 200))
    shops = Zone(code="SHOPS", name="Shops", geojson=square(*SHOPS, 200), time_limit_minutes=120)
    kind = PermitType(code="RES-1", name="Resident, zone 1", zones=[residents], hours=[], timezone="Europe/Bucharest")
    session.add_all([residents, shops, kind])
    session.commit()
    return residents, shops


def read_at(read_id: str, plate: str, where: tuple[float, float], minutes_ago: float = 0.0) -> IncomingRead:
    read = incoming_read(read_id, plate, utc_now() - timedelta(minutes=minutes_ago))
    return replace(read, gps=GpsPoint(*where))


def test_a_zone_permit_holds_in_its_zone_only(sessions: sessionmaker[Session], session: Session) -> None:
    residents, _ = city(session)
    permit = add_permit(session, "B1RES")
    permit.type = session.scalars(select(PermitType).where(PermitType.code == "RES-1")).one()
    session.commit()
    service, car = EnforcementService(sessions), device(session)
    home = service.answer(read_at("r1", "B1RES", HOME), car)
    assert (home.outcome, home.zone_id, home.permit_revision) == (Outcome.PERMITTED, residents.id, 2)
    shops = service.answer(read_at("r2", "B1RES", SHOPS, minutes_ago=0), car)
    assert (shops.outcome, shops.reason) == (Outcome.PERMITTED, Reason.WITHIN_TIME_LIMIT)
    stranger = service.answer(read_at("r3", "ZZ999", HOME), car)
    assert (stranger.outcome, stranger.reason) == (Outcome.VIOLATION, Reason.NO_PERMIT)
    nowhere = service.answer(read_at("r4", "ZZ999", FAR), car)
    assert (nowhere.outcome, nowhere.reason) == (Outcome.PERMITTED, Reason.OUTSIDE_ZONES)


def test_overtime_cites_the_first_read(sessions: sessionmaker[Session], session: Session) -> None:
    city(session)
    service, car = EnforcementService(sessions), device(session)
    first = service.answer(read_at("r1", "CAR1", SHOPS, minutes_ago=150), car)
    assert first.reason is Reason.WITHIN_TIME_LIMIT
    nearby = (SHOPS[0] + 0.0001, SHOPS[1])  # 11 m away: the same parking place
    later = service.answer(read_at("r2", "CAR1", nearby), car)
    assert (later.outcome, later.reason, later.first_seen_read_id) == (Outcome.VIOLATION, Reason.OVERTIME, "r1")
    elsewhere = (SHOPS[0] + 0.001, SHOPS[1])  # 111 m away: it moved, a new stay
    moved = service.answer(read_at("r3", "CAR1", elsewhere), car)
    assert moved.reason is Reason.WITHIN_TIME_LIMIT


def test_overtime_is_found_within_one_batch(sessions: sessionmaker[Session], session: Session) -> None:
    # A car back from a dead zone sends its outbox at once: the stay's first read and its last come in one batch,
    # here the later one first. Neither is stored when the other is decided; the later is still overtime.
    city(session)
    service, car = EnforcementService(sessions), device(session)
    nearby = (SHOPS[0] + 0.0001, SHOPS[1])
    later, first, other = service.answer_many(
        [
            read_at("r2", "CAR1", nearby),
            read_at("r1", "CAR1", SHOPS, minutes_ago=150),
            read_at("r3", "CAR2", SHOPS, minutes_ago=150),  # another plate is no sighting of CAR1
        ],
        car,
    )
    assert (later.outcome, later.reason, later.first_seen_read_id) == (Outcome.VIOLATION, Reason.OVERTIME, "r1")
    assert (first.reason, first.first_seen_read_id) == (Reason.WITHIN_TIME_LIMIT, None)
    assert other.reason is Reason.WITHIN_TIME_LIMIT


def test_overtime_compares_where_the_vehicles_were(sessions: sessionmaker[Session], session: Session) -> None:
    # The car drove past on the far side of the street both times: its fixes are 40 m from the parked vehicle it
    # placed, which did not move. The stored first read's placed position, not the car's fix, is the chalk mark.
    city(session)
    service, car = EnforcementService(sessions), device(session)
    parked = (SHOPS[0] + 0.0001, SHOPS[1])
    across = (SHOPS[0] + 0.0001 + 0.00036, SHOPS[1])  # the car's fix, 40 m from the vehicle
    first = replace(read_at("r1", "CAR1", across, minutes_ago=150), vehicle_position=parked)
    assert service.answer(first, car).reason is Reason.WITHIN_TIME_LIMIT
    later = service.answer(replace(read_at("r2", "CAR1", across), vehicle_position=parked), car)
    assert (later.reason, later.first_seen_read_id) == (Reason.OVERTIME, "r1")


def test_hotlisted_plates_raise_an_alert(sessions: sessionmaker[Session], session: Session) -> None:
    session.add(HotlistEntry(plate="HOT1", reason="reported stolen", added_at=utc_now() - timedelta(days=1)))
    session.add(
        HotlistEntry(plate="OLD1", reason="cleared", added_at=utc_now() - timedelta(days=9), expires_at=utc_now())
    )
    session.commit()
    service, car = EnforcementService(sessions), device(session)
    alert = service.answer(incoming_read("r1", "HOT1"), car)
    assert (alert.outcome, alert.reason) == (Outcome.ALERT, Reason.HOTLIST) and "reported stolen" in alert.sentence
    assert service.answer(incoming_read("r2", "OLD1"), car).outcome is Outcome.VIOLATION


def test_a_misread_permitted_plate_is_reviewed(sessions: sessionmaker[Session], session: Session) -> None:
    add_permit(session, "B123ABC")
    service, car = EnforcementService(sessions), device(session)
    verdict = service.answer(incoming_read("r1", "8123A8C"), car)
    assert (verdict.outcome, verdict.reason, verdict.candidate_plate) == (
        Outcome.NEEDS_REVIEW,
        Reason.AMBIGUOUS_MATCH,
        "B123ABC",
    )


def test_low_confidence_reads_are_reviewed(sessions: sessionmaker[Session], session: Session) -> None:
    service = EnforcementService(sessions, EnforcementPolicy(review_below_confidence=0.5))
    verdict = service.answer(incoming_read("r1", "ZZ999", confidence=0.3), device(session))
    assert (verdict.outcome, verdict.reason) == (Outcome.NEEDS_REVIEW, Reason.LOW_CONFIDENCE)


def test_grace_after_expiry(sessions: sessionmaker[Session], session: Session) -> None:
    now = utc_now()
    add_permit(session, "B1", valid_from=now - timedelta(days=30), valid_until=now - timedelta(minutes=5))
    strict, lenient = EnforcementService(sessions), EnforcementService(sessions, EnforcementPolicy(grace_minutes=10))
    car = device(session)
    assert strict.answer(incoming_read("r1", "B1"), car).reason is Reason.EXPIRED
    assert lenient.answer(incoming_read("r2", "B1"), car).outcome is Outcome.PERMITTED


def test_a_batch_decides_as_one_by_one_would(sessions: sessionmaker[Session], session: Session) -> None:
    """The same reads answered together and singly get the same outcomes, reasons and permits."""
    residents, _ = city(session)
    add_permit(session, "B58RMB")  # everywhere
    resident = add_permit(session, "B11RES")
    resident.type = session.scalar(select(PermitType).where(PermitType.code == "RES-1"))
    session.add(HotlistEntry(plate="B99HOT", reason="stolen", added_at=utc_now() - timedelta(days=1)))
    session.commit()
    reads = [
        read_at("a", "B58RMB", HOME),
        read_at("b", "B11RES", HOME),
        read_at("c", "B11RES", SHOPS),  # outside its type's zone, but within the shops' time limit
        read_at("d", "B58RM8", HOME),  # a look-alike of a permitted plate
        read_at("e", "B99HOT", FAR),
        read_at("f", "B00NONE", HOME),
    ]
    car = device(session)
    together = EnforcementService(sessions).answer_many([replace(r, read_id=f"batch-{r.read_id}") for r in reads], car)
    singly = [EnforcementService(sessions).answer(r, car) for r in reads]
    assert [(v.outcome, v.reason, v.permit_id, v.zone_id, v.candidate_plate) for v in together] == [
        (v.outcome, v.reason, v.permit_id, v.zone_id, v.candidate_plate) for v in singly
    ]
    assert [v.outcome for v in together] == [
        Outcome.PERMITTED,
        Outcome.PERMITTED,
        Outcome.PERMITTED,
        Outcome.NEEDS_REVIEW,
        Outcome.ALERT,
        Outcome.VIOLATION,
    ]
    assert together[1].zone_id == residents.id and together[2].reason is Reason.WITHIN_TIME_LIMIT


def test_a_batch_with_repeated_and_known_read_ids(sessions: sessionmaker[Session], session: Session) -> None:
    add_permit(session, "B58RMB")
    service, car = EnforcementService(sessions), device(session)
    first = service.answer(incoming_read("known", "B58RMB"), car)
    batch = [
        incoming_read("new", "B00NONE"),
        incoming_read("known", "B00NONE"),  # the stored verdict, not a new one for different text
        incoming_read("new", "B58RMB"),  # repeated in the batch: the first one's verdict
    ]
    verdicts = service.answer_many(batch, car)
    assert [v.read_id for v in verdicts] == ["new", "known", "new"]
    assert verdicts[1].outcome is first.outcome is Outcome.PERMITTED
    assert verdicts[0] == verdicts[2] and verdicts[0].outcome is Outcome.VIOLATION
    assert session.scalar(select(func.count()).select_from(VerdictRecord)) == 2


def test_look_alikes_are_found_within_the_policy_s_swaps_only(
    sessions: sessionmaker[Session], session: Session
) -> None:
    # The permitted BIZ3A8C is four look-alike swaps from the read 8123ABC and two from B123A8C: the
    # policy's two swaps reach the second only.
    add_permit(session, "BIZ3A8C")
    service, car = EnforcementService(sessions, EnforcementPolicy(max_lookalike_changes=2)), device(session)
    far = service.answer(incoming_read("r1", "8123ABC"), car)
    assert (far.outcome, far.reason) == (Outcome.VIOLATION, Reason.NO_PERMIT)
    near = service.answer(incoming_read("r2", "B123A8C"), car)
    assert (near.outcome, near.candidate_plate) == (Outcome.NEEDS_REVIEW, "BIZ3A8C")


def test_the_database_folds_plates_as_the_rules_do(session: Session) -> None:
    plates = ["B0O1SZ", "GLQD", "DIZ8", "ABC123", "0QDOILB8S5Z2"]
    for plate in plates:
        add_permit(session, plate)
    stored = dict(session.execute(select(Vehicle.plate, Vehicle.plate_key).where(Vehicle.plate.in_(plates))).all())
    assert stored == {plate: lookalike_key(plate) for plate in plates}


def test_a_permit_type_s_hours_come_from_the_table(sessions: sessionmaker[Session], session: Session) -> None:
    # Weekdays 08:00-18:00, Bucharest time; two permits of the same type share its parsed hours.
    kind = PermitType(
        code="DAY", name="Daytime", hours=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
        timezone="Europe/Bucharest",
    )  # fmt: skip
    session.add(kind)
    session.commit()
    for plate in ("B1DAY", "B2DAY"):
        season = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 11, 1, tzinfo=UTC))
        add_permit(session, plate, *season).type = kind
    session.commit()
    service, car = EnforcementService(sessions), device(session)
    monday_noon = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 12:00 in Bucharest
    sunday_noon = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    for n, plate in enumerate(("B1DAY", "B2DAY")):
        assert service.answer(incoming_read(f"w{n}", plate, monday_noon), car).outcome is Outcome.PERMITTED
        off = service.answer(incoming_read(f"s{n}", plate, sunday_noon), car)
        assert (off.outcome, off.reason) == (Outcome.VIOLATION, Reason.OUTSIDE_HOURS)


def test_a_new_zone_is_used_by_the_next_verdict(sessions: sessionmaker[Session], session: Session) -> None:
    service, car = EnforcementService(sessions), device(session)
    assert service.answer(read_at("r1", "ZZ999", HOME), car).reason is Reason.OUTSIDE_ZONES
    residents, _ = city(session)
    later = service.answer(read_at("r2", "ZZ999", HOME), car)
    assert (later.outcome, later.reason, later.zone_id) == (Outcome.VIOLATION, Reason.NO_PERMIT, residents.id)


def test_a_new_time_limited_zone_finds_the_stay_s_first_read(sessions: sessionmaker[Session], session: Session) -> None:
    # The zone is drawn after the vehicle's first read: the next verdict, which first looks with the zones the
    # service had (none), must reload them and then look for the stay's earlier reads.
    service, car = EnforcementService(sessions), device(session)
    assert service.answer(read_at("r1", "CAR1", SHOPS, minutes_ago=150), car).reason is Reason.OUTSIDE_ZONES
    _, shops = city(session)
    later = service.answer(read_at("r2", "CAR1", (SHOPS[0] + 0.0001, SHOPS[1])), car)
    assert (later.outcome, later.reason, later.zone_id, later.first_seen_read_id) == (
        Outcome.VIOLATION,
        Reason.OVERTIME,
        shops.id,
        "r1",
    )
