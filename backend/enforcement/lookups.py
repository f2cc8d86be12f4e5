"""What the rules need from the tables, read in the verdict's own transaction: permits, hotlist, sightings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BindParameter, ColumnElement, Connection, Select, and_, bindparam, select

from backend.enforcement.models import ReadRecord, stored_position
from backend.permits.models import (
    HotlistEntry,
    Permit,
    PermitStatus,
    PermitType,
    Vehicle,
    permit_type_zones,
    permit_vehicles,
)
from backend.storage.plain_select import PlainSelect
from platepatrol.geo import distance_m
from platepatrol.hours import parse_hours
from platepatrol.verdicts import PermitView, Sighting, Window

# Found permits of a batch: look-alike key -> plate -> that plate's permits.
PermitsByKey = dict[str, dict[str, list[PermitView]]]


def _permits_of_vehicles() -> Select[*tuple[Any, ...]]:
    """Each permit of each vehicle, one row per zone of its type; `permit_views` reads them."""
    return (
        select(
            Vehicle.plate_key,
            Vehicle.plate,
            Permit.id,
            Permit.code,
            Permit.valid_from,
            Permit.valid_until,
            Permit.status,
            Permit.revision,
            Permit.type_id,
            PermitType.hours,
            PermitType.timezone,
            permit_type_zones.c.zone_id,
        )
        .select_from(Vehicle)
        .join(permit_vehicles, permit_vehicles.c.vehicle_id == Vehicle.id)
        .join(Permit, Permit.id == permit_vehicles.c.permit_id)
        .outerjoin(PermitType, PermitType.id == Permit.type_id)
        .outerjoin(permit_type_zones, permit_type_zones.c.permit_type_id == PermitType.id)
    )


def _hotlist() -> Select[*tuple[Any, ...]]:
    return select(HotlistEntry.plate, HotlistEntry.reason, HotlistEntry.added_at, HotlistEntry.expires_at).order_by(
        HotlistEntry.added_at
    )


# The hot path's statements, compiled once per length of IN list and run as plain SQL (backend.storage.plain_select):
# building and running a select through SQLAlchemy's full path costs more than SQLite takes to run it.
_PERMITS_OF_KEYS = PlainSelect(lambda keys: _permits_of_vehicles().where(Vehicle.plate_key.in_(keys)))
_HOTLIST_OF_PLATES = PlainSelect(lambda plates: _hotlist().where(HotlistEntry.plate.in_(plates)))
# The same for all of them, for a serving process's mirror of the permit data (backend.enforcement.permit_mirror).
ALL_PERMITS = PlainSelect(lambda _: _permits_of_vehicles())
ALL_HOTLIST = PlainSelect(lambda _: _hotlist())


def permits_by_key(connection: Connection, keys: Iterable[str]) -> PermitsByKey:
    """Every permit of every vehicle whose plate folds to one of `keys` (platepatrol.verdicts.lookalike_key),
    as the tables hold them right now: a plate's own permits and its look-alikes' in one indexed query.
    Plain rows, no ORM objects: this is the verdict's hot path."""
    return permit_views(_PERMITS_OF_KEYS(connection, keys))


def permit_views(rows: Iterable[tuple[Any, ...]]) -> PermitsByKey:
    """The permits in rows of `_permits_of_vehicles`, by look-alike key and plate."""
    # A permit's type may list several zones: one row each. Gather them per (key, plate, permit) first, and parse
    # each type's hours once: a batch's permits share a few types.
    first: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    zones: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    hours_of_type: dict[str | None, tuple[Window, ...]] = {}
    for row in rows:
        key, plate, permit_id, *_, type_id, hours, _timezone, zone_id = row
        held = (key, plate, permit_id)
        first.setdefault(held, row)
        if zone_id is not None:
            zones[held].add(zone_id)
        if type_id not in hours_of_type:
            hours_of_type[type_id] = parse_hours(hours or [])
    found: PermitsByKey = defaultdict(lambda: defaultdict(list))
    zone_sets: dict[frozenset[str], frozenset[str]] = {}  # one of each: permits of a type share their type's zones
    for held, row in first.items():
        key, plate, permit_id, code, valid_from, valid_until, status, revision, type_id, _hours, timezone, _ = row
        zone_ids = frozenset(zones.get(held, ()))
        view = PermitView(
            id=permit_id,
            code=code,
            valid_from=valid_from,
            valid_until=valid_until,
            active=status is PermitStatus.ACTIVE,
            revision=revision,
            zone_ids=zone_sets.setdefault(zone_ids, zone_ids),
            hours=hours_of_type[type_id],
            timezone=timezone or "UTC",
        )
        found[key][plate].append(view)
    return {key: dict(plates) for key, plates in found.items()}


