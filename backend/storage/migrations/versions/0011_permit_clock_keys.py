"""permit_clock_keys: the look-alike keys whose permit data each version of the permit clock changed, written by the
clock's triggers, so a serving process catches its permit mirror up by reading those keys again instead of every
permit (a full load of 100,000 permits took 2.4-4.9 s of CPU; one change a second kept a process loading for good)

A key of '' stands for every key (a permit type or its zones changed: many permits at once). The hotlist is small
and read whole at every catch-up: its changes tick the clock only. `permit_clock.keys_from` is the first version
whose keys are all in the log: older versions predate it or were pruned (`backend purge`), and a mirror that old
loads in full.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen here as written: migration 0009's clocked tables and tick.
CLOCKED_TABLES = ("vehicles", "permits", "permit_vehicles", "permit_types", "permit_type_zones", "hotlist")
EVENTS = ("INSERT", "UPDATE", "DELETE")
EVERY_KEY = ""

POSTGRES_TICK_0009 = """
CREATE OR REPLACE FUNCTION permit_clock_tick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('platepatrol.permit_clock_ticked', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE permit_clock SET version = version + 1 WHERE id = 1;
        PERFORM set_config('platepatrol.permit_clock_ticked', txid_current()::text, true);
    END IF;
    RETURN NULL;
END
$$
"""

# Still deferred to commit (0009's constraint triggers call it): the rows it reads (a permit's vehicles, a link's
# vehicle) are then as committed, and the version it tags the keys with is the one the commit makes.
POSTGRES_TICK_WITH_KEYS = """
CREATE OR REPLACE FUNCTION permit_clock_tick() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_version bigint;
BEGIN
    IF current_setting('platepatrol.permit_clock_ticked', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE permit_clock SET version = version + 1 WHERE id = 1;
        PERFORM set_config('platepatrol.permit_clock_ticked', txid_current()::text, true);
    END IF;
    SELECT version INTO now_version FROM permit_clock WHERE id = 1;
    IF TG_LEVEL = 'STATEMENT' OR TG_TABLE_NAME IN ('permit_types', 'permit_type_zones') THEN
        INSERT INTO permit_clock_keys (version, plate_key) VALUES (now_version, '') ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'vehicles' THEN
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO permit_clock_keys (version, plate_key) VALUES (now_version, OLD.plate_key)
            ON CONFLICT DO NOTHING;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO permit_clock_keys (version, plate_key) VALUES (now_version, NEW.plate_key)
            ON CONFLICT DO NOTHING;
        END IF;
    ELSIF TG_TABLE_NAME = 'permit_vehicles' THEN
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO permit_clock_keys (version, plate_key)
            SELECT now_version, plate_key FROM vehicles WHERE id = OLD.vehicle_id ON CONFLICT DO NOTHING;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO permit_clock_keys (version, plate_key)
            SELECT now_version, plate_key FROM vehicles WHERE id = NEW.vehicle_id ON CONFLICT DO NOTHING;
        END IF;
    ELSIF TG_TABLE_NAME = 'permits' THEN
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO permit_clock_keys (version, plate_key)
            SELECT now_version, v.plate_key FROM permit_vehicles pv JOIN vehicles v ON v.id = pv.vehicle_id
            WHERE pv.permit_id = OLD.id ON CONFLICT DO NOTHING;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO permit_clock_keys (version, plate_key)
            SELECT now_version, v.plate_key FROM permit_vehicles pv JOIN vehicles v ON v.id = pv.vehicle_id
            WHERE pv.permit_id = NEW.id ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END
$$
"""

_VERSION = "SELECT version FROM permit_clock WHERE id = 1"


def _sqlite_keys(table: str, event: str) -> list[str]:
    """The key-logging statements of SQLite's trigger for `event` on `table` (run after its tick, in the row's own
    statement: SQLite has one writer, so versions follow the commits)."""
    insert = "INSERT OR IGNORE INTO permit_clock_keys (version, plate_key) "
    rows = ("OLD", "NEW") if event == "UPDATE" else ("OLD",) if event == "DELETE" else ("NEW",)
    if table in ("permit_types", "permit_type_zones"):
        return [f"{insert}SELECT version, '{EVERY_KEY}' FROM permit_clock WHERE id = 1;"]
    if table == "vehicles":
        return [f"{insert}SELECT version, {row}.plate_key FROM permit_clock WHERE id = 1;" for row in rows]
    if table == "permit_vehicles":
        return [f"{insert}SELECT ({_VERSION}), plate_key FROM vehicles WHERE id = {row}.vehicle_id;" for row in rows]
    if table == "permits":
        return [
            f"{insert}SELECT ({_VERSION}), v.plate_key FROM permit_vehicles AS pv "
            f"JOIN vehicles AS v ON v.id = pv.vehicle_id WHERE pv.permit_id = {row}.id;"
            for row in rows
        ]
    return []  # the hotlist: read whole at every catch-up


def _sqlite_triggers(with_keys: bool) -> None:
    for table in CLOCKED_TABLES:
        for event in EVENTS:
            name = f"permit_clock_{table}_{event.lower()}"
            body = ["UPDATE permit_clock SET version = version + 1 WHERE id = 1;"]
            if with_keys:
                body += _sqlite_keys(table, event)
            op.execute(f"DROP TRIGGER {name}")
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {' '.join(body)} END")


def upgrade() -> None:
    op.create_table(
        "permit_clock_keys",
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("plate_key", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("version", "plate_key", name=op.f("pk_permit_clock_keys")),
    )
    op.add_column("permit_clock", sa.Column("keys_from", sa.BigInteger(), nullable=False, server_default="0"))
    # Versions up to now have no keys: a mirror as old as them loads in full.
    op.execute("UPDATE permit_clock SET keys_from = version + 1")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_TICK_WITH_KEYS)
    else:
        _sqlite_triggers(with_keys=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_TICK_0009)
    else:
        _sqlite_triggers(with_keys=False)
    op.drop_column("permit_clock", "keys_from")  # SQLite's own DROP COLUMN: a batch copy would break the triggers
    op.drop_table("permit_clock_keys")
