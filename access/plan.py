"""From a checked query to what may run and how each output column is shown.

The query is qualified against the schema the reader may see (``*`` expanded there, so a not-shared
column is never selected; naming it is an unknown column). Every base table is then replaced by a
projection of exactly those columns, with the ones the reader may not see set to NULL (Trino-style
column masks at the scan): a function, cast, filter, join or aggregate over a hidden column computes on
NULL, and a whole-row reference sees only what the reader may see. Each output column is traced by
sqlglot lineage to its origins, which set its masking; a column that cannot be traced is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import duckdb
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from access import policy, sqlcheck
from access.users import Refused
from warehouse import lake

Schema = dict[str, dict[str, dict[str, str]]]


@dataclass(frozen=True)
class Plan:
    sql: str  # what DuckDB runs
    columns: tuple[str, ...]
    levels: tuple[int, ...]  # policy.CLEAR / MASK / HIDE per output column
    subjects: tuple[bool, ...]  # the column holds a person's ID (recorded, hashed, for who-read)
    fields: tuple[str, ...]  # schema.table.column read anywhere in the query
    datasets: tuple[str, ...]  # contract datasets those columns come from


def _scan(table: exp.Table, schema: Schema, granted: frozenset[str]) -> exp.Expression:
    db, name = table.db.lower(), table.name.lower()
    shown = []
    for column in schema[db][name]:
        hidden = policy.level(policy.column_origins(f"{db}.{name}", column), granted) == policy.HIDE
        shown.append(exp.alias_(exp.null() if hidden else exp.column(column, quoted=True), column, quoted=True))
    inner = exp.select(*shown).from_(exp.table_(name, db=db, quoted=True))
    return inner.subquery(table.alias_or_name)


def build(sql: str, schema: Schema, granted: frozenset[str] = frozenset()) -> Plan:
    """Check, qualify, trace and rewrite ``sql``; :class:`Refused` with the reason if it cannot run."""
    query = sqlcheck.check(sql, frozenset(schema))
    try:
        query = qualify(query, schema=schema, dialect="duckdb", validate_qualify_columns=True)
    except SqlglotError as exc:
        raise Refused(f"not allowed: {str(exc).splitlines()[0][:200]} (unknown, or not shared)") from None
    if any(True for _ in query.find_all(exp.TableColumn)):
        raise Refused("whole-row references (a table alias used as a value) are not allowed; name the columns")
    for select in query.find_all(exp.Select):
        if any(isinstance(p, exp.Star) or isinstance(p.unalias(), exp.Star) for p in select.expressions):
            raise Refused("* could not be expanded to the columns you may read")
    head = query
    while isinstance(head, exp.SetOperation):
        head = head.this
    seen: dict[str, int] = {}
    for projection in head.expressions:  # unique output names, so each can be traced and shown
        name = projection.alias_or_name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            projection.replace(exp.alias_(projection.unalias(), f"{name}_{seen[name]}", quoted=True))
    read: set[str] = set()
    for scope in traverse_scope(query):
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                read.add(f"{source.db}.{source.name}.{column.name}".lower())
    try:
        traced = lineage(None, query, schema=schema, dialect="duckdb")
    except SqlglotError as exc:
        raise Refused(f"cannot trace the columns of this query: {str(exc).splitlines()[0][:200]}") from None
    columns = tuple(head.named_selects)
    origins = [policy.leaf_origins(traced[c]) if c in traced else frozenset({policy.UNTRACED}) for c in columns]
    for table in list(query.find_all(exp.Table)):
        if table.db and table.db.lower() in schema:
            table.replace(_scan(table, schema, granted))
    touched = {o[0] for f in read for o in policy.column_origins(*f.rsplit(".", 1)) if o[0]}
    touched |= {o[0] for found in origins for o in found if o[0]}
    return Plan(
        sql=query.sql(dialect="duckdb"),
        columns=columns,
        levels=tuple(policy.level(o, granted) for o in origins),
        subjects=tuple(bool(o & policy.subject_fields()) for o in origins),
        fields=tuple(sorted(read)),
        datasets=tuple(sorted(touched)),
    )


@lru_cache(maxsize=512)
def shared_plan(sql: str, granted: frozenset[str]) -> Plan:
    return build(sql, policy.shared_schema(), granted)


def lake_schema(con: duckdb.DuckDBPyConnection) -> Schema:
    """Every lake table and view an engineer may read, minus not-shared columns."""
    schema: Schema = {}
    for db, table, column in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        f"WHERE table_catalog = '{lake.LAKE}' ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall():
        if not policy.not_shared(policy.column_origins(f"{db}.{table}", column)):
            schema.setdefault(db.lower(), {}).setdefault(table.lower(), {})[column.lower()] = "VARCHAR"
    return schema
