"""Writers of one SQLite file take turns across processes; PostgreSQL needs no turns."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import pytest

from backend.storage import engine as engine_module
from backend.storage.engine import make_engine, write_turn

HOLD_THE_TURN = """
import sys, time
from backend.storage.engine import make_engine, write_turn
with write_turn(make_engine(sys.argv[1])):
    print("holding", flush=True)
    sys.stdin.readline()  # until the test says so
"""


def test_a_writer_waits_for_another_process_s_turn(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'office.db'}"
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_TURN, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline().strip() == "holding"
    got_it = threading.Event()

    def write() -> None:
        with write_turn(make_engine(url)):
            got_it.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not got_it.wait(timeout=1.0)  # the other process has the turn
    other.stdin.write("done\n")
    other.stdin.flush()
    assert got_it.wait(timeout=30)  # ...and hands it on when it is done
    writer.join()
    assert other.wait(timeout=30) == 0


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    turn = write_turn(make_engine(f"sqlite:///{tmp_path / 'office.db'}"))
    inside, overlaps = [0], []

    def write() -> None:
        for _ in range(200):
            with turn:
                inside[0] += 1
                time.sleep(0.0002)  # another thread runs now: without turns it would be inside too
                overlaps.append(inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(overlaps) == {1}


def test_postgresql_writers_need_no_turns() -> None:
    # No connection is made: the engine only names the server.
    assert isinstance(write_turn(make_engine("postgresql://nobody@127.0.0.1:1/none")), nullcontext)


def test_the_serving_engine_checkpoints_on_a_thread_of_its_own(tmp_path: Path) -> None:
    database = tmp_path / "office.db"
    engine = make_engine(f"sqlite:///{database}", serving=True)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0  # no commit does it
        connection.exec_driver_sql("CREATE TABLE evidence (id INTEGER PRIMARY KEY, jpeg BLOB)")
    with engine.begin() as connection:
        for _ in range(5):
            connection.exec_driver_sql("INSERT INTO evidence (jpeg) VALUES (?)", (bytes(1024 * 1024),))
    deadline = time.monotonic() + 10
    while database.stat().st_size < 5 * 1024 * 1024 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert database.stat().st_size >= 5 * 1024 * 1024  # the log was copied into the database file
    assert any(thread.name == "wal-checkpoint" for thread in threading.enumerate())


def test_the_checkpoint_thread_ends_with_its_engine(tmp_path: Path) -> None:
    before = sum(thread.name == "wal-checkpoint" for thread in threading.enumerate())
    engine = make_engine(f"sqlite:///{tmp_path / 'office.db'}", serving=True)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    del engine
    gc.collect()
    deadline = time.monotonic() + 5
    while sum(thread.name == "wal-checkpoint" for thread in threading.enumerate()) > before:
        assert time.monotonic() < deadline, "the checkpoint thread outlived its engine"
        time.sleep(0.1)


def test_other_engines_keep_sqlite_s_own_checkpoints(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'office.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000


def test_sqlite_files_are_read_through_a_memory_map(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'office.db'}")
    with engine.connect() as connection:
        mapped = connection.exec_driver_sql("PRAGMA mmap_size").scalar()
    assert isinstance(mapped, int) and mapped >= 256 * 1024 * 1024
    engine.dispose()


def test_the_sqlite_log_is_cut_back_when_it_starts_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_WAL_KEEP_BYTES", 256 * 1024)
    database = tmp_path / "office.db"
    engine = make_engine(f"sqlite:///{database}")
    log = Path(f"{database}-wal")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE evidence (image BLOB)")
        connection.exec_driver_sql("INSERT INTO evidence VALUES (randomblob(2000000))")
    assert log.stat().st_size > 1_000_000  # 2 MB of images in the log
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")  # every page copied into the file
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO evidence VALUES (randomblob(100))")  # the log starts over
    assert log.stat().st_size <= 256 * 1024
    engine.dispose()
