from datetime import UTC, datetime, timedelta

import pytest

from platepatrol.verdicts import Outcome, PermitView, Reason, decide

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def permit(code: str, start: datetime, end: datetime, active: bool = True, revision: int = 1) -> PermitView:
    return PermitView(code, code, None, start, end, active, revision)


VALID = permit("VALID", NOW - DAY, NOW + DAY, revision=3)
EXPIRED = permit("EXPIRED", NOW - 10 * DAY, NOW - DAY)
FUTURE = permit("FUTURE", NOW + DAY, NOW + 10 * DAY)
SUSPENDED = permit("SUSPENDED", NOW - DAY, NOW + DAY, active=False)
ENDS_NOW = permit("ENDS_NOW", NOW - DAY, NOW)
STARTS_NOW = permit("STARTS_NOW", NOW, NOW + DAY)


@pytest.mark.parametrize(
    ("permits", "outcome", "reason", "decider"),
    [
        ([], Outcome.VIOLATION, Reason.NO_PERMIT, None),
        ([VALID], Outcome.PERMITTED, Reason.VALID_PERMIT, "VALID"),
        ([EXPIRED], Outcome.VIOLATION, Reason.EXPIRED, "EXPIRED"),
        ([FUTURE], Outcome.VIOLATION, Reason.NOT_YET_VALID, "FUTURE"),
        ([SUSPENDED], Outcome.VIOLATION, Reason.SUSPENDED, "SUSPENDED"),
        ([EXPIRED, VALID, SUSPENDED], Outcome.PERMITTED, Reason.VALID_PERMIT, "VALID"),
        ([EXPIRED, FUTURE], Outcome.VIOLATION, Reason.EXPIRED, "EXPIRED"),
        ([SUSPENDED, EXPIRED], Outcome.VIOLATION, Reason.SUSPENDED, "SUSPENDED"),
        # validity is [valid_from, valid_until): the end instant is no longer covered
        ([ENDS_NOW], Outcome.VIOLATION, Reason.EXPIRED, "ENDS_NOW"),
        ([STARTS_NOW], Outcome.PERMITTED, Reason.VALID_PERMIT, "STARTS_NOW"),
    ],
)
def test_decide(permits: list[PermitView], outcome: Outcome, reason: Reason, decider: str | None) -> None:
    decision = decide("B123ABC", NOW, permits)
    assert (decision.outcome, decision.reason) == (outcome, reason)
    assert (decision.permit.code if decision.permit else None) == decider
    assert "B123ABC" in decision.sentence


def test_the_longest_valid_permit_decides() -> None:
    longer = permit("LONGER", NOW - DAY, NOW + 30 * DAY)
    assert decide("X1", NOW, [VALID, longer]).permit == longer


def test_low_confidence_without_a_permit_goes_to_review() -> None:
    decision = decide("X1", NOW, [], confidence=0.4, review_below_confidence=0.5)
    assert (decision.outcome, decision.reason) == (Outcome.NEEDS_REVIEW, Reason.LOW_CONFIDENCE)
    assert decide("X1", NOW, [], confidence=0.5, review_below_confidence=0.5).outcome is Outcome.VIOLATION


def test_low_confidence_with_a_valid_permit_is_permitted() -> None:
    assert decide("X1", NOW, [VALID], confidence=0.1, review_below_confidence=0.5).outcome is Outcome.PERMITTED
