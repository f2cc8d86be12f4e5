"""Answering reads against the live permit table: look up and decide a batch of reads, then store it."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Row, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import EnforcementPolicy
from backend.devices.models import Device
from backend.enforcement.lookups import (
    SIGHTING_COLUMNS,
    PermitData,
    PermitsByKey,
    Sighted,
    TablePermitData,
    first_sighting,
    sighting_window,
    sightings_of_rows,
    stored_sightings,
)
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.permit_mirror import CLOCK_VERSION, PermitMirror
from backend.enforcement.reads import IncomingRead, VerdictOut
from backend.permits.zones import ZONES_VERSION, ZoneMap
from backend.storage.base import utc_now
from backend.storage.bulk import BulkInsert
from backend.storage.engine import WRITES, committed_together, one_writer, write_turn
from backend.storage.in_lists import padded
from backend.storage.plain_select import PlainSelect
from platepatrol.verdicts import (
    Decision,
    PermitView,
    Policy,
    Seen,
    Sighting,
    ZoneView,
    decide,
    lookalike_changes,
    lookalike_key,
)


def _verdict_out(read_id: str, plate: str, decision: Decision, decided_at: datetime, age_s: float) -> VerdictOut:
    permit = decision.permit
    return VerdictOut(
        read_id=read_id,
        plate=plate,
        outcome=decision.outcome,
        reason=decision.reason,
        sentence=decision.sentence,
        permit_id=permit.id if permit else None,
        permit_revision=permit.revision if permit else None,
        zone_id=decision.zone.id if decision.zone else None,
        decided_at=decided_at,
        permit_data_age_s=age_s,
        first_seen_read_id=decision.first_seen.read_id if decision.first_seen else None,
        candidate_plate=decision.candidate,
    )


def _stored_verdict(record: Row[*tuple[Any, ...]]) -> VerdictOut:
    """A stored verdict, from a row of the verdicts table with its read's plate."""
    return VerdictOut(
        read_id=record.read_id,
        plate=record.plate,
        outcome=record.outcome,
        reason=record.reason,
        sentence=record.sentence,
        permit_id=record.permit_id,
        permit_revision=record.permit_revision,
        zone_id=record.zone_id,
        decided_at=record.decided_at,
        permit_data_age_s=record.permit_data_age_s,
        first_seen_read_id=record.first_seen_read_id,
        candidate_plate=record.candidate_plate,
    )


class _Spot(NamedTuple):
    """What finding a read's place takes."""

    plate: str
    at: datetime
    position: tuple[float, float] | None  # none when the car had no fix


@dataclass(frozen=True)
class _Place:
    """Where a read was, as the rules need it."""

    zone_known: bool  # the read had a position
    zone: ZoneView | None
    first_seen: Sighting | None  # in a zone with a time limit: the first read of the vehicle's stay there


READS = ReadRecord.metadata.tables[ReadRecord.__tablename__]
VERDICTS = VerdictRecord.metadata.tables[VerdictRecord.__tablename__]
# Plain rows, not ORM objects: the ORM's bulk path and even Core's costs more per row than the database does here.
INSERT_READS = BulkInsert(READS)
INSERT_VERDICTS = BulkInsert(VERDICTS)
# A round's first question: the permit clock's version and the zones' (backend.enforcement.permit_mirror, ZoneMap);
# with reads in zones with a time limit, and the stored reads of their plates, one row each (or none: an outer join
# on a one-row table, so the versions always come back), in the same round trip.
_VERSIONS = PlainSelect(lambda _: select(CLOCK_VERSION, *ZONES_VERSION))
_ONE_ROW = select(literal(1).label("one")).subquery()
_VERSIONS_AND_SIGHTINGS = PlainSelect(
    lambda plates: select(CLOCK_VERSION, *ZONES_VERSION, *SIGHTING_COLUMNS).select_from(
        _ONE_ROW.outerjoin(READS, sighting_window(plates))
    )
)


