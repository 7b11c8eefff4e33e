"""The first gate for SQL people write: one SELECT over allowed schemas, nothing that reaches outside.

Refusals happen here, on the parsed tree (sqlglot normalises case, quoting and comments), before
DuckDB sees anything; the locked-down connection (:func:`warehouse.lake.connect_locked`) is the second
wall. Refused: anything but a single query (ATTACH, COPY, PRAGMA, SET, INSTALL, LOAD, CALL, a second
statement after ``;``), table functions (``read_parquet``, ``glob``, ``query_table`` ...), tables
outside the allowed schemas or not named with their schema, and functions that read files, settings,
variables or the catalog's internals.
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp

from access.users import Refused
from warehouse.lake import LAKE

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is our refusal to make

BLOCKED = {
    "glob", "query", "query_table", "query_table_by_name", "current_setting", "getenv", "getvariable",
    "read_text", "read_blob", "sniff_csv", "which_secret", "load_extension", "columns", "unnest_file",
}  # fmt: skip
BLOCKED_PREFIXES = (
    "read_", "parquet_", "duckdb_", "pragma_", "ducklake_", "sqlite_", "postgres_", "mysql_", "iceberg_",
    "delta_", "json_execute", "http", "s3_", "arrow_scan", "pandas_scan", "seq_scan",
)  # fmt: skip


def function_name(node: exp.Func) -> str:
    """The name DuckDB will call, whatever case or typed node sqlglot made of it."""
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def check(sql: str, schemas: frozenset[str]) -> exp.Query:
    """The parsed query, or :class:`Refused` with the reason."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise Refused(f"not valid SQL: {str(exc).splitlines()[0][:200]}") from None
    statements = [s for s in statements if not isinstance(s, exp.Semicolon)]  # a trailing comment
    if len(statements) != 1:
        raise Refused("only one statement is allowed")
    query = statements[0]
    if not isinstance(query, exp.Query):
        raise Refused(f"only SELECT is allowed, not {query.key.upper()}")
    for node in query.walk():
        if isinstance(node, exp.Func):
            name = function_name(node)
            if name in BLOCKED or name.startswith(BLOCKED_PREFIXES):
                raise Refused(f"function {name}() is not allowed")
        if isinstance(node, exp.DDL | exp.DML | exp.Command | exp.Pragma | exp.Set):
            raise Refused(f"only SELECT is allowed, not {node.key.upper()}")
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise Refused(f"table functions are not allowed: {table.sql(dialect='duckdb')[:60]}")
        if not table.db and table.name.lower() in ctes:
            continue
        if table.db.lower() not in schemas or table.catalog.lower() not in ("", LAKE):
            shown = table.sql(dialect="duckdb")[:80]
            raise Refused(f"{shown} is not readable here; use schema {', '.join(sorted(schemas))} (schema.view)")
    return query
