"""reads: on PostgreSQL, evidence images are kept in the row up to 8 KB and never compressed

A JPEG's coded data does not compress, but PostgreSQL tries to compress every row over 2 KB (a read with a typical
plate crop) before moving its largest value to the TOAST table: work for nothing on every read stored, and a second
table and index written for a 2-4 KB crop. With toast_tuple_target at its largest, rows up to 8 KB stay whole in
the table; with EXTERNAL storage, larger images go out of line without the attempt to compress them. SQLite stores
values as given: nothing to do there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IMAGE_COLUMNS = ("crop_jpeg", "context_jpeg")
LARGEST_TOAST_TUPLE_TARGET = 8160  # PostgreSQL's limit (TOAST_TUPLE_TARGET_MAIN for 8 KB pages)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE reads SET (toast_tuple_target = {LARGEST_TOAST_TUPLE_TARGET})")
    for column in IMAGE_COLUMNS:
        op.execute(f"ALTER TABLE reads ALTER COLUMN {column} SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in IMAGE_COLUMNS:
        op.execute(f"ALTER TABLE reads ALTER COLUMN {column} SET STORAGE EXTENDED")
    op.execute("ALTER TABLE reads RESET (toast_tuple_target)")
