"""Validation throughput: the telecom contract on 1M and 10M subscriber rows, with the row-level split.

Baseline, measured in the same run: DuckDB evaluating the same rules as plain SQL in one pass (the
practical limit; counts only, no split), and ``datacontract test`` on the same file with the rules it
can express, from its own environment (``.venv-datacontract``, made by ``make bench``).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil

from benchmarks.report import Result
from contracts import contracts, sql
from contracts.validate import validate
from xgate.settings import Settings

SIZES = (1_000_000, 10_000_000)
DATACONTRACT_PYTHON = Path(".venv-datacontract/bin/python")

PLAIN_RULES = [
    "subscriber_id IS NULL",
    "msisdn IS NULL",
    "id_number IS NULL",
    "name IS NULL",
    "carrier IS NULL",
    "status IS NULL",
    "NOT xg_mobile_ok(msisdn)",
    "NOT xg_ric_ok(id_number)",
    "NOT xg_not_legacy(id_number)",
    "carrier NOT IN ('中国移动', '中国联通', '中国电信')",
    "status NOT IN ('active', 'cancelled')",
    "NOT xg_type_ok(activated_at, 'timestamp')",
    "NOT xg_type_ok(cancelled_at, 'timestamp')",
    "NOT xg_type_ok(updated_at, 'timestamp')",
]


def make_rows(con: duckdb.DuckDBPyConnection, rows: int, out: Path) -> None:
    """Subscriber rows shaped like the telecom API's, about 1% of them bad in one way or another."""
    con.execute(f"""COPY (
      WITH base AS (SELECT i, '510402' || strftime(DATE '1984-01-01' + (i % 12000)::INT, '%Y%m%d')
                           || lpad((i // 20000 % 1000)::VARCHAR, 3, '0') AS s17 FROM range({rows}) r(i))
      SELECT 'S' || lpad(i::VARCHAR, 10, '0') AS subscriber_id,
             CASE WHEN i % 503 = 0 THEN '12' || lpad((i % 999999999)::VARCHAR, 9, '0')
                  ELSE '13' || (i % 10)::VARCHAR || lpad((i * 7919 % 100000000)::VARCHAR, 8, '0') END AS msisdn,
             CASE WHEN i % 997 = 0 THEN s17 || '0' ELSE s17 || xg_ric_check(s17) END AS id_number,
             '张' || chr(19968 + (i % 500)::INT) AS name,
             ['中国移动', '中国联通', '中国电信'][1 + i % 3] AS carrier,
             strftime(TIMESTAMP '2020-01-01' + INTERVAL (i % 86400000) SECOND, '%Y-%m-%dT%H:%M:%S+08:00')
               AS activated_at,
             NULL::VARCHAR AS cancelled_at, CASE WHEN i % 2003 = 0 THEN 'unknown' ELSE 'active' END AS status,
             strftime(TIMESTAMP '2026-01-01' + INTERVAL (i % 25000000) SECOND, '%Y-%m-%dT%H:%M:%S+08:00') AS updated_at
      FROM base ORDER BY i) TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE 500000)""")


def _plain(con: duckdb.DuckDBPyConnection, file: Path) -> float:
    start = time.perf_counter()
    counts = ", ".join(f"count(*) FILTER (WHERE {rule})" for rule in PLAIN_RULES)
    con.execute(f"SELECT {counts}, count(*) - count(DISTINCT subscriber_id) FROM read_parquet('{file}')").fetchone()
    return time.perf_counter() - start


def _sampled(command: list[str]) -> tuple[str, float] | None:
    """A child process's standard output and its peak RSS (MB, sampled every 20 ms); None if it failed."""
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, watched.memory_info().rss)
        time.sleep(0.02)
    out, err = child.communicate()
    if child.returncode != 0:
        print(f"{command[1]} failed: {err[-1500:]}")
        return None
    return out, peak / 2**20


def _datacontract(file: Path, rows: int) -> tuple[float, float] | None:
    """rows/s and peak RSS (MB) of `datacontract test` on the same file, in its own environment."""
    if not DATACONTRACT_PYTHON.exists():
        return None
    ran = _sampled([str(DATACONTRACT_PYTHON), "benchmarks/datacontract_anchor.py", str(file)])
    return (rows / json.loads(ran[0].strip().splitlines()[-1])["seconds"], ran[1]) if ran else None


