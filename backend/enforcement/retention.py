"""Retention: plate reads are personal data. Reads that led to no violation are deleted, with their images,
once the policy's time is up; reads behind a violation, a review or an alert are kept as evidence until a
supervisor decides them: a rejected read is purged like a permitted one (its decision stays, without the read,
for the statistics), an accepted one is kept while its citation exists."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.enforcement.permit_mirror import KEEP_KEY_VERSIONS, prune_clock_keys
from backend.review.models import Citation, ReviewDecision
from backend.schedule import Every
from backend.storage.base import utc_now
from backend.storage.engine import begin_writing
from platepatrol.verdicts import Outcome

log = logging.getLogger(__name__)

# Outcomes whose reads are purged when old enough: nothing about them needs a person any more.
PURGEABLE = (Outcome.PERMITTED, Outcome.ERROR)


def purge_reads(session: Session, now: datetime, keep_for: timedelta, batch: int = 5000) -> int:
    """Delete reads older than `keep_for` whose verdict needs no follow-up or that a supervisor decided, unless
    an overtime verdict or a citation still points to them. Returns how many were deleted.

    Each batch is looked for without a lock (the search scans the old reads) and deleted holding SQLite's write
    lock, its reads checked again under it: the cars' verdicts wait only for the deletes, and a read that became
    evidence meanwhile is kept."""
    cutoff = now - keep_for
    deleted = 0
    while True:
        session.commit()  # the search begins a transaction of its own, with no lock
        ids = session.scalars(_purgeable(cutoff).limit(batch)).all()
        if not ids:
            session.commit()
            return deleted
        begin_writing(session)
        ids = session.scalars(_purgeable(cutoff).where(ReadRecord.id.in_(ids))).all()
        session.execute(update(ReviewDecision).where(ReviewDecision.read_id.in_(ids)).values(read_id=None))
        session.execute(delete(VerdictRecord).where(VerdictRecord.read_id.in_(ids)))
        session.execute(delete(ReadRecord).where(ReadRecord.id.in_(ids)))
        session.commit()
        deleted += len(ids)


def _purgeable(cutoff: datetime) -> Select[str]:
    """The ids of the reads the policy lets go: captured before `cutoff`, with a verdict that needs nothing more
    or that a supervisor decided, and no overtime verdict or citation pointing to them."""
    still_evidence = select(VerdictRecord.first_seen_read_id).where(VerdictRecord.first_seen_read_id.is_not(None))
    cited = select(Citation.read_id).where(Citation.read_id.is_not(None))
    decided = select(ReviewDecision.read_id).where(ReviewDecision.read_id.is_not(None))
    return (
        select(ReadRecord.id)
        .join(VerdictRecord, VerdictRecord.read_id == ReadRecord.id)
        .where(ReadRecord.captured_at < cutoff)
        .where(or_(VerdictRecord.outcome.in_(PURGEABLE), ReadRecord.id.in_(decided)))
        .where(ReadRecord.id.not_in(still_evidence), ReadRecord.id.not_in(cited))
    )


def purge_expired(
    session: Session, now: datetime, keep_for: timedelta, keep_key_versions: int = KEEP_KEY_VERSIONS
) -> int:
    """The policy's purge of reads (returns how many), and the permit clock's log of changed keys pruned to its
    recent versions (it serves the serving processes' mirrors, and grows with every permit change)."""
    count = purge_reads(session, now, keep_for)
    begin_writing(session)
    prune_clock_keys(session, keep_key_versions)
    session.commit()
    return count


def retention_schedule(sessions: sessionmaker[Session], keep_for: timedelta, every: timedelta) -> Every:
    """The purge, every `every`, in a background thread of the backend process."""

    def purge() -> None:
        with sessions() as session:
            count = purge_expired(session, utc_now(), keep_for)
        if count:
            log.info("retention: purged %d reads older than %s", count, keep_for)

    return Every("retention", every, purge)
