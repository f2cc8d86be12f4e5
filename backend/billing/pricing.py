"""What a purchase covers and what it costs: pure functions of a type's terms, the moment and the city's time zone.

Periods are computed on the city's calendar (WebConfig.timezone): a month starts at local midnight on the
1st, whatever UTC says, and a day is a local calendar day (23 or 25 hours across a DST change).

Money is integer minor units. Proration keeps the days (or months) left, counting the day (or month) of
purchase as a whole one, and rounds to the nearest minor unit, halves up:

    prorated = round_half_up(price x units left / units in the period)

The quote shows the full price and, as its own line, the negative amount for the part already gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.permits.models import PermitType, Proration, Validity

ROUNDING = "prorated to the nearest cent, halves rounded up"


class NotOnSaleError(ValueError):
    """The type cannot be bought for this moment (a season over, a renewal past the type's dates)."""


@dataclass(frozen=True)
class Terms:
    """A permit type's price and validity: what pricing needs, without the database."""

    name: str
    price_minor: int
    currency: str = "USD"
    validity: Validity = Validity.MONTHS
    months: int | None = 1
    days: int | None = None
    fixed_start: date | None = None
    fixed_end: date | None = None
    proration: Proration = Proration.NONE

    @classmethod
    def of(cls, permit_type: PermitType) -> Terms:
        return cls(
            name=permit_type.name,
            price_minor=permit_type.price_minor,
            currency=permit_type.currency,
            validity=permit_type.validity,
            months=permit_type.months,
            days=permit_type.days,
            fixed_start=permit_type.fixed_start,
            fixed_end=permit_type.fixed_end,
            proration=permit_type.proration,
        )


@dataclass(frozen=True)
class Period:
    """[start, end) as aware UTC datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("periods are aware datetimes")


@dataclass(frozen=True)
class QuoteLine:
    label: str
    amount_minor: int

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "amount_minor": self.amount_minor}


@dataclass(frozen=True)
class Quote:
    """What a purchase covers (`covers`, the permit's validity) within the type's period, priced line by line."""

    period: Period
    covers: Period
    lines: tuple[QuoteLine, ...]
    currency: str

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves up (both non-negative), in integers only."""
    if denominator <= 0 or numerator < 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def type_period(terms: Terms, at: datetime, timezone: str) -> Period:
    """The type's period that `at` falls in (ROLLING: the one starting at `at`)."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    if terms.validity is Validity.FIXED:
        if terms.fixed_start is None or terms.fixed_end is None or terms.fixed_end < terms.fixed_start:
            raise NotOnSaleError(f"{terms.name} has no valid season dates")
        return Period(_midnight(terms.fixed_start, zone), _midnight(terms.fixed_end + timedelta(days=1), zone))
    if terms.validity is Validity.MONTHS:
        months = terms.months or 0
        if months < 1:
            raise NotOnSaleError(f"{terms.name} has no length in months")
        first = local.date().replace(day=1)
        return Period(_midnight(first, zone), _midnight(_add_months(first, months), zone))
    days = terms.days or 0
    if days < 1:
        raise NotOnSaleError(f"{terms.name} has no length in days")
    # Wall-clock days: bought at 15:00, it ends at 15:00 local, DST or not.
    end_local = (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=zone)
    return Period(at.astimezone(UTC), end_local.astimezone(UTC))


def purchase(terms: Terms, now: datetime, timezone: str, renew_from: datetime | None = None) -> tuple[Period, Period]:
    """(the type's period, the part this purchase covers): a new permit from `now`, a renewal from `renew_from`."""
    start = now if renew_from is None else max(now, renew_from)
    period = type_period(terms, start, timezone)
    covers = Period(max(start, period.start).astimezone(UTC), period.end)
    if covers.end <= covers.start:
        what = "the next season is not on sale yet" if renew_from else "its season is over"
        raise NotOnSaleError(f"{terms.name} cannot be bought now: {what}")
    return period, covers


def _local_dates(period: Period, zone: ZoneInfo) -> tuple[date, date]:
    """The first and the last local day a period touches (the end is exclusive)."""
    last = (period.end - timedelta(microseconds=1)).astimezone(zone).date()
    return period.start.astimezone(zone).date(), last


def describe(period: Period, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    first, last = _local_dates(period, zone)
    end_local = period.end.astimezone(zone)
    if end_local.time() != time(0):
        return f"{period.start.astimezone(zone):%Y-%m-%d %H:%M} to {end_local:%Y-%m-%d %H:%M}"
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"


def quote(terms: Terms, now: datetime, timezone: str, renew_from: datetime | None = None) -> Quote:
    """The price of buying (or renewing) now, line by line. Raises NotOnSaleError."""
    if terms.price_minor < 0:
        raise ValueError("a price is never negative")
    period, covers = purchase(terms, now, timezone, renew_from)
    zone = ZoneInfo(timezone)
    lines = [QuoteLine(f"{terms.name}, {describe(period, timezone)}", terms.price_minor)]
    if covers.start > period.start and terms.proration is not Proration.NONE and terms.price_minor > 0:
        first, last = _local_dates(period, zone)
        from_day = covers.start.astimezone(zone).date()
        if terms.proration is Proration.DAILY:
            total = (last - first).days + 1
            left = (last - from_day).days + 1
            unit = "days"
        else:
            total = _month_index(last) - _month_index(first) + 1
            left = _month_index(last) - _month_index(from_day) + 1
            unit = "months"
        if left < total:
            kept = round_half_up(terms.price_minor * left, total)
            lines.append(
                QuoteLine(
                    f"Already gone: {total - left} of {total} {unit} (you pay for {left}; {ROUNDING})",
                    kept - terms.price_minor,
                )
            )
    return Quote(period, covers, tuple(lines), terms.currency)