@dataclass(frozen=True)
class HotlistHit:
    reason: str
    added_at: datetime
    expires_at: datetime | None

    def live_at(self, at: datetime) -> bool:
        return self.added_at <= at and (self.expires_at is None or self.expires_at > at)


def hotlist_for_plates(connection: Connection, plates: Iterable[str]) -> dict[str, list[HotlistHit]]:
    """Every hotlist entry of these plates, oldest first, for a batch of reads to check at their own times."""
    found: dict[str, list[HotlistHit]] = defaultdict(list)
    for plate, reason, added_at, expires_at in _HOTLIST_OF_PLATES(connection, plates):
        found[plate].append(HotlistHit(reason, added_at, expires_at))
    return dict(found)


class PermitData(Protocol):
    """Where a round's permits and hotlist come from: the tables (`TablePermitData`), or a serving process's mirror
    of them while it is current (backend.enforcement.permit_mirror)."""

    def permits_by_key(self, keys: Iterable[str]) -> PermitsByKey: ...

    def hotlist_for_plates(self, plates: Iterable[str]) -> dict[str, list[HotlistHit]]: ...


@dataclass(frozen=True)
class TablePermitData:
    """The permit data as the connection's transaction reads it from the tables."""

    connection: Connection

    def permits_by_key(self, keys: Iterable[str]) -> PermitsByKey:
        return permits_by_key(self.connection, keys)

    def hotlist_for_plates(self, plates: Iterable[str]) -> dict[str, list[HotlistHit]]:
        return hotlist_for_plates(self.connection, plates)


@dataclass(frozen=True)
class Sighted:
    """A read of a plate at a place: stored, or being decided in the same round as others (a car back from a dead
    zone sends the start and the end of a stay in one batch: neither is stored when the other is decided)."""

    read_id: str
    plate: str
    at: datetime
    position: tuple[float, float]


# A sighting's columns of a stored read (not the evidence images), and the reads of a round's plates in a window.
SIGHTING_COLUMNS = (
    ReadRecord.id,
    ReadRecord.plate,
    ReadRecord.captured_at,
    ReadRecord.latitude,
    ReadRecord.longitude,
    ReadRecord.vehicle_latitude,
    ReadRecord.vehicle_longitude,
)


def sighting_window(plates: list[BindParameter[Any]]) -> ColumnElement[bool]:
    """Stored reads of these plates captured in [`since`, `until`) (bound parameters of those names)."""
    return and_(
        ReadRecord.plate.in_(plates),
        ReadRecord.captured_at >= bindparam("since", type_=ReadRecord.captured_at.type),
        ReadRecord.captured_at < bindparam("until", type_=ReadRecord.captured_at.type),
    )


_STORED_SIGHTINGS = PlainSelect(lambda plates: select(*SIGHTING_COLUMNS).where(sighting_window(plates)))


def stored_sightings(connection: Connection, plates: Iterable[str], since: datetime, until: datetime) -> list[Sighted]:
    """The stored reads of these plates captured in [since, until) with a position: for a whole round of reads in
    one query, and only the columns a sighting needs (not the evidence images)."""
    return sightings_of_rows(_STORED_SIGHTINGS(connection, plates, since=since, until=until))


def sightings_of_rows(rows: Iterable[Sequence[Any]]) -> list[Sighted]:
    """The sightings in rows of SIGHTING_COLUMNS; rows without a read (an outer join's) or a position are none."""
    found = []
    for read_id, plate, captured_at, latitude, longitude, vehicle_latitude, vehicle_longitude in rows:
        position = stored_position(vehicle_latitude, vehicle_longitude, latitude, longitude)
        if read_id is not None and position is not None:
            found.append(Sighted(read_id, plate, captured_at, position))
    return found


def first_sighting(
    seen: Iterable[Sighted],
    at: datetime,
    position: tuple[float, float],
    within_m: float,
    lookback: timedelta,
) -> Sighting | None:
    """The earliest of the `seen` reads of one plate within `lookback` before `at` and `within_m` of `position`:
    where the vehicle's stay began (the electronic chalk mark)."""
    since = at - lookback
    earlier = sorted((read for read in seen if since <= read.at < at), key=lambda read: read.at)
    for read in earlier:
        if distance_m(read.position, position) <= within_m:
            return Sighting(read.read_id, read.at)
    return None
