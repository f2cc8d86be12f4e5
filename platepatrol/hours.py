"""A permit type's hours, as stored and sent (JSON-like dicts) and as the rules use them (windows), checked."""

from __future__ import annotations

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platepatrol.errors import UserError
from platepatrol.verdicts import Window

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: Any, where: str) -> time:
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
        return time(hours % 24, minutes) if (hours, minutes) == (24, 0) else time(hours, minutes)
    except ValueError:
        raise UserError(f"{where}: {value!r} is not a time of day like 08:30") from None


def parse_hours(raw: list[dict[str, Any]]) -> tuple[Window, ...]:
    """[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}] -> windows; days 0 = Monday."""
    windows = []
    for number, item in enumerate(raw, start=1):
        where = f"hours window {number}"
        if not isinstance(item, dict) or set(item) != {"days", "start", "end"}:
            raise UserError(f"{where} needs exactly: days, start, end")
        days = item["days"]
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise UserError(f"{where}: days must be a non-empty list of 0 (Monday) to 6 (Sunday)")
        start, end = _clock(item["start"], where), _clock(item["end"], where)
        if start == end:
            raise UserError(f"{where}: start and end are the same time")
        windows.append(Window(frozenset(days), start, end))
    return tuple(windows)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"{name!r} is not a time zone name like Europe/Bucharest") from None
    return name


def hours_to_dicts(windows: tuple[Window, ...]) -> list[dict[str, Any]]:
    return [
        {"days": sorted(w.days), "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")} for w in windows
    ]
