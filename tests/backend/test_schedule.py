"""Periodic work: it runs again and again, a failing run does not end it, and stop() ends it."""

from __future__ import annotations

import threading
from datetime import timedelta

from backend.schedule import Every


def test_work_runs_repeatedly_survives_failures_and_stops() -> None:
    runs: list[int] = []
    enough = threading.Event()

    def work() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("a bad run")  # logged; the next run still comes
        if len(runs) >= 4:
            enough.set()

    every = Every("test-work", timedelta(milliseconds=10), work)
    every.start()
    assert enough.wait(5)
    every.stop()
    count = len(runs)
    threading.Event().wait(0.05)
    assert count >= 4 and len(runs) == count  # nothing runs after stop()
