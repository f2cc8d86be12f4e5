"""Many plain rows into one table at once, for the hot path that stores every read and verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, insert


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the order of a positional dialect's parameters
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, processor) of the columns that have one
    positional: bool

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        names, converted = self.names, self.converted
        bound = []
        for row in rows:
            values = [row[name] for name in names]
            for position, process in converted:
                values[position] = process(values[position])
            bound.append(values)
        if self.positional:
            return [tuple(values) for values in bound]
        return [dict(zip(names, values, strict=True)) for values in bound]


class BulkInsert:
    """`INSERT INTO table (...) VALUES (...)` for many rows: compiled once per dialect and set of columns, each
    value bound by its column type's own processor, so it stores what `connection.execute(insert(table), rows)`
    stores, without SQLAlchemy's per-row parameter machinery, which costs more than the database's work on rows
    this small (a read, a verdict)."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def __call__(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` (every row with the same keys: column names) in the connection's transaction."""
        if not rows:
            return
        plan = self._plan(connection.dialect, tuple(rows[0]))
        connection.exec_driver_sql(plan.sql, plan.parameters(rows))

    def _plan(self, dialect: Dialect, columns: tuple[str, ...]) -> _Plan:
        key = (dialect.name, columns)
        if key not in self._plans:
            statement = insert(self._table).values({name: bindparam(name) for name in columns})
            compiled = statement.compile(dialect=dialect)
            names = tuple(compiled.positiontup or ()) if compiled.positional else columns
            processors = [self._table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
            converted = tuple((position, process) for position, process in enumerate(processors) if process is not None)
            self._plans[key] = _Plan(compiled.string, names, converted, compiled.positional)
        return self._plans[key]
