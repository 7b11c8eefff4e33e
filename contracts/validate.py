"""Validate a batch against its contract and split it: passing rows go on, failing rows to quarantine.

For every batch, rows in = rows passed + rows quarantined. An ``error`` rule quarantines the row; a
``warn`` rule lets it pass and records a finding. When the share of rows failing an error rule passes
the contract's threshold, when an ``error`` rule breaks its own ODCS threshold (``mustBe: 0``,
``mustBeLessThan: 1`` percent ...), or when the schema drifts under a ``freeze`` policy, the whole batch
is held in quarantine with the reason. Outputs, one file per batch (safe for concurrent validations):

- ``<data>/validated/<dataset>/<batch>.parquet``: passing rows, normalised, originals beside them;
- ``<data>/quality/quarantine/<batch>.parquet`` and ``findings/<batch>.parquet``: one row per (row, rule),
  with rule key, column, value, severity, contract version, batch id and the whole record;
- ``<data>/quality/results/<batch>.parquet`` (per rule) and ``batches/<batch>.parquet`` (per batch).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from connectors.records import parse_offset
from connectors.staging import LINEAGE
from contracts.checks import Contract
from contracts.loader import ContractError
from contracts.sql import literal, quote
from xgate.settings import Settings

if TYPE_CHECKING:
    from contracts.engine import RuleResult


@dataclass
class Outcome:
    batch_id: str
    dataset: str
    contract_version: str
    rows_in: int
    rows_passed: int
    rows_quarantined: int
    held: str = ""
    drift: dict = field(default_factory=dict)
    rules: list[RuleResult] = field(default_factory=list)
    freshness_hours: float | None = None
    freshness_ok: bool | None = None
    seconds: float = 0.0
    validated_path: str = ""


def _drift(contract: Contract, columns: list[str]) -> dict:
    data = {c for c in columns if c not in LINEAGE}
    added = sorted(data - set(contract.fields))
    missing = sorted(set(contract.fields) - data)
    return {k: v for k, v in (("added", added), ("missing", missing)) if v}


SMALL_BATCH_ROWS = 100_000


def quality_dir(settings: Settings, kind: str) -> Path:
    path = settings.data_dir / "quality" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def validate(
    settings: Settings,
    contract: Contract,
    files: list[Path],
    batch_id: str,
    write: bool = True,
    extracted_at: datetime | None = None,
    into: Settings | None = None,
    hold: bool = True,
) -> Outcome:
    """Validate Parquet files of one batch; with ``write`` the split and the results are stored (under
    ``into``'s data directory when given: ``xgate validate`` keeps them apart from the lake's). Without
    ``hold`` the batch is never held as a whole (an engineer released it after review): failing rows are
    still quarantined one by one."""
    from contracts.engine import checking_connection, compile_checks, prepare_sql, run_checks

    started = time.perf_counter()
    con = checking_connection(settings.validation_memory)

    def run(statement: str) -> list[tuple]:
        return con.execute(statement).fetchall()

    try:
        listing = ", ".join(literal(f) for f in files)
        run(
            f"CREATE VIEW incoming AS SELECT * FROM read_parquet([{listing}], union_by_name = true, "
            "filename = true, file_row_number = true)"
        )
        described = [row for row in run("DESCRIBE incoming") if row[0] not in ("filename", "file_row_number")]
        columns = [row[0] for row in described]
        text = {row[0] for row in described if row[1] == "VARCHAR"}
        drift = _drift(contract, columns)
        if contract.schema_drift == "drop" and drift.get("added"):
            columns = [c for c in columns if c not in drift["added"]]
        references = _references(settings, contract, run)
        row_id = f"(list_position([{listing}], filename) - 1) * 4294967296 + file_row_number"  # stable, parallel
        rows_in = run("SELECT count(*) FROM incoming")[0][0]
        # A view keeps a large batch out of memory; a small one is worth a table, since binding the view's
        # normalising SQL again for each of the ten queries below costs more than its rows do.
        kind = "TABLE" if rows_in <= SMALL_BATCH_ROWS else "VIEW"
        run(f"CREATE {kind} prepared AS {prepare_sql(contract, 'incoming', columns, references, row_id, text)}")
        schema = [(row[0], row[1]) for row in run("DESCRIBE prepared")]
        try:
            rules = run_checks(run, compile_checks(contract, schema, settings.data_dir / "cache" / "checks"), rows_in)
        except (duckdb.BinderException, duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            # what the contract asks cannot be computed on this data; anything else (memory, disk) is retried
            raise ContractError(contract.path, 1, f"checks could not be evaluated on this batch: {exc}") from None
        rules += _cell_checks(contract, run, [name for name, _ in schema], text, rows_in)
        errors = [r.check.key for r in rules if r.check.severity == "error"]
        error_list = ", ".join(map(literal, errors)) or "''"
        failing = run(f"SELECT count(DISTINCT _row) FROM failures WHERE rule_key IN ({error_list})")[0][0]
        held = ""
        required_missing = [f for f in drift.get("missing", []) if contract.fields[f].required]
        if required_missing:
            held = f"required field(s) {', '.join(required_missing)} missing from the batch"
        elif contract.schema_drift == "freeze" and drift:
            held = f"schema drift under a freeze policy: {json.dumps(drift, ensure_ascii=False)}"
        elif broken := [r for r in rules if r.check.severity == "error" and not r.meets()]:
            held = "; ".join(
                f"{r.check.key}: {r.check.metric(r.unexpected, r.checked):g} {r.check.unit} fail, the contract says "
                f"{r.check.describe_threshold()}"
                for r in broken
            )
            held = f"rule threshold broken ({held}): batch held in quarantine"
        elif rows_in and failing / rows_in > contract.error_threshold:
            held = (
                f"{failing:,} of {rows_in:,} rows ({failing / rows_in:.1%}) fail error rules, above the "
                f"contract's threshold of {contract.error_threshold:.0%}: batch held in quarantine"
            )
        if not hold:
            held = ""
        if held:  # every row goes to quarantine: the ones no rule flagged join the flagged rows
            run("INSERT INTO flagged SELECT *, [] FROM prepared WHERE _row NOT IN (SELECT _row FROM flagged)")
            run(f"INSERT INTO failures SELECT _row, {literal(contract.id + '__batch__held')} FROM flagged")
            errors.append(f"{contract.id}__batch__held")
            error_list = ", ".join(map(literal, errors))
        quarantined = run(f"SELECT count(DISTINCT _row) FROM failures WHERE rule_key IN ({error_list})")[0][0]
        freshness = _freshness(contract, run, extracted_at, settings, columns)
        outcome = Outcome(
            batch_id,
            contract.id,
            contract.version,
            rows_in,
            rows_in - quarantined,
            quarantined,
            held,
            drift,
            rules,
            *freshness,
        )
        if write:
            _write(into or settings, contract, run, outcome, errors, columns, [name for name, _ in schema])
    finally:
        con.close()
    outcome.seconds = time.perf_counter() - started
    if write:
        _write_results(into or settings, contract, outcome)
    return outcome


# Cells no contract should have to forbid, named for what went wrong in the department's spreadsheet. They
# run on every text field and appear as rules only where a batch has such a cell.
CELL_RULES = {
    "excel_number": r"^[0-9](\.[0-9]+)?[eE]\+?[0-9]+$",  # 5.10422E+17: an ID stored as a number, digits lost
    "control_chars": r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]",  # NUL and other control characters
}


def _cell_checks(contract: Contract, run, prepared: list[str], text: set[str], rows_in: int) -> list[RuleResult]:
    """Quarantine rows whose cells hold an Excel number where text was declared, or control characters."""
    from contracts.checks import Check
    from contracts.engine import RuleResult

    probes = []
    for name in (c for c in prepared if c in contract.fields and c in text):
        value = f"CAST({quote(name + '__original' if name + '__original' in prepared else name)} AS VARCHAR)"
        for rule, pattern in CELL_RULES.items():
            if rule != "excel_number" or contract.fields[name].logical_type == "string":
                probes.append((Check(contract.id, name, rule), f"regexp_matches({value}, {literal(pattern)})"))
    if not probes:
        return []
    counts = run("SELECT " + ", ".join(f"count(*) FILTER (WHERE {p})" for _, p in probes) + " FROM prepared")[0]
    found = []
    for (check, predicate), failed in zip(probes, counts):
        if failed:
            run(f"INSERT INTO failures SELECT _row, {literal(check.key)} FROM prepared WHERE {predicate}")
            run(
                f"INSERT INTO flagged SELECT *, [] FROM prepared WHERE {predicate} "
                "AND _row NOT IN (SELECT _row FROM flagged)"
            )
            found.append(RuleResult(check, failed, rows_in))
    return found


def stored_outcome(settings: Settings, batch_id: str) -> Outcome | None:
    """The outcome a finished validation recorded for a batch (None if it has not been validated).

    Lets landing run in another process than validation (an Airflow task per stage): only the batch id
    travels between them.
    """
    import pyarrow.parquet as pq

    path = quality_dir(settings, "batches") / f"{batch_id}.parquet"
    if not path.exists():
        return None
    row = pq.read_table(path).to_pylist()[0]
    return Outcome(
        batch_id,
        row["dataset"],
        row["contract_version"],
        row["rows_in"],
        row["rows_passed"],
        row["rows_quarantined"],
        row["held"],
        json.loads(row["drift"]),
        freshness_hours=row["freshness_hours"],
        freshness_ok=row["freshness_ok"],
        seconds=row["seconds"],
        validated_path=str(settings.data_dir / "validated" / row["dataset"] / f"{batch_id}.parquet"),
    )


def _references(settings: Settings, contract: Contract, run) -> dict[str, str]:
    """Reference sets for ``references`` checks: the referenced dataset's validated rows, when there are any."""
    tables = {}
    for i, check in enumerate(c for c in contract.checks if c.name == "references"):
        folder = settings.data_dir / "validated" / check.arg["dataset"]
        if any(folder.glob("*.parquet")):
            run(
                f"CREATE TABLE ref_{i} AS SELECT DISTINCT {quote(check.arg['field'])} AS ref "
                f"FROM read_parquet({literal(folder / '*.parquet')}, union_by_name = true)"
            )
            tables[check.key] = f"ref_{i}"
    return tables


