"""Checks -> a Great Expectations suite, compiled to DuckDB predicates, evaluated in one pass per batch.

The batch is first *prepared* by one SELECT (a view, never materialised): normalised values (originals
kept beside them as ``<field>__original``), a row number ``_row``, and helper columns for the checks
that compare fields (``__<check>__<field>``).

Why compile rather than let GX scan the batch: on a SQL engine GX evaluates each expectation once to
count and again to list the failing rows, and a row-level split needs every failing row of every rule,
so the costliest checks (the ID checksum) ran three times. Instead GX validates the suite once per
contract and batch shape, on an empty table of the prepared shape, and hands back for every
expectation the query it writes for the failing rows (custom expectations included). A query over
the rows alone (``SELECT ... FROM prepared WHERE <predicate>``) becomes a row predicate, and all of
them are evaluated together in one scan; one over the whole column (``unique``: a join on the
duplicated keys) runs as it is. The failing rows, with every rule they fail, are all that is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import great_expectations as gx
import sqlalchemy as sa
import sqlglot
from sqlglot import expressions as exp

from contracts.checks import Check, Contract
from contracts.expectations import EXPECTATIONS
from contracts.gx_duckdb import context
from contracts.loader import ContractError
from contracts.sql import NORMALISE_SQL, ON_ORIGINAL, install, literal, normalised, quote, split_steps

COMPILE_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["_row"],
    "return_unexpected_index_query": True,
}


@dataclass
class RuleResult:
    check: Check
    unexpected: int
    checked: int
    skipped: str = ""

    def meets(self) -> bool:
        """The rule's ODCS threshold holds on this batch (a skipped rule judges nothing)."""
        return bool(self.skipped) or self.check.meets(self.unexpected, self.checked)


@dataclass(frozen=True)
class CompiledCheck:
    """One check as GX compiled it: a row ``predicate``, or a ``query`` whose ``_row`` fail; or ``skipped``."""

    check: Check
    predicate: str = ""
    query: str = ""
    skipped: str = ""


def _helper(check: Check) -> str:
    return f"__{check.name}__{check.field}"


def prepare_sql(
    contract: Contract,
    source: str,
    columns: list[str],
    references: dict[str, str],
    row_id: str,
    text: set[str] | frozenset[str] = frozenset(),
) -> str:
    """The SELECT that normalises a batch and adds what the checks need. ``source`` is a FROM clause;
    ``row_id`` must give a row the same number on every scan (the view is read several times)."""
    select = [f"{row_id} AS _row"]
    later: list[str] = []
    helpers: list[str] = []
    for name in columns:
        spec = contract.fields.get(name)
        if spec and spec.normalise:
            first, rest = split_steps(spec.normalise)
            inner = normalised(name, first)
            select += [f"{inner} AS {quote(name)}", f"CAST({quote(name)} AS VARCHAR) AS {quote(name + '__original')}"]
            if rest:
                expr = quote(name)
                for step in rest:
                    expr = NORMALISE_SQL[step].format(expr)
                later.append(f"{expr} AS {quote(name)}")
        elif name in text and spec:  # an empty cell in a text column is a missing value, as in normalised()
            select.append(f"nullif(xg_trim({quote(name)}), '') AS {quote(name)}")
        else:
            select.append(quote(name))
    base = f"SELECT {', '.join(select)} FROM {source}"
    if later:
        base = f"SELECT * REPLACE ({', '.join(later)}) FROM ({base})"
    for check in contract.checks:
        needs = [check.field] + [check.arg[k] for k in ("id_field", "status_field") if k in check.arg]
        if any(name not in columns for name in needs):
            continue
        value, arg = quote(check.field), check.arg
        if check.name == "between":
            typed = {"date": "DATE", "timestamp": "TIMESTAMP", "integer": "BIGINT", "number": "DOUBLE"}.get(
                contract.fields[check.field].logical_type
            )
            cast = f"TRY_CAST(CAST({value} AS VARCHAR) AS {typed})" if typed else value
            helpers.append(f"{cast} AS {quote(_helper(check))}")
        elif check.name == "type":
            helpers.append(f"xg_type_ok({value}, {literal(arg['logical_type'])}) AS {quote(_helper(check))}")
        elif check.name == "id_birth_date":
            ident = quote(arg["id_field"])
            helpers += [
                f"TRY_CAST(xg_to_date(CAST({value} AS VARCHAR)) AS DATE) AS {quote(_helper(check))}",
                f"CASE WHEN xg_ric_ok({ident}) THEN xg_ric_birth({ident}) END AS {quote(_helper(check) + '_id')}",
            ]
        elif check.name == "id_sex":
            ident = quote(arg["id_field"])
            helpers.append(
                f"CASE WHEN xg_ric_ok({ident}) THEN CASE WHEN CAST(substr({ident}, 17, 1) AS INT) % 2 = 1 "
                f"THEN '{arg['male']}' ELSE '{arg['female']}' END END AS {quote(_helper(check))}"
            )
        elif check.name == "unique_active":
            helpers.append(
                f"CASE WHEN {quote(arg['status_field'])} = {literal(arg['active'])} THEN {value} END "
                f"AS {quote(_helper(check))}"
            )
        elif check.name == "references" and check.key in references:
            helpers.append(
                f"CASE WHEN {value} IS NULL THEN NULL ELSE {value} IN (SELECT ref FROM {references[check.key]}) "
                f"END AS {quote(_helper(check))}"
            )
    # helpers read the normalised values, so they sit one level above the normalising SELECT
    return f"SELECT *{''.join(', ' + h for h in helpers)} FROM ({base})"


