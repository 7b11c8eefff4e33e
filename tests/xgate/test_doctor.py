"""``xgate doctor``: one line per part, each problem named, no secret in any line, exit 1 on a problem."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import production_lake
from warehouse import lake
from xgate.doctor import check_workers, doctor
from xgate.settings import Settings


@pytest.fixture
def prod(tmp_path, s3_server, lake_database) -> Settings:
    return production_lake(Settings(data_dir=tmp_path / "xgate"), s3_server, lake_database)


def lines(findings) -> dict[str, str]:
    return {f.part: f.line() for f in findings}


def test_a_good_profile_is_all_ok(prod) -> None:
    assert lines(doctor(prod))["catalog"].endswith("no lake yet (the first sync creates it)")
    lake.connect(prod).close()  # the first writer creates the lake
    found = lines(doctor(prod))
    assert found == {
        "catalog": f"ok    catalog: {prod.lake_catalog} reachable, at snapshot 0",
        "storage": f"ok    storage: {prod.lake_data} takes writes",
    }


@pytest.mark.parametrize(
    ("broken", "part", "words"),
    [
        ({"endpoint": "http://127.0.0.1:1"}, "storage", "cannot be written: IO Error: Could not connect"),
        ({"secret": "wrong-secret-0123456789"}, "storage", "refused"),
        ({"key_id": "AKIAWRONGWRONGWRONG1"}, "storage", "refused"),
    ],
)
def test_a_bucket_that_fails_is_one_line(prod, broken, part, words) -> None:
    settings = prod.model_copy(update={"s3": prod.s3.model_validate(prod.s3.model_dump() | broken)})
    found = {f.part: f for f in doctor(settings)}
    assert found["catalog"].ok and not found[part].ok
    line = found[part].line()
    assert line.startswith(f"FAIL  {part}: warehouse storage {prod.lake_data}") and words in line
    assert "\n" not in line and prod.s3.secret.get_secret_value() not in line
    assert prod.s3.key_id.get_secret_value() not in line


def test_an_unreachable_catalog_is_one_line(prod) -> None:
    catalog = "ducklake:postgres:dbname=nope host=127.0.0.1 port=1 user=postgres password=hunter2"
    found = lines(doctor(prod.model_copy(update={"catalog_url": catalog})))
    assert found["catalog"].startswith("FAIL  catalog: warehouse catalog ducklake:postgres:dbname=nope")
    assert "Connection refused" in found["catalog"] and "hunter2" not in found["catalog"]
    assert found["storage"].startswith("ok")


def test_workers_missing_or_a_broker_down_is_one_line() -> None:
    assert check_workers("redis://127.0.0.1:6379/15", timeout=1).line() == (
        "FAIL  workers: no Celery worker answered on redis://127.0.0.1:6379/15 within 1 s"
    )
    down = check_workers("redis://:s3cret-pass@127.0.0.1:1/0", timeout=1).line()
    assert down.startswith("FAIL  workers: broker redis://:***@127.0.0.1:1/0 unreachable") and "s3cret" not in down


def test_the_command_exits_1_with_a_line_per_problem_and_no_secret(prod, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XGATE_", "AIRFLOW"))} | {
        "XGATE_DATA_DIR": str(prod.data_dir),
        "XGATE_CATALOG_URL": "ducklake:postgres:dbname=nope host=127.0.0.1 port=1 user=postgres",
        "XGATE_LAKE_DATA_PATH": prod.lake_data,
        "XGATE_S3__ENDPOINT": prod.s3.endpoint,
        "XGATE_S3__KEY_ID": prod.s3.key_id.get_secret_value(),
        "XGATE_S3__SECRET": "not-" + prod.s3.secret.get_secret_value(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "xgate", "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr
    out = result.stdout.splitlines()
    assert [line.split(":")[0] for line in out] == ["FAIL  catalog", "FAIL  storage"], result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    for secret in (env["XGATE_S3__KEY_ID"], env["XGATE_S3__SECRET"], prod.s3.secret.get_secret_value()):
        assert secret not in result.stdout + result.stderr