def _freshness(
    contract: Contract, run, extracted_at: datetime | None, settings: Settings, columns: list[str]
) -> tuple[float | None, bool | None]:
    """Age of the newest record at extraction time, in hours, and whether it is within the SLA.

    Text with an offset is an instant; naive values are the department's wall clock (source_timezone).
    A whole-hour offset is a DuckDB time zone (``Etc/GMT-8`` is +08:00), so one cast reads both kinds;
    any other offset needs each value told apart (three times slower).
    """
    if not contract.freshness or contract.freshness_field not in columns:
        return None, None
    value = f"CAST({quote(contract.freshness_field)} AS VARCHAR)"
    zone = parse_offset(settings.source_timezone)
    hours, rest = divmod(int(zone.utcoffset(None).total_seconds()), 3600)
    if not rest:
        run(f"SET TimeZone = 'Etc/GMT{-hours:+d}'")
        newest = run(f"SELECT max(TRY_CAST({value} AS TIMESTAMPTZ)) FROM prepared")[0][0]
        run("RESET TimeZone")
        instants = [newest.astimezone(UTC)] if newest else []
    else:
        aware, naive = run(
            f"SELECT max(TRY_CAST({value} AS TIMESTAMPTZ)) FILTER (WHERE regexp_matches({value}, "
            f"'([+-][0-9][0-9]:?[0-9][0-9]|Z)$')), max(TRY_CAST({value} AS TIMESTAMP)) FILTER (WHERE NOT "
            f"regexp_matches({value}, '([+-][0-9][0-9]:?[0-9][0-9]|Z)$')) FROM prepared"
        )[0]
        instants = [aware.astimezone(UTC)] if aware else []
        if naive:
            instants.append(naive.replace(tzinfo=zone).astimezone(UTC))
    if not instants:
        return None, None
    age = ((extracted_at or datetime.now(UTC)).astimezone(UTC) - max(instants)).total_seconds() / 3600
    return round(age, 2), age <= contract.freshness.total_seconds() / 3600


