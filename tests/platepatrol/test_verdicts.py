import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta

import pytest

from platepatrol.verdicts import (
    LOOKALIKE_GROUPS,
    Outcome,
    PermitView,
    Policy,
    Reason,
    Seen,
    Sighting,
    Window,
    ZoneView,
    decide,
    lookalike_changes,
    lookalike_key,
    lookalike_variants,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
DAY = timedelta(days=1)
CENTRE = ZoneView("z-centre", "CENTRE")
NORTH = ZoneView("z-north", "NORTH")
LIMITED = ZoneView("z-limited", "SHOPS", time_limit=timedelta(hours=2))


def permit(
    code: str,
    start: datetime = NOW - DAY,
    end: datetime = NOW + DAY,
    active: bool = True,
    zones: Iterable[str] = (),
    hours: tuple[Window, ...] = (),
    revision: int = 1,
) -> PermitView:
    return PermitView(code, code, start, end, active, revision, frozenset(zones), hours, "UTC")


VALID = permit("VALID", revision=3)
EXPIRED = permit("EXPIRED", NOW - 10 * DAY, NOW - DAY)
FUTURE = permit("FUTURE", NOW + DAY, NOW + 10 * DAY)
SUSPENDED = permit("SUSPENDED", active=False)
ENDS_NOW = permit("ENDS_NOW", NOW - DAY, NOW)
STARTS_NOW = permit("STARTS_NOW", NOW, NOW + DAY)
CENTRE_ONLY = permit("CENTRE_ONLY", zones=["z-centre"])
WEEKDAY_NIGHTS = permit("NIGHTS", hours=(Window(frozenset(range(5)), time(18), time(8)),))


def seen(**changes: object) -> Seen:
    values: dict[str, object] = {"plate": "B123ABC", "at": NOW}
    values.update(changes)
    return Seen(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("permits", "zone", "outcome", "reason", "decider"),
    [
        ([], None, Outcome.VIOLATION, Reason.NO_PERMIT, None),
        ([VALID], None, Outcome.PERMITTED, Reason.VALID_PERMIT, "VALID"),
        ([EXPIRED], None, Outcome.VIOLATION, Reason.EXPIRED, "EXPIRED"),
        ([FUTURE], None, Outcome.VIOLATION, Reason.NOT_YET_VALID, "FUTURE"),
        ([SUSPENDED], None, Outcome.VIOLATION, Reason.SUSPENDED, "SUSPENDED"),
        ([EXPIRED, VALID, SUSPENDED], None, Outcome.PERMITTED, Reason.VALID_PERMIT, "VALID"),
        ([EXPIRED, FUTURE], None, Outcome.VIOLATION, Reason.EXPIRED, "EXPIRED"),
        ([SUSPENDED, EXPIRED], None, Outcome.VIOLATION, Reason.SUSPENDED, "SUSPENDED"),
        # validity is [valid_from, valid_until): the end instant is no longer covered
        ([ENDS_NOW], None, Outcome.VIOLATION, Reason.EXPIRED, "ENDS_NOW"),
        ([STARTS_NOW], None, Outcome.PERMITTED, Reason.VALID_PERMIT, "STARTS_NOW"),
        # zones
        ([CENTRE_ONLY], CENTRE, Outcome.PERMITTED, Reason.VALID_PERMIT, "CENTRE_ONLY"),
        ([CENTRE_ONLY], NORTH, Outcome.VIOLATION, Reason.WRONG_ZONE, "CENTRE_ONLY"),
        ([VALID], NORTH, Outcome.PERMITTED, Reason.VALID_PERMIT, "VALID"),  # no zones listed: every zone
        ([], CENTRE, Outcome.VIOLATION, Reason.NO_PERMIT, None),
        # hours: a weekday-nights permit at noon on a Wednesday
        ([WEEKDAY_NIGHTS], None, Outcome.VIOLATION, Reason.OUTSIDE_HOURS, "NIGHTS"),
    ],
)
def test_decide(
    permits: list[PermitView], zone: ZoneView | None, outcome: Outcome, reason: Reason, decider: str | None
) -> None:
    decision = decide(seen(zone=zone, zone_known=zone is not None), permits)
    assert (decision.outcome, decision.reason) == (outcome, reason)
    assert (decision.permit.code if decision.permit else None) == decider
    assert "B123ABC" in decision.sentence
    assert decision.zone == zone


@pytest.mark.parametrize(
    ("permits", "words"),
    [
        ([VALID], "valid until 2026-11-26 12:00 UTC"),
        ([permit("LATE", end=datetime(2027, 3, 9, 7, 5, 59, tzinfo=UTC))], "valid until 2027-03-09 07:05 UTC"),
        ([EXPIRED], "expired at 2026-11-24 12:00 UTC"),
        ([FUTURE], "starts only at 2026-11-26 12:00 UTC"),
    ],
)
def test_sentences_give_times_to_the_minute_in_utc(permits: list[PermitView], words: str) -> None:
    assert words in decide(seen(), permits).sentence


@pytest.mark.parametrize(
    ("local", "covered"),
    [
        (datetime(2026, 11, 25, 19, 0, tzinfo=UTC), True),  # Wednesday evening
        (datetime(2026, 11, 26, 7, 59, tzinfo=UTC), True),  # Thursday early morning, the night before
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), False),  # the window ends at 08:00
        (datetime(2026, 11, 28, 7, 0, tzinfo=UTC), True),  # Saturday morning: Friday night's window
        (datetime(2026, 11, 29, 7, 0, tzinfo=UTC), False),  # Sunday morning: Saturday night is not covered
        (datetime(2026, 11, 28, 19, 0, tzinfo=UTC), False),  # Saturday evening
    ],
)
def test_hours_windows_run_past_midnight(local: datetime, covered: bool) -> None:
    assert WEEKDAY_NIGHTS.covers_hours(local) is covered


