"""Domain values of a verdict, mirrored one to one by the `platepatrol.v1` enums."""

from __future__ import annotations

import enum


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
