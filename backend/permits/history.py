""" "Was this plate permitted at that moment, as known then?": permits rebuilt from their revision history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.permits.models import PermitRevision, PermitStatus
from platepatrol.hours import parse_hours
from platepatrol.verdicts import Decision, PermitView, Seen, decide


def permits_as_known(session: Session, plate: str, known_at: datetime) -> list[PermitView]:
    """The permits covering `plate` in their latest revision recorded at or before `known_at`."""
    latest = (
        select(PermitRevision.permit_id, func.max(PermitRevision.id).label("last_id"))
        .where(PermitRevision.recorded_at <= known_at)
        .group_by(PermitRevision.permit_id)
        .subquery()
    )
    rows = session.scalars(select(PermitRevision).join(latest, PermitRevision.id == latest.c.last_id))
    return [
        PermitView(
            id=row.permit_id,
            code=row.code,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            active=row.status is PermitStatus.ACTIVE,
            revision=row.revision,
            zone_ids=frozenset(row.zone_ids),
            hours=parse_hours(row.hours),
            timezone=row.timezone,
        )
        for row in rows
        if plate in row.plates
    ]


def decide_as_of(session: Session, plate: str, at: datetime) -> tuple[Decision, list[PermitView]]:
    """The decision for `plate` at `at` from the permits as they were recorded then (zone not considered)."""
    permits = permits_as_known(session, plate, at)
    return decide(Seen(plate, at), permits), permits
