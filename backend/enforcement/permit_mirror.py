"""The permit data verdicts read (permits by look-alike key, the hotlist), in a serving process's memory as of one
version of the permit clock, and used only while the clock still reads that version.

Every round of reads asks the clock (one tiny query in its own transaction). When it reads the mirror's version,
nothing changed since the mirror was loaded and the round's permits and hotlist come from memory; when it reads
another, the round reads the tables as before and a thread of the mirror's own catches it up. The clock is advanced
by the database's triggers in the changing transaction and committed with it (migration 0009), so a permit change
committed before a round began is never missed: the first verdict after it reads the tables.

Catching up reads again only the look-alike keys the versions since the mirror's changed, which the same triggers
log (migration 0011), and the small hotlist: milliseconds, where loading every permit takes seconds of CPU. When the
log cannot say (a permit type changed, too many keys, or it was pruned past the mirror's version), the mirror is
loaded in full once the changes have settled.
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

from sqlalchemy import BigInteger, Connection, Engine, bindparam, case, delete, select, update
from sqlalchemy.orm import Session

from backend.enforcement.lookups import ALL_HOTLIST, ALL_PERMITS, HotlistHit, PermitsByKey, permit_views, permits_by_key
from backend.permits.models import EVERY_KEY, permit_clock, permit_clock_keys
from backend.storage.plain_select import PlainSelect

log = logging.getLogger(__name__)

_CLOCK_SELECT = select(permit_clock.c.version).where(permit_clock.c.id == 1)
_CLOCK = PlainSelect(lambda _: _CLOCK_SELECT)
# The clock as a column of a round's first query (EnforcementService asks it with the zones' version).
CLOCK_VERSION = _CLOCK_SELECT.scalar_subquery()
_CLOCK_AND_LOG = PlainSelect(
    lambda _: select(permit_clock.c.version, permit_clock.c.keys_from).where(permit_clock.c.id == 1)
)
_KEYS_CHANGED_SINCE = PlainSelect(
    lambda _: (
        select(permit_clock_keys.c.plate_key)
        .where(permit_clock_keys.c.version > bindparam("since", type_=BigInteger))
        .distinct()
    )
)
# Beyond this many changed keys a full load is as cheap; a lookup takes at most KEYS_PER_LOOKUP (PostgreSQL binds at
# most 65,535 parameters, and lists are padded to a power of two).
MAX_CATCH_UP_KEYS = 20_000
KEYS_PER_LOOKUP = 4096
# The log keeps this many versions of keys (`backend purge` prunes the older ones): a serving process catches up
# within a second of a change, and one further behind loads in full.
KEEP_KEY_VERSIONS = 100_000
CATCH_UP_REST_S = 0.05  # at most 20 catch-ups a second while permits keep changing


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


@contextmanager
def _one_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one snapshot of the database (on PostgreSQL a repeatable-read transaction;
    a SQLite transaction reads one snapshot anyway), rolled back at the end: it only reads."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection:
        yield connection
        connection.rollback()


def _whole_hotlist(connection: Connection) -> dict[str, list[HotlistHit]]:
    hotlist: dict[str, list[HotlistHit]] = defaultdict(list)
    for plate, reason, added_at, expires_at in ALL_HOTLIST(connection):
        hotlist[plate].append(HotlistHit(reason, added_at, expires_at))
    return dict(hotlist)


def load_snapshot(engine: Engine) -> MirrorSnapshot:
    """The clock's version and every permit and hotlist entry, read in one snapshot of the database. The clock is
    read first and committed changes advance it, so the data is exactly that version's."""
    with _one_snapshot(engine) as connection:
        version = clock_version(connection)
        permits = permit_views(ALL_PERMITS(connection))
        hotlist = _whole_hotlist(connection)
    return MirrorSnapshot(version, permits, hotlist)


