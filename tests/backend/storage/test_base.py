"""The shared column types: aware UTC datetimes in, the same stored text as SQLAlchemy's own DateTime out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects import sqlite

from backend.storage.base import UTCDateTime
from backend.storage.engine import make_engine

MOMENTS = [
    datetime(2026, 12, 2, 10, 31, 0, 123456, tzinfo=UTC),
    datetime(2026, 12, 2, 10, 31, tzinfo=UTC),  # no microseconds: still written with six digits
    datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),  # stored as its UTC time
    datetime(1, 1, 1, tzinfo=UTC),  # the year padded to four digits
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_sqlite_text_is_what_sqlalchemys_datetime_writes(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_naive_datetimes_are_refused() -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 12, 2, 10, 31))


def test_stored_datetimes_come_back_aware_and_equal(fresh_database_url: Callable[[], str]) -> None:
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    engine = make_engine(fresh_database_url())
    table.create(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(table), [{"id": n, "at": moment} for n, moment in enumerate(MOMENTS)])
            stored = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
            later = connection.scalar(select(table.c.id).where(table.c.at > MOMENTS[1]).order_by(table.c.id))
        assert stored == MOMENTS
        assert later == 0  # compared as times in SQL: 10:31:00.123456 is after 10:31:00.000000
    finally:
        engine.dispose()
