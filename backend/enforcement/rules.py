"""The verdict rules: pure functions from a plate, a time and the plate's permits to a decision.

A wrong ticket is the worst failure this product can have, so anything uncertain goes to a person
(NEEDS_REVIEW) rather than becoming a VIOLATION.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from backend.enforcement.outcomes import Outcome, Reason
from backend.enforcement.reads import Decision, PermitView


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