def catch_up(engine: Engine, old: MirrorSnapshot) -> MirrorSnapshot | None:
    """`old` brought to the clock's version, in one snapshot of the database: the permits of the keys changed since
    its version read again, and the hotlist read whole. None when the log cannot say which keys changed (it starts
    after `old`'s version, a permit type or its zones changed, or more than MAX_CATCH_UP_KEYS did): load in full."""
    with _one_snapshot(engine) as connection:
        ((version, keys_from),) = _CLOCK_AND_LOG(connection)
        if version == old.version:
            return old
        if version < old.version or keys_from > old.version + 1:  # a database restored from before, or a pruned log
            return None
        keys = sorted({key for (key,) in _KEYS_CHANGED_SINCE(connection, since=old.version)})
        if EVERY_KEY in keys or len(keys) > MAX_CATCH_UP_KEYS:
            return None
        changed: PermitsByKey = {}
        for start in range(0, len(keys), KEYS_PER_LOOKUP):
            changed.update(permits_by_key(connection, keys[start : start + KEYS_PER_LOOKUP]))
        hotlist = _whole_hotlist(connection)
    permits = dict(old.permits)
    for key in keys:
        if key in changed:
            permits[key] = changed[key]
        else:
            permits.pop(key, None)  # its last permit or vehicle is gone
    return MirrorSnapshot(int(version), permits, hotlist)


def prune_clock_keys(session: Session, keep_versions: int = KEEP_KEY_VERSIONS) -> int:
    """Delete the logged keys of all but the last `keep_versions` versions and say so in `keys_from`, in the
    session's transaction (the caller commits). Returns how many were deleted."""
    ((version, keys_from),) = _CLOCK_AND_LOG(session.connection())
    cutoff = int(version) - keep_versions + 1
    if cutoff <= keys_from:
        return 0
    connection = session.connection()
    deleted = connection.execute(delete(permit_clock_keys).where(permit_clock_keys.c.version < cutoff)).rowcount
    # Never backwards: two prunes at once (the schedule and `backend purge`) may each have read another version.
    later = case((permit_clock.c.keys_from > cutoff, permit_clock.c.keys_from), else_=cutoff)
    connection.execute(update(permit_clock).where(permit_clock.c.id == 1).values(keys_from=later))
    return deleted


class PermitMirror:
    """A serving process's mirror of the permit data: `start` loads it, then a daemon thread catches it up after
    each change, or loads it again `settle_s` after the first round that finds the clock moved when it cannot catch
    up (changes come in bursts). The thread holds the mirror weakly: it ends with it."""

    def __init__(self, engine: Engine, settle_s: float = 1.0, catch_up: bool = True) -> None:
        self._engine = engine
        self._settle_s = settle_s
        self._catches_up = catch_up  # False: always load in full
        self._snapshot: MirrorSnapshot | None = None
        self._stale = threading.Event()
        self._closed = threading.Event()
        self.loads = 0  # how many times it was loaded in full
        self.catch_ups = 0  # and caught up from the log

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

    def _catch_up(self) -> bool:
        """Catch the mirror up from the log of changed keys; False when that cannot be done (load it in full)."""
        snapshot = self._snapshot
        caught = catch_up(self._engine, snapshot) if snapshot is not None and self._catches_up else None
        if caught is None:
            return False
        if caught is not snapshot:
            self._snapshot = caught
            self.catch_ups += 1
        return True

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
        stale.clear()  # a round that finds the clock moved during the catch-up or the load sets it again
        mirror = mirror_ref()
        if mirror is None:
            return
        try:
            if not mirror._catch_up():
                del mirror
                if closed.wait(settle_s):
                    return
                stale.clear()
                mirror = mirror_ref()
                if mirror is None:
                    return
                mirror._load()
        except Exception:  # the database is away: rounds read the tables meanwhile; try again after settle_s
            log.exception("bringing the permit mirror up to date failed")
            stale.set()
            del mirror
            if closed.wait(settle_s):
                return
            continue
        del mirror
        if closed.wait(CATCH_UP_REST_S):
            return