def test_hours_are_in_the_permit_time_zone() -> None:
    office_hours = PermitView(
        "P",
        "P",
        NOW - DAY,
        NOW + DAY,
        True,
        1,
        frozenset(),
        (Window(frozenset(range(7)), time(9), time(17)),),
        "Europe/Bucharest",
    )
    assert office_hours.covers_hours(datetime(2026, 11, 25, 7, 30, tzinfo=UTC))  # 09:30 in Bucharest
    assert not office_hours.covers_hours(datetime(2026, 11, 25, 15, 30, tzinfo=UTC))  # 17:30 there


def test_grace_period_after_expiry() -> None:
    policy = Policy(grace=timedelta(minutes=15))
    just_expired = permit("P", NOW - DAY, NOW - timedelta(minutes=10))
    assert decide(seen(), [just_expired], policy).outcome is Outcome.PERMITTED
    long_expired = permit("P", NOW - DAY, NOW - timedelta(minutes=20))
    assert decide(seen(), [long_expired], policy).reason is Reason.EXPIRED


def test_the_longest_valid_permit_decides() -> None:
    longer = permit("LONGER", NOW - DAY, NOW + 30 * DAY)
    assert decide(seen(), [VALID, longer]).permit == longer


def test_outside_every_zone_nothing_is_required() -> None:
    decision = decide(seen(zone_known=True, zone=None), [])
    assert (decision.outcome, decision.reason) == (Outcome.PERMITTED, Reason.OUTSIDE_ZONES)


def test_hotlist_alerts_even_with_a_permit() -> None:
    decision = decide(seen(hotlist_reason="reported stolen 2026-11-20"), [VALID])
    assert (decision.outcome, decision.reason) == (Outcome.ALERT, Reason.HOTLIST)
    assert "reported stolen" in decision.sentence


def test_low_confidence_without_a_permit_goes_to_review() -> None:
    policy = Policy(review_below_confidence=0.5)
    decision = decide(seen(confidence=0.4), [], policy)
    assert (decision.outcome, decision.reason) == (Outcome.NEEDS_REVIEW, Reason.LOW_CONFIDENCE)
    assert decide(seen(confidence=0.5), [], policy).outcome is Outcome.VIOLATION
    assert decide(seen(confidence=0.1), [VALID], policy).outcome is Outcome.PERMITTED


def lookup(table: Mapping[str, Sequence[PermitView]]) -> Callable[[Iterable[str]], dict[str, list[PermitView]]]:
    asked: list[str] = []

    def find(plates: Iterable[str]) -> dict[str, list[PermitView]]:
        wanted = list(plates)
        asked.extend(wanted)
        return {plate: list(table[plate]) for plate in wanted if plate in table}

    find.asked = asked  # type: ignore[attr-defined]
    return find


