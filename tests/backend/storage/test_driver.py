"""The driver's own cursor runs in the SQLAlchemy connection's transaction and fails with SQLAlchemy's errors."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from backend.storage.driver import driver_cursor


def test_the_cursor_runs_in_a_transaction_sqlalchemy_commits(fresh_engine: Engine) -> None:
    placeholder = "$1" if fresh_engine.dialect.name == "postgresql" else "?"  # PostgreSQL's own, sent as they are
    with fresh_engine.connect() as connection:
        with driver_cursor(connection) as cursor:
            cursor.execute("CREATE TABLE driver_probe (value INTEGER)")
            cursor.execute(f"INSERT INTO driver_probe (value) VALUES ({placeholder})", [7])
        assert connection.in_transaction()
        connection.commit()
    with fresh_engine.connect() as connection, driver_cursor(connection) as cursor:
        cursor.execute("SELECT value FROM driver_probe")
        assert cursor.fetchall() == [(7,)]


def test_the_driver_s_error_is_sqlalchemy_s(fresh_engine: Engine) -> None:
    with (
        fresh_engine.connect() as connection,
        pytest.raises(DBAPIError, match="no_such_table"),
        driver_cursor(connection) as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")
