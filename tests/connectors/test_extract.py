"""Every stream extracts every row, with lineage; full and backfill runs leave the checkpoint alone."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors import commit, extract, sources
from connectors.staging import LINEAGE, read_batch
from connectors.state import StateStore
from contracts.checks import for_source
from sandbox import store
from sandbox.departments import DATASETS, PRIMARY_KEYS


def dataset_of(source: str, stream: str) -> str:
    """The sandbox dataset a stream carries: its contract's."""
    return for_source(source, stream).id


def test_every_declared_stream_is_a_sandbox_dataset() -> None:
    declared = {dataset_of(s.name, st.name) for s in sources().values() for st in s.streams}
    assert declared == set(DATASETS)


@pytest.mark.parametrize("source", sorted(sources()))
def test_every_stream_extracts_every_row(extract_settings, sandbox_settings, source) -> None:
    found: dict[str, list] = {}  # dataset -> keys staged (a file drop stages one batch per file)
    for result in extract(extract_settings, source):
        dataset = dataset_of(result.source, result.stream)
        staged = read_batch(extract_settings, result.batch_id)
        keys = staged[PRIMARY_KEYS[dataset]].to_pylist()
        assert len(keys) == len(set(keys)) == result.rows
        found.setdefault(dataset, []).extend(keys)
        for column in LINEAGE:
            assert staged[column].null_count == 0
        assert set(staged["_batch_id"].to_pylist()) == {result.batch_id}
    for dataset, keys in found.items():
        expected = store.visible(sandbox_settings, dataset)[PRIMARY_KEYS[dataset]].to_pylist()
        assert len(keys) == len(set(keys)) and set(keys) == set(expected)


def test_values_survive_the_trip(extract_settings, sandbox_settings) -> None:
    [batch] = extract(extract_settings, "civil", "residents")
    staged = {r["resident_id"]: r for r in read_batch(extract_settings, batch.batch_id).to_pylist()}
    for row in store.visible(sandbox_settings, "civil.residents").to_pylist()[:500]:
        got = staged[row["resident_id"]]
        assert (got["name"], got["birth_date"], got["address"]) == (row["name"], row["birth_date"], row["address"])
    [batch] = extract(extract_settings, "health", "patients")
    patients = {r["patient_id"]: r for r in read_batch(extract_settings, batch.batch_id).to_pylist()}
    for row in store.visible(sandbox_settings, "health.patients").to_pylist()[:500]:
        assert patients[row["patient_id"]]["id_number"] == row["id_number"]
        assert (patients[row["patient_id"]]["deceased_at"] is None) == (row["deceased_at"] is None)


def test_full_refresh_and_backfill_leave_the_checkpoint(extract_settings) -> None:
    [first] = extract(extract_settings, "telecom")
    commit(extract_settings, first.batch_id)
    state = StateStore(extract_settings.state_dir)
    before = state.checkpoint("telecom", "subscribers")
    [full] = extract(extract_settings, "telecom", mode="full")
    commit(extract_settings, full.batch_id)
    assert full.rows == first.rows
    since, until = datetime(2025, 1, 1), datetime(2025, 7, 1)
    [backfill] = extract(extract_settings, "telecom", mode="backfill", since=since, until=until)
    commit(extract_settings, backfill.batch_id)
    stamps = read_batch(extract_settings, backfill.batch_id)["updated_at"].to_pylist()
    assert stamps and all("2025-01-01" <= s < "2025-07-01" for s in stamps)
    assert state.checkpoint("telecom", "subscribers") == before