@pytest.mark.parametrize(
    ("read", "alternatives", "permitted"),
    [
        ("B123AB0", (), "B123ABO"),  # O read as 0
        ("8123ABC", (), "B123ABC"),  # B read as 8
        ("B12EABC", ("B123ABC",), "B123ABC"),  # E/3 is no look-alike pair, but the reader offered it
        ("5Z1ABC", (), "S21ABC"),  # two swaps
    ],
)
def test_a_look_alike_of_a_permitted_plate_is_reviewed_never_ticketed(
    read: str, alternatives: tuple[str, ...], permitted: str
) -> None:
    decision = decide(seen(plate=read, alternatives=alternatives), [], Policy(), lookup({permitted: [VALID]}))
    assert (decision.outcome, decision.reason, decision.candidate) == (
        Outcome.NEEDS_REVIEW,
        Reason.AMBIGUOUS_MATCH,
        permitted,
    )


def test_look_alikes_are_not_searched_for_permitted_reads() -> None:
    find = lookup({})
    decide(seen(), [VALID], Policy(), find)
    assert find.asked == []  # type: ignore[attr-defined]


def test_a_look_alike_with_an_expired_permit_does_not_save_a_violation() -> None:
    decision = decide(seen(plate="8123ABC"), [], Policy(), lookup({"B123ABC": [EXPIRED]}))
    assert decision.outcome is Outcome.VIOLATION


@pytest.mark.parametrize(
    ("plate", "max_changes", "expected"),
    [
        ("", 2, set()),
        ("XYW", 2, set()),
        ("B", 1, {"8"}),
        ("O", 1, {"0", "Q", "D"}),
        ("B1", 1, {"81", "BI", "BL"}),
        ("B1", 2, {"81", "BI", "BL", "8I", "8L"}),
    ],
)
def test_lookalike_variants(plate: str, max_changes: int, expected: set[str]) -> None:
    assert lookalike_variants(plate, max_changes) == expected


def test_within_the_time_limit_anyone_may_park() -> None:
    first = Sighting("r0", NOW - timedelta(minutes=90))
    decision = decide(seen(zone=LIMITED, zone_known=True, first_seen=first), [])
    assert (decision.outcome, decision.reason) == (Outcome.PERMITTED, Reason.WITHIN_TIME_LIMIT)
    never_seen = decide(seen(zone=LIMITED, zone_known=True), [])
    assert never_seen.reason is Reason.WITHIN_TIME_LIMIT


def test_overtime_is_a_violation_with_both_reads() -> None:
    first = Sighting("r0", NOW - timedelta(hours=2, minutes=5))
    decision = decide(seen(zone=LIMITED, zone_known=True, first_seen=first), [])
    assert (decision.outcome, decision.reason, decision.first_seen) == (Outcome.VIOLATION, Reason.OVERTIME, first)
    assert "2 h 05 min" in decision.sentence


def test_a_permit_exempts_from_the_time_limit() -> None:
    first = Sighting("r0", NOW - 5 * DAY)
    assert decide(seen(zone=LIMITED, zone_known=True, first_seen=first), [VALID]).outcome is Outcome.PERMITTED


def test_overtime_on_a_doubtful_read_goes_to_review() -> None:
    first = Sighting("r0", NOW - timedelta(hours=3))
    decision = decide(seen(zone=LIMITED, zone_known=True, first_seen=first, confidence=0.2), [], Policy(0.5))
    assert decision.outcome is Outcome.NEEDS_REVIEW


@pytest.mark.parametrize("plate", ["B123ABC", "O0QD", "XYW", "", "P0012345", "SZ5G6"])
@pytest.mark.parametrize("max_changes", [1, 2, 3])
def test_look_alikes_by_folded_key_are_the_variants(plate: str, max_changes: int) -> None:
    # The backend finds look-alikes among the plates of the same folded key, by counted swaps: over every
    # plate of that key, that must give the variants exactly.
    groups = {char: group for group in LOOKALIKE_GROUPS for char in group}
    same_key = {"".join(chars) for chars in itertools.product(*(groups.get(char, char) for char in plate))}
    assert {lookalike_key(other) for other in same_key} == {lookalike_key(plate)}
    found = {other for other in same_key if 0 < (lookalike_changes(plate, other) or 0) <= max_changes}
    assert found == lookalike_variants(plate, max_changes)
    assert lookalike_changes(plate, plate + "1") is None and lookalike_changes("ABC", "ABD") is None


def test_a_look_alike_finder_replaces_the_variants() -> None:
    asked: list[tuple[str, int]] = []

    def finder(plate: str, max_changes: int) -> dict[str, list[PermitView]]:
        asked.append((plate, max_changes))
        return {"B123ABC": [VALID]}

    decision = decide(seen(plate="8123ABC"), [], Policy(max_lookalike_changes=1), lookup({}), finder)
    assert (decision.reason, decision.candidate, asked) == (Reason.AMBIGUOUS_MATCH, "B123ABC", [("8123ABC", 1)])
