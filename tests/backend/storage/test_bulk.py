"""BulkInsert stores exactly what a Core insert of the same rows stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.devices.models import Device
from backend.enforcement.models import ReadRecord, VerdictRecord
from backend.storage.bulk import BulkInsert
from platepatrol.verdicts import Outcome, Reason

READS = ReadRecord.metadata.tables[ReadRecord.__tablename__]
VERDICTS = VerdictRecord.metadata.tables[VerdictRecord.__tablename__]
AT = datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=UTC)


def _read(read_id: str, device_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": read_id,
        "device_id": device_id,
        "camera_id": "front",
        "captured_at": AT,
        "received_at": AT + timedelta(seconds=1),
        "plate": "B123ABC",
        "confidence": 0.875,
        "char_confidences": [0.9, 0.5, 1.0],
        "alternatives": [{"text": "8123ABC", "confidence": 0.1}],
        "frames_voted": 3,
        "latitude": 44.4268,
        "longitude": 26.1025,
        "gps_accuracy_m": None,
        "heading_deg": 90.0,
        "speed_mps": None,
        "vehicle_latitude": None,
        "vehicle_longitude": None,
        "crop_jpeg": b"\xff\xd8\xff\x00\x01",
        "context_jpeg": None,
    }
    return {**row, **changes}


def _verdict(read_id: str) -> dict[str, Any]:
    return {
        "read_id": read_id,
        "outcome": Outcome.NEEDS_REVIEW,
        "reason": Reason.AMBIGUOUS_MATCH,
        "sentence": "B123ABC holds no permit, but 8123ABC does: a person decides — “quotes” and 100 %",
        "permit_id": None,
        "permit_revision": 7,
        "zone_id": None,
        "decided_at": AT.astimezone(UTC) + timedelta(hours=2),
        "permit_data_age_s": 0.25,
        "first_seen_read_id": None,
        "candidate_plate": "8123ABC",
    }


def _stored(session: Session, table: Any, key: Any, value: str) -> dict[str, Any]:
    row = session.execute(select(table).where(key == value)).mappings().one()
    return {name: row[name] for name in row if name != "id" or table is READS}


@pytest.fixture
def device_id(session: Session) -> str:
    device = Device(name="car-bulk", token_sha256="0" * 64)
    session.add(device)
    session.flush()
    return device.id


def test_rows_read_back_as_a_core_insert_s(session: Session, device_id: str) -> None:
    connection = session.connection()
    connection.execute(insert(READS), [_read("core-1", device_id)])
    BulkInsert(READS)(connection, [_read("bulk-1", device_id), _read("bulk-2", device_id, plate="ZZ999")])
    connection.execute(insert(VERDICTS), [_verdict("core-1")])
    BulkInsert(VERDICTS)(connection, [_verdict("bulk-1")])
    core, bulk = (_stored(session, READS, READS.c.id, read_id) for read_id in ("core-1", "bulk-1"))
    assert {**bulk, "id": "core-1"} == core
    assert bulk["captured_at"] == AT and bulk["alternatives"] == [{"text": "8123ABC", "confidence": 0.1}]
    assert _stored(session, READS, READS.c.id, "bulk-2")["plate"] == "ZZ999"
    core_verdict, bulk_verdict = (
        _stored(session, VERDICTS, VERDICTS.c.read_id, read_id) for read_id in ("core-1", "bulk-1")
    )
    assert {**bulk_verdict, "read_id": "core-1"} == core_verdict
    assert bulk_verdict["outcome"] is Outcome.NEEDS_REVIEW and bulk_verdict["decided_at"].tzinfo is not None


def test_no_rows_is_nothing_to_do(session: Session) -> None:
    BulkInsert(READS)(session.connection(), [])
    assert session.execute(select(READS.c.id).where(READS.c.id == "none")).first() is None


def test_a_repeated_key_is_an_integrity_error(session: Session, device_id: str) -> None:
    # The enforcement service answers a resend by catching this: it must be SQLAlchemy's, on both databases.
    connection = session.connection()
    BulkInsert(READS)(connection, [_read("twice-1", device_id)])
    with pytest.raises(IntegrityError):
        BulkInsert(READS)(connection, [_read("twice-2", device_id), _read("twice-1", device_id)])


def test_a_value_the_column_refuses_is_refused(session: Session, device_id: str) -> None:
    naive = _read("naive-1", device_id, captured_at=AT.replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive datetimes"):
        BulkInsert(READS)(session.connection(), [naive])


@pytest.mark.parametrize("count", [1, 23, 71])
def test_every_row_of_a_large_batch_is_stored_with_its_own_values(session: Session, device_id: str, count: int) -> None:
    # PostgreSQL splits the rows over multi-row statements (71 = 64 + 4 + 2 + 1): no row lost, none mixed up.
    rows = [_read(f"many-{count}-{n}", device_id, plate=f"M{n:04d}", confidence=n / 100) for n in range(count)]
    BulkInsert(READS)(session.connection(), rows)
    BulkInsert(VERDICTS)(session.connection(), [_verdict(row["id"]) for row in rows])
    stored = session.execute(
        select(READS.c.id, READS.c.plate, READS.c.confidence).where(READS.c.id.like(f"many-{count}-%"))
    ).all()
    assert sorted(stored) == sorted((row["id"], row["plate"], row["confidence"]) for row in rows)
    verdicts = session.execute(select(VERDICTS.c.read_id).where(VERDICTS.c.read_id.like(f"many-{count}-%"))).all()
    assert len(verdicts) == count


def test_a_batch_begins_the_transaction_it_is_committed_in(fresh_engine: Engine) -> None:
    # The rows may be the first statement of a transaction: the caller's commit must still commit them.
    with Session(fresh_engine) as session:
        device = Device(name="car-bulk-first", token_sha256="1" * 64)
        session.add(device)
        session.commit()
        device_id = device.id
    with fresh_engine.connect() as connection:
        BulkInsert(READS)(connection, [_read("first-statement", device_id)])
        connection.commit()
    with fresh_engine.connect() as connection:
        stored = connection.execute(select(READS.c.id).where(READS.c.id == "first-statement")).scalar()
    assert stored == "first-statement"
