"""Answering reads against the live permit table: look up, decide, store, in one transaction per read."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import EnforcementPolicy
from backend.devices.models import Device
from backend.enforcement.lookups import first_sighting, hotlist_reason, permits_for_plates
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.reads import IncomingRead, VerdictOut
from backend.permits.zones import ZoneMap
from backend.storage.base import utc_now
from backend.storage.engine import WRITES
from platepatrol.verdicts import Decision, Policy, Seen, decide


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


def _stored_verdict(record: VerdictRecord, plate: str) -> VerdictOut:
    return VerdictOut(
        read_id=record.read_id,
        plate=plate,
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


class EnforcementService:
    """The hot path behind the gRPC servicer. Stateless but for a cache of zone shapes that checks the table
    for changes on every call: every answer reads the live tables."""

    def __init__(self, sessions: sessionmaker[Session], policy: EnforcementPolicy | None = None) -> None:
        self._sessions = sessions
        self._policy = policy or EnforcementPolicy()
        self._rules = Policy(
            review_below_confidence=self._policy.review_below_confidence,
            grace=self._policy.grace,
            max_lookalike_changes=self._policy.max_lookalike_changes,
        )
        self._zones = ZoneMap()

    def check(self, plate: str, at: datetime, position: tuple[float, float] | None = None) -> VerdictOut:
        """Judge a plate typed by a person; nothing is stored."""
        with self._sessions() as session:
            looked_up = time.monotonic()
            decision = self._decide(session, plate, at, position)
            return _verdict_out("", plate, decision, utc_now(), time.monotonic() - looked_up)

    def answer(self, read: IncomingRead, device: Device) -> VerdictOut:
        """The verdict for `read`: the stored one if this read id was answered before, else a new one."""
        with self._sessions() as session:
            session.connection(execution_options=WRITES)  # this transaction writes: lock early on SQLite
            stored = self._stored(session, read.read_id)
            if stored is not None:
                return stored
            looked_up = time.monotonic()
            decision = self._decide(
                session,
                read.plate,
                read.captured_at,
                read.position,
                read.confidence,
                tuple(alt.text for alt in read.alternatives),
            )
            verdict = _verdict_out(read.read_id, read.plate, decision, utc_now(), time.monotonic() - looked_up)
            session.add(_read_record(read, device))
            session.add(_verdict_record(verdict))
            try:
                session.commit()
            except IntegrityError:
                # The same read id arrived twice at once (a resend racing the original): keep the first answer.
                session.rollback()
                stored = self._stored(session, read.read_id)
                if stored is None:
                    raise
                return stored
            return verdict

    def _decide(
        self,
        session: Session,
        plate: str,
        at: datetime,
        position: tuple[float, float] | None,
        confidence: float = 1.0,
        alternatives: tuple[str, ...] = (),
    ) -> Decision:
        zone = self._zones.zone_at(session, *position) if position else None
        first_seen = None
        if zone is not None and zone.time_limit is not None and position is not None:
            lookback = min(zone.time_limit * 4, self._policy.overtime_lookback)
            first_seen = first_sighting(session, plate, at, position, self._policy.overtime_distance_m, lookback)
        seen = Seen(
            plate=plate,
            at=at,
            confidence=confidence,
            alternatives=alternatives,
            zone_known=position is not None,
            zone=zone,
            first_seen=first_seen,
            hotlist_reason=hotlist_reason(session, plate, at),
        )
        permits = permits_for_plates(session, [plate]).get(plate, [])
        return decide(seen, permits, self._rules, lambda plates: permits_for_plates(session, plates))

    @staticmethod
    def _stored(session: Session, read_id: str) -> VerdictOut | None:
        row = session.execute(
            select(VerdictRecord, ReadRecord.plate).join(ReadRecord).where(VerdictRecord.read_id == read_id)
        ).first()
        return None if row is None else _stored_verdict(row[0], row[1])


def _read_record(read: IncomingRead, device: Device) -> ReadRecord:
    gps = read.gps
    return ReadRecord(
        id=read.read_id,
        device_id=device.id,
        camera_id=read.camera_id,
        captured_at=read.captured_at,
        plate=read.plate,
        confidence=read.confidence,
        char_confidences=list(read.char_confidences),
        alternatives=[asdict(alt) for alt in read.alternatives],
        frames_voted=read.frames_voted,
        latitude=gps.latitude if gps else None,
        longitude=gps.longitude if gps else None,
        gps_accuracy_m=gps.accuracy_m if gps else None,
        heading_deg=gps.heading_deg if gps else None,
        speed_mps=gps.speed_mps if gps else None,
        vehicle_latitude=read.vehicle_position[0] if read.vehicle_position else None,
        vehicle_longitude=read.vehicle_position[1] if read.vehicle_position else None,
        crop_jpeg=read.crop_jpeg,
        context_jpeg=read.context_jpeg,
    )


def _verdict_record(verdict: VerdictOut) -> VerdictRecord:
    return VerdictRecord(
        read_id=verdict.read_id,
        outcome=verdict.outcome,
        reason=verdict.reason,
        sentence=verdict.sentence,
        permit_id=verdict.permit_id,
        permit_revision=verdict.permit_revision,
        zone_id=verdict.zone_id,
        decided_at=verdict.decided_at,
        permit_data_age_s=verdict.permit_data_age_s,
        first_seen_read_id=verdict.first_seen_read_id,
        candidate_plate=verdict.candidate_plate,
    )
