"""Land a validated batch in the lake: one transaction, idempotent, as the stream's write mode says.

Passing rows go into ``raw.<dataset>`` by the stream's declared ``write_mode``: ``merge`` (the default;
keyed by the contract's primary key, an incoming row replaces the stored one only when its cursor is
newer, so re-running a batch or an interval changes nothing), ``append`` (every row is added: event
streams), or ``replace`` (the batch becomes the table; a batch held in quarantine replaces nothing).
Quarantined rows and findings are appended to ``quarantine.rows`` / ``quarantine.findings``, and the
batch is recorded in ``meta.batches``. All of it commits together, as one DuckLake snapshot, or not at
all (a batch already recorded lands nothing again); only then is the connector's checkpoint moved.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from connectors import staging
from contracts import for_source
from contracts.sql import literal, quote
from contracts.validate import Outcome, quality_dir
from xgate.settings import Settings

T = TypeVar("T")
SCHEMAS = ("raw", "quarantine", "meta")
COMMIT_ATTEMPTS = 6
BATCHES = """CREATE TABLE IF NOT EXISTS meta.batches (batch_id VARCHAR, dataset VARCHAR, source VARCHAR,
  stream VARCHAR, contract_version VARCHAR, rows_in BIGINT, rows_passed BIGINT, rows_quarantined BIGINT,
  rows_landed BIGINT, held VARCHAR, landed_at TIMESTAMPTZ, status VARCHAR)"""
# status: landed | held (reason in ``held``, rows in quarantine) | rejected (a file refused whole, reason in
# ``held``) | released (a held batch an engineer landed as it was) | replayed (validated again: see its replay)


@dataclass
class Landed:
    batch_id: str
    dataset: str
    rows_landed: int  # rows that were new or newer than the stored version
    already: bool = False


def table_name(dataset: str) -> str:
    """``civil.residents`` -> ``raw.civil_residents``."""
    return "raw." + dataset.replace(".", "_")


def _ensure(con: duckdb.DuckDBPyConnection, target: str, incoming: str) -> None:
    """Create the raw table from the batch's columns, or add the columns a drifting batch brings."""
    schema, table = target.split(".")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0]
    columns = con.execute(f"DESCRIBE SELECT * FROM {incoming}").fetchall()
    if not exists:
        con.execute(f"CREATE TABLE {target} ({', '.join(f'{quote(n)} {t}' for n, t, *_ in columns)})")
        return
    have = {row[0] for row in con.execute(f"DESCRIBE {target}").fetchall()}
    for name, kind, *_ in columns:
        if name not in have:
            con.execute(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {kind}")


def land(con: duckdb.DuckDBPyConnection, settings: Settings, outcome: Outcome, release: bool = False) -> Landed:
    """Land one validated batch through an open lake connection (see :func:`warehouse.lake.connect`).

    Writers commit optimistically; when another writer's commit conflicts with ours (both creating a
    schema, both changing one table), the whole transaction is rolled back and tried again.
    """
    return retry_conflicts(lambda: _land_once(con, settings, outcome, release))


def retry_conflicts(work: Callable[[], T]) -> T:
    """Run ``work`` (one lake transaction that rolls itself back on failure) again, after a growing random
    pause, while its commit conflicts with another writer's."""
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            return work()
        except duckdb.TransactionException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def _land_once(con: duckdb.DuckDBPyConnection, settings: Settings, outcome: Outcome, release: bool) -> Landed:
    """One try; with ``release``, a batch recorded as held lands its passing rows now and is marked released."""
    manifest = staging.batch_manifest(settings, outcome.batch_id)
    contract = for_source(manifest["source"], manifest["stream"])
    key = quote(contract.primary_key)
    cursor = quote(manifest.get("cursor_field") or "_extracted_at")
    target = table_name(contract.id)
    con.execute("BEGIN TRANSACTION")
    try:
        for schema in SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        _batches_table(con)
        status = con.execute("SELECT status FROM meta.batches WHERE batch_id = ?", [outcome.batch_id]).fetchone()
        if (status is not None) != release or (release and status[0] != "held"):
            con.execute("ROLLBACK")
            return Landed(outcome.batch_id, contract.id, 0, already=True)
        mode = manifest.get("write_mode", "merge")
        newest = (
            "" if mode == "append" else f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {cursor} DESC) = 1"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT *, {literal(contract.version)} AS contract_version "
            f"FROM read_parquet({literal(outcome.validated_path)}) {newest}"
        )
        _ensure(con, target, "incoming")
        winners = "SELECT * FROM incoming"
        if mode == "merge":
            winners = (
                f"SELECT i.* FROM incoming i LEFT JOIN {target} r ON r.{key} = i.{key} "
                f"WHERE r.{key} IS NULL OR CAST(i.{cursor} AS VARCHAR) > CAST(r.{cursor} AS VARCHAR)"
            )
        con.execute(f"CREATE OR REPLACE TEMP TABLE winners AS {winners}")
        landed = con.execute("SELECT count(*) FROM winners").fetchone()[0]
        if mode == "merge":
            con.execute(f"DELETE FROM {target} WHERE {key} IN (SELECT {key} FROM winners)")
        elif mode == "replace" and not outcome.held:
            con.execute(f"DELETE FROM {target}")
        order = f" ORDER BY {quote(contract.stored_order)}" if contract.stored_order else ""
        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM winners{order}")
        for kind, table in (("quarantine", "quarantine.rows"), ("findings", "quarantine.findings")):
            _append(con, table, quality_dir(settings, kind) / f"{outcome.batch_id}.parquet", contract.primary_key)
        if release:
            con.execute(
                "UPDATE meta.batches SET status = 'released', rows_passed = ?, rows_quarantined = ?, rows_landed = ? "
                "WHERE batch_id = ?",
                [outcome.rows_passed, outcome.rows_quarantined, landed, outcome.batch_id],
            )
            con.execute("COMMIT")
            return Landed(outcome.batch_id, contract.id, landed)
        _record(
            con,
            outcome.batch_id,
            contract.id,
            manifest,
            contract.version,
            [outcome.rows_in, outcome.rows_passed, outcome.rows_quarantined, landed],
            outcome.held,
            "held" if outcome.held else "landed",
        )
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT has already rolled back
            con.execute("ROLLBACK")
        raise
    return Landed(outcome.batch_id, contract.id, landed)