class _Lookups:
    """What the rules need from the permit data for a batch of reads, fetched at once (from the tables, in a few
    queries inside the batch's own transaction): the permits of every plate and of its look-alikes (one indexed
    lookup by folded plate), and the hotlist. Plates asked for later (the reader's alternatives) are fetched then,
    by their keys."""

    def __init__(self, data: PermitData, plates: Iterable[str]) -> None:
        self._data = data
        wanted = set(plates)
        self._by_key: PermitsByKey = {}
        self._fetch({lookalike_key(plate) for plate in wanted})
        self._hotlist = data.hotlist_for_plates(wanted)

    def _fetch(self, keys: set[str]) -> None:
        missing = keys - self._by_key.keys()
        if missing:
            found = self._data.permits_by_key(missing)
            self._by_key.update({key: found.get(key, {}) for key in missing})

    def permits(self, plates: Iterable[str]) -> dict[str, list[PermitView]]:
        keys = {plate: lookalike_key(plate) for plate in plates}
        self._fetch(set(keys.values()))
        return {plate: self._by_key[key][plate] for plate, key in keys.items() if plate in self._by_key[key]}

    def lookalikes(self, plate: str, max_changes: int) -> dict[str, list[PermitView]]:
        key = lookalike_key(plate)
        self._fetch({key})
        return {
            other: permits
            for other, permits in self._by_key[key].items()
            if other != plate and (changes := lookalike_changes(plate, other)) is not None and changes <= max_changes
        }

    def hotlist_reason(self, plate: str, at: datetime) -> str | None:
        return "; ".join(hit.reason for hit in self._hotlist.get(plate, ()) if hit.live_at(at)) or None


