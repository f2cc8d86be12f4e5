"""The verdict rules every part answers by: pure functions from what a read saw (plate, time, zone, how long
the vehicle has been there) and the permits that could cover it, to an explained decision. The backend decides
with them against the live table; the car, while offline, against its copy.

A wrong ticket is the worst failure this product can have, so anything uncertain goes to a person
(NEEDS_REVIEW) rather than becoming a VIOLATION. Outcomes and reasons mirror the `platepatrol.v1` enums.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


class Outcome(enum.StrEnum):
    PERMITTED = "PERMITTED"
    VIOLATION = "VIOLATION"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    ALERT = "ALERT"
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
    WITHIN_TIME_LIMIT = "WITHIN_TIME_LIMIT"
    OUTSIDE_ZONES = "OUTSIDE_ZONES"
    HOTLIST = "HOTLIST"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    AMBIGUOUS_MATCH = "AMBIGUOUS_MATCH"
    INVALID_READ = "INVALID_READ"


# Characters a camera or an OCR confuses with each other on plates.
LOOKALIKE_GROUPS = ("O0QD", "I1L", "B8", "S5", "Z2", "G6")
_LOOKALIKES = {char: group.replace(char, "") for group in LOOKALIKE_GROUPS for char in group}
# Each look-alike character folded to the digit of its group: plates that may be misreads of each other share
# their folded form, so one indexed equality finds them all (the backend stores it as vehicles.plate_key).
LOOKALIKE_FOLDS = {char: digit for group in LOOKALIKE_GROUPS for digit in group if digit.isdigit() for char in group}
_FOLD = str.maketrans(LOOKALIKE_FOLDS)


@dataclass(frozen=True)
class Window:
    """Hours a permit applies: on `days` (0 = Monday ... 6 = Sunday), from `start` to `end` local time.
    An `end` at or before `start` runs past midnight into the next day."""

    days: frozenset[int]
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        moment = local.time()
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= moment < self.end
        evening = local.weekday() in self.days and moment >= self.start
        morning = (local.weekday() - 1) % 7 in self.days and moment < self.end
        return evening or morning


@dataclass(frozen=True, slots=True)  # slots: a serving process holds one for every permit (backend permit mirror)
class PermitView:
    """What the rules need to know of a permit, as it was when it was read from the table."""

    id: str
    code: str
    valid_from: datetime
    valid_until: datetime  # exclusive
    active: bool
    revision: int
    zone_ids: frozenset[str] = frozenset()  # empty: every zone
    hours: tuple[Window, ...] = ()  # empty: at all hours
    timezone: str = "UTC"

    def in_force(self, at: datetime, grace: timedelta) -> bool:
        return self.valid_from <= at < self.valid_until + grace

    def covers_zone(self, zone: ZoneView | None) -> bool:
        return zone is None or not self.zone_ids or zone.id in self.zone_ids

    def covers_hours(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        return not self.hours or any(window.covers(local) for window in self.hours)

    def covers(self, at: datetime, zone: ZoneView | None, grace: timedelta) -> bool:
        return self.active and self.in_force(at, grace) and self.covers_zone(zone) and self.covers_hours(at)


@dataclass(frozen=True)
class ZoneView:
    id: str
    code: str
    time_limit: timedelta | None = None  # anyone may park this long; permits exempt from the limit


@dataclass(frozen=True)
class Sighting:
    """An earlier read of the same plate near the same place: the start of the vehicle's stay."""

    read_id: str
    at: datetime


@dataclass(frozen=True)
class Seen:
    """What a read says, as the rules need it."""

    plate: str
    at: datetime
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()
    zone_known: bool = False  # the read had a position, so `zone` is a fact (None: in no zone)
    zone: ZoneView | None = None
    first_seen: Sighting | None = None
    hotlist_reason: str | None = None


@dataclass(frozen=True)
class Policy:
    review_below_confidence: float = 0.0
    grace: timedelta = timedelta(0)
    max_lookalike_changes: int = 2


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: Reason
    sentence: str
    permit: PermitView | None = None
    zone: ZoneView | None = None
    first_seen: Sighting | None = None  # the other read, for overtime
    candidate: str | None = None  # the look-alike plate that holds a permit
    details: Mapping[str, str] = field(default_factory=dict)


