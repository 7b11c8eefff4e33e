"""What tasks decide without Airflow: the extract interval, freshness against the SLA, notifications."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from orchestration import notify
from orchestration.stages import extract_args, report_held
from tests.conftest import free_port
from xgate.errors import ConfigError
from xgate.settings import reset_settings

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_scheduled_run_is_incremental_and_params_choose_full() -> None:
    scheduled = SimpleNamespace(run_type="scheduled", data_interval_end=END)
    assert extract_args({"mode": "incremental"}, scheduled, START) == ("incremental", None, None)
    assert extract_args({"mode": "full"}, scheduled, START) == ("full", None, None)


def test_an_airflow_backfill_run_extracts_its_data_interval() -> None:
    from airflow.sdk.api.datamodels._generated import DagRunType  # what the task SDK hands a task

    backfill = SimpleNamespace(run_type=DagRunType.BACKFILL, data_interval_end=END)
    assert extract_args({"mode": "incremental"}, backfill, START) == ("backfill", START, END)
    point = SimpleNamespace(run_type=DagRunType.BACKFILL, data_interval_end=START)  # a cron preset's run
    with pytest.raises(ConfigError, match="'since' and 'until'"):
        extract_args({}, point, START)


def test_since_and_until_params_backfill_that_interval() -> None:
    got = extract_args({"since": "2025-01-01T00:00:00+08:00", "until": "2026-01-01"}, None, None)
    assert got == ("backfill", datetime.fromisoformat("2025-01-01T00:00:00+08:00"), datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("params", "message"),
    [({"since": "2025-01-01"}, "both 'since' and 'until'"), ({"since": "yesterday", "until": "2026-01-01"}, "ISO")],
)
def test_a_bad_interval_is_a_configuration_error(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        extract_args(params, None, None)


def test_notify_posts_to_the_webhook(webhook, monkeypatch) -> None:
    monkeypatch.setenv("XGATE_NOTIFY_WEBHOOK", webhook.url)
    reset_settings()
    assert notify.send("sync_failed", "xgate_telecom.extract failed", dag_id="xgate_telecom")
    [event] = webhook.events("sync_failed")
    assert event["summary"] == "xgate_telecom.extract failed" and event["dag_id"] == "xgate_telecom"


def test_a_webhook_that_is_down_is_logged_not_raised(monkeypatch, caplog) -> None:
    monkeypatch.setenv("XGATE_NOTIFY_WEBHOOK", f"http://127.0.0.1:{free_port()}/hook?token=secret-value")
    reset_settings()
    assert notify.send("freshness_missed", "telecom.subscribers stale") is False
    assert "telecom.subscribers stale" in caplog.text
    assert "secret-value" not in caplog.text


def test_a_batch_held_in_quarantine_is_notified(webhook, monkeypatch) -> None:
    from contracts.validate import Outcome

    monkeypatch.setenv("XGATE_NOTIFY_WEBHOOK", webhook.url)
    reset_settings()
    report_held(Outcome("b-1", "telecom.subscribers", "1.0.0", 10, 10, 0))  # passed: nothing to say
    assert webhook.events("batch_held") == []
    report_held(Outcome("b-2", "telecom.subscribers", "1.0.0", 10, 0, 10, held="8 of 10 rows fail error rules"))
    [event] = webhook.events("batch_held")
    assert event["batch_id"] == "b-2" and "8 of 10 rows" in event["summary"]
