"""Small builders of rows and reads for backend tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from backend.enforcement.reads import IncomingRead
from backend.permits.models import Permit, PermitStatus, Vehicle
from backend.storage.base import utc_now

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


def add_permit(
    session: Session,
    plate: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    status: PermitStatus = PermitStatus.ACTIVE,
    code: str | None = None,
) -> Permit:
    now = utc_now()
    permit = Permit(
        code=code or f"P-{plate}",
        valid_from=valid_from or now - timedelta(days=1),
        valid_until=valid_until or now + timedelta(days=30),
        status=status,
        vehicles=[Vehicle(plate=plate)],
    )
    session.add(permit)
    session.commit()
    return permit


def incoming_read(
    read_id: str, plate: str, captured_at: datetime | None = None, confidence: float = 0.9
) -> IncomingRead:
    return IncomingRead(
        read_id=read_id,
        device_name="car-1",
        camera_id="front",
        captured_at=captured_at or utc_now(),
        plate=plate,
        confidence=confidence,
        char_confidences=(),
        alternatives=(),
        frames_voted=3,
        gps=None,
        vehicle_position=None,
        crop_jpeg=JPEG,
        context_jpeg=None,
    )


def square(lat: float, lon: float, half_m: float) -> str:
    """A GeoJSON square of side 2 * half_m metres centred on (lat, lon)."""
    import json
    import math

    dlat = half_m / 111_320
    dlon = half_m / (111_320 * math.cos(math.radians(lat)))
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat]]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def prepared_database(url: str, permitted_plates: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """Migrate the database at `url`, register device car-1 and give each plate a valid permit.
    Returns the device token and the permit ids."""
    from backend.devices.tokens import add_device
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    engine = make_engine(url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        token = add_device(session, "car-1")
        session.commit()
        permit_ids = [add_permit(session, plate).id for plate in permitted_plates]
    engine.dispose()
    return token, permit_ids
