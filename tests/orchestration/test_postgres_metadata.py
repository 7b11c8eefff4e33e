"""Airflow as deployed: metadata on the real PostgreSQL, tasks run by the LocalExecutor through the API server."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from orchestration.home import DAGS_DIR
from sandbox import store
from tests.conftest import free_port, fresh_database

RUN = """
from xgate.settings import get_settings
from orchestration.home import prepare
prepare(get_settings())
if sys.argv[1] == "run":
    from orchestration.run import load_dag
    print("STATE", load_dag("xgate_housing_filings").test(use_executor=True).state)
"""


@pytest.fixture
def metadata_db(run_id: str) -> Iterator[str]:
    with fresh_database(f"xgair_{run_id}") as name:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def test_a_dag_runs_with_postgresql_metadata_and_the_local_executor(sandbox_settings, metadata_db, tmp_path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(store.paths(sandbox_settings).inbox, inbox)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "XGATE_"))} | {
        "XGATE_DATA_DIR": str(tmp_path / "xgate"),
        "XGATE_CONNECTIONS__HOUSING_INBOX__URL": str(inbox),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_db,  # psycopg 3 does async too; no asyncpg needed
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    subprocess.run([sys.executable, "-c", "import sys" + RUN, "migrate"], env=env, check=True, capture_output=True)
    api = subprocess.Popen(
        [str(Path(sys.executable).parent / "airflow"), "api-server", "--port", str(port), "-H", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/execution/health", timeout=10).ok:
                    break
            except requests.RequestException:  # not listening yet, or still starting up
                pass
            assert time.monotonic() < deadline, "the Airflow API server did not start"
            time.sleep(1)
        run = subprocess.run(
            [sys.executable, "-c", "import sys" + RUN, "run"], env=env, capture_output=True, text=True, timeout=300
        )
        assert "STATE success" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    finally:
        api.terminate()
        api.wait(timeout=30)
    with psycopg.connect(metadata_db.replace("+psycopg", "")) as con:
        states = con.execute(
            "SELECT state, executor FROM task_instance WHERE dag_id = 'xgate_housing_filings'"
        ).fetchall()
    assert states and {s for s, _ in states} == {"success"}
    assert {e for _, e in states} <= {"LocalExecutor", None}
