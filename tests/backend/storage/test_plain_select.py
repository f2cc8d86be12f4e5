"""PlainSelect returns exactly what SQLAlchemy's own execution of the same select returns, on SQLite and
PostgreSQL: every column type the hot path reads (text, aware datetimes, enums, JSON, floats, integers, NULLs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import BindParameter, Engine, Select, bindparam, column, func, select, table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.devices.models import Device
from backend.enforcement.models import ReadRecord
from backend.permits.models import Permit, PermitStatus, PermitType
from backend.storage.bulk import BulkInsert
from backend.storage.plain_select import PlainSelect

READS = ReadRecord.metadata.tables[ReadRecord.__tablename__]
AT = datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=UTC)


def _permits_of(codes: list[BindParameter[Any]]) -> Select[*tuple[Any, ...]]:
    return (
        select(Permit.code, Permit.valid_from, Permit.valid_until, Permit.status, Permit.revision, PermitType.hours)
        .outerjoin(PermitType, PermitType.id == Permit.type_id)
        .where(Permit.code.in_(codes))
        .order_by(Permit.code)
    )


PERMITS = PlainSelect(_permits_of)


@pytest.fixture
def permits(session: Session) -> None:
    kind = PermitType(code="RES", name="Residents", hours=[{"days": "mon-fri", "from": "08:00", "to": "18:00"}])
    session.add(kind)
    session.flush()
    for number, status in enumerate([PermitStatus.ACTIVE, PermitStatus.SUSPENDED, PermitStatus.ACTIVE]):
        session.add(
            Permit(
                code=f"PS-{number}",
                holder_name="",
                status=status,
                valid_from=AT - timedelta(days=number),
                valid_until=AT + timedelta(days=30 + number),
                revision=number + 1,
                type_id=kind.id if number != 1 else None,
            )
        )
    session.flush()


@pytest.mark.usefixtures("permits")
def test_rows_are_what_sqlalchemy_returns(session: Session) -> None:
    codes = ["PS-2", "PS-0", "PS-1", "PS-0"]  # repeats and order do not matter: an IN list
    expected = [
        tuple(row)
        for row in session.execute(_permits_of([bindparam(f"c{index}", code) for index, code in enumerate(codes)]))
    ]
    got = PERMITS(session.connection(), codes)
    assert got == expected
    assert len(got) == 3
    first = got[0]
    assert first[1] == AT and first[1].tzinfo is not None  # aware UTC, as the column type gives
    assert first[3] is PermitStatus.ACTIVE and got[1][3] is PermitStatus.SUSPENDED
    assert first[5] == [{"days": "mon-fri", "from": "08:00", "to": "18:00"}] and got[1][5] is None
    assert got[2][2] == AT + timedelta(days=32)


@pytest.mark.usefixtures("permits")
def test_every_length_of_list_finds_the_same(session: Session) -> None:
    for count in range(1, 7):  # lists of 1, 2, 4 and 8 parameters after padding
        codes = [f"PS-{number % 3}" for number in range(count)] + ["PS-none"] * (count // 2)
        assert [row[0] for row in PERMITS(session.connection(), codes)] == sorted({c for c in codes if c != "PS-none"})


def test_an_empty_list_finds_nothing_without_asking(session: Session) -> None:
    assert PERMITS(session.connection(), []) == []


def test_other_parameters_are_bound_by_their_types(session: Session) -> None:
    device = Device(name="car-plain", token_sha256="0" * 64)
    session.add(device)
    session.flush()
    read = {"device_id": device.id, "camera_id": "front", "plate": "B1", "confidence": 0.5, "received_at": AT}
    read |= {"char_confidences": [], "alternatives": [], "frames_voted": 1, "crop_jpeg": b"\xff\xd8"}
    rows = [
        {**read, "id": f"r{minutes}", "captured_at": AT + timedelta(minutes=minutes), "latitude": 44.5}
        for minutes in range(5)
    ]
    BulkInsert(READS)(session.connection(), rows)
    in_window = PlainSelect(
        lambda plates: (
            select(ReadRecord.id, ReadRecord.captured_at, ReadRecord.latitude)
            .where(
                ReadRecord.plate.in_(plates),
                ReadRecord.captured_at >= bindparam("since", type_=ReadRecord.captured_at.type),
                ReadRecord.captured_at < bindparam("until", type_=ReadRecord.captured_at.type),
            )
            .order_by(ReadRecord.captured_at)
        )
    )
    # Aware datetimes in any zone: the column type stores them as UTC.
    since = (AT + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-5)))
    got = in_window(session.connection(), ["B1", "B2"], since=since, until=AT + timedelta(minutes=3))
    assert got == [("r1", AT + timedelta(minutes=1), 44.5), ("r2", AT + timedelta(minutes=2), 44.5)]


def test_a_select_without_a_list(session: Session) -> None:
    counted = PlainSelect(lambda _: select(func.count(Permit.id), func.max(Permit.valid_from)))
    assert counted(session.connection()) == [(0, None)]


@pytest.mark.usefixtures("permits")
def test_a_list_of_over_fifty_values_finds_the_same(session: Session) -> None:
    # 70 values pad to 128 parameters: on PostgreSQL more than psycopg's parsed-query cache holds, hence $n.
    codes = [f"PS-{number % 3}" for number in range(3)] + [f"PS-none-{number}" for number in range(67)]
    assert [row[0] for row in PERMITS(session.connection(), codes)] == ["PS-0", "PS-1", "PS-2"]


def test_a_select_that_begins_a_transaction_leaves_it_to_the_caller(fresh_engine: Engine) -> None:
    # The lookups may be the first statement of the transaction the verdicts are stored in: SQLAlchemy must know
    # the transaction began (on SQLite, BEGIN is sent by SQLAlchemy's begin), or its commit would commit nothing.
    counted = PlainSelect(lambda _: select(func.count(Permit.id)))
    with fresh_engine.connect() as connection:
        assert counted(connection) == [(0,)]
        assert connection.in_transaction()


def test_a_failing_select_raises_sqlalchemy_s_error(session: Session) -> None:
    missing = table("no_such_table", column("plate"))
    with pytest.raises(DBAPIError, match="no_such_table"):
        PlainSelect(lambda plates: select(missing.c.plate).where(missing.c.plate.in_(plates)))(
            session.connection(), ["B1"]
        )