def _write(
    settings: Settings,
    contract: Contract,
    run,
    outcome: Outcome,
    errors: list[str],
    columns: list[str],
    prepared: list[str],
) -> None:
    keep = [c for c in prepared if c == "_row" or c in columns or c.endswith("__original")]
    error_list = ", ".join(map(literal, errors))
    out = settings.data_dir / "validated" / contract.id
    out.mkdir(parents=True, exist_ok=True)
    outcome.validated_path = str(out / f"{outcome.batch_id}.parquet")

    def column(name: str) -> str:  # an original is kept where normalisation changed the value (else NULL)
        if not name.endswith("__original"):
            return quote(name)
        value = quote(name.removesuffix("__original"))
        return (
            f"CASE WHEN {quote(name)} IS DISTINCT FROM CAST({value} AS VARCHAR) THEN {quote(name)} END AS {quote(name)}"
        )

    body = ", ".join(column(c) for c in keep if c != "_row")
    # No dictionary pages: batch columns are mostly distinct (IDs, names, phones), so building one costs a
    # quarter of the write for nothing; zstd, even at its fastest level, packs the repetitive columns as small.
    run(
        f"COPY (SELECT {body} FROM prepared WHERE _row NOT IN (SELECT _row FROM failures WHERE rule_key IN "
        f"({error_list}))) TO {literal(outcome.validated_path)} "
        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, DICTIONARY_SIZE_LIMIT 1)"
    )
    record = "to_json(struct_pack(" + ", ".join(f"{quote(c)} := p.{quote(c)}" for c in columns) + "))"
    field_of = {r.check.key: r.check.field for r in outcome.rules}
    severity_of = {r.check.key: r.check.severity for r in outcome.rules} | {f"{contract.id}__batch__held": "error"}
    value = (
        "CASE f.rule_key "
        + " ".join(f"WHEN {literal(k)} THEN CAST(p.{quote(c)} AS VARCHAR)" for k, c in field_of.items() if c in columns)
        + " END"
    )
    column = "CASE f.rule_key " + " ".join(f"WHEN {literal(k)} THEN {literal(c)}" for k, c in field_of.items()) + " END"
    severity = (
        "CASE f.rule_key " + " ".join(f"WHEN {literal(k)} THEN {literal(s)}" for k, s in severity_of.items()) + " END"
    )
    for kind, predicate in (("quarantine", f"IN ({error_list})"), ("findings", f"NOT IN ({error_list})")):
        target = quality_dir(settings, kind) / f"{outcome.batch_id}.parquet"
        run(
            f"COPY (SELECT {literal(outcome.batch_id)} AS batch_id, {literal(contract.id)} AS dataset, "
            f"{literal(contract.version)} AS contract_version, f.rule_key, {column} AS column_name, {value} AS value, "
            f"{severity} AS severity, p._row AS row_number, {record} AS record "
            f"FROM failures f JOIN flagged p USING (_row) WHERE f.rule_key {predicate} ORDER BY p._row, f.rule_key) "
            f"TO {literal(target)} (FORMAT parquet, COMPRESSION zstd)"
        )


