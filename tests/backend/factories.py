"""Small builders of rows and reads for backend tests."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from backend.config import BackendConfig
from backend.enforcement.reads import IncomingRead
from backend.permits.models import Permit, PermitStatus, Vehicle
from backend.server import build_server
from backend.storage.base import utc_now
from backend.storage.engine import WRITE_LOCK, WRITES

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


def add_permit(
    session: Session,
    plate: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    status: PermitStatus = PermitStatus.ACTIVE,
    code: str | None = None,
) -> Permit:
    now = utc_now()
    permit = Permit(
        code=code or f"P-{plate}",
        valid_from=valid_from or now - timedelta(days=1),
        valid_until=valid_until or now + timedelta(days=30),
        status=status,
        vehicles=[Vehicle(plate=plate)],
    )
    session.add(permit)
    session.commit()
    return permit


def incoming_read(
    read_id: str, plate: str, captured_at: datetime | None = None, confidence: float = 0.9
) -> IncomingRead:
    return IncomingRead(
        read_id=read_id,
        device_name="car-1",
        camera_id="front",
        captured_at=captured_at or utc_now(),
        plate=plate,
        confidence=confidence,
        char_confidences=(),
        alternatives=(),
        frames_voted=3,
        gps=None,
        vehicle_position=None,
        crop_jpeg=JPEG,
        context_jpeg=None,
    )


def square(lat: float, lon: float, half_m: float) -> str:
    """A GeoJSON square of side 2 * half_m metres centred on (lat, lon)."""
    import json
    import math

    dlat = half_m / 111_320
    dlon = half_m / (111_320 * math.cos(math.radians(lat)))
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat]]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def prepared_database(url: str, permitted_plates: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """Migrate the database at `url`, register device car-1 and give each plate a valid permit.
    Returns the device token and the permit ids."""
    from backend.devices.tokens import add_device
    from backend.storage.engine import make_engine, make_session_factory
    from backend.storage.migrate import upgrade_to_head

    engine = make_engine(url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        token = add_device(session, "car-1")
        session.commit()
        permit_ids = [add_permit(session, plate).id for plate in permitted_plates]
    engine.dispose()
    return token, permit_ids


# A table of the tests' own for the stand-in writers: a commit must change a page to count (SQLite commits an
# UPDATE that leaves a row as it was without touching the database, and a reader's snapshot stays valid).
_TICKS = "test_writer_ticks"


def _ticking(engine: Engine) -> Connection:
    connection = engine.connect()
    connection.execute(text(f"CREATE TABLE IF NOT EXISTS {_TICKS} (n INTEGER NOT NULL)"))
    connection.execute(text(f"INSERT INTO {_TICKS} (n) VALUES (0)"))
    connection.commit()
    return connection


def _tick(connection: Connection) -> None:
    connection.execute(text(f"UPDATE {_TICKS} SET n = n + 1"))
    connection.commit()


@contextmanager
def another_writer(engine: Engine) -> Iterator[None]:
    """While the block runs, a thread commits one small write after another, as the serving process commits the
    cars' verdicts: on SQLite a transaction that reads and then writes without taking the write lock up front
    fails when one of these commits lands between its first read and its first write, or holds the lock then."""
    stop = threading.Event()
    connection = _ticking(engine).execution_options(**WRITES)

    def keep_writing() -> None:
        while not stop.is_set():
            _tick(connection)
            time.sleep(0)

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()
        connection.close()


@contextmanager
def a_verdict_after_every_read(engine: Engine) -> Iterator[None]:
    """While the block runs, another connection commits a write right after every SELECT of a transaction that has
    not taken the write lock: the worst timing of the cars' verdicts, every time. On SQLite such a transaction then
    fails at its first write ('database is locked'), so any read-then-write that does not lock up front is caught."""
    other = _ticking(engine)
    busy = threading.local()

    def write_after_a_read(connection: Connection, _cursor: object, statement: str, *_: object) -> None:
        if getattr(busy, "writing", False) or connection.get_execution_options().get(WRITE_LOCK):
            return
        if not statement.lstrip().upper().startswith("SELECT"):
            return
        busy.writing = True
        try:
            _tick(other)
        finally:
            busy.writing = False

    event.listen(engine, "after_cursor_execute", write_after_a_read)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", write_after_a_read)
        other.close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, and its key, made by openssl in `folder`."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def tls_backend(folder: Path, database_url: str) -> Iterator[tuple[Path, int, str]]:
    """A backend serving TLS only, on a free port, with a self-signed certificate: (certificate, port, a device's
    token)."""
    cert, key = self_signed(folder)
    token, _ = prepared_database(database_url)
    server, port = build_server(BackendConfig(database_url=database_url, port=0, tls_cert=cert, tls_key=key))
    server.start()
    try:
        yield cert, port, token
    finally:
        server.stop(grace=None)
