"""A permit type's hours: parsed and checked as forms and the API send them, and written back the same."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest

from platepatrol.errors import UserError
from platepatrol.hours import check_timezone, hours_to_dicts, parse_hours
from platepatrol.verdicts import Window


def test_windows_round_trip() -> None:
    raw = [{"days": [4, 0, 1], "start": "08:00", "end": "18:30"}, {"days": [5], "start": "22:00", "end": "24:00"}]
    windows = parse_hours(raw)
    assert windows == (
        Window(frozenset({0, 1, 4}), time(8, 0), time(18, 30)),
        Window(frozenset({5}), time(22, 0), time(0, 0)),  # 24:00 is the next midnight: past midnight, as end <= start
    )
    assert hours_to_dicts(windows) == [
        {"days": [0, 1, 4], "start": "08:00", "end": "18:30"},
        {"days": [5], "start": "22:00", "end": "00:00"},
    ]
    assert parse_hours(hours_to_dicts(windows)) == windows
    assert parse_hours([]) == ()


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ([{"days": [0], "start": "08:00"}], "hours window 1 needs exactly: days, start, end"),
        ([{"days": [0], "start": "08:00", "end": "09:00", "zone": "x"}], "needs exactly"),
        (["08:00-18:00"], "needs exactly"),
        ([{"days": [], "start": "08:00", "end": "09:00"}], "days must be a non-empty list"),
        ([{"days": [7], "start": "08:00", "end": "09:00"}], "0 (Monday) to 6 (Sunday)"),
        ([{"days": ["mon"], "start": "08:00", "end": "09:00"}], "0 (Monday) to 6 (Sunday)"),
        ([{"days": [0], "start": "8am", "end": "09:00"}], "'8am' is not a time of day like 08:30"),
        ([{"days": [0], "start": "25:00", "end": "09:00"}], "'25:00' is not a time of day"),
        ([{"days": [0], "start": "08:00", "end": "08:00"}], "start and end are the same time"),
        ([{"days": [0], "start": "08:00", "end": "09:00"}, {"days": [1], "start": "x", "end": "y"}], "hours window 2"),
    ],
)
def test_bad_hours_say_which_window_and_what_is_wrong(raw: list[Any], complaint: str) -> None:
    with pytest.raises(UserError, match=re.escape(complaint)):
        parse_hours(raw)


def test_time_zones_are_checked_by_name() -> None:
    assert check_timezone("Europe/Bucharest") == "Europe/Bucharest"
    for bad in ("Europe/Atlantis", "", "../etc/passwd"):
        with pytest.raises(UserError, match="is not a time zone name like Europe/Bucharest"):
            check_timezone(bad)
