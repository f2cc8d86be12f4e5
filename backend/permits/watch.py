"""The permit table as a stream of changes, for the edges' offline copies: a snapshot, then every revision."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from threading import Event
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from backend.permits.models import Permit, PermitRevision, PermitStatus, PermitType


@dataclass(frozen=True)
class PermitState:
    permit_id: str
    revision: int
    code: str
    plates: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    active: bool
    zone_ids: tuple[str, ...]
    hours: tuple[dict[str, Any], ...]
    timezone: str


@dataclass(frozen=True)
class Change:
    change_id: int
    permit: PermitState | None
    snapshot: bool = False
    snapshot_complete: bool = False


def _from_permit(permit: Permit) -> PermitState:
    return PermitState(
        permit.id,
        permit.revision,
        permit.code,
        tuple(sorted(v.plate for v in permit.vehicles)),
        permit.valid_from,
        permit.valid_until,
        permit.status is PermitStatus.ACTIVE,
        tuple(permit.zone_ids),
        tuple(permit.hours),
        permit.timezone,
    )


def _from_revision(row: PermitRevision) -> PermitState:
    return PermitState(
        row.permit_id,
        row.revision,
        row.code,
        tuple(row.plates),
        row.valid_from,
        row.valid_until,
        row.status is PermitStatus.ACTIVE,
        tuple(row.zone_ids),
        tuple(row.hours),
        row.timezone,
    )


def snapshot(session: Session) -> Iterator[Change]:
    """Every permit as it is now, then the marker; all stamped with the newest change id they include."""
    latest = session.scalar(select(func.coalesce(func.max(PermitRevision.id), 0))) or 0
    permits = session.scalars(
        select(Permit)
        .options(selectinload(Permit.vehicles), selectinload(Permit.type).selectinload(PermitType.zones))
        .order_by(Permit.id)
    )
    for permit in permits:
        yield Change(latest, _from_permit(permit), snapshot=True)
    yield Change(latest, None, snapshot_complete=True)


def changes_after(session: Session, change_id: int, limit: int = 1000) -> list[Change]:
    rows = session.scalars(
        select(PermitRevision).where(PermitRevision.id > change_id).order_by(PermitRevision.id).limit(limit)
    )
    return [Change(row.id, _from_revision(row)) for row in rows]


def watch(sessions: sessionmaker[Session], after_change_id: int, poll_s: float, stop: Event) -> Iterator[Change]:
    """A snapshot (when `after_change_id` is 0), then each change as it is committed, until `stop` is set.

    Changes are found by polling the revisions table, so every backend process sees every other's commits.
    """
    last = after_change_id
    if last == 0:
        with sessions() as session:
            for change in snapshot(session):
                last = change.change_id
                yield change
    while not stop.is_set():
        with sessions() as session:
            batch = changes_after(session, last)
        for change in batch:
            last = change.change_id
            yield change
        if not batch:
            stop.wait(poll_s)
