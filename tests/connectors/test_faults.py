"""Faults end in exactly the rows of a clean run, or in a clear error that loses nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from connectors import extract
from connectors.declarations import SOURCES_DIR
from connectors.staging import read_batch
from connectors.state import StateStore
from sandbox import store
from sandbox.servers import apis
from xgate.errors import RetriableError, SourceRefused, SourceUnavailable
from xgate.settings import Connection


def served(sandbox_settings, token: str, api: str) -> dict[str, int]:
    """How many answers of each kind a sandbox API has given so far."""
    base = apis()[api].url(sandbox_settings).removesuffix(apis()[api].root)
    return requests.get(f"{base}/_sandbox/stats", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()


def rows_of(settings, batch) -> dict[str, dict]:
    table = read_batch(settings, batch.batch_id).drop_columns(["_batch_id", "_extracted_at", "_origin"])
    return {r["subscriber_id"]: r for r in table.to_pylist()}


def test_faulty_run_equals_clean_run(extract_settings, faults) -> None:
    heard: list[str] = []
    [clean] = extract(extract_settings, "telecom", mode="full", step=heard.append)
    said = [re.fullmatch(r"extracting telecom\.subscribers: page ([\d,]+), ([\d,]+) rows", h) for h in heard]
    pages, rows = zip(*[(int(m[1].replace(",", "")), int(m[2].replace(",", ""))) for m in said])  # the CLI's progress
    assert pages == tuple(range(1, len(heard) + 1))
    assert rows[0] == 0 and list(rows) == sorted(rows) and rows[-1] < clean.rows
    faults("telecom", script=["500", "429", "drop", "ok", "truncate", "503", "slow", "ok", "drop"], slow_seconds=1.5)
    settings = extract_settings.model_copy(update={"http_timeout": 0.5})
    [faulty] = extract(settings, "telecom", mode="full")
    assert rows_of(settings, faulty) == rows_of(settings, clean)


def test_health_survives_faults_too(extract_settings, faults) -> None:
    clean = {r.stream: r.rows for r in extract(extract_settings, "health", mode="full")}
    faults("health", script=["truncate", "500", "drop"])
    assert {r.stream: r.rows for r in extract(extract_settings, "health", mode="full")} == clean


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("503", r"HTTP 503 Service Unavailable .*injected 503, still after 1 retries"),
        ("slow", r"timed out \(\w+\) from .* after 1 retries"),
        # a connection cut mid-body either breaks the read or stalls it until the read timeout
        ("drop", r"((connection dropped|timed out) \(\w+\)|connection broken) from .* after 1 retries"),
        ("truncate", r"malformed or truncated JSON from .* after 1 retries"),
    ],
)
def test_each_transient_fault_is_retried_then_named(extract_settings, faults, fault, said) -> None:
    faults("telecom", rates={fault: 1.0}, slow_seconds=1.0)
    settings = extract_settings.model_copy(update={"http_retries": 1, "http_timeout": 0.3})
    with pytest.raises(SourceUnavailable, match=rf"telecom/subscribers page 1: {said}"):
        extract(settings, "telecom")


def test_exhausted_retries_name_source_stream_page_and_cause(extract_settings, faults, token) -> None:
    faults("telecom", rates={"500": 1.0})
    state = StateStore(extract_settings.state_dir)
    with pytest.raises(RetriableError, match=r"telecom/subscribers page 1: HTTP 500") as caught:
        extract(extract_settings, "telecom")
    assert token not in str(caught.value)
    assert state.checkpoint("telecom", "subscribers").cursor is None
    assert not list((extract_settings.staging_dir / "telecom").rglob("*.parquet"))


def test_bad_token_fails_in_one_try_and_is_not_shown(extract_settings, sandbox_settings, token) -> None:
    connections = dict(extract_settings.connections)
    connections["telecom"] = Connection(url=connections["telecom"].url, token="not-the-token-123")
    before = served(sandbox_settings, token, "telecom").get("401", 0)
    with pytest.raises(SourceRefused, match=r"HTTP 401 Unauthorized .*credentials refused.*not retried") as caught:
        extract(extract_settings.model_copy(update={"connections": connections}), "telecom")
    assert "not-the-token-123" not in str(caught.value)
    assert served(sandbox_settings, token, "telecom")["401"] == before + 1


@pytest.mark.parametrize(
    ("api", "source", "status", "said"),
    [
        ("telecom", "telecom", "403", r"HTTP 403 Forbidden .*not allowed to read this.*injected 403; not retried"),
        ("telecom", "telecom", "404", r"HTTP 404 Not Found .*no such path.*not retried"),
        ("health", "health", "404", r"HTTP 404 Not Found .*OperationOutcome error not-found: injected 404"),
        ("health", "health", "400", r"HTTP 400 Bad Request .*OperationOutcome error invalid: injected 400"),
    ],
)
def test_a_refusal_fails_at_once_with_what_the_source_said(
    extract_settings, sandbox_settings, token, faults, api, source, status, said
) -> None:
    before = served(sandbox_settings, token, api).get(status, 0)
    faults(api, script=[status])
    with pytest.raises(SourceRefused, match=said):
        extract(extract_settings, source)
    assert served(sandbox_settings, token, api)[status] == before + 1  # asked once, never again


def test_429_waits_as_long_as_retry_after_says(extract_settings, faults) -> None:
    faults("telecom", script=["429", "429"])
    started = time.monotonic()
    [batch] = extract(extract_settings, "telecom")
    assert time.monotonic() - started >= 2.0  # two answers of "Retry-After: 1", each honoured
    assert batch.rows > 0
    faults("telecom", rates={"429": 1.0})
    with pytest.raises(SourceUnavailable, match=r"HTTP 429 Too Many Requests .*injected 429, still after 1 retries"):
        extract(extract_settings.model_copy(update={"http_retries": 1}), "telecom")


def test_sigkill_mid_extract_then_rerun(extract_settings, sandbox_settings, faults, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    telecom = yaml.safe_load((SOURCES_DIR / "telecom.yaml").read_text())
    telecom["streams"][0]["page_size"] = 50
    (sources / "telecom.yaml").write_text(yaml.safe_dump(telecom))
    faults("telecom", rate_limit=15)
    connection = extract_settings.connections["telecom"]
    env = os.environ | {
        "XGATE_DATA_DIR": str(extract_settings.data_dir),
        "XGATE_SOURCES_DIR": str(sources),
        "XGATE_CONNECTIONS__TELECOM__URL": connection.url,
        "XGATE_CONNECTIONS__TELECOM__TOKEN": connection.token.get_secret_value(),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "xgate", "extract", "telecom"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staging = extract_settings.staging_dir / "telecom" / "subscribers"
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in staging.glob("*.partial/part-*.parquet")):
        assert time.monotonic() < deadline and child.poll() is None, "extract ended before it could be killed"
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert list(staging.glob("*.partial"))  # the half-written batch is there, never renamed into place
    faults("telecom", rate_limit=1000)
    settings = extract_settings.model_copy(update={"sources_dir": sources})
    [rerun] = extract(settings, "telecom")
    assert not list(staging.glob("*.partial"))
    staged = [p for p in staging.iterdir()]
    assert staged == [Path(rerun.path)]
    keys = read_batch(settings, rerun.batch_id)["subscriber_id"].to_pylist()
    expected = store.visible(sandbox_settings, "telecom.subscribers")["subscriber_id"].to_pylist()
    assert sorted(keys) == sorted(expected)


def test_next_link_to_another_host_never_gets_the_token(extract_settings) -> None:
    from connectors.http import HttpClient

    client = HttpClient(extract_settings.connections["telecom"], extract_settings, "telecom/subscribers")
    with pytest.raises(SourceRefused, match="outside"):
        client.get("http://198.51.100.7/steal", page=2)


def test_rows_without_a_cursor_still_extract(extract_settings, own_sandbox) -> None:
    import sqlalchemy as sa

    from sandbox import dbload

    dbload.load(own_sandbox, "sqlite", ("civil",))
    url = dbload.database_url(own_sandbox, "sqlite", "civil").render_as_string()
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(
            sa.text("UPDATE deaths SET updated_at = NULL WHERE death_id IN (SELECT death_id FROM deaths LIMIT 3)")
        )
    engine.dispose()
    settings = extract_settings.model_copy(
        update={"connections": extract_settings.connections | {"civil": Connection(url=url)}}
    )
    [batch] = extract(settings, "civil", "deaths")
    assert batch.rows == store.visible(own_sandbox, "civil.deaths").num_rows
