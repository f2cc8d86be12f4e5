from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.devices.models import Device
from backend.devices.tokens import add_device
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.service import EnforcementService
from backend.permits.models import PermitStatus
from backend.storage.base import utc_now
from platepatrol.verdicts import Outcome, Reason
from tests.backend.factories import JPEG, add_permit, incoming_read


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
