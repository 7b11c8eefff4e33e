"""Great Expectations on DuckDB: the two GX internals that need a nudge, and our macros on every connection.

GX 1.24's SQL engine closes its connection before callers fetch results for every dialect but a few
(sqlite, mssql, ...); with duckdb-engine the cursor dies with the connection and each metric fails with
"list index out of range" (GX issue #11579). Keeping one persisted connection for duckdb, as GX does
for sqlite, fixes it. GX also has no DuckDB branch for regular expressions; DuckDB's is
``regexp_matches``. And when GX inlines parameters into the SQL it hands back, it takes a ``$1`` as
substituted if the value's digits occur anywhere in the query (``count(*) >= $1`` beside a column
``area_m2``); a ``$<n>`` left in the text now sends it to GX's own literal-binds fallback. The
patches are applied once, before any datasource exists.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from functools import cache

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.ERROR)
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)

import great_expectations as gx  # noqa: E402
import great_expectations.execution_engine.sqlalchemy_execution_engine as gx_sql_engine  # noqa: E402
import great_expectations.expectations.metrics.util as gx_metric_util  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from contracts import sql  # noqa: E402


class _DuckDBDialect:
    """Stands in for a ``GXSqlDialect`` member (that Enum has no DUCKDB and cannot be extended)."""

    value = "duckdb"

    def __eq__(self, other: object) -> bool:
        return str(getattr(other, "value", other)).lower() == "duckdb"

    def __hash__(self) -> int:
        return hash("duckdb")


def _regex_with_duckdb(original):
    def get_dialect_regex_expression(column, regex, dialect, positive=True):
        if getattr(dialect, "name", None) == "duckdb":
            expression = sa.func.regexp_matches(column, sa.literal(regex))
            return expression if positive else sa.not_(expression)
        return original(column, regex, dialect, positive)

    return get_dialect_regex_expression


def _unsubstituted_with_duckdb(original):
    def check_has_unsubstituted_params(query_as_string, compiled):
        return original(query_as_string, compiled) or bool(re.search(r"\$\d+", query_as_string))

    return check_has_unsubstituted_params


def _install_macros(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.split(".")[0] == "duckdb_engine":
        sql.install(dbapi_connection.execute)


@cache
def context() -> gx.data_context.AbstractDataContext:
    """One ephemeral GX context per process, patched for DuckDB, quiet, offline."""
    if not any(d == "duckdb" for d in gx_sql_engine._PERSISTED_CONNECTION_DIALECTS):
        gx_sql_engine._PERSISTED_CONNECTION_DIALECTS = (*gx_sql_engine._PERSISTED_CONNECTION_DIALECTS, _DuckDBDialect())
    original = gx_metric_util.get_dialect_regex_expression
    patched = _regex_with_duckdb(original)
    for module in list(sys.modules.values()):  # metric modules imported the function by name
        if (
            getattr(module, "__name__", "").startswith("great_expectations")
            and getattr(module, "get_dialect_regex_expression", None) is original
        ):
            module.get_dialect_regex_expression = patched
    gx_metric_util._check_has_unsubstituted_params = _unsubstituted_with_duckdb(
        gx_metric_util._check_has_unsubstituted_params
    )
    sa.event.listen(sa.engine.Engine, "connect", _install_macros)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    from contracts import expectations  # noqa: F401  (registers the custom expectations)

    return ctx
