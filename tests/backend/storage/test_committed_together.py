"""committed_together: the block's statements and the commit in one go, and a refused commit rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from backend.devices.models import Device
from backend.storage.base import utc_now
from backend.storage.bulk import BulkInsert
from backend.storage.engine import committed_together

DEVICES = Device.metadata.tables[Device.__tablename__]
INSERT_DEVICES = BulkInsert(DEVICES)


def _device(name: str) -> dict[str, object]:
    return {"id": f"id-{name}", "name": name, "token_sha256": name.ljust(64, "0"), "created_at": utc_now()}


def _names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(DEVICES.c.name).where(DEVICES.c.name.like("together-%"))))


def test_the_block_s_statements_are_committed(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as connection, committed_together(connection):
        INSERT_DEVICES(connection, [_device("together-1"), _device("together-2")])
        INSERT_DEVICES(connection, [_device("together-3")])
    assert _names(fresh_engine) == {"together-1", "together-2", "together-3"}  # seen from another connection


def test_a_refused_commit_is_rolled_back_and_the_connection_is_usable_again(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as connection, committed_together(connection):
        INSERT_DEVICES(connection, [_device("together-1")])
    with pytest.raises(IntegrityError), fresh_engine.connect() as connection, committed_together(connection):
        # On PostgreSQL the repeated key may only be refused when the commit's answers come back.
        INSERT_DEVICES(connection, [_device("together-2"), _device("together-1")])
    with fresh_engine.connect() as connection:  # the pooled connection is not left in an aborted transaction
        assert connection.scalar(select(func.count()).select_from(DEVICES).where(DEVICES.c.name == "together-2")) == 0
    assert _names(fresh_engine) == {"together-1"}
