"""The supervisors' review queue: flagged reads waiting for a person, accepted as citations or rejected with a
reason, and statistics of the rejections (the false-positive rate) by reason, camera and zone.

Pure database work on a session the caller commits; the web pages and the JSON API call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.service import FormError
from backend.audit.log import audit
from backend.devices.models import Device
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.permits.models import Zone
from backend.review.models import Citation, Decision, ReviewDecision
from backend.storage.engine import WRITES
from platepatrol.verdicts import Outcome

# What a person must look at before anything is sent to a driver.
REVIEWABLE = (Outcome.NEEDS_REVIEW, Outcome.VIOLATION)
PAGE_SIZE = 50
NOTE_MAX = 2000
CITATION_PREFIX = "PP"
NO_ZONE = "no zone"


class UnknownReadError(LookupError):
    """No read with this id (or it was purged)."""


class AlreadyDecidedError(Exception):
    """A read gets one decision; a second one is refused, whoever sends it."""

    def __init__(self, decision: ReviewDecision) -> None:
        super().__init__(f"this read was already {decision.decision.value} on {decision.decided_at:%Y-%m-%d %H:%M} UTC")
        self.decision = decision


# ---- the queue -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """One camera of one car, as the queue's filter and the statistics name it: 'car-1/front'."""

    device_name: str
    camera_id: str

    @property
    def key(self) -> str:
        return f"{self.device_name}/{self.camera_id}"

    @staticmethod
    def parse(key: str) -> Camera | None:
        device, slash, camera = key.partition("/")
        return Camera(device, camera) if slash and device and camera else None


@dataclass(frozen=True)
class QueueItem:
    read_id: str
    captured_at: datetime
    plate: str
    confidence: float
    outcome: Outcome
    reason: str
    sentence: str
    zone_id: str | None
    zone_name: str
    camera: str
    candidate_plate: str | None


@dataclass(frozen=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _pending(*columns: Any, reads: bool = True) -> Select[Any]:
    """Flagged reads without a decision, as only the columns asked for (never the images: they would be
    carried through the sort); `reads=False` leaves the reads and devices out when the verdicts suffice."""
    query = select(*columns).select_from(VerdictRecord)
    if reads:
        query = query.join(ReadRecord, ReadRecord.id == VerdictRecord.read_id)
        query = query.join(Device, Device.id == ReadRecord.device_id)
    return query.where(VerdictRecord.outcome.in_(REVIEWABLE)).where(
        ~exists().where(ReviewDecision.read_id == VerdictRecord.read_id)
    )


def _filtered(query: Select[Any], zone_id: str | None, camera: Camera | None) -> Select[Any]:
    if zone_id:
        query = query.where(VerdictRecord.zone_id == zone_id)
    if camera is not None:
        query = query.where(Device.name == camera.device_name, ReadRecord.camera_id == camera.camera_id)
    return query


def queue(
    session: Session,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    zone_id: str | None = None,
    camera: Camera | None = None,
) -> QueuePage:
    """Flagged reads nobody has decided yet, oldest first (a violation should not wait longest)."""
    page, page_size = max(1, page), max(1, min(page_size, 500))
    total = session.scalar(_filtered(_pending(func.count(), reads=camera is not None), zone_id, camera)) or 0
    columns = (
        ReadRecord.id,
        ReadRecord.captured_at,
        ReadRecord.plate,
        ReadRecord.confidence,
        ReadRecord.camera_id,
        VerdictRecord.outcome,
        VerdictRecord.reason,
        VerdictRecord.sentence,
        VerdictRecord.zone_id,
        VerdictRecord.candidate_plate,
        Device.name,
        Zone.name,
    )
    query = _filtered(_pending(*columns).outerjoin(Zone, Zone.id == VerdictRecord.zone_id), zone_id, camera)
    rows = session.execute(
        query.order_by(ReadRecord.captured_at, ReadRecord.id).limit(page_size).offset((page - 1) * page_size)
    ).all()
    items = tuple(
        QueueItem(
            read_id=read_id,
            captured_at=captured_at,
            plate=plate,
            confidence=confidence,
            outcome=outcome,
            reason=reason.value,
            sentence=sentence,
            zone_id=zone,
            zone_name=zone_name or NO_ZONE,
            camera=Camera(device_name, camera_id).key,
            candidate_plate=candidate,
        )
        for (
            read_id,
            captured_at,
            plate,
            confidence,
            camera_id,
            outcome,
            reason,
            sentence,
            zone,
            candidate,
            device_name,
            zone_name,
        ) in rows
    )
    return QueuePage(items, total, page, page_size)


def queue_filters(session: Session) -> tuple[list[tuple[str, str]], list[str]]:
    """The zones and cameras that have reads waiting: (zone id, name) pairs and camera keys."""
    waiting_zones = _pending(VerdictRecord.zone_id, reads=False).where(VerdictRecord.zone_id.is_not(None)).distinct()
    zones = session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(waiting_zones)).order_by(Zone.name)).all()
    cameras = session.execute(_pending(Device.name, ReadRecord.camera_id).distinct()).all()
    return [(zone_id, name) for zone_id, name in zones], sorted(Camera(d, c).key for d, c in cameras)


