from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.devices.tokens import add_device, device_for_token
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.reads import GpsPoint
from backend.enforcement.retention import purge_reads
from backend.enforcement.service import EnforcementService
from backend.permits.models import Zone
from backend.storage.base import utc_now
from tests.backend.factories import add_permit, incoming_read, square


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
