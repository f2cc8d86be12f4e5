"""permit_clock: a version advanced by triggers in every transaction that changes vehicles, permits, their links,
permit types, their zones or the hotlist, so a serving process can keep that data in memory and know, with one
tiny query, whether it is still the table's

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen here as written: backend.permits.models.CLOCKED_TABLES at this revision.
CLOCKED_TABLES = ("vehicles", "permits", "permit_vehicles", "permit_types", "permit_type_zones", "hotlist")
EVENTS = ("INSERT", "UPDATE", "DELETE")

# PostgreSQL: deferred to commit, so the clock's row is locked only while the transaction commits (a lock taken
# at the first change and held to the end could deadlock two admins' transactions), and advanced once a
# transaction however many rows it changes.
POSTGRES_TICK = """
CREATE FUNCTION permit_clock_tick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('platepatrol.permit_clock_ticked', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE permit_clock SET version = version + 1 WHERE id = 1;
        PERFORM set_config('platepatrol.permit_clock_ticked', txid_current()::text, true);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "permit_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_clock")),
    )
    op.execute("INSERT INTO permit_clock (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_TICK)
        for table in CLOCKED_TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER permit_clock_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION permit_clock_tick()"
            )
            # TRUNCATE has no row triggers: a statement trigger, at once.
            op.execute(
                f"CREATE TRIGGER permit_clock_{table}_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION permit_clock_tick()"
            )
    else:
        # SQLite has one writer at a time: a row trigger in the transaction is committed with it.
        for table in CLOCKED_TABLES:
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER permit_clock_{table}_{event.lower()} AFTER {event} ON {table} "
                    "BEGIN UPDATE permit_clock SET version = version + 1 WHERE id = 1; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CLOCKED_TABLES:
            op.execute(f"DROP TRIGGER permit_clock_{table} ON {table}")
            op.execute(f"DROP TRIGGER permit_clock_{table}_truncate ON {table}")
        op.execute("DROP FUNCTION permit_clock_tick()")
    else:
        for table in CLOCKED_TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER permit_clock_{table}_{event.lower()}")
    op.drop_table("permit_clock")
