"""Flagged reads for the review pages' tests: real verdicts from the enforcement service, in a real zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from backend.devices.tokens import add_device, device_for_token
from backend.enforcement.reads import Alternative, GpsPoint
from backend.enforcement.service import EnforcementService
from backend.permits.models import Zone
from tests.backend.factories import add_permit, incoming_read, square

OLD_TOWN = (44.44, 26.10)


def flagged_reads(sessions: sessionmaker[Session], now: datetime) -> dict[str, str]:
    """A zone, a permit for B123ABC, and three flagged reads: a violation, a look-alike and a doubtful one.
    Returns read ids by kind."""
    with sessions() as session:
        car = device_for_token(session, add_device(session, "car-1"))
        assert car is not None
        session.add(Zone(code="OLD", name="Old Town", geojson=square(*OLD_TOWN, 300)))
        add_permit(session, "B123ABC", valid_from=now - timedelta(days=10), valid_until=now + timedelta(days=10))
        session.commit()
    service = EnforcementService(sessions)
    reads = {
        "violation": replace(
            incoming_read("read-violation", "CJ99XYZ", now - timedelta(hours=3)),
            char_confidences=(0.99, 0.98, 0.97, 0.96, 0.95, 0.55, 0.93),
            alternatives=(Alternative("CJ99XY2", 0.2),),
        ),
        "lookalike": incoming_read("read-lookalike", "B123A8C", now - timedelta(hours=2)),
        "doubtful": incoming_read("read-doubtful", "TM11QQQ", now - timedelta(hours=1), confidence=0.2),
    }
    ids = {}
    for kind, read in reads.items():
        service.answer(replace(read, gps=GpsPoint(*OLD_TOWN, accuracy_m=4.0)), car)
        ids[kind] = read.read_id
    return ids
