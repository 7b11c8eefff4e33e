"""From a checked query to what may run: the relations it reads, and the query over their masked copies.

The query is qualified against the schema the reader may see (``*`` expanded there, so a not-shared
column is never selected; naming it is an unknown column). Every table is then resolved the way the
engine will resolve it, scope by scope: a name is a CTE only where that CTE is visible, otherwise it
must be one of the readable relations, so a name borrowed from a CTE elsewhere in the query is refused.
Each readable relation becomes its own masked copy (``__xg_r1``, ``__xg_r2`` ...) holding only the
columns the query uses. Nothing here traces output columns: what a result may show is settled by the
copies, and whom it concerns is read off the result itself (:mod:`access.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import duckdb
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from access import policy, sqlcheck
from access.users import Refused
from warehouse import lake

Schema = dict[str, dict[str, dict[str, str]]]


@dataclass(frozen=True)
class Relation:
    name: str  # what the engine registers, e.g. __xg_r1
    table: str  # schema.table in the lake
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    sql: str  # what DuckDB runs, over the relations only
    relations: tuple[Relation, ...]
    columns: tuple[str, ...]
    fields: tuple[str, ...]  # schema.table.column read anywhere in the query
    datasets: tuple[str, ...]  # contract datasets those columns come from


def _source(scope: Scope, name: str) -> exp.Expression | Scope | None:
    while scope is not None:
        if name in scope.sources:
            return scope.sources[name]
        scope = scope.parent
    return None


def _readable(table: exp.Table, schema: Schema) -> str:
    db, name = table.db.lower(), table.name.lower()
    if table.catalog.lower() not in ("", lake.LAKE) or db not in schema or name not in schema[db]:
        shown = table.sql(dialect="duckdb")[:80]
        raise Refused(f"{shown} is not readable here; use schema {', '.join(sorted(schema))} (schema.view)")
    return f"{db}.{name}"


def _tables(query: exp.Query, schema: Schema) -> dict[int, tuple[exp.Table, str, set[str]]]:
    """Every base table of the query (by node id) with the columns used from it; refuses any table
    node that is neither a CTE visible where it stands nor a readable relation."""
    found: dict[int, tuple[exp.Table, str, set[str]]] = {}
    ctes: set[int] = set()
    for scope in traverse_scope(query):
        for node, source in scope.selected_sources.values():
            if isinstance(source, exp.Table):
                found.setdefault(id(source), (source, _readable(source, schema), set()))
            elif isinstance(node, exp.Table):
                ctes.add(id(node))
        for column in scope.columns:
            source = _source(scope, column.table)
            if isinstance(source, exp.Table) and id(source) in found:
                found[id(source)][2].add(column.name.lower())
    for table in query.find_all(exp.Table):
        if id(table) not in found and id(table) not in ctes:
            raise Refused(f"{table.sql(dialect='duckdb')[:80]} cannot be resolved to a readable relation")
        if not isinstance(table.parent, exp.From | exp.Join):
            raise Refused(f"{table.sql(dialect='duckdb')[:80]} may only be read in FROM or JOIN")
    return found


def build(sql: str, schema: Schema) -> Plan:
    """Check, qualify, resolve, trace and rewrite ``sql``; :class:`Refused` with the reason if it cannot run."""
    query = sqlcheck.check(sql)
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
    for projection in head.expressions:  # unique output names, so each can be shown
        name = projection.alias_or_name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            projection.replace(exp.alias_(projection.unalias(), f"{name}_{seen[name]}", quoted=True))
    tables = _tables(query, schema)
    columns = tuple(head.named_selects)
    relations = []
    for i, (table, name, used) in enumerate(tables.values(), 1):
        available = schema[name.split(".")[0]][name.split(".")[1]]
        relation = Relation(f"__xg_r{i}", name, tuple(c for c in available if c in used) or (next(iter(available)),))
        relations.append(relation)
        alias = table.alias_or_name
        table.replace(exp.table_(relation.name, alias=exp.to_identifier(alias, quoted=True)))
    read = {f"{r.table}.{c}" for r in relations for c in r.columns}
    touched = {o[0] for f in read for o in policy.column_origins(*f.rsplit(".", 1)) if o[0]}
    return Plan(
        sql=query.sql(dialect="duckdb"),
        relations=tuple(relations),
        columns=columns,
        fields=tuple(sorted(read)),
        datasets=tuple(sorted(touched)),
    )


@lru_cache(maxsize=512)
def shared_plan(sql: str) -> Plan:
    return build(sql, policy.shared_schema())


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
