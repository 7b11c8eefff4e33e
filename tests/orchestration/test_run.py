"""Every source's DAG run through Airflow against the sandbox (PostgreSQL, MariaDB, the APIs, the inbox)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
import yaml

from connectors import sources
from connectors.declarations import SOURCES_DIR
from connectors.staging import LINEAGE
from sandbox import store
from tests.conftest import connections_for, free_port
from tests.orchestration.conftest import export
from warehouse import lake
from warehouse.model import VIEWS
from warehouse.sync import sync
from xgate.settings import Connection, Settings, reset_settings

ORDER = ("civil", "housing", "housing_filings", "telecom", "health")
SINCE, UNTIL = "2025-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00"


def _settings(sandbox: Settings, databases: dict[str, str], root) -> Settings:
    inbox = root / "drops" / "inbox"
    shutil.copytree(store.paths(sandbox).inbox, inbox)
    return Settings(data_dir=root / "xgate", http_backoff=0.01, connections=connections_for(sandbox, inbox, databases))


@pytest.fixture(scope="module")
def synced(airflow_home, sandbox_settings, source_databases, tmp_path_factory):
    """Every source DAG, then the shared DAG, run once through Airflow; the results by DAG."""
    from orchestration.run import run_dag

    settings = _settings(sandbox_settings, source_databases, tmp_path_factory.mktemp("dagruns"))
    with pytest.MonkeyPatch.context() as mp:
        export(mp, settings)
        results = {name: run_dag(f"xgate_{name}") for name in (*ORDER, "shared")}
    return settings, results


def test_every_source_dag_succeeds_and_lands_every_row(synced) -> None:
    settings, results = synced
    assert _asset_events("raw.telecom_subscribers") >= 1
    con = lake.connect(settings, read_only=True)
    for name in ORDER:
        result = results[name]
        assert result.ok, (name, result.failed)
        assert sorted({r["stream"] for r in result.landed}) == sorted(s.name for s in sources()[name].streams)
        for landed in result.landed:
            assert landed["extracted"] > 0 and not landed["held"], landed
            assert landed["extracted"] == landed["passed"] + landed["quarantined"], landed
            rows_in = con.execute(
                "SELECT rows_in FROM meta.batches WHERE batch_id = ?", [landed["batch_id"]]
            ).fetchone()[0]
            assert rows_in == landed["extracted"]


def test_the_shared_dag_publishes_the_views_and_the_report(synced) -> None:
    settings, results = synced
    assert results["shared"].ok, results["shared"].failed
    con = lake.connect(settings, read_only=True)
    for view in VIEWS:
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0, view
    assert (settings.data_dir / "reports" / "quality.html").stat().st_size > 10_000


def test_a_second_run_takes_nothing_new(synced, monkeypatch) -> None:
    from orchestration.run import run_dag

    export(monkeypatch, synced[0])
    before = _asset_events("raw.telecom_subscribers")
    again = run_dag("xgate_telecom")
    assert again.ok and [r["extracted"] for r in again.landed] == [0]
    assert _asset_events("raw.telecom_subscribers") == before  # unchanged table: the shared views are not re-run


def _asset_events(name: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        query = select(func.count()).select_from(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
        return session.scalar(query.where(AssetModel.name == name))


def _raw(settings: Settings, table: str) -> list[tuple]:
    con = lake.connect(settings, read_only=True)
    try:
        described = con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
        columns = [c for (c,) in described if c not in LINEAGE]
        return con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_an_airflow_backfill_lands_what_the_cli_backfill_lands(
    airflow_home, sandbox_settings, source_databases, tmp_path, monkeypatch
) -> None:
    from orchestration.run import run_dag

    through_airflow = _settings(sandbox_settings, source_databases, tmp_path / "airflow")
    export(monkeypatch, through_airflow)
    result = run_dag("xgate_telecom", conf={"since": SINCE, "until": UNTIL})
    assert result.ok, result.failed
    by_cli = _settings(sandbox_settings, source_databases, tmp_path / "cli")
    sync(by_cli, "telecom", mode="backfill", since=datetime.fromisoformat(SINCE), until=datetime.fromisoformat(UNTIL))
    rows = _raw(through_airflow, "raw.telecom_subscribers")
    everything = store.visible(sandbox_settings, "telecom.subscribers").num_rows
    assert 0 < len(rows) < everything  # an interval, not the whole table
    assert rows == _raw(by_cli, "raw.telecom_subscribers")


def test_a_source_that_is_down_retries_then_fails_and_the_others_still_run(
    airflow_home, sandbox_settings, source_databases, tmp_path, monkeypatch, webhook
) -> None:
    from orchestration.run import run_dag

    declared = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, declared)
    telecom = yaml.safe_load((declared / "telecom.yaml").read_text(encoding="utf-8"))
    (declared / "telecom.yaml").write_text(yaml.safe_dump(telecom | {"retries": 2, "retry_delay": "PT1S"}))
    settings = _settings(sandbox_settings, source_databases, tmp_path)
    down = settings.connections | {"telecom": Connection(url=f"http://127.0.0.1:{free_port()}", token="t")}
    settings = settings.model_copy(update={"connections": down, "sources_dir": declared, "http_retries": 0})
    export(monkeypatch, settings)
    monkeypatch.setenv("XGATE_NOTIFY_WEBHOOK", webhook.url)
    result = run_dag("xgate_telecom")
    assert not result.ok and "extract[0]" in result.failed
    failures = webhook.events("sync_failed")
    assert [e["try_number"] for e in failures] == [3]  # one try and two retries, then failed
    assert "telecom" in failures[0]["cause"] and "127.0.0.1" in failures[0]["cause"]
    assert run_dag("xgate_housing_filings").ok


def test_a_configuration_error_fails_at_once_without_retries(synced, monkeypatch, webhook) -> None:
    from orchestration.run import run_dag

    export(monkeypatch, synced[0])
    monkeypatch.setenv("XGATE_NOTIFY_WEBHOOK", webhook.url)
    result = run_dag("xgate_telecom", conf={"since": SINCE})
    assert not result.ok
    [failure] = webhook.events("sync_failed")
    assert failure["try_number"] == 1 and "until" in failure["cause"]


def test_refused_credentials_fail_in_one_try(synced, monkeypatch, webhook) -> None:
    from orchestration.run import run_dag

    settings = synced[0]
    wrong = Connection(url=settings.connections["telecom"].url, token="wrong-token-123")
    export(monkeypatch, settings.model_copy(update={"connections": settings.connections | {"telecom": wrong}}))
    monkeypatch.setenv("XGATE_NOTIFY_WEBHOOK", webhook.url)
    result = run_dag("xgate_telecom")
    assert not result.ok and "extract[0]" in result.failed and result.tries["extract[0]"] == 1
    [failure] = webhook.events("sync_failed")  # declared retries: 3; a refusal uses none of them
    assert failure["try_number"] == 1
    assert "HTTP 401 Unauthorized" in failure["cause"] and "not retried" in failure["cause"]
    assert "wrong-token-123" not in str(failure)


def test_a_bad_setting_fails_at_once_without_retries(synced, monkeypatch, caplog) -> None:
    from orchestration.run import run_dag

    export(monkeypatch, synced[0])
    monkeypatch.setenv("XGATE_HTTP_RETRIES", "many-secret-looking-value")
    reset_settings()
    result = run_dag("xgate_telecom")  # the DAG still parses (no import error): its task fails, once
    assert not result.ok and result.tries == {"declaration": 1}
    assert "invalid setting: http_retries" in caplog.text and "many-secret-looking-value" not in caplog.text


def test_credentials_from_an_airflow_connection(synced, sandbox_settings, monkeypatch) -> None:
    from orchestration.run import run_dag

    settings = synced[0]
    telecom = settings.connections["telecom"]
    others = {name: c for name, c in settings.connections.items() if name != "telecom"}
    export(monkeypatch, settings.model_copy(update={"connections": others}))
    airflow = {"conn_type": "generic", "host": telecom.url, "password": telecom.token.get_secret_value()}
    monkeypatch.setenv("AIRFLOW_CONN_XGATE_TELECOM", json.dumps(airflow))
    result = run_dag("xgate_telecom", conf={"mode": "full"})
    assert result.ok, result.failed
    assert [r["extracted"] for r in result.landed] == [store.visible(sandbox_settings, "telecom.subscribers").num_rows]
