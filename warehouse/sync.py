"""One sync of a source: extract -> validate -> land -> publish, stream by stream.

The one path for a sync, whoever starts it. ``xgate sync`` runs the stages in a row; the Airflow DAGs
run each stage as a task (a process of its own), passing only the batch id: every stage reads what it
needs from staging or the quality store. The connector's checkpoint moves only after the lake has
committed the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb

from connectors import commit, extract, staging
from connectors.locks import source_lock
from contracts import validate_batch
from contracts.validate import Outcome, stored_outcome
from warehouse import lake, storage
from warehouse.land import land, record_rejected
from warehouse.model import publish
from xgate.progress import quiet
from xgate.settings import Settings


@dataclass
class StreamSync:
    source: str
    stream: str
    batch_id: str
    extracted: int
    passed: int
    quarantined: int
    landed: int
    held: str
    rejected: str = ""  # the batch's file was rejected whole: why
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def validate(settings: Settings, batch_id: str) -> Outcome | None:
    """Check a staged batch against its contract; an empty or rejected batch has nothing to check (None)."""
    if staging.batch_manifest(settings, batch_id)["rows"] == 0:
        return None
    return validate_batch(settings, batch_id)


def land_batch(settings: Settings, batch_id: str) -> StreamSync:
    """Land a validated batch in one lake transaction, then move the connector's checkpoint.

    Idempotent: a batch the lake already holds lands nothing again, so a retried task only commits.
    """
    manifest = staging.batch_manifest(settings, batch_id)
    if rejected := "; ".join(manifest.get("rejected_files", {}).values()):
        con = lake.connect(settings)
        try:
            record_rejected(con, batch_id, manifest, rejected)
        finally:
            con.close()
        return StreamSync(manifest["source"], manifest["stream"], batch_id, 0, 0, 0, 0, "", rejected)
    outcome = stored_outcome(settings, batch_id) if manifest["rows"] else None
    if manifest["rows"] and outcome is None:  # validated in a run that died before recording it
        outcome = validate_batch(settings, batch_id)
    landed = 0
    if outcome is not None:
        con = lake.connect(settings)
        try:
            landed = land(con, settings, outcome).rows_landed
        except duckdb.IOException as exc:  # the object store refused or is unreachable: nothing committed
            if not storage.is_remote(settings):
                raise
            raise storage.failed(settings, exc) from None
        finally:
            con.close()
    commit(settings, batch_id)
    return StreamSync(
        manifest["source"],
        manifest["stream"],
        batch_id,
        manifest["rows"],
        outcome.rows_passed if outcome else 0,
        outcome.rows_quarantined if outcome else 0,
        landed,
        outcome.held if outcome else "",
        notes=[f"{name}: {note}" for name, said in manifest.get("notes", {}).items() for note in said],
    )


def publish_views(settings: Settings, datasets: Iterable[str] | None = None, shared: bool = True) -> list[str]:
    """(Re)publish the conformed views of ``datasets`` (all landed ones if None) and, with ``shared``,
    the cross-department views whose inputs have all landed."""
    con = lake.connect(settings)
    try:
        return publish(con, settings.source_timezone, datasets, shared)
    finally:
        con.close()


def sync(
    settings: Settings,
    source: str,
    stream: str | None = None,
    mode: str = "incremental",
    since: datetime | None = None,
    until: datetime | None = None,
    step: Callable[[str], None] = quiet,
) -> list[StreamSync]:
    """``step`` hears what is being done (the CLI shows it as progress)."""
    from orchestration.stages import report_held, report_rejected

    done = []
    with source_lock(settings, source):  # a second sync of the source waits for this one (up to a bound)
        step(f"extracting {source}")
        batches = extract(settings, source, stream, mode, since, until, step)
        for n, batch in enumerate(batches, start=1):
            step(f"validating batch {n} of {len(batches)} ({batch.rows:,} rows)")
            report_held(validate(settings, batch.batch_id))
            step(f"landing batch {n} of {len(batches)}")
            done.append(land_batch(settings, batch.batch_id))
            report_rejected(done[-1].as_dict())
    step("publishing views")
    publish_views(settings)
    return done
