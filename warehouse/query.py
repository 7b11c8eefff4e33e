"""Read-only SQL for data engineers: one SELECT over the lake's tables and views, recorded.

The statement is parsed with sqlglot and refused unless it is a single query whose tables are all in
the lake's schemas (no file, extension or settings functions); it then runs on a read-only attach
that may read only the lake's own data files, with the configuration locked, optionally pinned to a
snapshot. Every query, allowed or refused, is appended to ``<data>/audit/engineer_queries.jsonl``.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime

import duckdb
import sqlglot
from sqlglot import exp

from warehouse import lake
from xgate.errors import ConfigError
from xgate.settings import Settings

SCHEMAS = {"raw", "conformed", "shared", "quarantine", "meta"}
LIMIT = 1000


def check(sql: str) -> exp.Expression:
    """The parsed query, or a ConfigError saying why it is refused."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"not valid SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ConfigError("only one SELECT statement is allowed")
    query = statements[0]
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise ConfigError(f"table functions are not allowed: {table.sql(dialect='duckdb')[:60]}")
        if table.name in ctes and not table.db:
            continue
        if table.db not in SCHEMAS or table.catalog not in ("", lake.LAKE):
            raise ConfigError(
                f"{table.sql(dialect='duckdb')} is not a warehouse table; use schemas {', '.join(sorted(SCHEMAS))}"
            )
    return query


def _record(settings: Settings, entry: dict) -> None:
    folder = settings.data_dir / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "engineer_queries.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")


def run(settings: Settings, sql: str, as_of: int | None = None) -> tuple[list[str], list[tuple]]:
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "user": os.environ.get("XGATE_USER") or getpass.getuser(),
        "query": sql,
        "as_of": as_of,
    }
    try:
        check(sql)
    except ConfigError as exc:
        _record(settings, entry | {"refused": str(exc)})
        raise
    con = lake.connect(settings, read_only=True, as_of=as_of)
    data = settings.warehouse_dir / "data"
    try:  # the lake's own files only; nothing else on disk, no settings changed by the query
        con.execute(f"SET allowed_directories = ['{data.resolve()}/', '{data}/']")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        result = con.execute(sql)
        columns = [d[0] for d in result.description]
        rows = result.fetchmany(LIMIT)
    except duckdb.Error as exc:
        _record(settings, entry | {"failed": str(exc).splitlines()[0]})
        raise ConfigError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    _record(settings, entry | {"rows": len(rows)})
    return columns, rows
