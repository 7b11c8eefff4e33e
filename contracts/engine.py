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

The compiled form is kept on disk (the data directory's ``cache/checks``), keyed by the contract's
checks, the batch's shape, the GX version and the compiler's own source, so GX (seconds to import)
loads only when a contract or shape is new: a ten-row file validates in about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import duckdb

from contracts.checks import Check, Contract
from contracts.sql import NORMALISE_SQL, install, literal, normalised, quote, split_steps


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


def helper_column(check: Check) -> str:
    """The prepared column a comparing check reads (its inputs computed once, beside the fields)."""
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
            helpers.append(f"{cast} AS {quote(helper_column(check))}")
        elif check.name == "type":
            helpers.append(f"xg_type_ok({value}, {literal(arg['logical_type'])}) AS {quote(helper_column(check))}")
        elif check.name == "id_birth_date":
            ident = quote(arg["id_field"])
            helpers += [
                f"TRY_CAST(xg_to_date(CAST({value} AS VARCHAR)) AS DATE) AS {quote(helper_column(check))}",
                f"CASE WHEN xg_ric_ok({ident}) THEN xg_ric_birth({ident}) END AS {quote(helper_column(check) + '_id')}",
            ]
        elif check.name == "id_sex":
            ident = quote(arg["id_field"])
            helpers.append(
                f"CASE WHEN xg_ric_ok({ident}) THEN CASE WHEN CAST(substr({ident}, 17, 1) AS INT) % 2 = 1 "
                f"THEN '{arg['male']}' ELSE '{arg['female']}' END END AS {quote(helper_column(check))}"
            )
        elif check.name == "unique_active":
            helpers.append(
                f"CASE WHEN {quote(arg['status_field'])} = {literal(arg['active'])} THEN {value} END "
                f"AS {quote(helper_column(check))}"
            )
        elif check.name == "references" and check.key in references:
            helpers.append(
                f"CASE WHEN {value} IS NULL THEN NULL ELSE {value} IN (SELECT ref FROM {references[check.key]}) "
                f"END AS {quote(helper_column(check))}"
            )
    # helpers read the normalised values, so they sit one level above the normalising SELECT
    return f"SELECT *{''.join(', ' + h for h in helpers)} FROM ({base})"


def checking_connection(memory_limit: str) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection a batch is checked on: our macros, bounded memory (beyond it DuckDB spills),
    and rows written in whatever order the threads finish (row order carries no meaning in a batch)."""
    con = duckdb.connect()
    install(con.execute)
    con.execute(f"SET memory_limit = {literal(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")
    return con


_compiled: dict[str, list[CompiledCheck]] = {}
_COMPILER = ("gx_compile.py", "gx_duckdb.py", "expectations.py", "sql.py", "engine.py")


def _cache_key(contract: Contract, schema: list[tuple[str, str]]) -> str:
    """Everything the compiled SQL depends on: the checks, the shape, GX and the code that drives it."""
    here = Path(__file__).parent
    digest = hashlib.sha256(repr((contract.id, contract.version, contract.checks, schema)).encode())
    digest.update(version("great_expectations").encode())
    for name in _COMPILER:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def _load(path: Path, contract: Contract) -> list[CompiledCheck] | None:
    by_key = {c.key: c for c in contract.checks}
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        return [CompiledCheck(by_key[i["key"]], i["predicate"], i["query"], i["skipped"]) for i in items]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, torn or stale: compile again


def _store(path: Path, compiled: list[CompiledCheck]) -> None:
    """Written whole under a temporary name and renamed, owner-only: the SQL in it is run on every batch."""
    items = [{"key": c.check.key, "predicate": c.predicate, "query": c.query, "skipped": c.skipped} for c in compiled]
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(items, out)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only data directory only costs the next run a compile


def compile_checks(
    contract: Contract, schema: list[tuple[str, str]], cache_dir: Path | None = None
) -> list[CompiledCheck]:
    """The compiled checks of ``contract`` on a prepared batch of ``schema`` [(column, type)]: from this
    process's memory, else from ``cache_dir``, else compiled by GX (and kept in both)."""
    key = _cache_key(contract, schema)
    if key in _compiled:
        return _compiled[key]
    path = cache_dir / f"{key}.json" if cache_dir else None
    compiled = _load(path, contract) if path else None
    if compiled is None:
        from contracts.gx_compile import compile_with_gx  # GX loads here, and only here

        compiled = compile_with_gx(contract, schema)
        if path:
            _store(path, compiled)
    _compiled[key] = compiled
    return compiled


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
