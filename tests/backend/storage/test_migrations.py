import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from backend.storage.metadata import metadata
from backend.storage.migrate import is_at_head, upgrade_to_head


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
