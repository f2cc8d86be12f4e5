"""Many plain rows into one table at once, for the hot path that stores every read and verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, insert

from backend.storage.driver import driver_cursor

# PostgreSQL takes a round's rows in one statement per power of two of them (23 rows: 16 + 4 + 2 + 1), each
# prepared once per connection; the largest holds 64 rows (64 x 20 columns, well under its 65,535 parameters).
_ROWS_PER_STATEMENT = (64, 32, 16, 8, 4, 2, 1)


@dataclass(frozen=True)
class _Plan:
    sql: str  # the one-row statement, in the dialect's placeholders: SQLite's executemany runs it for every row
    names: tuple[str, ...]  # the order of the statement's parameters
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, processor) of the columns that have one
    table: str  # the table's and the columns' names, quoted for the dialect
    columns: str
    many_rows_sql: dict[int, bytes] = field(default_factory=dict)  # PostgreSQL: by rows per statement

    def values(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """Each row's values in the order of `names`, converted by the columns' processors."""
        names, converted = self.names, self.converted
        bound = []
        for row in rows:
            values = [row[name] for name in names]
            for position, process in converted:
                values[position] = process(values[position])
            bound.append(values)
        return bound

    def statement_for(self, rows: int) -> bytes:
        """`INSERT ... VALUES (...), (...)` of `rows` rows, with PostgreSQL's own $n placeholders."""
        if rows not in self.many_rows_sql:
            width = len(self.names)
            tuples = ", ".join(
                "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")" for row in range(rows)
            )
            self.many_rows_sql[rows] = f"INSERT INTO {self.table} ({self.columns}) VALUES {tuples}".encode()
        return self.many_rows_sql[rows]


class BulkInsert:
    """`INSERT INTO table (...) VALUES (...)` for many rows: compiled once per dialect and set of columns, each
    value bound by its column type's own processor, so it stores what `connection.execute(insert(table), rows)`
    stores, without SQLAlchemy's per-row parameter machinery, which costs more than the database's work on rows
    this small (a read, a verdict).

    On PostgreSQL the rows go in a few multi-row statements, prepared once per connection and sent by psycopg's
    raw cursor (PostgreSQL's $n placeholders, nothing to parse): psycopg's executemany sends and flushes each row on
    its own (in a pipeline, with the GIL held), ~20 us a row more than the whole multi-row statement. SQLite's
    executemany runs in C: it stays."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def __call__(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` (every row with the same keys: column names) in the connection's transaction."""
        if not rows:
            return
        plan = self._plan(connection.dialect, tuple(rows[0]))
        if connection.dialect.name == "postgresql":
            _insert_in_statements(connection, plan, plan.values(rows))
        else:
            connection.exec_driver_sql(plan.sql, [tuple(values) for values in plan.values(rows)])

    def _plan(self, dialect: Dialect, columns: tuple[str, ...]) -> _Plan:
        key = (dialect.name, columns)
        if key not in self._plans:
            statement = insert(self._table).values({name: bindparam(name) for name in columns})
            compiled = statement.compile(dialect=dialect)
            # SQLite's ? placeholders are positional; PostgreSQL's $n statements are built in the columns' order.
            names = tuple(compiled.positiontup or ()) if compiled.positional else columns
            processors = [self._table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
            converted = tuple((position, process) for position, process in enumerate(processors) if process is not None)
            quote = dialect.identifier_preparer
            self._plans[key] = _Plan(
                compiled.string,
                names,
                converted,
                quote.format_table(self._table),
                ", ".join(quote.quote(name) for name in names),
            )
        return self._plans[key]


def _insert_in_statements(connection: Connection, plan: _Plan, values: list[list[Any]]) -> None:
    """The rows' `values` in the fewest statements of _ROWS_PER_STATEMENT rows, in the connection's transaction."""
    start = 0
    with driver_cursor(connection) as cursor:
        for rows in _ROWS_PER_STATEMENT:
            while len(values) - start >= rows:
                flat = [value for row in values[start : start + rows] for value in row]
                cursor.execute(plan.statement_for(rows), flat, prepare=True)
                start += rows
