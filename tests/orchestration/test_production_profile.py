"""The README's production profile runs as written: Airflow's metadata migrated on PostgreSQL, an Airflow
Celery worker on Redis, and ``xgate doctor`` finding the catalog, the bucket, the database and the worker ok."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.home import DAGS_DIR
from tests.conftest import free_port, fresh_database
from warehouse import lake, storage
from xgate.doctor import check_workers
from xgate.settings import ObjectStore, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent


def profile() -> tuple[dict[str, str], list[str]]:
    """The variables and commands of the README's production profile, as written."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text[text.index("## Production profile") :], flags=re.S).group(1)
    variables, commands = {}, []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if line.startswith("export "):
            name, value = line.removeprefix("export ").split("=", 1)
            variables[name] = shlex.split(value)[0]
        elif line:
            commands.append(line)
    return variables, commands


@pytest.fixture
def metadata_db(run_id: str) -> Iterator[str]:
    with fresh_database(f"xgair_{run_id}_prod") as name:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@pytest.mark.timeout(240)
def test_the_production_profile_runs_as_documented(s3_server, lake_database, metadata_db, tmp_path) -> None:
    documented, commands = profile()
    assert commands == ["airflow db migrate", "airflow celery worker &", "xgate doctor"]
    this_machine = {  # what differs from the README on this machine: paths, database names, the bucket's key pair
        "XGATE_DATA_DIR": str(tmp_path / "xgate"),
        "XGATE_CATALOG_URL": lake_database,
        "XGATE_LAKE_DATA_PATH": f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:8]}/",
        "XGATE_S3__ENDPOINT": s3_server.endpoint,
        "XGATE_S3__KEY_ID": s3_server.key_id,
        "XGATE_S3__SECRET": s3_server.secret,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_db,
    }
    assert set(this_machine) < set(documented)
    assert documented["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith(("XGATE_", "AIRFLOW"))}
        | documented
        | this_machine
        | {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}  # beside other workers on this machine
        | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    )

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(shlex.split(command), env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)

    before = run("xgate doctor")
    assert before.returncode == 1
    assert "FAIL  airflow metadata: postgresql+psycopg://postgres@127.0.0.1:5432/xgair_" in before.stdout
    assert "is not migrated to this Airflow: run 'airflow db migrate'" in before.stdout

    assert run(commands[0]).returncode == 0
    worker = subprocess.Popen(
        shlex.split(commands[1].removesuffix("&")),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("w"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not check_workers(documented["AIRFLOW__CELERY__BROKER_URL"], timeout=1).ok:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the Airflow Celery worker did not answer"
        after = run(commands[2])
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert after.returncode == 0, after.stdout + after.stderr
    parts = [line.split(":")[0] for line in after.stdout.splitlines()]
    assert parts == ["ok    catalog", "ok    storage", "ok    airflow metadata", "ok    workers"], after.stdout
    for secret in (s3_server.key_id, s3_server.secret):
        assert secret not in after.stdout + after.stderr + before.stdout + before.stderr


def test_bucket_credentials_from_an_airflow_connection(airflow_home, tmp_path, s3_server, monkeypatch) -> None:
    import airflow.sdk  # noqa: F401  (inside Airflow: its connections are looked up)

    connection = {
        "conn_type": "aws",
        "login": s3_server.key_id,
        "password": s3_server.secret,
        "extra": {"endpoint_url": s3_server.endpoint, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_XGATE_S3", json.dumps(connection))
    settings = Settings(data_dir=tmp_path, lake_data_path=f"s3://{s3_server.bucket}/airflow-conn/")
    found = storage.object_store(settings)
    assert found == ObjectStore(
        endpoint=s3_server.endpoint, key_id=s3_server.key_id, secret=s3_server.secret, region="us-east-1"
    )
    con = lake.connect(settings)  # a DuckDB-file catalog, data in the bucket
    try:
        con.execute("CREATE TABLE probe AS SELECT range AS i FROM range(1000)")
        assert con.execute("SELECT sum(i) FROM probe").fetchone()[0] == 499500
    finally:
        con.close()