# Finds the permits of other plates (the reader's alternatives): plate -> its permits.
PermitLookup = Callable[[Iterable[str]], Mapping[str, Sequence[PermitView]]]
# Finds the plates that look like a plate, within some look-alike swaps (itself excluded), that hold permits.
LookalikeFinder = Callable[[str, int], Mapping[str, Sequence[PermitView]]]


def _when(moment: datetime) -> str:
    # By hand: strftime takes twice as long (2.5 µs), and most verdicts' sentences carry a time.
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d} UTC"


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def lookalike_key(plate: str) -> str:
    """`plate` with every look-alike character folded to its group's digit ("B0O1" -> "8001")."""
    return plate.translate(_FOLD)


def lookalike_changes(plate: str, other: str) -> int | None:
    """How many look-alike swaps turn `plate` into `other`; None when no number of them does."""
    if len(plate) != len(other) or lookalike_key(plate) != lookalike_key(other):
        return None
    return sum(a != b for a, b in zip(plate, other, strict=True))


def variant_finder(lookup: PermitLookup) -> LookalikeFinder:
    """Look-alikes found by asking `lookup` for every variant of the plate: for a lookup with no index of
    folded plates (a small cache)."""

    def find(plate: str, max_changes: int) -> Mapping[str, Sequence[PermitView]]:
        return lookup(sorted(lookalike_variants(plate, max_changes)))

    return find


def lookalike_variants(plate: str, max_changes: int = 2) -> set[str]:
    """Every plate that differs from `plate` only by swapping up to `max_changes` look-alike characters."""
    positions = [i for i, char in enumerate(plate) if char in _LOOKALIKES]
    variants: set[str] = set()
    for count in range(1, max_changes + 1):
        for chosen in itertools.combinations(positions, count):
            for swaps in itertools.product(*(_LOOKALIKES[plate[i]] for i in chosen)):
                chars = list(plate)
                for i, swap in zip(chosen, swaps, strict=True):
                    chars[i] = swap
                variants.add("".join(chars))
    return variants


def decide(
    seen: Seen,
    permits: Sequence[PermitView],
    policy: Policy = Policy(),
    lookalike_permits: PermitLookup | None = None,
    lookalikes: LookalikeFinder | None = None,
) -> Decision:
    """Judge one read. `permits` are all the permits of the vehicle with that plate; `lookalike_permits`
    finds those of other plates, asked only when the read is about to be a violation, and `lookalikes` those
    of the plate's look-alikes (by default: every variant, asked of `lookalike_permits`)."""
    plate, zone = seen.plate, seen.zone
    if seen.hotlist_reason:
        return Decision(Outcome.ALERT, Reason.HOTLIST, f"{plate} is on the hotlist: {seen.hotlist_reason}.", zone=zone)
    if seen.zone_known and zone is None:
        return Decision(Outcome.PERMITTED, Reason.OUTSIDE_ZONES, f"{plate} is parked outside every permit zone.")
    covering = [p for p in permits if p.covers(seen.at, zone, policy.grace)]
    if covering:
        best = max(covering, key=lambda p: p.valid_until)
        where = f" in zone {zone.code}" if zone else ""
        return Decision(
            Outcome.PERMITTED,
            Reason.VALID_PERMIT,
            f"{plate} holds permit {best.code}{where}, valid until {_when(best.valid_until)}.",
            best,
            zone,
        )
    if zone is not None and zone.time_limit is not None:
        stay = seen.at - seen.first_seen.at if seen.first_seen else timedelta(0)
        if stay <= zone.time_limit:
            return Decision(
                Outcome.PERMITTED,
                Reason.WITHIN_TIME_LIMIT,
                f"{plate} has been seen here for {_duration(stay)}, within zone {zone.code}'s limit of "
                f"{_duration(zone.time_limit)}.",
                zone=zone,
                first_seen=seen.first_seen,
            )
        assert seen.first_seen is not None
        violation = Decision(
            Outcome.VIOLATION,
            Reason.OVERTIME,
            f"{plate} was first seen here at {_when(seen.first_seen.at)}, {_duration(stay)} ago: over zone "
            f"{zone.code}'s limit of {_duration(zone.time_limit)}, and no permit exempts it.",
            zone=zone,
            first_seen=seen.first_seen,
        )
    else:
        violation = _why_not_permitted(seen, permits, policy.grace)
    return _doubt(seen, violation, policy, lookalike_permits, lookalikes) or violation


