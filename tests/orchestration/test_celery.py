"""Two Celery workers sync two sources at once into the production lake (PostgreSQL catalog, data in S3);
one worker process is killed mid-task: its task is delivered again, and nothing is lost or landed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.state import StateStore
from contracts import contracts
from contracts.loader import datasets_by_stream
from sandbox import store
from tests.conftest import production_lake
from tests.orchestration.conftest import settings_env
from warehouse import lake
from warehouse.land import table_name
from xgate.settings import Settings

BROKER = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("civil", "telecom")
WORKER = [sys.executable, "-m", "celery", "-A", "tests.orchestration.celery_sync", "worker", "-c", "1", "-P", "prefork"]
WORKER += ["--without-gossip", "--without-mingle", "-l", "warning"]


@pytest.fixture
def workers(extract_settings: Settings, s3_server, lake_database, tmp_path: Path) -> Iterator[tuple]:
    """Two workers (one task at a time each) of :mod:`tests.orchestration.celery_sync` on a queue of this test."""
    settings = production_lake(extract_settings, s3_server, lake_database)
    run = uuid.uuid4().hex[:8]
    attempts = tmp_path / "attempts.log"
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("XGATE_")}
        | settings_env(settings)
        | {"XGATE_TEST_BROKER": BROKER, "XGATE_TEST_QUEUE": f"xgate-test-{run}", "XGATE_TEST_ATTEMPTS": str(attempts)}
    )
    os.environ.update({k: env[k] for k in ("XGATE_TEST_BROKER", "XGATE_TEST_QUEUE", "XGATE_TEST_ATTEMPTS")})
    names = [f"w{i}@{run}" for i in (1, 2)]
    started = [
        subprocess.Popen(
            [*WORKER, "-n", name],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{name.split('@')[0]}.log").open("w"),
            start_new_session=True,
        )
        for name in names
    ]
    from tests.orchestration import celery_sync

    try:
        deadline = time.monotonic() + 60
        while len(celery_sync.app.control.ping(destination=names, timeout=1.0)) < len(names):
            assert time.monotonic() < deadline, "the Celery workers did not start"
        yield settings, celery_sync, attempts
    finally:
        for worker in started:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in started:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        for name in ("XGATE_TEST_BROKER", "XGATE_TEST_QUEUE", "XGATE_TEST_ATTEMPTS"):
            os.environ.pop(name, None)


def datasets(source: str) -> list:
    index = datasets_by_stream()
    every = contracts()
    return [every[d] for key, d in index.items() if key.startswith(f"{source}.")]


@pytest.mark.timeout(180)
def test_two_workers_sync_at_once_and_a_killed_task_is_redelivered(workers, sandbox_settings) -> None:
    settings, app, attempts = workers
    civil, telecom = (app.sync_source.delay(source) for source in SOURCES)
    # kill civil's worker process once its first stream has landed (the checkpoint moved) and it goes on
    state = StateStore(settings.state_dir)
    deadline = time.monotonic() + 90
    while not any(state.checkpoint("civil", c.id.split(".")[1]).cursor for c in datasets("civil")):
        assert time.monotonic() < deadline and not civil.ready(), "civil never landed a stream"
        time.sleep(0.05)
    assert civil.state == "STARTED"
    killed_at = time.time()
    os.kill(civil.info["pid"], signal.SIGKILL)
    done = {source: result.get(timeout=120) for source, result in zip(SOURCES, (civil, telecom))}

    runs = [line.split() for line in attempts.read_text().splitlines()]
    assert sorted(source for source, *_ in runs) == ["civil", "civil", "telecom"]  # civil ran again, once
    first = {source: worker for source, worker, *_ in runs[:2]}
    assert first["civil"] != first["telecom"]  # the two syncs ran on different workers ...
    assert done["telecom"]["started"] < killed_at  # ... at the same time
    assert all(s["landed"] + s["quarantined"] == s["extracted"] for s in done["telecom"]["streams"])

    con = lake.connect(settings, read_only=True)
    try:
        for source in SOURCES:
            for contract in datasets(source):
                table, key = table_name(contract.id), contract.primary_key
                rows, keys = con.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchone()
                quarantined = con.execute(
                    "SELECT count(*) FROM quarantine.rows WHERE dataset = ?", [contract.id]
                ).fetchone()[0]
                visible = store.visible(sandbox_settings, contract.id).num_rows
                assert rows == keys and rows + quarantined == visible, contract.id  # none lost, none twice
        batches = con.execute("SELECT count(*), count(DISTINCT batch_id) FROM meta.batches").fetchone()
        assert batches[0] == batches[1]
    finally:
        con.close()
