"""Which contract field every readable column comes from, and so what a reader may see of it.

A column's *origins* are the contract fields (dataset, field) it is computed from. The shared views'
origins come from column lineage of their SQL (:data:`warehouse.model.VIEWS`) over the raw tables,
whose columns are the contract's fields. What a reader sees of a column is the strictest rule among
its origins: not-shared never leaves (the column is not even in the schema a query is checked
against); sensitive is hidden unless the case holds a grant for that dataset; personal is partly
masked; public and internal pass. A column traced to nothing a contract names is hidden (fail closed);
a column computed from constants only (``count(*)``, a literal) passes.
"""

from __future__ import annotations

from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from connectors.staging import LINEAGE
from contracts import contracts
from contracts.checks import Field
from linkage.tables import TABLES, columns
from warehouse.land import table_name
from warehouse.model import VIEWS

Origin = tuple[str, str]  # (dataset, field)
UNTRACED: Origin = ("", "")
CLEAR, MASK, HIDE = 0, 1, 2
QUARANTINE_SAFE = {"dataset", "rule", "rule_key", "check", "column", "column_name", "field", "severity",
                   "contract_version", "batch_id", "row_number"}  # fmt: skip
QUARANTINED = {"value", "record"}  # a department's values, masked row by row by their own field (access.masked)
# what linkage shares: record keys, pseudonymous person keys and scores, no value of a person
LINKED = tuple(t for t in TABLES if t.startswith("shared."))


@cache
def fields() -> dict[Origin, Field]:
    return {(c.id, name): spec for c in contracts().values() for name, spec in c.fields.items()}


@cache
def subject_fields() -> frozenset[Origin]:
    """Fields whose value identifies a person: the ones a contract checks as a resident or party ID."""
    return frozenset((c.id, name) for c in contracts().values() for name in c.person_ids)


@cache
def _raw_tables() -> dict[str, str]:
    return {table_name(c.id): c.id for c in contracts().values()}


def column_origins(table: str, column: str) -> frozenset[Origin]:
    """Origins of ``column`` of ``table`` (``schema.name``), whatever layer it is in."""
    schema, name = table.lower().split(".", 1)
    column = column.lower()
    if table.lower() in LINKED:
        return frozenset()
    if schema == "shared":
        return view_origins().get(table.lower(), {}).get(column, frozenset({UNTRACED}))
    if schema in ("raw", "conformed"):
        dataset = _raw_tables().get(f"raw.{name}")
        if column in LINEAGE or column == "contract_version":
            return frozenset()
        field = column.removesuffix("__original")
        return frozenset({(dataset, field) if dataset and (dataset, field) in fields() else UNTRACED})
    if schema == "meta" or (schema == "quarantine" and (column in QUARANTINE_SAFE | QUARANTINED or column in LINEAGE)):
        return frozenset()  # operational records about batches and rules, no person's data
    return frozenset({UNTRACED})


def level(origins: frozenset[Origin], granted: frozenset[str]) -> int:
    """CLEAR, MASK or HIDE for a value computed from these origins, given the datasets granted."""
    shown = CLEAR
    for dataset, name in origins:
        spec = fields().get((dataset, name))
        if spec is None or spec.sharing == "not-shared":
            return HIDE
        if spec.classification == "sensitive" and dataset not in granted:
            return HIDE
        if spec.classification == "personal":
            shown = MASK
    return shown


def is_subject(origins: frozenset[Origin]) -> bool:
    """A value computed only from person ID fields: it says whom a row concerns."""
    return bool(origins) and origins <= subject_fields()


@cache
def subject_column(table: str) -> str | None:
    """The one column of ``table`` naming the person each row is about (case subjects are shown in full
    by it); None when there is none or more than one, and then every row stays masked."""
    schema, name = table.lower().split(".", 1)
    if schema == "shared":
        origins_of = view_origins().get(table.lower(), {})
    elif schema in ("raw", "conformed"):
        dataset = _raw_tables().get(f"raw.{name}")
        origins_of = {f: column_origins(table, f) for f in (contracts()[dataset].fields if dataset else ())}
    else:
        return None
    found = [c for c, origins in origins_of.items() if is_subject(origins)]
    return found[0] if len(found) == 1 else None


def not_shared(origins: frozenset[Origin]) -> bool:
    return any(fields().get(o) is not None and fields()[o].sharing == "not-shared" for o in origins)


@cache
def raw_schema() -> dict[str, dict[str, dict[str, str]]]:
    """The raw tables as the contracts declare them (what the views are written over)."""
    schema: dict[str, dict[str, dict[str, str]]] = {"quarantine": {"rows": {"dataset": "VARCHAR", "record": "JSON"}}}
    schema["shared"] = {t.split(".")[1]: dict.fromkeys(columns(t), "VARCHAR") for t in LINKED}
    for table, dataset in _raw_tables().items():
        schema.setdefault("raw", {})[table.split(".")[1]] = {f: "VARCHAR" for f in contracts()[dataset].fields}
    return schema


def leaf_origins(node) -> frozenset[Origin]:
    """Origins of a lineage tree: its leaves that are table columns; a leaf reading a column lineage
    could not resolve is untraced; a leaf of constants has no origin."""
    found: set[Origin] = set()
    for leaf in (n for n in node.walk() if not n.downstream):
        if isinstance(leaf.expression, exp.Table):
            table = f"{leaf.expression.db}.{leaf.expression.name}"
            found |= column_origins(table, leaf.name.split(".")[-1].strip('"'))
        elif any(True for _ in leaf.expression.find_all(exp.Column, exp.TableColumn)):
            found.add(UNTRACED)
    return frozenset(found)


@cache
def view_origins() -> dict[str, dict[str, frozenset[Origin]]]:
    """``shared.<view>`` -> column -> origins, from the lineage of each view's SQL (once per process)."""
    out = {}
    for view, (sql, _) in VIEWS.items():
        nodes = lineage(None, sql, schema=raw_schema(), dialect="duckdb")
        out[view] = {name.lower(): leaf_origins(node) for name, node in nodes.items()}
    return out


@cache
def row_requires() -> dict[str, frozenset[str]]:
    """``shared.<view>`` -> datasets whose grant it needs: a view whose rows are chosen by a sensitive field
    (``WHERE p.deceased_at IS NOT NULL``) says that fact of every person it lists, even with the field
    itself hidden, so reading it at all needs the grant (the lineage of its columns cannot see this)."""
    out = {}
    for view, (sql, _) in VIEWS.items():
        query = qualify(sqlglot.parse_one(sql, read="duckdb"), schema=raw_schema(), dialect="duckdb")
        needed = set()
        for scope in traverse_scope(query):
            for column in scope.columns:
                source = scope.sources.get(column.table)
                if isinstance(source, exp.Table):
                    for dataset, name in column_origins(f"{source.db}.{source.name}", column.name):
                        spec = fields().get((dataset, name))
                        if spec is not None and spec.classification == "sensitive":
                            needed.add(dataset)
        out[view] = frozenset(needed)
    return out


@cache
def shared_schema() -> dict[str, dict[str, dict[str, str]]]:
    """The shared views as a query is checked against them: not-shared columns are simply not there."""
    views: dict[str, dict[str, str]] = {t.split(".")[1]: dict.fromkeys(columns(t), "VARCHAR") for t in LINKED}
    for view, found in view_origins().items():
        views[view.split(".")[1]] = {c: "VARCHAR" for c, o in found.items() if not not_shared(o)}
    return {"shared": views}
