"""Lists of values for `column IN (...)` on the hot path, in a few lengths only."""

from __future__ import annotations

from collections.abc import Iterable


def padded(values: Iterable[str]) -> list[str]:
    """The distinct `values`, sorted, then the last one repeated up to the next power of two (an IN list means
    the same with repeats). Each length of IN list is a different SQL text, which the database parses and plans
    anew; with a few lengths, SQLite's statement cache and psycopg's prepared statements reuse the plan of every
    batch of reads instead."""
    distinct = sorted(set(values))
    if not distinct:
        return []
    size = 1 << (len(distinct) - 1).bit_length()
    return distinct + [distinct[-1]] * (size - len(distinct))
