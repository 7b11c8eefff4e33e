"""Syncs land in the lake atomically and idempotently, with lineage, and the past stays queryable."""

from __future__ import annotations

import pytest

from sandbox import store, waves
from sandbox.servers import process
from tests.conftest import connections_for
from warehouse import lake
from warehouse.land import land
from warehouse.sync import sync
from xgate.errors import SourceUnavailable
from xgate.settings import Settings


@pytest.fixture
def live(own_sandbox: Settings, tmp_path) -> tuple[Settings, Settings]:
    """(sandbox, xgate): a private sandbox with its servers, civil on PostgreSQL, ready to advance."""
    from sandbox import dbload

    process.serve(own_sandbox)
    waves.load_databases(own_sandbox, "postgres", ("civil",))
    databases = {
        "civil": dbload.database_url(own_sandbox, "postgres", "civil").render_as_string(hide_password=False),
        "housing": own_sandbox.sqlite_url("housing"),
    }
    xgate = Settings(
        data_dir=tmp_path / "xgate",
        http_backoff=0.01,
        connections=connections_for(own_sandbox, store.paths(own_sandbox).inbox, databases),
    )
    return own_sandbox, xgate


def count(settings: Settings, sql: str, as_of: int | None = None) -> int:
    con = lake.connect(settings, read_only=True, as_of=as_of)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_sync_lands_passing_rows_with_lineage_and_quarantine(live) -> None:
    _, xgate = live
    [result] = sync(xgate, "telecom")
    assert result.landed == result.passed == count(xgate, "SELECT count(*) FROM raw.telecom_subscribers")
    assert result.quarantined == count(xgate, "SELECT count(DISTINCT row_number) FROM quarantine.rows")
    assert (
        count(
            xgate,
            "SELECT count(*) FROM raw.telecom_subscribers WHERE _batch_id IS NULL OR _source IS NULL "
            "OR _extracted_at IS NULL OR contract_version IS NULL",
        )
        == 0
    )


def test_same_sync_twice_and_a_full_rerun_change_nothing(live) -> None:
    _, xgate = live
    sync(xgate, "civil")
    before = {
        t: count(xgate, f"SELECT count(*) FROM {t}")
        for t in ("raw.civil_residents", "raw.civil_deaths", "quarantine.rows", "quarantine.findings")
    }
    assert all(r.extracted == 0 for r in sync(xgate, "civil"))
    assert all(r.landed == 0 for r in sync(xgate, "civil", mode="full"))
    after = {t: count(xgate, f"SELECT count(*) FROM {t}") for t in before}
    assert after == before


def test_landing_a_batch_twice_is_a_no_op(live) -> None:
    from connectors import extract
    from contracts import validate_batch

    _, xgate = live
    [batch] = extract(xgate, "telecom")
    outcome = validate_batch(xgate, batch.batch_id)
    con = lake.connect(xgate)
    try:
        first, second = land(con, xgate, outcome), land(con, xgate, outcome)
    finally:
        con.close()
    assert first.rows_landed == outcome.rows_passed and second.already and second.rows_landed == 0


def test_as_of_returns_the_earlier_state(live) -> None:
    sandbox, xgate = live
    sync(xgate, "civil", "residents")
    snapshot = count(xgate, "SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")
    deregistered = "SELECT count(*) FROM raw.civil_residents WHERE status = '注销'"
    before = count(xgate, deregistered)
    waves.advance(sandbox)
    [later] = sync(xgate, "civil", "residents")
    assert later.landed > 0
    assert count(xgate, deregistered) == before + later.landed
    assert count(xgate, deregistered, as_of=snapshot) == before


def test_unreachable_catalog_is_a_clear_error_and_the_batch_stays_staged(live) -> None:
    from connectors.state import StateStore

    _, xgate = live
    broken = xgate.model_copy(
        update={"catalog_url": "ducklake:postgres:dbname=nope host=127.0.0.1 port=1 user=postgres password=hunter2"}
    )
    with pytest.raises(SourceUnavailable, match="warehouse catalog") as caught:
        sync(broken, "telecom")
    assert "hunter2" not in str(caught.value)
    assert StateStore(xgate.state_dir).checkpoint("telecom", "subscribers").cursor is None
    assert list((xgate.staging_dir / "telecom" / "subscribers").iterdir())


def test_maintain_keeps_every_row(live) -> None:
    from warehouse.cli import maintain

    _, xgate = live
    sync(xgate, "telecom")
    tables = ("raw.telecom_subscribers", "quarantine.rows", "quarantine.findings", "meta.batches")
    before = {t: count(xgate, f"SELECT count(*) FROM {t}") for t in tables}
    from xgate import settings as settings_module

    settings_module._settings = xgate
    try:
        maintain(keep_days=0)
    finally:
        settings_module._settings = None
    assert {t: count(xgate, f"SELECT count(*) FROM {t}") for t in tables} == before


def test_two_writers_on_a_postgresql_catalog_both_commit(live, run_id) -> None:
    import threading

    import sqlalchemy as sa

    from connectors import extract
    from contracts import validate_batch

    _, xgate = live
    database = f"xgtest_{run_id}_lake"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        con.execute(sa.text(f'CREATE DATABASE "{database}"'))
    shared = xgate.model_copy(
        update={"catalog_url": f"ducklake:postgres:dbname={database} host=127.0.0.1 user=postgres"}
    )
    try:
        lake.connect(shared).close()  # create the catalog once
        outcomes = [validate_batch(shared, b.batch_id) for s in ("telecom", "civil") for b in extract(shared, s)]
        errors: list[BaseException] = []

        def write(outcome) -> None:
            try:
                con = lake.connect(shared)
                try:
                    land(con, shared, outcome)
                finally:
                    con.close()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(o,)) for o in outcomes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert count(shared, "SELECT count(*) FROM meta.batches") == len(outcomes)
        assert count(shared, "SELECT count(*) FROM raw.telecom_subscribers") == outcomes[0].rows_passed
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def test_sigkill_at_any_point_then_rerun_loses_and_duplicates_nothing(live) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    sandbox, xgate = live
    civil = xgate.connections["civil"].url
    env = os.environ | {"XGATE_DATA_DIR": str(xgate.data_dir), "XGATE_CONNECTIONS__CIVIL__URL": civil}
    for delay in (1.0, 4.0, 6.5, 8.0, 10.0):  # extract, validation set-up, validation, landing, publishing
        child = subprocess.Popen(
            [sys.executable, "-m", "xgate", "sync", "civil", "--stream", "residents"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
    [result] = sync(xgate, "civil", "residents")
    expected = store.visible(sandbox, "civil.residents").num_rows - result.quarantined if result.extracted else None
    landed = count(xgate, "SELECT count(*) FROM raw.civil_residents")
    assert landed == count(xgate, "SELECT count(DISTINCT resident_id) FROM raw.civil_residents")
    if expected is not None:
        assert landed == expected
    quarantined = count(xgate, "SELECT count(*) FROM quarantine.rows")
    assert landed + quarantined == store.visible(sandbox, "civil.residents").num_rows
