"""Engines and sessions: one place that knows how SQLite and PostgreSQL differ."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from platepatrol.errors import UserError

# Execution option for a session that is going to write: `session.connection(execution_options=WRITES)`.
WRITE_LOCK = "platepatrol_write_lock"
WRITES = {WRITE_LOCK: True}
SQLITE_MMAP_BYTES = 1 << 40
# What SQLite's write-ahead log is cut back to each time it starts over: under a steady stream of reads the
# checkpoints never catch up and the log grows (~0.9 GB in a 20 s bench run); without a limit the file keeps that
# size for good once the load eases.
SQLITE_WAL_KEEP_BYTES = 64 * 1024 * 1024


def make_engine(url: str, serving: bool = False) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout. The serving process's engine
    (`serving`) is tuned for its stream of short transactions: on SQLite a thread of its own copies the
    write-ahead log back into the database file, instead of the commit that happens to fill it (see
    `WalCheckpointer`); on PostgreSQL a connection is not pinged each time it is taken from the pool, a round trip
    per transaction: a connection lost to a restarted database fails one batch, which its car sends again, and
    the pool is then renewed."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"database URL {url!r} is not a SQLAlchemy URL (sqlite:///FILE or postgresql://...)") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, background_checkpoints=serving)
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// means it.
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=not serving)
    raise UserError(f"database {parsed.get_backend_name()!r} is not supported: use SQLite or PostgreSQL")


def _sqlite_engine(url: str, database: str | None, background_checkpoints: bool) -> Engine:
    on_disk = bool(database) and database != ":memory:"
    if on_disk:
        Path(str(database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    checkpointer = WalCheckpointer(engine, Path(str(database))) if background_checkpoints and on_disk else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
        # transactions and savepoints behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Read the file through a memory map, not a read() call per page: deciding and storing a batch of reads
        # costs ~15 % less (1.2 M reads stored). SQLite caps the size at its build's maximum (2 GiB on Debian).
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_KEEP_BYTES}")
        if checkpointer is not None:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread does it
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A transaction that will write takes SQLite's write lock up front: a read-then-write transaction
        # would otherwise fail with "database is locked" when another writer commits in between.
        immediate = connection.get_execution_options().get(WRITE_LOCK, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    if checkpointer is not None:
        checkpointer.start()
    return engine


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file every `every_s`, on a thread of its own.

    By default the commit that brings the log past 1,000 pages does the copy and its fsyncs while holding up the
    next writer: with reads stored in batches that was a third of the cost of answering them (bench backend,
    ~350 -> ~250 us a read). A passive checkpoint never blocks readers or writers. The thread ends with the engine
    (it holds it weakly) or when the file is gone."""

    def __init__(self, engine: Engine, database: Path, every_s: float = 1.0) -> None:
        self._engine = weakref.ref(engine)
        self._database = database
        self._every_s = every_s
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while self._engine() is not None:
                connection = connection or self._connect()
                if connection is not None:
                    try:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    except sqlite3.Error:
                        if not self._database.exists():
                            return
                time.sleep(self._every_s)
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection | None:
        """A connection once the engine has made the file; mode=rw never makes it again once it is removed."""
        try:
            return sqlite3.connect(f"file:{self._database}?mode=rw", uri=True, timeout=30)
        except sqlite3.Error:
            return None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class _SqliteWriteTurn:
    """Turns at writing one SQLite file, for the threads of this process and every process serving the file.
    SQLite has one writer at a time, and a writer that finds it busy sleeps and polls (up to 100 ms a poll);
    a lock file's `flock` instead wakes the next writer the moment the last one is done."""

    def __init__(self, database: Path | None) -> None:
        self._threads = threading.Lock()  # flock is per open file: threads of one process take turns first
        self._path = database.with_name(database.name + ".write-turn") if database else None
        self._file: BinaryIO | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._path is not None:
                if self._file is None:
                    self._file = self._path.open("ab")
                fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def begin_writing(session: Session) -> None:
    """End the session's transaction (committing it) and begin the next holding SQLite's write lock (BEGIN
    IMMEDIATE; on PostgreSQL row locks do the rest). A transaction that reads and then writes must lock up front on
    SQLite: begun deferred, its first write fails at once if another writer (the cars' verdicts, every few
    milliseconds) committed after its first read; locked up front, it waits its turn instead."""
    session.commit()
    session.connection(execution_options=WRITES)


def one_writer(engine: Engine) -> bool:
    """Whether the database lets one transaction write at a time (SQLite), not many (PostgreSQL)."""
    return engine.dialect.name == "sqlite"


@contextmanager
def committed_together(connection: Connection) -> Iterator[None]:
    """Run the block's statements, then commit the connection's transaction. On PostgreSQL the statements and the
    commit go out without waiting for each one's answer and are answered together: one round trip instead of one
    each (psycopg's pipeline mode). SQLite runs in the process: nothing to save there. If anything fails, the
    transaction is rolled back before the error is raised."""
    if connection.dialect.name != "postgresql":
        yield
        connection.commit()
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline():
            yield
            connection.commit()
    except Exception:
        # A commit refused in the pipeline (a duplicate key found when the answers came) leaves the transaction
        # aborted, and SQLAlchemy, which saw the commit begin, would hand the connection back to its pool so.
        driver.rollback()
        raise


def write_turn(engine: Engine) -> AbstractContextManager[None]:
    """Hold while writing a busy stream of transactions: on SQLite, writers take turns without polling; on
    PostgreSQL, which has many writers at once, it is nothing."""
    if not one_writer(engine):
        return nullcontext()
    database = engine.url.database
    return _SqliteWriteTurn(Path(database) if database and database != ":memory:" else None)