def _batches_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(BATCHES)
    have = {row[0] for row in con.execute("DESCRIBE meta.batches").fetchall()}
    if "status" not in have:  # a lake from before statuses were kept
        con.execute("ALTER TABLE meta.batches ADD COLUMN status VARCHAR")


def _record(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    dataset: str,
    manifest: dict,
    version: str,
    counts: list[int],
    reason: str,
    status: str,
) -> None:
    con.execute(
        "INSERT INTO meta.batches (batch_id, dataset, source, stream, contract_version, rows_in, rows_passed, "
        "rows_quarantined, rows_landed, held, landed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
        [batch_id, dataset, manifest["source"], manifest["stream"], version, *counts, reason, status],
    )


def record_rejected(con: duckdb.DuckDBPyConnection, batch_id: str, manifest: dict, reason: str) -> bool:
    """Record a batch whose file was rejected whole (nothing lands); False when it is recorded already."""
    contract = for_source(manifest["source"], manifest["stream"])
    con.execute("BEGIN TRANSACTION")
    try:
        for schema in SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        _batches_table(con)
        if con.execute("SELECT count(*) FROM meta.batches WHERE batch_id = ?", [batch_id]).fetchone()[0]:
            con.execute("ROLLBACK")
            return False
        _record(con, batch_id, contract.id, manifest, contract.version, [0, 0, 0, 0], reason, "rejected")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise
    return True


def _append(con: duckdb.DuckDBPyConnection, target: str, file: Path, key: str) -> None:
    """Add a batch's quarantined rows or findings, except those already recorded for the same record,
    rule and value (a re-run interval reports the same problems again)."""
    if not file.exists():
        return
    source = f"read_parquet({literal(file)})"
    _ensure(con, target, source)
    path = literal(f"$.{key}")
    con.execute(
        f"INSERT INTO {target} BY NAME SELECT * FROM {source} n WHERE NOT EXISTS (SELECT 1 FROM {target} t "
        f"WHERE t.dataset = n.dataset AND t.rule_key = n.rule_key AND t.value IS NOT DISTINCT FROM n.value "
        f"AND json_extract_string(t.record, {path}) = json_extract_string(n.record, {path}))"
    )
