"""Second runs extract only what changed, late updates included; the checkpoint moves only on landing."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from connectors import commit, extract
from connectors.staging import read_batch
from connectors.state import StateStore
from sandbox import store, waves
from sandbox.departments import PRIMARY_KEYS
from sandbox.manifest import read_manifest
from sandbox.servers import process
from tests.conftest import connections_for
from xgate.settings import Settings


@pytest.fixture
def live(own_sandbox: Settings, tmp_path) -> tuple[Settings, Settings]:
    """(sandbox, xgate) settings: a private sandbox with servers and PostgreSQL/MariaDB, ready to advance."""
    process.serve(own_sandbox)
    waves.load_databases(own_sandbox, "postgres", ("civil",))
    waves.load_databases(own_sandbox, "mysql", ("housing",))
    from sandbox import dbload

    databases = {
        d: dbload.database_url(own_sandbox, t, d).render_as_string(hide_password=False)
        for d, t in (("civil", "postgres"), ("housing", "mysql"))
    }
    xgate = Settings(
        data_dir=tmp_path / "xgate",
        http_backoff=0.01,
        connections=connections_for(own_sandbox, store.paths(own_sandbox).inbox, databases),
    )
    return own_sandbox, xgate


def land_all(settings: Settings, source: str) -> dict[str, set[str]]:
    """Extract and commit every stream (as the warehouse will after landing); keys per stream."""
    out = {}
    for result in extract(settings, source):
        commit(settings, result.batch_id)
        table = read_batch(settings, result.batch_id)
        out[result.stream] = set(table[PRIMARY_KEYS[f"{source}.{result.stream}"]].to_pylist()) if result.rows else set()
    return out


@pytest.mark.parametrize(("source", "dataset"), [("telecom", "telecom.subscribers"), ("civil", "civil.residents")])
def test_second_run_takes_only_changes_and_late_updates(live, source, dataset) -> None:
    sandbox, xgate = live
    stream = dataset.split(".")[1]
    first = land_all(xgate, source)
    assert len(first[stream]) == store.visible(sandbox, dataset).num_rows
    assert all(not keys for keys in land_all(xgate, source).values())  # nothing changed, nothing extracted
    waves.advance(sandbox)
    changed = set(store.changed_in(sandbox, dataset, 1)[PRIMARY_KEYS[dataset]].to_pylist())
    late = {
        r["key"]
        for a in read_manifest(store.paths(sandbox).manifest)["anomalies"]
        if a["kind"] == "late_arriving_update"
        for r in a["records"]
        if r["dataset"] == dataset
    }
    assert late and late <= changed
    third = land_all(xgate, source)
    assert third[stream] == changed


def test_checkpoint_waits_for_landing(live) -> None:
    _, xgate = live
    state = StateStore(xgate.state_dir)
    [first] = extract(xgate, "telecom")
    assert state.checkpoint("telecom", "subscribers").cursor is None  # staged, not landed
    [again] = extract(xgate, "telecom")
    assert again.rows == first.rows  # so nothing is skipped when the first never lands
    commit(xgate, first.batch_id)
    assert state.checkpoint("telecom", "subscribers").cursor is not None


def test_files_archive_only_after_landing(live) -> None:
    sandbox, xgate = live
    inbox = store.paths(sandbox).inbox
    names = sorted(p.name for p in inbox.iterdir())
    batches = extract(xgate, "housing_filings")
    assert sorted(p.name for p in inbox.iterdir()) == names
    for batch in batches:
        commit(xgate, batch.batch_id)
    assert not any(inbox.iterdir())
    assert sorted(p.name for p in (inbox.parent / "archive").iterdir()) == names
    waves.advance(sandbox)
    later = extract(xgate, "housing_filings")
    assert sum(b.rows for b in later) == store.changed_in(sandbox, "housing.rental_filings", 1).num_rows
    assert all(pq.read_metadata(p).num_rows for p in (xgate.staging_dir / "housing_filings").rglob("*.parquet"))
