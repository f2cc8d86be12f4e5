"""The database driver's own cursor, inside a SQLAlchemy connection's transaction: for the hot path's plain SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@contextmanager
def driver_cursor(connection: Connection) -> Iterator[Any]:
    """A cursor of the connection's driver, in the connection's transaction, begun through SQLAlchemy if it has not
    begun (SQLite's BEGIN is sent by our begin hook, and SQLAlchemy's commit must know of the transaction). On
    PostgreSQL it is psycopg's raw cursor: statements carry PostgreSQL's own $n placeholders and go as they are,
    with no query to parse. The driver's errors are raised as SQLAlchemy's, as `connection.execute` raises them
    (a repeated key is its IntegrityError)."""
    if not connection.in_transaction():
        connection.begin()
    driver: Any = connection.connection.driver_connection
    cursor = psycopg.RawCursor(driver) if isinstance(driver, psycopg.Connection) else driver.cursor()
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield cursor
    except dbapi_error as error:
        raise DBAPIError.instance(None, None, error, dbapi_error) from error
    finally:
        cursor.close()