def expectation(check: Check, columns: list[str]) -> gx.expectations.Expectation | None:
    """The GX expectation for one check, or None when the batch lacks what it needs."""
    meta = {"key": check.key}
    column, helper = check.field, _helper(check)
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


def checking_connection(memory_limit: str) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection a batch is checked on: our macros, bounded memory (beyond it DuckDB spills),
    and rows written in whatever order the threads finish (row order carries no meaning in a batch)."""
    con = duckdb.connect()
    install(con.execute)
    con.execute(f"SET memory_limit = {literal(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")
    return con


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


_compiled: dict[tuple, list[CompiledCheck]] = {}


def compile_checks(contract: Contract, schema: list[tuple[str, str]]) -> list[CompiledCheck]:
    """GX's SQL for every check of ``contract`` on a prepared batch of ``schema`` [(column, type)].

    Validated on an empty table of that shape, so compiling costs the same for ten rows or ten million;
    kept per contract version and shape for the life of the process.
    """
    key = (contract.id, contract.version, repr(contract.checks), tuple(schema))
    if key in _compiled:
        return _compiled[key]
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
    _compiled[key] = compiled + skipped
    return _compiled[key]


def run_checks(run: Callable[[str], list[tuple]], compiled: list[CompiledCheck], rows_in: int) -> list[RuleResult]:
    """Check view ``prepared``; writes ``failures(_row, rule_key)`` and ``flagged`` (the prepared
    columns of every row that fails a check). Returns the per-rule counts."""
    whole = [f"SELECT DISTINCT _row, {literal(c.check.key)} AS rule_key FROM ({c.query})" for c in compiled if c.query]
    run(
        "CREATE TABLE failures AS "
        + (" UNION ALL ".join(whole) if whole else "SELECT CAST(NULL AS BIGINT) AS _row, '' AS rule_key WHERE false")
    )
    per_row = [c for c in compiled if c.predicate]
    failed = ", ".join(f"CASE WHEN ({c.predicate}) THEN {literal(c.check.key)} END" for c in per_row)
    condition = " OR ".join([f"({c.predicate})" for c in per_row] + ["_row IN (SELECT _row FROM failures)"])
    run(
        f"CREATE TABLE flagged AS SELECT *, list_filter([{failed}]::VARCHAR[], k -> k IS NOT NULL) AS _failed "
        f"FROM prepared WHERE {condition}"
    )
    run("INSERT INTO failures SELECT _row, unnest(_failed) FROM flagged")
    counts = dict(run("SELECT rule_key, count(*) FROM failures GROUP BY rule_key"))
    return [
        RuleResult(c.check, 0, 0, c.skipped) if c.skipped else RuleResult(c.check, counts.get(c.check.key, 0), rows_in)
        for c in compiled
    ]
