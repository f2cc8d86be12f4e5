"""Permit revisions: every insert or change of a permit bumps its revision and records a copy of it.

This hooks the session's flush, so no code path can change a permit without leaving its trace.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.permits.models import Permit, PermitRevision
from backend.storage.base import new_id, utc_now


def _record(session: Session, permit: Permit) -> None:
    session.add(
        PermitRevision(
            permit_id=permit.id,
            revision=permit.revision,
            recorded_at=utc_now(),
            code=permit.code,
            plates=sorted(vehicle.plate for vehicle in permit.vehicles),
            zone_ids=permit.zone_ids,
            hours=permit.hours,
            timezone=permit.timezone,
            valid_from=permit.valid_from,
            valid_until=permit.valid_until,
            status=permit.status,
        )
    )


@event.listens_for(Session, "before_flush")
def _revise_permits(session: Session, _context: Any, _instances: Any) -> None:
    for permit in [obj for obj in session.new if isinstance(obj, Permit)]:
        permit.id = permit.id or new_id()
        permit.revision = 1
        _record(session, permit)
    for permit in [obj for obj in session.dirty if isinstance(obj, Permit)]:
        if session.is_modified(permit):
            permit.revision = (permit.revision or 0) + 1
            permit.updated_at = utc_now()
            _record(session, permit)
