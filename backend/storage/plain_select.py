"""Selects on the hot path run as plain SQL: the read side of `backend.storage.bulk`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Connection, Dialect, Select, bindparam
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.types import TypeEngine

from backend.storage.driver import driver_cursor
from backend.storage.in_lists import padded

# Builds the select for an IN list of the given bind parameters (its values are bound in that order).
SelectBuilder = Callable[[list[BindParameter[Any]]], Select[*tuple[Any, ...]]]

IN_LIST = "in_list"  # the bind parameters of the IN list are named in_list_0, in_list_1...
# PostgreSQL's selects are compiled with its own $n placeholders and run by psycopg's raw cursor, which sends them as
# they are: psycopg's usual cursor parses each query's %(name)s placeholders, and re-parses every time (no cache)
# a query of over 50 parameters, as a round's IN list of 64 plates is.
_DOLLAR_PARAMETERS = PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


Converters = tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, processor) of the columns that have one


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the order of a positional dialect's parameters
    values: dict[str, Any]  # the values written into the select (`column == 1`)
    binding: tuple[tuple[str, Callable[[Any], Any]], ...]  # (parameter, processor) of the parameters that have one
    columns: tuple[TypeEngine[Any], ...]  # each selected column's type, as the dialect implements it
    positional: bool
    dialect: Dialect
    # A column's result processor may depend on the type the driver reports for it (psycopg's numbers): known at
    # the first run.
    converters: list[Converters] = field(default_factory=list)

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        for name, process in self.binding:
            values[name] = process(values[name])
        return tuple(values[name] for name in self.names) if self.positional else values

    def rows(self, described: Any, result: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The driver's rows, each column converted by its type's processor where it has one."""
        if not self.converters:
            processors = [
                column.result_processor(self.dialect, described[index][1]) for index, column in enumerate(self.columns)
            ]
            self.converters.append(tuple((index, process) for index, process in enumerate(processors) if process))
        converters = self.converters[0]
        if not converters:
            return result
        found = []
        for row in result:
            values = list(row)
            for column, process in converters:
                values[column] = process(values[column])
            found.append(tuple(values))
        return found


class PlainSelect:
    """A select, usually with an IN list in its `WHERE`, compiled once per dialect and length of list (lists are
    padded to a power of two: `backend.storage.in_lists`), run by the driver, each parameter and column converted by
    its type's own processor only where the type has one. It returns what `connection.execute(select)` returns, as
    plain tuples, without SQLAlchemy's per-call compiled-cache lookup, parameter processing, execution context and
    result wrapping, which cost more than SQLite takes to run these small indexed lookups: the driver's own cursor
    runs it, in the connection's transaction."""

    def __init__(self, build: SelectBuilder) -> None:
        self._build = build
        self._plans: dict[tuple[str, int], _Plan] = {}

    def __call__(
        self, connection: Connection, in_list: Iterable[str] | None = None, **parameters: Any
    ) -> list[tuple[Any, ...]]:
        """The rows for the distinct values of `in_list` (no rows when it is empty; None for a select without a
        list) and the other bound `parameters`, in the connection's transaction."""
        values = [] if in_list is None else padded(in_list)
        if in_list is not None and not values:
            return []
        plan = self._plan(connection.dialect, len(values))
        bound = {**plan.values, **parameters, **{f"{IN_LIST}_{index}": value for index, value in enumerate(values)}}
        with driver_cursor(connection) as cursor:
            cursor.execute(plan.sql, plan.parameters(bound))
            return plan.rows(cursor.description, cursor.fetchall())

    def _plan(self, dialect: Dialect, length: int) -> _Plan:
        key = (dialect.name, length)
        if key not in self._plans:
            statement = self._build([bindparam(f"{IN_LIST}_{index}") for index in range(length)])
            dollars = isinstance(dialect, PGDialect_psycopg)  # psycopg's raw cursor runs it: backend.storage.driver
            compiled = statement.compile(dialect=_DOLLAR_PARAMETERS if dollars else dialect)
            names = tuple(compiled.positiontup or ()) if compiled.positional else ()
            binding = tuple(
                (name, process)
                for name, parameter in compiled.binds.items()
                if (process := parameter.type.dialect_impl(dialect).bind_processor(dialect)) is not None
            )
            columns = tuple(column.type.dialect_impl(dialect) for column in statement.selected_columns)
            written = {name: value for name, value in compiled.params.items() if value is not None}
            self._plans[key] = _Plan(compiled.string, names, written, binding, columns, compiled.positional, dialect)
        return self._plans[key]