def flagged_read(session: Session, read_id: str) -> tuple[ReadRecord, VerdictRecord, ReviewDecision | None]:
    read = session.get(ReadRecord, read_id)
    if read is None:
        raise UnknownReadError(read_id)
    decision = session.scalar(select(ReviewDecision).where(ReviewDecision.read_id == read_id))
    return read, read.verdict, decision


# ---- deciding --------------------------------------------------------------------------------------------


def _reviewable(session: Session, read_id: str) -> tuple[ReadRecord, VerdictRecord]:
    if not session.in_transaction():
        session.connection(execution_options=WRITES)  # this transaction writes: lock early on SQLite
    read, verdict, decision = flagged_read(session, read_id)
    if decision is not None:
        raise AlreadyDecidedError(decision)
    if verdict.outcome not in REVIEWABLE:
        raise FormError({"decision": f"a {verdict.outcome.value} read is not for review"})
    return read, verdict


def _check_note(note: str) -> str:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise FormError({"note": f"the note is too long (up to {NOTE_MAX} characters)"})
    return note


def _record(
    session: Session, read: ReadRecord, verdict: VerdictRecord, decision: ReviewDecision, citation: Citation | None
) -> None:
    """Write the decision (and citation) in a savepoint: a decision sent twice at once loses to the first."""
    try:
        with session.begin_nested():
            session.add(decision)
            if citation is not None:
                session.add(citation)
    except IntegrityError:
        existing = session.scalar(select(ReviewDecision).where(ReviewDecision.read_id == read.id))
        if existing is None:
            raise
        raise AlreadyDecidedError(existing) from None


def _decision(
    read: ReadRecord, verdict: VerdictRecord, kind: Decision, by: str, now: datetime, reason: str, note: str
) -> ReviewDecision:
    return ReviewDecision(
        read_id=read.id,
        decision=kind,
        reason_code=reason,
        note=note,
        decided_by=by,
        decided_at=now,
        camera_id=read.camera_id,
        device_id=read.device_id,
        zone_id=verdict.zone_id,
    )


def reject(
    session: Session,
    read_id: str,
    supervisor_id: str,
    now: datetime,
    reason_code: str,
    reasons: Mapping[str, str],
    note: str = "",
) -> ReviewDecision:
    """Reject a flagged read: no citation; the reason feeds the false-positive statistics. Flushes only."""
    errors: dict[str, str] = {}
    if reason_code not in reasons:
        errors["reason_code"] = "choose a reason from the list"
    try:
        note = _check_note(note)
    except FormError as problem:
        errors |= problem.errors
    if errors:
        raise FormError(errors)
    read, verdict = _reviewable(session, read_id)
    decision = _decision(read, verdict, Decision.REJECTED, supervisor_id, now, reason_code, note)
    _record(session, read, verdict, decision, None)
    audit(session, supervisor_id, "review.reject", "read", read.id, plate=read.plate, reason=reason_code)
    return decision


def accept(
    session: Session,
    read_id: str,
    supervisor_id: str,
    now: datetime,
    amount_minor: int,
    currency: str,
    timezone: str = "UTC",
    note: str = "",
) -> Citation:
    """Accept a flagged read: a citation with the next number of the (city's) year. Flushes only."""
    note = _check_note(note)
    read, verdict = _reviewable(session, read_id)
    decision = _decision(read, verdict, Decision.ACCEPTED, supervisor_id, now, "", note)
    position = read.position
    year = now.astimezone(ZoneInfo(timezone)).year
    for _attempt in range(20):
        citation = Citation(
            number=next_citation_number(session, year),
            read_id=read.id,
            plate=read.plate,
            zone_id=verdict.zone_id,
            reason=_citation_reason(read, verdict),
            amount_minor=amount_minor,
            currency=currency,
            issued_at=now,
            issued_by=supervisor_id,
            observed_at=read.captured_at,
            latitude=position[0] if position else None,
            longitude=position[1] if position else None,
        )
        try:
            _record(session, read, verdict, decision, citation)
        except IntegrityError:
            # Another supervisor took this number a moment ago: take the next one.
            decision = _decision(read, verdict, Decision.ACCEPTED, supervisor_id, now, "", note)
            continue
        audit(session, supervisor_id, "review.accept", "read", read.id, plate=read.plate, citation=citation.number)
        return citation
    raise RuntimeError("could not number the citation: too many supervisors at once")