class EnforcementService:
    """The hot path behind the gRPC servicer. Stateless but for a cache of zone shapes that checks the table for
    changes on every batch, and the serving process's mirror of the permit data (if given), used only while the
    permit clock says it is current: every answer reflects the live tables."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: EnforcementPolicy | None = None,
        mirror: PermitMirror | None = None,
    ) -> None:
        self._sessions = sessions
        self._mirror = mirror
        self._policy = policy or EnforcementPolicy()
        self._overtime_lookback = self._policy.overtime_lookback  # a property that builds a timedelta each time
        self._rules = Policy(
            review_below_confidence=self._policy.review_below_confidence,
            grace=self._policy.grace,
            max_lookalike_changes=self._policy.max_lookalike_changes,
        )
        self._zones = ZoneMap()
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, Engine) else None  # else a test's connection
        self._write_turn = write_turn(self._engine) if self._engine else nullcontext()
        self._one_writer = self._engine is None or one_writer(self._engine)
        self._kept = threading.local()  # a thread's kept connections (keep_connections), by whether they write

    def check(self, plate: str, at: datetime, position: tuple[float, float] | None = None) -> VerdictOut:
        """Judge a plate typed by a person; nothing is stored."""
        with self._transaction() as connection:
            looked_up = time.monotonic()
            data, (place,) = self._looked_up(connection, [_Spot(plate, at, position)], pending=[])
            lookups = _Lookups(data, [plate])
            decision = self._decide(lookups, plate, at, place)
            return _verdict_out("", plate, decision, utc_now(), time.monotonic() - looked_up)

    def answer(self, read: IncomingRead, device: Device) -> VerdictOut:
        """The verdict for `read`: the stored one if this read id was answered before, else a new one."""
        return self.answer_many([read], device)[0]

    def answer_many(self, reads: Sequence[IncomingRead], device: Device) -> list[VerdictOut]:
        """Verdicts for reads of one device, in order, decided and stored in one transaction."""
        return self.answer_together([(read, device) for read in reads])

    def answer_together(self, sent: Sequence[tuple[IncomingRead, Device]]) -> list[VerdictOut]:
        """Verdicts for reads, each with the device that sent it, in order: the same verdicts as one by one, for a
        fraction of the round trips to the database. A read id seen before (or twice in the batch) gets the
        verdict stored for it.

        The decisions read the tables as they are when the batch is looked at. On SQLite the new reads and
        verdicts are then stored in a second transaction, the only one that takes the one write turn, so another
        batch can be decided meanwhile; on PostgreSQL, which has many writers at once, deciding and storing are one
        transaction. Reads are taken for new, and looked for among the answered ones only when storing says one
        was not."""
        if not sent:
            return []
        try:
            return self._answer_new(sent, look_for_answered=False)  # the usual case: no read was answered before
        except IntegrityError:
            pass  # some were (a resend after a dropped link): look for their verdicts first
        try:
            return self._answer_new(sent, look_for_answered=True)
        except IntegrityError:
            # A read id stored by another stream since we looked (a resend racing the original): answer one by
            # one, so the reads not involved are stored and the raced one gets the first answer.
            if len(sent) > 1:
                return [self.answer_together([one])[0] for one in sent]
            read_id = sent[0][0].read_id
            with self._transaction() as connection:
                stored = self._stored(connection, [read_id])
            if read_id not in stored:
                raise
            return [stored[read_id]]

    def _answer_new(self, sent: Sequence[tuple[IncomingRead, Device]], look_for_answered: bool) -> list[VerdictOut]:
        if self._one_writer:
            # SQLite: decide in a read transaction, then take the one write turn only to store.
            with self._transaction() as connection:
                answered, fresh = self._decided(connection, sent, look_for_answered)
            if fresh:
                with self._write_turn, self._transaction(writes=True) as connection:
                    _store(connection, fresh, answered)
        else:
            # PostgreSQL has many writers at once: one transaction saves its begin, end and round trips.
            with self._transaction() as connection:
                answered, fresh = self._decided(connection, sent, look_for_answered)
                if fresh and self._engine is None:  # a test's session: it commits
                    _store(connection, fresh, answered)
                elif fresh:
                    with committed_together(connection):  # the inserts and the commit: one round trip, not three
                        _store(connection, fresh, answered)
        return [answered[read.read_id] for read, _ in sent]

    def keep_connections(self) -> None:
        """Let the calling thread keep its connections between transactions instead of taking them from the pool
        and giving them back each time: for the one thread that decides every round (taking and giving back cost
        ~10 % of its time). Any other thread still borrows one per transaction."""
        self._kept.connections = {}

    @contextmanager
    def _transaction(self, writes: bool = False) -> Iterator[Connection]:
        """A connection to look up, decide (and on PostgreSQL store) in, committed when the block ends; with `writes`
        its transaction takes SQLite's write lock up front. A plain connection when the sessions are bound to an
        engine: the hot path needs no ORM, and a session's own bookkeeping costs about as much as SQLite's lookups;
        a session's when they are bound to a test's connection."""
        options = WRITES if writes else {}
        if self._engine is None:
            with self._sessions() as session:
                yield session.connection(execution_options=options)
                session.commit()
            return
        kept: dict[bool, Connection] | None = getattr(self._kept, "connections", None)
        if kept is None:
            with self._engine.connect().execution_options(**options) as connection:
                yield connection
                connection.commit()
            return
        connection = kept.get(writes) or self._engine.connect().execution_options(**options)
        kept[writes] = connection
        try:
            yield connection
            connection.commit()
        except BaseException:
            # Whatever failed (a resent read id, a lost server), the next transaction starts on a fresh connection.
            del kept[writes]
            connection.close()
            raise

    def _decided(
        self, connection: Connection, sent: Sequence[tuple[IncomingRead, Device]], look_for_answered: bool
    ) -> tuple[dict[str, VerdictOut], dict[str, tuple[IncomingRead, Device]]]:
        """The verdicts of every read in `sent`, by read id, and the reads answered for the first time (the
        first of repeated ids wins, in arrival order), read from the tables in the connection's transaction.
        Without `look_for_answered`, every read counts as new: storing one that is not raises IntegrityError."""
        answered = self._stored(connection, [read.read_id for read, _ in sent]) if look_for_answered else {}
        fresh: dict[str, tuple[IncomingRead, Device]] = {}
        for read, device in sent:
            if read.read_id not in answered:
                fresh.setdefault(read.read_id, (read, device))
        if not fresh:
            return answered, fresh
        looked_up = time.monotonic()
        reads = [read for read, _ in fresh.values()]
        spots = [_Spot(read.plate, read.captured_at, read.position) for read in reads]
        data, places = self._looked_up(connection, spots, pending=_sighted(reads))
        lookups = _Lookups(data, {read.plate for read in reads})
        for read, place in zip(reads, places, strict=True):
            alternatives = tuple(alt.text for alt in read.alternatives)
            decision = self._decide(lookups, read.plate, read.captured_at, place, read.confidence, alternatives)
            age = time.monotonic() - looked_up
            answered[read.read_id] = _verdict_out(read.read_id, read.plate, decision, utc_now(), age)
        return answered, fresh

    def _looked_up(
        self, connection: Connection, spots: Sequence[_Spot], pending: Sequence[Sighted]
    ) -> tuple[PermitData, list[_Place]]:
        """Where the permit data comes from (the mirror if it is the version the transaction sees, else the
        tables), and each spot's place: its zone and, in a zone with a time limit, where the vehicle's stay began,
        from the stored reads of those spots' plates and the `pending` reads of the round. The zones are first
        taken as this process has them, so that the versions and the stored reads are one query; if the zones
        changed since, they are reloaded and the places found again."""
        zones = self._zones_of(spots)
        lookbacks = self._lookbacks(zones)
        window = _sighting_window(spots, lookbacks)
        if window is None:
            ((clock, zone_count, zone_latest),) = _VERSIONS(connection)
            stored = []
        else:
            plates, since, until = window
            rows = _VERSIONS_AND_SIGHTINGS(connection, plates, since=since, until=until)
            clock, zone_count, zone_latest = rows[0][:3]
            stored = sightings_of_rows(row[3:] for row in rows)
        if self._zones.refresh(connection, (int(zone_count), zone_latest)):
            zones = self._zones_of(spots)
            lookbacks = self._lookbacks(zones)
            window = _sighting_window(spots, lookbacks)
            stored = stored_sightings(connection, *window) if window is not None else []
        mirrored = self._mirror.at(int(clock)) if self._mirror is not None else None
        places = self._places(spots, zones, lookbacks, [*pending, *stored] if window is not None else [])
        return mirrored or TablePermitData(connection), places

    def _zones_of(self, spots: Sequence[_Spot]) -> list[ZoneView | None]:
        """The zone of each spot with a position, with the zones as last refreshed."""
        zones: list[ZoneView | None] = [None] * len(spots)
        fixed = [(index, spot.position) for index, spot in enumerate(spots) if spot.position is not None]
        for (index, _), zone in zip(fixed, self._zones.locate_many([point for _, point in fixed]), strict=True):
            zones[index] = zone
        return zones

    def _lookbacks(self, zones: Sequence[ZoneView | None]) -> list[timedelta | None]:
        """How far back a stay in each zone may have begun: None where the zone has no time limit."""
        most = self._overtime_lookback
        return [min(zone.time_limit * 4, most) if zone and zone.time_limit is not None else None for zone in zones]

    def _places(
        self,
        spots: Sequence[_Spot],
        zones: Sequence[ZoneView | None],
        lookbacks: Sequence[timedelta | None],
        sightings: Iterable[Sighted],
    ) -> list[_Place]:
        seen: dict[str, list[Sighted]] = defaultdict(list)  # by plate
        for sighted in sightings:
            seen[sighted.plate].append(sighted)
        within_m = self._policy.overtime_distance_m
        places = []
        for (plate, at, position), zone, lookback in zip(spots, zones, lookbacks, strict=True):
            first_seen = None
            if lookback is not None and position is not None:
                first_seen = first_sighting(seen[plate], at, position, within_m, lookback)
            places.append(_Place(position is not None, zone, first_seen))
        return places

    def _decide(
        self,
        lookups: _Lookups,
        plate: str,
        at: datetime,
        place: _Place,
        confidence: float = 1.0,
        alternatives: tuple[str, ...] = (),
    ) -> Decision:
        seen = Seen(
            plate=plate,
            at=at,
            confidence=confidence,
            alternatives=alternatives,
            zone_known=place.zone_known,
            zone=place.zone,
            first_seen=place.first_seen,
            hotlist_reason=lookups.hotlist_reason(plate, at),
        )
        permits = lookups.permits([plate]).get(plate, [])
        return decide(seen, permits, self._rules, lookups.permits, lookups.lookalikes)

    @staticmethod
    def _stored(connection: Connection, read_ids: Sequence[str]) -> dict[str, VerdictOut]:
        """The verdicts already given for any of these read ids (a resend, a read raced by another stream)."""
        rows = connection.execute(
            select(*VERDICTS.c, READS.c.plate)
            .join_from(VERDICTS, READS, VERDICTS.c.read_id == READS.c.id)
            .where(VERDICTS.c.read_id.in_(padded(read_ids)))
        )
        return {row.read_id: _stored_verdict(row) for row in rows}


def _sighting_window(
    spots: Sequence[_Spot], lookbacks: Sequence[timedelta | None]
) -> tuple[set[str], datetime, datetime] | None:
    """The plates and the [since, until) whose stored reads the spots in zones with a time limit (a lookback)
    need; None when no spot is in one."""
    timed = [(spot, lookback) for spot, lookback in zip(spots, lookbacks, strict=True) if lookback is not None]
    if not timed:
        return None
    since = min(spot.at - lookback for spot, lookback in timed)
    return {spot.plate for spot, _ in timed}, since, max(spot.at for spot, _ in timed)


def _sighted(reads: Sequence[IncomingRead]) -> list[Sighted]:
    """The reads of a round that have a position, as sightings of their plates for each other."""
    return [
        Sighted(read.read_id, read.plate, read.captured_at, position)
        for read in reads
        if (position := read.position) is not None
    ]


def _store(
    connection: Connection, fresh: dict[str, tuple[IncomingRead, Device]], answered: dict[str, VerdictOut]
) -> None:
    """Insert the new reads and their verdicts in the connection's transaction."""
    INSERT_READS(connection, [_read_row(read, device) for read, device in fresh.values()])
    INSERT_VERDICTS(connection, [_verdict_row(answered[read_id]) for read_id in fresh])


