"""review decisions outlive their read: purging a rejected read keeps the decision for the statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_review_decisions_read_id_reads", type_="foreignkey")
        batch_op.alter_column("read_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_foreign_key(
            "fk_review_decisions_read_id_reads", "reads", ["read_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    op.execute("DELETE FROM review_decisions WHERE read_id IS NULL")
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_review_decisions_read_id_reads", type_="foreignkey")
        batch_op.alter_column("read_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_foreign_key(
            "fk_review_decisions_read_id_reads", "reads", ["read_id"], ["id"], ondelete="CASCADE"
        )
