"""The verdict rules every part answers by: pure functions from a plate, a time and the plate's permits to
a decision. The backend decides with them against the live table; the car, while offline, against its copy.

A wrong ticket is the worst failure this product can have, so anything uncertain goes to a person
(NEEDS_REVIEW) rather than becoming a VIOLATION. Outcomes and reasons mirror the `platepatrol.v1` enums.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class Outcome(enum.StrEnum):
    PERMITTED = "PERMITTED"
    VIOLATION = "VIOLATION"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    ERROR = "ERROR"


class Reason(enum.StrEnum):
    VALID_PERMIT = "VALID_PERMIT"
    NO_PERMIT = "NO_PERMIT"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    SUSPENDED = "SUSPENDED"
    WRONG_ZONE = "WRONG_ZONE"
    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    OVERTIME = "OVERTIME"
    HOTLIST = "HOTLIST"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    AMBIGUOUS_MATCH = "AMBIGUOUS_MATCH"
    INVALID_READ = "INVALID_READ"


@dataclass(frozen=True)
class PermitView:
    """What the rules need to know of a permit, as it was when it was read from the table."""

    id: str
    code: str
    zone_id: str | None
    valid_from: datetime
    valid_until: datetime
    active: bool
    revision: int


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: Reason
    sentence: str
    permit: PermitView | None = None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def decide(
    plate: str,
    at: datetime,
    permits: Sequence[PermitView],
    confidence: float = 1.0,
    review_below_confidence: float = 0.0,
) -> Decision:
    """Judge `plate` seen at `at` against `permits` (all permits of the vehicle with that plate)."""
    valid = [p for p in permits if p.active and p.valid_from <= at < p.valid_until]
    if valid:
        best = max(valid, key=lambda p: p.valid_until)
        return Decision(
            Outcome.PERMITTED,
            Reason.VALID_PERMIT,
            f"{plate} holds permit {best.code}, valid until {_when(best.valid_until)}.",
            best,
        )
    if confidence < review_below_confidence:
        return Decision(
            Outcome.NEEDS_REVIEW,
            Reason.LOW_CONFIDENCE,
            f"{plate} has no valid permit, but the read's confidence {confidence:.2f} is below "
            f"{review_below_confidence:.2f}: a person must check the plate.",
        )
    return _why_not_permitted(plate, at, permits)


def _why_not_permitted(plate: str, at: datetime, permits: Sequence[PermitView]) -> Decision:
    """The most telling reason a plate with no valid permit is in violation."""
    covering = [p for p in permits if p.valid_from <= at < p.valid_until]
    if covering:
        permit = covering[0]
        return Decision(
            Outcome.VIOLATION,
            Reason.SUSPENDED,
            f"{plate}: permit {permit.code} covers this time but is suspended or revoked.",
            permit,
        )
    expired = [p for p in permits if p.active and p.valid_until <= at]
    if expired:
        permit = max(expired, key=lambda p: p.valid_until)
        return Decision(
            Outcome.VIOLATION,
            Reason.EXPIRED,
            f"{plate}: permit {permit.code} expired at {_when(permit.valid_until)}.",
            permit,
        )
    upcoming = [p for p in permits if p.active and p.valid_from > at]
    if upcoming:
        permit = min(upcoming, key=lambda p: p.valid_from)
        return Decision(
            Outcome.VIOLATION,
            Reason.NOT_YET_VALID,
            f"{plate}: permit {permit.code} starts only at {_when(permit.valid_from)}.",
            permit,
        )
    return Decision(Outcome.VIOLATION, Reason.NO_PERMIT, f"{plate} has no permit.")
