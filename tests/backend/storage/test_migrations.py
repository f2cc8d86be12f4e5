from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

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
