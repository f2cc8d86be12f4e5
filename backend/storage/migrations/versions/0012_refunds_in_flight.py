"""refunds_in_flight: a refund is written before the provider is asked and answered after, so that no write
transaction is open while the provider takes its time (on SQLite that held up every verdict). `answered_at` is
when the provider's answer was recorded; NULL while the refund is in flight. Refunds made before were answered
when they were written.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.storage.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "answered_at",
                backend.storage.base.UTCDateTime(),
                nullable=True,
                comment="when the provider's answer was recorded; NULL while the refund is in flight",
            )
        )
    op.execute("UPDATE refunds SET answered_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
