"""Shared fixtures: real databases (an SQLite file and the PostgreSQL server .ci/run starts), rolled back per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.storage.engine import make_engine
from backend.storage.migrate import upgrade_to_head

REPO = Path(__file__).resolve().parents[1]
POSTGRES_ENV = "PLATEPATROL_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "PLATEPATROL_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


def _postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get(REQUIRE_POSTGRES_ENV):
        pytest.fail(f"{POSTGRES_ENV} is not set but {REQUIRE_POSTGRES_ENV} is: PostgreSQL tests cannot be skipped")
    pytest.skip(f"no PostgreSQL: run scripts/start-postgres.sh and set {POSTGRES_ENV}")


class DatabaseFactory:
    """Makes empty databases of one kind: SQLite files under a temp folder, or PostgreSQL databases."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self._folder = folder
        self._created: list[str] = []

    def new_url(self) -> str:
        name = f"pp_{uuid.uuid4().hex[:12]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self._folder / name}.db"
        admin = make_url(_postgres_admin_url())
        with make_engine(admin.render_as_string(hide_password=False)).connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._created:
            return
        admin = _postgres_admin_url()
        engine = make_engine(admin)
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for name in self._created:
                autocommit.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """A factory of fresh databases, once for SQLite and once for PostgreSQL."""
    factory = DatabaseFactory(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    if request.param == "postgresql":
        _postgres_admin_url()  # skip or fail here, once, when there is no server
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def migrated_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    engine = make_engine(databases.new_url())
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(migrated_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions inside one transaction that is rolled back after the test; their commits are savepoints."""
    connection = migrated_engine.connect()
    outer = connection.begin()
    yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    outer.rollback()
    connection.close()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as opened:
        yield opened


@pytest.fixture
def fresh_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    """A migrated database of its own, for tests whose transactions must really commit (the `sessions` fixture's
    are rolled back: a PostgreSQL trigger deferred to the commit never fires there)."""
    engine = make_engine(databases.new_url())
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_database_url(databases: DatabaseFactory) -> Callable[[], str]:
    """For tests that run servers in threads or processes: each call gives a new, empty database."""
    return databases.new_url
