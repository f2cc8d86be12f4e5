"""Periods and prices at chosen moments: month ends, leap days, DST and time zones where UTC's date differs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.billing.pricing import NotOnSaleError, Terms, describe, purchase, quote, round_half_up
from backend.permits.models import Proration, Validity

NY = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 7, 0), (1, 2, 1), (3, 2, 2), (5, 2, 3), (1, 3, 0), (2, 3, 1), (12000 * 20, 31, 7742), (7, 7, 1)],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


def test_round_half_up_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        round_half_up(1, 0)


MONTHLY_1 = Terms("Monthly", 3100, validity=Validity.MONTHS, months=1, proration=Proration.DAILY)


@pytest.mark.parametrize(
    ("now", "timezone", "period", "covers_from", "total"),
    [
        # The 1st of the month, local midnight: nothing is gone yet.
        (utc(2026, 12, 1, 5, 0), NY, "2026-12-01 to 2026-12-31", utc(2026, 12, 1, 5, 0), 3100),
        # 03:00 UTC on Dec 1 is still Nov 30 in New York: November's permit, 1 day of 30 left.
        (utc(2026, 12, 1, 3, 0), NY, "2026-11-01 to 2026-11-30", utc(2026, 12, 1, 3, 0), 103),
        # The same instant in UTC is December's first day.
        (utc(2026, 12, 1, 3, 0), "UTC", "2026-12-01 to 2026-12-31", utc(2026, 12, 1, 3, 0), 3100),
        # Last day of a 31-day month: 1 of 31 days is paid.
        (utc(2026, 12, 31, 20, 0), NY, "2026-12-01 to 2026-12-31", utc(2026, 12, 31, 20, 0), 100),
        # Leap February: 29 days; bought on the 29th, one day left.
        (utc(2028, 2, 29, 12, 0), NY, "2028-02-01 to 2028-02-29", utc(2028, 2, 29, 12, 0), 107),
        # An ordinary February has 28: bought on the 15th, 14 of 28 left.
        (utc(2027, 2, 15, 12, 0), NY, "2027-02-01 to 2027-02-28", utc(2027, 2, 15, 12, 0), 1550),
        # Auckland is a day ahead of UTC: 12:00 UTC on Jan 31 is Feb 1 there.
        (utc(2027, 1, 31, 12, 0), "Pacific/Auckland", "2027-02-01 to 2027-02-28", utc(2027, 1, 31, 12, 0), 3100),
    ],
)
def test_monthly_daily_proration_on_the_city_calendar(
    now: datetime, timezone: str, period: str, covers_from: datetime, total: int
) -> None:
    priced = quote(MONTHLY_1, now, timezone)
    assert describe(priced.period, timezone) == period
    assert priced.covers.start == covers_from and priced.covers.end == priced.period.end
    assert priced.total_minor == total
    assert sum(line.amount_minor for line in priced.lines) == total


def test_a_month_starts_at_local_midnight_in_utc() -> None:
    period, _ = purchase(MONTHLY_1, utc(2026, 11, 25, 15), NY)
    assert (period.start, period.end) == (utc(2026, 11, 1, 4), utc(2026, 12, 1, 5))  # EDT, then EST


def test_the_proration_line_says_what_is_gone_and_how_it_rounds() -> None:
    priced = quote(MONTHLY_1, utc(2026, 12, 12, 15), NY)
    assert [line.amount_minor for line in priced.lines] == [3100, -1100]
    assert "11 of 31 days" in priced.lines[1].label and "halves rounded up" in priced.lines[1].label


YEARLY = Terms("Resident", 12000, validity=Validity.MONTHS, months=12)


@pytest.mark.parametrize(
    ("proration", "now", "expected"),
    [
        (Proration.NONE, utc(2026, 11, 25, 15), 12000),
        # Bought in November (Nov 2026 - Oct 2027): 1 of 12 months begun is gone... none: November itself counts.
        (Proration.MONTHLY, utc(2026, 11, 25, 15), 12000),
        # A year from Feb 2028 has 366 days (Feb 29, 2028); on Feb 29, 28 days are gone: 338 / 366.
        (Proration.DAILY, utc(2028, 2, 29, 15), round_half_up(12000 * 338, 366)),
    ],
)
def test_yearly_months(proration: Proration, now: datetime, expected: int) -> None:
    terms = Terms("Resident", 12000, validity=Validity.MONTHS, months=12, proration=proration)
    assert quote(terms, now, NY).total_minor == expected


def test_a_yearly_type_prorated_by_months_bought_late() -> None:
    # A 12-month type whose period is the calendar year: FIXED Jan 1 - Dec 31, bought in mid-October.
    terms = Terms(
        "Season",
        12000,
        validity=Validity.FIXED,
        fixed_start=date(2026, 1, 1),
        fixed_end=date(2026, 12, 31),
        proration=Proration.MONTHLY,
    )
    priced = quote(terms, utc(2026, 10, 15, 12), NY)
    assert priced.total_minor == 3000  # October, November, December: 3 of 12
    assert "9 of 12 months" in priced.lines[1].label


def test_fixed_season_before_during_and_after() -> None:
    terms = Terms(
        "Summer",
        9000,
        validity=Validity.FIXED,
        fixed_start=date(2027, 6, 1),
        fixed_end=date(2027, 8, 31),
        proration=Proration.DAILY,
    )
    before = quote(terms, utc(2027, 3, 1, 12), NY)
    assert before.covers.start == utc(2027, 6, 1, 4) and before.total_minor == 9000  # whole season, from its start
    assert before.covers.end == utc(2027, 9, 1, 4)  # the last day is inclusive
    during = quote(terms, utc(2027, 8, 31, 12), NY)
    assert during.total_minor == round_half_up(9000, 92)  # one day of 92 (June 30 + July 31 + August 31)
    with pytest.raises(NotOnSaleError, match="season is over"):
        quote(terms, utc(2027, 9, 1, 4, 0), NY)


def test_rolling_runs_whole_wall_clock_days_across_dst() -> None:
    terms = Terms("Week", 2500, validity=Validity.ROLLING, days=7, proration=Proration.DAILY)
    # 15:00 EDT on Oct 30, 2026; DST ends Nov 1: the permit ends at 15:00 EST, 7 days and 1 hour later.
    priced = quote(terms, utc(2026, 10, 30, 19), NY)
    assert priced.covers == priced.period
    assert priced.covers.end == utc(2026, 11, 6, 20)
    assert priced.total_minor == 2500 and len(priced.lines) == 1
    assert describe(priced.period, NY) == "2026-10-30 15:00 to 2026-11-06 15:00"


@pytest.mark.parametrize(
    ("terms", "renew_from", "start", "end", "total"),
    [
        # A monthly permit ending at the start of March 2028 (local midnight, New York) renews for March.
        (MONTHLY_1, utc(2028, 3, 1, 5), utc(2028, 3, 1, 5), utc(2028, 4, 1, 4), 3100),
        # Renewing a yearly permit: the next 12 months, full price.
        (YEARLY, utc(2027, 11, 1, 4), utc(2027, 11, 1, 4), utc(2028, 11, 1, 4), 12000),
        (
            Terms("Week", 2500, validity=Validity.ROLLING, days=7),
            utc(2026, 12, 3, 18),
            utc(2026, 12, 3, 18),
            utc(2026, 12, 10, 18),
            2500,
        ),
    ],
)
def test_renewal_starts_where_the_permit_ends(
    terms: Terms, renew_from: datetime, start: datetime, end: datetime, total: int
) -> None:
    priced = quote(terms, utc(2026, 11, 25, 15), NY, renew_from=renew_from)
    assert (priced.covers.start, priced.covers.end, priced.total_minor) == (start, end, total)


def test_a_fixed_season_cannot_renew_into_itself() -> None:
    terms = Terms("Summer", 9000, validity=Validity.FIXED, fixed_start=date(2027, 6, 1), fixed_end=date(2027, 8, 31))
    with pytest.raises(NotOnSaleError, match="next season"):
        quote(terms, utc(2027, 8, 20, 12), NY, renew_from=utc(2027, 9, 1, 4))


@pytest.mark.parametrize(
    "terms",
    [
        Terms("No months", 100, validity=Validity.MONTHS, months=0),
        Terms("No days", 100, validity=Validity.ROLLING, days=None),
        Terms("No dates", 100, validity=Validity.FIXED),
        Terms("Backwards", 100, validity=Validity.FIXED, fixed_start=date(2027, 2, 1), fixed_end=date(2027, 1, 1)),
    ],
)
def test_types_without_a_length_are_not_on_sale(terms: Terms) -> None:
    with pytest.raises(NotOnSaleError):
        quote(terms, utc(2026, 11, 25, 15), NY)


def test_a_free_type_has_one_line_of_zero() -> None:
    terms = Terms("Free", 0, proration=Proration.DAILY)
    priced = quote(terms, utc(2026, 11, 25, 15), NY)
    assert [line.amount_minor for line in priced.lines] == [0]