def _own_peak(file: Path, data_dir: Path) -> float:
    """Peak RSS (MB) of a fresh process validating the file, measured as datacontract's is."""
    script = (
        "import sys; from pathlib import Path; from contracts import contracts; "
        "from contracts.validate import validate; from xgate.settings import Settings; "
        "validate(Settings(data_dir=Path(sys.argv[2])), contracts()['telecom.subscribers'], "
        "[Path(sys.argv[1])], 'peak')"
    )
    ran = _sampled([sys.executable, "-c", script, str(file), str(data_dir)])
    return ran[1] if ran else float("nan")


SMALL_FILE = Path("tests/fixtures/drops/租赁备案_held.csv")  # 10 rows, as a department sends them


def _wall(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of a child process: the CPU figure holds on a busy machine."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, check=False, timeout=300)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _small_file() -> Result:
    """``xgate validate`` of a 10-row file, the whole command in a fresh process (interpreter start-up, reading,
    checking, the report), against the floor of any such command: a fresh Python that imports DuckDB and runs
    one query. The first run compiles the contract (GX) and is reported apart."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XGATE_DATA_DIR": str(Path(tmp) / "xgate")}
        command = [sys.executable, "-m", "xgate", "validate", "housing.rental_filings", str(SMALL_FILE)]
        floor = [sys.executable, "-c", "import duckdb; duckdb.sql('SELECT 42').fetchall()"]
        first, _ = _wall(command, env)
        ours, plain = [], []
        for _ in range(5):  # interleaved
            ours.append(_wall(command, env))
            plain.append(_wall(floor, env))
    ours.sort(), plain.sort()
    return Result(
        "contracts",
        "xgate validate, a 10-row GBK file (whole command, fresh process)",
        10 / ours[2][0],
        "python -c 'import duckdb; one query'",
        10 / plain[2][0],
        f"median {ours[2][0]:.2f} s wall, {ours[2][1]:.2f} s CPU (target < 2 s) vs {plain[2][0]:.2f} s wall; the "
        f"first run, which compiles the contract with Great Expectations and keeps it, {first:.1f} s; rows/s "
        "columns are rows/s",
    )


def run() -> list[Result]:
    contract = contracts()["telecom.subscribers"]
    results = [_small_file()]
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        sql.install(con.execute)
        settings = Settings(data_dir=Path(tmp) / "xgate")
        for rows in SIZES:
            file = Path(tmp) / f"subscribers_{rows}.parquet"
            make_rows(con, rows, file)
            if rows == SIZES[0]:
                validate(settings, contract, [file], "warmup", write=False)  # Great Expectations' import and set-up
            plain, ours = [], []
            for attempt in range(3 if rows == SIZES[0] else 2):  # interleaved, best of each: the VM's noise is ~10%
                plain.append(_plain(con, file))
                start = time.perf_counter()
                outcome = validate(settings, contract, [file], f"bench-{rows}-{attempt}")
                ours.append(time.perf_counter() - start)
            plain, ours = min(plain), min(ours)
            assert outcome.rows_in == rows and outcome.rows_quarantined > 0
            peak = _own_peak(file, Path(tmp) / "peak")
            note = f"{ours:.1f} s, split written, peak RSS {peak:.0f} MB (own process); target ratio >= 0.5"
            results.append(
                Result(
                    "contracts",
                    f"validate {rows:,} rows, {len(contract.checks)} rules",
                    rows / ours,
                    "plain DuckDB, same rules, counts",
                    rows / plain,
                    note,
                )
            )
            anchor = _datacontract(file, rows)
            if anchor:
                results.append(
                    Result(
                        "contracts",
                        f"validate {rows:,} rows",
                        rows / ours,
                        "datacontract test (equivalent rules)",
                        anchor[0],
                        f"its peak RSS {anchor[1]:.0f} MB (ours {peak:.0f} MB)",
                    )
                )
    return results
