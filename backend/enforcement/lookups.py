"""What the rules need from the tables, read in the verdict's own transaction: permits, hotlist, sightings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.enforcement.models import ReadRecord
from backend.permits.models import HotlistEntry, Permit, PermitStatus, PermitType, Vehicle
from platepatrol.geo import distance_m
from platepatrol.hours import parse_hours
from platepatrol.verdicts import PermitView, Sighting


def permit_view(permit: Permit) -> PermitView:
    return PermitView(
        id=permit.id,
        code=permit.code,
        valid_from=permit.valid_from,
        valid_until=permit.valid_until,
        active=permit.status is PermitStatus.ACTIVE,
        revision=permit.revision,
        zone_ids=frozenset(permit.zone_ids),
        hours=parse_hours(permit.hours),
        timezone=permit.timezone,
    )


def permits_for_plates(session: Session, plates: Iterable[str]) -> dict[str, list[PermitView]]:
    """Every permit of each plate's vehicle, as the table holds it right now."""
    wanted = sorted(set(plates))
    if not wanted:
        return {}
    rows = session.execute(
        select(Vehicle.plate, Permit)
        .join(Permit.vehicles)
        .where(Vehicle.plate.in_(wanted))
        .options(selectinload(Permit.type).selectinload(PermitType.zones))
    )
    found: dict[str, list[PermitView]] = defaultdict(list)
    for plate, permit in rows:
        found[plate].append(permit_view(permit))
    return dict(found)


@dataclass(frozen=True)
class HotlistHit:
    reason: str
    added_at: datetime
    expires_at: datetime | None

    def live_at(self, at: datetime) -> bool:
        return self.added_at <= at and (self.expires_at is None or self.expires_at > at)


def hotlist_for_plates(session: Session, plates: Iterable[str]) -> dict[str, list[HotlistHit]]:
    """Every hotlist entry of these plates, oldest first, for a batch of reads to check at their own times."""
    wanted = sorted(set(plates))
    if not wanted:
        return {}
    found: dict[str, list[HotlistHit]] = defaultdict(list)
    rows = session.execute(
        select(HotlistEntry.plate, HotlistEntry.reason, HotlistEntry.added_at, HotlistEntry.expires_at)
        .where(HotlistEntry.plate.in_(wanted))
        .order_by(HotlistEntry.added_at)
    )
    for plate, reason, added_at, expires_at in rows:
        found[plate].append(HotlistHit(reason, added_at, expires_at))
    return dict(found)


def first_sighting(
    session: Session,
    plate: str,
    at: datetime,
    position: tuple[float, float],
    within_m: float,
    lookback: timedelta,
) -> Sighting | None:
    """The earliest read of `plate` within `lookback` before `at` and `within_m` of `position`: where the
    vehicle's stay began (the electronic chalk mark)."""
    earlier: Sequence[ReadRecord] = session.scalars(
        select(ReadRecord)
        .where(ReadRecord.plate == plate, ReadRecord.captured_at >= at - lookback, ReadRecord.captured_at < at)
        .order_by(ReadRecord.captured_at)
    ).all()
    for read in earlier:
        if read.position is not None and distance_m(read.position, position) <= within_m:
            return Sighting(read.id, read.captured_at)
    return None