def _citation_reason(read: ReadRecord, verdict: VerdictRecord) -> str:
    """A violation's sentence as it stands; a doubtful read's sentence is a question, so the citation says what
    the supervisor confirmed instead."""
    if verdict.outcome is Outcome.VIOLATION:
        return verdict.sentence
    return f"{read.plate} had no valid permit here; confirmed on review of the camera evidence."


def next_citation_number(session: Session, year: int) -> str:
    """PP-2026-000123: the year's highest number plus one (the unique index settles a race)."""
    prefix = f"{CITATION_PREFIX}-{year}-"
    highest = session.scalar(select(func.max(Citation.number)).where(Citation.number.like(f"{prefix}%")))
    sequence = int(highest.removeprefix(prefix)) + 1 if highest else 1
    return f"{prefix}{sequence:06d}"


# ---- statistics ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    decided: int
    rejected: int

    @property
    def accepted(self) -> int:
        return self.decided - self.rejected

    @property
    def false_positive_rate(self) -> float:
        """Rejected / decided: how often the system flagged something a person threw out."""
        return self.rejected / self.decided if self.decided else 0.0


@dataclass(frozen=True)
class ReasonCount:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class Statistics:
    start: datetime
    end: datetime  # exclusive
    total: Tally
    by_reason: tuple[ReasonCount, ...]
    by_camera: tuple[Tally, ...]
    by_zone: tuple[Tally, ...]


def statistics(session: Session, start: datetime, end: datetime, reasons: Mapping[str, str]) -> Statistics:
    """Decisions made in [start, end): rejections by reason, and the false-positive rate per camera and zone."""
    in_range = (ReviewDecision.decided_at >= start, ReviewDecision.decided_at < end)
    rejected = func.sum(case((ReviewDecision.decision == Decision.REJECTED, 1), else_=0))
    decided = func.count(ReviewDecision.id)

    by_reason_rows = session.execute(
        select(ReviewDecision.reason_code, func.count())
        .where(*in_range, ReviewDecision.decision == Decision.REJECTED)
        .group_by(ReviewDecision.reason_code)
    ).all()
    counts: dict[str, int] = {code: count for code, count in by_reason_rows}  # noqa: C416
    # Every configured reason, in the configured order, then any retired code still in the records.
    by_reason = [ReasonCount(code, label, counts.pop(code, 0)) for code, label in reasons.items()]
    by_reason += [ReasonCount(code, f"{code} (no longer offered)", count) for code, count in sorted(counts.items())]

    camera_rows = session.execute(
        select(ReviewDecision.device_id, ReviewDecision.camera_id, Device.name, decided, rejected)
        .outerjoin(Device, Device.id == ReviewDecision.device_id)
        .where(*in_range)
        .group_by(ReviewDecision.device_id, ReviewDecision.camera_id, Device.name)
    ).all()
    cameras = [
        (Camera(name or device_id or "?", camera_id).key, n, r) for device_id, camera_id, name, n, r in camera_rows
    ]
    by_camera = sorted((Tally(key, key, n, int(r or 0)) for key, n, r in cameras), key=lambda tally: tally.key)

    zone_rows = session.execute(
        select(ReviewDecision.zone_id, Zone.name, decided, rejected)
        .outerjoin(Zone, Zone.id == ReviewDecision.zone_id)
        .where(*in_range)
        .group_by(ReviewDecision.zone_id, Zone.name)
    ).all()
    by_zone = sorted(
        (
            Tally(zone_id or "", name or (NO_ZONE if zone_id is None else zone_id), n, int(r or 0))
            for zone_id, name, n, r in zone_rows
        ),
        key=lambda tally: tally.label,
    )
    total = Tally("all", "all", sum(t.decided for t in by_zone), sum(t.rejected for t in by_zone))
    return Statistics(start, end, total, tuple(by_reason), tuple(by_camera), tuple(by_zone))
