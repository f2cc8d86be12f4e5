"""Demo permits for the demo clip: some plates of `demo/plates.csv` permitted, some expired, some with none."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.permits.models import Permit, PermitStatus, Vehicle, Zone
from platepatrol.errors import UserError
from platepatrol.plates import normalise_plate

DEMO_PLATES = Path(__file__).resolve().parents[2] / "demo" / "plates.csv"
DEMO_ZONE_CODE = "DEMO-CENTRE"


@dataclass(frozen=True)
class DemoSeed:
    permitted: tuple[str, ...]
    expired: tuple[str, ...]
    unpermitted: tuple[str, ...]


def load_demo_plates(path: Path = DEMO_PLATES) -> list[str]:
    """The legible plates of the demo clip, in the order they appear."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise UserError(f"cannot read demo plates {path}: {error.strerror}") from None
    plates = [normalise_plate(row["plate"]) for row in rows if row.get("legible", "yes").strip() == "yes"]
    if not plates:
        raise UserError(f"{path} lists no legible plates")
    return plates


def split_demo_plates(plates: list[str]) -> DemoSeed:
    """Every other plate is permitted; of the rest, the first has an expired permit and the others none."""
    permitted = tuple(plates[0::2])
    others = plates[1::2]
    return DemoSeed(permitted=permitted, expired=tuple(others[:1]), unpermitted=tuple(others[1:]))


def seed_demo(session: Session, now: datetime, plates: list[str]) -> DemoSeed:
    """Idempotently load the demo zone, vehicles and permits; returns which plates got what."""
    seed = split_demo_plates(plates)
    zone = session.scalar(select(Zone).where(Zone.code == DEMO_ZONE_CODE))
    if zone is None:
        zone = Zone(code=DEMO_ZONE_CODE, name="Demo city centre")
        session.add(zone)
    windows = {plate: (now - timedelta(days=30), now + timedelta(days=335)) for plate in seed.permitted}
    windows |= {plate: (now - timedelta(days=400), now - timedelta(days=35)) for plate in seed.expired}
    for number, (plate, (valid_from, valid_until)) in enumerate(sorted(windows.items()), start=1):
        _upsert_permit(session, plate, f"DEMO-{number:04d}", valid_from, valid_until)
    for plate in seed.unpermitted:
        _vehicle(session, plate)
    session.commit()
    return seed


def _vehicle(session: Session, plate: str) -> Vehicle:
    vehicle = session.scalar(select(Vehicle).where(Vehicle.plate == plate))
    if vehicle is None:
        vehicle = Vehicle(plate=plate, jurisdiction="RO")
        session.add(vehicle)
    return vehicle


def _upsert_permit(session: Session, plate: str, code: str, valid_from: datetime, valid_until: datetime) -> None:
    permit = session.scalar(select(Permit).where(Permit.code == code))
    if permit is None:
        permit = Permit(code=code, holder_name="Demo holder", status=PermitStatus.ACTIVE)
        session.add(permit)
    else:
        permit.revision += 1
    permit.valid_from, permit.valid_until = valid_from, valid_until
    permit.vehicles = [_vehicle(session, plate)]
