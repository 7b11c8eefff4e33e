"""Great Expectations as the compiler of a contract's checks: the suite, validated on an empty table of
the batch's shape, hands back for every expectation the SQL it writes for the failing rows.

Importing GX costs seconds, so this module is only loaded when ``contracts.engine`` finds no compiled
form of a contract and shape in memory or on disk.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import great_expectations as gx
import sqlalchemy as sa
import sqlglot
from sqlglot import expressions as exp

from contracts.checks import Check, Contract
from contracts.engine import CompiledCheck, helper_column
from contracts.expectations import EXPECTATIONS
from contracts.gx_duckdb import context
from contracts.loader import ContractError
from contracts.sql import ON_ORIGINAL, quote

COMPILE_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["_row"],
    "return_unexpected_index_query": True,
}


def expectation(check: Check, columns: list[str]) -> gx.expectations.Expectation | None:
    """The GX expectation for one check, or None when the batch lacks what it needs."""
    meta = {"key": check.key}
    column, helper = check.field, helper_column(check)
    if check.name == "not_null":
        return gx.expectations.ExpectColumnValuesToNotBeNull(column=column, meta=meta)
    if check.name == "unique":
        return gx.expectations.ExpectColumnValuesToBeUnique(column=column, meta=meta)
    if check.name == "in_set":
        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=column, value_set=list(check.arg["values"]), meta=meta
        )
    if check.name == "pattern":
        return gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=check.arg["regex"], meta=meta)
    if check.name == "between":
        return gx.expectations.ExpectColumnValuesToBeBetween(
            column=helper, min_value=check.arg.get("min"), max_value=check.arg.get("max"), meta=meta
        )
    if check.name in EXPECTATIONS:
        target = f"{column}__original" if check.name in ON_ORIGINAL and f"{column}__original" in columns else column
        return EXPECTATIONS[check.name](column=target, meta=meta)
    if check.name == "id_birth_date":
        return gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A=helper, column_B=f"{helper}_id", ignore_row_if="either_value_is_missing", meta=meta
        )
    if check.name == "id_sex":
        return gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A=column, column_B=helper, ignore_row_if="either_value_is_missing", meta=meta
        )
    if check.name == "unique_active":
        return gx.expectations.ExpectColumnValuesToBeUnique(column=helper, meta=meta)
    if check.name in ("type", "references"):
        return (
            gx.expectations.ExpectColumnValuesToBeInSet(column=helper, value_set=[True], meta=meta)
            if helper in columns
            else None
        )
    raise AssertionError(check.name)


@contextmanager
def duckdb_session() -> Iterator[tuple[object, object]]:
    """A GX SQL datasource on a private, named in-memory DuckDB; yields (datasource, run(sql)).

    Named, because GX opens the datasource's engine and the execution engine separately, and both
    must see the tables we create; DuckDB shares a named in-memory database within the process.
    """
    ctx = context()
    name = f"xgate_{uuid.uuid4().hex[:12]}"
    source = ctx.data_sources.add_sql(name, connection_string=f"duckdb:///:memory:{name}")
    engine = source.get_execution_engine()

    def run(statement: str) -> list[tuple]:
        """Reads return their rows; writes are committed, so GX's other connection sees them."""
        if statement.lstrip().upper().startswith(("SELECT", "DESCRIBE", "WITH")):
            return engine.execute_query(sa.text(statement)).fetchall()
        engine.execute_query_in_transaction(sa.text(statement))
        return []

    try:
        yield source, run
    finally:
        engine.close()
        ctx.data_sources.delete(name)


def _first_error(info: dict) -> str:
    """GX keeps a metric's error either at the top or under each metric id."""
    if info.get("exception_message"):
        return str(info["exception_message"]).splitlines()[0]
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("exception_message")]
    return str(nested[0]["exception_message"]).splitlines()[0] if nested else "unknown error"


def _row_predicate(query: str) -> str:
    """The WHERE of ``SELECT <columns> FROM prepared WHERE p``; empty for any other shape (a join, a
    grouping, an alias, a clause we do not know), which then runs whole as GX wrote it."""
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return ""
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if source else None
    used = {key for key, value in tree.args.items() if value}
    if (
        isinstance(tree, exp.Select)
        and used <= {"expressions", "from", "from_", "where"}
        and "where" in used
        and isinstance(table, exp.Table)
        and table.name == "prepared"
        and not (table.alias or table.db or table.catalog)
    ):
        return tree.args["where"].this.sql(dialect="duckdb")
    return ""


def _ignored_rows(kwargs: dict) -> str:
    """GX skips some rows of a column-pair check when it counts, but its failing-row query does not:
    the condition that skips them, to AND with the predicate."""
    a, b = quote(str(kwargs.get("column_A"))), quote(str(kwargs.get("column_B")))
    return {
        "either_value_is_missing": f"{a} IS NOT NULL AND {b} IS NOT NULL",
        "both_values_are_missing": f"NOT ({a} IS NULL AND {b} IS NULL)",
    }.get(kwargs.get("ignore_row_if") or "", "")


def compile_with_gx(contract: Contract, schema: list[tuple[str, str]]) -> list[CompiledCheck]:
    """GX's SQL for every check of ``contract`` on a prepared batch of ``schema`` [(column, type)],
    validated on an empty table of that shape, so compiling costs the same for ten rows or ten million."""
    columns = [name for name, _ in schema]
    context()  # GX builds suites only inside a context
    suite = gx.ExpectationSuite(name=f"{contract.id}@{contract.version}")
    skipped: list[CompiledCheck] = []
    for check in contract.checks:
        built = expectation(check, columns) if check.field in columns else None
        if built is None:
            reason = "column missing" if check.field not in columns else "reference not available"
            skipped.append(CompiledCheck(check, skipped=reason))
        else:
            suite.add_expectation(built)
    with duckdb_session() as (source, run):
        run(f"CREATE TABLE prepared ({', '.join(f'{quote(name)} {kind}' for name, kind in schema)})")
        batch = (
            source.add_table_asset("prepared", table_name="prepared")
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        outcome = batch.validate(suite, result_format=COMPILE_FORMAT)
    by_key = {c.key: c for c in contract.checks}
    compiled: list[CompiledCheck] = []
    for item in outcome.results:
        check = by_key[item.expectation_config.meta["key"]]
        query = (item.result or {}).get("unexpected_index_query")
        if item.exception_info.get("raised_exception") or not query:
            raise ContractError(
                contract.path, 1, f"{check.key} could not be evaluated: {_first_error(item.exception_info)}"
            )
        body = query.rstrip().rstrip(";")
        predicate, kept = _row_predicate(body), _ignored_rows(item.expectation_config.kwargs)
        if kept:
            predicate = predicate and f"({predicate}) AND {kept}"
            body = f"SELECT * FROM ({body}) WHERE {kept}"
        compiled.append(CompiledCheck(check, predicate=predicate, query="" if predicate else body))
    return compiled + skipped
