"""Periodic work in a background thread of the backend process: the retention purge, the portal's chores."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

log = logging.getLogger(__name__)


class Every:
    """Runs `work` every `interval` until stopped. A run that fails is logged and tried again next time: periodic
    work must never take the service down."""

    def __init__(self, name: str, interval: timedelta, work: Callable[[], None]) -> None:
        self.name = name
        self._interval = interval
        self._work = work
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval.total_seconds()):
            try:
                self._work()
            except Exception:
                log.exception("%s failed; it runs again in %s", self.name, self._interval)
