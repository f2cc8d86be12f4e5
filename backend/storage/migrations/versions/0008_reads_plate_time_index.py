"""reads: index (plate, captured_at) instead of (plate), so the overtime rule's sightings of a round's plates in
a time window are found in the index, not by fetching every stored read of those plates

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_reads_plate_captured_at"), "reads", ["plate", "captured_at"], unique=False)
    op.drop_index(op.f("ix_reads_plate"), table_name="reads")  # the new index serves lookups by plate alone too


def downgrade() -> None:
    op.create_index(op.f("ix_reads_plate"), "reads", ["plate"], unique=False)
    op.drop_index(op.f("ix_reads_plate_captured_at"), table_name="reads")