def _write_results(settings: Settings, contract: Contract, outcome: Outcome) -> None:
    now = datetime.now(UTC)
    rules = outcome.rules
    con = duckdb.connect()
    _write_rows(
        con,
        quality_dir(settings, "results") / f"{outcome.batch_id}.parquet",
        {
            "batch_id": ("VARCHAR", [outcome.batch_id] * len(rules)),
            "dataset": ("VARCHAR", [contract.id] * len(rules)),
            "department": ("VARCHAR", [contract.department] * len(rules)),
            "contract_version": ("VARCHAR", [contract.version] * len(rules)),
            "rule_key": ("VARCHAR", [r.check.key for r in rules]),
            "field": ("VARCHAR", [r.check.field for r in rules]),
            "check": ("VARCHAR", [r.check.name for r in rules]),
            "severity": ("VARCHAR", [r.check.severity for r in rules]),
            "checked": ("BIGINT", [r.checked for r in rules]),
            "failed": ("BIGINT", [r.unexpected for r in rules]),
            "pass_ratio": ("DOUBLE", [1 - r.unexpected / r.checked if r.checked else None for r in rules]),
            "threshold": ("VARCHAR", [r.check.describe_threshold() or None for r in rules]),
            "threshold_met": ("BOOLEAN", [r.meets() if r.check.threshold else None for r in rules]),
            "skipped": ("VARCHAR", [r.skipped for r in rules]),
            "validated_at": ("TIMESTAMPTZ", [now] * len(rules)),
        },
    )
    _write_rows(
        con,
        quality_dir(settings, "batches") / f"{outcome.batch_id}.parquet",
        {
            "batch_id": ("VARCHAR", [outcome.batch_id]),
            "dataset": ("VARCHAR", [contract.id]),
            "department": ("VARCHAR", [contract.department]),
            "contract_version": ("VARCHAR", [contract.version]),
            "rows_in": ("BIGINT", [outcome.rows_in]),
            "rows_passed": ("BIGINT", [outcome.rows_passed]),
            "rows_quarantined": ("BIGINT", [outcome.rows_quarantined]),
            "held": ("VARCHAR", [outcome.held]),
            "drift": ("VARCHAR", [json.dumps(outcome.drift, ensure_ascii=False)]),
            "freshness_hours": ("DOUBLE", [outcome.freshness_hours]),
            "freshness_ok": ("BOOLEAN", [outcome.freshness_ok]),
            "seconds": ("DOUBLE", [outcome.seconds]),
            "validated_at": ("TIMESTAMPTZ", [now]),
        },
    )
    con.close()


def _sql_value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return literal(value.isoformat() if isinstance(value, datetime) else value)


def _write_rows(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, tuple[str, list]]) -> None:
    """A few rows written as Parquet by DuckDB, typed in SQL (pa.table on Python lists imports pandas, which
    costs a small batch half its time)."""
    names = list(columns)
    count = len(columns[names[0]][1])
    rows = [f"({', '.join(_sql_value(columns[n][1][i]) for n in names)})" for i in range(count)]
    values = f"VALUES {', '.join(rows)}" if rows else f"SELECT {', '.join(['NULL'] * len(names))} WHERE false"
    typed = ", ".join(f"CAST({quote(n)} AS {kind}) AS {quote(n)}" for n, (kind, _) in columns.items())
    listed = ", ".join(quote(n) for n in names)
    select = f"SELECT {typed} FROM ({values}) AS given({listed})"
    con.execute(f"COPY ({select}) TO {literal(str(path))} (FORMAT parquet)")