def _read_row(read: IncomingRead, device: Device) -> dict[str, Any]:
    gps = read.gps
    return {
        "id": read.read_id,
        "device_id": device.id,
        "camera_id": read.camera_id,
        "captured_at": read.captured_at,
        "plate": read.plate,
        "confidence": read.confidence,
        "char_confidences": list(read.char_confidences),
        "alternatives": [asdict(alt) for alt in read.alternatives],
        "frames_voted": read.frames_voted,
        "latitude": gps.latitude if gps else None,
        "longitude": gps.longitude if gps else None,
        "gps_accuracy_m": gps.accuracy_m if gps else None,
        "heading_deg": gps.heading_deg if gps else None,
        "speed_mps": gps.speed_mps if gps else None,
        "vehicle_latitude": read.vehicle_position[0] if read.vehicle_position else None,
        "vehicle_longitude": read.vehicle_position[1] if read.vehicle_position else None,
        "crop_jpeg": read.crop_jpeg,
        "context_jpeg": read.context_jpeg,
        "received_at": utc_now(),
    }


def _verdict_row(verdict: VerdictOut) -> dict[str, Any]:
    return {
        "read_id": verdict.read_id,
        "outcome": verdict.outcome,
        "reason": verdict.reason,
        "sentence": verdict.sentence,
        "permit_id": verdict.permit_id,
        "permit_revision": verdict.permit_revision,
        "zone_id": verdict.zone_id,
        "decided_at": verdict.decided_at,
        "permit_data_age_s": verdict.permit_data_age_s,
        "first_seen_read_id": verdict.first_seen_read_id,
        "candidate_plate": verdict.candidate_plate,
    }
