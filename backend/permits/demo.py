"""Demo permits for the demo clip, as `demo/plates.csv` says: a valid permit, an expired one, or none."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.permits.models import Permit, PermitStatus, PermitType, Vehicle, Zone
from platepatrol.errors import UserError
from platepatrol.plates import normalise_plate

DEMO_PLATES = Path(__file__).resolve().parents[2] / "demo" / "plates.csv"
DEMO_ZONE_CODE = "DEMO-CENTRE"
DEMO_TYPE_CODE = "DEMO-RES"
PERMIT_KINDS = ("valid", "expired", "none")


@dataclass(frozen=True)
class DemoSeed:
    permitted: tuple[str, ...]
    expired: tuple[str, ...]
    unpermitted: tuple[str, ...]


def load_demo_seed(path: Path = DEMO_PLATES) -> DemoSeed:
    """Which plates of the clip get a valid permit, an expired one, or none."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise UserError(f"cannot read demo plates {path}: {error.strerror}") from None
    kinds: dict[str, list[str]] = {kind: [] for kind in PERMIT_KINDS}
    for line, row in enumerate(rows, start=2):
        plate, kind = normalise_plate(row.get("plate") or ""), (row.get("demo_permit") or "").strip()
        if not plate or kind not in kinds:
            raise UserError(f"{path}:{line}: needs a plate and demo_permit one of {', '.join(PERMIT_KINDS)}")
        kinds[kind].append(plate)
    return DemoSeed(tuple(kinds["valid"]), tuple(kinds["expired"]), tuple(kinds["none"]))


def _demo_zone_shape() -> str:
    """A square of about 1 km around the demo route (demo/route.gpx), as GeoJSON (lon, lat)."""
    centre_lat, centre_lon, half = 44.4405, 26.0985, 0.0065
    ring = [
        [centre_lon - half, centre_lat - half],
        [centre_lon + half, centre_lat - half],
        [centre_lon + half, centre_lat + half],
        [centre_lon - half, centre_lat + half],
    ]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def _demo_permit_type(session: Session) -> PermitType:
    zone = session.scalar(select(Zone).where(Zone.code == DEMO_ZONE_CODE))
    if zone is None:
        zone = Zone(code=DEMO_ZONE_CODE, name="Demo city centre")
        session.add(zone)
    zone.geojson = _demo_zone_shape()
    kind = session.scalar(select(PermitType).where(PermitType.code == DEMO_TYPE_CODE))
    if kind is None:
        kind = PermitType(code=DEMO_TYPE_CODE, name="Resident, demo centre", timezone="Europe/Bucharest")
        session.add(kind)
    kind.zones = [zone]
    return kind


def seed_demo(session: Session, now: datetime, seed: DemoSeed) -> None:
    """Load the demo zone, permit type, vehicles and permits; running it again refreshes them around `now`."""
    kind = _demo_permit_type(session)
    windows = {plate: (now - timedelta(days=30), now + timedelta(days=335)) for plate in seed.permitted}
    windows |= {plate: (now - timedelta(days=400), now - timedelta(days=35)) for plate in seed.expired}
    for plate, (valid_from, valid_until) in windows.items():
        _upsert_permit(session, plate, f"DEMO-{plate}", valid_from, valid_until).type = kind
    for plate in seed.unpermitted:
        _vehicle(session, plate)
    session.commit()


def _vehicle(session: Session, plate: str) -> Vehicle:
    vehicle = session.scalar(select(Vehicle).where(Vehicle.plate == plate))
    if vehicle is None:
        vehicle = Vehicle(plate=plate, jurisdiction="RO")
        session.add(vehicle)
    return vehicle


def _upsert_permit(session: Session, plate: str, code: str, valid_from: datetime, valid_until: datetime) -> Permit:
    permit = session.scalar(select(Permit).where(Permit.code == code))
    if permit is None:
        permit = Permit(code=code, holder_name="Demo holder", status=PermitStatus.ACTIVE)
        session.add(permit)
    permit.valid_from, permit.valid_until = valid_from, valid_until
    permit.vehicles = [_vehicle(session, plate)]
    return permit