def _doubt(
    seen: Seen,
    violation: Decision,
    policy: Policy,
    lookalike_permits: PermitLookup | None,
    lookalikes: LookalikeFinder | None,
) -> Decision | None:
    """A review instead of a violation when the read may not say what it seems to."""
    if seen.confidence < policy.review_below_confidence:
        return Decision(
            Outcome.NEEDS_REVIEW,
            Reason.LOW_CONFIDENCE,
            f"{violation.sentence} But the read's confidence {seen.confidence:.2f} is below "
            f"{policy.review_below_confidence:.2f}: a person must check the plate.",
            violation.permit,
            seen.zone,
            violation.first_seen,
        )
    if lookalike_permits is None:
        return None
    # The reader's own alternatives first, in its order; then the look-alikes, alphabetically.
    candidates = [alt for alt in dict.fromkeys(seen.alternatives) if alt != seen.plate]
    found = dict(lookalike_permits(candidates))
    alike = (lookalikes or variant_finder(lookalike_permits))(seen.plate, policy.max_lookalike_changes)
    candidates += sorted(set(alike) - set(candidates))
    found.update((plate, permits) for plate, permits in alike.items() if plate not in found)
    for candidate in candidates:
        covering = [p for p in found.get(candidate, ()) if p.covers(seen.at, seen.zone, policy.grace)]
        if covering:
            return Decision(
                Outcome.NEEDS_REVIEW,
                Reason.AMBIGUOUS_MATCH,
                f"{seen.plate} has no valid permit, but {candidate}, which looks alike, holds permit "
                f"{covering[0].code}: a person must check the plate.",
                covering[0],
                seen.zone,
                candidate=candidate,
            )
    return None


def _why_not_permitted(seen: Seen, permits: Sequence[PermitView], grace: timedelta) -> Decision:
    """The most telling reason a plate with no covering permit is in violation."""
    plate, at, zone = seen.plate, seen.at, seen.zone

    def violation(reason: Reason, sentence: str, permit: PermitView | None = None) -> Decision:
        return Decision(Outcome.VIOLATION, reason, sentence, permit, zone)

    in_force = [p for p in permits if p.in_force(at, grace)]
    if suspended := [p for p in in_force if not p.active]:
        return violation(
            Reason.SUSPENDED, f"{plate}: permit {suspended[0].code} is suspended or revoked.", suspended[0]
        )
    if elsewhere := [p for p in in_force if not p.covers_zone(zone)]:
        assert zone is not None
        return violation(
            Reason.WRONG_ZONE, f"{plate}: permit {elsewhere[0].code} is not valid in zone {zone.code}.", elsewhere[0]
        )
    if off_hours := [p for p in in_force if not p.covers_hours(at)]:
        return violation(
            Reason.OUTSIDE_HOURS, f"{plate}: permit {off_hours[0].code} does not cover this day and hour.", off_hours[0]
        )
    if expired := [p for p in permits if p.active and p.valid_until + grace <= at]:
        permit = max(expired, key=lambda p: p.valid_until)
        return violation(
            Reason.EXPIRED, f"{plate}: permit {permit.code} expired at {_when(permit.valid_until)}.", permit
        )
    if upcoming := [p for p in permits if p.active and p.valid_from > at]:
        permit = min(upcoming, key=lambda p: p.valid_from)
        return violation(
            Reason.NOT_YET_VALID, f"{plate}: permit {permit.code} starts only at {_when(permit.valid_from)}.", permit
        )
    where = f" for zone {zone.code}" if zone else ""
    return violation(Reason.NO_PERMIT, f"{plate} has no permit{where}.")
