"""Storage: SQLAlchemy 2 typed models over SQLite (default, WAL) or PostgreSQL, migrated by Alembic."""
