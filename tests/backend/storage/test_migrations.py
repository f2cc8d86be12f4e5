from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from backend.storage.metadata import metadata
from backend.storage.migrate import alembic_config, is_at_head, upgrade_to_head


def test_migrations_build_exactly_the_models_schema(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrading_again_changes_nothing(migrated_engine: Engine) -> None:
    assert is_at_head(migrated_engine)
    upgrade_to_head(migrated_engine)
    assert is_at_head(migrated_engine)


def test_postgresql_keeps_evidence_images_uncompressed_in_the_row(migrated_engine: Engine) -> None:
    if migrated_engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores values as given")
    with migrated_engine.connect() as connection:
        options = connection.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'reads'"))
        rows = connection.execute(
            text(
                "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'reads'::regclass"
                " AND attname IN ('crop_jpeg', 'context_jpeg')"
            )
        )
        storage = {str(name): str(kind) for name, kind in rows}
    assert "toast_tuple_target=8160" in options
    assert storage == {"crop_jpeg": "e", "context_jpeg": "e"}  # EXTERNAL: out of line when large, never compressed


def test_the_change_log_of_0011_goes_and_comes_back(migrated_engine: Engine) -> None:
    command.downgrade(alembic_config(migrated_engine), "0010")
    with migrated_engine.begin() as connection:  # 0009's clock still ticks without the log
        connection.execute(
            text(
                "INSERT INTO vehicles (id, plate, jurisdiction, make, colour, created_at) "
                "VALUES ('v1', 'AB12', '', '', '', :now)"
            ),
            {"now": datetime(2026, 12, 2)},
        )
    with migrated_engine.connect() as connection:  # read after the commit: PostgreSQL ticks when it commits
        assert connection.execute(text("SELECT version FROM permit_clock")).scalar() == 1
    upgrade_to_head(migrated_engine)
    with migrated_engine.begin() as connection:
        connection.execute(text("UPDATE vehicles SET plate = 'AB13' WHERE id = 'v1'"))
    with migrated_engine.connect() as connection:
        assert connection.execute(text("SELECT version, keys_from FROM permit_clock")).one() == (2, 2)
        logged = connection.execute(text("SELECT version, plate_key FROM permit_clock_keys")).all()
    assert sorted(logged) == [(2, "A812"), (2, "A813")]  # the old and the new look-alike key


def test_every_migration_goes_down_to_nothing_and_back_up(migrated_engine: Engine) -> None:
    """Each revision's downgrade undoes its upgrade: down to an empty database, then up to the models' schema."""
    config = alembic_config(migrated_engine)
    command.downgrade(config, "base")
    with migrated_engine.connect() as connection:
        left = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
    assert left == []
    upgrade_to_head(migrated_engine)
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
