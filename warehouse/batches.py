"""Held and rejected batches, and what an engineer does about them once reviewed.

A batch held in quarantine as a whole, or a dropped file rejected whole, is recorded in ``meta.batches``
with its reason and stays there until someone acts:

- **release** (held only): after review, land it as it is: its rows are validated again without the
  hold, those passing every error rule land, the failing ones stay in quarantine; the batch is marked
  ``released``.
- **replay**: after a fix, go again. A held batch, or a landed one with quarantined rows, is validated
  again under the current contract as a new batch (a copy of the staged rows; the old one is marked
  ``replayed``) and lands what now passes; a rejected file is read again: the corrected file in the inbox,
  or, if none was sent, the one in ``rejected/`` (corrected there).

Both are engineer actions, recorded in the audit by the CLI (``xgate batches release|replay``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors import declarations, staging
from connectors.connections import resolve
from connectors.runner import extract_stream
from connectors.state import StateStore
from warehouse import lake
from xgate.errors import ConfigError
from xgate.settings import Settings

OPEN = ("held", "rejected")  # statuses that wait for an engineer


@dataclass
class Batch:
    batch_id: str
    dataset: str
    status: str
    rows_in: int
    rows_passed: int
    rows_quarantined: int
    reason: str
    at: str


def listing(settings: Settings, every: bool = False) -> list[Batch]:
    """Held and rejected batches, newest first (``every``: all batches)."""
    con = lake.connect(settings, read_only=True)
    try:
        known = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'batches'"
        ).fetchone()[0]
        if not known:
            return []
        where = "" if every else f"WHERE coalesce(status, CASE WHEN held <> '' THEN 'held' END) IN {OPEN}"
        rows = con.execute(
            "SELECT batch_id, dataset, coalesce(status, CASE WHEN held <> '' THEN 'held' ELSE 'landed' END), "
            f"rows_in, rows_passed, rows_quarantined, held, CAST(landed_at AS VARCHAR) FROM meta.batches {where} "
            "ORDER BY landed_at DESC"
        ).fetchall()
    finally:
        con.close()
    return [Batch(*row) for row in rows]


def find(settings: Settings, batch_id: str) -> Batch:
    for batch in listing(settings, every=True):
        if batch.batch_id == batch_id:
            return batch
    raise ConfigError(f"no batch {batch_id!r} in the warehouse (see 'xgate batches --all')")


def release(settings: Settings, batch_id: str):
    """Land a held batch as it is (after review): its passing rows land, failing rows stay in quarantine."""
    from contracts import validate_batch
    from warehouse.land import land

    batch = find(settings, batch_id)
    if batch.status != "held":
        raise ConfigError(f"batch {batch_id} is {batch.status}, not held: only a held batch can be released")
    outcome = validate_batch(settings, batch_id, hold=False)
    con = lake.connect(settings)
    try:
        return land(con, settings, outcome, release=True)
    finally:
        con.close()


def replay(settings: Settings, batch_id: str):
    """Go again after a fix (see the module's docstring); the sync of the new batch is returned."""
    from warehouse.sync import land_batch, validate

    batch = find(settings, batch_id)
    if batch.status in ("replayed", "released"):
        raise ConfigError(f"batch {batch_id} was {batch.status} already")
    if batch.status != "rejected" and not (batch.status == "held" or batch.rows_quarantined):
        raise ConfigError(f"batch {batch_id} landed whole: there is nothing to replay")
    manifest = staging.batch_manifest(settings, batch_id)
    new_id = _reread(settings, manifest) if batch.status == "rejected" else _copy(settings, manifest)
    validate(settings, new_id)
    done = land_batch(settings, new_id)
    con = lake.connect(settings)
    try:
        con.execute(
            "UPDATE meta.batches SET status = 'replayed', held = ? WHERE batch_id = ?",
            [f"{batch.reason} (replayed as {new_id})".strip(), batch_id],
        )
    finally:
        con.close()
    return done


def _copy(settings: Settings, manifest: dict) -> str:
    """The staged rows again, as a new batch (the lineage names the new batch; the origin stays)."""
    source, stream = manifest["source"], manifest["stream"]
    new_id = staging.new_batch_id(source, stream)
    state = StateStore(settings.state_dir)
    state.begin(new_id, source, stream, "replay")
    target = staging.batch_dir(settings, new_id)
    target.mkdir(parents=True)
    for part in staging.batch_files(settings, manifest["batch_id"]):
        table = pq.read_table(part)
        column = table.schema.get_field_index("_batch_id")
        table = table.set_column(column, "_batch_id", pa.array([new_id] * table.num_rows, pa.string()))
        pq.write_table(table, target / part.name, compression="zstd")
    copied = manifest | {"batch_id": new_id, "replay_of": manifest["batch_id"], "files": {}}
    (target / "_batch.json").write_text(json.dumps(copied, ensure_ascii=False, indent=1))
    state.staged(new_id, manifest["rows"], {})
    return new_id


def _reread(settings: Settings, manifest: dict) -> str:
    """A rejected file read again: a corrected copy sent to the inbox wins over the one in ``rejected/``."""
    source = declarations.source(manifest["source"], settings.sources_dir)
    inbox = Path(resolve(source.connection, settings).url)
    [name] = manifest["rejected_files"]
    if not (inbox / name).exists():
        kept = inbox.parent / "rejected" / name
        if not kept.exists():
            raise ConfigError(f"{name} is neither in the inbox nor in rejected/: send the corrected file again")
        shutil.move(kept, inbox / name)
        kept.with_name(f"{name}.reason.txt").unlink(missing_ok=True)
    return extract_stream(settings, source, source.stream(manifest["stream"]), file=name).batch_id
