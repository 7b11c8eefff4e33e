"""Limits of a read: time, memory, rows, bytes; reads and syncs never block each other past a bound."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from access import audit, identity, lookups, users
from access.engine import QueryFailed
from access.users import Refused
from tests.access.conftest import CASE, INVESTIGATOR
from warehouse import lake

BOMB = "SELECT max(a.msisdn || b.msisdn || c.msisdn) AS m FROM shared.phone a, shared.phone b, shared.phone c"


def _query(read, sql: str):
    [(columns, rows)] = read(lookups.query(INVESTIGATOR, sql, CASE, "limits")).sections.values()
    return columns, rows


def test_a_cross_join_is_interrupted_at_the_timeout_and_recorded(access_settings, read, monkeypatch) -> None:
    access_settings.__dict__["query_timeout"] = 2.0
    begun = time.monotonic()
    with pytest.raises(QueryFailed, match="longer than 2 s"):
        _query(read, BOMB)
    assert time.monotonic() - begun < 20
    started, done = audit.records(access_settings)
    assert started["outcome"] == "started" and done["outcome"] == "failed" and "XGATE_QUERY_TIMEOUT" in done["reason"]


def test_recursion_and_number_made_lists_are_refused(access_settings, read) -> None:
    for sql in (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
        "SELECT count(*) FROM (SELECT unnest(range(100000000)) AS x)",
        "SELECT repeat('x', 1000000000) AS x",
        "SELECT count(*) FROM generate_series(1, 1000000000)",
    ):
        with pytest.raises(Refused):
            _query(read, sql)


def test_memory_limit_fails_cleanly(access_settings, read) -> None:
    access_settings.__dict__["query_memory"] = "30MB"
    with pytest.raises(QueryFailed, match=r"memory|longer"):
        _query(read, "SELECT string_agg(a.name || b.name, ',') AS s FROM shared.phone a, shared.phone b")


def test_rows_and_bytes_are_cut_and_said(access_settings, read) -> None:
    access_settings.__dict__["query_rows"] = 7
    shown = read(lookups.query(INVESTIGATOR, "SELECT msisdn FROM shared.phone", CASE, "many"))
    [(_, rows)] = shown.sections.values()
    assert len(rows) == 7 and "XGATE_QUERY_ROWS" in shown.notes[0]
    access_settings.__dict__["query_rows"] = 1000
    access_settings.__dict__["query_bytes"] = 1000
    shown = read(lookups.query(INVESTIGATOR, "SELECT msisdn, name, id_number FROM shared.phone", CASE, "big"))
    [(_, rows)] = shown.sections.values()
    assert 0 < len(rows) < 40 and "XGATE_QUERY_BYTES" in shown.notes[0]
    assert audit.records(access_settings)[-1]["truncated"].startswith("more than 1,000 bytes")


@pytest.fixture
def own_lake(access_settings, tmp_path: Path):
    """A private copy of the session lake, free to open for writing."""
    shutil.copytree(access_settings.warehouse_dir, tmp_path / "lake" / "warehouse")
    return access_settings.model_copy(update={"data_dir": tmp_path / "lake"})


def test_a_long_read_does_not_hold_the_lake(own_lake, monkeypatch) -> None:
    from access.reader import Reader

    own_lake.__dict__["query_timeout"] = 8.0
    errors: list[Exception] = []

    def long_read() -> None:
        reader = Reader(own_lake)
        try:
            reader.read(lookups.query(INVESTIGATOR, BOMB, CASE, "slow"))
        except Exception as exc:
            errors.append(exc)
        finally:
            reader.close()

    thread = threading.Thread(target=long_read)
    thread.start()
    time.sleep(2.5)  # the copies are made; the cross join runs
    begun = time.monotonic()
    writer = lake.connect(own_lake)  # a sync opening the lake to write
    writer.close()
    assert time.monotonic() - begun < 2 and thread.is_alive()
    thread.join(30)
    assert errors and isinstance(errors[0], QueryFailed)


def _hold(settings, seconds: float) -> subprocess.Popen:
    """Another process holding the lake read-only for ``seconds`` (one process cannot attach it twice)."""
    code = (
        "import sys, time; from warehouse import lake; from xgate.settings import Settings; "
        f"con = lake.connect(Settings(data_dir={str(settings.data_dir)!r}), read_only=True); "
        f"print('held', flush=True); time.sleep({seconds})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_writer_waits_for_a_reader_then_goes_on(own_lake) -> None:
    holder = _hold(own_lake, 2)
    begun = time.monotonic()
    lake.connect(own_lake).close()
    assert 0.5 < time.monotonic() - begun < 15
    holder.wait(30)


def test_a_busy_lake_past_the_bound_is_one_line(own_lake) -> None:
    holder = _hold(own_lake, 5)
    try:
        with pytest.raises(Exception, match=r"stayed busy for 0\.5 s") as raised:
            lake.connect(own_lake.model_copy(update={"lake_wait": 0.5}))
        assert len(str(raised.value).splitlines()) == 1
    finally:
        holder.kill()


def test_a_killed_query_leaves_its_started_record(access_settings, tmp_path: Path) -> None:
    investigator = users.find(access_settings, INVESTIGATOR.name)
    env = os.environ | {
        "XGATE_DATA_DIR": str(access_settings.data_dir),
        "XGATE_AUDIT_DIR": str(access_settings.audit_dir),
        "XGATE_ACCESS_DIR": str(access_settings.access_dir),
        "XGATE_USERS_FILE": str(access_settings.users_file),
        "XGATE_TOKEN": identity.issue(access_settings, investigator),
        "XGATE_QUERY_TIMEOUT": "120",
    }
    process = subprocess.Popen([sys.executable, "-m", "xgate", "query", BOMB, "--case", CASE, "--purpose", "x"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not audit.records(access_settings):
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    [started] = audit.records(access_settings)
    assert started["outcome"] == "started" and started["command"] == "query"
    assert audit.reads(access_settings)[0]["outcome"] == "incomplete"
    audit.append(access_settings, {"query": "next", "outcome": "allowed"})  # the log goes on


def test_a_read_past_every_limit_is_recorded_and_ended(access_settings) -> None:
    """A plan nothing can interrupt (sqlglot or DuckDB's binder): the CLI's watchdog records it and ends."""
    investigator = users.find(access_settings, INVESTIGATOR.name)
    env = os.environ | {
        "XGATE_DATA_DIR": str(access_settings.data_dir),
        "XGATE_AUDIT_DIR": str(access_settings.audit_dir),
        "XGATE_ACCESS_DIR": str(access_settings.access_dir),
        "XGATE_USERS_FILE": str(access_settings.users_file),
        "XGATE_TOKEN": identity.issue(access_settings, investigator),
        "XGATE_QUERY_TIMEOUT": "0.5",
    }
    stuck = (
        "import sys, time; import access.plan as p; p.build = lambda *a: time.sleep(600); from xgate.cli import main; "
    )
    code = stuck + "sys.argv = ['xgate', 'query', 'SELECT 1 AS one', '--case', 'C-1', '--purpose', 'x']; main()"
    begun = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "hard limit" in result.stderr and time.monotonic() - begun < 60
    [record] = audit.records(access_settings)
    assert record["outcome"] == "failed" and "hard limit" in record["reason"]
