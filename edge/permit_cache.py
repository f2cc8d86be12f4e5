"""The car's copy of the permit table, kept current by `WatchPermits`, for provisional verdicts offline."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from platepatrol.hours import parse_hours
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.verdicts import Decision, PermitView, Policy, Seen, decide


@dataclass(frozen=True)
class CachedPermit:
    view: PermitView
    plates: tuple[str, ...]


def _view(entry: pb.PermitEntry) -> CachedPermit:
    hours = [{"days": list(w.days), "start": w.start, "end": w.end} for w in entry.hours]
    return CachedPermit(
        PermitView(
            id=entry.permit_id,
            code=entry.code,
            valid_from=entry.valid_from.ToDatetime(tzinfo=UTC),
            valid_until=entry.valid_until.ToDatetime(tzinfo=UTC),
            active=entry.active,
            revision=entry.revision,
            zone_ids=frozenset(entry.zone_ids),
            hours=parse_hours(hours),
            timezone=entry.timezone or "UTC",
        ),
        tuple(entry.plates),
    )


class PermitCache:
    """Thread-safe: the watcher applies changes, the patrol loop asks for decisions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._permits: dict[str, CachedPermit] = {}
        self._by_plate: dict[str, set[str]] = defaultdict(set)
        self._staging: dict[str, CachedPermit] | None = None
        self._last_change_id = 0
        self._synced_at: float | None = None  # monotonic time of the last message from the backend

    @property
    def last_change_id(self) -> int:
        with self._lock:
            return self._last_change_id

    @property
    def ready(self) -> bool:
        """True once a whole snapshot has arrived."""
        with self._lock:
            return self._synced_at is not None

    def age_s(self) -> float | None:
        with self._lock:
            return None if self._synced_at is None else time.monotonic() - self._synced_at

    def apply(self, change: pb.PermitChange) -> None:
        with self._lock:
            if change.snapshot:
                if self._staging is None:
                    self._staging = {}
                cached = _view(change.permit)
                self._staging[cached.view.id] = cached
            elif change.snapshot_complete:
                self._replace_all(self._staging or {})
                self._staging = None
            elif change.HasField("permit"):
                self._upsert(_view(change.permit))
            self._last_change_id = max(self._last_change_id, change.change_id)
            if self._staging is None and (change.snapshot_complete or self._synced_at is not None):
                self._synced_at = time.monotonic()

    def permits_for(self, plate: str) -> list[PermitView]:
        with self._lock:
            return [self._permits[permit_id].view for permit_id in self._by_plate.get(plate, ())]

    def decide(self, plate: str, at: datetime, confidence: float = 1.0) -> Decision | None:
        """What the backend would most likely say, from the copy; None before the first snapshot.
        The car knows no zone shapes, hotlist or earlier sightings: the backend's verdict replaces this one."""
        if not self.ready:
            return None
        lookup = self._lookup
        return decide(Seen(plate, at, confidence), self.permits_for(plate), Policy(), lookup)

    def _lookup(self, plates: Iterable[str]) -> dict[str, list[PermitView]]:
        return {plate: self.permits_for(plate) for plate in plates}

    def _replace_all(self, permits: dict[str, CachedPermit]) -> None:
        self._permits = {}
        self._by_plate = defaultdict(set)
        for cached in permits.values():
            self._upsert(cached)

    def _upsert(self, cached: CachedPermit) -> None:
        old = self._permits.get(cached.view.id)
        if old is not None and old.view.revision > cached.view.revision:
            return  # an older copy arrived late (a resumed stream can repeat changes)
        if old is not None:
            for plate in old.plates:
                self._by_plate[plate].discard(cached.view.id)
        self._permits[cached.view.id] = cached
        for plate in cached.plates:
            self._by_plate[plate].add(cached.view.id)
