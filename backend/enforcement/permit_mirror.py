"""The permit data verdicts read (permits by look-alike key, the hotlist), in a serving process's memory as of one
version of the permit clock, and used only while the clock still reads that version.

Every round of reads asks the clock (one tiny query in its own transaction). When it reads the mirror's version,
nothing changed since the mirror was loaded and the round's permits and hotlist come from memory; when it reads
another, the round reads the tables as before and a thread of the mirror's own loads them anew once the changes
have settled. The clock is advanced by the database's triggers in the changing transaction and committed with it
(migration 0009), so a permit change committed before a round began is never missed: the first verdict after it
reads the tables.
"""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from backend.enforcement.lookups import ALL_HOTLIST, ALL_PERMITS, HotlistHit, PermitsByKey, permit_views
from backend.permits.models import permit_clock
from backend.storage.plain_select import PlainSelect

log = logging.getLogger(__name__)

_CLOCK_SELECT = select(permit_clock.c.version).where(permit_clock.c.id == 1)
_CLOCK = PlainSelect(lambda _: _CLOCK_SELECT)
# The clock as a column of a round's first query (EnforcementService asks it with the zones' version).
CLOCK_VERSION = _CLOCK_SELECT.scalar_subquery()


def clock_version(connection: Connection) -> int:
    """The permit clock's version, as the connection's transaction sees it."""
    ((version,),) = _CLOCK(connection)
    return int(version)


@dataclass(frozen=True)
class MirrorSnapshot:
    """The permit data as of one clock version, ready for the rules: built once when loaded, never changed."""

    version: int
    permits: PermitsByKey  # by look-alike key, then plate
    hotlist: dict[str, list[HotlistHit]]  # by plate, oldest first

    def permits_by_key(self, keys: Iterable[str]) -> PermitsByKey:
        permits = self.permits
        return {key: permits[key] for key in keys if key in permits}

    def hotlist_for_plates(self, plates: Iterable[str]) -> dict[str, list[HotlistHit]]:
        return {plate: self.hotlist[plate] for plate in plates if plate in self.hotlist}


def load_snapshot(engine: Engine) -> MirrorSnapshot:
    """The clock's version and every permit and hotlist entry, read in one snapshot of the database (on PostgreSQL a
    repeatable-read transaction; a SQLite transaction reads one snapshot anyway). The clock is read first and
    committed changes advance it, so the data is exactly that version's."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection:
        version = clock_version(connection)
        permits = permit_views(ALL_PERMITS(connection))
        hotlist: dict[str, list[HotlistHit]] = defaultdict(list)
        for plate, reason, added_at, expires_at in ALL_HOTLIST(connection):
            hotlist[plate].append(HotlistHit(reason, added_at, expires_at))
        connection.rollback()
    return MirrorSnapshot(version, permits, dict(hotlist))


class PermitMirror:
    """A serving process's mirror of the permit data: `start` loads it, then a daemon thread loads it again after
    each change, `settle_s` after the first round that finds the clock moved (changes come in bursts). The thread
    holds the mirror weakly: it ends with it."""

    def __init__(self, engine: Engine, settle_s: float = 1.0) -> None:
        self._engine = engine
        self._settle_s = settle_s
        self._snapshot: MirrorSnapshot | None = None
        self._stale = threading.Event()
        self._closed = threading.Event()
        self.loads = 0  # how many times it was loaded

    def start(self) -> None:
        self._load()
        thread = threading.Thread(
            target=_reload_when_stale,
            args=(weakref.ref(self), self._stale, self._closed, self._settle_s),
            name="permit-mirror",
            daemon=True,
        )
        thread.start()

    def close(self) -> None:
        self._closed.set()
        self._stale.set()

    def at(self, version: int) -> MirrorSnapshot | None:
        """The mirror if it holds `version` of the permit data, else None (and it is loaded again soon)."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return snapshot
        self._stale.set()
        return None

    def _load(self) -> None:
        with _no_collection():
            gc.collect()  # the garbage there is now, so that the freeze below keeps none of it alive for good
            self._snapshot = load_snapshot(self._engine)
            self.loads += 1
            # Take what is alive now, the snapshot above all (hundreds of thousands of objects for 100,000
            # permits), out of the cyclic garbage collector's reach: its full collections scanned it all, stopping
            # every thread for 100-150 ms several times a minute under load. A snapshot holds no reference cycles,
            # so reference counting still frees the last one.
            gc.freeze()


@contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection while the block runs: loading a snapshot allocates so much that the collector
    would otherwise run its full collection five times or more, each longer than the last (0.6 s in all for
    100,000 permits here), stopping every thread each time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _reload_when_stale(
    mirror_ref: weakref.ref[PermitMirror], stale: threading.Event, closed: threading.Event, settle_s: float
) -> None:
    while not closed.is_set():
        if not stale.wait(timeout=10.0):
            if mirror_ref() is None:
                return
            continue
        if closed.wait(settle_s):
            return
        stale.clear()  # a round that finds the clock moved during the load sets it again
        mirror = mirror_ref()
        if mirror is None:
            return
        try:
            mirror._load()
        except Exception:  # the database is away: rounds read the tables meanwhile; try again later
            log.exception("loading the permit mirror failed")
            stale.set()
        del mirror
